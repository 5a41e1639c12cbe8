//! Adaptive graph learning of DeepScaler (section IV-B, Algorithm 2; SPEC 4): the affinity
//! sources (invocation graph, OD and CC relationships), the graph generator, the EM loop that
//! alternates between training the estimator and the generator, and the metrics that say how
//! well a learned graph captures the true dependencies.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use holoscale_graphlearn::{metrics, sources};
//! let edges = holoscale_datasets::io::read_edges("edges.parquet".as_ref())?;
//! let services: Vec<String> = edges.services();
//! let calls = sources::invocation(&edges, &services);
//! let od = sources::od(&edges, &services);
//! println!("Jaccard(calls, OD) = {:.2}", metrics::weighted_jaccard(&calls, &od)?);
//! # Ok(()) }
//! ```

pub mod compare;
pub mod em;
pub mod error;
pub mod generator;
pub mod history;
pub mod metrics;
pub mod pipeline;
pub mod sources;

pub use em::{EdgePenalty, EmConfig, EmEvent, EmOutcome, IterationReport};
pub use error::{Error, Result};
pub use generator::{GeneratorConfig, GraphGenerator};
pub use history::EmHistory;
pub use pipeline::{Learned, train};
pub use sources::GraphSources;
