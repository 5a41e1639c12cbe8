//! Evaluation of a trained estimator and the baselines on the same test windows.
//!
//! Trained baselines (GRU, T-GCN, trees) can be cached ([`EvalOptions::cache`]): each is
//! saved under `baselines/NAME/` of the model directory with a key of the data and the
//! settings it was trained with, and reused by the next evaluation with the same key.

use std::path::{Path, PathBuf};

use burn::tensor::backend::AutodiffBackend;
use ndarray::{Array2, Array3};
use serde::{Deserialize, Serialize};

use crate::artifact::{Artifact, io as io_err};
use crate::baselines::{persistence, seasonal_naive};
use crate::checkpoint;
use crate::error::{Error, Result};
use crate::gbdt::{GbdtConfig, GbdtForecaster, GbdtProgress};
use crate::inference::round_replicas;
use crate::metrics::{MetricRow, evaluate as metric_rows};
use crate::pipeline::{TrainOptions, fingerprint, train};
use crate::training::{EpochReport, ModelKind, affinity_tensor, predict_windows};
use holoscale_datasets::tensor::{Normalizer, Split, WindowOptions, WindowSpec, Windowed};
use holoscale_datasets::{CallEdges, Telemetry};

/// A baseline to evaluate next to the estimator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Baseline {
    /// Last value.
    Persistence,
    /// Value one season earlier.
    SeasonalNaive,
    /// GRU per service, trained on the same split.
    Gru,
    /// Graph convolution + GRU, trained on the same split.
    Tgcn,
    /// Gradient-boosted trees on window statistics ([`crate::gbdt`]), trained on the same
    /// split.
    Gbdt,
}

impl Baseline {
    /// Every baseline.
    pub const ALL: [Baseline; 5] = [
        Baseline::Persistence,
        Baseline::SeasonalNaive,
        Baseline::Gru,
        Baseline::Tgcn,
        Baseline::Gbdt,
    ];

    /// Name in tables.
    pub fn name(self) -> &'static str {
        match self {
            Baseline::Persistence => "persistence",
            Baseline::SeasonalNaive => "seasonal-naive",
            Baseline::Gru => "gru",
            Baseline::Tgcn => "tgcn",
            Baseline::Gbdt => "gbdt",
        }
    }

    /// Whether the baseline repeats the target's own recent values (persistence, seasonal
    /// naive). Such a baseline is realisable at run time only when the target is an observed
    /// column among the model's inputs; for a label no cluster reports (the simulator's
    /// `optimal_replicas`, an operator's hindsight annotation) it is an upper reference.
    pub fn needs_target_history(self) -> bool {
        matches!(self, Baseline::Persistence | Baseline::SeasonalNaive)
    }
}

/// How a trained baseline's progress is reported to [`evaluate`]'s caller.
#[derive(Debug, Clone, Copy)]
pub enum BaselineProgress<'a> {
    /// A neural baseline finished an epoch.
    Epoch(&'a EpochReport),
    /// The trees finished a boosting round.
    Round(GbdtProgress),
    /// The baseline was read from the cache instead of trained.
    Cached,
}

/// Options of [`evaluate`].
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// Baselines to add.
    pub baselines: Vec<Baseline>,
    /// Season of the seasonal-naive baseline, steps.
    pub season: usize,
    /// Also score the rounded replicas of the neural models (SPEC 3 rule).
    pub rounded: bool,
    /// Most epochs of the neural baselines (GRU, T-GCN); `None` trains them with the
    /// model's own settings.
    pub baseline_epochs: Option<usize>,
    /// Threads the predictions and the baselines' training are split over
    /// ([`crate::parallel`]; 0: one per core).
    pub threads: usize,
    /// Settings of the trees baseline; its seed is replaced by the model's training seed, as
    /// the GRU and T-GCN baselines train with it too.
    pub gbdt: GbdtConfig,
    /// Directory of cached trained baselines (`baselines/` of the model directory); `None`
    /// trains them afresh and keeps nothing.
    pub cache: Option<PathBuf>,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            baselines: Baseline::ALL.to_vec(),
            season: 1,
            rounded: false,
            baseline_epochs: None,
            threads: 0,
            gbdt: GbdtConfig::default(),
            cache: None,
        }
    }
}

/// What one evaluated model is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelInfo {
    /// Name in the rows.
    pub name: String,
    /// Whether it could run in a live cluster: it uses only what the cluster reports. False
    /// for persistence and seasonal naive of a target that is not among the inputs.
    pub realisable: bool,
    /// Why it is not realisable ([`NEEDS_TARGET_NOTE`]); `None` for a realisable model.
    pub note: Option<String>,
}

