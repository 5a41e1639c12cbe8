//! `holoscale scale`: run a scaler on a simulated application (`scale run`) and compare
//! scalers side by side (`scale evaluate`, DeepScaler's Table II).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};

use holoscale::datasets::{self as ds, io::DirManifest, time};
use holoscale::scaler::harness::{self, Evaluation, Harness, ScalerEntry};
use holoscale::scaler::metrics::RunMetrics;
use holoscale::scaler::{Frictions, ScalerKind, Startup, output};
use holoscale::sim::{self, Pattern, Recorder, SimConfig, rundir};

use super::flags::cli_text;
use super::logging::Bar;
use super::{check_setting, usage};

#[derive(Debug, Args)]
pub struct ScaleArgs {
    #[command(subcommand)]
    command: ScaleCommand,
}

#[derive(Debug, Subcommand)]
enum ScaleCommand {
    /// Run one scaler on a simulated application; write its telemetry, call edges,
    /// decisions and summary.
    Run(RunArgs),
    /// Run scalers × seeds side by side and print the table (violations, cost, latency).
    Evaluate(EvaluateArgs),
}

/// The episode and its control-loop frictions (shared by `run` and `evaluate`).
#[derive(Debug, Clone, Args)]
pub struct EpisodeArgs {
    /// A built-in application (`holoscale apps list`) or a TOML spec file.
    #[arg(long, default_value = "online-boutique")]
    pub app: String,
    /// Workload: deepscaler, surge, diurnal, bursts, mix-shift, constant, trace:FILE.
    #[arg(long, default_value = "deepscaler")]
    pub workload: String,
    /// Simulated time per run.
    #[arg(long, default_value = "24h")]
    pub duration: String,
    /// Low and peak request rates, `BASE,PEAK` (default: the application's).
    #[arg(long, value_name = "BASE,PEAK")]
    pub rates: Option<String>,
    /// Relative measurement noise on what scalers observe.
    #[arg(long, default_value_t = 0.02)]
    pub noise: f64,
    /// Probability that a service's scrape is missed in an interval.
    #[arg(long, default_value_t = 0.0)]
    pub gaps: f64,
    /// Scrape (and simulation) interval.
    #[arg(long, default_value = "15s")]
    pub interval: String,
    /// Pod start-up delays: `by-runtime` (per service of the built-in apps, by language
    /// runtime), `spec` (the app spec's), or seconds for every service.
    #[arg(long, default_value = "by-runtime")]
    pub startup: String,
    /// Intervals between the end of an interval and a scaler seeing it.
    #[arg(long, default_value_t = 1)]
    pub metrics_lag: usize,
    /// Intervals a rate is averaged over.
    #[arg(long, default_value_t = 2)]
    pub rate_window: usize,
    /// Scale-down stabilisation for scalers without their own (every one but hpa, aws,
    /// static), as an HPA in front of them would apply; 0s turns it off.
    #[arg(long, default_value = "300s")]
    pub stabilisation: String,
    /// Decision period of scalers without their own (hpa 15s, aws 60s, deepscaler its
    /// model's interval).
    #[arg(long, default_value = "30s")]
    pub period: String,
    /// No frictions: spec start-up delays, no lag, one-interval rates, no stabilisation,
    /// at a 30 s interval.
    #[arg(long)]
    pub no_frictions: bool,
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub episode: EpisodeArgs,
    /// The scaler: hpa, hpa:TARGET, aws, mmn, hab, slo, static, static:N,
    /// deepscaler:MODEL_DIR, oracle.
    #[arg(long, default_value = "hpa")]
    pub scaler: String,
    /// Seed of the run.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Output directory.
    #[arg(long, default_value = "scale-run")]
    pub out: PathBuf,
    /// Replace an earlier `scale run` in --out (only one holoscale wrote).
    #[arg(long)]
    pub force: bool,
    /// File format of the telemetry and call edges.
    #[arg(long, value_enum, default_value_t = TableFormat::Parquet)]
    pub format: TableFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TableFormat {
    Parquet,
    Csv,
}

#[derive(Debug, Clone, Args)]
pub struct EvaluateArgs {
    #[command(flatten)]
    pub episode: EpisodeArgs,
    /// Comma-separated scalers (see `scale run --scaler`).
    #[arg(long, default_value = "hpa,aws,mmn,hab,slo,static,oracle")]
    pub scalers: String,
    /// Comma-separated seeds; every scaler runs every seed.
    #[arg(long, default_value = "1,2,3")]
    pub seeds: String,
    /// Directory for the table (CSV, JSON), the per-interval series (Parquet) and the HTML
    /// report; nothing is written without it.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace an earlier evaluation in --out (only one holoscale wrote).
    #[arg(long)]
    pub force: bool,
    /// How the table is printed.
    #[arg(long, value_enum, default_value_t = PrintFormat::Table)]
    pub format: PrintFormat,
    /// Runs at once (0: one per core). Results do not depend on it.
    #[arg(long, default_value_t = 0, env = "HOLOSCALE_THREADS")]
    pub threads: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PrintFormat {
    Table,
    Json,
    Csv,
}

/// What `scale run` writes, signed by `scale.json`.
pub static SCALE_RUN_DIR: DirManifest = DirManifest {
    what: "scaler run directory",
    files: &[
        "telemetry.parquet",
        "telemetry.csv",
        "edges.parquet",
        "edges.csv",
        "truth.parquet",
        "truth.csv",
        "app.toml",
        "run.json",
        "decisions.csv",
        "series.parquet",
        "scale.json",
    ],
    suffixes: &[],
    dirs: &[],
    signature: Some(("scale.json", "\"holoscale_version\"")),
};

/// What `scale evaluate --out` writes, signed by `evaluation.json`.
pub static EVALUATION_DIR: DirManifest = DirManifest {
    what: "scaler evaluation directory",
    files: &[
        "table.csv",
        "table.json",
        "series.parquet",
        "replicas.parquet",
        "report.html",
        "evaluation.json",
    ],
    suffixes: &[],
    dirs: &[],
    signature: Some(("evaluation.json", "\"holoscale_version\"")),
};

pub fn run(a: ScaleArgs) -> Result<()> {
    match a.command {
        ScaleCommand::Run(r) => run_cmd(r),
        ScaleCommand::Evaluate(e) => evaluate_cmd(e),
    }
}

/// The harness for an episode (no scalers or seeds yet), checked before anything runs.
pub fn harness(e: &EpisodeArgs) -> Result<Harness> {
    let pattern = Pattern::parse(&e.workload).map_err(|err| usage(cli_text(&err.to_string())))?;
    let rates = e
        .rates
        .as_deref()
        .map(super::simulate::parse_rates)
        .transpose()?;
    let frictions = if e.no_frictions {
        super::refuse_given(
            &[
                "startup",
                "metrics_lag",
                "rate_window",
                "stabilisation",
                "interval",
            ],
            "do not apply with --no-frictions",
        )?;
        Frictions::none()
    } else {
        Frictions {
            startup: match e.startup.as_str() {
                "by-runtime" => Startup::ByRuntime,
                "spec" => Startup::Spec,
                s => Startup::Fixed(
                    time::parse_duration_ms(s, "--startup")
                        .map(|ms| ms as f64 / 1000.0)
                        .or_else(|_| {
                            s.parse::<f64>().map_err(|_| {
                            usage(format!(
                                "--startup `{s}`: expected by-runtime, spec, or a delay such as 45s"
                            ))
                        })
                        })?,
                ),
            },
            interval_ms: time::parse_duration_ms(&e.interval, "--interval")?,
            metrics_lag_intervals: e.metrics_lag,
            rate_window_intervals: e.rate_window,
            scale_down_stabilisation_s: time::parse_duration_ms(
                &e.stabilisation,
                "--stabilisation",
            )? as f64
                / 1000.0,
        }
    };
    check_setting(frictions.check())?;
    let sim = SimConfig {
        duration_ms: time::parse_duration_ms(&e.duration, "--duration")?,
        noise: e.noise,
        gap_prob: e.gaps,
        pattern,
        rates,
        interval_ms: frictions.interval_ms,
        ..SimConfig::default()
    };
    check_setting(sim.check())?;
    let period_ms = time::parse_duration_ms(&e.period, "--period")?;
    if period_ms % frictions.interval_ms != 0 {
        return Err(usage(format!(
            "--period {} must be a multiple of the {} interval",
            e.period,
            time::format_duration_ms(frictions.interval_ms)
        )));
    }
    let app = sim::apps::resolve(&e.app, 7)?;
    let mut h = Harness::new(app);
    h.sim = sim;
    h.frictions = frictions;
    h.default_period_ms = period_ms;
    Ok(h)
}

/// The settings of an episode as given, for `scale.json` and `evaluation.json`.
fn settings(e: &EpisodeArgs, h: &Harness) -> BTreeMap<&'static str, serde_json::Value> {
    let f = &h.frictions;
    BTreeMap::from([
        ("app", e.app.clone().into()),
        ("workload", e.workload.clone().into()),
        ("duration", e.duration.clone().into()),
        ("noise", e.noise.into()),
        ("gaps", e.gaps.into()),
        ("interval_ms", f.interval_ms.into()),
        ("startup", format!("{:?}", f.startup).into()),
        ("metrics_lag_intervals", f.metrics_lag_intervals.into()),
        ("rate_window_intervals", f.rate_window_intervals.into()),
        (
            "scale_down_stabilisation_s",
            f.scale_down_stabilisation_s.into(),
        ),
        ("default_period_ms", h.default_period_ms.into()),
        ("holoscale_version", env!("CARGO_PKG_VERSION").into()),
    ])
}

fn entry(text: &str) -> Result<ScalerEntry> {
    let kind = ScalerKind::parse(text).map_err(|e| usage(cli_text(&e.to_string())))?;
    if let ScalerKind::DeepScaler(dir) = &kind
        && !dir.join("config.json").is_file()
    {
        return Err(usage(format!(
            "--scaler {text}: {} is not a model directory (no config.json); train one with `holoscale train`",
            dir.display()
        )));
    }
    Ok(ScalerEntry::from_kind(kind))
}

fn run_cmd(a: RunArgs) -> Result<()> {
    let mut h = harness(&a.episode)?;
    let e = entry(&a.scaler)?;
    ds::io::check_output_dir(&a.out, a.force, &SCALE_RUN_DIR, &[])?;
    h.record_series = true;
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let format = match a.format {
        TableFormat::Parquet => rundir::RunFormat::Parquet,
        TableFormat::Csv => rundir::RunFormat::Csv,
    };
    let files = rundir::RunFiles::in_dir(&a.out, format);
    let env = h.environment(e.is_oracle(), a.seed)?;
    let spec = env.spec().clone();
    let services = env.simulator().services();
    let mut recorder = Recorder::streaming(&spec, env.simulator(), &files.telemetry, &files.edges)?;
    drop(env);
    let bar = Bar::new();
    let steps = h.config(a.seed).steps() as u64;
    ds::io::Progress::begin(&bar, &format!("scaling ({})", e.label), Some(steps));
    let run = h.run_one(&e, a.seed, &mut |env| {
        recorder.record(env.emission())?;
        ds::io::Progress::advance(&bar, 1);
        Ok(())
    })?;
    ds::io::Progress::finish(&bar);
    let (truth, summary) = recorder.finish_streaming()?;
    truth.write_file(&files.truth)?;
    output::write_text(&files.app, &spec.to_toml())?;
    let cfg = h.config(a.seed);
    let record = rundir::RunRecord::new(&a.episode.app, &spec, &cfg, &e.label, summary);
    output::write_text(
        &files.run,
        &serde_json::to_string_pretty(&record).context("serialising run.json")?,
    )?;
    let series = run.series.as_ref().expect("series recorded");
    output::write_text(
        &a.out.join("decisions.csv"),
        &output::decisions_csv(&series.decisions, &services),
    )?;
    let result = harness::RunResult {
        scaler: e.label.clone(),
        seed: a.seed,
        run: run.clone(),
    };
    output::write_series(&a.out.join("series.parquet"), std::slice::from_ref(&result))?;
    let mut meta = settings(&a.episode, &h);
    meta.insert("scaler", a.scaler.clone().into());
    meta.insert("seed", a.seed.into());
    meta.insert("metrics", serde_json::to_value(run.metrics)?);
    output::write_text(
        &a.out.join("scale.json"),
        &serde_json::to_string_pretty(&meta)?,
    )?;
    let m = &run.metrics;
    super::output::print(&format!(
        "{} on {} ({} workload, {}, seed {}): SLO violations {:.2}% of requests ({:.2}% of the time), {:.2} core-hours, p95 latency {:.0} ms, {:.3}% failed, {} scaling actions, {:.2} replicas per service\nwrote {}\n",
        e.label,
        spec.name,
        a.episode.workload,
        a.episode.duration,
        a.seed,
        100.0 * m.violation_share,
        100.0 * m.violation_time_share,
        m.core_hours,
        m.p95_latency_ms,
        100.0 * m.failed_share,
        m.scaling_actions,
        m.mean_replicas,
        a.out.display()
    ))
}

fn parse_seeds(text: &str) -> Result<Vec<u64>> {
    let seeds: Vec<u64> = text
        .split(',')
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<u64>()
                .map_err(|_| usage(format!("--seeds `{text}`: `{s}` is not a whole number")))
        })
        .collect::<Result<_>>()?;
    if seeds.is_empty() {
        return Err(usage("--seeds: give at least one seed"));
    }
    let mut sorted = seeds.clone();
    sorted.sort_unstable();
    if sorted.windows(2).any(|w| w[0] == w[1]) {
        return Err(usage(format!("--seeds `{text}`: a seed is listed twice")));
    }
    Ok(seeds)
}

