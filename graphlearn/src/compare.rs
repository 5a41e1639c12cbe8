//! Graphs named by a short spec, compared and ranked: what `holoscale graph` and the report
//! show, as library functions.
//!
//! A graph spec is a model directory (its learned `affinity.parquet`), an affinity Parquet,
//! a ground-truth Parquet (`truth.parquet` of a simulation), or `calls:EDGES`, `od:EDGES`
//! (eq. 15) or `cc:TELEMETRY` (eq. 16) computed from a call-edge or telemetry file.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use ndarray::Array2;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::metrics::{self, EdgeScores, TruthPairs};
use crate::sources;
use holoscale_datasets::truth::GroundTruth;
use holoscale_estimator::artifact::read_affinity;

/// Default telemetry column of CC relationships.
pub const DEFAULT_CC_COLUMN: &str = "req_rate";
/// Default threshold of CC relationships (absolute Spearman correlation).
pub const DEFAULT_CC_THRESHOLD: f64 = 0.8;

/// Settings of `cc:` graphs.
#[derive(Debug, Clone, PartialEq)]
pub struct CcOptions {
    /// Telemetry column whose series are correlated.
    pub column: String,
    /// Absolute Spearman correlation above which a pair is related.
    pub threshold: f64,
}

impl Default for CcOptions {
    fn default() -> Self {
        CcOptions {
            column: DEFAULT_CC_COLUMN.into(),
            threshold: DEFAULT_CC_THRESHOLD,
        }
    }
}

/// What a graph spec names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphSpec {
    /// `calls:EDGES`: the invocation graph of a call-edge file.
    Calls(PathBuf),
    /// `od:EDGES`: the OD relationships of a call-edge file (eq. 15).
    Od(PathBuf),
    /// `cc:TELEMETRY`: the CC relationships of a telemetry file (eq. 16).
    Cc(PathBuf),
    /// A model directory, an affinity Parquet or a ground-truth Parquet.
    File(PathBuf),
}

impl GraphSpec {
    /// Parses `calls:P`, `od:P`, `cc:P` or a plain path.
    pub fn parse(text: &str) -> GraphSpec {
        if let Some(p) = text.strip_prefix("calls:") {
            GraphSpec::Calls(p.into())
        } else if let Some(p) = text.strip_prefix("od:") {
            GraphSpec::Od(p.into())
        } else if let Some(p) = text.strip_prefix("cc:") {
            GraphSpec::Cc(p.into())
        } else {
            GraphSpec::File(text.into())
        }
    }
}

/// One side of a comparison: a weighted graph over named services, or a ground truth.
#[derive(Debug, Clone, PartialEq)]
pub enum Side {
    /// A graph: `matrix[i, j]` is the weight of `services[j]` for `services[i]`.
    Graph {
        /// Service order of the matrix.
        services: Vec<String>,
        /// Weights.
        matrix: Array2<f64>,
    },
    /// A ground truth (calls and planted latent dependencies).
    Truth(GroundTruth),
}

/// The learned affinity of model directory `dir`, with its service order.
pub fn read_model_affinity(dir: &Path) -> Result<(Vec<String>, Array2<f64>)> {
    let file = dir.join("affinity.parquet");
    if !file.is_file() {
        return Err(Error::Graph {
            spec: dir.display().to_string(),
            message: "no affinity.parquet; is this a model directory written by training?".into(),
        });
    }
    Ok(read_affinity(&file)?)
}

/// Reads the graph a spec names.
pub fn resolve(spec: &GraphSpec, cc: &CcOptions) -> Result<Side> {
    let graph = |services: Vec<String>, matrix| Ok(Side::Graph { services, matrix });
    match spec {
        GraphSpec::Calls(path) => {
            let edges = holoscale_datasets::io::read_edges(path)?;
            let services = edges.services();
            let m = sources::invocation(&edges, &services);
            graph(services, m)
        }
        GraphSpec::Od(path) => {
            let edges = holoscale_datasets::io::read_edges(path).map_err(|e| Error::Graph {
                spec: format!("od:{}", path.display()),
                message: format!("OD relationships are computed from call edges: {e}"),
            })?;
            let services = edges.services();
            let m = sources::od(&edges, &services);
            graph(services, m)
        }
        GraphSpec::Cc(path) => {
            let tel = holoscale_datasets::io::read_telemetry(
                path,
                &Default::default(),
                &holoscale_datasets::io::NoProgress,
            )?;
            let services = tel.services().to_vec();
            let m = sources::cc(&tel, &cc.column, &services, cc.threshold)?;
            graph(services, m)
        }
        GraphSpec::File(path) if path.is_dir() => {
            let (s, m) = read_model_affinity(path)?;
            graph(s, m)
        }
        GraphSpec::File(path) => {
            if !path.is_file() {
                return Err(Error::Graph {
                    spec: path.display().to_string(),
                    message: "no such file or directory; expected a model directory, an affinity or ground-truth Parquet, or od:EDGES, cc:TELEMETRY, calls:EDGES".into(),
                });
            }
            match read_affinity(path) {
                Ok((s, m)) => graph(s, m),
                Err(affinity_err) => match GroundTruth::read_file(path) {
                    Ok(t) => Ok(Side::Truth(t)),
                    Err(truth_err) => Err(Error::Graph {
                        spec: path.display().to_string(),
                        message: format!(
                            "neither an affinity Parquet ({affinity_err}) nor a ground-truth Parquet ({truth_err})"
                        ),
                    }),
                },
            }
        }
    }
}

