//! The server's state: one recommender per scaler, the latest decisions as an immutable
//! snapshot that every RPC reads without waiting, the feed's health, and the counters of
//! `/metrics`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use holoscale_datasets::Telemetry;

use super::config::ServeConfig;
use crate::error::{Error, Result};
use crate::recommend::{Recommendation, Recommender, ServiceRow, Source};

/// How fresh the served decisions are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedState {
    /// Nothing observed yet: `GetMetrics` answers UNAVAILABLE, so KEDA keeps the replicas.
    Waiting,
    /// Decisions from the latest data.
    Fresh,
    /// The feed missed its period; the last decisions are kept (for `keep_last_s`).
    Stale,
    /// The feed has been down longer than `keep_last_s`: the fallback rule's decisions.
    Fallback,
}

impl FeedState {
    /// The name in logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            FeedState::Waiting => "waiting",
            FeedState::Fresh => "fresh",
            FeedState::Stale => "stale",
            FeedState::Fallback => "fallback",
        }
    }
}

/// The latest decisions of every scaler, as the RPCs read them.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// Scaler label to service to recommendation.
    pub decisions: BTreeMap<String, BTreeMap<String, Recommendation>>,
    /// The feed's state.
    pub state: FeedState,
}

/// Counters and gauges of `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    /// RPCs answered, by method.
    pub rpcs: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    /// Decision rounds made (every scaler, one interval).
    pub decisions: AtomicU64,
    /// Total decision time, microseconds.
    pub decision_us: AtomicU64,
    /// Time of the last decision round, microseconds.
    pub last_decision_us: AtomicU64,
    /// Push requests accepted and refused.
    pub pushes_accepted: AtomicU64,
    /// Push requests refused with 400.
    pub pushes_refused: AtomicU64,
    /// Failed Prometheus polls.
    pub feed_errors: AtomicU64,
    /// Switches into the fallback.
    pub fallbacks: AtomicU64,
    /// Predictions that were NaN or negative and were clamped.
    pub prediction_warnings: AtomicU64,
    /// Values missing from the feed and filled forward.
    pub filled_values: AtomicU64,
}

impl Metrics {
    /// Counts one RPC `method` answered with gRPC `code` (`ok`, `not_found`, ...).
    pub fn count(&self, method: &'static str, code: &'static str) {
        let mut m = self.rpcs.lock().unwrap_or_else(|p| p.into_inner());
        *m.entry((method, code)).or_default() += 1;
    }
}

