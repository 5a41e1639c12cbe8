//! Loading a trained model and predicting: the next steps from one raw window
//! ([`Estimator::predict_window`], what a scaler calls every decision), from a rolling buffer
//! fed one interval at a time ([`RollingWindow`]), from the latest window of a telemetry file
//! ([`Estimator::predict_next`]), or after every window of a file, written as predictions
//! Parquet (SPEC 2.5) batch by batch.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Float64Array, RecordBatch, StringArray, TimestampMillisecondArray, UInt32Array,
};
use arrow::datatypes::{DataType, Field, Schema};
use burn::prelude::*;
use ndarray::{Array2, Array3, ArrayView2, ArrayView3, Axis, s};

use crate::artifact::Artifact;
use crate::data::array4_to_tensor;
use crate::error::{Error, Result};
use crate::model::Forecaster;
use crate::training::affinity_tensor;
use holoscale_datasets::Telemetry;
use holoscale_datasets::schema;
use holoscale_datasets::tensor::Normalizer;
use holoscale_datasets::time::format_ms;

/// The rounding rule of SPEC 3 (DeepScaler's scaling loop): floor when the fractional part is
/// below `threshold`, ceil otherwise, then clamp to `[min, max]`.
pub fn round_replicas(value: f64, threshold: f64, min: u32, max: Option<u32>) -> u32 {
    let v = value.max(0.0);
    let r = if v - v.floor() < threshold {
        v.floor()
    } else {
        v.ceil()
    };
    let r = (r as u32).max(min);
    match max {
        Some(m) => r.min(m),
        None => r,
    }
}

/// Predictions for the steps after one window.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    /// Service order.
    pub services: Vec<String>,
    /// Timestamps of the predicted steps, ms.
    pub times_ms: Vec<i64>,
    /// Predicted target values, `[horizon][services]`.
    pub values: Vec<Vec<f64>>,
    /// Rounded, clamped replicas, `[horizon][services]`.
    pub replicas: Vec<Vec<u32>>,
}

/// What a model takes as input: the order of its services and features, the window length
/// and the sampling interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSpec {
    /// Services, in the order of a window's second axis.
    pub services: Vec<String>,
    /// Feature columns, in the order of a window's third axis.
    pub features: Vec<String>,
    /// Steps τ of a window.
    pub window: usize,
    /// Predicted steps H.
    pub horizon: usize,
    /// Interval between steps, ms.
    pub interval_ms: i64,
    /// The predicted column.
    pub target: String,
}

/// Counts of a batch prediction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PredictStats {
    /// Windows predicted.
    pub windows: usize,
    /// Windows skipped because a value was missing.
    pub skipped: usize,
    /// Rows written.
    pub rows: usize,
}

/// A trained estimator ready to predict, on backend `B` (CPU by default).
#[derive(Debug)]
pub struct Estimator<B: Backend = crate::backend::Cpu> {
    artifact: Artifact<B>,
    dir: PathBuf,
    device: B::Device,
    affinity: Tensor<B, 2>,
}

impl Estimator {
    /// Loads a model directory on the CPU.
    pub fn load(dir: impl AsRef<Path>) -> Result<Estimator> {
        Estimator::load_on(dir, Default::default())
    }
}

impl<B: Backend> Estimator<B> {
    /// Loads a model directory on `device`.
    pub fn load_on(dir: impl AsRef<Path>, device: B::Device) -> Result<Estimator<B>> {
        let dir = dir.as_ref().to_path_buf();
        let artifact = Artifact::<B>::load(&dir, &device)?;
        let affinity = affinity_tensor::<B>(&artifact.affinity, &device);
        Ok(Estimator {
            artifact,
            dir,
            device,
            affinity,
        })
    }

    /// Wraps a freshly trained artifact (`train(...)?.artifact`) without saving it; errors
    /// name the model directory as `(in memory)`.
    pub fn from_artifact(artifact: Artifact<B>, device: B::Device) -> Estimator<B> {
        let affinity = affinity_tensor::<B>(&artifact.affinity, &device);
        Estimator {
            artifact,
            dir: PathBuf::from("(in memory)"),
            device,
            affinity,
        }
    }

    /// The loaded artifact.
    pub fn artifact(&self) -> &Artifact<B> {
        &self.artifact
    }