/// How a graph compares with another graph or a ground truth.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// The first spec.
    pub a: String,
    /// The second spec.
    pub b: String,
    /// Services compared (every service either side names).
    pub services: usize,
    /// Weighted Jaccard similarity ([`metrics::weighted_jaccard`]).
    pub jaccard: f64,
    /// Jaccard similarity of the edge sets, weights ignored ([`metrics::set_jaccard`]).
    pub set_jaccard: f64,
    /// Precision, recall and F1 of the scored graph's strongest edges.
    #[serde(flatten)]
    pub scores: EdgeScores,
}

/// Every service named by either side, the first side's order first.
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
pub fn embed(services: &[String], m: &Array2<f64>, order: &[String]) -> Array2<f64> {
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

/// Compares two sides: the weighted Jaccard of the graphs, and precision, recall and F1 of
/// the graph's `top` strongest edges (default: as many as true pairs) against the truth, or
/// against the other graph's non-zero pairs. At least one side must be a graph; with a
/// graph on each side, `a` is scored against `b`. Services are those either side names.
pub fn compare(a: Side, b: Side, names: (&str, &str), top: Option<usize>) -> Result<Comparison> {
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
            return Err(Error::Graph {
                spec: format!("{} and {}", names.0, names.1),
                message: "both sides are ground truths; give at least one graph".into(),
            });
        }
        (Side::Graph { services, matrix }, Side::Truth(t))
        | (Side::Truth(t), Side::Graph { services, matrix }) => {
            let pairs = TruthPairs::new(&t, &services)?;
            let m = metrics::truth_matrix(&pairs, services.len());
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
    Ok(Comparison {
        a: names.0.to_string(),
        b: names.1.to_string(),
        services: services.len(),
        jaccard: metrics::weighted_jaccard(&graph, &other)?,
        set_jaccard: metrics::set_jaccard(&graph, &other)?,
        scores: metrics::edge_scores(&graph, &services, &truth, top)?,
    })
}

/// Resolves and compares two graph specs ([`resolve`], [`compare`]).
pub fn compare_specs(a: &str, b: &str, cc: &CcOptions, top: Option<usize>) -> Result<Comparison> {
    let (sa, sb) = (
        resolve(&GraphSpec::parse(a), cc)?,
        resolve(&GraphSpec::parse(b), cc)?,
    );
    compare(sa, sb, (a, b), top)
}

/// One dependency of a graph.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dependency {
    /// The service whose neighbourhood holds the edge (row).
    pub source: String,
    /// Its neighbour (column).
    pub destination: String,
    /// The weight.
    pub weight: f64,
    /// Whether the pair is a call in either direction (`None`: no call graph given).
    pub call: Option<bool>,
}

impl Dependency {
    /// `call`, `learned-only` (not a call) or `learned` (no call graph given).
    pub fn kind(&self) -> &'static str {
        match self.call {
            Some(true) => "call",
            Some(false) => "learned-only",
            None => "learned",
        }
    }
}

/// The off-diagonal non-zero entries of `m`, strongest first (ties by name), marked as
/// calls where `calls` (an invocation matrix over the same services) has the pair in
/// either direction; at most `top` of them.
pub fn dependencies(
    services: &[String],
    m: &Array2<f64>,
    calls: Option<&Array2<f64>>,
    top: Option<usize>,
) -> Vec<Dependency> {
    let mut deps: Vec<Dependency> = m
        .indexed_iter()
        .filter(|((i, j), v)| i != j && **v != 0.0)
        .map(|((i, j), &w)| Dependency {
            source: services[i].clone(),
            destination: services[j].clone(),
            weight: w,
            call: calls.map(|c| c[[i, j]] != 0.0 || c[[j, i]] != 0.0),
        })
        .collect();
    deps.sort_by(|x, y| {
        y.weight
            .total_cmp(&x.weight)
            .then_with(|| (&x.source, &x.destination).cmp(&(&y.source, &y.destination)))
    });
    if let Some(k) = top {
        deps.truncate(k);
    }
    deps
}

/// The matrix over `services` that holds only `deps` (for writing a ranked subset).
pub fn matrix_of(services: &[String], deps: &[Dependency]) -> Array2<f64> {
    let n = services.len();
    let mut k = Array2::zeros((n, n));
    for d in deps {
        let i = services.iter().position(|s| s == &d.source);
        let j = services.iter().position(|s| s == &d.destination);
        if let (Some(i), Some(j)) = (i, j) {
            k[[i, j]] = d.weight;
        }
    }
    k
}

/// The learned edges of `learned` that are not calls, strongest first: pairs `(i, j)` with
/// `i < j` and their undirected weight, at most `top`.
pub fn non_call_pairs(
    learned: &Array2<f64>,
    calls: &BTreeSet<(usize, usize)>,
    top: usize,
) -> Vec<(usize, usize, f64)> {
    let n = learned.nrows();
    metrics::top_pairs(learned, n * n)
        .into_iter()
        .filter(|(i, j, _)| !calls.contains(&(*i, *j)))
        .take(top)
        .collect()
}
