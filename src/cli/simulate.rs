//! `holoscale simulate`: telemetry, call edges and ground truth from the simulator.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Args, ValueEnum};

use holoscale::datasets::{self as ds, time};
use holoscale::sim::rundir::{self, RunFiles, RunFormat, RunRecord};
use holoscale::sim::{self, Pattern, SimConfig, engine, footprint, policy};

use super::flags::cli_text;
use super::logging::Bar;
use super::{check_setting, parse_bytes, refuse_given, show_bytes, usage};

#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// A built-in application (`holoscale apps list`; `alibaba:N`) or a TOML spec file.
    #[arg(long, default_value = "online-boutique")]
    pub app: String,
    /// Workload: deepscaler, diurnal, bursts, mix-shift, constant, surge, trace:FILE, or an embedded
    /// trace: trace:nasa, trace:worldcup, trace:erms.
    #[arg(long, default_value = "deepscaler")]
    pub workload: String,
    /// Simulated time.
    #[arg(long, default_value = "48h")]
    pub duration: String,
    /// Telemetry and decision interval.
    #[arg(long, default_value = "30s")]
    pub interval: String,
    /// Simulation tick.
    #[arg(long, default_value = "1s")]
    pub tick: String,
    /// Data-collection policy: static, hpa, random, oracle-noise.
    #[arg(long, default_value = "hpa")]
    pub policy: String,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Relative measurement noise (standard deviation) on measured columns.
    #[arg(long, default_value_t = 0.02)]
    pub noise: f64,
    /// Probability that a row is not scraped.
    #[arg(long, default_value_t = 0.0)]
    pub gaps: f64,
    /// Low and peak request rates, `BASE,PEAK` (default: the application's calibrated scale).
    #[arg(long, value_name = "BASE,PEAK")]
    pub rates: Option<String>,
    /// Trace replay speed: simulated seconds per second of trace time.
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// Output directory.
    #[arg(long, default_value = "sim-out")]
    pub out: PathBuf,
    /// Replace the files of an earlier run in --out (only a run holoscale wrote: any other
    /// file there is refused).
    #[arg(long)]
    pub force: bool,
    /// Record call edges as one static row per edge (mean rate over the run) instead of one
    /// row per interval; for very large applications.
    #[arg(long)]
    pub static_edges: bool,
    /// How the `optimal_replicas` label is computed: `expected` (look-ahead: the workload's
    /// expected load of the next interval) or `realized` (hindsight: the requests that
    /// arrived in the row's own interval).
    #[arg(long, value_enum, default_value_t = OracleArg::Expected)]
    pub oracle: OracleArg,
    /// File format of the outputs.
    #[arg(long, value_enum, default_value_t = OutFormat::Parquet)]
    pub format: OutFormat,
    /// Most memory the run may take (estimated before it starts); the telemetry is
    /// streamed to disk, so this bounds the application's size.
    #[arg(long, default_value = "8GiB", value_name = "BYTES")]
    pub memory_limit: String,
    /// Most disk the run's files may take (estimated before it starts).
    #[arg(long, default_value = "50GB", value_name = "BYTES")]
    pub max_output: String,
}

/// `--oracle` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OracleArg {
    /// Look-ahead on the expected load.
    Expected,
    /// Hindsight on the realised arrivals.
    Realized,
}

