//! The simulator against numbers that can be checked: conservation of requests, M/M/1
//! closed forms, the latency cascade, replica lifecycle rules, planted latent dependencies,
//! the optimal-replicas label, determinism, and every built-in application.

use holoscale_datasets::io::{self, NoProgress};
use holoscale_sim::engine::col;
use holoscale_sim::{self as sim, Action, AppSpec, Pattern, SimConfig, Simulator, apps, policy};

fn two_tier(profile: &str, startup: f64) -> AppSpec {
    AppSpec::from_toml(
        &format!(
            r#"
name = "two-tier"
[slo]
percentile = 95.0
latency_ms = 500.0
[workload]
base_rps = 10.0
peak_rps = 50.0
[[services]]
name = "front"
cpu_per_request = 0.01
startup_delay_s = {startup}
max_replicas = 8
{profile}
[[services]]
name = "back"
cpu_per_request = 0.01
startup_delay_s = {startup}
max_replicas = 8
{profile}
[[operations]]
name = "get"
calls = [ {{ tag = "1", service = "front" }}, {{ tag = "1.1", service = "back" }} ]
"#
        ),
        "two-tier",
    )
    .unwrap()
}

fn one_service_mm1() -> AppSpec {
    AppSpec::from_toml(
        r#"
name = "mm1"
[slo]
percentile = 95.0
latency_ms = 500.0
[workload]
base_rps = 10.0
peak_rps = 90.0
[[services]]
name = "server"
cpu_per_request = 0.01
min_replicas = 1
max_replicas = 1
timeout_s = 1000.0
profile = { model = "mmc" }
[[operations]]
name = "req"
calls = [ { tag = "1", service = "server" } ]
"#,
        "mm1",
    )
    .unwrap()
}

fn cfg(hours: f64, pattern: Pattern) -> SimConfig {
    SimConfig {
        duration_ms: (hours * 3_600_000.0) as i64,
        pattern,
        noise: 0.0,
        ..SimConfig::default()
    }
}

