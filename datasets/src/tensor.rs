//! The bridge from telemetry to model inputs: a dense `(T, N, F)` array in a fixed service
//! order, a normaliser fitted on the training range only, and sliding windows split by time
//! without leakage, batched as plain arrays (the estimator crate turns them into burn
//! tensors).
//!
//! A window starting at step `s` has inputs at steps `s .. s+τ` and targets at
//! `s+τ .. s+τ+H`. A window belongs to the split that holds **all of its target steps**;
//! its inputs may reach back into earlier steps (they are in the past at prediction time),
//! never forward. So no target step of the validation or test range is ever a training
//! target or a training input, and the normaliser sees only training steps.

use std::ops::Range;
use std::path::Path;

use ndarray::{Array2, Array3, ArrayView3, Axis, s};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::telemetry::Telemetry;
use crate::time::format_ms;

/// Values of chosen columns for every step and service, `[time, service, feature]`, as f32.
#[derive(Debug, Clone, PartialEq)]
pub struct Dense {
    /// Service order of axis 1.
    pub services: Vec<String>,
    /// Column order of axis 2.
    pub features: Vec<String>,
    /// First timestamp, ms since the epoch.
    pub start_ms: i64,
    /// Interval, ms.
    pub interval_ms: i64,
    /// `[T, N, F]`; NaN marks values that are missing after repair.
    pub values: Array3<f32>,
    /// Name of the source, for messages.
    pub source: String,
}

impl Dense {
    /// Takes `features` (in order) for `services` (in order; `None` keeps the telemetry's
    /// order). Missing columns or services are errors naming them.
    pub fn from_telemetry<S: AsRef<str>>(
        tel: &Telemetry,
        services: Option<&[S]>,
        features: &[S],
    ) -> Result<Dense> {
        if features.is_empty() {
            return Err(Error::param(
                "features",
                "choose at least one feature column",
            ));
        }
        let cols = features
            .iter()
            .map(|f| tel.require_column(f.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        let svc: Vec<usize> = match services {
            Some(list) => list
                .iter()
                .map(|s| tel.require_service(s.as_ref()))
                .collect::<Result<_>>()?,
            None => (0..tel.services().len()).collect(),
        };
        let values = tel
            .values()
            .select(Axis(1), &svc)
            .select(Axis(2), &cols)
            .mapv(|v| v as f32);
        Ok(Dense {
            services: svc.iter().map(|&n| tel.services()[n].clone()).collect(),
            features: features.iter().map(|f| f.as_ref().to_string()).collect(),
            start_ms: tel.start_ms(),
            interval_ms: tel.interval_ms(),
            values,
            source: tel.source().to_string(),
        })
    }

    /// Number of steps.
    pub fn len(&self) -> usize {
        self.values.dim().0
    }

    /// True when there are no steps.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Timestamp of step `t`.
    pub fn timestamp(&self, t: usize) -> i64 {
        self.start_ms + t as i64 * self.interval_ms
    }
}

/// Per-feature standardisation `(x − mean) / std`, fitted on the training range only:
/// pooled over all services (the default, DeepScaler's), or per service and feature
/// ([`Normalizer::fit_per_service`], holoscale's option).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Normalizer {
    /// Column names, one per entry of `mean` and `std`.
    pub features: Vec<String>,
    /// Mean of each column over the fitted steps and all services.
    pub mean: Vec<f64>,
    /// Standard deviation (population); a constant column gets 1 so it maps to 0.
    pub std: Vec<f64>,
    /// Statistics per service, which replace the pooled ones when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_service: Option<ServiceScales>,
}

/// Mean and standard deviation of every feature for every service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceScales {
    /// Service order of the rows of `mean` and `std`.
    pub services: Vec<String>,
    /// `mean[s][f]`: of feature `f` (in [`Normalizer::features`] order) for service `s`.
    pub mean: Vec<Vec<f64>>,
    /// `std[s][f]`, population; where a service's column is constant over the fitted
    /// steps, the pooled standard deviation, so a later change is not blown up.
    pub std: Vec<Vec<f64>>,
}

