//! Nothing lost, nothing surprising (issue 16): outputs never replace what holoscale did not
//! write or what a command reads, `-` is standard output or refused, training checks its
//! output first and resumes after a kill, flags that a mode ignores and values that make no
//! sense are refused as usage errors (exit code 2).

use std::path::Path;

use crate::{holoscale, run, simulate, stderr, stdout};

/// A two-hour Online Boutique run in `dir/ob`.
fn sim_run(dir: &Path) -> std::path::PathBuf {
    let ob = dir.join("ob");
    simulate("online-boutique", "2h", "3", &ob);
    ob
}

/// `holoscale -q train --no-graph-learning --epochs N` on a run, into `out`, with `extra`.
fn train(ob: &Path, out: &Path, epochs: &str, extra: &[&str], ok: bool) -> std::process::Output {
    run(
        holoscale()
            .args(["-q", "train", "--telemetry"])
            .arg(ob.join("telemetry.parquet"))
            .arg("--edges")
            .arg(ob.join("edges.parquet"))
            .args(["--no-graph-learning", "--epochs", epochs, "--out"])
            .arg(out)
            .args(extra),
        ok,
    )
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn train_force_keeps_a_simulation_run_and_unrelated_files() {
    let dir = tempfile::tempdir().unwrap();
    let ob = sim_run(dir.path());
    std::fs::write(ob.join("notes.txt"), "precious").unwrap();
    let before = listing(&ob);
    let err = stderr(&train(&ob, &ob, "2", &["--force"], false));
    for found in [
        "notes.txt",
        "telemetry.parquet",
        "model directory",
        "even with `--force`",
    ] {
        assert!(err.contains(found), "{found} in {err}");
    }
    assert_eq!(listing(&ob), before, "nothing removed");
    assert_eq!(
        std::fs::read_to_string(ob.join("notes.txt")).unwrap(),
        "precious"
    );

    // --force does replace a model holoscale wrote, and only that.
    let model = dir.path().join("model");
    train(&ob, &model, "1", &[], true);
    let again = train(&ob, &model, "1", &[], false);
    assert!(stderr(&again).contains("`--force`"), "{}", stderr(&again));
    train(&ob, &model, "2", &["--force"], true);
    std::fs::write(model.join("mine.txt"), "x").unwrap();
    let err = stderr(&train(&ob, &model, "1", &["--force"], false));
    assert!(err.contains("mine.txt"), "{err}");
    assert!(model.join("mine.txt").is_file() && model.join("model.mpk").is_file());
}

#[test]
fn every_command_refuses_an_existing_output_unless_forced_and_an_input_always() {
    let dir = tempfile::tempdir().unwrap();
    let ob = sim_run(dir.path());
    let tel = ob.join("telemetry.parquet");
    // convert
    let csv = dir.path().join("t.csv");
    let convert = |force: bool, ok: bool| {
        let mut c = holoscale();
        c.args(["-q", "convert"]).arg(&tel).arg(&csv);
        if force {
            c.arg("--force");
        }
        run(&mut c, ok)
    };
    convert(false, true);
    let err = stderr(&convert(false, false));
    assert!(err.contains("t.csv") && err.contains("`--force`"), "{err}");
    convert(true, true);
    let same = run(
        holoscale()
            .args(["-q", "convert", "--force"])
            .arg(&tel)
            .arg(&tel),
        false,
    );
    assert!(
        stderr(&same).contains("is also an input"),
        "{}",
        stderr(&same)
    );

    // predict --out set to its own --telemetry, even with --force.
    let model = dir.path().join("model");
    train(&ob, &model, "1", &[], true);
    let bytes = std::fs::read(&tel).unwrap();
    let err = stderr(&run(
        holoscale()
            .args(["-q", "predict", "--force", "--model"])
            .arg(&model)
            .arg("--telemetry")
            .arg(&tel)
            .arg("--out")
            .arg(&tel),
        false,
    ));
    assert!(err.contains("is also an input"), "{err}");
    assert_eq!(
        std::fs::read(&tel).unwrap(),
        bytes,
        "the telemetry is untouched"
    );
    // predict, evaluate and graph refuse an existing file without --force.
    let taken = dir.path().join("taken.parquet");
    std::fs::write(&taken, "mine").unwrap();
    for cmd in [
        vec!["predict", "--model", "M", "--telemetry", "T", "--out", "X"],
        vec![
            "evaluate",
            "--model",
            "M",
            "--telemetry",
            "T",
            "--baselines",
            "none",
            "--out",
            "X",
        ],
        vec!["graph", "M", "--format", "parquet", "--out", "X"],
    ] {
        let args: Vec<std::ffi::OsString> = cmd
            .iter()
            .map(|a| match *a {
                "M" => model.clone().into_os_string(),
                "T" => tel.clone().into_os_string(),
                "X" => taken.clone().into_os_string(),
                other => other.into(),
            })
            .collect();
        let err = stderr(&run(holoscale().arg("-q").args(&args), false));
        assert!(
            err.contains("exists") && err.contains("`--force`"),
            "{cmd:?}: {err}"
        );
        assert_eq!(std::fs::read_to_string(&taken).unwrap(), "mine");
    }
    // simulate into a run directory: refused, then replaced with --force; a run directory
    // with a file of the user's is refused even with --force.
    let out = run(
        holoscale()
            .args(["-q", "simulate", "--duration", "1h", "--out"])
            .arg(&ob),
        false,
    );
    assert!(stderr(&out).contains("not empty"), "{}", stderr(&out));
    run(
        holoscale()
            .args(["-q", "simulate", "--duration", "1h", "--force", "--out"])
            .arg(&ob),
        true,
    );
    std::fs::write(ob.join("notes.txt"), "mine").unwrap();
    let out = run(
        holoscale()
            .args(["-q", "simulate", "--duration", "1h", "--force", "--out"])
            .arg(&ob),
        false,
    );
    assert!(stderr(&out).contains("notes.txt"), "{}", stderr(&out));
}

#[test]
fn dash_is_standard_output_or_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ob = sim_run(dir.path());
    let model = dir.path().join("model");
    train(&ob, &model, "1", &[], true);
    let here = dir.path();
    // graph --out - prints.
    let out = run(
        holoscale()
            .current_dir(here)
            .args(["-q", "graph"])
            .arg(&model)
            .args(["--out", "-"]),
        true,
    );
    assert!(stdout(&out).contains("rank"), "{}", stdout(&out));
    // predict --out - is refused with what to do instead.
    let out = run(
        holoscale()
            .current_dir(here)
            .args(["-q", "predict", "--model"])
            .arg(&model)
            .arg("--telemetry")
            .arg(ob.join("telemetry.parquet"))
            .args(["--out", "-"]),
        false,
    );
    assert!(
        stderr(&out).contains("next step is printed"),
        "{}",
        stderr(&out)
    );
    assert_eq!(out.status.code(), Some(2));
    // evaluate --out - too.
    let out = run(
        holoscale()
            .current_dir(here)
            .args(["-q", "evaluate", "--baselines", "none", "--model"])
            .arg(&model)
            .arg("--telemetry")
            .arg(ob.join("telemetry.parquet"))
            .args(["--out", "-"]),
        false,
    );
    assert!(stderr(&out).contains("standard output"), "{}", stderr(&out));
    assert!(!here.join("-").exists(), "no file named `-`");
}

