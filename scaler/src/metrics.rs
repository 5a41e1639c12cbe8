//! What a run is measured by (DeepScaler eqs. 1-2 and section V-A).

use serde::{Deserialize, Serialize};

use crate::env::StepOutcome;

/// The figures of one run.
///
/// - `violation_share`: the request-weighted share of (interval, operation) pairs whose
///   end-to-end latency at the SLO percentile exceeded the SLO (the simulator's summary);
/// - `violation_time_share`: DeepScaler eq. 1, `T_violation / T`: the share of intervals in
///   which some operation with requests exceeded the SLO;
/// - `core_hours`: eq. 2 as core-hours, `Σ_t Σ_i c_i · y_i^t · Δt` (the CPU requested by the
///   running replicas; the paper's printed normalisation does not reduce to core-hours);
/// - `cumulative_error_s`: the cumulative absolute error of latency against the SLO band
///   `[SLO/2, SLO]`: per interval, how far the application's latency at the SLO percentile
///   (request-weighted over operations) lies outside the band, seconds, summed (DeepScaler
///   reports a CAE without a formula; its code measures against a band);
/// - latency: the request-weighted mean end-to-end latency, and the request-weighted 95th
///   and 99th percentiles over (interval, operation) of the latency at the SLO percentile;
/// - `scaling_actions`: replica changes applied (one per service and decision);
/// - `mean_replicas`: running replicas per service, averaged over intervals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct RunMetrics {
    /// Intervals run.
    pub intervals: f64,
    /// Requests that entered the application.
    pub requests: f64,
    /// Requests that failed somewhere in their call tree.
    pub failed_requests: f64,
    /// Their share of the requests.
    pub failed_share: f64,
    /// Request-weighted share of (interval, operation) pairs over the SLO.
    pub violation_share: f64,
    /// Share of intervals with an operation over the SLO (DeepScaler eq. 1).
    pub violation_time_share: f64,
    /// Core-hours (DeepScaler eq. 2).
    pub core_hours: f64,
    /// Cumulative absolute error against the SLO band, seconds.
    pub cumulative_error_s: f64,
    /// Mean end-to-end latency, ms.
    pub mean_latency_ms: f64,
    /// 95th percentile of the latency at the SLO percentile, ms.
    pub p95_latency_ms: f64,
    /// 99th percentile of the latency at the SLO percentile, ms.
    pub p99_latency_ms: f64,
    /// Replica changes applied.
    pub scaling_actions: f64,
    /// Running replicas per service, averaged over intervals.
    pub mean_replicas: f64,
}

/// Accumulates [`RunMetrics`] interval by interval.
#[derive(Debug, Clone, Default)]
pub struct MetricsAccumulator {
    intervals: usize,
    requests: f64,
    failed: f64,
    violated_requests: f64,
    violated_intervals: usize,
    core_hours: f64,
    error_s: f64,
    latency_weighted: f64,
    /// (latency at the SLO percentile, requests) per (interval, operation).
    tail: Vec<(f64, f64)>,
    actions: usize,
    replica_sum: f64,
    services: usize,
}

impl MetricsAccumulator {
    /// An empty accumulator.
    pub fn new() -> MetricsAccumulator {
        MetricsAccumulator::default()
    }

    /// Adds an interval's outcome and the replica changes applied before it.
    pub fn push(&mut self, out: &StepOutcome, actions_applied: usize) {
        let secs = out.interval_ms as f64 / 1000.0;
        self.intervals += 1;
        self.actions += actions_applied;
        self.core_hours += out.core_hours;
        self.services = out.replicas.len();
        self.replica_sum += out.replicas.iter().map(|&r| r as f64).sum::<f64>();
        let (mut reqs, mut pct_w) = (0.0, 0.0);
        let mut any = false;
        for (o, op) in out.operations.iter().enumerate() {
            let r = op.rate * secs;
            if r <= 0.0 {
                continue;
            }
            reqs += r;
            self.failed += r * op.error_share;
            self.latency_weighted += r * op.mean_ms;
            pct_w += r * op.slo_percentile_ms;
            self.tail.push((op.slo_percentile_ms, r));
            if out.violated(o) {
                self.violated_requests += r;
                any = true;
            }
        }
        self.requests += reqs;
        self.violated_intervals += usize::from(any);
        if reqs > 0.0 {
            let rt = pct_w / reqs;
            let (lo, hi) = (0.5 * out.slo_ms, out.slo_ms);
            let outside = if rt > hi {
                rt - hi
            } else if rt < lo {
                lo - rt
            } else {
                0.0
            };
            self.error_s += outside / 1000.0;
        }
    }

    /// The figures so far.
    pub fn finish(&self) -> RunMetrics {
        let share = |x: f64| {
            if self.requests > 0.0 {
                x / self.requests
            } else {
                0.0
            }
        };
        let mut tail = self.tail.clone();
        tail.sort_by(|a, b| a.0.total_cmp(&b.0));
        let total: f64 = tail.iter().map(|t| t.1).sum();
        let quantile = |q: f64| {
            let mut acc = 0.0;
            for &(v, w) in &tail {
                acc += w;
                if acc >= q * total {
                    return v;
                }
            }
            tail.last().map_or(f64::NAN, |t| t.0)
        };
        RunMetrics {
            intervals: self.intervals as f64,
            requests: self.requests,
            failed_requests: self.failed,
            failed_share: share(self.failed),
            violation_share: share(self.violated_requests),
            violation_time_share: if self.intervals > 0 {
                self.violated_intervals as f64 / self.intervals as f64
            } else {
                0.0
            },
            core_hours: self.core_hours,
            cumulative_error_s: self.error_s,
            mean_latency_ms: share(self.latency_weighted),
            p95_latency_ms: quantile(0.95),
            p99_latency_ms: quantile(0.99),
            scaling_actions: self.actions as f64,
            mean_replicas: self.replica_sum / (self.intervals * self.services).max(1) as f64,
        }
    }
}

