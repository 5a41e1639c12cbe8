//! Graph learning on the command line: the EM options of `holoscale train`, and
//! `holoscale graph` (show a model's learned dependencies, compare two graphs).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::tensor::backend::AutodiffBackend;
use clap::{Args, Subcommand, ValueEnum};
use ndarray::Array2;
use serde::Serialize;

use holoscale::datasets::sim::truth::GroundTruth;
use holoscale::datasets::{self as ds};
use holoscale::estimator::TrainOptions;
use holoscale::estimator::artifact::{read_affinity, write_affinity};
use holoscale::graphlearn::metrics::{self, EdgeScores, TruthPairs};
use holoscale::graphlearn::{self as gl, EdgePenalty, EmConfig, EmEvent, GraphSources, sources};

use super::estimate::{EpochBar, TrainArgs};
use super::output::{Table, num, print, print_json};
use super::split_list;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PenaltyArg {
    /// Eq. 8 as written: counts new edges (no gradient).
    Exact,
    /// A differentiable count, x / (x + scale).
    Soft,
}

/// EM graph learning options of `holoscale train` (DeepScaler Algorithm 2).
#[derive(Debug, Args)]
pub struct GraphLearnArgs {
    /// Train on the fixed starting graph instead of learning it with EM.
    #[arg(long)]
    pub no_graph_learning: bool,
    /// EM iterations.
    #[arg(long, default_value_t = 20)]
    pub em_iterations: usize,
    /// Estimator epochs per EM iteration (policy learning).
    #[arg(long, default_value_t = 5)]
    pub em_epochs: usize,
    /// Generator epochs per EM iteration (graph learning).
    #[arg(long, default_value_t = 5)]
    pub generator_epochs: usize,
    /// Capacity N_max of the affinity set.
    #[arg(long, default_value_t = 3)]
    pub set_size: usize,
    /// Target share δ of new edges (eq. 7).
    #[arg(long, default_value_t = 0.05)]
    pub delta: f64,
    /// Generator embedding size.
    #[arg(long, default_value_t = 64)]
    pub embedding: usize,
    /// Sparsification threshold ε (default 0.5/N).
    #[arg(long)]
    pub epsilon: Option<f64>,
    /// Standard deviation of the generator's embeddings (default (2·embedding)^(-1/4)).
    #[arg(long)]
    pub generator_init_std: Option<f64>,
    /// Adam learning rate of the generator.
    #[arg(long, default_value_t = 1e-3)]
    pub generator_lr: f64,
    /// Share of the last iterations that take the newest matrix.
    #[arg(long, default_value_t = 0.2)]
    pub newest_share: f64,
    /// Temperature of the softmax combining the set (eq. 9; 1 is the paper's).
    #[arg(long, default_value_t = 1.0)]
    pub set_temperature: f64,
    /// Edge-count term of the generator's loss.
    #[arg(long, value_enum, default_value_t = PenaltyArg::Exact)]
    pub edge_penalty: PenaltyArg,
    /// Scale of the soft edge count.
    #[arg(long, default_value_t = 0.01)]
    pub soft_penalty_scale: f64,
    /// Train the estimator together with the generator in graph learning, instead of
    /// holding it fixed as Algorithm 2 does.
    #[arg(long)]
    pub joint_graph_learning: bool,
    /// Extra matrices in the starting set besides the invocation graph: od, cc.
    #[arg(long, value_name = "od,cc")]
    pub graph_sources: Option<String>,
    /// Telemetry column of the CC relationships.
    #[arg(long, default_value = "req_rate")]
    pub cc_column: String,
    /// Threshold of the CC relationships (absolute Spearman correlation).
    #[arg(long, default_value_t = 0.8)]
    pub cc_threshold: f64,
}

