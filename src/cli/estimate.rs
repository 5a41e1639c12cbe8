//! `holoscale train`, `holoscale predict`, `holoscale evaluate`.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use burn::tensor::backend::AutodiffBackend;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use holoscale::datasets::{self as ds, time, validate};
use holoscale::estimator::evaluate::{Baseline, EvalOptions, Evaluation, evaluate};
use holoscale::estimator::metrics::MetricRow;
use holoscale::estimator::{
    Artifact, EpochReport, Estimator, ModelKind, Preset, TrainConfig, TrainOptions,
};

use super::logging::Bar;
use super::output::{Table, num, print, print_json};
use super::{InputArgs, RepairArgs, log_report, split_list};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum DeviceArg {
    /// burn's NdArray backend on the CPU.
    #[default]
    Cpu,
    /// burn-cuda on an NVIDIA GPU (build with --features cuda).
    Cuda,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum PresetArg {
    /// 32 filters, window 24: trains on a laptop CPU.
    #[default]
    Cpu,
    /// DeepScaler's sizes: 128 filters, window 80.
    Paper,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ModelArg {
    /// The spatio-temporal attention GCN.
    #[default]
    Stgcn,
    /// GRU per service (baseline).
    Gru,
    /// Graph convolution + GRU (baseline).
    Tgcn,
}

/// Telemetry input shared by the three commands.
#[derive(Debug, Args)]
pub struct TelemetryArgs {
    /// Telemetry file (.parquet, .csv, .npz).
    #[arg(long)]
    pub telemetry: PathBuf,
    #[command(flatten)]
    pub repair: RepairArgs,
    #[command(flatten)]
    pub input: InputArgs,
}

impl TelemetryArgs {
    pub fn load(&self) -> Result<ds::Telemetry> {
        let mut tel = self.input.read(&self.telemetry)?;
        let report = validate::repair(&mut tel, &self.repair.policy());
        log_report(&report);
        report.into_result()?;
        Ok(tel)
    }
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: TelemetryArgs,
    /// Call edges (.parquet, .csv): the estimator starts from their invocation graph.
    #[arg(long)]
    pub edges: Option<PathBuf>,
    /// Target column (default: optimal_replicas when present, else replicas).
    #[arg(long)]
    pub target: Option<String>,
    /// Feature columns, comma-separated (default: replicas, CPU, request rate, latency, memory).
    #[arg(long = "feature-columns", value_name = "COL,...")]
    pub feature_columns: Option<String>,
    /// Input window τ, steps (default: the preset's).
    #[arg(long)]
    pub window: Option<usize>,
    /// Predicted steps H.
    #[arg(long, default_value_t = 1)]
    pub horizon: usize,
    /// Steps between training windows.
    #[arg(long, default_value_t = 1)]
    pub stride: usize,
    /// Train and validation shares, `TRAIN,VAL` (the rest is the test range).
    #[arg(long, default_value = "0.7,0.1")]
    pub split: String,
    /// Network size.
    #[arg(long, value_enum, default_value_t = PresetArg::Cpu)]
    pub preset: PresetArg,
    /// Network.
    #[arg(long, value_enum, default_value_t = ModelArg::Stgcn)]
    pub model: ModelArg,
    /// Most epochs.
    #[arg(long, default_value_t = 100)]
    pub epochs: usize,
    /// Windows per batch.
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    /// Learning rate.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Adam weight decay.
    #[arg(long, default_value_t = 1e-4)]
    pub weight_decay: f64,
    /// Early-stopping patience, epochs.
    #[arg(long, default_value_t = 5)]
    pub patience: usize,
    /// Seed.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Fewest replicas a prediction rounds to.
    #[arg(long, default_value_t = 1)]
    pub min_replicas: u32,
    /// Most replicas a prediction rounds to.
    #[arg(long)]
    pub max_replicas: Option<u32>,
    /// Skip windows with missing values instead of refusing the data.
    #[arg(long)]
    pub skip_missing: bool,
    /// Compute device.
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    pub device: DeviceArg,
    /// Model directory to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing model directory.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub graph: super::graph::GraphLearnArgs,
}

fn parse_split(text: &str) -> Result<ds::tensor::SplitSpec> {
    let parts: Vec<f64> = text
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("--split `{text}`: expected TRAIN,VAL such as 0.7,0.1"))?;
    let [train, validation] = parts[..] else {
        bail!("--split `{text}`: expected two shares TRAIN,VAL such as 0.7,0.1");
    };
    Ok(ds::tensor::SplitSpec { train, validation })
}

impl TrainArgs {
    pub fn options(&self) -> Result<TrainOptions> {
        Ok(TrainOptions {
            target: self.target.clone(),
            features: self.feature_columns.as_deref().map(split_list),
            window: self.window,
            horizon: self.horizon,
            stride: self.stride,
            split: parse_split(&self.split)?,
            preset: match self.preset {
                PresetArg::Cpu => Preset::Cpu,
                PresetArg::Paper => Preset::Paper,
            },
            kind: match self.model {
                ModelArg::Stgcn => ModelKind::Stgcn,
                ModelArg::Gru => ModelKind::Gru,
                ModelArg::Tgcn => ModelKind::Tgcn,
            },
            train: TrainConfig::new()
                .with_max_epochs(self.epochs)
                .with_batch_size(self.batch)
                .with_learning_rate(self.lr)
                .with_weight_decay(self.weight_decay)
                .with_patience(self.patience)
                .with_seed(self.seed),
            min_replicas: self.min_replicas,
            max_replicas: self.max_replicas,
            skip_missing: self.skip_missing,
        })
    }
}

/// A bar over epochs showing losses; log lines when stderr is not a terminal.
pub struct EpochBar {
    bar: Option<ProgressBar>,
}

impl EpochBar {
    pub fn new(label: &str, epochs: usize) -> EpochBar {
        let bar = Bar::draws().then(|| {
            let b =
                ProgressBar::with_draw_target(Some(epochs as u64), ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template(
                    "{prefix:>8} epoch {pos}/{len} [{bar:24}] {msg} ({eta} left)",
                )
                .expect("static template")
                .progress_chars("=> "),
            );
            b.set_prefix(label.to_string());
            b
        });
        EpochBar { bar }
    }

    pub fn update(&self, label: &str, r: &EpochReport) {
        let msg = format!(
            "loss {:.4}, val loss {:.4}, val MAE {:.4}",
            r.train_loss, r.val_loss, r.val_mae
        );
        match &self.bar {
            Some(b) => {
                b.set_position(r.epoch as u64);
                b.set_message(msg);
            }
            None => tracing::info!(
                "{label} epoch {}/{}: {msg} ({:.1} s)",
                r.epoch,
                r.max_epochs,
                r.seconds
            ),
        }
    }

    /// A line above the bar (a log line without one).
    pub fn note(&self, msg: &str) {
        match &self.bar {
            Some(b) => b.println(msg),
            None => tracing::info!("{msg}"),
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// Runs `$body` with `$B` the autodiff backend of the chosen device.
macro_rules! on_device {
    ($device:expr, |$B:ident, $dev:ident| $body:expr) => {
        match $device {
            DeviceArg::Cpu => {
                type $B = burn::backend::Autodiff<burn::backend::NdArray>;
                let $dev = burn::backend::ndarray::NdArrayDevice::default();
                $body
            }
            #[cfg(feature = "cuda")]
            DeviceArg::Cuda => {
                type $B = burn::backend::Autodiff<burn::backend::Cuda>;
                let $dev = burn::backend::cuda::CudaDevice::default();
                $body
            }
            #[cfg(not(feature = "cuda"))]
            DeviceArg::Cuda => {
                anyhow::bail!("this holoscale was built without CUDA; rebuild with `cargo build --release --features cuda`")
            }
        }
    };
}
pub(crate) use on_device;

pub fn train(a: TrainArgs) -> Result<()> {
    let tel = a.data.load()?;
    let edges = a.edges.as_deref().map(ds::io::read_edges).transpose()?;
    let opts = a.options()?;
    if a.out.exists()
        && !a.force
        && std::fs::read_dir(&a.out)
            .map(|mut d| d.next().is_some())
            .unwrap_or(false)
    {
        bail!(
            "{}: exists and is not empty; choose another --out or pass --force",
            a.out.display()
        );
    }
    on_device!(a.device, |AB, device| train_on::<AB>(
        &tel,
        edges.as_ref(),
        &opts,
        &device,
        &a
    ))
}

fn train_on<AB: AutodiffBackend>(
    tel: &ds::Telemetry,
    edges: Option<&ds::CallEdges>,
    opts: &TrainOptions,
    device: &AB::Device,
    a: &TrainArgs,
) -> Result<()> {
    if !a.graph.no_graph_learning {
        if opts.kind != ModelKind::Gru {
            return super::graph::train_em_on::<AB>(tel, edges, opts, device, a);
        }
        tracing::info!("gru does not use the graph: training without graph learning");
    }
    let bar = EpochBar::new(opts.kind.name(), opts.train.max_epochs);
    let start = std::time::Instant::now();
    let trained = holoscale::estimator::train::<AB>(tel, edges, opts, device, &mut |r| {
        bar.update(opts.kind.name(), r)
    })?;
    bar.finish();
    for note in &trained.notes {
        tracing::warn!("{note}");
    }
    trained.artifact.save(&a.out, a.force)?;
    let h = &trained.artifact.history;
    let best = &h[trained.artifact.metadata.best_epoch - 1];
    let windows = trained.data.starts(ds::tensor::Split::Train).len();
    print(&format!(
        "trained {} on {} services x {} features, window {}, horizon {}: {} epochs in {:.1} s ({:.0} windows/s), best epoch {} (validation MAE {} {})\nwrote {}\n",
        opts.kind.name(),
        trained.data.services.len(),
        trained.data.features.len(),
        trained.data.spec.input,
        trained.data.spec.horizon,
        h.len(),
        start.elapsed().as_secs_f64(),
        windows as f64 * h.len() as f64 / h.iter().map(|e| e.seconds).sum::<f64>().max(1e-9),
        best.epoch,
        num(best.val_mae),
        trained.data.target_name,
        a.out.display()
    ))
}

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
    /// Windows per batch.
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
    /// Output format of the next-step forecast.
    #[arg(long, value_enum, default_value_t = super::inspect::InspectFormat::Table)]
    pub format: super::inspect::InspectFormat,
    /// Compute device.
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    pub device: DeviceArg,
}

pub fn predict(a: PredictArgs) -> Result<()> {
    let tel = a.data.load()?;
    on_device!(a.device, |AB, device| predict_on::<
        <AB as AutodiffBackend>::InnerBackend,
    >(&tel, &a, device))
}

fn predict_on<B: burn::prelude::Backend>(
    tel: &ds::Telemetry,
    a: &PredictArgs,
    device: B::Device,
) -> Result<()> {
    let est = Estimator::<B>::load_on(&a.model, device)?;
    match &a.out {
        Some(path) => {
            let start = std::time::Instant::now();
            let stats = est.predict_to_parquet(tel, path, a.batch, &Bar::new())?;
            if stats.skipped > 0 {
                tracing::warn!("{} windows skipped for missing values", stats.skipped);
            }
            print(&format!(
                "predicted {} windows ({} rows) in {:.2} s; wrote {}\n",
                stats.windows,
                stats.rows,
                start.elapsed().as_secs_f64(),
                path.display()
            ))
        }
        None => {
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
    }
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
    /// Baselines: all, none, or a list of persistence, seasonal-naive, gru, tgcn.
    #[arg(long, default_value = "all")]
    pub baselines: String,
    /// Season of the seasonal-naive baseline.
    #[arg(long, default_value = "24h")]
    pub season: String,
    /// Also score rounded replicas (SPEC 3 rule) of the neural models.
    #[arg(long)]
    pub rounded: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = MetricFormat::Table)]
    pub format: MetricFormat,
    /// Also write the metrics as Parquet.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Compute device.
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    pub device: DeviceArg,
}

pub fn parse_baselines(text: &str) -> Result<Vec<Baseline>> {
    match text {
        "all" => Ok(Baseline::ALL.to_vec()),
        "none" | "" => Ok(Vec::new()),
        list => split_list(list)
            .iter()
            .map(|b| {
                Baseline::ALL
                    .into_iter()
                    .find(|x| x.name() == b)
                    .with_context(|| format!("--baselines: unknown baseline `{b}`; use persistence, seasonal-naive, gru, tgcn, all or none"))
            })
            .collect(),
    }
}

pub fn evaluate_cmd(a: EvaluateArgs) -> Result<()> {
    let tel = a.data.load()?;
    let edges = a.edges.as_deref().map(ds::io::read_edges).transpose()?;
    let season =
        (time::parse_duration_ms(&a.season, "--season")? / tel.interval_ms()).max(1) as usize;
    let opts = EvalOptions {
        baselines: parse_baselines(&a.baselines)?,
        season,
        rounded: a.rounded,
    };
    on_device!(a.device, |AB, device| evaluate_on::<AB>(
        &tel,
        edges.as_ref(),
        &opts,
        &a,
        &device
    ))
}

/// [`evaluate`] with one epoch bar per neural baseline trained on the way; logs its notes.
pub fn evaluate_with_bars<AB: AutodiffBackend>(
    artifact: &Artifact<AB::InnerBackend>,
    tel: &ds::Telemetry,
    edges: Option<&ds::CallEdges>,
    opts: &EvalOptions,
    device: &AB::Device,
) -> Result<Evaluation> {
    let bars: std::cell::RefCell<Vec<(String, EpochBar)>> = Default::default();
    let ev = evaluate::<AB>(artifact, tel, edges, opts, device, &mut |name, r| {
        let mut bars = bars.borrow_mut();
        if bars.last().is_none_or(|(n, _)| n != name) {
            if let Some((_, b)) = bars.last() {
                b.finish();
            }
            bars.push((name.to_string(), EpochBar::new(name, r.max_epochs)));
        }
        bars.last().expect("pushed").1.update(name, r);
    })?;
    if let Some((_, b)) = bars.borrow().last() {
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
            let mut out = String::from("model,service,horizon,mae,rmse,mape,count\n");
            for r in &ev.rows {
                out.push_str(&format!(
                    "{},{},{},{},{},{},{}\n",
                    r.model, r.service, r.horizon, r.mae, r.rmse, r.mape, r.count
                ));
            }
            print(&out)
        }
        MetricFormat::Table => print(&render_table(
            &ev.rows,
            &artifact.config.data.target,
            ev.times_ms.len(),
        )),
    }
}

fn render_table(rows: &[MetricRow], target: &str, windows: usize) -> String {
    let overall: Vec<&MetricRow> = rows
        .iter()
        .filter(|r| r.service == "all" && r.horizon == 0)
        .collect();
    let mut out = format!(
        "{target} on {windows} test windows (MAE and RMSE where the truth is non-zero, MAPE where it exceeds 0.5)\n\n"
    );
    let mut t = Table::new(&["model", "MAE", "RMSE", "MAPE %"]);
    for r in &overall {
        t.row(&[r.model.clone(), num(r.mae), num(r.rmse), num(r.mape)]);
    }
    out.push_str(&t.render());
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
