//! Training: L1 loss on standardised targets (DeepScaler eq. 4), Adam with weight decay, a
//! cosine learning-rate schedule, early stopping on the validation loss with the best
//! checkpoint kept, seeded, with progress reported through a callback.

use std::time::Instant;

use burn::module::AutodiffModule;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use ndarray::{Array2, Array3};
use serde::{Deserialize, Serialize};

use crate::baselines::{GruForecaster, GruForecasterConfig, Tgcn, TgcnConfig};
use crate::error::{Error, Result};
use crate::model::{Forecaster, Stgcn, StgcnConfig};
use holoscale_datasets::tensor::{Split, Windowed};

/// Optimisation settings. Defaults are DeepScaler's released code: Adam lr 1e-3, weight decay
/// 1e-4, cosine schedule (T_max 15 epochs, down to 1e-5), batch 64, early stopping after 5
/// epochs without improvement.
#[derive(Config, Debug, PartialEq)]
pub struct TrainConfig {
    /// Initial learning rate.
    #[config(default = 1e-3)]
    pub learning_rate: f64,
    /// L2 weight decay of Adam.
    #[config(default = 1e-4)]
    pub weight_decay: f64,
    /// Cosine schedule half-period, epochs.
    #[config(default = 15)]
    pub cosine_t_max: usize,
    /// Lowest learning rate of the schedule.
    #[config(default = 1e-5)]
    pub min_learning_rate: f64,
    /// Windows per batch.
    #[config(default = 64)]
    pub batch_size: usize,
    /// Most epochs.
    #[config(default = 100)]
    pub max_epochs: usize,
    /// Epochs without a better validation loss before stopping.
    #[config(default = 5)]
    pub patience: usize,
    /// Seed of initialisation and batch order.
    #[config(default = 7)]
    pub seed: u64,
}

impl TrainConfig {
    /// Checks the settings, naming the one out of range.
    pub fn check(&self) -> Result<()> {
        let bad = |name: &str, msg: &str| Err(Error::param(name, msg));
        if !(self.learning_rate > 0.0 && self.learning_rate <= 1.0) {
            return bad("--lr", "must be in (0, 1]");
        }
        if self.weight_decay.is_nan() || self.weight_decay < 0.0 {
            return bad("--weight-decay", "must be >= 0");
        }
        if !(self.min_learning_rate >= 0.0 && self.min_learning_rate <= self.learning_rate) {
            return bad("min learning rate", "must be in [0, learning rate]");
        }
        if self.batch_size == 0 || self.max_epochs == 0 || self.cosine_t_max == 0 {
            return bad("--batch / --epochs", "must be at least 1");
        }
        Ok(())
    }

    /// Learning rate of an epoch: `min + (max − min)(1 + cos(π e / T_max)) / 2` (PyTorch's
    /// CosineAnnealingLR in closed form).
    pub fn learning_rate_at(&self, epoch: usize) -> f64 {
        let (lo, hi) = (self.min_learning_rate, self.learning_rate);
        lo + (hi - lo)
            * (1.0 + (std::f64::consts::PI * epoch as f64 / self.cosine_t_max as f64).cos())
            / 2.0
    }
}

/// The network architectures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// The spatio-temporal attention GCN (DeepScaler).
    Stgcn,
    /// GRU per service, no graph.
    Gru,
    /// Graph convolution then GRU (T-GCN style).
    Tgcn,
}

impl ModelKind {
    /// Name in files and tables.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Stgcn => "stgcn",
            ModelKind::Gru => "gru",
            ModelKind::Tgcn => "tgcn",
        }
    }
}

/// Architecture and its configuration, as saved in `config.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ModelSpec {
    /// DeepScaler's estimator.
    Stgcn(StgcnConfig),
    /// GRU baseline.
    Gru(GruForecasterConfig),
    /// T-GCN baseline.
    Tgcn(TgcnConfig),
}

