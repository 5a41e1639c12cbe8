//! Validation and repair of telemetry, reported to the user.
//!
//! [`repair`] finds every problem a telemetry source can have (off-grid timestamps, duplicate
//! rows, gaps, NaN and infinities, negative counts, services present in some steps only,
//! constant series), repairs what the [`RepairPolicy`] allows, and returns a [`Report`] in
//! which every problem names the file, the service, the column and the time.

use ndarray::s;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::schema;
use crate::telemetry::Telemetry;

/// Default longest gap, in steps, that forward filling may close.
pub const DEFAULT_MAX_FILL: usize = 3;

/// What to do with gaps longer than [`RepairPolicy::max_fill`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LongGaps {
    /// Refuse the data (the default).
    #[default]
    Error,
    /// Leave the values missing; a model that needs them will refuse its window.
    Leave,
}

/// What to do with services that have rows in some steps only (start late, end early).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartialCoverage {
    /// Keep the service and leave the missing steps missing (the default).
    #[default]
    Leave,
    /// Remove such services.
    Drop,
    /// Cut the time range to the steps every service covers.
    Trim,
    /// Refuse the data.
    Error,
}

/// What to do with rows that repeat a (timestamp, service) pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Duplicates {
    /// Keep the mean of the repeated rows' values (the default).
    #[default]
    Mean,
    /// Refuse the data.
    Error,
}

/// What to do with timestamps that are not on the regular grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Irregular {
    /// Move each sample to the nearest step, averaging samples that share one (the default).
    #[default]
    Resample,
    /// Refuse the data.
    Error,
}

/// How [`repair`] treats each kind of problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RepairPolicy {
    /// Longest run of missing steps closed by forward fill (back fill at a series' start).
    pub max_fill: usize,
    /// Gaps longer than `max_fill`.
    pub long_gaps: LongGaps,
    /// Services present in some steps only.
    pub partial: PartialCoverage,
    /// Repeated rows.
    pub duplicates: Duplicates,
    /// Off-grid timestamps.
    pub irregular: Irregular,
}

impl Default for RepairPolicy {
    fn default() -> Self {
        RepairPolicy {
            max_fill: DEFAULT_MAX_FILL,
            long_gaps: LongGaps::default(),
            partial: PartialCoverage::default(),
            duplicates: Duplicates::default(),
            irregular: Irregular::default(),
        }
    }
}

impl RepairPolicy {
    /// Sets [`RepairPolicy::max_fill`].
    pub fn with_max_fill(mut self, steps: usize) -> Self {
        self.max_fill = steps;
        self
    }
    /// Sets [`RepairPolicy::long_gaps`].
    pub fn with_long_gaps(mut self, action: LongGaps) -> Self {
        self.long_gaps = action;
        self
    }
    /// Sets [`RepairPolicy::partial`].
    pub fn with_partial(mut self, action: PartialCoverage) -> Self {
        self.partial = action;
        self
    }
    /// Sets [`RepairPolicy::duplicates`].
    pub fn with_duplicates(mut self, action: Duplicates) -> Self {
        self.duplicates = action;
        self
    }
    /// Sets [`RepairPolicy::irregular`].
    pub fn with_irregular(mut self, action: Irregular) -> Self {
        self.irregular = action;
        self
    }
}

pub use crate::problem::{Problem, ProblemKind, Report, Severity};

impl Report {
    /// `Err(Error::Invalid)` when a problem is fatal.
    pub fn into_result(self) -> Result<Report> {
        if self.has_fatal() {
            Err(Error::Invalid(Box::new(self)))
        } else {
            Ok(self)
        }
    }
}

