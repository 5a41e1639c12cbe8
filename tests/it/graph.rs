//! Graph learning at the command line: `train` with EM (the default, joint graph learning),
//! `graph` in every format, `graph compare` against the ground truth and the OD / CC / call
//! sources, and the errors.

use serde_json::Value;

use crate::{holoscale, run, simulate, stderr, stdout};

/// `holoscale graph compare A B --format json`.
fn compare(a: &str, b: &str) -> Value {
    serde_json::from_str(&stdout(&run(
        holoscale().args(["-q", "graph", "compare", a, b, "--format", "json"]),
        true,
    )))
    .unwrap()
}

#[test]
fn train_with_em_then_show_and_compare_graphs() {
    let dir = tempfile::tempdir().unwrap();
    let sim = dir.path().join("sim");
    simulate("online-boutique", "6h", "5", &sim);
    let tel = sim.join("telemetry.parquet");
    let edges = sim.join("edges.parquet");
    let truth = sim.join("truth.parquet");
    let model = dir.path().join("model");

    // EM is the default of `train`; a short schedule.
    let out = run(
        holoscale()
            .args(["-q", "train", "--em-iterations", "3", "--em-epochs", "1"])
            .args(["--generator-epochs", "1", "--telemetry"])
            .arg(&tel)
            .arg("--edges")
            .arg(&edges)
            .arg("--out")
            .arg(&model),
        true,
    );
    let text = stdout(&out);
    assert!(
        text.contains(
            "trained stgcn with EM graph learning on 10 services: 3 iterations x 1 epochs"
        ),
        "{text}"
    );
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(model.join("metadata.json")).unwrap())
            .unwrap();
    assert_eq!(meta["affinity_source"], "learned");
    let history: Value =
        serde_json::from_str(&std::fs::read_to_string(model.join("graph_learning.json")).unwrap())
            .unwrap();
    let its = history["iterations"].as_array().unwrap();
    assert_eq!(its.len(), 3);
    for it in its {
        assert!(it["set_losses"].as_array().unwrap().len() <= 3, "{it}");
        assert!(it["val_mae"].as_f64().unwrap().is_finite());
    }
    assert_eq!(history["config"]["delta"], 0.05);
    assert_eq!(history["starting_set"][0], "invocation");

    // The learned dependencies as a table, CSV, DOT and Parquet.
    let table = stdout(&run(
        holoscale()
            .arg("graph")
            .arg(&model)
            .args(["--top", "5", "--edges"])
            .arg(&edges),
        true,
    ));
    assert!(table.contains("rank  source"), "{table}");
    assert!(table.lines().count() <= 2 + 5, "{table}");
    let csv = stdout(&run(
        holoscale()
            .arg("graph")
            .arg(&model)
            .args(["--format", "csv"]),
        true,
    ));
    assert!(csv.starts_with("source,destination,weight,kind\n"), "{csv}");
    let dot = stdout(&run(
        holoscale()
            .arg("graph")
            .arg(&model)
            .args(["--format", "dot"]),
        true,
    ));
    assert!(
        dot.starts_with("digraph dependencies {") && dot.contains("\"frontend\""),
        "{dot}"
    );
    let pq = dir.path().join("deps.parquet");
    run(
        holoscale()
            .arg("graph")
            .arg(&model)
            .args(["--format", "parquet", "--out"])
            .arg(&pq),
        true,
    );
    // The written affinity reads back as a graph: comparing it with the model is identity.
    let same: Value = serde_json::from_str(&stdout(&run(
        holoscale()
            .args(["graph", "compare"])
            .arg(&model)
            .arg(&pq)
            .args(["--format", "json"]),
        true,
    )))
    .unwrap();
    assert!(
        (same["jaccard"].as_f64().unwrap() - 1.0).abs() < 1e-9,
        "{same}"
    );
    assert!((same["f1"].as_f64().unwrap() - 1.0).abs() < 1e-9, "{same}");

    // Against the planted truth: every field, latent recall included.
    let cmp = compare;
    let (m, t) = (model.to_str().unwrap(), truth.to_str().unwrap());
    let vs_truth = cmp(m, t);
    for key in ["jaccard", "precision", "recall", "f1", "latent_recall", "k"] {
        assert!(vs_truth.get(key).is_some(), "{key} in {vs_truth}");
    }
    assert_eq!(vs_truth["k"], 16, "14 call pairs + 2 latent pairs");
    // The call graph against the truth: every call, none of the 2 latent edges.
    let calls = format!("calls:{}", edges.display());
    let c = cmp(&calls, t);
    assert_eq!(c["precision"], 1.0);
    assert!(
        (c["recall"].as_f64().unwrap() - 14.0 / 16.0).abs() < 1e-9,
        "{c}"
    );
    assert_eq!(c["latent_recall"], 0.0);
    // OD and CC sources resolve.
    let od = cmp(m, &format!("od:{}", edges.display()));
    assert!(od["jaccard"].as_f64().unwrap() > 0.0, "{od}");
    let cc = cmp(m, &format!("cc:{}", tel.display()));
    assert!(
        cc.get("latent_recall").is_none(),
        "no truth, no latent recall: {cc}"
    );

    // Errors name what is wrong.
    let err = stderr(&run(
        holoscale().args(["graph", "compare"]).arg(t).arg(t),
        false,
    ));
    assert!(err.contains("both sides are ground truths"), "{err}");
    let err = stderr(&run(
        holoscale()
            .args(["graph", "compare", "no/such/model"])
            .arg(t),
        false,
    ));
    assert!(
        err.contains("no/such/model: no such file or directory"),
        "{err}"
    );
    let err = stderr(&run(holoscale().arg("graph").arg(&sim), false));
    assert!(err.contains("no affinity.parquet"), "{err}");
    let err = stderr(&run(
        holoscale()
            .args(["-q", "train", "--delta", "2", "--telemetry"])
            .arg(&tel)
            .arg("--out")
            .arg(dir.path().join("bad")),
        false,
    ));
    assert!(err.contains("`--delta`") && err.contains("(0, 1)"), "{err}");
    assert!(
        !dir.path().join("bad").exists(),
        "nothing written on a refused setting"
    );
}

