//! The observation boundary and the recorder: a policy written against the `Observation`
//! alone drives the simulator, sees exactly what the telemetry records and no label, and a
//! step-by-step driver with the `Recorder` reproduces what `simulate()` reported.

use holoscale_datasets::io::NoProgress;
use holoscale_sim::engine::col;
use holoscale_sim::{
    self as sim, Action, Collector, OBSERVED_COLUMNS, Observation, Policy, Recorder, SimConfig,
    Simulator, Summary, apps, policy,
};

/// Scales a service up by one above 70% CPU and down by one below 30%, and keeps every
/// observation it was shown.
#[derive(Default)]
struct Threshold {
    seen: Vec<Observation>,
}

impl Policy for Threshold {
    fn decide(&mut self, obs: &Observation) -> Vec<Action> {
        self.seen.push(obs.clone());
        (0..obs.len())
            .filter_map(|s| {
                let util = obs.value(s, col::CPU_UTIL);
                let n = obs.replicas(s);
                if util > 0.7 {
                    Some(Action::replicas(s, n + 1))
                } else if util < 0.3 && n > 1 {
                    Some(Action::replicas(s, n - 1))
                } else {
                    None
                }
            })
            .collect()
    }
}

#[test]
fn a_policy_written_against_the_observation_alone_drives_the_simulator() {
    assert!(!OBSERVED_COLUMNS.contains(&"optimal_replicas"));
    let app = apps::builtin("bookinfo", 0).unwrap();
    let cfg = SimConfig {
        duration_ms: 4 * 3_600_000,
        pattern: sim::Pattern::Bursts,
        seed: 5,
        gap_prob: 0.05,
        ..SimConfig::default()
    };
    let mut sim = Simulator::new(&app, cfg.clone()).unwrap();
    let steps = 480;
    let mut rec = Recorder::new(&app, &sim, steps);
    let mut policy = Threshold::default();
    for _ in 0..steps {
        let actions = policy.decide(sim.observe());
        sim.apply(&actions).unwrap();
        rec.record(sim.step()).unwrap();
    }
    let out = rec.finish().unwrap();
    let tel = &out.telemetry;
    let replicas = tel.column("replicas").unwrap();
    // It scaled: replica counts moved, within the bounds the observation gave.
    let distinct: std::collections::BTreeSet<u64> = replicas
        .iter()
        .filter(|v| v.is_finite())
        .map(|v| *v as u64)
        .collect();
    assert!(distinct.len() >= 3, "replica counts seen: {distinct:?}");
    // Before the first interval it saw no measurements; at decision k it saw exactly the
    // telemetry row recorded for interval k - 1 (noise and scrape gaps included), its
    // columns in the telemetry's order, with every replica count and limit.
    assert!(policy.seen[0].rows.is_empty());
    assert_eq!(policy.seen[0].time_ms, cfg.start_ms);
    let cols: Vec<usize> = OBSERVED_COLUMNS
        .iter()
        .map(|c| tel.column_index(c).unwrap())
        .collect();
    let mut gaps = 0;
    for (k, obs) in policy.seen.iter().enumerate().skip(1) {
        assert_eq!(obs.time_ms, tel.timestamp(k - 1));
        for s in 0..obs.len() {
            for (i, &c) in cols.iter().enumerate() {
                let (seen, recorded) = (obs.rows[s][i], tel.values()[[k - 1, s, c]]);
                if tel.observed()[[k - 1, s, c]] {
                    assert_eq!(
                        seen, recorded,
                        "step {k}, service {s}, {}",
                        OBSERVED_COLUMNS[i]
                    );
                } else {
                    assert!(seen.is_nan());
                    gaps += 1;
                }
            }
            assert_eq!(
                obs.bounds[s],
                (app.services[s].min_replicas, app.services[s].max_replicas)
            );
            assert_eq!(obs.cpu_limit[s], app.services[s].cpu_limit);
        }
        assert_eq!(obs.edges.len(), sim.call_edges().len());
        assert_eq!(obs.operations.len(), app.operations.len());
        assert_eq!(obs.slo, app.slo);
    }
    assert!(gaps > 0, "the 5% scrape gaps reach the observation");
}

/// What `holoscale simulate` reported in `run.json` before the recorder existed (holoscale
/// at commit 7d9c58b): `--app sock-shop --duration 2h --policy random --seed 2` and
/// `--app hotel-reservation --duration 2h --policy oracle-noise --seed 4 --oracle realized`.
const BEFORE: [(&str, &str, u64, sim::Oracle, Summary); 2] = [
    (
        "sock-shop",
        "random",
        2,
        sim::Oracle::Expected,
        Summary {
            requests: 2242323.0,
            failed_share: 0.061165673048795964,
            slo_violation_share: 0.22192877654111384,
            core_hours: 134.22500000000036,
            mean_replicas: 9.5875,
        },
    ),
    (
        "hotel-reservation",
        "oracle-noise",
        4,
        sim::Oracle::Realized,
        Summary {
            requests: 2385608.0,
            failed_share: 0.02309188908562904,
            slo_violation_share: 0.7319484173426648,
            core_hours: 48.529166666666846,
            mean_replicas: 6.932738095238095,
        },
    ),
];

