//! Evaluation of a trained estimator and the baselines on the same test windows.

use burn::tensor::backend::AutodiffBackend;
use ndarray::{Array2, Array3};

use crate::artifact::Artifact;
use crate::baselines::{persistence, seasonal_naive};
use crate::error::{Error, Result};
use crate::inference::round_replicas;
use crate::metrics::{MetricRow, evaluate as metric_rows};
use crate::pipeline::{TrainOptions, train};
use crate::training::{EpochReport, ModelKind, affinity_tensor, predict_windows};
use holoscale_datasets::tensor::{Split, WindowOptions, WindowSpec, Windowed};
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
}

impl Baseline {
    /// Every baseline.
    pub const ALL: [Baseline; 4] = [
        Baseline::Persistence,
        Baseline::SeasonalNaive,
        Baseline::Gru,
        Baseline::Tgcn,
    ];

    /// Name in tables.
    pub fn name(self) -> &'static str {
        match self {
            Baseline::Persistence => "persistence",
            Baseline::SeasonalNaive => "seasonal-naive",
            Baseline::Gru => "gru",
            Baseline::Tgcn => "tgcn",
        }
    }
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
    /// Messages (baselines trained on the fly, and so on).
    pub notes: Vec<String>,
}

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
    progress: &mut dyn FnMut(&str, &EpochReport),
) -> Result<Evaluation> {
    let cfg = &artifact.config.data;
    let spec = WindowSpec::try_new(cfg.window, cfg.horizon, 1)?;
    let data = Windowed::with_normalizer(
        tel,
        &cfg.features,
        &cfg.target,
        spec,
        cfg.split,
        WindowOptions { skip_missing: true },
        Some(artifact.normalizer.clone()),
    )?;
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
    let denorm = |z: &Array3<f32>| -> Result<Array3<f64>> {
        let i = artifact
            .normalizer
            .features
            .iter()
            .position(|f| f == &cfg.target)
            .ok_or_else(|| Error::param("target", "the normaliser does not cover the target"))?;
        let (m, s) = (artifact.normalizer.mean[i], artifact.normalizer.std[i]);
        Ok(z.mapv(|v| v as f64 * s + m))
    };
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
    for b in &opts.baselines {
        match b {
            Baseline::Persistence => {
                predictions.push((b.name().into(), denorm(&persistence(&data, &starts))?))
            }
            Baseline::SeasonalNaive => predictions.push((
                b.name().into(),
                denorm(&seasonal_naive(&data, &starts, opts.season))?,
            )),
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
                    threads: opts.threads,
                    ..TrainOptions::default()
                };
                let trained = train::<B>(tel, edges, &train_opts, device, &mut |r| {
                    progress(b.name(), r)
                })?;
                // Without edges, T-GCN uses the estimator's affinity.
                let affinity: Array2<f64> = if edges.is_some() {
                    trained.artifact.affinity.clone()
                } else {
                    artifact.affinity.clone()
                };
                let a_b = affinity_tensor::<B::InnerBackend>(&affinity, inner_device);
                let model = trained.artifact.model;
                let p = denorm(&predict_windows(
                    &model,
                    &data,
                    &starts,
                    &a_b,
                    inner_device,
                    256,
                    opts.threads,
                ))?;
                notes.push(format!(
                    "{} trained for {} epochs on the same split",
                    b.name(),
                    trained.artifact.history.len()
                ));
                if opts.rounded {
                    predictions.push((format!("{}-rounded", b.name()), round(&p)));
                }
                predictions.push((b.name().into(), p));
            }
        }
    }
    let mut rows = Vec::new();
    for (model, p) in &predictions {
        rows.extend(metric_rows(model, &data.services, p, &truth));
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
        notes,
    })
}
