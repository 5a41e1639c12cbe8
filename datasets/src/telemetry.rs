//! [`Telemetry`]: per-service metric time series on one regular time grid (SPEC 2.1).

use std::ops::Range;

use ndarray::{Array2, Array3, ArrayView1, ArrayView2, Axis, s};

use crate::error::{Error, Result, name_list};
use crate::schema;
use crate::time::format_ms;

/// How a reader found the sampling interval of a source that did not state it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntervalNote {
    /// The interval, ms.
    pub interval_ms: i64,
    /// Whether the timestamps lie on a regular grid (else they were jittered, and the
    /// interval is their median gap snapped to a common interval).
    pub regular: bool,
    /// Whether integer timestamps were read as epoch seconds.
    pub seconds: bool,
}

/// Where in the source a reader had to move or merge samples, per service: kept with the data
/// so that [`crate::validate::repair`] can report it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IngestNotes {
    /// Per service index: samples whose timestamp was not on the grid (count, first time).
    pub(crate) off_grid: Vec<(usize, usize, i64)>,
    /// Per service index: rows that repeated a (timestamp, service) pair (count, first time).
    pub(crate) duplicates: Vec<(usize, usize, i64)>,
    /// Per service: duplicate rows whose values disagree beyond
    /// [`crate::ingest::DUPLICATE_TOLERANCE`].
    pub(crate) disagreeing: Vec<Disagreement>,
    /// How the interval was inferred, when the source did not state it.
    pub(crate) interval: Option<IntervalNote>,
}

/// Duplicate rows of one service whose values disagree.
#[derive(Debug, Clone, PartialEq)]
pub struct Disagreement {
    /// Service index.
    pub service: usize,
    /// (row, column) cells where the duplicates disagree.
    pub count: usize,
    /// Time of the first, ms.
    pub first_ms: i64,
    /// Column of the first.
    pub column: String,
    /// Lowest and highest value there.
    pub low: f64,
    /// See `low`.
    pub high: f64,
}

impl IngestNotes {
    /// True when the reader neither moved nor merged any sample.
    pub fn is_empty(&self) -> bool {
        self.off_grid.is_empty() && self.duplicates.is_empty()
    }

    /// How the interval was inferred, when the source did not state it.
    pub fn interval(&self) -> Option<IntervalNote> {
        self.interval
    }
}

/// Telemetry of an application: for each of `T` regularly spaced timestamps and each of `N`
/// services, the values of `C` numeric columns.
///
/// Values are held densely as `[time, service, column]`. A value that the source did not
/// provide is `NaN` and has `observed == false`; after [`crate::validate::repair`] every
/// observed value is finite and gaps short enough to fill hold the filled value while their
/// mask stays `false`, so a model can tell measured from repaired numbers.
///
/// Services are kept in the order given at construction; readers sort them by name so that
/// the order does not depend on row order in a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Telemetry {
    source: String,
    start_ms: i64,
    interval_ms: i64,
    services: Vec<String>,
    columns: Vec<String>,
    values: Array3<f64>,
    observed: Array3<bool>,
    pub(crate) notes: IngestNotes,
}

impl Telemetry {
    /// Builds telemetry from a dense `[time, service, column]` array.
    ///
    /// `source` names the data in messages (a file path or a description). Values that are
    /// `NaN` count as not observed; every other value counts as observed (infinities and
    /// negative counts are reported by validation).
    pub fn try_new(
        source: impl Into<String>,
        start_ms: i64,
        interval_ms: i64,
        services: Vec<String>,
        columns: Vec<String>,
        values: Array3<f64>,
    ) -> Result<Self> {
        let observed = values.mapv(|v| !v.is_nan());
        Self::try_with_mask(
            source,
            start_ms,
            interval_ms,
            services,
            columns,
            values,
            observed,
        )
    }

