//! train → predict → evaluate on a simulated application, as the README walks through it,
//! and the estimator's errors at the command line.

use std::fs::File;

use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;

use crate::{holoscale, run, simulate, stderr, stdout};

/// Overall test MAE of `model` in an `evaluate --format json` array.
fn overall_mae(rows: &[Value], model: &str) -> f64 {
    rows.iter()
        .find(|r| r["model"] == model && r["service"] == "all" && r["horizon"] == 0)
        .unwrap_or_else(|| panic!("no overall row for {model}"))["mae"]
        .as_f64()
        .unwrap()
}

#[test]
fn train_predict_evaluate_on_simulated_online_boutique() {
    let dir = tempfile::tempdir().unwrap();
    let sim = dir.path().join("sim");
    simulate("online-boutique", "12h", "11", &sim);
    let tel = sim.join("telemetry.parquet");
    let edges = sim.join("edges.parquet");
    let model = dir.path().join("model");

    // Train with the defaults (target optimal_replicas, the cpu preset, early stopping) on
    // two threads, so that the figures below are the same on any machine.
    let out = run(
        holoscale()
            .env("HOLOSCALE_THREADS", "2")
            .args(["-q", "train", "--no-graph-learning", "--telemetry"])
            .arg(&tel)
            .arg("--edges")
            .arg(&edges)
            .arg("--out")
            .arg(&model),
        true,
    );
    let text = stdout(&out);
    assert!(
        text.contains("trained stgcn on 10 services x 5 features, window 3, horizon 1"),
        "{text}"
    );
    for f in [
        "config.json",
        "model.mpk",
        "normalizer.json",
        "services.json",
        "affinity.parquet",
        "training.parquet",
        "metadata.json",
    ] {
        assert!(model.join(f).exists(), "{f}");
    }
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(model.join("metadata.json")).unwrap())
            .unwrap();
    assert_eq!(meta["affinity_source"], "invocation");

    // A second train into the same directory needs --force.
    let again = run(
        holoscale()
            .args([
                "-q",
                "train",
                "--no-graph-learning",
                "--epochs",
                "1",
                "--telemetry",
            ])
            .arg(&tel)
            .arg("--out")
            .arg(&model),
        false,
    );
    assert!(stderr(&again).contains("--force"), "{}", stderr(&again));

    // Batch prediction after every window: 1440 − 3 + 1 = 1438 windows (the last one predicts
    // past the end of the data, its actual value null) × 10 services.
    let preds = dir.path().join("preds.parquet");
    run(
        holoscale()
            .args(["-q", "predict", "--model"])
            .arg(&model)
            .arg("--telemetry")
            .arg(&tel)
            .arg("--out")
            .arg(&preds),
        true,
    );
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&preds).unwrap()).unwrap();
    let names: Vec<String> = reader
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(
        names,
        [
            "timestamp",
            "service",
            "horizon",
            "predicted_optimal_replicas",
            "actual_optimal_replicas",
            "replicas"
        ]
    );
    let rows: usize = reader.build().unwrap().map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(rows, 1438 * 10);

    // Next-step prediction as JSON.
    let out = run(
        holoscale()
            .args(["-q", "predict", "--format", "json", "--model"])
            .arg(&model)
            .arg("--telemetry")
            .arg(&tel),
        true,
    );
    let next: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let next = next.as_array().expect("an array of rows");
    assert_eq!(next.len(), 10, "{next:?}");
    assert!(next.iter().all(|r| r["replicas"].as_u64().unwrap() >= 1));

    // Evaluation against every baseline on the same test windows.
    let metrics = dir.path().join("metrics.parquet");
    let out = run(
        holoscale()
            .env("HOLOSCALE_THREADS", "2")
            .args(["-q", "evaluate", "--baselines", "all", "--format", "json"])
            .arg("--model")
            .arg(&model)
            .arg("--telemetry")
            .arg(&tel)
            .arg("--edges")
            .arg(&edges)
            .arg("--out")
            .arg(&metrics),
        true,
    );
    let rows: Vec<Value> = serde_json::from_str(&stdout(&out)).unwrap();
    for r in &rows {
        for key in ["model", "service", "horizon", "mae", "rmse", "mape"] {
            assert!(r.get(key).is_some(), "{key} missing in {r}");
        }
    }
    let stgcn = overall_mae(&rows, "stgcn");
    let persistence = overall_mae(&rows, "persistence");
    let seasonal = overall_mae(&rows, "seasonal-naive");
    let gru = overall_mae(&rows, "gru");
    let tgcn = overall_mae(&rows, "tgcn");
    // Per service rows for every model, and the metrics Parquet.
    assert_eq!(
        rows.iter()
            .filter(|r| r["model"] == "stgcn" && r["horizon"] == 0)
            .count(),
        11
    );
    assert!(metrics.exists());
    // Learning happened: the best validation MAE is well below the first epoch's (0.234
    // after the first epoch, 0.122 at best, epoch 66 of 76, measured: with the cpu preset's
    // batch 16 and rate 3e-3 the first epoch already takes 280 steps).
    let history = ParquetRecordBatchReaderBuilder::try_new(
        File::open(model.join("training.parquet")).unwrap(),
    )
    .unwrap()
    .build()
    .unwrap()
    .next()
    .unwrap()
    .unwrap();
    let val_mae = history
        .column_by_name("val_mae")
        .unwrap()
        .as_any()
        .downcast_ref::<arrow::array::Float64Array>()
        .unwrap()
        .values()
        .to_vec();
    let best = val_mae.iter().cloned().fold(f64::INFINITY, f64::min);
    assert!(
        best < 0.6 * val_mae[0],
        "validation MAE per epoch {val_mae:?}"
    );
    // Issue 19's tests: at the default settings the estimator is no worse than the GRU
    // trained the same way, and within a stated factor of the trees, which see the same
    // inputs. Measured here with the cpu preset's window 3 and cosine half-period 60:
    // stgcn 0.2148, GRU 0.2432 (0.88x), trees 0.1347 (1.59x), T-GCN 0.2978. On this half
    // day the estimator is further from the trees than on the benchmark's two days, where
    // it meets the issue's 1.25x (1.21x: BENCHMARKS.md, "Estimator accuracy against
    // realisable baselines", "Closing the gap").
    assert!(
        stgcn <= gru,
        "stgcn {stgcn} vs gru {gru} (persistence {persistence}, seasonal naive {seasonal})"
    );
    assert!(stgcn < tgcn, "stgcn {stgcn} vs tgcn {tgcn}");
    let gbdt = overall_mae(&rows, "gbdt");
    assert!(
        stgcn <= 1.7 * gbdt,
        "stgcn {stgcn} vs gbdt {gbdt}: the estimator fell further behind the trees"
    );
    assert!(
        gbdt < gru,
        "the trees {gbdt} learned less than the GRU {gru}"
    );
    // The label is not an input: persistence and seasonal naive are marked not realisable.
    for r in &rows {
        let realisable = !matches!(r["model"].as_str(), Some("persistence" | "seasonal-naive"));
        assert_eq!(r["realisable"], realisable, "{r}");
    }
    // The trained baselines were kept: a second evaluation reads them and agrees.
    let again = run(
        holoscale()
            .env("HOLOSCALE_THREADS", "2")
            .args([
                "evaluate",
                "--baselines",
                "gru,tgcn,gbdt",
                "--format",
                "json",
            ])
            .arg("--model")
            .arg(&model)
            .arg("--telemetry")
            .arg(&tel)
            .arg("--edges")
            .arg(&edges),
        true,
    );
    assert_eq!(
        stderr(&again)
            .matches("read from the model's baseline cache")
            .count(),
        3,
        "{}",
        stderr(&again)
    );
    let cached: Vec<Value> = serde_json::from_str(&stdout(&again)).unwrap();
    assert_eq!(overall_mae(&cached, "gbdt"), gbdt);
    assert_eq!(overall_mae(&cached, "gru"), gru);

    // A model refuses telemetry of other services, naming them.
    let other = dir.path().join("bookinfo");
    simulate("bookinfo", "1h", "3", &other);
    let out = run(
        holoscale()
            .args(["-q", "predict", "--model"])
            .arg(&model)
            .arg("--telemetry")
            .arg(other.join("telemetry.parquet")),
        false,
    );
    let err = stderr(&out);
    assert!(err.contains("the model does not fit"), "{err}");
    assert!(err.contains("productpage"), "{err}");
}
