//! `holoscale demo`: the main job on embedded data.
//!
//! The embedded default is three hours of Bookinfo telemetry driven by the NASA-HTTP 1995
//! trace (`tests/data/bookinfo-sample.csv`, built by `tests/data/make_bookinfo_sample.py`),
//! with a few planted data problems. The demo validates and repairs it, converts it to
//! Parquet, reads the Parquet back through the streaming reader, and prints what
//! `holoscale inspect` shows.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use holoscale::datasets::io::{self, ReadOptions, WriteOptions};
use holoscale::datasets::validate::{self, RepairPolicy};

use super::inspect::{render, summarize};
use super::logging::Bar;
use super::output::print;

/// The embedded telemetry.
const SAMPLE: &str = include_str!("../../tests/data/bookinfo-sample.csv");

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Directory for the demo's files (created if needed).
    #[arg(long, default_value = "holoscale-demo")]
    pub out: PathBuf,
}

pub fn run(args: DemoArgs) -> Result<()> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let csv_path = args.out.join("bookinfo-sample.csv");
    io::write_atomic(&csv_path, |w| {
        use std::io::Write;
        w.write_all(SAMPLE.as_bytes())
            .map_err(|e| holoscale::datasets::Error::Io {
                path: csv_path.clone(),
                action: "write",
                source: e,
            })
    })?;
    tracing::info!(
        "embedded Bookinfo telemetry written to {}",
        csv_path.display()
    );

    let mut tel = io::csv::read_telemetry(&csv_path, &ReadOptions::default(), &Bar::new())?;
    let report = validate::repair(&mut tel, &RepairPolicy::default()).into_result()?;

    let parquet_path = args.out.join("telemetry.parquet");
    io::write_telemetry(&tel, &parquet_path, &WriteOptions::default())?;
    tracing::info!("converted to {}", parquet_path.display());

    // Read the Parquet file back through the streaming reader: the same telemetry, with the
    // repaired values recomputed from what was observed.
    let mut back =
        io::parquet::read_telemetry(&parquet_path, &ReadOptions::default(), &Bar::new())?;
    validate::repair(&mut back, &RepairPolicy::default()).into_result()?;
    anyhow::ensure!(
        values_match(&back, &tel) && back.observed() == tel.observed(),
        "the Parquet round trip changed the data"
    );
    let summary = summarize(&tel, report.problems);
    print(&render(&summary, false))?;
    print(&format!(
        "\nwrote {}/telemetry.parquet (validated, read back identical); input kept as {}\n",
        args.out.display(),
        csv_path.display()
    ))
}

/// Equality with NaN treated as equal to NaN.
fn values_match(a: &holoscale::datasets::Telemetry, b: &holoscale::datasets::Telemetry) -> bool {
    a.values().dim() == b.values().dim()
        && a.values()
            .iter()
            .zip(b.values())
            .all(|(x, y)| x == y || (x.is_nan() && y.is_nan()))
}
