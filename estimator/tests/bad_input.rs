//! Bad input gets an error that names what is wrong: services, columns, window, missing
//! values, model format version.

use holoscale_datasets::Telemetry;
use holoscale_estimator::Estimator;
use holoscale_estimator::backend::CpuAutodiff;
use holoscale_estimator::pipeline::{TrainOptions, train};
use holoscale_estimator::training::TrainConfig;
use ndarray::Array3;

type AB = CpuAutodiff;

fn telemetry(steps: usize, services: &[&str], columns: &[&str]) -> Telemetry {
    let v = Array3::from_shape_fn((steps, services.len(), columns.len()), |(t, n, c)| {
        3.0 + (t as f64 * 0.3 + n as f64 + c as f64).sin()
    });
    Telemetry::try_new(
        "data.parquet",
        0,
        30_000,
        services.iter().map(|s| s.to_string()).collect(),
        columns.iter().map(|s| s.to_string()).collect(),
        v,
    )
    .unwrap()
}

fn options() -> TrainOptions {
    TrainOptions {
        target: Some("req_rate".into()),
        features: Some(vec!["req_rate".into(), "replicas".into()]),
        window: Some(6),
        train: TrainConfig::new().with_max_epochs(1).with_batch_size(8),
        ..TrainOptions::default()
    }
}

/// A model trained on services a, b, c with features req_rate, replicas, saved to a temp dir.
fn saved_model() -> (tempfile::TempDir, std::path::PathBuf) {
    let tel = telemetry(60, &["a", "b", "c"], &["req_rate", "replicas"]);
    let trained = train::<AB>(&tel, None, &options(), &Default::default(), &mut |_| {}).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model");
    trained.artifact.save(&path, false).unwrap();
    (dir, path)
}

