//! Affinity heatmaps side by side (invocation, OD, CC, learned), service names on the axes.

use ndarray::Array2;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use crate::error::{Result, input};
use crate::figure::{Figure, draw_err};
use crate::style::{self, BLANK, INK, MUTED};

/// One named square matrix over `services`.
#[derive(Debug, Clone)]
pub struct Matrix {
    /// Panel title (`invocation`, `OD`, `CC`, `learned`).
    pub title: String,
    /// Row and column names.
    pub services: Vec<String>,
    /// Values `[N, N]`; row i, column j is the weight of j in i's neighbourhood.
    pub values: Array2<f64>,
}

/// Heatmaps of several matrices over the same services, two per row. Each panel is scaled
/// to its own largest off-diagonal value (affinities from different sources have different
/// units); the diagonal (self-loops) is drawn grey, because it would otherwise dominate.
#[derive(Debug, Clone)]
pub struct Heatmaps {
    /// The panels, in order.
    pub panels: Vec<Matrix>,
}

struct Layout {
    n: usize,
    cell: f64,
    font: f64,
    label: f64,
    panel_w: f64,
    panel_h: f64,
    cols: usize,
    rows: usize,
}

const NAME_CHARS: usize = 30;
const BAR_W: f64 = 90.0;
const TOP: f64 = 12.0;

impl Heatmaps {
    /// Checks that there is at least one panel and every panel is square over the same
    /// services.
    pub fn check(&self) -> Result<()> {
        let first = self
            .panels
            .first()
            .ok_or_else(|| input(Self::NAME, "no matrix to draw"))?;
        if first.services.is_empty() {
            return Err(input(Self::NAME, "the matrices have no services"));
        }
        for m in &self.panels {
            let n = m.services.len();
            if m.values.dim() != (n, n) {
                return Err(input(
                    Self::NAME,
                    format!(
                        "panel `{}`: {:?} values for {n} services; expected a square {n}x{n} matrix",
                        m.title,
                        m.values.dim()
                    ),
                ));
            }
            if m.services != first.services {
                return Err(input(
                    Self::NAME,
                    format!(
                        "panel `{}` lists other services than panel `{}`; align them first",
                        m.title, first.title
                    ),
                ));
            }
        }
        Ok(())
    }

    fn layout(&self) -> Layout {
        let n = self.panels.first().map_or(1, |m| m.services.len().max(1));
        let cell = (560.0 / n as f64).clamp(11.0, 28.0);
        let font = (cell * 0.85).min(13.0);
        let label = self
            .panels
            .first()
            .map(|m| {
                m.services
                    .iter()
                    .map(|s| style::text_width(&style::shorten(s, NAME_CHARS), font))
                    .fold(0.0, f64::max)
            })
            .unwrap_or(0.0)
            + 8.0;
        let cols = self.panels.len().clamp(1, 2);
        let rows = self.panels.len().div_ceil(cols).max(1);
        Layout {
            n,
            cell,
            font,
            label,
            panel_w: label + n as f64 * cell + 24.0,
            panel_h: 30.0 + n as f64 * cell + label + 12.0,
            cols,
            rows,
        }
    }
}

/// Largest absolute finite off-diagonal value (1 when there is none, so an empty matrix
/// scales to white).
pub(crate) fn off_diagonal_max(m: &Array2<f64>) -> f64 {
    let max = m
        .indexed_iter()
        .filter(|((i, j), v)| i != j && v.is_finite())
        .map(|(_, v)| v.abs())
        .fold(0.0, f64::max);
    if max > 0.0 { max } else { 1.0 }
}

impl Figure for Heatmaps {
    const NAME: &'static str = "heatmaps";

