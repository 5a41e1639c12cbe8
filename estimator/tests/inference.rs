//! Per-step inference: one raw window, the rolling buffer a scaler pushes into, and the
//! latest window of a file all give the same forecast.

use holoscale_datasets::Telemetry;
use holoscale_datasets::io::{self, NoProgress};
use holoscale_estimator::backend::{Cpu, CpuAutodiff};
use holoscale_estimator::pipeline::{TrainOptions, train};
use holoscale_estimator::training::TrainConfig;
use holoscale_estimator::{Estimator, RollingWindow};
use ndarray::Array3;

type AB = CpuAutodiff;

/// Three services, three columns (one the model does not use), in an order that differs
/// from the model's feature order.
fn telemetry(steps: usize) -> Telemetry {
    let v = Array3::from_shape_fn((steps, 3, 3), |(t, n, c)| {
        let phase = t as f64 * 0.37 + n as f64;
        match c {
            0 => 2.0 + phase.cos(),
            1 => 100.0 + t as f64,
            _ => 5.0 + 3.0 * phase.sin(),
        }
    });
    Telemetry::try_new(
        "waves",
        1_700_000_000_000,
        30_000,
        vec!["a".into(), "b".into(), "c".into()],
        vec!["replicas".into(), "unused".into(), "req_rate".into()],
        v,
    )
    .unwrap()
}

fn model(tel: &Telemetry) -> Estimator {
    model_scaled(tel, false)
}

/// The model of [`model`], with its inputs and target standardised per service when
/// `per_service` is set.
fn model_scaled(tel: &Telemetry, per_service: bool) -> Estimator {
    let opts = TrainOptions {
        per_service_scaling: per_service,
        target: Some("req_rate".into()),
        features: Some(vec!["req_rate".into(), "replicas".into()]),
        window: Some(6),
        horizon: 2,
        train: TrainConfig::new().with_max_epochs(2).with_batch_size(16),
        ..TrainOptions::default()
    };
    let trained = train::<AB>(tel, None, &opts, &Default::default(), &mut |_| {}).unwrap();
    Estimator::from_artifact(trained.artifact, Default::default())
}

#[test]
fn predict_window_on_the_latest_window_equals_predict_next() {
    let tel = telemetry(60);
    let est = model(&tel);
    let spec = est.input_spec();
    assert_eq!(spec.features, ["req_rate", "replicas"]);
    assert_eq!(
        (spec.window, spec.horizon, spec.interval_ms),
        (6, 2, 30_000)
    );
    // The latest six steps, columns in the model's order (req_rate is column 2 of the file).
    let t0 = tel.len() - spec.window;
    let window = Array3::from_shape_fn((6, 3, 2), |(t, n, f)| tel.values()[[t0 + t, n, [2, 0][f]]]);
    let by_window = est.predict_window(window.view(), tel.end_ms()).unwrap();
    let by_file = est.predict_next(&tel).unwrap();
    assert_eq!(by_window, by_file);
    assert_eq!(
        by_window.times_ms,
        [tel.end_ms() + 30_000, tel.end_ms() + 60_000]
    );
    // A window of the wrong shape and a missing value are named.
    let err = est
        .predict_window(window.slice(ndarray::s![1.., .., ..]), 0)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("(6, 3, 2)") && err.contains("(5, 3, 2)"),
        "{err}"
    );
    let mut gap = window.clone();
    gap[[5, 1, 0]] = f64::NAN;
    let err = est
        .predict_window(gap.view(), tel.end_ms())
        .unwrap_err()
        .to_string();
    assert!(err.contains("`b`") && err.contains("`req_rate`"), "{err}");
}

#[test]
fn pushing_intervals_one_at_a_time_predicts_as_re_reading_the_file() {
    for per_service in [false, true] {
        pushing_matches_re_reading(per_service);
    }
}

fn pushing_matches_re_reading(per_service: bool) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("waves.parquet");
    io::write_telemetry(&telemetry(40), &file, &Default::default()).unwrap();
    let tel = io::read_telemetry(&file, &Default::default(), &NoProgress).unwrap();
    let est = model_scaled(&tel, per_service);
    let mut buf: RollingWindow = est.rolling_window();
    for t in 0..tel.len() {
        buf.push_telemetry(&tel, t).unwrap();
        assert_eq!(buf.len(), (t + 1).min(6));
        if t + 1 < 6 {
            assert!(est.predict_rolling(&buf).is_err(), "not full at step {t}");
            continue;
        }
        // Re-reading the file up to step t and predicting after its latest window.
        let upto = io::read_telemetry(&file, &Default::default(), &NoProgress)
            .unwrap()
            .slice_time(0..t + 1)
            .unwrap();
        assert_eq!(
            est.predict_rolling(&buf).unwrap(),
            est.predict_next(&upto).unwrap(),
            "step {t} (per service: {per_service})"
        );
    }
}

#[test]
fn a_model_scaled_per_service_predicts_in_each_services_units() {
    // Service c's request rate is 1000 times a's and b's: standardised per service, each
    // service's prediction is put back in its own units, so c's lies in c's range.
    let base = telemetry(60);
    let mut v = base.values().clone();
    v.slice_mut(ndarray::s![.., 2, 2])
        .mapv_inplace(|x| 1000.0 * x);
    let tel = Telemetry::try_new(
        "waves",
        base.start_ms(),
        30_000,
        base.services().to_vec(),
        base.columns().to_vec(),
        v,
    )
    .unwrap();
    let est = model_scaled(&tel, true);
    let f = est.predict_next(&tel).unwrap();
    for k in 0..2 {
        assert!(
            f.values[k][0] < 50.0 && f.values[k][1] < 50.0,
            "{:?}",
            f.values
        );
        assert!(
            (1000.0..10000.0).contains(&f.values[k][2]),
            "{:?}",
            f.values
        );
    }
    let n = &est.artifact().normalizer;
    assert!(n.is_per_service());
    let (m_a, s_a) = n.stats("req_rate", 0).unwrap();
    let (m_c, s_c) = n.stats("req_rate", 2).unwrap();
    assert!((m_c / m_a / 1000.0 - 1.0).abs() < 0.2, "{m_a} {m_c}");
    assert!(s_c / s_a > 100.0, "{s_a} {s_c}");
}

#[test]
fn a_skipped_interval_is_missing_until_it_leaves_the_window() {
    let tel = telemetry(40);
    let est = model(&tel);
    let mut buf = est.rolling_window();
    for t in 0..10 {
        buf.push_telemetry(&tel, t).unwrap();
    }
    // Step 10 is never scraped.
    for t in 11..16 {
        buf.push_telemetry(&tel, t).unwrap();
        let err = est.predict_rolling(&buf).unwrap_err().to_string();
        assert!(err.contains("2023-11-14T22:18:20Z"), "{err}");
    }
    buf.push_telemetry(&tel, 16).unwrap();
    let upto = tel.slice_time(0..17).unwrap();
    assert_eq!(
        est.predict_rolling(&buf).unwrap(),
        est.predict_next(&upto).unwrap()
    );
    // Going back in time, or off the grid, is refused.
    let row = ndarray::Array2::<f64>::ones((3, 2));
    let last = buf.last_ms().unwrap();
    assert!(buf.push(last, row.view()).is_err());
    assert!(buf.push(last + 1_000, row.view()).is_err());
    assert!(
        buf.push(last + 30_000, ndarray::Array2::ones((3, 3)).view())
            .is_err()
    );
}

#[test]
fn estimators_and_windows_can_be_shared_between_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<Estimator>();
    shared::<RollingWindow>();
    shared::<holoscale_estimator::Artifact<Cpu>>();
}
