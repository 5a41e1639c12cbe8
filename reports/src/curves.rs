//! Training and EM curves: losses and validation MAE per epoch; set scores and edge counts
//! per EM iteration.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Result, input};
use crate::figure::{FAMILY, Figure, draw_err};
use crate::style::{self, INK};

/// One training epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochPoint {
    /// Epoch, from 1 (counted across EM iterations).
    pub epoch: usize,
    /// Training L1 (standardised).
    pub train_loss: f64,
    /// Validation L1 (standardised).
    pub val_loss: f64,
    /// Validation MAE in target units.
    pub val_mae: f64,
}

/// One EM iteration.
#[derive(Debug, Clone, PartialEq)]
pub struct IterationPoint {
    /// Iteration, from 1.
    pub iteration: usize,
    /// Validation MAE of the estimator after the iteration's policy learning.
    pub val_mae: f64,
    /// Validation loss of every member of the affinity set (eq. 10).
    pub set_losses: Vec<f64>,
    /// Off-diagonal edges of the affinity for the next iteration.
    pub edges: usize,
    /// New edges of the generated matrix (eq. 8).
    pub new_edges: usize,
}

/// Loss curves of a training run, with the EM iterations when graph learning ran.
#[derive(Debug, Clone)]
pub struct TrainingCurves {
    /// Target column, for the MAE axis.
    pub target: String,
    /// Every epoch.
    pub epochs: Vec<EpochPoint>,
    /// Every EM iteration (empty without graph learning).
    pub iterations: Vec<IterationPoint>,
}

const PANEL: (u32, u32) = (520, 300);

fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    if lo > hi {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.08).max(hi.abs() * 0.02).max(1e-6);
    (
        (lo - pad).max(if lo >= 0.0 { 0.0 } else { f64::MIN }),
        hi + pad,
    )
}

type Series<'a> = (&'a str, RGBColor, Vec<(f64, f64)>, bool);

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    x_max: f64,
    series: &[Series<'_>],
) -> Result<()> {
    let err = draw_err(TrainingCurves::NAME);
    let (y0, y1) = range(series.iter().flat_map(|s| s.2.iter().map(|p| p.1)));
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FAMILY, 15.0))
        .margin(10)
        .x_label_area_size(34)
        .y_label_area_size(56)
        .build_cartesian_2d(0.5..x_max + 0.5, y0..y1)
        .map_err(&err)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_labels(8)
        .y_labels(6)
        .label_style((FAMILY, 11.0).into_font().color(&INK))
        .axis_desc_style((FAMILY, 12.0).into_font().color(&INK))
        .light_line_style(WHITE)
        .bold_line_style(RGBColor(228, 228, 228))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|v| style::axis_number(*v))
        .draw()
        .map_err(&err)?;
    for (label, colour, points, scatter) in series {
        let colour = *colour;
        let drawn = if *scatter {
            chart
                .draw_series(points.iter().map(|p| Circle::new(*p, 3, colour.filled())))
                .map_err(&err)?
        } else {
            chart
                .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))
                .map_err(&err)?
        };
        drawn.label(*label).legend(move |(x, y)| {
            PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
        });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font((FAMILY, 12.0).into_font().color(&INK))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(200, 200, 200))
        .draw()
        .map_err(&err)?;
    Ok(())
}

impl Figure for TrainingCurves {
    const NAME: &'static str = "training curves";

    fn size(&self) -> (u32, u32) {
        let rows = if self.iterations.is_empty() { 1 } else { 2 };
        (PANEL.0 * 2, PANEL.1 * rows)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        if self.epochs.is_empty() {
            return Err(input(Self::NAME, "no epoch to draw"));
        }
        let rows = if self.iterations.is_empty() { 1 } else { 2 };
        let areas = root.split_evenly((rows, 2));
        let ep = |f: fn(&EpochPoint) -> f64| -> Vec<(f64, f64)> {
            self.epochs.iter().map(|e| (e.epoch as f64, f(e))).collect()
        };
        let last = self.epochs.iter().map(|e| e.epoch).max().unwrap_or(1) as f64;
        panel(
            &areas[0],
            "Loss per epoch (L1, standardised)",
            "epoch",
            "loss",
            last,
            &[
                ("training", style::series(0), ep(|e| e.train_loss), false),
                ("validation", style::series(1), ep(|e| e.val_loss), false),
            ],
        )?;
        panel(
            &areas[1],
            &format!("Validation MAE ({})", self.target),
            "epoch",
            "MAE",
            last,
            &[("validation MAE", style::series(2), ep(|e| e.val_mae), false)],
        )?;
        if !self.iterations.is_empty() {
            let last = self
                .iterations
                .iter()
                .map(|i| i.iteration)
                .max()
                .unwrap_or(1) as f64;
            let scores: Vec<(f64, f64)> = self
                .iterations
                .iter()
                .flat_map(|i| i.set_losses.iter().map(|l| (i.iteration as f64, *l)))
                .collect();
            let best: Vec<(f64, f64)> = self
                .iterations
                .iter()
                .filter_map(|i| {
                    i.set_losses
                        .iter()
                        .copied()
                        .filter(|l| l.is_finite())
                        .min_by(f64::total_cmp)
                        .map(|l| (i.iteration as f64, l))
                })
                .collect();
            panel(
                &areas[2],
                "EM: validation loss of each set member",
                "EM iteration",
                "validation L1",
                last,
                &[
                    ("set member", style::series(4), scores, true),
                    ("best member", style::series(0), best, false),
                ],
            )?;
            let it = |f: fn(&IterationPoint) -> f64| -> Vec<(f64, f64)> {
                self.iterations
                    .iter()
                    .map(|i| (i.iteration as f64, f(i)))
                    .collect()
            };
            panel(
                &areas[3],
                "EM: edges of the affinity",
                "EM iteration",
                "edges",
                last,
                &[
                    (
                        "edges (next affinity)",
                        style::series(0),
                        it(|i| i.edges as f64),
                        false,
                    ),
                    (
                        "new edges (eq. 8)",
                        style::series(1),
                        it(|i| i.new_edges as f64),
                        false,
                    ),
                ],
            )?;
        }
        Ok(())
    }
}
