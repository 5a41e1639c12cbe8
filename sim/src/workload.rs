//! Workloads: the request rate entering the application over time and the request mix over
//! operations (SPEC 6).
//!
//! A workload is computed once, at a knot every [`KNOT_MS`], and interpolated linearly in
//! between, so a tick costs two multiplications. Patterns:
//!
//! - `deepscaler`: DeepScaler's evaluation workload (section V, Fig. 8a): segments of slight
//!   increases and decreases, sharp increases and decreases, and continuous fluctuation;
//! - `diurnal`: a daily cycle with its low at 04:00 and its peak at 16:00, with noise;
//! - `bursts`: a steady base with sudden bursts that decay within minutes;
//! - `mix-shift`: the DeepScaler rate with step changes of the request mix every few hours;
//! - `constant`: the mean of base and peak;
//! - `surge`: DRPC's surge (section III: 200 to 800 requests/s within about a minute): a
//!   steady rate at a quarter of the peak (at least the base) that jumps fourfold within a
//!   minute, holds for 10-30 minutes and falls back over 2-5 minutes, about every two hours;
//! - `trace:FILE`: a replay of a real trace (per-minute counts such as NASA-HTTP 1995 or
//!   WorldCup 1998, or Erms' `tps_truth`), time-scaled and mapped onto [base, peak].

use std::path::{Path, PathBuf};

use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::stats::standard_normal;
use crate::error::{Error, Result};

/// Spacing of workload knots, ms.
pub const KNOT_MS: i64 = 10_000;

/// A workload pattern.
#[derive(Debug, Clone, PartialEq)]
pub enum Pattern {
    /// DeepScaler's mixed pattern.
    DeepScaler,
    /// Daily cycle.
    Diurnal,
    /// Bursts on a base.
    Bursts,
    /// DeepScaler rate with step changes of the mix.
    MixShift,
    /// Constant rate.
    Constant,
    /// Fourfold surges within a minute (DRPC section III).
    Surge,
    /// Replay of a trace file, or of an embedded trace (`nasa`, `worldcup`, `erms`).
    Trace {
        /// The trace file, or the name of an embedded trace.
        path: PathBuf,
        /// Simulated seconds per second of trace time (0.1 replays ten times faster).
        time_scale: f64,
    },
}

/// Traces shipped in the binary: NASA-HTTP 1995 and WorldCup 1998 requests per minute, and
/// the Erms dynamic workload.
pub const EMBEDDED_TRACES: [(&str, &str); 3] = [
    (
        "nasa",
        include_str!("../data/traces/nasa-http-1995-per-minute.csv"),
    ),
    (
        "worldcup",
        include_str!("../data/traces/worldcup98-per-minute.csv"),
    ),
    (
        "erms",
        include_str!("../data/traces/erms-dynamic-workload.csv"),
    ),
];

impl Pattern {
    /// Parses `deepscaler`, `diurnal`, `bursts`, `mix-shift`, `constant` or `trace:FILE`.
    pub fn parse(text: &str) -> Result<Pattern> {
        Ok(match text {
            "deepscaler" => Pattern::DeepScaler,
            "diurnal" => Pattern::Diurnal,
            "bursts" => Pattern::Bursts,
            "mix-shift" => Pattern::MixShift,
            "constant" => Pattern::Constant,
            "surge" => Pattern::Surge,
            t if t.starts_with("trace:") => Pattern::Trace {
                path: PathBuf::from(&t["trace:".len()..]),
                time_scale: 1.0,
            },
            other => {
                return Err(Error::param(
                    "pattern",
                    format!(
                        "unknown pattern `{other}`; use deepscaler, diurnal, bursts, mix-shift, constant, surge or trace:FILE"
                    ),
                ));
            }
        })
    }

