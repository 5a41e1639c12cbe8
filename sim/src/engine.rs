//! The discrete-time cluster simulator (SPEC section 6).
//!
//! Every tick (1 s by default):
//!
//! 1. each operation receives a Poisson number of requests at its rate (workload × mix), and
//!    the requests flow down its call tree, each call multiplied by its fan-out and by the
//!    share of requests the caller got through in the previous tick (an overloaded caller
//!    forwards less);
//! 2. each service serves what its ready replicas can (`replicas × cpu_limit /
//!    cpu_per_request`, less what co-located neighbours take), queues the rest, and fails
//!    requests that would wait longer than its timeout; conservation holds exactly:
//!    arrivals + backlog before = served + failed + backlog after;
//! 3. its own latency follows its profile at the per-replica load (two-piece linear, or
//!    M/M/c with the Erlang C wait) plus the queueing delay of the backlog, inflated by the
//!    utilisation of shared datastores; mean and variance are accumulated;
//! 4. CPU use follows the served load, memory the replicas and the load; replicas become
//!    ready after their start-up delay and are removed at once.
//!
//! At the end of every interval (30 s by default) it emits one telemetry row per service and
//! one call-edge row per caller/callee pair: the end-to-end latency of a call is its own
//! latency plus, for each step of its children, the maximum over the parallel children
//! (moments by Clark's approximation), so a service's latency includes what it waits for;
//! tail percentiles come from a gamma distribution fitted to the mean and variance of that
//! latency distribution (exact for exponential sojourn times), not from the mean times a
//! constant. The `optimal_replicas` label is the fewest replicas that keep the service's own
//! latency under its target and its CPU utilisation under its utilisation target at the next
//! interval's expected load (its highest value within the interval), computed from the same
//! model with the co-location interference and datastore contention of that expected load.

use std::collections::VecDeque;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};
use crate::observe::{EdgeRate, OBSERVED_COLUMNS, Observation, OperationRate};
use crate::profile::LatencyModel;
use crate::spec::AppSpec;
use crate::stats::{Normals, QuantileTable, max_moments, poisson};
use crate::workload::{OwnVariation, Pattern, Workload};
use holoscale_datasets::schema;
use holoscale_datasets::truth::LatentKind;

/// Telemetry columns the simulator emits, in order.
pub const COLUMNS: [&str; 12] = [
    schema::REPLICAS,
    schema::CPU_CORES,
    schema::CPU_UTIL,
    schema::MEM_BYTES,
    schema::MEM_UTIL,
    schema::REQ_RATE,
    schema::LATENCY_MS,
    schema::LATENCY_P95_MS,
    schema::LATENCY_P99_MS,
    schema::CPU_LIMIT_CORES,
    schema::ERRORS_RATE,
    schema::OPTIMAL_REPLICAS,
];

/// Index of each column in [`COLUMNS`].
pub mod col {
    #![allow(missing_docs)]
    pub const REPLICAS: usize = 0;
    pub const CPU_CORES: usize = 1;
    pub const CPU_UTIL: usize = 2;
    pub const MEM_BYTES: usize = 3;
    pub const MEM_UTIL: usize = 4;
    pub const REQ_RATE: usize = 5;
    pub const LATENCY_MS: usize = 6;
    pub const P95: usize = 7;
    pub const P99: usize = 8;
    pub const CPU_LIMIT: usize = 9;
    pub const ERRORS: usize = 10;
    pub const OPTIMAL: usize = 11;
}

/// Settings of a simulation run.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Tick, ms.
    pub tick_ms: i64,
    /// Telemetry and decision interval, ms (a multiple of the tick).
    pub interval_ms: i64,
    /// Time of the first step, ms since the epoch.
    pub start_ms: i64,
    /// Simulated duration, ms.
    pub duration_ms: i64,
    /// Relative standard deviation of measurement noise on the measured columns.
    pub noise: f64,
    /// Probability that a (step, service) row is not scraped.
    pub gap_prob: f64,
    /// Workload pattern.
    pub pattern: Pattern,
    /// Low and peak rates; `None` takes the application's defaults.
    pub rates: Option<(f64, f64)>,
    /// Seed of every random choice.
    pub seed: u64,
    /// How call edges are recorded by [`super::simulate`].
    pub edges: EdgeRows,
    /// How the `optimal_replicas` label is computed.
    pub oracle: Oracle,
}

/// How the simulator computes the `optimal_replicas` label of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Oracle {
    /// Look-ahead: the fewest replicas that meet the utilisation and latency targets at the
    /// highest *expected* load (the workload's intensity, without request-level noise) of
    /// the interval that starts when the row is emitted. What a perfect forecaster of the
    /// workload would provision next; a smooth label that changes only where the workload
    /// crosses a capacity threshold.
    #[default]
    Expected,
    /// Hindsight: the fewest replicas that would have met the same targets for the
    /// requests that actually arrived in the row's own interval (Poisson arrivals included).
    /// What an operator annotating the history afterwards would write.
    Realized,
}

impl Oracle {
    /// The name on the command line and in `run.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Oracle::Expected => "expected",
            Oracle::Realized => "realized",
        }
    }
}

/// How a simulation run records call edges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EdgeRows {
    /// One row per interval and edge with calls in it (a time-varying graph).
    #[default]
    PerInterval,
    /// One row per edge with its mean rate over the run (a static graph; for very large
    /// applications, where per-interval rows would take gigabytes).
    Total,
}

/// Default tick, ms.
pub const DEFAULT_TICK_MS: i64 = 1_000;
/// Default interval, ms.
pub const DEFAULT_INTERVAL_MS: i64 = 30_000;
/// Default start: 2024-01-01T00:00:00Z.
pub const DEFAULT_START_MS: i64 = 1_704_067_200_000;

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            tick_ms: DEFAULT_TICK_MS,
            interval_ms: DEFAULT_INTERVAL_MS,
            start_ms: DEFAULT_START_MS,
            duration_ms: 86_400_000,
            noise: 0.02,
            gap_prob: 0.0,
            pattern: Pattern::DeepScaler,
            rates: None,
            seed: 7,
            edges: EdgeRows::PerInterval,
            oracle: Oracle::Expected,
        }
    }
}

