//! The graph generator G of DeepScaler eq. 5-6 (SPEC 4), as a burn module:
//!
//! `A1 = ReLU(M1 M2ᵀ − M2 M1ᵀ + diag(Λ))`, `S = sigmoid(h([A1, A]))` with `h` a 1×1
//! convolution over the two matrices, `G(A) = Norm(S ⊙ A1 + (1 − S) ⊙ A)`, where `Norm`
//! normalises symmetrically, subtracts ε, applies ReLU and normalises again (eq. 6).

use burn::module::{Initializer, Param};
use burn::prelude::*;
use burn::tensor::activation::{relu, sigmoid};
use ndarray::Array2;

/// Configuration of [`GraphGenerator`]. Reference: embedding 64, ε = 0.5/N.
#[derive(Config, Debug)]
pub struct GeneratorConfig {
    /// Services N.
    pub services: usize,
    /// Embedding size of M1 and M2.
    #[config(default = 64)]
    pub embedding: usize,
    /// Sparsification threshold ε of eq. 6; `None`: 0.5/N.
    #[config(default = "None")]
    pub epsilon: Option<f64>,
    /// Standard deviation of the embedding entries; `None`: `(2d)^(-1/4)`, so that the
    /// entries of `M1 M2ᵀ − M2 M1ᵀ` start with unit variance, the scale of Λ. The paper does
    /// not give its initialisation; much smaller embeddings make every generated edge fall
    /// under ε after normalisation, where ReLU passes no gradient and G cannot learn.
    #[config(default = "None")]
    pub init_std: Option<f64>,
}

impl GeneratorConfig {
    /// ε: the configured value or 0.5/N.
    pub fn epsilon_value(&self) -> f64 {
        self.epsilon.unwrap_or(0.5 / self.services.max(1) as f64)
    }

    /// The embeddings' standard deviation: the configured one or `(2d)^(-1/4)`.
    pub fn init_std_value(&self) -> f64 {
        self.init_std
            .unwrap_or_else(|| (2.0 * self.embedding.max(1) as f64).powf(-0.25))
    }

    /// Initialises M1, M2 from N(0, σ²) with σ of [`GeneratorConfig::init_std_value`],
    /// Λ = 1 (self-loops), and a gate that starts at S = 1/2.
    pub fn init<B: Backend>(&self, device: &B::Device) -> GraphGenerator<B> {
        let (n, d) = (self.services, self.embedding);
        let std = self.init_std_value();
        let normal = Initializer::Normal { mean: 0.0, std };
        GraphGenerator {
            m1: normal.init([n, d], device),
            m2: normal.init([n, d], device),
            lambda: Initializer::Ones.init([n], device),
            gate_weight: Initializer::Zeros.init([2], device),
            gate_bias: Initializer::Zeros.init([1], device),
            epsilon: self.epsilon_value(),
        }
    }
}

/// The graph generator.
#[derive(Module, Debug)]
pub struct GraphGenerator<B: Backend> {
    /// Source embeddings M1, `[N, d]`.
    pub m1: Param<Tensor<B, 2>>,
    /// Destination embeddings M2, `[N, d]`.
    pub m2: Param<Tensor<B, 2>>,
    /// Self-loop weights Λ, `[N]`.
    pub lambda: Param<Tensor<B, 1>>,
    /// Weights of the 1×1 gate convolution over `[A1, A]`, `[2]`.
    pub gate_weight: Param<Tensor<B, 1>>,
    /// Bias of the gate convolution, `[1]`.
    pub gate_bias: Param<Tensor<B, 1>>,
    /// Sparsification threshold ε.
    pub epsilon: f64,
}

/// `D^{-1/2} A D^{-1/2}` with `D` the row sums of `A` (rows summing to 0 scale by 0).
pub fn sym_normalize<B: Backend>(a: Tensor<B, 2>) -> Tensor<B, 2> {
    let [n, _] = a.dims();
    let d = a.clone().sum_dim(1); // [n, 1]
    let empty = d.clone().lower_equal_elem(0.0);
    let inv = d.clamp_min(1e-12).powf_scalar(-0.5).mask_fill(empty, 0.0); // [n, 1]
    a * inv.clone() * inv.reshape([1, n])
}

/// `Norm` of eq. 6: `A2 = ReLU(D^{-1/2} A D^{-1/2} − ε)`, then `D2^{-1/2} A2 D2^{-1/2}`.
pub fn norm_eps<B: Backend>(a: Tensor<B, 2>, epsilon: f64) -> Tensor<B, 2> {
    sym_normalize(relu(sym_normalize(a).sub_scalar(epsilon)))
}

/// [`norm_eps`] on a dense matrix (for the combination of eq. 9).
pub fn norm_eps_array(a: &Array2<f64>, epsilon: f64) -> Array2<f64> {
    let sym = holoscale_estimator::affinity::sym_normalize;
    sym(&sym(a).mapv(|v| (v - epsilon).max(0.0)))
}

impl<B: Backend> GraphGenerator<B> {
    /// `A1 = ReLU(M1 M2ᵀ − M2 M1ᵀ + diag(Λ))`, `[N, N]`.
    pub fn raw(&self) -> Tensor<B, 2> {
        let (m1, m2) = (self.m1.val(), self.m2.val());
        let [n, _] = m1.dims();
        let antisym = m1.clone().matmul(m2.clone().transpose()) - m2.matmul(m1.transpose());
        let eye = Tensor::<B, 2>::eye(n, &antisym.device());
        relu(antisym + eye * self.lambda.val().reshape([1, n]))
    }

    /// The gate `S = sigmoid(w₁ A1 + w₂ A + b)`, `[N, N]`.
    pub fn gate(&self, a1: Tensor<B, 2>, a: Tensor<B, 2>) -> Tensor<B, 2> {
        let w = self.gate_weight.val();
        let w1 = w.clone().narrow(0, 0, 1).reshape([1, 1]);
        let w2 = w.narrow(0, 1, 1).reshape([1, 1]);
        sigmoid(a1 * w1 + a * w2 + self.gate_bias.val().reshape([1, 1]))
    }

    /// `G(A) = Norm(S ⊙ A1 + (1 − S) ⊙ A)`.
    ///
    /// - `a`: `[N, N]`, the current affinity
    /// - output: `[N, N]`, non-negative, sparsified by ε
    pub fn forward(&self, a: Tensor<B, 2>) -> Tensor<B, 2> {
        let a1 = self.raw();
        let s = self.gate(a1.clone(), a.clone());
        let mixed = s.clone() * a1 + (s.neg().add_scalar(1.0)) * a;
        norm_eps(mixed, self.epsilon)
    }
}
