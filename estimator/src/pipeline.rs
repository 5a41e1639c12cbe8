//! From telemetry to a trained artifact: choosing target and features, windows and splits,
//! the starting affinity, the network, and training.

use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use ndarray::Array2;

use crate::affinity;
use crate::artifact::{
    ARTIFACT_VERSION, Artifact, ArtifactConfig, DEFAULT_ROUNDING_THRESHOLD, DataConfig, Metadata,
};
use crate::baselines::{GruForecasterConfig, TgcnConfig};
use crate::checkpoint::{self, Checkpointing};
use crate::error::Result;
use crate::model::StgcnConfig;
use crate::parallel;
use crate::training::{AnyModel, EpochReport, ModelKind, ModelSpec, TrainConfig, fit_checkpointed};
use holoscale_datasets::tensor::{SplitSpec, WindowOptions, WindowSpec, Windowed};
use holoscale_datasets::{CallEdges, Telemetry, schema};

/// Network size presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Preset {
    /// Small enough to train on a laptop CPU (32 filters, τ = 3).
    #[default]
    Cpu,
    /// DeepScaler's reference sizes (128 filters, τ = 80).
    Paper,
}

/// Everything `holoscale train` can set.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    /// Target column; `None`: `optimal_replicas` when present, else `replicas`.
    pub target: Option<String>,
    /// Feature columns; `None`: replicas, CPU, request rate, latency, memory when present.
    pub features: Option<Vec<String>>,
    /// Window τ; `None`: the preset's.
    pub window: Option<usize>,
    /// Horizon H.
    pub horizon: usize,
    /// Steps between training windows.
    pub stride: usize,
    /// Train / validation shares.
    pub split: SplitSpec,
    /// Size preset.
    pub preset: Preset,
    /// Network.
    pub kind: ModelKind,
    /// Optimisation (default: [`TrainConfig::cpu`], holoscale's settings for the default
    /// preset; [`TrainConfig::new`] is DeepScaler's).
    pub train: TrainConfig,
    /// Replica bounds of the rounding rule.
    pub min_replicas: u32,
    /// Upper replica bound (none: unbounded).
    pub max_replicas: Option<u32>,
    /// Skip windows with missing values instead of refusing the data.
    pub skip_missing: bool,
    /// Keep a checkpoint after every epoch (and resume from one); none by default.
    pub checkpoint: Option<Checkpointing>,
    /// Threads each training batch (and each validation pass) is split over
    /// ([`crate::parallel`]); 0, the default: one per core.
    pub threads: usize,
    /// Width of the estimator's learned service embedding
    /// ([`StgcnConfig::service_embedding`]); `None`: none, as in the paper.
    pub service_embedding: Option<usize>,
    /// The estimator's per-service output gain and offset ([`StgcnConfig::service_head`]).
    pub service_head: bool,
    /// When the target is one of the features, the estimator predicts its change from the
    /// last value in the window ([`StgcnConfig::residual_feature`]); ignored, with a note,
    /// when it is not.
    pub relative: bool,
    /// Standardise every feature and the target per service instead of pooled over all
    /// services (holoscale's option; DeepScaler standardises pooled), with the loss
    /// weighted back to the MAE in target units ([`Windowed::loss_weights`]).
    pub per_service_scaling: bool,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            target: None,
            features: None,
            window: None,
            horizon: 1,
            stride: 1,
            split: SplitSpec::default(),
            preset: Preset::Cpu,
            kind: ModelKind::Stgcn,
            train: TrainConfig::cpu(),
            min_replicas: 1,
            max_replicas: None,
            skip_missing: false,
            checkpoint: None,
            threads: 0,
            service_embedding: None,
            service_head: false,
            relative: false,
            per_service_scaling: false,
        }
    }
}

/// The default target of `tel`: `optimal_replicas` when present, else `replicas`.
pub fn default_target(tel: &Telemetry) -> String {
    if tel.column_index(schema::OPTIMAL_REPLICAS).is_some() {
        schema::OPTIMAL_REPLICAS.into()
    } else {
        schema::REPLICAS.into()
    }
}

