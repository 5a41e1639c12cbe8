//! `serve`: a tonic client against a running server on loopback ports, fed by push.

use std::path::Path;
use std::time::Duration;

use holoscale_scaler::ScalerKind;
use holoscale_scaler::recommend::{Recommender, RecommenderConfig, ServiceRow};
use holoscale_scaler::serve::proto::external_scaler_client::ExternalScalerClient;
use holoscale_scaler::serve::proto::{GetMetricsRequest, ScaledObjectRef};
use holoscale_scaler::serve::{self, FeedState, ServeConfig};

const T0: i64 = 1_700_000_000_000;

fn config(extra: &str) -> ServeConfig {
    let text = format!(
        r#"
scalers = ["hpa", "static:2"]
services = ["api", "db"]
interval_s = 1
grpc_listen = "127.0.0.1:0"
http_listen = "127.0.0.1:0"
{extra}
[feed]
mode = "push"
[bounds.db]
min = 1
max = 4
"#
    );
    ServeConfig::from_toml(&text, "test.toml", Path::new(".")).unwrap()
}

fn object(service: &str, scaler: Option<&str>) -> ScaledObjectRef {
    let mut meta = std::collections::HashMap::new();
    if !service.is_empty() {
        meta.insert("service".to_string(), service.to_string());
    }
    if let Some(s) = scaler {
        meta.insert("scaler".to_string(), s.to_string());
    }
    ScaledObjectRef {
        name: format!("{service}-so"),
        namespace: "shop".into(),
        scaler_metadata: meta,
    }
}

/// POSTs `body` to the server's `/push`; (status, body).
async fn push(http: std::net::SocketAddr, body: String) -> (u16, String) {
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut r = agent
            .post(format!("http://{http}/push"))
            .header("content-type", "application/json")
            .send(body)
            .unwrap();
        let status = r.status().as_u16();
        (status, r.body_mut().read_to_string().unwrap())
    })
    .await
    .unwrap()
}

async fn get(http: std::net::SocketAddr, path: &'static str) -> (u16, String) {
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut r = agent.get(format!("http://{http}{path}")).call().unwrap();
        let status = r.status().as_u16();
        (status, r.body_mut().read_to_string().unwrap())
    })
    .await
    .unwrap()
}

