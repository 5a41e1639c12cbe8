//! The simulator's parsers against random and mutated input: application specs (TOML) and
//! workload traces. None may panic; each input ends in a named error or a valid result.
//! `HOLOSCALE_FUZZ_CASES` sets the cases per parser (64 by default, what CI runs).

use std::panic::{AssertUnwindSafe, catch_unwind};

use holoscale_sim::{AppSpec, apps, workload};
use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("HOLOSCALE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

fn mutated(seed: String) -> impl Strategy<Value = String> {
    let len = seed.len().max(1);
    (
        prop::collection::vec((0..len, any::<char>()), 1..8),
        prop::option::of(0..len),
    )
        .prop_map(move |(edits, cut)| {
            let mut chars: Vec<char> = seed.chars().collect();
            for (i, c) in edits {
                let i = i.min(chars.len().saturating_sub(1));
                if !chars.is_empty() {
                    chars[i] = c;
                }
            }
            if let Some(c) = cut {
                chars.truncate(c.min(chars.len()));
            }
            chars.into_iter().collect()
        })
}

fn no_panic<T, E: std::fmt::Display>(what: &str, f: impl FnOnce() -> Result<T, E>) {
    let outcome = catch_unwind(AssertUnwindSafe(f));
    assert!(outcome.is_ok(), "{what} panicked");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn application_specs(text in prop_oneof![
        1 => ".{0,300}",
        4 => mutated(apps::builtin("bookinfo", 0).unwrap().to_toml()),
    ]) {
        no_panic("spec", || AppSpec::from_toml(&text, "fuzz.toml"));
        // A spec that parses runs for a few intervals without panicking.
        if let Ok(spec) = AppSpec::from_toml(&text, "fuzz.toml") {
            let cfg = holoscale_sim::SimConfig { duration_ms: 120_000, ..Default::default() };
            no_panic("simulate", || {
                let mut p = holoscale_sim::policy::by_name("hpa", spec.services.len(), 1)?;
                holoscale_sim::simulate(&spec, &cfg, &mut p, &holoscale_datasets::io::NoProgress)
            });
        }
    }

    #[test]
    fn workload_traces(text in prop_oneof![
        1 => ".{0,300}",
        4 => mutated("timestamp,count\n0,10\n60,12\n120,9\n180,15\n".to_string()),
    ]) {
        no_panic("trace", || workload::parse_trace(&text, "fuzz.csv"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    /// Numbers of a valid spec set to anything: the spec is refused with a message, or it
    /// simulates without a panic.
    #[test]
    fn application_spec_numbers(
        cpu in -1.0f64..2.0,
        limit in -1.0f64..4.0,
        min in 0u32..30,
        max in 0u32..30,
        timeout in -1.0f64..100.0,
        cv in -1.0f64..3.0,
        util in -1.0f64..2.0,
        slo in -10.0f64..1000.0,
        percentile in -5.0f64..120.0,
        weight in -1.0f64..5.0,
        peak in -10.0f64..5000.0,
    ) {
        let mut spec = apps::builtin("bookinfo", 0).unwrap();
        let s = &mut spec.services[1];
        s.cpu_per_request = cpu;
        s.cpu_limit = limit;
        s.min_replicas = min;
        s.max_replicas = max;
        s.timeout_s = timeout;
        s.latency_cv = cv;
        s.util_target = util;
        spec.slo.latency_ms = slo;
        spec.slo.percentile = percentile;
        spec.operations[0].weight = weight;
        spec.workload.peak_rps = peak;
        let text = spec.to_toml();
        no_panic("edited spec", || AppSpec::from_toml(&text, "edited.toml"));
        if let Ok(spec) = AppSpec::from_toml(&text, "edited.toml") {
            let cfg = holoscale_sim::SimConfig { duration_ms: 300_000, ..Default::default() };
            no_panic("simulate an edited spec", || {
                let mut p = holoscale_sim::policy::by_name("hpa", spec.services.len(), 1)?;
                holoscale_sim::simulate(&spec, &cfg, &mut p, &holoscale_datasets::io::NoProgress)
            });
        }
    }
}
