//! The forms of the estimator's two convolutions, forward and backward, side by side on
//! the CPU backends: the library's (a [t, t] shift-matrix product per time offset; one
//! product per Chebyshev term and direction) against the same functions written as one
//! product over side-by-side copies of the input (im2col), which does fewer products but
//! copies activations, and against holoscale 0.1's ChebConv (filters widened with zeros).
//! BENCHMARKS.md, "Layer forms".
//!
//! `cargo bench -p holoscale-estimator --bench layer_forms [-- ROUNDS [flex]]` (`flex`: that
//! backend only; default 5 rounds
//! of 20 steps each, alternating; the shapes of the `cpu` preset on Train-Ticket: batch 64,
//! window 24, 41 services, 32 channels). Prints the median milliseconds per
//! forward + backward step, the ratio, and the largest difference of the two forms'
//! outputs (the run fails if they disagree).

// A benchmark's output is its table.
#![allow(clippy::print_stdout)]

use std::time::Instant;

use burn::backend::{Autodiff, Flex, NdArray};
use burn::prelude::*;
use burn::tensor::Distribution;
use burn::tensor::backend::AutodiffBackend;
use holoscale_estimator::model::cheb::chebyshev_terms;
use holoscale_estimator::model::{ChebConv, ChebConvConfig, TimeConv, TimeConvConfig};

const B: usize = 64;
const T: usize = 24;
const N: usize = 41;
const C: usize = 32;

/// The time convolution as one product: the K time-shifted copies of the zero-padded input
/// side by side along the channels ([b·t·n, K·c], tap j at channels j·c..(j+1)·c, the row
/// order of W) times W [K·c, c_out].
fn time_side_by_side<B: Backend>(conv: &TimeConv<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    let [b, t, n, c] = x.dims();
    let [_, c_out] = conv.weight.dims();
    let pad = conv.kernel / 2;
    let zeros = Tensor::<B, 4>::zeros([b, pad, n, c], &x.device());
    let padded = Tensor::cat(vec![zeros.clone(), x, zeros], 1);
    let taps = (0..conv.kernel)
        .map(|j| padded.clone().slice([0..b, j..j + t, 0..n, 0..c]))
        .collect();
    let stacked = Tensor::cat(taps, 3).reshape([b * t * n, conv.kernel * c]);
    (stacked.matmul(conv.weight.val()) + conv.bias.val().reshape([1, c_out]))
        .reshape([b, t, n, c_out])
}

/// holoscale 0.1's Chebyshev convolution: each direction's filters widened with zeros to all
/// 2·half outputs, so the directions' products add up without concatenating activations.
fn cheb_zero_widened<B: Backend>(
    conv: &ChebConv<B>,
    x: Tensor<B, 4>,
    a: Tensor<B, 2>,
) -> Tensor<B, 4> {
    let [b, t, n, c] = x.dims();
    let [k, _, half] = conv.theta_fwd.dims();
    let device = x.device();
    let rows = x.reshape([b * t, n, c]);
    let zeros = Tensor::<B, 3>::zeros([k, c, half], &device);
    let w_fwd = Tensor::cat(vec![conv.theta_fwd.val(), zeros.clone()], 2);
    let w_bwd = Tensor::cat(vec![zeros, conv.theta_bwd.val()], 2);
    let filter = |w: &Tensor<B, 3>, i: usize| {
        w.clone()
            .slice([i..i + 1, 0..c, 0..2 * half])
            .reshape([c, 2 * half])
    };
    let fwd_terms = chebyshev_terms(rows.clone(), a.clone(), k);
    let bwd_terms = chebyshev_terms(rows, a.transpose(), k);
    let flat = |x: &Tensor<B, 3>| x.clone().reshape([b * t * n, c]);
    let mut out = flat(&fwd_terms[0]).matmul(filter(&w_fwd, 0) + filter(&w_bwd, 0));
    for i in 1..k {
        out = out
            + flat(&fwd_terms[i]).matmul(filter(&w_fwd, i))
            + flat(&bwd_terms[i]).matmul(filter(&w_bwd, i));
    }
    (out + conv.bias.val().reshape([1, 2 * half])).reshape([b, t, n, 2 * half])
}

