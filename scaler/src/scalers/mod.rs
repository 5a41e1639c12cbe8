//! Autoscalers: the [`Scaler`] trait and the baselines.
//!
//! Every scaler decides from an [`Observation`] alone, so none can read the simulator's
//! oracle. The `oracle` bound of the harness is not a scaler: it is applied by the harness
//! from [`SimEnv::optimal_replicas`](crate::env::SimEnv::optimal_replicas).
//!
//! | name | what it is |
//! |---|---|
//! | `static`, `static:N` | the initial replicas (or N per service), never changed |
//! | `hpa`, `hpa:TARGET` | the Kubernetes HPA on CPU utilisation ([`hpa`]) |
//! | `aws` | AWS Application Auto Scaling target tracking on CPU ([`aws`]) |
//! | `mmn` | per service, the fewest replicas whose M/M/n response time meets its share of the SLO ([`mmn`]) |
//! | `hab` | all services sized together over a Jackson network of M/M/n stations ([`hab`]) |
//! | `slo` | per-service latency thresholds from a static split of the SLO ([`slo`]) |
//! | `deepscaler:MODEL_DIR` | DeepScaler's holistic scaler driven by a trained estimator ([`deepscaler`]) |
//! | `oracle` | the simulator's `optimal_replicas`, applied ahead of time (harness only; unrealisable) |

pub mod aws;
pub mod deepscaler;
pub mod fixed;
pub mod hab;
pub mod hpa;
pub mod mmn;
pub mod slo;

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::{Action, Observation};

/// An autoscaler: every decision period, replica changes from what the cluster shows.
pub trait Scaler: Send {
    /// The scaler's name in tables.
    fn name(&self) -> String;

    /// Replica changes to apply now (services not named keep their replicas).
    fn decide(&mut self, obs: &Observation) -> Vec<Action>;

    /// How often the scaler decides, ms (the harness's default when `None`).
    fn period_ms(&self) -> Option<i64> {
        None
    }

    /// Whether the scaler applies its own scale-down stabilisation (the harness then adds
    /// none).
    fn stabilises_itself(&self) -> bool {
        false
    }

    /// Why the last decision asked for what it did for service `service` (an index of the
    /// observation), for the [`Recommender`](crate::recommend::Recommender)'s reasons;
    /// `None` (the default) when the scaler gives none.
    fn explain(&self, service: usize) -> Option<crate::recommend::Explanation> {
        let _ = service;
        None
    }
}

/// A scaler by name, as the harness and the command line know them.
#[derive(Debug, Clone, PartialEq)]
pub enum ScalerKind {
    /// `static` (the initial replicas) or `static:N`.
    Static(Option<u32>),
    /// `hpa` or `hpa:TARGET` (CPU utilisation target, a share of the limit).
    Hpa(Option<f64>),
    /// `aws`.
    Aws,
    /// `mmn`.
    Mmn,
    /// `hab`.
    Hab,
    /// `slo`.
    Slo,
    /// `deepscaler:MODEL_DIR`.
    DeepScaler(PathBuf),
    /// `oracle`: the unrealisable bound.
    Oracle,
}

/// The names [`ScalerKind::parse`] accepts, for messages.
pub const SCALER_NAMES: &str =
    "static, static:N, hpa, hpa:TARGET, aws, mmn, hab, slo, deepscaler:MODEL_DIR, oracle";

impl ScalerKind {
    /// Parses one scaler name (see [`SCALER_NAMES`]).
    pub fn parse(text: &str) -> Result<ScalerKind> {
        let (head, arg) = match text.split_once(':') {
            Some((h, a)) => (h, Some(a)),
            None => (text, None),
        };
        let bad = |what: &str| {
            Error::param(
                "scaler",
                format!("`{text}`: {what}; choose from {SCALER_NAMES}"),
            )
        };
        Ok(match (head, arg) {
            ("static", None) => ScalerKind::Static(None),
            ("static", Some(n)) => ScalerKind::Static(Some(
                n.parse()
                    .ok()
                    .filter(|&n: &u32| n >= 1)
                    .ok_or_else(|| bad("N must be a whole number of replicas >= 1"))?,
            )),
            ("hpa", None) => ScalerKind::Hpa(None),
            ("hpa", Some(t)) => ScalerKind::Hpa(Some(
                t.parse()
                    .ok()
                    .filter(|&t: &f64| t > 0.0 && t <= 1.0)
                    .ok_or_else(|| bad("TARGET must be a CPU utilisation in (0, 1]"))?,
            )),
            ("aws", None) => ScalerKind::Aws,
            ("mmn", None) => ScalerKind::Mmn,
            ("hab", None) => ScalerKind::Hab,
            ("slo", None) => ScalerKind::Slo,
            ("oracle", None) => ScalerKind::Oracle,
            ("deepscaler", Some(dir)) if !dir.is_empty() => {
                ScalerKind::DeepScaler(PathBuf::from(dir))
            }
            ("deepscaler", _) => return Err(bad("needs a model directory, deepscaler:DIR")),
            _ => return Err(bad("unknown scaler")),
        })
    }

