//! Data-collection policies: what drives the replicas while telemetry is generated.
//!
//! - `static`: the initial replicas, never changed;
//! - `hpa`: the Kubernetes Horizontal Pod Autoscaler on CPU utilisation (SPEC 7): desired =
//!   ⌈ready × utilisation / target⌉, skipped within a 10% tolerance, with the readiness
//!   correction (starting pods count as idle when scaling up), the default rate limits
//!   (scale up by at most max(100%, 4 pods), down by at most 100% per decision), the
//!   300-second scale-down stabilisation window (the highest recommendation in the window
//!   wins) and no scale-up stabilisation, clamped to min and max; a missing metric holds;
//! - `random`: a random walk of each service's replicas by up to ±2 per decision;
//! - `oracle-noise`: the simulator's `optimal_replicas` plus Gaussian noise (σ = 1 replica).
//!
//! Policies decide once per interval from the [`Observation`] alone ([`Policy`]). The one
//! policy that needs the answer, `oracle-noise`, is an [`OraclePolicy`]: it is handed the
//! simulator's `optimal_replicas` explicitly, by name, and can never pass for a scaler.
//! [`Collector`] holds either kind for [`crate::simulate`].

use std::collections::VecDeque;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::engine::{Action, Simulator, col};
use crate::error::{Error, Result};
use crate::observe::Observation;
use crate::stats::standard_normal;

/// Names of the policies, for the command line.
pub const POLICIES: [&str; 4] = ["static", "hpa", "random", "oracle-noise"];

/// A policy that decides from what a cluster shows.
pub trait Policy {
    /// Replica (and limit) changes to apply before the next interval.
    fn decide(&mut self, obs: &Observation) -> Vec<Action>;
}

/// A data-collection policy that is given the oracle: the `optimal_replicas` of every
/// service for the interval that starts now. For generating labelled data only; a scaler
/// under test implements [`Policy`].
pub trait OraclePolicy {
    /// Changes to apply before the next interval, knowing the optimum `optimal`.
    fn decide(&mut self, obs: &Observation, optimal: &[u32]) -> Vec<Action>;
}

/// What drives a simulation run: a [`Policy`] or an [`OraclePolicy`].
pub enum Collector {
    /// Decides from the observation alone.
    Observing(Box<dyn Policy + Send>),
    /// Is given the oracle's `optimal_replicas` as well.
    WithOracle(Box<dyn OraclePolicy + Send>),
}

impl std::fmt::Debug for Collector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Collector::Observing(_) => "Collector::Observing(..)",
            Collector::WithOracle(_) => "Collector::WithOracle(..)",
        })
    }
}

impl<P: Policy + Send + 'static> From<P> for Collector {
    fn from(policy: P) -> Collector {
        Collector::Observing(Box::new(policy))
    }
}

impl Collector {
    /// The decision before the next interval of `sim`.
    pub fn decide(&mut self, sim: &Simulator) -> Vec<Action> {
        match self {
            Collector::Observing(p) => p.decide(sim.observe()),
            Collector::WithOracle(p) => p.decide(sim.observe(), &sim.optimal_replicas()),
        }
    }

    /// Whether the policy is given the oracle.
    pub fn sees_oracle(&self) -> bool {
        matches!(self, Collector::WithOracle(_))
    }
}

/// Settings of the HPA policy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HpaConfig {
    /// Target CPU utilisation (of the CPU limit).
    pub target: f64,
    /// Tolerance around ratio 1 within which nothing changes.
    pub tolerance: f64,
    /// Scale-down stabilisation window, seconds.
    pub down_window_s: f64,
}

impl Default for HpaConfig {
    fn default() -> Self {
        HpaConfig {
            target: 0.6,
            tolerance: 0.1,
            down_window_s: 300.0,
        }
    }
}

/// Builds a policy by name (see [`POLICIES`]) for `services` services; an unknown name is
/// an error listing the valid ones.
pub fn by_name(name: &str, services: usize, seed: u64) -> Result<Collector> {
    Ok(match name {
        "static" => Static.into(),
        "hpa" => Hpa::new(HpaConfig::default(), services).into(),
        "random" => RandomWalk {
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x7a1d),
            max_step: 2,
        }
        .into(),
        "oracle-noise" => Collector::WithOracle(Box::new(OracleNoise::new(1.0, seed ^ 0x0ac1e))),
        other => {
            return Err(Error::param(
                "policy",
                format!(
                    "unknown policy `{other}`; choose one of {}",
                    POLICIES.join(", ")
                ),
            ));
        }
    })
}

/// Never changes anything.
#[derive(Debug, Clone, Copy)]
pub struct Static;

impl Policy for Static {
    fn decide(&mut self, _obs: &Observation) -> Vec<Action> {
        Vec::new()
    }
}

/// The Kubernetes HPA on CPU utilisation.
#[derive(Debug, Clone)]
pub struct Hpa {
    cfg: HpaConfig,
    history: Vec<VecDeque<(i64, u32)>>,
}

impl Hpa {
    /// An HPA for `services` services.
    pub fn new(cfg: HpaConfig, services: usize) -> Hpa {
        Hpa {
            cfg,
            history: vec![VecDeque::new(); services],
        }
    }

