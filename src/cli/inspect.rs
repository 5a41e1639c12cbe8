//! `holoscale inspect FILE`.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Args, ValueEnum};
use serde::Serialize;

use holoscale::datasets::CallEdges;
use holoscale::datasets::io::{self, Content, Format};
use holoscale::datasets::summary::{Summary, summarize};
use holoscale::datasets::validate::{self, Problem, ProblemKind, Severity};

use super::output::{Table, num, print, print_json};
use super::{InputArgs, RepairArgs};

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Telemetry or call-edge file (.parquet, .csv, .npz).
    pub file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = InspectFormat::Table)]
    pub format: InspectFormat,
    /// List every problem instead of the first few of each kind.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub repair: RepairArgs,
    #[command(flatten)]
    pub input: InputArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InspectFormat {
    Table,
    Json,
}

pub fn run(args: InspectArgs) -> Result<()> {
    let format = Format::from_path(&args.file)?;
    if format != Format::Npz && io::sniff(&args.file)? == Content::Edges {
        let edges = io::read_edges(&args.file)?;
        return show_edges(&args.file, &edges, args.format);
    }
    let mut tel = args.input.read(&args.file)?;
    let report = validate::repair(&mut tel, &args.repair.policy());
    let refusal = report.has_fatal().then(|| report.fatal_summary());
    let summary = summarize(&tel, report.problems);
    match args.format {
        InspectFormat::Json => print_json(&summary)?,
        InspectFormat::Table => print(&render(&summary, args.all))?,
    }
    // The report is shown; the exit code says that every other command refuses the data.
    match refusal {
        Some(why) => Err(anyhow::anyhow!("{why}")),
        None => Ok(()),
    }
}

fn pct(part: usize, whole: usize) -> String {
    if whole == 0 {
        "0%".into()
    } else {
        format!("{:.1}%", 100.0 * part as f64 / whole as f64)
    }
}

/// The text form of a summary.
pub fn render(s: &Summary, all: bool) -> String {
    let mut out = String::new();
    let shown: Vec<&str> = s.services.iter().take(12).map(String::as_str).collect();
    let more = if s.services.len() > 12 {
        format!(", ... ({} more)", s.services.len() - 12)
    } else {
        String::new()
    };
    out.push_str(&format!("file        {}\n", s.file));
    out.push_str(&format!(
        "services    {}: {}{more}\n",
        s.services.len(),
        shown.join(", ")
    ));
    out.push_str(&format!("time range  {} to {}\n", s.start, s.end));
    out.push_str(&format!("interval    {} ({} steps)\n", s.interval, s.steps));
    out.push_str(&format!(
        "values      {} cells: {} observed ({}), {} filled, {} missing\n\n",
        s.cells,
        s.observed_cells,
        pct(s.observed_cells, s.cells),
        s.filled_cells,
        s.missing_cells
    ));
    let mut t = Table::new(&["column", "observed", "min", "mean", "max", "std", "meaning"]);
    for c in &s.columns {
        t.row(&[
            c.name.clone(),
            format!("{:.1}%", 100.0 * c.observed_share),
            num(c.min),
            num(c.mean),
            num(c.max),
            num(c.std),
            c.meaning.unwrap_or("(extra column)").to_string(),
        ]);
    }
    out.push_str(&t.render());
    if !s.missing_standard_columns.is_empty() {
        out.push_str(&format!(
            "\nstandard columns not in the file: {}\n",
            s.missing_standard_columns.join(", ")
        ));
    }
    let count = |sev| s.problems.iter().filter(|p| p.severity == sev).count();
    if s.problems.is_empty() {
        out.push_str("\nno problems found\n");
        return out;
    }
    out.push_str(&format!(
        "\nproblems: {} repaired, {} warnings, {} refusing the data\n",
        count(Severity::Repaired),
        count(Severity::Warning),
        count(Severity::Fatal)
    ));
    let mut kinds: Vec<ProblemKind> = s.problems.iter().map(|p| p.kind).collect();
    kinds.sort();
    kinds.dedup();
    const SHOWN: usize = 5;
    for kind in kinds {
        let of_kind: Vec<&Problem> = s.problems.iter().filter(|p| p.kind == kind).collect();
        out.push_str(&format!("  {} ({}):\n", kind.label(), of_kind.len()));
        let limit = if all { of_kind.len() } else { SHOWN };
        for p in of_kind.iter().take(limit) {
            let tag = match p.severity {
                Severity::Warning => "warning",
                Severity::Repaired => "repaired",
                Severity::Fatal => "REFUSED",
            };
            out.push_str(&format!("    [{tag}] {p}\n"));
        }
        if of_kind.len() > limit {
            out.push_str(&format!(
                "    ... and {} more (--all lists them)\n",
                of_kind.len() - limit
            ));
        }
    }
    if s.refused {
        out.push_str("\nthe data would be refused by commands that use them; see the REFUSED lines for the flags that accept them\n");
    }
    out
}

#[derive(Serialize)]
struct EdgeSummary {
    file: String,
    rows: usize,
    time_varying: bool,
    services: Vec<String>,
    edges: Vec<EdgeRow>,
}

#[derive(Serialize)]
struct EdgeRow {
    source: String,
    destination: String,
    req_rate: f64,
    latency_ms: Option<f64>,
}

fn show_edges(path: &Path, edges: &CallEdges, format: InspectFormat) -> Result<()> {
    let agg = edges.aggregate();
    let summary = EdgeSummary {
        file: path.display().to_string(),
        rows: edges.len(),
        time_varying: !edges.is_static(),
        services: edges.services(),
        edges: agg
            .iter()
            .map(|e| EdgeRow {
                source: e.source.clone(),
                destination: e.destination.clone(),
                req_rate: e.req_rate,
                latency_ms: e.latency_ms,
            })
            .collect(),
    };
    if format == InspectFormat::Json {
        return print_json(&summary);
    }
    let mut out = format!(
        "file        {}\ncall edges  {} rows, {} distinct, {}\nservices    {}\n\n",
        summary.file,
        summary.rows,
        agg.len(),
        if summary.time_varying {
            "time-varying"
        } else {
            "static"
        },
        summary.services.len()
    );
    let mut t = Table::new(&["source", "destination", "req_rate", "latency_ms"]);
    for e in &summary.edges {
        t.row(&[
            e.source.clone(),
            e.destination.clone(),
            num(e.req_rate),
            e.latency_ms.map(num).unwrap_or_else(|| "-".into()),
        ]);
    }
    out.push_str(&t.render());
    print(&out)
}