    /// Parses a comma-separated list; duplicates are an error.
    pub fn parse_list(text: &str) -> Result<Vec<ScalerKind>> {
        let mut out: Vec<ScalerKind> = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let k = ScalerKind::parse(part)?;
            if out.contains(&k) {
                return Err(Error::param("scaler", format!("`{part}` is listed twice")));
            }
            out.push(k);
        }
        if out.is_empty() {
            return Err(Error::param(
                "scaler",
                format!("no scaler given; choose from {SCALER_NAMES}"),
            ));
        }
        Ok(out)
    }

    /// The name in tables (`deepscaler` for any model directory).
    pub fn label(&self) -> String {
        match self {
            ScalerKind::Static(None) => "static".into(),
            ScalerKind::Static(Some(n)) => format!("static:{n}"),
            ScalerKind::Hpa(None) => "hpa".into(),
            ScalerKind::Hpa(Some(t)) => format!("hpa:{t}"),
            ScalerKind::Aws => "aws".into(),
            ScalerKind::Mmn => "mmn".into(),
            ScalerKind::Hab => "hab".into(),
            ScalerKind::Slo => "slo".into(),
            ScalerKind::DeepScaler(_) => "deepscaler".into(),
            ScalerKind::Oracle => "oracle".into(),
        }
    }

    /// Whether this is the unrealisable oracle bound.
    pub fn is_oracle(&self) -> bool {
        matches!(self, ScalerKind::Oracle)
    }

    /// Builds the scaler for an episode whose first observation is `first` (the oracle is
    /// not a scaler: an error).
    pub fn build(&self, first: &Observation) -> Result<Box<dyn Scaler>> {
        Ok(match self {
            ScalerKind::Static(n) => Box::new(fixed::Static::new(*n)),
            ScalerKind::Hpa(t) => {
                let mut cfg = hpa::HpaConfig::default();
                if let Some(t) = t {
                    cfg.target = *t;
                }
                Box::new(hpa::Hpa::new(cfg, first.len()))
            }
            ScalerKind::Aws => Box::new(aws::TargetTracking::new(
                aws::TargetTrackingConfig::default(),
                first.len(),
            )),
            ScalerKind::Mmn => Box::new(mmn::Mmn::new(mmn::MmnConfig::default(), first)),
            ScalerKind::Hab => Box::new(hab::Hab::new(hab::HabConfig::default(), first)),
            ScalerKind::Slo => Box::new(slo::SloRules::new(slo::SloConfig::default(), first)),
            ScalerKind::DeepScaler(dir) => Box::new(deepscaler::DeepScaler::load(
                dir,
                deepscaler::DeepScalerConfig::default(),
                first,
            )?),
            ScalerKind::Oracle => {
                return Err(Error::param(
                    "scaler",
                    "the oracle is a bound the harness applies, not a scaler",
                ));
            }
        })
    }
}

/// The replica change for service `s` to `want` (clamped to its bounds), or `None` when it
/// keeps its replicas.
pub(crate) fn change(obs: &Observation, s: usize, want: u32) -> Option<Action> {
    let (min, max) = obs.bounds[s];
    let want = want.clamp(min, max);
    (want != obs.replicas(s)).then(|| Action::replicas(s, want))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_round_trip() {
        let list =
            ScalerKind::parse_list("hpa, aws,mmn,hab,slo,static,static:3,oracle,deepscaler:m")
                .unwrap();
        let labels: Vec<String> = list.iter().map(ScalerKind::label).collect();
        assert_eq!(
            labels,
            [
                "hpa",
                "aws",
                "mmn",
                "hab",
                "slo",
                "static",
                "static:3",
                "oracle",
                "deepscaler"
            ]
        );
        assert_eq!(
            ScalerKind::parse("hpa:0.7").unwrap(),
            ScalerKind::Hpa(Some(0.7))
        );
        for bad in [
            "magic",
            "static:0",
            "hpa:2",
            "deepscaler",
            "deepscaler:",
            "aws:1",
        ] {
            let e = ScalerKind::parse(bad).unwrap_err().to_string();
            assert!(e.contains(bad) && e.contains("choose from"), "{e}");
        }
        assert!(
            ScalerKind::parse_list("hpa,hpa")
                .unwrap_err()
                .to_string()
                .contains("twice")
        );
        assert!(ScalerKind::parse_list(" , ").is_err());
    }
}
