//! The EM history of a model trained with graph learning: `graph_learning.json` in the
//! model directory, written by [`crate::train`] and read back by reports and tools with the
//! same type.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::em::{EmConfig, IterationReport};
use crate::error::{Error, Result};
use crate::sources::GraphSources;

/// File name of the history in a model directory.
pub const HISTORY_FILE: &str = "graph_learning.json";

/// Settings and every iteration of one EM run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EmHistory {
    /// The EM settings.
    pub config: EmConfig,
    /// The matrices added to the starting set besides the invocation graph.
    pub sources: GraphSources,
    /// Where each member of the starting set came from (`invocation`, `identity`, `od`,
    /// `cc`).
    pub starting_set: Vec<String>,
    /// The iteration whose estimator and affinity were kept.
    pub best_iteration: usize,
    /// Every iteration, in order.
    pub iterations: Vec<IterationReport>,
}

impl EmHistory {
    /// The history as the JSON value written to [`HISTORY_FILE`] (keys sorted).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("an EM history serialises")
    }

    /// Reads the history of model directory `dir`; `None` when the model was trained
    /// without graph learning (no [`HISTORY_FILE`]).
    pub fn load(dir: &Path) -> Result<Option<EmHistory>> {
        let path = dir.join(HISTORY_FILE);
        if !path.is_file() {
            return Ok(None);
        }
        let file = path.display().to_string();
        let text = std::fs::read_to_string(&path)
            .map_err(|e| holoscale_datasets::Error::io(&path, "read", e))?;
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| Error::Mismatch {
                what: file,
                message: format!("not an EM history written by holoscale: {e}"),
            })
    }
}