fn evaluate_cmd(a: EvaluateArgs) -> Result<()> {
    let mut h = harness(&a.episode)?;
    let kinds = ScalerKind::parse_list(&a.scalers).map_err(|e| usage(cli_text(&e.to_string())))?;
    let mut labels: Vec<String> = kinds.iter().map(ScalerKind::label).collect();
    labels.sort();
    if let Some(w) = labels.windows(2).find(|w| w[0] == w[1]) {
        return Err(usage(format!("--scalers: `{}` is listed twice", w[0])));
    }
    h.scalers = a
        .scalers
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(entry)
        .collect::<Result<_>>()?;
    h.seeds = parse_seeds(&a.seeds)?;
    h.threads = a.threads;
    if let Some(out) = &a.out {
        ds::io::check_output_dir(out, a.force, &EVALUATION_DIR, &[])?;
        h.record_series = true;
    }
    let total = h.scalers.len() * h.seeds.len();
    let bar = Bar::new();
    ds::io::Progress::begin(&bar, "scaler runs", Some(total as u64));
    let eval = h.run(&|_, _| ds::io::Progress::advance(&bar, 1))?;
    ds::io::Progress::finish(&bar);
    if let Some(out) = &a.out {
        write_evaluation(out, &a, &h, &eval)?;
    }
    match a.format {
        PrintFormat::Table => super::output::print(&table_text(&h, &a.episode, &eval)),
        PrintFormat::Json => super::output::print_json(&eval.table),
        PrintFormat::Csv => super::output::print(&output::table_csv(&eval.table)),
    }
}

