//! The harness, the frictions and the scalers on small simulated runs.

use approx::assert_abs_diff_eq;
use holoscale_scaler::env::{Environment, SimEnv};
use holoscale_scaler::harness::{Harness, ScalerEntry};
use holoscale_scaler::metrics::mean_and_spread;
use holoscale_scaler::{Action, Frictions, ScalerKind, Startup};
use holoscale_sim::engine::col;
use holoscale_sim::observe::OBSERVED_COLUMNS;
use holoscale_sim::{Pattern, Recorder, SimConfig, apps};

fn harness(app: &str, hours: i64, scalers: &str, seeds: &[u64]) -> Harness {
    let mut h = Harness::new(apps::builtin(app, 7).unwrap());
    h.sim.duration_ms = hours * 3_600_000;
    h.seeds = seeds.to_vec();
    h.scalers = ScalerKind::parse_list(scalers)
        .unwrap()
        .into_iter()
        .map(ScalerEntry::from_kind)
        .collect();
    h
}

#[test]
fn every_scaler_is_deterministic_for_a_seed() {
    let h = harness("bookinfo", 2, "static,hpa,aws,mmn,hab,slo,oracle", &[3]);
    let a = h.run(&|_, _| {}).unwrap();
    let b = h.run(&|_, _| {}).unwrap();
    assert_eq!(a, b);
    // Different seeds give different runs.
    let mut h2 = h.clone();
    h2.seeds = vec![4];
    let c = h2.run(&|_, _| {}).unwrap();
    assert_ne!(a.runs[1].run.metrics, c.runs[1].run.metrics);
    // One thread or all: the same numbers.
    let mut h1 = h.clone();
    h1.threads = 1;
    assert_eq!(h1.run(&|_, _| {}).unwrap(), a);
}

#[test]
fn the_oracle_bounds_every_scaler_and_static_at_the_minimum_is_worst() {
    let mut h = harness(
        "online-boutique",
        6,
        "static:1,hpa,aws,mmn,hab,slo,oracle",
        &[5],
    );
    h.sim.pattern = Pattern::Surge;
    let eval = h.run(&|_, _| {}).unwrap();
    let v = |name: &str| {
        eval.table
            .iter()
            .find(|r| r.scaler == name)
            .unwrap()
            .mean
            .violation_share
    };
    let oracle = v("oracle");
    let worst = v("static:1");
    for r in &eval.table {
        let x = r.mean.violation_share;
        assert!(oracle <= x + 1e-12, "oracle {oracle} > {} {x}", r.scaler);
        assert!(worst >= x - 1e-12, "static:1 {worst} < {} {x}", r.scaler);
    }
    assert!(
        worst > 0.3,
        "one replica each cannot carry the load: {worst}"
    );
    assert!(
        oracle < 0.02,
        "the oracle meets the SLO nearly always: {oracle}"
    );
}

#[test]
fn start_up_delays_hold_new_replicas() {
    let app = apps::builtin("bookinfo", 7).unwrap();
    let frictions = Frictions {
        startup: Startup::Fixed(60.0),
        ..Frictions::default()
    };
    let cfg = SimConfig {
        duration_ms: 3_600_000,
        interval_ms: 15_000,
        ..SimConfig::default()
    };
    let mut env = SimEnv::new(&app, cfg, &frictions).unwrap();
    env.step().unwrap();
    let before = env.observe().ready[0];
    env.act(&[Action::replicas(0, before + 2)]).unwrap();
    assert_eq!(
        env.observe().starting[0],
        2,
        "known at once to the control plane"
    );
    // Created at 15 s, ready at 75 s: they serve from the fifth interval after the action
    // (the one starting at 75 s) and not before.
    for k in 1..=5 {
        env.step().unwrap();
        let (ready, starting) = (env.observe().ready[0], env.observe().starting[0]);
        if k < 5 {
            assert_eq!((ready, starting), (before, 2), "interval {k}");
        } else {
            assert_eq!((ready, starting), (before + 2, 0), "interval {k}");
        }
    }
    // By runtime: Bookinfo's reviews (Java) takes 60 s, productpage (Python) 15 s.
    let env = SimEnv::new(&app, SimConfig::default(), &Frictions::default()).unwrap();
    let delay = |name: &str| {
        env.spec()
            .services
            .iter()
            .find(|s| s.name == name)
            .unwrap()
            .startup_delay_s
    };
    assert_eq!(delay("reviews"), 60.0);
    assert_eq!(delay("productpage"), 15.0);
}

