//! `serve.toml`: what `holoscale serve` runs (README, "Run it in a cluster").
//!
//! ```toml
//! # The scalers the server runs on the same data; the first answers ScaledObjects that
//! # name none (`scaler:` in their metadata picks another by its name).
//! scalers = ["deepscaler:ob-model", "hpa"]
//! # Services and decision period: from the model when a deepscaler scaler is listed,
//! # otherwise both are required.
//! # services = ["frontend", "cartservice"]
//! # interval_s = 30
//! grpc_listen = "0.0.0.0:9090"     # KEDA's external scaler protocol
//! http_listen = "0.0.0.0:8080"     # /healthz, /readyz, /metrics, POST /push
//! keep_last_s = 300                # feed down: keep the last decision this long, then the fallback
//! fallback_cpu_target = 0.6        # the fallback: HPA rule on the last known CPU utilisation
//!
//! [feed]
//! mode = "push"                    # telemetry rows POSTed to /push; or "prometheus":
//! # mode = "prometheus"
//! # url = "http://prometheus.monitoring:9090"
//! # namespace = "default"
//! # rate_window = "1m"
//! # queries = "queries.toml"       # overrides of the PromQL templates (holoscale import prometheus)
//! # timeout_s = 10
//! # replay_from = "2026-12-01T00:00:00Z"  # serve a recorded history: the clock starts here and
//! # replay_to = "2026-12-02T00:00:00Z"    # ... up to here; it moves one interval per poll
//! # poll_s = 1                             # (every poll_s seconds; default the decision period)
//!
//! [bounds.cartservice]             # per service; default 1..=100
//! min = 2
//! max = 30
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::recommend::{DEFAULT_FALLBACK_TARGET, RecommenderConfig};
use crate::scalers::ScalerKind;

/// Where the server's telemetry comes from.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // one per server, read in place
pub enum Feed {
    /// Rows POSTed to `/push` (JSON, the telemetry schema).
    Push,
    /// The Prometheus HTTP API, polled every decision period with the import's templates.
    Prometheus {
        /// Base URL of the server.
        url: String,
        /// Kubernetes namespace (`$ns` in the templates).
        namespace: String,
        /// Rate window (`$w`).
        rate_window: String,
        /// Query templates (the defaults of SPEC 8, or a `queries` file's).
        queries: holoscale_datasets::io::prometheus::Queries,
        /// Timeout of one request, seconds.
        timeout_s: f64,
        /// Replay: the feed's clock starts at this time (ms since the epoch) and moves one
        /// interval per poll instead of following the wall clock, so a recorded history
        /// can be served as if live (tests, demonstrations); `None`: the wall clock.
        replay_from_ms: Option<i64>,
        /// Replay: where the clock stops (ms since the epoch; `None`: it does not stop).
        replay_to_ms: Option<i64>,
        /// Seconds between polls (default: the decision period).
        poll_s: Option<f64>,
    },
}

/// The settings of `holoscale serve`.
#[derive(Debug, Clone, PartialEq)]
pub struct ServeConfig {
    /// One recommender per scaler, by label (`deepscaler`, `hpa`, ...); the first is the
    /// default.
    pub scalers: Vec<(String, RecommenderConfig)>,
    /// Address of the gRPC server.
    pub grpc_listen: SocketAddr,
    /// Address of the HTTP server.
    pub http_listen: SocketAddr,
    /// Seconds the last decision is kept after the feed stops delivering, before the
    /// fallback.
    pub keep_last_s: f64,
    /// The telemetry source.
    pub feed: Feed,
    /// The file the settings came from (for messages).
    pub source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    scalers: Vec<String>,
    #[serde(default)]
    services: Option<Vec<String>>,
    #[serde(default)]
    interval_s: Option<f64>,
    #[serde(default = "default_grpc")]
    grpc_listen: String,
    #[serde(default = "default_http")]
    http_listen: String,
    #[serde(default = "default_keep")]
    keep_last_s: f64,
    #[serde(default = "default_fallback")]
    fallback_cpu_target: f64,
    #[serde(default)]
    slo_ms: Option<f64>,
    feed: FeedFile,
    #[serde(default)]
    bounds: BTreeMap<String, BoundsFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedFile {
    mode: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default = "default_namespace")]
    namespace: String,
    #[serde(default = "default_window")]
    rate_window: String,
    #[serde(default)]
    queries: Option<PathBuf>,
    #[serde(default = "default_timeout")]
    timeout_s: f64,
    #[serde(default)]
    replay_from: Option<String>,
    #[serde(default)]
    replay_to: Option<String>,
    #[serde(default)]
    poll_s: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BoundsFile {
    min: u32,
    max: u32,
}