/// The metrics in table order, with their names (for tables, CSV and JSON).
pub fn columns(m: &RunMetrics) -> [(&'static str, f64); 13] {
    [
        ("violation_share", m.violation_share),
        ("violation_time_share", m.violation_time_share),
        ("core_hours", m.core_hours),
        ("cumulative_error_s", m.cumulative_error_s),
        ("mean_latency_ms", m.mean_latency_ms),
        ("p95_latency_ms", m.p95_latency_ms),
        ("p99_latency_ms", m.p99_latency_ms),
        ("failed_share", m.failed_share),
        ("failed_requests", m.failed_requests),
        ("scaling_actions", m.scaling_actions),
        ("mean_replicas", m.mean_replicas),
        ("requests", m.requests),
        ("intervals", m.intervals),
    ]
}

/// Mean and sample standard deviation, field by field, of `runs`.
pub fn mean_and_spread(runs: &[RunMetrics]) -> (RunMetrics, RunMetrics) {
    let n = runs.len().max(1) as f64;
    let get = |m: &RunMetrics| columns(m).map(|(_, v)| v);
    let mut mean = [0.0; 13];
    for r in runs {
        for (a, v) in mean.iter_mut().zip(get(r)) {
            *a += v / n;
        }
    }
    let mut var = [0.0; 13];
    if runs.len() > 1 {
        for r in runs {
            for ((a, v), m) in var.iter_mut().zip(get(r)).zip(mean) {
                *a += (v - m).powi(2) / (n - 1.0);
            }
        }
    }
    (from_columns(mean), from_columns(var.map(f64::sqrt)))
}

fn from_columns(v: [f64; 13]) -> RunMetrics {
    RunMetrics {
        violation_share: v[0],
        violation_time_share: v[1],
        core_hours: v[2],
        cumulative_error_s: v[3],
        mean_latency_ms: v[4],
        p95_latency_ms: v[5],
        p99_latency_ms: v[6],
        failed_share: v[7],
        failed_requests: v[8],
        scaling_actions: v[9],
        mean_replicas: v[10],
        requests: v[11],
        intervals: v[12],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::OpStats;
    use approx::assert_abs_diff_eq;

    fn outcome(latencies: &[(f64, f64)], replicas: Vec<u32>) -> StepOutcome {
        StepOutcome {
            time_ms: 0,
            interval_ms: 10_000,
            slo_ms: 100.0,
            operations: latencies
                .iter()
                .map(|&(rate, p)| OpStats {
                    rate,
                    mean_ms: p / 2.0,
                    slo_percentile_ms: p,
                    error_share: 0.1,
                })
                .collect(),
            core_hours: 0.5,
            replicas,
        }
    }

    #[test]
    fn hand_computed_run() {
        let mut acc = MetricsAccumulator::new();
        // Interval 1: op 0 at 1/s and 120 ms (over), op 1 at 3/s and 80 ms: 10 + 30 requests.
        acc.push(&outcome(&[(1.0, 120.0), (3.0, 80.0)], vec![2, 4]), 2);
        // Interval 2: both under, 40 ms (below the band's 50 ms) at 2/s each.
        acc.push(&outcome(&[(2.0, 40.0), (2.0, 40.0)], vec![1, 1]), 0);
        let m = acc.finish();
        assert_abs_diff_eq!(m.requests, 80.0);
        assert_abs_diff_eq!(m.violation_share, 10.0 / 80.0);
        assert_abs_diff_eq!(m.violation_time_share, 0.5);
        assert_abs_diff_eq!(m.failed_share, 0.1, epsilon = 1e-12);
        assert_abs_diff_eq!(m.core_hours, 1.0);
        // Interval 1: request-weighted 90 ms, inside [50, 100]; interval 2: 10 ms below.
        assert_abs_diff_eq!(m.cumulative_error_s, 0.010, epsilon = 1e-12);
        assert_abs_diff_eq!(
            m.mean_latency_ms,
            (10.0 * 60.0 + 30.0 * 40.0 + 40.0 * 20.0) / 80.0
        );
        // Weighted tail: 40 ms × 40 requests, 80 × 30, 120 × 10: p95 and p99 are 120.
        assert_abs_diff_eq!(m.p95_latency_ms, 120.0);
        assert_abs_diff_eq!(m.p99_latency_ms, 120.0);
        assert_abs_diff_eq!(m.scaling_actions, 2.0);
        assert_abs_diff_eq!(m.mean_replicas, 8.0 / 4.0);
    }

    #[test]
    fn spread_is_the_sample_standard_deviation() {
        let a = RunMetrics {
            core_hours: 1.0,
            ..RunMetrics::default()
        };
        let b = RunMetrics {
            core_hours: 3.0,
            ..RunMetrics::default()
        };
        let (m, s) = mean_and_spread(&[a, b]);
        assert_abs_diff_eq!(m.core_hours, 2.0);
        assert_abs_diff_eq!(s.core_hours, 2f64.sqrt());
        assert_eq!(mean_and_spread(&[a]).1.core_hours, 0.0);
    }
}