#[test]
fn requests_are_conserved_per_service_and_step() {
    // Online Boutique held at its minimum replicas under a workload peaking far above
    // capacity: queues build up, requests time out.
    let spec = apps::builtin("online-boutique", 0).unwrap();
    let mut c = cfg(3.0, Pattern::DeepScaler);
    c.rates = Some((spec.workload.base_rps, 3.0 * spec.workload.peak_rps));
    let mut sim = Simulator::new(&spec, c).unwrap();
    let n = sim.services().len();
    sim.apply(
        &(0..n)
            .map(|s| Action {
                service: s,
                replicas: Some(1),
                cpu_limit: None,
                mem_limit: None,
            })
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let (mut failed, mut queued) = (0.0, 0.0f64);
    for _ in 0..360 {
        let em = sim.step();
        for f in &em.flow {
            let lhs = f.arrivals + f.backlog_start;
            let rhs = f.served + f.failed + f.backlog_end;
            assert!((lhs - rhs).abs() <= 1e-9 * lhs.max(1.0), "{f:?}");
            failed += f.failed;
            queued = queued.max(f.backlog_end);
        }
    }
    assert!(
        failed > 0.0 && queued > 0.0,
        "the overload must queue and fail requests"
    );
}

#[test]
fn mm1_mean_latency_matches_the_closed_form() {
    let spec = one_service_mm1();
    let mu = 100.0;
    let mut means = Vec::new();
    for lambda in [20.0, 50.0, 80.0, 90.0] {
        let mut c = cfg(2.0, Pattern::Constant);
        c.rates = Some((lambda, lambda));
        let mut sim = Simulator::new(&spec, c).unwrap();
        let mut sum = 0.0;
        let mut p95 = 0.0;
        let steps = 240;
        for _ in 0..steps {
            let em = sim.step();
            sum += em.truth[0][col::LATENCY_MS];
            p95 += em.truth[0][col::P95];
        }
        let mean = sum / steps as f64;
        let want = 1000.0 / (mu - lambda);
        assert!(
            (mean - want).abs() <= 0.05 * want,
            "λ = {lambda}: mean {mean} ms, M/M/1 {want} ms"
        );
        // The sojourn time of M/M/1 is exponential: p95 = ln(20) / (μ − λ).
        let want95 = 1000.0 * 20f64.ln() / (mu - lambda);
        assert!(
            (p95 / steps as f64 - want95).abs() <= 0.05 * want95,
            "λ = {lambda}: p95"
        );
        means.push(mean);
    }
    assert!(
        means.windows(2).all(|w| w[1] > w[0]),
        "latency rises with load: {means:?}"
    );
}

#[test]
fn a_load_surge_at_the_front_raises_the_latency_downstream() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("surge.csv");
    // One hour at the low rate, then one hour at the high rate: a sharp increase.
    let mut text = String::from(",timestamp,tps_truth\n");
    for minute in 0..120 {
        text.push_str(&format!(
            "{minute},{},{}\n",
            minute * 60,
            if minute < 60 { 10.0 } else { 40.0 }
        ));
    }
    std::fs::write(&trace, text).unwrap();
    let spec = two_tier("", 10.0);
    let mut c = cfg(
        2.0,
        Pattern::Trace {
            path: trace,
            time_scale: 1.0,
        },
    );
    c.rates = Some((20.0, 90.0));
    let mut sim = Simulator::new(&spec, c).unwrap();
    // Held at two front and one back replica: the back end crosses its knee (70 requests/s
    // per replica) when the front's load jumps from 20 to 90 requests/s.
    sim.apply(&[
        Action {
            service: 0,
            replicas: Some(2),
            cpu_limit: None,
            mem_limit: None,
        },
        Action {
            service: 1,
            replicas: Some(1),
            cpu_limit: None,
            mem_limit: None,
        },
    ])
    .unwrap();
    let mut before = (0.0, 0.0);
    let mut after = (0.0, 0.0);
    for t in 0..240 {
        let em = sim.step();
        let (f, b) = (em.truth[0][col::LATENCY_MS], em.truth[1][col::LATENCY_MS]);
        if (60..110).contains(&t) {
            before.0 += f / 50.0;
            before.1 += b / 50.0;
        }
        if (190..240).contains(&t) {
            after.0 += f / 50.0;
            after.1 += b / 50.0;
        }
    }
    assert!(
        after.1 > 1.5 * before.1,
        "back end: {} -> {} ms",
        before.1,
        after.1
    );
    assert!(
        after.0 > before.0 + (after.1 - before.1) * 0.9,
        "the front waits for the back end"
    );
}

#[test]
fn replicas_start_late_leave_at_once_and_stay_in_bounds() {
    let spec = two_tier("", 20.0);
    let mut c = cfg(1.0, Pattern::Constant);
    c.interval_ms = 10_000;
    let mut sim = Simulator::new(&spec, c).unwrap();
    let start = sim.replicas()[0].0;
    sim.apply(&[Action {
        service: 0,
        replicas: Some(start + 2),
        cpu_limit: None,
        mem_limit: None,
    }])
    .unwrap();
    sim.step();
    assert_eq!(sim.replicas()[0], (start, 2), "not ready before 20 s");
    assert_eq!(
        sim.last_emission().truth[0][col::REPLICAS],
        (start + 2) as f64,
        "pods exist while starting"
    );
    sim.step();
    sim.step();
    assert_eq!(sim.replicas()[0], (start + 2, 0), "ready after 20 s");
    sim.apply(&[Action {
        service: 0,
        replicas: Some(1),
        cpu_limit: None,
        mem_limit: None,
    }])
    .unwrap();
    assert_eq!(sim.replicas()[0], (1, 0), "scale-down is immediate");
    sim.apply(&[Action {
        service: 0,
        replicas: Some(99),
        cpu_limit: None,
        mem_limit: None,
    }])
    .unwrap();
    assert_eq!(
        sim.replicas()[0].0 + sim.replicas()[0].1,
        8,
        "clamped to max_replicas"
    );
    sim.apply(&[Action {
        service: 1,
        replicas: Some(0),
        cpu_limit: None,
        mem_limit: None,
    }])
    .unwrap();
    assert_eq!(sim.replicas()[1].0, 1, "clamped to min_replicas");
    let err = sim
        .apply(&[Action {
            service: 7,
            replicas: Some(1),
            cpu_limit: None,
            mem_limit: None,
        }])
        .unwrap_err();
    assert!(err.to_string().contains("out of range"));
}

