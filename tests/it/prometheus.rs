//! Import from a real Prometheus server.
//!
//! The test writes an hour of synthetic Istio and cAdvisor series with known rates as
//! OpenMetrics text, backfills them with `promtool tsdb create-blocks-from openmetrics`,
//! starts `prometheus` on 127.0.0.1 on a free port, runs `holoscale import prometheus`, and
//! checks the per-service rates, latencies, CPU, memory, replicas and call edges against the
//! numbers it planted. Debian's `prometheus` package provides both programs; `.ci/run`
//! installs it. Set HOLOSCALE_SKIP_PROMETHEUS=1 to skip on a machine without it.

use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use holoscale::datasets::io::{self, NoProgress, ReadOptions};

use crate::{holoscale, run};

/// Start of the planted history (2023-11-14T22:00:00Z), seconds.
const T0: i64 = 1_699_999_200;
const NS: &str = "shop";
const MIB: f64 = 1024.0 * 1024.0;

/// (service, requests/s, errors/s, mean latency ms, CPU cores, pods, memory bytes)
const SERVICES: [(&str, f64, f64, f64, f64, usize, f64); 3] = [
    ("frontend", 10.0, 0.5, 20.0, 0.8, 2, 300.0 * MIB),
    ("cart", 4.0, 0.0, 6.0, 0.3, 1, 100.0 * MIB),
    ("catalog", 7.0, 0.1, 3.0, 0.9, 3, 600.0 * MIB),
];
/// (source, destination, requests/s, mean latency ms)
const EDGES: [(&str, &str, f64, f64); 3] = [
    ("frontend", "cart", 4.0, 6.0),
    ("frontend", "catalog", 5.0, 3.0),
    ("cart", "catalog", 2.0, 2.5),
];
const MEM_LIMIT: f64 = 512.0 * MIB;

/// One series: `value(t)` for t = 0, 15, ..., 3600 seconds after T0.
fn series(out: &mut String, name: &str, labels: &str, value: impl Fn(f64) -> f64) {
    for t in (0..=3600).step_by(15) {
        writeln!(out, "{name}{{{labels}}} {} {}", value(t as f64), T0 + t).unwrap();
    }
}

