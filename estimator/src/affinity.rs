//! The affinity the estimator starts from: the invocation graph of the call edges, with
//! self-loops and symmetric normalisation (SPEC 4: `Ã = A + I`, `A ← D̃^{-1/2} Ã D̃^{-1/2}`).
//! The graph-learning crate builds the other affinity sources on these pieces.

use ndarray::Array2;

use holoscale_datasets::CallEdges;

/// The binary invocation matrix: `A[i, j] = 1` when service `i` calls service `j` (on average
/// at a positive rate), in the order of `services`. Edges naming other services are ignored.
pub fn invocation(edges: &CallEdges, services: &[String]) -> Array2<f64> {
    let n = services.len();
    let index = |s: &str| services.iter().position(|x| x == s);
    let mut a = Array2::zeros((n, n));
    for e in edges.aggregate() {
        if let (Some(i), Some(j)) = (index(&e.source), index(&e.destination))
            && i != j
            && e.req_rate > 0.0
        {
            a[[i, j]] = 1.0;
        }
    }
    a
}

/// Symmetric normalisation with self-loops: `D̃^{-1/2} (A + I) D̃^{-1/2}`, `D̃` the row sums of
/// `A + I`.
pub fn normalize(a: &Array2<f64>) -> Array2<f64> {
    sym_normalize(&(a + &Array2::<f64>::eye(a.nrows())))
}

/// Symmetric normalisation without added self-loops: `D^{-1/2} A D^{-1/2}`, `D` the row
/// sums of `A`; rows summing to 0 scale by 0.
pub fn sym_normalize(a: &Array2<f64>) -> Array2<f64> {
    let inv_sqrt: Vec<f64> = a
        .rows()
        .into_iter()
        .map(|r| {
            let d: f64 = r.sum();
            if d > 0.0 { 1.0 / d.sqrt() } else { 0.0 }
        })
        .collect();
    Array2::from_shape_fn(a.dim(), |(i, j)| inv_sqrt[i] * a[[i, j]] * inv_sqrt[j])
}

#[cfg(test)]
mod tests {
    use super::*;
    use holoscale_datasets::CallEdges;

    #[test]
    fn invocation_and_normalisation_by_hand() {
        let edges =
            CallEdges::from_static(&[("a", "b", 2.0), ("a", "c", 1.0), ("x", "a", 1.0)]).unwrap();
        let services = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        let a = invocation(&edges, &services);
        assert_eq!(a.row(0).to_vec(), [0.0, 1.0, 1.0]);
        assert_eq!(a.row(1).to_vec(), [0.0, 0.0, 0.0]);
        let n = normalize(&a);
        // Row sums of A + I: a = 3, b = 1, c = 1.
        assert!((n[[0, 0]] - 1.0 / 3.0).abs() < 1e-12);
        assert!((n[[0, 1]] - 1.0 / 3f64.sqrt()).abs() < 1e-12);
        assert!((n[[1, 1]] - 1.0).abs() < 1e-12);
        assert_eq!(n[[1, 0]], 0.0);
        // The union of no edges is the identity.
        let empty = normalize(&Array2::zeros((2, 2)));
        assert_eq!(empty, Array2::<f64>::eye(2));
    }
}
