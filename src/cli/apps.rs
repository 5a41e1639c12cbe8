//! `holoscale apps list` and `holoscale apps show NAME`.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use anyhow::Result;
use clap::{Args, Subcommand};

use holoscale::sim::apps;
use holoscale::sim::spec::{AppSpec, Profile, ServiceKind, TreeNode};

use super::output::{Table, num, print};

#[derive(Debug, Args)]
pub struct AppsArgs {
    #[command(subcommand)]
    what: AppsCommand,
}

#[derive(Debug, Subcommand)]
enum AppsCommand {
    /// The built-in applications.
    List,
    /// Services, operations, call edges, profiles and planted dependencies of an application.
    Show(ShowArgs),
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A built-in application (see `apps list`; `alibaba:N` for N services) or a TOML spec.
    pub app: String,
    /// Print a Graphviz digraph (calls solid, planted latent dependencies dashed).
    #[arg(long, conflicts_with = "toml")]
    pub dot: bool,
    /// Print the spec as TOML (a starting point for your own application).
    #[arg(long)]
    pub toml: bool,
    /// Seed of random applications.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

pub fn run(args: AppsArgs) -> Result<()> {
    match args.what {
        AppsCommand::List => list(),
        AppsCommand::Show(a) => show(a),
    }
}

fn list() -> Result<()> {
    let mut t = Table::new(&[
        "name",
        "services",
        "call edges",
        "operations",
        "latent",
        "peak rps",
        "slo p95 ms",
        "about",
    ]);
    for name in apps::BUILTIN {
        let spec = apps::builtin(name, 7)?;
        t.row(&[
            name.to_string(),
            spec.services.len().to_string(),
            spec.call_edges().len().to_string(),
            spec.operations.len().to_string(),
            spec.latent.len().to_string(),
            num(spec.workload.peak_rps),
            num(spec.slo.latency_ms),
            spec.description.clone(),
        ]);
    }
    print(&t.render())
}

fn show(a: ShowArgs) -> Result<()> {
    let spec = apps::resolve(&a.app, a.seed)?;
    if a.toml {
        return print(&spec.to_toml());
    }
    if a.dot {
        return print(&dot(&spec));
    }
    let mut out = format!(
        "{}: {}\nSLO: p{} <= {} ms; default workload {}..{} requests/s\n\n",
        spec.name,
        spec.description,
        num(spec.slo.percentile),
        num(spec.slo.latency_ms),
        num(spec.workload.base_rps),
        num(spec.workload.peak_rps)
    );
    let shares = apps::load_shares(&spec);
    let mut t = Table::new(&[
        "service",
        "kind",
        "cpu/req ms",
        "capacity rps",
        "replicas",
        "profile",
        "calls per request",
    ]);
    for (s, share) in spec.services.iter().zip(&shares) {
        let profile = match s.effective_profile() {
            Profile::TwoPiece {
                base_ms,
                slope_ms,
                knee_rps,
                steep_slope_ms,
            } => format!(
                "two-piece {}ms +{}/rps to {} rps, then +{}/rps",
                num(base_ms),
                num(slope_ms),
                num(knee_rps),
                num(steep_slope_ms)
            ),
            Profile::Mmc => "M/M/c".into(),
        };
        t.row(&[
            s.name.clone(),
            format!("{:?}", s.kind).to_lowercase(),
            num(1000.0 * s.cpu_per_request),
            num(s.capacity_rps()),
            format!("{}..{}", s.min_replicas, s.max_replicas),
            profile,
            num(*share),
        ]);
    }
    out.push_str(&t.render());
    out.push_str("\noperations (weight: call tree; `a; b` in sequence, `a | b` in parallel)\n");
    let names: BTreeSet<&str> = spec.services.iter().map(|s| s.name.as_str()).collect();
    for op in &spec.operations {
        let tree = op.tree(&names).expect("validated spec");
        let _ = writeln!(
            out,
            "  {} ({}): {}",
            op.name,
            num(op.weight),
            render_tree(&tree, 0)
        );
    }
    let edges = spec.call_edges();
    let _ = writeln!(out, "\ncall edges ({}):", edges.len());
    for (a, b) in &edges {
        let _ = writeln!(out, "  {a} -> {b}");
    }
    if !spec.latent.is_empty() {
        out.push_str("\nplanted latent dependencies:\n");
        for l in &spec.latent {
            let _ = writeln!(
                out,
                "  {} -- {} ({}{}, strength {})",
                l.services[0],
                l.services[1],
                l.kind.as_str(),
                l.via
                    .as_ref()
                    .map(|v| format!(" via {v}"))
                    .unwrap_or_default(),
                num(l.strength)
            );
        }
    }
    print(&out)
}

fn render_tree(tree: &[TreeNode], k: usize) -> String {
    let node = &tree[k];
    let mut s = node.service.clone();
    if node.fanout != 1.0 {
        s.push_str(&format!("x{}", num(node.fanout)));
    }
    if node.asynchronous {
        s.push_str(" (async)");
    }
    let kids: Vec<usize> = (0..tree.len())
        .filter(|&c| tree[c].parent == Some(k))
        .collect();
    if kids.is_empty() {
        return s;
    }
    let mut stages: Vec<Vec<String>> = Vec::new();
    let mut last = None;
    for c in kids {
        if last != Some(tree[c].step) {
            stages.push(Vec::new());
            last = Some(tree[c].step);
        }
        stages
            .last_mut()
            .expect("pushed")
            .push(render_tree(tree, c));
    }
    let body: Vec<String> = stages.into_iter().map(|p| p.join(" | ")).collect();
    format!("{s} [{}]", body.join("; "))
}

/// A Graphviz rendering of the application.
pub fn dot(spec: &AppSpec) -> String {
    let mut out = format!(
        "digraph \"{}\" {{\n  rankdir=LR;\n  node [shape=box, style=rounded];\n",
        spec.name
    );
    for s in &spec.services {
        let shape = match s.kind {
            ServiceKind::Service => "box",
            ServiceKind::Datastore => "cylinder",
            ServiceKind::Queue => "cds",
        };
        let _ = writeln!(out, "  \"{}\" [shape={shape}];", s.name);
    }
    for (a, b) in spec.call_edges() {
        let _ = writeln!(out, "  \"{a}\" -> \"{b}\";");
    }
    for l in &spec.latent {
        let _ = writeln!(
            out,
            "  \"{}\" -> \"{}\" [dir=none, style=dashed, color=red, label=\"{}\"];",
            l.services[0],
            l.services[1],
            l.kind.as_str()
        );
    }
    out.push_str("}\n");
    out
}