fn openmetrics() -> String {
    let mut om = String::new();
    let family = |om: &mut String, name: &str| writeln!(om, "# TYPE {name} unknown").unwrap();
    let dst = |s: &str, ns: &str| {
        format!(
            r#"reporter="destination",destination_workload="{s}",destination_workload_namespace="{ns}""#
        )
    };
    family(&mut om, "istio_requests_total");
    for (s, rate, err, ..) in SERVICES {
        series(
            &mut om,
            "istio_requests_total",
            &format!(r#"{},response_code="200""#, dst(s, NS)),
            |t| (rate - err) * t,
        );
        if err > 0.0 {
            series(
                &mut om,
                "istio_requests_total",
                &format!(r#"{},response_code="503""#, dst(s, NS)),
                |t| err * t,
            );
        }
    }
    // Another namespace: must not appear.
    series(
        &mut om,
        "istio_requests_total",
        &format!(r#"{},response_code="200""#, dst("intruder", "prod")),
        |t| 99.0 * t,
    );
    for (a, b, rate, _) in EDGES {
        let l = format!(
            r#"reporter="source",source_workload="{a}",source_workload_namespace="{NS}",destination_workload="{b}",response_code="200""#
        );
        series(&mut om, "istio_requests_total", &l, |t| rate * t);
    }
    // Calls from the ingress gateway live in istio-system: not an edge of the namespace.
    series(
        &mut om,
        "istio_requests_total",
        r#"reporter="source",source_workload="istio-ingressgateway",source_workload_namespace="istio-system",destination_workload="frontend",response_code="200""#,
        |t| 10.0 * t,
    );
    for (suffix, per_request) in [("sum", true), ("count", false)] {
        let name = format!("istio_request_duration_milliseconds_{suffix}");
        family(&mut om, &name);
        for (s, rate, _, lat, ..) in SERVICES {
            series(&mut om, &name, &dst(s, NS), |t| {
                rate * t * if per_request { lat } else { 1.0 }
            });
        }
        for (a, b, rate, lat) in EDGES {
            let l = format!(
                r#"reporter="source",source_workload="{a}",source_workload_namespace="{NS}",destination_workload="{b}""#
            );
            series(&mut om, &name, &l, |t| {
                rate * t * if per_request { lat } else { 1.0 }
            });
        }
    }
    // Histogram: half the requests under 10 ms, 90% under 50 ms, all under 100 ms, so
    // p95 = 50 + 50·(0.95−0.9)/0.1 = 75 ms and p99 = 95 ms by linear interpolation.
    family(&mut om, "istio_request_duration_milliseconds_bucket");
    for (s, rate, ..) in SERVICES {
        for (le, share) in [("10", 0.5), ("50", 0.9), ("100", 1.0), ("+Inf", 1.0)] {
            series(
                &mut om,
                "istio_request_duration_milliseconds_bucket",
                &format!(r#"{},le="{le}""#, dst(s, NS)),
                |t| rate * share * t,
            );
        }
    }
    let pod = |s: &str, i: usize| format!(r#"namespace="{NS}",container="{s}",pod="{s}-{i}""#);
    family(&mut om, "container_cpu_usage_seconds_total");
    for (s, _, _, _, cpu, pods, _) in SERVICES {
        for i in 0..pods {
            series(
                &mut om,
                "container_cpu_usage_seconds_total",
                &pod(s, i),
                |t| cpu / pods as f64 * t,
            );
        }
    }
    // The pod-level cgroup (container="") must be excluded.
    series(
        &mut om,
        "container_cpu_usage_seconds_total",
        &format!(r#"namespace="{NS}",container="",pod="frontend-0""#),
        |t| 5.0 * t,
    );
    for (name, value) in [
        ("container_spec_cpu_quota", 50_000.0),
        ("container_spec_cpu_period", 100_000.0),
    ] {
        family(&mut om, name);
        for (s, _, _, _, _, pods, _) in SERVICES {
            for i in 0..pods {
                series(&mut om, name, &pod(s, i), |_| value);
            }
        }
    }
    family(&mut om, "container_memory_working_set_bytes");
    for (s, _, _, _, _, pods, mem) in SERVICES {
        for i in 0..pods {
            series(
                &mut om,
                "container_memory_working_set_bytes",
                &pod(s, i),
                |_| mem / pods as f64,
            );
        }
    }
    family(&mut om, "container_spec_memory_limit_bytes");
    for (s, _, _, _, _, pods, _) in SERVICES {
        for i in 0..pods {
            series(
                &mut om,
                "container_spec_memory_limit_bytes",
                &pod(s, i),
                |_| MEM_LIMIT,
            );
        }
    }
    om.push_str("# EOF\n");
    om
}

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn found(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_server(dir: &Path) -> Server {
    let input = dir.join("history.om");
    std::fs::write(&input, openmetrics()).unwrap();
    let data = dir.join("data");
    let out = Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&input)
        .arg(&data)
        .output()
        .expect("promtool runs");
    assert!(
        out.status.success(),
        "promtool failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    launch(dir, free_port())
}

/// Starts `prometheus` on `port` over the blocks in `dir/data` and waits until it is ready.
fn launch(dir: &Path, port: u16) -> Server {
    let data = dir.join("data");
    let config = dir.join("prometheus.yml");
    std::fs::write(&config, "global:\n  scrape_interval: 1h\n").unwrap();
    let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", data.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--storage.tsdb.retention.time=100y")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("prometheus starts");
    let server = Server { child, port };
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let ready = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok_and(|mut s| {
            use std::io::{Read, Write};
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            s.write_all(b"GET /-/ready HTTP/1.0\r\nHost: x\r\n\r\n")
                .is_ok()
                && {
                    let mut resp = String::new();
                    let _ = s.read_to_string(&mut resp);
                    resp.starts_with("HTTP/1.0 200") || resp.starts_with("HTTP/1.1 200")
                }
        });
        if ready {
            return server;
        }
        if Instant::now() > deadline {
            panic!(
                "prometheus did not become ready; its log:\n{}",
                std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn close(got: f64, want: f64) -> bool {
    (got - want).abs() <= 1e-6 * want.abs().max(1.0)
}

#[test]
fn import_from_a_real_prometheus_server() {
    if std::env::var_os("HOLOSCALE_SKIP_PROMETHEUS").is_some() {
        return;
    }
    assert!(
        found("prometheus") && found("promtool"),
        "this test needs Debian's `prometheus` package (prometheus and promtool); .ci/run installs it, or set HOLOSCALE_SKIP_PROMETHEUS=1"
    );
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path());
    let out = dir.path().join("telemetry.parquet");
    let start = T0 + 600;
    let end = T0 + 3000;
    run(
        holoscale()
            .args(["-q", "import", "prometheus"])
            .arg(format!("--url=http://127.0.0.1:{}", server.port))
            .args(["--namespace", NS, "--step", "30s", "--window", "1m"])
            .arg(format!("--start={}", start * 1000))
            .arg(format!("--end={}", end * 1000))
            .arg("--out")
            .arg(&out),
        true,
    );
    let tel = io::read_telemetry(&out, &ReadOptions::default(), &NoProgress).unwrap();
    assert_eq!(
        tel.services(),
        ["cart", "catalog", "frontend"],
        "other namespaces excluded"
    );
    assert_eq!(tel.start_ms(), start * 1000);
    assert_eq!(tel.interval_ms(), 30_000);
    assert_eq!(tel.len(), 81);
    for (s, rate, err, lat, cpu, pods, mem) in SERVICES {
        let check = |col: &str, want: f64| {
            let series = tel.series(s, col).unwrap();
            for (t, &v) in series.iter().enumerate() {
                assert!(
                    tel.observed()[[
                        t,
                        tel.service_index(s).unwrap(),
                        tel.column_index(col).unwrap()
                    ]],
                    "{s} {col} at step {t}"
                );
                assert!(
                    close(v, want),
                    "{s} {col} at step {t}: got {v}, planted {want}"
                );
            }
        };
        check("req_rate", rate);
        check("latency_ms", lat);
        check("latency_p95_ms", 75.0);
        check("latency_p99_ms", 95.0);
        check("cpu_cores", cpu);
        check("cpu_limit_cores", 0.5);
        check("replicas", pods as f64);
        check("cpu_util", cpu / (0.5 * pods as f64));
        check("mem_bytes", mem);
        check("mem_util", mem / (MEM_LIMIT * pods as f64));
        if err > 0.0 {
            check("errors_rate", err);
        }
    }
    let edges = io::read_edges(&dir.path().join("telemetry-edges.parquet")).unwrap();
    let agg = edges.aggregate();
    assert_eq!(agg.len(), EDGES.len(), "{agg:?}");
    for (a, b, rate, lat) in EDGES {
        let e = agg
            .iter()
            .find(|e| e.source == a && e.destination == b)
            .unwrap();
        assert!(
            close(e.req_rate, rate),
            "{a}->{b}: {} vs {rate}",
            e.req_rate
        );
        assert!(close(e.latency_ms.unwrap(), lat), "{a}->{b} latency");
    }
}

/// The metric `name` (with its labels, as written) in Prometheus text.
fn metric_value(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
}

/// `holoscale serve` reading this Prometheus through a replay of the planted hour: its
/// decisions equal the embedding API's on the same imported telemetry; with Prometheus
/// killed mid-run it keeps answering (stale, then the fallback) and it recovers, with the
/// missed intervals, when Prometheus returns.
#[test]
fn serve_follows_prometheus_through_an_outage() {
    use holoscale::scaler::ScalerKind;
    use holoscale::{Recommender, RecommenderConfig};

    if std::env::var_os("HOLOSCALE_SKIP_PROMETHEUS").is_some() {
        return;
    }
    assert!(
        found("prometheus") && found("promtool"),
        "needs Debian's prometheus package"
    );
    let dir = tempfile::tempdir().unwrap();
    let prom = start_server(dir.path());
    let port = prom.port;
    let (from, to) = ((T0 + 600) * 1000, (T0 + 3000) * 1000);
    let (grpc, http) = (free_port(), free_port());
    let settings = format!(
        r#"scalers = ["hpa"]
services = ["cart", "catalog", "frontend"]
interval_s = 30
grpc_listen = "127.0.0.1:{grpc}"
http_listen = "127.0.0.1:{http}"
keep_last_s = 4
[feed]
mode = "prometheus"
url = "http://127.0.0.1:{port}"
namespace = "{NS}"
rate_window = "1m"
replay_from = "{}"
replay_to = "{}"
poll_s = 0.1
"#,
        holoscale::datasets::time::format_ms(from),
        holoscale::datasets::time::format_ms(to)
    );
    let config = dir.path().join("serve.toml");
    std::fs::write(&config, settings).unwrap();
    let child = holoscale()
        .args(["-q", "serve", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let serve = Server { child, port: http };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into();
    let metrics = || {
        agent
            .get(format!("http://127.0.0.1:{http}/metrics"))
            .call()
            .ok()
            .and_then(|mut r| r.body_mut().read_to_string().ok())
            .unwrap_or_default()
    };
    let wait = |what: &str, ok: &dyn Fn(&str) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = metrics();
            if ok(&text) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "never {what}; last /metrics:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let data_time =
        |t: &str| metric_value(t, "holoscale_serve_data_time_seconds ").unwrap_or(f64::NAN);
    // Half-way through the replay, Prometheus goes away.
    wait("half-way", &|t| data_time(t) >= (T0 + 1200) as f64);
    drop(prom);
    let down = wait("in the fallback", &|t| {
        t.contains("holoscale_serve_feed_state{state=\"fallback\"} 1")
    });
    let stuck = data_time(&down);
    assert!(
        stuck < (T0 + 3000) as f64,
        "the replay went on without Prometheus"
    );
    assert!(metric_value(&down, "holoscale_serve_feed_errors_total ").unwrap() >= 1.0);
    for s in ["cart", "catalog", "frontend"] {
        let line = format!(
            "holoscale_serve_desired_replicas{{scaler=\"hpa\",service=\"{s}\",fallback=\"true\"}} "
        );
        let v = metric_value(&down, &line)
            .unwrap_or_else(|| panic!("{s} not in the fallback:\n{down}"));
        assert!(v >= 1.0, "{s}: the fallback never scales to zero");
    }
    // Back on the same port: the server catches up to the end of the replay.
    let prom = launch(dir.path(), port);
    let done = wait("caught up", &|t| {
        data_time(t) == (T0 + 3000) as f64
            && t.contains("holoscale_serve_feed_state{state=\"fresh\"} 1")
    });
    // The embedding API on the same intervals, imported the way the server polls them
    // (its first poll reads back 100 intervals from the replay's start).
    let client =
        io::prometheus::Client::new(&format!("http://127.0.0.1:{port}"), Duration::from_secs(10));
    let range = io::prometheus::Range::try_new(
        from - (holoscale::scaler::serve::BACKFILL_INTERVALS - 1) * 30_000,
        to,
        30_000,
    )
    .unwrap();
    let import =
        io::prometheus::import(&client, &Default::default(), NS, "1m", &range, &NoProgress)
            .unwrap();
    let services: Vec<String> = ["cart", "catalog", "frontend"].map(String::from).to_vec();
    let mut rec = Recommender::new(
        RecommenderConfig::new(ScalerKind::Hpa(None), services.clone(), 30_000).unwrap(),
    )
    .unwrap();
    let want = rec
        .observe_telemetry(&import.telemetry.select_services(&services).unwrap())
        .unwrap()
        .to_vec();
    for r in &want {
        let line = format!(
            "holoscale_serve_desired_replicas{{scaler=\"hpa\",service=\"{}\",fallback=\"false\"}} ",
            r.service
        );
        assert_eq!(
            metric_value(&done, &line),
            Some(f64::from(r.replicas)),
            "{}: the server and the embedding API disagree\n{done}",
            r.service
        );
    }
    // frontend runs 2 pods at 80% CPU against the HPA's 60%: ceil(2 * 0.8 / 0.6) = 3.
    assert_eq!(
        want.iter()
            .find(|r| r.service == "frontend")
            .unwrap()
            .replicas,
        3
    );
    // SIGTERM: a graceful exit.
    let mut serve = serve;
    let pid = serve.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = serve.child.try_wait().unwrap() {
            assert!(
                status.success(),
                "holoscale serve exited with {status} on SIGTERM"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "holoscale serve did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(prom);
}
