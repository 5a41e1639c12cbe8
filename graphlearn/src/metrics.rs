//! Dependency-capture metrics (DeepScaler Fig. 11; SPEC 4): weighted Jaccard similarity
//! between two graphs, and precision, recall and F1 of a graph's strongest edges against a
//! ground truth, also for the latent (non-call) edges alone.
//!
//! Dependencies are compared as undirected pairs: the weight of `{i, j}` is
//! `max(A[i, j], A[j, i])`, and self-loops are left out (every normalised matrix has them).

use std::collections::BTreeSet;

use ndarray::Array2;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::sources::check_square;
use holoscale_datasets::truth::{GroundTruth, TruthKind};

/// The undirected weights of `a`: `max(A[i, j], A[j, i])` off the diagonal, 0 on it.
pub fn undirected(a: &Array2<f64>) -> Array2<f64> {
    Array2::from_shape_fn(a.dim(), |(i, j)| {
        if i == j {
            0.0
        } else {
            a[[i, j]].max(a[[j, i]]).max(0.0)
        }
    })
}

/// Weighted Jaccard similarity of two graphs over the same services: each is made undirected
/// and scaled so that its strongest edge weighs 1; then, per service with an edge in either
/// graph, `Σ_j min(a_ij, b_ij) / Σ_j max(a_ij, b_ij)`, averaged over those services. Two
/// graphs without edges are identical (1).
pub fn weighted_jaccard(a: &Array2<f64>, b: &Array2<f64>) -> Result<f64> {
    if a.dim() != b.dim() || a.nrows() != a.ncols() {
        return Err(Error::Mismatch {
            what: "weighted Jaccard".into(),
            message: format!("matrices of shapes {:?} and {:?}", a.dim(), b.dim()),
        });
    }
    let scale = |m: &Array2<f64>| {
        let u = undirected(m);
        let max = u.iter().cloned().fold(0.0, f64::max);
        if max > 0.0 { u / max } else { u }
    };
    let (a, b) = (scale(a), scale(b));
    let mut sum = 0.0;
    let mut nodes = 0usize;
    for i in 0..a.nrows() {
        let (mut lo, mut hi) = (0.0, 0.0);
        for j in 0..a.ncols() {
            lo += a[[i, j]].min(b[[i, j]]);
            hi += a[[i, j]].max(b[[i, j]]);
        }
        if hi > 0.0 {
            sum += lo / hi;
            nodes += 1;
        }
    }
    Ok(if nodes == 0 { 1.0 } else { sum / nodes as f64 })
}

/// Jaccard similarity of the two graphs' edge sets: the undirected pairs with a positive
/// weight in both, over those with a positive weight in either (`|A ∩ B| / |A ∪ B|`),
/// ignoring the weights. Two graphs without edges are identical (1). Unlike
/// [`weighted_jaccard`], a binary graph (the call graph) and a rate-weighted one (OD) with
/// the same pairs score 1.
pub fn set_jaccard(a: &Array2<f64>, b: &Array2<f64>) -> Result<f64> {
    if a.dim() != b.dim() || a.nrows() != a.ncols() {
        return Err(Error::Mismatch {
            what: "Jaccard of edge sets".into(),
            message: format!("matrices of shapes {:?} and {:?}", a.dim(), b.dim()),
        });
    }
    let (a, b) = (undirected(a), undirected(b));
    let (mut both, mut either) = (0usize, 0usize);
    for i in 0..a.nrows() {
        for j in i + 1..a.ncols() {
            let (x, y) = (a[[i, j]] > 0.0, b[[i, j]] > 0.0);
            both += usize::from(x && y);
            either += usize::from(x || y);
        }
    }
    Ok(if either == 0 {
        1.0
    } else {
        both as f64 / either as f64
    })
}

/// The true dependencies of a set of services, as undirected pairs `(i, j)` with `i < j`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TruthPairs {
    /// Every true pair (call or latent).
    pub all: BTreeSet<(usize, usize)>,
    /// The latent pairs that are not also calls.
    pub latent: BTreeSet<(usize, usize)>,
}

