//! The HTML page of `holoscale scale evaluate --out`: the table, end-to-end latency against
//! the SLO and the replicas of the busiest services over time per scaler (the first seed),
//! and violations against cost.

use anyhow::Result;

use holoscale::reports::figure::Rendered;
use holoscale::reports::html::{FigureEntry, Page, Section, Table};
use holoscale::reports::scaling::{CostPoint, CostViolations, ScalerLine, ScalerTimelines};
use holoscale::scaler::harness::{Evaluation, Harness};

use super::scale::EpisodeArgs;

/// Services drawn in the replicas panels: the busiest by mean replicas over every run.
const BUSIEST: usize = 3;

/// The figures and tables of an evaluation as a page: the table first, then the figures and
/// the settings.
pub fn report(h: &Harness, e: &EpisodeArgs, eval: &Evaluation) -> Result<Page> {
    let n = h.app.services.len();
    let mut mean = vec![0.0f64; n];
    for r in &eval.runs {
        if let Some(s) = &r.run.series {
            for row in &s.replicas {
                for (m, &k) in mean.iter_mut().zip(row) {
                    *m += k as f64;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| mean[b].total_cmp(&mean[a]).then(a.cmp(&b)));
    order.truncate(BUSIEST.min(n));
    let first_seed = h.seeds.first().copied().unwrap_or(0);
    let start = h.sim.start_ms;
    let lines: Vec<ScalerLine> = eval
        .runs
        .iter()
        .filter(|r| r.seed == first_seed)
        .filter_map(|r| r.run.series.as_ref().map(|s| (r, s)))
        .map(|(r, s)| ScalerLine {
            scaler: r.scaler.clone(),
            hours: s
                .times_ms
                .iter()
                .map(|&t| (t - start) as f64 / 3.6e6)
                .collect(),
            latency_ms: s.latency_ms.clone(),
            replicas: order
                .iter()
                .map(|&k| s.replicas.iter().map(|row| row[k] as f64).collect())
                .collect(),
        })
        .collect();
    let mut figures = Vec::new();
    if !lines.is_empty() {
        let timelines = ScalerTimelines {
            slo_ms: h.app.slo.latency_ms,
            percentile: h.app.slo.percentile,
            services: order
                .iter()
                .map(|&k| h.app.services[k].name.clone())
                .collect(),
            lines,
        };
        figures.push(FigureEntry {
            title: "Latency and replicas over time".into(),
            caption: format!(
                "Seed {first_seed}: the application's end-to-end latency at the SLO percentile (request-weighted over operations) per interval, against the SLO (drawn up to three times the SLO; higher values at the top edge), and the running replicas of the {} busiest services, one line per scaler.",
                order.len()
            ),
            rendered: Rendered::of(&timelines, "timelines")?,
        });
    }
    let points: Vec<CostPoint> = eval
        .table
        .iter()
        .map(|r| CostPoint {
            scaler: r.scaler.clone(),
            core_hours: r.mean.core_hours,
            core_hours_sd: r.spread.core_hours,
            violations_pct: 100.0 * r.mean.violation_share,
            violations_sd: 100.0 * r.spread.violation_share,
        })
        .collect();
    figures.push(FigureEntry {
        title: "Violations against cost".into(),
        caption: "Mean over seeds with one standard deviation either way; lower left is better. The oracle is the unrealisable bound.".into(),
        rendered: Rendered::of(&CostViolations { points }, "cost-violations")?,
    });
    let header: Vec<String> = [
        "scaler",
        "violations %",
        "time over SLO %",
        "core-hours",
        "CAE s",
        "mean latency ms",
        "p95 ms",
        "p99 ms",
        "failed %",
        "actions",
        "mean replicas",
        "violations vs baselines",
        "cost vs baselines",
    ]
    .map(String::from)
    .to_vec();
    let pm = |m: f64, s: f64, k: f64| format!("{:.2} ± {:.2}", m * k, s * k);
    let pct = |v: Option<f64>| {
        v.map(|x| format!("{:+.1}%", -100.0 * x))
            .unwrap_or_else(|| "-".into())
    };
    let rows = eval
        .table
        .iter()
        .map(|r| {
            let (m, s) = (&r.mean, &r.spread);
            vec![
                if r.oracle {
                    format!("{} (unrealisable)", r.scaler)
                } else {
                    r.scaler.clone()
                },
                pm(m.violation_share, s.violation_share, 100.0),
                pm(m.violation_time_share, s.violation_time_share, 100.0),
                pm(m.core_hours, s.core_hours, 1.0),
                pm(m.cumulative_error_s, s.cumulative_error_s, 1.0),
                format!("{:.1}", m.mean_latency_ms),
                format!("{:.1}", m.p95_latency_ms),
                format!("{:.1}", m.p99_latency_ms),
                format!("{:.3}", 100.0 * m.failed_share),
                format!("{:.0}", m.scaling_actions),
                format!("{:.2}", m.mean_replicas),
                pct(r.violation_reduction),
                pct(r.cost_reduction),
            ]
        })
        .collect();
    let f = &h.frictions;
    let table = Table {
        caption: "Mean ± standard deviation over seeds. Violations: request-weighted share of (interval, operation) over the SLO; time over SLO: DeepScaler eq. 1; CAE: cumulative distance of latency outside [SLO/2, SLO]; vs baselines: mean change against hpa, aws, mmn, hab and slo (negative is fewer).".into(),
        header,
        rows,
    };
    Ok(Page {
        title: format!("Scalers on {}", h.app.name),
        subtitle: format!(
            "{} workload, {} per run, seeds {}, SLO p{} ≤ {} ms",
            e.workload,
            e.duration,
            h.seeds.iter().map(u64::to_string).collect::<Vec<_>>().join(", "),
            h.app.slo.percentile,
            h.app.slo.latency_ms
        ),
        notes: Vec::new(),
        sections: vec![
            Section {
                id: "table".into(),
                heading: "Violations and cost".into(),
                intro: "Every scaler ran the same application, workload and seeds behind the same control-loop frictions.".into(),
                tables: vec![table],
                ..Section::default()
            },
            Section {
                id: "figures".into(),
                heading: "Figures".into(),
                figures,
                ..Section::default()
            },
            Section {
                id: "settings".into(),
                heading: "Settings".into(),
                intro: "The episode and its frictions.".into(),
                settings: vec![
                    ("application".into(), format!("{} ({} services)", h.app.name, n)),
                    ("workload".into(), e.workload.clone()),
                    ("duration".into(), e.duration.clone()),
                    ("interval".into(), format!("{} ms", f.interval_ms)),
                    ("start-up delays".into(), format!("{:?}", f.startup)),
                    ("metrics lag".into(), format!("{} intervals", f.metrics_lag_intervals)),
                    ("rate window".into(), format!("{} intervals", f.rate_window_intervals)),
                    ("scale-down stabilisation".into(), format!("{} s", f.scale_down_stabilisation_s)),
                    ("default decision period".into(), format!("{} ms", h.default_period_ms)),
                ],
                ..Section::default()
            },
        ],
    })
}

/// The page as one self-contained HTML document.
pub fn page(h: &Harness, e: &EpisodeArgs, eval: &Evaluation) -> Result<String> {
    Ok(report(h, e, eval)?.to_html())
}