    /// Like [`Telemetry::try_new`] with an explicit mask of observed values.
    pub fn try_with_mask(
        source: impl Into<String>,
        start_ms: i64,
        interval_ms: i64,
        services: Vec<String>,
        columns: Vec<String>,
        values: Array3<f64>,
        observed: Array3<bool>,
    ) -> Result<Self> {
        let source = source.into();
        if interval_ms <= 0 {
            return Err(Error::param(
                "interval",
                format!("must be positive, got {interval_ms} ms"),
            ));
        }
        let (t, n, c) = values.dim();
        if n != services.len() || c != columns.len() {
            return Err(Error::Shape {
                what: format!("telemetry values of {source}"),
                expected: format!("[time, {}, {}]", services.len(), columns.len()),
                got: format!("[{t}, {n}, {c}]"),
            });
        }
        if observed.dim() != values.dim() {
            return Err(Error::Shape {
                what: format!("observed mask of {source}"),
                expected: format!("{:?}", values.dim()),
                got: format!("{:?}", observed.dim()),
            });
        }
        check_names(&source, "service", &services)?;
        check_names(&source, "column", &columns)?;
        for c in &columns {
            if c == schema::TIMESTAMP || c == schema::SERVICE {
                return Err(Error::param(
                    "columns",
                    format!("`{c}` is a key column and cannot be a numeric column"),
                ));
            }
        }
        Ok(Telemetry {
            source,
            start_ms,
            interval_ms,
            services,
            columns,
            values,
            observed,
            notes: IngestNotes::default(),
        })
    }

