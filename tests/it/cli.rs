//! inspect, convert, and the error contract of the command line.

use holoscale::datasets::Telemetry;
use holoscale::datasets::io::{self, NoProgress, ReadOptions};
use serde_json::Value;

use crate::{data, holoscale, run, simulate, stderr, stdout};

/// A telemetry file, read with the default options.
fn read_telemetry(path: &std::path::Path) -> Telemetry {
    io::read_telemetry(path, &ReadOptions::default(), &NoProgress).unwrap()
}

/// A simulation's `run.json`.
fn run_json(dir: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap()
}

#[test]
fn inspect_reports_the_planted_problems() {
    let out = run(
        holoscale().arg("inspect").arg(data("bookinfo-sample.csv")),
        true,
    );
    let text = stdout(&out);
    for needle in [
        "services    4: details, productpage, ratings, reviews",
        "interval    30s (360 steps)",
        "irregular timestamps (1)",
        "service `reviews`, at 2024-01-01T02:05:07Z",
        "duplicate rows (1)",
        "service `productpage`, column `latency_ms`, at 2024-01-01T02:30:00Z",
        "negative values (1)",
        "service `ratings`, at 2024-01-01T00:50:00Z: in every column: 2 missing step(s)",
        "standard columns not in the file: latency_p99_ms, optimal_replicas",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
}

#[test]
fn inspect_json_is_machine_readable() {
    let out = run(
        holoscale()
            .args(["inspect", "--format", "json"])
            .arg(data("bookinfo-sample.csv")),
        true,
    );
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["steps"], 360);
    assert_eq!(v["services"].as_array().unwrap().len(), 4);
    let kinds: Vec<&str> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"duplicate-rows") && kinds.contains(&"non-finite"),
        "{kinds:?}"
    );
    let replicas = v["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "replicas")
        .unwrap();
    assert_eq!(replicas["max"], 5.0);
}

#[test]
fn convert_csv_parquet_csv_keeps_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let pq = dir.path().join("t.parquet");
    let csv = dir.path().join("t.csv");
    run(
        holoscale()
            .args(["-q", "convert"])
            .arg(data("bookinfo-sample.csv"))
            .arg(&pq),
        true,
    );
    run(holoscale().args(["-q", "convert"]).arg(&pq).arg(&csv), true);
    let a = read_telemetry(&pq);
    let b = read_telemetry(&csv);
    assert_eq!(a.values().dim(), (360, 4, 10));
    assert_eq!(a.observed(), b.observed());
    assert!(
        a.values()
            .iter()
            .zip(b.values())
            .all(|(x, y)| x == y || (x.is_nan() && y.is_nan()))
    );
}

#[test]
fn convert_writes_csv_to_stdout() {
    let out = run(
        holoscale()
            .args(["-q", "convert", "--to", "csv", "--columns", "replicas"])
            .arg(data("bookinfo-sample.csv"))
            .arg("-"),
        true,
    );
    let text = stdout(&out);
    assert!(
        text.starts_with("timestamp,service,replicas\n2024-01-01T00:00:00Z,details,1\n"),
        "{}",
        &text[..200]
    );
}

#[test]
fn convert_npz_with_names_and_back() {
    let dir = tempfile::tempdir().unwrap();
    let npz = dir.path().join("t.npz");
    let pq = dir.path().join("t.parquet");
    run(
        holoscale()
            .args(["-q", "convert", "--columns", "replicas,req_rate"])
            .arg(data("bookinfo-sample.csv"))
            .arg(&npz),
        true,
    );
    // As a DeepScaler archive would be read: names and times given on the command line.
    run(
        holoscale()
            .args([
                "-q",
                "convert",
                "--features",
                "replicas,req_rate",
                "--services",
                "d,p,ra,re",
            ])
            .args(["--start", "2024-01-01T00:00:00Z", "--interval", "30s"])
            .arg(&npz)
            .arg(&pq),
        true,
    );
    let t = read_telemetry(&pq);
    assert_eq!(t.services(), ["d", "p", "ra", "re"]);
    assert_eq!(t.columns(), ["replicas", "req_rate"]);
    assert_eq!(t.len(), 360);
    let bad = run(
        holoscale()
            .args(["convert", "--force", "--features", "a,b,c"])
            .arg(&npz)
            .arg(&pq),
        false,
    );
    let err = stderr(&bad);
    assert!(
        err.contains("--features") && err.contains("2 features") && err.contains("3 names"),
        "{err}"
    );
}

