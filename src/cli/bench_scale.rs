//! `holoscale bench scale`: the harness's speed (simulated scaler-days per second of one
//! run on one thread) and the time of one decision of a scaler (p50/p99).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Args;
use serde::Serialize;

use holoscale::datasets::time;
use holoscale::scaler::harness::{Harness, ScalerEntry};
use holoscale::scaler::{Action, Observation, Scaler, ScalerKind};
use holoscale::sim;

use super::measure::{median, peak_rss_mib};
use super::output::print_json;

#[derive(Debug, Args)]
pub struct ScaleBenchArgs {
    /// Application (`holoscale apps list`).
    #[arg(long, default_value = "train-ticket")]
    app: String,
    /// Simulated time per run.
    #[arg(long, default_value = "24h")]
    duration: String,
    /// The scaler (`holoscale scale run --scaler`).
    #[arg(long, default_value = "hpa")]
    scaler: String,
    /// Timed runs (the median is reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[derive(Debug, Serialize)]
struct ScaleBench {
    app: String,
    services: usize,
    scaler: String,
    simulated_hours: f64,
    run_seconds: f64,
    scaler_days_per_s: f64,
    decisions: usize,
    decision_p50_ms: f64,
    decision_p99_ms: f64,
    peak_rss_mib: Option<f64>,
}

/// A scaler whose decisions are timed.
struct Timed {
    inner: Box<dyn Scaler>,
    times: Arc<Mutex<Vec<Duration>>>,
}

impl Scaler for Timed {
    fn name(&self) -> String {
        self.inner.name()
    }

    fn decide(&mut self, obs: &Observation) -> Vec<Action> {
        let start = Instant::now();
        let out = self.inner.decide(obs);
        self.times
            .lock()
            .expect("timing lock")
            .push(start.elapsed());
        out
    }

    fn period_ms(&self) -> Option<i64> {
        self.inner.period_ms()
    }

    fn stabilises_itself(&self) -> bool {
        self.inner.stabilises_itself()
    }
}

pub fn run(a: ScaleBenchArgs) -> Result<()> {
    let mut h = Harness::new(sim::apps::resolve(&a.app, 7)?);
    h.sim.duration_ms = time::parse_duration_ms(&a.duration, "--duration")?;
    let kind = ScalerKind::parse(&a.scaler).map_err(|e| super::usage(e.to_string()))?;
    let times = Arc::new(Mutex::new(Vec::new()));
    let entry = if kind.is_oracle() {
        ScalerEntry::from_kind(kind.clone())
    } else {
        let (kind, times) = (kind.clone(), times.clone());
        ScalerEntry::custom(kind.label(), move |first| {
            Ok(Box::new(Timed {
                inner: kind.build(first)?,
                times: times.clone(),
            }) as Box<dyn Scaler>)
        })
    };
    let mut runs = Vec::with_capacity(a.runs.max(1));
    for _ in 0..a.runs.max(1) {
        let start = Instant::now();
        h.run_one(&entry, a.seed, &mut |_| Ok(()))?;
        runs.push(start.elapsed());
    }
    let run_s = median(&mut runs).as_secs_f64();
    let mut t = times.lock().expect("timing lock").clone();
    t.sort();
    let pct = |q: f64| {
        t.get(((t.len() as f64 - 1.0) * q).round() as usize)
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
    };
    let hours = h.sim.duration_ms as f64 / 3.6e6;
    print_json(&ScaleBench {
        app: h.app.name.clone(),
        services: h.app.services.len(),
        scaler: kind.label(),
        simulated_hours: hours,
        run_seconds: run_s,
        scaler_days_per_s: hours / 24.0 / run_s,
        decisions: t.len(),
        decision_p50_ms: pct(0.5),
        decision_p99_ms: pct(0.99),
        peak_rss_mib: peak_rss_mib(),
    })
}
