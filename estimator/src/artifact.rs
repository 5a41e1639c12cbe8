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
use holoscale_datasets::io::DirManifest;
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

/// The error of a failed file operation `action` on `path`.
pub(crate) fn io(path: &Path, action: &'static str) -> impl FnOnce(std::io::Error) -> Error {
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

/// What holoscale writes into a model directory: the files of [`Artifact::save`] and the
/// extra JSON files of graph learning, signed by `metadata.json`.
pub static MODEL_DIR: DirManifest = DirManifest {
    what: "model directory",
    files: MODEL_FILES,
    suffixes: &[],
    dirs: &[("baselines", &BASELINE_CACHE)],
    signature: Some(("metadata.json", "\"holoscale_version\"")),
};

/// The files of a model directory; a cached neural baseline has the same files.
const MODEL_FILES: &[&str] = &[
    "config.json",
    "metadata.json",
    "services.json",
    "normalizer.json",
    "model.mpk",
    "affinity.parquet",
    "training.parquet",
    "graph_learning.json",
    "baseline_cache.json",
];

/// `baselines/` of a model directory: the trained baselines `evaluate` keeps
/// ([`crate::evaluate::EvalOptions::cache`]).
pub static BASELINE_CACHE: DirManifest = DirManifest {
    what: "baseline cache",
    files: &[],
    suffixes: &[],
    dirs: &[
        ("gru", &CACHED_NETWORK),
        ("tgcn", &CACHED_NETWORK),
        ("gbdt", &crate::evaluate::CACHED_TREES),
    ],
    signature: None,
};

/// A cached neural baseline: a model directory with its cache key.
pub static CACHED_NETWORK: DirManifest = DirManifest {
    what: "cached baseline",
    files: MODEL_FILES,
    suffixes: &[],
    dirs: &[],
    signature: Some(("metadata.json", "\"holoscale_version\"")),
};

/// The files of model directory `dir` a command reads (for refusing to write over them).
pub fn model_files(dir: &Path) -> Vec<PathBuf> {
    holoscale_datasets::io::output::files_in(dir, MODEL_DIR.files)
}

/// Where a model is being written: the staging directory `.NAME.partial` beside the target
/// `NAME`. Training keeps its checkpoints there ([`Staging::checkpoints`]); the finished
/// model is written there and renamed into place by [`Staging::commit`], so the target is
/// always either the old model or the new one, never half of one. Opening the staging
/// directory first proves that the target's location is writable before any work.
#[derive(Debug)]
pub struct Staging {
    target: PathBuf,
    dir: PathBuf,
}

/// Name of the checkpoint directory inside a staging directory.
pub const CHECKPOINT_DIR: &str = "checkpoint";

impl Staging {
    /// Prepares to write the model directory `target`: refused when it holds anything
    /// unless `force`, and even with `force` when it holds anything but a model holoscale
    /// wrote or one of `inputs`. A checkpoint of an interrupted training is kept when
    /// `resume`, discarded with `force`, and refused otherwise; `resume` without one is an
    /// error.
    pub fn open(target: &Path, force: bool, resume: bool, inputs: &[&Path]) -> Result<Staging> {
        holoscale_datasets::io::check_output_dir(target, force, &MODEL_DIR, inputs)?;
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(io(&parent, "create"))?;
        let name = target
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("model");
        let dir = parent.join(format!(".{name}.partial"));
        let staging = Staging {
            target: target.to_path_buf(),
            dir,
        };
        let has_checkpoint = staging.has_checkpoint();
        match (has_checkpoint, resume, force) {
            (true, true, _) => return Ok(staging),
            (false, true, _) => {
                return Err(Error::Checkpoint {
                    dir: staging.dir.clone(),
                    message: "holds no checkpoint of an interrupted training to resume; train without resuming".into(),
                });
            }
            (true, false, false) => {
                return Err(Error::Checkpoint {
                    dir: staging.dir.clone(),
                    message: "holds the checkpoint of an interrupted training; resume it (`resume`), or start over (`force`)".into(),
                });
            }
            _ => {}
        }
        if staging.dir.exists() {
            std::fs::remove_dir_all(&staging.dir).map_err(io(&staging.dir, "remove"))?;
        }
        std::fs::create_dir_all(&staging.dir).map_err(io(&staging.dir, "create"))?;
        Ok(staging)
    }

    /// The model directory this writes.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The directory training keeps its checkpoints in.
    pub fn checkpoints(&self) -> PathBuf {
        self.dir.join(CHECKPOINT_DIR)
    }

    /// Whether an interrupted training left a checkpoint.
    pub fn has_checkpoint(&self) -> bool {
        self.checkpoints().join("state.json").is_file()
    }

    /// Writes `artifact` into the staging directory and renames it into place (replacing
    /// the model there, which the checks of [`Staging::open`] allowed), then removes the
    /// staging directory with its checkpoints.
    pub fn commit<B: Backend>(self, artifact: &Artifact<B>) -> Result<()> {
        let fresh = self.dir.join("model");
        if fresh.exists() {
            std::fs::remove_dir_all(&fresh).map_err(io(&fresh, "remove"))?;
        }
        std::fs::create_dir_all(&fresh).map_err(io(&fresh, "create"))?;
        artifact.write_files(&fresh)?;
        if self.target.exists() {
            let old = self.dir.join("replaced");
            std::fs::rename(&self.target, &old).map_err(io(&self.target, "move aside"))?;
            if let Err(e) = std::fs::rename(&fresh, &self.target) {
                // Put the old model back before reporting.
                let _ = std::fs::rename(&old, &self.target);
                return Err(io(&self.target, "rename into place")(e));
            }
        } else {
            std::fs::rename(&fresh, &self.target).map_err(io(&self.target, "rename into place"))?;
        }
        std::fs::remove_dir_all(&self.dir).map_err(io(&self.dir, "remove"))?;
        Ok(())
    }
}

impl<B: Backend> Artifact<B> {
    /// Writes the artifact to `dir`, which must not exist or be empty unless `overwrite`,
    /// and even then may hold only a model holoscale wrote ([`MODEL_DIR`]). The files are
    /// written to a staging directory beside it and renamed into place ([`Staging`]).
    pub fn save(&self, dir: &Path, overwrite: bool) -> Result<()> {
        Staging::open(dir, overwrite, false, &[])?.commit(self)
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
        validate(dir, &metadata, &config, &services.services, &normalizer)?;
        let model = load_weights::<B>(dir, &config.model, device)?;
        let (names, affinity) = read_affinity(&dir.join("affinity.parquet"))?;
        if names != services.services {
            return Err(artifact_err(
                dir,
                "affinity.parquet and services.json list different services",
            ));
        }
        if affinity.iter().any(|v| !(v.is_finite() && *v >= 0.0)) {
            return Err(artifact_err(
                dir,
                "affinity.parquet: every weight must be finite and non-negative",
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

/// A field of a model directory's file that is out of its domain or disagrees with another.
fn bad_field(dir: &Path, file: &str, field: &str, message: impl std::fmt::Display) -> Error {
    artifact_err(
        dir,
        format!("{file}: `{field}` {message}; restore the file or retrain the model"),
    )
}

/// Checks every field of `metadata.json`, `config.json`, `services.json` and
/// `normalizer.json` on its own and against the others, before any weights are read.
fn validate(
    dir: &Path,
    metadata: &Metadata,
    config: &ArtifactConfig,
    services: &[String],
    normalizer: &Normalizer,
) -> Result<()> {
    let schema = holoscale_datasets::schema::SCHEMA_VERSION;
    if !(1..=schema).contains(&metadata.schema_version) {
        return Err(bad_field(
            dir,
            "metadata.json",
            "schema_version",
            format!(
                "is {}, but this holoscale reads telemetry schema versions 1 to {schema}",
                metadata.schema_version
            ),
        ));
    }
    let meta = |field: &str, message: String| Err(bad_field(dir, "metadata.json", field, message));
    if metadata.best_epoch == 0 {
        return meta("best_epoch", "must be at least 1".into());
    }
    if let Some(max) = metadata.max_replicas
        && max < metadata.min_replicas
    {
        return meta(
            "max_replicas",
            format!("is {max}, below `min_replicas` {}", metadata.min_replicas),
        );
    }
    if !(0.0..=1.0).contains(&metadata.rounding_threshold) {
        return meta(
            "rounding_threshold",
            format!("is {}, not in [0, 1]", metadata.rounding_threshold),
        );
    }
    if services.is_empty() {
        return Err(bad_field(dir, "services.json", "services", "is empty"));
    }
    if let Some(dup) = services
        .iter()
        .enumerate()
        .find(|(i, s)| services[..*i].contains(s))
    {
        return Err(bad_field(
            dir,
            "services.json",
            "services",
            format!("lists `{}` twice", dup.1),
        ));
    }
    let data = &config.data;
    let cfg = |field: &str, message: String| Err(bad_field(dir, "config.json", field, message));
    for (field, v) in [
        ("data.window", data.window),
        ("data.horizon", data.horizon),
        ("data.stride", data.stride),
    ] {
        if v == 0 {
            return cfg(field, "must be at least 1".into());
        }
    }
    if data.interval_ms <= 0 {
        return cfg(
            "data.interval_ms",
            format!("is {}, must be positive", data.interval_ms),
        );
    }
    if data.target.is_empty() {
        return cfg("data.target", "is empty".into());
    }
    if data.features.is_empty() {
        return cfg("data.features", "is empty".into());
    }
    if let Some(dup) = data
        .features
        .iter()
        .enumerate()
        .find(|(i, f)| data.features[..*i].contains(f))
    {
        return cfg("data.features", format!("lists `{}` twice", dup.1));
    }
    if let Err(e) = data.split.split(100) {
        return cfg("data.split", e.to_string());
    }
    if let Err(e) = config.train.check() {
        return cfg("train", e.to_string());
    }
    if let Err(e) = config.model.check() {
        return cfg("model", e.to_string());
    }
    // The network's sizes against the data's.
    let (window, horizon, features, nodes) = config.model.sizes();
    if let Some(w) = window
        && w != data.window
    {
        return cfg(
            "model.window",
            format!("is {w}, but `data.window` is {}", data.window),
        );
    }
    if horizon != data.horizon {
        return cfg(
            "model.horizon",
            format!("is {horizon}, but `data.horizon` is {}", data.horizon),
        );
    }
    if features != data.features.len() {
        return cfg(
            "model.features",
            format!(
                "is {features}, but `data.features` lists {}",
                data.features.len()
            ),
        );
    }
    if let Some(n) = nodes
        && n != services.len()
    {
        return cfg(
            "model.services",
            format!("is {n}, but services.json lists {}", services.len()),
        );
    }
    if let ModelSpec::Stgcn(c) = &config.model
        && let Some(i) = c.residual_feature
        && data.features.get(i) != Some(&data.target)
    {
        return cfg(
            "model.residual_feature",
            format!(
                "is {i}, but the target `{}` is not feature {i} of `data.features`",
                data.target
            ),
        );
    }
    if let Some(p) = &normalizer.per_service
        && p.services != services
    {
        return Err(bad_field(
            dir,
            "normalizer.json",
            "per_service.services",
            format!(
                "are {:?}, but services.json lists {:?}",
                p.services, services
            ),
        ));
    }
    for column in data.features.iter().chain(std::iter::once(&data.target)) {
        if !normalizer.features.contains(column) {
            return Err(bad_field(
                dir,
                "normalizer.json",
                "features",
                format!("does not cover `{column}`, which config.json uses"),
            ));
        }
    }
    Ok(())
}

/// Collects the shape of every float parameter, in visiting order.
struct Shapes(Vec<Vec<usize>>);

impl<B: Backend> burn::module::ModuleVisitor<B> for Shapes {
    fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<B, D>>) {
        self.0.push(param.val().dims().to_vec());
    }
}

fn shapes<B: Backend>(model: &AnyModel<B>) -> Vec<Vec<usize>> {
    let mut s = Shapes(Vec::new());
    model.visit(&mut s);
    s.0
}

/// Loads `model.mpk` into the network `spec` describes, refusing a file that is not a
/// burn record (empty, truncated, random) and weights of another shape than the network.
fn load_weights<B: Backend>(
    dir: &Path,
    spec: &ModelSpec,
    device: &B::Device,
) -> Result<AnyModel<B>> {
    let file = dir.join("model.mpk");
    let bytes = std::fs::read(&file).map_err(|e| {
        artifact_err(
            dir,
            format!("cannot read model.mpk ({e}); is this a holoscale model directory?"),
        )
    })?;
    // burn writes a `BurnRecord` (its metadata, then the network's record) as a MessagePack
    // map: anything that does not decode as one is not a weights file.
    #[derive(Deserialize)]
    #[allow(dead_code)] // decoded only to check the structure
    struct RecordProbe {
        metadata: serde::de::IgnoredAny,
        item: serde::de::IgnoredAny,
    }
    if rmp_serde::from_slice::<RecordProbe>(&bytes).is_err() {
        return Err(artifact_err(
            dir,
            format!(
                "model.mpk: the weights file is corrupt or incomplete ({} bytes that are not a weights record); restore it or retrain the model",
                bytes.len()
            ),
        ));
    }
    let fresh = spec.init::<B>(device);
    let want = shapes(&fresh);
    // A record whose tensor data do not fit their stated shape makes burn panic: a corrupt
    // file, reported as one.
    let file_name = file.display().to_string();
    let model = holoscale_datasets::io::guard::guarded(&file_name, || {
        fresh
            .load_file(
                dir.join("model"),
                &NamedMpkFileRecorder::<FullPrecisionSettings>::new(),
                device,
            )
            .map_err(|e| {
                artifact_err(
                    dir,
                    format!("model.mpk does not hold the weights of the network config.json describes ({e}); restore both files or retrain the model"),
                )
            })
    })?;
    let got = shapes(&model);
    if got != want {
        let k = want.iter().zip(&got).take_while(|(w, g)| w == g).count();
        let (w, g) = (want.get(k), got.get(k));
        return Err(artifact_err(
            dir,
            format!(
                "model.mpk holds weights of another shape than the network config.json describes (parameter {k}: {g:?} in the file, {w:?} from config.json); was config.json edited? restore it or retrain the model"
            ),
        ));
    }
    Ok(model)
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
    holoscale_datasets::io::guard::guarded(&path.display().to_string(), || {
        read_affinity_unguarded(path)
    })
}

fn read_affinity_unguarded(path: &Path) -> Result<(Vec<String>, Array2<f64>)> {
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
    holoscale_datasets::io::guard::guarded(&path.display().to_string(), || {
        read_history_unguarded(path)
    })
}

fn read_history_unguarded(path: &Path) -> Result<Vec<EpochReport>> {
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
