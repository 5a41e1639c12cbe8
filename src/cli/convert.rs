//! `holoscale convert IN OUT`.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use clap::{Args, ValueEnum};
use holoscale::datasets as ds;

use holoscale::datasets::io::{self, Content, Format, WriteOptions};
use holoscale::datasets::{Telemetry, validate};

use super::logging::Bar;
use super::{InputArgs, RepairArgs, edges_path_for, log_report, refuse_given, split_list, usage};

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// Input: a telemetry or call-edge file (.parquet, .csv, .npz), or with --from alibaba a
    /// directory of the trace's CSV files.
    pub input: PathBuf,
    /// Output file (.parquet, .csv, .npz), or `-` for stdout (with --to).
    pub output: PathBuf,
    /// Read the input as another system's data.
    #[arg(long, value_enum)]
    pub from: Option<Source>,
    /// Output format when writing to stdout.
    #[arg(long, value_enum)]
    pub to: Option<Target>,
    /// Where to write call edges found in the input (Alibaba CallGraph); default
    /// OUT-edges.parquet next to the output.
    #[arg(long, value_name = "FILE")]
    pub edges: Option<PathBuf>,
    /// Keep only these numeric columns, in this order.
    #[arg(long, value_name = "COL,...")]
    pub columns: Option<String>,
    /// Write every (timestamp, service) row with repaired values instead of only what was
    /// observed (the mask is then lost).
    #[arg(long)]
    pub filled: bool,
    /// Replace existing output files.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub repair: RepairArgs,
    #[command(flatten)]
    pub input_args: InputArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Source {
    /// Alibaba cluster-trace-microservices-v2022 CSVs (MSMetricsUpdate, MCRRTUpdate, CallGraph).
    Alibaba,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Target {
    Csv,
    Parquet,
}

pub fn run(args: ConvertArgs) -> Result<()> {
    let to_stdout = args.output.as_os_str() == "-";
    if to_stdout && args.to.is_none() {
        return Err(usage("writing to stdout needs --to csv or --to parquet"));
    }
    if args.from.is_none() {
        refuse_given(
            &["edges"],
            "applies only with --from alibaba (whose CallGraph gives call edges)",
        )?;
    }
    if !to_stdout {
        Format::from_path(&args.output)?;
        refuse_given(
            &["to"],
            "applies only to `-` (standard output); the output's extension sets its format",
        )?;
        ds::io::check_output_file(&args.output, args.force, &[&args.input])?;
    }
    if args.from.is_some() && !to_stdout {
        let edges = args
            .edges
            .clone()
            .unwrap_or_else(|| edges_path_for(&args.output));
        ds::io::check_output_file(&edges, args.force, &[&args.input, &args.output])?;
    } else if let Some(edges) = &args.edges {
        ds::io::check_output_file(edges, args.force, &[&args.input])?;
    }
    let options = WriteOptions::default().with_filled(args.filled);

    let mut tel = match args.from {
        Some(Source::Alibaba) => {
            let opts = io::alibaba::Options {
                interval_ms: args
                    .input_args
                    .interval_ms()?
                    .unwrap_or(io::alibaba::DEFAULT_INTERVAL_MS),
                start_ms: args.input_args.start_ms()?.unwrap_or(0),
            };
            let imp = io::alibaba::read_dir(&args.input, &opts, &Bar::new())?;
            for (path, table) in &imp.files {
                tracing::info!("read {} as {table:?}", path.display());
            }
            for note in &imp.notes {
                tracing::warn!("{note}");
            }
            if !imp.edges.is_empty() {
                let path = match (&args.edges, to_stdout) {
                    (Some(p), _) => p.clone(),
                    (None, false) => edges_path_for(&args.output),
                    (None, true) => bail!(
                        "the trace has call edges: give --edges FILE when writing telemetry to stdout"
                    ),
                };
                io::write_edges(&imp.edges, &path)?;
                tracing::info!(
                    "wrote {} call-edge rows to {}",
                    imp.edges.len(),
                    path.display()
                );
            }
            imp.telemetry
        }
        None => {
            if Format::from_path(&args.input)? != Format::Npz
                && io::sniff(&args.input)? == Content::Edges
            {
                let edges = io::read_edges(&args.input)?;
                if to_stdout {
                    let out = std::io::stdout();
                    match args.to.expect("checked above") {
                        Target::Csv => io::csv::write_edges(&edges, out.lock())?,
                        Target::Parquet => io::parquet::write_edges(&edges, out)?,
                    }
                } else {
                    io::write_edges(&edges, &args.output)?;
                    tracing::info!(
                        "wrote {} call-edge rows to {}",
                        edges.len(),
                        args.output.display()
                    );
                }
                return Ok(());
            }
            args.input_args.read(&args.input)?
        }
    };
    if let Some(cols) = &args.columns {
        tel = tel.select_columns(&split_list(cols))?;
    }
    let report = validate::repair(&mut tel, &args.repair.policy());
    log_report(&report);
    report.into_result()?;
    write(&tel, &args, to_stdout, &options)
}

fn write(
    tel: &Telemetry,
    args: &ConvertArgs,
    to_stdout: bool,
    options: &WriteOptions,
) -> Result<()> {
    if to_stdout {
        let out = std::io::stdout();
        match args.to.expect("checked by run") {
            Target::Csv => io::csv::write_telemetry(tel, out.lock(), options)?,
            Target::Parquet => io::parquet::write_telemetry(tel, out, options)?,
        }
        return Ok(());
    }
    io::write_telemetry(tel, &args.output, options)
        .with_context(|| format!("converting {} failed", args.input.display()))?;
    tracing::info!(
        "wrote {} services x {} steps x {} columns to {}",
        tel.services().len(),
        tel.len(),
        tel.columns().len(),
        args.output.display()
    );
    Ok(())
}
