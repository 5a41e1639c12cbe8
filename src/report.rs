//! The report of a model on telemetry (`holoscale report`, the last stage of the demo), as
//! a library function: [`build`] takes the artifact, the telemetry, call edges, ground
//! truth, EM history and an evaluation, and returns the [`Report`] (figures rendered) that
//! [`Report::write`] writes as `report.html` with every figure as PNG and SVG.

use std::collections::BTreeSet;
use std::path::Path;

use burn::prelude::Backend;
use ndarray::Array2;

use crate::error::{Error, Result};
use holoscale_datasets::io::DirManifest;
use holoscale_datasets::truth::GroundTruth;
use holoscale_datasets::{self as ds, time};
use holoscale_estimator::Artifact;
use holoscale_estimator::evaluate::Evaluation;
use holoscale_estimator::inference::round_replicas;
use holoscale_estimator::metrics::MetricRow;
use holoscale_graphlearn::EmHistory;
use holoscale_graphlearn::compare::{CcOptions, non_call_pairs};
use holoscale_graphlearn::metrics::{self as gm, TruthPairs};
use holoscale_graphlearn::sources;
use holoscale_reports::{
    DependencyGraph, EpochPoint, ErrorBars, FigureEntry, Heatmaps, IterationPoint, Matrix,
    Placement, Predictions, Rendered, Report, ServiceSeries, Table, TrainingCurves, num,
};

/// Everything a report is made of.
#[derive(Debug)]
pub struct ReportInputs<'a, B: Backend> {
    /// The model.
    pub artifact: &'a Artifact<B>,
    /// Its directory, as shown in the configuration.
    pub model_dir: &'a Path,
    /// The telemetry it was evaluated on.
    pub telemetry: &'a ds::Telemetry,
    /// The telemetry's name, as shown (its path).
    pub telemetry_name: &'a str,
    /// Call edges: the invocation and OD panels, the calls of the dependency graph.
    pub edges: Option<&'a ds::CallEdges>,
    /// Ground truth: planted latent dependencies and the capture scores.
    pub truth: Option<&'a GroundTruth>,
    /// The evaluation of the model and its baselines on the test windows (its first
    /// prediction set is the model's).
    pub evaluation: &'a Evaluation,
    /// The EM history (`graph_learning.json`), when the model learned its graph.
    pub history: Option<&'a EmHistory>,
    /// The baselines evaluated, as shown.
    pub baselines: &'a str,
    /// The CC panel's column and threshold.
    pub cc: CcOptions,
    /// Most learned edges that are not calls to draw and list.
    pub top: usize,
}

/// What holoscale writes into a report directory: the page, every figure as PNG and SVG,
/// and the metrics, signed by the page's title.
pub static REPORT_DIR: DirManifest = DirManifest {
    what: "report directory",
    files: &["report.html", "metrics.parquet"],
    suffixes: &[".png", ".svg"],
    dirs: &[],
    signature: Some(("report.html", "holoscale report")),
};

/// Default of [`ReportInputs::top`].
pub const DEFAULT_TOP: usize = 20;

/// Position of `name` in `services`.
fn index_in(services: &[String], name: &str) -> Option<usize> {
    services.iter().position(|s| s == name)
}

/// `name = value` rows of a JSON value, nested keys joined by dots.
fn flatten_json(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, x) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten_json(&key, x, out);
            }
        }
        serde_json::Value::Array(items) if items.iter().all(|x| !x.is_object()) => {
            let parts: Vec<String> = items.iter().map(json_text).collect();
            out.push((prefix.to_string(), parts.join(", ")));
        }
        other => out.push((prefix.to_string(), json_text(other))),
    }
}

fn json_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "none".into(),
        other => other.to_string(),
    }
}

