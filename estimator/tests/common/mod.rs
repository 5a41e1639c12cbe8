//! Fixtures shared by the estimator's integration tests.

use holoscale_datasets::Telemetry;
use ndarray::Array3;

/// Three services `a`, `b`, `c` at 30 s with two columns of phase-shifted waves:
/// `req_rate` = 5 + 3 sin(0.4 t + n) and `replicas` = 2 + cos(0.4 t + n).
pub fn waves(steps: usize) -> Telemetry {
    let v = Array3::from_shape_fn((steps, 3, 2), |(t, n, c)| {
        let phase = t as f64 * 0.4 + n as f64;
        if c == 0 {
            5.0 + 3.0 * phase.sin()
        } else {
            2.0 + phase.cos()
        }
    });
    Telemetry::try_new(
        "tiny",
        0,
        30_000,
        vec!["a".into(), "b".into(), "c".into()],
        vec!["req_rate".into(), "replicas".into()],
        v,
    )
    .unwrap()
}
