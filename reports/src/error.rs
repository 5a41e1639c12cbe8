//! Errors of the reports crate.

use std::path::PathBuf;

/// What can go wrong while drawing or writing a report.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The data handed to a figure cannot be drawn (mismatched lengths, nothing to show).
    #[error("{figure}: {message}")]
    Input {
        /// Figure or report part.
        figure: &'static str,
        /// What is wrong and what was expected.
        message: String,
    },
    /// The drawing backend failed.
    #[error("{figure}: drawing failed: {message}")]
    Draw {
        /// Figure.
        figure: &'static str,
        /// The backend's message.
        message: String,
    },
    /// Encoding the PNG failed.
    #[error("{figure}: PNG encoding failed: {message}")]
    Encode {
        /// Figure.
        figure: &'static str,
        /// The encoder's message.
        message: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: cannot {action}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The cause.
        source: std::io::Error,
    },
}

/// Result of the reports crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn input(figure: &'static str, message: impl Into<String>) -> Error {
    Error::Input {
        figure,
        message: message.into(),
    }
}
