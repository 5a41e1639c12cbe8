//! Command-line parsing and dispatch.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Args, Parser, Subcommand, ValueEnum};

use holoscale::datasets::validate::{
    Duplicates, Irregular, LongGaps, PartialCoverage, RepairPolicy,
};
use holoscale::datasets::{self as ds, time};

mod apps;
mod bench;
mod bench_estimator;
mod bench_scale;
mod bench_serve;
mod convert;
mod demo;
pub mod device;
mod estimate;
mod flags;
mod graph;
mod import;
mod inspect;
pub mod logging;
mod measure;
mod output;
mod report;
mod scale;
mod scale_report;
mod serve;
mod simulate;
mod train;

/// holoscale: learn service dependencies, estimate replicas and scale microservices from
/// telemetry.
#[derive(Debug, Parser)]
#[command(name = "holoscale", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// Flags every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Only warnings and errors on stderr; no progress bars.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// More log detail (-v debug, -vv trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per run
enum Command {
    /// Run the main job on the embedded default data and show the result.
    Demo(demo::DemoArgs),
    /// Show services, time range, interval, gaps, column statistics and problems of a
    /// telemetry or call-edge file.
    Inspect(inspect::InspectArgs),
    /// Convert telemetry between Parquet, CSV and .npz, or an Alibaba trace directory to
    /// Parquet. The format comes from the file extension.
    Convert(convert::ConvertArgs),
    /// Import telemetry and call edges from an external system.
    Import(import::ImportArgs),
    /// Train the replica estimator (or a baseline network) on telemetry.
    Train(train::TrainArgs),
    /// Predict with a trained model: the next step, or every window of a file.
    Predict(estimate::PredictArgs),
    /// Evaluate a trained model and the baselines on the test range.
    Evaluate(estimate::EvaluateArgs),
    /// Show a model's learned dependencies, or compare two graphs (Jaccard, F1).
    Graph(graph::GraphArgs),
    /// Write figures and a self-contained HTML report of a model on telemetry.
    Report(report::ReportArgs),
    /// The built-in benchmark applications.
    Apps(apps::AppsArgs),
    /// Simulate an application on a cluster: telemetry, call edges, ground truth.
    Simulate(simulate::SimulateArgs),
    /// Run autoscalers on a simulated application and compare them (violations, cost).
    Scale(scale::ScaleArgs),
    /// Measure holoscale's speed (see BENCHMARKS.md).
    Bench(bench::BenchArgs),
    /// Serve replica recommendations to KEDA (an external scaler over gRPC), fed by
    /// Prometheus or pushed telemetry.
    Serve(serve::ServeArgs),
}

/// The flags given on the command line (not defaults) of the command being run, by their
/// argument id (the field name: `epochs`, `em_iterations`).
static GIVEN: std::sync::OnceLock<std::collections::BTreeSet<String>> = std::sync::OnceLock::new();

/// Notes which flags of the leaf subcommand were given, for [`given`].
pub fn remember_given(matches: &clap::ArgMatches) {
    let mut m = matches;
    while let Some((_, sub)) = m.subcommand() {
        m = sub;
    }
    let ids = m
        .ids()
        .filter(|id| {
            matches!(
                m.value_source(id.as_str()),
                Some(
                    clap::parser::ValueSource::CommandLine | clap::parser::ValueSource::EnvVariable
                )
            )
        })
        .map(|id| id.as_str().to_string())
        .collect();
    let _ = GIVEN.set(ids);
}

/// Whether the flag with argument id `id` was given on the command line.
pub fn given(id: &str) -> bool {
    GIVEN.get().is_some_and(|g| g.contains(id))
}

/// A command line the command refuses before doing anything: exit code 2, as clap's own
/// usage errors.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// A usage error with this message.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    UsageError(message.into()).into()
}

/// Refuses the flags of `ids` that were given, saying why they do not apply.
pub fn refuse_given(ids: &[&str], why: &str) -> Result<()> {
    let given: Vec<String> = ids
        .iter()
        .filter(|id| given(id))
        .map(|id| format!("--{}", id.replace('_', "-")))
        .collect();
    if given.is_empty() {
        return Ok(());
    }
    Err(usage(format!("{}: {why}", given.join(", "))))
}