    /// Name for messages and the README table.
    pub fn name(&self) -> String {
        match self {
            Pattern::DeepScaler => "deepscaler".into(),
            Pattern::Diurnal => "diurnal".into(),
            Pattern::Bursts => "bursts".into(),
            Pattern::MixShift => "mix-shift".into(),
            Pattern::Constant => "constant".into(),
            Pattern::Surge => "surge".into(),
            Pattern::Trace { path, .. } => format!("trace:{}", path.display()),
        }
    }
}

/// A workload ready to be sampled: total rate and mix at every knot.
#[derive(Debug, Clone)]
pub struct Workload {
    rate: Vec<f64>,
    /// Knot-major mix weights, `ops` per knot, each knot summing to 1.
    mix: Vec<f64>,
    ops: usize,
}

/// How an operation's weight varies on its own (the same-action latent dependency).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OwnVariation {
    /// Operation index.
    pub op: usize,
    /// Relative amplitude in (0, 1).
    pub amplitude: f64,
    /// Memory (time constant of the AR(1) process), ms.
    pub memory_ms: f64,
    /// A follow-up operation whose weight repeats this variation this many knots later.
    pub follow: Option<(usize, usize)>,
}

impl Workload {
    /// Builds `duration_ms` of workload (plus one interval of look-ahead) for operations with
    /// base `weights`.
    pub fn build(
        pattern: &Pattern,
        base_rps: f64,
        peak_rps: f64,
        weights: &[f64],
        own: &[OwnVariation],
        duration_ms: i64,
        seed: u64,
    ) -> Result<Workload> {
        let knots = (duration_ms / KNOT_MS + 2).max(2) as usize;
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x005e_ed0f_10ad);
        let (lo, hi) = (base_rps, peak_rps.max(base_rps));
        let rate = match pattern {
            Pattern::DeepScaler | Pattern::MixShift => deepscaler(&mut rng, knots, lo, hi),
            Pattern::Diurnal => diurnal(&mut rng, knots, lo, hi),
            Pattern::Bursts => bursts(&mut rng, knots, lo, hi),
            Pattern::Constant => vec![0.5 * (lo + hi); knots],
            Pattern::Surge => surge(&mut rng, knots, lo, hi),
            Pattern::Trace { path, time_scale } => replay(path, *time_scale, knots, lo, hi)?,
        };
        let ops = weights.len();
        let total: f64 = weights.iter().sum();
        let base: Vec<f64> = weights
            .iter()
            .map(|w| w / total.max(f64::MIN_POSITIVE))
            .collect();
        let mut mix = Vec::with_capacity(knots * ops);
        let mut current = base.clone();
        let mut next_shift = 0usize;
        // Own variations: slow AR(1) processes in (−1, 1).
        let mut own_state = vec![0.0f64; own.len()];
        let mut own_history: Vec<Vec<f64>> = vec![Vec::new(); own.len()];
        for k in 0..knots {
            if matches!(pattern, Pattern::MixShift) && k >= next_shift {
                // Step change: redraw every weight within a factor of 4 around its base.
                current = base
                    .iter()
                    .map(|w| w * 4f64.powf(rng.random_range(-1.0..1.0)))
                    .collect();
                next_shift =
                    k + (rng.random_range(2.0..6.0) * 3_600_000.0 / KNOT_MS as f64) as usize;
            }
            let mut w = current.clone();
            for (i, o) in own.iter().enumerate() {
                let phi = (-(KNOT_MS as f64) / o.memory_ms.max(1.0)).exp();
                own_state[i] =
                    phi * own_state[i] + (1.0 - phi * phi).sqrt() * 0.8 * standard_normal(&mut rng);
                w[o.op] *= 1.0 + o.amplitude * own_state[i].tanh();
                if let Some((then, lag)) = o.follow {
                    let past = if k >= lag {
                        own_history[i][k - lag]
                    } else {
                        0.0
                    };
                    w[then] *= 1.0 + o.amplitude * past.tanh();
                    own_history[i].push(own_state[i]);
                }
            }
            let s: f64 = w.iter().sum();
            mix.extend(w.iter().map(|x| x / s.max(f64::MIN_POSITIVE)));
        }
        Ok(Workload { rate, mix, ops })
    }

    /// Total request rate at `t_ms` after the start, requests per second.
    #[inline]
    pub fn rate(&self, t_ms: i64) -> f64 {
        let (k, f) = self.knot(t_ms);
        self.rate[k] * (1.0 - f) + self.rate[k + 1] * f
    }

    /// Mix weight of operation `op` at `t_ms`.
    #[inline]
    pub fn mix(&self, t_ms: i64, op: usize) -> f64 {
        let (k, f) = self.knot(t_ms);
        self.mix[k * self.ops + op] * (1.0 - f) + self.mix[(k + 1) * self.ops + op] * f
    }

    /// Rate of every operation at `t_ms` (total rate × mix weight), requests/s, into `out`.
    #[inline]
    pub fn op_rates(&self, t_ms: i64, out: &mut [f64]) {
        let (k, f) = self.knot(t_ms);
        let rate = self.rate[k] * (1.0 - f) + self.rate[k + 1] * f;
        let (a, b) = (
            &self.mix[k * self.ops..(k + 1) * self.ops],
            &self.mix[(k + 1) * self.ops..(k + 2) * self.ops],
        );
        for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
            *o = rate * (x * (1.0 - f) + y * f);
        }
    }

    /// Mean rate of operation `op` over `[t0, t1)` ms (trapezoid on the knots).
    pub fn mean_op_rate(&self, t0: i64, t1: i64, op: usize) -> f64 {
        let n = 8;
        let step = (t1 - t0).max(1) as f64 / n as f64;
        (0..n)
            .map(|i| {
                let t = t0 + ((i as f64 + 0.5) * step) as i64;
                self.rate(t) * self.mix(t, op)
            })
            .sum::<f64>()
            / n as f64
    }

    /// Covered duration, ms.
    pub fn duration_ms(&self) -> i64 {
        (self.rate.len() as i64 - 2) * KNOT_MS
    }

    #[inline]
    fn knot(&self, t_ms: i64) -> (usize, f64) {
        let last = self.rate.len() - 2;
        let t = t_ms.max(0);
        let k = ((t / KNOT_MS) as usize).min(last);
        let f = ((t - k as i64 * KNOT_MS) as f64 / KNOT_MS as f64).clamp(0.0, 1.0);
        (k, f)
    }
}

