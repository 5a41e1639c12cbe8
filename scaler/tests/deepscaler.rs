//! The DeepScaler scaler with a small trained estimator.

use holoscale_estimator::backend::CpuAutodiff;
use holoscale_estimator::pipeline::{TrainOptions, train};
use holoscale_estimator::training::TrainConfig;
use holoscale_scaler::env::Environment;
use holoscale_scaler::env::SimEnv;
use holoscale_scaler::harness::{Harness, ScalerEntry};
use holoscale_scaler::{Frictions, ScalerKind};
use holoscale_sim::policy::by_name;
use holoscale_sim::{SimConfig, apps, simulate};

/// A model of Bookinfo trained on 12 h of HPA-driven telemetry (seed 11), horizon 3.
fn trained_model(dir: &std::path::Path, features: Option<Vec<String>>) -> f64 {
    let app = apps::builtin("bookinfo", 7).unwrap();
    let cfg = SimConfig {
        duration_ms: 12 * 3_600_000,
        seed: 11,
        ..SimConfig::default()
    };
    let mut policy = by_name("hpa", app.services.len(), 11).unwrap();
    let out = simulate(&app, &cfg, &mut policy, &holoscale_datasets::io::NoProgress).unwrap();
    let opts = TrainOptions {
        features,
        window: Some(8),
        horizon: 3,
        train: TrainConfig::new()
            .with_max_epochs(4)
            .with_batch_size(32)
            .with_patience(1000),
        threads: 1,
        ..TrainOptions::default()
    };
    let trained = train::<CpuAutodiff>(
        &out.telemetry,
        Some(&out.edges),
        &opts,
        &Default::default(),
        &mut |_| {},
    )
    .unwrap();
    let h = &trained.artifact.history;
    let drop = h.last().unwrap().train_loss / h[0].train_loss;
    trained.artifact.save(dir, false).unwrap();
    drop
}

#[test]
fn the_estimator_drives_every_service_and_is_deterministic() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("model");
    let drop = trained_model(&model, None);
    assert!(drop < 0.8, "training learned: loss ratio {drop}");
    let mut h = Harness::new(apps::builtin("bookinfo", 7).unwrap());
    h.sim.duration_ms = 3 * 3_600_000;
    h.seeds = vec![2];
    h.record_series = true;
    h.scalers = vec![
        ScalerEntry::from_kind(ScalerKind::DeepScaler(model.clone())),
        ScalerEntry::from_kind(ScalerKind::Hpa(None)),
    ];
    let a = h.run(&|_, _| {}).unwrap();
    let b = h.run(&|_, _| {}).unwrap();
    assert_eq!(a, b, "same seed, same run");
    let ds = a.runs[0].run.series.as_ref().unwrap();
    // It decides every 30 s (its model's interval) once the 8-step window is full (4 min),
    // so the first change comes after the warm-up, and it changes replicas thereafter.
    let first = ds.decisions.first().expect("the scaler acted").time_ms;
    assert!(
        first - h.sim.start_ms >= 8 * 30_000,
        "acted at {} ms",
        first - h.sim.start_ms
    );
    assert!(ds.decisions.len() > 10, "{} changes", ds.decisions.len());
    assert!(
        ds.decisions
            .iter()
            .all(|d| (d.time_ms - h.sim.start_ms) % 30_000 == 0)
    );
    let m = a.runs[0].run.metrics;
    assert!(m.violation_share < 0.2 && m.core_hours > 0.0, "{m:?}");
}

#[test]
fn a_model_that_does_not_fit_the_cluster_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    // A model fed the oracle's own label cannot run on what a scaler observes.
    let model = tmp.path().join("oracle-fed");
    trained_model(
        &model,
        Some(vec!["optimal_replicas".into(), "cpu_util".into()]),
    );
    let env = SimEnv::new(
        &apps::builtin("bookinfo", 7).unwrap(),
        SimConfig::default(),
        &Frictions::default(),
    )
    .unwrap();
    let Err(err) = ScalerKind::DeepScaler(model).build(env.observe()) else {
        panic!("a model fed the oracle was accepted");
    };
    let err = err.to_string();
    assert!(
        err.contains("`optimal_replicas` is not observable"),
        "{err}"
    );
    // A Bookinfo model on Online Boutique: its services are missing.
    let model = tmp.path().join("bookinfo");
    trained_model(&model, None);
    let env = SimEnv::new(
        &apps::builtin("online-boutique", 7).unwrap(),
        SimConfig::default(),
        &Frictions::default(),
    )
    .unwrap();
    let Err(err) = ScalerKind::DeepScaler(model).build(env.observe()) else {
        panic!("a Bookinfo model was accepted for Online Boutique");
    };
    let err = err.to_string();
    assert!(
        err.contains("productpage") && err.contains("not in the application"),
        "{err}"
    );
}

