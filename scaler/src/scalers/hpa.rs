//! `hpa`: the Kubernetes Horizontal Pod Autoscaler, as its controller computes it
//! (`pkg/controller/podautoscaler`, the "Algorithm details" and "Configurable scaling
//! behavior" sections of the Kubernetes documentation):
//!
//! 1. Every sync period (15 s), per service: `current` is the spec's replicas (ready and
//!    starting). Zero replicas: autoscaling is off. Above the maximum: the maximum; below
//!    the minimum: the minimum.
//! 2. The usage ratio over the ready pods with metrics, `r = mean(metric) / target`; within
//!    the tolerance (`|1 − r| ≤ 0.1`) nothing changes; otherwise `⌈r · ready⌉`
//!    ([`replica_count`]).
//! 3. Corrections when pods lack metrics or are not ready: on a scale-down, missing pods
//!    count as using 100% of their request (resource metrics) or the target (other
//!    metrics); on a scale-up, missing and not-ready pods count as using nothing. The ratio
//!    is recomputed over all pods; when it is within the tolerance or changes direction,
//!    nothing changes.
//! 4. Stabilisation: every recommendation is kept with its time; the scale-up
//!    recommendation is the lowest within the scale-up window (default 0 s), the scale-down
//!    one the highest within the scale-down window (default 300 s), and the current count
//!    is moved only as far as they allow.
//! 5. Rate limits (`behavior` policies): from the replicas at the start of each policy's
//!    period (the current count less the changes within it), `Pods` allows `± value`,
//!    `Percent` `⌈start · (1 + v/100)⌉` up and `⌊start · (1 − v/100)⌋` down; `selectPolicy:
//!    Max` takes the policy allowing the largest change. Defaults: up max(100%, 4 pods) per
//!    15 s, down 100% per 15 s. Then the min/max clamp.
//!
//! The simulator reports a service's mean CPU utilisation over its ready pods; every ready
//! pod is given that mean (the sums the controller divides are the same), pods starting are
//! not ready, and a missed scrape leaves every pod without a metric, which holds the
//! service (the controller gets no metrics for any ready pod).

use std::collections::VecDeque;

use holoscale_sim::engine::col;

use super::Scaler;
use crate::{Action, Observation};

/// A rate-limit policy of a scaling direction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Policy {
    /// At most this many pods per period.
    Pods {
        /// Pods.
        value: u32,
        /// Period, seconds.
        period_s: u32,
    },
    /// At most this percentage of the pods at the start of the period.
    Percent {
        /// Percent.
        value: u32,
        /// Period, seconds.
        period_s: u32,
    },
}

impl Policy {
    fn period_ms(self) -> i64 {
        match self {
            Policy::Pods { period_s, .. } | Policy::Percent { period_s, .. } => {
                period_s as i64 * 1000
            }
        }
    }
}

/// How the policies of a direction combine (`selectPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Select {
    /// The policy that allows the largest change (the default).
    Max,
    /// The policy that allows the smallest change.
    Min,
    /// No scaling in this direction.
    Disabled,
}

/// The `behavior` of one direction.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    /// Stabilisation window, seconds.
    pub stabilization_s: u32,
    /// Rate-limit policies.
    pub policies: Vec<Policy>,
    /// How they combine.
    pub select: Select,
}

/// The metric the HPA scales on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    /// CPU utilisation of the limit (a resource metric with a `Utilization` target).
    Cpu,
    /// A telemetry column (an index of [`col`]) as a per-pod average with an
    /// `AverageValue` target: the column's service total divided by the ready pods.
    Column(usize),
}

/// Settings of the HPA. Defaults are the controller's, with a 60% CPU target (the target of
/// the simulator's data-collection HPA; Kubernetes has no default target).
#[derive(Debug, Clone, PartialEq)]
pub struct HpaConfig {
    /// The metric.
    pub metric: Metric,
    /// Target: a utilisation share for [`Metric::Cpu`], an average per pod otherwise.
    pub target: f64,
    /// Tolerance around ratio 1 (`--horizontal-pod-autoscaler-tolerance`).
    pub tolerance: f64,
    /// Sync period, ms (`--horizontal-pod-autoscaler-sync-period`).
    pub sync_period_ms: i64,
    /// Scale-up behaviour.
    pub scale_up: Rules,
    /// Scale-down behaviour.
    pub scale_down: Rules,
}