/// DeepScaler's pattern: segments of 5–30 minutes, each a slight or sharp increase or
/// decrease or a continuous fluctuation (a wave of 8–20 minutes). The rate is the intensity of
/// the Poisson arrivals, which bring the request-level noise.
fn deepscaler(rng: &mut impl Rng, knots: usize, lo: f64, hi: f64) -> Vec<f64> {
    let span = hi - lo;
    let mut out = Vec::with_capacity(knots);
    let mut level = 0.5;
    let per_min = 60_000.0 / KNOT_MS as f64;
    while out.len() < knots {
        let len = (rng.random_range(5.0..30.0) * per_min) as usize;
        let kind = rng.random_range(0..5);
        let start = level;
        let target: f64 = match kind {
            0 => start + rng.random_range(0.05..0.2), // slight increase
            1 => start - rng.random_range(0.05..0.2), // slight decrease
            2 => start + rng.random_range(0.3..0.6),  // sharp increase
            3 => start - rng.random_range(0.3..0.6),  // sharp decrease
            _ => start,                               // continuous fluctuation
        };
        let target = target.clamp(0.0, 1.0);
        let ramp = if kind == 2 || kind == 3 {
            (rng.random_range(0.5..2.0) * per_min).max(1.0) as usize // within a minute or two
        } else {
            len
        };
        let period = rng.random_range(8.0..20.0) * per_min;
        let amp = rng.random_range(0.05..0.15);
        for i in 0..len {
            let x = if i < ramp {
                start + (target - start) * (i as f64 / ramp as f64)
            } else {
                target
            };
            let wave = if kind == 4 {
                amp * (std::f64::consts::TAU * i as f64 / period).sin()
            } else {
                0.0
            };
            out.push(lo + span * (x + wave).clamp(0.0, 1.0));
        }
        level = target;
    }
    out.truncate(knots);
    out
}