impl SimConfig {
    /// Intervals the run records (`duration_ms / interval_ms`).
    pub fn steps(&self) -> usize {
        (self.duration_ms / self.interval_ms.max(1)).max(0) as usize
    }

    /// Checks the settings.
    pub fn check(&self) -> Result<()> {
        if self.tick_ms <= 0 || self.interval_ms <= 0 || self.interval_ms % self.tick_ms != 0 {
            return Err(Error::param(
                "interval_ms",
                format!(
                    "must be a positive multiple of the tick ({} ms)",
                    self.tick_ms
                ),
            ));
        }
        if self.duration_ms < self.interval_ms {
            return Err(Error::param("duration_ms", "must be at least one interval"));
        }
        if !(0.0..1.0).contains(&self.noise) {
            return Err(Error::param("noise", "must be in [0, 1)"));
        }
        if !(0.0..1.0).contains(&self.gap_prob) {
            return Err(Error::param("gap_prob", "must be in [0, 1)"));
        }
        if let Some((lo, hi)) = self.rates
            && !(lo >= 0.0 && hi >= lo && hi > 0.0)
        {
            return Err(Error::param(
                "rates",
                "needs 0 <= base <= peak and peak > 0",
            ));
        }
        Ok(())
    }
}

/// A change to one service (SPEC 7: horizontal, CPU and memory actions).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Action {
    /// Service index.
    pub service: usize,
    /// New replica count (clamped to the service's min and max).
    pub replicas: Option<u32>,
    /// New CPU limit per replica, cores.
    pub cpu_limit: Option<f64>,
    /// New memory limit per replica, bytes. The simulator records it (it is the
    /// denominator of `mem_util`); it does not model out-of-memory kills.
    pub mem_limit: Option<f64>,
}

impl Action {
    /// Sets the replicas of service `service` and nothing else.
    pub fn replicas(service: usize, replicas: u32) -> Action {
        Action {
            service,
            replicas: Some(replicas),
            cpu_limit: None,
            mem_limit: None,
        }
    }
}

struct Svc {
    name: String,
    /// Profile, capacity, replica size, latency variation and timeout.
    model: LatencyModel,
    cpu_per_request: f64,
    inv_cpu_per_request: f64,
    inv_peak_load: f64,
    startup_ticks: u64,
    min: u32,
    max: u32,
    mem_base: f64,
    mem_per_rps: f64,
    spec_mem_limit: f64,
    util_target: f64,
    latency_target_s: f64,
    initial: Option<u32>,
    /// Co-located partners and interference coefficients.
    coloc: Vec<(usize, f64)>,
    /// Shared datastores whose load slows this service.
    datastores: Vec<(usize, f64)>,
    /// Expected load at the application's default peak rate, requests/s: the reference for
    /// the pressure a service puts on co-located neighbours and on its datastore's users.
    peak_load: f64,
}

#[derive(Clone)]
struct Node {
    svc: usize,
    parent: usize,
    /// Expected calls per operation request (product of fan-outs along the path).
    mult: f64,
    fanout: f64,
    asynchronous: bool,
    /// Children grouped by step, in step order.
    stages: Vec<Vec<usize>>,
    /// Index of the (caller, callee) edge in the simulator's edge list, or `usize::MAX`.
    edge: usize,
}

const ROOT: usize = usize::MAX;

struct Op {
    name: String,
    nodes: Vec<Node>,
    /// Per service reached: expected calls per request of the operation (Σ of `mult`).
    per_service: Vec<(usize, f64)>,
}

/// Per-service totals of one interval, for conservation checks and scalers.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Flow {
    /// Requests that arrived.
    pub arrivals: f64,
    /// Requests served.
    pub served: f64,
    /// Requests that timed out in the queue.
    pub failed: f64,
    /// Queue at the start of the interval.
    pub backlog_start: f64,
    /// Queue at the end of the interval.
    pub backlog_end: f64,
}

/// End-to-end view of one operation over an interval.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct OpStats {
    /// Requests per second.
    pub rate: f64,
    /// Mean end-to-end latency, ms.
    pub mean_ms: f64,
    /// End-to-end latency at the SLO percentile, ms.
    pub slo_percentile_ms: f64,
    /// Share of requests that failed somewhere in the tree.
    pub error_share: f64,
}

/// What one interval produced.
#[derive(Debug, Clone, Default)]
pub struct Emission {
    /// Timestamp of the row, ms since the epoch (the end of the interval).
    pub time_ms: i64,
    /// Per service, the measured row in [`COLUMNS`] order (noise applied; all NaN when the
    /// scrape missed it).
    pub measured: Vec<[f64; 12]>,
    /// Per service, the same row without noise or gaps.
    pub truth: Vec<[f64; 12]>,
    /// Per service, request flow totals.
    pub flow: Vec<Flow>,
    /// Per service, mean own latency (without downstream calls), ms.
    pub own_latency_ms: Vec<f64>,
    /// Per operation, end-to-end statistics.
    pub ops: Vec<OpStats>,
    /// Call edges: (caller, callee, requests/s, mean latency of the calls in ms).
    pub edges: Vec<(usize, usize, f64, f64)>,
}

#[derive(Default, Clone)]
struct Acc {
    arrivals: f64,
    served: f64,
    failed: f64,
    cpu: f64,
    util: f64,
    mem: f64,
    lat_w: f64,
    lat_w2: f64,
    lat_u: f64,
    lat_u2: f64,
    backlog_start: f64,
}

