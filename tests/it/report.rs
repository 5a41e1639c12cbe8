//! `holoscale demo` end to end with the reduced preset, `holoscale report` on its outputs,
//! and the notebooks executed against them.

use std::path::Path;

use crate::{holoscale, run, stderr, stdout};

const FIGURES: [&str; 5] = ["graph", "heatmaps", "predictions", "errors", "curves"];

fn check_report(dir: &Path) -> String {
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    for id in holoscale::reports::html::SECTIONS {
        assert!(
            html.contains(&format!("<section id=\"{id}\">")),
            "section {id}"
        );
    }
    for f in FIGURES {
        assert!(
            html.contains(&format!("<figure id=\"fig-{f}\">")),
            "figure {f}"
        );
        for ext in ["png", "svg"] {
            let p = dir.join(format!("{f}.{ext}"));
            assert!(
                std::fs::metadata(&p).unwrap().len() > 1000,
                "{}",
                p.display()
            );
        }
        let svg = std::fs::read_to_string(dir.join(format!("{f}.svg"))).unwrap();
        if f != "curves" {
            assert!(svg.contains("frontend"), "{f}.svg names no service");
        }
    }
    assert_eq!(
        html.matches("src=\"data:image/png;base64,").count(),
        FIGURES.len()
    );
    assert!(html.contains("Latent dependencies found"));
    // The label is not an input: persistence is shown as an upper reference.
    assert!(html.contains("<td>persistence (not realisable)</td>"));
    assert!(html.contains("not a competitor"));
    // Self-contained: nothing is fetched.
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"));
    assert!(dir.join("metrics.parquet").is_file());
    html
}

#[test]
fn demo_writes_data_model_predictions_and_report() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("demo");
    let out = run(
        holoscale()
            .args(["-q", "demo", "--quick", "--out"])
            .arg(&out_dir),
        true,
    );
    let text = stdout(&out);
    assert!(
        text.contains("simulated online-boutique for 6h under HPA"),
        "{text}"
    );
    assert!(
        text.contains(
            "trained stgcn with EM graph learning on 10 services: 2 iterations x 1 epochs"
        ),
        "{text}"
    );
    assert!(text.contains("demo finished in"), "{text}");
    for f in [
        "telemetry.parquet",
        "edges.parquet",
        "truth.parquet",
        "app.toml",
        "run.json",
        "predictions.parquet",
        "model/affinity.parquet",
        "model/graph_learning.json",
    ] {
        assert!(out_dir.join(f).is_file(), "{f}");
    }
    let html = check_report(&out_dir.join("report"));
    // The ground truth was given: planted latent dependencies are scored.
    assert!(html.contains("<th>latent recall</th>"), "no capture table");
    assert!(
        html.contains("<td>ground truth (16 pairs, top 16)</td>"),
        "no truth row"
    );
    assert!(html.contains("em.iterations"), "no EM settings");

    // A second run refuses to overwrite without --force, and leaves the report alone.
    let before = std::fs::read(out_dir.join("report/report.html")).unwrap();
    let again = run(
        holoscale()
            .args(["-q", "demo", "--quick", "--out"])
            .arg(&out_dir),
        false,
    );
    assert!(stderr(&again).contains("`--force`"), "{}", stderr(&again));
    assert_eq!(
        std::fs::read(out_dir.join("report/report.html")).unwrap(),
        before
    );

    // `holoscale report` on the demo's files with one baseline, edges found beside the
    // telemetry.
    let rep = dir.path().join("report2");
    run(
        holoscale()
            .args(["-q", "report", "--model"])
            .arg(out_dir.join("model"))
            .arg("--telemetry")
            .arg(out_dir.join("telemetry.parquet"))
            .args(["--baselines", "persistence", "--top", "5", "--out"])
            .arg(&rep),
        true,
    );
    let html = check_report(&rep);
    assert!(
        !html.contains("<th>latent recall</th>"),
        "capture scored without a truth"
    );
    assert!(!html.contains("<td>gru</td>"));
    // The same report from the library function, on the same inputs.
    assert_eq!(
        library_report(&out_dir.join("model"), &out_dir.join("telemetry.parquet")),
        html
    );

    crate::notebooks::execute(&out_dir);
}

/// `holoscale report --baselines persistence --top 5` through `holoscale::report::build`:
/// the page it renders.
fn library_report(model: &Path, telemetry: &Path) -> String {
    use holoscale::datasets::{io, validate};
    use holoscale::estimator::Artifact;
    use holoscale::estimator::backend::{Cpu, CpuAutodiff};
    use holoscale::estimator::evaluate::{Baseline, EvalOptions, evaluate};
    use holoscale::graphlearn::{EmHistory, compare::CcOptions};
    use holoscale::report::{ReportInputs, build};

    let mut tel = io::read_telemetry(telemetry, &Default::default(), &io::NoProgress).unwrap();
    validate::repair(&mut tel, &Default::default())
        .into_result()
        .unwrap();
    let edges = io::read_edges(&telemetry.with_file_name("edges.parquet")).unwrap();
    let device = Default::default();
    let artifact = Artifact::<Cpu>::load(model, &device).unwrap();
    let opts = EvalOptions {
        baselines: vec![Baseline::Persistence],
        season: (86_400_000 / tel.interval_ms()) as usize,
        rounded: false,
        baseline_epochs: None,
        threads: 0,
        ..EvalOptions::default()
    };
    let ev = evaluate::<CpuAutodiff>(
        &artifact,
        &tel,
        Some(&edges),
        &opts,
        &device,
        &mut |_, _| {},
    )
    .unwrap();
    let history = EmHistory::load(model).unwrap();
    let name = telemetry.display().to_string();
    let report = build(&ReportInputs {
        artifact: &artifact,
        model_dir: model,
        telemetry: &tel,
        telemetry_name: &name,
        edges: Some(&edges),
        truth: None,
        evaluation: &ev,
        history: history.as_ref(),
        baselines: "persistence",
        cc: CcOptions::default(),
        top: 5,
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    report.write(dir.path()).unwrap();
    std::fs::read_to_string(dir.path().join("report.html")).unwrap()
}

#[test]
fn report_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let not_model = dir.path().join("empty");
    std::fs::create_dir(&not_model).unwrap();
    let tel = dir.path().join("t.parquet");
    let run_dir = dir.path().join("run");
    crate::simulate("bookinfo", "1h", "3", &run_dir);
    std::fs::rename(run_dir.join("telemetry.parquet"), &tel).unwrap();
    // `holoscale report` of the non-model into `out`, which must fail.
    let report_into = |out: &Path| {
        run(
            holoscale()
                .args(["report", "--model"])
                .arg(&not_model)
                .arg("--telemetry")
                .arg(&tel)
                .arg("--out")
                .arg(out),
            false,
        )
    };
    let out = report_into(&dir.path().join("r"));
    let err = stderr(&out);
    assert!(
        err.contains("empty") && err.contains("model directory"),
        "{err}"
    );
    assert!(!dir.path().join("r/report.html").exists());
    // A non-empty output directory is refused before any work.
    let busy = dir.path().join("busy");
    std::fs::create_dir(&busy).unwrap();
    std::fs::write(busy.join("keep.txt"), "precious").unwrap();
    let out = report_into(&busy);
    assert!(stderr(&out).contains("`--force`"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(busy.join("keep.txt")).unwrap(),
        "precious"
    );
}
