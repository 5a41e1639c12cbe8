//! Loading a trained model and predicting: the next steps from the latest window, or every
//! window of a telemetry file, written as predictions Parquet (SPEC 2.5) batch by batch.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Float64Array, RecordBatch, StringArray, TimestampMillisecondArray, UInt32Array,
};
use arrow::datatypes::{DataType, Field, Schema};
use burn::prelude::*;
use ndarray::{Array3, Axis, s};

use crate::artifact::Artifact;
use crate::error::{Error, Result};
use crate::model::Forecaster;
use crate::training::affinity_tensor;
use holoscale_datasets::Telemetry;
use holoscale_datasets::schema;
use holoscale_datasets::tensor::{Normalizer, array4_to_tensor};
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
pub struct Estimator<B: Backend = burn::backend::NdArray> {
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

    /// Checks that `tel` has the model's services, features and interval, and returns its
    /// features as a standardised `[T, N, F]` array in model order.
    pub fn features_of(&self, tel: &Telemetry) -> Result<Array3<f32>> {
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
        let dense = holoscale_datasets::tensor::Dense::from_telemetry(
            tel,
            Some(want.as_slice()),
            &cfg.features,
        )?;
        let mut values = dense.values;
        self.artifact.normalizer.apply(&cfg.features, &mut values)?;
        Ok(values)
    }

    fn normalizer(&self) -> &Normalizer {
        &self.artifact.normalizer
    }

    fn denorm(&self, z: f32) -> Result<f64> {
        Ok(self
            .normalizer()
            .invert_value(&self.artifact.config.data.target, z as f64)?)
    }

    fn round(&self, v: f64) -> u32 {
        let m = &self.artifact.metadata;
        round_replicas(v, m.rounding_threshold, m.min_replicas, m.max_replicas)
    }

    /// Predicts the next `H` steps after the last window of `tel`.
    pub fn predict_next(&self, tel: &Telemetry) -> Result<Forecast> {
        let x = self.features_of(tel)?;
        let tau = self.artifact.config.data.window;
        let t_len = x.dim().0;
        if t_len < tau {
            return Err(self.mismatch(
                tel,
                format!("{t_len} steps are fewer than the model's window of {tau}"),
            ));
        }
        let window = x.slice(s![t_len - tau.., .., ..]);
        if let Some(((t, n, f), _)) = window.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(holoscale_datasets::Error::MissingValue {
                file: tel.source().to_string(),
                service: self.artifact.services[n].clone(),
                column: self.artifact.config.data.features[f].clone(),
                time: format_ms(tel.timestamp(t_len - tau + t)),
            }
            .into());
        }
        let batch = window.to_owned().insert_axis(Axis(0));
        let pred = self.forward(&batch)?; // [1, H, N]
        let h = pred.dim().1;
        let mut values = Vec::with_capacity(h);
        let mut replicas = Vec::with_capacity(h);
        for k in 0..h {
            let row: Vec<f64> = (0..pred.dim().2)
                .map(|n| self.denorm(pred[[0, k, n]]))
                .collect::<Result<_>>()?;
            replicas.push(row.iter().map(|&v| self.round(v)).collect());
            values.push(row);
        }
        Ok(Forecast {
            services: self.artifact.services.clone(),
            times_ms: (0..h)
                .map(|k| tel.end_ms() + (k as i64 + 1) * tel.interval_ms())
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
        if t_len < tau {
            return Err(self.mismatch(
                tel,
                format!("{t_len} steps are fewer than the model's window of {tau}"),
            ));
        }
        let actual: Option<Vec<f64>> = tel.column_index(&cfg.target).map(|c| {
            let svc: Vec<usize> = self
                .artifact
                .services
                .iter()
                .map(|s| tel.service_index(s).expect("checked"))
                .collect();
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
                            let v = self.denorm(pred[[i, k, j]]).map_err(|e| {
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