impl Normalizer {
    /// Fits mean and standard deviation of every feature of `dense` over the steps in
    /// `range`, across all services, ignoring missing values.
    pub fn fit(dense: &Dense, range: Range<usize>) -> Result<Normalizer> {
        if range.is_empty() || range.end > dense.len() {
            return Err(Error::param(
                "training range",
                format!(
                    "steps {range:?} of {} are empty or out of range",
                    dense.len()
                ),
            ));
        }
        let view = dense.values.slice(s![range, .., ..]);
        let mut mean = Vec::new();
        let mut std = Vec::new();
        for (f, name) in dense.features.iter().enumerate() {
            let (mut n, mut sum, mut sq) = (0usize, 0f64, 0f64);
            for &v in view.index_axis(Axis(2), f).iter() {
                if v.is_finite() {
                    n += 1;
                    sum += v as f64;
                    sq += (v as f64) * (v as f64);
                }
            }
            if n == 0 {
                return Err(Error::MissingValue {
                    file: dense.source.clone(),
                    service: "(all)".into(),
                    column: name.clone(),
                    time: "every step of the training range".into(),
                });
            }
            let m = sum / n as f64;
            let var = (sq / n as f64 - m * m).max(0.0);
            let sd = var.sqrt();
            mean.push(m);
            std.push(if sd > 1e-12 * m.abs().max(1.0) {
                sd
            } else {
                1.0
            });
        }
        Ok(Normalizer {
            features: dense.features.clone(),
            mean,
            std,
            per_service: None,
        })
    }

    /// Fits mean and standard deviation of every feature **per service** over the steps in
    /// `range` (the pooled statistics too). A service with no value of a column in the
    /// range gets the pooled mean; a constant one the pooled standard deviation.
    pub fn fit_per_service(dense: &Dense, range: Range<usize>) -> Result<Normalizer> {
        let mut n = Normalizer::fit(dense, range.clone())?;
        let view = dense.values.slice(s![range, .., ..]);
        let mut mean = Vec::with_capacity(dense.services.len());
        let mut std = Vec::with_capacity(dense.services.len());
        for s in 0..dense.services.len() {
            let (mut ms, mut ss) = (Vec::new(), Vec::new());
            for f in 0..dense.features.len() {
                let column = view.slice(s![.., s, f]);
                let finite = || column.iter().filter(|v| v.is_finite()).map(|&v| v as f64);
                let k = finite().count();
                let (pooled_m, pooled_s) = (n.mean[f], n.std[f]);
                if k == 0 {
                    ms.push(pooled_m);
                    ss.push(pooled_s);
                    continue;
                }
                // Two passes, so a constant column has a deviation of exactly zero.
                let m = finite().sum::<f64>() / k as f64;
                let sd = (finite().map(|v| (v - m) * (v - m)).sum::<f64>() / k as f64).sqrt();
                ms.push(m);
                // Only a column that is constant up to rounding falls back: a service whose
                // values are a thousandth of another's keeps its own spread.
                ss.push(if sd > 1e-9 * m.abs().max(1.0) {
                    sd
                } else {
                    pooled_s
                });
            }
            mean.push(ms);
            std.push(ss);
        }
        n.per_service = Some(ServiceScales {
            services: dense.services.clone(),
            mean,
            std,
        });
        Ok(n)
    }

    /// True when the statistics are per service.
    pub fn is_per_service(&self) -> bool {
        self.per_service.is_some()
    }

    /// Appends the columns of `other` (fitted on the same services in the same mode).
    pub fn append(&mut self, other: Normalizer) -> Result<()> {
        match (&mut self.per_service, other.per_service) {
            (None, None) => {}
            (Some(a), Some(b)) if a.services == b.services => {
                for (row, extra) in a.mean.iter_mut().zip(b.mean) {
                    row.extend(extra);
                }
                for (row, extra) in a.std.iter_mut().zip(b.std) {
                    row.extend(extra);
                }
            }
            _ => {
                return Err(Error::param(
                    "normaliser",
                    "columns fitted per service and pooled, or on other services, cannot be combined",
                ));
            }
        }
        self.features.extend(other.features);
        self.mean.extend(other.mean);
        self.std.extend(other.std);
        Ok(())
    }

