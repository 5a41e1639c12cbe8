//! Affinity sources and dependency metrics against hand-computed cases.

use approx::assert_abs_diff_eq;
use holoscale_datasets::CallEdges;
use holoscale_datasets::truth::LatentKind;
use holoscale_datasets::truth::{GroundTruth, TruthEdge, TruthKind};
use holoscale_graphlearn::metrics::{
    TruthPairs, edge_scores, set_jaccard, top_pairs, weighted_jaccard,
};
use holoscale_graphlearn::sources::{
    cc_matrix, from_graph, normalize, od, ranks, spearman, to_graph, union,
};
use ndarray::{Array2, array};

fn close(got: &Array2<f64>, want: &Array2<f64>) {
    assert_eq!(got.dim(), want.dim());
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-12, "{got:?} vs {want:?}");
    }
}

fn names(n: &[&str]) -> Vec<String> {
    n.iter().map(|s| s.to_string()).collect()
}

#[test]
fn od_keeps_rates_above_half_the_row_maximum() {
    let edges = CallEdges::from_static(&[
        ("a", "b", 4.0),
        ("a", "c", 1.0),
        ("a", "d", 3.0),
        ("b", "c", 2.0),
        ("c", "c", 9.0), // self-calls are not dependencies
    ])
    .unwrap();
    let s = names(&["a", "b", "c", "d"]);
    let m = od(&edges, &s);
    // Row a: max 4, half 2 -> b (4) and d (3) kept, c (1) dropped. Row b: c (2 > 1) kept.
    assert_eq!(m.row(0).to_vec(), [0.0, 4.0, 0.0, 3.0]);
    assert_eq!(m.row(1).to_vec(), [0.0, 0.0, 2.0, 0.0]);
    assert_eq!(m.row(2).to_vec(), [0.0; 4]);
}

