//! # holoscale-meta
//!
//! Partial SLOs (SPEC 5, MSARS section 4.1): an end-to-end latency SLO is only actionable
//! per service once it is split into per-service latency targets. This crate holds the
//! latency-load profiles ([`profile`]) and the optimiser that produces the split with the
//! fewest containers ([`erms`], Erms' closed form over a call tree of sequential steps and
//! parallel branches). The GCN meta-allocator and MAML (MSARS eq. 1-10) build on it.

pub mod erms;
pub mod error;
pub mod profile;

pub use erms::{Allocation, Target, Tree, allocate};
pub use error::{Error, Result};
pub use profile::{Linear, TwoPiece};