/// The simulator: an application on a cluster, stepped one interval at a time. This is the
/// environment scalers act in: [`Simulator::reset`], [`Simulator::observe`] (the oracle-free
/// [`Observation`]), [`Simulator::apply`], [`Simulator::step`] (the full [`Emission`], for
/// recorders and evaluation).
pub struct Simulator {
    svcs: Vec<Svc>,
    ops: Vec<Op>,
    workload: Workload,
    cfg: SimConfig,
    q95: QuantileTable,
    q99: QuantileTable,
    q_slo: QuantileTable,
    edge_index: Vec<(usize, usize)>,
    // State.
    tick: u64,
    ready: Vec<u32>,
    pending: Vec<VecDeque<u64>>,
    cpu_limit: Vec<f64>,
    mem_limit: Vec<f64>,
    backlog: Vec<f64>,
    pass: Vec<f64>,
    util: Vec<f64>,
    /// Per service, load of the last tick relative to its default-peak load.
    pressure: Vec<f64>,
    prev_pressure: Vec<f64>,
    acc: Vec<Acc>,
    node_calls: Vec<Vec<f64>>,
    node_path: Vec<Vec<f64>>,
    arrivals: Vec<f64>,
    intensity: Vec<f64>,
    op_requests: Vec<f64>,
    /// Requests per operation in ticks where no service throttled (the fast path).
    op_fast: Vec<f64>,
    op_rate: Vec<f64>,
    /// Services that served less than their demand in the last tick.
    throttled: usize,
    normals: Normals,
    obs_normals: Normals,
    rng: ChaCha8Rng,
    obs_rng: ChaCha8Rng,
    last: Emission,
    obs: Observation,
    scratch: Scratch,
}

/// Buffers reused by every emission.
struct Scratch {
    own: Vec<(f64, f64)>,
    fail_share: Vec<f64>,
    lat: Vec<(f64, f64, f64, f64)>,
    edge_acc: Vec<(f64, f64)>,
    mean: Vec<f64>,
    var: Vec<f64>,
    fail: Vec<f64>,
}