impl TruthPairs {
    /// The pairs of `truth` in the order of `services`. A truth edge naming another service
    /// is an error naming it.
    pub fn new(truth: &GroundTruth, services: &[String]) -> Result<TruthPairs> {
        let index = |s: &str| {
            services
                .iter()
                .position(|x| x == s)
                .ok_or_else(|| Error::Mismatch {
                    what: "ground truth".into(),
                    message: format!(
                        "names service `{s}`, which is not among the graph's {} services",
                        services.len()
                    ),
                })
        };
        let mut out = TruthPairs::default();
        let mut calls = BTreeSet::new();
        for e in &truth.edges {
            let (i, j) = (index(&e.source)?, index(&e.destination)?);
            if i == j {
                continue;
            }
            let pair = (i.min(j), i.max(j));
            out.all.insert(pair);
            if e.kind == TruthKind::Call {
                calls.insert(pair);
            } else {
                out.latent.insert(pair);
            }
        }
        out.latent.retain(|p| !calls.contains(p));
        Ok(out)
    }
}

/// The truth as a symmetric 0/1 matrix over `n` services: 1 for every true pair.
pub fn truth_matrix(pairs: &TruthPairs, n: usize) -> Array2<f64> {
    let mut m = Array2::zeros((n, n));
    for &(i, j) in &pairs.all {
        m[[i, j]] = 1.0;
        m[[j, i]] = 1.0;
    }
    m
}

/// How well a graph's strongest edges recover a ground truth.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EdgeScores {
    /// Edges taken from the graph (its `k` strongest undirected pairs with positive weight).
    pub k: usize,
    /// Share of the taken edges that are true.
    pub precision: f64,
    /// Share of the true edges that were taken.
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 when both are 0).
    pub f1: f64,
    /// Share of the latent (non-call) true edges that were taken; `None` (and left out of
    /// JSON) without latent edges.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latent_recall: Option<f64>,
}

/// The `k` strongest undirected pairs of `a` with positive weight, strongest first (ties by
/// index, so the order is deterministic).
pub fn top_pairs(a: &Array2<f64>, k: usize) -> Vec<(usize, usize, f64)> {
    let u = undirected(a);
    let n = u.nrows();
    let mut pairs: Vec<(usize, usize, f64)> = (0..n)
        .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
        .map(|(i, j)| (i, j, u[[i, j]]))
        .filter(|p| p.2 > 0.0)
        .collect();
    pairs.sort_by(|x, y| y.2.total_cmp(&x.2).then((x.0, x.1).cmp(&(y.0, y.1))));
    pairs.truncate(k);
    pairs
}

/// Precision, recall and F1 of the `k` strongest edges of `a` against `truth` (`k`: the
/// number of true pairs when `None`), and the recall of the latent pairs alone.
pub fn edge_scores(
    a: &Array2<f64>,
    services: &[String],
    truth: &TruthPairs,
    k: Option<usize>,
) -> Result<EdgeScores> {
    check_square(services, a, "graph")?;
    let k = k.unwrap_or(truth.all.len());
    let taken: BTreeSet<(usize, usize)> = top_pairs(a, k)
        .into_iter()
        .map(|(i, j, _)| (i, j))
        .collect();
    let hits = taken.intersection(&truth.all).count() as f64;
    let precision = if taken.is_empty() {
        0.0
    } else {
        hits / taken.len() as f64
    };
    let recall = if truth.all.is_empty() {
        0.0
    } else {
        hits / truth.all.len() as f64
    };
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    let latent_recall = (!truth.latent.is_empty())
        .then(|| taken.intersection(&truth.latent).count() as f64 / truth.latent.len() as f64);
    Ok(EdgeScores {
        k,
        precision,
        recall,
        f1,
        latent_recall,
    })
}
