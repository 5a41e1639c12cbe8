//! The network's pieces against hand-computed values, output shapes, learning on a tiny
//! dataset, and save → load → predict.

mod common;

use burn::module::Param;
use burn::prelude::*;
use holoscale_estimator::backend::{Cpu, CpuAutodiff};
use holoscale_estimator::model::{
    ChebConvConfig, Forecaster, StgcnConfig, TAttentionConfig, TimeConvConfig,
    cheb::chebyshev_terms,
};
use holoscale_estimator::pipeline::{TrainOptions, train};
use holoscale_estimator::training::{ModelKind, TrainConfig};
use holoscale_estimator::{Artifact, Estimator};

use common::waves;

type B = Cpu;
type AB = CpuAutodiff;

fn dev() -> holoscale_estimator::backend::CpuDevice {
    Default::default()
}

fn t1(v: &[f32]) -> Tensor<B, 1> {
    Tensor::from_data(TensorData::new(v.to_vec(), [v.len()]), &dev())
}

fn t2(v: &[f32], shape: [usize; 2]) -> Tensor<B, 2> {
    Tensor::from_data(TensorData::new(v.to_vec(), shape), &dev())
}

fn values<const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data().to_vec::<f32>().unwrap()
}

fn close(got: &[f32], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!((*g as f64 - w).abs() <= tol, "{got:?} vs {want:?}");
    }
}

#[test]
fn t_attention_by_hand() {
    // τ = 2, N = 1, F = 1, X = [1, 2]; U1 = 0.5, U2 = 2, U3 = 1 so (XᵀU1)U2 (U3X) = x_i x_j;
    // b_e = 0; V_e = diag(1, 2). E = V_e σ([[1, 2], [2, 4]]), softmax by row, X̂ = E'X.
    let mut att = TAttentionConfig::new(2, 1, 1).init::<B>(&dev());
    att.u1 = Param::from_tensor(t1(&[0.5]));
    att.u2 = Param::from_tensor(t2(&[2.0], [1, 1]));
    att.u3 = Param::from_tensor(t1(&[1.0]));
    att.be = Param::from_tensor(t2(&[0.0; 4], [2, 2]));
    att.ve = Param::from_tensor(t2(&[1.0, 0.0, 0.0, 2.0], [2, 2]));
    let x: Tensor<B, 4> =
        Tensor::from_data(TensorData::new(vec![1.0f32, 2.0], [1, 2, 1, 1]), &dev());
    let e = values(att.weights(x.clone()));
    let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
    let row = |a: f64, b: f64| {
        let (ea, eb) = (a.exp(), b.exp());
        [ea / (ea + eb), eb / (ea + eb)]
    };
    let r0 = row(sig(1.0), sig(2.0));
    let r1 = row(2.0 * sig(2.0), 2.0 * sig(4.0));
    close(&e, &[r0[0], r0[1], r1[0], r1[1]], 1e-6);
    close(
        &values(att.forward(x)),
        &[1.537_364_835_905_449, 1.550_436_236_781_52],
        1e-5,
    );
}

#[test]
fn chebyshev_recursion_k3_both_directions_by_hand() {
    // Chain a -> b -> c, X = [1, 2, 3].
    let a = t2(&[0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0], [3, 3]);
    let x: Tensor<B, 3> =
        Tensor::from_data(TensorData::new(vec![1.0f32, 2.0, 3.0], [1, 3, 1]), &dev());
    let terms = chebyshev_terms(x.clone(), a.clone(), 3);
    // T0 = X, T1 = AX = [2, 3, 0], T2 = 2A·T1 − T0 = [5, −2, −3].
    close(&values(terms[0].clone()), &[1.0, 2.0, 3.0], 0.0);
    close(&values(terms[1].clone()), &[2.0, 3.0, 0.0], 0.0);
    close(&values(terms[2].clone()), &[5.0, -2.0, -3.0], 0.0);
    let mut conv = ChebConvConfig::new(1, 2).with_k(3).init::<B>(&dev());
    conv.theta_fwd = Param::from_tensor(Tensor::from_data(
        TensorData::new(vec![1.0f32, 0.5, 0.25], [3, 1, 1]),
        &dev(),
    ));
    conv.theta_bwd = Param::from_tensor(Tensor::from_data(
        TensorData::new(vec![1.0f32, -1.0, 2.0], [3, 1, 1]),
        &dev(),
    ));
    let out = conv.forward(x.reshape([1, 1, 3, 1]), a);
    // Forward: T0 + 0.5 T1 + 0.25 T2 = [3.25, 3, 2.25].
    // Backward over Aᵀ: T1 = [0, 1, 2], T2 = [−1, −2, −1]; T0 − T1 + 2 T2 = [−1, −3, −1].
    close(&values(out), &[3.25, -1.0, 3.0, -3.0, 2.25, -1.0], 1e-6);
}

