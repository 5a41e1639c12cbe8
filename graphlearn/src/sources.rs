//! Affinity sources (DeepScaler section IV-B and eq. 15-16; SPEC 4): the invocation graph of
//! the call edges, origin-destination (OD) and correlation-coefficient (CC) relationships,
//! symmetric normalisation with self-loops, the union of a set (eq. 3), and conversions
//! between dense matrices and petgraph graphs.
//!
//! Matrices are `[N, N]` in a given service order; entry `(i, j)` is the weight of the
//! dependency of `i` on `j` (for calls: `i` calls `j`).

use ndarray::{Array2, ArrayView2};
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use holoscale_datasets::{CallEdges, Telemetry};

pub use holoscale_estimator::affinity::{invocation, normalize};

/// Which matrices start the affinity set besides the invocation graph (or the identity
/// without call edges). DeepScaler starts from the invocation graph alone, the default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GraphSources {
    /// Add the OD relationships of the call edges (eq. 15).
    pub od: bool,
    /// Add the CC relationships (eq. 16) of this telemetry column over the training steps,
    /// with this threshold.
    pub cc: Option<(String, f64)>,
}

/// Kinds of affinity, as written in the `kind` column of affinity Parquet (SPEC 2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AffinityKind {
    /// Call edges (from traces or the simulator).
    Invocation,
    /// Origin-destination relationships (eq. 15).
    Od,
    /// Correlation-coefficient relationships (eq. 16).
    Cc,
    /// Learned by the EM loop.
    Learned,
}

impl AffinityKind {
    /// Name in files.
    pub fn as_str(self) -> &'static str {
        match self {
            AffinityKind::Invocation => "invocation",
            AffinityKind::Od => "od",
            AffinityKind::Cc => "cc",
            AffinityKind::Learned => "learned",
        }
    }
}

/// Origin-destination relationships (eq. 15): `A[i, j]` is the average request rate from
/// service `i` to service `j`, kept where it exceeds half of the largest rate out of `i`,
/// else 0. Not normalised.
pub fn od(edges: &CallEdges, services: &[String]) -> Array2<f64> {
    let n = services.len();
    let index = |s: &str| services.iter().position(|x| x == s);
    let mut rate = Array2::zeros((n, n));
    for e in edges.aggregate() {
        if let (Some(i), Some(j)) = (index(&e.source), index(&e.destination))
            && i != j
            && e.req_rate.is_finite()
            && e.req_rate > 0.0
        {
            rate[[i, j]] += e.req_rate;
        }
    }
    for mut row in rate.rows_mut() {
        let max = row.iter().cloned().fold(0.0, f64::max);
        row.mapv_inplace(|v| if v > max / 2.0 { v } else { 0.0 });
    }
    rate
}