#[test]
fn train_checks_its_output_before_training_and_resumes_after_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let ob = sim_run(dir.path());
    // An output under a file: refused before any epoch.
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "x").unwrap();
    let out = train(&ob, &blocker.join("model"), "1", &[], false);
    assert!(stderr(&out).contains("file"), "{}", stderr(&out));
    assert!(!stdout(&out).contains("trained"));

    // Uninterrupted.
    let whole = dir.path().join("whole");
    let text = stdout(&train(&ob, &whole, "6", &["--patience", "100"], true));
    let best = |t: &str| {
        t[t.find("best epoch").unwrap()..]
            .lines()
            .next()
            .unwrap()
            .to_string()
    };

    // Killed once its first checkpoint exists, then resumed.
    let model = dir.path().join("model");
    let state = dir.path().join(".model.partial/checkpoint/state.json");
    let mut child = holoscale()
        .args(["-q", "train", "--telemetry"])
        .arg(ob.join("telemetry.parquet"))
        .arg("--edges")
        .arg(ob.join("edges.parquet"))
        .args([
            "--no-graph-learning",
            "--epochs",
            "6",
            "--patience",
            "100",
            "--out",
        ])
        .arg(&model)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while !state.is_file() {
        assert!(
            start.elapsed().as_secs() < 300,
            "no checkpoint after 5 minutes"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!model.exists(), "no half model in place");
    // Without --resume the checkpoint is not silently thrown away.
    let out = train(&ob, &model, "6", &["--patience", "100"], false);
    assert!(stderr(&out).contains("`--resume`"), "{}", stderr(&out));
    let resumed = stdout(&train(
        &ob,
        &model,
        "6",
        &["--patience", "100", "--resume"],
        true,
    ));
    assert_eq!(best(&resumed), best(&text));
    assert!(
        !dir.path().join(".model.partial").exists(),
        "staging removed"
    );
    let predict = |m: &Path| {
        stdout(&run(
            holoscale()
                .args(["-q", "predict", "--format", "json", "--model"])
                .arg(m)
                .arg("--telemetry")
                .arg(ob.join("telemetry.parquet")),
            true,
        ))
    };
    assert_eq!(predict(&model), predict(&whole));
}

