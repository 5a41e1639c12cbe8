//! The error type of the graph-learning crate.

/// What can go wrong building affinities, learning graphs or scoring them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or shaping the telemetry failed.
    #[error(transparent)]
    Data(#[from] holoscale_datasets::Error),
    /// Training or evaluating the estimator failed.
    #[error(transparent)]
    Estimator(#[from] holoscale_estimator::Error),
    /// A parameter is out of its domain.
    #[error("invalid value for `{name}`: {message}")]
    InvalidParameter {
        /// The parameter.
        name: String,
        /// What is wrong and what is expected.
        message: String,
    },
    /// A graph spec names nothing readable, or two sides cannot be compared.
    #[error("{spec}: {message}")]
    Graph {
        /// The graph spec (a path, `calls:`, `od:` or `cc:`).
        spec: String,
        /// What is wrong and what is expected.
        message: String,
    },
    /// Two graphs or a graph and its service list disagree.
    #[error("{what}: {message}")]
    Mismatch {
        /// The graphs or files involved.
        what: String,
        /// What differs.
        message: String,
    },
}

/// Result alias of the graph-learning crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn param(name: &str, message: impl Into<String>) -> Self {
        Error::InvalidParameter {
            name: name.to_string(),
            message: message.into(),
        }
    }
}
