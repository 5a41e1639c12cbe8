//! The embedding API with rule-based scalers: hand-computed recommendations, bounds,
//! refused input that changes nothing, and the fallback rule.

use holoscale_scaler::Frictions;
use holoscale_scaler::ScalerKind;
use holoscale_scaler::env::{Environment, SimEnv};
use holoscale_scaler::recommend::{Clamp, Recommender, RecommenderConfig, ServiceRow, Source};
use holoscale_sim::{SimConfig, apps};

const T0: i64 = 1_700_000_000_000;

fn hpa(services: &[&str]) -> Recommender {
    let cfg = RecommenderConfig::new(
        ScalerKind::Hpa(None),
        services.iter().map(|s| s.to_string()).collect(),
        15_000,
    )
    .unwrap();
    Recommender::new(cfg).unwrap()
}

#[test]
fn the_hpa_rule_by_hand_with_bounds() {
    let cfg = RecommenderConfig::new(
        ScalerKind::Hpa(None),
        vec!["api".into(), "db".into(), "idle".into()],
        15_000,
    )
    .unwrap()
    .with_bounds("db", 1, 4)
    .unwrap()
    .with_bounds("idle", 2, 10)
    .unwrap();
    let mut rec = Recommender::new(cfg).unwrap();
    let out = rec
        .observe_rows(
            T0,
            &[
                // ceil(3 * 0.9 / 0.6) = 5 (the HPA's target 0.6).
                ServiceRow::new("api", &[("replicas", 3.0), ("cpu_util", 0.9)]),
                // ceil(3 * 1.0 / 0.6) = 5, above the maximum of 4.
                ServiceRow::new("db", &[("replicas", 3.0), ("cpu_util", 1.0)]),
                // Within the tolerance (0.63 / 0.6 = 1.05): kept.
                ServiceRow::new("idle", &[("replicas", 2.0), ("cpu_util", 0.63)]),
            ],
        )
        .unwrap()
        .to_vec();
    assert_eq!(out.len(), 3);
    assert_eq!(
        (out[0].service.as_str(), out[0].current, out[0].replicas),
        ("api", 3, 5)
    );
    assert_eq!((out[0].clamp, out[0].source), (None, Source::Scaler));
    // The HPA applies the bounds of the observation itself, so it asks for 4 and the
    // recommender has nothing left to clamp (a model's prediction is clamped by the
    // recommender: the fallback test and the DeepScaler test show those clamps).
    assert_eq!(
        (out[1].replicas, out[1].wanted, out[1].clamp),
        (4, Some(4), None)
    );
    assert_eq!(out[1].detail, "hpa asked for 4");
    assert_eq!((out[2].replicas, out[2].wanted), (2, Some(2)));
    assert!(out.iter().all(|r| r.time_ms == T0 && r.warning.is_none()));
    assert_eq!(rec.recommendation("db").unwrap().replicas, 4);
    assert!(rec.recommendation("cart").is_err());
}

#[test]
fn bad_rows_are_refused_and_change_nothing() {
    let mut rec = hpa(&["api", "db"]);
    let good = ServiceRow::new("api", &[("replicas", 3.0), ("cpu_util", 0.9)]);
    let before = rec
        .observe_rows(T0, std::slice::from_ref(&good))
        .unwrap()
        .to_vec();
    let cases: Vec<(i64, Vec<ServiceRow>, &str)> = vec![
        (
            T0 + 15_000,
            vec![ServiceRow::new("cart", &[("replicas", 1.0)])],
            "`cart` is not among",
        ),
        (
            T0 + 15_000,
            vec![ServiceRow::new("api", &[("cpu", 1.0)])],
            "`cpu` is not an observed column",
        ),
        (
            T0 + 15_000,
            vec![ServiceRow::new("api", &[("optimal_replicas", 1.0)])],
            "not an observed column",
        ),
        (
            T0 + 15_000,
            vec![ServiceRow::new("api", &[("req_rate", f64::NAN)])],
            "NaN is not a finite",
        ),
        (
            T0 + 15_000,
            vec![ServiceRow::new("api", &[("req_rate", -2.0)])],
            "-2 is not a finite",
        ),
        (T0 + 15_000, vec![good.clone(), good.clone()], "two rows"),
        (
            T0 + 15_000,
            vec![ServiceRow::new(
                "api",
                &[("replicas", 1.0), ("replicas", 2.0)],
            )],
            "given twice",
        ),
        (T0, vec![good.clone()], "is not after the last observation"),
        (T0 - 15_000, vec![good.clone()], "timestamps must increase"),
    ];
    for (time, rows, expected) in cases {
        let err = rec.observe_rows(time, &rows).unwrap_err().to_string();
        assert!(err.contains(expected), "expected `{expected}` in: {err}");
        assert_eq!(
            rec.latest(),
            &before[..],
            "a refused row changed the recommendations"
        );
        assert_eq!(rec.last_time_ms(), Some(T0));
    }
    // A valid interval after all that is taken as usual.
    let next = ServiceRow::new("api", &[("replicas", 5.0), ("cpu_util", 0.3)]);
    let out = rec.observe_rows(T0 + 15_000, &[next]).unwrap();
    assert_eq!(out[0].current, 5);
}

