//! `holoscale scale run` and `scale evaluate`.

use super::{holoscale, run, stderr, stdout};

#[test]
fn scale_run_writes_a_run_directory_that_trains_a_model() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let o = run(
        holoscale()
            .args([
                "-q",
                "scale",
                "run",
                "--app",
                "bookinfo",
                "--duration",
                "2h",
            ])
            .args(["--scaler", "hpa", "--seed", "3", "--out"])
            .arg(&out),
        true,
    );
    let text = stdout(&o);
    assert!(
        text.contains("hpa on bookinfo") && text.contains("core-hours"),
        "{text}"
    );
    for f in [
        "telemetry.parquet",
        "edges.parquet",
        "truth.parquet",
        "app.toml",
        "run.json",
        "decisions.csv",
        "series.parquet",
        "scale.json",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let decisions = std::fs::read_to_string(out.join("decisions.csv")).unwrap();
    assert!(decisions.starts_with("timestamp_ms,service,from,to\n"));
    assert!(
        decisions.lines().count() > 1,
        "HPA changed something in 2 h"
    );
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("scale.json")).unwrap()).unwrap();
    assert_eq!(meta["scaler"], "hpa");
    assert!(meta["metrics"]["violation_share"].as_f64().unwrap() >= 0.0);
    // 2 h at the 15 s scrape interval, 4 services.
    let o = run(
        holoscale()
            .args(["-q", "inspect"])
            .arg(out.join("telemetry.parquet")),
        true,
    );
    assert!(stdout(&o).contains("480"), "{}", stdout(&o));
    // Scaler-driven telemetry trains a model.
    let model = tmp.path().join("model");
    run(
        holoscale()
            .args(["-q", "train", "--telemetry"])
            .arg(out.join("telemetry.parquet"))
            .arg("--edges")
            .arg(out.join("edges.parquet"))
            .args(["--epochs", "1", "--no-graph-learning", "--out"])
            .arg(&model),
        true,
    );
    assert!(model.join("config.json").is_file());
    // Again without --force: refused, nothing replaced; with --force: replaced.
    let o = run(
        holoscale()
            .args([
                "-q",
                "scale",
                "run",
                "--app",
                "bookinfo",
                "--duration",
                "1h",
                "--out",
            ])
            .arg(&out),
        false,
    );
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    run(
        holoscale()
            .args([
                "-q",
                "scale",
                "run",
                "--app",
                "bookinfo",
                "--duration",
                "1h",
                "--force",
            ])
            .args(["--scaler", "oracle", "--out"])
            .arg(&out),
        true,
    );
    // A directory holding something else is refused even with --force.
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    let o = run(
        holoscale()
            .args([
                "-q",
                "scale",
                "run",
                "--app",
                "bookinfo",
                "--duration",
                "1h",
                "--force",
                "--out",
            ])
            .arg(&out),
        false,
    );
    assert!(stderr(&o).contains("notes.txt"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn scale_evaluate_prints_the_table_in_every_format() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("eval");
    let base = |cmd: &mut std::process::Command| {
        cmd.args([
            "-q",
            "scale",
            "evaluate",
            "--app",
            "bookinfo",
            "--duration",
            "2h",
        ])
        .args(["--scalers", "hpa,static,oracle", "--seeds", "1,2"]);
    };
    let mut cmd = holoscale();
    base(&mut cmd);
    let o = run(cmd.arg("--out").arg(&out), true);
    let table = stdout(&o);
    for want in [
        "hpa",
        "static",
        "oracle *",
        "violations %",
        "core-hours",
        "unrealisable",
    ] {
        assert!(table.contains(want), "{want} missing from\n{table}");
    }
    for f in [
        "table.csv",
        "table.json",
        "series.parquet",
        "replicas.parquet",
        "report.html",
        "evaluation.json",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Violations and cost") && html.contains("data:image/png;base64,"));
    let mut cmd = holoscale();
    base(&mut cmd);
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&run(cmd.args(["--format", "json"]), true))).unwrap();
    let rows = json.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[2]["scaler"], "oracle");
    assert_eq!(rows[2]["oracle"], true);
    assert_eq!(rows[0]["runs"], 2);
    // The same numbers as the table written to --out.
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("table.json")).unwrap()).unwrap();
    assert_eq!(written, json);
    let mut cmd = holoscale();
    base(&mut cmd);
    let csv = stdout(&run(cmd.args(["--format", "csv"]), true));
    assert!(csv.starts_with("scaler,oracle,runs,violation_share,violation_share_sd,"));
    assert_eq!(csv.lines().count(), 4);
}

#[test]
fn scale_refuses_bad_flags_before_running() {
    for (args, want) in [
        (vec!["--scalers", "hpa,magic"], "magic"),
        (vec!["--scalers", "hpa,hpa"], "twice"),
        (vec!["--seeds", "1,x"], "--seeds"),
        (vec!["--period", "20s"], "--period"),
        (vec!["--rate-window", "0"], "--rate-window"),
        (
            vec!["--scalers", "deepscaler:/nonexistent"],
            "not a model directory",
        ),
        (
            vec!["--no-frictions", "--metrics-lag", "2"],
            "--metrics-lag",
        ),
        (vec!["--workload", "spiky"], "surge"),
    ] {
        let o = run(
            holoscale()
                .args([
                    "-q",
                    "scale",
                    "evaluate",
                    "--app",
                    "bookinfo",
                    "--duration",
                    "1h",
                ])
                .args(&args),
            false,
        );
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
    }
}