/// Whether an error is a usage error ([`UsageError`], or a library setting out of range
/// that the command checked before reading data).
pub fn is_usage_error(err: &anyhow::Error) -> bool {
    err.chain().any(|e| e.is::<UsageError>())
}

/// Checks settings before anything runs: a library's refusal of a setting is a usage error.
pub fn check_setting<E: std::fmt::Display>(r: std::result::Result<(), E>) -> Result<()> {
    r.map_err(|e| usage(flags::cli_text(&e.to_string())))
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Demo(a) => demo::run(a),
        Command::Inspect(a) => inspect::run(a),
        Command::Convert(a) => convert::run(a),
        Command::Import(a) => import::run(a),
        Command::Train(a) => train::run(a),
        Command::Predict(a) => estimate::predict(a),
        Command::Evaluate(a) => estimate::evaluate_cmd(a),
        Command::Graph(a) => graph::run(a),
        Command::Report(a) => report::run(a),
        Command::Apps(a) => apps::run(a),
        Command::Simulate(a) => simulate::run(a),
        Command::Scale(a) => scale::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Serve(a) => serve::run(a),
    }
}

/// How to repair telemetry (shared by every command that reads it).
#[derive(Debug, Clone, Args)]
pub struct RepairArgs {
    /// Longest gap, in steps, closed by forward fill.
    #[arg(long, default_value_t = ds::validate::DEFAULT_MAX_FILL, value_name = "STEPS")]
    pub max_fill: usize,
    /// Gaps longer than --max-fill: refuse the data, or leave them missing.
    #[arg(long, value_enum, default_value_t = LongGapsArg::Error)]
    pub long_gaps: LongGapsArg,
    /// Services present in some steps only: leave the rest missing, drop them, trim the time
    /// range to the common steps, or refuse.
    #[arg(long, value_enum, default_value_t = PartialArg::Leave)]
    pub partial: PartialArg,
    /// Rows repeating a (timestamp, service): keep their mean, or refuse.
    #[arg(long, value_enum, default_value_t = StrictArg::Repair)]
    pub duplicates: StrictArg,
    /// Timestamps off the interval grid: resample to the nearest step, or refuse.
    #[arg(long, value_enum, default_value_t = StrictArg::Repair)]
    pub irregular: StrictArg,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LongGapsArg {
    Error,
    Leave,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PartialArg {
    Leave,
    Drop,
    Trim,
    Error,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StrictArg {
    Repair,
    Error,
}

impl Default for RepairArgs {
    /// The flags' defaults.
    fn default() -> Self {
        RepairArgs {
            max_fill: ds::validate::DEFAULT_MAX_FILL,
            long_gaps: LongGapsArg::Error,
            partial: PartialArg::Leave,
            duplicates: StrictArg::Repair,
            irregular: StrictArg::Repair,
        }
    }
}

impl RepairArgs {
    pub fn policy(&self) -> RepairPolicy {
        RepairPolicy::default()
            .with_max_fill(self.max_fill)
            .with_long_gaps(match self.long_gaps {
                LongGapsArg::Error => LongGaps::Error,
                LongGapsArg::Leave => LongGaps::Leave,
            })
            .with_partial(match self.partial {
                PartialArg::Leave => PartialCoverage::Leave,
                PartialArg::Drop => PartialCoverage::Drop,
                PartialArg::Trim => PartialCoverage::Trim,
                PartialArg::Error => PartialCoverage::Error,
            })
            .with_duplicates(match self.duplicates {
                StrictArg::Repair => Duplicates::Mean,
                StrictArg::Error => Duplicates::Error,
            })
            .with_irregular(match self.irregular {
                StrictArg::Repair => Irregular::Resample,
                StrictArg::Error => Irregular::Error,
            })
    }
}

/// How to read an input file: its sampling interval, and for `.npz` arrays the names and
/// times that the array does not carry.
#[derive(Debug, Clone, Default, Args)]
pub struct InputArgs {
    /// Sampling interval (30s, 1m, ...); from the file's metadata or inferred when absent.
    #[arg(long, value_name = "DURATION")]
    pub interval: Option<String>,
    /// .npz: feature names of the array's last axis, comma-separated.
    #[arg(long, value_name = "COL,...")]
    pub features: Option<String>,
    /// .npz: service names of the array's middle axis, comma-separated.
    #[arg(long, value_name = "NAME,...")]
    pub services: Option<String>,
    /// .npz and Alibaba traces: time of the first step (RFC 3339 or epoch ms).
    #[arg(long, value_name = "TIME")]
    pub start: Option<String>,
    /// .npz: name of the (T, N, F) array in the archive (default `data`).
    #[arg(long, value_name = "NAME")]
    pub array: Option<String>,
    /// Unit of integer timestamps: auto (epoch seconds when their magnitude says so, else
    /// milliseconds), ms or s.
    #[arg(long, value_enum, default_value_t = TimestampUnitArg::Auto)]
    pub timestamp_unit: TimestampUnitArg,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum TimestampUnitArg {
    #[default]
    Auto,
    Ms,
    S,
}

impl InputArgs {
    pub fn interval_ms(&self) -> Result<Option<i64>> {
        self.interval
            .as_deref()
            .map(|i| time::parse_duration_ms(i, "--interval"))
            .transpose()
            .map_err(Into::into)
    }

    pub fn start_ms(&self) -> Result<Option<i64>> {
        self.start
            .as_deref()
            .map(|s| time::parse_timestamp(s, "--start"))
            .transpose()
            .map_err(Into::into)
    }

    pub fn npz_layout(&self) -> Result<ds::io::npz::NpzLayout> {
        Ok(ds::io::npz::NpzLayout {
            features: self.features.as_deref().map(split_list),
            services: self.services.as_deref().map(split_list),
            start_ms: self.start_ms()?,
            interval_ms: self.interval_ms()?,
            array: self.array.clone(),
        })
    }

    /// Reads telemetry from any supported file, with a progress bar.
    pub fn read(&self, path: &Path) -> Result<ds::Telemetry> {
        let tel = match ds::io::Format::from_path(path)? {
            ds::io::Format::Npz => ds::io::npz::read_telemetry(path, &self.npz_layout()?)?,
            _ => {
                let opts = ds::io::ReadOptions {
                    interval_ms: self.interval_ms()?,
                    timestamp_unit: match self.timestamp_unit {
                        TimestampUnitArg::Auto => ds::io::TimestampUnit::Auto,
                        TimestampUnitArg::Ms => ds::io::TimestampUnit::Milliseconds,
                        TimestampUnitArg::S => ds::io::TimestampUnit::Seconds,
                    },
                    ..Default::default()
                };
                ds::io::read_telemetry(path, &opts, &logging::Bar::new())?
            }
        };
        Ok(tel)
    }
}

/// Telemetry input shared by the commands that read one file.
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
    /// A file read with the default flags.
    pub fn of(path: &Path) -> TelemetryArgs {
        TelemetryArgs {
            telemetry: path.to_path_buf(),
            repair: RepairArgs::default(),
            input: InputArgs::default(),
        }
    }

    /// Reads, validates and repairs the telemetry, logging what validation found.
    pub fn load(&self) -> Result<ds::Telemetry> {
        let mut tel = self.input.read(&self.telemetry)?;
        let report = ds::validate::repair(&mut tel, &self.repair.policy());
        log_report(&report);
        report.into_result()?;
        Ok(tel)
    }
}

/// Logs what validation found: repairs, warnings and refusals at warn level (so `-q` still
/// shows what was changed), a few per kind; constant series, common and harmless (a CPU
/// limit that never changes), as one summary line at info level. A report identical to one
/// already logged by this process is logged once, then at debug level.
pub fn log_report(report: &ds::Report) {
    use ds::validate::Severity;
    use std::hash::{Hash, Hasher};
    static SEEN: std::sync::Mutex<Vec<u64>> = std::sync::Mutex::new(Vec::new());
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for p in &report.problems {
        p.to_string().hash(&mut h);
    }
    let key = h.finish();
    {
        let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
        if seen.contains(&key) {
            tracing::debug!(
                "validation found the same {} problems as before",
                report.problems.len()
            );
            return;
        }
        seen.push(key);
    }
    use ds::validate::ProblemKind;
    let constant: Vec<_> = report
        .problems
        .iter()
        .filter(|p| p.kind == ProblemKind::ConstantSeries && p.severity == Severity::Warning)
        .collect();
    if !constant.is_empty() {
        // Per column, how many services never change it.
        let mut per_column: Vec<(String, usize)> = Vec::new();
        for p in &constant {
            let c = p.column.clone().unwrap_or_default();
            match per_column.iter_mut().find(|(x, _)| *x == c) {
                Some(e) => e.1 += 1,
                None => per_column.push((c, 1)),
            }
        }
        let list: Vec<String> = per_column
            .iter()
            .map(|(c, k)| format!("{c} ({k} service{})", if *k == 1 { "" } else { "s" }))
            .collect();
        tracing::info!(
            "{}: {} constant series carry no information for a model: {} (holoscale inspect --all lists them)",
            report.file,
            constant.len(),
            list.join(", ")
        );
    }
    let mut kinds: Vec<_> = report
        .problems
        .iter()
        .filter(|p| p.kind != ProblemKind::ConstantSeries || p.severity != Severity::Warning)
        .map(|p| p.kind)
        .collect();
    kinds.sort();
    kinds.dedup();
    for kind in kinds {
        let of_kind: Vec<_> = report.problems.iter().filter(|p| p.kind == kind).collect();
        for p in of_kind.iter().take(3) {
            tracing::warn!("{}", flags::cli_text(&p.to_string()));
        }
        if of_kind.len() > 3 {
            tracing::warn!(
                "... and {} more {} (holoscale inspect --all lists them)",
                of_kind.len() - 3,
                kind.label()
            );
        }
    }
}

/// A size in bytes as users write it: `512MB`, `8GiB`, `2G`, `1000` (bytes); decimal units
/// (kB, MB, GB, TB) are powers of 1000, binary ones (KiB, MiB, GiB, TiB) and bare K, M, G, T
/// powers of 1024.
pub fn parse_bytes(text: &str, flag: &str) -> Result<u64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num.parse().map_err(|_| {
        usage(format!(
            "{flag} `{text}`: expected a size such as 8GiB or 500MB"
        ))
    })?;
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        "k" | "kib" => 1024.0,
        "m" | "mib" => 1024f64.powi(2),
        "g" | "gib" => 1024f64.powi(3),
        "t" | "tib" => 1024f64.powi(4),
        other => {
            return Err(usage(format!(
                "{flag} `{text}`: unknown unit `{other}`; use B, kB, MB, GB, TB, KiB, MiB, GiB or TiB"
            )));
        }
    };
    let bytes = value * factor;
    if !(bytes.is_finite() && bytes >= 0.0) {
        return Err(usage(format!("{flag} `{text}`: not a size")));
    }
    Ok(bytes.min(u64::MAX as f64) as u64)
}

/// A size in bytes, compactly (`1.5 GiB`).
pub fn show_bytes(bytes: u64) -> String {
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64 / 1024.0;
    let mut unit = "KiB";
    for next in ["MiB", "GiB", "TiB"] {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = next;
    }
    format!("{v:.1} {unit}")
}

/// Splits `a,b,c` lists, trimming blanks.
pub fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// `dir/name-edges.ext` next to a telemetry output path.
pub fn edges_path_for(out: &Path) -> PathBuf {
    let stem = out
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("telemetry");
    let ext = out
        .extension()
        .and_then(|s| s.to_str())
        .unwrap_or("parquet");
    out.with_file_name(format!("{stem}-edges.{ext}"))
}