/// Residuals of `y` after a least-squares fit on `x` (removes the common workload).
fn residual(y: &[f64], x: &[f64]) -> Vec<f64> {
    let n = y.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
    let beta = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    y.iter()
        .zip(x)
        .map(|(b, a)| b - my - beta * (a - mx))
        .collect()
}

fn ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    for (rank, i) in idx.into_iter().enumerate() {
        r[i] = rank as f64;
    }
    r
}

fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let (ra, rb) = (ranks(a), ranks(b));
    let n = ra.len() as f64;
    let m = (n - 1.0) / 2.0;
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - m) * (y - m)).sum();
    let var: f64 = ra.iter().map(|x| (x - m).powi(2)).sum();
    cov / var
}

#[test]
fn planted_latent_dependencies_show_in_the_data_not_in_the_calls() {
    let spec = apps::builtin("train-ticket", 0).unwrap();
    let c = SimConfig {
        duration_ms: 24 * 3_600_000,
        pattern: Pattern::DeepScaler,
        ..SimConfig::default()
    };
    let mut pol = policy::by_name("hpa", spec.services.len(), c.seed).unwrap();
    let out = sim::simulate(&spec, &c, &mut pol, &NoProgress).unwrap();
    let tel = &out.telemetry;
    let series = |s: &str, col: &str| tel.series(s, col).unwrap().to_vec();
    // The common workload: every request entering the application.
    let total: Vec<f64> = (0..tel.len())
        .map(|t| {
            tel.services()
                .iter()
                .map(|s| tel.series(s, "req_rate").unwrap()[t])
                .sum()
        })
        .collect();
    let called: std::collections::BTreeSet<(String, String)> = out
        .edges
        .aggregate()
        .into_iter()
        .filter(|e| e.req_rate > 0.0)
        .map(|e| (e.source, e.destination))
        .collect();
    let linked = |a: &str, b: &str| {
        called.contains(&(a.into(), b.into())) || called.contains(&(b.into(), a.into()))
    };
    let stateless: Vec<String> = spec
        .services
        .iter()
        .filter(|s| s.kind == sim::spec::ServiceKind::Service)
        .map(|s| s.name.clone())
        .collect();
    // Unrelated: services that neither call each other nor take part in a planted dependency.
    let planted_services: Vec<String> = out
        .truth
        .latent()
        .flat_map(|e| [e.source.clone(), e.destination.clone()])
        .collect();
    let unrelated = |f: &dyn Fn(&str, &str) -> f64| -> f64 {
        let mut v = Vec::new();
        for a in &stateless {
            for b in &stateless {
                if a < b
                    && !linked(a, b)
                    && !planted_services.contains(a)
                    && !planted_services.contains(b)
                {
                    v.push(f(a, b).abs());
                }
            }
        }
        assert!(
            !v.is_empty(),
            "the app needs unrelated pairs to compare with"
        );
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    // Same action: loads move together beyond the common workload.
    let load = |a: &str, b: &str| {
        spearman(
            &residual(&series(a, "req_rate"), &total),
            &residual(&series(b, "req_rate"), &total),
        )
    };
    assert!(!linked("ts-security-service", "ts-assurance-service"));
    let (planted, typical) = (
        load("ts-security-service", "ts-assurance-service"),
        unrelated(&load),
    );
    assert!(
        planted > 0.8 && planted > typical + 0.3,
        "same-action: {planted} vs unrelated {typical}"
    );
    // Shared datastore: the order service's load slows both of its users, so their
    // latencies move together.
    let lat = |a: &str, b: &str| spearman(&series(a, "latency_ms"), &series(b, "latency_ms"));
    assert!(!linked("ts-cancel-service", "ts-execute-service"));
    let (planted, typical) = (
        lat("ts-cancel-service", "ts-execute-service"),
        unrelated(&lat),
    );
    assert!(
        planted > typical + 0.3,
        "shared-datastore: {planted} vs unrelated {typical}"
    );
    // Co-located: one's load makes the other's requests cost more CPU.
    let per_request = |s: &str| -> Vec<f64> {
        series(s, "cpu_cores")
            .iter()
            .zip(series(s, "req_rate"))
            .map(|(c, r)| c / r.max(1e-9))
            .collect()
    };
    let inter = |a: &str, b: &str| {
        spearman(&per_request(a), &series(b, "req_rate"))
            .max(spearman(&per_request(b), &series(a, "req_rate")))
    };
    assert!(!linked("ts-auth-service", "ts-route-service"));
    let (planted, typical) = (
        inter("ts-auth-service", "ts-route-service"),
        unrelated(&inter),
    );
    assert!(
        planted > 0.8 && planted > typical + 0.5,
        "co-located: {planted} vs unrelated {typical}"
    );
}

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

#[test]
fn a_quick_follow_up_leads_the_follower_more_than_its_own_history() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/quick-follow-up-shop.toml");
    let spec = AppSpec::from_file(&path).unwrap();
    assert_eq!(
        (spec.latent[0].lag_s, spec.latent[0].memory_s),
        (60.0, 120.0)
    );
    let c = SimConfig {
        duration_ms: 12 * 3_600_000,
        pattern: Pattern::Constant,
        seed: 3,
        ..SimConfig::default()
    };
    let mut pol = policy::by_name("hpa", spec.services.len(), c.seed).unwrap();
    let out = sim::simulate(&spec, &c, &mut pol, &NoProgress).unwrap();
    let rate = |s: &str| out.telemetry.series(s, "req_rate").unwrap().to_vec();
    let (search, booking) = (rate("search"), rate("booking"));
    let t = search.len();
    // The follow-up comes 60 s (two 30 s steps) after the search.
    let lead = pearson(&search[..t - 2], &booking[2..]);
    let own = pearson(&booking[..t - 1], &booking[1..]);
    assert!(
        lead > 0.7 && lead > own + 0.1,
        "search leads booking by two steps: {lead}; booking's own lag-1 correlation: {own}"
    );
    // The variation moves search's share of a constant total, so the other operations'
    // loads mirror it: profile's load leads booking's too, with the opposite sign, but less.
    let profile = rate("profile");
    let mirror = pearson(&profile[..t - 2], &booking[2..]);
    assert!(
        mirror < 0.0 && mirror.abs() < lead,
        "profile vs booking: {mirror}"
    );
}

