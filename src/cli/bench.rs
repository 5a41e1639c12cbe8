//! `holoscale bench ...`: speed measurements reported in BENCHMARKS.md.
//!
//! Each benchmark runs its work several times and reports the median wall time, so a single
//! slow run on a noisy machine does not decide the figure, plus the process's peak resident
//! memory (VmHWM).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use ndarray::Array3;
use rand::{RngExt, SeedableRng};
use serde::Serialize;

use holoscale::datasets::io::{self, NoProgress, ReadOptions, WriteOptions};
use holoscale::datasets::{Telemetry, schema, time};
use holoscale::sim;

use super::measure::{median, peak_rss_mib};
use super::output::print_json;

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    what: BenchCommand,
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Write a synthetic telemetry Parquet file of the given size (input for `bench read`).
    GenTelemetry(GenArgs),
    /// Read a telemetry Parquet file into the dense (T, N, F) array, several times.
    Read(ReadArgs),
    /// Simulate an application several times and report simulated service-steps per second.
    Simulate(SimBenchArgs),
    /// Train the estimator for a few epochs: training windows per second, test accuracy and
    /// one-decision latency (p50/p99); compare with `peers/stgcn_torch.py`.
    Train(Box<super::bench_estimator::TrainBenchArgs>),
    /// Run one scaler on a simulated application: simulated scaler-days per second of one
    /// run on one thread, and the time of one decision (p50/p99).
    Scale(super::bench_scale::ScaleBenchArgs),
    /// The KEDA server under a bounded GetMetrics load on loopback: latency p50/p99,
    /// errors, the server's CPU and memory, and the decision time per period.
    Serve(super::bench_serve::ServeBenchArgs),
}

#[derive(Debug, Args)]
pub struct SimBenchArgs {
    /// Application (`holoscale apps list`; `alibaba:N`).
    #[arg(long, default_value = "train-ticket")]
    app: String,
    /// Simulated time.
    #[arg(long, default_value = "7d")]
    duration: String,
    /// Tick.
    #[arg(long, default_value = "1s")]
    tick: String,
    /// Telemetry and decision interval.
    #[arg(long, default_value = "30s")]
    interval: String,
    /// Data-collection policy.
    #[arg(long, default_value = "hpa")]
    policy: String,
    /// Number of timed runs (the median is reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Seed.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Record one static row per call edge instead of one per interval.
    #[arg(long)]
    static_edges: bool,
}

#[derive(Debug, Args)]
pub struct GenArgs {
    /// Number of services.
    #[arg(long, default_value_t = 1000)]
    services: usize,
    /// Number of time steps.
    #[arg(long, default_value_t = 10_000)]
    steps: usize,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output Parquet file.
    #[arg(long)]
    out: PathBuf,
    /// Replace an existing output file.
    #[arg(long)]
    force: bool,
    /// Most memory the generation may take (estimated before it starts): the whole array is
    /// built in memory.
    #[arg(long, default_value = "8GiB", value_name = "BYTES")]
    memory_limit: String,
}

#[derive(Debug, Args)]
pub struct ReadArgs {
    /// Telemetry Parquet file.
    file: PathBuf,
    /// Number of timed runs (the median is reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
}

pub fn run(args: BenchArgs) -> Result<()> {
    match args.what {
        BenchCommand::GenTelemetry(a) => gen_telemetry(a),
        BenchCommand::Read(a) => read(a),
        BenchCommand::Simulate(a) => simulate(a),
        BenchCommand::Train(a) => super::bench_estimator::run(*a),
        BenchCommand::Scale(a) => super::bench_scale::run(a),
        BenchCommand::Serve(a) => super::bench_serve::run(a),
    }
}

/// The eight columns of the benchmark file.
const GEN_COLUMNS: [&str; 8] = [
    schema::REPLICAS,
    schema::CPU_CORES,
    schema::CPU_UTIL,
    schema::MEM_BYTES,
    schema::MEM_UTIL,
    schema::REQ_RATE,
    schema::LATENCY_MS,
    schema::ERRORS_RATE,
];

