//! The recorder: turns the simulator's emissions into telemetry (SPEC 2.1), call edges
//! (SPEC 2.2) and a run summary, for [`crate::simulate`] and for any other driver of
//! [`Simulator::step`] (a scaler harness, a custom loop).
//!
//! The summary follows DeepScaler's metrics: the **SLO violation share** (eq. 1) is the
//! request-weighted share of (interval, operation) pairs whose end-to-end latency at the
//! SLO percentile exceeded the SLO bound; the **cost** (eq. 2) is the CPU requested by
//! running (ready and starting) replicas, in core-hours; failures are the share of requests
//! that failed somewhere in their call tree. All from the simulator's noise-free view.

use std::sync::Arc;

use ndarray::Array3;
use serde::{Deserialize, Serialize};

use crate::engine::{self, EdgeRows, Emission, Simulator};
use crate::error::{Error, Result};
use crate::spec::AppSpec;
use holoscale_datasets::edges::{CallEdge, CallEdges};
use holoscale_datasets::io::stream::{EdgeStream, TelemetryStream};
use holoscale_datasets::telemetry::Telemetry;
use holoscale_datasets::truth::GroundTruth;

/// Everything a simulation run produces.
#[derive(Debug, Clone)]
pub struct Output {
    /// Telemetry, one row per interval and service (timestamps at the end of each interval).
    pub telemetry: Telemetry,
    /// Time-stamped call edges (or one row per edge with its mean, [`EdgeRows::Total`]).
    pub edges: CallEdges,
    /// Call and planted latent edges.
    pub truth: GroundTruth,
    /// Totals over the run.
    pub summary: Summary,
}

/// Totals of a run, from the simulator's own (noise-free) view.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Requests that entered the application.
    pub requests: f64,
    /// Share of requests that failed somewhere in their call tree.
    pub failed_share: f64,
    /// Request-weighted share of (interval, operation) pairs whose end-to-end latency at the
    /// SLO percentile exceeded the SLO bound (DeepScaler eq. 1).
    pub slo_violation_share: f64,
    /// CPU requested by running replicas, core-hours (DeepScaler eq. 2).
    pub core_hours: f64,
    /// Mean running replicas per service.
    pub mean_replicas: f64,
}

/// Where a recorder keeps what it records (one per recorder: the size of the streaming
/// variant does not matter).
#[allow(clippy::large_enum_variant)]
enum Store {
    /// In memory, for [`Recorder::finish`].
    Memory {
        /// `[step][service][column]`, row-major.
        values: Vec<f64>,
        edges: Vec<CallEdge>,
    },
    /// Written to files as recorded, for [`Recorder::finish_streaming`].
    Stream {
        telemetry: TelemetryStream,
        edges: EdgeStream,
    },
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Store::Memory { .. } => "Store::Memory",
            Store::Stream { .. } => "Store::Stream",
        })
    }
}

/// Collects emissions into telemetry, call edges and a [`Summary`]: in memory
/// ([`Recorder::new`]), or streamed to files as they come ([`Recorder::streaming`]), so a
/// run of any length needs memory for one batch of rows only.
#[derive(Debug)]
pub struct Recorder {
    app: String,
    services: Vec<String>,
    names: Vec<Arc<str>>,
    call_edges: Vec<(usize, usize)>,
    cpu_request: Vec<f64>,
    slo_ms: f64,
    start_ms: i64,
    interval_ms: i64,
    edge_rows: EdgeRows,
    truth: GroundTruth,
    store: Store,
    steps: usize,
    /// Per static edge: Σ rate, Σ rate·latency, Σ rate where the latency is known.
    totals: Vec<(f64, f64, f64)>,
    requests: f64,
    failed: f64,
    violated: f64,
    core_hours: f64,
    replicas: f64,
}

impl Recorder {
    /// A recorder for the emissions of `sim`, which runs `spec`. `capacity` (steps) only
    /// sizes the buffers.
    pub fn new(spec: &AppSpec, sim: &Simulator, capacity: usize) -> Recorder {
        let cfg = sim.config();
        let n = sim.services().len();
        let store = Store::Memory {
            values: Vec::with_capacity(capacity * n * engine::COLUMNS.len()),
            edges: Vec::with_capacity(match cfg.edges {
                EdgeRows::PerInterval => capacity * sim.call_edges().len(),
                EdgeRows::Total => sim.call_edges().len(),
            }),
        };
        Recorder::with_store(spec, sim, store)
    }

    /// A recorder that writes telemetry to `telemetry` and call edges to `edges` (files,
    /// Parquet or CSV by extension) as it records; [`Recorder::finish_streaming`] puts them
    /// in place.
    pub fn streaming(
        spec: &AppSpec,
        sim: &Simulator,
        telemetry: &std::path::Path,
        edges: &std::path::Path,
    ) -> Result<Recorder> {
        let columns: Vec<String> = engine::COLUMNS.iter().map(|c| c.to_string()).collect();
        let store = Store::Stream {
            telemetry: TelemetryStream::create(
                telemetry,
                &sim.services(),
                &columns,
                sim.config().interval_ms,
            )?,
            edges: EdgeStream::create(edges)?,
        };
        Ok(Recorder::with_store(spec, sim, store))
    }

    fn with_store(spec: &AppSpec, sim: &Simulator, store: Store) -> Recorder {
        let cfg = sim.config();
        let services = sim.services();
        let call_edges = sim.call_edges().to_vec();
        Recorder {
            app: spec.name.clone(),
            names: services.iter().map(|s| s.as_str().into()).collect(),
            cpu_request: spec.services.iter().map(|s| s.cpu_request).collect(),
            slo_ms: spec.slo.latency_ms,
            start_ms: sim.config().start_ms,
            interval_ms: cfg.interval_ms,
            edge_rows: cfg.edges,
            truth: spec.ground_truth(),
            store,
            steps: 0,
            totals: vec![(0.0, 0.0, 0.0); call_edges.len()],
            call_edges,
            services,
            requests: 0.0,
            failed: 0.0,
            violated: 0.0,
            core_hours: 0.0,
            replicas: 0.0,
        }
    }

