//! Second-order gradients on the default CPU backend (SPEC 5): the MAML meta-gradient of a
//! two-layer network written with plain tensor operations, computed on the nested
//! `Autodiff<Autodiff<Cpu>>` backend, against central finite differences of the same
//! meta-objective evaluated in f64 (forward pass and inner gradient derived by hand).
//!
//! The network: `h = tanh(x W1 + b1)`, `ŷ = h W2`, loss `L = mean((ŷ − y)²)`. MAML: one inner
//! SGD step on the support set, `θ' = θ − α ∇L_s(θ)`, then the query loss `F(θ) = L_q(θ')`.
//! `∇F` needs the Hessian-vector product through `∇L_s`; first-order MAML drops it.

use burn::backend::Autodiff;
use burn::prelude::*;
use holoscale_estimator::backend::{CpuAutodiff, CpuDevice};

type Inner = CpuAutodiff;
type Outer = Autodiff<Inner>;

const D: usize = 3; // inputs
const H: usize = 4; // hidden units
const ALPHA: f64 = 0.5; // inner step

/// A deterministic sample in [-1, 1).
fn pseudo(i: usize) -> f64 {
    let x = ((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11) as f64 / (1u64 << 53) as f64;
    2.0 * x - 1.0
}

struct Set {
    x: Vec<[f64; D]>,
    y: Vec<f64>,
}

fn set(offset: usize, rows: usize) -> Set {
    let x: Vec<[f64; D]> = (0..rows)
        .map(|r| std::array::from_fn(|d| pseudo(offset + r * D + d)))
        .collect();
    let y = x
        .iter()
        .map(|v| (1.5 * v[0] - v[1]).sin() + 0.3 * v[2])
        .collect();
    Set { x, y }
}

/// Parameters, flattened: W1 `[D, H]` row-major, b1 `[H]`, W2 `[H]`.
const P: usize = D * H + H + H;

fn split(theta: &[f64]) -> (&[f64], &[f64], &[f64]) {
    let (w1, rest) = theta.split_at(D * H);
    let (b1, w2) = rest.split_at(H);
    (w1, b1, w2)
}

/// Loss and its gradient in f64, by hand.
fn loss_and_grad(theta: &[f64], s: &Set) -> (f64, Vec<f64>) {
    let (w1, b1, w2) = split(theta);
    let m = s.y.len() as f64;
    let mut loss = 0.0;
    let mut grad = vec![0.0; P];
    for (x, &y) in s.x.iter().zip(&s.y) {
        let h: Vec<f64> = (0..H)
            .map(|j| (b1[j] + (0..D).map(|d| x[d] * w1[d * H + j]).sum::<f64>()).tanh())
            .collect();
        let out: f64 = (0..H).map(|j| h[j] * w2[j]).sum();
        let e = out - y;
        loss += e * e / m;
        let de = 2.0 * e / m;
        for j in 0..H {
            grad[D * H + H + j] += de * h[j];
            let dz = de * w2[j] * (1.0 - h[j] * h[j]);
            grad[D * H + j] += dz;
            for d in 0..D {
                grad[d * H + j] += dz * x[d];
            }
        }
    }
    (loss, grad)
}

/// The MAML meta-objective in f64.
fn meta_objective(theta: &[f64], support: &Set, query: &Set) -> f64 {
    let (_, g) = loss_and_grad(theta, support);
    let adapted: Vec<f64> = theta.iter().zip(&g).map(|(t, g)| t - ALPHA * g).collect();
    loss_and_grad(&adapted, query).0
}

fn tensor<B: Backend, const K: usize>(
    v: &[f64],
    shape: [usize; K],
    dev: &B::Device,
) -> Tensor<B, K> {
    let data: Vec<f32> = v.iter().map(|&x| x as f32).collect();
    Tensor::from_data(TensorData::new(data, shape), dev)
}

/// The loss of the network with plain tensor operations.
fn loss<B: Backend>(
    w1: Tensor<B, 2>,
    b1: Tensor<B, 1>,
    w2: Tensor<B, 2>,
    s: &Set,
    dev: &B::Device,
) -> Tensor<B, 1> {
    let rows = s.y.len();
    let flat: Vec<f64> = s.x.iter().flatten().copied().collect();
    let x = tensor::<B, 2>(&flat, [rows, D], dev);
    let y = tensor::<B, 2>(&s.y, [rows, 1], dev);
    let h = (x.matmul(w1) + b1.reshape([1, H])).tanh();
    let e = h.matmul(w2) - y;
    (e.clone() * e).mean()
}

/// The meta-gradient with burn: exact second order on the nested backend, or first order.
fn burn_meta_gradient(theta: &[f64], support: &Set, query: &Set, second_order: bool) -> Vec<f64> {
    let dev = CpuDevice::default();
    let (w1, b1, w2) = split(theta);
    // θ lives on the inner autodiff level; the outer level differentiates the support loss.
    let w1_i = tensor::<Inner, 2>(w1, [D, H], &dev).require_grad();
    let b1_i = tensor::<Inner, 1>(b1, [H], &dev).require_grad();
    let w2_i = tensor::<Inner, 2>(w2, [H, 1], &dev).require_grad();
    let lift = |t: &Tensor<Inner, 2>| Tensor::<Outer, 2>::from_inner(t.clone()).require_grad();
    let (w1_o, w2_o) = (lift(&w1_i), lift(&w2_i));
    let b1_o = Tensor::<Outer, 1>::from_inner(b1_i.clone()).require_grad();
    let grads = loss::<Outer>(w1_o.clone(), b1_o.clone(), w2_o.clone(), support, &dev).backward();
    let mut g_w1 = w1_o.grad(&grads).expect("W1 gradient");
    let mut g_b1 = b1_o.grad(&grads).expect("b1 gradient");
    let mut g_w2 = w2_o.grad(&grads).expect("W2 gradient");
    if !second_order {
        g_w1 = g_w1.detach();
        g_b1 = g_b1.detach();
        g_w2 = g_w2.detach();
    }
    let adapted_w1 = w1_i.clone() - g_w1.mul_scalar(ALPHA);
    let adapted_b1 = b1_i.clone() - g_b1.mul_scalar(ALPHA);
    let adapted_w2 = w2_i.clone() - g_w2.mul_scalar(ALPHA);
    let meta = loss::<Inner>(adapted_w1, adapted_b1, adapted_w2, query, &dev).backward();
    let flat = |t: Option<
        Tensor<<Inner as burn::tensor::backend::AutodiffBackend>::InnerBackend, 2>,
    >|
     -> Vec<f64> {
        t.expect("meta-gradient")
            .into_data()
            .to_vec::<f32>()
            .unwrap()
            .into_iter()
            .map(f64::from)
            .collect()
    };
    let mut out = flat(w1_i.grad(&meta));
    out.extend(
        b1_i.grad(&meta)
            .expect("meta-gradient")
            .into_data()
            .to_vec::<f32>()
            .unwrap()
            .into_iter()
            .map(f64::from),
    );
    out.extend(flat(w2_i.grad(&meta)));
    out
}

#[test]
#[allow(clippy::print_stderr)] // prints the errors for BENCHMARKS.md
fn nested_autodiff_meta_gradient_matches_finite_differences() {
    let theta: Vec<f64> = (0..P).map(|i| 0.8 * pseudo(1000 + i)).collect();
    let (support, query) = (set(0, 14), set(500, 6)); // a 70/30 split of 20 rows
    // Central differences of the f64 meta-objective.
    let eps = 1e-5;
    let numeric: Vec<f64> = (0..P)
        .map(|i| {
            let mut up = theta.clone();
            let mut down = theta.clone();
            up[i] += eps;
            down[i] -= eps;
            (meta_objective(&up, &support, &query) - meta_objective(&down, &support, &query))
                / (2.0 * eps)
        })
        .collect();
    let exact = burn_meta_gradient(&theta, &support, &query, true);
    let first = burn_meta_gradient(&theta, &support, &query, false);
    let max_diff = |a: &[f64]| {
        a.iter()
            .zip(&numeric)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f64, f64::max)
    };
    let scale = numeric.iter().map(|v| v.abs()).fold(0.0f64, f64::max);
    assert!(
        scale > 1e-2,
        "the meta-gradient is not trivially small: {scale}"
    );
    let (err_exact, err_first) = (max_diff(&exact), max_diff(&first));
    // Printed for BENCHMARKS.md (`cargo test -p holoscale-estimator --test second_order --
    // --nocapture`).
    eprintln!(
        "largest meta-gradient entry {scale:.3e}; error: second order {err_exact:.2e}, \
         first order {err_first:.2e}"
    );
    // f32 arithmetic in burn against f64 finite differences.
    assert!(
        err_exact < 1e-4,
        "second-order meta-gradient off by {err_exact} (first order: {err_first})"
    );
    // The second-order term matters here: first-order MAML is visibly further off.
    assert!(
        err_first > 20.0 * err_exact.max(1e-6),
        "first-order MAML should differ: {err_first} against {err_exact}"
    );
}
