//! `holoscale predict`, `holoscale evaluate`.

use std::path::{Path, PathBuf};

use anyhow::Result;
use burn::tensor::backend::AutodiffBackend;
use clap::{Args, ValueEnum};

use holoscale::datasets::{self as ds, time};
use holoscale::estimator::artifact::model_files;
use holoscale::estimator::evaluate::{
    Baseline, BaselineProgress, EvalOptions, Evaluation, evaluate,
};
use holoscale::estimator::metrics::MetricRow;
use holoscale::estimator::{Artifact, Estimator};

use super::device::{DeviceArg, on_device};
use super::logging::{Bar, EpochBar, RoundBar};
use super::output::{Table, num, print, print_json};
use super::{TelemetryArgs, refuse_given, split_list, usage};

#[derive(Debug, Args)]
pub struct PredictArgs {
    /// Model directory (`holoscale train --out`).
    #[arg(long)]
    pub model: PathBuf,
    #[command(flatten)]
    pub data: TelemetryArgs,
    /// Predictions Parquet to write (every window); without it, print the next step.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace an existing --out file.
    #[arg(long)]
    pub force: bool,
    /// Windows per batch (with --out).
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
    /// Output format of the next-step forecast (without --out).
    #[arg(long, value_enum, default_value_t = super::inspect::InspectFormat::Table)]
    pub format: super::inspect::InspectFormat,
    /// Compute device.
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    pub device: DeviceArg,
}

/// The files a command reads from model directory `model` and its other inputs.
fn inputs_of(model: &Path, others: &[&Path]) -> Vec<PathBuf> {
    let mut out = model_files(model);
    out.extend(others.iter().map(|p| p.to_path_buf()));
    out
}

/// Checks an output file of a command that reads `inputs`.
pub fn check_output(out: &Path, force: bool, inputs: &[PathBuf]) -> Result<()> {
    let inputs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    Ok(ds::io::check_output_file(out, force, &inputs)?)
}

pub fn predict(a: PredictArgs) -> Result<()> {
    match &a.out {
        Some(out) => {
            refuse_given(
                &["format"],
                "sets the printed next-step forecast; --out writes Parquet",
            )?;
            if a.batch == 0 {
                return Err(usage("--batch must be at least 1"));
            }
            if out.as_os_str() == "-" {
                return Err(usage(
                    "--out - : predictions are Parquet and go to a file; without --out the next step is printed (--format table or json)",
                ));
            }
            check_output(out, a.force, &inputs_of(&a.model, &[&a.data.telemetry]))?;
        }
        None => refuse_given(&["batch", "force"], "apply only with --out")?,
    }
    let tel = a.data.load()?;
    match &a.out {
        Some(path) => predict_every_window(&a.model, &tel, path, a.batch, a.device),
        None => on_device!(a.device, |AB, device| predict_next::<
            <AB as AutodiffBackend>::InnerBackend,
        >(&tel, &a, device)),
    }
}

/// Predicts after every window of `tel` with the model in `model` and writes predictions
/// Parquet to `out`. The demo's prediction stage.
pub fn predict_every_window(
    model: &std::path::Path,
    tel: &ds::Telemetry,
    out: &std::path::Path,
    batch: usize,
    device: DeviceArg,
) -> Result<()> {
    on_device!(device, |AB, dev| {
        let est = Estimator::<<AB as AutodiffBackend>::InnerBackend>::load_on(model, dev)?;
        let start = std::time::Instant::now();
        let stats = est.predict_to_parquet(tel, out, batch, &Bar::new())?;
        if stats.skipped > 0 {
            tracing::warn!("{} windows skipped for missing values", stats.skipped);
        }
        print(&format!(
            "predicted {} windows ({} rows) in {:.2} s; wrote {}\n",
            stats.windows,
            stats.rows,
            start.elapsed().as_secs_f64(),
            out.display()
        ))
    })
}

