//! The replica estimator of DeepScaler (section IV-C; SPEC 3): a spatio-temporal attention
//! GCN that predicts the next steps of a resource (replicas by default) of every service from
//! a window of multi-service telemetry and an affinity matrix, with the baselines it is
//! compared against, training, model artifacts, batch prediction and evaluation.
//!
//! Library code is generic over burn's backend; the binary picks the CPU backend of
//! [`backend::Cpu`] (burn's Flex), NdArray, Candle or CUDA.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use holoscale_estimator::Estimator;
//! let tel = holoscale_datasets::io::read_telemetry(
//!     "telemetry.parquet".as_ref(), &Default::default(), &holoscale_datasets::io::NoProgress)?;
//! let next = Estimator::load("model")?.predict_next(&tel)?;
//! println!("{:?}", next.replicas);
//! # Ok(()) }
//! ```

pub mod affinity;
pub mod artifact;
pub mod backend;
pub mod baselines;
pub mod checkpoint;
pub mod data;
pub mod error;
pub mod evaluate;
pub mod gbdt;
pub mod inference;
pub mod metrics;
pub mod model;
pub mod parallel;
pub mod pipeline;
pub mod training;

pub use artifact::Artifact;
pub use error::{Error, Result};
pub use inference::{Estimator, Forecast, InputSpec, RollingWindow};
pub use pipeline::{Preset, TrainOptions, train};
pub use training::{EpochReport, ModelKind, TrainConfig};