    /// The name of the data in messages (usually the file it was read from).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Renames the source used in messages.
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = source.into();
        self
    }

    /// First timestamp, milliseconds since the epoch.
    pub fn start_ms(&self) -> i64 {
        self.start_ms
    }

    /// Sampling interval, milliseconds.
    pub fn interval_ms(&self) -> i64 {
        self.interval_ms
    }

    /// Number of time steps `T`.
    pub fn len(&self) -> usize {
        self.values.dim().0
    }

    /// True when there are no time steps.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Timestamp of step `t`, milliseconds since the epoch.
    pub fn timestamp(&self, t: usize) -> i64 {
        self.start_ms + t as i64 * self.interval_ms
    }

    /// Last timestamp (the start when empty).
    pub fn end_ms(&self) -> i64 {
        self.timestamp(self.len().saturating_sub(1))
    }

    /// The step holding `ms` when it lies on the grid inside the range.
    pub fn step_of(&self, ms: i64) -> Option<usize> {
        let d = ms - self.start_ms;
        (d >= 0 && d % self.interval_ms == 0)
            .then(|| (d / self.interval_ms) as usize)
            .filter(|&t| t < self.len())
    }

    /// Service names, in array order.
    pub fn services(&self) -> &[String] {
        &self.services
    }

    /// Numeric column names, in array order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Index of a service.
    pub fn service_index(&self, service: &str) -> Option<usize> {
        self.services.iter().position(|s| s == service)
    }

    /// Index of a column.
    pub fn column_index(&self, column: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == column)
    }

    /// Index of a column, or an error naming the column, the data and what it has.
    pub fn require_column(&self, column: &str) -> Result<usize> {
        self.column_index(column)
            .ok_or_else(|| Error::MissingColumn {
                file: self.source.clone(),
                column: column.to_string(),
                expected: format!("the data has {}", name_list(&self.columns)),
            })
    }

    /// Index of a service, or an error naming the service and what the data has.
    pub fn require_service(&self, service: &str) -> Result<usize> {
        self.service_index(service)
            .ok_or_else(|| Error::UnknownService {
                file: self.source.clone(),
                service: service.to_string(),
                available: name_list(&self.services),
            })
    }

    /// All values, `[time, service, column]`.
    pub fn values(&self) -> &Array3<f64> {
        &self.values
    }

    /// All values, mutable. Keep the mask consistent when editing.
    pub fn values_mut(&mut self) -> &mut Array3<f64> {
        &mut self.values
    }

    /// Which values came from the source, `[time, service, column]`.
    pub fn observed(&self) -> &Array3<bool> {
        &self.observed
    }

    pub(crate) fn parts_mut(&mut self) -> (&mut Array3<f64>, &mut Array3<bool>) {
        (&mut self.values, &mut self.observed)
    }

    /// One column for every step and service, `[time, service]`.
    pub fn column(&self, column: &str) -> Result<ArrayView2<'_, f64>> {
        let c = self.require_column(column)?;
        Ok(self.values.index_axis(Axis(2), c))
    }

    /// One service's series of one column, `[time]`.
    pub fn series(&self, service: &str, column: &str) -> Result<ArrayView1<'_, f64>> {
        let n = self.require_service(service)?;
        let c = self.require_column(column)?;
        Ok(self.values.slice(s![.., n, c]))
    }

    /// Whether any value of step `t`, service `n` was observed (the source had that row).
    pub fn row_observed(&self, t: usize, n: usize) -> bool {
        self.observed.slice(s![t, n, ..]).iter().any(|&o| o)
    }

    /// Adds a column, or replaces one with the same name. `values` is `[time, service]`;
    /// `NaN` marks values that are not observed.
    pub fn set_column(&mut self, name: &str, values: Array2<f64>) -> Result<()> {
        let (t, n) = values.dim();
        if t != self.len() || n != self.services.len() {
            return Err(Error::Shape {
                what: format!("column `{name}`"),
                expected: format!("[{}, {}]", self.len(), self.services.len()),
                got: format!("[{t}, {n}]"),
            });
        }
        let mask = values.mapv(|v| !v.is_nan());
        match self.column_index(name) {
            Some(c) => {
                self.values.index_axis_mut(Axis(2), c).assign(&values);
                self.observed.index_axis_mut(Axis(2), c).assign(&mask);
            }
            None => {
                self.values
                    .push(Axis(2), values.view())
                    .expect("shape checked above");
                self.observed
                    .push(Axis(2), mask.view())
                    .expect("shape checked above");
                self.columns.push(name.to_string());
            }
        }
        Ok(())
    }

    /// A copy holding only the named columns, in the order given.
    pub fn select_columns<S: AsRef<str>>(&self, columns: &[S]) -> Result<Telemetry> {
        let idx = columns
            .iter()
            .map(|c| self.require_column(c.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        let mut out = self.clone();
        out.values = self.values.select(Axis(2), &idx);
        out.observed = self.observed.select(Axis(2), &idx);
        out.columns = columns.iter().map(|c| c.as_ref().to_string()).collect();
        check_names(&out.source, "column", &out.columns)?;
        Ok(out)
    }

    /// A copy holding only the named services, in the order given.
    pub fn select_services<S: AsRef<str>>(&self, services: &[S]) -> Result<Telemetry> {
        let idx = services
            .iter()
            .map(|s| self.require_service(s.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        let mut out = self.clone();
        out.values = self.values.select(Axis(1), &idx);
        out.observed = self.observed.select(Axis(1), &idx);
        out.services = services.iter().map(|s| s.as_ref().to_string()).collect();
        out.notes = self.notes.remap_services(&idx);
        check_names(&out.source, "service", &out.services)?;
        Ok(out)
    }

    /// A copy of the steps in `range`.
    pub fn slice_time(&self, range: Range<usize>) -> Result<Telemetry> {
        if range.start > range.end || range.end > self.len() {
            return Err(Error::param(
                "time range",
                format!(
                    "steps {}..{} are outside the {} steps of {}",
                    range.start,
                    range.end,
                    self.len(),
                    self.source
                ),
            ));
        }
        let mut out = self.clone();
        out.start_ms = self.timestamp(range.start);
        out.values = self.values.slice(s![range.clone(), .., ..]).to_owned();
        out.observed = self.observed.slice(s![range, .., ..]).to_owned();
        Ok(out)
    }

    /// Per service, the first and last step with an observed row, or `None` when the service
    /// has no observed value at all.
    pub fn coverage(&self) -> Vec<Option<(usize, usize)>> {
        (0..self.services.len())
            .map(|n| {
                let rows = self.observed.slice(s![.., n, ..]);
                let present = |t: &usize| rows.row(*t).iter().any(|&o| o);
                let first = (0..self.len()).find(present)?;
                let last = (0..self.len()).rev().find(present)?;
                Some((first, last))
            })
            .collect()
    }

    /// RFC 3339 text of step `t`, for messages.
    pub fn time_text(&self, t: usize) -> String {
        format_ms(self.timestamp(t))
    }

    /// Count of observed values.
    pub fn observed_count(&self) -> usize {
        self.observed.iter().filter(|&&o| o).count()
    }
}

impl IngestNotes {
    fn remap_services(&self, kept: &[usize]) -> IngestNotes {
        let remap = |v: &[(usize, usize, i64)]| {
            v.iter()
                .filter_map(|&(n, count, t)| {
                    kept.iter().position(|&k| k == n).map(|m| (m, count, t))
                })
                .collect()
        };
        IngestNotes {
            off_grid: remap(&self.off_grid),
            duplicates: remap(&self.duplicates),
            disagreeing: self
                .disagreeing
                .iter()
                .filter_map(|d| {
                    kept.iter()
                        .position(|&k| k == d.service)
                        .map(|m| Disagreement {
                            service: m,
                            ..d.clone()
                        })
                })
                .collect(),
            interval: self.interval,
        }
    }
}

fn check_names(source: &str, what: &str, names: &[String]) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for name in names {
        if name.is_empty() {
            return Err(Error::param(
                format!("{what} names"),
                format!("{source}: a {what} name is empty"),
            ));
        }
        if !seen.insert(name.as_str()) {
            return Err(Error::param(
                format!("{what} names"),
                format!("{source}: {what} `{name}` appears twice"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    fn small() -> Telemetry {
        let mut v = Array3::from_shape_fn((4, 2, 2), |(t, n, c)| (t * 100 + n * 10 + c) as f64);
        v[[2, 1, 0]] = f64::NAN;
        Telemetry::try_new(
            "mem",
            1_000,
            30_000,
            vec!["a".into(), "b".into()],
            vec!["replicas".into(), "req_rate".into()],
            v,
        )
        .unwrap()
    }

    #[test]
    fn accessors_follow_the_grid() {
        let tel = small();
        assert_eq!(tel.len(), 4);
        assert_eq!(tel.timestamp(2), 61_000);
        assert_eq!(tel.end_ms(), 91_000);
        assert_eq!(tel.step_of(31_000), Some(1));
        assert_eq!(tel.step_of(31_001), None);
        assert_eq!(
            tel.series("b", "req_rate").unwrap().to_vec(),
            [11.0, 111.0, 211.0, 311.0]
        );
        assert!(!tel.observed()[[2, 1, 0]]);
        assert!(tel.row_observed(2, 1));
        assert_eq!(tel.observed_count(), 15);
    }

    #[test]
    fn selection_and_slicing_keep_values() {
        let tel = small();
        let sel = tel
            .select_services(&["b"])
            .unwrap()
            .select_columns(&["req_rate"])
            .unwrap();
        assert_eq!(sel.values().dim(), (4, 1, 1));
        assert_eq!(sel.values()[[3, 0, 0]], 311.0);
        let sl = tel.slice_time(1..3).unwrap();
        assert_eq!(sl.start_ms(), 31_000);
        assert_eq!(sl.values()[[0, 0, 0]], 100.0);
        assert!(tel.slice_time(2..9).is_err());
    }

    #[test]
    fn bad_construction_is_refused_with_names() {
        let v = Array3::zeros((2, 2, 1));
        let err = Telemetry::try_new(
            "f.parquet",
            0,
            1000,
            vec!["a".into(), "a".into()],
            vec!["x".into()],
            v.clone(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("`a` appears twice"), "{err}");
        let err = Telemetry::try_new("f.parquet", 0, 1000, vec!["a".into()], vec!["x".into()], v)
            .unwrap_err()
            .to_string();
        assert!(err.contains("[time, 1, 1]"), "{err}");
        let err = small()
            .require_column("latency_ms")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("mem") && err.contains("latency_ms") && err.contains("`replicas`"),
            "{err}"
        );
    }

    #[test]
    fn set_column_adds_and_replaces() {
        let mut tel = small();
        tel.set_column("cpu_util", Array2::from_elem((4, 2), 0.5))
            .unwrap();
        assert_eq!(tel.columns().len(), 3);
        tel.set_column("replicas", Array2::from_elem((4, 2), 2.0))
            .unwrap();
        assert_eq!(tel.series("b", "replicas").unwrap()[2], 2.0);
        assert!(tel.observed()[[2, 1, 0]]);
        assert!(tel.set_column("x", Array2::zeros((3, 2))).is_err());
    }

    #[test]
    fn telemetry_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Telemetry>();
    }
}
