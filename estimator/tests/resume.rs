//! An interrupted training resumes from its checkpoint and ends with the same numbers as a
//! training that was never interrupted.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;

use holoscale_estimator::backend::{Cpu, CpuAutodiff};
use holoscale_estimator::checkpoint::Checkpointing;
use holoscale_estimator::pipeline::{TrainOptions, train};
use holoscale_estimator::training::TrainConfig;
use holoscale_estimator::{EpochReport, Estimator};

use common::waves;

type AB = CpuAutodiff;

/// burn's CPU seed is process-wide: training tests take turns.
static TURN: Mutex<()> = Mutex::new(());

fn options(checkpoint: Option<Checkpointing>) -> TrainOptions {
    TrainOptions {
        target: Some("req_rate".into()),
        features: Some(vec!["req_rate".into(), "replicas".into()]),
        window: Some(6),
        train: TrainConfig::new()
            .with_max_epochs(7)
            .with_learning_rate(1e-2)
            .with_batch_size(16)
            .with_patience(1000),
        checkpoint,
        ..TrainOptions::default()
    }
}

/// Every number of an epoch report but its wall time.
fn numbers(h: &[EpochReport]) -> Vec<(usize, f64, f64, f64, f64)> {
    h.iter()
        .map(|e| {
            (
                e.epoch,
                e.train_loss,
                e.val_loss,
                e.val_mae,
                e.learning_rate,
            )
        })
        .collect()
}

#[test]
fn an_interrupted_training_resumes_to_the_same_numbers() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let tel = waves(90);
    let dev = Default::default();
    let whole = train::<AB>(&tel, None, &options(None), &dev, &mut |_| {}).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let ck = Checkpointing {
        dir: dir.path().join("checkpoint"),
        resume: false,
    };
    // Killed during epoch 4: the checkpoint holds epoch 3.
    let killed = catch_unwind(AssertUnwindSafe(|| {
        train::<AB>(&tel, None, &options(Some(ck.clone())), &dev, &mut |r| {
            assert!(r.epoch < 4, "interrupted in epoch 4");
        })
    }));
    assert!(killed.is_err());
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ck.dir.join("state.json")).unwrap()).unwrap();
    assert_eq!(state["epoch"], 3);

    let mut seen = Vec::new();
    let resumed = train::<AB>(
        &tel,
        None,
        &options(Some(Checkpointing {
            resume: true,
            ..ck.clone()
        })),
        &dev,
        &mut |r| seen.push(r.epoch),
    )
    .unwrap();
    assert_eq!(seen, [1, 2, 3, 4, 5, 6, 7], "replayed 1-3, trained 4-7");
    assert_eq!(
        numbers(&resumed.artifact.history),
        numbers(&whole.artifact.history)
    );
    assert_eq!(
        resumed.artifact.metadata.best_epoch,
        whole.artifact.metadata.best_epoch
    );
    let predict = |t: holoscale_estimator::pipeline::Trained<Cpu>| {
        Estimator::from_artifact(t.artifact, Default::default())
            .predict_next(&tel)
            .unwrap()
            .values
    };
    assert_eq!(predict(resumed), predict(whole));

    // Another setting, the same checkpoint: refused.
    let mut other = options(Some(Checkpointing { resume: true, ..ck }));
    other.train = other.train.with_learning_rate(5e-3);
    let err = train::<AB>(&tel, None, &other, &dev, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("other settings"), "{err}");
}
