//! `holoscale demo`: the main job on the embedded default.
//!
//! Today: simulate two days of the default application (Online Boutique, DeepScaler's
//! workload pattern, HPA collecting the data, 30 s telemetry), write telemetry, call edges,
//! ground truth and the app spec, read the telemetry back through the streaming Parquet
//! reader, validate it, and show what `holoscale inspect` shows.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use holoscale::datasets::io::{self, ReadOptions};
use holoscale::datasets::validate::{self, RepairPolicy};

use super::inspect::{render, summarize};
use super::logging::Bar;
use super::output::print;
use super::simulate::{OutFormat, SimulateArgs, run_to};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Directory for the demo's files (created if needed).
    #[arg(long, default_value = "holoscale-demo")]
    pub out: PathBuf,
    /// Simulated time.
    #[arg(long, default_value = "48h")]
    pub duration: String,
    /// Application to simulate.
    #[arg(long, default_value = "online-boutique")]
    pub app: String,
    /// Seed.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

pub fn run(args: DemoArgs) -> Result<()> {
    let sim_args = SimulateArgs {
        app: args.app.clone(),
        workload: "deepscaler".into(),
        duration: args.duration.clone(),
        interval: "30s".into(),
        tick: "1s".into(),
        policy: "hpa".into(),
        seed: args.seed,
        noise: 0.02,
        gaps: 0.001,
        rates: None,
        time_scale: 1.0,
        static_edges: false,
        out: args.out.clone(),
        format: OutFormat::Parquet,
    };
    let (out, files) = run_to(&sim_args)?;
    let mut tel = io::parquet::read_telemetry(&files[0], &ReadOptions::default(), &Bar::new())?;
    let report = validate::repair(&mut tel, &RepairPolicy::default()).into_result()?;
    let summary = summarize(&tel, report.problems);
    print(&render(&summary, false))?;
    let s = out.summary;
    print(&format!(
        "\nsimulated {} under HPA: {:.0} requests, {:.3}% failed, SLO violations {:.2}% of requests, {:.1} core-hours\nfiles: {}\n",
        args.app,
        s.requests,
        100.0 * s.failed_share,
        100.0 * s.slo_violation_share,
        s.core_hours,
        files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ))
}