impl GraphLearnArgs {
    pub fn config(&self) -> EmConfig {
        EmConfig::new()
            .with_iterations(self.em_iterations)
            .with_epochs_per_iteration(self.em_epochs)
            .with_generator_epochs(self.generator_epochs)
            .with_max_set(self.set_size)
            .with_delta(self.delta)
            .with_embedding(self.embedding)
            .with_epsilon(self.epsilon)
            .with_init_std(self.generator_init_std)
            .with_generator_lr(self.generator_lr)
            .with_newest_share(self.newest_share)
            .with_temperature(self.set_temperature)
            .with_penalty(match self.edge_penalty {
                PenaltyArg::Exact => EdgePenalty::Exact,
                PenaltyArg::Soft => EdgePenalty::Soft {
                    scale: self.soft_penalty_scale,
                },
            })
            .with_joint(self.joint_graph_learning)
    }

    pub fn sources(&self) -> Result<GraphSources> {
        let mut out = GraphSources::default();
        for s in self
            .graph_sources
            .as_deref()
            .map(split_list)
            .unwrap_or_default()
        {
            match s.as_str() {
                "od" => out.od = true,
                "cc" => out.cc = Some((self.cc_column.clone(), self.cc_threshold)),
                "calls" | "invocation" => {}
                other => bail!("--graph-sources: unknown source `{other}`; expected od, cc"),
            }
        }
        Ok(out)
    }
}

/// `holoscale train` with EM graph learning.
pub fn train_em_on<AB: AutodiffBackend>(
    tel: &ds::Telemetry,
    edges: Option<&ds::CallEdges>,
    opts: &TrainOptions,
    device: &AB::Device,
    a: &TrainArgs,
) -> Result<()> {
    let em = a.graph.config();
    em.check()?;
    let extra = a.graph.sources()?;
    let bar = EpochBar::new("em", em.iterations * em.epochs_per_iteration);
    let start = std::time::Instant::now();
    let learned = gl::train::<AB>(tel, edges, opts, &em, &extra, device, &mut |ev| match ev {
        EmEvent::Epoch(r) => bar.update("em", r),
        EmEvent::Iteration(r) => {
            let losses: Vec<String> = r.set_losses.iter().map(|l| num(*l)).collect();
            bar.note(&format!(
                "EM iteration {}/{}: val MAE {}, generator loss {}, new edges {} (proposed {}, gate {}), set losses [{}], {} edges{}",
                r.iteration,
                r.iterations,
                num(r.val_mae),
                num(r.generator_loss),
                r.new_edges,
                r.proposed_edges,
                num(r.gate_mean),
                losses.join(", "),
                r.edges,
                if r.took_newest { " (newest matrix)" } else { "" }
            ))
        }
    })?;
    bar.finish();
    let trained = &learned.trained;
    for note in &trained.notes {
        tracing::warn!("{note}");
    }
    trained.artifact.save(&a.out, a.force)?;
    let best = &trained.artifact.history[trained.artifact.metadata.best_epoch - 1];
    let edges_learned = trained
        .artifact
        .affinity
        .indexed_iter()
        .filter(|((i, j), v)| i != j && **v != 0.0)
        .count();
    print(&format!(
        "trained {} with EM graph learning on {} services: {} iterations x {} epochs in {:.1} s; kept iteration {}, epoch {} (validation MAE {} {}), learned graph with {} edges\nwrote {}\n",
        opts.kind.name(),
        trained.data.services.len(),
        em.iterations,
        em.epochs_per_iteration,
        start.elapsed().as_secs_f64(),
        learned.best_iteration,
        best.epoch,
        num(best.val_mae),
        trained.data.target_name,
        edges_learned,
        a.out.display()
    ))
}

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
    /// File to write.
    #[arg(long)]
    pub out: Option<PathBuf>,
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

/// One side of a comparison.
enum Side {
    Graph {
        services: Vec<String>,
        matrix: Array2<f64>,
    },
    Truth(GroundTruth),
}

fn read_model_affinity(dir: &Path) -> Result<(Vec<String>, Array2<f64>)> {
    let file = dir.join("affinity.parquet");
    if !file.is_file() {
        bail!(
            "{}: no affinity.parquet; is this a model directory written by `holoscale train`?",
            dir.display()
        );
    }
    Ok(read_affinity(&file)?)
}

