//! The model artifact (SPEC 2.4): a directory with `config.json` (the full training
//! configuration), `model.mpk` (burn record), `normalizer.json`, `services.json`,
//! `affinity.parquet`, `training.parquet` (loss curves) and `metadata.json` (versions,
//! creation time, data fingerprint). A directory is written beside its target and renamed
//! into place, so an interrupted save never leaves half a model.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, Float64Array, RecordBatch, StringArray, UInt32Array};
use arrow::datatypes::{DataType, Field, Float64Type, Schema};
use burn::module::Module;
use burn::prelude::*;
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::training::{AnyModel, EpochReport, ModelSpec, TrainConfig};
use holoscale_datasets::tensor::{Normalizer, SplitSpec};

/// Version of the artifact layout; loading refuses others.
pub const ARTIFACT_VERSION: u32 = 1;

/// Default threshold of the replica rounding rule (SPEC 3): floor below, ceil at or above.
pub const DEFAULT_ROUNDING_THRESHOLD: f64 = 0.35;

/// What the data of a model looked like.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DataConfig {
    /// Target column.
    pub target: String,
    /// Feature columns, in input order.
    pub features: Vec<String>,
    /// Window τ.
    pub window: usize,
    /// Horizon H.
    pub horizon: usize,
    /// Steps between training windows.
    pub stride: usize,
    /// Train / validation shares.
    pub split: SplitSpec,
    /// Sampling interval, ms.
    pub interval_ms: i64,
}

/// `config.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ArtifactConfig {
    /// Layout version.
    pub artifact_version: u32,
    /// Network.
    pub model: ModelSpec,
    /// Optimisation.
    pub train: TrainConfig,
    /// Data.
    pub data: DataConfig,
}

/// `metadata.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Metadata {
    /// Version of holoscale that wrote the model.
    pub holoscale_version: String,
    /// Telemetry schema version of the training data.
    pub schema_version: u32,
    /// Layout version.
    pub artifact_version: u32,
    /// Creation time, RFC 3339.
    pub created_at: String,
    /// Fingerprint of the training data (services, features, steps, time range, values).
    pub fingerprint: String,
    /// Where the affinity came from (`invocation`, `identity`, `learned`).
    pub affinity_source: String,
    /// Best epoch.
    pub best_epoch: usize,
    /// Smallest replica count a prediction rounds to.
    pub min_replicas: u32,
    /// Largest replica count a prediction rounds to (none: unbounded).
    pub max_replicas: Option<u32>,
    /// Threshold of the rounding rule.
    pub rounding_threshold: f64,
}

/// Everything a model directory holds, in memory.
#[derive(Debug, Clone)]
pub struct Artifact<B: Backend> {
    /// `config.json`.
    pub config: ArtifactConfig,
    /// The network.
    pub model: AnyModel<B>,
    /// `normalizer.json`.
    pub normalizer: Normalizer,
    /// `services.json`.
    pub services: Vec<String>,
    /// Normalised affinity the model was trained with, `[N, N]`.
    pub affinity: Array2<f64>,
    /// Loss curves.
    pub history: Vec<EpochReport>,
    /// `metadata.json`.
    pub metadata: Metadata,
    /// JSON files written beside the standard ones, by file name (the graph learner saves
    /// its iteration history as `graph_learning.json`). Not read back by [`Artifact::load`].
    pub extra_json: Vec<(String, serde_json::Value)>,
}

fn io(path: &Path, action: &'static str) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::Io {
        path,
        action,
        source,
    }
}

fn artifact_err(dir: &Path, message: impl Into<String>) -> Error {
    Error::Artifact {
        dir: dir.to_path_buf(),
        message: message.into(),
    }
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value).expect("artifact parts serialise");
    std::fs::write(path, text).map_err(io(path, "write"))
}

fn read_json<T: for<'de> Deserialize<'de>>(dir: &Path, name: &str) -> Result<T> {
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        artifact_err(
            dir,
            format!("cannot read {name} ({e}); is this a holoscale model directory?"),
        )
    })?;
    serde_json::from_str(&text).map_err(|e| artifact_err(dir, format!("{name} is malformed: {e}")))
}

#[derive(Serialize, Deserialize)]
struct ServicesFile {
    services: Vec<String>,
}