#[test]
fn the_recorder_reports_what_simulate_reported_before() {
    for (app_name, policy_name, seed, oracle, before) in BEFORE {
        let app = apps::builtin(app_name, seed).unwrap();
        let cfg = SimConfig {
            duration_ms: 2 * 3_600_000,
            seed,
            oracle,
            ..SimConfig::default()
        };
        // Driven step by step, outside simulate().
        let mut sim = Simulator::new(&app, cfg.clone()).unwrap();
        let mut collector: Collector =
            policy::by_name(policy_name, app.services.len(), seed).unwrap();
        assert_eq!(collector.sees_oracle(), policy_name == "oracle-noise");
        let mut rec = Recorder::new(&app, &sim, 240);
        for _ in 0..240 {
            let actions = collector.decide(&sim);
            sim.apply(&actions).unwrap();
            rec.record(sim.step()).unwrap();
        }
        assert_eq!(rec.summary(), before, "{app_name}");
        // And through simulate().
        let mut collector = policy::by_name(policy_name, app.services.len(), seed).unwrap();
        let out = sim::simulate(&app, &cfg, &mut collector, &NoProgress).unwrap();
        assert_eq!(out.summary, before, "{app_name}");
    }
}

#[test]
fn the_recorder_refuses_emissions_out_of_order() {
    let app = apps::builtin("bookinfo", 0).unwrap();
    let mut sim = Simulator::new(&app, SimConfig::default()).unwrap();
    let mut rec = Recorder::new(&app, &sim, 2);
    sim.step();
    let first = sim.last_emission().clone();
    rec.record(&first).unwrap();
    let err = rec.record(&first).unwrap_err().to_string();
    assert!(err.contains("interval 2"), "{err}");
    assert_eq!(rec.steps(), 1);
}

#[test]
fn latency_load_profiles_are_public_and_match_the_closed_forms() {
    use holoscale_sim::LatencyModel;
    use holoscale_sim::spec::{Profile, ServiceSpec};
    // Two-piece: 10 ms + 0.5 ms per rps up to 20 rps per replica, then 5 ms per rps.
    let mut spec = ServiceSpec::new("s", 0.01);
    spec.profile = Some(Profile::TwoPiece {
        base_ms: 10.0,
        slope_ms: 0.5,
        knee_rps: 20.0,
        steep_slope_ms: 5.0,
    });
    let m = LatencyModel::of(&spec);
    assert_eq!(m.capacity_rps, 100.0);
    // 30 rps on 2 replicas: 15 rps each, below the knee: 10 + 7.5 = 17.5 ms.
    assert!((m.latency_ms(30.0, 2) - 17.5).abs() < 1e-9);
    // 50 rps on 2 replicas: 25 each: 10 + 10 + 5·5 = 45 ms.
    assert!((m.latency_ms(50.0, 2) - 45.0).abs() < 1e-9);
    // A CPU limit twice the spec's halves the per-replica load: 50 rps on 2 is 12.5 each.
    let (mean, _) = m.own_latency(50.0, 2, 2.0, 1.0, 0.0);
    assert!((1000.0 * mean - 16.25).abs() < 1e-9);
    // The default target is the latency at the knee.
    assert_eq!(m.default_target_ms(0.7), 20.0);
    // M/M/1 at ρ = 0.5 (μ = 100/s, λ = 50/s): sojourn 1/(μ − λ) = 20 ms.
    spec.profile = Some(Profile::Mmc);
    let m = LatencyModel::of(&spec);
    assert!((m.latency_ms(50.0, 1) - 20.0).abs() < 1e-9);
    // Without ready replicas: the timeout.
    assert_eq!(m.own_latency(50.0, 0, 1.0, 1.0, 0.0).0, spec.timeout_s);
}

#[test]
fn a_streamed_run_writes_the_bytes_of_one_recorded_in_memory() {
    use holoscale_sim::rundir::{self, RunFormat, RunRecord};
    let app = apps::builtin("online-boutique", 0).unwrap();
    for (format, edges) in [
        (RunFormat::Parquet, sim::EdgeRows::PerInterval),
        (RunFormat::Csv, sim::EdgeRows::Total),
    ] {
        let cfg = SimConfig {
            duration_ms: 3 * 3_600_000,
            gap_prob: 0.02,
            edges,
            ..SimConfig::default()
        };
        let record = |summary| RunRecord::new("online-boutique", &app, &cfg, "hpa", summary);
        let dir = tempfile::tempdir().unwrap();
        let mut pol = policy::by_name("hpa", app.services.len(), cfg.seed).unwrap();
        let out = sim::simulate(&app, &cfg, &mut pol, &NoProgress).unwrap();
        let kept = rundir::write(
            &dir.path().join("kept"),
            &out,
            &app,
            &record(out.summary),
            format,
        )
        .unwrap();
        let mut pol = policy::by_name("hpa", app.services.len(), cfg.seed).unwrap();
        let (summary, streamed) = rundir::simulate_into(
            &dir.path().join("streamed"),
            &app,
            &cfg,
            &mut pol,
            record,
            format,
            &NoProgress,
        )
        .unwrap();
        assert_eq!(summary, out.summary);
        for (a, b) in kept.all().iter().zip(streamed.all()) {
            assert_eq!(
                std::fs::read(a).unwrap(),
                std::fs::read(b).unwrap(),
                "{} differs",
                a.display()
            );
        }
    }
}