impl Default for HpaConfig {
    fn default() -> Self {
        HpaConfig {
            metric: Metric::Cpu,
            target: 0.6,
            tolerance: 0.1,
            sync_period_ms: 15_000,
            scale_up: Rules {
                stabilization_s: 0,
                policies: vec![
                    Policy::Percent {
                        value: 100,
                        period_s: 15,
                    },
                    Policy::Pods {
                        value: 4,
                        period_s: 15,
                    },
                ],
                select: Select::Max,
            },
            scale_down: Rules {
                stabilization_s: 300,
                policies: vec![Policy::Percent {
                    value: 100,
                    period_s: 15,
                }],
                select: Select::Max,
            },
        }
    }
}

/// What the controller knows of one pod.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PodMetric {
    /// A ready pod and its metric (utilisation share, or the value per pod).
    Ready(f64),
    /// A pod not ready yet (its metric, if any, is set aside).
    Unready,
    /// A ready pod without a metric.
    Missing,
}

/// How the controller turns pod metrics into a usage ratio.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target {
    /// The target value (a utilisation share, or an average per pod).
    pub value: f64,
    /// A resource utilisation: the controller compares whole percentages, the current one
    /// truncated (`int32(Σ usage · 100 / Σ request)`) against the target's.
    pub percent: bool,
}

impl Target {
    /// The usage ratio of `count` pods whose metrics sum to `sum`, in the controller's
    /// integer arithmetic: whole percentages for a utilisation, milli-units otherwise.
    fn ratio(self, sum: f64, count: usize) -> f64 {
        if self.percent {
            let mean = sum / count as f64;
            (mean * 100.0 + 1e-9).floor() / (self.value * 100.0).round()
        } else {
            (sum * 1000.0).round() / ((self.value * 1000.0).round() * count as f64)
        }
    }
}

/// The controller's replica count for `current` replicas whose pods report `pods`, at
/// `target` with `tolerance` (`calcPlainMetricReplicas`); `fallback` is what a missing pod
/// counts as on a scale-down (100% of the request for a resource metric, the target for
/// the others). `None` when no ready pod has a metric (the controller does not scale).
pub fn replica_count(
    current: u32,
    pods: &[PodMetric],
    target: Target,
    tolerance: f64,
    fallback: f64,
) -> Option<u32> {
    let ready: Vec<f64> = pods
        .iter()
        .filter_map(|p| match p {
            PodMetric::Ready(v) => Some(*v),
            _ => None,
        })
        .collect();
    if ready.is_empty() {
        return None;
    }
    let unready = pods.iter().filter(|p| **p == PodMetric::Unready).count();
    let missing = pods.iter().filter(|p| **p == PodMetric::Missing).count();
    let ratio = target.ratio(ready.iter().sum::<f64>(), ready.len());
    let up_with_unready = unready > 0 && ratio > 1.0;
    if !up_with_unready && missing == 0 {
        if (1.0 - ratio).abs() <= tolerance {
            return Some(current);
        }
        return Some((ratio * ready.len() as f64).ceil() as u32);
    }
    let mut sum: f64 = ready.iter().sum();
    let mut count = ready.len();
    if missing > 0 {
        if ratio < 1.0 {
            sum += fallback * missing as f64;
        }
        // On a scale-up (or at ratio 1) missing pods count as using nothing.
        count += missing;
    }
    if up_with_unready {
        count += unready;
    }
    let new_ratio = target.ratio(sum, count);
    if (1.0 - new_ratio).abs() <= tolerance
        || (ratio < 1.0 && new_ratio > 1.0)
        || (ratio > 1.0 && new_ratio < 1.0)
    {
        return Some(current);
    }
    let n = (new_ratio * count as f64).ceil() as u32;
    if (new_ratio < 1.0 && n > current) || (new_ratio > 1.0 && n < current) {
        return Some(current);
    }
    Some(n)
}

