//! Turning long rows `(timestamp, service, values...)` into a dense [`Telemetry`] in two
//! streaming passes: a key scan that finds the services and the time grid, then a scatter that
//! writes each row into its cell. Neither pass keeps rows in memory.

use rustc_hash::{FxHashMap, FxHashSet};

use ndarray::Array3;

use crate::error::{Error, Result};
use crate::telemetry::{IngestNotes, Telemetry};

/// First pass: the distinct services and timestamps of a source.
#[derive(Debug, Default)]
pub(crate) struct KeyScan {
    services: FxHashSet<String>,
    timestamps: FxHashSet<i64>,
    last_ts: Option<i64>,
    rows: u64,
}

impl KeyScan {
    /// Notes one timestamp (consecutive repeats are cheap).
    #[inline]
    pub fn add_timestamp(&mut self, ts: i64) {
        self.rows += 1;
        if self.last_ts != Some(ts) {
            self.timestamps.insert(ts);
            self.last_ts = Some(ts);
        }
    }

    /// Notes one service name.
    #[inline]
    pub fn add_service(&mut self, service: &str) {
        if !self.services.contains(service) {
            self.services.insert(service.to_string());
        }
    }

    /// Fixes the grid: services sorted by name, start at the first timestamp, interval given
    /// or inferred as the most common gap between consecutive distinct timestamps.
    pub fn finish(self, source: &str, interval_ms: Option<i64>) -> Result<Grid> {
        if self.rows == 0 || self.services.is_empty() {
            return Err(Error::Empty {
                file: source.to_string(),
                message: "no telemetry rows (expected one row per timestamp and service)".into(),
            });
        }
        let mut ts: Vec<i64> = self.timestamps.into_iter().collect();
        ts.sort_unstable();
        let interval_ms = match interval_ms {
            Some(i) if i > 0 => i,
            Some(i) => {
                return Err(Error::param("interval_ms", format!("must be positive, got {i} ms")));
            }
            None => infer_interval(&ts).ok_or_else(|| Error::Empty {
                file: source.to_string(),
                message: "only one distinct timestamp: cannot infer the sampling interval; give it as `interval_ms`".into(),
            })?,
        };
        let start_ms = ts[0];
        let end_ms = *ts.last().expect("non-empty: rows > 0");
        let len = (round_div(end_ms - start_ms, interval_ms) + 1) as usize;
        const MAX_STEPS: usize = 100_000_000;
        if len > MAX_STEPS {
            return Err(Error::param(
                "interval_ms",
                format!(
                    "{source}: {len} steps of {interval_ms} ms between the first and last timestamp is more than {MAX_STEPS}; check the interval or the timestamp unit"
                ),
            ));
        }
        let mut services: Vec<String> = self.services.into_iter().collect();
        services.sort_unstable();
        let index = services
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), i as u32))
            .collect();
        Ok(Grid {
            start_ms,
            interval_ms,
            len,
            services,
            index,
        })
    }
}

/// Rounds `a / b` to the nearest integer, halves away from zero (`b > 0`).
fn round_div(a: i64, b: i64) -> i64 {
    if a >= 0 {
        (a + b / 2) / b
    } else {
        -((-a + b / 2) / b)
    }
}

