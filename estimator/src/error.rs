//! The error type of the estimator crate.

use std::path::PathBuf;

/// What can go wrong training, saving, loading or running an estimator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or shaping the telemetry failed.
    #[error(transparent)]
    Data(#[from] holoscale_datasets::Error),
    /// A parameter is out of its domain.
    #[error("invalid value for `{name}`: {message}")]
    InvalidParameter {
        /// The parameter.
        name: String,
        /// What is wrong and what is expected.
        message: String,
    },
    /// Arrays do not have the shape an operation needs.
    #[error("shape mismatch in {what}: expected {expected}, got {got}")]
    Shape {
        /// The operation.
        what: String,
        /// Expected shape.
        expected: String,
        /// Found shape.
        got: String,
    },
    /// The training loss became NaN or infinite.
    #[error("training diverged in epoch {epoch} (the loss is not finite); lower the learning rate")]
    Diverged {
        /// The epoch.
        epoch: usize,
    },
    /// A model directory is missing a file or holds one that cannot be read.
    #[error("{dir}: {message}")]
    Artifact {
        /// The model directory.
        dir: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A training checkpoint cannot be used as asked.
    #[error("{dir}: {message}")]
    Checkpoint {
        /// The staging directory holding the checkpoint.
        dir: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
    /// A model directory was written by another artifact version.
    #[error(
        "{dir}: model format version {found}, but this holoscale reads version {supported}; retrain the model with this holoscale"
    )]
    Version {
        /// The model directory.
        dir: PathBuf,
        /// The version found.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// The telemetry does not match what the model was trained on.
    #[error("{dir}: the model does not fit {data}: {message}")]
    Mismatch {
        /// The model directory.
        dir: PathBuf,
        /// The data.
        data: String,
        /// What differs.
        message: String,
    },
    /// A file could not be written.
    #[error("{path}: {action} failed: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The gradient-boosted trees baseline could not be built, trained or read.
    #[error("trees baseline: {message}")]
    Gbdt {
        /// What failed, with the booster's own message.
        message: String,
    },
    /// Writing Parquet failed.
    #[error("{path}: {message}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The cause.
        message: String,
    },
}

/// Result alias of the estimator crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn param(name: &str, message: &str) -> Self {
        Error::InvalidParameter {
            name: name.to_string(),
            message: message.to_string(),
        }
    }
}
