//! `holoscale graph`: show a model's learned dependencies, compare two graphs.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};

use holoscale::datasets::{self as ds};
use holoscale::estimator::artifact::{model_files, write_affinity};
use holoscale::graphlearn::compare::{
    self, CcOptions, Dependency, dependencies, matrix_of, read_model_affinity,
};
use holoscale::graphlearn::sources;

use super::output::{Table, num, print, print_json};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct GraphArgs {
    #[command(subcommand)]
    pub command: Option<GraphCommand>,
    /// Model directory (`holoscale train --out`) whose learned dependencies to show.
    #[arg(required = true)]
    pub model: Option<PathBuf>,
    /// Output format; parquet needs --out, the others print unless --out is given.
    #[arg(long, value_enum, default_value_t = ShowFormat::Table)]
    pub format: ShowFormat,
    /// Show only the K strongest dependencies.
    #[arg(long)]
    pub top: Option<usize>,
    /// Call edges, to mark which dependencies are calls and which were learned.
    #[arg(long)]
    pub edges: Option<PathBuf>,
    /// File to write (`-`: standard output, for table, csv and dot).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace an existing --out file.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShowFormat {
    Table,
    Parquet,
    Csv,
    Dot,
}

#[derive(Debug, Subcommand)]
pub enum GraphCommand {
    /// Compare two graphs: weighted Jaccard, and precision/recall/F1 of A's strongest edges
    /// against B (or against a ground truth on either side).
    Compare(CompareArgs),
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// A model directory, an affinity Parquet, a ground-truth Parquet (from `simulate`), or
    /// od:EDGES, cc:TELEMETRY, calls:EDGES.
    pub a: String,
    /// The same kinds as A.
    pub b: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CompareFormat::Table)]
    pub format: CompareFormat,
    /// Edges taken from the graph for precision and recall (default: the number of true edges).
    #[arg(long)]
    pub top: Option<usize>,
    /// Telemetry column of cc: sources.
    #[arg(long, default_value = "req_rate")]
    pub cc_column: String,
    /// Threshold of cc: sources.
    #[arg(long, default_value_t = 0.8)]
    pub cc_threshold: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompareFormat {
    Table,
    Json,
}

pub fn run(a: GraphArgs) -> Result<()> {
    match a.command {
        Some(GraphCommand::Compare(c)) => compare(c),
        None => show(&a),
    }
}

fn compare(c: CompareArgs) -> Result<()> {
    let cc = CcOptions {
        column: c.cc_column.clone(),
        threshold: c.cc_threshold,
    };
    let out = compare::compare_specs(&c.a, &c.b, &cc, c.top)?;
    match c.format {
        CompareFormat::Json => print_json(&out),
        CompareFormat::Table => {
            let mut t = Table::new(&["metric", "value"]);
            t.row(&["services".to_string(), out.services.to_string()]);
            t.row(&["weighted Jaccard".to_string(), num(out.jaccard)]);
            t.row(&["Jaccard of edge sets".to_string(), num(out.set_jaccard)]);
            t.row(&["edges taken (k)".to_string(), out.scores.k.to_string()]);
            t.row(&["precision".to_string(), num(out.scores.precision)]);
            t.row(&["recall".to_string(), num(out.scores.recall)]);
            t.row(&["F1".to_string(), num(out.scores.f1)]);
            if let Some(l) = out.scores.latent_recall {
                t.row(&["latent recall".to_string(), num(l)]);
            }
            print(&format!("{} vs {}\n{}", out.a, out.b, t.render()))
        }
    }
}

fn dot_id(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn show(a: &GraphArgs) -> Result<()> {
    let dir = a.model.as_deref().context("give a model directory")?;
    // `-` is standard output; a file is checked before anything is read.
    let out = a.out.as_deref().filter(|p| p.as_os_str() != "-");
    match out {
        Some(path) => {
            let mut inputs = model_files(dir);
            inputs.extend(a.edges.clone());
            let inputs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
            ds::io::check_output_file(path, a.force, &inputs)?;
        }
        None => super::refuse_given(&["force"], "applies only with --out FILE")?,
    }
    let (services, m) = read_model_affinity(dir)?;
    let calls = match &a.edges {
        Some(p) => Some(sources::invocation(&ds::io::read_edges(p)?, &services)),
        None => None,
    };
    let deps: Vec<Dependency> = dependencies(&services, &m, calls.as_ref(), a.top);
    match a.format {
        ShowFormat::Table => {
            let mut t = Table::new(&["rank", "source", "destination", "weight", "kind"]);
            for (r, d) in deps.iter().enumerate() {
                t.row(&[
                    (r + 1).to_string(),
                    d.source.clone(),
                    d.destination.clone(),
                    num(d.weight),
                    d.kind().to_string(),
                ]);
            }
            let text = format!(
                "{}: {} services, {} dependencies{}\n{}",
                dir.display(),
                services.len(),
                deps.len(),
                if a.top.is_some() {
                    " (strongest first)"
                } else {
                    ""
                },
                t.render()
            );
            write_or_print(out, &text)
        }
        ShowFormat::Dot => {
            let mut text =
                String::from("digraph dependencies {\n  rankdir=LR;\n  node [shape=box];\n");
            for s in &services {
                text.push_str(&format!("  {};\n", dot_id(s)));
            }
            let max = deps.iter().map(|d| d.weight).fold(0.0, f64::max).max(1e-12);
            for d in &deps {
                let style = if d.call == Some(false) {
                    ", style=dashed, color=\"#d62728\""
                } else {
                    ""
                };
                text.push_str(&format!(
                    "  {} -> {} [weight={:.4}, penwidth={:.2}, label=\"{}\"{style}];\n",
                    dot_id(&d.source),
                    dot_id(&d.destination),
                    d.weight,
                    0.5 + 3.5 * d.weight / max,
                    num(d.weight)
                ));
            }
            text.push_str("}\n");
            write_or_print(out, &text)
        }
        ShowFormat::Parquet => {
            let out = out.context("--format parquet needs --out FILE (not standard output)")?;
            let kept = if a.top.is_some() {
                matrix_of(&services, &deps)
            } else {
                m
            };
            write_affinity(out, &services, &kept, "learned")?;
            print(&format!(
                "wrote {} dependencies to {}\n",
                deps.len(),
                out.display()
            ))
        }
        ShowFormat::Csv => {
            let mut text = String::from("source,destination,weight,kind\n");
            for d in &deps {
                text.push_str(&format!(
                    "{},{},{},{}\n",
                    csv_field(&d.source),
                    csv_field(&d.destination),
                    d.weight,
                    d.kind()
                ));
            }
            write_or_print(out, &text)
        }
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn write_or_print(out: Option<&Path>, text: &str) -> Result<()> {
    match out {
        None => print(text),
        Some(path) => {
            ds::io::write_atomic(path, |w| {
                w.write_all(text.as_bytes())
                    .map_err(|e| ds::Error::io(path, "write", e))
            })?;
            print(&format!("wrote {}\n", path.display()))
        }
    }
}