/// Ranks of `x` (1-based, ties get their average rank).
pub fn ranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && x[order[j + 1]] == x[order[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

/// Pearson correlation of two equally long series; `None` when either is constant.
pub fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len() as f64;
    if x.len() < 2 || x.len() != y.len() {
        return None;
    }
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    if sxx <= 0.0 || syy <= 0.0 {
        return None;
    }
    Some(sxy / (sxx * syy).sqrt())
}

/// Spearman rank correlation: Pearson correlation of the ranks, over the steps where both
/// series are finite. `None` when fewer than 3 such steps remain or either is constant.
pub fn spearman(x: &[f64], y: &[f64]) -> Option<f64> {
    let (a, b): (Vec<f64>, Vec<f64>) = x
        .iter()
        .zip(y)
        .filter(|(a, b)| a.is_finite() && b.is_finite())
        .map(|(a, b)| (*a, *b))
        .unzip();
    if a.len() < 3 {
        return None;
    }
    pearson(&ranks(&a), &ranks(&b))
}

/// Correlation-coefficient relationships (eq. 16) of `series` (`[time, services]`): `A[i, j]`
/// is the absolute Spearman rank correlation of services `i` and `j`, kept where it exceeds
/// `threshold`, else 0; the diagonal is 0. Constant series correlate with nothing.
pub fn cc_matrix(series: ArrayView2<'_, f64>, threshold: f64) -> Result<Array2<f64>> {
    if !(0.0..1.0).contains(&threshold) {
        return Err(Error::param("cc_threshold", "must be in [0, 1)"));
    }
    let n = series.ncols();
    let cols: Vec<Vec<f64>> = (0..n).map(|j| series.column(j).to_vec()).collect();
    let mut a = Array2::zeros((n, n));
    for i in 0..n {
        for j in i + 1..n {
            if let Some(r) = spearman(&cols[i], &cols[j]) {
                let r = r.abs();
                if r > threshold {
                    a[[i, j]] = r;
                    a[[j, i]] = r;
                }
            }
        }
    }
    Ok(a)
}

/// CC relationships (eq. 16) of one telemetry column, in the order of `services`.
pub fn cc(
    tel: &Telemetry,
    column: &str,
    services: &[String],
    threshold: f64,
) -> Result<Array2<f64>> {
    let values = tel.column(column)?;
    let idx = services
        .iter()
        .map(|s| tel.require_service(s))
        .collect::<holoscale_datasets::Result<Vec<_>>>()?;
    let series = values.select(ndarray::Axis(1), &idx);
    cc_matrix(series.view(), threshold)
}

/// The union of a set of matrices (eq. 3): every entry is the mean of the members' entries
/// over the members where it is non-zero (0 where all are 0). Members are expected
/// normalised (eq. 3 normalises each with self-loops as it enters the set; see
/// [`normalize`]), so the union of one matrix is that matrix. An empty set is an error.
pub fn union(set: &[Array2<f64>]) -> Result<Array2<f64>> {
    let first = set
        .first()
        .ok_or_else(|| Error::param("affinity set", "needs at least one matrix"))?;
    let dim = first.dim();
    if let Some(bad) = set.iter().find(|m| m.dim() != dim) {
        return Err(Error::Mismatch {
            what: "affinity set".into(),
            message: format!("matrices of shapes {dim:?} and {:?}", bad.dim()),
        });
    }
    Ok(Array2::from_shape_fn(dim, |ij| {
        let (sum, count) = set
            .iter()
            .map(|m| m[ij])
            .filter(|&v| v != 0.0)
            .fold((0.0, 0usize), |(s, c), v| (s + v, c + 1));
        if count > 0 { sum / count as f64 } else { 0.0 }
    }))
}

/// A directed graph of the non-zero entries of `a`: nodes are the services (weights their
/// names), edges `i → j` carry `A[i, j]`. The diagonal is left out.
pub fn to_graph(services: &[String], a: &Array2<f64>) -> Result<DiGraph<String, f64>> {
    check_square(services, a, "affinity")?;
    let mut g = DiGraph::with_capacity(services.len(), 0);
    let nodes: Vec<NodeIndex> = services.iter().map(|s| g.add_node(s.clone())).collect();
    for ((i, j), &w) in a.indexed_iter() {
        if i != j && w != 0.0 {
            g.add_edge(nodes[i], nodes[j], w);
        }
    }
    Ok(g)
}

/// The matrix of `graph` in the order of `services` (parallel edges add up). Nodes that are
/// not among `services` are an error naming them.
pub fn from_graph(graph: &DiGraph<String, f64>, services: &[String]) -> Result<Array2<f64>> {
    let n = services.len();
    let index = |node: NodeIndex| {
        let name = &graph[node];
        services
            .iter()
            .position(|s| s == name)
            .ok_or_else(|| Error::Mismatch {
                what: "graph".into(),
                message: format!("node `{name}` is not one of the {n} services"),
            })
    };
    let mut a = Array2::zeros((n, n));
    for e in graph.edge_references() {
        let (i, j) = (index(e.source())?, index(e.target())?);
        a[[i, j]] += *e.weight();
    }
    Ok(a)
}

pub(crate) fn check_square(services: &[String], a: &Array2<f64>, what: &str) -> Result<()> {
    let n = services.len();
    if a.dim() != (n, n) {
        return Err(Error::Mismatch {
            what: what.into(),
            message: format!("a {:?} matrix for {n} services", a.dim()),
        });
    }
    Ok(())
}