#[test]
fn convert_alibaba_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ali.parquet");
    run(
        holoscale()
            .args([
                "-q",
                "convert",
                "--from",
                "alibaba",
                "--start",
                "2024-01-01T00:00:00Z",
            ])
            .arg(data("alibaba"))
            .arg(&out),
        true,
    );
    let t = read_telemetry(&out);
    assert_eq!(t.services(), ["MS_A", "MS_B", "MS_C"]);
    assert_eq!(
        t.series("MS_A", "req_rate").unwrap().to_vec(),
        [250.0, 240.0, 110.0]
    );
    let edges = io::read_edges(&dir.path().join("ali-edges.parquet")).unwrap();
    assert_eq!(edges.len(), 5);
    let show = run(
        holoscale()
            .arg("inspect")
            .arg(dir.path().join("ali-edges.parquet")),
        true,
    );
    assert!(
        stdout(&show).contains("5 rows, 4 distinct, time-varying"),
        "{}",
        stdout(&show)
    );
}

#[test]
fn errors_are_one_paragraph_and_exit_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "timestamp,service,replicas\n0,a,1\n30000,a,x\n").unwrap();
    let out = run(holoscale().args(["-q", "inspect"]).arg(&bad), false);
    let err = stderr(&out);
    assert!(err.starts_with("error: "), "{err}");
    assert!(
        err.contains("bad.csv, line 3: column `replicas`: `x` is not a number"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");

    let out = run(
        holoscale()
            .arg("inspect")
            .arg(dir.path().join("absent.parquet")),
        false,
    );
    assert!(
        stderr(&out).contains("absent.parquet: open failed"),
        "{}",
        stderr(&out)
    );

    // A refused conversion does not touch an existing output.
    let gappy = dir.path().join("gappy.csv");
    std::fs::write(
        &gappy,
        "timestamp,service,replicas\n0,a,1\n30000,a,1\n300000,a,2\n",
    )
    .unwrap();
    let target = dir.path().join("out.csv");
    std::fs::write(&target, "precious").unwrap();
    let out = run(
        holoscale()
            .args(["convert", "--force", "--interval", "30s"])
            .arg(&gappy)
            .arg(&target),
        false,
    );
    assert!(stderr(&out).contains("longest 8 steps"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious");
    run(
        holoscale()
            .args([
                "-q",
                "convert",
                "--force",
                "--interval",
                "30s",
                "--max-fill",
                "8",
            ])
            .arg(&gappy)
            .arg(&target),
        true,
    );
    assert_ne!(std::fs::read_to_string(&target).unwrap(), "precious");
}

#[test]
fn apps_list_and_show() {
    let out = run(holoscale().args(["apps", "list"]), true);
    let text = stdout(&out);
    for app in [
        "bookinfo",
        "online-boutique",
        "sock-shop",
        "social-network",
        "hotel-reservation",
        "media",
        "train-ticket",
        "alibaba",
    ] {
        assert!(text.contains(app), "{app} missing from\n{text}");
    }
    let out = run(holoscale().args(["apps", "show", "online-boutique"]), true);
    let text = stdout(&out);
    assert!(
        text.contains("call edges (14):") && text.contains("checkoutservice -> paymentservice"),
        "{text}"
    );
    assert!(
        text.contains("paymentservice -- emailservice (same-action via checkout"),
        "{text}"
    );
    let out = run(
        holoscale().args(["apps", "show", "bookinfo", "--dot"]),
        true,
    );
    let dot = stdout(&out);
    assert!(
        dot.starts_with("digraph \"bookinfo\"")
            && dot.contains("\"reviews\" -> \"ratings\";")
            && dot.contains("style=dashed"),
        "{dot}"
    );
    // An exported spec loads back as an application.
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("mine.toml");
    let toml = stdout(&run(
        holoscale().args(["apps", "show", "sock-shop", "--toml"]),
        true,
    ));
    std::fs::write(&spec, toml).unwrap();
    let out = run(holoscale().args(["apps", "show"]).arg(&spec), true);
    assert!(stdout(&out).contains("queue-master -> rabbitmq"));
}

#[test]
fn simulate_oracle_changes_only_the_label() {
    let dir = tempfile::tempdir().unwrap();
    let read = |name: &str, oracle: &str| {
        let out = dir.path().join(name);
        run(
            holoscale()
                .args([
                    "-q",
                    "simulate",
                    "--app",
                    "online-boutique",
                    "--duration",
                    "6h",
                ])
                .args(["--seed", "5", "--oracle", oracle, "--out"])
                .arg(&out),
            true,
        );
        assert_eq!(run_json(&out)["oracle"], oracle);
        read_telemetry(&out.join("telemetry.parquet"))
    };
    let (expected, realized) = (read("e", "expected"), read("r", "realized"));
    let label = expected.column_index("optimal_replicas").unwrap();
    let (mut same, mut differ) = (0usize, 0usize);
    for ((idx, e), r) in expected.values().indexed_iter().zip(realized.values()) {
        if idx.2 == label {
            if e == r { same += 1 } else { differ += 1 }
        } else {
            assert!(e == r || (e.is_nan() && r.is_nan()), "{idx:?}: {e} vs {r}");
        }
    }
    // The hindsight label follows the arrivals, so it disagrees now and then, mostly not.
    assert!(
        differ > 0 && same > 5 * differ,
        "{same} equal, {differ} differ"
    );
    let bad = run(
        holoscale()
            .args([
                "simulate", "--app", "bookinfo", "--oracle", "psychic", "--out",
            ])
            .arg(dir.path().join("x")),
        false,
    );
    assert!(
        stderr(&bad).contains("psychic") && stderr(&bad).contains("realized"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn simulate_writes_telemetry_edges_truth_and_spec_reproducibly() {
    let dir = tempfile::tempdir().unwrap();
    let sim = |out: &std::path::Path| simulate("bookinfo", "2h", "3", out);
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    let printed = stdout(&sim(&a));
    assert!(
        printed.contains("simulated 240 steps x 4 services"),
        "{printed}"
    );
    sim(&b);
    for f in [
        "telemetry.parquet",
        "edges.parquet",
        "truth.parquet",
        "app.toml",
        "run.json",
    ] {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f} differs between runs"
        );
    }
    let tel = read_telemetry(&a.join("telemetry.parquet"));
    assert_eq!(
        tel.services(),
        ["details", "productpage", "ratings", "reviews"]
    );
    assert!(tel.column_index("optimal_replicas").is_some());
    let truth = holoscale::datasets::GroundTruth::read_file(&a.join("truth.parquet")).unwrap();
    assert_eq!(truth.edges.len(), 5, "3 calls and 2 planted dependencies");
    let run_json = run_json(&a);
    assert_eq!(run_json["seed"], 3);
    assert!(run_json["summary"]["requests"].as_f64().unwrap() > 0.0);
    let bad = run(
        holoscale()
            .args([
                "simulate", "--app", "bookinfo", "--policy", "magic", "--out",
            ])
            .arg(dir.path().join("c")),
        false,
    );
    assert!(
        stderr(&bad).contains("`--policy`")
            && stderr(&bad).contains("`magic`")
            && stderr(&bad).contains("oracle-noise"),
        "{}",
        stderr(&bad)
    );
}
