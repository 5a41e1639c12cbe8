//! `holoscale serve`: a KEDA external scaler (SPEC 7, "Serving").
//!
//! KEDA asks an external scaler, over gRPC (`proto/externalscaler.proto`, vendored from
//! KEDA), whether a ScaledObject is active and what its metric is. The convention of
//! predictive KEDA scalers: `GetMetricSpec` answers a target of 1 (`targetSizeFloat = 1`)
//! and `GetMetrics` the desired replicas (`metricValueFloat`), so the HPA that KEDA
//! manages sets exactly that many. Both the float and the deprecated int fields are set.
//! A ScaledObject selects the service with `service: NAME` in its trigger metadata and
//! optionally the scaler with `scaler: LABEL` (the first configured scaler otherwise).
//!
//! The server keeps one [`Recommender`](crate::recommend::Recommender) per configured
//! scaler, fed by the [`Feed`](config::Feed): rows POSTed to `/push`, or the Prometheus
//! HTTP API polled every decision period with the templates of `holoscale import
//! prometheus`. After every fed interval the decisions of all scalers for all services are
//! published as one immutable snapshot, so an RPC is a lookup that never waits on the feed
//! or a model.
//!
//! Degraded modes (each logged and visible in `/metrics` as `holoscale_serve_feed_state`):
//! before the first telemetry `GetMetrics` answers UNAVAILABLE (KEDA and its HPA then keep
//! the replicas) and `/readyz` 503; two missed periods make the decisions *stale* (still
//! served); after `keep_last_s` without telemetry the *fallback* replaces them (the HPA
//! rule on the last known CPU utilisation, never zero); the next telemetry restores the
//! scalers' decisions. A model whose services are not the configured ones is refused at
//! start; refused pushes get HTTP 400 with the reason and change nothing; the recommender
//! clamps every decision to the service's bounds and reports NaN or negative predictions.

pub mod config;
pub mod grpc;
pub mod http;
pub mod load;
pub mod state;

/// The code generated from KEDA's `externalscaler.proto` (server and client).
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod proto {
    tonic::include_proto!("externalscaler");
}

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use config::{Feed, ServeConfig};
pub use state::{FeedState, Shared, Snapshot};

use crate::error::{Error, Result};

/// Intervals the Prometheus feed reads back on its first poll, so a model's window fills
/// at once (holoscale's default; windows of the cpu preset are 3 steps, the paper's 80).
pub const BACKFILL_INTERVALS: i64 = 100;

