//! holoscale: microservice autoscaling that learns from telemetry.
//!
//! This facade re-exports the workspace crates; see the README for the command line.

pub use holoscale_datasets as datasets;
pub use holoscale_estimator as estimator;
pub use holoscale_graphlearn as graphlearn;
pub use holoscale_reports as reports;
