//! The simulator as an [`Environment`], behind the metrics lag of a real cluster.

use std::collections::VecDeque;

use holoscale_sim::engine::{Emission, col};
use holoscale_sim::observe::{EdgeRate, ObservedRow, OperationRate};
use holoscale_sim::{AppSpec, SimConfig, Simulator};

use super::{Environment, StepOutcome};
use crate::error::Result;
use crate::frictions::Frictions;
use crate::{Action, Observation};

/// What a scaler sees of the measurements: the intervals that ended `lag` intervals or more
/// before now, averaged over a rate `window` of intervals (a Prometheus `rate()` over a
/// range), while the control-plane facts (replicas, limits, bounds) are current.
///
/// With `lag = 0, window = 1` it is the simulator's own observation of the last interval.
#[derive(Debug, Clone)]
pub struct MetricsView {
    lag: usize,
    window: usize,
    /// The simulator's observations after each interval, newest last (at most
    /// `lag + window`).
    history: VecDeque<Observation>,
    current: Observation,
}

impl MetricsView {
    /// A view with `lag` intervals of delay and a `window` of intervals (at least 1).
    pub fn new(lag: usize, window: usize, initial: &Observation) -> MetricsView {
        let mut current = initial.clone();
        current.rows.clear();
        current.edges.clear();
        current.operations.clear();
        MetricsView {
            lag,
            window: window.max(1),
            history: VecDeque::new(),
            current,
        }
    }

    /// The observation a scaler sees now.
    pub fn observation(&self) -> &Observation {
        &self.current
    }

    /// Takes the simulator's observation after an interval, and rebuilds the scaler's view.
    pub fn push(&mut self, latest: &Observation) {
        self.history.push_back(latest.clone());
        while self.history.len() > self.lag + self.window {
            self.history.pop_front();
        }
        self.refresh_state(latest);
        // The intervals the view averages: the `window` newest of those at least `lag` old.
        let visible = self.history.len().saturating_sub(self.lag);
        let from = visible.saturating_sub(self.window);
        let seen: Vec<&Observation> = self.history.range(from..visible).collect();
        self.current.rows = average_rows(&seen);
        self.current.edges = average_edges(&seen);
        self.current.operations = average_operations(&seen);
    }

    /// Updates the current facts after an action (replicas and limits are known at once).
    pub fn refresh_state(&mut self, latest: &Observation) {
        let c = &mut self.current;
        c.time_ms = latest.time_ms;
        c.ready.clone_from(&latest.ready);
        c.starting.clone_from(&latest.starting);
        c.cpu_limit.clone_from(&latest.cpu_limit);
        c.mem_limit.clone_from(&latest.mem_limit);
        c.bounds.clone_from(&latest.bounds);
    }
}

/// Mean of each service's rows over `seen`, column by column, over the intervals where the
/// scrape has the value (NaN where none has it); empty without intervals.
fn average_rows(seen: &[&Observation]) -> Vec<ObservedRow> {
    let Some(first) = seen.first() else {
        return Vec::new();
    };
    (0..first.rows.len())
        .map(|s| {
            let mut row = [f64::NAN; 11];
            for (c, out) in row.iter_mut().enumerate() {
                let (sum, n) = seen
                    .iter()
                    .filter_map(|o| o.rows.get(s).map(|r| r[c]))
                    .filter(|v| v.is_finite())
                    .fold((0.0, 0usize), |(a, n), v| (a + v, n + 1));
                if n > 0 {
                    *out = sum / n as f64;
                }
            }
            // Replicas as the scrape counted them are whole pods.
            if row[col::REPLICAS].is_finite() {
                row[col::REPLICAS] = row[col::REPLICAS].round();
            }
            row
        })
        .collect()
}

/// Mean call rate per static edge over `seen`; latency weighted by calls.
fn average_edges(seen: &[&Observation]) -> Vec<EdgeRate> {
    let Some(first) = seen.first() else {
        return Vec::new();
    };
    first
        .edges
        .iter()
        .enumerate()
        .map(|(e, edge)| {
            let (mut rate, mut lat_w, mut w) = (0.0, 0.0, 0.0);
            for o in seen {
                if let Some(x) = o.edges.get(e) {
                    rate += x.rate;
                    if x.latency_ms.is_finite() {
                        lat_w += x.rate * x.latency_ms;
                        w += x.rate;
                    }
                }
            }
            EdgeRate {
                caller: edge.caller,
                callee: edge.callee,
                rate: rate / seen.len() as f64,
                latency_ms: if w > 0.0 { lat_w / w } else { f64::NAN },
            }
        })
        .collect()
}