fn write_evaluation(out: &Path, a: &EvaluateArgs, h: &Harness, eval: &Evaluation) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let services: Vec<String> = h.app.services.iter().map(|s| s.name.clone()).collect();
    output::write_text(&out.join("table.csv"), &output::table_csv(&eval.table))?;
    output::write_text(
        &out.join("table.json"),
        &serde_json::to_string_pretty(&eval.table)?,
    )?;
    output::write_series(&out.join("series.parquet"), &eval.runs)?;
    output::write_replicas(&out.join("replicas.parquet"), &eval.runs, &services)?;
    let html = super::scale_report::page(h, &a.episode, eval)?;
    output::write_text(&out.join("report.html"), &html)?;
    let mut meta = settings(&a.episode, h);
    meta.insert("scalers", a.scalers.clone().into());
    meta.insert("seeds", serde_json::to_value(&h.seeds)?);
    output::write_text(
        &out.join("evaluation.json"),
        &serde_json::to_string_pretty(&meta)?,
    )?;
    Ok(())
}

/// The table as text: one row per scaler, mean ± spread over seeds.
pub fn table_text(h: &Harness, e: &EpisodeArgs, eval: &Evaluation) -> String {
    let mut out = format!(
        "{} ({} services), {} workload, {} per run, seeds {}\n",
        h.app.name,
        h.app.services.len(),
        e.workload,
        e.duration,
        h.seeds
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(",")
    );
    out.push_str(&format!(
        "{:<12} {:>16} {:>16} {:>14} {:>12} {:>10} {:>9} {:>9} {:>10}\n",
        "scaler",
        "violations %",
        "time over SLO %",
        "core-hours",
        "CAE s",
        "p95 ms",
        "failed %",
        "actions",
        "vs base."
    ));
    let pm = |m: f64, s: f64, scale: f64, prec: usize| {
        format!("{:.prec$} ± {:.prec$}", m * scale, s * scale)
    };
    for r in &eval.table {
        let (m, s): (&RunMetrics, &RunMetrics) = (&r.mean, &r.spread);
        let label = if r.oracle {
            format!("{} *", r.scaler)
        } else {
            r.scaler.clone()
        };
        out.push_str(&format!(
            "{:<12} {:>16} {:>16} {:>14} {:>12} {:>10.0} {:>9.3} {:>9.0} {:>10}\n",
            label,
            pm(m.violation_share, s.violation_share, 100.0, 2),
            pm(m.violation_time_share, s.violation_time_share, 100.0, 2),
            pm(m.core_hours, s.core_hours, 1.0, 2),
            pm(m.cumulative_error_s, s.cumulative_error_s, 1.0, 1),
            m.p95_latency_ms,
            100.0 * m.failed_share,
            m.scaling_actions,
            r.violation_reduction
                .map(|v| format!("{:+.0}%", 100.0 * v))
                .unwrap_or_else(|| "-".into()),
        ));
    }
    out.push_str(
        "violations: request-weighted share of (interval, operation) over the SLO; time over SLO: DeepScaler eq. 1; CAE: cumulative distance of latency outside [SLO/2, SLO]; vs base.: mean reduction in violations against hpa, aws, mmn, hab, slo; * the oracle is unrealisable (it knows the coming load).\n",
    );
    out
}
