//! `holoscale demo`: the main job on the embedded default.
//!
//! Simulates the default application (Online Boutique under DeepScaler's workload pattern,
//! HPA collecting the data, 30 s telemetry), trains the estimator with EM graph learning,
//! predicts every window, lets the trained model drive DeepScaler's scaler against HPA and
//! the oracle, evaluates against the baselines on the test range, and writes the HTML
//! report, which opens with the scalers' comparison. Each stage calls the same functions as its own command (`simulate`, `train`,
//! `predict`, `report`) with the settings the demo logs as that command's flags, so a user
//! can re-run any stage.

use std::path::Path;

use anyhow::Result;
use clap::Args;

use holoscale::datasets::io::DirManifest;
use holoscale::datasets::{self as ds};
use holoscale::estimator::TrainOptions;
use holoscale::estimator::artifact::{MODEL_DIR, Staging};
use holoscale::estimator::evaluate::EvalOptions;
use holoscale::graphlearn::GraphSources;
use holoscale::graphlearn::compare::CcOptions;
use holoscale::report::REPORT_DIR;

use super::TelemetryArgs;
use super::device::DeviceArg;
use super::estimate::{parse_baselines, predict_every_window};
use holoscale::scaler::{ScalerEntry, ScalerKind};

use super::output::print;
use super::report::{ReportJob, write_report};
use super::scale::EpisodeArgs;
use super::simulate::{OracleArg, OutFormat, SimulateArgs, run_to};
use super::train::{Schedule, em_defaults, train_and_save};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Directory for the demo's files (created if needed).
    #[arg(long, default_value = "holoscale-demo")]
    pub out: std::path::PathBuf,
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
    /// Threads each batch is split over (0: one per core).
    #[arg(long, value_name = "N", default_value_t = 0, env = "HOLOSCALE_THREADS")]
    pub threads: usize,
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// Logs a stage with the command line that runs it on its own.
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
    tracing::info!("[{k}/5] {what}: holoscale {}", shown.join(" "));
}

/// `--threads N` when the demo was given a thread count.
fn threads_argv(threads: usize) -> Vec<String> {
    if threads == 0 {
        Vec::new()
    } else {
        vec!["--threads".into(), threads.to_string()]
    }
}

