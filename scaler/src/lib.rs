//! # holoscale-scaler
//!
//! Autoscalers and their evaluation (SPEC 7): an [`Environment`](env::Environment) scalers
//! act in (the simulator behind the control-loop [`Frictions`] of a real cluster, or any
//! system that implements the trait), the [`Scaler`] trait, the baselines (`static`, `hpa`,
//! `aws`, `mmn`, `hab`, `slo`), DeepScaler's estimator-driven holistic scaler
//! ([`scalers::deepscaler`]), the `oracle` bound, the metrics of DeepScaler's Table II
//! ([`metrics`]), the [`Harness`] that runs scalers × seeds side by side, and the
//! [`Recommender`] that embeds any of them in a live cluster's loop ([`recommend`]).
//!
//! A scaler decides from an [`Observation`] alone: no scaler can read the simulator's
//! oracle or its internal state.

pub mod env;
pub mod error;
pub mod frictions;
pub mod harness;
pub mod metrics;
pub mod output;
pub mod queueing;
pub mod recommend;
pub mod scalers;
pub mod serve;

pub use error::{Error, Result};
pub use frictions::{Frictions, Startup};
pub use harness::{Evaluation, Harness, Run, RunResult, ScalerEntry, Series, TableRow};
pub use holoscale_sim::{Action, Observation};
pub use metrics::RunMetrics;
pub use recommend::{Recommendation, Recommender, RecommenderConfig};
pub use scalers::{SCALER_NAMES, Scaler, ScalerKind};
