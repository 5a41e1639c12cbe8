//! Figures of a scaler evaluation: end-to-end latency against the SLO and replicas of the
//! busiest services over time, one line per scaler; SLO violations against cost.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Result, input};
use crate::figure::{FAMILY, Figure, draw_err};
use crate::style::{self, INK, MUTED};

/// One scaler's series of one run.
#[derive(Debug, Clone)]
pub struct ScalerLine {
    /// Scaler label.
    pub scaler: String,
    /// Hours from the start of each interval's end.
    pub hours: Vec<f64>,
    /// The application's latency at the SLO percentile, ms.
    pub latency_ms: Vec<f64>,
    /// Replicas of each shown service, `[service][interval]`.
    pub replicas: Vec<Vec<f64>>,
}

/// Latency and replicas over time, one line per scaler.
#[derive(Debug, Clone)]
pub struct ScalerTimelines {
    /// The SLO bound, ms.
    pub slo_ms: f64,
    /// The SLO percentile (95 for p95).
    pub percentile: f64,
    /// Services whose replicas are drawn (the busiest), in `ScalerLine::replicas` order.
    pub services: Vec<String>,
    /// One line per scaler.
    pub lines: Vec<ScalerLine>,
}

const WIDTH: u32 = 1040;
const PANEL_H: u32 = 260;

type Line<'a> = (&'a str, RGBColor, Vec<(f64, f64)>);

#[allow(clippy::too_many_arguments)]
fn time_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    name: &'static str,
    title: &str,
    y_desc: &str,
    x_max: f64,
    lines: &[Line<'_>],
    bound: Option<f64>,
) -> Result<()> {
    let err = draw_err(name);
    let mut hi = lines
        .iter()
        .flat_map(|l| l.2.iter().map(|p| p.1))
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    if let Some(b) = bound {
        // Up to three times the bound: a latency blown up by timeouts would flatten the
        // rest; higher values are drawn at the top edge.
        hi = hi.max(b * 1.2).min(b * 3.0);
    }
    let hi = if hi > 0.0 { hi * 1.05 } else { 1.0 };
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FAMILY, 15.0))
        .margin(10)
        .x_label_area_size(32)
        .y_label_area_size(56)
        .build_cartesian_2d(0.0..x_max.max(1e-6), 0.0..hi)
        .map_err(&err)?;
    chart
        .configure_mesh()
        .x_desc("hours")
        .y_desc(y_desc)
        .x_labels(12)
        .y_labels(6)
        .label_style((FAMILY, 11.0).into_font().color(&INK))
        .axis_desc_style((FAMILY, 12.0).into_font().color(&INK))
        .light_line_style(WHITE)
        .bold_line_style(RGBColor(228, 228, 228))
        .y_label_formatter(&|v| style::axis_number(*v))
        .draw()
        .map_err(&err)?;
    if let Some(b) = bound {
        chart
            .draw_series(LineSeries::new(
                vec![(0.0, b), (x_max, b)],
                MUTED.stroke_width(2),
            ))
            .map_err(&err)?
            .label("SLO")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], MUTED.stroke_width(2)));
    }
    for (label, colour, points) in lines {
        let colour = *colour;
        chart
            .draw_series(LineSeries::new(
                points
                    .iter()
                    .copied()
                    .filter(|p| p.1.is_finite())
                    .map(|(x, y)| (x, y.min(hi))),
                colour.stroke_width(1),
            ))
            .map_err(&err)?
            .label(*label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font((FAMILY, 11.0).into_font().color(&INK))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(200, 200, 200))
        .draw()
        .map_err(&err)?;
    Ok(())
}