    /// Intervals recorded so far.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// Records the emission of the next interval. Emissions must come in order, one per
    /// interval from the run's start, each with a row per service.
    pub fn record(&mut self, em: &Emission) -> Result<()> {
        let expected = self.start_ms + (self.steps as i64 + 1) * self.interval_ms;
        if em.time_ms != expected {
            return Err(Error::param(
                "emission",
                format!(
                    "interval {} should end at {expected} ms, this one ends at {} ms; record every interval once, in order",
                    self.steps + 1,
                    em.time_ms
                ),
            ));
        }
        let n = self.services.len();
        if em.measured.len() != n || em.truth.len() != n {
            return Err(Error::param(
                "emission",
                format!(
                    "has {} measured and {} true rows for {n} services",
                    em.measured.len(),
                    em.truth.len()
                ),
            ));
        }
        match &mut self.store {
            Store::Memory { values, .. } => {
                for row in &em.measured {
                    values.extend_from_slice(row);
                }
            }
            Store::Stream { telemetry, .. } => telemetry.push_step(em.time_ms, &em.measured)?,
        }
        let secs = self.interval_ms as f64 / 1000.0;
        let hours = self.interval_ms as f64 / 3_600_000.0;
        for op in &em.ops {
            let r = op.rate * secs;
            self.requests += r;
            self.failed += r * op.error_share;
            if op.slo_percentile_ms > self.slo_ms {
                self.violated += r;
            }
        }
        for (s, row) in em.truth.iter().enumerate() {
            self.core_hours += row[engine::col::REPLICAS] * self.cpu_request[s] * hours;
            self.replicas += row[engine::col::REPLICAS];
        }
        match self.edge_rows {
            EdgeRows::PerInterval => {
                // An interval without calls on an edge has no row (as no span was traced).
                for &(p, c, rate, lat) in em.edges.iter().filter(|e| e.2 > 0.0) {
                    let edge = CallEdge {
                        timestamp_ms: Some(em.time_ms),
                        source: self.names[p].clone(),
                        destination: self.names[c].clone(),
                        req_rate: rate,
                        latency_ms: lat.is_finite().then_some(lat),
                    };
                    match &mut self.store {
                        Store::Memory { edges, .. } => edges.push(edge),
                        Store::Stream { edges, .. } => edges.push(edge)?,
                    }
                }
            }
            EdgeRows::Total => {
                for (acc, &(_, _, rate, lat)) in self.totals.iter_mut().zip(&em.edges) {
                    acc.0 += rate;
                    if lat.is_finite() {
                        acc.1 += rate * lat;
                        acc.2 += rate;
                    }
                }
            }
        }
        self.steps += 1;
        Ok(())
    }

    /// The totals of the intervals recorded so far.
    pub fn summary(&self) -> Summary {
        let share = |x: f64| {
            if self.requests > 0.0 {
                x / self.requests
            } else {
                0.0
            }
        };
        Summary {
            requests: self.requests,
            failed_share: share(self.failed),
            slo_violation_share: share(self.violated),
            core_hours: self.core_hours,
            mean_replicas: self.replicas / (self.steps * self.services.len()).max(1) as f64,
        }
    }

    /// The static edges' means ([`EdgeRows::Total`]), written at the end of a run.
    fn total_edges(&self) -> Vec<CallEdge> {
        if self.edge_rows != EdgeRows::Total {
            return Vec::new();
        }
        self.call_edges
            .iter()
            .zip(&self.totals)
            .map(|(&(p, c), &(rate, wl, w))| CallEdge {
                timestamp_ms: None,
                source: self.names[p].clone(),
                destination: self.names[c].clone(),
                req_rate: rate / self.steps.max(1) as f64,
                latency_ms: (w > 0.0).then(|| wl / w),
            })
            .collect()
    }

    /// The telemetry, call edges, truth and summary of everything recorded (a recorder of
    /// [`Recorder::new`]).
    pub fn finish(self) -> Result<Output> {
        let summary = self.summary();
        let totals = self.total_edges();
        let Store::Memory { values, mut edges } = self.store else {
            return Err(Error::param(
                "recorder",
                "streams to files; finish it with finish_streaming",
            ));
        };
        edges.extend(totals);
        let n = self.services.len();
        let values = Array3::from_shape_vec((self.steps, n, engine::COLUMNS.len()), values)
            .expect("one row of every column per recorded step and service");
        let telemetry = Telemetry::try_new(
            format!("simulated {}", self.app),
            self.start_ms + self.interval_ms,
            self.interval_ms,
            self.services,
            engine::COLUMNS.iter().map(|c| c.to_string()).collect(),
            values,
        )?;
        Ok(Output {
            telemetry,
            edges: CallEdges::try_new(&self.app, edges)?,
            truth: self.truth,
            summary,
        })
    }

    /// Puts the streamed files in place and returns the truth and the summary (a recorder
    /// of [`Recorder::streaming`]).
    pub fn finish_streaming(self) -> Result<(GroundTruth, Summary)> {
        let summary = self.summary();
        let totals = self.total_edges();
        let Store::Stream {
            telemetry,
            mut edges,
        } = self.store
        else {
            return Err(Error::param(
                "recorder",
                "keeps its rows in memory; finish it with finish",
            ));
        };
        for e in totals {
            edges.push(e)?;
        }
        telemetry.finish()?;
        edges.finish()?;
        Ok((self.truth, summary))
    }
}