/// The EM iterations of a history, as the training-curve figure draws them.
fn iterations(history: Option<&EmHistory>) -> Vec<IterationPoint> {
    history
        .map(|h| {
            h.iterations
                .iter()
                .map(|x| IterationPoint {
                    iteration: x.iteration,
                    val_mae: x.val_mae,
                    set_losses: x.set_losses.clone(),
                    edges: x.edges,
                    new_edges: x.new_edges,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A remark when persistence beats the model: how rarely the target changes explains it.
fn persistence_note(ev: &Evaluation, own: &str) -> Option<String> {
    let mae = |m: &str| overall_row(&ev.rows, m).map(|r| r.mae);
    let (mine, last) = (mae(own)?, mae("persistence")?);
    if last >= mine {
        return None;
    }
    let (w, _, n) = ev.truth.dim();
    let changes = (1..w)
        .flat_map(|t| (0..n).map(move |j| (t, j)))
        .filter(|&(t, j)| (ev.truth[[t, 0, j]] - ev.truth[[t - 1, 0, j]]).abs() > 1e-9)
        .count();
    let share = 100.0 * changes as f64 / ((w.saturating_sub(1)) * n).max(1) as f64;
    Some(format!(
        "Persistence (repeat the last value) has a lower MAE than {own} here ({} against {}): the target changes at only {share:.1}% of the test steps, so the last value is almost always right. The model pays for predicting changes a step early or late, and with the default features it does not see the target's own history; BENCHMARKS.md (Estimator accuracy) has the analysis.",
        num(last),
        num(mine)
    ))
}

fn overall_row<'a>(rows: &'a [MetricRow], model: &str) -> Option<&'a MetricRow> {
    rows.iter()
        .find(|r| r.model == model && r.service == "all" && r.horizon == 0)
}

/// Assembles the report of a model: configuration, data, metrics of the model and every
/// baseline, the dependency graph, affinity matrices, predictions, errors per service,
/// training curves, the learned dependencies that are not calls and the dependency
/// capture. Figures are rendered here; [`Report::write`] writes the page.
pub fn build<B: Backend>(inputs: &ReportInputs<'_, B>) -> Result<Report> {
    let ReportInputs {
        artifact,
        model_dir,
        telemetry: tel,
        telemetry_name,
        edges,
        truth,
        evaluation: ev,
        history,
        baselines,
        cc,
        top,
    } = inputs;
    let (edges, truth, history, top) = (*edges, *truth, *history, *top);
    let services = &artifact.services;
    let n = services.len();
    let cfg = &artifact.config;
    let meta = &artifact.metadata;
    let learned_graph = meta.affinity_source == "learned";
    let models: Vec<String> = ev.predictions.iter().map(|(m, _)| m.clone()).collect();
    let own = models.first().cloned().unwrap_or_default();
    let mut notes = Vec::new();

    // Configuration and data.
    let mut configuration = vec![
        (
            "model directory".to_string(),
            model_dir.display().to_string(),
        ),
        ("model".into(), own.clone()),
        ("target".into(), cfg.data.target.clone()),
        ("features".into(), cfg.data.features.join(", ")),
        (
            "window τ / horizon H".into(),
            format!("{} / {} steps", cfg.data.window, cfg.data.horizon),
        ),
        (
            "split (train, validation; rest test)".into(),
            format!("{:?}", cfg.data.split),
        ),
        ("affinity".into(), meta.affinity_source.clone()),
        ("best epoch".into(), meta.best_epoch.to_string()),
        (
            "trained by".into(),
            format!(
                "holoscale {} at {}",
                meta.holoscale_version, meta.created_at
            ),
        ),
        ("baselines".into(), baselines.to_string()),
    ];
    let mut spec_rows = Vec::new();
    flatten_json(
        "network",
        &serde_json::to_value(&cfg.model)?,
        &mut spec_rows,
    );
    flatten_json(
        "training",
        &serde_json::to_value(&cfg.train)?,
        &mut spec_rows,
    );
    if let Some(h) = history {
        flatten_json("em", &serde_json::to_value(&h.config)?, &mut spec_rows);
    }
    configuration.extend(spec_rows);
    let span_h = (tel.end_ms() - tel.start_ms()) as f64 / 3_600_000.0;
    let data = vec![
        ("telemetry".to_string(), telemetry_name.to_string()),
        ("services".into(), n.to_string()),
        (
            "time range".into(),
            format!(
                "{} to {} ({:.1} h, {} steps of {} s)",
                time::format_ms(tel.start_ms()),
                time::format_ms(tel.end_ms()),
                span_h,
                tel.len(),
                tel.interval_ms() / 1000
            ),
        ),
        ("columns".into(), tel.columns().join(", ")),
        (
            "test windows".into(),
            format!(
                "{} (from {})",
                ev.times_ms.len(),
                ev.times_ms
                    .first()
                    .map(|t| time::format_ms(*t))
                    .unwrap_or_default()
            ),
        ),
        (
            "call edges".into(),
            edges.map_or("none given".to_string(), |e| {
                format!("{} service pairs", e.edges().len())
            }),
        ),
        (
            "ground truth".into(),
            truth.map_or("none given".to_string(), |t| {
                format!("{} edges", t.edges.len())
            }),
        ),
    ];

    // Metric tables.
    let mut overall = Table {
        caption: format!("Overall, {} (horizon steps pooled)", cfg.data.target),
        header: vec![
            "model".into(),
            "MAE".into(),
            "RMSE".into(),
            "MAPE %".into(),
            "points".into(),
        ],
        rows: Vec::new(),
    };
    for m in &models {
        if let Some(r) = overall_row(&ev.rows, m) {
            let shown = if r.realisable {
                m.clone()
            } else {
                format!("{m} (not realisable)")
            };
            overall.rows.push(vec![
                shown,
                num(r.mae),
                num(r.rmse),
                num(r.mape),
                r.count.to_string(),
            ]);
        }
    }
    if ev.models.iter().any(|m| !m.realisable) {
        notes.push(format!(
            "Rows marked \"not realisable\" repeat the target's own recent values: {} (`{}` is not among the model's inputs), so they are an upper reference, not a competitor. The trees (gbdt), GRU and T-GCN see the same inputs as the model.",
            holoscale_estimator::evaluate::NEEDS_TARGET_NOTE,
            cfg.data.target
        ));
    }
    if let Some(note) = persistence_note(ev, &own) {
        notes.push(note);
    }
    let mut groups = vec!["all".to_string()];
    groups.extend(services.iter().cloned());
    let mae = Array2::from_shape_fn((models.len(), groups.len()), |(m, g)| {
        ev.rows
            .iter()
            .find(|r| r.model == models[m] && r.service == groups[g] && r.horizon == 0)
            .map_or(f64::NAN, |r| r.mae)
    });
    let mut per_service = Table {
        caption: "MAE per service".into(),
        header: std::iter::once("service".to_string())
            .chain(models.iter().cloned())
            .collect(),
        rows: Vec::new(),
    };
    for (g, name) in groups.iter().enumerate().skip(1) {
        let mut row = vec![name.clone()];
        row.extend((0..models.len()).map(|m| num(mae[[m, g]])));
        per_service.rows.push(row);
    }

    // Matrices over the model's services.
    let invocation = edges.map(|e| sources::invocation(e, services));
    let od = edges.map(|e| sources::od(e, services));
    let cc_matrix = match sources::cc(tel, &cc.column, services, cc.threshold) {
        Ok(m) => Some(m),
        Err(e) => {
            notes.push(format!("CC relationships left out: {e}"));
            None
        }
    };
    let mut panels = Vec::new();
    let mut push = |title: &str, m: &Option<Array2<f64>>| {
        if let Some(m) = m {
            panels.push(Matrix {
                title: title.to_string(),
                services: services.clone(),
                values: m.clone(),
            });
        }
    };
    push("invocation", &invocation);
    push("OD (eq. 15)", &od);
    push(&format!("CC (eq. 16, {})", cc.column), &cc_matrix);
    push(
        if learned_graph {
            "learned (EM)"
        } else {
            "model affinity"
        },
        &Some(artifact.affinity.clone()),
    );

    // Calls and truth as indices.
    let calls: Vec<(usize, usize)> = edges
        .map(|e| {
            e.edges()
                .iter()
                .filter_map(|x| {
                    Some((
                        index_in(services, &x.source)?,
                        index_in(services, &x.destination)?,
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let truth_pairs = truth.map(|t| TruthPairs::new(t, services)).transpose()?;
    let latent: Vec<(usize, usize)> = truth_pairs
        .as_ref()
        .map(|p| p.latent.iter().copied().collect())
        .unwrap_or_default();
    let graph = DependencyGraph {
        services: services.clone(),
        calls: calls.clone(),
        learned: Some(artifact.affinity.clone()),
        latent: latent.clone(),
        max_learned: top,
        placement: Placement::Auto,
    };

    // Latent dependencies found: learned edges that are not calls.
    let call_set: BTreeSet<(usize, usize)> =
        calls.iter().map(|&(x, y)| (x.min(y), x.max(y))).collect();
    let mut found = Table {
        caption: String::new(),
        header: vec![
            "service".into(),
            "service".into(),
            "weight".into(),
            "planted?".into(),
        ],
        rows: Vec::new(),
    };
    if edges.is_some() {
        for (i, j, w) in non_call_pairs(&artifact.affinity, &call_set, top) {
            let planted = match &truth_pairs {
                Some(p) if p.latent.contains(&(i, j)) => "yes, planted latent",
                Some(_) => "no",
                None => "unknown (no --truth)",
            };
            found.rows.push(vec![
                services[i].clone(),
                services[j].clone(),
                num(w),
                planted.into(),
            ]);
        }
    } else {
        notes
            .push("No call edges: the dependency picture and the latent list need --edges.".into());
    }

    // Dependency capture.
    let mut header: Vec<String> = vec!["against".into(), "weighted Jaccard".into()];
    if truth.is_some() {
        header.extend(["precision", "recall", "F1", "latent recall"].map(String::from));
    }
    let blank = header.len() - 2;
    let mut capture = Table {
        caption: "Learned affinity against other graphs (weighted Jaccard: per node Σmin/Σmax of the undirected weights, averaged; against the truth: its k strongest pairs, k the number of true pairs)".into(),
        header,
        rows: Vec::new(),
    };
    for (name, m) in [("invocation", &invocation), ("OD", &od), ("CC", &cc_matrix)] {
        if let Some(m) = m {
            let j = gm::weighted_jaccard(&artifact.affinity, m)?;
            let mut row = vec![name.to_string(), num(j)];
            row.extend(std::iter::repeat_n(String::new(), blank));
            capture.rows.push(row);
        }
    }
    if let (Some(t), Some(p)) = (truth, &truth_pairs) {
        let tm = gm::truth_matrix(p, n);
        let s = gm::edge_scores(&artifact.affinity, services, p, None)?;
        capture.rows.push(vec![
            format!("ground truth ({} pairs, top {})", t.edges.len(), s.k),
            num(gm::weighted_jaccard(&artifact.affinity, &tm)?),
            num(s.precision),
            num(s.recall),
            num(s.f1),
            s.latent_recall.map_or(String::new(), num),
        ]);
    }

    // Predictions of the model on the test windows (first horizon step).
    let (_, own_pred) = ev
        .predictions
        .first()
        .ok_or_else(|| Error::Evaluation("it returned no predictions".into()))?;
    let start = tel.start_ms();
    let hours: Vec<f64> = ev
        .times_ms
        .iter()
        .map(|t| (t - start) as f64 / 3_600_000.0)
        .collect();
    let series = services
        .iter()
        .enumerate()
        .map(|(j, s)| {
            let predicted: Vec<f64> = (0..hours.len()).map(|w| own_pred[[w, 0, j]]).collect();
            ServiceSeries {
                service: s.clone(),
                hours: hours.clone(),
                actual: (0..hours.len()).map(|w| ev.truth[[w, 0, j]]).collect(),
                replicas: predicted
                    .iter()
                    .map(|v| {
                        f64::from(round_replicas(
                            *v,
                            meta.rounding_threshold,
                            meta.min_replicas,
                            meta.max_replicas,
                        ))
                    })
                    .collect(),
                predicted,
            }
        })
        .collect();

    let curves = TrainingCurves {
        target: cfg.data.target.clone(),
        epochs: artifact
            .history
            .iter()
            .enumerate()
            .map(|(k, e)| EpochPoint {
                epoch: k + 1,
                train_loss: e.train_loss,
                val_loss: e.val_loss,
                val_mae: e.val_mae,
            })
            .collect(),
        iterations: iterations(history),
    };
    let bars = ErrorBars {
        metric: "MAE".into(),
        target: cfg.data.target.clone(),
        models: models.clone(),
        groups,
        values: mae,
    };

    let mut figures = Vec::new();
    let target = &cfg.data.target;
    figures.push(FigureEntry {
        title: "Dependency graph".into(),
        caption: format!(
            "Services by call depth (entry services on the left; a circle when the graph is dense). Blue: calls the learned graph keeps; grey dashed: calls it drops; orange: learned dependencies that are not calls (the {} strongest); green: planted latent dependencies from the ground truth, solid when the learned graph has them (with any weight; the capture table's latent recall counts only its strongest pairs), dashed when it does not. Width: learned weight, scaled to the strongest edge.",
            top
        ),
        rendered: Rendered::of(&graph, "graph")?,
    });
    figures.push(FigureEntry {
        title: "Affinity matrices".into(),
        caption: "Row i, column j: weight of service j in service i's neighbourhood. Each panel is scaled to its largest off-diagonal entry; the diagonal (self-loops) is grey.".into(),
        rendered: Rendered::of(&Heatmaps { panels }, "heatmaps")?,
    });
    figures.push(FigureEntry {
        title: "Predicted against actual".into(),
        caption: format!(
            "{target} of every service over the test windows (next step): the truth in black, the {own} prediction in blue, and the replicas it rounds to (threshold {}, at least {}) in orange.",
            meta.rounding_threshold, meta.min_replicas
        ),
        rendered: Rendered::of(
            &Predictions {
                target: target.clone(),
                model: own.clone(),
                series,
            },
            "predictions",
        )?,
    });
    figures.push(FigureEntry {
        title: "Error per service".into(),
        caption: format!(
            "MAE of {target} per service for {own} and every baseline on the same test windows; the first group is the overall MAE."
        ),
        rendered: Rendered::of(&bars, "errors")?,
    });
    figures.push(FigureEntry {
        title: "Training curves".into(),
        caption: if curves.iterations.is_empty() {
            "Training and validation loss (L1 on standardised targets) and validation MAE per epoch.".into()
        } else {
            "Top: training and validation loss and validation MAE per epoch, across all EM iterations. Bottom: the validation loss of every member of the affinity set (eq. 10) and the edge count of the affinity after each EM iteration, with the new edges of the generated matrix (eq. 8).".into()
        },
        rendered: Rendered::of(&curves, "curves")?,
    });

    Ok(Report {
        title: format!("holoscale report: {own} on {n} services"),
        subtitle: format!(
            "{} test windows of {}; written by holoscale {}",
            ev.times_ms.len(),
            telemetry_name,
            env!("CARGO_PKG_VERSION")
        ),
        configuration,
        data,
        metrics: vec![overall, per_service],
        figures,
        latent: found,
        capture: (!capture.rows.is_empty()).then_some(capture),
        notes,
        scaling: None,
    })
}