#[test]
fn time_convolution_and_layer_norm_by_hand() {
    let mut conv = TimeConvConfig::new(1, 1).with_kernel(3).init::<B>(&dev());
    // Weights for offsets −1, 0, +1.
    conv.weight = Param::from_tensor(t2(&[1.0, 10.0, 100.0], [3, 1]));
    conv.bias = Param::from_tensor(t1(&[0.5]));
    let x: Tensor<B, 4> = Tensor::from_data(
        TensorData::new(vec![1.0f32, 2.0, 3.0], [1, 3, 1, 1]),
        &dev(),
    );
    // y_t = x_{t−1} + 10 x_t + 100 x_{t+1} + 0.5, zero padded.
    close(&values(conv.forward(x)), &[210.5, 321.5, 32.5], 1e-4);

    let norm = burn::nn::LayerNormConfig::new(4).init::<B>(&dev());
    let y = norm.forward(t2(&[1.0, 2.0, 3.0, 4.0], [1, 4]));
    let sd = (1.25f64 + 1e-5).sqrt();
    close(
        &values(y),
        &[-1.5 / sd, -0.5 / sd, 0.5 / sd, 1.5 / sd],
        1e-5,
    );
}

/// A deterministic, unstructured sequence in [-1, 1] for multi-channel cases.
fn pattern(len: usize, salt: u64) -> Vec<f32> {
    (0..len as u64)
        .map(|i| {
            let h = (i.wrapping_add(salt)).wrapping_mul(2654435761) % 1000;
            h as f32 / 500.0 - 1.0
        })
        .collect()
}

#[test]
fn time_convolution_mixes_channels_and_offsets_as_the_sum_says() {
    // Several channels in and out, two batches: the layer against its defining sum
    // y[b, τ, n, o] = Σ_j Σ_i x[b, τ + j − pad, n, i] · W[j·c_in + i, o] + bias[o].
    let (bs, t, n, ci, co, k) = (2, 5, 3, 2, 3, 3);
    let mut conv = TimeConvConfig::new(ci, co).with_kernel(k).init::<B>(&dev());
    let w = pattern(k * ci * co, 1);
    let bias = pattern(co, 2);
    conv.weight = Param::from_tensor(t2(&w, [k * ci, co]));
    conv.bias = Param::from_tensor(t1(&bias));
    let x = pattern(bs * t * n * ci, 3);
    let got = values(conv.forward(Tensor::from_data(
        TensorData::new(x.clone(), [bs, t, n, ci]),
        &dev(),
    )));
    let pad = k / 2;
    let mut want = Vec::new();
    for b in 0..bs {
        for tau in 0..t {
            for s in 0..n {
                for o in 0..co {
                    let mut y = f64::from(bias[o]);
                    for j in 0..k {
                        let src = tau as isize + j as isize - pad as isize;
                        if !(0..t as isize).contains(&src) {
                            continue;
                        }
                        for i in 0..ci {
                            let xv = x[((b * t + src as usize) * n + s) * ci + i];
                            y += f64::from(xv) * f64::from(w[(j * ci + i) * co + o]);
                        }
                    }
                    want.push(y);
                }
            }
        }
    }
    close(&got, &want, 1e-5);
}

