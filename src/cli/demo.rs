//! `holoscale demo`: the main job on the embedded default.
//!
//! Simulates the default application (Online Boutique under DeepScaler's workload pattern,
//! HPA collecting the data, 30 s telemetry), trains the estimator with EM graph learning,
//! predicts every window, evaluates against the baselines on the test range, and writes the
//! HTML report. Each stage runs the same code as its own command (`simulate`, `train`,
//! `predict`, `report`), with the flags the demo prints, so a user can re-run any stage.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Args, Parser};

use super::estimate::{self, DeviceArg, PredictArgs, TrainArgs};
use super::output::print;
use super::report::{self, ReportArgs, check_out};
use super::simulate::{OracleArg, OutFormat, SimulateArgs, run_to};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Directory for the demo's files (created if needed).
    #[arg(long, default_value = "holoscale-demo")]
    pub out: PathBuf,
    /// Replace the files of an earlier demo in --out.
    #[arg(long)]
    pub force: bool,
    /// The reduced preset the tests run: 6 simulated hours, 2 EM iterations of 1 epoch,
    /// the persistence and seasonal-naive baselines only.
    #[arg(long)]
    pub quick: bool,
    /// Simulated time (default 24h; 6h with --quick).
    #[arg(long)]
    pub duration: Option<String>,
    /// Application to simulate.
    #[arg(long, default_value = "online-boutique")]
    pub app: String,
    /// Seed of the simulation and the training.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// EM iterations (default 4; 2 with --quick).
    #[arg(long)]
    pub em_iterations: Option<usize>,
    /// Estimator epochs per EM iteration (default 3; 1 with --quick).
    #[arg(long)]
    pub em_epochs: Option<usize>,
    /// Generator epochs per EM iteration (default 2; 1 with --quick).
    #[arg(long)]
    pub generator_epochs: Option<usize>,
    /// Most epochs of the GRU and T-GCN baselines (default 5; 2 with --quick).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Baselines (default all; persistence,seasonal-naive with --quick).
    #[arg(long)]
    pub baselines: Option<String>,
    /// Compute device.
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    pub device: DeviceArg,
}

/// Parses a stage's arguments exactly as its command would.
#[derive(Debug, Parser)]
struct Stage<T: Args> {
    #[command(flatten)]
    args: T,
}

fn stage<T: Args>(argv: &[String]) -> Result<T> {
    Ok(Stage::<T>::try_parse_from(argv)?.args)
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

fn heading(k: usize, what: &str, argv: &[String]) {
    let shown: Vec<String> = argv
        .iter()
        .map(|a| {
            if a.contains(' ') {
                format!("'{a}'")
            } else {
                a.clone()
            }
        })
        .collect();
    tracing::info!("[{k}/4] {what}: holoscale {}", shown.join(" "));
}

pub fn run(a: DemoArgs) -> Result<()> {
    check_out(&a.out, a.force)?;
    let duration = a
        .duration
        .clone()
        .unwrap_or_else(|| if a.quick { "6h" } else { "24h" }.into());
    let em_iterations = a.em_iterations.unwrap_or(if a.quick { 2 } else { 4 });
    let em_epochs = a.em_epochs.unwrap_or(if a.quick { 1 } else { 3 });
    let generator_epochs = a.generator_epochs.unwrap_or(if a.quick { 1 } else { 2 });
    let epochs = a.epochs.unwrap_or(if a.quick { 2 } else { 5 });
    let baselines = a.baselines.clone().unwrap_or_else(|| {
        if a.quick {
            "persistence,seasonal-naive"
        } else {
            "all"
        }
        .into()
    });
    let device = match a.device {
        DeviceArg::Cpu => "cpu",
        DeviceArg::Cuda => "cuda",
    };
    let start = std::time::Instant::now();

    // 1. Simulate.
    let sim = SimulateArgs {
        app: a.app.clone(),
        workload: "deepscaler".into(),
        duration: duration.clone(),
        interval: "30s".into(),
        tick: "1s".into(),
        policy: "hpa".into(),
        seed: a.seed,
        noise: 0.02,
        gaps: 0.001,
        rates: None,
        time_scale: 1.0,
        static_edges: false,
        oracle: OracleArg::Expected,
        out: a.out.clone(),
        format: OutFormat::Parquet,
    };
    heading(
        1,
        "simulating",
        &[
            "simulate".into(),
            "--app".into(),
            a.app.clone(),
            "--duration".into(),
            duration.clone(),
            "--seed".into(),
            a.seed.to_string(),
            "--out".into(),
            path(&a.out),
        ],
    );
    let (out, files) = run_to(&sim)?;
    let s = out.summary;
    print(&format!(
        "simulated {} for {duration} under HPA: {:.0} requests, {:.3}% failed, SLO violations {:.2}% of requests, {:.1} core-hours\n",
        a.app,
        s.requests,
        100.0 * s.failed_share,
        100.0 * s.slo_violation_share,
        s.core_hours,
    ))?;
    let (telemetry, edges, truth) = (&files[0], &files[1], &files[2]);
    let model = a.out.join("model");
    let predictions = a.out.join("predictions.parquet");
    let report_dir = a.out.join("report");

    // 2. Train with EM graph learning.
    let mut argv: Vec<String> = vec![
        "train".into(),
        "--telemetry".into(),
        path(telemetry),
        "--edges".into(),
        path(edges),
        "--out".into(),
        path(&model),
        "--seed".into(),
        a.seed.to_string(),
        "--epochs".into(),
        epochs.to_string(),
        "--em-iterations".into(),
        em_iterations.to_string(),
        "--em-epochs".into(),
        em_epochs.to_string(),
        "--generator-epochs".into(),
        generator_epochs.to_string(),
        "--device".into(),
        device.into(),
    ];
    if a.force {
        argv.push("--force".into());
    }
    heading(2, "training with EM graph learning", &argv);
    estimate::train(stage::<TrainArgs>(&argv)?)?;

    // 3. Predict every window.
    let argv: Vec<String> = vec![
        "predict".into(),
        "--model".into(),
        path(&model),
        "--telemetry".into(),
        path(telemetry),
        "--out".into(),
        path(&predictions),
        "--device".into(),
        device.into(),
    ];
    heading(3, "predicting every window", &argv);
    estimate::predict(stage::<PredictArgs>(&argv)?)?;

    // 4. Evaluate against the baselines and write the report.
    let mut argv: Vec<String> = vec![
        "report".into(),
        "--model".into(),
        path(&model),
        "--telemetry".into(),
        path(telemetry),
        "--edges".into(),
        path(edges),
        "--truth".into(),
        path(truth),
        "--baselines".into(),
        baselines,
        "--out".into(),
        path(&report_dir),
        "--device".into(),
        device.into(),
    ];
    if a.force {
        argv.push("--force".into());
    }
    heading(
        4,
        "evaluating against the baselines and writing the report",
        &argv,
    );
    report::run(stage::<ReportArgs>(&argv)?)?;
    print(&format!(
        "\ndemo finished in {:.0} s. Open {} in a browser; the data, model, predictions and metrics are in {}\n",
        start.elapsed().as_secs_f64(),
        path(&report_dir.join("report.html")),
        path(&a.out)
    ))
}