    /// One service's recommendation before stabilisation, as the controller computes it.
    pub fn recommend(&self, ready: u32, starting: u32, util: f64) -> u32 {
        let current = ready + starting;
        if !util.is_finite() || ready == 0 {
            return current;
        }
        let ratio = util / self.cfg.target;
        if (ratio - 1.0).abs() <= self.cfg.tolerance {
            return current;
        }
        let mut desired = (ready as f64 * ratio).ceil() as u32;
        if ratio > 1.0 && starting > 0 {
            // Readiness correction: pods not yet ready count as using nothing.
            let r2 = util * ready as f64 / (self.cfg.target * current as f64);
            if (r2 - 1.0).abs() <= self.cfg.tolerance || r2 < 1.0 {
                return current;
            }
            desired = (current as f64 * r2).ceil() as u32;
        }
        // Default rate limits: up by at most max(100%, 4 pods); down by at most 100%.
        desired.min((2 * current).max(current + 4))
    }
}

impl Policy for Hpa {
    fn decide(&mut self, obs: &Observation) -> Vec<Action> {
        // Before the first interval there is no metric: every service holds (and no
        // recommendation enters the stabilisation window).
        if obs.rows.is_empty() {
            return Vec::new();
        }
        let now = obs.time_ms;
        let mut out = Vec::new();
        for s in 0..obs.len() {
            let (ready, starting) = (obs.ready[s], obs.starting[s]);
            let (min, max) = obs.bounds[s];
            let util = obs.value(s, col::CPU_UTIL);
            let rec = self.recommend(ready, starting, util).clamp(min, max);
            let h = &mut self.history[s];
            h.push_back((now, rec));
            while h
                .front()
                .is_some_and(|&(t, _)| (now - t) as f64 > self.cfg.down_window_s * 1000.0)
            {
                h.pop_front();
            }
            let current = ready + starting;
            let desired = if rec < current {
                // Scale down only as far as the highest recommendation of the window allows.
                h.iter().map(|&(_, r)| r).max().unwrap_or(rec).min(current)
            } else {
                rec
            };
            if desired != current {
                out.push(Action::replicas(s, desired));
            }
        }
        out
    }
}

/// Random walk of replicas.
#[derive(Debug, Clone)]
pub struct RandomWalk {
    rng: ChaCha8Rng,
    max_step: u32,
}

impl Policy for RandomWalk {
    fn decide(&mut self, obs: &Observation) -> Vec<Action> {
        let m = self.max_step as i64;
        (0..obs.len())
            .map(|s| {
                let step = self.rng.random_range(-m..=m);
                let current = obs.replicas(s) as i64;
                Action::replicas(s, (current + step).max(0) as u32)
            })
            .collect()
    }
}

/// The simulator's optimum with Gaussian noise.
#[derive(Debug, Clone)]
pub struct OracleNoise {
    rng: ChaCha8Rng,
    sd: f64,
}

impl OracleNoise {
    /// An oracle with noise of standard deviation `sd` replicas (0: the exact optimum).
    pub fn new(sd: f64, seed: u64) -> OracleNoise {
        OracleNoise {
            rng: ChaCha8Rng::seed_from_u64(seed),
            sd,
        }
    }
}

impl OraclePolicy for OracleNoise {
    fn decide(&mut self, _obs: &Observation, optimal: &[u32]) -> Vec<Action> {
        optimal
            .iter()
            .enumerate()
            .map(|(s, &r)| {
                let noise = if self.sd > 0.0 {
                    (self.sd * standard_normal(&mut self.rng)).round()
                } else {
                    0.0
                };
                Action::replicas(s, (r as f64 + noise).max(0.0) as u32)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hpa_recommendation_follows_the_controller() {
        let hpa = Hpa::new(HpaConfig::default(), 1);
        // 3 pods at 90% of a 60% target: ratio 1.5 → ⌈4.5⌉ = 5.
        assert_eq!(hpa.recommend(3, 0, 0.9), 5);
        // Within the 10% tolerance: unchanged.
        assert_eq!(hpa.recommend(3, 0, 0.64), 3);
        // Scale down: 4 pods at 15% → ⌈1⌉ = 1.
        assert_eq!(hpa.recommend(4, 0, 0.15), 1);
        // Rate limit: 2 pods at 600% → at most max(4, 2+4) = 6.
        assert_eq!(hpa.recommend(2, 0, 6.0), 6);
        // Readiness: 2 ready at 90% and 2 starting: 0.9·2/(0.6·4) = 0.75 < 1 → hold.
        assert_eq!(hpa.recommend(2, 2, 0.9), 4);
        // Missing metric: hold.
        assert_eq!(hpa.recommend(3, 0, f64::NAN), 3);
    }

    #[test]
    fn unknown_policy_lists_the_valid_names() {
        let err = by_name("magic", 3, 1).unwrap_err().to_string();
        assert!(
            err.contains("`policy`") && err.contains("`magic`") && err.contains("oracle-noise"),
            "{err}"
        );
    }
}