/// A daily cycle (low at 04:00, high at 16:00) with 3% noise.
fn diurnal(rng: &mut impl Rng, knots: usize, lo: f64, hi: f64) -> Vec<f64> {
    (0..knots)
        .map(|k| {
            let hours = k as f64 * KNOT_MS as f64 / 3_600_000.0;
            let x = 0.5 - 0.5 * (std::f64::consts::TAU * (hours - 4.0) / 24.0).cos();
            (lo + (hi - lo) * x) * (1.0 + 0.03 * standard_normal(rng))
        })
        .map(|v| v.max(0.0))
        .collect()
}

/// A base rate with bursts about once an hour that jump toward the peak and decay with a
/// time constant of 2–5 minutes.
fn bursts(rng: &mut impl Rng, knots: usize, lo: f64, hi: f64) -> Vec<f64> {
    let per_knot = KNOT_MS as f64 / 3_600_000.0;
    let mut extra = 0.0;
    let mut tau = 1.0;
    (0..knots)
        .map(|_| {
            if rng.random::<f64>() < per_knot {
                extra = rng.random_range(0.5..1.0) * (hi - lo);
                tau = rng.random_range(2.0..5.0) * 60_000.0 / KNOT_MS as f64;
            }
            let v = (lo + extra) * (1.0 + 0.03 * standard_normal(rng));
            extra *= (-1.0 / tau).exp();
            v.max(0.0)
        })
        .collect()
}

/// DRPC's surge: a steady rate at `max(lo, hi / 4)` with 3% noise that rises fourfold (to
/// at most `hi`) within one minute, holds 10-30 minutes and falls back over 2-5 minutes;
/// the first surge starts after 30-60 minutes, the next 60-180 minutes after the last ends.
fn surge(rng: &mut impl Rng, knots: usize, lo: f64, hi: f64) -> Vec<f64> {
    let per_min = 60_000.0 / KNOT_MS as f64;
    let base = lo.max(hi / 4.0);
    let top = (4.0 * base).min(hi.max(base));
    let mut out = Vec::with_capacity(knots);
    let mut quiet = (rng.random_range(30.0..60.0) * per_min) as usize;
    while out.len() < knots {
        out.extend(std::iter::repeat_n(0.0, quiet));
        let rise = per_min.round().max(1.0) as usize;
        let hold = (rng.random_range(10.0..30.0) * per_min) as usize;
        let fall = (rng.random_range(2.0..5.0) * per_min).max(1.0) as usize;
        out.extend((1..=rise).map(|i| i as f64 / rise as f64));
        out.extend(std::iter::repeat_n(1.0, hold));
        out.extend((1..=fall).map(|i| 1.0 - i as f64 / fall as f64));
        quiet = (rng.random_range(60.0..180.0) * per_min) as usize;
    }
    out.truncate(knots);
    out.into_iter()
        .map(|x| (base + (top - base) * x) * (1.0 + 0.03 * standard_normal(rng)))
        .map(|v| v.max(0.0))
        .collect()
}

/// Reads a trace file, or an embedded trace by name (see [`EMBEDDED_TRACES`]).
pub fn read_trace(path: &Path) -> Result<(Vec<f64>, f64)> {
    if let Some((_, text)) = EMBEDDED_TRACES.iter().find(|(n, _)| Path::new(n) == path) {
        return parse_trace(text, &format!("embedded trace {}", path.display()));
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "read", e))?;
    parse_trace(&text, &path.display().to_string())
}

