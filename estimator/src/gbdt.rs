//! Gradient-boosted trees: the strong non-neural baseline (issue 19; not in the papers).
//!
//! Each row is one service at the end of one window; its columns are the service (as a
//! categorical) and, for every input feature of the window, the last value, a few lagged
//! values, the mean of the most recent steps and of the whole window, the least-squares slope
//! over the window and the window's standard deviation. One ensemble per horizon step is
//! trained on the training windows with the L1 objective (the estimator's loss), stopping
//! early on the validation windows; all services share it, so the trees learn per-service
//! thresholds by splitting on the service column. The trees see exactly the normalised
//! inputs the estimator sees and nothing else (no target history unless the target is one of
//! the input features). When the target is one of the inputs, the trees learn the change
//! from its last value ([`GbdtConfig::relative`]): trees cannot extrapolate beyond the levels
//! of the training range, and a level drift (a busier test day) would otherwise cost them
//! what persistence gets for free.
//!
//! The booster is [hessboost](https://crates.io/crates/hessboost) (pure Rust, XGBoost's
//! histogram algorithm, the same model for a seed on any thread count).
//!
//! ```
//! use holoscale_estimator::gbdt::{GbdtConfig, feature_names};
//! let cfg = GbdtConfig::default();
//! let names = feature_names(&["req_rate".to_string()], 24, &cfg);
//! assert_eq!(names[0], "service");
//! assert_eq!(names[1], "req_rate:last");
//! ```

use std::num::NonZeroUsize;
use std::ops::ControlFlow;
use std::path::Path;

use hessboost::config::LeafEstimation;
use hessboost::data::FeatureType;
use hessboost::prelude::*;
use ndarray::Array3;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use holoscale_datasets::tensor::{Split, Windowed};

/// Settings of the trees baseline. The defaults are ours (the papers have no trees); they
/// follow common practice for gradient boosting on a few hundred thousand rows and match the
/// LightGBM settings of `benches/label_ceiling.py` where the two libraries share a knob.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GbdtConfig {
    /// Most boosting rounds per horizon step.
    pub rounds: usize,
    /// Learning rate (shrinkage) of every tree.
    pub learning_rate: f64,
    /// Deepest tree.
    pub max_depth: usize,
    /// Smallest hessian sum of a leaf.
    pub min_child_weight: f64,
    /// Rounds without improvement of the validation MAE before stopping.
    pub early_stopping: usize,
    /// Lags (steps before the last one) whose values become columns; lags beyond the window
    /// are dropped.
    pub lags: Vec<usize>,
    /// Steps of the "recent mean" column.
    pub recent: usize,
    /// Seed of the row subsampling (`evaluate` sets the model's training seed).
    pub seed: u64,
    /// Row subsample ratio per tree.
    pub subsample: f64,
    /// When the target is one of the input features, learn the change from its last value
    /// in the window instead of its level.
    pub relative: bool,
}

impl Default for GbdtConfig {
    fn default() -> Self {
        GbdtConfig {
            rounds: 1000,
            learning_rate: 0.05,
            max_depth: 6,
            min_child_weight: 1.0,
            early_stopping: 50,
            lags: vec![1, 2, 3, 6, 12],
            recent: 6,
            seed: 7,
            subsample: 0.8,
            relative: true,
        }
    }
}

impl GbdtConfig {
    /// Refuses settings no booster can use, naming the field.
    pub fn check(&self) -> Result<()> {
        let bad = |name: &str, message: &str| Err(Error::param(name, message));
        if self.rounds == 0 {
            return bad("gbdt.rounds", "must be at least 1");
        }
        if !(self.learning_rate > 0.0 && self.learning_rate <= 1.0) {
            return bad("gbdt.learning_rate", "must be in (0, 1]");
        }
        if self.max_depth == 0 || self.max_depth > 16 {
            return bad("gbdt.max_depth", "must be between 1 and 16");
        }
        if !(self.min_child_weight >= 0.0 && self.min_child_weight.is_finite()) {
            return bad("gbdt.min_child_weight", "must be finite and non-negative");
        }
        if self.early_stopping == 0 {
            return bad("gbdt.early_stopping", "must be at least 1");
        }
        if self.recent == 0 {
            return bad("gbdt.recent", "must be at least 1");
        }
        if self.lags.contains(&0) {
            return bad(
                "gbdt.lags",
                "lags count steps before the last one and start at 1",
            );
        }
        if !(self.subsample > 0.0 && self.subsample <= 1.0) {
            return bad("gbdt.subsample", "must be in (0, 1]");
        }
        Ok(())
    }