fn resolve(spec: &str, c: &CompareArgs) -> Result<Side> {
    let graph = |services: Vec<String>, matrix| Ok(Side::Graph { services, matrix });
    if let Some(path) = spec.strip_prefix("calls:") {
        let edges = ds::io::read_edges(Path::new(path))?;
        let services = edges.services();
        let m = sources::invocation(&edges, &services);
        return graph(services, m);
    }
    if let Some(path) = spec.strip_prefix("od:") {
        let edges = ds::io::read_edges(Path::new(path))
            .with_context(|| format!("od:{path}: OD relationships are computed from call edges"))?;
        let services = edges.services();
        let m = sources::od(&edges, &services);
        return graph(services, m);
    }
    if let Some(path) = spec.strip_prefix("cc:") {
        let tel =
            ds::io::read_telemetry(Path::new(path), &Default::default(), &ds::io::NoProgress)?;
        let services = tel.services().to_vec();
        let m = sources::cc(&tel, &c.cc_column, &services, c.cc_threshold)?;
        return graph(services, m);
    }
    let path = Path::new(spec);
    if path.is_dir() {
        let (s, m) = read_model_affinity(path)?;
        return graph(s, m);
    }
    if !path.is_file() {
        bail!(
            "{spec}: no such file or directory; expected a model directory, an affinity or ground-truth Parquet, or od:EDGES, cc:TELEMETRY, calls:EDGES"
        );
    }
    match read_affinity(path) {
        Ok((s, m)) => graph(s, m),
        Err(affinity_err) => match GroundTruth::read_file(path) {
            Ok(t) => Ok(Side::Truth(t)),
            Err(truth_err) => bail!(
                "{spec}: neither an affinity Parquet ({affinity_err}) nor a ground-truth Parquet ({truth_err})"
            ),
        },
    }
}

#[derive(Debug, Serialize)]
struct Comparison {
    a: String,
    b: String,
    services: usize,
    jaccard: f64,
    #[serde(flatten)]
    scores: EdgeScores,
}

fn truth_matrix(pairs: &TruthPairs, n: usize) -> Array2<f64> {
    let mut m = Array2::zeros((n, n));
    for &(i, j) in &pairs.all {
        m[[i, j]] = 1.0;
        m[[j, i]] = 1.0;
    }
    m
}

/// Every service named by either side, first side's order first.
fn union_services(sides: [&Side; 2]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for side in sides {
        let names: Vec<String> = match side {
            Side::Graph { services, .. } => services.clone(),
            Side::Truth(t) => t
                .edges
                .iter()
                .flat_map(|e| [e.source.clone(), e.destination.clone()])
                .collect(),
        };
        for n in names {
            if !out.contains(&n) {
                out.push(n);
            }
        }
    }
    out
}

/// `m` over `services`, embedded into `order` (a superset): services without a row there
/// have no edges.
fn embed(services: &[String], m: &Array2<f64>, order: &[String]) -> Array2<f64> {
    let idx: Vec<Option<usize>> = order
        .iter()
        .map(|s| services.iter().position(|x| x == s))
        .collect();
    Array2::from_shape_fn((order.len(), order.len()), |(i, j)| {
        match (idx[i], idx[j]) {
            (Some(a), Some(b)) => m[[a, b]],
            _ => 0.0,
        }
    })
}

