//! The error type of the facade's own functions (report assembly).

/// What can go wrong assembling results from the workspace crates.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Telemetry or call edges.
    #[error(transparent)]
    Data(#[from] holoscale_datasets::Error),
    /// The estimator or its artifact.
    #[error(transparent)]
    Estimator(#[from] holoscale_estimator::Error),
    /// Graphs and their metrics.
    #[error(transparent)]
    Graph(#[from] holoscale_graphlearn::Error),
    /// Figures and the HTML page.
    #[error(transparent)]
    Reports(#[from] holoscale_reports::Error),
    /// A configuration could not be shown.
    #[error("serialising a configuration: {0}")]
    Json(#[from] serde_json::Error),
    /// An evaluation lacks what the report needs.
    #[error("evaluation: {0}")]
    Evaluation(String),
}

/// Result alias of the facade.
pub type Result<T, E = Error> = std::result::Result<T, E>;