    /// The service order of the model.
    pub fn services(&self) -> &[String] {
        &self.artifact.services
    }

    fn mismatch(&self, data: &Telemetry, message: String) -> Error {
        Error::Mismatch {
            dir: self.dir.clone(),
            data: data.source().to_string(),
            message,
        }
    }

    /// Checks that `tel` has the model's services, features and interval.
    fn check_fits(&self, tel: &Telemetry) -> Result<()> {
        let want = &self.artifact.services;
        let missing: Vec<&String> = want
            .iter()
            .filter(|s| tel.service_index(s).is_none())
            .collect();
        let extra: Vec<&String> = tel
            .services()
            .iter()
            .filter(|s| !want.contains(s))
            .collect();
        if !missing.is_empty() || !extra.is_empty() {
            return Err(self.mismatch(
                tel,
                format!(
                    "the model was trained on services {want:?}; missing from the data: {missing:?}, not known to the model: {extra:?}"
                ),
            ));
        }
        let cfg = &self.artifact.config.data;
        for f in &cfg.features {
            if tel.column_index(f).is_none() {
                return Err(self.mismatch(
                    tel,
                    format!(
                        "feature column `{f}` is missing; the model uses {:?}",
                        cfg.features
                    ),
                ));
            }
        }
        if tel.interval_ms() != cfg.interval_ms {
            return Err(self.mismatch(
                tel,
                format!(
                    "the data are sampled every {} ms, the model every {} ms",
                    tel.interval_ms(),
                    cfg.interval_ms
                ),
            ));
        }
        Ok(())
    }

    /// Checks that `tel` has the model's services, features and interval, and returns its
    /// features as a standardised `[T, N, F]` array in model order.
    pub fn features_of(&self, tel: &Telemetry) -> Result<Array3<f32>> {
        self.check_fits(tel)?;
        let cfg = &self.artifact.config.data;
        let dense = holoscale_datasets::tensor::Dense::from_telemetry(
            tel,
            Some(self.artifact.services.as_slice()),
            &cfg.features,
        )?;
        let mut values = dense.values;
        self.artifact.normalizer.apply(&cfg.features, &mut values)?;
        Ok(values)
    }

    fn normalizer(&self) -> &Normalizer {
        &self.artifact.normalizer
    }

    /// The standardised prediction `z` of the service at `service` in target units.
    fn denorm(&self, z: f32, service: usize) -> Result<f64> {
        Ok(self.normalizer().invert_value_at(
            &self.artifact.config.data.target,
            service,
            z as f64,
        )?)
    }

    fn round(&self, v: f64) -> u32 {
        let m = &self.artifact.metadata;
        round_replicas(v, m.rounding_threshold, m.min_replicas, m.max_replicas)
    }

    /// The order and sizes of the model's input.
    pub fn input_spec(&self) -> InputSpec {
        let cfg = &self.artifact.config.data;
        InputSpec {
            services: self.artifact.services.clone(),
            features: cfg.features.clone(),
            window: cfg.window,
            horizon: cfg.horizon,
            interval_ms: cfg.interval_ms,
            target: cfg.target.clone(),
        }
    }

    /// Indices of the model's services in `tel` (which [`Estimator::check_fits`] checked).
    fn service_indices(&self, tel: &Telemetry) -> Vec<usize> {
        self.artifact
            .services
            .iter()
            .map(|s| tel.service_index(s).expect("checked"))
            .collect()
    }

    /// Refuses telemetry shorter than one window.
    fn check_length(&self, tel: &Telemetry) -> Result<()> {
        let (t_len, tau) = (tel.len(), self.artifact.config.data.window);
        if t_len < tau {
            return Err(self.mismatch(
                tel,
                format!("{t_len} steps are fewer than the model's window of {tau}"),
            ));
        }
        Ok(())
    }

