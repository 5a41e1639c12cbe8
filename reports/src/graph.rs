//! The dependency graph as a picture: services laid out by call depth (or on a circle when
//! the graph is dense), edge width by learned weight, colour by kind.

use ndarray::Array2;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};
use serde::Serialize;

use crate::error::{Result, input};
use crate::figure::{Figure, draw_err};
use crate::heatmap::off_diagonal_max;
use crate::style::{self, INK, MUTED};

/// What an edge of the picture is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EdgeKind {
    /// A call that the learned graph keeps (or any call when there is no learned graph).
    Call,
    /// A call that the learned graph does not keep.
    CallDropped,
    /// A learned dependency that is not a call (and not a planted latent one).
    Learned,
    /// A planted latent dependency that the learned graph has.
    LatentFound,
    /// A planted latent dependency that the learned graph misses.
    LatentMissed,
}

impl EdgeKind {
    /// Legend text.
    pub fn label(self) -> &'static str {
        match self {
            EdgeKind::Call => "call (kept by the learned graph)",
            EdgeKind::CallDropped => "call (not in the learned graph)",
            EdgeKind::Learned => "learned, not a call",
            EdgeKind::LatentFound => "planted latent, in the learned graph",
            EdgeKind::LatentMissed => "planted latent, not in the learned graph",
        }
    }

    fn colour(self) -> RGBColor {
        match self {
            EdgeKind::Call => RGBColor(0, 114, 178),
            EdgeKind::CallDropped => RGBColor(190, 190, 190),
            EdgeKind::Learned => RGBColor(230, 159, 0),
            EdgeKind::LatentFound | EdgeKind::LatentMissed => RGBColor(0, 158, 115),
        }
    }

    fn dashed(self) -> bool {
        matches!(self, EdgeKind::CallDropped | EdgeKind::LatentMissed)
    }

    fn curved(self) -> bool {
        !matches!(self, EdgeKind::Call | EdgeKind::CallDropped)
    }
}

/// An edge as drawn: undirected for learned and latent kinds, `a → b` for calls.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DrawnEdge {
    /// Source (caller for calls).
    pub a: usize,
    /// Destination.
    pub b: usize,
    /// Learned weight scaled to the strongest off-diagonal entry (1 without a learned graph;
    /// 0 for missed or dropped edges).
    pub weight: f64,
    /// Kind.
    pub kind: EdgeKind,
}

/// How services are placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Placement {
    /// Layered by call depth unless the graph is dense or has no calls, then a circle.
    #[default]
    Auto,
    /// Columns by call depth (entry services left).
    Layered,
    /// Services on a circle.
    Circle,
}

/// Input of the dependency picture.
#[derive(Debug, Clone)]
pub struct DependencyGraph {
    /// Service names.
    pub services: Vec<String>,
    /// Call edges `(caller, callee)` as service indices.
    pub calls: Vec<(usize, usize)>,
    /// The learned affinity `[N, N]`, if any.
    pub learned: Option<Array2<f64>>,
    /// Planted latent dependencies (ground truth), undirected.
    pub latent: Vec<(usize, usize)>,
    /// Most learned edges that are not calls to draw (strongest first).
    pub max_learned: usize,
    /// Placement.
    pub placement: Placement,
}

const ROW_H: f64 = 30.0;
const FONT: f64 = 13.0;
const NAME_CHARS: usize = 34;
const LEGEND_H: f64 = 26.0;
/// Left margin of the layered layout (room for the bows of edges within the first column).
const LEFT: f64 = 110.0;

fn pair(a: usize, b: usize) -> (usize, usize) {
    (a.min(b), a.max(b))
}

impl DependencyGraph {
    fn check(&self) -> Result<()> {
        let n = self.services.len();
        if n == 0 {
            return Err(input(Self::NAME, "no services to draw"));
        }
        for &(a, b) in self.calls.iter().chain(&self.latent) {
            if a >= n || b >= n {
                return Err(input(
                    Self::NAME,
                    format!("edge ({a}, {b}) names a service beyond the {n} given"),
                ));
            }
        }
        if let Some(l) = &self.learned
            && l.dim() != (n, n)
        {
            return Err(input(
                Self::NAME,
                format!(
                    "learned affinity is {:?}; expected {n}x{n} for {n} services",
                    l.dim()
                ),
            ));
        }
        Ok(())
    }

