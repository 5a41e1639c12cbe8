//! Turning long rows `(timestamp, service, values...)` into a dense [`Telemetry`] in two
//! streaming passes: a key scan that finds the services and the time grid, then a scatter that
//! writes each row into its cell. Neither pass keeps rows in memory.

use rustc_hash::{FxHashMap, FxHashSet};

use ndarray::Array3;

use crate::error::{Error, Result};
use crate::io::TimestampUnit;
use crate::telemetry::{Disagreement, IngestNotes, IntervalNote, Telemetry};

/// First pass: the distinct services and timestamps of a source.
#[derive(Debug, Default)]
pub(crate) struct KeyScan {
    services: FxHashSet<String>,
    /// Service ids in first-seen order, and each service's first timestamps (at most
    /// [`SAMPLE`]): the interval of jittered samples is found per service.
    ids: FxHashMap<String, u32>,
    samples: Vec<Vec<i64>>,
    timestamps: FxHashSet<i64>,
    last_ts: Option<i64>,
    rows: u64,
    /// Some timestamp was written as a date (RFC 3339, or a Parquet timestamp type), not as
    /// a bare integer.
    dated: bool,
}

/// Integer timestamps between these bounds read as epoch **seconds** when the unit is not
/// given: 1e8 s is 1973-03-03, 1e11 s is the year 5138; as milliseconds the same integers
/// would all fall within 1970-01-02 .. 1973-03-03, which no telemetry comes from.
pub const SECONDS_RANGE: std::ops::Range<i64> = 100_000_000..100_000_000_000;

/// Timestamps kept per service for inferring the interval of jittered samples.
const SAMPLE: usize = 4096;

/// Intervals that jittered timestamps are snapped to, ms.
const COMMON_INTERVALS_MS: [i64; 20] = [
    1_000, 2_000, 5_000, 10_000, 15_000, 20_000, 30_000, 60_000, 120_000, 300_000, 600_000,
    900_000, 1_200_000, 1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000,
    86_400_000,
];

impl KeyScan {
    /// Notes that the source writes timestamps as dates (RFC 3339 or a timestamp type), so
    /// their unit is known.
    #[inline]
    pub fn saw_dated(&mut self) {
        self.dated = true;
    }

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

    /// The id of a service (assigned in first-seen order) for [`KeyScan::add_row`].
    #[inline]
    pub fn service_id(&mut self, service: &str) -> u32 {
        if let Some(&id) = self.ids.get(service) {
            return id;
        }
        let id = self.ids.len() as u32;
        self.ids.insert(service.to_string(), id);
        self.samples.push(Vec::new());
        self.add_service(service);
        id
    }

    /// Notes one row: its timestamp and its service (an id of [`KeyScan::service_id`]).
    #[inline]
    pub fn add_row(&mut self, ts: i64, service: u32) {
        self.add_timestamp(ts);
        let s = &mut self.samples[service as usize];
        if s.len() < SAMPLE {
            s.push(ts);
        }
    }