#[test]
fn optimal_replicas_meet_the_latency_target_when_applied() {
    let mut spec = apps::builtin("online-boutique", 0).unwrap();
    for s in &mut spec.services {
        s.startup_delay_s = 0.0;
    }
    let c = SimConfig {
        duration_ms: 12 * 3_600_000,
        noise: 0.0,
        ..SimConfig::default()
    };
    let mut sim = Simulator::new(&spec, c).unwrap();
    let mut oracle = policy::OracleNoise::new(0.0, 1);
    let targets: Vec<f64> = spec
        .services
        .iter()
        .map(|s| match s.effective_profile() {
            sim::spec::Profile::TwoPiece {
                base_ms,
                slope_ms,
                knee_rps,
                ..
            } => base_ms + slope_ms * knee_rps,
            sim::spec::Profile::Mmc => unreachable!("boutique uses two-piece profiles"),
        })
        .collect();
    let (mut ok, mut total) = (0, 0);
    for _ in 0..1440 {
        let actions =
            policy::OraclePolicy::decide(&mut oracle, sim.observe(), &sim.optimal_replicas());
        sim.apply(&actions).unwrap();
        let em = sim.step();
        for (s, &own) in em.own_latency_ms.iter().enumerate() {
            total += 1;
            if own <= targets[s] * 1.02 {
                ok += 1;
            }
        }
    }
    assert!(
        ok as f64 >= 0.99 * total as f64,
        "{ok} of {total} within the target"
    );
}