#[test]
fn chebyshev_convolution_mixes_channels_and_directions_as_the_sum_says() {
    // y[r, s, o] = Σ_k Σ_i T_k(A)X[r, s, i] θf[k, i, o] for o < half, and the same over Aᵀ
    // with θb for o ≥ half, plus the bias; the terms from T0 = X, T1 = AX,
    // T_k = 2A·T_{k−1} − T_{k−2}, computed here with plain loops.
    let (bs, t, n, ci, half, k) = (2, 2, 3, 2, 2, 3);
    let mut conv = ChebConvConfig::new(ci, 2 * half)
        .with_k(k)
        .init::<B>(&dev());
    let (tf, tb, bias) = (
        pattern(k * ci * half, 4),
        pattern(k * ci * half, 5),
        pattern(2 * half, 6),
    );
    let t3 = |v: &[f32]| {
        Param::from_tensor(Tensor::<B, 3>::from_data(
            TensorData::new(v.to_vec(), [k, ci, half]),
            &dev(),
        ))
    };
    conv.theta_fwd = t3(&tf);
    conv.theta_bwd = t3(&tb);
    conv.bias = Param::from_tensor(t1(&bias));
    let a = pattern(n * n, 7);
    let x = pattern(bs * t * n * ci, 8);
    let got = values(conv.forward(
        Tensor::from_data(TensorData::new(x.clone(), [bs, t, n, ci]), &dev()),
        t2(&a, [n, n]),
    ));
    // Terms per row (b·t) as [n][ci] in f64, for a matrix m(s, u).
    let terms = |row: usize, m: &dyn Fn(usize, usize) -> f64| {
        let x0: Vec<Vec<f64>> = (0..n)
            .map(|s| {
                (0..ci)
                    .map(|i| f64::from(x[(row * n + s) * ci + i]))
                    .collect()
            })
            .collect();
        let apply = |v: &Vec<Vec<f64>>| -> Vec<Vec<f64>> {
            (0..n)
                .map(|s| {
                    (0..ci)
                        .map(|i| (0..n).map(|u| m(s, u) * v[u][i]).sum())
                        .collect()
                })
                .collect()
        };
        let mut out = vec![x0.clone(), apply(&x0)];
        while out.len() < k {
            let next = apply(&out[out.len() - 1]);
            let prev = &out[out.len() - 2];
            out.push(
                (0..n)
                    .map(|s| (0..ci).map(|i| 2.0 * next[s][i] - prev[s][i]).collect())
                    .collect(),
            );
        }
        out
    };
    let fwd_m = |s: usize, u: usize| f64::from(a[s * n + u]);
    let bwd_m = |s: usize, u: usize| f64::from(a[u * n + s]);
    let mut want = Vec::new();
    for row in 0..bs * t {
        let (f, bw) = (terms(row, &fwd_m), terms(row, &bwd_m));
        for s in 0..n {
            for (o, b_o) in bias.iter().enumerate() {
                let (tk, theta, oo) = if o < half {
                    (&f, &tf, o)
                } else {
                    (&bw, &tb, o - half)
                };
                let mut y = f64::from(*b_o);
                for (kk, term) in tk.iter().enumerate() {
                    for i in 0..ci {
                        y += term[s][i] * f64::from(theta[(kk * ci + i) * half + oo]);
                    }
                }
                want.push(y);
            }
        }
    }
    close(&got, &want, 1e-5);
}

#[test]
fn output_shapes() {
    for (b, tau, n, f, h) in [
        (1, 4, 1, 1, 1),
        (3, 6, 5, 2, 1),
        (2, 8, 4, 3, 3),
        (5, 5, 7, 1, 2),
    ] {
        let cfg = StgcnConfig::new(n, f)
            .with_window(tau)
            .with_horizon(h)
            .with_cheb_filters(4)
            .with_time_filters(6);
        let model = cfg.init::<B>(&dev());
        let x = Tensor::<B, 4>::ones([b, tau, n, f], &dev());
        let a = Tensor::<B, 2>::eye(n, &dev());
        assert_eq!(
            model.forecast(x, a).dims(),
            [b, h, n],
            "B {b} τ {tau} N {n} F {f} H {h}"
        );
    }
}

/// Training on [`waves`]: the target `req_rate` from itself and `replicas`.
fn tiny_options(epochs: usize) -> TrainOptions {
    TrainOptions {
        target: Some("req_rate".into()),
        features: Some(vec!["req_rate".into(), "replicas".into()]),
        window: Some(6),
        train: TrainConfig::new()
            .with_max_epochs(epochs)
            .with_learning_rate(1e-2)
            .with_batch_size(16)
            .with_patience(1000)
            .with_cosine_t_max(1000),
        // The shard count changes the summation order, so the numbers: two threads on
        // any machine.
        threads: 2,
        ..TrainOptions::default()
    }
}

#[test]
fn a_tiny_model_overfits_a_tiny_dataset() {
    let tel = waves(120);
    for kind in [ModelKind::Stgcn, ModelKind::Gru, ModelKind::Tgcn] {
        let mut opts = tiny_options(60);
        opts.kind = kind;
        let trained = train::<AB>(&tel, None, &opts, &dev(), &mut |_| {}).unwrap();
        let h = &trained.artifact.history;
        let (first, last) = (h[0].train_loss, h.last().unwrap().train_loss);
        assert!(
            last <= first / 10.0,
            "{kind:?}: training loss {first} -> {last}"
        );
    }
}

