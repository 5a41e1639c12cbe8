//! A discrete-time simulator of microservice applications on a cluster (SPEC section 6): the
//! benchmark applications, workloads and data-collection policies; the oracle-free
//! [`Observation`] that policies and scalers decide from; the [`Recorder`] that turns a run
//! into telemetry, call edges and DeepScaler's metrics; and the run directory on disk.
//!
//! ```
//! use holoscale_sim::{self as sim, SimConfig};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let app = sim::apps::builtin("bookinfo", 0)?;
//! let cfg = SimConfig { duration_ms: 3_600_000, ..SimConfig::default() };
//! let mut policy = sim::policy::by_name("hpa", app.services.len(), cfg.seed)?;
//! let out = sim::simulate(&app, &cfg, &mut policy, &holoscale_datasets::io::NoProgress)?;
//! assert_eq!(out.telemetry.len(), 120); // one hour at 30 s
//! assert_eq!(out.telemetry.services().len(), 4);
//! # Ok(()) }
//! ```
//!
//! Driving the simulator step by step, with a policy that sees only the [`Observation`]:
//!
//! ```
//! use holoscale_sim::{self as sim, Action, Observation, Recorder, SimConfig, Simulator};
//! use holoscale_sim::engine::col;
//!
//! /// One more replica wherever CPU utilisation is above 80%.
//! struct Threshold;
//! impl sim::policy::Policy for Threshold {
//!     fn decide(&mut self, obs: &Observation) -> Vec<Action> {
//!         (0..obs.len())
//!             .filter(|&s| obs.value(s, col::CPU_UTIL) > 0.8)
//!             .map(|s| Action::replicas(s, obs.replicas(s) + 1))
//!             .collect()
//!     }
//! }
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let app = sim::apps::builtin("bookinfo", 0)?;
//! let cfg = SimConfig { duration_ms: 600_000, ..SimConfig::default() };
//! let mut sim = Simulator::new(&app, cfg)?;
//! let mut rec = Recorder::new(&app, &sim, 20);
//! let mut policy = Threshold;
//! for _ in 0..20 {
//!     let actions = sim::policy::Policy::decide(&mut policy, sim.observe());
//!     sim.apply(&actions)?;
//!     rec.record(sim.step())?;
//! }
//! let summary = rec.summary();
//! assert!(summary.requests > 0.0 && summary.core_hours > 0.0);
//! # Ok(()) }
//! ```

pub mod apps;
pub mod engine;
pub mod error;
pub mod footprint;
pub mod observe;
pub mod policy;
pub mod profile;
pub mod record;
pub mod rundir;
pub mod spec;
pub mod stats;
pub mod workload;

pub use engine::{Action, EdgeRows, Emission, Oracle, SimConfig, Simulator};
pub use error::{Error, Result};
pub use holoscale_datasets::truth::{GroundTruth, LatentKind, TruthEdge, TruthKind};
pub use observe::{OBSERVED_COLUMNS, Observation};
pub use policy::{Collector, OraclePolicy, Policy};
pub use profile::LatencyModel;
pub use record::{Output, Recorder, Summary};
pub use spec::AppSpec;
pub use workload::Pattern;

use holoscale_datasets::io::Progress;

/// Runs `spec` for `cfg.duration_ms`, letting `policy` decide before every interval, and
/// records every interval.
pub fn simulate(
    spec: &AppSpec,
    cfg: &SimConfig,
    policy: &mut Collector,
    progress: &dyn Progress,
) -> Result<Output> {
    let sim = Simulator::new(spec, cfg.clone())?;
    let mut recorder = Recorder::new(spec, &sim, cfg.steps());
    drive(sim, &mut recorder, policy, progress)?;
    recorder.finish()
}

/// Lets `policy` decide before every interval of `cfg.duration_ms` and records each.
pub(crate) fn drive(
    mut sim: Simulator,
    recorder: &mut Recorder,
    policy: &mut Collector,
    progress: &dyn Progress,
) -> Result<()> {
    let steps = sim.config().steps();
    progress.begin("simulating", Some(steps as u64));
    for _ in 0..steps {
        let actions = policy.decide(&sim);
        sim.apply(&actions)?;
        recorder.record(sim.step())?;
        progress.advance(1);
    }
    progress.finish();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_simulator_can_move_between_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<Simulator>();
        shared::<Observation>();
        shared::<AppSpec>();
        // A recorder may own file writers (streaming): it moves between threads, one at a
        // time.
        fn sent<T: Send>() {}
        sent::<Recorder>();
        sent::<Collector>();
    }
}