    /// Mean and standard deviation of `feature` for the service at `service` in the
    /// fitted order (the pooled ones when the statistics are pooled).
    pub fn stats(&self, feature: &str, service: usize) -> Result<(f64, f64)> {
        let i = self.index(feature)?;
        match &self.per_service {
            None => Ok((self.mean[i], self.std[i])),
            Some(p) => match (p.mean.get(service), p.std.get(service)) {
                (Some(m), Some(s)) => Ok((m[i], s[i])),
                _ => Err(Error::param(
                    "service",
                    format!(
                        "index {service} is outside the {} services the normaliser was fitted on",
                        p.services.len()
                    ),
                )),
            },
        }
    }

    /// The standard deviation of `feature` for every one of `n` services (the pooled one
    /// repeated when the statistics are pooled).
    pub fn scales(&self, feature: &str, n: usize) -> Result<Vec<f64>> {
        (0..n).map(|s| Ok(self.stats(feature, s)?.1)).collect()
    }

    fn index(&self, feature: &str) -> Result<usize> {
        self.features
            .iter()
            .position(|f| f == feature)
            .ok_or_else(|| Error::MissingColumn {
                file: "normaliser".into(),
                column: feature.to_string(),
                expected: format!(
                    "it was fitted on {}",
                    crate::error::name_list(&self.features)
                ),
            })
    }

    /// Standardises a value of `feature` with the pooled statistics.
    pub fn apply_value(&self, feature: &str, v: f64) -> Result<f64> {
        let i = self.index(feature)?;
        Ok((v - self.mean[i]) / self.std[i])
    }

    /// Inverts [`Normalizer::apply_value`].
    pub fn invert_value(&self, feature: &str, z: f64) -> Result<f64> {
        let i = self.index(feature)?;
        Ok(z * self.std[i] + self.mean[i])
    }

    /// Inverts the standardisation of `feature` for the service at `service` (per
    /// service or pooled, as fitted).
    pub fn invert_value_at(&self, feature: &str, service: usize, z: f64) -> Result<f64> {
        let (m, s) = self.stats(feature, service)?;
        Ok(z * s + m)
    }

    /// Standardises a `[T, N, F]` array whose features are `features`, in place.
    pub fn apply(&self, features: &[String], values: &mut Array3<f32>) -> Result<()> {
        self.map(features, values, |v, m, s| ((v as f64 - m) / s) as f32)
    }

    /// Inverts [`Normalizer::apply`] in place.
    pub fn invert(&self, features: &[String], values: &mut Array3<f32>) -> Result<()> {
        self.map(features, values, |z, m, s| (z as f64 * s + m) as f32)
    }

    fn map(
        &self,
        features: &[String],
        values: &mut Array3<f32>,
        f: impl Fn(f32, f64, f64) -> f32,
    ) -> Result<()> {
        if values.dim().2 != features.len() {
            return Err(Error::Shape {
                what: "normaliser input".into(),
                expected: format!("[T, N, {}]", features.len()),
                got: format!("{:?}", values.dim()),
            });
        }
        if let Some(p) = &self.per_service
            && values.dim().1 != p.services.len()
        {
            return Err(Error::Shape {
                what: "normaliser input".into(),
                expected: format!("[T, {}, {}]", p.services.len(), features.len()),
                got: format!("{:?}", values.dim()),
            });
        }
        for (k, name) in features.iter().enumerate() {
            let i = self.index(name)?;
            match &self.per_service {
                None => {
                    let (m, s) = (self.mean[i], self.std[i]);
                    values
                        .index_axis_mut(Axis(2), k)
                        .mapv_inplace(|v| f(v, m, s));
                }
                Some(p) => {
                    for (j, mut col) in values.axis_iter_mut(Axis(1)).enumerate() {
                        let (m, s) = (p.mean[j][i], p.std[j][i]);
                        col.index_axis_mut(Axis(1), k).mapv_inplace(|v| f(v, m, s));
                    }
                }
            }
        }
        Ok(())
    }