    /// The edges the picture draws, with their kinds and weights.
    pub fn edges(&self) -> Vec<DrawnEdge> {
        let n = self.services.len();
        let learned_w = |a: usize, b: usize| -> f64 {
            self.learned.as_ref().map_or(1.0, |l| {
                let w = l[[a, b]].abs().max(l[[b, a]].abs());
                if w.is_finite() { w } else { 0.0 }
            })
        };
        let max = self.learned.as_ref().map_or(1.0, off_diagonal_max);
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for &(a, b) in &self.calls {
            if a == b || !seen.insert(pair(a, b)) {
                continue;
            }
            let w = learned_w(a, b) / max;
            let kind = if w > 0.0 {
                EdgeKind::Call
            } else {
                EdgeKind::CallDropped
            };
            out.push(DrawnEdge {
                a,
                b,
                weight: w,
                kind,
            });
        }
        let latent: std::collections::HashSet<(usize, usize)> =
            self.latent.iter().map(|&(a, b)| pair(a, b)).collect();
        let mut found = std::collections::HashSet::new();
        if self.learned.is_some() {
            let mut extra = Vec::new();
            for a in 0..n {
                for b in a + 1..n {
                    let w = learned_w(a, b) / max;
                    if w > 0.0 && !seen.contains(&(a, b)) {
                        extra.push((a, b, w));
                    }
                }
            }
            extra.sort_by(|x, y| y.2.total_cmp(&x.2).then((x.0, x.1).cmp(&(y.0, y.1))));
            let mut plain = 0;
            for (a, b, w) in extra {
                let kind = if latent.contains(&(a, b)) {
                    found.insert((a, b));
                    EdgeKind::LatentFound
                } else if plain < self.max_learned {
                    plain += 1;
                    EdgeKind::Learned
                } else {
                    continue;
                };
                out.push(DrawnEdge {
                    a,
                    b,
                    weight: w,
                    kind,
                });
            }
        }
        let mut missed: Vec<(usize, usize)> = latent
            .iter()
            .copied()
            .filter(|p| p.0 != p.1 && !found.contains(p) && !seen.contains(p))
            .collect();
        missed.sort_unstable();
        out.extend(missed.into_iter().map(|(a, b)| DrawnEdge {
            a,
            b,
            weight: 0.0,
            kind: EdgeKind::LatentMissed,
        }));
        out
    }

    /// Call depth of every service: the longest call path to it from an entry service (a
    /// service nobody calls), so no call runs within a column; calls that close a cycle are
    /// ignored, and a cycle without an entry starts at its member with the most callees.
    /// Services without calls get `None`.
    pub fn depths(&self) -> Vec<Option<usize>> {
        let n = self.services.len();
        let mut indeg = vec![0usize; n];
        let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut touched = vec![false; n];
        for &(a, b) in &self.calls {
            if a == b || a >= n || b >= n || out[a].contains(&b) {
                continue;
            }
            indeg[b] += 1;
            out[a].push(b);
            touched[a] = true;
            touched[b] = true;
        }
        for o in &mut out {
            o.sort_unstable();
        }
        // Depth-first search from the entries, then from cycles nobody enters; `post` is
        // the post-order, `back` the calls that close a cycle.
        let mut state = vec![0u8; n]; // 0 new, 1 on the stack, 2 done
        let mut post = Vec::with_capacity(n);
        let mut back = std::collections::HashSet::new();
        let mut starts: Vec<usize> = (0..n).filter(|&i| touched[i] && indeg[i] == 0).collect();
        loop {
            for &s in &starts {
                if state[s] != 0 {
                    continue;
                }
                let mut stack = vec![(s, 0usize)];
                state[s] = 1;
                while let Some(&mut (v, ref mut next)) = stack.last_mut() {
                    if let Some(&w) = out[v].get(*next) {
                        *next += 1;
                        match state[w] {
                            0 => {
                                state[w] = 1;
                                stack.push((w, 0));
                            }
                            1 => {
                                back.insert((v, w));
                            }
                            _ => {}
                        }
                    } else {
                        state[v] = 2;
                        post.push(v);
                        stack.pop();
                    }
                }
            }
            match (0..n)
                .filter(|&i| touched[i] && state[i] == 0)
                .max_by_key(|&i| (out[i].len(), std::cmp::Reverse(i)))
            {
                Some(i) => starts = vec![i],
                None => break,
            }
        }
        let mut depth: Vec<Option<usize>> = (0..n).map(|i| touched[i].then_some(0)).collect();
        for &v in post.iter().rev() {
            let d = depth[v].unwrap_or(0);
            for &w in &out[v] {
                if !back.contains(&(v, w)) {
                    depth[w] = Some(depth[w].unwrap_or(0).max(d + 1));
                }
            }
        }
        depth
    }

