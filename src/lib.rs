//! holoscale: microservice autoscaling that learns from telemetry.
//!
//! This facade re-exports the workspace crates and assembles what spans several of them
//! (the report of a model, [`report::build`]); see the README for the command line.
//! [`Recommender`] is the embedding API for other scalers: replica recommendations with
//! their reasons from any of holoscale's scalers, fed one interval at a time.

pub mod error;
pub mod report;

pub use error::{Error, Result};
pub use holoscale_datasets as datasets;
pub use holoscale_estimator as estimator;
pub use holoscale_graphlearn as graphlearn;
pub use holoscale_meta as meta;
pub use holoscale_reports as reports;
pub use holoscale_scaler as scaler;
pub use holoscale_scaler::recommend::{
    Clamp, Explanation, Recommendation, Recommender, RecommenderConfig, ServiceRow, Source,
};
pub use holoscale_sim as sim;