/// A running server.
#[derive(Debug)]
pub struct Running {
    /// Where the gRPC server listens.
    pub grpc: SocketAddr,
    /// Where the HTTP server listens.
    pub http: SocketAddr,
    /// The shared state (decisions, metrics).
    pub shared: Arc<Shared>,
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Stops accepting requests, lets the ones in flight finish, ends the streams and the
    /// feed, and waits for all of it.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

fn io_error(what: &str, addr: SocketAddr, e: std::io::Error) -> Error {
    Error::param(what, format!("cannot listen on {addr}: {e}"))
}

/// Starts the gRPC server, the HTTP server and the feed for `cfg` (port 0 picks a free
/// port; [`Running`] says which).
pub async fn start(cfg: ServeConfig) -> Result<Running> {
    let shared = Arc::new(Shared::new(cfg)?);
    let grpc_listener = tokio::net::TcpListener::bind(shared.cfg.grpc_listen)
        .await
        .map_err(|e| io_error("grpc_listen", shared.cfg.grpc_listen, e))?;
    let http_listener = tokio::net::TcpListener::bind(shared.cfg.http_listen)
        .await
        .map_err(|e| io_error("http_listen", shared.cfg.http_listen, e))?;
    let grpc = grpc_listener
        .local_addr()
        .map_err(|e| io_error("grpc_listen", shared.cfg.grpc_listen, e))?;
    let http = http_listener
        .local_addr()
        .map_err(|e| io_error("http_listen", shared.cfg.http_listen, e))?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let mut tasks = Vec::new();

    let service = proto::external_scaler_server::ExternalScalerServer::new(grpc::Keda::new(
        shared.clone(),
        stopped.clone(),
    ));
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(grpc_listener);
    let signal = until(stopped.clone());
    tasks.push(tokio::spawn(async move {
        if let Err(e) = tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming_shutdown(incoming, signal)
            .await
        {
            tracing::error!(target: "holoscale::serve", "gRPC server failed: {e}");
        }
    }));

    let router = http::router(shared.clone());
    let signal = until(stopped.clone());
    tasks.push(tokio::spawn(async move {
        if let Err(e) = axum::serve(http_listener, router)
            .with_graceful_shutdown(signal)
            .await
        {
            tracing::error!(target: "holoscale::serve", "HTTP server failed: {e}");
        }
    }));

    tasks.push(tokio::spawn(feed_loop(shared.clone(), stopped.clone())));
    tracing::info!(
        target: "holoscale::serve",
        "serving {} services with {} (gRPC {grpc}, HTTP {http}, feed {})",
        shared.cfg.services().len(),
        shared.scaler_labels().join(", "),
        match &shared.cfg.feed {
            Feed::Push => "push".to_string(),
            Feed::Prometheus { url, .. } => format!("prometheus {url}"),
        }
    );
    Ok(Running {
        grpc,
        http,
        shared,
        stop,
        tasks,
    })
}

/// Polls Prometheus every feed period (Prometheus feed) and checks the feed's age four times
/// per period (both feeds), until `stopped`.
async fn feed_loop(shared: Arc<Shared>, mut stopped: tokio::sync::watch::Receiver<bool>) {
    let period = Duration::from_secs_f64(shared.cfg.feed_period_s());
    let mut poll = tokio::time::interval(period);
    // The replay clock: the feed's "now", one interval further at every poll.
    let (replay_from, replay_to) = match &shared.cfg.feed {
        Feed::Prometheus {
            replay_from_ms,
            replay_to_ms,
            ..
        } => (*replay_from_ms, *replay_to_ms),
        Feed::Push => (None, None),
    };
    let clock = Arc::new(std::sync::atomic::AtomicI64::new(
        replay_from.unwrap_or(i64::MIN),
    ));
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The feed's age is checked four times per feed period (at most every second).
    let mut check = tokio::time::interval(Duration::from_secs_f64(
        (shared.cfg.feed_period_s() / 4.0).clamp(0.05, 1.0),
    ));
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            _ = poll.tick(), if matches!(shared.cfg.feed, Feed::Prometheus { .. }) => {
                let worker = shared.clone();
                let now = clock.load(std::sync::atomic::Ordering::Relaxed);
                let now = (now != i64::MIN).then(|| {
                    let next = now.saturating_add(shared.cfg.interval_ms());
                    clock.store(replay_to.map_or(next, |end| next.min(end)), std::sync::atomic::Ordering::Relaxed);
                    now
                });
                match tokio::task::spawn_blocking(move || poll_prometheus(&worker, now)).await {
                    Ok(Ok(n)) => tracing::debug!(target: "holoscale::serve", "fed {n} interval(s) from Prometheus"),
                    Ok(Err(e)) => {
                        shared.metrics.feed_errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        tracing::warn!(target: "holoscale::serve", "Prometheus poll failed: {e}");
                    }
                    Err(e) => tracing::error!(target: "holoscale::serve", "Prometheus poll task failed: {e}"),
                }
            }
            _ = check.tick() => {
                if let Some(state) = shared.check_staleness() {
                    tracing::warn!(
                        target: "holoscale::serve",
                        "feed {}: no telemetry for {:.0} s",
                        state.name(),
                        shared.data_age_s().unwrap_or(f64::NAN)
                    );
                }
            }
        }
    }
}

/// One Prometheus poll: the intervals since the last observed one (the last
/// [`BACKFILL_INTERVALS`] at first), up to the interval boundary at `now` (the replay
/// clock's) or at the wall clock's time.
fn poll_prometheus(shared: &Shared, now: Option<i64>) -> Result<usize> {
    let Feed::Prometheus {
        url,
        namespace,
        rate_window,
        queries,
        timeout_s,
        ..
    } = &shared.cfg.feed
    else {
        return Ok(0);
    };
    let step = shared.cfg.interval_ms();
    let now = now.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    });
    let end = now.div_euclid(step) * step;
    let start = match shared.last_time_ms() {
        Some(last) => last + step,
        None => end - (BACKFILL_INTERVALS - 1) * step,
    };
    if start > end {
        return Ok(0);
    }
    let client =
        holoscale_datasets::io::prometheus::Client::new(url, Duration::from_secs_f64(*timeout_s));
    let range = holoscale_datasets::io::prometheus::Range::try_new(start, end, step)?;
    let import = holoscale_datasets::io::prometheus::import_bounded(
        &client,
        queries,
        namespace,
        rate_window,
        &range,
        Some(256 << 20),
        &holoscale_datasets::io::NoProgress,
    )?;
    let served: Vec<&String> = import
        .telemetry
        .services()
        .iter()
        .filter(|s| shared.cfg.services().contains(s))
        .collect();
    if served.is_empty() {
        return Err(Error::param(
            "feed",
            format!(
                "Prometheus returned none of the served services (it has {})",
                import.telemetry.services().join(", ")
            ),
        ));
    }
    let tel = import.telemetry.select_services(&served)?;
    shared.feed_telemetry(&tel)
}

/// Runs the server for `cfg` on its own runtime until SIGTERM or Ctrl-C, then shuts down
/// gracefully. `started` is called once it listens.
pub fn run_until_signal(cfg: ServeConfig, started: impl FnOnce(&Running)) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::param("runtime", format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async move {
        let running = start(cfg).await?;
        started(&running);
        shutdown_signal().await;
        tracing::info!(target: "holoscale::serve", "shutting down");
        running.stop().await;
        Ok(())
    })
}

/// Waits for SIGTERM (what Kubernetes sends) or Ctrl-C.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