    /// Fixes the grid: services sorted by name; the timestamps' unit (integers in
    /// [`SECONDS_RANGE`] are seconds unless `unit` says otherwise); the interval given, or
    /// inferred ([`infer_interval`]); the start at the first timestamp (for jittered
    /// timestamps, at the grid phase that fits them best).
    pub fn finish(
        self,
        source: &str,
        interval_ms: Option<i64>,
        unit: TimestampUnit,
    ) -> Result<Grid> {
        if self.rows == 0 || self.services.is_empty() {
            return Err(Error::Empty {
                file: source.to_string(),
                message: "no telemetry rows (expected one row per timestamp and service)".into(),
            });
        }
        let mut ts: Vec<i64> = self.timestamps.into_iter().collect();
        ts.sort_unstable();
        let seconds = match unit {
            TimestampUnit::Milliseconds => false,
            TimestampUnit::Seconds if self.dated => {
                return Err(Error::param(
                    "timestamp_unit",
                    format!(
                        "{source}: timestamps written as dates carry their own unit; seconds apply only to integer timestamps"
                    ),
                ));
            }
            TimestampUnit::Seconds => true,
            TimestampUnit::Auto => {
                !self.dated
                    && SECONDS_RANGE.contains(&ts[0])
                    && SECONDS_RANGE.contains(ts.last().expect("non-empty"))
            }
        };
        let scale = if seconds { 1000 } else { 1 };
        let mut samples = self.samples;
        if seconds {
            for t in samples.iter_mut().flatten() {
                *t = t.saturating_mul(1000);
            }
            for t in &mut ts {
                *t = t.checked_mul(1000).ok_or_else(|| {
                    Error::param("timestamp_unit", format!("{source}: {t} s is out of range"))
                })?;
            }
        }
        let (interval_ms, note) = match interval_ms {
            Some(i) if i > 0 => (i, None),
            Some(i) => {
                return Err(Error::param(
                    "interval_ms",
                    format!("must be positive, got {i} ms"),
                ));
            }
            None => {
                for s in &mut samples {
                    s.sort_unstable();
                    s.dedup();
                }
                let inferred = infer_interval(&ts, &samples).ok_or_else(|| Error::Empty {
                    file: source.to_string(),
                    message: "only one distinct timestamp: cannot infer the sampling interval; give it as `interval_ms`".into(),
                })?;
                (inferred.interval_ms, Some(inferred))
            }
        };
        let start_ms = match note {
            Some(IntervalNote { regular: false, .. }) => grid_phase_start(&ts, interval_ms),
            _ => ts[0],
        };
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
            scale,
            interval_note: note.map(|n| IntervalNote { seconds, ..n }),
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

/// The sampling interval of sorted distinct timestamps. On a regular grid (at least half
/// of the gaps between consecutive timestamps are equal, missing samples allowed) it is that
/// most common gap (the smallest one on ties). Jittered timestamps have no such gap: then it
/// is the median of the gaps between consecutive samples of each service (`per_service`,
/// each sorted), snapped to the nearest common interval (1 s, 5 s, 10 s, 15 s, 30 s, 1 min,
/// ... 1 d) within 25%, else rounded to the second. `None` with fewer than two timestamps.
pub(crate) fn infer_interval(sorted: &[i64], per_service: &[Vec<i64>]) -> Option<IntervalNote> {
    let mut counts: FxHashMap<i64, usize> = FxHashMap::default();
    let mut gaps = Vec::with_capacity(sorted.len().saturating_sub(1));
    for w in sorted.windows(2) {
        let d = w[1] - w[0];
        if d > 0 {
            *counts.entry(d).or_default() += 1;
            gaps.push(d);
        }
    }
    let (mode, count) = counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))?;
    if 2 * count >= gaps.len() {
        return Some(IntervalNote {
            interval_ms: mode,
            regular: true,
            seconds: false,
        });
    }
    let mut own: Vec<i64> = per_service
        .iter()
        .flat_map(|s| s.windows(2).map(|w| w[1] - w[0]))
        .filter(|&d| d > 0)
        .collect();
    if own.is_empty() {
        own = gaps;
    }
    own.sort_unstable();
    let median = own[own.len() / 2];
    let snapped = COMMON_INTERVALS_MS
        .iter()
        .copied()
        .min_by_key(|c| (c - median).abs())
        .filter(|c| ((c - median).abs() as f64) <= 0.25 * *c as f64)
        .unwrap_or_else(|| ((median + 500) / 1000 * 1000).max(1000));
    Some(IntervalNote {
        interval_ms: snapped,
        regular: false,
        seconds: false,
    })
}

/// The first grid point for jittered timestamps: the phase (timestamp modulo the interval)
/// that the samples scatter around, as their circular mean, placed within half an interval
/// of the first timestamp. So a sample displaced by less than half an interval lands on its
/// own step.
fn grid_phase_start(sorted: &[i64], interval_ms: i64) -> i64 {
    let first = sorted[0];
    let (mut x, mut y) = (0.0f64, 0.0f64);
    for &t in sorted {
        let r = (t - first).rem_euclid(interval_ms) as f64 / interval_ms as f64;
        let a = std::f64::consts::TAU * r;
        x += a.cos();
        y += a.sin();
    }
    let mut phase = (y.atan2(x) / std::f64::consts::TAU * interval_ms as f64).round() as i64;
    if phase > interval_ms / 2 {
        phase -= interval_ms;
    }
    first + phase
}

/// The time grid and service order fixed by the key scan.
#[derive(Debug, Clone)]
pub(crate) struct Grid {
    pub start_ms: i64,
    pub interval_ms: i64,
    pub len: usize,
    pub services: Vec<String>,
    index: FxHashMap<String, u32>,
    /// Factor from the source's timestamps to ms (1000 for epoch seconds).
    pub scale: i64,
    /// How the interval was found, when it was inferred.
    pub interval_note: Option<IntervalNote>,
}

impl Grid {
    /// Index of a service seen in the key scan.
    #[inline]
    pub fn service(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }

    /// Step of a timestamp in ms (nearest grid point) and whether it was exactly on the
    /// grid.
    #[inline]
    pub fn step(&self, ts: i64) -> (usize, bool) {
        let d = ts.saturating_sub(self.start_ms);
        let step = round_div(d, self.interval_ms).clamp(0, self.len as i64 - 1) as usize;
        (step, d == step as i64 * self.interval_ms)
    }
}

