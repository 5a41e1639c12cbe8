//! Properties of the tensor bridge: window shapes, no leakage across splits, windows lined
//! up with timestamps, and the normaliser's inverse.

use holoscale_datasets::Telemetry;
use holoscale_datasets::tensor::{
    Dense, Normalizer, Split, SplitSpec, WindowOptions, WindowSpec, Windowed, window_starts,
};
use ndarray::Array3;
use proptest::prelude::*;

/// Telemetry whose value encodes its position: value = 1000·t + 10·n + c.
fn positional(t: usize, n: usize) -> Telemetry {
    let v = Array3::from_shape_fn((t, n, 2), |(t, n, c)| (1000 * t + 10 * n + c) as f64);
    Telemetry::try_new(
        "positional",
        1_600_000_000_000,
        30_000,
        (0..n).map(|i| format!("s{i}")).collect(),
        vec!["replicas".into(), "req_rate".into()],
        v,
    )
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn windows_have_the_right_shapes_and_times(
        len in 30usize..120, n in 1usize..5, input in 1usize..12, horizon in 1usize..4,
        stride in 1usize..4, train in 0.4f64..0.8, val in 0.05f64..0.2,
    ) {
        let tel = positional(len, n);
        let spec = WindowSpec::try_new(input, horizon, stride).unwrap();
        let split = SplitSpec { train, validation: val };
        let Ok(w) = Windowed::new(&tel, &["replicas", "req_rate"], "replicas", spec, split, WindowOptions::default()) else {
            // Only refused when the training range is shorter than one window.
            prop_assert!((len as f64 * train).round() < (input + horizon) as f64);
            return Ok(());
        };
        for split_kind in [Split::Train, Split::Validation, Split::Test] {
            let starts = w.starts(split_kind);
            let b = w.arrays(starts);
            prop_assert_eq!(b.inputs.dim(), (starts.len(), input, n, 2));
            prop_assert_eq!(b.targets.dim(), (starts.len(), horizon, n));
            for (k, &s) in starts.iter().enumerate() {
                // The first target step is s + input, and its timestamp says so.
                prop_assert_eq!(b.target_times[k], 1_600_000_000_000 + ((s + input) as i64) * 30_000);
                // Inputs are steps s..s+input: recover the step from the encoded value.
                let last_input = w.normalizer.invert_value("replicas", b.inputs[[k, input - 1, 0, 0]] as f64).unwrap();
                prop_assert!((last_input - 1000.0 * (s + input - 1) as f64).abs() < 0.5, "{}", last_input);
                let target = w.normalizer.invert_value("replicas", b.targets[[k, 0, 0]] as f64).unwrap();
                prop_assert!((target - 1000.0 * (s + input) as f64).abs() < 0.5, "{}", target);
            }
            // Consecutive windows are `stride` apart.
            for pair in starts.windows(2) {
                prop_assert_eq!(pair[1] - pair[0], stride);
            }
        }
    }

    #[test]
    fn no_target_step_is_shared_between_splits(
        len in 30usize..150, input in 1usize..20, horizon in 1usize..5, stride in 1usize..3,
    ) {
        let tel = positional(len, 2);
        let spec = WindowSpec::try_new(input, horizon, stride).unwrap();
        let Ok(w) = Windowed::new(&tel, &["req_rate"], "replicas", spec, SplitSpec::default(), WindowOptions::default()) else {
            return Ok(());
        };
        let steps = |split: Split| -> std::collections::BTreeSet<usize> {
            w.starts(split).iter().flat_map(|&s| s + input..s + input + horizon).collect()
        };
        let (tr, va, te) = (steps(Split::Train), steps(Split::Validation), steps(Split::Test));
        prop_assert!(tr.is_disjoint(&va) && tr.is_disjoint(&te) && va.is_disjoint(&te));
        // Training windows (inputs and targets) stay inside the training range.
        for &s in w.starts(Split::Train) {
            prop_assert!(s + input + horizon <= w.splits.train.end);
        }
        for &s in w.starts(Split::Validation) {
            prop_assert!(s + input >= w.splits.validation.start && s + input + horizon <= w.splits.validation.end);
        }
        for &s in w.starts(Split::Test) {
            prop_assert!(s + input >= w.splits.test.start);
        }
    }

    #[test]
    fn normaliser_sees_only_the_training_range(len in 40usize..100, bump in 1.0f64..1e6) {
        let tel = positional(len, 3);
        let spec = WindowSpec::try_new(4, 1, 1).unwrap();
        let a = Windowed::new(&tel, &["req_rate"], "replicas", spec, SplitSpec::default(), WindowOptions::default()).unwrap();
        // Change every value after the training range: the normaliser must not move.
        let mut changed = tel.clone();
        let t1 = a.splits.train.end;
        changed.values_mut().slice_mut(ndarray::s![t1.., .., ..]).mapv_inplace(|v| v + bump);
        let b = Windowed::new(&changed, &["req_rate"], "replicas", spec, SplitSpec::default(), WindowOptions::default()).unwrap();
        prop_assert_eq!(&a.normalizer, &b.normalizer);
    }

    #[test]
    fn normaliser_invert_after_apply_is_identity(
        values in proptest::collection::vec(-1e3f64..1e3, 8..64), x in -1e4f64..1e4,
    ) {
        let t = values.len() / 2;
        let v = Array3::from_shape_fn((t, 2, 1), |(t, n, _)| values[2 * t + n]);
        let tel = Telemetry::try_new("p", 0, 1000, vec!["a".into(), "b".into()], vec!["req_rate".into()], v).unwrap();
        let d = Dense::from_telemetry(&tel, None, &["req_rate"]).unwrap();
        let n = Normalizer::fit(&d, 0..t).unwrap();
        let z = n.apply_value("req_rate", x).unwrap();
        let back = n.invert_value("req_rate", z).unwrap();
        prop_assert!((back - x).abs() <= 1e-6 * x.abs().max(1.0), "{} vs {}", back, x);
        // The array path (f32) inverts within f32 precision.
        let mut arr = Array3::from_elem((1, 1, 1), x as f32);
        n.apply(&["req_rate".to_string()], &mut arr).unwrap();
        n.invert(&["req_rate".to_string()], &mut arr).unwrap();
        prop_assert!(((arr[[0, 0, 0]] as f64) - x).abs() <= 1e-6 * x.abs().max(1.0) * 8.0);
    }

    #[test]
    fn window_starts_cover_exactly_the_admissible_windows(
        a in 0usize..50, b in 0usize..60, input in 1usize..10, horizon in 1usize..4, stride in 1usize..4,
    ) {
        let (lo, hi) = (a.min(b), a.max(b));
        let spec = WindowSpec::try_new(input, horizon, stride).unwrap();
        let got = window_starts(&spec, lo..hi);
        let admissible: Vec<usize> = (0..hi).filter(|&s| s + input >= lo && s + input + horizon <= hi).collect();
        let expected: Vec<usize> = admissible.iter().copied().step_by(stride).collect();
        prop_assert_eq!(got, expected);
    }
}

#[test]
fn normaliser_saves_and_loads() {
    let tel = positional(20, 2);
    let d = Dense::from_telemetry(&tel, None, &["replicas", "req_rate"]).unwrap();
    let n = Normalizer::fit(&d, 0..14).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("normalizer.json");
    n.save(&path).unwrap();
    assert_eq!(Normalizer::load(&path).unwrap(), n);
    std::fs::write(&path, r#"{"features":["a"],"mean":[0.0],"std":[0.0]}"#).unwrap();
    let err = Normalizer::load(&path).unwrap_err().to_string();
    assert!(
        err.contains("normalizer.json") && err.contains("std"),
        "{err}"
    );
}