#[test]
fn save_load_predict_gives_the_same_numbers() {
    let tel = waves(80);
    let trained = train::<AB>(&tel, None, &tiny_options(3), &dev(), &mut |_| {}).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model");
    trained.artifact.save(&path, false).unwrap();
    // The in-memory model's prediction for the last window.
    let window = trained
        .data
        .latest_input()
        .to_owned()
        .insert_axis(ndarray::Axis(0));
    let x = holoscale_estimator::data::array4_to_tensor::<B>(&window, &dev());
    let a = holoscale_estimator::training::affinity_tensor::<B>(&trained.artifact.affinity, &dev());
    let z = values(trained.artifact.model.forecast(x, a))[0] as f64;
    let before = trained
        .artifact
        .normalizer
        .invert_value("req_rate", z)
        .unwrap();
    let est = Estimator::load(&path).unwrap();
    let next = est.predict_next(&tel).unwrap();
    assert!(
        (next.values[0][0] - before).abs() < 1e-6,
        "{} vs {before}",
        next.values[0][0]
    );
    assert_eq!(next.times_ms, [tel.end_ms() + 30_000]);
    // The whole artifact round-trips.
    let back = Artifact::<B>::load(&path, &dev()).unwrap();
    assert_eq!(back.config, trained.artifact.config);
    assert_eq!(back.services, trained.artifact.services);
    assert_eq!(back.history.len(), trained.artifact.history.len());
    // Overwriting needs consent; the old model stays.
    assert!(
        trained
            .artifact
            .save(&path, false)
            .unwrap_err()
            .to_string()
            .contains("`force`")
    );
    assert!(Estimator::load(&path).is_ok());
}

