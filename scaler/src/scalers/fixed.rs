//! `static`: fixed replicas.

use super::{Scaler, change};
use crate::{Action, Observation};

/// Keeps every service at its initial replicas, or at `N` replicas (clamped to its bounds).
#[derive(Debug, Clone)]
pub struct Static {
    replicas: Option<u32>,
}

impl Static {
    /// The initial replicas (`None`) or `replicas` per service.
    pub fn new(replicas: Option<u32>) -> Static {
        Static { replicas }
    }
}

impl Scaler for Static {
    fn name(&self) -> String {
        match self.replicas {
            None => "static".into(),
            Some(n) => format!("static:{n}"),
        }
    }

    fn decide(&mut self, obs: &Observation) -> Vec<Action> {
        match self.replicas {
            None => Vec::new(),
            Some(n) => (0..obs.len()).filter_map(|s| change(obs, s, n)).collect(),
        }
    }

    fn stabilises_itself(&self) -> bool {
        true
    }
}