#[test]
fn the_fallback_sizes_on_the_last_cpu_and_never_to_zero() {
    let mut rec = hpa(&["api", "db", "quiet"]);
    rec.observe_rows(
        T0,
        &[
            ServiceRow::new("api", &[("replicas", 3.0), ("cpu_util", 0.9)]),
            // No CPU figure for db: it keeps its last recommendation.
            ServiceRow::new("db", &[("replicas", 2.0)]),
            ServiceRow::new("quiet", &[("replicas", 4.0), ("cpu_util", 0.0)]),
        ],
    )
    .unwrap();
    let kept = rec.recommendation("db").unwrap().replicas;
    let out = rec.fallback("Prometheus unreachable for 300 s").to_vec();
    assert!(out.iter().all(|r| r.source == Source::Fallback));
    assert!(
        out[0]
            .detail
            .starts_with("Prometheus unreachable for 300 s"),
        "{}",
        out[0].detail
    );
    // ceil(3 * 0.9 / 0.6) = 5.
    assert_eq!((out[0].replicas, out[0].wanted), (5, Some(5)));
    assert_eq!((out[1].replicas, out[1].wanted), (kept, None));
    // ceil(4 * 0 / 0.6) = 0, raised to the minimum of 1.
    assert_eq!((out[2].replicas, out[2].clamp), (1, Some(Clamp::Min(1))));
    // Before any observation the fallback gives every service its minimum.
    let mut fresh = hpa(&["api"]);
    assert_eq!(fresh.fallback("no data yet")[0].replicas, 1);
}

#[test]
fn settings_out_of_range_are_refused() {
    let new = |services: Vec<String>, interval| {
        RecommenderConfig::new(ScalerKind::Hpa(None), services, interval)
    };
    assert!(
        new(vec![], 15_000)
            .unwrap_err()
            .to_string()
            .contains("at least one service")
    );
    assert!(new(vec!["a".into(), "a".into()], 15_000).is_err());
    assert!(
        new(vec!["a".into()], 0)
            .unwrap_err()
            .to_string()
            .contains("interval_ms")
    );
    let cfg = new(vec!["a".into()], 15_000).unwrap();
    assert!(
        cfg.clone()
            .with_bounds("a", 0, 3)
            .unwrap_err()
            .to_string()
            .contains("1 <= min")
    );
    assert!(cfg.clone().with_bounds("a", 5, 3).is_err());
    assert!(
        cfg.clone()
            .with_bounds("b", 1, 3)
            .unwrap_err()
            .to_string()
            .contains("`b`")
    );
    let mut oracle = cfg.clone();
    oracle.scaler = ScalerKind::Oracle;
    assert!(Recommender::new(oracle).is_err());
    let mut missing = cfg;
    missing.scaler = ScalerKind::DeepScaler("/nonexistent/model".into());
    assert!(Recommender::new(missing).is_err());
}