fn predict_next<B: burn::prelude::Backend>(
    tel: &ds::Telemetry,
    a: &PredictArgs,
    device: B::Device,
) -> Result<()> {
    let est = Estimator::<B>::load_on(&a.model, device)?;
    let f = est.predict_next(tel)?;
    if a.format == super::inspect::InspectFormat::Json {
        #[derive(serde::Serialize)]
        struct Row<'a> {
            timestamp: String,
            service: &'a str,
            horizon: usize,
            predicted: f64,
            replicas: u32,
        }
        let mut rows = Vec::new();
        for (k, t) in f.times_ms.iter().enumerate() {
            for (j, s) in f.services.iter().enumerate() {
                rows.push(Row {
                    timestamp: time::format_ms(*t),
                    service: s,
                    horizon: k + 1,
                    predicted: f.values[k][j],
                    replicas: f.replicas[k][j],
                });
            }
        }
        return print_json(&rows);
    }
    let target = &est.artifact().config.data.target;
    let mut t = Table::new(&[
        "timestamp",
        "service",
        &format!("predicted {target}"),
        "replicas",
    ]);
    for (k, ts) in f.times_ms.iter().enumerate() {
        for (j, s) in f.services.iter().enumerate() {
            t.row(&[
                time::format_ms(*ts),
                s.clone(),
                num(f.values[k][j]),
                f.replicas[k][j].to_string(),
            ]);
        }
    }
    print(&t.render())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MetricFormat {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// Model directory.
    #[arg(long)]
    pub model: PathBuf,
    #[command(flatten)]
    pub data: TelemetryArgs,
    /// Call edges for the T-GCN baseline's invocation graph (default: the model's affinity).
    #[arg(long)]
    pub edges: Option<PathBuf>,
    /// Baselines: all, none, or a list of persistence, seasonal-naive, gru, tgcn, gbdt.
    #[arg(long, default_value = "all")]
    pub baselines: String,
    /// Season of the seasonal-naive baseline.
    #[arg(long, default_value = "24h")]
    pub season: String,
    /// Most epochs of the GRU and T-GCN baselines (default: the model's own settings).
    #[arg(long, value_name = "N")]
    pub baseline_epochs: Option<usize>,
    /// Also score rounded replicas (SPEC 3 rule) of the neural models.
    #[arg(long)]
    pub rounded: bool,
    /// Train the GRU, T-GCN and trees baselines afresh and keep nothing (by default they
    /// are kept in the model's baselines/ directory and reused when the data and settings
    /// are the same).
    #[arg(long)]
    pub no_cache: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = MetricFormat::Table)]
    pub format: MetricFormat,
    /// Also write the metrics as Parquet.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace an existing --out file.
    #[arg(long)]
    pub force: bool,
    /// Compute device.
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    pub device: DeviceArg,
    /// Threads each batch is split over (0: one per core).
    #[arg(long, value_name = "N", default_value_t = 0, env = "HOLOSCALE_THREADS")]
    pub threads: usize,
}

pub fn parse_baselines(text: &str) -> Result<Vec<Baseline>> {
    match text {
        "all" => Ok(Baseline::ALL.to_vec()),
        "none" | "" => Ok(Vec::new()),
        list => split_list(list)
            .iter()
            .map(|b| {
                Baseline::ALL.into_iter().find(|x| x.name() == b).ok_or_else(|| {
                    usage(format!("--baselines: unknown baseline `{b}`; use persistence, seasonal-naive, gru, tgcn, gbdt, all or none"))
                })
            })
            .collect(),
    }
}

/// The evaluation settings of `--baselines`, `--season`, `--baseline-epochs` and `--threads`, refusing
/// the last two when no baseline uses them; the season is converted to steps of the data.
pub fn eval_options(
    baselines: &str,
    season: &str,
    baseline_epochs: Option<usize>,
    rounded: bool,
    threads: usize,
) -> Result<(Vec<Baseline>, i64, EvalOptions)> {
    let list = parse_baselines(baselines)?;
    if !list.contains(&Baseline::SeasonalNaive) {
        refuse_given(&["season"], "applies only to the seasonal-naive baseline")?;
    }
    if !list
        .iter()
        .any(|b| matches!(b, Baseline::Gru | Baseline::Tgcn))
    {
        refuse_given(
            &["baseline_epochs"],
            "applies only to the gru and tgcn baselines",
        )?;
    }
    if baseline_epochs == Some(0) {
        return Err(usage("--baseline-epochs must be at least 1"));
    }
    let season_ms =
        time::parse_duration_ms(season, "--season").map_err(|e| usage(e.to_string()))?;
    if season_ms <= 0 {
        return Err(usage("--season must be positive"));
    }
    let opts = EvalOptions {
        baselines: list.clone(),
        season: 1,
        rounded,
        baseline_epochs,
        threads,
        ..EvalOptions::default()
    };
    Ok((list, season_ms, opts))
}