/// One service's controller state: its recommendations and scale events.
#[derive(Debug, Clone, Default)]
struct ServiceState {
    recommendations: VecDeque<(i64, u32)>,
    /// (time, +added or −removed).
    events: VecDeque<(i64, i64)>,
}

/// The HPA over all services of an application.
#[derive(Debug, Clone)]
pub struct Hpa {
    cfg: HpaConfig,
    state: Vec<ServiceState>,
}

impl Hpa {
    /// An HPA for `services` services.
    pub fn new(cfg: HpaConfig, services: usize) -> Hpa {
        Hpa {
            cfg,
            state: vec![ServiceState::default(); services],
        }
    }

    /// The settings.
    pub fn config(&self) -> &HpaConfig {
        &self.cfg
    }

    /// The replicas service `s` goes to at `now_ms` from `current`, given the metric-based
    /// recommendation `desired` (`None`: no metrics), within `[min, max]`; records the
    /// recommendation and the scale event (`normalizeDesiredReplicasWithBehaviors`).
    pub fn normalize(
        &mut self,
        s: usize,
        now_ms: i64,
        current: u32,
        desired: Option<u32>,
        (min, max): (u32, u32),
    ) -> u32 {
        if current == 0 {
            return 0;
        }
        let next = if current > max {
            max
        } else if current < min {
            min
        } else if let Some(desired) = desired {
            let stabilised = self.stabilise(s, now_ms, current, desired);
            self.rate_limit(s, now_ms, current, stabilised, min, max)
        } else {
            current
        };
        if next != current {
            self.state[s]
                .events
                .push_back((now_ms, next as i64 - current as i64));
        }
        next
    }

    fn stabilise(&mut self, s: usize, now: i64, current: u32, desired: u32) -> u32 {
        let up_ms = self.cfg.scale_up.stabilization_s as i64 * 1000;
        let down_ms = self.cfg.scale_down.stabilization_s as i64 * 1000;
        let keep = up_ms.max(down_ms);
        let recs = &mut self.state[s].recommendations;
        while recs.front().is_some_and(|&(t, _)| now - t > keep) {
            recs.pop_front();
        }
        let (mut up, mut down) = (desired, desired);
        for &(t, r) in recs.iter() {
            if now - t < up_ms {
                up = up.min(r);
            }
            if now - t < down_ms {
                down = down.max(r);
            }
        }
        recs.push_back((now, desired));
        let mut rec = current;
        if rec < up {
            rec = up;
        }
        if rec > down {
            rec = down;
        }
        rec
    }

    fn changes_within(&self, s: usize, now: i64, period_ms: i64) -> (i64, i64) {
        self.state[s]
            .events
            .iter()
            .filter(|&&(t, _)| now - t < period_ms)
            .fold((0, 0), |(up, down), &(_, d)| {
                if d > 0 {
                    (up + d, down)
                } else {
                    (up, down - d)
                }
            })
    }

    fn rate_limit(
        &mut self,
        s: usize,
        now: i64,
        current: u32,
        desired: u32,
        min: u32,
        max: u32,
    ) -> u32 {
        let longest = self
            .cfg
            .scale_up
            .policies
            .iter()
            .chain(&self.cfg.scale_down.policies)
            .map(|p| p.period_ms())
            .max()
            .unwrap_or(0);
        let events = &mut self.state[s].events;
        while events.front().is_some_and(|&(t, _)| now - t >= longest) {
            events.pop_front();
        }
        let cur = current as i64;
        if desired > current {
            let limit = self.limit(s, now, cur, true);
            let allowed = (max as i64).min(limit.max(cur));
            (desired as i64).min(allowed).max(0) as u32
        } else if desired < current {
            let limit = self.limit(s, now, cur, false);
            let allowed = (min as i64).max(limit.min(cur));
            (desired as i64).max(allowed).max(0) as u32
        } else {
            desired
        }
    }

