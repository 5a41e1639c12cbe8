//! `holoscale report`: figures and a self-contained HTML report of a model on telemetry.

use std::path::{Path, PathBuf};

use anyhow::Result;
use burn::tensor::backend::AutodiffBackend;
use clap::Args;

use holoscale::datasets::truth::GroundTruth;
use holoscale::datasets::{self as ds};
use holoscale::estimator::Artifact;
use holoscale::estimator::artifact::model_files;
use holoscale::estimator::evaluate::EvalOptions;
use holoscale::estimator::metrics::write_parquet;
use holoscale::graphlearn::EmHistory;
use holoscale::graphlearn::compare::CcOptions;
use holoscale::report::{REPORT_DIR, ReportInputs, build};

use super::TelemetryArgs;
use super::device::{DeviceArg, on_device};
use super::estimate::{eval_options, evaluate_with_bars};
use super::output::print;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Model directory (`holoscale train --out`).
    #[arg(long)]
    pub model: PathBuf,
    #[command(flatten)]
    pub data: TelemetryArgs,
    /// Call edges (default: `edges.parquet` beside the telemetry, when there is one).
    #[arg(long)]
    pub edges: Option<PathBuf>,
    /// Ground truth (`truth.parquet` of `holoscale simulate`): marks planted latent
    /// dependencies and adds dependency-capture scores.
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Directory for `report.html`, the figures (PNG and SVG) and `metrics.parquet`.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace the files of an existing report directory.
    #[arg(long)]
    pub force: bool,
    /// Baselines: all, none, or a list of persistence, seasonal-naive, gru, tgcn, gbdt.
    #[arg(long, default_value = "all")]
    pub baselines: String,
    /// Season of the seasonal-naive baseline.
    #[arg(long, default_value = "24h")]
    pub season: String,
    /// Most epochs of the GRU and T-GCN baselines (default: the model's own settings).
    #[arg(long, value_name = "N")]
    pub baseline_epochs: Option<usize>,
    /// Telemetry column of the CC relationships.
    #[arg(long, default_value = "req_rate")]
    pub cc_column: String,
    /// Threshold of the CC relationships (absolute Spearman correlation).
    #[arg(long, default_value_t = 0.8)]
    pub cc_threshold: f64,
    /// Most learned edges that are not calls to draw and list.
    #[arg(long, default_value_t = holoscale::report::DEFAULT_TOP)]
    pub top: usize,
    /// Compute device.
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    pub device: DeviceArg,
    /// Threads each batch is split over (0: one per core).
    #[arg(long, value_name = "N", default_value_t = 0, env = "HOLOSCALE_THREADS")]
    pub threads: usize,
    /// Train the baselines afresh and keep nothing (see `evaluate --no-cache`).
    #[arg(long)]
    pub no_cache: bool,
}

pub fn run(a: ReportArgs) -> Result<()> {
    let (_, season_ms, mut evaluation) =
        eval_options(&a.baselines, &a.season, a.baseline_epochs, false, a.threads)?;
    if !a.no_cache {
        evaluation.cache = Some(super::estimate::baseline_cache(&a.model));
    }
    let edges_path = a.edges.clone().or_else(|| {
        let p = a.data.telemetry.with_file_name("edges.parquet");
        p.is_file().then_some(p)
    });
    let mut inputs = model_files(&a.model);
    inputs.push(a.data.telemetry.clone());
    inputs.extend(edges_path.clone());
    inputs.extend(a.truth.clone());
    let inputs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    ds::io::check_output_dir(&a.out, a.force, &REPORT_DIR, &inputs)?;
    let tel = a.data.load()?;
    if a.edges.is_none()
        && let Some(p) = &edges_path
    {
        tracing::info!("using the call edges of {}", p.display());
    }
    let edges = edges_path.as_deref().map(ds::io::read_edges).transpose()?;
    let truth = a.truth.as_deref().map(GroundTruth::read_file).transpose()?;
    evaluation.season = (season_ms / tel.interval_ms()).max(1) as usize;
    let job = ReportJob {
        model: &a.model,
        telemetry_path: &a.data.telemetry,
        telemetry: &tel,
        edges: edges.as_ref(),
        truth: truth.as_ref(),
        evaluation,
        baselines: &a.baselines,
        cc: CcOptions {
            column: a.cc_column.clone(),
            threshold: a.cc_threshold,
        },
        top: a.top,
        out: &a.out,
        device: a.device,
        scaling: None,
    };
    let path = write_report(&job)?;
    print(&format!("wrote {}\n", path.display()))
}

/// A report to write: the model, its inputs and where the report goes.
pub struct ReportJob<'a> {
    pub model: &'a Path,
    pub telemetry_path: &'a Path,
    pub telemetry: &'a ds::Telemetry,
    pub edges: Option<&'a ds::CallEdges>,
    pub truth: Option<&'a GroundTruth>,
    pub evaluation: EvalOptions,
    pub baselines: &'a str,
    pub cc: CcOptions,
    pub top: usize,
    pub out: &'a Path,
    pub device: DeviceArg,
    /// A scaler comparison to open the report with (the demo's).
    pub scaling: Option<(String, holoscale::reports::html::Table)>,
}

/// Evaluates the model against the baselines (with a bar per trained baseline) and writes
/// `metrics.parquet`, `report.html` and the figures into `job.out`. The demo's last stage.
pub fn write_report(job: &ReportJob<'_>) -> Result<PathBuf> {
    on_device!(job.device, |AB, device| write_report_on::<AB>(job, &device))
}

fn write_report_on<AB: AutodiffBackend>(
    job: &ReportJob<'_>,
    device: &AB::Device,
) -> Result<PathBuf> {
    let artifact = Artifact::<AB::InnerBackend>::load(job.model, device)?;
    let history = EmHistory::load(job.model)?;
    let ev =
        evaluate_with_bars::<AB>(&artifact, job.telemetry, job.edges, &job.evaluation, device)?;
    std::fs::create_dir_all(job.out).map_err(|e| ds::Error::io(job.out, "create", e))?;
    write_parquet(&ev.rows, &job.out.join("metrics.parquet"))?;
    tracing::info!("drawing the figures");
    let telemetry_name = job.telemetry_path.display().to_string();
    let mut report = build(&ReportInputs {
        artifact: &artifact,
        model_dir: job.model,
        telemetry: job.telemetry,
        telemetry_name: &telemetry_name,
        edges: job.edges,
        truth: job.truth,
        evaluation: &ev,
        history: history.as_ref(),
        baselines: job.baselines,
        cc: job.cc.clone(),
        top: job.top,
    })?;
    report.scaling = job.scaling.clone();
    Ok(report.write(job.out)?)
}