impl<B: Backend> Artifact<B> {
    /// Writes the artifact to `dir`, which must not exist or be empty unless `overwrite`.
    /// The files are written to a sibling temporary directory renamed into place at the end.
    pub fn save(&self, dir: &Path, overwrite: bool) -> Result<()> {
        holoscale_datasets::io::check_output_dir(dir, overwrite)?;
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(io(&parent, "create"))?;
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("model");
        let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(io(&tmp, "remove"))?;
        }
        std::fs::create_dir_all(&tmp).map_err(io(&tmp, "create"))?;
        let result = self.write_files(&tmp);
        if let Err(e) = result {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(io(dir, "replace"))?;
        }
        std::fs::rename(&tmp, dir).map_err(io(dir, "rename into place"))?;
        Ok(())
    }

    fn write_files(&self, dir: &Path) -> Result<()> {
        write_json(&dir.join("config.json"), &self.config)?;
        write_json(&dir.join("metadata.json"), &self.metadata)?;
        write_json(
            &dir.join("services.json"),
            &ServicesFile {
                services: self.services.clone(),
            },
        )?;
        self.normalizer.save(&dir.join("normalizer.json"))?;
        self.model
            .clone()
            .save_file(
                dir.join("model"),
                &NamedMpkFileRecorder::<FullPrecisionSettings>::new(),
            )
            .map_err(|e| artifact_err(dir, format!("cannot save the weights: {e}")))?;
        write_affinity(
            &dir.join("affinity.parquet"),
            &self.services,
            &self.affinity,
            &self.metadata.affinity_source,
        )?;
        write_history(&dir.join("training.parquet"), &self.history)?;
        for (name, value) in &self.extra_json {
            write_json(&dir.join(name), value)?;
        }
        Ok(())
    }

    /// Reads a model directory, checking the layout version first.
    pub fn load(dir: &Path, device: &B::Device) -> Result<Artifact<B>> {
        if !dir.is_dir() {
            return Err(artifact_err(
                dir,
                "is not a directory; give a model directory written by training",
            ));
        }
        // Both files carry the layout version; check it before reading anything else.
        for file in ["metadata.json", "config.json"] {
            let version: serde_json::Value = read_json(dir, file)?;
            let found = version
                .get("artifact_version")
                .and_then(|v| v.as_u64())
                .unwrap_or(0) as u32;
            if found != ARTIFACT_VERSION {
                return Err(Error::Version {
                    dir: dir.to_path_buf(),
                    found,
                    supported: ARTIFACT_VERSION,
                });
            }
        }
        let metadata: Metadata = read_json(dir, "metadata.json")?;
        let config: ArtifactConfig = read_json(dir, "config.json")?;
        let services: ServicesFile = read_json(dir, "services.json")?;
        let normalizer = Normalizer::load(&dir.join("normalizer.json"))?;
        let model = config
            .model
            .init::<B>(device)
            .load_file(
                dir.join("model"),
                &NamedMpkFileRecorder::<FullPrecisionSettings>::new(),
                device,
            )
            .map_err(|e| artifact_err(dir, format!("cannot load the weights of model.mpk: {e}")))?;
        let (names, affinity) = read_affinity(&dir.join("affinity.parquet"))?;
        if names != services.services {
            return Err(artifact_err(
                dir,
                "affinity.parquet and services.json list different services",
            ));
        }
        let history = read_history(&dir.join("training.parquet")).unwrap_or_default();
        Ok(Artifact {
            config,
            model,
            normalizer,
            services: services.services,
            affinity,
            history,
            metadata,
            extra_json: Vec::new(),
        })
    }
}

/// Writes a matrix as affinity Parquet (SPEC 2.5): `source`, `destination`, `weight`, `kind`,
/// one row per non-zero entry; a `holoscale.services` metadata entry keeps the order.
pub fn write_affinity(path: &Path, services: &[String], a: &Array2<f64>, kind: &str) -> Result<()> {
    let mut src = Vec::new();
    let mut dst = Vec::new();
    let mut w = Vec::new();
    for ((i, j), &v) in a.indexed_iter() {
        if v != 0.0 {
            src.push(services[i].as_str());
            dst.push(services[j].as_str());
            w.push(v);
        }
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("source", DataType::Utf8, false),
        Field::new("destination", DataType::Utf8, false),
        Field::new("weight", DataType::Float64, false),
        Field::new("kind", DataType::Utf8, false),
    ]));
    let kinds = vec![kind; w.len()];
    let cols: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(src)),
        Arc::new(StringArray::from(dst)),
        Arc::new(Float64Array::from(w)),
        Arc::new(StringArray::from(kinds)),
    ];
    let order = serde_json::to_string(services).expect("names serialise");
    write_batch(
        path,
        schema,
        cols,
        vec![("holoscale.services".into(), order)],
    )
}

