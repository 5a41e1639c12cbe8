//! The spatio-temporal attention GCN of DeepScaler section IV-C (SPEC 3).
//!
//! Stacked blocks, each: T-Attention (eq. 11-12), two-direction ChebConv of order K over the
//! normalised affinity (eq. 13) and ReLU, a length-preserving time convolution, a residual
//! 1×1 projection of the block input, ReLU, and LayerNorm over channels (eq. 14). A final
//! map, shared by all services, takes each service's window × channels to the horizon.
//!
//! Two options that are holoscale's, not the paper's, both off in the faithful network
//! (`None`): a learned embedding per service appended to its input features at every time
//! step ([`StgcnConfig::service_embedding`]), and a per-service gain and offset on the output
//! ([`StgcnConfig::service_head`]). With weights shared by every service and one
//! standardisation per feature, the faithful network maps the same inputs to the same
//! output whatever the service; a service's own capacity (requests per replica) has to be
//! inferred from the other features. The embedding lets the shared weights tell the
//! services apart.

pub mod attention;
pub mod cheb;

use burn::module::{Initializer, Param};
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::relu;

pub use attention::{TAttention, TAttentionConfig};
pub use cheb::{ChebConv, ChebConvConfig};

/// A model that maps a window of multi-service telemetry and an affinity matrix to the next
/// steps of the target.
pub trait Forecaster<B: Backend> {
    /// - `x`: `[batch, window, services, features]` (standardised)
    /// - `a`: `[services, services]` (normalised affinity)
    /// - output: `[batch, horizon, services]` (standardised target)
    fn forecast(&self, x: Tensor<B, 4>, a: Tensor<B, 2>) -> Tensor<B, 3>;
}

/// Configuration of [`TimeConv`].
#[derive(Config, Debug)]
pub struct TimeConvConfig {
    /// Input channels.
    pub channels_in: usize,
    /// Output channels.
    pub channels_out: usize,
    /// Kernel length along time (odd).
    #[config(default = 5)]
    pub kernel: usize,
}

/// A length-preserving convolution along time (zero padding), per service.
#[derive(Module, Debug)]
pub struct TimeConv<B: Backend> {
    /// Weights, `[kernel · C_in, C_out]` (kernel offset major).
    pub weight: Param<Tensor<B, 2>>,
    /// Bias, `[C_out]`.
    pub bias: Param<Tensor<B, 1>>,
    /// Kernel length.
    pub kernel: usize,
}

impl TimeConvConfig {
    /// Initialises Kaiming-uniform weights and a zero bias.
    pub fn init<B: Backend>(&self, device: &B::Device) -> TimeConv<B> {
        assert!(
            self.kernel % 2 == 1,
            "the time kernel must be odd to preserve length"
        );
        let fan_in = self.kernel * self.channels_in;
        TimeConv {
            weight: Initializer::KaimingUniform {
                gain: 1.0 / 3f64.sqrt(),
                fan_out_only: false,
            }
            .init_with(
                [fan_in, self.channels_out],
                Some(fan_in),
                Some(self.channels_out),
                device,
            ),
            bias: Initializer::Zeros.init([self.channels_out], device),
            kernel: self.kernel,
        }
    }
}

impl<B: Backend> TimeConv<B> {
    /// - input: `[batch, window, services, C_in]`
    /// - output: `[batch, window, services, C_out]`
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let [b, t, n, c] = x.dims();
        let [_, c_out] = self.weight.dims();
        let pad = self.kernel / 2;
        let device = x.device();
        // out[τ] = Σ_j X[τ + j − pad] W_j (zero outside the window). Each offset is a product
        // with its filter W_j followed by a product with a [t, t] shift matrix, so there is
        // no padding, slicing or concatenation of activations (those copies, forward and
        // backward, dominated the CPU training time).
        // The filters act on [b·t·n, c] rows as one 2-D product each (a broadcast 4-D
        // product would be b·t small products, forward and backward).
        let rows = x.reshape([b * t * n, c]);
        let mut out: Option<Tensor<B, 3>> = None;
        for j in 0..self.kernel {
            let w = self.weight.val().slice([j * c..(j + 1) * c, 0..c_out]); // [c, c_out]
            let mixed = rows.clone().matmul(w).reshape([b, t, n * c_out]);
            let term = if j == pad {
                mixed
            } else {
                let mut shift = vec![0.0f32; t * t];
                for row in 0..t {
                    let src = row as isize + j as isize - pad as isize;
                    if (0..t as isize).contains(&src) {
                        shift[row * t + src as usize] = 1.0;
                    }
                }
                let shift = Tensor::<B, 2>::from_data(TensorData::new(shift, [t, t]), &device);
                shift.unsqueeze::<3>().matmul(mixed) // [b, t, n·c_out]
            };
            out = Some(match out {
                Some(acc) => acc + term,
                None => term,
            });
        }
        out.expect("kernel >= 1").reshape([b, t, n, c_out])
            + self.bias.val().reshape([1, 1, 1, c_out])
    }
}