    fn size(&self) -> (u32, u32) {
        let l = self.layout();
        (
            (l.cols as f64 * l.panel_w + BAR_W + 16.0).ceil() as u32,
            (TOP + l.rows as f64 * l.panel_h).ceil() as u32,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        self.check()?;
        let l = self.layout();
        let err = draw_err(Self::NAME);
        let label_style = style::text(l.font, &INK, HPos::Right, VPos::Center);
        let xlabel_style =
            style::text(l.font, &INK, HPos::Left, VPos::Center).transform(FontTransform::Rotate90);
        for (p, m) in self.panels.iter().enumerate() {
            let x0 = 8.0 + (p % l.cols) as f64 * l.panel_w;
            let y0 = TOP + (p / l.cols) as f64 * l.panel_h;
            let max = off_diagonal_max(&m.values);
            root.draw(&Text::new(
                format!("{} (largest off-diagonal {})", m.title, fmt_value(max)),
                (x0 as i32, y0 as i32),
                style::title(),
            ))
            .map_err(&err)?;
            let gx = x0 + l.label;
            let gy = y0 + 30.0;
            for ((i, j), v) in m.values.indexed_iter() {
                let colour = if i == j {
                    BLANK
                } else {
                    style::blues(v.abs() / max)
                };
                let (cx, cy) = (gx + j as f64 * l.cell, gy + i as f64 * l.cell);
                root.draw(&Rectangle::new(
                    [
                        (cx as i32, cy as i32),
                        ((cx + l.cell) as i32, (cy + l.cell) as i32),
                    ],
                    colour.filled(),
                ))
                .map_err(&err)?;
            }
            let side = l.n as f64 * l.cell;
            root.draw(&Rectangle::new(
                [
                    (gx as i32, gy as i32),
                    ((gx + side) as i32, (gy + side) as i32),
                ],
                MUTED.stroke_width(1),
            ))
            .map_err(&err)?;
            for (k, s) in m.services.iter().enumerate() {
                let name = style::shorten(s, NAME_CHARS);
                let c = k as f64 * l.cell + l.cell / 2.0;
                root.draw(&Text::new(
                    name.clone(),
                    ((gx - 4.0) as i32, (gy + c) as i32),
                    label_style.clone(),
                ))
                .map_err(&err)?;
                root.draw(&Text::new(
                    name,
                    ((gx + c) as i32, (gy + side + 4.0) as i32),
                    xlabel_style.clone(),
                ))
                .map_err(&err)?;
            }
        }
        // The colour bar.
        let bx = 8.0 + l.cols as f64 * l.panel_w + 8.0;
        let by = TOP + 30.0;
        let bh = (l.n as f64 * l.cell).max(120.0);
        let steps = 64;
        for k in 0..steps {
            let t0 = k as f64 / steps as f64;
            let t1 = (k + 1) as f64 / steps as f64;
            root.draw(&Rectangle::new(
                [
                    (bx as i32, (by + bh * (1.0 - t1)) as i32),
                    ((bx + 16.0) as i32, (by + bh * (1.0 - t0)).ceil() as i32),
                ],
                style::blues((t0 + t1) / 2.0).filled(),
            ))
            .map_err(&err)?;
        }
        root.draw(&Rectangle::new(
            [
                (bx as i32, by as i32),
                ((bx + 16.0) as i32, (by + bh) as i32),
            ],
            MUTED.stroke_width(1),
        ))
        .map_err(&err)?;
        for (t, label) in [(0.0, "0"), (0.5, "0.5"), (1.0, "1")] {
            root.draw(&Text::new(
                label,
                ((bx + 20.0) as i32, (by + bh * (1.0 - t)) as i32),
                style::body(12.0),
            ))
            .map_err(&err)?;
        }
        root.draw(&Text::new(
            "share of the",
            (bx as i32, (by + bh + 14.0) as i32),
            style::body(11.0),
        ))
        .map_err(&err)?;
        root.draw(&Text::new(
            "panel's largest",
            (bx as i32, (by + bh + 28.0) as i32),
            style::body(11.0),
        ))
        .map_err(&err)?;
        Ok(())
    }
}

/// Three significant digits, no exponent for the usual affinity range.
pub(crate) fn fmt_value(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let digits = (2 - v.abs().log10().floor() as i32).clamp(0, 6) as usize;
    format!("{v:.digits$}")
}