/// The default features of `tel`: replicas, CPU (cores, else utilisation), request rate,
/// latency, memory (bytes, else utilisation), those present.
pub fn default_features(tel: &Telemetry) -> Vec<String> {
    let has = |c: &str| tel.column_index(c).is_some();
    let pick = |a: &'static str, b: &'static str| {
        if has(a) {
            Some(a)
        } else if has(b) {
            Some(b)
        } else {
            None
        }
    };
    [
        pick(schema::REPLICAS, schema::REPLICAS),
        pick(schema::CPU_CORES, schema::CPU_UTIL),
        pick(schema::REQ_RATE, schema::REQ_RATE),
        pick(schema::LATENCY_MS, schema::LATENCY_P95_MS),
        pick(schema::MEM_BYTES, schema::MEM_UTIL),
    ]
    .into_iter()
    .flatten()
    .map(str::to_string)
    .collect()
}

/// A hex fingerprint of the data a model was trained on (FNV-1a over names, grid and
/// values).
pub fn fingerprint(tel: &Telemetry, features: &[String], target: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for s in tel.services() {
        eat(s.as_bytes());
    }
    for f in features.iter().chain(std::iter::once(&target.to_string())) {
        eat(f.as_bytes());
        if let Ok(col) = tel.column(f) {
            for v in col.iter() {
                eat(&v.to_bits().to_le_bytes());
            }
        }
    }
    eat(&tel.start_ms().to_le_bytes());
    eat(&tel.interval_ms().to_le_bytes());
    eat(&(tel.len() as u64).to_le_bytes());
    format!("{h:016x}")
}

/// What training produced besides the artifact.
#[derive(Debug)]
pub struct Trained<B: burn::prelude::Backend> {
    /// The artifact, ready to save.
    pub artifact: Artifact<B>,
    /// The windows it was trained on.
    pub data: Windowed,
    /// Messages for the user (such as an identity affinity for lack of call edges).
    pub notes: Vec<String>,
}

/// The affinity to start from: the normalised invocation graph of `edges`, or the identity.
pub fn starting_affinity(
    edges: Option<&CallEdges>,
    services: &[String],
    notes: &mut Vec<String>,
) -> (Array2<f64>, &'static str) {
    match edges {
        Some(e) => {
            let a = affinity::invocation(e, services);
            if a.iter().all(|&v| v == 0.0) {
                notes.push("the call edges name none of the telemetry's service pairs; using the identity affinity".into());
                (Array2::eye(services.len()), "identity")
            } else {
                (affinity::normalize(&a), "invocation")
            }
        }
        None => {
            notes.push("no call edges given: the estimator starts from the identity affinity and sees no dependencies".into());
            (Array2::eye(services.len()), "identity")
        }
    }
}

/// Everything training needs before the first epoch: windows, starting affinity, network
/// specification. [`train`] fits it directly; the graph-learning crate runs its EM loop on it.
#[derive(Debug)]
pub struct Prepared {
    /// The windows (with the normaliser fitted on the training split).
    pub data: Windowed,
    /// The network to build.
    pub model: ModelSpec,
    /// The starting affinity (normalised invocation graph, or the identity).
    pub affinity: Array2<f64>,
    /// Where the starting affinity came from (`invocation` or `identity`).
    pub affinity_source: &'static str,
    /// Messages for the user.
    pub notes: Vec<String>,
    /// Fingerprint of the data (see [`fingerprint`]).
    pub fingerprint: String,
    /// Sampling interval of the telemetry, ms.
    pub interval_ms: i64,
}

/// Chooses target and features, builds the windows and the starting affinity, and specifies
/// the network of `opts`.
pub fn prepare(
    tel: &Telemetry,
    edges: Option<&CallEdges>,
    opts: &TrainOptions,
) -> Result<Prepared> {
    opts.train.check()?;
    let mut notes = Vec::new();
    let target = opts.target.clone().unwrap_or_else(|| default_target(tel));
    let features = opts
        .features
        .clone()
        .unwrap_or_else(|| default_features(tel));
    let n = tel.services().len();
    let stgcn = match opts.preset {
        Preset::Cpu => StgcnConfig::cpu(n, features.len()),
        Preset::Paper => StgcnConfig::new(n, features.len()),
    }
    .with_horizon(opts.horizon)
    .with_service_embedding(opts.service_embedding.filter(|&w| w > 0))
    .with_service_head(opts.service_head.then_some(true));
    let residual = features.iter().position(|f| f == &target);
    if opts.relative && residual.is_none() && opts.kind == ModelKind::Stgcn {
        notes.push(format!(
            "relative: the target `{target}` is not an input feature, so the estimator predicts its level"
        ));
    }
    let stgcn = stgcn.with_residual_feature(residual.filter(|_| opts.relative));
    let window = opts.window.unwrap_or(stgcn.window);
    let spec = WindowSpec::try_new(window, opts.horizon, opts.stride)?;
    let data = Windowed::new(
        tel,
        &features,
        &target,
        spec,
        opts.split,
        WindowOptions {
            skip_missing: opts.skip_missing,
            per_service_scaling: opts.per_service_scaling,
        },
    )?;
    let (affinity, affinity_source) = starting_affinity(edges, &data.services, &mut notes);
    let model = match opts.kind {
        ModelKind::Stgcn => ModelSpec::Stgcn(stgcn.with_window(window)),
        ModelKind::Gru => {
            ModelSpec::Gru(GruForecasterConfig::new(features.len()).with_horizon(opts.horizon))
        }
        ModelKind::Tgcn => {
            ModelSpec::Tgcn(TgcnConfig::new(features.len()).with_horizon(opts.horizon))
        }
    };
    Ok(Prepared {
        fingerprint: fingerprint(tel, &features, &target),
        data,
        model,
        affinity,
        affinity_source,
        notes,
        interval_ms: tel.interval_ms(),
    })
}