/// The most common positive difference between consecutive sorted timestamps (the smallest
/// one on ties), or `None` with fewer than two timestamps.
pub(crate) fn infer_interval(sorted: &[i64]) -> Option<i64> {
    let mut counts: FxHashMap<i64, usize> = FxHashMap::default();
    for w in sorted.windows(2) {
        let d = w[1] - w[0];
        if d > 0 {
            *counts.entry(d).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|(d, _)| d)
}

/// The time grid and service order fixed by the key scan.
#[derive(Debug, Clone)]
pub(crate) struct Grid {
    pub start_ms: i64,
    pub interval_ms: i64,
    pub len: usize,
    pub services: Vec<String>,
    index: FxHashMap<String, u32>,
}

impl Grid {
    /// Index of a service seen in the key scan.
    #[inline]
    pub fn service(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }

    /// Step of a timestamp (nearest grid point) and whether it was exactly on the grid.
    #[inline]
    pub fn step(&self, ts: i64) -> (usize, bool) {
        let d = ts - self.start_ms;
        let step = round_div(d, self.interval_ms).clamp(0, self.len as i64 - 1) as usize;
        (step, d == step as i64 * self.interval_ms)
    }
}

const SEEN: u8 = 1;
const MERGED: u8 = 2;

/// Second pass: writes rows into the dense array. A cell hit by several rows (duplicates,
/// or off-grid samples sharing a step) holds the mean of their values.
pub(crate) struct Scatter {
    grid: Grid,
    columns: Vec<String>,
    values: Vec<f64>,
    observed: Vec<bool>,
    seen: Vec<u8>,
    /// Cells hit more than once: per row slot, (sum, count) per column.
    merged: FxHashMap<usize, Vec<(f64, u32)>>,
    off_grid: Vec<(usize, i64)>,
    duplicates: Vec<(usize, i64)>,
}

impl Scatter {
    pub fn new(grid: Grid, columns: Vec<String>) -> Scatter {
        let n = grid.services.len();
        let cells = grid.len * n * columns.len();
        Scatter {
            values: vec![f64::NAN; cells],
            observed: vec![false; cells],
            seen: vec![0; grid.len * n],
            merged: FxHashMap::default(),
            off_grid: vec![(0, i64::MAX); n],
            duplicates: vec![(0, i64::MAX); n],
            grid,
            columns,
        }
    }

    pub fn grid(&self) -> &Grid {
        &self.grid
    }

    /// Writes one row. `value(c)` gives column `c`'s value, `None` for a null.
    #[inline]
    pub fn push(&mut self, ts: i64, service: u32, mut value: impl FnMut(usize) -> Option<f64>) {
        let n_services = self.grid.services.len();
        let c_len = self.columns.len();
        let (t, on_grid) = self.grid.step(ts);
        let n = service as usize;
        if !on_grid {
            let e = &mut self.off_grid[n];
            e.0 += 1;
            e.1 = e.1.min(ts);
        }
        let slot = t * n_services + n;
        let base = slot * c_len;
        if self.seen[slot] & SEEN == 0 {
            self.seen[slot] = SEEN;
            for c in 0..c_len {
                if let Some(v) = value(c) {
                    self.values[base + c] = v;
                    self.observed[base + c] = true;
                }
            }
            return;
        }
        if on_grid {
            let e = &mut self.duplicates[n];
            e.0 += 1;
            e.1 = e.1.min(ts);
        }
        if self.seen[slot] & MERGED == 0 {
            self.seen[slot] |= MERGED;
            let init = (0..c_len)
                .map(|c| {
                    if self.observed[base + c] {
                        (self.values[base + c], 1)
                    } else {
                        (0.0, 0)
                    }
                })
                .collect();
            self.merged.insert(slot, init);
        }
        let acc = self.merged.get_mut(&slot).expect("inserted above");
        for (c, a) in acc.iter_mut().enumerate() {
            if let Some(v) = value(c) {
                a.0 += v;
                a.1 += 1;
            }
        }
    }

    /// The dense telemetry, with the notes of what was merged or moved.
    pub fn finish(mut self, source: &str) -> Result<Telemetry> {
        let c_len = self.columns.len();
        for (slot, acc) in self.merged {
            for (c, (sum, count)) in acc.into_iter().enumerate() {
                if count > 0 {
                    self.values[slot * c_len + c] = sum / count as f64;
                    self.observed[slot * c_len + c] = true;
                }
            }
        }
        let shape = (self.grid.len, self.grid.services.len(), c_len);
        let values = Array3::from_shape_vec(shape, self.values).expect("length is T*N*C");
        let observed = Array3::from_shape_vec(shape, self.observed).expect("length is T*N*C");
        let mut tel = Telemetry::try_with_mask(
            source,
            self.grid.start_ms,
            self.grid.interval_ms,
            self.grid.services,
            self.columns,
            values,
            observed,
        )?;
        let collect = |v: Vec<(usize, i64)>| {
            v.into_iter()
                .enumerate()
                .filter(|(_, (count, _))| *count > 0)
                .map(|(n, (count, t))| (n, count, t))
                .collect()
        };
        tel.notes = IngestNotes {
            off_grid: collect(self.off_grid),
            duplicates: collect(self.duplicates),
        };
        Ok(tel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_is_the_most_common_gap() {
        assert_eq!(infer_interval(&[0, 30, 60, 100, 130]), Some(30));
        assert_eq!(infer_interval(&[0, 10, 30]), Some(10));
        assert_eq!(infer_interval(&[5]), None);
    }

    #[test]
    fn scatter_merges_duplicates_and_moves_off_grid_samples() {
        let mut scan = KeyScan::default();
        for (ts, s) in [
            (0, "b"),
            (0, "a"),
            (30, "a"),
            (30, "a"),
            (62, "a"),
            (60, "b"),
        ] {
            scan.add_timestamp(ts);
            scan.add_service(s);
        }
        let grid = scan.finish("t", Some(30)).unwrap();
        assert_eq!(grid.services, ["a", "b"]);
        assert_eq!(grid.len, 3);
        let mut sc = Scatter::new(grid, vec!["x".into()]);
        sc.push(0, 0, |_| Some(1.0));
        sc.push(30, 0, |_| Some(2.0));
        sc.push(30, 0, |_| Some(4.0));
        sc.push(62, 0, |_| Some(5.0));
        sc.push(0, 1, |_| None);
        let tel = sc.finish("t").unwrap();
        assert_eq!(tel.values()[[1, 0, 0]], 3.0);
        assert_eq!(tel.values()[[2, 0, 0]], 5.0);
        assert!(!tel.observed()[[0, 1, 0]]);
        assert_eq!(tel.notes.duplicates, vec![(0, 1, 30)]);
        assert_eq!(tel.notes.off_grid, vec![(0, 1, 62)]);
    }

    #[test]
    fn empty_source_is_an_error() {
        let err = KeyScan::default()
            .finish("x.csv", None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("x.csv") && err.contains("no telemetry rows"),
            "{err}"
        );
    }
}
