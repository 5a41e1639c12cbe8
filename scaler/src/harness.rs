//! The evaluation harness: scalers × seeds on one application and workload, every run on
//! its own simulator behind the same [`Frictions`], run in parallel and deterministically,
//! summarised as a table like DeepScaler's Table II.
//!
//! ```no_run
//! use holoscale_scaler::{Action, Harness, Observation, Scaler, ScalerEntry, ScalerKind};
//! use holoscale_sim::engine::col;
//!
//! /// Adds a replica to any service above 80% CPU; never scales in.
//! struct Greedy;
//! impl Scaler for Greedy {
//!     fn name(&self) -> String { "greedy".into() }
//!     fn decide(&mut self, obs: &Observation) -> Vec<Action> {
//!         (0..obs.len())
//!             .filter(|&s| obs.value(s, col::CPU_UTIL) > 0.8)
//!             .map(|s| Action::replicas(s, obs.replicas(s) + 1))
//!             .collect()
//!     }
//! }
//!
//! # fn main() -> holoscale_scaler::Result<()> {
//! let app = holoscale_sim::apps::builtin("online-boutique", 7)?;
//! let mut harness = Harness::new(app);
//! harness.sim.duration_ms = 6 * 3_600_000;
//! harness.seeds = vec![1, 2, 3];
//! harness.scalers = vec![
//!     ScalerEntry::from_kind(ScalerKind::Hpa(None)),
//!     ScalerEntry::from_kind(ScalerKind::Oracle),
//!     ScalerEntry::custom("greedy", |_first| Ok(Box::new(Greedy))),
//! ];
//! let eval = harness.run(&|_done, _total| {})?;
//! for row in &eval.table {
//!     println!("{}: {:.2}% violations, {:.1} core-hours", row.scaler,
//!         100.0 * row.mean.violation_share, row.mean.core_hours);
//! }
//! # Ok(()) }
//! ```

use std::collections::VecDeque;
use std::sync::Arc;

use rayon::prelude::*;
use serde::Serialize;

use crate::env::{Environment, SimEnv, StepOutcome};
use crate::error::{Error, Result};
use crate::frictions::{Frictions, Startup};
use crate::metrics::{MetricsAccumulator, RunMetrics, mean_and_spread};
use crate::scalers::{Scaler, ScalerKind};
use crate::{Action, Observation};
use holoscale_sim::{AppSpec, SimConfig};

/// Builds a scaler for an episode from its first observation.
pub type ScalerFactory = dyn Fn(&Observation) -> Result<Box<dyn Scaler>> + Send + Sync;

/// One scaler of an evaluation: a label and how to build it (or the oracle bound).
#[derive(Clone)]
pub struct ScalerEntry {
    /// Its name in tables.
    pub label: String,
    /// `None` for the oracle.
    factory: Option<Arc<ScalerFactory>>,
}

impl std::fmt::Debug for ScalerEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScalerEntry")
            .field("label", &self.label)
            .field("oracle", &self.is_oracle())
            .finish()
    }
}

impl ScalerEntry {
    /// A built-in scaler (or the oracle).
    pub fn from_kind(kind: ScalerKind) -> ScalerEntry {
        let label = kind.label();
        if kind.is_oracle() {
            return ScalerEntry {
                label,
                factory: None,
            };
        }
        ScalerEntry {
            label,
            factory: Some(Arc::new(move |first: &Observation| kind.build(first))),
        }
    }

    /// A user-written scaler under `label`, built by `factory` for every episode.
    pub fn custom(
        label: impl Into<String>,
        factory: impl Fn(&Observation) -> Result<Box<dyn Scaler>> + Send + Sync + 'static,
    ) -> ScalerEntry {
        ScalerEntry {
            label: label.into(),
            factory: Some(Arc::new(factory)),
        }
    }

    /// Whether this is the unrealisable oracle bound.
    pub fn is_oracle(&self) -> bool {
        self.factory.is_none()
    }
}

/// One applied replica change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Decision time, ms since the epoch.
    pub time_ms: i64,
    /// Service index.
    pub service: usize,
    /// Replicas before.
    pub from: u32,
    /// Replicas asked for (after clamping and stabilisation).
    pub to: u32,
}

/// The per-interval series of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Series {
    /// End of each interval, ms since the epoch.
    pub times_ms: Vec<i64>,
    /// Application latency at the SLO percentile (request-weighted over operations), ms.
    pub latency_ms: Vec<f64>,
    /// Mean application latency, ms.
    pub mean_latency_ms: Vec<f64>,
    /// Requests per second entering the application.
    pub request_rate: Vec<f64>,
    /// Whether an operation exceeded the SLO.
    pub violated: Vec<bool>,
    /// Core-hours of the interval.
    pub core_hours: Vec<f64>,
    /// Running replicas per interval and service.
    pub replicas: Vec<Vec<u32>>,
    /// Every applied change.
    pub decisions: Vec<Decision>,
}

