//! Figures and the HTML report of holoscale.
//!
//! Every figure is a plain-data struct that implements [`Figure`] and renders on any
//! plotters backend: [`to_png`] draws with a font embedded in the binary (DejaVu Sans
//! Condensed), so PNGs need no system font; [`to_svg`] keeps text as text. The crate takes
//! plain data (names, matrices, series) and knows nothing of models; the `holoscale` binary
//! fills the structs from a model directory and telemetry.
//!
//! ```
//! use holoscale_reports::{Heatmaps, Matrix, to_png};
//! let fig = Heatmaps {
//!     panels: vec![Matrix {
//!         title: "invocation".into(),
//!         services: vec!["frontend".into(), "cart".into()],
//!         values: ndarray::array![[0.5, 0.5], [0.5, 0.5]],
//!     }],
//! };
//! let png = to_png(&fig)?;
//! assert_eq!(&png[1..4], b"PNG");
//! # Ok::<(), holoscale_reports::Error>(())
//! ```

pub mod bars;
pub mod curves;
pub mod error;
pub mod figure;
pub mod graph;
pub mod heatmap;
pub mod html;
pub mod number;
pub mod scaling;
pub mod series;
pub mod style;

pub use bars::ErrorBars;
pub use curves::{EpochPoint, IterationPoint, TrainingCurves};
pub use error::{Error, Result};
pub use figure::{Figure, Rendered, to_png, to_svg, write_atomic};
pub use graph::{DependencyGraph, DrawnEdge, EdgeKind, Placement};
pub use heatmap::{Heatmaps, Matrix};
pub use html::{FigureEntry, Report, Table, escape};
pub use number::num;
pub use series::{Predictions, ServiceSeries};