    fn lags_within(&self, window: usize) -> Vec<usize> {
        let mut lags: Vec<usize> = self.lags.iter().copied().filter(|&l| l < window).collect();
        lags.sort_unstable();
        lags.dedup();
        lags
    }
}

/// Column names of the design matrix, in order: `service`, then per feature `F:last`,
/// `F:lag{l}-last`, `F:mean{recent}-last`, `F:mean-last`, `F:slope`, `F:std`. Lags and means
/// are differences from the last value: a tree splits on one column at a time, so "the
/// recent mean is below the last value" must be one column to be learnt in one split.
pub fn feature_names(features: &[String], window: usize, cfg: &GbdtConfig) -> Vec<String> {
    let mut names = vec!["service".to_string()];
    for f in features {
        names.push(format!("{f}:last"));
        for l in cfg.lags_within(window) {
            names.push(format!("{f}:lag{l}-last"));
        }
        names.push(format!("{f}:mean{}-last", cfg.recent.min(window)));
        names.push(format!("{f}:mean-last"));
        names.push(format!("{f}:slope"));
        names.push(format!("{f}:std"));
    }
    names
}

/// The design matrix of the windows at `starts`: one row per (window, service), window-major,
/// row-major `f32`, columns as [`feature_names`]. Returns the values and the column count.
pub fn design_matrix(data: &Windowed, starts: &[usize], cfg: &GbdtConfig) -> (Vec<f32>, usize) {
    let tau = data.spec.input;
    let (n, f) = (data.services.len(), data.features.len());
    let lags = cfg.lags_within(tau);
    let recent = cfg.recent.min(tau);
    let cols = 1 + f * (lags.len() + 5);
    // Least-squares slope weights over t = 0..tau: (t - mean t) / Σ (t - mean t)².
    let tm = (tau as f64 - 1.0) / 2.0;
    let denom: f64 = (0..tau).map(|t| (t as f64 - tm).powi(2)).sum();
    let weights: Vec<f64> = (0..tau)
        .map(|t| {
            if denom > 0.0 {
                (t as f64 - tm) / denom
            } else {
                0.0
            }
        })
        .collect();
    let mut out = Vec::with_capacity(starts.len() * n * cols);
    let mut series = vec![0f64; tau];
    for &start in starts {
        for s in 0..n {
            out.push(s as f32);
            for c in 0..f {
                for (t, v) in series.iter_mut().enumerate() {
                    *v = data.inputs[[start + t, s, c]] as f64;
                }
                let last = series[tau - 1];
                out.push(last as f32);
                for &l in &lags {
                    out.push((series[tau - 1 - l] - last) as f32);
                }
                let recent_mean = series[tau - recent..].iter().sum::<f64>() / recent as f64;
                let mean = series.iter().sum::<f64>() / tau as f64;
                let slope: f64 = series.iter().zip(&weights).map(|(v, w)| v * w).sum();
                let var = series.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / tau as f64;
                out.push((recent_mean - last) as f32);
                out.push((mean - last) as f32);
                out.push(slope as f32);
                out.push(var.sqrt() as f32);
            }
        }
    }
    (out, cols)
}

/// The input feature the trees' labels are relative to: the target itself, when it is one of
/// the inputs and `relative` is on.
fn base_feature(data: &Windowed, cfg: &GbdtConfig) -> Option<usize> {
    cfg.relative
        .then(|| data.features.iter().position(|f| f == &data.target_name))
        .flatten()
}

