//! Telemetry for holoscale: the schema of SPEC section 2, every way telemetry gets in and out
//! (Parquet, CSV, DeepScaler-style `.npz`, Prometheus, the Alibaba microservices trace),
//! validation and repair with a report that names file, service, column and time, and the
//! bridge to model tensors (dense `(T, N, F)` arrays, a normaliser fitted on the training
//! range, sliding windows split by time, batches as plain arrays), the ground-truth types, and
//! telemetry summaries.
//!
//! ```
//! use holoscale_datasets::{io, validate, tensor};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let csv = "timestamp,service,replicas,req_rate\n\
//!            2024-01-01T00:00:00Z,cart,2,10\n2024-01-01T00:00:30Z,cart,2,12\n\
//!            2024-01-01T00:01:00Z,cart,3,20\n2024-01-01T00:01:30Z,cart,3,18\n";
//! let mut tel = io::csv::read_telemetry_bytes(csv.as_bytes(), "example.csv", &Default::default())?;
//! let report = validate::repair(&mut tel, &Default::default()).into_result()?;
//! assert!(report.is_clean());
//! assert_eq!(tel.interval_ms(), 30_000);
//! assert_eq!(tel.series("cart", "req_rate")?.to_vec(), [10.0, 12.0, 20.0, 18.0]);
//! # Ok(()) }
//! ```

pub mod edges;
pub mod error;
pub mod ingest;
pub mod io;
mod problem;
pub mod schema;
pub mod summary;
pub mod telemetry;
pub mod tensor;
pub mod time;
pub mod truth;
pub mod validate;

pub use edges::{CallEdge, CallEdges};
pub use error::{Error, Result};
pub use telemetry::Telemetry;
pub use truth::GroundTruth;
pub use validate::{RepairPolicy, Report};
