//! T-Attention (DeepScaler eq. 11-12): attention over the time steps of a window.

use burn::module::{Initializer, Param};
use burn::prelude::*;
use burn::tensor::activation::{sigmoid, softmax};

/// Configuration of [`TAttention`].
#[derive(Config, Debug)]
pub struct TAttentionConfig {
    /// Time steps τ of the window.
    pub window: usize,
    /// Services N.
    pub services: usize,
    /// Channels (features) C of the input.
    pub channels: usize,
}

/// Temporal attention: `E = V_e · σ(((Xᵀ U1) U2)(U3 X) + b_e)`, `E' = softmax(E)` over the
/// last axis, `X̂ = E' X` along time.
///
/// Parameters: `U1 ∈ R^N`, `U2 ∈ R^{C×N}`, `U3 ∈ R^C`, `b_e, V_e ∈ R^{τ×τ}`.
#[derive(Module, Debug)]
pub struct TAttention<B: Backend> {
    /// `U1`, `[N]`.
    pub u1: Param<Tensor<B, 1>>,
    /// `U2`, `[C, N]`.
    pub u2: Param<Tensor<B, 2>>,
    /// `U3`, `[C]`.
    pub u3: Param<Tensor<B, 1>>,
    /// `b_e`, `[τ, τ]`.
    pub be: Param<Tensor<B, 2>>,
    /// `V_e`, `[τ, τ]`.
    pub ve: Param<Tensor<B, 2>>,
}

impl TAttentionConfig {
    /// Initialises the parameters (Xavier-normal matrices, zero bias).
    pub fn init<B: Backend>(&self, device: &B::Device) -> TAttention<B> {
        let xavier = Initializer::XavierNormal { gain: 1.0 };
        let (t, n, c) = (self.window, self.services, self.channels);
        TAttention {
            u1: Initializer::Normal {
                mean: 0.0,
                std: (1.0 / n as f64).sqrt(),
            }
            .init([n], device),
            u2: xavier.init_with([c, n], Some(c), Some(n), device),
            u3: Initializer::Normal {
                mean: 0.0,
                std: (1.0 / c as f64).sqrt(),
            }
            .init([c], device),
            be: Initializer::Zeros.init([t, t], device),
            ve: xavier.init_with([t, t], Some(t), Some(t), device),
        }
    }
}

impl<B: Backend> TAttention<B> {
    /// The normalised attention `E'`.
    ///
    /// - input `x`: `[batch, window, services, channels]`
    /// - output: `[batch, window, window]`, each row summing to one
    pub fn weights(&self, x: Tensor<B, 4>) -> Tensor<B, 3> {
        let [b, t, n, c] = x.dims();
        // (Xᵀ U1): contract services, Σ_n X[.., n, c] U1[n] -> [b, t, c], as a broadcast
        // batched product U1ᵀ [1, n] @ X [n, c] over the b·t rows (X is already in that
        // layout). holoscale 0.1 multiplied by U1 broadcast to [1, 1, n, 1] and summed, which
        // on Flex takes a strided element-by-element path forward and backward (a sixth of
        // the training time in the profile; BENCHMARKS.md, "Where the training time goes").
        let xt_u1 = self
            .u1
            .val()
            .reshape([1, 1, n])
            .matmul(x.clone().reshape([b * t, n, c]))
            .reshape([b * t, c]);
        // (Xᵀ U1) U2: one [b·t, c] @ [c, n] product -> [b, t, n]
        let lhs = xt_u1.matmul(self.u2.val()).reshape([b, t, n]);
        // U3 X: contract channels, one [b·t·n, c] @ [c, 1] product -> [b, t, n] -> [b, n, t]
        let rhs = x
            .reshape([b * t * n, c])
            .matmul(self.u3.val().reshape([c, 1]))
            .reshape([b, t, n])
            .swap_dims(1, 2);
        // [b, t, n] @ [b, n, t] -> [b, t, t]
        let product = lhs.matmul(rhs);
        let e = self
            .ve
            .val()
            .unsqueeze::<3>()
            .matmul(sigmoid(product + self.be.val().unsqueeze::<3>())); // [b, t, t]
        softmax(e, 2)
    }

    /// Applies the attention.
    ///
    /// - input `x`: `[batch, window, services, channels]`
    /// - output: `[batch, window, services, channels]`
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let [b, t, n, c] = x.dims();
        let e = self.weights(x.clone()); // [b, t, t]
        // X̂_i = Σ_j E'_{ij} X_j: [b, t, t] @ [b, t, n·c] -> [b, t, n·c]
        e.matmul(x.reshape([b, t, n * c])).reshape([b, t, n, c])
    }
}