#[test]
fn the_same_seed_gives_the_same_numbers() {
    let tel = waves(80);
    let run = |seed: u64| {
        let mut opts = tiny_options(3);
        opts.train = opts.train.with_seed(seed);
        let trained = train::<AB>(&tel, None, &opts, &dev(), &mut |_| {}).unwrap();
        let losses: Vec<f64> = trained
            .artifact
            .history
            .iter()
            .map(|e| e.train_loss)
            .collect();
        (
            losses,
            Estimator::from_artifact(trained.artifact, dev())
                .predict_next(&tel)
                .unwrap()
                .values,
        )
    };
    let (a, pa) = run(5);
    let (b, pb) = run(5);
    assert_eq!(a, b);
    assert_eq!(pa, pb);
    let (c, pc) = run(6);
    assert_ne!(a, c, "another seed should give other initial weights");
    // burn's random generator is one per process: trainings on other threads at the same
    // time (as the other tests of this binary run) must not change what a seed gives.
    let together: Vec<_> = std::thread::scope(|scope| {
        let runs: Vec<_> = (0..4)
            .map(|i| {
                let run = &run;
                scope.spawn(move || run(5 + i % 2))
            })
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    for (i, (losses, predictions)) in together.iter().enumerate() {
        let (want, want_p) = if i % 2 == 0 { (&a, &pa) } else { (&c, &pc) };
        assert_eq!(losses, want, "concurrent run {i}");
        assert_eq!(predictions, want_p, "concurrent run {i}");
    }
}

#[test]
fn the_service_head_and_embedding_compute_what_they_say() {
    let (b, tau, n, f, h, width) = (2, 5, 3, 2, 2, 3);
    let cfg = StgcnConfig::new(n, f)
        .with_window(tau)
        .with_horizon(h)
        .with_cheb_filters(4)
        .with_time_filters(4)
        .with_service_embedding(Some(width))
        .with_service_head(Some(true));
    let mut model = cfg.init::<B>(&dev());
    let x = Tensor::<B, 4>::from_data(
        TensorData::new(
            (0..b * tau * n * f)
                .map(|i| (i as f32 * 0.37).sin())
                .collect(),
            [b, tau, n, f],
        ),
        &dev(),
    );
    let a = Tensor::<B, 2>::eye(n, &dev());
    let head = model.head.take().expect("configured head");
    // The head starts as the identity.
    let bare = values(model.forecast(x.clone(), a.clone()));
    model.head = Some(head);
    close(
        &values(model.forecast(x.clone(), a.clone())),
        &bare.iter().map(|&v| v as f64).collect::<Vec<_>>(),
        1e-6,
    );
    // Gain g[n, k] and offset o[n, k]: out[b, k, n] = g[n, k] · bare[b, k, n] + o[n, k].
    let gain: Vec<f32> = (0..n * h).map(|i| 0.5 + i as f32).collect();
    let offset: Vec<f32> = (0..n * h).map(|i| i as f32 - 2.0).collect();
    let head = model.head.as_mut().unwrap();
    head.gain = Param::from_tensor(t2(&gain, [n, h]));
    head.offset = Param::from_tensor(t2(&offset, [n, h]));
    let got = values(model.forecast(x.clone(), a.clone()));
    let mut want = Vec::new();
    for bi in 0..b {
        for k in 0..h {
            for j in 0..n {
                let i = (bi * h + k) * n + j;
                want.push(gain[j * h + k] as f64 * bare[i] as f64 + offset[j * h + k] as f64);
            }
        }
    }
    close(&got, &want, 1e-5);
    // The embedding is the same network fed the embedding as extra input columns.
    let embedding = model.embedding.take().expect("configured embedding");
    let e = embedding.val();
    let extended = Tensor::cat(
        vec![
            x.clone(),
            e.reshape([1, 1, n, width]).expand([b, tau, n, width]),
        ],
        3,
    );
    let without = values(model.forecast(extended, a.clone()));
    model.embedding = Some(embedding);
    let levels = values(model.forecast(x.clone(), a.clone()));
    close(
        &levels,
        &without.iter().map(|&v| v as f64).collect::<Vec<_>>(),
        1e-5,
    );
    // Relative: the output plus feature 1's last value in the window, at every step.
    model.residual_feature = Some(1);
    let xs = values(x.clone());
    let mut want = Vec::new();
    for bi in 0..b {
        for k in 0..h {
            for j in 0..n {
                let last = xs[((bi * tau + tau - 1) * n + j) * f + 1];
                want.push((levels[(bi * h + k) * n + j] + last) as f64);
            }
        }
    }
    close(&values(model.forecast(x, a)), &want, 1e-5);
}

/// Two services with the same inputs and different constant targets (1 and 3 replicas).
fn twins(steps: usize) -> holoscale_datasets::Telemetry {
    let v = ndarray::Array3::from_shape_fn((steps, 2, 2), |(t, s, c)| {
        if c == 0 {
            5.0 + 3.0 * (t as f64 * 0.4).sin()
        } else {
            [1.0, 3.0][s]
        }
    });
    holoscale_datasets::Telemetry::try_new(
        "twins",
        0,
        30_000,
        vec!["a".into(), "b".into()],
        vec!["req_rate".into(), "optimal_replicas".into()],
        v,
    )
    .unwrap()
}

#[test]
fn only_the_service_options_tell_identical_services_apart() {
    // With the same inputs and a symmetric (identity) affinity, the faithful network gives
    // both services the same output p, so its L1 error per window is at least
    // (|p − 1| + |p − 3|) / 2 ≥ 1 replica whatever it learns. The head (or the embedding)
    // lets it fit both.
    let tel = twins(120);
    let mut opts = tiny_options(60);
    opts.target = Some("optimal_replicas".into());
    opts.features = Some(vec!["req_rate".into()]);
    let mae = |opts: &TrainOptions| {
        let trained = train::<AB>(&tel, None, opts, &dev(), &mut |_| {}).unwrap();
        let std = holoscale_estimator::training::target_std(&trained.data);
        let best = trained
            .artifact
            .history
            .iter()
            .map(|e| e.train_loss)
            .fold(f64::INFINITY, f64::min);
        best * std
    };
    let faithful = mae(&opts);
    assert!(
        faithful >= 0.999,
        "faithful MAE {faithful} below the bound of 1"
    );
    for (embedding, head) in [(None, true), (Some(4), false)] {
        let mut o = opts.clone();
        o.service_embedding = embedding;
        o.service_head = head;
        let m = mae(&o);
        assert!(
            m < 0.25,
            "embedding {embedding:?}, head {head}: MAE {m} (faithful {faithful})"
        );
    }
}

#[test]
fn a_model_with_the_service_options_saves_and_loads() {
    let tel = waves(80);
    let mut opts = tiny_options(2);
    opts.service_embedding = Some(3);
    opts.service_head = true;
    let trained = train::<AB>(&tel, None, &opts, &dev(), &mut |_| {}).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model");
    trained.artifact.save(&path, false).unwrap();
    let back = Artifact::<B>::load(&path, &dev()).unwrap();
    assert_eq!(back.config, trained.artifact.config);
    let holoscale_estimator::training::AnyModel::Stgcn(m) = &back.model else {
        panic!("not the estimator")
    };
    assert!(
        m.embedding.is_some() && m.head.is_some(),
        "options lost on load"
    );
    let before = Estimator::from_artifact(trained.artifact, dev())
        .predict_next(&tel)
        .unwrap();
    let after = Estimator::load(&path).unwrap().predict_next(&tel).unwrap();
    assert_eq!(before.values, after.values);
}
