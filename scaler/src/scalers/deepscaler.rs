//! `deepscaler:MODEL_DIR`: DeepScaler's holistic scaler (section IV-D, Algorithm 1).
//!
//! Every decision period (the model's sampling interval), the latest observed row of every
//! service goes into the trained estimator's rolling window (the per-step inference of
//! [`holoscale_estimator::inference::RollingWindow`]); once the window is full, the
//! estimator predicts the replicas of all services for the next `H` steps, rounded by SPEC
//! 3's rule, and the scaler applies the highest prediction over the horizon to every service
//! in one action, clamped to its bounds. Train the model with a horizon that covers the time
//! from a decision to ready replicas (start-up delay plus metrics lag), so the replicas it
//! asks for are the ones needed when they are ready.
//!
//! **Trust threshold** (section IV-D: "whenever the number of prediction errors or SLA
//! violations exceeds the threshold, the scheduler reduces trust in the model and becomes
//! more conservative in recycling resources"; the paper gives no numbers and the authors'
//! code has no such logic, so the rule and its constants are holoscale's): each decision
//! counts as a miss when the observed end-to-end latency of an operation exceeded the SLO,
//! or a service's CPU utilisation was above `saturation` (the previous prediction was too
//! low). With more than `max_misses` misses among the last `trust_window` decisions the
//! scaler distrusts the model until the misses fall back: it scales in by at most
//! `distrust_step` replicas per service and decision, and scales out to at least what the
//! observed CPU utilisation asks for, `⌈n · utilisation / fallback_target⌉` (an HPA-style
//! proportional floor). The floor is what keeps a saturated service from staying
//! saturated: an estimator trained on telemetry of a cluster that was never overloaded
//! has not seen the saturated rows (utilisation pinned at 1, callees starved of requests)
//! and tends to repeat the current replicas there (BENCHMARKS.md, "Scalers").
//!
//! Before the window is full, or when a value in it is missing (a missed scrape), the
//! scaler holds every service.

use std::collections::VecDeque;
use std::path::Path;

use holoscale_estimator::inference::{Estimator, RollingWindow};
use holoscale_sim::engine::col;
use holoscale_sim::observe::OBSERVED_COLUMNS;
use ndarray::Array2;

use super::{Scaler, change};
use crate::error::{Error, Result};
use crate::recommend::Explanation;
use crate::{Action, Observation};

/// Settings of [`DeepScaler`]; the trust constants are holoscale's (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct DeepScalerConfig {
    /// Decisions the trust threshold looks back over.
    pub trust_window: usize,
    /// Misses within the window above which the model is distrusted.
    pub max_misses: usize,
    /// CPU utilisation above which a service counts as under-provisioned.
    pub saturation: f64,
    /// Most replicas a service loses per decision while the model is distrusted.
    pub distrust_step: u32,
    /// CPU utilisation the proportional floor sizes for while the model is distrusted
    /// (`None`: no floor, the trust threshold only slows scale-in).
    pub fallback_target: Option<f64>,
}

impl Default for DeepScalerConfig {
    fn default() -> Self {
        DeepScalerConfig {
            trust_window: 10,
            max_misses: 2,
            saturation: 0.9,
            distrust_step: 1,
            fallback_target: Some(0.6),
        }
    }
}

/// Counts of a DeepScaler run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeepScalerStats {
    /// Decisions made from a prediction.
    pub predicted: usize,
    /// Decisions held while the window filled.
    pub warming: usize,
    /// Decisions held because a value in the window was missing.
    pub missing: usize,
    /// Decisions made while the model was distrusted.
    pub distrusted: usize,
}

/// The estimator-driven holistic scaler.
pub struct DeepScaler {
    cfg: DeepScalerConfig,
    estimator: Estimator,
    window: RollingWindow,
    /// For each model service, its index in the observation.
    services: Vec<usize>,
    /// For each model feature, its column in an observed row.
    features: Vec<usize>,
    interval_ms: i64,
    misses: VecDeque<bool>,
    stats: DeepScalerStats,
    /// Per observation service, why the last decision asked for what it did.
    reasons: Vec<Option<Explanation>>,
}