impl Simulator {
    /// Builds a simulator for `spec` with the settings of `cfg`, at time 0 with every
    /// service at its initial replicas.
    pub fn new(spec: &AppSpec, cfg: SimConfig) -> Result<Simulator> {
        spec.validate(&spec.name)?;
        cfg.check()?;
        let names: std::collections::BTreeSet<&str> =
            spec.services.iter().map(|s| s.name.as_str()).collect();
        let index = |n: &str| spec.service_index(n).expect("validated spec");
        let mut svcs: Vec<Svc> = spec
            .services
            .iter()
            .map(|s| {
                let model = LatencyModel::of(s);
                let target_ms = s
                    .latency_target_ms
                    .unwrap_or_else(|| model.default_target_ms(s.util_target));
                Svc {
                    name: s.name.clone(),
                    model,
                    cpu_per_request: s.cpu_per_request,
                    inv_cpu_per_request: 1.0 / s.cpu_per_request,
                    inv_peak_load: 0.0,
                    startup_ticks: (s.startup_delay_s * 1000.0 / cfg.tick_ms as f64).round() as u64,
                    min: s.min_replicas,
                    max: s.max_replicas,
                    mem_base: s.mem_base_bytes,
                    mem_per_rps: s.mem_per_rps_bytes,
                    spec_mem_limit: s.mem_limit_bytes,
                    util_target: s.util_target,
                    latency_target_s: target_ms / 1000.0,
                    initial: s.initial_replicas,
                    coloc: Vec::new(),
                    datastores: Vec::new(),
                    peak_load: 0.0,
                }
            })
            .collect();
        for (svc, share) in svcs.iter_mut().zip(super::apps::load_shares(spec)) {
            svc.peak_load = (share * spec.workload.peak_rps).max(1e-9);
            svc.inv_peak_load = 1.0 / svc.peak_load;
        }
        let mut own = Vec::new();
        for l in &spec.latent {
            let (a, b) = (index(&l.services[0]), index(&l.services[1]));
            match l.kind {
                LatentKind::CoLocated => {
                    svcs[a].coloc.push((b, l.strength));
                    svcs[b].coloc.push((a, l.strength));
                }
                LatentKind::SharedDatastore => {
                    let ds = index(l.via.as_deref().expect("validated"));
                    for s in [a, b] {
                        if !svcs[s].datastores.iter().any(|(d, _)| *d == ds) {
                            svcs[s].datastores.push((ds, l.strength));
                        }
                    }
                }
                LatentKind::SameAction => {
                    let op = spec
                        .operations
                        .iter()
                        .position(|o| Some(o.name.as_str()) == l.via.as_deref())
                        .expect("validated");
                    let follow = l.then.as_deref().map(|t| {
                        let then = spec
                            .operations
                            .iter()
                            .position(|o| o.name == t)
                            .expect("validated");
                        let lag = (l.lag_s * 1000.0 / super::workload::KNOT_MS as f64).round();
                        (then, (lag as usize).max(1))
                    });
                    own.push(OwnVariation {
                        op,
                        amplitude: l.strength,
                        memory_ms: l.memory_s * 1000.0,
                        follow,
                    });
                }
            }
        }
        let mut ops = Vec::with_capacity(spec.operations.len());
        let mut edge_set = std::collections::BTreeSet::new();
        for o in &spec.operations {
            let tree = o.tree(&names).expect("validated");
            let mut nodes: Vec<Node> = tree
                .iter()
                .map(|n| Node {
                    svc: index(&n.service),
                    parent: n.parent.unwrap_or(ROOT),
                    mult: 1.0,
                    fanout: n.fanout,
                    asynchronous: n.asynchronous,
                    stages: Vec::new(),
                    edge: usize::MAX,
                })
                .collect();
            for k in 0..nodes.len() {
                if let Some(p) = tree[k].parent {
                    nodes[k].mult = nodes[p].mult * nodes[k].fanout;
                    if nodes[p].svc != nodes[k].svc {
                        edge_set.insert((nodes[p].svc, nodes[k].svc));
                    }
                }
            }
            // Stages: children of each node grouped by step (tree() sorted them by step).
            for k in 0..nodes.len() {
                let kids: Vec<usize> = (0..nodes.len())
                    .filter(|&c| tree[c].parent == Some(k))
                    .collect();
                let mut stages: Vec<Vec<usize>> = Vec::new();
                let mut last_step = None;
                for c in kids {
                    if last_step == Some(tree[c].step) {
                        stages.last_mut().expect("started").push(c);
                    } else {
                        stages.push(vec![c]);
                        last_step = Some(tree[c].step);
                    }
                }
                nodes[k].stages = stages;
            }
            let mut per: std::collections::BTreeMap<usize, f64> = Default::default();
            for n in &nodes {
                *per.entry(n.svc).or_default() += n.mult;
            }
            ops.push(Op {
                name: o.name.clone(),
                nodes,
                per_service: per.into_iter().collect(),
            });
        }
        let edge_index: Vec<(usize, usize)> = edge_set.into_iter().collect();
        for op in &mut ops {
            for k in 0..op.nodes.len() {
                let p = op.nodes[k].parent;
                if p != ROOT && op.nodes[p].svc != op.nodes[k].svc {
                    op.nodes[k].edge = edge_index
                        .binary_search(&(op.nodes[p].svc, op.nodes[k].svc))
                        .expect("every call is in the edge set");
                }
            }
        }
        let max_nodes = ops.iter().map(|o| o.nodes.len()).max().unwrap_or(0);
        let (lo, hi) = cfg
            .rates
            .unwrap_or((spec.workload.base_rps, spec.workload.peak_rps));
        let weights: Vec<f64> = spec.operations.iter().map(|o| o.weight).collect();
        let workload = Workload::build(
            &cfg.pattern,
            lo,
            hi,
            &weights,
            &own,
            cfg.duration_ms + cfg.interval_ms,
            cfg.seed,
        )?;
        let n = svcs.len();
        let svcs_names: Vec<String> = svcs.iter().map(|s| s.name.clone()).collect();
        let svc_bounds: Vec<(u32, u32)> = svcs.iter().map(|s| (s.min, s.max)).collect();
        let op_names: Vec<String> = ops.iter().map(|o| o.name.clone()).collect();
        let mut sim = Simulator {
            node_calls: ops.iter().map(|o| vec![0.0; o.nodes.len()]).collect(),
            node_path: ops.iter().map(|o| vec![1.0; o.nodes.len()]).collect(),
            op_requests: vec![0.0; ops.len()],
            op_fast: vec![0.0; ops.len()],
            op_rate: vec![0.0; ops.len()],
            throttled: 0,
            normals: Normals::default(),
            obs_normals: Normals::default(),
            svcs,
            ops,
            workload,
            q95: QuantileTable::new(0.95),
            q99: QuantileTable::new(0.99),
            q_slo: QuantileTable::new(spec.slo.percentile / 100.0),
            scratch: Scratch {
                own: vec![(0.0, 0.0); n],
                fail_share: vec![0.0; n],
                lat: vec![(0.0, 0.0, 0.0, 0.0); n],
                edge_acc: vec![(0.0, 0.0); edge_index.len()],
                mean: vec![0.0; max_nodes],
                var: vec![0.0; max_nodes],
                fail: vec![0.0; max_nodes],
            },
            edge_index,
            tick: 0,
            ready: vec![0; n],
            pending: vec![VecDeque::new(); n],
            cpu_limit: vec![0.0; n],
            mem_limit: vec![0.0; n],
            backlog: vec![0.0; n],
            pass: vec![1.0; n],
            util: vec![0.0; n],
            pressure: vec![0.0; n],
            prev_pressure: vec![0.0; n],
            acc: vec![Acc::default(); n],
            arrivals: vec![0.0; n],
            intensity: vec![0.0; n],
            rng: ChaCha8Rng::seed_from_u64(cfg.seed),
            obs_rng: ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x0b5e_12ed),
            obs: Observation {
                time_ms: cfg.start_ms,
                interval_ms: cfg.interval_ms,
                services: svcs_names,
                operation_names: op_names,
                ready: vec![0; n],
                starting: vec![0; n],
                cpu_limit: vec![0.0; n],
                mem_limit: vec![0.0; n],
                bounds: svc_bounds,
                rows: Vec::new(),
                edges: Vec::new(),
                operations: Vec::new(),
                slo: spec.slo,
            },
            cfg,
            last: Emission::default(),
        };
        sim.reset(sim.cfg.seed);
        Ok(sim)
    }

    /// Back to time 0: queues empty, every service at its initial replicas (given, or what
    /// the first interval's expected load needs), all ready; random streams reseeded.
    pub fn reset(&mut self, seed: u64) {
        self.rng = ChaCha8Rng::seed_from_u64(seed);
        self.obs_rng = ChaCha8Rng::seed_from_u64(seed ^ 0x0b5e_12ed);
        self.normals = Normals::default();
        self.obs_normals = Normals::default();
        self.throttled = 0;
        self.tick = 0;
        let start_load = self.expected_load(0);
        for ((p, svc), l) in self.pressure.iter_mut().zip(&self.svcs).zip(start_load) {
            *p = l / svc.peak_load;
        }
        let optimal = self.optimal_for(0, self.cfg.interval_ms);
        for (s, svc) in self.svcs.iter().enumerate() {
            self.ready[s] = svc.initial.unwrap_or(optimal[s]).clamp(svc.min, svc.max);
            self.pending[s].clear();
            self.cpu_limit[s] = svc.model.spec_cpu_limit;
            self.mem_limit[s] = svc.spec_mem_limit;
            self.backlog[s] = 0.0;
            self.pass[s] = 1.0;
            self.util[s] = 0.0;
        }
        self.acc.iter_mut().for_each(|a| *a = Acc::default());
        for v in &mut self.node_calls {
            v.iter_mut().for_each(|x| *x = 0.0);
        }
        self.last = Emission::default();
        self.obs.time_ms = self.cfg.start_ms;
        self.obs.rows.clear();
        self.obs.edges.clear();
        self.obs.operations.clear();
        self.refresh_observed_state();
    }

    /// Copies replicas and limits into the observation.
    fn refresh_observed_state(&mut self) {
        for s in 0..self.svcs.len() {
            self.obs.ready[s] = self.ready[s];
            self.obs.starting[s] = self.pending[s].len() as u32;
        }
        self.obs.cpu_limit.copy_from_slice(&self.cpu_limit);
        self.obs.mem_limit.copy_from_slice(&self.mem_limit);
    }

    /// Service names.
    pub fn services(&self) -> Vec<String> {
        self.svcs.iter().map(|s| s.name.clone()).collect()
    }

    /// Operation names.
    pub fn operations(&self) -> Vec<String> {
        self.ops.iter().map(|o| o.name.clone()).collect()
    }

    /// The static call edges (caller index, callee index) in emission order.
    pub fn call_edges(&self) -> &[(usize, usize)] {
        &self.edge_index
    }

    /// The settings.
    pub fn config(&self) -> &SimConfig {
        &self.cfg
    }

    /// Milliseconds simulated so far.
    pub fn elapsed_ms(&self) -> i64 {
        self.tick as i64 * self.cfg.tick_ms
    }

    /// Ready and starting replicas per service.
    pub fn replicas(&self) -> Vec<(u32, u32)> {
        (0..self.svcs.len())
            .map(|s| (self.ready[s], self.pending[s].len() as u32))
            .collect()
    }

    /// Current CPU limits per replica, cores.
    pub fn cpu_limits(&self) -> &[f64] {
        &self.cpu_limit
    }

    /// Current memory limits per replica, bytes.
    pub fn mem_limits(&self) -> &[f64] {
        &self.mem_limit
    }

    /// What a scaler may see now: replicas, limits, bounds, the last interval's measured
    /// rows and call rates, the SLO; no oracle.
    pub fn observe(&self) -> &Observation {
        &self.obs
    }

    /// The last emission, noise-free truth and label included (empty before the first
    /// step): the simulator's own view, for recorders and evaluation, not for scalers.
    pub fn last_emission(&self) -> &Emission {
        &self.last
    }

    /// Min and max replicas per service.
    pub fn replica_bounds(&self) -> Vec<(u32, u32)> {
        self.svcs.iter().map(|s| (s.min, s.max)).collect()
    }

    /// Applies replica, CPU-limit and memory-limit changes now: added replicas start and
    /// become ready after the service's start-up delay; removed ones go at once (starting
    /// ones first).
    pub fn apply(&mut self, actions: &[Action]) -> Result<()> {
        for a in actions {
            let Some(svc) = self.svcs.get(a.service) else {
                return Err(Error::param(
                    "action",
                    format!(
                        "service index {} is out of range ({} services)",
                        a.service,
                        self.svcs.len()
                    ),
                ));
            };
            if let Some(limit) = a.cpu_limit {
                if !(limit.is_finite() && limit > 0.0) {
                    return Err(Error::param(
                        "action",
                        format!(
                            "service `{}`: CPU limit must be positive, got {limit}",
                            svc.name
                        ),
                    ));
                }
                self.cpu_limit[a.service] = limit;
                self.obs.cpu_limit[a.service] = limit;
            }
            if let Some(limit) = a.mem_limit {
                if !(limit.is_finite() && limit > 0.0) {
                    return Err(Error::param(
                        "action",
                        format!(
                            "service `{}`: memory limit must be positive, got {limit}",
                            svc.name
                        ),
                    ));
                }
                self.mem_limit[a.service] = limit;
                self.obs.mem_limit[a.service] = limit;
            }
            if let Some(r) = a.replicas {
                let want = r.clamp(svc.min, svc.max);
                let s = a.service;
                let have = self.ready[s] + self.pending[s].len() as u32;
                if want > have {
                    let at = self.tick + svc.startup_ticks;
                    for _ in have..want {
                        self.pending[s].push_back(at);
                    }
                } else {
                    let mut drop = have - want;
                    while drop > 0 && self.pending[s].pop_back().is_some() {
                        drop -= 1;
                    }
                    self.ready[s] -= drop.min(self.ready[s]);
                }
                self.obs.ready[s] = self.ready[s];
                self.obs.starting[s] = self.pending[s].len() as u32;
            }
        }
        Ok(())
    }

    /// The `optimal_replicas` of every service for the interval that starts now.
    pub fn optimal_replicas(&self) -> Vec<u32> {
        let t0 = self.elapsed_ms();
        self.optimal_for(t0, t0 + self.cfg.interval_ms)
    }

    /// Expected load per service at `t_ms`, requests/s (no upstream bottleneck).
    fn expected_load(&self, t_ms: i64) -> Vec<f64> {
        let mut load = vec![0.0; self.svcs.len()];
        let mut rates = vec![0.0; self.ops.len()];
        self.workload.op_rates(t_ms, &mut rates);
        for (op, r) in self.ops.iter().zip(rates) {
            for &(s, m) in &op.per_service {
                load[s] += r * m;
            }
        }
        load
    }

    fn optimal_for(&self, t0: i64, t1: i64) -> Vec<u32> {
        // The highest expected load over the interval, sampled at eight points.
        let mut load = vec![0.0f64; self.svcs.len()];
        for i in 0..8 {
            let t = t0 + (t1 - t0) * (2 * i + 1) / 16;
            for (l, x) in load.iter_mut().zip(self.expected_load(t)) {
                *l = l.max(x);
            }
        }
        self.optimal_at(&load)
    }

    /// The fewest replicas per service that meet the utilisation and latency targets at
    /// `load` (requests/s per service), neighbours' interference included.
    fn optimal_at(&self, load: &[f64]) -> Vec<u32> {
        let pressure: Vec<f64> = load
            .iter()
            .zip(&self.svcs)
            .map(|(l, svc)| l * svc.inv_peak_load)
            .collect();
        self.svcs
            .iter()
            .enumerate()
            .map(|(s, svc)| {
                let lambda = load[s];
                let limit = if self.cpu_limit[s] > 0.0 {
                    self.cpu_limit[s]
                } else {
                    svc.model.spec_cpu_limit
                };
                // Neighbours' interference and datastore contention at their expected load.
                let share = interference_share(svc, &pressure);
                let contention = contention_factor(svc, &pressure);
                let ok = |r: u32| {
                    let util = lambda * svc.cpu_per_request / (r as f64 * limit * share);
                    util <= svc.util_target
                        && svc.model.own_latency(lambda, r, limit, share, 0.0).0 * contention
                            <= svc.latency_target_s
                };
                let (mut lo, mut hi) = (svc.min.max(1), svc.max);
                if !ok(hi) {
                    return svc.max;
                }
                if ok(lo) {
                    return svc.min;
                }
                while hi - lo > 1 {
                    let mid = (lo + hi) / 2;
                    if ok(mid) { hi = mid } else { lo = mid }
                }
                hi
            })
            .collect()
    }

    /// Advances one interval and returns what it emitted.
    pub fn step(&mut self) -> &Emission {
        let ticks = (self.cfg.interval_ms / self.cfg.tick_ms) as usize;
        for (s, a) in self.acc.iter_mut().enumerate() {
            *a = Acc {
                backlog_start: self.backlog[s],
                ..Acc::default()
            };
        }
        for v in &mut self.node_calls {
            v.iter_mut().for_each(|x| *x = 0.0);
        }
        self.op_requests.iter_mut().for_each(|x| *x = 0.0);
        self.op_fast.iter_mut().for_each(|x| *x = 0.0);
        for _ in 0..ticks {
            self.tick_once();
        }
        // Calls of the fast-path ticks, where every call went through.
        for ((op, calls), a) in self.ops.iter().zip(&mut self.node_calls).zip(&self.op_fast) {
            if *a > 0.0 {
                for (c, n) in calls.iter_mut().zip(&op.nodes) {
                    *c += a * n.mult;
                }
            }
        }
        self.emit();
        &self.last
    }

    fn tick_once(&mut self) {
        let dt = self.cfg.tick_ms as f64 / 1000.0;
        let inv_dt = 1.0 / dt;
        let t_ms = self.elapsed_ms();
        let n = self.svcs.len();
        // Local slices: one bounds check each, no reloads through `self` in the loops.
        let intensity = &mut self.intensity[..n];
        let arrivals = &mut self.arrivals[..n];
        intensity.iter_mut().for_each(|x| *x = 0.0);
        arrivals.iter_mut().for_each(|x| *x = 0.0);
        self.workload.op_rates(t_ms, &mut self.op_rate);
        let fast = self.throttled == 0;
        let pass = &self.pass[..n];
        for (o, op) in self.ops.iter().enumerate() {
            let lambda = self.op_rate[o];
            let a = poisson(&mut self.rng, &mut self.normals, lambda * dt);
            self.op_requests[o] += a;
            if fast {
                // No caller throttles: the load of each service is linear in the arrivals.
                self.op_fast[o] += a;
                for &(s, m) in &op.per_service {
                    intensity[s] += lambda * m;
                    arrivals[s] += a * m;
                }
                continue;
            }
            let path = &mut self.node_path[o];
            let calls = &mut self.node_calls[o];
            for (k, node) in op.nodes.iter().enumerate() {
                let pp = if node.parent == ROOT {
                    1.0
                } else {
                    path[node.parent] * pass[op.nodes[node.parent].svc]
                };
                path[k] = pp;
                let f = node.mult * pp;
                intensity[node.svc] += lambda * f;
                arrivals[node.svc] += a * f;
                calls[k] += a * f;
            }
        }
        let tick = self.tick;
        for (pending, ready) in self.pending.iter_mut().zip(self.ready.iter_mut()) {
            while pending.front().is_some_and(|&at| at <= tick) {
                pending.pop_front();
                *ready += 1;
            }
        }
        // Interference and datastore contention follow the previous tick's load.
        self.prev_pressure.copy_from_slice(&self.pressure);
        let prev = &self.prev_pressure[..n];
        let mut throttled = 0;
        let state = self
            .svcs
            .iter()
            .zip(self.ready.iter())
            .zip(self.pending.iter())
            .zip(self.cpu_limit.iter())
            .zip(self.backlog.iter_mut())
            .zip(self.pass.iter_mut())
            .zip(self.util.iter_mut())
            .zip(self.pressure.iter_mut())
            .zip(self.acc.iter_mut())
            .zip(intensity.iter().zip(arrivals.iter()));
        for (
            ((((((((svc, &ready), pending), &limit), backlog), pass), util), pressure), a),
            (&lambda, &arrived),
        ) in state
        {
            let share = if svc.coloc.is_empty() {
                1.0
            } else {
                interference_share(svc, prev)
            };
            let mu = limit * svc.inv_cpu_per_request * share;
            let throughput = ready as f64 * mu;
            let backlog_before = *backlog;
            let demand = backlog_before + arrived;
            let capacity = throughput * dt;
            let (served, rest) = if demand <= capacity {
                (demand, 0.0)
            } else {
                (capacity, demand - capacity)
            };
            let failed = if rest > 0.0 {
                let max_backlog = if ready > 0 { throughput } else { lambda } * svc.model.timeout_s;
                (rest - max_backlog).max(0.0)
            } else {
                0.0
            };
            *backlog = rest - failed;
            *pass = if rest > 0.0 { served / demand } else { 1.0 };
            throttled += (rest > 0.0) as usize;
            // Interference slows execution: each request takes more CPU time.
            let cpu = served * inv_dt * svc.cpu_per_request / share;
            let u = if ready > 0 {
                cpu / (ready as f64 * limit)
            } else {
                0.0
            };
            *util = u;
            *pressure = lambda * svc.inv_peak_load;
            // Queueing delay of the backlog. Below capacity the profile (M/M/c, or the
            // measured curve) already holds the stochastic queueing, so only backlog that a
            // tick cannot drain (left over from an overload) adds to it.
            let wait = if throughput <= 0.0 {
                svc.model.timeout_s
            } else {
                let queued = 0.5 * (backlog_before + *backlog);
                let excess = if lambda < throughput {
                    (queued - capacity).max(0.0)
                } else {
                    queued
                };
                if excess > 0.0 {
                    excess / throughput
                } else {
                    0.0
                }
            };
            let (mut m, mut v) = svc.model.own_latency(lambda, ready, limit, share, wait);
            if !svc.datastores.is_empty() {
                let contention = contention_factor(svc, prev);
                m *= contention;
                v *= contention * contention;
            }
            let m = m.min(svc.model.timeout_s);
            let pods = ready + pending.len() as u32;
            a.arrivals += arrived;
            a.served += served;
            a.failed += failed;
            a.cpu += cpu;
            a.util += u;
            a.mem += pods as f64 * svc.mem_base + svc.mem_per_rps * served * inv_dt;
            let second = v + m * m;
            a.lat_w += served * m;
            a.lat_w2 += served * second;
            a.lat_u += m;
            a.lat_u2 += second;
        }
        self.throttled = throttled;
        self.tick += 1;
    }

    fn emit(&mut self) {
        let ticks = (self.cfg.interval_ms / self.cfg.tick_ms) as f64;
        let secs = self.cfg.interval_ms as f64 / 1000.0;
        let n = self.svcs.len();
        let Scratch {
            own,
            fail_share,
            lat,
            edge_acc,
            mean,
            var,
            fail,
        } = &mut self.scratch;
        // Own latency moments over the interval (request-weighted when requests were served).
        for ((o, f), a) in own.iter_mut().zip(fail_share.iter_mut()).zip(&self.acc) {
            let (m, s2) = if a.served > 0.0 {
                (a.lat_w / a.served, a.lat_w2 / a.served)
            } else {
                (a.lat_u / ticks, a.lat_u2 / ticks)
            };
            *o = (m, (s2 - m * m).max(0.0));
            let handled = a.served + a.failed;
            *f = if handled > 0.0 {
                a.failed / handled
            } else {
                0.0
            };
        }
        // Per service: Σ w, Σ w·M, Σ w·(V + M²), Σ w·F over its calls.
        lat.iter_mut().for_each(|l| *l = (0.0, 0.0, 0.0, 0.0));
        edge_acc.iter_mut().for_each(|e| *e = (0.0, 0.0));
        let mut ops = std::mem::take(&mut self.last.ops);
        ops.clear();
        for (o, op) in self.ops.iter().enumerate() {
            let k_len = op.nodes.len();
            for k in (0..k_len).rev() {
                let node = &op.nodes[k];
                let (mut m, mut v) = own[node.svc];
                let mut ok: f64 = 1.0 - fail_share[node.svc];
                for stage in &node.stages {
                    let mut stage_mv: Option<(f64, f64)> = None;
                    for &c in stage {
                        let child = &op.nodes[c];
                        if fail[c] > 0.0 {
                            ok *= (1.0 - fail[c]).powf(child.fanout);
                        }
                        if child.asynchronous {
                            continue;
                        }
                        let (cm, cv) = compound(mean[c], var[c], child.fanout);
                        stage_mv = Some(match stage_mv {
                            None => (cm, cv),
                            Some((sm, sv)) => max_moments(sm, sv, cm, cv),
                        });
                    }
                    if let Some((sm, sv)) = stage_mv {
                        m += sm;
                        v += sv;
                    }
                }
                mean[k] = m;
                var[k] = v;
                fail[k] = 1.0 - ok;
            }
            let calls = &self.node_calls[o];
            for (k, node) in op.nodes.iter().enumerate() {
                // Without traffic, weigh calls by their expected share so the latency of an
                // idle service is still defined.
                let w = if self.op_requests[o] > 0.0 {
                    calls[k]
                } else {
                    1e-9 * node.mult
                };
                let l = &mut lat[node.svc];
                l.0 += w;
                l.1 += w * mean[k];
                l.2 += w * (var[k] + mean[k] * mean[k]);
                l.3 += calls[k] * fail[k];
                if node.edge != usize::MAX {
                    edge_acc[node.edge].0 += calls[k];
                    edge_acc[node.edge].1 += calls[k] * mean[k];
                }
            }
            ops.push(OpStats {
                rate: self.op_requests[o] / secs,
                mean_ms: 1000.0 * mean[0],
                slo_percentile_ms: 1000.0 * self.q_slo.quantile(mean[0], var[0]),
                error_share: fail[0],
            });
        }
        let optimal = match self.cfg.oracle {
            Oracle::Expected => self.optimal_replicas(),
            Oracle::Realized => {
                let load: Vec<f64> = self.acc.iter().map(|a| a.arrivals / secs).collect();
                self.optimal_at(&load)
            }
        };
        let Scratch {
            own, lat, edge_acc, ..
        } = &self.scratch;
        let mut truth = std::mem::take(&mut self.last.truth);
        let mut flow = std::mem::take(&mut self.last.flow);
        truth.clear();
        flow.clear();
        for s in 0..n {
            let a = &self.acc[s];
            let (w, wm, wm2, wf) = lat[s];
            let (m, var) = if w > 0.0 {
                let m = wm / w;
                (m, (wm2 / w - m * m).max(0.0))
            } else {
                own[s]
            };
            let pods = self.ready[s] + self.pending[s].len() as u32;
            let mem = a.mem / ticks;
            let mut row = [0.0; 12];
            row[col::REPLICAS] = pods as f64;
            row[col::CPU_CORES] = a.cpu / ticks;
            row[col::CPU_UTIL] = a.util / ticks;
            row[col::MEM_BYTES] = mem;
            row[col::MEM_UTIL] = if pods > 0 {
                mem / (pods as f64 * self.mem_limit[s])
            } else {
                0.0
            };
            row[col::REQ_RATE] = a.arrivals / secs;
            row[col::LATENCY_MS] = 1000.0 * m;
            row[col::P95] = 1000.0 * self.q95.quantile(m, var);
            row[col::P99] = 1000.0 * self.q99.quantile(m, var);
            row[col::CPU_LIMIT] = self.cpu_limit[s];
            row[col::ERRORS] = wf / secs;
            row[col::OPTIMAL] = optimal[s] as f64;
            truth.push(row);
            flow.push(Flow {
                arrivals: a.arrivals,
                served: a.served,
                failed: a.failed,
                backlog_start: a.backlog_start,
                backlog_end: self.backlog[s],
            });
        }
        let mut measured = std::mem::take(&mut self.last.measured);
        measured.clear();
        for row in &truth {
            if self.cfg.gap_prob > 0.0
                && rand::RngExt::random::<f64>(&mut self.obs_rng) < self.cfg.gap_prob
            {
                measured.push([f64::NAN; 12]);
                continue;
            }
            let mut out = *row;
            if self.cfg.noise > 0.0 {
                for (c, v) in out.iter_mut().enumerate() {
                    if matches!(c, col::REPLICAS | col::CPU_LIMIT | col::OPTIMAL) {
                        continue;
                    }
                    *v = (*v * (1.0 + self.cfg.noise * self.obs_normals.next(&mut self.obs_rng)))
                        .max(0.0);
                }
            }
            measured.push(out);
        }
        let mut edges = std::mem::take(&mut self.last.edges);
        edges.clear();
        edges.extend(
            self.edge_index
                .iter()
                .zip(edge_acc)
                .map(|(&(p, c), &(calls, wm))| {
                    (
                        p,
                        c,
                        calls / secs,
                        if calls > 0.0 {
                            1000.0 * wm / calls
                        } else {
                            f64::NAN
                        },
                    )
                }),
        );
        let mut own_ms = std::mem::take(&mut self.last.own_latency_ms);
        own_ms.clear();
        own_ms.extend(own.iter().map(|(m, _)| 1000.0 * m));
        self.last = Emission {
            time_ms: self.cfg.start_ms + self.elapsed_ms(),
            measured,
            truth,
            flow,
            own_latency_ms: own_ms,
            ops,
            edges,
        };
        self.observe_emission();
    }

    /// The oracle-free part of the last emission, into the observation.
    fn observe_emission(&mut self) {
        // The label is the last column, so the observed columns are the ones before it.
        const _: () = assert!(col::OPTIMAL == OBSERVED_COLUMNS.len());
        let em = &self.last;
        let obs = &mut self.obs;
        obs.time_ms = em.time_ms;
        obs.rows.clear();
        obs.rows.extend(em.measured.iter().map(|row| {
            let mut seen = [0.0; OBSERVED_COLUMNS.len()];
            seen.copy_from_slice(&row[..OBSERVED_COLUMNS.len()]);
            seen
        }));
        obs.edges.clear();
        obs.edges.extend(
            em.edges
                .iter()
                .map(|&(caller, callee, rate, latency_ms)| EdgeRate {
                    caller,
                    callee,
                    rate,
                    latency_ms,
                }),
        );
        obs.operations.clear();
        obs.operations.extend(em.ops.iter().map(|o| OperationRate {
            rate: o.rate,
            mean_ms: o.mean_ms,
            slo_percentile_ms: o.slo_percentile_ms,
            error_share: o.error_share,
        }));
        self.refresh_observed_state();
    }
}