/// The target's normalised last value in the window (in target units of the normaliser), per
/// (window, service) row, or zeros without a base feature.
fn bases(data: &Windowed, starts: &[usize], base: Option<usize>) -> Vec<f32> {
    let (tau, n) = (data.spec.input, data.services.len());
    let mut out = Vec::with_capacity(starts.len() * n);
    for &start in starts {
        for s in 0..n {
            // The target and its input column share one normaliser entry, so the input's
            // normalised value is the target's.
            out.push(base.map_or(0.0, |_| data.target[[start + tau - 1, s]]));
        }
    }
    out
}

/// The normalised target `k` steps after the window at each of `starts`, less `base`, one
/// per (window, service) row of [`design_matrix`].
fn labels(data: &Windowed, starts: &[usize], k: usize, base: &[f32]) -> Vec<f32> {
    let (tau, n) = (data.spec.input, data.services.len());
    let mut y = Vec::with_capacity(starts.len() * n);
    for &start in starts {
        for s in 0..n {
            y.push(data.target[[start + tau + k, s]]);
        }
    }
    for (v, b) in y.iter_mut().zip(base) {
        *v -= b;
    }
    y
}

/// The rows of a design matrix whose label is finite.
fn finite_rows(x: &[f32], y: &[f32], cols: usize) -> (Vec<f32>, Vec<f32>) {
    let mut xs = Vec::with_capacity(x.len());
    let mut ys = Vec::with_capacity(y.len());
    for (row, &label) in x.chunks_exact(cols).zip(y) {
        if label.is_finite() {
            xs.extend_from_slice(row);
            ys.push(label);
        }
    }
    (xs, ys)
}

fn booster_err(what: &str) -> impl FnOnce(HessboostError) -> Error + '_ {
    move |e| Error::Gbdt {
        message: format!("{what}: {e}"),
    }
}

fn matrix(x: &[f32], cols: usize, labels: Option<&[f32]>) -> Result<DMatrix> {
    let rows = x.len() / cols;
    let mut types = vec![FeatureType::Numerical; cols];
    types[0] = FeatureType::Categorical;
    let m = DMatrix::from_dense(x, rows, cols)
        .and_then(|m| m.with_feature_types(&types))
        .map_err(booster_err("building the design matrix"))?;
    match labels {
        Some(y) => m.with_labels(y).map_err(booster_err("setting the labels")),
        None => Ok(m),
    }
}

/// One trained ensemble per horizon step.
#[derive(Debug, Clone)]
pub struct GbdtForecaster {
    /// The settings it was trained with.
    pub config: GbdtConfig,
    /// Window length τ the columns were built for.
    pub window: usize,
    /// Input features, in the column order.
    pub features: Vec<String>,
    /// Services, in the order of the service column.
    pub services: Vec<String>,
    /// The ensembles, horizon step 1 first.
    pub models: Vec<BoostedModel>,
}

/// Progress of [`GbdtForecaster::fit`]: the horizon step (from 1), the steps in all, and the
/// boosting round just finished (from 1) out of the most rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GbdtProgress {
    /// Horizon step being trained, from 1.
    pub step: usize,
    /// Horizon steps in all.
    pub steps: usize,
    /// Rounds finished for this step.
    pub round: usize,
    /// Most rounds per step.
    pub rounds: usize,
}

