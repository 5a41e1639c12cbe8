//! The error type of the simulator crate.

use std::path::PathBuf;

/// What can go wrong building or running a simulation.
///
/// Parameters are named by their field (`interval_ms`, `noise`, `app`), never by a
/// command-line flag: the command line maps fields to its flags when it prints.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Telemetry, call edges or ground truth could not be built, read or written.
    #[error(transparent)]
    Data(#[from] holoscale_datasets::Error),
    /// A parameter is out of its domain.
    #[error("invalid value for `{name}`: {message}")]
    InvalidParameter {
        /// The parameter (a field of the settings, such as `interval_ms`).
        name: String,
        /// What is wrong and what is expected.
        message: String,
    },
    /// An application spec is malformed or inconsistent.
    #[error("{file}: {message}")]
    Spec {
        /// The spec file (or the built-in application's name).
        file: String,
        /// What is wrong, naming the service or operation.
        message: String,
    },
    /// A workload trace cannot be replayed.
    #[error("{file}{}: {message}", line.map(|l| format!(", line {l}")).unwrap_or_default())]
    Trace {
        /// The trace file (or embedded trace).
        file: String,
        /// The 1-based line, when one is at fault.
        line: Option<u64>,
        /// What is wrong and what is expected.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {action} failed: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}

/// Result alias of the simulator crate.
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
