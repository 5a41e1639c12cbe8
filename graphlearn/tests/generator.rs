//! The graph generator (eq. 5-6): hand-computed normalisation, and properties of generated
//! matrices over random inputs.

use burn::prelude::*;
use holoscale_estimator::backend::Cpu;
use holoscale_graphlearn::generator::{GeneratorConfig, norm_eps, norm_eps_array, sym_normalize};
use ndarray::{Array2, array};
use proptest::prelude::*;

type B = Cpu;

fn dev() -> holoscale_estimator::backend::CpuDevice {
    Default::default()
}

fn tensor(a: &Array2<f64>) -> Tensor<B, 2> {
    let v: Vec<f32> = a.iter().map(|&x| x as f32).collect();
    Tensor::from_data(TensorData::new(v, [a.nrows(), a.ncols()]), &dev())
}

fn array(t: Tensor<B, 2>) -> Array2<f64> {
    let [n, m] = t.dims();
    let v = t.into_data().to_vec::<f32>().unwrap();
    Array2::from_shape_vec((n, m), v.into_iter().map(f64::from).collect()).unwrap()
}

#[test]
fn norm_eps_by_hand() {
    // Row sums 4 and 2 (no self-loops added): D^{-1/2} A D^{-1/2}.
    let a = array![[2.0, 2.0], [1.0, 1.0]];
    let s = array(sym_normalize(tensor(&a)));
    let r8 = 8f64.sqrt();
    let first = [0.5, 2.0 / r8, 1.0 / r8, 0.5];
    for (got, want) in s.iter().zip(first) {
        assert!((got - want).abs() < 1e-6, "{s:?}");
    }
    // ε = 0.4: A2 = [[0.1, 2/√8 − 0.4], [0, 0.1]], row sums d0 = 0.2 + 2/√8 − 0.4, d1 = 0.1.
    let (x, d0, d1) = (2.0 / r8 - 0.4, 0.1 + 2.0 / r8 - 0.4, 0.1);
    let want = [0.1 / d0, x / (d0 * d1).sqrt(), 0.0, 0.1 / d1];
    let n = array(norm_eps(tensor(&a), 0.4));
    for (got, w) in n.iter().zip(want) {
        assert!((got - w).abs() < 1e-5, "{n:?} vs {want:?}");
    }
    let dense = norm_eps_array(&a, 0.4);
    for (got, w) in dense.iter().zip(want) {
        assert!((got - w).abs() < 1e-12, "{dense:?} vs {want:?}");
    }
    // An edge into a service whose row is left empty scales by 0, not by infinity.
    let sink = array(norm_eps(tensor(&array![[2.0, 2.0], [1.0, 0.0]]), 0.6));
    assert!(sink.iter().all(|v| *v == 0.0), "{sink:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn generated_matrices_are_finite_non_negative_and_sparsified(
        n in 2usize..9,
        seed in 0u64..1000,
        density in 0.1f64..1.0,
        embedding in 1usize..17,
    ) {
        let generator = {
            let _rng = holoscale_estimator::parallel::seed::<B>(&dev(), seed);
            let g = GeneratorConfig::new(n).with_embedding(embedding).init::<B>(&dev());
            holoscale_estimator::parallel::materialise(&g);
            g
        };
        let eps = 0.5 / n as f64;
        prop_assert!((generator.epsilon - eps).abs() < 1e-15);
        // A random non-negative starting matrix with self-loops.
        let a = Array2::from_shape_fn((n, n), |(i, j)| {
            let h = ((i * 31 + j * 17) as u64 ^ seed).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40;
            let u = (h % 1000) as f64 / 1000.0;
            if i == j { 1.0 } else if u < density { u } else { 0.0 }
        });
        let out = array(generator.forward(tensor(&a)));
        prop_assert!(out.iter().all(|v| v.is_finite() && *v >= 0.0), "{out:?}");
        // The mixture before Norm, recomputed: every entry at most ε after the first
        // normalisation is 0 after Norm.
        let a1 = generator.raw();
        let s = generator.gate(a1.clone(), tensor(&a));
        let ones = Tensor::<B, 2>::ones([n, n], &dev());
        let mixed = s.clone() * a1 + (ones - s) * tensor(&a);
        let first = array(sym_normalize(mixed.clone()));
        for ((i, j), v) in first.indexed_iter() {
            if *v <= eps - 1e-6 {
                prop_assert_eq!(out[[i, j]], 0.0);
            }
        }
        // The tensor Norm matches the dense one.
        let dense = norm_eps_array(&array(mixed), eps);
        for (x, y) in out.iter().zip(dense.iter()) {
            prop_assert!((x - y).abs() < 1e-4, "{x} vs {y}");
        }
    }
}