    fn layered(&self, edges: &[DrawnEdge]) -> bool {
        match self.placement {
            Placement::Layered => true,
            Placement::Circle => false,
            Placement::Auto => {
                let columns = self.columns();
                let tallest = columns.iter().map(Vec::len).max().unwrap_or(0);
                !self.calls.is_empty() && tallest <= 30 && edges.len() <= 4 * self.services.len()
            }
        }
    }

    /// Services per column: by call depth, services without calls in a last column; within
    /// a column, ordered by the mean position of their callers (fewer crossings).
    fn columns(&self) -> Vec<Vec<usize>> {
        let depth = self.depths();
        let levels = depth.iter().flatten().max().map_or(0, |d| d + 1);
        let mut cols: Vec<Vec<usize>> = vec![Vec::new(); levels];
        let mut loose = Vec::new();
        for (i, d) in depth.iter().enumerate() {
            match d {
                Some(d) => cols[*d].push(i),
                None => loose.push(i),
            }
        }
        if !loose.is_empty() {
            cols.push(loose);
        }
        let mut pos = vec![0.0f64; self.services.len()];
        for (c, col) in cols.iter_mut().enumerate() {
            if c > 0 {
                let key = |i: usize| {
                    let parents: Vec<f64> = self
                        .calls
                        .iter()
                        .filter(|&&(a, b)| b == i && a != i)
                        .map(|&(a, _)| pos[a])
                        .collect();
                    if parents.is_empty() {
                        f64::INFINITY
                    } else {
                        parents.iter().sum::<f64>() / parents.len() as f64
                    }
                };
                col.sort_by(|&x, &y| {
                    key(x)
                        .total_cmp(&key(y))
                        .then(self.services[x].cmp(&self.services[y]))
                });
            } else {
                col.sort_by(|&x, &y| self.services[x].cmp(&self.services[y]));
            }
            let m = col.len() as f64;
            for (k, &i) in col.iter().enumerate() {
                pos[i] = (k as f64 + 0.5) / m;
            }
        }
        cols
    }

    fn label_width(&self) -> f64 {
        self.services
            .iter()
            .map(|s| style::text_width(&style::shorten(s, NAME_CHARS), FONT))
            .fold(0.0, f64::max)
    }