/// `args` as owned strings.
fn argv(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

/// What the demo writes into its directory: a simulation run, the model, the predictions
/// and the report.
static DEMO_DIR: DirManifest = DirManifest {
    what: "demo directory",
    files: &[
        "telemetry.parquet",
        "edges.parquet",
        "truth.parquet",
        "app.toml",
        "run.json",
        "predictions.parquet",
    ],
    suffixes: &[],
    dirs: &[("model", &MODEL_DIR), ("report", &REPORT_DIR)],
    signature: Some(("run.json", "\"holoscale_version\"")),
};

pub fn run(a: DemoArgs) -> Result<()> {
    ds::io::check_output_dir(&a.out, a.force, &DEMO_DIR, &[])?;
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
    let device = a.device.name();
    let seed = a.seed.to_string();
    let force: &[&str] = if a.force { &["--force"] } else { &[] };
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
        force: a.force,
        format: OutFormat::Parquet,
        memory_limit: "8GiB".into(),
        max_output: "50GB".into(),
    };
    let out_dir = path(&a.out);
    heading(
        1,
        "simulating",
        &argv(&[
            "simulate",
            "--app",
            &a.app,
            "--duration",
            &duration,
            "--gaps",
            "0.001",
            "--seed",
            &seed,
            "--out",
            &out_dir,
        ]),
    );
    let ran = run_to(&sim)?;
    let (s, files) = (ran.summary, ran.files);
    print(&format!(
        "simulated {} for {duration} under HPA: {:.0} requests, {:.3}% failed, SLO violations {:.2}% of requests, {:.1} core-hours\n",
        a.app,
        s.requests,
        100.0 * s.failed_share,
        100.0 * s.slo_violation_share,
        s.core_hours,
    ))?;
    let (telemetry, edges_file, truth_file) = (&files.telemetry, &files.edges, &files.truth);
    let model = a.out.join("model");
    let predictions = a.out.join("predictions.parquet");
    let report_dir = a.out.join("report");
    let tel = TelemetryArgs::of(telemetry).load()?;
    let edges = ds::io::read_edges(edges_file)?;

    // 2. Train with EM graph learning.
    let opts = TrainOptions {
        train: holoscale::estimator::TrainConfig::cpu().with_seed(a.seed),
        threads: a.threads,
        ..TrainOptions::default()
    };
    let em = em_defaults()
        .with_iterations(em_iterations)
        .with_epochs_per_iteration(em_epochs)
        .with_generator_epochs(generator_epochs);
    let (epochs_s, iters_s, em_epochs_s, gen_s) = (
        epochs.to_string(),
        em_iterations.to_string(),
        em_epochs.to_string(),
        generator_epochs.to_string(),
    );
    let mut train_argv = argv(&[
        "train",
        "--telemetry",
        &path(telemetry),
        "--edges",
        &path(edges_file),
        "--out",
        &path(&model),
        "--seed",
        &seed,
        "--em-iterations",
        &iters_s,
        "--em-epochs",
        &em_epochs_s,
        "--generator-epochs",
        &gen_s,
        "--device",
        device,
    ]);
    train_argv.extend(argv(force));
    train_argv.extend(threads_argv(a.threads));
    heading(2, "training with EM graph learning", &train_argv);
    train_and_save(
        &tel,
        Some(&edges),
        &opts,
        &Schedule::Em(em, GraphSources::default()),
        Staging::open(&model, a.force, false, &[])?,
        false,
        a.device,
    )?;

    // 3. Predict every window.
    heading(
        3,
        "predicting every window",
        &argv(&[
            "predict",
            "--model",
            &path(&model),
            "--telemetry",
            &path(telemetry),
            "--out",
            &path(&predictions),
            "--device",
            device,
        ]),
    );
    ds::io::check_output_file(&predictions, a.force, &[])?;
    predict_every_window(&model, &tel, &predictions, 256, a.device)?;

    // 4. Scale: the trained model drives the DeepScaler scaler against HPA and the oracle on
    // the same application and workload, another seed.
    let scale_seed = (a.seed + 1).to_string();
    let scalers = format!("deepscaler:{},hpa,oracle", path(&model));
    heading(
        4,
        "scaling with the trained model against HPA and the oracle",
        &argv(&[
            "scale",
            "evaluate",
            "--app",
            &a.app,
            "--duration",
            &duration,
            "--seeds",
            &scale_seed,
            "--scalers",
            &scalers,
        ]),
    );
    let episode = EpisodeArgs {
        app: a.app.clone(),
        workload: "deepscaler".into(),
        duration: duration.clone(),
        rates: None,
        noise: 0.02,
        gaps: 0.0,
        interval: "15s".into(),
        startup: "by-runtime".into(),
        metrics_lag: 1,
        rate_window: 2,
        stabilisation: "300s".into(),
        period: "30s".into(),
        no_frictions: false,
    };
    let mut harness = super::scale::harness(&episode)?;
    harness.scalers = [
        ScalerKind::DeepScaler(model.clone()),
        ScalerKind::Hpa(None),
        ScalerKind::Oracle,
    ]
    .into_iter()
    .map(ScalerEntry::from_kind)
    .collect();
    harness.seeds = vec![a.seed + 1];
    harness.threads = a.threads;
    let scaled = harness.run(&|_, _| {})?;
    print(&super::scale::table_text(&harness, &episode, &scaled))?;
    let scaling = (
        format!(
            "The model of this report driving DeepScaler's holistic scaler (decisions every 30 s) against the Kubernetes HPA and the oracle, on {} under the same workload for {duration} (seed {scale_seed}, not the training seed), behind the default control-loop frictions (start-up delays by runtime, a 15 s scrape seen one interval late, 300 s scale-down stabilisation). Violations: request-weighted share of (interval, operation) whose end-to-end latency at the SLO percentile exceeded the SLO. The oracle knows the coming load and is unrealisable.",
            a.app
        ),
        holoscale::reports::html::Table {
            caption: "Scalers on the same workload".into(),
            header: [
                "scaler",
                "SLO violations %",
                "time over SLO %",
                "core-hours",
                "p95 latency ms",
                "failed %",
                "scaling actions",
            ]
            .map(String::from)
            .to_vec(),
            rows: scaled
                .table
                .iter()
                .map(|r| {
                    let m = &r.mean;
                    vec![
                        if r.oracle {
                            format!("{} (unrealisable)", r.scaler)
                        } else {
                            r.scaler.clone()
                        },
                        format!("{:.2}", 100.0 * m.violation_share),
                        format!("{:.2}", 100.0 * m.violation_time_share),
                        format!("{:.1}", m.core_hours),
                        format!("{:.0}", m.p95_latency_ms),
                        format!("{:.3}", 100.0 * m.failed_share),
                        format!("{:.0}", m.scaling_actions),
                    ]
                })
                .collect(),
        },
    );

    // 5. Evaluate against the baselines and write the report.
    let mut report_argv = argv(&[
        "report",
        "--model",
        &path(&model),
        "--telemetry",
        &path(telemetry),
        "--edges",
        &path(edges_file),
        "--truth",
        &path(truth_file),
        "--baselines",
        &baselines,
        "--baseline-epochs",
        &epochs_s,
        "--out",
        &path(&report_dir),
        "--device",
        device,
    ]);
    report_argv.extend(argv(force));
    report_argv.extend(threads_argv(a.threads));
    heading(
        5,
        "evaluating against the baselines and writing the report",
        &report_argv,
    );
    ds::io::check_output_dir(&report_dir, a.force, &REPORT_DIR, &[])?;
    let truth = ds::GroundTruth::read_file(truth_file)?;
    // The seasonal-naive baseline's default season: 24 h.
    let season = (86_400_000 / tel.interval_ms()).max(1) as usize;
    write_report(&ReportJob {
        model: &model,
        telemetry_path: telemetry,
        telemetry: &tel,
        edges: Some(&edges),
        truth: Some(&truth),
        evaluation: EvalOptions {
            baselines: parse_baselines(&baselines)?,
            season,
            rounded: false,
            baseline_epochs: Some(epochs),
            threads: a.threads,
            cache: Some(super::estimate::baseline_cache(&model)),
            ..EvalOptions::default()
        },
        baselines: &baselines,
        cc: CcOptions::default(),
        top: holoscale::report::DEFAULT_TOP,
        out: &report_dir,
        device: a.device,
        scaling: Some(scaling),
    })?;
    print(&format!(
        "wrote {}\n\ndemo finished in {:.0} s. Open {} in a browser; the data, model, predictions and metrics are in {}\n",
        path(&report_dir.join("report.html")),
        start.elapsed().as_secs_f64(),
        path(&report_dir.join("report.html")),
        path(&a.out)
    ))
}
