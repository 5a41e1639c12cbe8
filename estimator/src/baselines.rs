//! Baselines on the same data pipeline (SPEC 3): persistence (last value), seasonal naive,
//! a GRU over each service's own series (shared weights, no graph), and a T-GCN-style model
//! (a graph convolution over the fixed invocation graph, then a GRU).

use burn::nn::gru::{Gru, GruConfig};
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::relu;
use ndarray::Array3;

use crate::model::Forecaster;
use holoscale_datasets::tensor::Windowed;

/// Persistence: every horizon step repeats the target's last value in the window.
///
/// Returns standardised predictions `[windows, horizon, services]`.
pub fn persistence(data: &Windowed, starts: &[usize]) -> Array3<f32> {
    let (tau, h) = (data.spec.input, data.spec.horizon);
    let n = data.services.len();
    Array3::from_shape_fn((starts.len(), h, n), |(w, _, s)| {
        data.target[[starts[w] + tau - 1, s]]
    })
}

/// Seasonal naive: step `t` repeats the target `season` steps earlier, or the last value in
/// the window when the data do not reach that far back.
pub fn seasonal_naive(data: &Windowed, starts: &[usize], season: usize) -> Array3<f32> {
    let (tau, h) = (data.spec.input, data.spec.horizon);
    let n = data.services.len();
    Array3::from_shape_fn((starts.len(), h, n), |(w, k, s)| {
        let t = starts[w] + tau + k;
        if season > 0 && t >= season && t - season < starts[w] + tau {
            data.target[[t - season, s]]
        } else {
            data.target[[starts[w] + tau - 1, s]]
        }
    })
}

/// Configuration of [`GruForecaster`].
#[derive(Config, Debug)]
pub struct GruForecasterConfig {
    /// Input features.
    pub features: usize,
    /// Horizon H.
    #[config(default = 1)]
    pub horizon: usize,
    /// Hidden units.
    #[config(default = 64)]
    pub hidden: usize,
}

/// A GRU over each service's own series; all services share the weights; no graph.
#[derive(Module, Debug)]
pub struct GruForecaster<B: Backend> {
    /// The recurrent layer.
    pub gru: Gru<B>,
    /// Hidden state to horizon.
    pub output: Linear<B>,
}

impl GruForecasterConfig {
    /// Initialises the model.
    pub fn init<B: Backend>(&self, device: &B::Device) -> GruForecaster<B> {
        GruForecaster {
            gru: GruConfig::new(self.features, self.hidden, true).init(device),
            output: LinearConfig::new(self.hidden, self.horizon).init(device),
        }
    }
}

/// Runs a GRU over every service's sequence and maps the last hidden state to the horizon.
///
/// - `x`: `[batch, window, services, channels]`
/// - output: `[batch, horizon, services]`
fn gru_per_service<B: Backend>(gru: &Gru<B>, output: &Linear<B>, x: Tensor<B, 4>) -> Tensor<B, 3> {
    let [b, t, n, c] = x.dims();
    let seqs = x.swap_dims(1, 2).reshape([b * n, t, c]); // [b·n, t, c]
    let hidden = gru.forward(seqs, None); // [b·n, t, hidden]
    let [_, _, d] = hidden.dims();
    let last = hidden.slice([0..b * n, t - 1..t, 0..d]).reshape([b * n, d]);
    let out = output.forward(last); // [b·n, horizon]
    let [_, h] = out.dims();
    out.reshape([b, n, h]).swap_dims(1, 2) // [b, horizon, n]
}

impl<B: Backend> Forecaster<B> for GruForecaster<B> {
    fn forecast(&self, x: Tensor<B, 4>, _a: Tensor<B, 2>) -> Tensor<B, 3> {
        gru_per_service(&self.gru, &self.output, x)
    }
}

/// Configuration of [`Tgcn`].
#[derive(Config, Debug)]
pub struct TgcnConfig {
    /// Input features.
    pub features: usize,
    /// Horizon H.
    #[config(default = 1)]
    pub horizon: usize,
    /// Hidden units of the graph convolution and the GRU.
    #[config(default = 64)]
    pub hidden: usize,
}

/// T-GCN style: at every time step a graph convolution `ReLU(Â X W)` over the fixed
/// invocation graph, then a GRU per service over time.
#[derive(Module, Debug)]
pub struct Tgcn<B: Backend> {
    /// Graph-convolution weights.
    pub gcn: Linear<B>,
    /// The recurrent layer.
    pub gru: Gru<B>,
    /// Hidden state to horizon.
    pub output: Linear<B>,
}

impl TgcnConfig {
    /// Initialises the model.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Tgcn<B> {
        Tgcn {
            gcn: LinearConfig::new(self.features, self.hidden).init(device),
            gru: GruConfig::new(self.hidden, self.hidden, true).init(device),
            output: LinearConfig::new(self.hidden, self.horizon).init(device),
        }
    }
}

impl<B: Backend> Forecaster<B> for Tgcn<B> {
    fn forecast(&self, x: Tensor<B, 4>, a: Tensor<B, 2>) -> Tensor<B, 3> {
        let [b, t, n, c] = x.dims();
        // Â X per time step: [1, n, n] @ [b·t, n, c] -> [b·t, n, c]
        let ax = a.unsqueeze::<3>().matmul(x.reshape([b * t, n, c]));
        let h = relu(self.gcn.forward(ax)); // [b·t, n, hidden]
        let [_, _, d] = h.dims();
        gru_per_service(&self.gru, &self.output, h.reshape([b, t, n, d]))
    }
}