/// Share of its capacity a service keeps next to busy co-located neighbours: each takes
/// `alpha` times its load relative to its default-peak load (at most `alpha`).
fn interference_share(svc: &Svc, pressure: &[f64]) -> f64 {
    let mut share = 1.0;
    for &(p, alpha) in &svc.coloc {
        share -= alpha * pressure[p].min(1.0);
    }
    share.max(0.1)
}

/// Factor by which loaded shared datastores slow a service: `1 + beta` times the
/// datastore's load relative to its default-peak load (capped at twice that).
fn contention_factor(svc: &Svc, pressure: &[f64]) -> f64 {
    1.0 + svc
        .datastores
        .iter()
        .map(|&(d, beta)| beta * pressure[d].min(2.0))
        .sum::<f64>()
}

/// Moments of the total time of `f` calls on average (⌊f⌋ calls plus one more with
/// probability frac(f)) each with mean `m` and variance `v`.
fn compound(m: f64, v: f64, f: f64) -> (f64, f64) {
    let frac = f - f.floor();
    let var_k = frac * (1.0 - frac);
    (f * m, f * v + var_k * m * m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compound_of_whole_and_fractional_fanouts() {
        assert_eq!(compound(2.0, 1.0, 3.0), (6.0, 3.0));
        // One call half the time: mean m/2, variance v/2 + m²/4.
        assert_eq!(compound(2.0, 1.0, 0.5), (1.0, 0.5 + 1.0));
    }
}
