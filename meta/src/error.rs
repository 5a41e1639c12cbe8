//! The error type of the meta crate.

/// What can go wrong with profiles or an allocation.
#[derive(Debug, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// A parameter is out of its domain.
    #[error("invalid value for `{name}`: {message}")]
    InvalidParameter {
        /// The parameter (a field, or a service's name).
        name: String,
        /// What is wrong and what is expected.
        message: String,
    },
    /// The SLO cannot be met: the zero-load latencies along the critical path already
    /// reach it.
    #[error(
        "the SLO of {slo_ms} ms cannot be met: the zero-load latencies along the slowest path add up to {min_ms} ms; any SLO above that is feasible"
    )]
    Infeasible {
        /// The SLO asked for, ms.
        slo_ms: f64,
        /// The sum of zero-load latencies on the critical path, ms: every feasible SLO is
        /// above it.
        min_ms: f64,
    },
}

/// Result alias of the meta crate.
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
