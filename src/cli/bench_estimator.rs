//! `holoscale bench train`: training throughput and one-decision latency of the estimator,
//! the figures BENCHMARKS.md compares with the PyTorch peer (`peers/stgcn_torch.py`).
//!
//! It trains with the options of `holoscale train` (use a few `--epochs`), saves the model
//! to `--out` so the peer reads the very same configuration, affinity and normaliser, then
//! evaluates on the test range and times `predict_window` on the latest raw window. It always
//! trains on the fixed starting graph (EM options are refused; `benches/graphlearn.sh`
//! times the EM loop).

use std::time::{Duration, Instant};

use anyhow::Result;
use burn::tensor::backend::AutodiffBackend;
use clap::Args;
use serde::Serialize;

use holoscale::datasets::{self as ds, tensor::Split};
use holoscale::estimator::Estimator;
use holoscale::estimator::evaluate::{EvalOptions, evaluate};
use holoscale::estimator::training::ModelSpec;

use super::device::on_device;
use super::measure::{median, peak_rss_mib};
use super::output::print_json;
use super::train::{EM_FLAGS, TrainArgs};

#[derive(Debug, Args)]
pub struct TrainBenchArgs {
    #[command(flatten)]
    train: TrainArgs,
    /// Timed one-step decisions (`predict_window` on the latest raw window).
    #[arg(long, default_value_t = 200)]
    decisions: usize,
}

#[derive(Debug, Serialize)]
struct TrainBench {
    implementation: &'static str,
    device: String,
    /// Threads each batch was split over.
    threads: usize,
    services: usize,
    features: usize,
    window: usize,
    filters: usize,
    train_windows: usize,
    epochs: usize,
    epoch_seconds: Vec<f64>,
    /// Median over epochs of training windows per second (forward, backward, Adam step).
    windows_per_s: f64,
    test_mae: f64,
    test_rmse: f64,
    decisions: usize,
    decision_p50_ms: f64,
    decision_p99_ms: f64,
    peak_rss_mib: Option<f64>,
}

pub fn run(a: TrainBenchArgs) -> Result<()> {
    super::refuse_given(
        &EM_FLAGS,
        "set EM graph learning; bench train times training on the fixed graph (benches/graphlearn.sh times the EM loop)",
    )?;
    super::refuse_given(&["resume"], "does not apply to bench train")?;
    let tel = a.train.data.load()?;
    let edges = a
        .train
        .edges
        .as_deref()
        .map(ds::io::read_edges)
        .transpose()?;
    let device_name = a.train.device.name();
    on_device!(a.train.device, |AB, device| bench_on::<AB>(
        &tel,
        edges.as_ref(),
        &a,
        device_name,
        device
    ))
}

fn bench_on<AB: AutodiffBackend>(
    tel: &ds::Telemetry,
    edges: Option<&ds::CallEdges>,
    a: &TrainBenchArgs,
    device_name: &str,
    device: AB::Device,
) -> Result<()> {
    let opts = a.train.options()?;
    let trained = holoscale::estimator::train::<AB>(tel, edges, &opts, &device, &mut |r| {
        tracing::info!(
            "epoch {}/{}: train loss {:.4}, validation MAE {:.4}, {:.1} s",
            r.epoch,
            r.max_epochs,
            r.train_loss,
            r.val_mae,
            r.seconds
        )
    })?;
    let windows = trained.data.starts(Split::Train).len();
    let epoch_seconds: Vec<f64> = trained.artifact.history.iter().map(|e| e.seconds).collect();
    let mut rates: Vec<Duration> = epoch_seconds
        .iter()
        .map(|&s| Duration::from_secs_f64(s / windows.max(1) as f64))
        .collect();
    let per_window = median(&mut rates).as_secs_f64();

    let ev = evaluate::<AB>(
        &trained.artifact,
        tel,
        edges,
        &EvalOptions {
            baselines: Vec::new(),
            season: 1,
            rounded: false,
            baseline_epochs: None,
            threads: a.train.threads,
            ..EvalOptions::default()
        },
        &device,
        &mut |_, _| {},
    )?;
    let overall = ev
        .rows
        .iter()
        .find(|r| r.service == "all" && r.horizon == 0)
        .ok_or_else(|| anyhow::anyhow!("evaluation returned no overall row"))?;

    trained.artifact.save(&a.train.out, a.train.force)?;
    let est = Estimator::<AB::InnerBackend>::load_on(&a.train.out, device)?;
    let tau = trained.data.spec.input;
    // One decision: the latest raw window, in the model's service and feature order, through
    // `predict_window` (standardise, forward, invert, round).
    let spec = est.input_spec();
    let index = |found: Option<usize>, what: &str| {
        found.ok_or_else(|| anyhow::anyhow!("{what} of the model is not in the telemetry"))
    };
    let svc = spec
        .services
        .iter()
        .map(|s| index(tel.service_index(s), s))
        .collect::<Result<Vec<_>>>()?;
    let cols = spec
        .features
        .iter()
        .map(|f| index(tel.column_index(f), f))
        .collect::<Result<Vec<_>>>()?;
    let t0 = tel.len() - tau;
    let window = ndarray::Array3::from_shape_fn((tau, svc.len(), cols.len()), |(t, n, f)| {
        tel.values()[[t0 + t, svc[n], cols[f]]]
    });
    let last_ms = tel.timestamp(tel.len() - 1);
    for _ in 0..10.min(a.decisions) {
        est.predict_window(window.view(), last_ms)?;
    }
    let mut times = Vec::with_capacity(a.decisions);
    for _ in 0..a.decisions {
        let start = Instant::now();
        std::hint::black_box(est.predict_window(window.view(), last_ms)?);
        times.push(start.elapsed());
    }
    times.sort();
    let pct = |q: f64| {
        times
            .get(((times.len() as f64 - 1.0) * q).round() as usize)
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
    };
    let model = &trained.artifact.config.model;
    print_json(&TrainBench {
        implementation: "holoscale (burn 0.21)",
        device: device_name.to_string(),
        threads: holoscale::estimator::parallel::resolve_threads(a.train.threads),
        services: trained.data.services.len(),
        features: trained.data.features.len(),
        window: tau,
        filters: match model {
            ModelSpec::Stgcn(c) => c.cheb_filters,
            ModelSpec::Gru(c) => c.hidden,
            ModelSpec::Tgcn(c) => c.hidden,
        },
        train_windows: windows,
        epochs: epoch_seconds.len(),
        epoch_seconds,
        windows_per_s: 1.0 / per_window,
        test_mae: overall.mae,
        test_rmse: overall.rmse,
        decisions: a.decisions,
        decision_p50_ms: pct(0.5),
        decision_p99_ms: pct(0.99),
        peak_rss_mib: peak_rss_mib(),
    })
}