    /// Node centres and the figure size.
    fn positions(&self, layered: bool) -> (Vec<(f64, f64)>, (u32, u32)) {
        let n = self.services.len();
        let lw = self.label_width();
        let top = 20.0 + LEGEND_H * 3.0;
        if layered {
            let cols = self.columns();
            let colw = lw + 150.0;
            let tallest = cols.iter().map(Vec::len).max().unwrap_or(1) as f64;
            // Rows get at least 1.5 label heights; a wide graph also gets height (at least
            // 0.45 of its width), so long calls do not run nearly parallel.
            let width = LEFT + cols.len() as f64 * colw + 10.0;
            let inner = (tallest * ROW_H * 1.5).max(260.0).max(0.45 * width - top);
            let mut p = vec![(0.0, 0.0); n];
            for (c, col) in cols.iter().enumerate() {
                let gap = inner / col.len() as f64;
                for (k, &i) in col.iter().enumerate() {
                    p[i] = (LEFT + c as f64 * colw, top + (k as f64 + 0.5) * gap);
                }
            }
            let w = LEFT + cols.len() as f64 * colw + 10.0;
            let w = w.max(560.0);
            (p, (w.ceil() as u32, (top + inner + 20.0).ceil() as u32))
        } else {
            // Points on a circle, spaced evenly in height on each side, so that labels
            // (horizontal, pointing outward) never overlap: the right half runs top to
            // bottom, the left half bottom to top.
            let per_side = n.div_ceil(2).max(1);
            let r = (per_side as f64 * ROW_H * 0.65).max(170.0);
            let c = (r + lw + 40.0, top + r + 30.0);
            let p = (0..n)
                .map(|i| {
                    let (right, k, m) = if i < per_side {
                        (true, i, per_side)
                    } else {
                        (false, n - 1 - i, n - per_side)
                    };
                    let y = r * (2.0 * (k as f64 + 0.5) / m as f64 - 1.0);
                    let x = (r * r - y * y).max(0.0).sqrt();
                    (if right { c.0 + x } else { c.0 - x }, c.1 + y)
                })
                .collect();
            let w = (2.0 * c.0).max(560.0);
            (p, (w.ceil() as u32, (c.1 + r + 30.0).ceil() as u32))
        }
    }
}

/// Points of the edge from `p` to `q`: a straight line, or a quadratic curve bowed to the
/// side by a sixth of its length. Edges within one column (same x) always bow to the left,
/// by nearly half their length, so they neither run along the column nor cross the labels
/// on its right.
fn curve(p: (f64, f64), q: (f64, f64), bowed: bool) -> Vec<(f64, f64)> {
    let (dx, dy) = (q.0 - p.0, q.1 - p.1);
    // About 6 px per segment: dashed edges alternate segments.
    let steps = ((dx.hypot(dy) / 6.0).ceil() as usize).clamp(24, 1000);
    let mid = ((p.0 + q.0) / 2.0, (p.1 + q.1) / 2.0);
    let ctrl = if dx.abs() < 1.0 {
        (mid.0 - 0.45 * dy.abs().max(20.0), mid.1)
    } else if bowed {
        (mid.0 - dy / 6.0, mid.1 + dx / 6.0)
    } else {
        mid
    };
    (0..=steps)
        .map(|k| {
            let t = k as f64 / steps as f64;
            let u = 1.0 - t;
            (
                u * u * p.0 + 2.0 * u * t * ctrl.0 + t * t * q.0,
                u * u * p.1 + 2.0 * u * t * ctrl.1 + t * t * q.1,
            )
        })
        .collect()
}

impl Figure for DependencyGraph {
    const NAME: &'static str = "dependency graph";

