//! The error type of the scaler crate.

/// What can go wrong building or running a scaler or an evaluation.
///
/// Parameters are named by their field (`decision_period_ms`, `scaler`), never by a
/// command-line flag.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be written.
    #[error(transparent)]
    Data(#[from] holoscale_datasets::Error),
    /// The simulator refused a setting or an action.
    #[error(transparent)]
    Sim(#[from] holoscale_sim::Error),
    /// The estimator of a `deepscaler` scaler could not be loaded or asked.
    #[error(transparent)]
    Estimator(#[from] holoscale_estimator::Error),
    /// A parameter is out of its domain.
    #[error("invalid value for `{name}`: {message}")]
    InvalidParameter {
        /// The parameter (a field of the settings, or `scaler`).
        name: String,
        /// What is wrong and what is expected.
        message: String,
    },
}

/// Result alias of the scaler crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::InvalidParameter`] for `name`.
    pub fn param(name: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidParameter {
            name: name.into(),
            message: message.into(),
        }
    }
}
