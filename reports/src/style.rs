//! Colours and text styles shared by the figures.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::figure::FAMILY;

/// Okabe-Ito colours, distinguishable with the common colour-vision deficiencies; series
/// take them in order.
pub const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(230, 159, 0),   // orange
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(120, 120, 120), // grey
];

/// Colour of series `i`.
pub fn series(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Dark text.
pub const INK: RGBColor = RGBColor(30, 30, 30);
/// Secondary text and axes.
pub const MUTED: RGBColor = RGBColor(110, 110, 110);
/// Cells without a value (the diagonal of a heatmap).
pub const BLANK: RGBColor = RGBColor(225, 225, 225);

/// Sequential white-to-blue scale for `t` in [0, 1] (0 is white, so zeros read as absent).
pub fn blues(t: f64) -> RGBColor {
    const STOPS: [(f64, (f64, f64, f64)); 5] = [
        (0.0, (255.0, 255.0, 255.0)),
        (0.15, (198.0, 219.0, 239.0)),
        (0.4, (107.0, 174.0, 214.0)),
        (0.7, (33.0, 113.0, 181.0)),
        (1.0, (8.0, 48.0, 107.0)),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let k = STOPS
        .windows(2)
        .position(|w| t <= w[1].0)
        .unwrap_or(STOPS.len() - 2);
    let ((t0, a), (t1, b)) = (STOPS[k], STOPS[k + 1]);
    let u = (t - t0) / (t1 - t0);
    let mix = |x: f64, y: f64| (x + (y - x) * u).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Text of `size` pixels in `color`, anchored at `h`/`v`.
pub fn text(size: f64, color: &'static RGBColor, h: HPos, v: VPos) -> TextStyle<'static> {
    TextStyle::from((FAMILY, size).into_font())
        .color(color)
        .pos(Pos::new(h, v))
}

/// Default body text: 13 px, left-aligned, vertically centred.
pub fn body(size: f64) -> TextStyle<'static> {
    text(size, &INK, HPos::Left, VPos::Center)
}

/// Title text (16 px; bold in SVG, the regular embedded face in PNG).
pub fn title() -> TextStyle<'static> {
    TextStyle::from((FAMILY, 16.0, FontStyle::Bold).into_font())
        .color(&INK)
        .pos(Pos::new(HPos::Left, VPos::Top))
}

/// Width in pixels of `s` in the embedded font at `size` (DejaVu Sans Condensed averages
/// about 0.52 em per character; an estimate keeps layout independent of the backend).
pub fn text_width(s: &str, size: f64) -> f64 {
    s.chars()
        .map(|c| match c {
            'i' | 'l' | 'j' | 't' | 'f' | 'r' | '.' | ',' | ':' | ';' | '|' | '!' | '\'' => 0.3,
            'm' | 'w' | 'M' | 'W' => 0.8,
            'A'..='Z' => 0.62,
            _ => 0.52,
        })
        .sum::<f64>()
        * size
}

/// Shortens `s` to at most `max` characters with an ellipsis in the middle, so labels of
/// long service names keep both their prefix and their distinguishing suffix.
pub fn shorten(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max || max < 5 {
        return s.to_string();
    }
    let head = (max - 1) / 2;
    let tail = max - 1 - head;
    let a: String = s.chars().take(head).collect();
    let b: String = s.chars().skip(n - tail).collect();
    format!("{a}…{b}")
}

/// Axis tick text: integers without decimals, small values with two significant digits.
pub fn axis_number(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 1000.0 {
        // 1500 is "1.5k", not a second "2k" beside 2000's.
        let k = v / 1000.0;
        if (k - k.round()).abs() < 1e-9 || a >= 10_000.0 {
            format!("{k:.0}k")
        } else {
            format!("{k:.1}k")
        }
    } else if (v - v.round()).abs() < 1e-9 || a >= 10.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_numbers_stay_distinct() {
        let ticks: Vec<String> = [1000.0, 1500.0, 2000.0, 2500.0, 12_000.0]
            .iter()
            .map(|&v| axis_number(v))
            .collect();
        assert_eq!(ticks, ["1k", "1.5k", "2k", "2.5k", "12k"]);
        assert_eq!(axis_number(0.0), "0");
        assert_eq!(axis_number(2.5), "2.5");
        assert_eq!(axis_number(0.25), "0.25");
    }
}
