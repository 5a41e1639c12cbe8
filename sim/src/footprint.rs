//! How much memory and disk a run needs, estimated before it starts, so that a flag such as
//! `--duration 100000d` or `--app alibaba:100000000` is refused with the estimate instead of
//! eating the machine.
//!
//! The constants are upper bounds measured on this toolkit (holoscale's own simulator and
//! writers): the simulator's state is about 4 KiB per service on `alibaba:20000` (counted
//! here as 8 KiB), an application spec about 1.3 KiB per service (2 KiB), a Parquet
//! telemetry row about 80 bytes (120), a call-edge row about 40 bytes (60).

use crate::engine::{COLUMNS, EdgeRows, SimConfig};

/// Simulator state and application spec per service, bytes.
pub const STATE_BYTES_PER_SERVICE: u64 = 10 * 1024;
/// Per static call edge, bytes.
pub const STATE_BYTES_PER_EDGE: u64 = 256;
/// What streaming writers buffer (a batch of 64 Ki rows and one Parquet row group of a
/// million rows), bytes.
pub const STREAM_BUFFER_BYTES: u64 = 192 << 20;
/// A telemetry row on disk (Parquet; CSV is about twice that), bytes.
pub const DISK_BYTES_PER_ROW: u64 = 120;
/// A call-edge row on disk, bytes.
pub const DISK_BYTES_PER_EDGE_ROW: u64 = 60;
/// A telemetry row held in memory (every column as f64 and its mask), bytes.
pub const MEMORY_BYTES_PER_ROW: u64 = COLUMNS.len() as u64 * 9;
/// A call-edge row held in memory, bytes.
pub const MEMORY_BYTES_PER_EDGE_ROW: u64 = 80;

/// The estimated size of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footprint {
    /// Intervals recorded.
    pub steps: u64,
    /// Telemetry rows (steps × services).
    pub rows: u64,
    /// Call-edge rows.
    pub edge_rows: u64,
    /// Memory of a run streamed to files ([`crate::rundir::simulate_into`]), bytes.
    pub streaming_bytes: u64,
    /// Memory of a run recorded in memory ([`crate::simulate`]), bytes.
    pub in_memory_bytes: u64,
    /// Size of the run's files, bytes.
    pub output_bytes: u64,
}

/// The footprint of simulating `services` services with `call_edges` static call edges
/// under `cfg`.
pub fn estimate(services: usize, call_edges: usize, cfg: &SimConfig) -> Footprint {
    let steps = cfg.steps() as u64;
    let (n, e) = (services as u64, call_edges as u64);
    let rows = steps.saturating_mul(n);
    let edge_rows = match cfg.edges {
        EdgeRows::PerInterval => steps.saturating_mul(e),
        EdgeRows::Total => e,
    };
    let state = n
        .saturating_mul(STATE_BYTES_PER_SERVICE)
        .saturating_add(e.saturating_mul(STATE_BYTES_PER_EDGE));
    Footprint {
        steps,
        rows,
        edge_rows,
        streaming_bytes: state.saturating_add(STREAM_BUFFER_BYTES),
        in_memory_bytes: state
            .saturating_add(rows.saturating_mul(MEMORY_BYTES_PER_ROW))
            .saturating_add(edge_rows.saturating_mul(MEMORY_BYTES_PER_EDGE_ROW)),
        output_bytes: rows
            .saturating_mul(DISK_BYTES_PER_ROW)
            .saturating_add(edge_rows.saturating_mul(DISK_BYTES_PER_EDGE_ROW)),
    }
}

/// The services of an application named by `app` that is generated on request
/// (`alibaba:N`), known before building it; `None` for other names.
pub fn generated_services(app: &str) -> Option<usize> {
    app.strip_prefix("alibaba:")?.parse().ok()
}

/// The memory that building the spec of `services` generated services takes, bytes.
pub fn spec_bytes(services: usize) -> u64 {
    (services as u64).saturating_mul(STATE_BYTES_PER_SERVICE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_run_streams_in_bounded_memory_and_says_its_disk() {
        let week = SimConfig {
            duration_ms: 7 * 86_400_000,
            ..SimConfig::default()
        };
        let f = estimate(41, 95, &week);
        assert_eq!(f.steps, 20_160);
        assert_eq!(f.rows, 20_160 * 41);
        assert_eq!(f.edge_rows, 20_160 * 95);
        assert!(f.streaming_bytes < 256 << 20);
        assert_eq!(f.output_bytes, f.rows * 120 + f.edge_rows * 60);
        let forever = SimConfig {
            duration_ms: 100_000 * 86_400_000,
            ..SimConfig::default()
        };
        assert!(estimate(10, 14, &forever).output_bytes > 100 << 30);
        assert_eq!(generated_services("alibaba:100000000"), Some(100_000_000));
        assert_eq!(generated_services("online-boutique"), None);
    }
}