/// The expected oracle's label of the two-tier app's front at a constant rate.
fn front_label_at(rate: f64) -> u32 {
    let mut c = cfg(0.1, Pattern::Constant);
    c.rates = Some((rate, rate));
    Simulator::new(&two_tier("", 0.0), c)
        .unwrap()
        .optimal_replicas()[0]
}

/// The front's labels over an hour at a constant `rate` under `oracle`.
fn front_labels(rate: f64, oracle: sim::Oracle) -> Vec<u32> {
    let mut c = cfg(1.0, Pattern::Constant);
    c.rates = Some((rate, rate));
    c.oracle = oracle;
    let mut sim = Simulator::new(&two_tier("", 0.0), c).unwrap();
    (0..120)
        .map(|_| sim.step().truth[0][col::OPTIMAL] as u32)
        .collect()
}

#[test]
fn the_hindsight_oracle_follows_the_arrivals_and_the_look_ahead_one_the_workload() {
    // The rate at which the front's label steps from 1 to 2 replicas, by bisection.
    assert_eq!(front_label_at(1.0), 1);
    let (mut lo, mut hi) = (1.0, 400.0);
    assert!(front_label_at(hi) >= 2);
    while hi - lo > 1e-3 {
        let mid = 0.5 * (lo + hi);
        if front_label_at(mid) >= 2 {
            hi = mid
        } else {
            lo = mid
        }
    }
    assert_eq!(front_label_at(lo), 1);
    // Right at the threshold, the look-ahead label is one value all hour, while the
    // Poisson arrivals put the hindsight label on either side of it.
    let expected = front_labels(hi, sim::Oracle::Expected);
    assert!(expected.iter().all(|&l| l == expected[0]), "{expected:?}");
    let realized = front_labels(hi, sim::Oracle::Realized);
    let ones = realized.iter().filter(|&&l| l == 1).count();
    let twos = realized.iter().filter(|&&l| l == 2).count();
    assert_eq!(ones + twos, realized.len(), "{realized:?}");
    assert!(
        ones >= 10 && twos >= 10,
        "{ones} at 1 and {twos} at 2 replicas"
    );
    // Far from a threshold, both oracles agree on every row.
    for rate in [0.5 * lo, 1.5 * hi] {
        let a = front_labels(rate, sim::Oracle::Expected);
        assert_eq!(
            a,
            front_labels(rate, sim::Oracle::Realized),
            "at {rate} requests/s"
        );
    }
}

#[test]
fn same_seed_same_files() {
    let spec = apps::builtin("bookinfo", 0).unwrap();
    let c = SimConfig {
        duration_ms: 2 * 3_600_000,
        gap_prob: 0.01,
        ..SimConfig::default()
    };
    let run = |seed: u64| {
        let c = SimConfig { seed, ..c.clone() };
        let mut pol = policy::by_name("random", spec.services.len(), seed).unwrap();
        let out = sim::simulate(&spec, &c, &mut pol, &NoProgress).unwrap();
        let mut t = Vec::new();
        io::parquet::write_telemetry(&out.telemetry, &mut t, &Default::default()).unwrap();
        let mut e = Vec::new();
        io::parquet::write_edges(&out.edges, &mut e).unwrap();
        (t, e)
    };
    let a = run(11);
    assert_eq!(a, run(11));
    assert_ne!(a.0, run(12).0);
}

