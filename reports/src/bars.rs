//! Error per service for the estimator and every baseline (horizontal grouped bars, so
//! service names stay horizontal and legible).

use ndarray::Array2;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use crate::error::{Result, input};
use crate::figure::{Figure, draw_err};
use crate::style::{self, INK, MUTED};

/// One metric of several models over several services.
#[derive(Debug, Clone)]
pub struct ErrorBars {
    /// Metric name (`MAE`).
    pub metric: String,
    /// Target column.
    pub target: String,
    /// Models, in legend order (the estimator first).
    pub models: Vec<String>,
    /// Groups: `all` (overall) first, then the services.
    pub groups: Vec<String>,
    /// Values `[models, groups]` (NaN: not measured, left blank).
    pub values: Array2<f64>,
}

const BAR: f64 = 7.0;
const GAP: f64 = 9.0;
const FONT: f64 = 12.0;
const NAME_CHARS: usize = 34;
const PLOT_W: f64 = 560.0;

/// Round tick step covering `max` in about five steps.
pub fn tick_step(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let raw = max / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 2.5 {
        2.5
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

impl ErrorBars {
    fn check(&self) -> Result<()> {
        if self.models.is_empty() || self.groups.is_empty() {
            return Err(input(Self::NAME, "no model or no service to draw"));
        }
        if self.values.dim() != (self.models.len(), self.groups.len()) {
            return Err(input(
                Self::NAME,
                format!(
                    "{:?} values; expected {} models x {} groups",
                    self.values.dim(),
                    self.models.len(),
                    self.groups.len()
                ),
            ));
        }
        Ok(())
    }

    fn label_w(&self) -> f64 {
        self.groups
            .iter()
            .map(|g| style::text_width(&style::shorten(g, NAME_CHARS), FONT))
            .fold(60.0, f64::max)
            + 12.0
    }

    fn group_h(&self) -> f64 {
        self.models.len() as f64 * BAR + GAP
    }

    fn top(&self) -> f64 {
        40.0 + 22.0 * self.models.len().div_ceil(4) as f64
    }
}

impl Figure for ErrorBars {
    const NAME: &'static str = "error bars";

    fn size(&self) -> (u32, u32) {
        let w = 16.0 + self.label_w() + PLOT_W + 70.0;
        let h = self.top() + self.groups.len() as f64 * self.group_h() + 44.0;
        (w.ceil() as u32, h.ceil() as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        self.check()?;
        let err = draw_err(Self::NAME);
        root.draw(&Text::new(
            format!(
                "{} of {} per service on the test period (shorter is better)",
                self.metric, self.target
            ),
            (12, 8),
            style::title(),
        ))
        .map_err(&err)?;
        for (m, name) in self.models.iter().enumerate() {
            let x = 14 + (m % 4) as i32 * 200;
            let y = 40 + (m / 4) as i32 * 22;
            root.draw(&Rectangle::new(
                [(x, y - 6), (x + 22, y + 6)],
                style::series(m).filled(),
            ))
            .map_err(&err)?;
            root.draw(&Text::new(
                style::shorten(name, 22),
                (x + 28, y),
                style::body(12.0),
            ))
            .map_err(&err)?;
        }
        let max = self
            .values
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        let step = tick_step(max);
        let top_value = (max / step).ceil().max(1.0) * step;
        let x0 = 16.0 + self.label_w();
        let y0 = self.top();
        let scale = PLOT_W / top_value;
        let bottom = y0 + self.groups.len() as f64 * self.group_h();
        // Grid and ticks.
        let mut t = 0.0;
        while t <= top_value + 1e-9 {
            let x = (x0 + t * scale) as i32;
            root.draw(&PathElement::new(
                vec![(x, y0 as i32 - 4), (x, bottom as i32)],
                RGBColor(225, 225, 225).stroke_width(1),
            ))
            .map_err(&err)?;
            root.draw(&Text::new(
                style::axis_number(t),
                (x, bottom as i32 + 6),
                style::text(11.0, &INK, HPos::Center, VPos::Top),
            ))
            .map_err(&err)?;
            t += step;
        }
        root.draw(&Text::new(
            format!("{} ({})", self.metric, self.target),
            ((x0 + PLOT_W / 2.0) as i32, bottom as i32 + 24),
            style::text(12.0, &INK, HPos::Center, VPos::Top),
        ))
        .map_err(&err)?;
        for (g, name) in self.groups.iter().enumerate() {
            let gy = y0 + g as f64 * self.group_h();
            if g % 2 == 1 {
                root.draw(&Rectangle::new(
                    [
                        (16, gy as i32),
                        ((x0 + PLOT_W) as i32, (gy + self.group_h()) as i32),
                    ],
                    RGBColor(246, 246, 246).filled(),
                ))
                .map_err(&err)?;
            }
            root.draw(&Text::new(
                style::shorten(name, NAME_CHARS),
                (
                    (x0 - 8.0) as i32,
                    (gy + (self.group_h() - GAP) / 2.0) as i32,
                ),
                style::text(FONT, &INK, HPos::Right, VPos::Center),
            ))
            .map_err(&err)?;
            for m in 0..self.models.len() {
                let v = self.values[[m, g]];
                let by = gy + m as f64 * BAR;
                if !v.is_finite() {
                    root.draw(&Text::new(
                        "n/a",
                        ((x0 + 3.0) as i32, (by + BAR / 2.0) as i32),
                        style::text(9.0, &MUTED, HPos::Left, VPos::Center),
                    ))
                    .map_err(&err)?;
                    continue;
                }
                root.draw(&Rectangle::new(
                    [
                        (x0 as i32, by as i32),
                        (
                            (x0 + v.max(0.0) * scale).round() as i32,
                            (by + BAR - 1.0) as i32,
                        ),
                    ],
                    style::series(m).filled(),
                ))
                .map_err(&err)?;
            }
        }
        root.draw(&PathElement::new(
            vec![(x0 as i32, y0 as i32 - 4), (x0 as i32, bottom as i32)],
            MUTED.stroke_width(1),
        ))
        .map_err(&err)?;
        Ok(())
    }
}
