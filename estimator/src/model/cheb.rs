//! Two-direction Chebyshev graph convolution (DeepScaler eq. 13, SPEC 3).

use burn::module::{Initializer, Param};
use burn::prelude::*;

/// Configuration of [`ChebConv`].
#[derive(Config, Debug)]
pub struct ChebConvConfig {
    /// Input channels.
    pub channels_in: usize,
    /// Output channels (half per direction; must be even).
    pub channels_out: usize,
    /// Order K: terms T0 .. T(K-1).
    #[config(default = 3)]
    pub k: usize,
}

/// ChebConv of order K over the affinity Â and its transpose:
/// `T0 = X`, `T1 = ÂX`, `Tk = 2ÂT(k-1) − T(k-2)`; `out = [Σ_k Tk(Â) Θ_k, Σ_k Tk(Âᵀ) Θ'_k]`
/// (half the filters each direction, concatenated). The caller applies ReLU.
#[derive(Module, Debug)]
pub struct ChebConv<B: Backend> {
    /// Forward-direction filters, `[K, C_in, C_out/2]`.
    pub theta_fwd: Param<Tensor<B, 3>>,
    /// Backward-direction filters, `[K, C_in, C_out/2]`.
    pub theta_bwd: Param<Tensor<B, 3>>,
    /// Bias, `[C_out]`.
    pub bias: Param<Tensor<B, 1>>,
}

impl ChebConvConfig {
    /// Initialises the filters (Xavier-normal per term) and a zero bias.
    pub fn init<B: Backend>(&self, device: &B::Device) -> ChebConv<B> {
        assert!(self.k >= 1, "ChebConv needs K >= 1");
        assert!(
            self.channels_out.is_multiple_of(2),
            "ChebConv splits its filters over two directions"
        );
        let half = self.channels_out / 2;
        let init = Initializer::XavierNormal { gain: 1.0 };
        let shape = [self.k, self.channels_in, half];
        ChebConv {
            theta_fwd: init.init_with(shape, Some(self.channels_in * self.k), Some(half), device),
            theta_bwd: init.init_with(shape, Some(self.channels_in * self.k), Some(half), device),
            bias: Initializer::Zeros.init([self.channels_out], device),
        }
    }
}

/// The Chebyshev terms of `x` over `a`.
///
/// - `x`: `[rows, services, channels]`, `a`: `[services, services]`
/// - output: K tensors `[rows, services, channels]`
pub fn chebyshev_terms<B: Backend>(
    x: Tensor<B, 3>,
    a: Tensor<B, 2>,
    k: usize,
) -> Vec<Tensor<B, 3>> {
    let a = a.unsqueeze::<3>(); // [1, n, n], broadcast over rows
    let mut terms = vec![x.clone()];
    if k > 1 {
        terms.push(a.clone().matmul(x)); // [rows, n, c]
    }
    for i in 2..k {
        let next = a.clone().matmul(terms[i - 1].clone()).mul_scalar(2.0) - terms[i - 2].clone();
        terms.push(next);
    }
    terms
}

impl<B: Backend> ChebConv<B> {
    /// Applies the convolution to every time step.
    ///
    /// - `x`: `[batch, window, services, channels_in]`, `a`: `[services, services]`
    /// - output: `[batch, window, services, channels_out]` (before ReLU)
    pub fn forward(&self, x: Tensor<B, 4>, a: Tensor<B, 2>) -> Tensor<B, 4> {
        let [b, t, n, c] = x.dims();
        let [k, _, half] = self.theta_fwd.dims();
        let rows = x.reshape([b * t, n, c]); // [b·t, n, c]
        // Each direction: Σ_i T_i θ_i, one [b·t·n, c] @ [c, half] product per term (a
        // broadcast batched product would be b·t small ones, forward and backward); the two
        // directions' [b·t·n, half] results are placed side by side once. holoscale 0.1
        // widened each filter with zeros to 2·half channels so that no activations were
        // concatenated, which doubles the multiplications and is 1.2x slower on Flex;
        // concatenating the K terms instead (one product per direction) is 2-3x slower
        // (BENCHMARKS.md, "Layer forms").
        let sum = |terms: Vec<Tensor<B, 3>>, theta: Tensor<B, 3>| {
            terms
                .into_iter()
                .enumerate()
                .map(|(i, term)| {
                    let w = theta
                        .clone()
                        .slice([i..i + 1, 0..c, 0..half])
                        .reshape([c, half]);
                    term.reshape([b * t * n, c]).matmul(w)
                })
                .reduce(|acc, y| acc + y)
                .expect("ChebConv has K >= 1")
        };
        let fwd = sum(
            chebyshev_terms(rows.clone(), a.clone(), k),
            self.theta_fwd.val(),
        );
        let bwd = sum(
            chebyshev_terms(rows, a.transpose(), k),
            self.theta_bwd.val(),
        );
        let out = Tensor::cat(vec![fwd, bwd], 1) + self.bias.val().reshape([1, 2 * half]);
        out.reshape([b, t, n, 2 * half])
    }
}
