//! EM adaptive learning (DeepScaler section IV-B, Algorithm 2; SPEC 4).
//!
//! Each iteration: **policy learning** trains the estimator with the current affinity fixed
//! (L_P, eq. 4); **graph learning** trains the generator with the estimator fixed (L_G,
//! eq. 7-8) and pushes its matrix into the affinity set; **graph updating** scores every set
//! member on validation data (eq. 10), drops the worst beyond `N_max`, and combines the rest
//! with softmax weights (eq. 9). In the last share of iterations the newest matrix is taken
//! as it is. The estimator and affinity of the best validation loss are kept.
//!
//! One reading of Algorithm 2 is fixed here: the matrix pushed into the set in step 4 is
//! generated after the generator's training of step 5 in the same iteration (so the set
//! holds what the trained generator makes, not the previous iteration's generator).

use std::time::Instant;

use burn::module::AutodiffModule;
use burn::optim::{AdamConfig, Optimizer};
use burn::prelude::*;
use burn::tensor::activation::relu;
use burn::tensor::backend::AutodiffBackend;
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::generator::{GeneratorConfig, GraphGenerator, norm_eps_array};
use holoscale_datasets::tensor::{Split, Windowed};
use holoscale_estimator::checkpoint::{self, Checkpointing};
use holoscale_estimator::data::BurnBatches;
use holoscale_estimator::model::Forecaster;
use holoscale_estimator::parallel;
use holoscale_estimator::training::{
    EpochReport, EpochStep, TrainConfig, Trainer, affinity_tensor, check_affinity, target_std,
    validation_loss,
};

/// How the edge-count term of L_G (eq. 7-8) enters the generator's training.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum EdgePenalty {
    /// As eq. 8 states it: `C` counts entries that are non-zero in `A_new` and zero in
    /// `A_old`. The count is a step function of the generator's parameters, so the term
    /// changes the loss value but passes no gradient.
    Exact,
    /// A differentiable surrogate: the indicator `I(x)` is replaced by `x / (x + scale)`,
    /// so the generator is pushed towards fewer new edges.
    Soft {
        /// The weight at which an entry counts as half an edge.
        scale: f64,
    },
}

/// Settings of the EM loop. Reference (DeepScaler): 20 iterations of 5 epochs, an affinity
/// set of at most 3 matrices, δ = 0.05, generator embedding 64, ε = 0.5/N, the newest matrix
/// in the last 20% of iterations.
#[derive(Config, Debug)]
pub struct EmConfig {
    /// EM iterations.
    #[config(default = 20)]
    pub iterations: usize,
    /// Estimator epochs per iteration (policy learning).
    #[config(default = 5)]
    pub epochs_per_iteration: usize,
    /// Generator epochs per iteration (graph learning).
    #[config(default = 5)]
    pub generator_epochs: usize,
    /// Capacity N_max of the affinity set.
    #[config(default = 3)]
    pub max_set: usize,
    /// Target share δ of new edges in L_G (eq. 7).
    #[config(default = 0.05)]
    pub delta: f64,
    /// Generator embedding size.
    #[config(default = 64)]
    pub embedding: usize,
    /// Sparsification threshold ε; `None`: 0.5/N.
    #[config(default = "None")]
    pub epsilon: Option<f64>,
    /// Standard deviation of the generator's embeddings; `None`: `(2d)^(-1/4)` (see
    /// [`GeneratorConfig::init_std`]).
    #[config(default = "None")]
    pub init_std: Option<f64>,
    /// Adam learning rate of the generator.
    #[config(default = 1e-3)]
    pub generator_lr: f64,
    /// Share of the last iterations that take the newest matrix instead of the combination.
    #[config(default = 0.2)]
    pub newest_share: f64,
    /// Temperature of the softmax of eq. 9 (1 is the paper's).
    #[config(default = 1.0)]
    pub temperature: f64,
    /// The edge-count term of L_G.
    #[config(default = "EdgePenalty::Exact")]
    pub penalty: EdgePenalty,
    /// Graph learning (step 5 of Algorithm 2) trains the generator alone against the
    /// estimator held fixed (`false`, the paper's), or the generator and the estimator
    /// together on L_G (`true`, as adaptive-adjacency models such as Graph WaveNet do), so
    /// the estimator can learn to use an edge while the generator proposes it.
    #[config(default = false)]
    pub joint: bool,
}