fn rows_json(time_ms: i64, rows: &[(&str, f64, f64)]) -> String {
    let items: Vec<String> = rows
        .iter()
        .map(|(s, replicas, cpu)| {
            format!(r#"{{"timestamp": {time_ms}, "service": "{s}", "replicas": {replicas}, "cpu_util": {cpu}, "req_rate": 50.0}}"#)
        })
        .collect();
    format!("[{}]", items.join(","))
}

async fn metric(
    client: &mut ExternalScalerClient<tonic::transport::Channel>,
    service: &str,
    scaler: Option<&str>,
) -> Result<(i64, f64), tonic::Status> {
    let r = client
        .get_metrics(GetMetricsRequest {
            scaled_object_ref: Some(object(service, scaler)),
            metric_name: String::new(),
        })
        .await?
        .into_inner();
    let v = &r.metric_values[0];
    assert_eq!(v.metric_name, format!("holoscale-{service}"));
    Ok((v.metric_value, v.metric_value_float))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_four_rpcs_answer_what_the_embedding_api_recommends() {
    let cfg = config("");
    let running = serve::start(cfg.clone()).await.unwrap();
    let mut client = ExternalScalerClient::connect(format!("http://{}", running.grpc))
        .await
        .unwrap();
    // Nothing observed yet: UNAVAILABLE (KEDA keeps the replicas), not ready.
    let err = metric(&mut client, "api", None).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable, "{err}");
    assert_eq!(get(running.http, "/readyz").await.0, 503);
    assert_eq!(get(running.http, "/healthz").await, (200, "ok\n".into()));

    let rows = [("api", 3.0, 0.9), ("db", 3.0, 1.0)];
    let (status, body) = push(running.http, rows_json(T0, &rows)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"intervals\":1"), "{body}");
    // The embedding API on the same interval.
    let mut rec = Recommender::new(cfg.scalers[0].1.clone()).unwrap();
    let expected = rec
        .observe_rows(
            T0,
            &rows
                .iter()
                .map(|(s, r, c)| {
                    ServiceRow::new(s, &[("replicas", *r), ("cpu_util", *c), ("req_rate", 50.0)])
                })
                .collect::<Vec<_>>(),
        )
        .unwrap()
        .to_vec();
    // Hand check: ceil(3 * 0.9 / 0.6) = 5; db ceil(3 / 0.6) = 5, clamped to its maximum 4.
    assert_eq!((expected[0].replicas, expected[1].replicas), (5, 4));
    for r in &expected {
        let (int, float) = metric(&mut client, &r.service, None).await.unwrap();
        assert_eq!((int, float), (i64::from(r.replicas), f64::from(r.replicas)));
    }
    // The second scaler by its label.
    assert_eq!(
        metric(&mut client, "api", Some("static:2")).await.unwrap(),
        (2, 2.0)
    );
    // GetMetricSpec: a target of one replica per unit, float and int.
    let spec = client
        .get_metric_spec(object("api", None))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(spec.metric_specs.len(), 1);
    let m = &spec.metric_specs[0];
    assert_eq!(
        (m.metric_name.as_str(), m.target_size, m.target_size_float),
        ("holoscale-api", 1, 1.0)
    );
    // IsActive, and errors that name what is wrong.
    assert!(
        client
            .is_active(object("db", None))
            .await
            .unwrap()
            .into_inner()
            .result
    );
    let err = client.is_active(object("cart", None)).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound);
    assert!(
        err.message()
            .contains("`cart` is not served (served: api, db)"),
        "{}",
        err.message()
    );
    let err = metric(&mut client, "api", Some("td3")).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound);
    assert!(err.message().contains("hpa, static:2"), "{}", err.message());
    let err = client.get_metric_spec(object("", None)).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    // StreamIsActive streams: two messages a decision period apart.
    let mut stream = client
        .stream_is_active(object("api", None))
        .await
        .unwrap()
        .into_inner();
    for _ in 0..2 {
        let msg = tokio::time::timeout(Duration::from_secs(5), stream.message())
            .await
            .expect("a message within 5 s")
            .unwrap()
            .expect("the stream is open");
        assert!(msg.result);
    }
    let (status, text) = get(running.http, "/metrics").await;
    assert_eq!(status, 200);
    assert!(
        text.contains(
            "holoscale_serve_desired_replicas{scaler=\"hpa\",service=\"api\",fallback=\"false\"} 5"
        ),
        "{text}"
    );
    assert!(
        text.contains("holoscale_serve_requests_total{method=\"GetMetrics\",code=\"ok\"}"),
        "{text}"
    );
    assert!(
        text.contains("holoscale_serve_feed_state{state=\"fresh\"} 1"),
        "{text}"
    );
    assert_eq!(get(running.http, "/readyz").await.0, 200);
    // Graceful stop ends the open stream too.
    drop(stream);
    tokio::time::timeout(Duration::from_secs(10), running.stop())
        .await
        .expect("the server stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_pushes_get_400_with_the_reason_and_change_nothing() {
    let running = serve::start(config("")).await.unwrap();
    let mut client = ExternalScalerClient::connect(format!("http://{}", running.grpc))
        .await
        .unwrap();
    let good = rows_json(T0, &[("api", 3.0, 0.9), ("db", 2.0, 0.5)]);
    assert_eq!(push(running.http, good.clone()).await.0, 200);
    let before = (
        metric(&mut client, "api", None).await.unwrap(),
        metric(&mut client, "db", None).await.unwrap(),
    );
    let later = T0 + 1000;
    let cases = [
        ("[{\"timestamp\": 1, \"service\":", "not JSON"),
        ("{\"rows\": []}", "JSON array"),
        ("[]", "no rows"),
        (
            &*rows_json(later, &[("cart", 1.0, 0.5)]),
            "`cart` is not among",
        ),
        (
            &*format!(r#"[{{"timestamp": {later}, "service": "api", "cpu_util": "NaN"}}]"#),
            "is not a number",
        ),
        (
            &*format!(r#"[{{"timestamp": {later}, "service": "api", "req_rate": -5}}]"#),
            "-5 is not a finite, non-negative number",
        ),
        (
            &*format!(
                r#"[{{"timestamp": {}, "service": "api", "cpu_util": 0.1}}, {{"timestamp": {later}, "service": "api", "cpu_util": 0.1}}]"#,
                later + 1000
            ),
            "timestamps out of order",
        ),
        (&*good, "is not after the last observation"),
        (
            r#"[{"timestamp": "yesterday", "service": "api", "cpu_util": 0.1}]"#,
            "row 0",
        ),
    ];
    for (body, reason) in cases {
        let (status, text) = push(running.http, body.to_string()).await;
        assert_eq!(status, 400, "{body} -> {text}");
        assert!(text.contains(reason), "expected `{reason}` in {text}");
        let now = (
            metric(&mut client, "api", None).await.unwrap(),
            metric(&mut client, "db", None).await.unwrap(),
        );
        assert_eq!(now, before, "a refused push changed a decision: {body}");
    }
    // A later interval in two rows of one push is taken (one interval each).
    let (status, text) = push(
        running.http,
        rows_json(later, &[("api", 5.0, 0.3), ("db", 2.0, 0.5)]),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    // An interval without db's row: its three values are filled forward from the last.
    let (status, text) = push(running.http, rows_json(later + 1000, &[("api", 5.0, 0.3)])).await;
    assert_eq!(status, 200, "{text}");
    let (_, metrics) = get(running.http, "/metrics").await;
    assert!(
        metrics.contains("holoscale_serve_pushes_total{result=\"refused\"} 9"),
        "{metrics}"
    );
    assert!(
        metrics.contains("holoscale_serve_filled_values_total 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("holoscale_serve_prediction_warnings_total 0"),
        "{metrics}"
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_feed_keeps_the_last_decision_then_falls_back_then_recovers() {
    let running = serve::start(config("keep_last_s = 4")).await.unwrap();
    let mut client = ExternalScalerClient::connect(format!("http://{}", running.grpc))
        .await
        .unwrap();
    // 2 replicas at 63% CPU: within the HPA's tolerance (0.63 / 0.6 = 1.05), so it keeps 2;
    // the fallback rule has no tolerance: ceil(2 * 0.63 / 0.6) = 3.
    assert_eq!(
        push(running.http, rows_json(T0, &[("api", 2.0, 0.63)]))
            .await
            .0,
        200
    );
    assert_eq!(metric(&mut client, "api", None).await.unwrap().0, 2);
    let state = |r: &serve::Running| r.shared.snapshot().state;
    let wait_for = |want: FeedState, within_s: u64| {
        let shared = running.shared.clone();
        async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(within_s);
            while shared.snapshot().state != want {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "never reached {want:?}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    // Two missed periods (2 s): stale, still the last decision.
    wait_for(FeedState::Stale, 10).await;
    assert_eq!(metric(&mut client, "api", None).await.unwrap().0, 2);
    // After keep_last_s: the fallback, never zero (db has no CPU figure: its last decision).
    wait_for(FeedState::Fallback, 10).await;
    assert_eq!(metric(&mut client, "api", None).await.unwrap().0, 3);
    assert!(metric(&mut client, "db", None).await.unwrap().0 >= 1);
    let (_, text) = get(running.http, "/metrics").await;
    assert!(
        text.contains("holoscale_serve_feed_state{state=\"fallback\"} 1"),
        "{text}"
    );
    assert!(text.contains("holoscale_serve_fallbacks_total 1"), "{text}");
    // db never had a row and api's missing intervals are not rows: nothing was filled.
    assert!(
        text.contains("holoscale_serve_filled_values_total 0"),
        "{text}"
    );
    // Telemetry again: the scaler's decisions are back.
    assert_eq!(
        push(running.http, rows_json(T0 + 30_000, &[("api", 2.0, 0.63)]))
            .await
            .0,
        200
    );
    assert_eq!(state(&running), FeedState::Fresh);
    assert_eq!(metric(&mut client, "api", None).await.unwrap().0, 2);
    running.stop().await;
}

#[test]
fn bad_settings_name_the_field() {
    let bad = |text: &str| {
        ServeConfig::from_toml(text, "serve.toml", Path::new("."))
            .unwrap_err()
            .to_string()
    };
    let ok = "scalers = [\"hpa\"]\nservices = [\"a\"]\n[feed]\nmode = \"push\"\n";
    assert!(ServeConfig::from_toml(ok, "serve.toml", Path::new(".")).is_ok());
    assert!(
        bad("scalers = []\nservices = [\"a\"]\n[feed]\nmode = \"push\"\n").contains("`scalers`")
    );
    assert!(bad("scalers = [\"hpa\"]\n[feed]\nmode = \"push\"\n").contains("`services`"));
    assert!(
        bad("scalers = [\"oracle\"]\nservices = [\"a\"]\n[feed]\nmode = \"push\"\n")
            .contains("oracle")
    );
    assert!(
        bad("scalers = [\"hpa\"]\nservices = [\"a\"]\n[feed]\nmode = \"kafka\"\n")
            .contains("`feed.mode`")
    );
    assert!(
        bad("scalers = [\"hpa\"]\nservices = [\"a\"]\n[feed]\nmode = \"prometheus\"\n")
            .contains("`feed.url`")
    );
    assert!(bad(&format!("{ok}[bounds.b]\nmin = 1\nmax = 2\n")).contains("bounds.b"));
    assert!(bad(&format!("{ok}[bounds.a]\nmin = 3\nmax = 2\n")).contains("1 <= min <= max"));
    assert!(
        bad(&ok.replace("scalers", "grpc_listen = \"nowhere\"\nscalers")).contains("`grpc_listen`")
    );
    assert!(bad(&ok.replace("scalers", "typo = 1\nscalers")).contains("unknown field"));
    assert!(
        bad("scalers = [\"deepscaler:/nonexistent/model\"]\n[feed]\nmode = \"push\"\n")
            .contains("/nonexistent/model")
    );
    // The scaler names of a list, and a recommender for them, are accepted.
    let kinds = ScalerKind::parse_list("hpa,aws").unwrap();
    assert_eq!(kinds.len(), 2);
    let _ = RecommenderConfig::new(ScalerKind::Hpa(None), vec!["a".into()], 1000).unwrap();
}