/// Configuration of one [`StBlock`].
#[derive(Config, Debug)]
pub struct StBlockConfig {
    /// Window τ.
    pub window: usize,
    /// Services N.
    pub services: usize,
    /// Input channels.
    pub channels_in: usize,
    /// Chebyshev filters (split over the two directions).
    pub cheb_filters: usize,
    /// Time-convolution filters.
    pub time_filters: usize,
    /// Chebyshev order K.
    pub cheb_k: usize,
    /// Time-convolution kernel.
    pub time_kernel: usize,
}

/// One spatio-temporal block.
#[derive(Module, Debug)]
pub struct StBlock<B: Backend> {
    /// T-Attention.
    pub attention: TAttention<B>,
    /// Two-direction ChebConv.
    pub cheb: ChebConv<B>,
    /// Time convolution.
    pub time: TimeConv<B>,
    /// Residual 1×1 projection of the block input.
    pub residual: Linear<B>,
    /// LayerNorm over channels.
    pub norm: LayerNorm<B>,
}

impl StBlockConfig {
    /// Initialises the block.
    pub fn init<B: Backend>(&self, device: &B::Device) -> StBlock<B> {
        StBlock {
            attention: TAttentionConfig::new(self.window, self.services, self.channels_in)
                .init(device),
            cheb: ChebConvConfig::new(self.channels_in, self.cheb_filters)
                .with_k(self.cheb_k)
                .init(device),
            time: TimeConvConfig::new(self.cheb_filters, self.time_filters)
                .with_kernel(self.time_kernel)
                .init(device),
            residual: LinearConfig::new(self.channels_in, self.time_filters).init(device),
            norm: LayerNormConfig::new(self.time_filters).init(device),
        }
    }
}

impl<B: Backend> StBlock<B> {
    /// - `x`: `[batch, window, services, C_in]`, `a`: `[services, services]`
    /// - output: `[batch, window, services, time_filters]`
    pub fn forward(&self, x: Tensor<B, 4>, a: Tensor<B, 2>) -> Tensor<B, 4> {
        let attended = self.attention.forward(x.clone()); // [b, t, n, c_in]
        let spatial = relu(self.cheb.forward(attended, a)); // [b, t, n, cheb]
        let temporal = self.time.forward(spatial); // [b, t, n, time]
        let residual = self.residual.forward(x); // [b, t, n, time]
        self.norm.forward(relu(temporal + residual)) // [b, t, n, time]
    }
}

/// Configuration of the estimator network. Defaults are DeepScaler's released code (2 blocks,
/// K = 3, 128 Chebyshev and 128 time filters, τ = 80, H = 1); [`StgcnConfig::cpu`] is a
/// smaller preset for CPUs.
#[derive(Config, Debug)]
pub struct StgcnConfig {
    /// Services N.
    pub services: usize,
    /// Input features F.
    pub features: usize,
    /// Window τ.
    #[config(default = 80)]
    pub window: usize,
    /// Horizon H.
    #[config(default = 1)]
    pub horizon: usize,
    /// Stacked blocks.
    #[config(default = 2)]
    pub blocks: usize,
    /// Chebyshev order K.
    #[config(default = 3)]
    pub cheb_k: usize,
    /// Chebyshev filters per block (half per direction).
    #[config(default = 128)]
    pub cheb_filters: usize,
    /// Time-convolution filters per block.
    #[config(default = 128)]
    pub time_filters: usize,
    /// Time-convolution kernel.
    #[config(default = 5)]
    pub time_kernel: usize,
    /// Width of a learned per-service embedding appended to the input features at every
    /// time step (holoscale's option; `None` or 0, as in the paper: no embedding).
    pub service_embedding: Option<usize>,
    /// A learned gain and offset per service and horizon step on the output (holoscale's
    /// option; `None` or `false`, as in the paper: the output map alone).
    pub service_head: Option<bool>,
    /// Predict the change from the last value in the window of this input feature, the
    /// target's own column when the target is an input (holoscale's option, as the trees
    /// baseline does; `None`, as in the paper: the level itself). The target and the
    /// feature share one standardisation, so the change is added in standardised units.
    pub residual_feature: Option<usize>,
}

impl StgcnConfig {
    /// The CPU preset: 2 blocks, K = 3, 32 Chebyshev and 32 time filters, τ = 3.
    ///
    /// The window is holoscale's choice, measured (BENCHMARKS.md, "Closing the gap"): on
    /// simulated Online Boutique the next interval's replica need is read off the last few
    /// intervals, and windows of 24, 6, 3 and 2 steps gave test MAE 0.1215, 0.1115, 0.1079
    /// and 0.1109 over 3 seeds; 3 steps also trains about 4 times faster than 24.
    pub fn cpu(services: usize, features: usize) -> StgcnConfig {
        StgcnConfig::new(services, features)
            .with_window(3)
            .with_cheb_filters(32)
            .with_time_filters(32)
    }