/// 12 simulated hours of the quick follow-up shop under a constant workload (seed 3), into
/// `dir/qf`.
fn quick_follow_up(dir: &std::path::Path) -> std::path::PathBuf {
    let sim = dir.join("qf");
    run(
        holoscale()
            .args(["-q", "simulate", "--app"])
            .arg(crate::data("quick-follow-up-shop.toml"))
            .args(["--workload", "constant", "--duration", "12h", "--seed", "3"])
            .arg("--out")
            .arg(&sim),
        true,
    );
    sim
}

/// Planted truth on a simulated application: the quick follow-up shop
/// (`tests/data/quick-follow-up-shop.toml`) plants `search` → `booking` (users book a minute
/// after they search; the two never call each other). Its truth has k = 2 edges: the call
/// `profile` → `notify` and that latent pair. The call graph has none of the latent pair; EM
/// with `--joint-graph-learning` (the documented deviation; the paper's loop learns no edge
/// here, BENCHMARKS.md "Planted latent dependencies") ranks it in the top k for two of the
/// three training seeds 1, 2, 3 (5 of seeds 1 to 8 in BENCHMARKS.md; 7 of 8 on NdArray): mean latent recall
/// 0.67 against the 0.6. Measured with DeepScaler's optimisation settings
/// (`--faithful`: batch 64, learning rate 1e-3), which it keeps; re-measured on two threads
/// with the cpu preset's window 3 (2026-12-03): recall 1, 0, 1 for seeds 1-3, as at window 24.
#[test]
fn joint_em_recovers_the_planted_follow_up_that_the_call_graph_lacks() {
    let dir = tempfile::tempdir().unwrap();
    let sim = quick_follow_up(dir.path());
    let truth = sim.join("truth.parquet");
    let t = truth.to_str().unwrap();
    let calls = compare(&format!("calls:{}", sim.join("edges.parquet").display()), t);
    assert_eq!(calls["k"], 2, "{calls}");
    assert_eq!(calls["latent_recall"], 0.0, "{calls}");

    let mut recalls = Vec::new();
    for seed in ["1", "2", "3"] {
        let model = dir.path().join(format!("m{seed}"));
        run(
            holoscale()
                .env("HOLOSCALE_THREADS", "2")
                .args(["-q", "train", "--telemetry"])
                .arg(sim.join("telemetry.parquet"))
                .args(["--seed", seed, "--em-iterations", "6", "--em-epochs", "3"])
                .args([
                    "--generator-epochs",
                    "3",
                    "--joint-graph-learning",
                    "--faithful",
                ])
                .args(["--embedding", "8", "--generator-lr", "0.02", "--out"])
                .arg(&model),
            true,
        );
        let learned = compare(model.to_str().unwrap(), t);
        recalls.push(learned["latent_recall"].as_f64().unwrap());
    }
    let mean = recalls.iter().sum::<f64>() / recalls.len() as f64;
    assert!(
        mean >= 0.6,
        "latent recall per seed {recalls:?}, mean {mean}"
    );
}

