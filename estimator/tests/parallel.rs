//! Data-parallel training: a batch split over threads gives the gradient of the unsplit
//! batch (up to the order of floating-point summation), and training on 1 or 3 threads
//! ends at the same network up to that rounding.

mod common;

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;
use holoscale_datasets::tensor::{Split, SplitSpec, WindowOptions, WindowSpec, Windowed};
use holoscale_estimator::backend::{Cpu, CpuAutodiff, CpuDevice};
use holoscale_estimator::data::BurnBatches;
use holoscale_estimator::model::{Forecaster, Stgcn, StgcnConfig};
use holoscale_estimator::parallel::{self, sharded_gradients, split};
use holoscale_estimator::pipeline::{TrainOptions, train};
use holoscale_estimator::training::{TrainConfig, affinity_tensor};
use ndarray::Array2;

use common::waves;

/// burn's CPU seed is process-wide: tests that initialise networks take turns.
static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Every gradient of the visited module, flattened in visiting order.
struct Flatten<'a> {
    grads: &'a GradientsParams,
    out: Vec<f32>,
    missing: usize,
}

impl ModuleVisitor<CpuAutodiff> for Flatten<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<CpuAutodiff, D>>) {
        match self.grads.get::<Cpu, D>(param.id) {
            Some(g) => self.out.extend(g.into_data().to_vec::<f32>().unwrap()),
            None => self.missing += 1,
        }
    }
}

fn flatten(model: &Stgcn<CpuAutodiff>, grads: &GradientsParams) -> Vec<f32> {
    let mut v = Flatten {
        grads,
        out: Vec::new(),
        missing: 0,
    };
    model.visit(&mut v);
    assert_eq!(v.missing, 0, "every parameter has a gradient");
    v.out
}

#[test]
fn split_batches_give_the_gradient_of_the_whole_batch() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let dev = CpuDevice::default();
    let tel = waves(60);
    let data = Windowed::new(
        &tel,
        &["req_rate", "replicas"],
        "req_rate",
        WindowSpec::try_new(6, 2, 1).unwrap(),
        SplitSpec::default(),
        WindowOptions::default(),
    )
    .unwrap();
    let starts: Vec<usize> = data.starts(Split::Train)[..11].to_vec();
    let model: Stgcn<CpuAutodiff> = StgcnConfig::new(3, 2)
        .with_window(6)
        .with_horizon(2)
        .with_cheb_filters(4)
        .with_time_filters(4)
        .init(&dev);
    let a = affinity_tensor::<CpuAutodiff>(
        &Array2::from_shape_fn((3, 3), |(i, j)| if i == j { 0.5 } else { 0.25 }),
        &dev,
    );
    let elements = (starts.len() * 2 * 3) as f64;
    let grads_with = |threads: usize| {
        let shards = split(&starts, threads);
        assert_eq!(shards.len(), threads);
        let (loss, grads) = sharded_gradients(&model, &shards, &dev, |m, shard, _| {
            let batch = data.batch::<CpuAutodiff>(shard, &dev);
            let error = (m.forecast(batch.inputs, a.clone()) - batch.targets).abs();
            if shard.len() == starts.len() {
                error.mean()
            } else {
                error.sum().div_scalar(elements)
            }
        });
        (loss, flatten(&model, &grads))
    };
    let (loss1, g1) = grads_with(1);
    let scale = g1.iter().map(|v| v.abs()).fold(0.0f32, f32::max);
    assert!(scale > 1e-3, "a real gradient: {scale}");
    for threads in [2, 3, 4] {
        let (loss, g) = grads_with(threads);
        assert!(
            (loss - loss1).abs() < 1e-6 * loss1.abs().max(1.0),
            "{threads} threads: loss {loss} against {loss1}"
        );
        assert_eq!(g.len(), g1.len());
        let worst = g
            .iter()
            .zip(&g1)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(
            worst <= 1e-5 * scale,
            "{threads} threads: gradient differs by {worst} (largest entry {scale})"
        );
    }
}