/// The recommender around DeepScaler's scaler gives the scaler's own decisions with their
/// reasons (held while the window fills, then the raw prediction and its rounding), and
/// the same predictions when fed the observations as telemetry rows.
#[test]
fn the_recommender_explains_the_models_decisions() {
    use holoscale_scaler::recommend::{Recommender, RecommenderConfig, ServiceRow, Source};
    use holoscale_sim::observe::OBSERVED_COLUMNS;

    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("model");
    trained_model(&model, None);
    let app = apps::builtin("bookinfo", 7).unwrap();
    let cfg = SimConfig {
        duration_ms: 3_600_000,
        seed: 5,
        ..SimConfig::default()
    };
    let mut env = SimEnv::new(&app, cfg, &Frictions::default()).unwrap();
    env.reset(5).unwrap();
    let first = env.observe().clone();
    let mut direct = ScalerKind::DeepScaler(model.clone()).build(&first).unwrap();
    let configure = || {
        let mut rc = RecommenderConfig::for_model(&model).unwrap();
        assert_eq!(
            rc.services, first.services,
            "the model's services, in its order"
        );
        rc.bounds = first.bounds.clone();
        rc.cpu_limit = first.cpu_limit.clone();
        rc.mem_limit = first.mem_limit.clone();
        rc.slo = first.slo;
        Recommender::new(rc).unwrap()
    };
    let (mut rec, mut from_rows) = (configure(), configure());
    let (mut held, mut predicted) = (0, 0);
    for step in 0..60 {
        let obs = env.observe().clone();
        let actions = direct.decide(&obs);
        let out = rec.observe(obs.clone()).unwrap().to_vec();
        for (s, r) in out.iter().enumerate() {
            let want = actions
                .iter()
                .find(|a| a.service == s)
                .and_then(|a| a.replicas)
                .unwrap_or(obs.replicas(s));
            assert_eq!(r.replicas, want, "{} at step {step}", r.service);
            match r.source {
                Source::Held => {
                    held += 1;
                    assert!(r.detail.starts_with("holding"), "{}", r.detail);
                }
                Source::Scaler => {
                    predicted += 1;
                    let p = r.predicted.expect("a model decision has its prediction");
                    assert!(p.is_finite() && r.detail.contains("rounded to"), "{r:?}");
                }
                Source::Fallback => panic!("no fallback was asked for"),
            }
        }
        if !obs.rows.is_empty() {
            let rows: Vec<ServiceRow> = obs
                .services
                .iter()
                .zip(&obs.rows)
                .filter(|(_, row)| row.iter().any(|v| v.is_finite()))
                .map(|(name, row)| ServiceRow {
                    service: name.clone(),
                    values: OBSERVED_COLUMNS
                        .iter()
                        .zip(row)
                        .filter(|(_, v)| v.is_finite())
                        .map(|(c, v)| (c.to_string(), *v))
                        .collect(),
                })
                .collect();
            let by_rows = from_rows.observe_rows(obs.time_ms, &rows).unwrap();
            for (a, b) in out.iter().zip(by_rows) {
                assert_eq!(
                    a.predicted.map(f64::to_bits),
                    b.predicted.map(f64::to_bits),
                    "{} at step {step}: rows and observation disagree",
                    a.service
                );
            }
        }
        env.act(&actions).unwrap();
        env.step().unwrap();
    }
    // The 8-step window fills after 8 intervals; every later decision is the model's.
    assert!(
        held >= 7 * first.len() && predicted >= 50 * first.len(),
        "held {held}, predicted {predicted}"
    );
}