/// Reads affinity Parquet written by [`write_affinity`]: the service order and the matrix.
pub fn read_affinity(path: &Path) -> Result<(Vec<String>, Array2<f64>)> {
    let file = File::open(path).map_err(io(path, "open"))?;
    let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| Error::Parquet {
            path: path.into(),
            message: e.to_string(),
        })?;
    let services: Vec<String> = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|e| e.key == "holoscale.services"))
        .and_then(|e| e.value.as_deref())
        .and_then(|v| serde_json::from_str(v).ok())
        .ok_or_else(|| Error::Parquet {
            path: path.into(),
            message: "no service order (holoscale.services metadata); not an affinity written by holoscale".into(),
        })?;
    let n = services.len();
    let mut a = Array2::zeros((n, n));
    let reader = builder.build().map_err(|e| Error::Parquet {
        path: path.into(),
        message: e.to_string(),
    })?;
    for batch in reader {
        let batch = batch.map_err(|e| Error::Parquet {
            path: path.into(),
            message: e.to_string(),
        })?;
        let col = |name: &str| {
            batch
                .column_by_name(name)
                .cloned()
                .ok_or_else(|| Error::Parquet {
                    path: path.into(),
                    message: format!("missing column `{name}`"),
                })
        };
        let (s, d, w) = (col("source")?, col("destination")?, col("weight")?);
        let (s, d, w) = (
            s.as_string::<i32>(),
            d.as_string::<i32>(),
            w.as_primitive::<Float64Type>(),
        );
        for r in 0..batch.num_rows() {
            let i = services.iter().position(|x| x == s.value(r));
            let j = services.iter().position(|x| x == d.value(r));
            if let (Some(i), Some(j)) = (i, j) {
                a[[i, j]] = w.value(r);
            }
        }
    }
    Ok((services, a))
}

fn write_history(path: &Path, history: &[EpochReport]) -> Result<()> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("epoch", DataType::UInt32, false),
        Field::new("train_loss", DataType::Float64, false),
        Field::new("val_loss", DataType::Float64, false),
        Field::new("val_mae", DataType::Float64, false),
        Field::new("learning_rate", DataType::Float64, false),
        Field::new("seconds", DataType::Float64, false),
    ]));
    let f = |g: fn(&EpochReport) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from(
            history.iter().map(g).collect::<Vec<_>>(),
        ))
    };
    let cols: Vec<ArrayRef> = vec![
        Arc::new(UInt32Array::from(
            history.iter().map(|e| e.epoch as u32).collect::<Vec<_>>(),
        )),
        f(|e| e.train_loss),
        f(|e| e.val_loss),
        f(|e| e.val_mae),
        f(|e| e.learning_rate),
        f(|e| e.seconds),
    ];
    write_batch(path, schema, cols, Vec::new())
}

fn read_history(path: &Path) -> Result<Vec<EpochReport>> {
    let file = File::open(path).map_err(io(path, "open"))?;
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| Error::Parquet {
            path: path.into(),
            message: e.to_string(),
        })?;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| Error::Parquet {
            path: path.into(),
            message: e.to_string(),
        })?;
        let f = |i: usize| batch.column(i).as_primitive::<Float64Type>().clone();
        let epochs = batch
            .column(0)
            .as_primitive::<arrow::datatypes::UInt32Type>()
            .clone();
        let (tl, vl, vm, lr, s) = (f(1), f(2), f(3), f(4), f(5));
        let max_epochs = epochs.values().iter().copied().max().unwrap_or(0) as usize;
        for r in 0..batch.num_rows() {
            out.push(EpochReport {
                epoch: epochs.value(r) as usize,
                max_epochs,
                train_loss: tl.value(r),
                val_loss: vl.value(r),
                val_mae: vm.value(r),
                learning_rate: lr.value(r),
                seconds: s.value(r),
            });
        }
    }
    Ok(out)
}

/// Writes one record batch as Parquet atomically, with key-value metadata.
pub(crate) fn write_batch(
    path: &Path,
    schema: Arc<Schema>,
    cols: Vec<ArrayRef>,
    kv: Vec<(String, String)>,
) -> Result<()> {
    let pq = |e: parquet::errors::ParquetError| Error::Parquet {
        path: path.into(),
        message: e.to_string(),
    };
    let batch = RecordBatch::try_new(schema.clone(), cols).map_err(|e| Error::Parquet {
        path: path.into(),
        message: e.to_string(),
    })?;
    let kv: Vec<parquet::file::metadata::KeyValue> = kv
        .into_iter()
        .map(|(k, v)| parquet::file::metadata::KeyValue::new(k, v))
        .collect();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_key_value_metadata(Some(kv))
        .build();
    holoscale_datasets::io::write_atomic(path, |w| {
        let mut writer =
            parquet::arrow::ArrowWriter::try_new(w, schema, Some(props)).map_err(|e| {
                holoscale_datasets::Error::Parquet {
                    path: path.into(),
                    source: e,
                }
            })?;
        writer
            .write(&batch)
            .and_then(|_| writer.close().map(|_| ()))
            .map_err(|e| holoscale_datasets::Error::Parquet {
                path: path.into(),
                source: e,
            })
    })
    .map_err(|e| match e {
        holoscale_datasets::Error::Parquet { source, .. } => pq(source),
        other => Error::Data(other),
    })
}