/// Where graph learning pays (issue 19, item 5): on the quick follow-up shop the operation
/// mix moves within minutes, so one service's request rate says something about the others'
/// next minute that the call graph (`profile` → `notify` only) does not carry. Predicting the
/// next step's `req_rate` (`--relative`), EM at the default settings (joint graph learning)
/// on a short schedule, 6 x (3 + 3) epochs, learns a graph whose test MAE is lower than the
/// fixed call graph's with the same 18 estimator epochs, in each of training seeds 1-3.
/// Measured with the cpu preset's window 3 and cosine half-period 60 (2026-12-03): mean
/// 5.9654 against 7.0253, 0.849x. The joint variant's extra estimator updates explain
/// little of it: the call graph with 36 epochs reaches 6.8435, so learned is 0.872x of that.
/// With window 24 and half-period 15 it was 6.7615 against 7.0331, 0.961x (BENCHMARKS.md,
/// "Where graph learning pays", where the paper's loop (0.999x) and the planted truth
/// (0.997x) did not reach the 2% margin this test asserts, and no graph did on the
/// `optimal_replicas` label, whose noise swamps the lead: truth 1.023x).
#[test]
fn joint_em_learns_a_graph_that_predicts_better_than_the_call_graph() {
    let dir = tempfile::tempdir().unwrap();
    let sim = quick_follow_up(dir.path());
    let test_mae = |model: &std::path::Path| -> f64 {
        let rows: Value = serde_json::from_str(&stdout(&run(
            holoscale()
                .env("HOLOSCALE_THREADS", "2")
                .args(["-q", "evaluate", "--baselines", "none", "--format", "json"])
                .arg("--model")
                .arg(model)
                .arg("--telemetry")
                .arg(sim.join("telemetry.parquet")),
            true,
        )))
        .unwrap();
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["service"] == "all" && r["horizon"] == 0 && r["model"] == "stgcn")
            .and_then(|r| r["mae"].as_f64())
            .unwrap_or_else(|| panic!("no overall stgcn row in {rows}"))
    };
    let (mut calls, mut learned) = (Vec::new(), Vec::new());
    for seed in ["1", "2", "3"] {
        for (joint, maes) in [(false, &mut calls), (true, &mut learned)] {
            let model = dir.path().join(format!("m{seed}-{joint}"));
            let mut cmd = holoscale();
            cmd.env("HOLOSCALE_THREADS", "2")
                .args(["-q", "train", "--telemetry"])
                .arg(sim.join("telemetry.parquet"))
                .arg("--edges")
                .arg(sim.join("edges.parquet"))
                .args(["--target", "req_rate", "--relative", "--seed", seed]);
            if joint {
                cmd.args(["--em-iterations", "6", "--em-epochs", "3"])
                    .args(["--generator-epochs", "3"]);
            } else {
                cmd.args([
                    "--no-graph-learning",
                    "--epochs",
                    "18",
                    "--patience",
                    "1000",
                ]);
            }
            run(cmd.arg("--out").arg(&model), true);
            maes.push(test_mae(&model));
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let ratio = mean(&learned) / mean(&calls);
    assert!(
        ratio <= 0.98,
        "learned graph {learned:?} against the call graph {calls:?}: {ratio:.3}x, expected <= 0.98x"
    );
}