impl Series {
    fn push(&mut self, out: &StepOutcome) {
        let secs = out.interval_ms as f64 / 1000.0;
        let (mut reqs, mut pct, mut mean) = (0.0, 0.0, 0.0);
        for op in &out.operations {
            let r = op.rate * secs;
            reqs += r;
            pct += r * op.slo_percentile_ms;
            mean += r * op.mean_ms;
        }
        let by = |x: f64| if reqs > 0.0 { x / reqs } else { 0.0 };
        self.times_ms.push(out.time_ms);
        self.latency_ms.push(by(pct));
        self.mean_latency_ms.push(by(mean));
        self.request_rate.push(reqs / secs);
        self.violated
            .push((0..out.operations.len()).any(|o| out.violated(o)));
        self.core_hours.push(out.core_hours);
        self.replicas.push(out.replicas.clone());
    }
}

/// What one run produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    /// The figures.
    pub metrics: RunMetrics,
    /// The per-interval series, when recorded.
    pub series: Option<Series>,
}

/// Scale-down stabilisation applied by the harness: a service goes down only to the highest
/// count asked for within the window.
#[derive(Debug, Clone)]
struct Stabiliser {
    window_ms: i64,
    asked: Vec<VecDeque<(i64, u32)>>,
}

impl Stabiliser {
    fn new(services: usize, window_s: f64) -> Stabiliser {
        Stabiliser {
            window_ms: (window_s * 1000.0).round() as i64,
            asked: vec![VecDeque::new(); services],
        }
    }

    /// The actions to apply: every service's request this decision (its action, or its
    /// current replicas) enters the window; scale-downs go to the window's highest.
    fn filter(&mut self, obs: &Observation, actions: &[Action]) -> Vec<Action> {
        let now = obs.time_ms;
        let mut want: Vec<Option<u32>> = vec![None; obs.len()];
        for a in actions {
            if let (Some(r), Some(w)) = (a.replicas, want.get_mut(a.service)) {
                *w = Some(r);
            }
        }
        let mut out: Vec<Action> = actions
            .iter()
            .filter(|a| a.replicas.is_none() && (a.cpu_limit.is_some() || a.mem_limit.is_some()))
            .copied()
            .collect();
        for (s, w) in want.iter().enumerate() {
            let current = obs.replicas(s);
            let asked = w.unwrap_or(current);
            let q = &mut self.asked[s];
            q.push_back((now, asked));
            while q.front().is_some_and(|&(t, _)| now - t >= self.window_ms) {
                q.pop_front();
            }
            let to = if asked < current {
                q.iter()
                    .map(|&(_, r)| r)
                    .max()
                    .unwrap_or(asked)
                    .min(current)
            } else {
                asked
            };
            if let Some(orig) = actions
                .iter()
                .find(|a| a.service == s && a.replicas.is_some())
            {
                out.push(Action {
                    replicas: Some(to),
                    ..*orig
                });
            } else if to != current {
                out.push(Action::replicas(s, to));
            }
        }
        out
    }
}

/// Runs `steps` intervals of `env`, asking `decide` every `period_ms` (a multiple of the
/// interval), stabilising scale-downs over `stabilisation_s`, and measuring every interval.
/// `after_step` sees the environment after each interval (a recorder, a progress bar).
pub fn run_episode<E: Environment + ?Sized>(
    env: &mut E,
    steps: usize,
    period_ms: i64,
    stabilisation_s: f64,
    record_series: bool,
    decide: &mut dyn FnMut(&E) -> Vec<Action>,
    after_step: &mut dyn FnMut(&E) -> Result<()>,
) -> Result<Run> {
    let interval = env.observe().interval_ms;
    if interval <= 0 || period_ms <= 0 || period_ms % interval != 0 {
        return Err(Error::param(
            "decision_period_ms",
            format!("{period_ms} ms is not a positive multiple of the {interval} ms interval"),
        ));
    }
    let every = (period_ms / interval) as usize;
    let mut stab =
        (stabilisation_s > 0.0).then(|| Stabiliser::new(env.observe().len(), stabilisation_s));
    let mut acc = MetricsAccumulator::new();
    let mut series = record_series.then(Series::default);
    for k in 0..steps {
        let mut applied = 0;
        if k % every == 0 {
            let raw = decide(env);
            let obs = env.observe();
            let actions = match &mut stab {
                Some(st) => st.filter(obs, &raw),
                None => raw,
            };
            let before: Vec<u32> = (0..obs.len()).map(|s| obs.replicas(s)).collect();
            let (time, bounds) = (obs.time_ms, obs.bounds.clone());
            env.act(&actions)?;
            for a in &actions {
                if let (Some(to), Some(&from)) = (a.replicas, before.get(a.service)) {
                    let (min, max) = bounds[a.service];
                    let to = to.clamp(min, max);
                    if to != from {
                        applied += 1;
                        if let Some(s) = &mut series {
                            s.decisions.push(Decision {
                                time_ms: time,
                                service: a.service,
                                from,
                                to,
                            });
                        }
                    }
                }
            }
        }
        let out = env.step()?;
        acc.push(&out, applied);
        if let Some(s) = &mut series {
            s.push(&out);
        }
        after_step(env)?;
    }
    Ok(Run {
        metrics: acc.finish(),
        series,
    })
}

