//! Environments: what a scaler acts in.
//!
//! An [`Environment`] is stepped one interval at a time: [`Environment::observe`] shows what
//! a cluster would show a scaler at that moment (an oracle-free [`Observation`]),
//! [`Environment::act`] applies replica changes, and [`Environment::step`] runs one interval
//! and returns its [`StepOutcome`]: what happened to the users (end-to-end latency per
//! operation at the SLO percentile, failures) and what it cost. The outcome is for the
//! evaluation, not for the scaler: a scaler sees the next interval only through
//! [`Environment::observe`].
//!
//! [`SimEnv`] runs the simulator behind the control-loop [`Frictions`](crate::Frictions)
//! of a real cluster. External code implements the trait for its own system; a toy one:
//!
//! ```
//! use holoscale_scaler::env::{Environment, StepOutcome, OpStats};
//! use holoscale_scaler::{Action, Observation, Result};
//! use holoscale_sim::spec::Slo;
//!
//! /// One service whose latency is 10 ms per request/s per replica; 100 requests/s.
//! struct Toy { obs: Observation, replicas: u32 }
//!
//! impl Environment for Toy {
//!     fn reset(&mut self, _seed: u64) -> Result<()> { self.replicas = 1; Ok(()) }
//!     fn observe(&self) -> &Observation { &self.obs }
//!     fn act(&mut self, actions: &[Action]) -> Result<()> {
//!         for a in actions { if let Some(r) = a.replicas { self.replicas = r.max(1); } }
//!         self.obs.ready = vec![self.replicas];
//!         Ok(())
//!     }
//!     fn step(&mut self) -> Result<StepOutcome> {
//!         let latency = 10.0 * 100.0 / self.replicas as f64;
//!         self.obs.time_ms += self.obs.interval_ms;
//!         let op = OpStats { rate: 100.0, mean_ms: latency, slo_percentile_ms: 2.0 * latency,
//!             error_share: 0.0 };
//!         self.obs.operations = vec![holoscale_sim::observe::OperationRate {
//!             rate: 100.0, mean_ms: latency, slo_percentile_ms: 2.0 * latency, error_share: 0.0 }];
//!         Ok(StepOutcome {
//!             time_ms: self.obs.time_ms,
//!             interval_ms: self.obs.interval_ms,
//!             slo_ms: self.obs.slo.latency_ms,
//!             operations: vec![op],
//!             replicas: vec![self.replicas],
//!             core_hours: self.replicas as f64 * self.obs.interval_ms as f64 / 3.6e6,
//!         })
//!     }
//! }
//!
//! # fn main() -> Result<()> {
//! let obs = Observation {
//!     time_ms: 0, interval_ms: 30_000, services: vec!["api".into()],
//!     operation_names: vec!["get".into()], ready: vec![1], starting: vec![0],
//!     cpu_limit: vec![1.0], mem_limit: vec![1e9], bounds: vec![(1, 20)], rows: vec![],
//!     edges: vec![], operations: vec![], slo: Slo { percentile: 95.0, latency_ms: 500.0 },
//! };
//! let mut toy = Toy { obs, replicas: 1 };
//! toy.reset(1)?;
//! // 1 replica: p95 2000 ms > 500 ms; 5 replicas: 400 ms.
//! assert!(toy.step()?.violated(0));
//! toy.act(&[Action::replicas(0, 5)])?;
//! assert!(!toy.step()?.violated(0));
//! # Ok(()) }
//! ```

mod sim;

pub use holoscale_sim::engine::OpStats;
pub use sim::{MetricsView, SimEnv};

use crate::error::Result;
use crate::{Action, Observation};

/// What a scaler acts in: stepped one interval at a time.
pub trait Environment {
    /// Starts a new episode with `seed` (the same seed gives the same episode).
    fn reset(&mut self, seed: u64) -> Result<()>;

    /// What a scaler could observe now (no oracle, no internal state).
    fn observe(&self) -> &Observation;

    /// Applies replica (and limit) changes, effective as the environment allows (new
    /// replicas become ready after their start-up delay).
    fn act(&mut self, actions: &[Action]) -> Result<()>;

    /// Runs one interval and returns its outcome.
    fn step(&mut self) -> Result<StepOutcome>;
}

/// What one interval did to the users and what it cost: the evaluation's view (noise-free
/// where the environment knows the truth), not the scaler's.
#[derive(Debug, Clone, PartialEq)]
pub struct StepOutcome {
    /// End of the interval, ms since the epoch.
    pub time_ms: i64,
    /// Length of the interval, ms.
    pub interval_ms: i64,
    /// The end-to-end SLO bound at its percentile, ms.
    pub slo_ms: f64,
    /// Per operation: request rate, mean and SLO-percentile end-to-end latency, failures.
    pub operations: Vec<OpStats>,
    /// Per service: running replicas (ready and starting) at the end of the interval.
    pub replicas: Vec<u32>,
    /// CPU requested by the running replicas over the interval, core-hours.
    pub core_hours: f64,
}

impl StepOutcome {
    /// Whether operation `op` (with requests) exceeded the SLO in this interval.
    pub fn violated(&self, op: usize) -> bool {
        self.operations
            .get(op)
            .is_some_and(|o| o.rate > 0.0 && o.slo_percentile_ms > self.slo_ms)
    }

    /// Requests of the interval.
    pub fn requests(&self) -> f64 {
        let secs = self.interval_ms as f64 / 1000.0;
        self.operations.iter().map(|o| o.rate * secs).sum()
    }
}