    /// Writes the normaliser as JSON, atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::io::write_atomic(path, |w| {
            serde_json::to_writer_pretty(w, self).map_err(|source| Error::Json {
                file: path.display().to_string(),
                source,
            })
        })
    }

    /// Reads a normaliser written by [`Normalizer::save`].
    pub fn load(path: &Path) -> Result<Normalizer> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "read", e))?;
        let n: Normalizer = serde_json::from_str(&text).map_err(|source| Error::Json {
            file: path.display().to_string(),
            source,
        })?;
        if n.mean.len() != n.features.len() || n.std.len() != n.features.len() {
            return Err(Error::Config {
                file: path.display().to_string(),
                message: "`features`, `mean` and `std` must have the same length".into(),
            });
        }
        if n.std.iter().any(|s| !(s.is_finite() && *s > 0.0))
            || n.mean.iter().any(|m| !m.is_finite())
        {
            return Err(Error::Config {
                file: path.display().to_string(),
                message: "every `std` must be positive and every `mean` finite".into(),
            });
        }
        if let Some(p) = &n.per_service {
            let rows_ok = |rows: &[Vec<f64>]| {
                rows.len() == p.services.len() && rows.iter().all(|r| r.len() == n.features.len())
            };
            if p.services.is_empty() || !rows_ok(&p.mean) || !rows_ok(&p.std) {
                return Err(Error::Config {
                    file: path.display().to_string(),
                    message: format!(
                        "`per_service` needs one `mean` and one `std` row per service ({}), each \
                         with one value per feature ({})",
                        p.services.len(),
                        n.features.len()
                    ),
                });
            }
            if p.std.iter().flatten().any(|s| !(s.is_finite() && *s > 0.0))
                || p.mean.iter().flatten().any(|m| !m.is_finite())
            {
                return Err(Error::Config {
                    file: path.display().to_string(),
                    message: "every per-service `std` must be positive and every `mean` finite"
                        .into(),
                });
            }
        }
        Ok(n)
    }
}

/// Shape of sliding windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowSpec {
    /// Input steps τ.
    pub input: usize,
    /// Predicted steps H.
    pub horizon: usize,
    /// Steps between consecutive window starts.
    pub stride: usize,
}

impl WindowSpec {
    /// Checks the spec: every length positive.
    pub fn try_new(input: usize, horizon: usize, stride: usize) -> Result<WindowSpec> {
        for (name, v) in [("window", input), ("horizon", horizon), ("stride", stride)] {
            if v == 0 {
                return Err(Error::param(name, "must be at least 1"));
            }
        }
        Ok(WindowSpec {
            input,
            horizon,
            stride,
        })
    }

    /// Steps one window spans.
    pub fn span(&self) -> usize {
        self.input + self.horizon
    }
}

/// Fractions of the time range for training and validation; the rest is the test range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SplitSpec {
    /// Share of steps for training (first part).
    pub train: f64,
    /// Share of steps for validation (middle part).
    pub validation: f64,
}

impl Default for SplitSpec {
    /// 70% training, 10% validation, 20% test (DeepScaler's evaluation keeps the last 20%).
    fn default() -> Self {
        SplitSpec {
            train: 0.7,
            validation: 0.1,
        }
    }
}

/// Which part of the time range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// First part: fitting.
    Train,
    /// Middle part: early stopping and model selection.
    Validation,
    /// Last part: reported accuracy.
    Test,
}

/// Step ranges of the three splits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Splits {
    /// Training steps.
    pub train: Range<usize>,
    /// Validation steps.
    pub validation: Range<usize>,
    /// Test steps.
    pub test: Range<usize>,
}

impl SplitSpec {
    /// Cuts `len` steps into the three ranges.
    pub fn split(&self, len: usize) -> Result<Splits> {
        let ok = |x: f64| x.is_finite() && (0.0..=1.0).contains(&x);
        if !ok(self.train)
            || !ok(self.validation)
            || self.train + self.validation > 1.0 + 1e-9
            || self.train <= 0.0
        {
            return Err(Error::param(
                "split",
                format!(
                    "train {} and validation {} must be shares in [0, 1] with train > 0 and a sum of at most 1",
                    self.train, self.validation
                ),
            ));
        }
        let t1 = ((len as f64 * self.train).round() as usize).min(len);
        let t2 = ((len as f64 * (self.train + self.validation)).round() as usize).clamp(t1, len);
        Ok(Splits {
            train: 0..t1,
            validation: t1..t2,
            test: t2..len,
        })
    }
}

impl Splits {
    /// The range of a split.
    pub fn range(&self, split: Split) -> Range<usize> {
        match split {
            Split::Train => self.train.clone(),
            Split::Validation => self.validation.clone(),
            Split::Test => self.test.clone(),
        }
    }
}