impl PartialEq for StgcnConfig {
    fn eq(&self, o: &Self) -> bool {
        serde_json::to_value(self).ok() == serde_json::to_value(o).ok()
    }
}
impl PartialEq for GruForecasterConfig {
    fn eq(&self, o: &Self) -> bool {
        serde_json::to_value(self).ok() == serde_json::to_value(o).ok()
    }
}
impl PartialEq for TgcnConfig {
    fn eq(&self, o: &Self) -> bool {
        serde_json::to_value(self).ok() == serde_json::to_value(o).ok()
    }
}

impl ModelSpec {
    /// The architecture.
    pub fn kind(&self) -> ModelKind {
        match self {
            ModelSpec::Stgcn(_) => ModelKind::Stgcn,
            ModelSpec::Gru(_) => ModelKind::Gru,
            ModelSpec::Tgcn(_) => ModelKind::Tgcn,
        }
    }

    /// A freshly initialised network.
    pub fn init<B: Backend>(&self, device: &B::Device) -> AnyModel<B> {
        match self {
            ModelSpec::Stgcn(c) => AnyModel::Stgcn(c.init(device)),
            ModelSpec::Gru(c) => AnyModel::Gru(c.init(device)),
            ModelSpec::Tgcn(c) => AnyModel::Tgcn(c.init(device)),
        }
    }
}

/// Any of the networks, behind one type for training, saving and loading. Models are built
/// once per run, so the size difference between the variants does not matter.
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum AnyModel<B: Backend> {
    /// DeepScaler's estimator.
    Stgcn(Stgcn<B>),
    /// GRU baseline.
    Gru(GruForecaster<B>),
    /// T-GCN baseline.
    Tgcn(Tgcn<B>),
}

impl<B: Backend> Forecaster<B> for AnyModel<B> {
    fn forecast(&self, x: Tensor<B, 4>, a: Tensor<B, 2>) -> Tensor<B, 3> {
        match self {
            AnyModel::Stgcn(m) => m.forecast(x, a),
            AnyModel::Gru(m) => m.forecast(x, a),
            AnyModel::Tgcn(m) => m.forecast(x, a),
        }
    }
}

/// What one epoch did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochReport {
    /// Epoch, from 1.
    pub epoch: usize,
    /// Most epochs.
    pub max_epochs: usize,
    /// Mean L1 loss on standardised training targets.
    pub train_loss: f64,
    /// Mean L1 loss on standardised validation targets.
    pub val_loss: f64,
    /// Validation MAE in target units.
    pub val_mae: f64,
    /// Learning rate of the epoch.
    pub learning_rate: f64,
    /// Wall time of the epoch, seconds.
    pub seconds: f64,
}

/// A trained network with its history.
#[derive(Debug)]
pub struct Fitted<M> {
    /// The network of the best validation epoch.
    pub model: M,
    /// Every epoch.
    pub history: Vec<EpochReport>,
    /// The best epoch (from 1).
    pub best_epoch: usize,
}

/// The affinity as a tensor.
pub fn affinity_tensor<B: Backend>(a: &Array2<f64>, device: &B::Device) -> Tensor<B, 2> {
    let n = a.nrows();
    let data: Vec<f32> = a.iter().map(|&v| v as f32).collect();
    Tensor::from_data(TensorData::new(data, [n, n]), device)
}

/// Standardised predictions `[windows, horizon, services]` of `model` for the windows at
/// `starts`, in batches.
pub fn predict_windows<B: Backend, M: Forecaster<B>>(
    model: &M,
    data: &Windowed,
    starts: &[usize],
    a: &Tensor<B, 2>,
    device: &B::Device,
    batch: usize,
) -> Array3<f32> {
    let (h, n) = (data.spec.horizon, data.services.len());
    let mut out = Vec::with_capacity(starts.len() * h * n);
    for chunk in starts.chunks(batch.max(1)) {
        let b = data.batch::<B>(chunk, device);
        let pred = model.forecast(b.inputs, a.clone());
        out.extend(pred.into_data().to_vec::<f32>().expect("f32 predictions"));
    }
    Array3::from_shape_vec((starts.len(), h, n), out).expect("one prediction per window")
}