pub fn evaluate_cmd(a: EvaluateArgs) -> Result<()> {
    let (_, season_ms, mut opts) = eval_options(
        &a.baselines,
        &a.season,
        a.baseline_epochs,
        a.rounded,
        a.threads,
    )?;
    if let Some(out) = &a.out {
        let mut others: Vec<&Path> = vec![&a.data.telemetry];
        others.extend(a.edges.as_deref());
        check_output(out, a.force, &inputs_of(&a.model, &others))?;
    } else {
        refuse_given(&["force"], "applies only with --out")?;
    }
    if !a.no_cache {
        opts.cache = Some(baseline_cache(&a.model));
    }
    let tel = a.data.load()?;
    let edges = a.edges.as_deref().map(ds::io::read_edges).transpose()?;
    opts.season = (season_ms / tel.interval_ms()).max(1) as usize;
    on_device!(a.device, |AB, device| evaluate_on::<AB>(
        &tel,
        edges.as_ref(),
        &opts,
        &a,
        &device
    ))
}

/// Where the trained baselines of the model in `model_dir` are kept.
pub fn baseline_cache(model_dir: &Path) -> PathBuf {
    model_dir.join("baselines")
}

/// The bar of one trained baseline.
enum BaselineBar {
    Epochs(EpochBar),
    Rounds(RoundBar),
}

impl BaselineBar {
    fn finish(&self) {
        match self {
            BaselineBar::Epochs(b) => b.finish(),
            BaselineBar::Rounds(b) => b.finish(),
        }
    }
}

/// [`evaluate`] with one bar per baseline trained on the way (epochs of the neural ones,
/// boosting rounds of the trees); logs its notes.
pub fn evaluate_with_bars<AB: AutodiffBackend>(
    artifact: &Artifact<AB::InnerBackend>,
    tel: &ds::Telemetry,
    edges: Option<&ds::CallEdges>,
    opts: &EvalOptions,
    device: &AB::Device,
) -> Result<Evaluation> {
    let bars: std::sync::Mutex<Vec<(String, BaselineBar)>> = Default::default();
    let ev = evaluate::<AB>(artifact, tel, edges, opts, device, &mut |name, p| {
        let mut bars = bars.lock().expect("progress lock");
        let fresh = bars.last().is_none_or(|(n, _)| n != name);
        if fresh {
            if let Some((_, b)) = bars.last() {
                b.finish();
            }
            match p {
                BaselineProgress::Epoch(r) => bars.push((
                    name.to_string(),
                    BaselineBar::Epochs(EpochBar::new(name, r.max_epochs)),
                )),
                BaselineProgress::Round(r) => bars.push((
                    name.to_string(),
                    BaselineBar::Rounds(RoundBar::new(name, r.rounds)),
                )),
                BaselineProgress::Cached => {
                    tracing::info!(
                        "{name}: trained before on the same data and settings; read from the model's baseline cache"
                    );
                    return;
                }
            }
        }
        match (&bars.last().expect("pushed").1, p) {
            (BaselineBar::Epochs(b), BaselineProgress::Epoch(r)) => b.update(name, r),
            (BaselineBar::Rounds(b), BaselineProgress::Round(r)) => b.update(name, &r),
            _ => {}
        }
    })?;
    if let Some((_, b)) = bars.lock().expect("progress lock").last() {
        b.finish();
    }
    for note in &ev.notes {
        tracing::info!("{note}");
    }
    Ok(ev)
}