#[test]
fn every_builtin_app_runs_a_day_under_the_oracle() {
    for name in [
        "bookinfo",
        "online-boutique",
        "sock-shop",
        "social-network",
        "hotel-reservation",
        "media",
        "train-ticket",
        "alibaba:200",
    ] {
        let spec = apps::builtin(name, 3).unwrap();
        let c = SimConfig {
            duration_ms: 86_400_000,
            ..SimConfig::default()
        };
        let mut sim = Simulator::new(&spec, c).unwrap();
        let mut oracle = policy::OracleNoise::new(0.0, 1);
        let (mut failed, mut arrived) = (0.0, 0.0);
        let mut most = 0.0f64;
        let mut least = f64::INFINITY;
        for _ in 0..2880 {
            let actions =
                policy::OraclePolicy::decide(&mut oracle, sim.observe(), &sim.optimal_replicas());
            sim.apply(&actions).unwrap();
            let em = sim.step();
            for (s, f) in em.flow.iter().enumerate() {
                failed += f.failed;
                arrived += f.arrivals;
                most = most.max(em.truth[s][col::OPTIMAL]);
                least = least.min(em.truth[s][col::OPTIMAL]);
            }
        }
        assert!(
            failed <= 0.01 * arrived,
            "{name}: {failed} of {arrived} requests failed"
        );
        assert!(
            least >= 1.0 && most <= 20.0,
            "{name}: optimal replicas {least}..{most}"
        );
        assert!(
            most >= 4.0,
            "{name}: the busiest service should need several replicas, got {most}"
        );
    }
}

#[test]
fn builtin_specs_round_trip_through_toml() {
    for name in [
        "bookinfo",
        "online-boutique",
        "sock-shop",
        "social-network",
        "hotel-reservation",
        "media",
        "train-ticket",
        "alibaba:60",
    ] {
        let spec = apps::builtin(name, 9).unwrap();
        let back = AppSpec::from_toml(&spec.to_toml(), name).unwrap();
        assert_eq!(back, spec, "{name}");
        // Planted latent pairs never call each other directly.
        let calls = spec.call_edges();
        for l in &spec.latent {
            let [a, b] = &l.services;
            assert!(
                !calls
                    .iter()
                    .any(|(x, y)| (x == a && y == b) || (x == b && y == a)),
                "{name}: {a} -- {b}"
            );
        }
    }
}

#[test]
fn scrape_gaps_and_noise_reach_the_telemetry() {
    let spec = apps::builtin("bookinfo", 0).unwrap();
    let c = SimConfig {
        duration_ms: 6 * 3_600_000,
        gap_prob: 0.05,
        noise: 0.05,
        ..SimConfig::default()
    };
    let mut pol = policy::by_name("static", 4, 1).unwrap();
    let out = sim::simulate(&spec, &c, &mut pol, &NoProgress).unwrap();
    let rows = out.telemetry.len() * 4;
    let missing = (0..out.telemetry.len())
        .flat_map(|t| (0..4).map(move |n| (t, n)))
        .filter(|&(t, n)| !out.telemetry.row_observed(t, n))
        .count();
    assert!(
        (missing as f64 / rows as f64 - 0.05).abs() < 0.02,
        "{missing} of {rows} rows missing"
    );
    // Replicas are exact even with noise; rates are not.
    let reps = out.telemetry.series("details", "replicas").unwrap();
    assert!(
        reps.iter()
            .filter(|v| v.is_finite())
            .all(|v| v.fract() == 0.0)
    );
    let mut truth_sim = Simulator::new(
        &spec,
        SimConfig {
            noise: 0.0,
            gap_prob: 0.0,
            ..c.clone()
        },
    )
    .unwrap();
    let em = truth_sim.step().clone();
    assert!(em.measured[0].iter().zip(&em.truth[0]).all(|(a, b)| a == b));
}