/// Mean absolute error of standardised predictions against the windows' targets.
fn l1(pred: &Array3<f32>, data: &Windowed, starts: &[usize]) -> f64 {
    let tau = data.spec.input;
    let mut sum = 0.0;
    let mut count = 0usize;
    for (w, &s) in starts.iter().enumerate() {
        for k in 0..data.spec.horizon {
            for j in 0..data.services.len() {
                sum += (pred[[w, k, j]] - data.target[[s + tau + k, j]]).abs() as f64;
                count += 1;
            }
        }
    }
    if count > 0 {
        sum / count as f64
    } else {
        f64::NAN
    }
}

/// Trains `model` on the training windows of `data` with the affinity `a`, stopping early on
/// the validation loss (the training loss when there are no validation windows), and returns
/// the best network.
pub fn fit<B, M>(
    model: M,
    data: &Windowed,
    a: &Array2<f64>,
    cfg: &TrainConfig,
    device: &B::Device,
    progress: &mut dyn FnMut(&EpochReport),
) -> Result<Fitted<M>>
where
    B: AutodiffBackend,
    M: AutodiffModule<B> + Forecaster<B>,
    M::InnerModule: Forecaster<B::InnerBackend>,
{
    cfg.check()?;
    if a.dim() != (data.services.len(), data.services.len()) {
        return Err(Error::Shape {
            what: "affinity".into(),
            expected: format!("[{0}, {0}]", data.services.len()),
            got: format!("{:?}", a.dim()),
        });
    }
    B::seed(device, cfg.seed);
    let a_train = affinity_tensor::<B>(a, device);
    let a_valid = affinity_tensor::<B::InnerBackend>(a, device);
    let target_std = data
        .normalizer
        .std
        .get(
            data.normalizer
                .features
                .iter()
                .position(|f| f == &data.target_name)
                .unwrap_or(0),
        )
        .copied()
        .unwrap_or(1.0);
    let mut optim = AdamConfig::new()
        .with_weight_decay(Some(WeightDecayConfig::new(cfg.weight_decay as f32)))
        .init::<B, M>();
    let val_starts = data.starts(Split::Validation).to_vec();
    let mut model = model;
    let mut best: Option<(f64, M)> = None;
    let mut best_epoch = 0;
    let mut history = Vec::new();
    let mut stale = 0;
    for epoch in 1..=cfg.max_epochs {
        let start = Instant::now();
        let lr = cfg.learning_rate_at(epoch - 1);
        let mut loss_sum = 0.0;
        let mut batches = 0usize;
        for starts in data.batches(
            Split::Train,
            cfg.batch_size,
            Some(cfg.seed.wrapping_add(epoch as u64)),
        ) {
            let batch = data.batch::<B>(&starts, device);
            let pred = model.forecast(batch.inputs, a_train.clone());
            let loss = (pred - batch.targets).abs().mean();
            loss_sum += loss.clone().into_scalar().elem::<f64>();
            batches += 1;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(lr, model, grads);
        }
        let train_loss = loss_sum / batches.max(1) as f64;
        if !train_loss.is_finite() {
            return Err(Error::Diverged { epoch });
        }
        let val_loss = if val_starts.is_empty() {
            train_loss
        } else {
            let valid = model.valid();
            let pred = predict_windows(&valid, data, &val_starts, &a_valid, device, cfg.batch_size);
            l1(&pred, data, &val_starts)
        };
        let report = EpochReport {
            epoch,
            max_epochs: cfg.max_epochs,
            train_loss,
            val_loss,
            val_mae: val_loss * target_std,
            learning_rate: lr,
            seconds: start.elapsed().as_secs_f64(),
        };
        progress(&report);
        history.push(report);
        if best.as_ref().is_none_or(|(b, _)| val_loss < *b) {
            best = Some((val_loss, model.clone()));
            best_epoch = epoch;
            stale = 0;
        } else {
            stale += 1;
            if stale >= cfg.patience {
                break;
            }
        }
    }
    let (_, model) = best.expect("at least one epoch ran");
    Ok(Fitted {
        model,
        history,
        best_epoch,
    })
}