/// Fed the simulator's observations, the recommender gives exactly what the scaler it
/// wraps does, interval after interval (HPA, with its stabilisation and rate limits).
#[test]
fn the_recommender_repeats_the_scalers_own_decisions() {
    let app = apps::builtin("online-boutique", 7).unwrap();
    let cfg = SimConfig {
        duration_ms: 2 * 3_600_000,
        seed: 3,
        ..SimConfig::default()
    };
    let mut env = SimEnv::new(&app, cfg, &Frictions::default()).unwrap();
    env.reset(3).unwrap();
    let first = env.observe().clone();
    let mut direct = ScalerKind::Hpa(None).build(&first).unwrap();
    let mut rc = RecommenderConfig::new(
        ScalerKind::Hpa(None),
        first.services.clone(),
        first.interval_ms,
    )
    .unwrap();
    rc.bounds = first.bounds.clone();
    rc.cpu_limit = first.cpu_limit.clone();
    rc.mem_limit = first.mem_limit.clone();
    rc.slo = first.slo;
    let mut rec = Recommender::new(rc).unwrap();
    let mut changes = 0;
    for _ in 0..240 {
        let obs = env.observe().clone();
        let actions = direct.decide(&obs);
        let out = rec.observe(obs.clone()).unwrap();
        for (s, r) in out.iter().enumerate() {
            let want = actions
                .iter()
                .rev()
                .find(|a| a.service == s)
                .and_then(|a| a.replicas)
                .unwrap_or(obs.replicas(s));
            assert_eq!(r.replicas, want, "{} at {}", r.service, obs.time_ms);
        }
        changes += actions.len();
        env.act(&actions).unwrap();
        env.step().unwrap();
    }
    assert!(changes > 5, "the HPA scaled {changes} times in two hours");
    assert_eq!(direct.name(), "hpa");
}

#[test]
fn the_fallback_clamps_to_the_maximum() {
    let cfg = RecommenderConfig::new(ScalerKind::Hpa(None), vec!["api".into()], 15_000)
        .unwrap()
        .with_bounds("api", 1, 6)
        .unwrap();
    let mut rec = Recommender::new(cfg).unwrap();
    rec.observe_rows(
        T0,
        &[ServiceRow::new(
            "api",
            &[("replicas", 5.0), ("cpu_util", 1.0)],
        )],
    )
    .unwrap();
    // ceil(5 * 1.0 / 0.6) = 9, above the maximum of 6.
    let r = &rec.fallback("feed down")[0];
    assert_eq!(
        (r.wanted, r.replicas, r.clamp),
        (Some(9), 6, Some(Clamp::Max(6)))
    );
}

#[test]
fn short_gaps_are_filled_forward_as_the_data_layer_repairs_them() {
    let mut rec = hpa(&["api"]);
    let full = ServiceRow::new("api", &[("replicas", 3.0), ("cpu_util", 0.9)]);
    assert_eq!(rec.observe_rows(T0, &[full]).unwrap()[0].replicas, 5);
    // The next three intervals lack the CPU figure: filled from the last one (0.9).
    for k in 1..=3 {
        let only_replicas = ServiceRow::new("api", &[("replicas", 3.0)]);
        let r = &rec.observe_rows(T0 + k * 15_000, &[only_replicas]).unwrap()[0];
        assert_eq!(r.replicas, 5, "interval {k}: {r:?}");
        assert!(
            r.detail.contains("1 missing value(s) filled forward"),
            "{}",
            r.detail
        );
    }
    // A fourth is past the data layer's limit of 3: the CPU is unknown, the HPA holds.
    let only_replicas = ServiceRow::new("api", &[("replicas", 3.0)]);
    let r = &rec.observe_rows(T0 + 4 * 15_000, &[only_replicas]).unwrap()[0];
    assert_eq!(r.replicas, 3, "{r:?}");
    assert!(!r.detail.contains("filled"), "{}", r.detail);
    // No fill at all when turned off.
    let mut cfg =
        RecommenderConfig::new(ScalerKind::Hpa(None), vec!["api".into()], 15_000).unwrap();
    cfg.max_fill_intervals = 0;
    let mut strict = Recommender::new(cfg).unwrap();
    strict
        .observe_rows(
            T0,
            &[ServiceRow::new(
                "api",
                &[("replicas", 3.0), ("cpu_util", 0.9)],
            )],
        )
        .unwrap();
    let r = &strict
        .observe_rows(T0 + 15_000, &[ServiceRow::new("api", &[("replicas", 3.0)])])
        .unwrap()[0];
    assert_eq!(r.replicas, 3);
}