/// Start steps of the windows whose targets all lie in `targets` (and whose inputs start at
/// step 0 or later), every `stride` steps from the first.
pub fn window_starts(spec: &WindowSpec, targets: Range<usize>) -> Vec<usize> {
    // Targets s+τ .. s+τ+H must satisfy targets.start <= s+τ and s+τ+H <= targets.end.
    let first = targets.start.saturating_sub(spec.input);
    if targets.end < spec.span() {
        return Vec::new();
    }
    let last = targets.end - spec.span();
    if first > last {
        return Vec::new();
    }
    (first..=last).step_by(spec.stride).collect()
}

/// A batch as plain arrays: inputs `[B, τ, N, F]` and targets `[B, H, N]`, normalised.
#[derive(Debug, Clone, PartialEq)]
pub struct ArrayBatch {
    /// `[B, τ, N, F]`.
    pub inputs: ndarray::Array4<f32>,
    /// `[B, H, N]`.
    pub targets: Array3<f32>,
    /// Timestamp of the first target step of each window, ms.
    pub target_times: Vec<i64>,
}

/// Options of [`Windowed::new`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct WindowOptions {
    /// Skip windows touching a missing value instead of refusing the data.
    pub skip_missing: bool,
    /// Standardise every feature and the target per service instead of pooled over all
    /// services ([`Normalizer::fit_per_service`]; ignored when a normaliser is given).
    pub per_service_scaling: bool,
}

/// Normalised features and target with the windows of each split: what a model trains on.
#[derive(Debug, Clone)]
pub struct Windowed {
    /// Normalised features `[T, N, F]`.
    pub inputs: Array3<f32>,
    /// Normalised target `[T, N]`.
    pub target: Array2<f32>,
    /// Feature names.
    pub features: Vec<String>,
    /// Target column name.
    pub target_name: String,
    /// Service order.
    pub services: Vec<String>,
    /// Normaliser of the features and the target, fitted on the training range.
    pub normalizer: Normalizer,
    /// Window shape.
    pub spec: WindowSpec,
    /// Step ranges of the splits.
    pub splits: Splits,
    /// First timestamp, ms.
    pub start_ms: i64,
    /// Interval, ms.
    pub interval_ms: i64,
    train: Vec<usize>,
    validation: Vec<usize>,
    test: Vec<usize>,
}

impl Windowed {
    /// Builds windows of `features` predicting `target` over the splits of `split`.
    ///
    /// Errors: a missing column, a window longer than the data, a training range too short
    /// for one window, and (unless `options.skip_missing`) a missing value inside a window,
    /// naming the service, column and time.
    pub fn new<S: AsRef<str>>(
        tel: &Telemetry,
        features: &[S],
        target: &str,
        spec: WindowSpec,
        split: SplitSpec,
        options: WindowOptions,
    ) -> Result<Windowed> {
        Windowed::with_normalizer(tel, features, target, spec, split, options, None)
    }

