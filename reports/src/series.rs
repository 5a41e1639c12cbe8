//! Predicted against actual per service over time (small multiples), with the rounded
//! replicas.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use crate::error::{Result, input};
use crate::figure::{FAMILY, Figure, draw_err};
use crate::style::{self, INK, MUTED};

/// One service's test-period series.
#[derive(Debug, Clone)]
pub struct ServiceSeries {
    /// Service.
    pub service: String,
    /// Time of each point, hours from the start of the telemetry.
    pub hours: Vec<f64>,
    /// Actual target values (NaN where unknown).
    pub actual: Vec<f64>,
    /// Predicted target values.
    pub predicted: Vec<f64>,
    /// Rounded replicas of the prediction (SPEC 3 rule); empty to leave them out.
    pub replicas: Vec<f64>,
}

/// Small multiples, four per row.
#[derive(Debug, Clone)]
pub struct Predictions {
    /// Target column (`optimal_replicas`, ...).
    pub target: String,
    /// Model that predicted.
    pub model: String,
    /// One entry per service.
    pub series: Vec<ServiceSeries>,
}

const COLS: usize = 4;
const PANEL: (u32, u32) = (330, 190);
const HEAD: u32 = 58;

/// Colours of actual, predicted and rounded replicas.
const ACTUAL: RGBColor = RGBColor(40, 40, 40);
const PREDICTED: RGBColor = style::PALETTE[0];
const ROUNDED: RGBColor = style::PALETTE[1];

impl Predictions {
    fn check(&self) -> Result<()> {
        if self.series.is_empty() {
            return Err(input(Self::NAME, "no service to draw"));
        }
        for s in &self.series {
            let n = s.hours.len();
            if n == 0
                || s.actual.len() != n
                || s.predicted.len() != n
                || !(s.replicas.is_empty() || s.replicas.len() == n)
            {
                return Err(input(
                    Self::NAME,
                    format!(
                        "service `{}`: {} times, {} actual, {} predicted, {} replicas; expected equal, non-zero lengths (replicas may be empty)",
                        s.service,
                        n,
                        s.actual.len(),
                        s.predicted.len(),
                        s.replicas.len()
                    ),
                ));
            }
        }
        Ok(())
    }

    fn cols(&self) -> usize {
        self.series.len().clamp(1, COLS)
    }
}

fn finite_points(x: &[f64], y: &[f64]) -> Vec<(f64, f64)> {
    x.iter()
        .zip(y)
        .filter(|(a, b)| a.is_finite() && b.is_finite())
        .map(|(a, b)| (*a, *b))
        .collect()
}

/// Step line through `points` (the value holds until the next point).
fn steps(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(points.len() * 2);
    for (k, p) in points.iter().enumerate() {
        if k > 0 {
            out.push((p.0, points[k - 1].1));
        }
        out.push(*p);
    }
    out
}

impl Figure for Predictions {
    const NAME: &'static str = "predictions";

    fn size(&self) -> (u32, u32) {
        let rows = self.series.len().div_ceil(self.cols()).max(1) as u32;
        (PANEL.0 * self.cols() as u32, HEAD + PANEL.1 * rows)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        self.check()?;
        let err = draw_err(Self::NAME);
        let (head, body) = root.split_vertically(HEAD);
        head.draw(&Text::new(
            format!(
                "{} of every service on the test period ({})",
                self.target, self.model
            ),
            (12, 8),
            style::title(),
        ))
        .map_err(&err)?;
        let mut x = 14;
        let mut legend = vec![("actual", ACTUAL), ("predicted", PREDICTED)];
        if self.series.iter().any(|s| !s.replicas.is_empty()) {
            legend.push(("rounded replicas", ROUNDED));
        }
        for (label, colour) in legend {
            head.draw(&PathElement::new(
                vec![(x, 42), (x + 28, 42)],
                colour.stroke_width(2),
            ))
            .map_err(&err)?;
            head.draw(&Text::new(label, (x + 34, 42), style::body(12.0)))
                .map_err(&err)?;
            x += 44 + style::text_width(label, 12.0) as i32 + 20;
        }
        let rows = self.series.len().div_ceil(self.cols());
        let panels = body.split_evenly((rows, self.cols()));
        for (s, area) in self.series.iter().zip(&panels) {
            let actual = finite_points(&s.hours, &s.actual);
            let predicted = finite_points(&s.hours, &s.predicted);
            let rounded = finite_points(&s.hours, &s.replicas);
            let all = actual.iter().chain(&predicted).chain(&rounded);
            let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, 0.0f64, f64::MIN);
            for p in all {
                x0 = x0.min(p.0);
                x1 = x1.max(p.0);
                y0 = y0.min(p.1);
                y1 = y1.max(p.1);
            }
            if x0 > x1 {
                area.draw(&Text::new(
                    format!("{}: no finite values", s.service),
                    (10, 20),
                    style::text(12.0, &MUTED, HPos::Left, VPos::Center),
                ))
                .map_err(&err)?;
                continue;
            }
            if x1 - x0 < 1e-9 {
                x1 = x0 + 1.0;
            }
            let pad = ((y1 - y0) * 0.08).max(0.5);
            let mut chart = ChartBuilder::on(area)
                .caption(style::shorten(&s.service, 40), (FAMILY, 13.0))
                .margin(6)
                .x_label_area_size(22)
                .y_label_area_size(34)
                .build_cartesian_2d(x0..x1, y0..y1 + pad)
                .map_err(&err)?;
            chart
                .configure_mesh()
                .x_labels(5)
                .y_labels(4)
                .label_style((FAMILY, 10.0).into_font().color(&INK))
                .light_line_style(WHITE)
                .bold_line_style(RGBColor(228, 228, 228))
                .x_label_formatter(&|h| hours_label(*h, x1 - x0))
                .y_label_formatter(&|v| style::axis_number(*v))
                .draw()
                .map_err(&err)?;
            if !rounded.is_empty() {
                chart
                    .draw_series(LineSeries::new(steps(&rounded), ROUNDED.stroke_width(1)))
                    .map_err(&err)?;
            }
            chart
                .draw_series(LineSeries::new(actual, ACTUAL.stroke_width(1)))
                .map_err(&err)?;
            chart
                .draw_series(LineSeries::new(predicted, PREDICTED.stroke_width(1)))
                .map_err(&err)?;
        }
        Ok(())
    }
}

/// Tick text of a time axis in hours: whole hours over long spans, more digits over short.
fn hours_label(h: f64, span: f64) -> String {
    if span >= 8.0 {
        format!("{h:.0} h")
    } else if span >= 0.8 {
        format!("{h:.1} h")
    } else {
        format!("{h:.2} h")
    }
}
