//! A discrete-time simulator of microservice applications on a cluster (SPEC section 6): the
//! benchmark applications, workloads, data-collection policies and the environment scalers
//! act in.
//!
//! ```
//! use holoscale_datasets::sim::{self, SimConfig};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let app = sim::apps::builtin("bookinfo", 0)?;
//! let cfg = SimConfig { duration_ms: 3_600_000, ..SimConfig::default() };
//! let mut policy = sim::policy::by_name("hpa", app.services.len(), cfg.seed).unwrap();
//! let out = sim::simulate(&app, &cfg, policy.as_mut(), &holoscale_datasets::io::NoProgress)?;
//! assert_eq!(out.telemetry.len(), 120); // one hour at 30 s
//! assert_eq!(out.telemetry.services().len(), 4);
//! # Ok(()) }
//! ```

pub mod apps;
pub mod engine;
pub mod policy;
pub mod spec;
pub mod stats;
pub mod truth;
pub mod workload;

pub use engine::{Action, EdgeRows, Emission, Oracle, SimConfig, Simulator};
pub use spec::AppSpec;
pub use truth::GroundTruth;
pub use workload::Pattern;

use ndarray::Array3;

use crate::edges::{CallEdge, CallEdges};
use crate::error::Result;
use crate::io::Progress;
use crate::telemetry::Telemetry;

/// Everything a simulation run produces.
#[derive(Debug, Clone)]
pub struct Output {
    /// Telemetry, one row per interval and service (timestamps at the end of each interval).
    pub telemetry: Telemetry,
    /// Time-stamped call edges.
    pub edges: CallEdges,
    /// Call and planted latent edges.
    pub truth: GroundTruth,
    /// Totals over the run.
    pub summary: Summary,
}

/// Totals of a run, from the simulator's own (noise-free) view.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Summary {
    /// Requests that entered the application.
    pub requests: f64,
    /// Share of requests that failed somewhere in their call tree.
    pub failed_share: f64,
    /// Request-weighted share of (interval, operation) pairs whose end-to-end latency at the
    /// SLO percentile exceeded the SLO bound (DeepScaler eq. 1).
    pub slo_violation_share: f64,
    /// CPU requested by running replicas, core-hours (DeepScaler eq. 2).
    pub core_hours: f64,
    /// Mean running replicas per service.
    pub mean_replicas: f64,
}

/// Runs `spec` for `cfg.duration_ms`, letting `policy` decide before every interval.
pub fn simulate(
    spec: &AppSpec,
    cfg: &SimConfig,
    policy: &mut dyn policy::Policy,
    progress: &dyn Progress,
) -> Result<Output> {
    let mut sim = Simulator::new(spec, cfg.clone())?;
    let steps = (cfg.duration_ms / cfg.interval_ms) as usize;
    let services = sim.services();
    let n = services.len();
    let mut values = Array3::from_elem((steps, n, engine::COLUMNS.len()), f64::NAN);
    let mut edges = Vec::with_capacity(match cfg.edges {
        EdgeRows::PerInterval => steps * sim.call_edges().len(),
        EdgeRows::Total => sim.call_edges().len(),
    });
    let mut totals = vec![(0.0f64, 0.0f64, 0.0f64); sim.call_edges().len()];
    let names: Vec<std::sync::Arc<str>> = services.iter().map(|s| s.as_str().into()).collect();
    let cpu_request: Vec<f64> = spec.services.iter().map(|s| s.cpu_request).collect();
    let hours = cfg.interval_ms as f64 / 3_600_000.0;
    let secs = cfg.interval_ms as f64 / 1000.0;
    let (mut requests, mut failed, mut violated, mut core_hours, mut replicas) =
        (0.0, 0.0, 0.0, 0.0, 0.0);
    progress.begin("simulating", Some(steps as u64));
    for t in 0..steps {
        let actions = policy.decide(&sim);
        sim.apply(&actions)?;
        let em = sim.step();
        for (s, row) in em.measured.iter().enumerate() {
            for (c, &v) in row.iter().enumerate() {
                values[[t, s, c]] = v;
            }
        }
        for op in &em.ops {
            let r = op.rate * secs;
            requests += r;
            failed += r * op.error_share;
            if op.slo_percentile_ms > spec.slo.latency_ms {
                violated += r;
            }
        }
        for (s, row) in em.truth.iter().enumerate() {
            core_hours += row[engine::col::REPLICAS] * cpu_request[s] * hours;
            replicas += row[engine::col::REPLICAS];
        }
        match cfg.edges {
            EdgeRows::PerInterval => {
                // An interval without calls on an edge has no row (as no span was traced).
                for &(p, c, rate, lat) in em.edges.iter().filter(|e| e.2 > 0.0) {
                    edges.push(CallEdge {
                        timestamp_ms: Some(em.time_ms),
                        source: names[p].clone(),
                        destination: names[c].clone(),
                        req_rate: rate,
                        latency_ms: lat.is_finite().then_some(lat),
                    });
                }
            }
            EdgeRows::Total => {
                for (acc, &(_, _, rate, lat)) in totals.iter_mut().zip(&em.edges) {
                    acc.0 += rate;
                    if lat.is_finite() {
                        acc.1 += rate * lat;
                        acc.2 += rate;
                    }
                }
            }
        }
        progress.advance(1);
    }
    progress.finish();
    if cfg.edges == EdgeRows::Total {
        for (&(p, c), &(rate, wl, w)) in sim.call_edges().iter().zip(&totals) {
            edges.push(CallEdge {
                timestamp_ms: None,
                source: names[p].clone(),
                destination: names[c].clone(),
                req_rate: rate / steps.max(1) as f64,
                latency_ms: (w > 0.0).then(|| wl / w),
            });
        }
    }
    let telemetry = Telemetry::try_new(
        format!("simulated {}", spec.name),
        cfg.start_ms + cfg.interval_ms,
        cfg.interval_ms,
        services,
        engine::COLUMNS.iter().map(|c| c.to_string()).collect(),
        values,
    )?;
    let share = |x: f64| if requests > 0.0 { x / requests } else { 0.0 };
    Ok(Output {
        telemetry,
        edges: CallEdges::try_new(&spec.name, edges)?,
        truth: GroundTruth::from_spec(spec),
        summary: Summary {
            requests,
            failed_share: share(failed),
            slo_violation_share: share(violated),
            core_hours,
            mean_replicas: replicas / (steps * n).max(1) as f64,
        },
    })
}