/// Predictions of every model on the test windows, in target units, with the truth.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// Service order.
    pub services: Vec<String>,
    /// Timestamp of the first target step of each test window, ms.
    pub times_ms: Vec<i64>,
    /// Truth `[windows, horizon, services]`.
    pub truth: Array3<f64>,
    /// (model name, predictions `[windows, horizon, services]`).
    pub predictions: Vec<(String, Array3<f64>)>,
    /// Metric rows of every model.
    pub rows: Vec<MetricRow>,
    /// Every model of `predictions`, in the same order.
    pub models: Vec<ModelInfo>,
    /// Whether the target is one of the model's input features (observed at run time).
    pub target_observed: bool,
    /// Messages (baselines trained on the fly, and so on).
    pub notes: Vec<String>,
}

/// The note of a model that needs the target's own recent values, which are not observable.
pub const NEEDS_TARGET_NOTE: &str =
    "needs the target's own recent values, which a live cluster does not report";

/// The key file of a cached baseline.
const CACHE_KEY_FILE: &str = "baseline_cache.json";

#[derive(Debug, Serialize, Deserialize)]
struct CacheKey {
    key: String,
    baseline: String,
    epochs: usize,
}

fn read_cache_key(dir: &Path) -> Option<CacheKey> {
    let text = std::fs::read_to_string(dir.join(CACHE_KEY_FILE)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Writes the trees into `cache/gbdt` through a temporary directory renamed into place.
fn save_trees(cache: &Path, trees: &GbdtForecaster, key: &CacheKey) -> Result<()> {
    std::fs::create_dir_all(cache).map_err(io_err(cache, "create"))?;
    let tmp = cache.join(".holoscale-gbdt.tmp");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io_err(&tmp, "remove"))?;
    }
    std::fs::create_dir(&tmp).map_err(io_err(&tmp, "create"))?;
    trees.save(&tmp)?;
    let key_path = tmp.join(CACHE_KEY_FILE);
    std::fs::write(
        &key_path,
        serde_json::to_string_pretty(key).expect("cache keys serialise"),
    )
    .map_err(io_err(&key_path, "write"))?;
    let target = cache.join("gbdt");
    if target.exists() {
        holoscale_datasets::io::check_output_dir(&target, true, &CACHED_TREES, &[])?;
        std::fs::remove_dir_all(&target).map_err(io_err(&target, "remove"))?;
    }
    std::fs::rename(&tmp, &target).map_err(io_err(&target, "rename into place"))
}

/// A cached trees baseline: the key file and one ensemble per horizon step.
pub static CACHED_TREES: holoscale_datasets::io::DirManifest =
    holoscale_datasets::io::DirManifest {
        what: "cached trees baseline",
        files: &[CACHE_KEY_FILE],
        suffixes: &[".hbm"],
        dirs: &[],
        signature: Some((CACHE_KEY_FILE, "\"key\"")),
    };