#[test]
fn flags_a_mode_ignores_are_refused_naming_the_flags_that_apply() {
    let dir = tempfile::tempdir().unwrap();
    let ob = sim_run(dir.path());
    let tel = ob.join("telemetry.parquet");
    let out = dir.path().join("m");
    let refused = |args: &[&str], needles: &[&str]| {
        let o = run(holoscale().arg("-q").args(args), false);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        for n in needles {
            assert!(stderr(&o).contains(n), "{n} in {}", stderr(&o));
        }
        assert!(!out.exists(), "{args:?} wrote its output");
    };
    let t = tel.to_str().unwrap();
    let m = out.to_str().unwrap();
    refused(
        &["train", "--telemetry", t, "--out", m, "--epochs", "1"],
        &["--epochs", "--em-iterations", "--no-graph-learning"],
    );
    refused(
        &["train", "--telemetry", t, "--out", m, "--patience", "3"],
        &["--patience"],
    );
    refused(
        &[
            "train",
            "--telemetry",
            t,
            "--out",
            m,
            "--no-graph-learning",
            "--em-iterations",
            "3",
        ],
        &["--em-iterations", "--no-graph-learning"],
    );
    refused(
        &[
            "train",
            "--telemetry",
            t,
            "--out",
            m,
            "--soft-penalty-scale",
            "0.1",
        ],
        &["--edge-penalty soft"],
    );
    refused(
        &[
            "train",
            "--telemetry",
            t,
            "--out",
            m,
            "--cc-threshold",
            "0.5",
        ],
        &["--graph-sources cc"],
    );
    refused(
        &["predict", "--model", m, "--telemetry", t, "--batch", "8"],
        &["--batch", "--out"],
    );
    refused(
        &["simulate", "--time-scale", "2", "--out", m],
        &["--time-scale", "trace"],
    );
    refused(
        &["convert", t, &format!("{m}.csv"), "--to", "csv"],
        &["--to", "standard output"],
    );
    refused(
        &[
            "evaluate",
            "--model",
            m,
            "--telemetry",
            t,
            "--baselines",
            "persistence",
            "--season",
            "1h",
        ],
        &["--season", "seasonal-naive"],
    );
}

#[test]
fn flag_values_are_checked_against_their_meaning_and_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let ob = sim_run(dir.path());
    let tel = ob.join("telemetry.parquet");
    let t = tel.to_str().unwrap();
    let m = dir.path().join("m");
    let m = m.to_str().unwrap();
    let refused = |args: &[&str], needle: &str| {
        let o = run(holoscale().arg("-q").args(args), false);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{needle} in {}", stderr(&o));
    };
    let base = ["train", "--telemetry", t, "--out", m, "--no-graph-learning"];
    let train =
        |extra: &[&'static str]| -> Vec<&str> { base.iter().chain(extra).copied().collect() };
    refused(
        &train(&["--min-replicas", "5", "--max-replicas", "2"]),
        "--max-replicas 2 is below --min-replicas 5",
    );
    refused(&train(&["--split", "0.9,0.1"]), "test range");
    refused(&train(&["--epochs", "0"]), "`--epochs`");
    refused(&train(&["--batch", "0"]), "`--batch`");
    refused(&train(&["--lr", "7"]), "`--lr`");
    refused(&train(&["--window", "0"]), "--window");
    refused(
        &["train", "--telemetry", t, "--out", m, "--delta", "2"],
        "`--delta`",
    );
    refused(
        &[
            "predict",
            "--model",
            m,
            "--telemetry",
            t,
            "--out",
            "p.parquet",
            "--batch",
            "0",
        ],
        "--batch must be at least 1",
    );
    refused(&["simulate", "--noise", "2", "--out", m], "`--noise`");
    refused(
        &["simulate", "--workload", "sideways", "--out", m],
        "`--workload`",
    );
    refused(&["simulate", "--policy", "magic", "--out", m], "`--policy`");
    // clap's own: exit 2 as well.
    refused(&["train", "--telemetry", t], "--out");
}