impl EmConfig {
    /// Checks every setting before anything runs, naming the one out of range.
    pub fn check(&self) -> Result<()> {
        let bad = |name: &str, msg: &str| Err(Error::param(name, msg));
        if self.iterations == 0 {
            return bad("em.iterations", "must be at least 1");
        }
        if self.epochs_per_iteration == 0 {
            return bad("em.epochs_per_iteration", "must be at least 1");
        }
        if self.generator_epochs == 0 {
            return bad("em.generator_epochs", "must be at least 1");
        }
        if self.max_set == 0 {
            return bad("em.max_set", "must be at least 1");
        }
        if !(self.delta > 0.0 && self.delta < 1.0) {
            return bad("em.delta", "must be in (0, 1)");
        }
        if self.embedding == 0 {
            return bad("em.embedding", "must be at least 1");
        }
        if let Some(e) = self.epsilon
            && !(e > 0.0 && e < 1.0)
        {
            return bad("em.epsilon", "must be in (0, 1)");
        }
        if let Some(s) = self.init_std
            && !(s > 0.0 && s.is_finite())
        {
            return bad("em.init_std", "must be positive");
        }
        if !(self.generator_lr > 0.0 && self.generator_lr <= 1.0) {
            return bad("em.generator_lr", "must be in (0, 1]");
        }
        if !(0.0..=1.0).contains(&self.newest_share) {
            return bad("em.newest_share", "must be in [0, 1]");
        }
        if !(self.temperature > 0.0 && self.temperature.is_finite()) {
            return bad("em.temperature", "must be positive");
        }
        if let EdgePenalty::Soft { scale } = self.penalty
            && !(scale > 0.0 && scale.is_finite())
        {
            return bad("em.penalty.scale", "must be positive");
        }
        Ok(())
    }

    /// The first iteration (from 1) that takes the newest matrix.
    pub fn first_newest_iteration(&self) -> usize {
        let newest = (self.newest_share * self.iterations as f64).round() as usize;
        self.iterations - newest.min(self.iterations) + 1
    }
}

/// `C` of eq. 8, the entries non-zero in `new` and zero in `old`, and the penalty
/// `ReLU(C/N² − δ)/δ` of eq. 7.
pub fn edge_penalty(new: &Array2<f64>, old: &Array2<f64>, delta: f64) -> (usize, f64) {
    let count = new
        .iter()
        .zip(old.iter())
        .filter(|(n, o)| **n != 0.0 && **o == 0.0)
        .count();
    let n2 = new.len().max(1) as f64;
    (count, (count as f64 / n2 - delta).max(0.0) / delta)
}

/// The softmax weights of eq. 9: `softmax((max L − L_k) / T)`.
pub fn combination_weights(losses: &[f64], temperature: f64) -> Vec<f64> {
    let max = losses.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let z: Vec<f64> = losses.iter().map(|l| (max - l) / temperature).collect();
    let top = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = z.iter().map(|v| (v - top).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

/// Eq. 9: `Norm(Σ_k w_k A_k)` with the weights of [`combination_weights`].
pub fn combine(set: &[Array2<f64>], losses: &[f64], temperature: f64, epsilon: f64) -> Array2<f64> {
    let w = combination_weights(losses, temperature);
    let mut sum = Array2::zeros(set[0].dim());
    for (m, w) in set.iter().zip(w) {
        sum = sum + m * w;
    }
    norm_eps_array(&sum, epsilon)
}

/// Drops the member with the largest loss while the set holds more than `max` members;
/// returns the indices (into the set as it was) of the members dropped.
pub fn prune<T>(set: &mut Vec<T>, losses: &mut Vec<f64>, max: usize) -> Vec<usize> {
    let mut dropped = Vec::new();
    let mut original: Vec<usize> = (0..set.len()).collect();
    while set.len() > max {
        let worst = losses
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| i)
            .expect("non-empty");
        set.remove(worst);
        losses.remove(worst);
        dropped.push(original.remove(worst));
    }
    dropped
}

/// A member of the affinity set.
#[derive(Debug, Clone, PartialEq)]
pub struct SetMember {
    /// The iteration that generated it (0: the starting matrices).
    pub iteration: usize,
    /// Where it came from (`invocation`, `od`, `cc`, `identity`, `generated`).
    pub origin: String,
    /// The normalised matrix.
    pub matrix: Array2<f64>,
}

/// What one EM iteration did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IterationReport {
    /// Iteration, from 1.
    pub iteration: usize,
    /// Iterations in all.
    pub iterations: usize,
    /// Mean training L1 of the last policy-learning epoch (standardised).
    pub train_loss: f64,
    /// Validation L1 of the estimator with the affinity it was trained on (standardised).
    pub val_loss: f64,
    /// Validation MAE in target units.
    pub val_mae: f64,
    /// Mean L_G of the last generator epoch.
    pub generator_loss: f64,
    /// New edges `C` of the generated matrix relative to the current one (eq. 8).
    pub new_edges: usize,
    /// Off-diagonal entries of the trained generator's `A1` (eq. 5) that are positive, before
    /// the gate and ε: the edges it proposes.
    #[serde(default)]
    pub proposed_edges: usize,
    /// Mean of the trained generator's gate `S` (eq. 5) over the off-diagonal entries: the
    /// share that its own proposals `A1` take against the current matrix.
    #[serde(default)]
    pub gate_mean: f64,
    /// Validation L1 of each member kept in the set, in set order (eq. 10).
    pub set_losses: Vec<f64>,
    /// Iteration that generated each member (0: starting matrices), in set order.
    pub set_iterations: Vec<usize>,
    /// Iteration of the member dropped this iteration, if any.
    pub dropped: Option<usize>,
    /// Off-diagonal non-zero entries of the affinity for the next iteration.
    pub edges: usize,
    /// Whether the next affinity is the newest matrix (last share of iterations) rather
    /// than the combination of eq. 9.
    pub took_newest: bool,
    /// Wall time, seconds.
    pub seconds: f64,
}