/// Validates `tel` and repairs it in place as `policy` allows.
///
/// Returns the report even when it holds fatal problems, so that `inspect` can show them;
/// call [`Report::into_result`] to refuse such data. Observed values that are NaN, infinite
/// or negative (in counting columns) become unobserved; then gaps of up to
/// `policy.max_fill` steps inside each service's range are filled forward (backward at the
/// start of a series).
pub fn repair(tel: &mut Telemetry, policy: &RepairPolicy) -> Report {
    let file = tel.source().to_string();
    let mut report = Report {
        file: file.clone(),
        ..Report::default()
    };
    let services = tel.services().to_vec();
    let columns = tel.columns().to_vec();
    let problem =
        |kind, severity, n: usize, c: Option<usize>, t: Option<i64>, count, detail| Problem {
            kind,
            severity,
            file: file.clone(),
            service: Some(services[n].clone()),
            column: c.map(|c: usize| columns[c].clone()),
            time_ms: t,
            count,
            detail,
        };

    // Problems the reader noted while placing rows on the grid.
    let interval = tel.interval_ms();
    for &(n, count, first) in &tel.notes.off_grid {
        let severity = match policy.irregular {
            Irregular::Resample => Severity::Repaired,
            Irregular::Error => Severity::Fatal,
        };
        let detail = format!(
            "{count} sample(s) not on the {} grid; {}",
            crate::time::format_duration_ms(interval),
            if severity == Severity::Fatal {
                "resample them or give the right `interval_ms`"
            } else {
                "moved to the nearest step (samples sharing a step averaged)"
            }
        );
        report.problems.push(problem(
            ProblemKind::IrregularTimestamps,
            severity,
            n,
            None,
            Some(first),
            count,
            detail,
        ));
    }
    for &(n, count, first) in &tel.notes.duplicates {
        let severity = match policy.duplicates {
            Duplicates::Mean => Severity::Repaired,
            Duplicates::Error => Severity::Fatal,
        };
        let detail = format!(
            "{count} row(s) repeat an earlier (timestamp, service) pair; {}",
            if severity == Severity::Fatal {
                "remove the duplicates"
            } else {
                "kept the mean of the repeated values"
            }
        );
        report.problems.push(problem(
            ProblemKind::DuplicateRows,
            severity,
            n,
            None,
            Some(first),
            count,
            detail,
        ));
    }

    for d in &tel.notes.disagreeing {
        let detail = format!(
            "{} duplicate value(s) differ by more than {:.0}% of the larger (`{}`: {} and {} at the first); {}",
            d.count,
            100.0 * crate::ingest::DUPLICATE_TOLERANCE,
            d.column,
            d.low,
            d.high,
            match policy.duplicates {
                Duplicates::Mean =>
                    "averaged anyway: check the source for two writers of one service",
                Duplicates::Error => "remove the duplicates",
            }
        );
        report.problems.push(Problem {
            kind: ProblemKind::DisagreeingDuplicates,
            severity: Severity::Warning,
            file: file.clone(),
            service: Some(services[d.service].clone()),
            column: Some(d.column.clone()),
            time_ms: Some(d.first_ms),
            count: d.count,
            detail,
        });
    }

    // Cell checks: NaN / infinities, then negative counts.
    let (t_len, n_len, c_len) = tel.values().dim();
    {
        let start = tel.start_ms();
        let (values, observed) = tel.parts_mut();
        for n in 0..n_len {
            for (c, column) in columns.iter().enumerate() {
                let non_negative = schema::is_non_negative(column);
                let (mut bad, mut bad_first, mut neg, mut neg_first, mut neg_min) =
                    (0, None, 0, None, f64::INFINITY);
                for t in 0..t_len {
                    if !observed[[t, n, c]] {
                        continue;
                    }
                    let v = values[[t, n, c]];
                    if !v.is_finite() {
                        bad += 1;
                        bad_first.get_or_insert(t);
                        values[[t, n, c]] = f64::NAN;
                        observed[[t, n, c]] = false;
                    } else if non_negative && v < 0.0 {
                        neg += 1;
                        neg_first.get_or_insert(t);
                        neg_min = neg_min.min(v);
                        values[[t, n, c]] = f64::NAN;
                        observed[[t, n, c]] = false;
                    }
                }
                let at = |t: Option<usize>| t.map(|t| start + t as i64 * interval);
                if bad > 0 {
                    report.problems.push(problem(
                        ProblemKind::NonFinite,
                        Severity::Repaired,
                        n,
                        Some(c),
                        at(bad_first),
                        bad,
                        format!("{bad} NaN or infinite value(s); treated as missing"),
                    ));
                }
                if neg > 0 {
                    report.problems.push(problem(
                        ProblemKind::NegativeValue,
                        Severity::Repaired,
                        n,
                        Some(c),
                        at(neg_first),
                        neg,
                        format!(
                            "{neg} negative value(s) (lowest {neg_min}) in a column that cannot be negative; treated as missing"
                        ),
                    ));
                }
            }
        }
    }

    // Coverage: services present in some steps only.
    let coverage = tel.coverage();
    let mut keep: Vec<usize> = Vec::with_capacity(n_len);
    let (mut lo, mut hi) = (0usize, t_len.saturating_sub(1));
    for (n, cov) in coverage.iter().enumerate() {
        let Some((first, last)) = *cov else {
            report.problems.push(problem(
                ProblemKind::PartialCoverage,
                match policy.partial {
                    PartialCoverage::Drop => Severity::Repaired,
                    _ => Severity::Fatal,
                },
                n,
                None,
                None,
                t_len,
                "no observed value at all; remove the service or set `partial` to drop".into(),
            ));
            if policy.partial == PartialCoverage::Drop {
                report.dropped_services.push(services[n].clone());
            } else {
                keep.push(n);
            }
            continue;
        };
        if first > 0 || last + 1 < t_len {
            let (severity, action) = match policy.partial {
                PartialCoverage::Leave => (
                    Severity::Warning,
                    "the steps outside stay missing (set `partial` to drop or trim to change)",
                ),
                PartialCoverage::Drop => (Severity::Repaired, "service dropped"),
                PartialCoverage::Trim => (Severity::Repaired, "time range trimmed"),
                PartialCoverage::Error => (
                    Severity::Fatal,
                    "set `partial` to drop, trim or leave to accept it",
                ),
            };
            report.problems.push(problem(
                ProblemKind::PartialCoverage,
                severity,
                n,
                None,
                Some(tel.timestamp(if first > 0 { 0 } else { last + 1 })),
                first + (t_len - 1 - last),
                format!(
                    "rows only from {} to {} ({} of {} steps); {action}",
                    tel.time_text(first),
                    tel.time_text(last),
                    last - first + 1,
                    t_len
                ),
            ));
            if policy.partial == PartialCoverage::Drop {
                report.dropped_services.push(services[n].clone());
                continue;
            }
        }
        lo = lo.max(first);
        hi = hi.min(last);
        keep.push(n);
    }
    if policy.partial == PartialCoverage::Drop && keep.len() < n_len {
        let names: Vec<&str> = keep.iter().map(|&n| services[n].as_str()).collect();
        *tel = tel
            .select_services(&names)
            .expect("names come from the telemetry");
    }
    if policy.partial == PartialCoverage::Trim && (lo > 0 || hi + 1 < t_len) {
        if lo > hi {
            report.problems.push(Problem {
                kind: ProblemKind::PartialCoverage,
                severity: Severity::Fatal,
                file: file.clone(),
                service: None,
                column: None,
                time_ms: None,
                count: n_len,
                detail: "no step is covered by every service, so trimming leaves nothing; set `partial` to drop".into(),
            });
        } else {
            report.trimmed_steps = (lo, t_len - 1 - hi);
            *tel = tel.slice_time(lo..hi + 1).expect("range checked");
        }
    }

    // Gaps inside each service's range, per column.
    fill_gaps(tel, policy, &mut report);
    merge_row_gaps(&mut report, tel.columns().len());
    // Constant series.
    let (t_len, n_len, _) = tel.values().dim();
    for n in 0..n_len {
        for c in 0..c_len {
            let mut first: Option<f64> = None;
            let mut count = 0usize;
            let mut constant = true;
            for t in 0..t_len {
                if tel.observed()[[t, n, c]] {
                    let v = tel.values()[[t, n, c]];
                    count += 1;
                    match first {
                        None => first = Some(v),
                        Some(f) if f != v => {
                            constant = false;
                            break;
                        }
                        _ => {}
                    }
                }
            }
            if constant && count >= 2 {
                report.problems.push(Problem {
                    kind: ProblemKind::ConstantSeries,
                    severity: Severity::Warning,
                    file: file.clone(),
                    service: Some(tel.services()[n].clone()),
                    column: Some(tel.columns()[c].clone()),
                    time_ms: Some(tel.start_ms()),
                    count,
                    detail: format!(
                        "all {count} observed values equal {}; the series carries no information for a model",
                        first.unwrap_or(f64::NAN)
                    ),
                });
            }
        }
    }
    report
}