impl GbdtForecaster {
    /// Trains one ensemble per horizon step on the training windows of `data`, stopping
    /// early on its validation windows (or running every round when there are none).
    /// `threads` 0 uses the global Rayon pool.
    pub fn fit(
        data: &Windowed,
        cfg: &GbdtConfig,
        threads: usize,
        progress: &mut (dyn FnMut(GbdtProgress) + Send),
    ) -> Result<GbdtForecaster> {
        cfg.check()?;
        let train_starts = data.starts(Split::Train);
        if train_starts.is_empty() {
            return Err(Error::param(
                "split",
                "the training range holds no complete window",
            ));
        }
        let valid_starts = data.starts(Split::Validation);
        let base = base_feature(data, cfg);
        let (b_train, b_valid) = (
            bases(data, train_starts, base),
            bases(data, valid_starts, base),
        );
        let (x_train, cols) = design_matrix(data, train_starts, cfg);
        let (x_valid, _) = design_matrix(data, valid_starts, cfg);
        let mut params = TrainingParams::builder()
            .objective(Objective::AbsoluteError)
            .tree_method(TreeMethod::Hist)
            .leaf_estimation(LeafEstimation::Exact)
            .max_depth(cfg.max_depth)
            .eta(cfg.learning_rate)
            .min_child_weight(cfg.min_child_weight)
            .subsample(cfg.subsample)
            .seed(cfg.seed);
        params = if threads > 0 {
            params.nthread(threads)
        } else {
            params.global_pool()
        };
        let params = params
            .build()
            .map_err(booster_err("the booster settings"))?;
        let steps = data.spec.horizon;
        let mut models = Vec::with_capacity(steps);
        for k in 0..steps {
            let (xt, yt) = finite_rows(&x_train, &labels(data, train_starts, k, &b_train), cols);
            if yt.is_empty() {
                return Err(Error::param(
                    "target",
                    "every training label is missing; check the target column",
                ));
            }
            let dtrain = matrix(&xt, cols, Some(&yt))?;
            let (xv, yv) = finite_rows(&x_valid, &labels(data, valid_starts, k, &b_valid), cols);
            let dvalid = if yv.is_empty() {
                None
            } else {
                Some(matrix(&xv, cols, Some(&yv))?)
            };
            let mut trainer = Trainer::new(&params, &dtrain, cfg.rounds);
            if let Some(dv) = &dvalid {
                trainer = trainer.eval(dv, "validation").early_stopping_rounds(
                    NonZeroUsize::new(cfg.early_stopping).expect("checked above"),
                );
            }
            let rounds = cfg.rounds;
            let report = &mut *progress;
            let trained = trainer
                .on_round(move |r| {
                    report(GbdtProgress {
                        step: k + 1,
                        steps,
                        round: r.iteration() + 1,
                        rounds,
                    });
                    ControlFlow::Continue(())
                })
                .train()
                .map_err(booster_err("training"))?;
            models.push(trained.model);
        }
        Ok(GbdtForecaster {
            config: cfg.clone(),
            window: data.spec.input,
            features: data.features.clone(),
            services: data.services.clone(),
            models,
        })
    }

    /// Checks that `data` has the layout the ensembles were trained on.
    fn check_fits(&self, data: &Windowed) -> Result<()> {
        if data.features != self.features
            || data.services != self.services
            || data.spec.input != self.window
            || data.spec.horizon != self.models.len()
        {
            return Err(Error::Shape {
                what: "the trees baseline's windows".into(),
                expected: format!(
                    "window {}, horizon {}, features {:?}, services {:?}",
                    self.window,
                    self.models.len(),
                    self.features,
                    self.services
                ),
                got: format!(
                    "window {}, horizon {}, features {:?}, services {:?}",
                    data.spec.input, data.spec.horizon, data.features, data.services
                ),
            });
        }
        Ok(())
    }

    /// Normalised predictions `[windows, horizon, services]` for the windows at `starts`.
    pub fn predict(&self, data: &Windowed, starts: &[usize]) -> Result<Array3<f32>> {
        self.check_fits(data)?;
        let n = self.services.len();
        let h = self.models.len();
        let mut out = Array3::zeros((starts.len(), h, n));
        if starts.is_empty() {
            return Ok(out);
        }
        let (x, cols) = design_matrix(data, starts, &self.config);
        let base = bases(data, starts, base_feature(data, &self.config));
        let dm = matrix(&x, cols, None)?;
        for (k, model) in self.models.iter().enumerate() {
            let p = model
                .predict(&dm, Iterations::Best)
                .map_err(booster_err("predicting"))?;
            let values = p.as_slice();
            for w in 0..starts.len() {
                for s in 0..n {
                    out[[w, k, s]] = values[w * n + s] + base[w * n + s];
                }
            }
        }
        Ok(out)
    }

    /// Boosting rounds kept (up to the best validation round) per horizon step.
    pub fn rounds_kept(&self) -> Vec<usize> {
        self.models
            .iter()
            .map(|m| m.best_iteration().map_or(m.num_boost_rounds(), |b| b + 1))
            .collect()
    }