    /// Like [`Windowed::new`], standardising with a given normaliser (a trained model's)
    /// instead of fitting one; it must cover the features and the target.
    pub fn with_normalizer<S: AsRef<str>>(
        tel: &Telemetry,
        features: &[S],
        target: &str,
        spec: WindowSpec,
        split: SplitSpec,
        options: WindowOptions,
        normalizer: Option<Normalizer>,
    ) -> Result<Windowed> {
        let dense = Dense::from_telemetry(tel, None, features)?;
        let target_dense = Dense::from_telemetry(tel, None, &[target])?;
        if spec.span() > dense.len() {
            return Err(Error::param(
                "window",
                format!(
                    "a window of {} input + {} predicted steps needs {} steps but {} has {}",
                    spec.input,
                    spec.horizon,
                    spec.span(),
                    tel.source(),
                    dense.len()
                ),
            ));
        }
        let splits = split.split(dense.len())?;
        let mut train = window_starts(&spec, splits.train.clone());
        if train.is_empty() {
            return Err(Error::param(
                "window",
                format!(
                    "the training range has {} steps, fewer than one window of {}; use a shorter window or more data",
                    splits.train.len(),
                    spec.span()
                ),
            ));
        }
        let mut validation = window_starts(&spec, splits.validation.clone());
        let mut test = window_starts(&spec, splits.test.clone());

        // Per step: the first (service, column) with a missing value, if any.
        let missing_at = |t: usize| -> Option<(usize, String)> {
            for n in 0..dense.services.len() {
                for (f, name) in dense.features.iter().enumerate() {
                    if !dense.values[[t, n, f]].is_finite() {
                        return Some((n, name.clone()));
                    }
                }
                if !target_dense.values[[t, n, 0]].is_finite() {
                    return Some((n, target.to_string()));
                }
            }
            None
        };
        let bad: Vec<Option<(usize, String)>> = (0..dense.len()).map(missing_at).collect();
        // prefix[t] = number of bad steps before t.
        let mut prefix = vec![0usize; dense.len() + 1];
        for t in 0..dense.len() {
            prefix[t + 1] = prefix[t] + bad[t].is_some() as usize;
        }
        let span = spec.span();
        let clean = |s: &usize| prefix[s + span] == prefix[*s];
        for starts in [&mut train, &mut validation, &mut test] {
            if let Some(&s) = starts.iter().find(|s| !clean(s)) {
                if !options.skip_missing {
                    let t = (s..s + span)
                        .find(|&t| bad[t].is_some())
                        .expect("window is not clean");
                    let (n, column) = bad[t].clone().expect("found above");
                    // A column without any value for the service is not a gap to repair.
                    let c = tel.require_column(&column)?;
                    let svc = tel.require_service(&dense.services[n])?;
                    if !tel.observed().slice(s![.., svc, c]).iter().any(|&o| o) {
                        return Err(Error::NoValues {
                            file: tel.source().to_string(),
                            service: dense.services[n].clone(),
                            column,
                        });
                    }
                    return Err(Error::MissingValue {
                        file: tel.source().to_string(),
                        service: dense.services[n].clone(),
                        column,
                        time: format_ms(dense.timestamp(t)),
                    });
                }
                starts.retain(clean);
            }
        }
        if train.is_empty() {
            return Err(Error::MissingValue {
                file: tel.source().to_string(),
                service: "(every window)".into(),
                column: "(some)".into(),
                time: "every training window".into(),
            });
        }

        // Normaliser over features and target, on training steps only.
        let normalizer = match normalizer {
            Some(n) => n,
            None => {
                let fit = if options.per_service_scaling {
                    Normalizer::fit_per_service
                } else {
                    Normalizer::fit
                };
                let mut n = fit(&dense, splits.train.clone())?;
                if !dense.features.iter().any(|f| f == target) {
                    n.append(fit(&target_dense, splits.train.clone())?)?;
                }
                n
            }
        };
        if let Some(p) = &normalizer.per_service
            && p.services != dense.services
        {
            return Err(Error::param(
                "normaliser",
                format!(
                    "it was fitted per service on {} but {} has {}",
                    crate::error::name_list(&p.services),
                    tel.source(),
                    crate::error::name_list(&dense.services)
                ),
            ));
        }
        let mut inputs = dense.values;
        normalizer.apply(&dense.features, &mut inputs)?;
        let mut tv = target_dense.values;
        normalizer.apply(&[target.to_string()], &mut tv)?;
        let target_arr = tv.index_axis_move(Axis(2), 0);
        Ok(Windowed {
            inputs,
            target: target_arr,
            features: dense.features,
            target_name: target.to_string(),
            services: dense.services,
            normalizer,
            spec,
            splits,
            start_ms: dense.start_ms,
            interval_ms: dense.interval_ms,
            train,
            validation,
            test,
        })
    }

    /// Weights per service that make an L1 loss on targets standardised per service
    /// proportional to the MAE in target units again: service `s`'s standard deviation over
    /// their mean. `None` when the target is standardised pooled (every weight would be 1).
    pub fn loss_weights(&self) -> Option<Vec<f32>> {
        self.normalizer.per_service.as_ref()?;
        let scales = self
            .normalizer
            .scales(&self.target_name, self.services.len())
            .ok()?;
        let mean = scales.iter().sum::<f64>() / scales.len().max(1) as f64;
        Some(scales.iter().map(|s| (s / mean) as f32).collect())
    }