/// The Chebyshev convolution with each direction as one product: its K terms side by side
/// along the channels times θ reshaped to [K·c, half], the two halves then side by side.
fn cheb_side_by_side<B: Backend>(
    conv: &ChebConv<B>,
    x: Tensor<B, 4>,
    a: Tensor<B, 2>,
) -> Tensor<B, 4> {
    let [b, t, n, c] = x.dims();
    let [k, _, half] = conv.theta_fwd.dims();
    let rows = x.reshape([b * t, n, c]);
    let side_by_side = |terms: Vec<Tensor<B, 3>>, theta: Tensor<B, 3>| {
        Tensor::cat(terms, 2)
            .reshape([b * t * n, k * c])
            .matmul(theta.reshape([k * c, half]))
    };
    let fwd = side_by_side(
        chebyshev_terms(rows.clone(), a.clone(), k),
        conv.theta_fwd.val(),
    );
    let bwd = side_by_side(
        chebyshev_terms(rows, a.transpose(), k),
        conv.theta_bwd.val(),
    );
    (Tensor::cat(vec![fwd, bwd], 1) + conv.bias.val().reshape([1, 2 * half])).reshape([
        b,
        t,
        n,
        2 * half,
    ])
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Milliseconds per forward + backward step of `f`, and the step's output.
fn time_step<A: AutodiffBackend>(
    steps: usize,
    f: &dyn Fn() -> Tensor<A, 4>,
) -> (f64, Tensor<A::InnerBackend, 4>) {
    let clock = Instant::now();
    let mut out = None;
    for _ in 0..steps {
        let y = f();
        let _grads = y.clone().powi_scalar(2).mean().backward();
        out = Some(y.inner());
    }
    (
        clock.elapsed().as_secs_f64() * 1e3 / steps as f64,
        out.expect("steps >= 1"),
    )
}

fn largest_difference<B: Backend>(x: Tensor<B, 4>, y: Tensor<B, 4>) -> f32 {
    (x - y).abs().max().into_scalar().elem::<f32>()
}

fn compare<A: AutodiffBackend>(backend: &str, rounds: usize, device: &A::Device) {
    let steps = 20;
    let x =
        Tensor::<A, 4>::random([B, T, N, C], Distribution::Normal(0.0, 1.0), device).require_grad();
    let a = Tensor::<A, 2>::random([N, N], Distribution::Uniform(0.0, 0.2), device);
    let time = TimeConvConfig::new(C, C).init::<A>(device);
    let cheb = ChebConvConfig::new(C, C).init::<A>(device);
    type Step<'a, A> = (&'a str, Box<dyn Fn() -> Tensor<A, 4> + 'a>);
    let pairs: Vec<(Step<'_, A>, Step<'_, A>)> = vec![
        (
            ("time conv", Box::new(|| time.forward(x.clone()))),
            ("", Box::new(|| time_side_by_side(&time, x.clone()))),
        ),
        (
            (
                "Chebyshev conv",
                Box::new(|| cheb.forward(x.clone(), a.clone())),
            ),
            (
                "",
                Box::new(|| cheb_side_by_side(&cheb, x.clone(), a.clone())),
            ),
        ),
        (
            (
                "Chebyshev conv, against holoscale 0.1's zero-widened filters",
                Box::new(|| cheb.forward(x.clone(), a.clone())),
            ),
            (
                "",
                Box::new(|| cheb_zero_widened(&cheb, x.clone(), a.clone())),
            ),
        ),
    ];
    for ((name, now), (_, alt)) in &pairs {
        let (mut t_now, mut t_alt) = (Vec::new(), Vec::new());
        let mut diff = 0.0f32;
        for _ in 0..rounds {
            let (ms, y_now) = time_step::<A>(steps, now.as_ref());
            t_now.push(ms);
            let (ms, y_alt) = time_step::<A>(steps, alt.as_ref());
            t_alt.push(ms);
            diff = diff.max(largest_difference(y_now, y_alt));
        }
        assert!(diff < 1e-3, "{backend} {name}: the forms differ by {diff}");
        let (m_now, m_alt) = (median(t_now), median(t_alt));
        println!(
            "| {backend} | {name} | {m_now:.2} | {m_alt:.2} | {:.2}x | {diff:.1e} |",
            m_alt / m_now
        );
    }
}

fn main() {
    let rounds = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<usize>().ok())
        .unwrap_or(5)
        .max(1);
    println!(
        "| backend | layer | ms per step, holoscale | ms per step, the other form | holoscale's speed-up | largest difference |"
    );
    println!("|---|---|---|---|---|---|");
    let flex_only = std::env::args().any(|a| a == "flex");
    compare::<Autodiff<Flex>>("Flex", rounds, &Default::default());
    if !flex_only {
        compare::<Autodiff<NdArray>>("NdArray", rounds, &Default::default());
    }
}
