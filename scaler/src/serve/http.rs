//! The HTTP side: `/healthz`, `/readyz`, `/metrics` (Prometheus text format) and
//! `POST /push` (telemetry rows as JSON).

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;

use super::config::Feed;
use super::state::{FeedState, Shared, is_fallback};
use crate::recommend::ServiceRow;

/// Most bytes one push may hold (a day of 41 services at 30 s is about 3 MiB).
pub const MAX_PUSH_BYTES: usize = 16 << 20;

/// The HTTP routes over `shared`.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/push", post(push))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_PUSH_BYTES))
        .with_state(shared)
}

async fn readyz(State(shared): State<Arc<Shared>>) -> Response {
    let snap = shared.snapshot();
    if snap.state == FeedState::Waiting {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: no telemetry observed yet\n",
        )
            .into_response();
    }
    (StatusCode::OK, format!("ready: {}\n", snap.state.name())).into_response()
}

fn text(body: String) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// Escapes a Prometheus label value.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn single(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    family(out, name, kind, help);
    let _ = writeln!(out, "{name} {value}");
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    let m = &shared.metrics;
    let snap = shared.snapshot();
    let mut out = String::new();
    let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    family(
        &mut out,
        "holoscale_serve_requests_total",
        "counter",
        "gRPC requests answered, by method and status code.",
    );
    {
        let rpcs = m.rpcs.lock().unwrap_or_else(|p| p.into_inner());
        for ((method, code), n) in rpcs.iter() {
            let _ = writeln!(
                out,
                "holoscale_serve_requests_total{{method=\"{method}\",code=\"{code}\"}} {n}"
            );
        }
    }
    single(
        &mut out,
        "holoscale_serve_decisions_total",
        "counter",
        "Decision rounds (every scaler, new telemetry).",
        load(&m.decisions),
    );
    single(
        &mut out,
        "holoscale_serve_decision_seconds_total",
        "counter",
        "Time spent deciding, seconds.",
        load(&m.decision_us) as f64 / 1e6,
    );
    single(
        &mut out,
        "holoscale_serve_last_decision_seconds",
        "gauge",
        "Time the last decision round took, seconds.",
        load(&m.last_decision_us) as f64 / 1e6,
    );
    single(
        &mut out,
        "holoscale_serve_data_age_seconds",
        "gauge",
        "Seconds since the feed last delivered telemetry (NaN: never).",
        shared.data_age_s().unwrap_or(f64::NAN),
    );
    single(
        &mut out,
        "holoscale_serve_data_time_seconds",
        "gauge",
        "Time of the last observed interval, seconds since the epoch (NaN: none).",
        shared
            .last_time_ms()
            .map_or(f64::NAN, |t| t as f64 / 1000.0),
    );
    family(
        &mut out,
        "holoscale_serve_feed_state",
        "gauge",
        "1 for the feed's current state (waiting, fresh, stale, fallback).",
    );
    for s in [
        FeedState::Waiting,
        FeedState::Fresh,
        FeedState::Stale,
        FeedState::Fallback,
    ] {
        let _ = writeln!(
            out,
            "holoscale_serve_feed_state{{state=\"{}\"}} {}",
            s.name(),
            u8::from(snap.state == s)
        );
    }
    single(
        &mut out,
        "holoscale_serve_fallbacks_total",
        "counter",
        "Switches into the fallback rule.",
        load(&m.fallbacks),
    );
    single(
        &mut out,
        "holoscale_serve_prediction_warnings_total",
        "counter",
        "Predictions that were NaN or negative and were clamped to the bounds.",
        load(&m.prediction_warnings),
    );
    single(
        &mut out,
        "holoscale_serve_filled_values_total",
        "counter",
        "Values missing from the feed (a service, a column, a missed scrape) filled forward.",
        load(&m.filled_values),
    );
    single(
        &mut out,
        "holoscale_serve_feed_errors_total",
        "counter",
        "Failed Prometheus polls.",
        load(&m.feed_errors),
    );
    family(
        &mut out,
        "holoscale_serve_pushes_total",
        "counter",
        "POST /push requests, by result.",
    );
    let _ = writeln!(
        out,
        "holoscale_serve_pushes_total{{result=\"accepted\"}} {}\nholoscale_serve_pushes_total{{result=\"refused\"}} {}",
        load(&m.pushes_accepted),
        load(&m.pushes_refused)
    );
    family(
        &mut out,
        "holoscale_serve_desired_replicas",
        "gauge",
        "The latest recommendation per scaler and service.",
    );
    for (scaler, by_service) in &snap.decisions {
        for (service, r) in by_service {
            let _ = writeln!(
                out,
                "holoscale_serve_desired_replicas{{scaler=\"{}\",service=\"{}\",fallback=\"{}\"}} {}",
                label(scaler),
                label(service),
                is_fallback(r),
                r.replicas
            );
        }
    }
    single(
        &mut out,
        "holoscale_serve_uptime_seconds",
        "gauge",
        "Seconds since the server started.",
        shared.uptime_s(),
    );
    text(out)
}