    /// Width of the service embedding (0: none).
    pub fn embedding_width(&self) -> usize {
        self.service_embedding.unwrap_or(0)
    }

    /// Whether the network has the per-service output gain and offset.
    pub fn has_service_head(&self) -> bool {
        self.service_head.unwrap_or(false)
    }

    /// Initialises the network.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Stgcn<B> {
        let width = self.embedding_width();
        let blocks = (0..self.blocks)
            .map(|i| {
                StBlockConfig {
                    window: self.window,
                    services: self.services,
                    channels_in: if i == 0 {
                        self.features + width
                    } else {
                        self.time_filters
                    },
                    cheb_filters: self.cheb_filters,
                    time_filters: self.time_filters,
                    cheb_k: self.cheb_k,
                    time_kernel: self.time_kernel,
                }
                .init(device)
            })
            .collect();
        // The embedding starts at the scale of a standardised feature; the head starts as
        // the identity, so an initialised network computes what the faithful one would on
        // the same features plus the embedding.
        let embedding = (width > 0).then(|| {
            Initializer::Normal {
                mean: 0.0,
                std: 1.0,
            }
            .init([self.services, width], device)
        });
        let head = self.has_service_head().then(|| ServiceHead {
            gain: Initializer::Ones.init([self.services, self.horizon], device),
            offset: Initializer::Zeros.init([self.services, self.horizon], device),
        });
        Stgcn {
            blocks,
            output: LinearConfig::new(self.window * self.time_filters, self.horizon).init(device),
            embedding,
            head,
            residual_feature: self.residual_feature,
        }
    }
}

/// A gain and an offset per service and horizon step, applied to the shared output map.
#[derive(Module, Debug)]
pub struct ServiceHead<B: Backend> {
    /// `[services, horizon]`, starts at 1.
    pub gain: Param<Tensor<B, 2>>,
    /// `[services, horizon]`, starts at 0.
    pub offset: Param<Tensor<B, 2>>,
}

/// The spatio-temporal attention GCN.
#[derive(Module, Debug)]
pub struct Stgcn<B: Backend> {
    /// Stacked blocks.
    pub blocks: Vec<StBlock<B>>,
    /// Final map from window × channels to horizon, shared by all services.
    pub output: Linear<B>,
    /// Learned per-service embedding `[services, width]` ([`StgcnConfig::service_embedding`]).
    pub embedding: Option<Param<Tensor<B, 2>>>,
    /// Per-service output gain and offset ([`StgcnConfig::service_head`]).
    pub head: Option<ServiceHead<B>>,
    /// Input feature whose last value the output is added to
    /// ([`StgcnConfig::residual_feature`]).
    pub residual_feature: Option<usize>,
}

impl<B: Backend> Stgcn<B> {
    /// - `x`: `[batch, window, services, features]`, `a`: `[services, services]`
    /// - output: `[batch, horizon, services]`
    pub fn forward(&self, x: Tensor<B, 4>, a: Tensor<B, 2>) -> Tensor<B, 3> {
        let last = self.residual_feature.map(|f| {
            let [b, t, n, _] = x.dims();
            x.clone()
                .slice([0..b, t - 1..t, 0..n, f..f + 1])
                .reshape([b, 1, n])
        });
        let mut h = match &self.embedding {
            Some(e) => {
                let [b, t, n, _] = x.dims();
                let [_, width] = e.dims();
                let e = e.val().reshape([1, 1, n, width]).expand([b, t, n, width]);
                Tensor::cat(vec![x, e], 3)
            }
            None => x,
        };
        for block in &self.blocks {
            h = block.forward(h, a.clone()); // [b, t, n, c]
        }
        let [b, t, n, c] = h.dims();
        // Per service, the whole window through the output layer: Σ_{τ,c} h[b, τ, n, c] ·
        // W[τ·c + c, :] + bias, as products per time step (W [τ·c, H] viewed as [τ, c, H],
        // broadcast over the batch) summed over τ. holoscale 0.1 moved the services ahead of
        // the time steps first (a copy forward, and a non-contiguous gradient into the last
        // LayerNorm's backward); same parameters, same function.
        let horizon = self.output.weight.dims()[1];
        let w = self.output.weight.val().reshape([1, t, c, horizon]);
        let mut out = h.matmul(w).sum_dim(1).reshape([b, n, horizon]); // [b, n, H]
        if let Some(bias) = &self.output.bias {
            out = out + bias.val().reshape([1, 1, horizon]);
        }
        if let Some(head) = &self.head {
            out = out * head.gain.val().unsqueeze::<3>() + head.offset.val().unsqueeze::<3>();
        }
        let out = out.swap_dims(1, 2); // [b, horizon, n]
        match last {
            Some(last) => out + last, // [b, 1, n] over every horizon step
            None => out,
        }
    }
}

impl<B: Backend> Forecaster<B> for Stgcn<B> {
    fn forecast(&self, x: Tensor<B, 4>, a: Tensor<B, 2>) -> Tensor<B, 3> {
        self.forward(x, a)
    }
}