fn compare(c: CompareArgs) -> Result<()> {
    let (a, b) = (resolve(&c.a, &c)?, resolve(&c.b, &c)?);
    // Graphs from call edges know only the services that call or are called; compare over
    // every service either side names.
    let all = union_services([&a, &b]);
    let widen = |side: Side| match side {
        Side::Graph { services, matrix } => Side::Graph {
            matrix: embed(&services, &matrix, &all),
            services: all.clone(),
        },
        t => t,
    };
    let (a, b) = (widen(a), widen(b));
    // The graph scored, its services, and the pairs it is scored against.
    let (services, graph, truth, other) = match (a, b) {
        (Side::Truth(_), Side::Truth(_)) => {
            bail!("both sides are ground truths; give at least one graph")
        }
        (Side::Graph { services, matrix }, Side::Truth(t))
        | (Side::Truth(t), Side::Graph { services, matrix }) => {
            let pairs = TruthPairs::new(&t, &services)?;
            let m = truth_matrix(&pairs, services.len());
            (services, matrix, pairs, m)
        }
        (Side::Graph { services, matrix }, Side::Graph { matrix: mb, .. }) => {
            let u = metrics::undirected(&mb);
            let mut pairs = TruthPairs::default();
            for ((i, j), v) in u.indexed_iter() {
                if i < j && *v > 0.0 {
                    pairs.all.insert((i, j));
                }
            }
            (services, matrix, pairs, mb)
        }
    };
    let jaccard = metrics::weighted_jaccard(&graph, &other)?;
    let scores = metrics::edge_scores(&graph, &services, &truth, c.top)?;
    let out = Comparison {
        a: c.a.clone(),
        b: c.b.clone(),
        services: services.len(),
        jaccard,
        scores,
    };
    match c.format {
        CompareFormat::Json => print_json(&out),
        CompareFormat::Table => {
            let mut t = Table::new(&["metric", "value"]);
            t.row(&["services".to_string(), out.services.to_string()]);
            t.row(&["weighted Jaccard".to_string(), num(out.jaccard)]);
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

/// One dependency of a model's graph.
struct Dependency {
    source: String,
    destination: String,
    weight: f64,
    call: Option<bool>,
}

fn dependencies(a: &GraphArgs, dir: &Path) -> Result<(Vec<String>, Array2<f64>, Vec<Dependency>)> {
    let (services, m) = read_model_affinity(dir)?;
    let calls = match &a.edges {
        Some(p) => Some(sources::invocation(&ds::io::read_edges(p)?, &services)),
        None => None,
    };
    let mut deps: Vec<Dependency> = m
        .indexed_iter()
        .filter(|((i, j), v)| i != j && **v != 0.0)
        .map(|((i, j), &w)| Dependency {
            source: services[i].clone(),
            destination: services[j].clone(),
            weight: w,
            call: calls.as_ref().map(|c| c[[i, j]] != 0.0 || c[[j, i]] != 0.0),
        })
        .collect();
    deps.sort_by(|x, y| {
        y.weight
            .total_cmp(&x.weight)
            .then_with(|| (&x.source, &x.destination).cmp(&(&y.source, &y.destination)))
    });
    if let Some(k) = a.top {
        deps.truncate(k);
    }
    Ok((services, m, deps))
}

fn kind(d: &Dependency) -> &'static str {
    match d.call {
        Some(true) => "call",
        Some(false) => "learned-only",
        None => "learned",
    }
}

fn dot_id(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn show(a: &GraphArgs) -> Result<()> {
    let dir = a.model.as_deref().context("give a model directory")?;
    let (services, m, deps) = dependencies(a, dir)?;
    match a.format {
        ShowFormat::Table => {
            let mut t = Table::new(&["rank", "source", "destination", "weight", "kind"]);
            for (r, d) in deps.iter().enumerate() {
                t.row(&[
                    (r + 1).to_string(),
                    d.source.clone(),
                    d.destination.clone(),
                    num(d.weight),
                    kind(d).to_string(),
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
            write_or_print(a.out.as_deref(), &text)
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
            write_or_print(a.out.as_deref(), &text)
        }
        ShowFormat::Parquet => {
            let out = a
                .out
                .as_deref()
                .context("--format parquet needs --out FILE")?;
            let kept: Array2<f64> = if a.top.is_some() {
                let mut k = Array2::zeros(m.dim());
                for d in &deps {
                    let i = services
                        .iter()
                        .position(|s| s == &d.source)
                        .expect("own service");
                    let j = services
                        .iter()
                        .position(|s| s == &d.destination)
                        .expect("own service");
                    k[[i, j]] = d.weight;
                }
                k
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
                    kind(d)
                ));
            }
            write_or_print(a.out.as_deref(), &text)
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