impl From<OracleArg> for sim::Oracle {
    fn from(a: OracleArg) -> sim::Oracle {
        match a {
            OracleArg::Expected => sim::Oracle::Expected,
            OracleArg::Realized => sim::Oracle::Realized,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutFormat {
    Parquet,
    Csv,
}

/// Parses `--rates BASE,PEAK`.
pub fn parse_rates(r: &str) -> Result<(f64, f64)> {
    let bad = || usage(format!("--rates `{r}`: expected two numbers BASE,PEAK"));
    let parts: Vec<f64> = r
        .split(',')
        .map(|x| x.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    let [lo, hi] = parts[..] else {
        return Err(bad());
    };
    Ok((lo, hi))
}

/// Parses the arguments into a simulator configuration, checked before anything runs.
pub fn config(a: &SimulateArgs) -> Result<SimConfig> {
    let mut pattern = Pattern::parse(&a.workload).map_err(|e| usage(cli_text(&e.to_string())))?;
    match &mut pattern {
        Pattern::Trace { time_scale, .. } => *time_scale = a.time_scale,
        _ => refuse_given(&["time_scale"], "applies only to trace: workloads")?,
    }
    let rates = a.rates.as_deref().map(parse_rates).transpose()?;
    let cfg = SimConfig {
        tick_ms: time::parse_duration_ms(&a.tick, "--tick")?,
        interval_ms: time::parse_duration_ms(&a.interval, "--interval")?,
        duration_ms: time::parse_duration_ms(&a.duration, "--duration")?,
        noise: a.noise,
        gap_prob: a.gaps,
        pattern,
        rates,
        seed: a.seed,
        oracle: a.oracle.into(),
        edges: if a.static_edges {
            sim::EdgeRows::Total
        } else {
            sim::EdgeRows::PerInterval
        },
        ..SimConfig::default()
    };
    check_setting(cfg.check())?;
    Ok(cfg)
}

/// The files a run reads (its spec file, its trace), which its outputs may not replace.
fn inputs(a: &SimulateArgs, cfg: &SimConfig) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if Path::new(&a.app).is_file() {
        out.push(PathBuf::from(&a.app));
    }
    if let Pattern::Trace { path, .. } = &cfg.pattern
        && path.is_file()
    {
        out.push(path.clone());
    }
    out
}

/// What a finished run reports.
pub struct Ran {
    /// Its totals.
    pub summary: sim::Summary,
    /// Its files.
    pub files: RunFiles,
    /// Intervals and services recorded.
    pub steps: u64,
    pub services: usize,
}

/// Refuses a run whose estimated memory or output exceeds the limits, naming the estimate
/// and the flag that raises the limit.
fn check_footprint(memory: u64, output: u64, a: &SimulateArgs) -> Result<()> {
    let limit = parse_bytes(&a.memory_limit, "--memory-limit")?;
    if memory > limit {
        return Err(usage(format!(
            "this run needs about {} of memory, more than --memory-limit {}; raise --memory-limit, or simulate fewer services",
            show_bytes(memory),
            a.memory_limit
        )));
    }
    let max = parse_bytes(&a.max_output, "--max-output")?;
    if output > max {
        return Err(usage(format!(
            "this run would write about {} of files, more than --max-output {}; raise --max-output, or simulate a shorter --duration or a longer --interval",
            show_bytes(output),
            a.max_output
        )));
    }
    Ok(())
}

/// Runs a simulation into its run directory, streaming the telemetry and call edges to
/// their files as it goes.
pub fn run_to(a: &SimulateArgs) -> Result<Ran> {
    // A generated application is sized before it is built.
    if let Some(n) = footprint::generated_services(&a.app) {
        check_footprint(footprint::spec_bytes(n), 0, a)?;
    }
    let spec = sim::apps::resolve(&a.app, a.seed)?;
    let cfg = config(a)?;
    let f = footprint::estimate(spec.services.len(), spec.call_edges().len(), &cfg);
    check_footprint(f.streaming_bytes, f.output_bytes, a)?;
    let mut pol = policy::by_name(&a.policy, spec.services.len(), a.seed)?;
    tracing::info!(
        "simulating {} ({} services) for {} at {} ticks, {} workload, {} policy, seed {}: about {} rows, {} of files",
        spec.name,
        spec.services.len(),
        a.duration,
        a.tick,
        a.workload,
        a.policy,
        a.seed,
        f.rows,
        show_bytes(f.output_bytes)
    );
    let (base_rps, peak_rps) = cfg
        .rates
        .unwrap_or((spec.workload.base_rps, spec.workload.peak_rps));
    // The settings as given on the command line (`48h`, not `2d`).
    let record = |summary| RunRecord {
        app: a.app.clone(),
        workload: a.workload.clone(),
        duration: a.duration.clone(),
        interval: a.interval.clone(),
        tick: a.tick.clone(),
        policy: a.policy.clone(),
        seed: a.seed,
        noise: a.noise,
        gaps: a.gaps,
        base_rps,
        peak_rps,
        time_scale: a.time_scale,
        oracle: cfg.oracle.as_str().to_string(),
        holoscale_version: env!("CARGO_PKG_VERSION").to_string(),
        summary,
    };
    let format = match a.format {
        OutFormat::Parquet => RunFormat::Parquet,
        OutFormat::Csv => RunFormat::Csv,
    };
    let (summary, files) =
        rundir::simulate_into(&a.out, &spec, &cfg, &mut pol, record, format, &Bar::new())?;
    Ok(Ran {
        summary,
        files,
        steps: f.steps,
        services: spec.services.len(),
    })
}

pub fn run(a: SimulateArgs) -> Result<()> {
    let cfg = config(&a)?;
    // A policy name is known before anything is read.
    check_setting(policy::by_name(&a.policy, 0, 0).map(|_| ()))?;
    let inputs = inputs(&a, &cfg);
    let inputs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    ds::io::check_output_dir(&a.out, a.force, &rundir::RUN_DIR, &inputs)?;
    let ran = run_to(&a)?;
    let (s, files) = (ran.summary, ran.files);
    super::output::print(&format!(
        "simulated {} steps x {} services ({} columns)\nrequests {:.0}, failed {:.3}%, SLO violations {:.2}% of requests, {:.1} core-hours, {:.2} replicas per service on average\nwrote {}\n",
        ran.steps,
        ran.services,
        engine::COLUMNS.len(),
        s.requests,
        100.0 * s.failed_share,
        100.0 * s.slo_violation_share,
        s.core_hours,
        s.mean_replicas,
        files
            .all()
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ))
}