#[test]
fn usage_errors_exit_2_and_failures_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(holoscale().args(["inspect", "--no-such-flag", "x"]), false);
    assert_eq!(o.status.code(), Some(2));
    let missing = dir.path().join("missing.parquet");
    let o = run(holoscale().arg("inspect").arg(&missing), false);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).starts_with("error: "), "{}", stderr(&o));
}

#[test]
fn inspect_exits_non_zero_on_data_that_every_command_refuses_and_keeps_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("gap.csv");
    let mut text = String::from("timestamp,service,replicas\n");
    for t in 0..200 {
        if !(50..120).contains(&t) {
            text.push_str(&format!("{},a,{t}\n", t * 30_000));
        }
        text.push_str(&format!("{},b,{t}\n", t * 30_000));
    }
    std::fs::write(&csv, text).unwrap();
    let out = run(holoscale().arg("inspect").arg(&csv), false);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("services    2: a, b"),
        "the report is printed: {}",
        stdout(&out)
    );
    assert!(stderr(&out).contains("`--max-fill`"), "{}", stderr(&out));
    // Repaired, it is accepted.
    run(
        holoscale()
            .arg("inspect")
            .arg(&csv)
            .args(["--long-gaps", "leave"]),
        true,
    );
}

#[test]
fn constant_series_are_one_line_and_repairs_are_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let ob = dir.path().join("ob");
    run(
        holoscale()
            .args([
                "-q",
                "simulate",
                "--duration",
                "2h",
                "--gaps",
                "0.02",
                "--out",
            ])
            .arg(&ob),
        true,
    );
    let convert = |quiet: bool, out: &str| {
        let mut c = holoscale();
        if quiet {
            c.arg("-q");
        }
        c.arg("convert")
            .arg(ob.join("telemetry.parquet"))
            .arg(dir.path().join(out));
        stderr(&run(&mut c, true))
    };
    let err = convert(false, "a.csv");
    let constant: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("constant series"))
        .collect();
    assert_eq!(constant.len(), 1, "{err}");
    assert!(
        constant[0].contains("cpu_limit_cores (10 services)"),
        "{}",
        constant[0]
    );
    // With -q, the constant series are quiet but the repairs of the scrape gaps are shown.
    let err = convert(true, "b.csv");
    assert!(!err.contains("constant series"), "{err}");
    assert!(
        err.contains("filled forward") && err.contains("WARN"),
        "{err}"
    );
}

#[test]
fn timestamps_in_epoch_seconds_are_detected_or_given() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("s.csv");
    let mut text = String::from("timestamp,service,replicas\n");
    for t in 0..20 {
        text.push_str(&format!("{},a,{t}\n", 1_700_000_000 + 30 * t));
    }
    std::fs::write(&csv, text).unwrap();
    let out = run(holoscale().arg("inspect").arg(&csv), true);
    assert!(stdout(&out).contains("interval    30s"), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("2023-11-14T22:13:20Z"),
        "{}",
        stdout(&out)
    );
    let out = run(
        holoscale()
            .arg("inspect")
            .arg(&csv)
            .args(["--timestamp-unit", "ms"]),
        true,
    );
    assert!(
        stdout(&out).contains("interval    30ms"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn simulate_refuses_runs_beyond_memory_and_disk_naming_the_estimate_and_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sim");
    let start = std::time::Instant::now();
    let o = run(
        holoscale()
            .args(["-q", "simulate", "--duration", "100000d", "--out"])
            .arg(&out),
        false,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--max-output") && stderr(&o).contains("547.2 GiB of files"),
        "{}",
        stderr(&o)
    );
    let o = run(
        holoscale()
            .args(["-q", "simulate", "--app", "alibaba:100000000", "--out"])
            .arg(&out),
        false,
    );
    assert!(
        stderr(&o).contains("--memory-limit") && stderr(&o).contains("GiB"),
        "{}",
        stderr(&o)
    );
    assert!(start.elapsed().as_secs() < 30, "refused before any work");
    assert!(!out.exists());
    // The limits are flags.
    let o = run(
        holoscale()
            .args([
                "-q",
                "simulate",
                "--duration",
                "1h",
                "--max-output",
                "1kB",
                "--out",
            ])
            .arg(&out),
        false,
    );
    assert!(stderr(&o).contains("--max-output 1kB"), "{}", stderr(&o));
    let o = run(
        holoscale()
            .args([
                "-q",
                "bench",
                "gen-telemetry",
                "--steps",
                "100000000",
                "--services",
                "1000",
                "--out",
            ])
            .arg(dir.path().join("g.parquet")),
        false,
    );
    assert!(stderr(&o).contains("--memory-limit"), "{}", stderr(&o));
}