impl ScalerTimelines {
    fn check(&self) -> Result<()> {
        if self.lines.is_empty() {
            return Err(input(Self::NAME, "no scaler to draw"));
        }
        for l in &self.lines {
            if l.hours.is_empty()
                || l.latency_ms.len() != l.hours.len()
                || l.replicas.len() != self.services.len()
                || l.replicas.iter().any(|r| r.len() != l.hours.len())
            {
                return Err(input(
                    Self::NAME,
                    format!(
                        "scaler `{}`: {} times, {} latencies, {} replica series for {} services; expected equal lengths",
                        l.scaler,
                        l.hours.len(),
                        l.latency_ms.len(),
                        l.replicas.len(),
                        self.services.len()
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl Figure for ScalerTimelines {
    const NAME: &'static str = "scaler timelines";

    fn size(&self) -> (u32, u32) {
        (WIDTH, PANEL_H * (1 + self.services.len() as u32))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        self.check()?;
        let areas = root.split_evenly((1 + self.services.len(), 1));
        let x_max = self
            .lines
            .iter()
            .flat_map(|l| l.hours.last().copied())
            .fold(0.0f64, f64::max);
        let pts = |x: &[f64], y: &[f64]| -> Vec<(f64, f64)> {
            x.iter().copied().zip(y.iter().copied()).collect()
        };
        let latency: Vec<Line<'_>> = self
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                (
                    l.scaler.as_str(),
                    style::series(i),
                    pts(&l.hours, &l.latency_ms),
                )
            })
            .collect();
        time_panel(
            &areas[0],
            Self::NAME,
            &format!("End-to-end latency at p{} against the SLO", self.percentile),
            "ms",
            x_max,
            &latency,
            Some(self.slo_ms),
        )?;
        for (k, service) in self.services.iter().enumerate() {
            let lines: Vec<Line<'_>> = self
                .lines
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    (
                        l.scaler.as_str(),
                        style::series(i),
                        pts(&l.hours, &l.replicas[k]),
                    )
                })
                .collect();
            time_panel(
                &areas[1 + k],
                Self::NAME,
                &format!("Replicas of {}", style::shorten(service, 48)),
                "replicas",
                x_max,
                &lines,
                None,
            )?;
        }
        Ok(())
    }
}

/// One scaler's mean violations and cost, with their spread over seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct CostPoint {
    /// Scaler label.
    pub scaler: String,
    /// Core-hours (mean over seeds).
    pub core_hours: f64,
    /// Standard deviation of the core-hours over seeds.
    pub core_hours_sd: f64,
    /// SLO violations, percent of requests (mean over seeds).
    pub violations_pct: f64,
    /// Standard deviation of the violations over seeds.
    pub violations_sd: f64,
}

/// SLO violations against cost, one point per scaler (lower left is better).
#[derive(Debug, Clone)]
pub struct CostViolations {
    /// The points.
    pub points: Vec<CostPoint>,
}

impl Figure for CostViolations {
    const NAME: &'static str = "violations against cost";

    fn size(&self) -> (u32, u32) {
        (640, 420)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        if self.points.is_empty() {
            return Err(input(Self::NAME, "no scaler to draw"));
        }
        let err = draw_err(Self::NAME);
        let fin = |v: f64| if v.is_finite() { v } else { 0.0 };
        let (x0, x1) = self.points.iter().fold((f64::MAX, f64::MIN), |(a, b), p| {
            (
                a.min(fin(p.core_hours - p.core_hours_sd)),
                b.max(fin(p.core_hours + p.core_hours_sd)),
            )
        });
        let y1 = self
            .points
            .iter()
            .map(|p| fin(p.violations_pct + p.violations_sd))
            .fold(0.0f64, f64::max);
        let pad = ((x1 - x0) * 0.15).max(x1.abs() * 0.05).max(1e-3);
        let mut chart = ChartBuilder::on(root)
            .caption(
                "SLO violations against cost (mean ± sd over seeds)",
                (FAMILY, 15.0),
            )
            .margin(14)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d((x0 - pad).max(0.0)..x1 + pad, 0.0..(y1 * 1.15).max(0.1))
            .map_err(&err)?;
        chart
            .configure_mesh()
            .x_desc("core-hours")
            .y_desc("violations, % of requests")
            .label_style((FAMILY, 11.0).into_font().color(&INK))
            .axis_desc_style((FAMILY, 12.0).into_font().color(&INK))
            .light_line_style(WHITE)
            .bold_line_style(RGBColor(228, 228, 228))
            .x_label_formatter(&|v| style::axis_number(*v))
            .y_label_formatter(&|v| style::axis_number(*v))
            .draw()
            .map_err(&err)?;
        for (i, p) in self.points.iter().enumerate() {
            let c = style::series(i);
            let (x, y) = (fin(p.core_hours), fin(p.violations_pct));
            let (dx, dy) = (fin(p.core_hours_sd), fin(p.violations_sd));
            chart
                .draw_series([
                    PathElement::new(vec![(x - dx, y), (x + dx, y)], c.stroke_width(1)),
                    PathElement::new(vec![(x, (y - dy).max(0.0)), (x, y + dy)], c.stroke_width(1)),
                ])
                .map_err(&err)?;
            chart
                .draw_series([Circle::new((x, y), 5, c.filled())])
                .map_err(&err)?;
            chart
                .draw_series([Text::new(
                    p.scaler.clone(),
                    (x, y),
                    (FAMILY, 12.0).into_font().color(&INK),
                )])
                .map_err(&err)?;
        }
        Ok(())
    }
}