const SEEN: u8 = 1;
const MERGED: u8 = 2;
/// The cell was hit by a row repeating an on-grid (timestamp, service) pair.
const DUPLICATE: u8 = 4;

/// Duplicate rows whose values of a column differ by more than this share of the larger
/// magnitude are reported as disagreeing (they are still averaged).
pub const DUPLICATE_TOLERANCE: f64 = 0.1;

/// Second pass: writes rows into the dense array. A cell hit by several rows (duplicates,
/// or off-grid samples sharing a step) holds the mean of their values.
pub(crate) struct Scatter {
    grid: Grid,
    columns: Vec<String>,
    values: Vec<f64>,
    observed: Vec<bool>,
    seen: Vec<u8>,
    /// Cells hit more than once: per row slot, (sum, count, min, max) per column.
    merged: FxHashMap<usize, Vec<(f64, u32, f64, f64)>>,
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
        // The source's unit to ms.
        let ts = ts.saturating_mul(self.grid.scale);
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
            self.seen[slot] |= DUPLICATE;
        }
        if self.seen[slot] & MERGED == 0 {
            self.seen[slot] |= MERGED;
            let init = (0..c_len)
                .map(|c| {
                    let v = self.values[base + c];
                    if self.observed[base + c] {
                        (v, 1, v, v)
                    } else {
                        (0.0, 0, f64::INFINITY, f64::NEG_INFINITY)
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
                a.2 = a.2.min(v);
                a.3 = a.3.max(v);
            }
        }
    }

    /// The dense telemetry, with the notes of what was merged or moved.
    pub fn finish(mut self, source: &str) -> Result<Telemetry> {
        let c_len = self.columns.len();
        let n_services = self.grid.services.len().max(1);
        // Per service: (count, first slot, column, low, high) of disagreeing duplicates.
        type First = (usize, usize, usize, f64, f64);
        let mut disagree: Vec<Option<First>> = vec![None; self.grid.services.len()];
        let mut slots: Vec<usize> = self.merged.keys().copied().collect();
        slots.sort_unstable();
        for slot in slots {
            let acc = self.merged.remove(&slot).expect("listed");
            let duplicate = self.seen[slot] & DUPLICATE != 0;
            for (c, (sum, count, lo, hi)) in acc.into_iter().enumerate() {
                if count > 0 {
                    self.values[slot * c_len + c] = sum / count as f64;
                    self.observed[slot * c_len + c] = true;
                }
                let scale = lo.abs().max(hi.abs());
                if duplicate && count > 1 && hi - lo > DUPLICATE_TOLERANCE * scale {
                    let e = disagree[slot % n_services].get_or_insert((0, slot, c, lo, hi));
                    e.0 += 1;
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
            self.columns.clone(),
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
        let (start, interval) = (self.grid.start_ms, self.grid.interval_ms);
        tel.notes = IngestNotes {
            off_grid: collect(self.off_grid),
            duplicates: collect(self.duplicates),
            disagreeing: disagree
                .into_iter()
                .enumerate()
                .filter_map(|(n, d)| {
                    d.map(|(count, slot, c, lo, hi)| Disagreement {
                        service: n,
                        count,
                        first_ms: start + (slot / n_services) as i64 * interval,
                        column: self.columns[c].clone(),
                        low: lo,
                        high: hi,
                    })
                })
                .collect(),
            interval: self.grid.interval_note,
        };
        Ok(tel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_is_the_most_common_gap() {
        let ms = |v: &[i64]| infer_interval(v, &[]).map(|n| (n.interval_ms, n.regular));
        assert_eq!(ms(&[0, 30, 60, 100, 130]), Some((30, true)));
        assert_eq!(ms(&[0, 10, 30]), Some((10, true)));
        assert_eq!(ms(&[5]), None);
        // Jitter of up to ±14 s around a 30 s grid: no common gap; the median, snapped.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let jittered: Vec<i64> = (0..200i64)
            .map(|k| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                k * 30_000 + (state % 28_001) as i64 - 14_000
            })
            .collect();
        let mut sorted = jittered.clone();
        sorted.sort_unstable();
        assert_eq!(ms(&sorted), Some((30_000, false)));
        // And the grid's phase puts every sample on its own step.
        let start = grid_phase_start(&sorted, 30_000);
        let steps: std::collections::BTreeSet<i64> = jittered
            .iter()
            .map(|t| round_div(t - start, 30_000))
            .collect();
        assert_eq!(steps.len(), 200);
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
        let grid = scan.finish("t", Some(30), TimestampUnit::Auto).unwrap();
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
            .finish("x.csv", None, TimestampUnit::Auto)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("x.csv") && err.contains("no telemetry rows"),
            "{err}"
        );
    }
}