/// Replaces identical gap problems of one service in every column (missing rows) by one
/// problem without a column, so a missing row is reported once, not once per column.
fn merge_row_gaps(report: &mut Report, columns: usize) {
    if columns < 2 {
        return;
    }
    let key = |p: &Problem| {
        (p.kind == ProblemKind::Gap).then(|| {
            (
                p.service.clone(),
                p.severity,
                p.time_ms,
                p.count,
                p.detail.clone(),
            )
        })
    };
    let mut groups: std::collections::HashMap<_, usize> = std::collections::HashMap::new();
    for p in &report.problems {
        if let Some(k) = key(p) {
            *groups.entry(k).or_default() += 1;
        }
    }
    let mut emitted = std::collections::HashSet::new();
    report.problems.retain_mut(|p| match key(p) {
        Some(k) if groups[&k] == columns => {
            if emitted.insert(k) {
                p.column = None;
                p.detail = format!("in every column: {}", p.detail);
                true
            } else {
                false
            }
        }
        _ => true,
    });
}

/// Forward fill (back fill at the start) of runs of missing values inside each service's
/// coverage, up to `policy.max_fill` steps.
fn fill_gaps(tel: &mut Telemetry, policy: &RepairPolicy, report: &mut Report) {
    let coverage = tel.coverage();
    let file = tel.source().to_string();
    let (t_len, n_len, c_len) = tel.values().dim();
    let start = tel.start_ms();
    let interval = tel.interval_ms();
    let services = tel.services().to_vec();
    let columns = tel.columns().to_vec();
    // Long gaps may only mean that the interval was inferred wrongly: say how it was found.
    let interval_hint = tel.notes.interval().map(|note| {
        format!(
            "; the interval, {}, was inferred from {} timestamps: if the data are sampled at another interval, give it as `interval_ms`",
            crate::time::format_duration_ms(note.interval_ms),
            if note.regular { "the" } else { "jittered" }
        )
    });
    let (values, observed) = tel.parts_mut();
    for n in 0..n_len {
        let Some((first, last)) = coverage[n] else {
            continue;
        };
        for c in 0..c_len {
            let obs = observed.slice(s![first..=last, n, c]);
            if !obs.iter().any(|&o| o) {
                report.problems.push(Problem {
                    kind: ProblemKind::NoValues,
                    severity: Severity::Warning,
                    file: file.clone(),
                    service: Some(services[n].clone()),
                    column: Some(columns[c].clone()),
                    time_ms: Some(start + first as i64 * interval),
                    count: last - first + 1,
                    detail: "the service has rows but no value in this column; left missing (a model using it will refuse the service)".into(),
                });
                continue;
            }
            // Runs of missing values within [first, last].
            let (mut filled, mut filled_runs, mut filled_first) = (0usize, 0usize, None);
            let (mut long, mut long_first, mut longest) = (0usize, None, 0usize);
            let mut t = first;
            while t <= last {
                if observed[[t, n, c]] {
                    t += 1;
                    continue;
                }
                let run_start = t;
                while t <= last && !observed[[t, n, c]] {
                    t += 1;
                }
                let run = t - run_start;
                let fill_from = if run_start > first {
                    Some(values[[run_start - 1, n, c]])
                } else if t <= last {
                    Some(values[[t, n, c]])
                } else {
                    None
                };
                match fill_from {
                    Some(v) if run <= policy.max_fill => {
                        for u in run_start..t {
                            values[[u, n, c]] = v;
                        }
                        filled += run;
                        filled_runs += 1;
                        filled_first.get_or_insert(run_start);
                    }
                    _ => {
                        long += 1;
                        longest = longest.max(run);
                        long_first.get_or_insert(run_start);
                    }
                }
            }
            let _ = t_len;
            let at = |t: Option<usize>| t.map(|t| start + t as i64 * interval);
            if filled > 0 {
                report.problems.push(Problem {
                    kind: ProblemKind::Gap,
                    severity: Severity::Repaired,
                    file: file.clone(),
                    service: Some(services[n].clone()),
                    column: Some(columns[c].clone()),
                    time_ms: at(filled_first),
                    count: filled,
                    detail: format!(
                        "{filled} missing step(s) in {filled_runs} gap(s) of at most {} steps; filled forward (mask kept)",
                        policy.max_fill
                    ),
                });
            }
            if long > 0 {
                let fatal = policy.long_gaps == LongGaps::Error;
                report.problems.push(Problem {
                    kind: ProblemKind::Gap,
                    severity: if fatal { Severity::Fatal } else { Severity::Warning },
                    file: file.clone(),
                    service: Some(services[n].clone()),
                    column: Some(columns[c].clone()),
                    time_ms: at(long_first),
                    count: long,
                    detail: format!(
                        "{long} gap(s) longer than the fill limit of {} steps (longest {longest} steps); {}",
                        policy.max_fill,
                        if fatal {
                            format!(
                                "raise `max_fill` or set `long_gaps` to leave{}",
                                interval_hint.as_deref().unwrap_or("")
                            )
                        } else {
                            "left missing".to_string()
                        }
                    ),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    fn tel(values: Array3<f64>) -> Telemetry {
        let (_, n, c) = values.dim();
        Telemetry::try_new(
            "fixture.parquet",
            0,
            30_000,
            (0..n).map(|i| format!("svc{i}")).collect(),
            ["replicas", "req_rate", "extra"]
                .iter()
                .take(c)
                .map(|s| s.to_string())
                .collect(),
            values,
        )
        .unwrap()
    }

    fn ramp(t: usize, n: usize, c: usize) -> Array3<f64> {
        Array3::from_shape_fn((t, n, c), |(t, n, c)| (t + 10 * n + 100 * c) as f64 + 1.0)
    }

    #[test]
    fn clean_data_gives_a_clean_report() {
        let mut d = tel(ramp(6, 2, 2));
        let before = d.clone();
        let r = repair(&mut d, &RepairPolicy::default());
        assert!(r.is_clean(), "{r:?}");
        assert_eq!(d, before);
    }

    #[test]
    fn short_gaps_are_filled_forward_and_masked() {
        let mut v = ramp(8, 1, 2);
        v[[3, 0, 1]] = f64::NAN;
        v[[4, 0, 1]] = f64::NAN;
        let mut d = tel(v);
        let r = repair(&mut d, &RepairPolicy::default());
        let gap = r.of_kind(ProblemKind::Gap).next().unwrap();
        assert_eq!(gap.severity, Severity::Repaired);
        assert_eq!(gap.service.as_deref(), Some("svc0"));
        assert_eq!(gap.column.as_deref(), Some("req_rate"));
        assert_eq!(gap.time_ms, Some(90_000));
        assert_eq!(gap.count, 2);
        assert_eq!(d.values()[[3, 0, 1]], 103.0);
        assert_eq!(d.values()[[4, 0, 1]], 103.0);
        assert!(!d.observed()[[4, 0, 1]]);
        assert!(gap.to_string().contains(
            "fixture.parquet: service `svc0`, column `req_rate`, at 1970-01-01T00:01:30Z"
        ));
    }

    #[test]
    fn a_missing_row_is_one_problem() {
        let mut v = ramp(8, 2, 2);
        v[[4, 1, 0]] = f64::NAN;
        v[[4, 1, 1]] = f64::NAN;
        let mut d = tel(v);
        let r = repair(&mut d, &RepairPolicy::default());
        let gaps: Vec<_> = r.of_kind(ProblemKind::Gap).collect();
        assert_eq!(gaps.len(), 1, "{gaps:?}");
        assert_eq!(gaps[0].column, None);
        assert_eq!(gaps[0].service.as_deref(), Some("svc1"));
        assert!(gaps[0].detail.starts_with("in every column"));
    }

    #[test]
    fn leading_gap_is_filled_backward() {
        let mut v = ramp(6, 1, 2);
        v[[0, 0, 0]] = f64::NAN;
        let mut d = tel(v);
        repair(&mut d, &RepairPolicy::default())
            .into_result()
            .unwrap();
        assert_eq!(d.values()[[0, 0, 0]], 2.0);
    }

    #[test]
    fn long_gap_is_fatal_by_default_and_named() {
        let mut v = ramp(10, 2, 1);
        for t in 2..7 {
            v[[t, 1, 0]] = f64::NAN;
        }
        let mut d = tel(v.clone());
        let err = repair(&mut d, &RepairPolicy::default())
            .into_result()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("svc1")
                && err.contains("replicas")
                && err.contains("1970-01-01T00:01:00Z"),
            "{err}"
        );
        assert!(err.contains("longest 5 steps"), "{err}");
        let mut d = tel(v);
        let r = repair(&mut d, &RepairPolicy::default().with_max_fill(5));
        assert!(!r.has_fatal());
        let mut d = tel(ramp(10, 2, 1));
        d.values_mut()[[4, 0, 0]] = f64::NAN;
        let r = repair(
            &mut d,
            &RepairPolicy::default()
                .with_max_fill(0)
                .with_long_gaps(LongGaps::Leave),
        );
        assert!(!r.has_fatal());
        assert!(d.values()[[4, 0, 0]].is_nan());
    }

    #[test]
    fn non_finite_values_are_reported_and_masked() {
        let mut d = tel(ramp(6, 1, 2));
        d.values_mut()[[2, 0, 0]] = f64::INFINITY;
        // An observed NaN (as a source can hold) is distinct from a missing value.
        let mask = d.observed().clone();
        let mut values = d.values().clone();
        values[[4, 0, 1]] = f64::NAN;
        let mut d = Telemetry::try_with_mask(
            "fixture.parquet",
            0,
            30_000,
            d.services().to_vec(),
            d.columns().to_vec(),
            values,
            mask,
        )
        .unwrap();
        let r = repair(&mut d, &RepairPolicy::default());
        let bad: Vec<_> = r.of_kind(ProblemKind::NonFinite).collect();
        assert_eq!(bad.len(), 2);
        assert_eq!(bad[0].column.as_deref(), Some("replicas"));
        assert_eq!(bad[0].time_ms, Some(60_000));
        assert_eq!(bad[1].column.as_deref(), Some("req_rate"));
        assert!(d.values()[[2, 0, 0]].is_finite());
    }

    #[test]
    fn negative_counts_are_reported() {
        let mut d = tel(ramp(6, 2, 3));
        d.values_mut()[[1, 1, 1]] = -4.0;
        d.values_mut()[[1, 1, 2]] = -4.0; // "extra" may be negative
        let r = repair(&mut d, &RepairPolicy::default());
        let neg: Vec<_> = r.of_kind(ProblemKind::NegativeValue).collect();
        assert_eq!(neg.len(), 1);
        assert_eq!(neg[0].service.as_deref(), Some("svc1"));
        assert_eq!(neg[0].column.as_deref(), Some("req_rate"));
        assert!(neg[0].detail.contains("-4"));
        assert_eq!(d.values()[[1, 1, 2]], -4.0);
    }

    #[test]
    fn partial_services_follow_the_policy() {
        let mut v = ramp(8, 3, 1);
        for t in 0..3 {
            v[[t, 2, 0]] = f64::NAN;
        }
        let mut d = tel(v.clone());
        let r = repair(&mut d, &RepairPolicy::default());
        let p = r.of_kind(ProblemKind::PartialCoverage).next().unwrap();
        assert_eq!(p.severity, Severity::Warning);
        assert_eq!(p.service.as_deref(), Some("svc2"));
        assert!(p.detail.contains("5 of 8 steps"), "{}", p.detail);
        assert!(d.values()[[0, 2, 0]].is_nan());

        let mut d = tel(v.clone());
        let r = repair(
            &mut d,
            &RepairPolicy::default().with_partial(PartialCoverage::Drop),
        );
        assert_eq!(r.dropped_services, ["svc2"]);
        assert_eq!(d.services(), ["svc0", "svc1"]);

        let mut d = tel(v.clone());
        let r = repair(
            &mut d,
            &RepairPolicy::default().with_partial(PartialCoverage::Trim),
        );
        assert_eq!(r.trimmed_steps, (3, 0));
        assert_eq!(d.len(), 5);
        assert_eq!(d.start_ms(), 90_000);

        let mut d = tel(v);
        assert!(
            repair(
                &mut d,
                &RepairPolicy::default().with_partial(PartialCoverage::Error)
            )
            .has_fatal()
        );
    }

    #[test]
    fn constant_series_are_warned_about() {
        let mut v = ramp(5, 2, 1);
        for t in 0..5 {
            v[[t, 0, 0]] = 3.0;
        }
        let mut d = tel(v);
        let r = repair(&mut d, &RepairPolicy::default());
        let c: Vec<_> = r.of_kind(ProblemKind::ConstantSeries).collect();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].service.as_deref(), Some("svc0"));
        assert_eq!(c[0].severity, Severity::Warning);
        assert!(!r.has_fatal());
    }

    #[test]
    fn column_without_values_is_named() {
        let mut v = ramp(5, 2, 2);
        for t in 0..5 {
            v[[t, 1, 1]] = f64::NAN;
        }
        let mut d = tel(v);
        let r = repair(&mut d, &RepairPolicy::default());
        let p = r.of_kind(ProblemKind::NoValues).next().unwrap();
        assert_eq!(
            (p.service.as_deref(), p.column.as_deref()),
            (Some("svc1"), Some("req_rate"))
        );
    }
}
