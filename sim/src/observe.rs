//! The observation boundary: what a real cluster shows a scaler at a decision time, and
//! nothing more.
//!
//! An [`Observation`] holds the replica counts (ready and starting), the resource limits and
//! replica bounds a scaler may change, the telemetry row each service's metrics would give
//! for the last interval (with the measurement noise and scrape gaps of the run), the call
//! rates between services (what a service mesh reports), the end-to-end latency of each
//! operation (what an ingress reports) and the SLO. It carries **no oracle**: the
//! `optimal_replicas` label is not among its columns ([`OBSERVED_COLUMNS`]), and the
//! simulator's internal state (queues, workload intensity, the expected load of the next
//! interval) is not in it. Policies and scalers decide from it alone
//! ([`crate::policy::Policy`]); the one data-collection policy that needs the oracle is given
//! it explicitly ([`crate::policy::OraclePolicy`]).

use crate::spec::Slo;

/// The telemetry columns a scaler observes, in the order of [`Observation::rows`]: the
/// simulator's columns ([`crate::engine::COLUMNS`]) without the `optimal_replicas` label.
pub const OBSERVED_COLUMNS: [&str; 11] = [
    holoscale_datasets::schema::REPLICAS,
    holoscale_datasets::schema::CPU_CORES,
    holoscale_datasets::schema::CPU_UTIL,
    holoscale_datasets::schema::MEM_BYTES,
    holoscale_datasets::schema::MEM_UTIL,
    holoscale_datasets::schema::REQ_RATE,
    holoscale_datasets::schema::LATENCY_MS,
    holoscale_datasets::schema::LATENCY_P95_MS,
    holoscale_datasets::schema::LATENCY_P99_MS,
    holoscale_datasets::schema::CPU_LIMIT_CORES,
    holoscale_datasets::schema::ERRORS_RATE,
];

/// One service's measured row for an interval, in [`OBSERVED_COLUMNS`] order (index it
/// with [`crate::engine::col`]); all NaN when the scrape missed it.
pub type ObservedRow = [f64; 11];

/// Measured calls from one service to another over the last interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EdgeRate {
    /// Caller, an index into [`Observation::services`].
    pub caller: usize,
    /// Callee, an index into [`Observation::services`].
    pub callee: usize,
    /// Calls per second.
    pub rate: f64,
    /// Mean latency of the calls as the caller sees them, ms; NaN without calls.
    pub latency_ms: f64,
}

/// End-to-end figures of one operation over the last interval, as an ingress measures them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct OperationRate {
    /// Requests per second.
    pub rate: f64,
    /// Mean end-to-end latency, ms.
    pub mean_ms: f64,
    /// End-to-end latency at the SLO percentile, ms.
    pub slo_percentile_ms: f64,
    /// Share of requests that failed somewhere in the call tree.
    pub error_share: f64,
}

/// What a scaler sees at a decision time. Service `s` is index `s` of every per-service
/// vector, in [`Observation::services`] order.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// Decision time, ms since the epoch: the end of the last interval (the run's start
    /// before the first interval).
    pub time_ms: i64,
    /// Decision and telemetry interval, ms.
    pub interval_ms: i64,
    /// Service names.
    pub services: Vec<String>,
    /// Operation names, in [`Observation::operations`] order.
    pub operation_names: Vec<String>,
    /// Ready replicas per service.
    pub ready: Vec<u32>,
    /// Replicas started but not yet ready per service.
    pub starting: Vec<u32>,
    /// CPU limit per replica, cores.
    pub cpu_limit: Vec<f64>,
    /// Memory limit per replica, bytes.
    pub mem_limit: Vec<f64>,
    /// Fewest and most replicas per service (actions are clamped to them).
    pub bounds: Vec<(u32, u32)>,
    /// The measured row of every service for the last interval; empty before the first
    /// interval.
    pub rows: Vec<ObservedRow>,
    /// Measured call rates of the last interval, one per static call edge; empty before the
    /// first interval.
    pub edges: Vec<EdgeRate>,
    /// End-to-end figures per operation for the last interval; empty before the first.
    pub operations: Vec<OperationRate>,
    /// The end-to-end SLO.
    pub slo: Slo,
}

impl Observation {
    /// Number of services.
    pub fn len(&self) -> usize {
        self.services.len()
    }

    /// True without services.
    pub fn is_empty(&self) -> bool {
        self.services.is_empty()
    }

    /// Ready plus starting replicas of service `s`.
    pub fn replicas(&self, s: usize) -> u32 {
        self.ready[s] + self.starting[s]
    }

    /// The last measured value of `column` (an index of [`crate::engine::col`] below 11)
    /// for service `s`; NaN before the first interval, after a missed scrape, or for a
    /// column that is not observed.
    pub fn value(&self, s: usize, column: usize) -> f64 {
        self.rows
            .get(s)
            .and_then(|r| r.get(column))
            .copied()
            .unwrap_or(f64::NAN)
    }

    /// Index of a service by name.
    pub fn service_index(&self, name: &str) -> Option<usize> {
        self.services.iter().position(|s| s == name)
    }
}