    /// The factor that turns the standardised L1 loss (weighted by
    /// [`Windowed::loss_weights`] when there are some) into an MAE in target units: the
    /// target's standard deviation, or the mean of its per-service ones.
    pub fn target_scale(&self) -> f64 {
        match self
            .normalizer
            .scales(&self.target_name, self.services.len())
        {
            Ok(s) if !s.is_empty() => s.iter().sum::<f64>() / s.len() as f64,
            _ => 1.0,
        }
    }

    /// Window start steps of a split.
    pub fn starts(&self, split: Split) -> &[usize] {
        match split {
            Split::Train => &self.train,
            Split::Validation => &self.validation,
            Split::Test => &self.test,
        }
    }

    /// Groups the windows of `split` into batches of `size`, shuffled with `seed` when given.
    pub fn batches(&self, split: Split, size: usize, seed: Option<u64>) -> Vec<Vec<usize>> {
        let mut starts = self.starts(split).to_vec();
        if let Some(seed) = seed {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            starts.shuffle(&mut rng);
        }
        starts.chunks(size.max(1)).map(<[usize]>::to_vec).collect()
    }

    /// The arrays of the windows starting at `starts`.
    pub fn arrays(&self, starts: &[usize]) -> ArrayBatch {
        let (tau, h) = (self.spec.input, self.spec.horizon);
        let (_, n, f) = self.inputs.dim();
        let mut inputs = ndarray::Array4::<f32>::zeros((starts.len(), tau, n, f));
        let mut targets = Array3::<f32>::zeros((starts.len(), h, n));
        for (b, &s) in starts.iter().enumerate() {
            inputs
                .index_axis_mut(Axis(0), b)
                .assign(&self.inputs.slice(s![s..s + tau, .., ..]));
            targets
                .index_axis_mut(Axis(0), b)
                .assign(&self.target.slice(s![s + tau..s + tau + h, ..]));
        }
        ArrayBatch {
            inputs,
            targets,
            target_times: starts
                .iter()
                .map(|&s| self.start_ms + (s + tau) as i64 * self.interval_ms)
                .collect(),
        }
    }

