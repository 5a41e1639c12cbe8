//! Latency-load profiles (LLPs): a service's latency as a function of the load on one of
//! its containers (requests per second per replica), as Erms fits them.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// `latency = a · load + b` (ms, with load in requests/s per container).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Linear {
    /// Slope, ms per (request/s per container).
    pub a: f64,
    /// Zero-load latency, ms.
    pub b: f64,
}

impl Linear {
    /// A checked profile: `a > 0`, `b >= 0`, both finite.
    pub fn new(a: f64, b: f64) -> Result<Linear> {
        if !(a.is_finite() && a > 0.0 && b.is_finite() && b >= 0.0) {
            return Err(Error::param(
                "profile",
                format!("needs a finite slope a > 0 and intercept b >= 0, got a = {a}, b = {b}"),
            ));
        }
        Ok(Linear { a, b })
    }

    /// Latency at `load` requests/s per container, ms.
    pub fn latency_ms(&self, load: f64) -> f64 {
        self.a * load + self.b
    }
}

/// Two linear pieces meeting at a knee: `below` up to `knee` requests/s per container,
/// `above` beyond it (Erms: latency grows faster once a container saturates).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TwoPiece {
    /// Load per container where the pieces meet, requests/s.
    pub knee: f64,
    /// The piece below the knee.
    pub below: Linear,
    /// The piece above the knee.
    pub above: Linear,
}

impl TwoPiece {
    /// A checked profile: a positive knee and the steeper piece above it.
    pub fn new(knee: f64, below: Linear, above: Linear) -> Result<TwoPiece> {
        if !(knee.is_finite() && knee > 0.0 && above.a >= below.a) {
            return Err(Error::param(
                "profile",
                format!(
                    "needs a positive knee and a slope above it at least the one below, got knee {knee}, slopes {} and {}",
                    below.a, above.a
                ),
            ));
        }
        Ok(TwoPiece { knee, below, above })
    }

    /// The piece that holds at `load` requests/s per container.
    pub fn piece(&self, load: f64) -> Linear {
        if load <= self.knee {
            self.below
        } else {
            self.above
        }
    }

    /// Latency at `load` requests/s per container, ms.
    pub fn latency_ms(&self, load: f64) -> f64 {
        self.piece(load).latency_ms(load)
    }
}