fn err_text<T>(r: holoscale_estimator::Result<T>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn prediction_refuses_mismatched_data() {
    let (_keep, path) = saved_model();
    let est = Estimator::load(&path).unwrap();

    // Wrong service set: `c` is missing, `d` is unknown.
    let msg =
        err_text(est.predict_next(&telemetry(20, &["a", "b", "d"], &["req_rate", "replicas"])));
    assert!(msg.contains("data.parquet"), "{msg}");
    assert!(msg.contains("missing from the data: [\"c\"]"), "{msg}");
    assert!(msg.contains("not known to the model: [\"d\"]"), "{msg}");

    // Missing feature column.
    let msg = err_text(est.predict_next(&telemetry(20, &["a", "b", "c"], &["req_rate"])));
    assert!(
        msg.contains("feature column `replicas` is missing"),
        "{msg}"
    );

    // Fewer steps than the window.
    let msg =
        err_text(est.predict_next(&telemetry(4, &["a", "b", "c"], &["req_rate", "replicas"])));
    assert!(
        msg.contains("4 steps are fewer than the model's window of 6"),
        "{msg}"
    );

    // A missing value in the latest window names service, column and time.
    let mut tel = telemetry(20, &["a", "b", "c"], &["req_rate", "replicas"]);
    let values = tel.values_mut();
    values[[18, 1, 1]] = f64::NAN;
    let msg = err_text(est.predict_next(&tel));
    assert!(msg.contains("`b`") || msg.contains("b"), "{msg}");
    assert!(msg.contains("replicas"), "{msg}");
    assert!(msg.contains("1970-01-01T00:09:00"), "{msg}");

    // The same data without the gap predicts, and the gap before the window does not matter.
    let mut tel = telemetry(20, &["a", "b", "c"], &["req_rate", "replicas"]);
    tel.values_mut()[[2, 1, 1]] = f64::NAN;
    let next = est.predict_next(&tel).unwrap();
    assert!(next.values[0].iter().all(|v| v.is_finite()));
}

#[test]
fn loading_refuses_other_versions_and_broken_directories() {
    let (_keep, path) = saved_model();
    let cfg_path = path.join("config.json");
    let text = std::fs::read_to_string(&cfg_path).unwrap();
    let mut cfg: serde_json::Value = serde_json::from_str(&text).unwrap();
    cfg["artifact_version"] = serde_json::json!(99);
    std::fs::write(&cfg_path, serde_json::to_string(&cfg).unwrap()).unwrap();
    let msg = err_text(Estimator::load(&path));
    assert!(msg.contains("model format version 99"), "{msg}");
    assert!(msg.contains("retrain"), "{msg}");

    // Not a model directory at all.
    let empty = tempfile::tempdir().unwrap();
    let msg = err_text(Estimator::load(empty.path()));
    assert!(
        msg.contains("metadata.json") && msg.contains("holoscale model directory"),
        "{msg}"
    );
}

#[test]
fn training_refuses_bad_settings() {
    let tel = telemetry(60, &["a", "b", "c"], &["req_rate", "replicas"]);
    let dev = Default::default();
    let run = |opts: TrainOptions| err_text(train::<AB>(&tel, None, &opts, &dev, &mut |_| {}));

    let msg = run(TrainOptions {
        window: Some(200),
        ..options()
    });
    assert!(msg.contains("window"), "{msg}");
    assert!(msg.contains("60"), "{msg}");

    let msg = run(TrainOptions {
        target: Some("optimal_replicas".into()),
        ..options()
    });
    assert!(msg.contains("optimal_replicas"), "{msg}");

    let msg = run(TrainOptions {
        features: Some(vec!["req_rate".into(), "cpu_cores".into()]),
        ..options()
    });
    assert!(msg.contains("cpu_cores"), "{msg}");

    let msg = run(TrainOptions {
        train: TrainConfig::new().with_learning_rate(-1.0),
        ..options()
    });
    assert!(msg.contains("`learning_rate`"), "{msg}");
}

/// A copy of the saved model with `file` edited by `edit`, and the error of loading it.
fn load_edited(file: &str, edit: impl FnOnce(&std::path::Path)) -> String {
    let (keep, path) = saved_model();
    edit(&path.join(file));
    let msg = err_text(Estimator::load(&path));
    drop(keep);
    msg
}

/// `load_edited` for a JSON file, setting `pointer` (a JSON pointer) to `value`.
fn load_with_json(file: &str, pointer: &str, value: serde_json::Value) -> String {
    load_edited(file, |p| {
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        *v.pointer_mut(pointer)
            .unwrap_or_else(|| panic!("{pointer} in {file}")) = value;
        std::fs::write(p, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    })
}

#[test]
fn hand_edited_config_json_is_refused_naming_the_file_and_field() {
    use serde_json::json;
    // (pointer, value, what the message must name)
    let cases = [
        ("/data/window", json!(3), "`model.window`"),
        ("/data/window", json!(0), "`data.window`"),
        ("/model/window", json!(0), "`window`"),
        ("/model/cheb_k", json!(0), "`cheb_k`"),
        ("/model/cheb_filters", json!(3), "`cheb_filters`"),
        ("/model/cheb_filters", json!(64), "another shape"),
        ("/model/time_kernel", json!(4), "`time_kernel`"),
        ("/data/horizon", json!(2), "`model.horizon`"),
        ("/data/features", json!(["req_rate"]), "`model.features`"),
        ("/data/features", json!(["req_rate", "req_rate"]), "twice"),
        ("/data/split/train", json!(2.0), "`data.split`"),
        ("/data/interval_ms", json!(0), "`data.interval_ms`"),
        ("/train/learning_rate", json!(-1.0), "`train`"),
        (
            "/model/residual_feature",
            json!(7),
            "`model.residual_feature`",
        ),
    ];
    for (pointer, value, needle) in cases {
        let msg = load_with_json("config.json", pointer, value.clone());
        assert!(
            msg.contains("config.json") && msg.contains(needle),
            "{pointer} = {value}: {msg}"
        );
    }
    // Both the model's and the data's horizon edited: the weights do not fit.
    let msg = load_edited("config.json", |p| {
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        v["data"]["horizon"] = json!(2);
        v["model"]["horizon"] = json!(2);
        std::fs::write(p, v.to_string()).unwrap();
    });
    assert!(
        msg.contains("model.mpk") && msg.contains("another shape"),
        "{msg}"
    );
}

#[test]
fn hand_edited_services_metadata_and_normalizer_are_refused() {
    use serde_json::json;
    let msg = load_with_json("services.json", "/services", json!(["a", "b"]));
    assert!(msg.contains("`model.services`"), "{msg}");
    let msg = load_with_json("services.json", "/services", json!(["a", "a", "c"]));
    assert!(
        msg.contains("services.json") && msg.contains("twice"),
        "{msg}"
    );
    let msg = load_with_json("services.json", "/services", json!(["a", "c", "b"]));
    assert!(msg.contains("affinity.parquet"), "{msg}");
    let msg = load_with_json("metadata.json", "/schema_version", json!(99));
    assert!(
        msg.contains("metadata.json") && msg.contains("`schema_version`") && msg.contains("99"),
        "{msg}"
    );
    let msg = load_with_json("metadata.json", "/max_replicas", json!(0));
    assert!(msg.contains("`max_replicas`"), "{msg}");
    let msg = load_with_json("metadata.json", "/rounding_threshold", json!(7.0));
    assert!(msg.contains("`rounding_threshold`"), "{msg}");
    let msg = load_with_json("normalizer.json", "/features", json!(["x", "y"]));
    assert!(
        msg.contains("normalizer.json") && msg.contains("`req_rate`"),
        "{msg}"
    );
}

#[test]
fn a_truncated_empty_or_random_weights_file_is_named_as_corrupt() {
    let truncate = |p: &std::path::Path| {
        let bytes = std::fs::read(p).unwrap();
        std::fs::write(p, &bytes[..bytes.len() / 2]).unwrap();
    };
    let empty = |p: &std::path::Path| std::fs::write(p, b"").unwrap();
    let random = |p: &std::path::Path| {
        let len = std::fs::metadata(p).unwrap().len() as usize;
        let noise: Vec<u8> = (0..len).map(|i| (i * 7919 % 251) as u8).collect();
        std::fs::write(p, noise).unwrap();
    };
    for (name, edit) in [
        ("truncated", &truncate as &dyn Fn(&std::path::Path)),
        ("empty", &empty),
        ("random", &random),
    ] {
        let msg = load_edited("model.mpk", edit);
        assert!(
            msg.contains("model.mpk") && msg.contains("corrupt or incomplete"),
            "{name}: {msg}"
        );
        assert!(
            !msg.contains("0.14.0"),
            "{name}: burn's format message leaks: {msg}"
        );
    }
}