    /// The rate limit of one direction from `cur` replicas: every policy's proposal from
    /// the replicas at the start of its period, combined by `selectPolicy` (up: `Max` is the
    /// highest proposal; down: the lowest).
    fn limit(&self, s: usize, now: i64, cur: i64, up: bool) -> i64 {
        let rules = if up {
            &self.cfg.scale_up
        } else {
            &self.cfg.scale_down
        };
        if rules.select == Select::Disabled {
            return cur;
        }
        let proposals = rules.policies.iter().map(|&p| {
            let (added, removed) = self.changes_within(s, now, p.period_ms());
            let start = cur - added + removed;
            match (p, up) {
                (Policy::Pods { value, .. }, true) => start + value as i64,
                (Policy::Pods { value, .. }, false) => start - value as i64,
                (Policy::Percent { value, .. }, true) => {
                    (start as f64 * (1.0 + value as f64 / 100.0)).ceil() as i64
                }
                (Policy::Percent { value, .. }, false) => {
                    (start as f64 * (1.0 - value as f64 / 100.0)) as i64
                }
            }
        });
        // The largest change: up the highest proposal, down the lowest.
        if (rules.select == Select::Max) == up {
            proposals.max()
        } else {
            proposals.min()
        }
        .unwrap_or(cur)
    }

    /// The pods of service `s` as the controller sees them in `obs`, and what a missing pod
    /// counts as on a scale-down.
    fn pods(&self, obs: &Observation, s: usize) -> (Vec<PodMetric>, f64) {
        let ready = obs.ready[s] as usize;
        let (value, fallback) = match self.cfg.metric {
            // 100% of the request (the limit here) or the target when that is higher.
            Metric::Cpu => (obs.value(s, col::CPU_UTIL), self.cfg.target.max(1.0)),
            Metric::Column(c) => (obs.value(s, c) / ready.max(1) as f64, self.cfg.target),
        };
        let pod = if value.is_finite() {
            PodMetric::Ready(value)
        } else {
            PodMetric::Missing
        };
        let mut pods = vec![pod; ready];
        pods.extend(std::iter::repeat_n(
            PodMetric::Unready,
            obs.starting[s] as usize,
        ));
        (pods, fallback)
    }
}

impl Scaler for Hpa {
    fn name(&self) -> String {
        "hpa".into()
    }

    fn decide(&mut self, obs: &Observation) -> Vec<Action> {
        if obs.rows.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for s in 0..obs.len() {
            let current = obs.replicas(s);
            let (pods, fallback) = self.pods(obs, s);
            let target = Target {
                value: self.cfg.target,
                percent: self.cfg.metric == Metric::Cpu,
            };
            let desired = replica_count(current, &pods, target, self.cfg.tolerance, fallback);
            let next = self.normalize(s, obs.time_ms, current, desired, obs.bounds[s]);
            if next != current {
                out.push(Action::replicas(s, next));
            }
        }
        out
    }

    fn period_ms(&self) -> Option<i64> {
        Some(self.cfg.sync_period_ms)
    }