#[test]
fn training_on_one_or_three_threads_ends_at_the_same_network() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let tel = waves(90);
    let opts = |threads| TrainOptions {
        target: Some("req_rate".into()),
        features: Some(vec!["req_rate".into(), "replicas".into()]),
        window: Some(6),
        train: TrainConfig::new()
            .with_max_epochs(3)
            .with_batch_size(16)
            .with_patience(100),
        threads,
        ..TrainOptions::default()
    };
    let run = |threads| {
        let t = train::<CpuAutodiff>(
            &tel,
            None,
            &opts(threads),
            &CpuDevice::default(),
            &mut |_| {},
        )
        .unwrap();
        t.artifact.history
    };
    let (one, three) = (run(1), run(3));
    assert!(
        one.last().unwrap().train_loss < one[0].train_loss,
        "training learned"
    );
    for (a, b) in one.iter().zip(&three) {
        assert!(
            (a.train_loss - b.train_loss).abs() < 1e-4 * a.train_loss,
            "epoch {}: train loss {} on 1 thread, {} on 3",
            a.epoch,
            a.train_loss,
            b.train_loss
        );
        assert!((a.val_loss - b.val_loss).abs() < 1e-4 * a.val_loss);
    }
    let again = run(3);
    assert_eq!(
        three.iter().map(|e| e.val_loss).collect::<Vec<_>>(),
        again.iter().map(|e| e.val_loss).collect::<Vec<_>>(),
        "the same thread count gives the same numbers"
    );
}

/// A fresh network is lazily initialised: the copies handed to threads must not draw their
/// own weights (they did, before `parallel::materialise`, and 3 threads trained 3 networks).
#[test]
fn one_epoch_on_split_batches_ends_at_the_same_network() {
    use holoscale_estimator::training::{EpochStep, Trainer};
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let dev = CpuDevice::default();
    let tel = waves(90);
    let data = Windowed::new(
        &tel,
        &["req_rate", "replicas"],
        "req_rate",
        WindowSpec::try_new(6, 1, 1).unwrap(),
        SplitSpec::default(),
        WindowOptions::default(),
    )
    .unwrap();
    let a = affinity_tensor::<CpuAutodiff>(
        &Array2::from_shape_fn((3, 3), |(i, j)| if i == j { 0.5 } else { 0.25 }),
        &dev,
    );
    // One batch (the loss is the fresh network's) and several (it follows the steps).
    for batch in [128, 16] {
        let cfg = TrainConfig::new().with_batch_size(batch);
        let after = |threads: usize| {
            // Seeded and left lazily initialised (the trainer must draw it once); the
            // generator stays this thread's until the epoch has drawn the weights.
            let _rng = parallel::seed::<CpuAutodiff>(&dev, 5);
            let model: Stgcn<CpuAutodiff> = StgcnConfig::new(3, 2)
                .with_window(6)
                .with_cheb_filters(4)
                .with_time_filters(4)
                .init(&dev);
            let mut trainer = Trainer::<CpuAutodiff, _>::new(&cfg)
                .unwrap()
                .with_threads(threads);
            let step = EpochStep {
                epoch: 1,
                learning_rate: 1e-3,
                order_seed: 3,
            };
            let (model, loss) = trainer.epoch(model, &data, &a, step, &dev).unwrap();
            let weights = model.output.weight.val().into_data().to_vec::<f32>();
            (loss, weights.unwrap())
        };
        let (l1, w1) = after(1);
        let (l3, w3) = after(3);
        let worst = w1
            .iter()
            .zip(&w3)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(
            (l1 - l3).abs() < 1e-5 * l1,
            "batch {batch}: loss {l1} on 1 thread, {l3} on 3"
        );
        assert!(
            worst < 1e-5,
            "batch {batch}: output weights differ by {worst}"
        );
    }
}