    /// Predicts the next `H` steps after the last window of `tel`: the latest τ steps,
    /// taken in the model's service and feature order, through [`Estimator::predict_window`].
    pub fn predict_next(&self, tel: &Telemetry) -> Result<Forecast> {
        self.check_fits(tel)?;
        self.check_length(tel)?;
        let cfg = &self.artifact.config.data;
        let tau = cfg.window;
        let t_len = tel.len();
        let svc = self.service_indices(tel);
        let cols: Vec<usize> = cfg
            .features
            .iter()
            .map(|f| tel.column_index(f).expect("checked"))
            .collect();
        let values = tel.values();
        let window = Array3::from_shape_fn((tau, svc.len(), cols.len()), |(t, n, f)| {
            values[[t_len - tau + t, svc[n], cols[f]]]
        });
        let z = self.standardize(window.view())?;
        self.forecast(&z, tel.timestamp(t_len - 1), tel.source(), &|t| {
            format_ms(tel.timestamp(t_len - tau + t))
        })
    }

    /// Predicts the next `H` steps after one raw window `[τ, N, F]` of unstandardised
    /// values in the model's service and feature order ([`Estimator::input_spec`]), whose
    /// last step is at `last_ms`. A missing (NaN) value is an error naming the service,
    /// column and time.
    pub fn predict_window(&self, window: ArrayView3<'_, f64>, last_ms: i64) -> Result<Forecast> {
        let cfg = &self.artifact.config.data;
        let want = (cfg.window, self.artifact.services.len(), cfg.features.len());
        if window.dim() != want {
            return Err(Error::Shape {
                what: "prediction window [τ, services, features]".into(),
                expected: format!("{want:?}"),
                got: format!("{:?}", window.dim()),
            });
        }
        let z = self.standardize(window)?;
        let interval = cfg.interval_ms;
        let tau = cfg.window as i64;
        self.forecast(&z, last_ms, "window", &|t| {
            format_ms(last_ms - (tau - 1 - t as i64) * interval)
        })
    }

    /// An empty rolling window for this model: push one interval at a time, then
    /// [`Estimator::predict_rolling`].
    pub fn rolling_window(&self) -> RollingWindow {
        let cfg = &self.artifact.config.data;
        let norm = self.normalizer();
        let (mean, std) = (0..self.artifact.services.len())
            .flat_map(|n| cfg.features.iter().map(move |f| (n, f)))
            .map(|(n, f)| {
                norm.stats(f, n)
                    .expect("a loaded normaliser covers the model's features and services")
            })
            .unzip();
        RollingWindow {
            spec: self.input_spec(),
            mean,
            std,
            buf: vec![f32::NAN; cfg.window * self.artifact.services.len() * cfg.features.len()],
            head: 0,
            len: 0,
            last_ms: None,
        }
    }

    /// Predicts the next `H` steps after the window held by `buffer` (which must be full).
    pub fn predict_rolling(&self, buffer: &RollingWindow) -> Result<Forecast> {
        if buffer.spec != self.input_spec() {
            return Err(Error::param(
                "rolling window",
                "was made for another model; build it with this model's rolling_window()",
            ));
        }
        let last_ms =
            buffer
                .last_ms
                .filter(|_| buffer.is_full())
                .ok_or_else(|| Error::InvalidParameter {
                    name: "rolling window".into(),
                    message: format!(
                        "holds {} of the {} steps the model needs",
                        buffer.len, buffer.spec.window
                    ),
                })?;
        let z = buffer.window();
        let interval = buffer.spec.interval_ms;
        let tau = buffer.spec.window as i64;
        self.forecast(&z, last_ms, "rolling window", &|t| {
            format_ms(last_ms - (tau - 1 - t as i64) * interval)
        })
    }

    /// Standardises a raw window in model order, as training did (values as f32 first).
    fn standardize(&self, window: ArrayView3<'_, f64>) -> Result<Array3<f32>> {
        let mut z = window.mapv(|v| v as f32);
        self.artifact
            .normalizer
            .apply(&self.artifact.config.data.features, &mut z)?;
        Ok(z)
    }

