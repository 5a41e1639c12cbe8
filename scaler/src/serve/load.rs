//! A bounded load generator for the KEDA server (`holoscale bench serve`): `GetMetrics` for
//! every service in turn at a fixed request rate, for a fixed time or number of requests,
//! whichever comes first, with the latency of every answer.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::proto::external_scaler_client::ExternalScalerClient;
use super::proto::{GetMetricsRequest, ScaledObjectRef};
use crate::error::{Error, Result};

/// What a load run measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadReport {
    /// Requests sent.
    pub requests: u64,
    /// Requests that failed (any gRPC error or transport failure).
    pub errors: u64,
    /// Wall time of the run, seconds.
    pub seconds: f64,
    /// Achieved request rate, requests/s.
    pub rate: f64,
    /// Latency percentiles of the answered requests, ms.
    pub p50_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// 99.9th percentile, ms.
    pub p999_ms: f64,
    /// Slowest answer, ms.
    pub max_ms: f64,
}

/// The `q` quantile (0..=1) of sorted values (nearest rank).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Sends `GetMetrics` for `services` (round robin) to the server at `addr`
/// (`http://host:port`) at `rate` requests/s over `connections` connections, for
/// `duration` or `max_requests`, whichever ends first. Requests are scheduled on a fixed
/// timetable (open loop), so a slow answer does not lower the offered rate.
pub async fn run(
    addr: &str,
    services: &[String],
    rate: f64,
    duration: Duration,
    max_requests: u64,
    connections: usize,
) -> Result<LoadReport> {
    if services.is_empty() || !(rate > 0.0 && rate.is_finite()) || connections == 0 {
        return Err(Error::param(
            "load",
            "needs services, a positive rate and at least one connection",
        ));
    }
    let mut clients = Vec::with_capacity(connections);
    for _ in 0..connections {
        let c = ExternalScalerClient::connect(addr.to_string())
            .await
            .map_err(|e| Error::param("load", format!("cannot connect to {addr}: {e}")))?;
        clients.push(c);
    }
    let total = max_requests.min((rate * duration.as_secs_f64()).ceil() as u64);
    let gap = Duration::from_secs_f64(1.0 / rate);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Option<f64>>();
    let start = Instant::now();
    let deadline = start + duration;
    for i in 0..total {
        let due = start + gap.mul_f64(i as f64);
        if due >= deadline {
            break;
        }
        tokio::time::sleep_until(due.into()).await;
        let mut client = clients[i as usize % connections].clone();
        let service = services[i as usize % services.len()].clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut meta = std::collections::HashMap::new();
            meta.insert("service".to_string(), service.clone());
            let req = GetMetricsRequest {
                scaled_object_ref: Some(ScaledObjectRef {
                    name: format!("{service}-load"),
                    namespace: "bench".into(),
                    scaler_metadata: meta,
                }),
                metric_name: String::new(),
            };
            let t = Instant::now();
            let ok = client.get_metrics(req).await.is_ok();
            let _ = tx.send(ok.then(|| t.elapsed().as_secs_f64() * 1000.0));
        });
    }
    drop(tx);
    let mut latencies = Vec::new();
    let (mut requests, mut errors) = (0u64, 0u64);
    while let Some(r) = rx.recv().await {
        requests += 1;
        match r {
            Some(ms) => latencies.push(ms),
            None => errors += 1,
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    Ok(LoadReport {
        requests,
        errors,
        seconds,
        rate: requests as f64 / seconds.max(1e-9),
        p50_ms: quantile(&latencies, 0.5),
        p99_ms: quantile(&latencies, 0.99),
        p999_ms: quantile(&latencies, 0.999),
        max_ms: latencies.last().copied().unwrap_or(f64::NAN),
    })
}

/// [`run`] on its own runtime.
pub fn run_blocking(
    addr: &str,
    services: &[String],
    rate: f64,
    duration: Duration,
    max_requests: u64,
    connections: usize,
) -> Result<LoadReport> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| Error::param("runtime", format!("cannot start the async runtime: {e}")))?
        .block_on(run(
            addr,
            services,
            rate,
            duration,
            max_requests,
            connections,
        ))
}