/// Progress of the EM loop.
#[derive(Debug, Clone, Copy)]
pub enum EmEvent<'a> {
    /// A policy-learning epoch finished (epochs count across iterations).
    Epoch(&'a EpochReport),
    /// An iteration finished.
    Iteration(&'a IterationReport),
}

/// What the EM loop produced.
#[derive(Debug)]
pub struct EmOutcome<M> {
    /// The estimator of the best validation loss.
    pub model: M,
    /// The affinity that estimator was trained with.
    pub affinity: Array2<f64>,
    /// The iteration of the best validation loss (from 1).
    pub best_iteration: usize,
    /// The best policy-learning epoch, counted across iterations (from 1).
    pub best_epoch: usize,
    /// Every policy-learning epoch.
    pub epochs: Vec<EpochReport>,
    /// Every iteration.
    pub iterations: Vec<IterationReport>,
    /// The affinity set at the end.
    pub set: Vec<SetMember>,
}

fn to_array<B: Backend>(t: Tensor<B, 2>) -> Array2<f64> {
    let [n, m] = t.dims();
    let v: Vec<f64> = t
        .into_data()
        .to_vec::<f32>()
        .expect("f32 matrix")
        .into_iter()
        .map(f64::from)
        .collect();
    Array2::from_shape_vec((n, m), v).expect("n·m values")
}

fn off_diagonal_edges(a: &Array2<f64>) -> usize {
    a.indexed_iter()
        .filter(|((i, j), v)| i != j && **v != 0.0)
        .count()
}

/// A matrix as a checkpoint stores it: its values in row-major order.
fn flat(a: &Array2<f64>) -> Vec<f64> {
    a.iter().copied().collect()
}

fn unflat(n: usize, v: Vec<f64>) -> Result<Array2<f64>> {
    Array2::from_shape_vec((n, n), v).map_err(|e| Error::Mismatch {
        what: "EM checkpoint".into(),
        message: format!("a matrix is not {n} x {n}: {e}"),
    })
}

/// The state of the EM loop after an iteration, as its checkpoint holds it.
#[derive(Debug, Serialize, Deserialize)]
struct EmState {
    key: String,
    iteration: usize,
    global_epoch: usize,
    epochs: Vec<EpochReport>,
    iterations: Vec<IterationReport>,
    /// Iteration, origin and matrix of every set member.
    set: Vec<(usize, String, Vec<f64>)>,
    a_old: Vec<f64>,
    best_loss: f64,
    best_affinity: Vec<f64>,
    best_iteration: usize,
    best_epoch: usize,
}

/// Runs Algorithm 2 on `data`, starting from the affinity set `start` (normalised matrices,
/// combined by eq. 3 into the first affinity), training `model` with `train` and the
/// generator with `em`, each batch split over all cores. Progress goes to `progress` after
/// every epoch and iteration.
pub fn run<B, M>(
    model: M,
    data: &Windowed,
    start: Vec<SetMember>,
    train: &TrainConfig,
    em: &EmConfig,
    device: &B::Device,
    progress: &mut dyn FnMut(EmEvent<'_>),
) -> Result<EmOutcome<M>>
where
    B: AutodiffBackend,
    M: AutodiffModule<B> + Forecaster<B>,
    M::InnerModule: Forecaster<B::InnerBackend>,
{
    run_checkpointed(model, data, start, train, em, 0, device, progress, None)
}

/// [`run`] with every batch (estimator, generator and set scoring) split over `threads`
/// threads ([`holoscale_estimator::parallel`]; 0: one per core), keeping the loop's state
/// after every iteration in `checkpoints` (and continuing from it when resuming); `key`
/// names the data and settings the checkpoint belongs to.
#[allow(clippy::too_many_arguments)]
pub fn run_checkpointed<B, M>(
    model: M,
    data: &Windowed,
    start: Vec<SetMember>,
    train: &TrainConfig,
    em: &EmConfig,
    threads: usize,
    device: &B::Device,
    progress: &mut dyn FnMut(EmEvent<'_>),
    checkpoints: Option<(&Checkpointing, &str)>,
) -> Result<EmOutcome<M>>
where
    B: AutodiffBackend,
    M: AutodiffModule<B> + Forecaster<B>,
    M::InnerModule: Forecaster<B::InnerBackend>,
{
    em.check()?;
    train.check()?;
    if start.is_empty() {
        return Err(Error::param(
            "affinity set",
            "needs at least one starting matrix",
        ));
    }
    for m in &start {
        check_affinity(&m.matrix, data)?;
    }
    let n = data.services.len();
    let rng = parallel::seed::<B>(device, train.seed);
    // The estimator draws its initial weights first after the seed, then the generator (as
    // in holoscale 0.1, where both were drawn at their first use in that order).
    parallel::materialise(&model);
    let gen_cfg = GeneratorConfig::new(n)
        .with_embedding(em.embedding)
        .with_epsilon(em.epsilon)
        .with_init_std(em.init_std);
    let epsilon = gen_cfg.epsilon_value();
    let mut generator: GraphGenerator<B> = gen_cfg.init(device);
    // Its weights now, from the seed: the copies the generator phase differentiates are
    // clones, and a clone of a lazily initialised parameter would draw its own.
    parallel::materialise(&generator);
    drop(rng);
    let mut gen_optim = AdamConfig::new().init::<B, GraphGenerator<B>>();
    let mut trainer = Trainer::<B, M>::new(train)?.with_threads(threads);
    let threads = trainer.threads();
    let std = target_std(data);
    let has_validation = !data.starts(Split::Validation).is_empty();

    let matrices: Vec<Array2<f64>> = start.iter().map(|m| m.matrix.clone()).collect();
    let mut a_old = crate::sources::union(&matrices)?;
    let mut set = start;
    let mut model = model;
    let mut epochs = Vec::new();
    let mut iterations = Vec::new();
    let mut best: Option<(f64, M, Array2<f64>, usize, usize)> = None;
    let mut global_epoch = 0usize;
    let first_newest = em.first_newest_iteration();
    let mut first = 1;
    if let Some((ck, key)) = checkpoints.filter(|(ck, _)| ck.resume) {
        let state: EmState = checkpoint::read_state(&ck.dir, key, |s: &EmState| &s.key)?;
        let best_model = checkpoint::load_module(&ck.dir, "best", model.clone(), device)?;
        model = checkpoint::load_module(&ck.dir, "model", model, device)?;
        trainer = trainer.load(&ck.dir, "optim", device)?;
        generator = checkpoint::load_module(&ck.dir, "generator", generator, device)?;
        gen_optim = checkpoint::load_optimizer::<B, GraphGenerator<B>, _>(
            &ck.dir,
            "generator-optim",
            gen_optim,
            device,
        )?;
        set = state
            .set
            .into_iter()
            .map(|(iteration, origin, m)| {
                Ok(SetMember {
                    iteration,
                    origin,
                    matrix: unflat(n, m)?,
                })
            })
            .collect::<Result<_>>()?;
        a_old = unflat(n, state.a_old)?;
        best = Some((
            state.best_loss,
            best_model,
            unflat(n, state.best_affinity)?,
            state.best_iteration,
            state.best_epoch,
        ));
        global_epoch = state.global_epoch;
        first = state.iteration + 1;
        for e in &state.epochs {
            progress(EmEvent::Epoch(e));
        }
        for r in &state.iterations {
            progress(EmEvent::Iteration(r));
        }
        epochs = state.epochs;
        iterations = state.iterations;
    }

    for it in first..=em.iterations {
        let clock = Instant::now();
        // Policy learning: the estimator with A_old fixed (L_P).
        let a_train = affinity_tensor::<B>(&a_old, device);
        let a_valid = affinity_tensor::<B::InnerBackend>(&a_old, device);
        let mut train_loss = f64::NAN;
        for _ in 0..em.epochs_per_iteration {
            global_epoch += 1;
            let epoch_clock = Instant::now();
            let step = EpochStep::of(train, global_epoch);
            let lr = step.learning_rate;
            let (next, loss) = trainer.epoch(model, data, &a_train, step, device)?;
            model = next;
            train_loss = loss;
            let val_loss = if has_validation {
                validation_loss(
                    &model.valid(),
                    data,
                    &a_valid,
                    device,
                    train.batch_size,
                    threads,
                )
            } else {
                loss
            };
            let report = EpochReport {
                epoch: global_epoch,
                max_epochs: em.iterations * em.epochs_per_iteration,
                train_loss: loss,
                val_loss,
                val_mae: val_loss * std,
                learning_rate: lr,
                seconds: epoch_clock.elapsed().as_secs_f64(),
            };
            progress(EmEvent::Epoch(&report));
            if best.as_ref().is_none_or(|b| val_loss < b.0) {
                best = Some((val_loss, model.clone(), a_old.clone(), it, global_epoch));
            }
            epochs.push(report);
        }
        let val_loss = epochs
            .last()
            .map(|e: &EpochReport| e.val_loss)
            .unwrap_or(f64::NAN);

        // Graph learning: the generator with the estimator fixed (L_G), or both together.
        // The paper's step 5 holds a copy of the estimator fixed; the joint variant trains
        // `model` itself.
        let frozen = (!em.joint).then(|| model.clone().no_grad());
        let a_old_tensor = affinity_tensor::<B>(&a_old, device);
        let a_old_mask =
            affinity_tensor::<B>(&a_old.mapv(|v| f64::from(u8::from(v != 0.0))), device);
        let mut generator_loss = f64::NAN;
        // The estimator's learning rate of the iteration's last policy-learning epoch.
        let joint_lr = EpochStep::of(train, global_epoch).learning_rate;
        for g in 0..em.generator_epochs {
            let order = train
                .seed
                .wrapping_mul(31)
                .wrapping_add((it * em.generator_epochs + g) as u64);
            let mut sum = 0.0;
            let mut batches = 0usize;
            for starts in data.batches(Split::Train, train.batch_size, Some(order)) {
                // The generator and the estimator it feeds, as one module: the shards
                // differentiate their own copies; the frozen estimator passes no gradient.
                let pair = (
                    generator.clone(),
                    match &frozen {
                        Some(fixed) => fixed.clone(),
                        None => model.clone(),
                    },
                );
                let shards = parallel::split(&starts, threads);
                let elements = (starts.len() * data.spec.horizon * n) as f64;
                let (loss, mut grads) =
                    parallel::sharded_gradients(&pair, &shards, device, |(g, m), shard, _| {
                        let whole = shard.len() == starts.len();
                        let share = shard.len() as f64 / starts.len() as f64;
                        let batch = data.batch::<B>(shard, device);
                        let a_new = g.forward(a_old_tensor.clone());
                        let error = (m.forecast(batch.inputs, a_new.clone()) - batch.targets).abs();
                        let lp = if whole {
                            error.mean()
                        } else {
                            error.sum().div_scalar(elements)
                        };
                        match em.penalty {
                            EdgePenalty::Exact => {
                                let (_, pen) =
                                    edge_penalty(&to_array(a_new.detach()), &a_old, em.delta);
                                lp.add_scalar(if whole { pen } else { pen * share })
                            }
                            EdgePenalty::Soft { scale } => {
                                let soft = a_new.clone() / (a_new.add_scalar(scale));
                                let count = relu(soft - a_old_mask.clone()).sum();
                                let frac = count.div_scalar((n * n) as f64).sub_scalar(em.delta);
                                let pen = relu(frac).div_scalar(em.delta).reshape([1]);
                                lp + if whole { pen } else { pen.mul_scalar(share) }
                            }
                        }
                    });
                sum += loss;
                batches += 1;
                let gen_grads = parallel::take_gradients::<B, _>(&mut grads, &generator);
                generator = gen_optim.step(em.generator_lr, generator, gen_grads);
                if em.joint {
                    let model_grads = parallel::take_gradients::<B, _>(&mut grads, &model);
                    model = trainer.step(joint_lr, model, model_grads);
                }
            }
            generator_loss = sum / batches.max(1) as f64;
            if !generator_loss.is_finite() {
                return Err(holoscale_estimator::Error::Diverged {
                    epoch: global_epoch,
                }
                .into());
            }
        }
        let trained = generator.valid();
        let a_old_inner = affinity_tensor::<B::InnerBackend>(&a_old, device);
        let a_new = to_array(trained.forward(a_old_inner.clone()));
        let (proposed_edges, gate_mean) = {
            let a1 = trained.raw();
            let gate = to_array(trained.gate(a1.clone(), a_old_inner));
            let a1 = to_array(a1);
            let off = |(i, j): (usize, usize)| i != j;
            let proposed = a1
                .indexed_iter()
                .filter(|(ij, v)| off(*ij) && **v > 0.0)
                .count();
            let cells = (n * n - n).max(1) as f64;
            let mean = gate
                .indexed_iter()
                .filter(|(ij, _)| off(*ij))
                .map(|(_, v)| v)
                .sum::<f64>()
                / cells;
            (proposed, mean)
        };
        let (new_edges, _) = edge_penalty(&a_new, &a_old, em.delta);
        set.push(SetMember {
            iteration: it,
            origin: "generated".into(),
            matrix: a_new.clone(),
        });

        // Graph updating: score the set (eq. 10), drop the worst, combine (eq. 9).
        let valid = model.valid();
        let mut losses: Vec<f64> = set
            .iter()
            .map(|m| {
                let a = affinity_tensor::<B::InnerBackend>(&m.matrix, device);
                validation_loss(&valid, data, &a, device, train.batch_size, threads)
            })
            .collect();
        let before: Vec<usize> = set.iter().map(|m| m.iteration).collect();
        let dropped = prune(&mut set, &mut losses, em.max_set)
            .first()
            .map(|&i| before[i]);
        let took_newest = it >= first_newest;
        a_old = if took_newest {
            a_new
        } else {
            let mats: Vec<Array2<f64>> = set.iter().map(|m| m.matrix.clone()).collect();
            combine(&mats, &losses, em.temperature, epsilon)
        };
        let report = IterationReport {
            iteration: it,
            iterations: em.iterations,
            train_loss,
            val_loss,
            val_mae: val_loss * std,
            generator_loss,
            new_edges,
            proposed_edges,
            gate_mean,
            set_losses: losses,
            set_iterations: set.iter().map(|m| m.iteration).collect(),
            dropped,
            edges: off_diagonal_edges(&a_old),
            took_newest,
            seconds: clock.elapsed().as_secs_f64(),
        };
        progress(EmEvent::Iteration(&report));
        iterations.push(report);
        if let Some((ck, key)) = checkpoints {
            let (best_loss, best_model, best_affinity, best_iteration, best_epoch) =
                best.as_ref().expect("an epoch ran");
            let w = checkpoint::Writer::begin(&ck.dir)?;
            w.module("model", &model)?;
            w.module("best", best_model)?;
            trainer.save(&w, "optim")?;
            w.module("generator", &generator)?;
            w.optimizer::<B, GraphGenerator<B>, _>("generator-optim", &gen_optim)?;
            w.commit(&EmState {
                key: key.to_string(),
                iteration: it,
                global_epoch,
                epochs: epochs.clone(),
                iterations: iterations.clone(),
                set: set
                    .iter()
                    .map(|m| (m.iteration, m.origin.clone(), flat(&m.matrix)))
                    .collect(),
                a_old: flat(&a_old),
                best_loss: *best_loss,
                best_affinity: flat(best_affinity),
                best_iteration: *best_iteration,
                best_epoch: *best_epoch,
            })?;
        }
    }
    let (_, model, affinity, best_iteration, best_epoch) = best.expect("at least one epoch ran");
    Ok(EmOutcome {
        model,
        affinity,
        best_iteration,
        best_epoch,
        epochs,
        iterations,
        set,
    })
}