/// Mean request rate per operation over `seen`; latencies and error shares weighted by
/// requests.
fn average_operations(seen: &[&Observation]) -> Vec<OperationRate> {
    let Some(first) = seen.first() else {
        return Vec::new();
    };
    (0..first.operations.len())
        .map(|op| {
            let (mut rate, mut mean, mut pct, mut err, mut w) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for o in seen {
                if let Some(x) = o.operations.get(op) {
                    rate += x.rate;
                    if x.rate > 0.0 {
                        mean += x.rate * x.mean_ms;
                        pct += x.rate * x.slo_percentile_ms;
                        err += x.rate * x.error_share;
                        w += x.rate;
                    }
                }
            }
            let by = |v: f64| if w > 0.0 { v / w } else { 0.0 };
            OperationRate {
                rate: rate / seen.len() as f64,
                mean_ms: by(mean),
                slo_percentile_ms: by(pct),
                error_share: by(err),
            }
        })
        .collect()
}

/// The simulator running an application, seen through the control-loop [`Frictions`].
///
/// Start-up delays are applied to the application's services when the environment is
/// built; the metrics lag and rate window shape [`Environment::observe`]. The oracle
/// (`optimal_replicas`) is reachable only through [`SimEnv::optimal_replicas`], which the
/// harness uses for the `oracle` bound and no [`Scaler`](crate::Scaler) can call: a scaler
/// is handed an [`Observation`] and nothing else.
pub struct SimEnv {
    spec: AppSpec,
    cfg: SimConfig,
    sim: Simulator,
    view: MetricsView,
    lag: usize,
    window: usize,
    cpu_request: Vec<f64>,
}

impl std::fmt::Debug for SimEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimEnv")
            .field("app", &self.spec.name)
            .field("interval_ms", &self.cfg.interval_ms)
            .field("lag", &self.lag)
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

impl SimEnv {
    /// `spec` simulated with `cfg` (its seed is the first episode's), behind `frictions`
    /// (start-up delays, metrics lag and rate window; the decision period and the
    /// scale-down stabilisation are the harness's).
    pub fn new(spec: &AppSpec, cfg: SimConfig, frictions: &Frictions) -> Result<SimEnv> {
        frictions.check()?;
        let spec = frictions.startup.apply(spec);
        cfg.check()?;
        let sim = Simulator::new(&spec, cfg.clone())?;
        let view = MetricsView::new(
            frictions.metrics_lag_intervals,
            frictions.rate_window_intervals,
            sim.observe(),
        );
        Ok(SimEnv {
            cpu_request: spec.services.iter().map(|s| s.cpu_request).collect(),
            spec,
            view,
            sim,
            lag: frictions.metrics_lag_intervals,
            window: frictions.rate_window_intervals,
            cfg,
        })
    }

    /// The application as simulated (start-up delays of the frictions applied).
    pub fn spec(&self) -> &AppSpec {
        &self.spec
    }

    /// The simulation settings of the current episode.
    pub fn config(&self) -> &SimConfig {
        &self.cfg
    }

    /// Intervals in an episode.
    pub fn steps(&self) -> usize {
        self.cfg.steps()
    }

    /// The simulator's `optimal_replicas` for the interval that starts now: **the oracle**,
    /// for the unrealisable `oracle` bound of the harness only.
    pub fn optimal_replicas(&self) -> Vec<u32> {
        self.sim.optimal_replicas()
    }

    /// The last interval's full emission (noise-free truth and the label included), for
    /// recorders; not for scalers.
    pub fn emission(&self) -> &Emission {
        self.sim.last_emission()
    }

    /// The simulator (for recorders).
    pub fn simulator(&self) -> &Simulator {
        &self.sim
    }
}

impl Environment for SimEnv {
    fn reset(&mut self, seed: u64) -> Result<()> {
        self.cfg.seed = seed;
        // A new simulator: the workload is drawn from the seed as well.
        self.sim = Simulator::new(&self.spec, self.cfg.clone())?;
        self.view = MetricsView::new(self.lag, self.window, self.sim.observe());
        Ok(())
    }

    fn observe(&self) -> &Observation {
        self.view.observation()
    }

    fn act(&mut self, actions: &[Action]) -> Result<()> {
        self.sim.apply(actions)?;
        self.view.refresh_state(self.sim.observe());
        Ok(())
    }

    fn step(&mut self) -> Result<StepOutcome> {
        let em = self.sim.step();
        let hours = self.cfg.interval_ms as f64 / 3_600_000.0;
        let replicas: Vec<u32> = em
            .truth
            .iter()
            .map(|r| r[col::REPLICAS].max(0.0) as u32)
            .collect();
        let core_hours = replicas
            .iter()
            .zip(&self.cpu_request)
            .map(|(&r, &c)| r as f64 * c * hours)
            .sum();
        let outcome = StepOutcome {
            time_ms: em.time_ms,
            interval_ms: self.cfg.interval_ms,
            slo_ms: self.spec.slo.latency_ms,
            operations: em.ops.clone(),
            replicas,
            core_hours,
        };
        self.view.push(self.sim.observe());
        Ok(outcome)
    }
}