impl std::fmt::Debug for DeepScaler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeepScaler")
            .field("cfg", &self.cfg)
            .field("interval_ms", &self.interval_ms)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl DeepScaler {
    /// Loads the model in `dir` for the application `first` shows. The model's services
    /// must all be in the observation and its features among the observed columns.
    pub fn load(dir: &Path, cfg: DeepScalerConfig, first: &Observation) -> Result<DeepScaler> {
        let estimator = Estimator::load(dir)?;
        DeepScaler::new(estimator, cfg, first)
    }

    /// The scaler for a loaded estimator.
    pub fn new(
        estimator: Estimator,
        cfg: DeepScalerConfig,
        first: &Observation,
    ) -> Result<DeepScaler> {
        let spec = estimator.input_spec();
        let missing: Vec<&str> = spec
            .services
            .iter()
            .filter(|s| first.service_index(s).is_none())
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(Error::param(
                "scaler",
                format!(
                    "the model's services {} are not in the application (it has {})",
                    missing.join(", "),
                    first.services.join(", ")
                ),
            ));
        }
        let services = spec
            .services
            .iter()
            .map(|s| first.service_index(s).expect("checked above"))
            .collect();
        let features = spec
            .features
            .iter()
            .map(|f| {
                OBSERVED_COLUMNS.iter().position(|c| c == f).ok_or_else(|| {
                    Error::param(
                        "scaler",
                        format!(
                            "the model's input feature `{f}` is not observable by a scaler (observed: {})",
                            OBSERVED_COLUMNS.join(", ")
                        ),
                    )
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if !(cfg.trust_window >= 1
            && cfg.saturation > 0.0
            && cfg.fallback_target.is_none_or(|t| t > 0.0 && t <= 1.0))
        {
            return Err(Error::param(
                "trust_window",
                "needs a window of at least one decision, a positive saturation and a fallback target in (0, 1]",
            ));
        }
        Ok(DeepScaler {
            window: estimator.rolling_window(),
            interval_ms: spec.interval_ms,
            estimator,
            services,
            features,
            misses: VecDeque::new(),
            stats: DeepScalerStats::default(),
            reasons: vec![None; first.len()],
            cfg,
        })
    }

    /// Counts so far.
    pub fn stats(&self) -> DeepScalerStats {
        self.stats
    }

    /// Whether the model is distrusted now.
    pub fn distrusted(&self) -> bool {
        self.misses.iter().filter(|&&m| m).count() > self.cfg.max_misses
    }

    /// Every model service held with `detail`.
    fn hold_all(&mut self, detail: &str) {
        for &s in &self.services {
            if let Some(r) = self.reasons.get_mut(s) {
                *r = Some(Explanation {
                    predicted: None,
                    wanted: None,
                    detail: detail.to_string(),
                });
            }
        }
    }

    fn record_miss(&mut self, obs: &Observation) {
        let violated = obs
            .operations
            .iter()
            .any(|o| o.rate > 0.0 && o.slo_percentile_ms > obs.slo.latency_ms);
        let saturated = (0..obs.len()).any(|s| obs.value(s, col::CPU_UTIL) > self.cfg.saturation);
        self.misses.push_back(violated || saturated);
        while self.misses.len() > self.cfg.trust_window {
            self.misses.pop_front();
        }
    }
}

impl Scaler for DeepScaler {
    fn name(&self) -> String {
        "deepscaler".into()
    }

    fn decide(&mut self, obs: &Observation) -> Vec<Action> {
        self.reasons = vec![None; obs.len()];
        if obs.rows.is_empty() {
            self.hold_all("holding: no measured interval yet");
            return Vec::new();
        }
        self.record_miss(obs);
        let row = Array2::from_shape_fn((self.services.len(), self.features.len()), |(n, f)| {
            obs.value(self.services[n], self.features[f])
        });
        if self.window.push(obs.time_ms, row.view()).is_err() {
            // Off the model's grid (a decision period that is not the model's interval):
            // start the window again from this row.
            self.window = self.estimator.rolling_window();
            let _ = self.window.push(obs.time_ms, row.view());
        }
        if !self.window.is_full() {
            self.stats.warming += 1;
            let detail = format!(
                "holding: the model's window holds {} of the {} steps it needs",
                self.window.len(),
                self.estimator.input_spec().window
            );
            self.hold_all(&detail);
            return Vec::new();
        }
        let forecast = match self.estimator.predict_rolling(&self.window) {
            Ok(f) => f,
            Err(e) => {
                self.stats.missing += 1;
                self.hold_all(&format!("holding: {e}"));
                return Vec::new();
            }
        };
        self.stats.predicted += 1;
        let distrusted = self.distrusted();
        self.stats.distrusted += usize::from(distrusted);
        let horizon = forecast.replicas.len();
        let mut out = Vec::new();
        for (n, &s) in self.services.iter().enumerate() {
            let predicted = forecast.replicas.iter().map(|r| r[n]).max().unwrap_or(0);
            // The raw value behind the largest rounded step (NaN when any step is NaN).
            let raw = forecast
                .values
                .iter()
                .map(|v| v[n])
                .fold(f64::NEG_INFINITY, |a, b| {
                    if a.is_nan() || b.is_nan() {
                        f64::NAN
                    } else {
                        a.max(b)
                    }
                });
            let current = obs.replicas(s);
            let mut want = predicted;
            let mut detail = format!(
                "predicted {raw:.3} replicas (the largest over {horizon} step(s)), rounded to {predicted}"
            );
            if distrusted {
                if want < current {
                    want = want.max(current.saturating_sub(self.cfg.distrust_step));
                    detail.push_str(&format!(
                        "; model distrusted: scale-in limited to {} replica(s) per decision",
                        self.cfg.distrust_step
                    ));
                }
                let util = obs.value(s, col::CPU_UTIL);
                if let Some(target) = self.cfg.fallback_target
                    && util.is_finite()
                {
                    let floor = (obs.ready[s].max(1) as f64 * util / target).ceil() as u32;
                    if floor > want {
                        detail.push_str(&format!(
                            "; model distrusted: raised to the CPU floor ceil({} x {util:.3} / {target}) = {floor}",
                            obs.ready[s].max(1)
                        ));
                    }
                    want = want.max(floor);
                }
            }
            self.reasons[s] = Some(Explanation {
                predicted: Some(raw),
                wanted: Some(want),
                detail,
            });
            out.extend(change(obs, s, want));
        }
        out
    }

    fn explain(&self, service: usize) -> Option<Explanation> {
        self.reasons.get(service).cloned().flatten()
    }

    fn period_ms(&self) -> Option<i64> {
        Some(self.interval_ms)
    }
}