fn gen_telemetry(a: GenArgs) -> Result<()> {
    if a.services == 0 || a.steps == 0 {
        return Err(super::usage("--services and --steps must be at least 1"));
    }
    io::check_output_file(&a.out, a.force, &[])?;
    // The dense array (f64 and its mask) and the writer's buffers.
    let cells = (a.steps as u64).saturating_mul(a.services as u64);
    let need = cells
        .saturating_mul(GEN_COLUMNS.len() as u64 * 9)
        .saturating_add(sim::footprint::STREAM_BUFFER_BYTES);
    let limit = super::parse_bytes(&a.memory_limit, "--memory-limit")?;
    if need > limit {
        return Err(super::usage(format!(
            "{} steps x {} services need about {} of memory, more than --memory-limit {}; raise it or generate less",
            a.steps,
            a.services,
            super::show_bytes(need),
            a.memory_limit
        )));
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(a.seed);
    let (t_len, n_len) = (a.steps, a.services);
    let mut values = Array3::<f64>::zeros((t_len, n_len, GEN_COLUMNS.len()));
    for n in 0..n_len {
        let base: f64 = rng.random_range(5.0..200.0);
        let phase: f64 = rng.random_range(0.0..std::f64::consts::TAU);
        let cap: f64 = rng.random_range(20.0..60.0);
        for t in 0..t_len {
            let day = (t as f64 / 2880.0 * std::f64::consts::TAU + phase).sin();
            let rate = (base * (1.0 + 0.5 * day) * rng.random_range(0.9..1.1)).max(0.0);
            let replicas = (rate / cap).ceil().max(1.0);
            let util = rate / (replicas * cap);
            let row = [
                replicas,
                util * replicas * 0.5,
                util,
                replicas * 2.0e8 * (0.5 + 0.5 * util),
                0.5 + 0.5 * util,
                rate,
                10.0 / (1.0 - util.min(0.95)),
                rate * 0.001,
            ];
            for (c, v) in row.into_iter().enumerate() {
                values[[t, n, c]] = v;
            }
        }
    }
    let tel = Telemetry::try_new(
        a.out.display().to_string(),
        1_700_000_000_000,
        30_000,
        (0..n_len).map(|i| format!("svc-{i:04}")).collect(),
        GEN_COLUMNS.iter().map(|c| c.to_string()).collect(),
        values,
    )?;
    io::write_telemetry(&tel, &a.out, &WriteOptions::default())?;
    tracing::info!(
        "wrote {} rows ({} services x {} steps x {} columns) to {}",
        t_len * n_len,
        n_len,
        t_len,
        GEN_COLUMNS.len(),
        a.out.display()
    );
    Ok(())
}

#[derive(Serialize)]
struct ReadResult {
    file: String,
    rows: u64,
    services: usize,
    steps: usize,
    columns: usize,
    runs: usize,
    median_s: f64,
    min_s: f64,
    rows_per_s: f64,
    peak_rss_mib: Option<f64>,
}

fn read(a: ReadArgs) -> Result<()> {
    if a.runs == 0 {
        bail!("--runs must be at least 1");
    }
    let mut times = Vec::with_capacity(a.runs);
    let mut shape = (0, 0, 0);
    let mut rows = 0u64;
    for run in 0..a.runs {
        let start = Instant::now();
        let tel = io::parquet::read_telemetry(&a.file, &ReadOptions::default(), &NoProgress)?;
        let took = start.elapsed();
        shape = tel.values().dim();
        rows = (0..shape.0)
            .map(|t| (0..shape.1).filter(|&n| tel.row_observed(t, n)).count() as u64)
            .sum();
        tracing::info!("run {}/{}: {:.3} s", run + 1, a.runs, took.as_secs_f64());
        times.push(took);
        drop(tel);
    }
    let median = median(&mut times);
    print_json(&ReadResult {
        file: a.file.display().to_string(),
        rows,
        services: shape.1,
        steps: shape.0,
        columns: shape.2,
        runs: a.runs,
        median_s: median.as_secs_f64(),
        min_s: times[0].as_secs_f64(),
        rows_per_s: rows as f64 / median.as_secs_f64(),
        peak_rss_mib: peak_rss_mib(),
    })
}

#[derive(Serialize)]
struct SimResult {
    app: String,
    services: usize,
    duration: String,
    tick: String,
    ticks: u64,
    runs: usize,
    median_s: f64,
    min_s: f64,
    service_steps_per_s: f64,
    peak_rss_mib: Option<f64>,
}

fn simulate(a: SimBenchArgs) -> Result<()> {
    use holoscale::sim::policy;
    if a.runs == 0 {
        bail!("--runs must be at least 1");
    }
    let spec = sim::apps::resolve(&a.app, a.seed)?;
    let cfg = sim::SimConfig {
        tick_ms: time::parse_duration_ms(&a.tick, "--tick")?,
        interval_ms: time::parse_duration_ms(&a.interval, "--interval")?,
        duration_ms: time::parse_duration_ms(&a.duration, "--duration")?,
        seed: a.seed,
        edges: if a.static_edges {
            sim::EdgeRows::Total
        } else {
            sim::EdgeRows::PerInterval
        },
        ..sim::SimConfig::default()
    };
    let ticks = (cfg.duration_ms / cfg.interval_ms * (cfg.interval_ms / cfg.tick_ms)) as u64;
    let mut times = Vec::with_capacity(a.runs);
    for run in 0..a.runs {
        let mut pol = policy::by_name(&a.policy, spec.services.len(), a.seed)?;
        let start = Instant::now();
        let out = sim::simulate(&spec, &cfg, &mut pol, &NoProgress)?;
        let took = start.elapsed();
        tracing::info!(
            "run {}/{}: {:.3} s ({} rows)",
            run + 1,
            a.runs,
            took.as_secs_f64(),
            out.telemetry.len() * spec.services.len()
        );
        times.push(took);
    }
    let median = median(&mut times);
    print_json(&SimResult {
        app: spec.name.clone(),
        services: spec.services.len(),
        duration: a.duration,
        tick: a.tick,
        ticks,
        runs: a.runs,
        median_s: median.as_secs_f64(),
        min_s: times[0].as_secs_f64(),
        service_steps_per_s: (ticks * spec.services.len() as u64) as f64 / median.as_secs_f64(),
        peak_rss_mib: peak_rss_mib(),
    })
}