/// Parses a trace: two columns `timestamp,count` without header (NASA, WorldCup), or a header
/// naming a value column (`tps_truth`, `count`, `rps`, `requests`, `value`). Rows are taken as
/// equally spaced; the spacing comes from the timestamps when they parse, else one minute.
pub fn parse_trace(text: &str, name: &str) -> Result<(Vec<f64>, f64)> {
    let name = name.to_string();
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let first = lines.next().ok_or_else(|| Error::Trace {
        file: name.clone(),
        line: None,
        message: "empty trace".into(),
    })?;
    let header: Vec<String> = first
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let has_header = header.last().is_some_and(|h| h.parse::<f64>().is_err());
    let (value_col, time_col) = if has_header {
        let v = header
            .iter()
            .position(|h| {
                ["tps_truth", "count", "rps", "requests", "value", "tps"].contains(&h.as_str())
            })
            .ok_or_else(|| Error::Trace {
                file: name.clone(),
                line: Some(1),
                message:
                    "no value column; a trace needs one named tps_truth, count, rps, requests or value"
                        .into(),
            })?;
        (v, header.iter().position(|h| h == "timestamp"))
    } else {
        (1, Some(0))
    };
    let body: Vec<&str> = if has_header {
        lines.collect()
    } else {
        std::iter::once(first).chain(lines).collect()
    };
    let mut values = Vec::with_capacity(body.len());
    let mut times = Vec::new();
    for (i, line) in body.iter().enumerate() {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let v = fields
            .get(value_col)
            .and_then(|f| f.parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| Error::Trace {
                file: name.clone(),
                line: Some((i + 1 + has_header as usize) as u64),
                message: format!(
                    "column `{}`: `{line}` has no non-negative number in column {}",
                    header.get(value_col).map(String::as_str).unwrap_or("count"),
                    value_col + 1
                ),
            })?;
        values.push(v);
        if let Some(t) = time_col.and_then(|c| fields.get(c))
            && let Ok(ms) = holoscale_datasets::time::parse_timestamp(t, "timestamp")
        {
            // Small integers are seconds (Erms), large ones or dates are ms.
            times.push(if ms.abs() < 10_000_000 && !t.contains('-') {
                ms * 1000
            } else {
                ms
            });
        }
    }
    if values.len() < 2 {
        return Err(Error::Trace {
            file: name,
            line: None,
            message: "a trace needs at least two rows".into(),
        });
    }
    let step_s = if times.len() == values.len() {
        let mut d: Vec<i64> = times
            .windows(2)
            .map(|w| w[1] - w[0])
            .filter(|d| *d > 0)
            .collect();
        d.sort_unstable();
        d.get(d.len() / 2)
            .map(|&ms| ms as f64 / 1000.0)
            .unwrap_or(60.0)
    } else {
        60.0
    };
    Ok((values, step_s))
}

