//! What validation finds: each problem with its kind, what was done about it, and where
//! (file, service, column, time); and the report of one validation
//! ([`crate::validate::repair`]).

use std::fmt;

use serde::Serialize;

use crate::time::format::format_ms;

/// The kinds of problem validation detects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    /// Timestamps not on the regular grid.
    IrregularTimestamps,
    /// Several rows for one (timestamp, service).
    DuplicateRows,
    /// Duplicate rows whose values disagree.
    DisagreeingDuplicates,
    /// Values that are NaN or infinite in the source.
    NonFinite,
    /// Negative values in a column that counts something.
    NegativeValue,
    /// Missing values inside a service's time range.
    Gap,
    /// A service with rows in some steps only.
    PartialCoverage,
    /// A column with no value at all for a service.
    NoValues,
    /// A series whose observed values are all equal.
    ConstantSeries,
}

impl ProblemKind {
    /// Short human name.
    pub fn label(self) -> &'static str {
        match self {
            ProblemKind::IrregularTimestamps => "irregular timestamps",
            ProblemKind::DuplicateRows => "duplicate rows",
            ProblemKind::DisagreeingDuplicates => "duplicates that disagree",
            ProblemKind::NonFinite => "NaN or infinite values",
            ProblemKind::NegativeValue => "negative values",
            ProblemKind::Gap => "gaps",
            ProblemKind::PartialCoverage => "service present in some steps only",
            ProblemKind::NoValues => "column without values",
            ProblemKind::ConstantSeries => "constant series",
        }
    }
}

/// How a problem was handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// Worth knowing; nothing changed.
    Warning,
    /// Changed by the repair policy; the mask records which values were not observed.
    Repaired,
    /// Not allowed by the policy: the data are refused.
    Fatal,
}

/// One problem: what, where (file, service, column, first time), how often, and what was done.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    /// What kind of problem.
    pub kind: ProblemKind,
    /// What was done.
    pub severity: Severity,
    /// The file or source.
    pub file: String,
    /// The service, when the problem concerns one.
    pub service: Option<String>,
    /// The column, when the problem concerns one.
    pub column: Option<String>,
    /// First affected time, milliseconds since the epoch.
    pub time_ms: Option<i64>,
    /// How many values, rows or steps are affected.
    pub count: usize,
    /// What was found and what was done, in words.
    pub detail: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(s) = &self.service {
            write!(f, ": service `{s}`")?;
        }
        if let Some(c) = &self.column {
            write!(f, ", column `{c}`")?;
        }
        if let Some(t) = self.time_ms {
            write!(f, ", at {}", format_ms(t))?;
        }
        write!(f, ": {}", self.detail)
    }
}

/// Everything [`crate::validate::repair`] found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// The file or source validated.
    pub file: String,
    /// Problems in detection order.
    pub problems: Vec<Problem>,
    /// Services removed by the policy.
    pub dropped_services: Vec<String>,
    /// Steps removed from the start and the end by trimming.
    pub trimmed_steps: (usize, usize),
}

impl Report {
    /// True when nothing was found.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }

    /// True when a problem refuses the data.
    pub fn has_fatal(&self) -> bool {
        self.problems.iter().any(|p| p.severity == Severity::Fatal)
    }

    /// Problems of one kind.
    pub fn of_kind(&self, kind: ProblemKind) -> impl Iterator<Item = &Problem> {
        self.problems.iter().filter(move |p| p.kind == kind)
    }

    /// One paragraph describing the fatal problems, for errors.
    pub fn fatal_summary(&self) -> String {
        let fatal: Vec<&Problem> = self
            .problems
            .iter()
            .filter(|p| p.severity == Severity::Fatal)
            .collect();
        let mut out = format!(
            "{}: {} problem(s) that the repair policy does not fix: ",
            self.file,
            fatal.len()
        );
        let shown: Vec<String> = fatal.iter().take(5).map(|p| p.to_string()).collect();
        out.push_str(&shown.join("; "));
        if fatal.len() > 5 {
            out.push_str(&format!("; and {} more", fatal.len() - 5));
        }
        out
    }
}