impl Prepared {
    /// The key a checkpoint of this training must carry: the data's fingerprint, the
    /// network, the optimisation settings, the windows and the starting affinity, plus
    /// `extra` (the graph learner's settings).
    pub fn checkpoint_key<T: serde::Serialize>(&self, opts: &TrainOptions, extra: &T) -> String {
        checkpoint::key(&(
            &self.fingerprint,
            &self.model,
            &opts.train,
            (
                &self.data.spec,
                &self.data.splits,
                &self.data.target_name,
                self.data.normalizer.is_per_service(),
            ),
            self.affinity
                .iter()
                .map(|v| v.to_bits())
                .collect::<Vec<u64>>(),
            extra,
        ))
    }

    /// The artifact of a trained network: `affinity` is the matrix it was trained with and
    /// `source` where that came from (`invocation`, `identity`, `learned`).
    pub fn into_trained<B: burn::prelude::Backend>(
        self,
        opts: &TrainOptions,
        model: AnyModel<B>,
        history: Vec<EpochReport>,
        best_epoch: usize,
        affinity: Array2<f64>,
        source: &str,
    ) -> Trained<B> {
        let data = self.data;
        let artifact = Artifact {
            config: ArtifactConfig {
                artifact_version: ARTIFACT_VERSION,
                model: self.model,
                train: opts.train.clone(),
                data: DataConfig {
                    target: data.target_name.clone(),
                    features: data.features.clone(),
                    window: data.spec.input,
                    horizon: opts.horizon,
                    stride: opts.stride,
                    split: opts.split,
                    interval_ms: self.interval_ms,
                },
            },
            model,
            normalizer: data.normalizer.clone(),
            services: data.services.clone(),
            affinity,
            history,
            metadata: Metadata {
                holoscale_version: env!("CARGO_PKG_VERSION").to_string(),
                schema_version: schema::SCHEMA_VERSION,
                artifact_version: ARTIFACT_VERSION,
                created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                fingerprint: self.fingerprint,
                affinity_source: source.to_string(),
                best_epoch,
                min_replicas: opts.min_replicas,
                max_replicas: opts.max_replicas,
                rounding_threshold: DEFAULT_ROUNDING_THRESHOLD,
            },
            extra_json: Vec::new(),
        };
        Trained {
            artifact,
            data,
            notes: self.notes,
        }
    }
}

/// Builds the windows, the affinity and the network of `opts` and trains it on the fixed
/// starting affinity.
pub fn train<B: AutodiffBackend>(
    tel: &Telemetry,
    edges: Option<&CallEdges>,
    opts: &TrainOptions,
    device: &B::Device,
    progress: &mut dyn FnMut(&EpochReport),
) -> Result<Trained<B::InnerBackend>> {
    let prepared = prepare(tel, edges, opts)?;
    // Seed before initialising, so the same seed gives the same weights.
    let model = {
        let _rng = parallel::seed::<B>(device, opts.train.seed);
        prepared.model.init::<B>(device)
    };
    let key = prepared.checkpoint_key(opts, &());
    let fitted = fit_checkpointed::<B, _>(
        model,
        &prepared.data,
        &prepared.affinity,
        &opts.train,
        opts.threads,
        device,
        progress,
        opts.checkpoint.as_ref().map(|c| (c, key.as_str())),
    )?;
    let (a, source) = (prepared.affinity.clone(), prepared.affinity_source);
    Ok(prepared.into_trained(
        opts,
        fitted.model.valid(),
        fitted.history,
        fitted.best_epoch,
        a,
        source,
    ))
}