/// The actions that set every service to the simulator's optimum for the coming interval:
/// the oracle bound.
pub fn oracle_actions(env: &SimEnv) -> Vec<Action> {
    env.optimal_replicas()
        .into_iter()
        .enumerate()
        .map(|(s, r)| Action::replicas(s, r))
        .collect()
}

/// Scalers × seeds on one application and workload.
#[derive(Debug, Clone)]
pub struct Harness {
    /// The application.
    pub app: AppSpec,
    /// Workload, duration and the other simulation settings (the interval is the
    /// frictions' and the seed each run's).
    pub sim: SimConfig,
    /// The control-loop frictions (on by default).
    pub frictions: Frictions,
    /// The scalers, in table order.
    pub scalers: Vec<ScalerEntry>,
    /// Seeds; every scaler runs every seed.
    pub seeds: Vec<u64>,
    /// Decision period of scalers without their own, ms.
    pub default_period_ms: i64,
    /// Keep every run's per-interval series.
    pub record_series: bool,
    /// Threads (0: rayon's default, one per core).
    pub threads: usize,
}

/// One run of an evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunResult {
    /// Scaler label.
    pub scaler: String,
    /// Seed.
    pub seed: u64,
    /// The run.
    pub run: Run,
}

/// One row of the evaluation table: a scaler's mean and spread over seeds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableRow {
    /// Scaler label.
    pub scaler: String,
    /// Whether it is the unrealisable oracle.
    pub oracle: bool,
    /// Runs (seeds) averaged.
    pub runs: usize,
    /// Mean over seeds.
    pub mean: RunMetrics,
    /// Sample standard deviation over seeds.
    pub spread: RunMetrics,
    /// Mean over the baselines in the table (`hpa`, `aws`, `mmn`, `hab`, `slo`, itself
    /// excluded) of the relative reduction in violations, `1 − v / v_baseline`: DeepScaler's
    /// "fewer violations on average" (None without such baselines).
    pub violation_reduction: Option<f64>,
    /// The same for core-hours.
    pub cost_reduction: Option<f64>,
}

/// Everything an evaluation produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// Every run, scaler-major in table order, seeds in order.
    pub runs: Vec<RunResult>,
    /// The table.
    pub table: Vec<TableRow>,
}

/// The baselines DeepScaler's aggregate is taken over (HPA added).
pub const BASELINES: [&str; 5] = ["hpa", "aws", "mmn", "hab", "slo"];

impl Harness {
    /// An evaluation of `app` under the DeepScaler workload for 24 h, with the default
    /// frictions, no scalers yet and seeds 1, 2, 3.
    pub fn new(app: AppSpec) -> Harness {
        Harness {
            app,
            sim: SimConfig::default(),
            frictions: Frictions::default(),
            scalers: Vec::new(),
            seeds: vec![1, 2, 3],
            default_period_ms: 30_000,
            record_series: false,
            threads: 0,
        }
    }

    /// The simulation settings of a run with `seed`.
    pub fn config(&self, seed: u64) -> SimConfig {
        SimConfig {
            interval_ms: self.frictions.interval_ms,
            seed,
            ..self.sim.clone()
        }
    }

    /// The environment of one run: the oracle's replicas are ready at once (applied ahead
    /// of time by the start-up delay, with perfect foresight) and it sees no lag.
    pub fn environment(&self, oracle: bool, seed: u64) -> Result<SimEnv> {
        let mut frictions = self.frictions.clone();
        if oracle {
            frictions.startup = Startup::Fixed(0.0);
            frictions.metrics_lag_intervals = 0;
        }
        SimEnv::new(&self.app, self.config(seed), &frictions)
    }