fn replay(path: &Path, time_scale: f64, knots: usize, lo: f64, hi: f64) -> Result<Vec<f64>> {
    if !(time_scale.is_finite() && time_scale > 0.0) {
        return Err(Error::param("time_scale", "must be positive"));
    }
    let (values, step_s) = read_trace(path)?;
    let (min, max) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let scale = |v: f64| {
        if max > min {
            lo + (hi - lo) * (v - min) / (max - min)
        } else {
            0.5 * (lo + hi)
        }
    };
    // Simulated seconds per trace row.
    let row_s = step_s * time_scale;
    let n = values.len() as f64;
    Ok((0..knots)
        .map(|k| {
            let pos = (k as f64 * KNOT_MS as f64 / 1000.0 / row_s) % n; // loops
            let i = pos.floor() as usize;
            let f = pos - i as f64;
            let a = values[i];
            let b = values[(i + 1) % values.len()];
            scale(a * (1.0 - f) + b * f)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(p: Pattern) -> Workload {
        Workload::build(&p, 10.0, 100.0, &[1.0, 3.0], &[], 2 * 86_400_000, 7).unwrap()
    }

    #[test]
    fn a_surge_quadruples_the_rate_within_a_minute() {
        // Base 10, peak 100: steady at 25, surges to 100.
        let w = build(Pattern::Surge);
        let rates: Vec<f64> = (0..17_280).map(|k| w.rate(k * 10_000)).collect();
        let start = rates
            .windows(2)
            .position(|p| p[1] > 40.0 && p[0] < 40.0)
            .expect("a surge within two days");
        let before = rates[start.saturating_sub(6)..start].iter().sum::<f64>() / 6.0;
        let after = rates[start + 6..start + 12].iter().sum::<f64>() / 6.0;
        assert!(
            (before - 25.0).abs() < 5.0,
            "steady near a quarter of the peak: {before}"
        );
        assert!(
            (after / before - 4.0).abs() < 0.5,
            "fourfold: {before} -> {after}"
        );
        // From the base to the top within a minute (six 10 s knots).
        assert!(rates[start + 6] > 90.0, "{:?}", &rates[start..start + 8]);
    }

    #[test]
    fn patterns_stay_in_range_and_are_seeded() {
        for p in [
            Pattern::DeepScaler,
            Pattern::Diurnal,
            Pattern::Bursts,
            Pattern::MixShift,
            Pattern::Constant,
            Pattern::Surge,
        ] {
            let w = build(p.clone());
            let rates: Vec<f64> = (0..17_280).map(|k| w.rate(k * 10_000)).collect();
            let (lo, hi) = rates
                .iter()
                .fold((f64::MAX, f64::MIN), |(a, b), &r| (a.min(r), b.max(r)));
            assert!(lo >= 0.0 && hi <= 130.0, "{p:?}: {lo}..{hi}");
            if p != Pattern::Constant {
                assert!(hi - lo > 20.0, "{p:?} should vary: {lo}..{hi}");
            }
            let again = build(p.clone());
            assert_eq!(again.rate(12_345_678), w.rate(12_345_678));
            let m = w.mix(5_000_000, 0) + w.mix(5_000_000, 1);
            assert!((m - 1.0).abs() < 1e-12);
        }
        // Mix shifts move the weights; the others keep 1:3.
        let w = build(Pattern::Diurnal);
        assert!((w.mix(77_777_000, 1) - 0.75).abs() < 1e-12);
        let w = build(Pattern::MixShift);
        let shares: Vec<f64> = (0..48).map(|h| w.mix(h * 3_600_000, 1)).collect();
        assert!(shares.iter().any(|s| (s - 0.75).abs() > 0.05));
    }

    #[test]
    fn diurnal_peaks_in_the_afternoon() {
        let w = build(Pattern::Diurnal);
        let at = |h: f64| w.rate((h * 3_600_000.0) as i64);
        assert!(
            at(16.0) > 85.0 && at(4.0) < 20.0,
            "{} {}",
            at(16.0),
            at(4.0)
        );
    }

    #[test]
    fn trace_replay_maps_onto_base_and_peak() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(
            &path,
            "1995-07-12 07:58:00,10\n1995-07-12 07:59:00,30\n1995-07-12 08:00:00,20\n",
        )
        .unwrap();
        let (v, step) = read_trace(&path).unwrap();
        assert_eq!((v.len(), step), (3, 60.0));
        // Ten times faster: one trace minute lasts 6 simulated seconds.
        let p = Pattern::Trace {
            path,
            time_scale: 0.1,
        };
        let w = Workload::build(&p, 10.0, 100.0, &[1.0], &[], 600_000, 1).unwrap();
        assert!((w.rate(0) - 10.0).abs() < 1e-9);
        let erms = dir.path().join("e.csv");
        std::fs::write(&erms, ",timestamp,tps_truth\n0,0,3.0\n1,1,5.0\n").unwrap();
        let (v, step) = read_trace(&erms).unwrap();
        assert_eq!((v, step), (vec![3.0, 5.0], 1.0));
        let (nasa, step) = read_trace(Path::new("nasa")).unwrap();
        assert_eq!((nasa.len(), nasa[0], step), (3000, 37.0, 60.0));
        let bad = dir.path().join("b.csv");
        std::fs::write(&bad, "a,b\n1,2\n").unwrap();
        assert!(
            read_trace(&bad)
                .unwrap_err()
                .to_string()
                .contains("tps_truth")
        );
    }

    /// Two operations at a constant rate, the first with its own variation.
    fn two_ops_varying_first(amplitude: f64, memory_ms: f64, hours: i64, seed: u64) -> Workload {
        let own = [OwnVariation {
            op: 0,
            amplitude,
            memory_ms,
            follow: None,
        }];
        Workload::build(
            &Pattern::Constant,
            10.0,
            10.0,
            &[1.0, 1.0],
            &own,
            hours * 3_600_000,
            seed,
        )
        .unwrap()
    }

    #[test]
    fn own_variation_moves_one_operation() {
        let w = two_ops_varying_first(0.6, 1_800_000.0, 24, 3);
        let shares: Vec<f64> = (0..24).map(|h| w.mix(h * 3_600_000, 0)).collect();
        let (lo, hi) = shares
            .iter()
            .fold((1.0f64, 0.0f64), |(a, b), &s| (a.min(s), b.max(s)));
        assert!(hi - lo > 0.1, "{lo}..{hi}");
    }

    /// Lag-`k` autocorrelation of operation 0's share relative to the steady operation 1.
    fn own_autocorrelation(memory_ms: f64, k: usize) -> f64 {
        let w = two_ops_varying_first(0.3, memory_ms, 200, 9);
        let x: Vec<f64> = (0..70_000)
            .map(|i| (w.mix(i * KNOT_MS, 0) / w.mix(i * KNOT_MS, 1)).ln())
            .collect();
        let mean = x.iter().sum::<f64>() / x.len() as f64;
        let d: Vec<f64> = x.iter().map(|v| v - mean).collect();
        let var: f64 = d.iter().map(|v| v * v).sum();
        d.iter().zip(&d[k..]).map(|(a, b)| a * b).sum::<f64>() / var
    }

    #[test]
    fn the_memory_of_a_variation_sets_its_autocorrelation() {
        // The state is AR(1) with φ = exp(−knot/memory) per knot, so its lag-k
        // autocorrelation is φ^k; the share is a smooth odd function of it (ln(1 + a·tanh)),
        // which keeps the autocorrelation close to φ^k.
        for (memory_ms, k) in [(120_000.0, 6), (120_000.0, 12), (1_800_000.0, 6)] {
            let phi = (-(KNOT_MS as f64) / memory_ms).exp();
            let expected = phi.powi(k as i32);
            let got = own_autocorrelation(memory_ms, k);
            assert!(
                (got - expected).abs() < 0.05,
                "memory {memory_ms} ms, lag {k} knots: {got} vs {expected}"
            );
        }
    }

    #[test]
    fn a_follow_up_repeats_the_variation_after_its_lag() {
        let lag = 30; // knots: 5 minutes
        let own = [OwnVariation {
            op: 0,
            amplitude: 0.6,
            memory_ms: 1_800_000.0,
            follow: Some((1, lag)),
        }];
        let w = Workload::build(
            &Pattern::Constant,
            10.0,
            10.0,
            &[1.0, 1.0, 1.0],
            &own,
            6 * 3_600_000,
            5,
        )
        .unwrap();
        // Operation 2 does not vary, so ratios to it cancel the mix normalisation.
        let mut moved = 0.0f64;
        for k in (0..2000).step_by(7) {
            let t = k as i64 * KNOT_MS;
            let t_lag = (k + lag) as i64 * KNOT_MS;
            let lead = w.mix(t, 0) / w.mix(t, 2);
            let follow = w.mix(t_lag, 1) / w.mix(t_lag, 2);
            assert!(
                (lead - follow).abs() < 1e-12,
                "knot {k}: {lead} vs {follow}"
            );
            moved = moved.max((lead - 1.0).abs());
        }
        assert!(moved > 0.1, "the variation moves the operation: {moved}");
        // Before the lag has passed, the follow-up has not moved yet.
        assert!((w.mix(0, 1) / w.mix(0, 2) - 1.0).abs() < 1e-12);
    }
}