/// Evaluates `artifact` on the test split of `tel` (the split of its training), with the
/// baselines of `opts` on the same windows. Neural baselines are trained here with the
/// artifact's training configuration; the T-GCN baseline uses the invocation graph of
/// `edges` when given, else the artifact's affinity.
pub fn evaluate<B: AutodiffBackend>(
    artifact: &Artifact<B::InnerBackend>,
    tel: &Telemetry,
    edges: Option<&CallEdges>,
    opts: &EvalOptions,
    device: &B::Device,
    progress: &mut (dyn FnMut(&str, BaselineProgress<'_>) + Send),
) -> Result<Evaluation> {
    let cfg = &artifact.config.data;
    let spec = WindowSpec::try_new(cfg.window, cfg.horizon, 1)?;
    let windows = |normalizer: Option<Normalizer>| {
        Windowed::with_normalizer(
            tel,
            &cfg.features,
            &cfg.target,
            spec,
            cfg.split,
            WindowOptions {
                skip_missing: true,
                ..WindowOptions::default()
            },
            normalizer,
        )
    };
    let data = windows(Some(artifact.normalizer.clone()))?;
    // The trees see the inputs standardised pooled, whatever the model's scaling: a model
    // trained with per-service scaling is compared with the same trees as one without.
    let pooled = if artifact.normalizer.is_per_service() {
        Some(windows(None)?)
    } else {
        None
    };
    if data.services != artifact.services {
        return Err(Error::Mismatch {
            dir: "model".into(),
            data: tel.source().to_string(),
            message: format!(
                "the model was trained on services {:?}, the data have {:?}",
                artifact.services, data.services
            ),
        });
    }
    let starts = data.starts(Split::Test).to_vec();
    if starts.is_empty() {
        return Err(Error::param(
            "split",
            "the test range holds no complete window",
        ));
    }
    let denorm_by = |normalizer: &Normalizer, z: &Array3<f32>| -> Result<Array3<f64>> {
        if !normalizer.features.iter().any(|f| f == &cfg.target) {
            return Err(Error::param(
                "target",
                "the normaliser does not cover the target",
            ));
        }
        let stats = (0..z.dim().2)
            .map(|j| normalizer.stats(&cfg.target, j))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(Array3::from_shape_fn(z.dim(), |(w, k, j)| {
            z[[w, k, j]] as f64 * stats[j].1 + stats[j].0
        }))
    };
    let denorm = |z: &Array3<f32>| denorm_by(&artifact.normalizer, z);
    let (tau, h, n) = (cfg.window, cfg.horizon, data.services.len());
    let truth_z = Array3::from_shape_fn((starts.len(), h, n), |(w, k, j)| {
        data.target[[starts[w] + tau + k, j]]
    });
    let truth = denorm(&truth_z)?;
    let mut predictions = Vec::new();
    let mut notes = Vec::new();
    let inner_device = device;
    let a = affinity_tensor::<B::InnerBackend>(&artifact.affinity, inner_device);
    let name = artifact.config.model.kind().name().to_string();
    let own = denorm(&predict_windows(
        &artifact.model,
        &data,
        &starts,
        &a,
        inner_device,
        256,
        opts.threads,
    ))?;
    let meta = &artifact.metadata;
    let round = |p: &Array3<f64>| {
        p.mapv(|v| {
            round_replicas(
                v,
                meta.rounding_threshold,
                meta.min_replicas,
                meta.max_replicas,
            ) as f64
        })
    };
    if opts.rounded {
        predictions.push((format!("{name}-rounded"), round(&own)));
    }
    predictions.push((name, own));
    let target_observed = cfg.features.iter().any(|f| f == &cfg.target);
    let data_key = fingerprint(tel, &cfg.features, &cfg.target);
    let edges_key = edges.map(|e| checkpoint::key(&format!("{:?}", e.aggregate())));
    let mut infos: Vec<ModelInfo> = predictions
        .iter()
        .map(|(n, _)| ModelInfo {
            name: n.clone(),
            realisable: true,
            note: None,
        })
        .collect();
    let mut push = |predictions: &mut Vec<(String, Array3<f64>)>,
                    name: String,
                    p: Array3<f64>,
                    realisable: bool,
                    note: Option<String>| {
        infos.push(ModelInfo {
            name: name.clone(),
            realisable,
            note,
        });
        predictions.push((name, p));
    };
    for b in &opts.baselines {
        let b_name = b.name().to_string();
        let unobserved =
            (b.needs_target_history() && !target_observed).then(|| NEEDS_TARGET_NOTE.to_string());
        let realisable = unobserved.is_none();
        match b {
            Baseline::Persistence => push(
                &mut predictions,
                b_name,
                denorm(&persistence(&data, &starts))?,
                realisable,
                unobserved,
            ),
            Baseline::SeasonalNaive => push(
                &mut predictions,
                b_name,
                denorm(&seasonal_naive(&data, &starts, opts.season))?,
                realisable,
                unobserved,
            ),
            Baseline::Gbdt => {
                let gbdt = GbdtConfig {
                    seed: artifact.config.train.seed,
                    ..opts.gbdt.clone()
                };
                let key = CacheKey {
                    key: checkpoint::key(&(
                        env!("CARGO_PKG_VERSION"),
                        "gbdt",
                        &data_key,
                        (&data.spec, &data.splits, &data.target_name, &data.features),
                        &gbdt,
                    )),
                    baseline: b_name.clone(),
                    epochs: 0,
                };
                let tree_data = pooled.as_ref().unwrap_or(&data);
                if tree_data.starts(Split::Test) != starts.as_slice() {
                    return Err(Error::param(
                        "split",
                        "the pooled windows of the trees differ from the model's",
                    ));
                }
                let data = tree_data;
                let cached = opts.cache.as_ref().and_then(|c| {
                    let dir = c.join("gbdt");
                    read_cache_key(&dir)
                        .filter(|k| k.key == key.key)
                        .and_then(|_| {
                            GbdtForecaster::load(
                                &dir,
                                data.spec.horizon,
                                gbdt.clone(),
                                data.spec.input,
                                data.features.clone(),
                                data.services.clone(),
                            )
                            .ok()
                        })
                });
                let (trees, how) = match cached {
                    Some(t) => {
                        progress(&b_name, BaselineProgress::Cached);
                        (t, "read from the cache")
                    }
                    None => {
                        let t = GbdtForecaster::fit(data, &gbdt, opts.threads, &mut |p| {
                            progress("gbdt", BaselineProgress::Round(p))
                        })?;
                        if let Some(c) = &opts.cache {
                            save_trees(c, &t, &key)?;
                        }
                        (t, "trained on the same split")
                    }
                };
                let p = denorm_by(&data.normalizer, &trees.predict(data, &starts)?)?;
                notes.push(format!(
                    "gbdt {how} (boosting rounds kept per horizon step, of at most {}: {:?})",
                    gbdt.rounds,
                    trees.rounds_kept()
                ));
                if opts.rounded {
                    push(
                        &mut predictions,
                        "gbdt-rounded".into(),
                        round(&p),
                        true,
                        None,
                    );
                }
                push(&mut predictions, b_name, p, true, None);
            }
            Baseline::Gru | Baseline::Tgcn => {
                let kind = if *b == Baseline::Gru {
                    ModelKind::Gru
                } else {
                    ModelKind::Tgcn
                };
                let train_opts = TrainOptions {
                    target: Some(cfg.target.clone()),
                    features: Some(cfg.features.clone()),
                    window: Some(cfg.window),
                    horizon: cfg.horizon,
                    stride: cfg.stride,
                    split: cfg.split,
                    kind,
                    train: match opts.baseline_epochs {
                        Some(n) => artifact.config.train.clone().with_max_epochs(n),
                        None => artifact.config.train.clone(),
                    },
                    min_replicas: meta.min_replicas,
                    max_replicas: meta.max_replicas,
                    skip_missing: true,
                    per_service_scaling: artifact.normalizer.is_per_service(),
                    threads: opts.threads,
                    ..TrainOptions::default()
                };
                let key = checkpoint::key(&(
                    env!("CARGO_PKG_VERSION"),
                    &b_name,
                    &data_key,
                    (&data.spec, &data.splits, &data.target_name, &data.features),
                    &train_opts.train,
                    (
                        cfg.stride,
                        opts.threads,
                        meta.min_replicas,
                        meta.max_replicas,
                        train_opts.per_service_scaling,
                    ),
                    &edges_key,
                ));
                let cache_dir = opts.cache.as_ref().map(|c| c.join(&b_name));
                let cached = cache_dir.as_ref().and_then(|dir| {
                    let k = read_cache_key(dir).filter(|k| k.key == key)?;
                    let a = Artifact::<B::InnerBackend>::load(dir, inner_device).ok()?;
                    Some((a, k.epochs))
                });
                let (model_artifact, epochs, how) = match cached {
                    Some((a, epochs)) => {
                        progress(&b_name, BaselineProgress::Cached);
                        (a, epochs, "read from the cache")
                    }
                    None => {
                        let trained = train::<B>(tel, edges, &train_opts, device, &mut |r| {
                            progress(b.name(), BaselineProgress::Epoch(r))
                        })?;
                        let mut a = trained.artifact;
                        let epochs = a.history.len();
                        if let Some(dir) = &cache_dir {
                            if let Some(parent) = dir.parent() {
                                std::fs::create_dir_all(parent)
                                    .map_err(io_err(parent, "create"))?;
                            }
                            let entry = CacheKey {
                                key: key.clone(),
                                baseline: b_name.clone(),
                                epochs,
                            };
                            a.extra_json.push((
                                CACHE_KEY_FILE.to_string(),
                                serde_json::to_value(&entry).expect("cache keys serialise"),
                            ));
                            a.save(dir, true)?;
                        }
                        (a, epochs, "trained on the same split")
                    }
                };
                // Without edges, T-GCN uses the estimator's affinity.
                let affinity: Array2<f64> = if edges.is_some() {
                    model_artifact.affinity.clone()
                } else {
                    artifact.affinity.clone()
                };
                let a_b = affinity_tensor::<B::InnerBackend>(&affinity, inner_device);
                let p = denorm(&predict_windows(
                    &model_artifact.model,
                    &data,
                    &starts,
                    &a_b,
                    inner_device,
                    256,
                    opts.threads,
                ))?;
                notes.push(format!("{b_name} {how} ({epochs} epochs)"));
                if opts.rounded {
                    push(
                        &mut predictions,
                        format!("{b_name}-rounded"),
                        round(&p),
                        true,
                        None,
                    );
                }
                push(&mut predictions, b_name, p, true, None);
            }
        }
    }
    let mut rows = Vec::new();
    for ((model, p), info) in predictions.iter().zip(&infos) {
        rows.extend(
            metric_rows(model, &data.services, p, &truth)
                .into_iter()
                .map(|r| MetricRow {
                    realisable: info.realisable,
                    ..r
                }),
        );
    }
    Ok(Evaluation {
        services: data.services.clone(),
        times_ms: starts
            .iter()
            .map(|&s| data.start_ms + (s + tau) as i64 * data.interval_ms)
            .collect(),
        truth,
        predictions,
        rows,
        models: infos,
        target_observed,
        notes,
    })
}