#[test]
fn spearman_and_cc_by_hand() {
    assert_eq!(ranks(&[10.0, 20.0, 20.0, 30.0]), [1.0, 2.5, 2.5, 4.0]);
    let x = [1.0, 2.0, 3.0, 4.0, 5.0];
    let w = [1.0, 3.0, 2.0, 5.0, 4.0];
    // Σd² = 0 + 1 + 1 + 1 + 1 = 4: ρ = 1 − 6·4 / (5·24) = 0.8.
    assert_abs_diff_eq!(spearman(&x, &w).unwrap(), 0.8, epsilon = 1e-12);
    // Monotone transforms do not change ranks; NaN steps are skipped pairwise.
    let y = [1.0, 8.0, 27.0, f64::NAN, 125.0];
    assert_abs_diff_eq!(spearman(&x, &y).unwrap(), 1.0, epsilon = 1e-12);
    assert!(spearman(&x, &[2.0; 5]).is_none(), "a constant series");

    let z = [5.0, 4.0, 3.0, 2.0, 1.0];
    let series = Array2::from_shape_fn((5, 3), |(t, j)| [x, z, w][j][t]);
    let high = cc_matrix(series.view(), 0.85).unwrap();
    // |ρ(x, z)| = 1 kept; ρ(x, w) = 0.8 and |ρ(z, w)| = 0.8 are under 0.85.
    assert_eq!(
        high,
        array![[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    );
    let low = cc_matrix(series.view(), 0.75).unwrap();
    assert_abs_diff_eq!(low[[0, 2]], 0.8, epsilon = 1e-12);
    assert_abs_diff_eq!(low[[2, 1]], 0.8, epsilon = 1e-12);
    assert!(cc_matrix(series.view(), 1.5).is_err());
}

#[test]
fn normalisation_and_union_by_hand() {
    let a1 = array![[0.0, 1.0], [0.0, 0.0]];
    let a2 = array![[0.0, 0.0], [1.0, 0.0]];
    // A1 + I = [[1, 1], [0, 1]], row sums 2 and 1.
    let n1 = normalize(&a1);
    let r = 1.0 / 2f64.sqrt();
    close(&n1, &array![[0.5, r], [0.0, 1.0]]);
    let n2 = normalize(&a2);
    close(&n2, &array![[1.0, 0.0], [r, 0.5]]);
    // Mean over the members where the entry is non-zero.
    let u = union(&[n1.clone(), n2]).unwrap();
    close(&u, &array![[0.75, r], [r, 0.75]]);
    // The union of one matrix is itself.
    assert_eq!(union(std::slice::from_ref(&n1)).unwrap(), n1);
    assert!(union(&[]).is_err());
    assert!(union(&[n1, Array2::zeros((3, 3))]).is_err());
}

#[test]
fn graphs_and_matrices_convert_both_ways() {
    let s = names(&["a", "b", "c"]);
    let m = array![[0.5, 2.0, 0.0], [0.0, 0.0, 1.5], [0.25, 0.0, 0.0]];
    let g = to_graph(&s, &m).unwrap();
    assert_eq!(g.node_count(), 3);
    assert_eq!(g.edge_count(), 3, "the diagonal is left out");
    let back = from_graph(&g, &s).unwrap();
    let mut off = m.clone();
    off[[0, 0]] = 0.0;
    assert_eq!(back, off);
    // Another service order permutes the matrix.
    let r = from_graph(&g, &names(&["c", "b", "a"])).unwrap();
    assert_eq!(r[[2, 1]], 2.0);
    assert!(from_graph(&g, &names(&["a", "b"])).is_err());
    assert!(to_graph(&names(&["a"]), &m).is_err());
}

#[test]
fn weighted_jaccard_by_hand() {
    let a = array![[0.0, 1.0, 0.0], [0.0, 0.0, 0.5], [0.0, 0.0, 0.0]];
    let b = array![[0.0, 2.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]];
    // Scaled to max 1 and undirected: node 0: 1/1; node 1: (1 + 0)/(1 + 0.5); node 2: 0/0.5.
    assert_abs_diff_eq!(
        weighted_jaccard(&a, &b).unwrap(),
        5.0 / 9.0,
        epsilon = 1e-12
    );
    assert_abs_diff_eq!(weighted_jaccard(&a, &a).unwrap(), 1.0, epsilon = 1e-12);
    // Direction and self-loops do not matter.
    let mut at = a.t().to_owned();
    at[[1, 1]] = 3.0;
    assert_abs_diff_eq!(weighted_jaccard(&a, &at).unwrap(), 1.0, epsilon = 1e-12);
    assert!(weighted_jaccard(&a, &Array2::zeros((2, 2))).is_err());
}

#[test]
fn set_jaccard_by_hand() {
    // Pairs of a: {0,1} (weight 1), {1,2} (0.5); of b: {0,1} (weight 9), {0,2}, {2,3}.
    let a = array![
        [0.0, 1.0, 0.0, 0.0],
        [0.0, 0.0, 0.5, 0.0],
        [0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0]
    ];
    let b = array![
        [0.0, 9.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0],
        [0.3, 0.0, 0.0, 0.0],
        [0.0, 0.0, 4.0, 0.0]
    ];
    // One shared pair of four in either: 1/4, whatever the weights.
    assert_abs_diff_eq!(set_jaccard(&a, &b).unwrap(), 0.25, epsilon = 1e-12);
    // The weights do not matter, the weighted measure does: the binary copy of b scores 1.
    let binary = b.mapv(|v| f64::from(u8::from(v > 0.0)));
    assert_abs_diff_eq!(set_jaccard(&binary, &b).unwrap(), 1.0, epsilon = 1e-12);
    // Weighted, b scaled by 9: rows (1 + 1/30)/2, 1, (1/30 + 4/9)/2, 4/9; mean 0.55.
    assert_abs_diff_eq!(
        weighted_jaccard(&binary, &b).unwrap(),
        0.55,
        epsilon = 1e-12
    );
    // Direction and self-loops do not matter; no edges on either side is identity.
    let mut at = a.t().to_owned();
    at[[0, 0]] = 2.0;
    assert_abs_diff_eq!(set_jaccard(&a, &at).unwrap(), 1.0, epsilon = 1e-12);
    let zero = Array2::zeros((4, 4));
    assert_abs_diff_eq!(set_jaccard(&zero, &zero).unwrap(), 1.0, epsilon = 1e-12);
    assert!(set_jaccard(&a, &Array2::zeros((2, 2))).is_err());
}

#[test]
fn edge_scores_by_hand() {
    let s = names(&["a", "b", "c", "d"]);
    let edge = |x: &str, y: &str, kind| TruthEdge {
        source: x.into(),
        destination: y.into(),
        kind,
        via: None,
    };
    let truth = GroundTruth {
        edges: vec![
            edge("a", "b", TruthKind::Call),
            edge("c", "b", TruthKind::Latent(LatentKind::CoLocated)),
        ],
    };
    let pairs = TruthPairs::new(&truth, &s).unwrap();
    assert_eq!(pairs.all.len(), 2);
    assert_eq!(pairs.latent.len(), 1);
    // Strongest two pairs: {a, b} (0.9) and {c, d} (0.7); {b, c} (0.1) is third.
    let mut m = Array2::zeros((4, 4));
    m[[1, 0]] = 0.9;
    m[[2, 3]] = 0.7;
    m[[1, 2]] = 0.1;
    assert_eq!(top_pairs(&m, 2), vec![(0, 1, 0.9), (2, 3, 0.7)]);
    let sc = edge_scores(&m, &s, &pairs, None).unwrap();
    assert_eq!(sc.k, 2);
    assert_abs_diff_eq!(sc.precision, 0.5);
    assert_abs_diff_eq!(sc.recall, 0.5);
    assert_abs_diff_eq!(sc.f1, 0.5);
    assert_eq!(sc.latent_recall, Some(0.0));
    let all = edge_scores(&m, &s, &pairs, Some(3)).unwrap();
    assert_abs_diff_eq!(all.recall, 1.0);
    assert_eq!(all.latent_recall, Some(1.0));
    assert_abs_diff_eq!(all.precision, 2.0 / 3.0);
    // A truth naming another service is an error naming it.
    let bad = GroundTruth {
        edges: vec![edge("a", "zz", TruthKind::Call)],
    };
    let err = TruthPairs::new(&bad, &s).unwrap_err().to_string();
    assert!(err.contains("zz"), "{err}");
}
