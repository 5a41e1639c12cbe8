//! `mmn`: each service sized on its own by an M/M/n model (the "MMN" baseline of DeepScaler
//! Table II, which "independently models and scales" each service with an M/M/n queue).
//!
//! Per service and decision: arrivals `λ` and the per-replica rate `μ` from the observation
//! ([`RateEstimator`]), and the fewest replicas whose mean M/M/n response time is at most
//! the service's share of the end-to-end SLO, and at least enough to keep the utilisation
//! at or below `max_utilisation` (0.8). The share is a static, equal split along the
//! longest call chain: with `L` services on the application's longest chain, each service
//! gets `SLO / L` (holoscale's choice; the paper gives none). The model knows nothing of the
//! call graph beyond that split, of the percentile (it sizes the mean), or of neighbours.

use super::{Scaler, change};
use crate::queueing::{RateEstimator, chain_heights, fewest_meeting};
use crate::{Action, Observation};

/// Settings of [`Mmn`].
#[derive(Debug, Clone, PartialEq)]
pub struct MmnConfig {
    /// Weight of the newest measurement in the CPU-cost-per-request estimate.
    pub smoothing: f64,
    /// Decision period, ms.
    pub period_ms: i64,
    /// Highest utilisation `λ / (n μ)` a sizing may leave (headroom for the load to rise
    /// while new replicas start); holoscale's default, as queueing-based provisioning caps
    /// it.
    pub max_utilisation: f64,
}

impl Default for MmnConfig {
    fn default() -> Self {
        MmnConfig {
            smoothing: 0.3,
            period_ms: 30_000,
            max_utilisation: 0.8,
        }
    }
}

/// M/M/n sizing per service.
#[derive(Debug, Clone)]
pub struct Mmn {
    cfg: MmnConfig,
    rates: RateEstimator,
    /// Per-service mean response-time target, seconds (set from the first observation
    /// with call edges).
    targets: Option<Vec<f64>>,
}

impl Mmn {
    /// An M/M/n scaler for the application `first` shows.
    pub fn new(cfg: MmnConfig, first: &Observation) -> Mmn {
        Mmn {
            rates: RateEstimator::new(first.len(), cfg.smoothing),
            cfg,
            targets: None,
        }
    }

    /// The per-service targets, seconds: `SLO / L`.
    pub fn targets(obs: &Observation) -> Vec<f64> {
        let longest = chain_heights(obs).into_iter().max().unwrap_or(1).max(1);
        vec![obs.slo.latency_ms / 1000.0 / longest as f64; obs.len()]
    }
}

impl Scaler for Mmn {
    fn name(&self) -> String {
        "mmn".into()
    }

    fn decide(&mut self, obs: &Observation) -> Vec<Action> {
        if obs.rows.is_empty() {
            return Vec::new();
        }
        self.rates.update(obs);
        let targets = self.targets.get_or_insert_with(|| Mmn::targets(obs));
        (0..obs.len())
            .filter_map(|s| {
                let (lambda, mu) = (self.rates.lambda(obs, s), self.rates.mu(obs, s));
                if !(lambda.is_finite() && mu.is_finite() && mu > 0.0) {
                    return None;
                }
                let (min, max) = obs.bounds[s];
                let capped = (lambda / (mu * self.cfg.max_utilisation)).ceil().max(1.0) as u32;
                let n = fewest_meeting(lambda, mu, targets[s], min, max).max(capped.min(max));
                change(obs, s, n)
            })
            .collect()
    }

    fn period_ms(&self) -> Option<i64> {
        Some(self.cfg.period_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queueing::mmn_response_s;
    use holoscale_sim::engine::col;
    use holoscale_sim::observe::EdgeRate;
    use holoscale_sim::spec::Slo;

    #[test]
    fn each_service_gets_the_fewest_replicas_meeting_its_share() {
        // Two services in a chain (L = 2), SLO 1 s: each gets 0.5 s. Service 0: 8 req/s at
        // 0.1 CPU-s each on a 0.5-core limit, μ = 5/s: M/M/2 gives 0.556 s, M/M/3 0.239 s.
        // Service 1: 1 req/s at μ = 10/s: one replica (0.111 s), but the utilisation cap
        // of 0.8 needs no more.
        let mut rows = vec![[f64::NAN; 11]; 2];
        rows[0][col::REQ_RATE] = 8.0;
        rows[0][col::CPU_CORES] = 0.8;
        rows[1][col::REQ_RATE] = 1.0;
        rows[1][col::CPU_CORES] = 0.1;
        let obs = Observation {
            time_ms: 0,
            interval_ms: 30_000,
            services: vec!["a".into(), "b".into()],
            operation_names: vec![],
            ready: vec![1, 1],
            starting: vec![0, 0],
            cpu_limit: vec![0.5, 1.0],
            mem_limit: vec![1e9, 1e9],
            bounds: vec![(1, 20), (1, 20)],
            rows,
            edges: vec![EdgeRate {
                caller: 0,
                callee: 1,
                rate: 1.0,
                latency_ms: 10.0,
            }],
            operations: vec![],
            slo: Slo {
                percentile: 95.0,
                latency_ms: 1000.0,
            },
        };
        assert!(mmn_response_s(2, 8.0, 5.0) > 0.5 && mmn_response_s(3, 8.0, 5.0) < 0.5);
        let mut m = Mmn::new(MmnConfig::default(), &obs);
        assert_eq!(Mmn::targets(&obs), vec![0.5, 0.5]);
        assert_eq!(m.decide(&obs), vec![Action::replicas(0, 3)]);
    }
}
