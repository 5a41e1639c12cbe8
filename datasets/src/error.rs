//! The error type of the datasets crate.

use std::path::PathBuf;

use crate::problem::Report;

/// Everything that can go wrong reading, writing, validating or shaping telemetry.
///
/// Every variant names the file, column, service or parameter involved and what was expected,
/// so that the message alone tells a user what to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be opened, read, written or renamed.
    #[error("{path}: {action} failed: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done ("open", "write", "rename into place", ...).
        action: &'static str,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The Parquet library rejected a file.
    #[error("{path}: not a readable Parquet file: {source}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The Parquet error.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// Arrow rejected an operation on the columns of a file.
    #[error("{path}: {source}")]
    Arrow {
        /// The file.
        path: PathBuf,
        /// The Arrow error.
        #[source]
        source: arrow::error::ArrowError,
    },
    /// A required column is absent.
    #[error("{file}: missing column `{column}`; {expected}")]
    MissingColumn {
        /// The file (or data source) that lacks the column.
        file: String,
        /// The column name.
        column: String,
        /// What the file was expected to contain.
        expected: String,
    },
    /// A column has a type holoscale cannot use.
    #[error("{file}: column `{column}` has type {found}, expected {expected}")]
    ColumnType {
        /// The file.
        file: String,
        /// The column name.
        column: String,
        /// The type found.
        found: String,
        /// The types accepted.
        expected: String,
    },
    /// A value could not be parsed.
    #[error("{file}{}: column `{column}`: {message}", line.map(|l| format!(", line {l}")).unwrap_or_default())]
    Parse {
        /// The file.
        file: String,
        /// The 1-based line, for text formats.
        line: Option<u64>,
        /// The column name.
        column: String,
        /// What was wrong and what was expected.
        message: String,
    },
    /// The file holds no usable rows.
    #[error("{file}: {message}")]
    Empty {
        /// The file.
        file: String,
        /// What is missing.
        message: String,
    },
    /// The file was written by a newer holoscale.
    #[error(
        "{file}: schema version {found} is newer than this holoscale understands (up to {supported}); upgrade holoscale"
    )]
    SchemaVersion {
        /// The file.
        file: String,
        /// The version in the file.
        found: String,
        /// The newest version this build reads.
        supported: u32,
    },
    /// Validation found problems that the repair policy does not allow to fix.
    #[error("{}", .0.fatal_summary())]
    Invalid(Box<Report>),
    /// An output exists (a file, or a directory that holds files).
    #[error(
        "{path}: exists{}; choose another output, or pass `force` to replace it",
        if *directory { " and is not empty" } else { "" }
    )]
    OutputExists {
        /// The file or directory.
        path: PathBuf,
        /// Whether it is a directory.
        directory: bool,
    },
    /// An output directory holds files that holoscale did not write there.
    #[error(
        "{path}: holds what holoscale did not write into a {what}: {}; refusing to replace it, even with `force`: move those away or choose another output",
        found.join(", ")
    )]
    ForeignFiles {
        /// The directory.
        path: PathBuf,
        /// The kind of directory it was asked to be.
        what: String,
        /// What is there that holoscale does not own (relative paths), or the missing
        /// signature.
        found: Vec<String>,
    },
    /// An output is also an input.
    #[error(
        "{path}: is also an input ({input}); writing it would destroy the data it is read from; choose another output"
    )]
    OutputIsInput {
        /// The output.
        path: PathBuf,
        /// The input it is (or holds).
        input: PathBuf,
    },
    /// A parameter is out of its domain.
    #[error("invalid value for `{name}`: {message}")]
    InvalidParameter {
        /// The parameter (command-line flag or field name).
        name: String,
        /// What is wrong and what is expected.
        message: String,
    },
    /// A requested service is not in the data.
    #[error("{file}: service `{service}` not found; the data has {available}")]
    UnknownService {
        /// The data source.
        file: String,
        /// The service asked for.
        service: String,
        /// A short list of the services present.
        available: String,
    },
    /// Selected data contain a value that is missing or not finite where a model needs numbers.
    #[error(
        "{file}: service `{service}`, column `{column}`, at {time}: value is missing or not finite inside the requested window; repair the gap (a larger `max_fill`) or choose a time range without it"
    )]
    MissingValue {
        /// The data source.
        file: String,
        /// The service.
        service: String,
        /// The column.
        column: String,
        /// The time, RFC 3339.
        time: String,
    },
    /// A column holds no value at all for a service, where a model needs its values.
    #[error(
        "{file}: service `{service}`, column `{column}` has no values at all (every step is missing or NaN); leave the column out of the model's features, or remove the service from the data"
    )]
    NoValues {
        /// The data source.
        file: String,
        /// The service.
        service: String,
        /// The column.
        column: String,
    },
    /// Arrays do not have the shape an operation needs.
    #[error("shape mismatch in {what}: expected {expected}, got {got}")]
    Shape {
        /// The operation or object.
        what: String,
        /// The expected shape.
        expected: String,
        /// The shape found.
        got: String,
    },
    /// A file's contents are damaged (its checksums do not match what was written).
    #[error("{file}: corrupt: {message}; restore the file or write it again")]
    Corrupt {
        /// The file.
        file: String,
        /// Where and how.
        message: String,
    },
    /// An `.npz` archive or `.npy` array is malformed.
    #[error("{file}: {message}")]
    Npz {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// Talking to a Prometheus server failed or it answered with an error.
    #[error("Prometheus {url}: {message}")]
    Prometheus {
        /// The URL queried.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// A configuration file is malformed.
    #[error("{file}: {message}")]
    Config {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// JSON could not be written or read.
    #[error("{file}: {source}")]
    Json {
        /// The file.
        file: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
}

/// Result alias of the datasets crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An I/O error on `path` while doing `action`.
    pub fn io(path: impl Into<PathBuf>, action: &'static str, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            action,
            source,
        }
    }

    pub(crate) fn param(name: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidParameter {
            name: name.into(),
            message: message.into(),
        }
    }
}

/// A short, readable list of names: the first few, then how many more.
pub(crate) fn name_list<S: AsRef<str>>(names: &[S]) -> String {
    const SHOWN: usize = 8;
    let mut out: Vec<String> = names
        .iter()
        .take(SHOWN)
        .map(|n| format!("`{}`", n.as_ref()))
        .collect();
    if names.len() > SHOWN {
        out.push(format!("and {} more", names.len() - SHOWN));
    }
    if out.is_empty() {
        "none".to_string()
    } else {
        out.join(", ")
    }
}