    fn stabilises_itself(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PodMetric::{Missing, Ready, Unready};

    const CPU50: Target = Target {
        value: 0.5,
        percent: true,
    };

    fn ready(n: usize, v: f64) -> Vec<PodMetric> {
        vec![Ready(v); n]
    }

    #[test]
    fn the_ratio_and_the_tolerance() {
        // Kubernetes docs, "Algorithm details": current 200m against a 100m target doubles
        // the replicas; 50m halves them.
        let milli = Target {
            value: 0.1,
            percent: false,
        };
        assert_eq!(replica_count(3, &ready(3, 0.2), milli, 0.1, 0.1), Some(6));
        assert_eq!(replica_count(4, &ready(4, 0.05), milli, 0.1, 0.1), Some(2));
        // The HPA walkthrough: one php-apache pod at 305% of its request against 50% wants
        // ceil(6.1) = 7.
        assert_eq!(replica_count(1, &ready(1, 3.05), CPU50, 0.1, 1.0), Some(7));
        // The v1.33 tolerance example: 50 replicas at 90% against 75% go to 60 (in whole
        // percentages, as the controller computes; 0.9/0.75 in floating point would be 61).
        let cpu75 = Target {
            value: 0.75,
            percent: true,
        };
        assert_eq!(
            replica_count(50, &ready(50, 0.9), cpu75, 0.1, 1.0),
            Some(60)
        );
        // Within the tolerance: 10 pods at 54% against 50% (ratio 1.08) stay.
        assert_eq!(
            replica_count(10, &ready(10, 0.54), CPU50, 0.1, 1.0),
            Some(10)
        );
        // No ready pod with a metric: the controller does not scale.
        assert_eq!(
            replica_count(3, &[Missing, Missing, Unready], CPU50, 0.1, 1.0),
            None
        );
    }

    #[test]
    fn unready_and_missing_pods() {
        // 3 ready at 55% and 1 not ready, target 50%: ratio 1.1 with a pod not ready takes
        // the conservative path; the not-ready pod counts as 0%: 165/4 = 41% < 50%, the
        // direction reverses, nothing changes.
        let pods = [ready(3, 0.55), vec![Unready]].concat();
        assert_eq!(replica_count(4, &pods, CPU50, 0.1, 1.0), Some(4));
        // 3 ready at 90% and 1 not ready: 270/4 = 67% > 50%: ceil(1.34 · 4) = 6.
        let pods = [ready(3, 0.9), vec![Unready]].concat();
        assert_eq!(replica_count(4, &pods, CPU50, 0.1, 1.0), Some(6));
        // 2 ready at 60% and 2 missing: a scale-up, so missing pods count as 0%: 120/4 =
        // 30%, the direction reverses: hold.
        let pods = [ready(2, 0.6), vec![Missing; 2]].concat();
        assert_eq!(replica_count(4, &pods, CPU50, 0.1, 1.0), Some(4));
        // 3 ready at 20% and 1 missing: a scale-down, so the missing pod counts as 100% of
        // its request: 160/4 = 40%, ratio 0.8: ceil(0.8 · 4) = 4, no change.
        let pods = [ready(3, 0.2), vec![Missing]].concat();
        assert_eq!(replica_count(4, &pods, CPU50, 0.1, 1.0), Some(4));
        // Without the missing pod, 4 ready at 20%: ceil(0.4 · 4) = 2.
        assert_eq!(replica_count(4, &ready(4, 0.2), CPU50, 0.1, 1.0), Some(2));
    }

    #[test]
    fn a_behavior_policy_limits_a_scale_up() {
        // Default scale-up: the larger of +100% and +4 pods per 15 s.
        let mut hpa = Hpa::new(HpaConfig::default(), 1);
        assert_eq!(
            hpa.normalize(0, 0, 1, Some(10), (1, 100)),
            5,
            "1 -> max(2, 5)"
        );
        // Within the same 15 s the period started at 1: the limit is still 5.
        assert_eq!(hpa.normalize(0, 10_000, 5, Some(10), (1, 100)), 5);
        // A period later, from 5: max(10, 9) = 10.
        assert_eq!(hpa.normalize(0, 15_000, 5, Some(20), (1, 100)), 10);
        // From 10: max(20, 14) = 20, and the maximum clamps.
        assert_eq!(hpa.normalize(0, 30_000, 10, Some(50), (1, 100)), 20);
        assert_eq!(hpa.normalize(0, 45_000, 20, Some(50), (1, 30)), 30);
    }

    #[test]
    fn the_stabilisation_window_holds_a_scale_down() {
        let mut hpa = Hpa::new(HpaConfig::default(), 1);
        assert_eq!(hpa.normalize(0, 0, 10, Some(10), (1, 100)), 10);
        // The load drops: the recommendation of 10 within the last 300 s holds the count.
        assert_eq!(hpa.normalize(0, 60_000, 10, Some(4), (1, 100)), 10);
        assert_eq!(hpa.normalize(0, 299_000, 10, Some(4), (1, 100)), 10);
        // 300 s after the last recommendation of 10 only 4s remain: down to 4 (100% per
        // 15 s allows it).
        assert_eq!(hpa.normalize(0, 300_000, 10, Some(4), (1, 100)), 4);
    }

    #[test]
    fn the_documented_scale_down_policies() {
        // Kubernetes docs, "Scaling policies": Pods 4 per 60 s and Percent 10 per 60 s,
        // selectPolicy Max, no stabilisation. From 80: max change is 10% (8 pods) -> 72;
        // within the same minute the period still starts at 80 -> 72; a minute later
        // int(72 · 0.9) = 64.
        let cfg = HpaConfig {
            scale_down: Rules {
                stabilization_s: 0,
                policies: vec![
                    Policy::Pods {
                        value: 4,
                        period_s: 60,
                    },
                    Policy::Percent {
                        value: 10,
                        period_s: 60,
                    },
                ],
                select: Select::Max,
            },
            ..HpaConfig::default()
        };
        let mut hpa = Hpa::new(cfg, 1);
        assert_eq!(hpa.normalize(0, 0, 80, Some(10), (1, 100)), 72);
        assert_eq!(hpa.normalize(0, 30_000, 72, Some(10), (1, 100)), 72);
        assert_eq!(hpa.normalize(0, 60_000, 72, Some(10), (1, 100)), 64);
        // Below 40 replicas the 4-pod policy allows more: 30 -> 26.
        let mut hpa = Hpa::new(hpa.config().clone(), 1);
        assert_eq!(hpa.normalize(0, 0, 30, Some(10), (1, 100)), 26);
        // Disabled: no scale-down at all.
        let mut cfg = hpa.config().clone();
        cfg.scale_down.select = Select::Disabled;
        let mut hpa = Hpa::new(cfg, 1);
        assert_eq!(hpa.normalize(0, 0, 30, Some(10), (1, 100)), 30);
    }

    #[test]
    fn a_telemetry_column_as_an_external_metric() {
        use holoscale_sim::spec::Slo;
        // `req_rate` as an AverageValue metric, 10 requests/s per pod: 2 ready pods at 60
        // requests/s in total are 30 per pod, ratio 3: ⌈3 · 2⌉ = 6, which the default
        // scale-up limit max(2 · 2, 2 + 4) = 6 allows.
        let mut row = [f64::NAN; 11];
        row[col::REQ_RATE] = 60.0;
        let obs = Observation {
            time_ms: 0,
            interval_ms: 15_000,
            services: vec!["api".into()],
            operation_names: vec![],
            ready: vec![2],
            starting: vec![0],
            cpu_limit: vec![1.0],
            mem_limit: vec![1e9],
            bounds: vec![(1, 20)],
            rows: vec![row],
            edges: vec![],
            operations: vec![],
            slo: Slo {
                percentile: 95.0,
                latency_ms: 200.0,
            },
        };
        let cfg = HpaConfig {
            metric: Metric::Column(col::REQ_RATE),
            target: 10.0,
            ..HpaConfig::default()
        };
        let mut hpa = Hpa::new(cfg, 1);
        assert_eq!(hpa.decide(&obs), vec![Action::replicas(0, 6)]);
        // The CPU metric is missing in that row: the CPU HPA holds.
        let mut cpu = Hpa::new(HpaConfig::default(), 1);
        assert!(cpu.decide(&obs).is_empty());
    }

    #[test]
    fn bounds_and_zero() {
        let mut hpa = Hpa::new(HpaConfig::default(), 1);
        assert_eq!(
            hpa.normalize(0, 0, 0, Some(5), (1, 10)),
            0,
            "zero replicas: off"
        );
        assert_eq!(
            hpa.normalize(0, 0, 12, Some(12), (1, 10)),
            10,
            "above the maximum"
        );
        assert_eq!(
            hpa.normalize(0, 0, 1, None, (2, 10)),
            2,
            "below the minimum"
        );
        assert_eq!(hpa.normalize(0, 0, 4, None, (1, 10)), 4, "no metrics: hold");
    }
}
