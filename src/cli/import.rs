//! `holoscale import prometheus ...`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::{Args, Subcommand};

use holoscale::datasets::io::{self, WriteOptions, prometheus};
use holoscale::datasets::{time, validate};

use super::convert::Target;
use super::logging::Bar;
use super::{RepairArgs, edges_path_for, log_report, usage};

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(subcommand)]
    source: ImportSource,
}

#[derive(Debug, Subcommand)]
enum ImportSource {
    /// Query a Prometheus server's HTTP API (Istio and cAdvisor metrics by default).
    Prometheus(PrometheusArgs),
}

#[derive(Debug, Args)]
pub struct PrometheusArgs {
    /// Base URL of the server, such as http://prometheus.istio-system:9090.
    #[arg(long)]
    pub url: String,
    /// Kubernetes namespace of the application ($ns in the templates).
    #[arg(long)]
    pub namespace: String,
    /// First sample (RFC 3339 or epoch ms).
    #[arg(long)]
    pub start: String,
    /// Last sample (RFC 3339 or epoch ms).
    #[arg(long)]
    pub end: String,
    /// Resolution (the telemetry interval).
    #[arg(long, default_value = "30s")]
    pub step: String,
    /// Rate window ($w in the templates).
    #[arg(long, default_value = prometheus::DEFAULT_WINDOW)]
    pub window: String,
    /// TOML file overriding the PromQL templates (see the README).
    #[arg(long, value_name = "FILE")]
    pub queries: Option<PathBuf>,
    /// Telemetry output (.parquet, .csv), or `-` for stdout with --to.
    #[arg(long, default_value = "telemetry.parquet")]
    pub out: PathBuf,
    /// Output format when writing to stdout.
    #[arg(long, value_enum)]
    pub to: Option<Target>,
    /// Call-edge output; default OUT-edges.parquet next to the telemetry.
    #[arg(long, value_name = "FILE")]
    pub edges: Option<PathBuf>,
    /// Skip the call-edge query.
    #[arg(long)]
    pub no_edges: bool,
    /// Replace existing output files.
    #[arg(long)]
    pub force: bool,
    /// Most memory the import may take (checked when the first query says how many
    /// services there are).
    #[arg(long, default_value = "8GiB", value_name = "BYTES")]
    pub memory_limit: String,
    /// Timeout of each HTTP request.
    #[arg(long, default_value = "60s")]
    pub timeout: String,
    #[command(flatten)]
    pub repair: RepairArgs,
}

pub fn run(args: ImportArgs) -> Result<()> {
    match args.source {
        ImportSource::Prometheus(p) => run_prometheus(p),
    }
}

fn run_prometheus(args: PrometheusArgs) -> Result<()> {
    let to_stdout = args.out.as_os_str() == "-";
    if to_stdout && args.to.is_none() {
        return Err(usage("writing to stdout needs --to csv or --to parquet"));
    }
    let queries_file: Vec<&std::path::Path> = args.queries.as_deref().into_iter().collect();
    if !to_stdout {
        super::refuse_given(
            &["to"],
            "applies only to `-` (standard output); the output's extension sets its format",
        )?;
        io::check_output_file(&args.out, args.force, &queries_file)?;
    }
    let edges_out = match (&args.edges, to_stdout) {
        (Some(p), _) => Some(p.clone()),
        (None, false) if !args.no_edges => Some(edges_path_for(&args.out)),
        _ => None,
    };
    if let Some(p) = &edges_out {
        let mut inputs = queries_file.clone();
        inputs.push(&args.out);
        io::check_output_file(p, args.force, &inputs)?;
    }
    let range = prometheus::Range::try_new(
        time::parse_timestamp(&args.start, "--start")?,
        time::parse_timestamp(&args.end, "--end")?,
        time::parse_duration_ms(&args.step, "--step")?,
    )?;
    let mut queries = match &args.queries {
        Some(p) => prometheus::Queries::from_file(p)?,
        None => prometheus::Queries::default(),
    };
    if args.no_edges {
        queries.edges = None;
    }
    let client = prometheus::Client::new(
        &args.url,
        Duration::from_millis(time::parse_duration_ms(&args.timeout, "--timeout")? as u64),
    );
    tracing::info!(
        "querying {} for namespace {} from {} to {} every {}",
        args.url,
        args.namespace,
        time::format_ms(range.start_ms),
        time::format_ms(range.end_ms),
        args.step
    );
    let imp = prometheus::import_bounded(
        &client,
        &queries,
        &args.namespace,
        &args.window,
        &range,
        Some(super::parse_bytes(&args.memory_limit, "--memory-limit")?),
        &Bar::new(),
    )?;
    for note in &imp.notes {
        tracing::warn!("{note}");
    }
    let mut tel = imp.telemetry;
    let report = validate::repair(&mut tel, &args.repair.policy());
    log_report(&report);
    report.into_result()?;
    let options = WriteOptions::default();
    if to_stdout {
        let out = std::io::stdout();
        match args.to.expect("checked above") {
            Target::Csv => io::csv::write_telemetry(&tel, out.lock(), &options)?,
            Target::Parquet => io::parquet::write_telemetry(&tel, out, &options)?,
        }
    } else {
        io::write_telemetry(&tel, &args.out, &options)?;
        tracing::info!(
            "wrote {} services x {} steps ({}) to {}",
            tel.services().len(),
            tel.len(),
            tel.columns().join(", "),
            args.out.display()
        );
    }
    if !imp.edges.is_empty() {
        if edges_out.is_none() {
            tracing::warn!(
                "call edges not written: give --edges FILE when telemetry goes to stdout"
            );
        }
        if let Some(path) = edges_out {
            io::write_edges(&imp.edges, &path)?;
            tracing::info!(
                "wrote {} call-edge rows to {}",
                imp.edges.len(),
                path.display()
            );
        }
    }
    Ok(())
}