fn default_grpc() -> String {
    "0.0.0.0:9090".into()
}
fn default_http() -> String {
    "0.0.0.0:8080".into()
}
fn default_keep() -> f64 {
    300.0
}
fn default_fallback() -> f64 {
    DEFAULT_FALLBACK_TARGET
}
fn default_namespace() -> String {
    "default".into()
}
fn default_window() -> String {
    holoscale_datasets::io::prometheus::DEFAULT_WINDOW.into()
}
fn default_timeout() -> f64 {
    10.0
}

impl ServeConfig {
    /// Reads and checks `path`; relative paths in it (models, query files) are relative to
    /// its directory.
    pub fn from_file(path: &Path) -> Result<ServeConfig> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::param("config", format!("cannot read {}: {e}", path.display())))?;
        let base = path.parent().unwrap_or(Path::new("."));
        ServeConfig::from_toml(&text, &path.display().to_string(), base)
    }

    /// Parses and checks TOML; `file` names it in messages and `base` anchors relative
    /// paths.
    pub fn from_toml(text: &str, file: &str, base: &Path) -> Result<ServeConfig> {
        let bad = |field: &str, message: String| {
            Error::param("config", format!("{file}: `{field}`: {message}"))
        };
        let f: File =
            toml::from_str(text).map_err(|e| Error::param("config", format!("{file}: {e}")))?;
        if f.scalers.is_empty() {
            return Err(bad("scalers", "lists no scaler".into()));
        }
        let mut kinds = Vec::new();
        for text in &f.scalers {
            let kind = ScalerKind::parse(text).map_err(|e| bad("scalers", e.to_string()))?;
            let kind = match kind {
                ScalerKind::DeepScaler(dir) if dir.is_relative() => {
                    ScalerKind::DeepScaler(base.join(dir))
                }
                k => k,
            };
            if kind.is_oracle() {
                return Err(bad(
                    "scalers",
                    "the oracle knows the coming load and cannot serve a cluster".into(),
                ));
            }
            if kinds
                .iter()
                .any(|(l, _): &(String, ScalerKind)| *l == kind.label())
            {
                return Err(bad(
                    "scalers",
                    format!("two scalers are both labelled `{}`", kind.label()),
                ));
            }
            kinds.push((kind.label(), kind));
        }
        // Services and interval: the first model's, else the file's.
        let model = kinds.iter().find_map(|(_, k)| match k {
            ScalerKind::DeepScaler(dir) => Some(dir.clone()),
            _ => None,
        });
        let (services, interval_ms) = match (&model, &f.services) {
            (Some(dir), given) => {
                let c =
                    RecommenderConfig::for_model(dir).map_err(|e| bad("scalers", e.to_string()))?;
                if let Some(given) = given
                    && *given != c.services
                {
                    return Err(bad(
                        "services",
                        format!(
                            "the model in {} has services {}; leave `services` out or list exactly those",
                            dir.display(),
                            c.services.join(", ")
                        ),
                    ));
                }
                if let Some(i) = f.interval_s
                    && (i * 1000.0).round() as i64 != c.interval_ms
                {
                    return Err(bad(
                        "interval_s",
                        format!(
                            "the model was trained at {} s intervals; a deepscaler scaler decides at its model's interval",
                            c.interval_ms as f64 / 1000.0
                        ),
                    ));
                }
                (c.services, c.interval_ms)
            }
            (None, Some(s)) => {
                let i = f.interval_s.unwrap_or(30.0);
                if !(i.is_finite() && i >= 1.0) {
                    return Err(bad("interval_s", format!("must be at least 1 s, got {i}")));
                }
                (s.clone(), (i * 1000.0).round() as i64)
            }
            (None, None) => {
                return Err(bad(
                    "services",
                    "is needed when no deepscaler scaler gives the services".into(),
                ));
            }
        };
        let mut scalers = Vec::new();
        for (label, kind) in kinds {
            let mut c = RecommenderConfig::new(kind, services.clone(), interval_ms)
                .map_err(|e| bad("services", e.to_string()))?;
            c.fallback_target = f.fallback_cpu_target;
            if let Some(ms) = f.slo_ms {
                c.slo.latency_ms = ms;
            }
            for (service, b) in &f.bounds {
                c = c
                    .with_bounds(service, b.min, b.max)
                    .map_err(|e| bad(&format!("bounds.{service}"), e.to_string()))?;
            }
            c.check().map_err(|e| bad("scalers", e.to_string()))?;
            scalers.push((label, c));
        }
        let addr = |field: &str, text: &str| {
            text.parse::<SocketAddr>().map_err(|e| {
                bad(
                    field,
                    format!("`{text}` is not an address such as 0.0.0.0:9090 ({e})"),
                )
            })
        };
        let grpc_listen = addr("grpc_listen", &f.grpc_listen)?;
        let http_listen = addr("http_listen", &f.http_listen)?;
        if grpc_listen == http_listen && grpc_listen.port() != 0 {
            return Err(bad(
                "http_listen",
                "is the same address as grpc_listen".into(),
            ));
        }
        if !(f.keep_last_s.is_finite() && f.keep_last_s >= 0.0) {
            return Err(bad(
                "keep_last_s",
                format!("must be >= 0, got {}", f.keep_last_s),
            ));
        }
        let feed = match f.feed.mode.as_str() {
            "push" => Feed::Push,
            "prometheus" => {
                let url = f.feed.url.clone().ok_or_else(|| {
                    bad("feed.url", "is needed with mode = \"prometheus\"".into())
                })?;
                let queries = match &f.feed.queries {
                    Some(q) => {
                        holoscale_datasets::io::prometheus::Queries::from_file(&base.join(q))?
                    }
                    None => Default::default(),
                };
                if !(f.feed.timeout_s.is_finite() && f.feed.timeout_s > 0.0) {
                    return Err(bad(
                        "feed.timeout_s",
                        format!("must be positive, got {}", f.feed.timeout_s),
                    ));
                }
                let replay_from_ms = match &f.feed.replay_from {
                    Some(t) => Some(
                        holoscale_datasets::time::parse_timestamp(t, "feed.replay_from")
                            .map_err(|e| bad("feed.replay_from", e.to_string()))?,
                    ),
                    None => None,
                };
                let replay_to_ms = match &f.feed.replay_to {
                    Some(t) => Some(
                        holoscale_datasets::time::parse_timestamp(t, "feed.replay_to")
                            .map_err(|e| bad("feed.replay_to", e.to_string()))?,
                    ),
                    None => None,
                };
                if replay_to_ms.is_some() && replay_from_ms.is_none_or(|a| replay_to_ms < Some(a)) {
                    return Err(bad(
                        "feed.replay_to",
                        "needs feed.replay_from at or before it".into(),
                    ));
                }
                if let Some(p) = f.feed.poll_s
                    && !(p.is_finite() && p >= 0.01)
                {
                    return Err(bad(
                        "feed.poll_s",
                        format!("must be at least 0.01 s, got {p}"),
                    ));
                }
                Feed::Prometheus {
                    url,
                    namespace: f.feed.namespace.clone(),
                    rate_window: f.feed.rate_window.clone(),
                    queries,
                    timeout_s: f.feed.timeout_s,
                    replay_from_ms,
                    replay_to_ms,
                    poll_s: f.feed.poll_s,
                }
            }
            other => {
                return Err(bad(
                    "feed.mode",
                    format!("`{other}`: expected \"push\" or \"prometheus\""),
                ));
            }
        };
        Ok(ServeConfig {
            scalers,
            grpc_listen,
            http_listen,
            keep_last_s: f.keep_last_s,
            feed,
            source: file.to_string(),
        })
    }

    /// The served services (every recommender has the same).
    pub fn services(&self) -> &[String] {
        &self.scalers[0].1.services
    }

    /// The decision period, ms.
    pub fn interval_ms(&self) -> i64 {
        self.scalers[0].1.interval_ms
    }

    /// How often the feed is expected to deliver, seconds: the Prometheus poll period
    /// (`poll_s`), else the decision period. Staleness is counted in these periods.
    pub fn feed_period_s(&self) -> f64 {
        match &self.feed {
            Feed::Prometheus {
                poll_s: Some(p), ..
            } => *p,
            _ => self.interval_ms() as f64 / 1000.0,
        }
    }
}