fn evaluate_on<AB: AutodiffBackend>(
    tel: &ds::Telemetry,
    edges: Option<&ds::CallEdges>,
    opts: &EvalOptions,
    a: &EvaluateArgs,
    device: &AB::Device,
) -> Result<()> {
    let artifact = Artifact::<AB::InnerBackend>::load(&a.model, device)?;
    let ev = evaluate_with_bars::<AB>(&artifact, tel, edges, opts, device)?;
    if let Some(path) = &a.out {
        holoscale::estimator::metrics::write_parquet(&ev.rows, path)?;
        tracing::info!("wrote {}", path.display());
    }
    match a.format {
        MetricFormat::Json => print_json(&ev.rows),
        MetricFormat::Csv => {
            let mut out = String::from("model,service,horizon,mae,rmse,mape,count,realisable\n");
            for r in &ev.rows {
                out.push_str(&format!(
                    "{},{},{},{},{},{},{},{}\n",
                    r.model, r.service, r.horizon, r.mae, r.rmse, r.mape, r.count, r.realisable
                ));
            }
            print(&out)
        }
        MetricFormat::Table => print(&render_table(&ev, &artifact.config.data.target)),
    }
}

fn render_table(ev: &Evaluation, target: &str) -> String {
    let rows = &ev.rows;
    let windows = ev.times_ms.len();
    let overall: Vec<&MetricRow> = rows
        .iter()
        .filter(|r| r.service == "all" && r.horizon == 0)
        .collect();
    let mut out = format!(
        "{target} on {windows} test windows (MAE and RMSE where the truth is non-zero, MAPE where it exceeds 0.5)\n\n"
    );
    let mark = |m: &str| {
        if ev.models.iter().any(|i| i.name == m && !i.realisable) {
            format!("{m} (*)")
        } else {
            m.to_string()
        }
    };
    let mut t = Table::new(&["model", "MAE", "RMSE", "MAPE %"]);
    for r in &overall {
        t.row(&[mark(&r.model), num(r.mae), num(r.rmse), num(r.mape)]);
    }
    out.push_str(&t.render());
    if ev.models.iter().any(|i| !i.realisable) {
        out.push_str(&format!(
            "(*) not realisable: {}; `{target}` is not among the model's inputs, so this row is an upper reference, not a competitor\n",
            holoscale::estimator::evaluate::NEEDS_TARGET_NOTE
        ));
    }
    let steps: Vec<usize> = {
        let mut s: Vec<usize> = rows.iter().map(|r| r.horizon).filter(|&h| h > 0).collect();
        s.sort_unstable();
        s.dedup();
        s
    };
    if !steps.is_empty() {
        let mut header = vec!["MAE per horizon step".to_string()];
        header.extend(overall.iter().map(|r| mark(&r.model)));
        let mut t = Table::new(&header);
        for k in &steps {
            let mut row = vec![k.to_string()];
            for r in &overall {
                let v = rows
                    .iter()
                    .find(|x| x.model == r.model && x.service == "all" && x.horizon == *k)
                    .map_or(f64::NAN, |x| x.mae);
                row.push(num(v));
            }
            t.row(&row);
        }
        out.push('\n');
        out.push_str(&t.render());
    }
    let models: Vec<&str> = overall.iter().map(|r| r.model.as_str()).collect();
    let mut services: Vec<&str> = Vec::new();
    for r in rows.iter().filter(|r| r.service != "all") {
        if !services.contains(&r.service.as_str()) {
            services.push(&r.service);
        }
    }
    let mut header = vec!["MAE per service".to_string()];
    header.extend(models.iter().map(|m| m.to_string()));
    let mut t = Table::new(&header);
    for s in services {
        let mut row = vec![s.to_string()];
        for m in &models {
            let v = rows
                .iter()
                .find(|r| r.model == *m && r.service == s && r.horizon == 0)
                .map(|r| r.mae)
                .unwrap_or(f64::NAN);
            row.push(num(v));
        }
        t.row(&row);
    }
    out.push('\n');
    out.push_str(&t.render());
    out
}
