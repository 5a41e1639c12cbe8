//! Latency-load profiles as the simulator evaluates them: a service's own latency (without
//! the calls it makes) as a function of its arrival rate, ready replicas and CPU limit.
//!
//! The same curves serve the simulator, the `optimal_replicas` label and anything that has
//! to reason about per-service latency targets (the partial-SLO optimiser of SPEC 5).
//!
//! - **Two-piece linear** (Erms' fits, [`Profile::TwoPiece`]): at a per-replica load `w`
//!   (requests/s per replica, in units of the spec's replica size), `base + slope·w` up to
//!   the knee and `steep_slope` per request/s beyond it; `w` is capped at the replica's
//!   capacity. The latency has a coefficient of variation `cv` (variance `(cv·L)²`).
//! - **M/M/c** ([`Profile::Mmc`]): the sojourn time of an M/M/c queue with `c` ready
//!   replicas, each serving `μ = capacity · cpu_limit / spec_cpu_limit` requests/s, with the
//!   Erlang C wait; at or beyond saturation, one service time.
//!
//! A larger CPU limit than the spec's scales a replica's capacity (and, for two-piece
//! profiles, divides the per-replica load) in proportion; `share` is the part of that
//! capacity a replica keeps next to busy co-located neighbours (1 without interference).

use crate::spec::{Profile, ServiceSpec};
use crate::stats::mmc_sojourn;

/// The latency model of one service: its profile and the constants it is evaluated with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencyModel {
    /// The latency-load profile.
    pub profile: Profile,
    /// Requests/s one replica serves at the spec's CPU limit.
    pub capacity_rps: f64,
    /// The spec's CPU limit per replica, cores: the replica size the profile was measured at.
    pub spec_cpu_limit: f64,
    /// Coefficient of variation of a two-piece profile's latency.
    pub cv: f64,
    /// Requests waiting longer than this fail, s; also the latency of a service without ready
    /// replicas.
    pub timeout_s: f64,
}

impl LatencyModel {
    /// The model of a service spec (its effective profile: the given one or the default
    /// two-piece profile).
    pub fn of(spec: &ServiceSpec) -> LatencyModel {
        LatencyModel {
            profile: spec.effective_profile(),
            capacity_rps: spec.capacity_rps(),
            spec_cpu_limit: spec.cpu_limit,
            cv: spec.latency_cv,
            timeout_s: spec.timeout_s,
        }
    }

    /// Mean and variance (s, s²) of the own latency at arrival rate `lambda` (requests/s)
    /// with `ready` replicas at CPU limit `cpu_limit` (cores), keeping `share` of their
    /// capacity, plus a queueing wait `wait` (s) added to the mean (and its square to the
    /// variance). Without ready replicas: the timeout, with no variance.
    pub fn own_latency(
        &self,
        lambda: f64,
        ready: u32,
        cpu_limit: f64,
        share: f64,
        wait: f64,
    ) -> (f64, f64) {
        if ready == 0 {
            return (self.timeout_s, 0.0);
        }
        let scale = cpu_limit / self.spec_cpu_limit * share;
        let (m, v) = match self.profile {
            Profile::TwoPiece {
                base_ms,
                slope_ms,
                knee_rps,
                steep_slope_ms,
            } => {
                // Load per replica, in units of the spec's replica size.
                let w = (lambda / (ready as f64 * scale)).min(self.capacity_rps);
                let ms = if w <= knee_rps {
                    base_ms + slope_ms * w
                } else {
                    base_ms + slope_ms * knee_rps + steep_slope_ms * (w - knee_rps)
                };
                let l = ms * 1e-3;
                let sd = self.cv * l;
                (l, sd * sd)
            }
            Profile::Mmc => {
                let mu = self.capacity_rps * scale;
                mmc_sojourn(lambda, mu, ready).unwrap_or((1.0 / mu, 1.0 / (mu * mu)))
            }
        };
        (m + wait, v + wait * wait)
    }

    /// The mean own latency in milliseconds at `lambda` requests/s on `ready` replicas of the
    /// spec's size, without interference or backlog: the curve a profile plot shows.
    pub fn latency_ms(&self, lambda: f64, ready: u32) -> f64 {
        1000.0
            * self
                .own_latency(lambda, ready, self.spec_cpu_limit, 1.0, 0.0)
                .0
    }

    /// The default own-latency target of the `optimal_replicas` label, ms: the latency at
    /// the knee of a two-piece profile; for M/M/c, the service time inflated by
    /// `1 / (1 − util_target)` (at least a 5% margin).
    pub fn default_target_ms(&self, util_target: f64) -> f64 {
        match self.profile {
            Profile::TwoPiece {
                base_ms,
                slope_ms,
                knee_rps,
                ..
            } => base_ms + slope_ms * knee_rps,
            Profile::Mmc => 1000.0 / self.capacity_rps / (1.0 - util_target).max(0.05),
        }
    }
}
