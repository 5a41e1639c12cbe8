//! A toy autoscaler loop that embeds holoscale's [`Recommender`]: the simulator stands in
//! for the cluster (Online Boutique behind the default control-loop frictions), and every
//! interval the loop hands the recommender what the cluster shows, takes the replicas it
//! recommends and applies them, as an operator's own scaler would.
//!
//! ```sh
//! cargo run --release -p holoscale-example-embed-loop -- [SCALER] [HOURS] [SEED]
//! # SCALER: hpa (default), aws, mmn, static:2, deepscaler:MODEL_DIR (a model of Online Boutique)
//! ```

#![allow(clippy::print_stdout, clippy::print_stderr)]

use holoscale::Recommender;
use holoscale::RecommenderConfig;
use holoscale::scaler::env::{Environment, SimEnv};
use holoscale::scaler::{Action, Frictions, ScalerKind};
use holoscale::sim::{SimConfig, apps};

/// What one run of the loop did.
#[derive(Debug, Clone, PartialEq)]
struct Summary {
    intervals: usize,
    /// Intervals in which some operation's latency exceeded the SLO.
    violated: usize,
    core_hours: f64,
    /// Replica changes applied.
    changes: usize,
    /// The first recommendation with a change, with its reason.
    first_change: Option<String>,
}

/// Runs the loop for `hours` of simulated Online Boutique with `scaler`.
fn run(scaler: &str, hours: u32, seed: u64) -> holoscale::scaler::Result<Summary> {
    let app = apps::builtin("online-boutique", 7)?;
    let sim = SimConfig {
        duration_ms: i64::from(hours) * 3_600_000,
        seed,
        ..SimConfig::default()
    };
    let mut env = SimEnv::new(&app, sim, &Frictions::default())?;
    env.reset(seed)?;
    let first = env.observe().clone();
    let mut cfg = RecommenderConfig::new(
        ScalerKind::parse(scaler)?,
        first.services.clone(),
        first.interval_ms,
    )?;
    // The cluster's own bounds and limits, as an operator would configure them.
    cfg.bounds = first.bounds.clone();
    cfg.cpu_limit = first.cpu_limit.clone();
    cfg.mem_limit = first.mem_limit.clone();
    cfg.slo = first.slo;
    let mut rec = Recommender::new(cfg)?;
    let mut out = Summary {
        intervals: 0,
        violated: 0,
        core_hours: 0.0,
        changes: 0,
        first_change: None,
    };
    for _ in 0..env.steps() {
        let obs = env.observe().clone();
        let actions: Vec<Action> = rec
            .observe(obs.clone())?
            .iter()
            .enumerate()
            .filter(|(s, r)| r.replicas != obs.replicas(*s))
            .map(|(s, r)| Action::replicas(s, r.replicas))
            .collect();
        if out.first_change.is_none()
            && let Some(a) = actions.first()
        {
            let r = &rec.latest()[a.service];
            out.first_change = Some(format!(
                "{}: {} -> {} ({})",
                r.service, r.current, r.replicas, r.detail
            ));
        }
        out.changes += actions.len();
        env.act(&actions)?;
        let step = env.step()?;
        out.intervals += 1;
        out.violated += usize::from((0..step.operations.len()).any(|o| step.violated(o)));
        out.core_hours += step.core_hours;
    }
    Ok(out)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let scaler = args.first().map_or("hpa", String::as_str);
    let hours = args.get(1).and_then(|h| h.parse().ok()).unwrap_or(2);
    let seed = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    match run(scaler, hours, seed) {
        Ok(s) => {
            println!(
                "{scaler}: {} intervals, {} with an SLO violation ({:.1}%), {:.1} core-hours, {} replica changes",
                s.intervals,
                s.violated,
                100.0 * s.violated as f64 / s.intervals.max(1) as f64,
                s.core_hours,
                s.changes
            );
            if let Some(c) = s.first_change {
                println!("first change: {c}");
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::run;

    #[test]
    fn the_loop_scales_and_beats_one_replica_each() {
        let hpa = run("hpa", 1, 1).unwrap();
        let one = run("static:1", 1, 1).unwrap();
        assert_eq!(hpa.intervals, 120, "one hour of 30 s intervals");
        assert!(hpa.changes > 0 && one.changes > 0, "{hpa:?} {one:?}");
        // One replica per service cannot carry Online Boutique's load; the HPA's
        // recommendations, applied by the loop, keep latency under the SLO far more often.
        assert!(
            hpa.violated * 2 < one.violated,
            "hpa {} against static:1 {} violated intervals",
            hpa.violated,
            one.violated
        );
        let first = hpa.first_change.clone().unwrap();
        assert!(first.contains("hpa asked for"), "{first}");
        assert_eq!(run("hpa", 1, 1).unwrap(), hpa, "same seed, same loop");
        assert!(run("nonsense", 1, 1).is_err());
    }
}