    /// The forecast after a standardised window `[τ, N, F]` whose last step is at
    /// `last_ms`; `source` and `time_of` (step → time) name a missing value.
    fn forecast(
        &self,
        z: &Array3<f32>,
        last_ms: i64,
        source: &str,
        time_of: &dyn Fn(usize) -> String,
    ) -> Result<Forecast> {
        if let Some(((t, n, f), _)) = z.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(holoscale_datasets::Error::MissingValue {
                file: source.to_string(),
                service: self.artifact.services[n].clone(),
                column: self.artifact.config.data.features[f].clone(),
                time: time_of(t),
            }
            .into());
        }
        let batch = z.view().insert_axis(Axis(0)).to_owned();
        let pred = self.forward(&batch)?; // [1, H, N]
        let h = pred.dim().1;
        let mut values = Vec::with_capacity(h);
        let mut replicas = Vec::with_capacity(h);
        for k in 0..h {
            let row: Vec<f64> = (0..pred.dim().2)
                .map(|n| self.denorm(pred[[0, k, n]], n))
                .collect::<Result<_>>()?;
            replicas.push(row.iter().map(|&v| self.round(v)).collect());
            values.push(row);
        }
        let interval = self.artifact.config.data.interval_ms;
        Ok(Forecast {
            services: self.artifact.services.clone(),
            times_ms: (0..h)
                .map(|k| last_ms + (k as i64 + 1) * interval)
                .collect(),
            values,
            replicas,
        })
    }

    /// Standardised predictions for standardised windows `[B, τ, N, F]`.
    fn forward(&self, windows: &ndarray::Array4<f32>) -> Result<Array3<f32>> {
        let x = array4_to_tensor::<B>(windows, &self.device);
        let pred = self.artifact.model.forecast(x, self.affinity.clone());
        let [b, h, n] = pred.dims();
        let data = pred.into_data().to_vec::<f32>().expect("f32 predictions");
        Ok(Array3::from_shape_vec((b, h, n), data).expect("shape from the tensor"))
    }

    /// Predicts after every window of `tel` (windows with a missing value are skipped) and
    /// writes predictions Parquet to `path` atomically, `batch` windows at a time: columns
    /// `timestamp`, `service`, `horizon`, `predicted_<target>`, `actual_<target>` (null where
    /// unknown), `replicas` (rounded and clamped).
    pub fn predict_to_parquet(
        &self,
        tel: &Telemetry,
        path: &Path,
        batch: usize,
        progress: &dyn holoscale_datasets::io::Progress,
    ) -> Result<PredictStats> {
        let x = self.features_of(tel)?;
        let cfg = &self.artifact.config.data;
        let (tau, h) = (cfg.window, cfg.horizon);
        let (t_len, n, f) = x.dim();
        self.check_length(tel)?;
        let actual: Option<Vec<f64>> = tel.column_index(&cfg.target).map(|c| {
            let svc = self.service_indices(tel);
            let mut v = Vec::with_capacity(t_len * n);
            for t in 0..t_len {
                for &j in &svc {
                    v.push(if tel.observed()[[t, j, c]] {
                        tel.values()[[t, j, c]]
                    } else {
                        f64::NAN
                    });
                }
            }
            v
        });
        // A window is usable when none of its steps has a missing feature.
        let bad_step: Vec<bool> = (0..t_len)
            .map(|t| x.slice(s![t, .., ..]).iter().any(|v| !v.is_finite()))
            .collect();
        let mut prefix = vec![0usize; t_len + 1];
        for t in 0..t_len {
            prefix[t + 1] = prefix[t] + bad_step[t] as usize;
        }
        let starts: Vec<usize> = (0..=t_len - tau).collect();
        let usable: Vec<usize> = starts
            .iter()
            .copied()
            .filter(|&s| prefix[s + tau] == prefix[s])
            .collect();
        let stats_skipped = starts.len() - usable.len();
        let target = &cfg.target;
        let schema = Arc::new(Schema::new(vec![
            Field::new(schema::TIMESTAMP, schema::timestamp_type(), false),
            Field::new(schema::SERVICE, DataType::Utf8, false),
            Field::new("horizon", DataType::UInt32, false),
            Field::new(format!("predicted_{target}"), DataType::Float64, false),
            Field::new(format!("actual_{target}"), DataType::Float64, true),
            Field::new("replicas", DataType::UInt32, false),
        ]));
        let mut rows = 0usize;
        progress.begin("predicting", Some(usable.len() as u64));
        holoscale_datasets::io::write_atomic(path, |w| {
            let pq = |e: parquet::errors::ParquetError| holoscale_datasets::Error::Parquet {
                path: path.into(),
                source: e,
            };
            let mut writer =
                parquet::arrow::ArrowWriter::try_new(w, schema.clone(), None).map_err(pq)?;
            for chunk in usable.chunks(batch.max(1)) {
                let mut windows = ndarray::Array4::<f32>::zeros((chunk.len(), tau, n, f));
                for (i, &s0) in chunk.iter().enumerate() {
                    windows
                        .index_axis_mut(Axis(0), i)
                        .assign(&x.slice(s![s0..s0 + tau, .., ..]));
                }
                let pred = self.forward(&windows).map_err(|e| {
                    holoscale_datasets::Error::InvalidParameter {
                        name: "model".into(),
                        message: e.to_string(),
                    }
                })?;
                let mut ts = Vec::new();
                let mut svc = Vec::new();
                let mut hz = Vec::new();
                let mut pv = Vec::new();
                let mut av = Vec::new();
                let mut rp = Vec::new();
                for (i, &s0) in chunk.iter().enumerate() {
                    for k in 0..h {
                        let t = s0 + tau + k;
                        for j in 0..n {
                            let v = self.denorm(pred[[i, k, j]], j).map_err(|e| {
                                holoscale_datasets::Error::InvalidParameter {
                                    name: "normalizer".into(),
                                    message: e.to_string(),
                                }
                            })?;
                            ts.push(tel.timestamp(t));
                            svc.push(self.artifact.services[j].as_str());
                            hz.push(k as u32 + 1);
                            pv.push(v);
                            av.push(
                                actual
                                    .as_ref()
                                    .filter(|_| t < t_len)
                                    .map(|a| a[t * n + j])
                                    .filter(|a| a.is_finite()),
                            );
                            rp.push(self.round(v));
                        }
                    }
                }
                rows += pv.len();
                let cols: Vec<ArrayRef> = vec![
                    Arc::new(TimestampMillisecondArray::from(ts).with_timezone("UTC")),
                    Arc::new(StringArray::from(svc)),
                    Arc::new(UInt32Array::from(hz)),
                    Arc::new(Float64Array::from(pv)),
                    Arc::new(Float64Array::from(av)),
                    Arc::new(UInt32Array::from(rp)),
                ];
                let batch = RecordBatch::try_new(schema.clone(), cols).map_err(|e| {
                    holoscale_datasets::Error::Arrow {
                        path: path.into(),
                        source: e,
                    }
                })?;
                writer.write(&batch).map_err(pq)?;
                progress.advance(chunk.len() as u64);
            }
            writer.close().map_err(pq)?;
            Ok(())
        })?;
        progress.finish();
        Ok(PredictStats {
            windows: usable.len(),
            skipped: stats_skipped,
            rows,
        })
    }
}

