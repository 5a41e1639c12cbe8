//! What a telemetry holds: counts of observed, filled and missing values, statistics per
//! column, the standard columns it lacks and what validation found (`holoscale inspect`).

use serde::Serialize;

use crate::schema;
use crate::telemetry::Telemetry;
use crate::time;
use crate::validate::{Problem, Severity};

/// Statistics of one column over its observed values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnStats {
    /// Column name.
    pub name: String,
    /// What a standard column means ([`schema::describe`]).
    pub meaning: Option<&'static str>,
    /// Share of (step, service) cells with an observed value.
    pub observed_share: f64,
    /// Smallest observed value (NaN without any).
    pub min: f64,
    /// Mean of the observed values.
    pub mean: f64,
    /// Largest observed value.
    pub max: f64,
    /// Population standard deviation of the observed values.
    pub std: f64,
}

/// Everything `holoscale inspect` reports about telemetry.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The data source.
    pub file: String,
    /// Service names.
    pub services: Vec<String>,
    /// First timestamp, RFC 3339.
    pub start: String,
    /// Last timestamp, RFC 3339.
    pub end: String,
    /// Sampling interval (`30s`).
    pub interval: String,
    /// Steps.
    pub steps: usize,
    /// Cells (steps × services × columns).
    pub cells: usize,
    /// Cells with an observed value.
    pub observed_cells: usize,
    /// Cells holding a repaired (filled) value.
    pub filled_cells: usize,
    /// Cells left missing.
    pub missing_cells: usize,
    /// Per column statistics.
    pub columns: Vec<ColumnStats>,
    /// Standard columns (SPEC 2.1) the data lacks.
    pub missing_standard_columns: Vec<String>,
    /// What validation found.
    pub problems: Vec<Problem>,
    /// Whether a problem refuses the data.
    pub refused: bool,
}

/// Column statistics and counts of a (repaired) telemetry.
pub fn summarize(tel: &Telemetry, problems: Vec<Problem>) -> Summary {
    let (t, n, c) = tel.values().dim();
    let cells = t * n * c;
    let observed = tel.observed_count();
    let finite = tel.values().iter().filter(|v| v.is_finite()).count();
    let columns = (0..c)
        .map(|k| {
            let (mut cnt, mut sum, mut sq, mut lo, mut hi) =
                (0usize, 0.0, 0.0, f64::INFINITY, f64::NEG_INFINITY);
            for ti in 0..t {
                for ni in 0..n {
                    if tel.observed()[[ti, ni, k]] {
                        let v = tel.values()[[ti, ni, k]];
                        cnt += 1;
                        sum += v;
                        sq += v * v;
                        lo = lo.min(v);
                        hi = hi.max(v);
                    }
                }
            }
            let mean = if cnt > 0 { sum / cnt as f64 } else { f64::NAN };
            let std = if cnt > 0 {
                (sq / cnt as f64 - mean * mean).max(0.0).sqrt()
            } else {
                f64::NAN
            };
            ColumnStats {
                name: tel.columns()[k].clone(),
                meaning: schema::describe(&tel.columns()[k]),
                observed_share: if t * n > 0 {
                    cnt as f64 / (t * n) as f64
                } else {
                    0.0
                },
                min: if cnt > 0 { lo } else { f64::NAN },
                mean,
                max: if cnt > 0 { hi } else { f64::NAN },
                std,
            }
        })
        .collect();
    let refused = problems.iter().any(|p| p.severity == Severity::Fatal);
    Summary {
        file: tel.source().to_string(),
        services: tel.services().to_vec(),
        start: time::format_ms(tel.start_ms()),
        end: time::format_ms(tel.end_ms()),
        interval: time::format_duration_ms(tel.interval_ms()),
        steps: t,
        cells,
        observed_cells: observed,
        filled_cells: finite.saturating_sub(observed),
        missing_cells: cells - finite,
        columns,
        missing_standard_columns: schema::STANDARD_COLUMNS
            .iter()
            .filter(|c| tel.column_index(c).is_none())
            .map(|c| c.to_string())
            .collect(),
        problems,
        refused,
    }
}
