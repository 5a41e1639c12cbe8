//! `holoscale simulate`: telemetry, call edges and ground truth from the simulator.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use serde::Serialize;

use holoscale::datasets::io::{self, WriteOptions};
use holoscale::datasets::sim::{self, Pattern, SimConfig, engine, policy};
use holoscale::datasets::time;

use super::logging::Bar;

#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// A built-in application (`holoscale apps list`; `alibaba:N`) or a TOML spec file.
    #[arg(long, default_value = "online-boutique")]
    pub app: String,
    /// Workload: deepscaler, diurnal, bursts, mix-shift, constant, trace:FILE, or an embedded
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

impl OutFormat {
    fn ext(self) -> &'static str {
        match self {
            OutFormat::Parquet => "parquet",
            OutFormat::Csv => "csv",
        }
    }
}

/// The settings of a run, written next to its outputs.
#[derive(Debug, Serialize)]
struct RunRecord<'a> {
    app: &'a str,
    workload: &'a str,
    duration: &'a str,
    interval: &'a str,
    tick: &'a str,
    policy: &'a str,
    seed: u64,
    noise: f64,
    gaps: f64,
    base_rps: f64,
    peak_rps: f64,
    time_scale: f64,
    oracle: &'a str,
    holoscale_version: &'a str,
    summary: sim::Summary,
}

/// Parses the arguments into a simulator configuration.
pub fn config(a: &SimulateArgs) -> Result<SimConfig> {
    let mut pattern = Pattern::parse(&a.workload)?;
    if let Pattern::Trace { time_scale, .. } = &mut pattern {
        *time_scale = a.time_scale;
    }
    let rates = match &a.rates {
        Some(r) => {
            let parts: Vec<f64> = r
                .split(',')
                .map(|x| x.trim().parse::<f64>())
                .collect::<Result<_, _>>()
                .with_context(|| format!("--rates `{r}`: expected two numbers BASE,PEAK"))?;
            let [lo, hi] = parts[..] else {
                bail!("--rates `{r}`: expected two numbers BASE,PEAK");
            };
            Some((lo, hi))
        }
        None => None,
    };
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
    cfg.check()?;
    Ok(cfg)
}

/// Runs a simulation and writes its outputs; returns the output directory's files.
pub fn run_to(a: &SimulateArgs) -> Result<(sim::Output, Vec<PathBuf>)> {
    let spec = super::apps::load(&a.app, a.seed)?;
    let cfg = config(a)?;
    let mut pol = policy::by_name(&a.policy, spec.services.len(), a.seed).with_context(|| {
        format!(
            "--policy `{}`: choose one of {}",
            a.policy,
            policy::POLICIES.join(", ")
        )
    })?;
    tracing::info!(
        "simulating {} ({} services) for {} at {} ticks, {} workload, {} policy, seed {}",
        spec.name,
        spec.services.len(),
        a.duration,
        a.tick,
        a.workload,
        a.policy,
        a.seed
    );
    let out = sim::simulate(&spec, &cfg, pol.as_mut(), &Bar::new())?;
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("cannot create {}", a.out.display()))?;
    let ext = a.format.ext();
    let path = |name: &str| a.out.join(format!("{name}.{ext}"));
    let files = vec![
        path("telemetry"),
        path("edges"),
        path("truth"),
        a.out.join("app.toml"),
        a.out.join("run.json"),
    ];
    io::write_telemetry(&out.telemetry, &files[0], &WriteOptions::default())?;
    io::write_edges(&out.edges, &files[1])?;
    out.truth.write_file(&files[2])?;
    write_text(&files[3], &spec.to_toml())?;
    let (base, peak) = cfg
        .rates
        .unwrap_or((spec.workload.base_rps, spec.workload.peak_rps));
    let record = RunRecord {
        app: &a.app,
        workload: &a.workload,
        duration: &a.duration,
        interval: &a.interval,
        tick: &a.tick,
        policy: &a.policy,
        seed: a.seed,
        noise: a.noise,
        gaps: a.gaps,
        base_rps: base,
        peak_rps: peak,
        time_scale: a.time_scale,
        oracle: cfg.oracle.as_str(),
        holoscale_version: env!("CARGO_PKG_VERSION"),
        summary: out.summary,
    };
    write_text(&files[4], &serde_json::to_string_pretty(&record)?)?;
    Ok((out, files))
}

fn write_text(path: &Path, text: &str) -> Result<()> {
    io::write_atomic(path, |w| {
        use std::io::Write;
        w.write_all(text.as_bytes())
            .map_err(|e| holoscale::datasets::Error::Io {
                path: path.to_path_buf(),
                action: "write",
                source: e,
            })
    })?;
    Ok(())
}

pub fn run(a: SimulateArgs) -> Result<()> {
    let (out, files) = run_to(&a)?;
    let s = out.summary;
    super::output::print(&format!(
        "simulated {} steps x {} services ({} columns)\nrequests {:.0}, failed {:.3}%, SLO violations {:.2}% of requests, {:.1} core-hours, {:.2} replicas per service on average\nwrote {}\n",
        out.telemetry.len(),
        out.telemetry.services().len(),
        engine::COLUMNS.len(),
        s.requests,
        100.0 * s.failed_share,
        100.0 * s.slo_violation_share,
        s.core_hours,
        s.mean_replicas,
        files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ))
}