    /// Writes the ensembles as `gbdt-step{k}.hbm` (hessboost's checksummed binary format)
    /// into `dir`, which must exist.
    pub fn save(&self, dir: &Path) -> Result<()> {
        for (k, m) in self.models.iter().enumerate() {
            let path = dir.join(format!("gbdt-step{}.hbm", k + 1));
            m.save(&path, ModelFormat::Binary)
                .map_err(booster_err("saving the trees"))?;
        }
        Ok(())
    }

    /// Reads back what [`GbdtForecaster::save`] wrote for `horizon` steps, with the layout
    /// it was trained for.
    pub fn load(
        dir: &Path,
        horizon: usize,
        config: GbdtConfig,
        window: usize,
        features: Vec<String>,
        services: Vec<String>,
    ) -> Result<GbdtForecaster> {
        let models = (1..=horizon)
            .map(|k| {
                let path = dir.join(format!("gbdt-step{k}.hbm"));
                BoostedModel::load(&path, ModelFormat::Binary).map_err(|e| Error::Artifact {
                    dir: dir.to_path_buf(),
                    message: format!("cannot read {}: {e}", path.display()),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(GbdtForecaster {
            config,
            window,
            features,
            services,
            models,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use holoscale_datasets::Telemetry;
    use holoscale_datasets::tensor::{SplitSpec, WindowOptions, WindowSpec};

    fn windowed(
        values: ndarray::Array3<f64>,
        features: &[&str],
        target: &str,
        tau: usize,
        h: usize,
    ) -> Windowed {
        let (_, n, c) = values.dim();
        let names: Vec<String> = (0..c).map(|i| ["a", "b", "c"][i].to_string()).collect();
        let tel = Telemetry::try_new(
            "mem",
            0,
            30_000,
            (0..n).map(|i| format!("s{i}")).collect(),
            names,
            values,
        )
        .unwrap();
        Windowed::new(
            &tel,
            features,
            target,
            WindowSpec::try_new(tau, h, 1).unwrap(),
            SplitSpec::default(),
            WindowOptions::default(),
        )
        .unwrap()
    }

    #[test]
    fn columns_by_hand() {
        // One service, one feature 0, 1, 2, 3 (t = 0..4), window 4, lags 1 and 6 (dropped).
        let v = ndarray::Array3::from_shape_fn((20, 1, 1), |(t, _, _)| t as f64);
        let data = windowed(v, &["a"], "a", 4, 1);
        let cfg = GbdtConfig {
            lags: vec![1, 6],
            recent: 2,
            ..GbdtConfig::default()
        };
        assert_eq!(
            feature_names(&data.features, 4, &cfg),
            [
                "service",
                "a:last",
                "a:lag1-last",
                "a:mean2-last",
                "a:mean-last",
                "a:slope",
                "a:std"
            ]
        );
        let (x, cols) = design_matrix(&data, &[0], &cfg);
        assert_eq!(cols, 7);
        // Normalised: z = (t - m) / sd on the training range; check in normalised units.
        let z: Vec<f64> = (0..4).map(|t| data.inputs[[t, 0, 0]] as f64).collect();
        let step = z[1] - z[0];
        let expect = [
            0.0,
            z[3],
            z[2] - z[3],
            (z[2] + z[3]) / 2.0 - z[3],
            z.iter().sum::<f64>() / 4.0 - z[3],
            step,
            step * (1.25f64).sqrt(),
        ];
        for (got, want) in x.iter().zip(expect) {
            assert!((*got as f64 - want).abs() < 1e-5, "{x:?} vs {expect:?}");
        }
    }

    #[test]
    fn bad_settings_name_the_field() {
        let cfg = GbdtConfig {
            lags: vec![0],
            ..GbdtConfig::default()
        };
        assert!(cfg.check().unwrap_err().to_string().contains("gbdt.lags"));
        let cfg = GbdtConfig {
            learning_rate: 0.0,
            ..GbdtConfig::default()
        };
        assert!(
            cfg.check()
                .unwrap_err()
                .to_string()
                .contains("learning_rate")
        );
    }
}
