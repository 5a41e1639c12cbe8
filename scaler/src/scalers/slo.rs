//! `slo`: rules on per-service latency thresholds from a static split of the end-to-end SLO
//! (the "SLO" baseline of DeepScaler Table II, rule-based "on SLO decomposition").
//!
//! A service's latency as measured includes the calls it waits for, so the entry service's
//! latency is the end-to-end latency and a leaf's is its own. The split is static and in
//! proportion to what each service's latency was when the scaler started (the first
//! observation with measurements): `S_i = SLO · L_i / L_entry`, with `L_entry` the highest
//! (the entry service's). So every service gets the headroom the application as a whole has
//! against its SLO. Rules on the service's latency at the SLO percentile (`latency_p95_ms`,
//! or `latency_p99_ms` for a percentile above 95), every decision: above `S_i`, scale out
//! by `⌈n · (latency / S_i − 1)⌉`, at least one and at most `n` (doubling, as HPA's default
//! policy allows); below `α · S_i` (α = 0.5) for `k` = 3 decisions in a row, scale in by
//! one; otherwise hold. The split and the rule constants are holoscale's; the paper gives
//! none.

use holoscale_sim::engine::col;

use super::{Scaler, change};
use crate::{Action, Observation};

/// Settings of [`SloRules`].
#[derive(Debug, Clone, PartialEq)]
pub struct SloConfig {
    /// Scale in below this share of the threshold.
    pub low_share: f64,
    /// Decisions in a row below it before scaling in.
    pub low_decisions: u32,
    /// Decision period, ms.
    pub period_ms: i64,
}

impl Default for SloConfig {
    fn default() -> Self {
        SloConfig {
            low_share: 0.5,
            low_decisions: 3,
            period_ms: 30_000,
        }
    }
}

/// Per-service SLO-threshold rules.
#[derive(Debug, Clone)]
pub struct SloRules {
    cfg: SloConfig,
    thresholds: Option<Vec<f64>>,
    low_streak: Vec<u32>,
}

impl SloRules {
    /// Rules for the application `first` shows.
    pub fn new(cfg: SloConfig, first: &Observation) -> SloRules {
        SloRules {
            cfg,
            thresholds: None,
            low_streak: vec![0; first.len()],
        }
    }

    /// The per-service thresholds `SLO · L_i / L_entry`, ms, from the services' latencies in
    /// `obs` at the SLO percentile; `None` while some service has no measurement.
    pub fn thresholds(obs: &Observation) -> Option<Vec<f64>> {
        let column = SloRules::column(obs);
        let latency: Vec<f64> = (0..obs.len()).map(|s| obs.value(s, column)).collect();
        if latency.iter().any(|l| !(l.is_finite() && *l > 0.0)) {
            return None;
        }
        let entry = latency.iter().copied().fold(0.0f64, f64::max);
        Some(
            latency
                .iter()
                .map(|l| obs.slo.latency_ms * l / entry)
                .collect(),
        )
    }

    fn column(obs: &Observation) -> usize {
        if obs.slo.percentile > 95.0 {
            col::P99
        } else {
            col::P95
        }
    }
}

impl Scaler for SloRules {
    fn name(&self) -> String {
        "slo".into()
    }

    fn decide(&mut self, obs: &Observation) -> Vec<Action> {
        if obs.rows.is_empty() {
            return Vec::new();
        }
        if self.thresholds.is_none() {
            self.thresholds = SloRules::thresholds(obs);
        }
        let Some(thresholds) = &self.thresholds else {
            return Vec::new();
        };
        let column = SloRules::column(obs);
        let mut out = Vec::new();
        for (s, &limit) in thresholds.iter().enumerate().take(obs.len()) {
            let latency = obs.value(s, column);
            let n = obs.replicas(s);
            if !latency.is_finite() || n == 0 {
                continue;
            }
            let want = if latency > limit {
                self.low_streak[s] = 0;
                let more = (n as f64 * (latency / limit - 1.0))
                    .ceil()
                    .clamp(1.0, n as f64) as u32;
                n + more
            } else if latency < self.cfg.low_share * limit {
                self.low_streak[s] += 1;
                if self.low_streak[s] >= self.cfg.low_decisions {
                    self.low_streak[s] = 0;
                    n.saturating_sub(1)
                } else {
                    n
                }
            } else {
                self.low_streak[s] = 0;
                n
            };
            out.extend(change(obs, s, want));
        }
        out
    }

    fn period_ms(&self) -> Option<i64> {
        Some(self.cfg.period_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use holoscale_sim::spec::Slo;

    fn obs(p95: [f64; 2], replicas: [u32; 2]) -> Observation {
        let mut rows = vec![[f64::NAN; 11]; 2];
        for (r, l) in rows.iter_mut().zip(p95) {
            r[col::P95] = l;
        }
        Observation {
            time_ms: 0,
            interval_ms: 15_000,
            services: vec!["front".into(), "db".into()],
            operation_names: vec![],
            ready: replicas.to_vec(),
            starting: vec![0, 0],
            cpu_limit: vec![1.0, 1.0],
            mem_limit: vec![1e9, 1e9],
            bounds: vec![(1, 10), (1, 10)],
            rows,
            edges: vec![],
            operations: vec![],
            slo: Slo {
                percentile: 95.0,
                latency_ms: 200.0,
            },
        }
    }

    #[test]
    fn thresholds_split_the_slo_and_the_rules_follow_them() {
        // Latencies 100 and 40 ms at the start: thresholds 200 and 80 ms.
        let start = obs([100.0, 40.0], [2, 2]);
        assert_eq!(SloRules::thresholds(&start), Some(vec![200.0, 80.0]));
        let mut rules = SloRules::new(SloConfig::default(), &start);
        assert!(rules.decide(&start).is_empty(), "within the band");
        // db at 100 ms against 80: +⌈2 · 0.25⌉ = +1.
        let a = rules.decide(&obs([150.0, 100.0], [2, 2]));
        assert_eq!(a, vec![Action::replicas(1, 3)]);
        // Far above: at most doubling.
        let a = rules.decide(&obs([150.0, 800.0], [2, 3]));
        assert_eq!(a, vec![Action::replicas(1, 6)]);
        // Both below half their thresholds for three decisions: one replica fewer each.
        let low = obs([50.0, 30.0], [4, 4]);
        assert!(rules.decide(&low).is_empty());
        assert!(rules.decide(&low).is_empty());
        assert_eq!(
            rules.decide(&low),
            vec![Action::replicas(0, 3), Action::replicas(1, 3)]
        );
        // A missing measurement holds that service.
        assert!(rules.decide(&obs([f64::NAN, 60.0], [4, 4])).is_empty());
    }
}