/// What the gRPC and HTTP servers share.
pub struct Shared {
    /// The settings.
    pub cfg: ServeConfig,
    recommenders: Mutex<Vec<(String, Recommender)>>,
    snapshot: RwLock<Arc<Snapshot>>,
    /// The counters of `/metrics`.
    pub metrics: Metrics,
    /// When the feed last delivered data (None: never).
    last_data: Mutex<Option<Instant>>,
    /// Time of the last observed interval, ms since the epoch.
    last_time_ms: Mutex<Option<i64>>,
    started: Instant,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    /// The state for `cfg`: every recommender built (a model that does not fit the
    /// services is refused here, at start).
    pub fn new(cfg: ServeConfig) -> Result<Shared> {
        let recommenders = cfg
            .scalers
            .iter()
            .map(|(label, c)| Ok((label.clone(), Recommender::new(c.clone())?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Shared {
            cfg,
            recommenders: Mutex::new(recommenders),
            snapshot: RwLock::new(Arc::new(Snapshot {
                decisions: BTreeMap::new(),
                state: FeedState::Waiting,
            })),
            metrics: Metrics::default(),
            last_data: Mutex::new(None),
            last_time_ms: Mutex::new(None),
            started: Instant::now(),
        })
    }

    /// The latest snapshot (a cheap clone of an `Arc`).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Seconds since the server started.
    pub fn uptime_s(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Seconds since the feed last delivered data.
    pub fn data_age_s(&self) -> Option<f64> {
        lock(&self.last_data).map(|t| t.elapsed().as_secs_f64())
    }

    /// Time of the last observed interval, ms since the epoch.
    pub fn last_time_ms(&self) -> Option<i64> {
        *lock(&self.last_time_ms)
    }

    /// The scaler labels, the default first.
    pub fn scaler_labels(&self) -> Vec<String> {
        self.cfg.scalers.iter().map(|(l, _)| l.clone()).collect()
    }

    /// Feeds pushed intervals `(time, rows)` in order to every recommender. Everything is
    /// checked before anything is fed: a bad row, an unknown service or column, or
    /// timestamps that do not increase refuse the whole push and change nothing. Returns
    /// the number of intervals fed.
    pub fn push(&self, intervals: &[(i64, Vec<ServiceRow>)]) -> Result<usize> {
        if intervals.is_empty() {
            return Err(Error::param("rows", "the push holds no rows"));
        }
        let mut recs = lock(&self.recommenders);
        for (_, rec) in recs.iter() {
            let mut last = rec.last_time_ms();
            for (t, rows) in intervals {
                rec.check_rows(last, *t, rows)?;
                last = Some(*t);
            }
        }
        let start = Instant::now();
        for (_, rec) in recs.iter_mut() {
            for (t, rows) in intervals {
                rec.observe_rows(*t, rows)?;
            }
        }
        self.publish(&recs, start, intervals.last().map(|(t, _)| *t));
        Ok(intervals.len())
    }

    /// Feeds the intervals of `tel` after the last observed one to every recommender
    /// (the Prometheus feed). Returns the number of intervals fed.
    pub fn feed_telemetry(&self, tel: &Telemetry) -> Result<usize> {
        let last = self.last_time_ms();
        let first_new = (0..tel.len())
            .find(|&t| last.is_none_or(|l| tel.timestamp(t) > l))
            .unwrap_or(tel.len());
        if first_new == tel.len() {
            return Ok(0);
        }
        let fresh = tel.slice_time(first_new..tel.len())?;
        let start = Instant::now();
        let mut recs = lock(&self.recommenders);
        for (_, rec) in recs.iter_mut() {
            rec.observe_telemetry(&fresh)?;
        }
        self.publish(&recs, start, Some(fresh.timestamp(fresh.len() - 1)));
        Ok(fresh.len())
    }

    fn publish(&self, recs: &[(String, Recommender)], start: Instant, time_ms: Option<i64>) {
        for (i, (label, rec)) in recs.iter().enumerate() {
            for r in rec.latest() {
                if let Some(w) = &r.warning {
                    self.metrics
                        .prediction_warnings
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(target: "holoscale::serve", "scaler {label}: {w}");
                }
                // Every scaler sees the same data: count the fills once.
                if i == 0 && r.filled > 0 {
                    self.metrics
                        .filled_values
                        .fetch_add(r.filled as u64, Ordering::Relaxed);
                    tracing::debug!(
                        target: "holoscale::serve",
                        "{}: {} missing value(s) filled forward",
                        r.service,
                        r.filled
                    );
                }
            }
        }
        let us = start.elapsed().as_micros() as u64;
        self.metrics.decisions.fetch_add(1, Ordering::Relaxed);
        self.metrics.decision_us.fetch_add(us, Ordering::Relaxed);
        self.metrics.last_decision_us.store(us, Ordering::Relaxed);
        *lock(&self.last_data) = Some(Instant::now());
        if let Some(t) = time_ms {
            *lock(&self.last_time_ms) = Some(t);
        }
        self.store(recs, FeedState::Fresh);
    }

    fn store(&self, recs: &[(String, Recommender)], state: FeedState) {
        let decisions = recs
            .iter()
            .map(|(label, rec)| {
                let by_service = rec
                    .latest()
                    .iter()
                    .map(|r| (r.service.clone(), r.clone()))
                    .collect();
                (label.clone(), by_service)
            })
            .collect();
        *self.snapshot.write().unwrap_or_else(|p| p.into_inner()) =
            Arc::new(Snapshot { decisions, state });
    }

    /// Checks the feed's age and moves between fresh, stale and fallback; returns the state
    /// when it changed. Stale after two missed feed periods
    /// ([`ServeConfig::feed_period_s`]); the fallback after `keep_last_s` without data (recomputed from the last known CPU utilisation, never zero).
    pub fn check_staleness(&self) -> Option<FeedState> {
        let current = self.snapshot().state;
        let age = self.data_age_s()?;
        let period_s = self.cfg.feed_period_s();
        let next = if age > self.cfg.keep_last_s.max(2.0 * period_s) {
            FeedState::Fallback
        } else if age > 2.0 * period_s {
            FeedState::Stale
        } else {
            FeedState::Fresh
        };
        if next == current || (current == FeedState::Fresh && next == FeedState::Fresh) {
            return None;
        }
        let mut recs = lock(&self.recommenders);
        match next {
            FeedState::Fallback => {
                let why = format!(
                    "no telemetry for {age:.0} s (keep_last_s {})",
                    self.cfg.keep_last_s
                );
                for (_, rec) in recs.iter_mut() {
                    rec.fallback(&why);
                }
                self.metrics.fallbacks.fetch_add(1, Ordering::Relaxed);
                self.store(&recs, FeedState::Fallback);
            }
            FeedState::Stale => {
                let snap = self.snapshot();
                *self.snapshot.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(Snapshot {
                    decisions: snap.decisions.clone(),
                    state: FeedState::Stale,
                });
            }
            FeedState::Fresh | FeedState::Waiting => return None,
        }
        Some(next)
    }

    /// The decision for `service` by the scaler `scaler` (the default when `None`).
    pub fn decision(&self, scaler: Option<&str>, service: &str) -> Lookup {
        let label = match scaler {
            Some(s) => s.to_string(),
            None => self.cfg.scalers[0].0.clone(),
        };
        if !self.cfg.scalers.iter().any(|(l, _)| *l == label) {
            return Lookup::UnknownScaler(label);
        }
        if !self.cfg.services().iter().any(|s| s == service) {
            return Lookup::UnknownService;
        }
        let snap = self.snapshot();
        match snap.decisions.get(&label).and_then(|d| d.get(service)) {
            Some(r) => Lookup::Found(r.clone(), snap.state),
            None => Lookup::NotYet,
        }
    }
}

/// What [`Shared::decision`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    /// The recommendation and how fresh it is.
    Found(Recommendation, FeedState),
    /// The service is served but nothing has been observed yet.
    NotYet,
    /// The service is not served.
    UnknownService,
    /// No scaler has this label.
    UnknownScaler(String),
}

/// Whether a recommendation came from the fallback rule.
pub fn is_fallback(r: &Recommendation) -> bool {
    r.source == Source::Fallback
}