#[test]
fn a_scaler_sees_only_finished_intervals_through_the_lag() {
    let app = apps::builtin("bookinfo", 7).unwrap();
    let cfg = SimConfig {
        duration_ms: 3_600_000,
        interval_ms: 15_000,
        ..SimConfig::default()
    };
    let lagged = Frictions {
        metrics_lag_intervals: 1,
        rate_window_intervals: 1,
        ..Frictions::default()
    };
    let direct = Frictions {
        metrics_lag_intervals: 0,
        rate_window_intervals: 1,
        ..Frictions::default()
    };
    let mut a = SimEnv::new(&app, cfg.clone(), &lagged).unwrap();
    let mut b = SimEnv::new(&app, cfg, &direct).unwrap();
    assert!(
        a.observe().rows.is_empty(),
        "nothing before the first interval"
    );
    a.step().unwrap();
    b.step().unwrap();
    assert!(
        a.observe().rows.is_empty(),
        "the first interval is not scraped yet"
    );
    let mut previous = b.observe().rows.clone();
    for _ in 0..20 {
        a.step().unwrap();
        b.step().unwrap();
        // With a lag of one interval the scaler sees what the direct view showed one
        // interval earlier, and never the interval that just ended.
        assert_eq!(a.observe().rows, previous);
        assert_ne!(a.observe().rows, b.observe().rows);
        previous = b.observe().rows.clone();
    }
    // A rate window of two intervals averages the last two visible ones.
    let windowed = Frictions {
        metrics_lag_intervals: 0,
        rate_window_intervals: 2,
        ..Frictions::default()
    };
    let cfg = SimConfig {
        duration_ms: 3_600_000,
        interval_ms: 15_000,
        ..SimConfig::default()
    };
    let mut w = SimEnv::new(&app, cfg.clone(), &windowed).unwrap();
    let mut d = SimEnv::new(&app, cfg, &direct).unwrap();
    w.step().unwrap();
    d.step().unwrap();
    let first = d.observe().rows.clone();
    w.step().unwrap();
    d.step().unwrap();
    let second = d.observe().rows.clone();
    for s in 0..first.len() {
        let want = 0.5 * (first[s][col::REQ_RATE] + second[s][col::REQ_RATE]);
        assert_abs_diff_eq!(w.observe().rows[s][col::REQ_RATE], want, epsilon = 1e-9);
    }
}

#[test]
fn no_scaler_can_read_the_oracle() {
    assert!(!OBSERVED_COLUMNS.contains(&holoscale_datasets::schema::OPTIMAL_REPLICAS));
    let env = SimEnv::new(
        &apps::builtin("bookinfo", 7).unwrap(),
        SimConfig::default(),
        &Frictions::default(),
    )
    .unwrap();
    let Err(err) = ScalerKind::Oracle.build(env.observe()) else {
        panic!("the oracle built as a scaler");
    };
    let err = err.to_string();
    assert!(err.contains("not a scaler"), "{err}");
}

#[test]
fn the_table_is_built_from_the_runs_and_runs_agree_with_the_recorder() {
    let h = harness("bookinfo", 2, "hpa,mmn", &[1, 2]);
    let eval = h.run(&|_, _| {}).unwrap();
    assert_eq!(eval.runs.len(), 4);
    for row in &eval.table {
        let runs: Vec<_> = eval
            .runs
            .iter()
            .filter(|r| r.scaler == row.scaler)
            .map(|r| r.run.metrics)
            .collect();
        assert_eq!(runs.len(), 2);
        let (mean, spread) = mean_and_spread(&runs);
        assert_eq!(row.mean, mean);
        assert_eq!(row.spread, spread);
        assert_abs_diff_eq!(
            row.mean.violation_share,
            (runs[0].violation_share + runs[1].violation_share) / 2.0,
            epsilon = 1e-15
        );
    }
    // hpa against mmn (the only other baseline): 1 − v_hpa / v_mmn.
    let (hpa, mmn) = (&eval.table[0], &eval.table[1]);
    if mmn.mean.violation_share > 0.0 {
        assert_abs_diff_eq!(
            hpa.violation_reduction.unwrap(),
            1.0 - hpa.mean.violation_share / mmn.mean.violation_share,
            epsilon = 1e-12
        );
    }
    // The harness's figures of a run are the simulator recorder's for the same run.
    let env = h.environment(false, 1).unwrap();
    let mut recorder = Recorder::new(env.spec(), env.simulator(), env.steps());
    let run = h
        .run_one(
            &h.scalers[0],
            1,
            &mut |e| Ok(recorder.record(e.emission())?),
        )
        .unwrap();
    assert_eq!(run.metrics, eval.runs[0].run.metrics);
    let s = recorder.summary();
    let m = run.metrics;
    assert_abs_diff_eq!(m.requests, s.requests, epsilon = 1e-6 * s.requests);
    assert_abs_diff_eq!(m.violation_share, s.slo_violation_share, epsilon = 1e-12);
    assert_abs_diff_eq!(m.failed_share, s.failed_share, epsilon = 1e-12);
    assert_abs_diff_eq!(m.core_hours, s.core_hours, epsilon = 1e-9);
    assert_abs_diff_eq!(m.mean_replicas, s.mean_replicas, epsilon = 1e-12);
}

#[test]
fn bad_settings_are_refused_by_name() {
    let app = apps::builtin("bookinfo", 7).unwrap();
    let bad = Frictions {
        rate_window_intervals: 0,
        ..Frictions::default()
    };
    let err = SimEnv::new(&app, SimConfig::default(), &bad)
        .unwrap_err()
        .to_string();
    assert!(err.contains("rate_window_intervals"), "{err}");
    let bad = Frictions {
        startup: Startup::Fixed(-1.0),
        ..Frictions::default()
    };
    let err = SimEnv::new(&app, SimConfig::default(), &bad)
        .unwrap_err()
        .to_string();
    assert!(err.contains("startup"), "{err}");
    let mut h = harness("bookinfo", 1, "hpa", &[1]);
    h.default_period_ms = 20_000;
    h.scalers = vec![ScalerEntry::from_kind(ScalerKind::Static(Some(2)))];
    let err = h.run(&|_, _| {}).unwrap_err().to_string();
    assert!(err.contains("decision_period_ms"), "{err}");
    let mut h = harness("bookinfo", 1, "hpa", &[1]);
    h.scalers
        .push(ScalerEntry::from_kind(ScalerKind::Hpa(None)));
    assert!(h.run(&|_, _| {}).unwrap_err().to_string().contains("twice"));
}