fn refuse(shared: &Shared, message: String) -> Response {
    shared
        .metrics
        .pushes_refused
        .fetch_add(1, Ordering::Relaxed);
    tracing::warn!(target: "holoscale::serve", "push refused: {message}");
    let body = serde_json::json!({ "error": message });
    (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
}

async fn push(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    if shared.cfg.feed != Feed::Push {
        return (
            StatusCode::CONFLICT,
            axum::Json(serde_json::json!({
                "error": "this server reads Prometheus (feed.mode = \"prometheus\"); it takes no pushed rows"
            })),
        )
            .into_response();
    }
    let intervals = match parse_push(&body) {
        Ok(i) => i,
        Err(message) => return refuse(&shared, message),
    };
    let rows: usize = intervals.iter().map(|(_, r)| r.len()).sum();
    let worker = shared.clone();
    let fed = tokio::task::spawn_blocking(move || worker.push(&intervals)).await;
    match fed {
        Ok(Ok(n)) => {
            shared
                .metrics
                .pushes_accepted
                .fetch_add(1, Ordering::Relaxed);
            axum::Json(serde_json::json!({ "intervals": n, "rows": rows })).into_response()
        }
        Ok(Err(e)) => refuse(&shared, e.to_string()),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(serde_json::json!({ "error": format!("decision task failed: {e}") })),
        )
            .into_response(),
    }
}

/// Parses a push: a JSON array of rows in the telemetry schema, each an object with
/// `timestamp` (RFC 3339 text or milliseconds since the epoch), `service` and numeric
/// columns. Rows of one timestamp form one interval; timestamps must not go back.
pub fn parse_push(body: &[u8]) -> Result<Vec<(i64, Vec<ServiceRow>)>, String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let Value::Array(items) = v else {
        return Err("the body must be a JSON array of rows".into());
    };
    let mut out: Vec<(i64, Vec<ServiceRow>)> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Value::Object(fields) = item else {
            return Err(format!("row {i}: not a JSON object"));
        };
        let time = match fields.get("timestamp") {
            Some(Value::String(t)) => holoscale_datasets::time::parse_timestamp(t, "timestamp")
                .map_err(|e| format!("row {i}: {e}"))?,
            Some(Value::Number(n)) => n
                .as_i64()
                .ok_or_else(|| format!("row {i}: `timestamp` {n} is not whole milliseconds"))?,
            _ => {
                return Err(format!(
                    "row {i}: needs a `timestamp` (RFC 3339 text or milliseconds)"
                ));
            }
        };
        let service = match fields.get("service") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => return Err(format!("row {i}: needs a `service` name")),
        };
        let mut values = Vec::new();
        for (k, v) in fields {
            if k == "timestamp" || k == "service" {
                continue;
            }
            match v {
                Value::Number(n) => values.push((k.clone(), n.as_f64().unwrap_or(f64::NAN))),
                Value::Null => {}
                other => {
                    return Err(format!(
                        "row {i}, service `{service}`, column `{k}`: {other} is not a number"
                    ));
                }
            }
        }
        let row = ServiceRow { service, values };
        match out.last_mut() {
            Some((t, rows)) if *t == time => rows.push(row),
            Some((t, _)) if *t > time => {
                return Err(format!(
                    "row {i}: timestamps out of order ({} after {})",
                    holoscale_datasets::time::format_ms(time),
                    holoscale_datasets::time::format_ms(*t)
                ));
            }
            _ => out.push((time, vec![row])),
        }
    }
    if out.is_empty() {
        return Err("the push holds no rows".into());
    }
    Ok(out)
}
