//! Model directories with random and mutated files: loading never panics; every damaged
//! directory is refused with a message (or, when the damage is harmless, loads and predicts).
//! `HOLOSCALE_FUZZ_CASES` sets the cases (64 by default, what CI runs).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::OnceLock;

use holoscale_datasets::Telemetry;
use holoscale_estimator::Estimator;
use holoscale_estimator::backend::CpuAutodiff;
use holoscale_estimator::pipeline::{TrainOptions, train};
use holoscale_estimator::training::TrainConfig;
use proptest::prelude::*;

const FILES: [&str; 7] = [
    "config.json",
    "metadata.json",
    "services.json",
    "normalizer.json",
    "model.mpk",
    "affinity.parquet",
    "training.parquet",
];

fn cases() -> u32 {
    std::env::var("HOLOSCALE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

fn telemetry() -> Telemetry {
    let v = ndarray::Array3::from_shape_fn((40, 3, 2), |(t, n, c)| {
        2.0 + ((t as f64) * 0.3 + n as f64 + c as f64).sin()
    });
    Telemetry::try_new(
        "fuzz",
        0,
        30_000,
        vec!["a".into(), "b".into(), "c".into()],
        vec!["req_rate".into(), "replicas".into()],
        v,
    )
    .unwrap()
}

/// A model trained once per test process, and the bytes of its files.
fn model() -> &'static (tempfile::TempDir, PathBuf, Vec<Vec<u8>>) {
    static MODEL: OnceLock<(tempfile::TempDir, PathBuf, Vec<Vec<u8>>)> = OnceLock::new();
    MODEL.get_or_init(|| {
        let opts = TrainOptions {
            target: Some("req_rate".into()),
            features: Some(vec!["req_rate".into(), "replicas".into()]),
            window: Some(5),
            train: TrainConfig::new().with_max_epochs(1).with_batch_size(8),
            ..TrainOptions::default()
        };
        let trained =
            train::<CpuAutodiff>(&telemetry(), None, &opts, &Default::default(), &mut |_| {})
                .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model");
        trained.artifact.save(&path, false).unwrap();
        let bytes = FILES
            .iter()
            .map(|f| std::fs::read(path.join(f)).unwrap())
            .collect();
        (dir, path, bytes)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn damaged_model_directories(
        file in 0..FILES.len(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..10),
        cut in prop::option::of(any::<prop::sample::Index>()),
        random in prop::option::weighted(0.2, prop::collection::vec(any::<u8>(), 0..400)),
    ) {
        let (_, path, bytes) = model();
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join("model");
        std::fs::create_dir(&copy).unwrap();
        for (f, b) in FILES.iter().zip(bytes) {
            std::fs::write(copy.join(f), b).unwrap();
        }
        let mut b = match random {
            Some(r) => r,
            None => bytes[file].clone(),
        };
        if !b.is_empty() {
            for (i, v) in &edits {
                let k = i.index(b.len());
                b[k] = *v;
            }
            if let Some(c) = cut {
                b.truncate(c.index(b.len()));
            }
        }
        std::fs::write(copy.join(FILES[file]), &b).unwrap();
        let tel = telemetry();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            Estimator::load(&copy).and_then(|est| est.predict_next(&tel).map(|_| ()))
        }));
        prop_assert!(outcome.is_ok(), "loading with a damaged {} panicked", FILES[file]);
        if let Ok(Err(e)) = outcome {
            prop_assert!(!e.to_string().is_empty());
        }
        let _ = path;
    }
}