    fn size(&self) -> (u32, u32) {
        let edges = self.edges();
        self.positions(self.layered(&edges)).1
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        self.check()?;
        let err = draw_err(Self::NAME);
        let edges = self.edges();
        let layered = self.layered(&edges);
        let (pos, _) = self.positions(layered);
        let px = |p: (f64, f64)| (p.0.round() as i32, p.1.round() as i32);
        // Legend: the kinds present, with counts.
        let mut kinds: Vec<(EdgeKind, usize)> = Vec::new();
        for e in &edges {
            match kinds.iter_mut().find(|(k, _)| *k == e.kind) {
                Some((_, c)) => *c += 1,
                None => kinds.push((e.kind, 1)),
            }
        }
        kinds.sort_by_key(|(k, _)| *k as u8);
        root.draw(&Text::new(
            if layered {
                "Dependencies by call depth (entry services left); width: learned weight"
            } else {
                "Dependencies; width: learned weight"
            },
            (12, 8),
            style::title(),
        ))
        .map_err(&err)?;
        for (k, (kind, count)) in kinds.iter().enumerate() {
            let x = 14.0 + (k % 3) as f64 * 250.0;
            let y = 40.0 + (k / 3) as f64 * LEGEND_H;
            let seg = [(x, y), (x + 12.0, y), (x + 24.0, y), (x + 36.0, y)];
            draw_path(root, &seg, kind.colour(), 3, kind.dashed()).map_err(&err)?;
            root.draw(&Text::new(
                format!("{} ({count})", kind.label()),
                ((x + 44.0) as i32, y as i32),
                style::body(12.0),
            ))
            .map_err(&err)?;
        }
        // Edges, weakest first so strong ones stay on top.
        let mut order: Vec<&DrawnEdge> = edges.iter().collect();
        order.sort_by(|x, y| x.weight.total_cmp(&y.weight));
        for e in order {
            let width = match e.kind {
                EdgeKind::CallDropped | EdgeKind::LatentMissed => 1.5,
                _ if self.learned.is_none() => 2.0,
                _ => 1.0 + 5.0 * e.weight,
            };
            let pts = curve(pos[e.a], pos[e.b], e.kind.curved());
            draw_path(
                root,
                &pts,
                e.kind.colour(),
                width.round() as u32,
                e.kind.dashed(),
            )
            .map_err(&err)?;
            if matches!(e.kind, EdgeKind::Call | EdgeKind::CallDropped) {
                // An arrow head at three quarters of the call, along the curve.
                let k = pts.len() * 3 / 4;
                let (a, tip) = (pts[k - 1], pts[k]);
                let len = ((tip.0 - a.0).powi(2) + (tip.1 - a.1).powi(2))
                    .sqrt()
                    .max(1e-9);
                let (ux, uy) = ((tip.0 - a.0) / len, (tip.1 - a.1) / len);
                let base = (tip.0 - 9.0 * ux, tip.1 - 9.0 * uy);
                let head = vec![
                    px(tip),
                    px((base.0 - 4.5 * uy, base.1 + 4.5 * ux)),
                    px((base.0 + 4.5 * uy, base.1 - 4.5 * ux)),
                ];
                root.draw(&Polygon::new(head, e.kind.colour().filled()))
                    .map_err(&err)?;
            }
        }
        // Nodes and labels on a white box, so they stay legible over edges.
        let n = self.services.len();
        for (i, s) in self.services.iter().enumerate() {
            let p = pos[i];
            root.draw(&Circle::new(px(p), 5, INK.filled()))
                .map_err(&err)?;
            let name = style::shorten(s, NAME_CHARS);
            let w = style::text_width(&name, FONT);
            let right = layered || i < n.div_ceil(2).max(1);
            let (x0, anchor, tx) = if right {
                (p.0 + 8.0, HPos::Left, p.0 + 10.0)
            } else {
                (p.0 - 12.0 - w, HPos::Right, p.0 - 10.0)
            };
            root.draw(&Rectangle::new(
                [
                    (x0 as i32, (p.1 - 8.0) as i32),
                    ((x0 + w + 4.0) as i32, (p.1 + 8.0) as i32),
                ],
                WHITE.mix(0.85).filled(),
            ))
            .map_err(&err)?;
            root.draw(&Text::new(
                name,
                (tx as i32, p.1 as i32),
                style::text(FONT, &INK, anchor, VPos::Center),
            ))
            .map_err(&err)?;
        }
        if edges.is_empty() {
            root.draw(&Text::new(
                "no dependencies to draw",
                (14, 40),
                style::text(13.0, &MUTED, HPos::Left, VPos::Center),
            ))
            .map_err(&err)?;
        }
        Ok(())
    }
}

fn draw_path<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    pts: &[(f64, f64)],
    colour: RGBColor,
    width: u32,
    dashed: bool,
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let style = colour.stroke_width(width.max(1));
    let px: Vec<(i32, i32)> = pts
        .iter()
        .map(|p| (p.0.round() as i32, p.1.round() as i32))
        .collect();
    if dashed {
        for seg in px.windows(2).step_by(2) {
            root.draw(&PathElement::new(seg.to_vec(), style))?;
        }
        Ok(())
    } else {
        root.draw(&PathElement::new(px, style))
    }
}