/// A rolling input window for per-step inference: a scaler pushes one interval of raw
/// telemetry at a time, standardised once on the way in, and the model predicts from the
/// latest τ intervals without re-reading or re-standardising the history
/// ([`Estimator::predict_rolling`]). Build it with [`Estimator::rolling_window`].
///
/// Intervals must arrive in order on the model's grid. An interval that is skipped (a
/// missed scrape of every service) is held as missing, so predicting from a window that
/// includes it names the missing values; pushing later rows fills the window again.
#[derive(Debug, Clone, PartialEq)]
pub struct RollingWindow {
    spec: InputSpec,
    /// Per service and feature (model order, `[n * F + f]`), the normaliser's mean and
    /// standard deviation.
    mean: Vec<f64>,
    std: Vec<f64>,
    /// `[τ][N][F]` ring of standardised values; slot `head` is the oldest.
    buf: Vec<f32>,
    head: usize,
    len: usize,
    last_ms: Option<i64>,
}

impl RollingWindow {
    /// The model input this window feeds.
    pub fn spec(&self) -> &InputSpec {
        &self.spec
    }

    /// Intervals held (at most the window τ).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True before the first push.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when it holds a whole window.
    pub fn is_full(&self) -> bool {
        self.len == self.spec.window
    }

    /// Timestamp of the latest interval, ms.
    pub fn last_ms(&self) -> Option<i64> {
        self.last_ms
    }

    fn step_len(&self) -> usize {
        self.spec.services.len() * self.spec.features.len()
    }