    /// The normalised input window ending at the last step, `[τ, N, F]`, for a "next step"
    /// prediction.
    pub fn latest_input(&self) -> ArrayView3<'_, f32> {
        let t = self.inputs.dim().0;
        self.inputs.slice(s![t - self.spec.input.., .., ..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn telemetry(t: usize, n: usize) -> Telemetry {
        let v = Array3::from_shape_fn((t, n, 2), |(t, n, c)| {
            (t as f64) * (c as f64 + 1.0) + n as f64
        });
        Telemetry::try_new(
            "mem",
            0,
            30_000,
            (0..n).map(|i| format!("s{i}")).collect(),
            vec!["replicas".into(), "req_rate".into()],
            v,
        )
        .unwrap()
    }

    #[test]
    fn starts_keep_targets_inside_the_split() {
        let spec = WindowSpec::try_new(3, 2, 1).unwrap();
        assert_eq!(window_starts(&spec, 0..7), [0, 1, 2]);
        // Validation targets in 7..10: inputs may start in the training range.
        assert_eq!(window_starts(&spec, 7..10), [4, 5]);
        assert!(window_starts(&spec, 0..4).is_empty());
        let spec = WindowSpec::try_new(2, 1, 3).unwrap();
        assert_eq!(window_starts(&spec, 0..10), [0, 3, 6]);
    }

    #[test]
    fn normaliser_fits_the_training_range_only() {
        let tel = telemetry(10, 1);
        let d = Dense::from_telemetry(&tel, None, &["replicas"]).unwrap();
        let n = Normalizer::fit(&d, 0..4).unwrap();
        // replicas = t for t in 0..4: mean 1.5, population std sqrt(1.25).
        assert!((n.mean[0] - 1.5).abs() < 1e-12);
        assert!((n.std[0] - 1.25f64.sqrt()).abs() < 1e-12);
        let z = n.apply_value("replicas", 9.0).unwrap();
        assert!((n.invert_value("replicas", z).unwrap() - 9.0).abs() < 1e-12);
    }

    #[test]
    fn per_service_scaling_standardises_each_service_alone() {
        // Service n has replicas = t + n: per service, mean 1.5 + n and std sqrt(1.25) over
        // steps 0..4; pooled over both, mean 2 and std sqrt(1.5).
        let tel = telemetry(10, 2);
        let d = Dense::from_telemetry(&tel, None, &["replicas"]).unwrap();
        let mut n = Normalizer::fit_per_service(&d, 0..4).unwrap();
        assert!((n.mean[0] - 2.0).abs() < 1e-12 && (n.std[0] - 1.5f64.sqrt()).abs() < 1e-12);
        for s in 0..2 {
            let (m, sd) = n.stats("replicas", s).unwrap();
            assert!((m - 1.5 - s as f64).abs() < 1e-12, "{m}");
            assert!((sd - 1.25f64.sqrt()).abs() < 1e-12, "{sd}");
        }
        let mut values = d.values.clone();
        n.apply(&d.features, &mut values).unwrap();
        // Step 3 is one and a half deviations above each service's own mean.
        for s in 0..2 {
            assert!((values[[3, s, 0]] as f64 - 1.5 / 1.25f64.sqrt()).abs() < 1e-6);
            let back = n
                .invert_value_at("replicas", s, values[[3, s, 0]] as f64)
                .unwrap();
            assert!((back - (3.0 + s as f64)).abs() < 1e-5);
        }
        // A different number of services is refused.
        let mut one = Array3::<f32>::zeros((2, 1, 1));
        assert!(n.apply(&d.features, &mut one).is_err());
        // Equal spreads: every loss weight is 1.
        let w = Windowed::new(
            &tel,
            &["replicas", "req_rate"],
            "replicas",
            WindowSpec::try_new(2, 1, 1).unwrap(),
            SplitSpec::default(),
            WindowOptions {
                per_service_scaling: true,
                ..WindowOptions::default()
            },
        )
        .unwrap();
        assert_eq!(w.loss_weights(), Some(vec![1.0, 1.0]));
        assert!(n.append(Normalizer::fit(&d, 0..4).unwrap()).is_err());
    }

    #[test]
    fn windows_line_up_with_timestamps() {
        let tel = telemetry(20, 2);
        let spec = WindowSpec::try_new(4, 2, 1).unwrap();
        let w = Windowed::new(
            &tel,
            &["replicas", "req_rate"],
            "replicas",
            spec,
            SplitSpec::default(),
            WindowOptions::default(),
        )
        .unwrap();
        let starts = w.starts(Split::Test).to_vec();
        let b = w.arrays(&starts);
        for (k, &s) in starts.iter().enumerate() {
            assert_eq!(b.target_times[k], (s as i64 + 4) * 30_000);
            let back = w
                .normalizer
                .invert_value("replicas", b.targets[[k, 0, 1]] as f64)
                .unwrap();
            // replicas of service 1 at step s+4 is (s+4) + 1.
            assert!((back - (s as f64 + 5.0)).abs() < 1e-4, "{back}");
        }
    }

    #[test]
    fn missing_value_in_a_window_is_named() {
        let mut tel = telemetry(20, 2);
        tel.values_mut()[[5, 1, 1]] = f64::NAN;
        let spec = WindowSpec::try_new(4, 1, 1).unwrap();
        let err = Windowed::new(
            &tel,
            &["req_rate"],
            "replicas",
            spec,
            SplitSpec::default(),
            WindowOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("`s1`")
                && err.contains("`req_rate`")
                && err.contains("1970-01-01T00:02:30Z"),
            "{err}"
        );
        let w = Windowed::new(
            &tel,
            &["req_rate"],
            "replicas",
            spec,
            SplitSpec::default(),
            WindowOptions {
                skip_missing: true,
                ..WindowOptions::default()
            },
        )
        .unwrap();
        assert!(
            w.starts(Split::Train)
                .iter()
                .all(|&s| !(s..s + 5).contains(&5))
        );
    }

    #[test]
    fn window_longer_than_data_is_refused() {
        let tel = telemetry(10, 1);
        let spec = WindowSpec::try_new(80, 1, 1).unwrap();
        let err = Windowed::new(
            &tel,
            &["replicas"],
            "replicas",
            spec,
            SplitSpec::default(),
            WindowOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("`window`") && err.contains("81 steps") && err.contains("has 10"),
            "{err}"
        );
    }
}
