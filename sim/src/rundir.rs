//! A simulation run on disk: the directory `holoscale simulate` writes.
//!
//! `telemetry.{parquet,csv}` (SPEC 2.1), `edges.{parquet,csv}` (2.2), `truth.{parquet,csv}`
//! (the ground truth), `app.toml` (the spec simulated, readable by
//! [`AppSpec::from_file`]) and `run.json` ([`RunRecord`]: every setting and the run's
//! totals). Each file is written to a temporary file and renamed into place.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::engine::SimConfig;
use crate::error::{Error, Result};
use crate::record::{Output, Summary};
use crate::spec::AppSpec;
use crate::workload::Pattern;
use holoscale_datasets::io::{self, DirManifest, WriteOptions};
use holoscale_datasets::time::format_duration_ms;

/// What holoscale writes into a run directory (in either format), signed by `run.json`.
pub static RUN_DIR: DirManifest = DirManifest {
    what: "simulation run directory",
    files: &[
        "telemetry.parquet",
        "telemetry.csv",
        "edges.parquet",
        "edges.csv",
        "truth.parquet",
        "truth.csv",
        "app.toml",
        "run.json",
    ],
    suffixes: &[],
    dirs: &[],
    signature: Some(("run.json", "\"holoscale_version\"")),
};

/// File format of a run directory's tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RunFormat {
    /// Parquet (the default).
    #[default]
    Parquet,
    /// CSV.
    Csv,
}

impl RunFormat {
    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            RunFormat::Parquet => "parquet",
            RunFormat::Csv => "csv",
        }
    }
}

/// `run.json`: the settings of a run, as given, and its totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The application: a built-in name or a spec file.
    pub app: String,
    /// The workload pattern.
    pub workload: String,
    /// Simulated time.
    pub duration: String,
    /// Telemetry and decision interval.
    pub interval: String,
    /// Simulation tick.
    pub tick: String,
    /// The data-collection policy.
    pub policy: String,
    /// Seed of every random choice.
    pub seed: u64,
    /// Relative measurement noise.
    pub noise: f64,
    /// Probability that a row is not scraped.
    pub gaps: f64,
    /// Low request rate, requests/s.
    pub base_rps: f64,
    /// Peak request rate, requests/s.
    pub peak_rps: f64,
    /// Trace replay speed.
    pub time_scale: f64,
    /// How the `optimal_replicas` label was computed.
    pub oracle: String,
    /// Version of holoscale that ran the simulation.
    pub holoscale_version: String,
    /// Totals of the run.
    pub summary: Summary,
}

impl RunRecord {
    /// The record of a run of `spec` (named `app`) with `cfg` under the policy `policy`,
    /// durations written compactly (`48h`, `30s`).
    pub fn new(app: &str, spec: &AppSpec, cfg: &SimConfig, policy: &str, summary: Summary) -> Self {
        let (base_rps, peak_rps) = cfg
            .rates
            .unwrap_or((spec.workload.base_rps, spec.workload.peak_rps));
        RunRecord {
            app: app.to_string(),
            workload: cfg.pattern.name(),
            duration: format_duration_ms(cfg.duration_ms),
            interval: format_duration_ms(cfg.interval_ms),
            tick: format_duration_ms(cfg.tick_ms),
            policy: policy.to_string(),
            seed: cfg.seed,
            noise: cfg.noise,
            gaps: cfg.gap_prob,
            base_rps,
            peak_rps,
            time_scale: match &cfg.pattern {
                Pattern::Trace { time_scale, .. } => *time_scale,
                _ => 1.0,
            },
            oracle: cfg.oracle.as_str().to_string(),
            holoscale_version: env!("CARGO_PKG_VERSION").to_string(),
            summary,
        }
    }
}

/// The files of a run directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFiles {
    /// `telemetry.parquet` (or `.csv`).
    pub telemetry: PathBuf,
    /// `edges.parquet` (or `.csv`).
    pub edges: PathBuf,
    /// `truth.parquet` (or `.csv`).
    pub truth: PathBuf,
    /// `app.toml`.
    pub app: PathBuf,
    /// `run.json`.
    pub run: PathBuf,
}

impl RunFiles {
    /// The paths of a run directory `dir` in `format`.
    pub fn in_dir(dir: &Path, format: RunFormat) -> RunFiles {
        let table = |name: &str| dir.join(format!("{name}.{}", format.extension()));
        RunFiles {
            telemetry: table("telemetry"),
            edges: table("edges"),
            truth: table("truth"),
            app: dir.join("app.toml"),
            run: dir.join("run.json"),
        }
    }

    /// All five, in the order they are written.
    pub fn all(&self) -> [&Path; 5] {
        [
            &self.telemetry,
            &self.edges,
            &self.truth,
            &self.app,
            &self.run,
        ]
    }
}

/// Simulates `spec` with `cfg` under `policy` into run directory `dir` (created if needed):
/// telemetry and call edges are streamed to their files as the run goes (memory for one
/// batch of rows, however long the run), then the truth, the spec and `run.json` (made by
/// `record` from the run's totals) are written. The same bytes as [`write`] of the
/// in-memory [`crate::simulate`].
pub fn simulate_into(
    dir: &Path,
    spec: &AppSpec,
    cfg: &SimConfig,
    policy: &mut crate::policy::Collector,
    record: impl FnOnce(Summary) -> RunRecord,
    format: RunFormat,
    progress: &dyn holoscale_datasets::io::Progress,
) -> Result<(Summary, RunFiles)> {
    let sim = crate::Simulator::new(spec, cfg.clone())?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create", e))?;
    let files = RunFiles::in_dir(dir, format);
    let mut recorder = crate::Recorder::streaming(spec, &sim, &files.telemetry, &files.edges)?;
    crate::drive(sim, &mut recorder, policy, progress)?;
    let (truth, summary) = recorder.finish_streaming()?;
    truth.write_file(&files.truth)?;
    write_text(&files.app, &spec.to_toml())?;
    let json = serde_json::to_string_pretty(&record(summary)).expect("a run record serialises");
    write_text(&files.run, &json)?;
    Ok((summary, files))
}

/// Writes a run's outputs, its spec and its record into `dir` (created if needed).
pub fn write(
    dir: &Path,
    out: &Output,
    spec: &AppSpec,
    record: &RunRecord,
    format: RunFormat,
) -> Result<RunFiles> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create", e))?;
    let files = RunFiles::in_dir(dir, format);
    io::write_telemetry(&out.telemetry, &files.telemetry, &WriteOptions::default())?;
    io::write_edges(&out.edges, &files.edges)?;
    out.truth.write_file(&files.truth)?;
    write_text(&files.app, &spec.to_toml())?;
    let json = serde_json::to_string_pretty(record).expect("a run record serialises");
    write_text(&files.run, &json)?;
    Ok(files)
}

/// Reads `run.json` of a run directory.
pub fn read_record(dir: &Path) -> Result<RunRecord> {
    let path = dir.join("run.json");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, "read", e))?;
    serde_json::from_str(&text).map_err(|source| {
        holoscale_datasets::Error::Json {
            file: path.display().to_string(),
            source,
        }
        .into()
    })
}

fn write_text(path: &Path, text: &str) -> Result<()> {
    io::write_atomic(path, |w| {
        w.write_all(text.as_bytes())
            .map_err(|e| holoscale_datasets::Error::io(path, "write", e))
    })?;
    Ok(())
}