    /// Appends a slot (dropping the oldest when full) and returns its index.
    fn advance(&mut self) -> usize {
        let tau = self.spec.window;
        if self.len < tau {
            self.len += 1;
            (self.head + self.len - 1) % tau
        } else {
            let slot = self.head;
            self.head = (self.head + 1) % tau;
            slot
        }
    }

    /// Checks that `time_ms` comes after the latest interval on the grid, and holds the
    /// intervals skipped in between as missing.
    fn arrive(&mut self, time_ms: i64) -> Result<()> {
        let interval = self.spec.interval_ms;
        if let Some(last) = self.last_ms {
            let gap = time_ms - last;
            if gap <= 0 || gap % interval != 0 {
                return Err(Error::InvalidParameter {
                    name: "rolling window".into(),
                    message: format!(
                        "an interval at {} does not follow the latest one at {} on the model's {interval} ms grid",
                        format_ms(time_ms),
                        format_ms(last)
                    ),
                });
            }
            let skipped = ((gap / interval - 1) as usize).min(self.spec.window);
            let step = self.step_len();
            for _ in 0..skipped {
                let slot = self.advance();
                self.buf[slot * step..(slot + 1) * step].fill(f32::NAN);
            }
        }
        self.last_ms = Some(time_ms);
        Ok(())
    }

    /// Pushes the interval ending at `time_ms`: `row` is `[N, F]`, raw values in the model's
    /// service and feature order (NaN where a value is missing).
    pub fn push(&mut self, time_ms: i64, row: ArrayView2<'_, f64>) -> Result<()> {
        let want = (self.spec.services.len(), self.spec.features.len());
        if row.dim() != want {
            return Err(Error::Shape {
                what: "rolling-window row [services, features]".into(),
                expected: format!("{want:?}"),
                got: format!("{:?}", row.dim()),
            });
        }
        self.arrive(time_ms)?;
        let slot = self.advance();
        let step = self.step_len();
        let f_len = want.1;
        let out = &mut self.buf[slot * step..(slot + 1) * step];
        for ((n, f), &v) in row.indexed_iter() {
            // As training standardised: the value as f32, then (v − mean) / std.
            let i = n * f_len + f;
            out[i] = ((v as f32 as f64 - self.mean[i]) / self.std[i]) as f32;
        }
        Ok(())
    }

    /// Pushes step `t` of `tel`, taking the model's services and features by name.
    pub fn push_telemetry(&mut self, tel: &Telemetry, t: usize) -> Result<()> {
        if t >= tel.len() {
            return Err(Error::InvalidParameter {
                name: "step".into(),
                message: format!("{t} is beyond the {} steps of {}", tel.len(), tel.source()),
            });
        }
        let svc = self
            .spec
            .services
            .iter()
            .map(|s| tel.require_service(s))
            .collect::<holoscale_datasets::Result<Vec<_>>>()?;
        let cols = self
            .spec
            .features
            .iter()
            .map(|f| tel.require_column(f))
            .collect::<holoscale_datasets::Result<Vec<_>>>()?;
        let values = tel.values();
        let row = Array2::from_shape_fn((svc.len(), cols.len()), |(n, f)| {
            values[[t, svc[n], cols[f]]]
        });
        self.push(tel.timestamp(t), row.view())
    }

    /// The window in time order, `[τ, N, F]` (standardised).
    fn window(&self) -> Array3<f32> {
        let tau = self.spec.window;
        let (n, f) = (self.spec.services.len(), self.spec.features.len());
        let step = n * f;
        let mut out = Vec::with_capacity(tau * step);
        for k in 0..self.len {
            let slot = (self.head + k) % tau;
            out.extend_from_slice(&self.buf[slot * step..(slot + 1) * step]);
        }
        Array3::from_shape_vec((self.len, n, f), out).expect("len·N·F values")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_rule() {
        assert_eq!(round_replicas(2.34, 0.35, 1, None), 2);
        assert_eq!(round_replicas(2.35, 0.35, 1, None), 3);
        assert_eq!(round_replicas(0.2, 0.35, 1, None), 1, "clamped to min");
        assert_eq!(
            round_replicas(30.7, 0.35, 1, Some(20)),
            20,
            "clamped to max"
        );
        assert_eq!(round_replicas(-3.0, 0.35, 0, None), 0);
    }
}