    /// Runs `entry` on `seed`; `after_step` sees the environment after every interval.
    pub fn run_one(
        &self,
        entry: &ScalerEntry,
        seed: u64,
        after_step: &mut dyn FnMut(&SimEnv) -> Result<()>,
    ) -> Result<Run> {
        let mut env = self.environment(entry.is_oracle(), seed)?;
        let steps = env.steps();
        match &entry.factory {
            None => run_episode(
                &mut env,
                steps,
                self.frictions.interval_ms,
                0.0,
                self.record_series,
                &mut |e: &SimEnv| oracle_actions(e),
                after_step,
            ),
            Some(factory) => {
                let mut scaler = factory(env.observe())?;
                let period = scaler.period_ms().unwrap_or(self.default_period_ms);
                let stabilisation = if scaler.stabilises_itself() {
                    0.0
                } else {
                    self.frictions.scale_down_stabilisation_s
                };
                run_episode(
                    &mut env,
                    steps,
                    period,
                    stabilisation,
                    self.record_series,
                    &mut |e: &SimEnv| scaler.decide(e.observe()),
                    after_step,
                )
            }
        }
    }

    /// Runs every scaler on every seed, in parallel, and builds the table. `progress(done,
    /// total)` is called after each run.
    pub fn run(&self, progress: &(dyn Fn(usize, usize) + Sync)) -> Result<Evaluation> {
        if self.scalers.is_empty() || self.seeds.is_empty() {
            return Err(Error::param(
                "scalers",
                "an evaluation needs scalers and seeds",
            ));
        }
        let mut labels: Vec<&str> = self.scalers.iter().map(|e| e.label.as_str()).collect();
        labels.sort_unstable();
        if let Some(w) = labels.windows(2).find(|w| w[0] == w[1]) {
            return Err(Error::param(
                "scalers",
                format!("`{}` is listed twice", w[0]),
            ));
        }
        let jobs: Vec<(usize, u64)> = (0..self.scalers.len())
            .flat_map(|i| self.seeds.iter().map(move |&s| (i, s)))
            .collect();
        let total = jobs.len();
        let done = std::sync::atomic::AtomicUsize::new(0);
        let work = || {
            jobs.par_iter()
                .map(|&(i, seed)| {
                    let entry = &self.scalers[i];
                    let run = self.run_one(entry, seed, &mut |_| Ok(()))?;
                    progress(
                        done.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1,
                        total,
                    );
                    Ok(RunResult {
                        scaler: entry.label.clone(),
                        seed,
                        run,
                    })
                })
                .collect::<Result<Vec<_>>>()
        };
        let runs = if self.threads == 0 {
            work()?
        } else {
            rayon::ThreadPoolBuilder::new()
                .num_threads(self.threads)
                .build()
                .map_err(|e| Error::param("threads", e.to_string()))?
                .install(work)?
        };
        let table = table(&self.scalers, &runs);
        Ok(Evaluation { runs, table })
    }
}

/// The table of `runs` for `scalers`, in their order.
pub fn table(scalers: &[ScalerEntry], runs: &[RunResult]) -> Vec<TableRow> {
    let mut rows: Vec<TableRow> = scalers
        .iter()
        .map(|e| {
            let metrics: Vec<RunMetrics> = runs
                .iter()
                .filter(|r| r.scaler == e.label)
                .map(|r| r.run.metrics)
                .collect();
            let (mean, spread) = mean_and_spread(&metrics);
            TableRow {
                scaler: e.label.clone(),
                oracle: e.is_oracle(),
                runs: metrics.len(),
                mean,
                spread,
                violation_reduction: None,
                cost_reduction: None,
            }
        })
        .collect();
    let reduction = |rows: &[TableRow], me: &TableRow, get: fn(&RunMetrics) -> f64| {
        let gains: Vec<f64> = rows
            .iter()
            .filter(|b| b.scaler != me.scaler && BASELINES.contains(&b.scaler.as_str()))
            .filter(|b| get(&b.mean) > 0.0)
            .map(|b| 1.0 - get(&me.mean) / get(&b.mean))
            .collect();
        (!gains.is_empty()).then(|| gains.iter().sum::<f64>() / gains.len() as f64)
    };
    let snapshot = rows.clone();
    for row in &mut rows {
        row.violation_reduction = reduction(&snapshot, row, |m| m.violation_share);
        row.cost_reduction = reduction(&snapshot, row, |m| m.core_hours);
    }
    rows
}
