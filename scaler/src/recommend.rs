//! The embedding API (SPEC 7, "Serving"): replica recommendations for a live cluster from
//! any scaler of the harness, with the reason for each.
//!
//! A [`Recommender`] holds one scaler ([`ScalerKind`]: `deepscaler:MODEL_DIR`, `hpa`, ...)
//! and what it has seen. Feed it one interval at a time, from whichever source you have:
//!
//! - [`Recommender::observe`]: an [`Observation`] (the simulator's, or one you build);
//! - [`Recommender::observe_rows`]: per-service rows of telemetry columns for one interval
//!   (what `holoscale serve` receives by push or reads from Prometheus), validated before
//!   anything changes: an unknown service or column, a value that is not finite or is
//!   negative, or a time that is not after the last one is an error and leaves the
//!   recommender as it was;
//! - [`Recommender::observe_telemetry`]: every interval of a [`Telemetry`] in time order.
//!
//! Each call returns the recommendation of every service ([`Recommendation`]): the
//! replicas to run, within the service's bounds and never zero, and why: what the scaler
//! asked for (for the model-driven scaler its raw prediction and rounding, see
//! [`Explanation`]), whether a bound clamped it, and whether the scaler held because it has
//! too little data. [`Recommender::fallback`] replaces the decision by a rule that needs no
//! model and no fresh data (the HPA's proportional rule on the last known CPU utilisation)
//! for when the feed is down.
//!
//! The recommender adds no stabilisation and no rate limits of its own: in a cluster the
//! HPA that KEDA drives applies its `behavior`. Values a row set or telemetry leaves out
//! (a service without a row, a column not given, a missed scrape) are filled forward from
//! the service's last value for up to [`RecommenderConfig::max_fill_intervals`] intervals,
//! the data layer's repair rule; longer gaps count as missed scrapes, which the scalers
//! treat as the harness does (DeepScaler's scaler holds).
//!
//! ```
//! use holoscale_scaler::recommend::{Recommender, RecommenderConfig, ServiceRow};
//! use holoscale_scaler::ScalerKind;
//!
//! # fn main() -> holoscale_scaler::Result<()> {
//! let cfg = RecommenderConfig::new(ScalerKind::Hpa(None), vec!["api".into()], 15_000)?;
//! let mut rec = Recommender::new(cfg)?;
//! // 3 replicas at 90% CPU against the HPA's 60% target: ceil(3 * 0.9 / 0.6) = 5.
//! let row = ServiceRow::new("api", &[("replicas", 3.0), ("cpu_util", 0.9)]);
//! let out = rec.observe_rows(1_700_000_000_000, &[row])?;
//! assert_eq!((out[0].current, out[0].replicas), (3, 5));
//! # Ok(()) }
//! ```

use holoscale_datasets::Telemetry;
use holoscale_estimator::inference::Estimator;
use holoscale_sim::engine::col;
use holoscale_sim::observe::{OBSERVED_COLUMNS, ObservedRow};
use holoscale_sim::spec::Slo;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::scalers::{Scaler, ScalerKind};
use crate::{Action, Observation};

/// What a scaler says about its last decision for one service
/// ([`Scaler::explain`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// The model's raw prediction behind the decision (for `deepscaler`, the largest over
    /// the horizon, before rounding); `None` for rule-based scalers.
    pub predicted: Option<f64>,
    /// The replicas the scaler asked for before the service's bounds; `None` when it held.
    pub wanted: Option<u32>,
    /// What the scaler did and why, in words.
    pub detail: String,
}

/// Where a recommendation came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// The scaler decided from the latest data.
    Scaler,
    /// The scaler held the current replicas (its window is filling, or a value it needs is
    /// missing).
    Held,
    /// The fallback rule ([`Recommender::fallback`]).
    Fallback,
}

/// A bound that changed what was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Clamp {
    /// Raised to the service's fewest replicas.
    Min(u32),
    /// Lowered to the service's most replicas.
    Max(u32),
}

/// The recommendation for one service.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    /// The service.
    pub service: String,
    /// Replicas to run: within the service's bounds, at least 1.
    pub replicas: u32,
    /// Replicas the last observation showed (ready and starting).
    pub current: u32,
    /// What the scaler (or the fallback rule) asked for before the bounds; `None` when it
    /// held.
    pub wanted: Option<u32>,
    /// The model's raw prediction, for model-driven scalers.
    pub predicted: Option<f64>,
    /// The bound that clamped `wanted`, if one did.
    pub clamp: Option<Clamp>,
    /// Where the recommendation came from.
    pub source: Source,
    /// Why, in words.
    pub detail: String,
    /// Something the operator should know (a prediction that was not a number or was
    /// negative, and was clamped).
    pub warning: Option<String>,
    /// Values of this interval filled forward from earlier ones (missing from the data).
    pub filled: usize,
    /// Time of the observation it was made from, ms since the epoch.
    pub time_ms: i64,
}

/// Settings of a [`Recommender`].
#[derive(Debug, Clone, PartialEq)]
pub struct RecommenderConfig {
    /// The scaler that decides.
    pub scaler: ScalerKind,
    /// The services, in the order of every per-service vector here and of the
    /// recommendations.
    pub services: Vec<String>,
    /// Telemetry and decision interval, ms.
    pub interval_ms: i64,
    /// Fewest and most replicas per service (the fewest is at least 1).
    pub bounds: Vec<(u32, u32)>,
    /// CPU limit per replica, cores, where rows do not carry `cpu_limit_cores`.
    pub cpu_limit: Vec<f64>,
    /// Memory limit per replica, bytes.
    pub mem_limit: Vec<f64>,
    /// The end-to-end SLO (what SLO-aware scalers size for).
    pub slo: Slo,
    /// CPU utilisation the fallback rule sizes for (a share of the limit).
    pub fallback_target: f64,
    /// Missing values of rows and telemetry (a missed scrape, a column a push left out)
    /// are filled forward from the same service's last value for up to this many intervals,
    /// the data layer's repair rule (`RepairPolicy::max_fill`); 0 turns it off. Observations
    /// given as such are taken as they are.
    pub max_fill_intervals: usize,
}

/// Default replica bounds of a service: 1 to 100 (holoscale's; set them per service).
pub const DEFAULT_BOUNDS: (u32, u32) = (1, 100);

/// Default CPU target of the fallback rule: 0.6, the `hpa` scaler's default target.
pub const DEFAULT_FALLBACK_TARGET: f64 = 0.6;

impl RecommenderConfig {
    /// Settings for `services` decided by `scaler` every `interval_ms`: bounds
    /// [`DEFAULT_BOUNDS`], 1 core and 512 MiB per replica, an SLO of 200 ms at p95 and the
    /// fallback at [`DEFAULT_FALLBACK_TARGET`].
    pub fn new(
        scaler: ScalerKind,
        services: Vec<String>,
        interval_ms: i64,
    ) -> Result<RecommenderConfig> {
        let n = services.len();
        let cfg = RecommenderConfig {
            scaler,
            services,
            interval_ms,
            bounds: vec![DEFAULT_BOUNDS; n],
            cpu_limit: vec![1.0; n],
            mem_limit: vec![512.0 * 1024.0 * 1024.0; n],
            slo: Slo {
                percentile: 95.0,
                latency_ms: 200.0,
            },
            fallback_target: DEFAULT_FALLBACK_TARGET,
            max_fill_intervals: holoscale_datasets::validate::DEFAULT_MAX_FILL,
        };
        cfg.check()?;
        Ok(cfg)
    }

    /// Settings for the model in `dir` driving DeepScaler's scaler: the model's services
    /// and interval, the other settings as [`RecommenderConfig::new`].
    pub fn for_model(dir: &std::path::Path) -> Result<RecommenderConfig> {
        let spec = Estimator::load(dir)?.input_spec();
        RecommenderConfig::new(
            ScalerKind::DeepScaler(dir.to_path_buf()),
            spec.services,
            spec.interval_ms,
        )
    }

    /// Sets the bounds of `service`.
    pub fn with_bounds(mut self, service: &str, min: u32, max: u32) -> Result<Self> {
        let s = self.index(service)?;
        self.bounds[s] = (min, max);
        self.check()?;
        Ok(self)
    }

    fn index(&self, service: &str) -> Result<usize> {
        self.services
            .iter()
            .position(|x| x == service)
            .ok_or_else(|| unknown_service(service, &self.services))
    }

    /// Checks every setting, naming the one out of range.
    pub fn check(&self) -> Result<()> {
        let n = self.services.len();
        if n == 0 {
            return Err(Error::param("services", "needs at least one service"));
        }
        for (i, s) in self.services.iter().enumerate() {
            if s.is_empty() || self.services[..i].contains(s) {
                return Err(Error::param(
                    "services",
                    format!("`{s}` is empty or listed twice"),
                ));
            }
        }
        if self.interval_ms <= 0 {
            return Err(Error::param(
                "interval_ms",
                format!("must be positive, got {}", self.interval_ms),
            ));
        }
        for (name, len) in [
            ("bounds", self.bounds.len()),
            ("cpu_limit", self.cpu_limit.len()),
            ("mem_limit", self.mem_limit.len()),
        ] {
            if len != n {
                return Err(Error::param(
                    name,
                    format!("has {len} entries for {n} services"),
                ));
            }
        }
        for (s, &(min, max)) in self.services.iter().zip(&self.bounds) {
            if min < 1 || max < min {
                return Err(Error::param(
                    "bounds",
                    format!("service `{s}`: needs 1 <= min <= max, got {min}..{max}"),
                ));
            }
        }
        for (s, (&c, &m)) in self
            .services
            .iter()
            .zip(self.cpu_limit.iter().zip(&self.mem_limit))
        {
            if !(c.is_finite() && c > 0.0 && m.is_finite() && m > 0.0) {
                return Err(Error::param(
                    "cpu_limit",
                    format!(
                        "service `{s}`: CPU and memory limits must be positive, got {c} and {m}"
                    ),
                ));
            }
        }
        if !(self.slo.latency_ms.is_finite() && self.slo.latency_ms > 0.0) {
            return Err(Error::param(
                "slo",
                format!(
                    "latency bound must be positive, got {}",
                    self.slo.latency_ms
                ),
            ));
        }
        if !(self.fallback_target > 0.0 && self.fallback_target <= 1.0) {
            return Err(Error::param(
                "fallback_target",
                format!("must be in (0, 1], got {}", self.fallback_target),
            ));
        }
        Ok(())
    }
}

fn unknown_service(service: &str, services: &[String]) -> Error {
    Error::param(
        "service",
        format!(
            "`{service}` is not among the recommender's services ({})",
            services.join(", ")
        ),
    )
}

/// One service's measured values for an interval, by telemetry column (the names of
/// [`OBSERVED_COLUMNS`]: `replicas`, `cpu_util`, `req_rate`, ...). Columns left out are
/// unknown for the interval.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceRow {
    /// The service.
    pub service: String,
    /// `(column, value)` pairs.
    pub values: Vec<(String, f64)>,
}

impl ServiceRow {
    /// A row from `(column, value)` pairs.
    pub fn new(service: &str, values: &[(&str, f64)]) -> ServiceRow {
        ServiceRow {
            service: service.to_string(),
            values: values.iter().map(|(c, v)| (c.to_string(), *v)).collect(),
        }
    }
}

/// Replica recommendations from one scaler for a live cluster (see the module docs).
pub struct Recommender {
    cfg: RecommenderConfig,
    scaler: Option<Box<dyn Scaler>>,
    last: Option<Observation>,
    latest: Vec<Recommendation>,
    /// Per service and column: the last measured value and the intervals since.
    known: Vec<[(f64, usize); OBSERVED_COLUMNS.len()]>,
    /// Per service: values filled forward in the latest interval.
    filled: Vec<usize>,
}

impl std::fmt::Debug for Recommender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recommender")
            .field("cfg", &self.cfg)
            .field("last_time_ms", &self.last.as_ref().map(|o| o.time_ms))
            .finish_non_exhaustive()
    }
}

impl Recommender {
    /// A recommender with `cfg`. The scaler is built on the first observation (scalers
    /// size themselves from it); a `deepscaler` model is loaded and checked against the
    /// services now, so a model for another application is refused at once, naming the
    /// services that do not match.
    pub fn new(cfg: RecommenderConfig) -> Result<Recommender> {
        cfg.check()?;
        if let ScalerKind::DeepScaler(dir) = &cfg.scaler {
            let spec = Estimator::load(dir)?.input_spec();
            let missing: Vec<&str> = spec
                .services
                .iter()
                .filter(|s| !cfg.services.contains(s))
                .map(String::as_str)
                .collect();
            if !missing.is_empty() {
                return Err(Error::param(
                    "services",
                    format!(
                        "the model in {} predicts services the cluster does not have: {} (the cluster has {})",
                        dir.display(),
                        missing.join(", "),
                        cfg.services.join(", ")
                    ),
                ));
            }
        }
        if cfg.scaler.is_oracle() {
            return Err(Error::param(
                "scaler",
                "the oracle knows the coming load and cannot run in a cluster",
            ));
        }
        let n = cfg.services.len();
        Ok(Recommender {
            cfg,
            scaler: None,
            last: None,
            latest: Vec::new(),
            known: vec![[(f64::NAN, usize::MAX); OBSERVED_COLUMNS.len()]; n],
            filled: vec![0; n],
        })
    }

    /// The settings.
    pub fn config(&self) -> &RecommenderConfig {
        &self.cfg
    }

    /// The services, in recommendation order.
    pub fn services(&self) -> &[String] {
        &self.cfg.services
    }

    /// The latest recommendations (empty before the first observation).
    pub fn latest(&self) -> &[Recommendation] {
        &self.latest
    }

    /// Time of the latest observation, ms since the epoch.
    pub fn last_time_ms(&self) -> Option<i64> {
        self.last.as_ref().map(|o| o.time_ms)
    }

    /// The latest recommendation of `service`.
    pub fn recommendation(&self, service: &str) -> Result<&Recommendation> {
        let s = self.cfg.index(service)?;
        self.latest.get(s).ok_or_else(|| {
            Error::param(
                "service",
                format!("`{service}`: no recommendation yet (nothing observed)"),
            )
        })
    }

    /// Decides from an observation of the cluster; its services must be the recommender's,
    /// in the same order, and its time after the last one.
    pub fn observe(&mut self, obs: Observation) -> Result<&[Recommendation]> {
        if obs.services != self.cfg.services {
            return Err(Error::param(
                "services",
                format!(
                    "the observation has services {}, the recommender {}",
                    obs.services.join(", "),
                    self.cfg.services.join(", ")
                ),
            ));
        }
        for (name, len) in [
            ("ready", obs.ready.len()),
            ("starting", obs.starting.len()),
            ("bounds", obs.bounds.len()),
            ("cpu_limit", obs.cpu_limit.len()),
            ("mem_limit", obs.mem_limit.len()),
        ] {
            if len != obs.services.len() {
                return Err(Error::param(
                    name,
                    format!(
                        "the observation has {len} entries for {} services",
                        obs.services.len()
                    ),
                ));
            }
        }
        if !obs.rows.is_empty() && obs.rows.len() != obs.services.len() {
            return Err(Error::param(
                "rows",
                format!(
                    "the observation has {} rows for {} services",
                    obs.rows.len(),
                    obs.services.len()
                ),
            ));
        }
        self.check_time(obs.time_ms)?;
        self.filled = vec![0; self.cfg.services.len()];
        self.decide(obs)
    }

    /// Decides from one interval of rows ending at `time_ms` (see the module docs for what
    /// is refused). A service without a row counts as a missed scrape.
    pub fn observe_rows(&mut self, time_ms: i64, rows: &[ServiceRow]) -> Result<&[Recommendation]> {
        let measured = self.check_rows(self.last_time_ms(), time_ms, rows)?;
        let obs = self.observation(time_ms, measured);
        self.decide(obs)
    }

    /// Checks one interval of rows as [`Recommender::observe_rows`] would, as if the last
    /// observation had been at `last_ms`, without changing anything: a caller with several
    /// intervals (or several recommenders) checks them all before feeding any. Returns
    /// each service's measured row (`None`: no row).
    pub fn check_rows(
        &self,
        last_ms: Option<i64>,
        time_ms: i64,
        rows: &[ServiceRow],
    ) -> Result<Vec<Option<ObservedRow>>> {
        check_after(last_ms, time_ms)?;
        let n = self.cfg.services.len();
        let mut measured: Vec<Option<ObservedRow>> = vec![None; n];
        for row in rows {
            let s = self.cfg.index(&row.service)?;
            if measured[s].is_some() {
                return Err(Error::param(
                    "service",
                    format!("`{}` has two rows for one interval", row.service),
                ));
            }
            let mut values = [f64::NAN; OBSERVED_COLUMNS.len()];
            for (column, v) in &row.values {
                let c = OBSERVED_COLUMNS
                    .iter()
                    .position(|x| x == column)
                    .ok_or_else(|| {
                        Error::param(
                            "column",
                            format!(
                                "service `{}`: `{column}` is not an observed column (expected one of {})",
                                row.service,
                                OBSERVED_COLUMNS.join(", ")
                            ),
                        )
                    })?;
                if !v.is_finite() || *v < 0.0 {
                    return Err(Error::param(
                        "value",
                        format!(
                            "service `{}`, column `{column}`: {v} is not a finite, non-negative number",
                            row.service
                        ),
                    ));
                }
                if !values[c].is_nan() {
                    return Err(Error::param(
                        "column",
                        format!("service `{}`: `{column}` is given twice", row.service),
                    ));
                }
                values[c] = *v;
            }
            measured[s] = Some(values);
        }
        Ok(measured)
    }

    /// Feeds every interval of `tel` in time order and returns the last recommendations.
    /// Its services must be among the recommender's (others count as missed scrapes) and
    /// its first interval after the last observation; unobserved values are unknown.
    pub fn observe_telemetry(&mut self, tel: &Telemetry) -> Result<&[Recommendation]> {
        let index: Vec<usize> = tel
            .services()
            .iter()
            .map(|s| self.cfg.index(s))
            .collect::<Result<_>>()?;
        let columns: Vec<Option<usize>> = tel
            .columns()
            .iter()
            .map(|c| OBSERVED_COLUMNS.iter().position(|x| x == c))
            .collect();
        if !tel.is_empty() {
            self.check_time(tel.timestamp(0))?;
        }
        let (values, observed) = (tel.values(), tel.observed());
        for t in 0..tel.len() {
            let mut measured: Vec<Option<ObservedRow>> = vec![None; self.cfg.services.len()];
            for (n, &s) in index.iter().enumerate() {
                let mut row = [f64::NAN; OBSERVED_COLUMNS.len()];
                for (c, oc) in columns.iter().enumerate() {
                    if let Some(oc) = *oc
                        && observed[[t, n, c]]
                    {
                        row[oc] = values[[t, n, c]];
                    }
                }
                if row.iter().any(|v| !v.is_nan()) {
                    measured[s] = Some(row);
                }
            }
            let obs = self.observation(tel.timestamp(t), measured);
            self.decide(obs)?;
        }
        Ok(&self.latest)
    }

    /// Replaces the latest recommendations by the fallback rule, for when the feed is down
    /// (`why` says so in every detail): the HPA's proportional rule on the last known CPU
    /// utilisation, `⌈ready · utilisation / fallback_target⌉`, within the bounds; a service
    /// without a known utilisation keeps its latest recommendation (or its current replicas,
    /// or its minimum). Never zero.
    pub fn fallback(&mut self, why: &str) -> &[Recommendation] {
        let target = self.cfg.fallback_target;
        let time_ms = self.last_time_ms().unwrap_or(0);
        let mut out = Vec::with_capacity(self.cfg.services.len());
        for (s, service) in self.cfg.services.iter().enumerate() {
            let (min, max) = self.cfg.bounds[s];
            let (current, util) = match &self.last {
                Some(o) => (o.replicas(s), o.value(s, col::CPU_UTIL)),
                None => (min, f64::NAN),
            };
            let ready = self.last.as_ref().map_or(current, |o| o.ready[s]).max(1);
            let (wanted, detail) = if util.is_finite() {
                let w = (ready as f64 * util / target).ceil().max(0.0) as u32;
                (
                    Some(w),
                    format!(
                        "{why}: HPA rule on the last known CPU utilisation, ceil({ready} x {util:.3} / {target}) = {w}"
                    ),
                )
            } else {
                (
                    None,
                    format!("{why}: no CPU utilisation known; keeping the last recommendation"),
                )
            };
            let keep = self
                .latest
                .get(s)
                .map_or(current.clamp(min, max), |r| r.replicas);
            let (replicas, clamp) = match wanted {
                Some(w) => bound(w, min, max),
                None => (keep, None),
            };
            out.push(Recommendation {
                service: service.clone(),
                replicas,
                current,
                wanted,
                predicted: None,
                clamp,
                source: Source::Fallback,
                detail,
                warning: None,
                filled: 0,
                time_ms,
            });
        }
        self.latest = out;
        &self.latest
    }

    fn check_time(&self, time_ms: i64) -> Result<()> {
        check_after(self.last_time_ms(), time_ms)
    }

    /// An observation from measured rows: replicas from the `replicas` column, else the
    /// last known; limits from the rows, else the settings.
    fn observation(&mut self, time_ms: i64, mut measured: Vec<Option<ObservedRow>>) -> Observation {
        let n = self.cfg.services.len();
        // Forward fill of short gaps (the data layer's repair rule).
        for (s, row) in measured.iter_mut().enumerate() {
            self.filled[s] = 0;
            let mut values = row.unwrap_or([f64::NAN; OBSERVED_COLUMNS.len()]);
            for (c, v) in values.iter_mut().enumerate() {
                let (last, age) = &mut self.known[s][c];
                if v.is_finite() {
                    (*last, *age) = (*v, 0);
                } else {
                    *age = age.saturating_add(1);
                    if last.is_finite() && *age <= self.cfg.max_fill_intervals {
                        *v = *last;
                        self.filled[s] += 1;
                    }
                }
            }
            if values.iter().any(|v| v.is_finite()) {
                *row = Some(values);
            }
        }
        let mut ready = Vec::with_capacity(n);
        let mut cpu_limit = Vec::with_capacity(n);
        for (s, row) in measured.iter().enumerate() {
            let known = row
                .map(|r| r[col::REPLICAS])
                .filter(|v| v.is_finite())
                .map(|v| v.round() as u32);
            let last = self.last.as_ref().map(|o| o.ready[s]);
            ready.push(known.or(last).unwrap_or(self.cfg.bounds[s].0));
            let limit = row
                .map(|r| r[col::CPU_LIMIT])
                .filter(|v| v.is_finite() && *v > 0.0);
            cpu_limit.push(limit.unwrap_or(self.cfg.cpu_limit[s]));
        }
        Observation {
            time_ms,
            interval_ms: self.cfg.interval_ms,
            services: self.cfg.services.clone(),
            operation_names: Vec::new(),
            ready,
            starting: vec![0; n],
            cpu_limit,
            mem_limit: self.cfg.mem_limit.clone(),
            bounds: self.cfg.bounds.clone(),
            rows: measured
                .into_iter()
                .map(|r| r.unwrap_or([f64::NAN; OBSERVED_COLUMNS.len()]))
                .collect(),
            edges: Vec::new(),
            operations: Vec::new(),
            slo: self.cfg.slo,
        }
    }

    fn decide(&mut self, mut obs: Observation) -> Result<&[Recommendation]> {
        // The recommender's bounds are the ones that count.
        obs.bounds = self.cfg.bounds.clone();
        let scaler = match &mut self.scaler {
            Some(s) => s,
            None => self.scaler.insert(self.cfg.scaler.build(&obs)?),
        };
        let actions: Vec<Action> = scaler.decide(&obs);
        let mut out = Vec::with_capacity(obs.len());
        for (s, service) in obs.services.iter().enumerate() {
            let current = obs.replicas(s);
            let (min, max) = self.cfg.bounds[s];
            let acted = actions
                .iter()
                .rev()
                .find(|a| a.service == s)
                .and_then(|a| a.replicas);
            let why = scaler.explain(s);
            let name = scaler.name();
            let (wanted, predicted, mut detail) = match (why, acted) {
                (Some(e), _) => (e.wanted, e.predicted, e.detail),
                (None, Some(r)) => (Some(r), None, format!("{name} asked for {r}")),
                (None, None) => (
                    Some(current),
                    None,
                    format!("{name} kept the current replicas"),
                ),
            };
            let source = if wanted.is_none() {
                Source::Held
            } else {
                Source::Scaler
            };
            // The scaler's action wins over its explanation (it is what it did); both are
            // clamped to the recommender's bounds.
            let asked = acted.or(wanted).unwrap_or(current);
            let (replicas, clamp) = bound(asked, min, max);
            let warning = predicted.and_then(|p| {
                (!p.is_finite() || p < 0.0).then(|| {
                    format!(
                        "service `{service}`: the model predicted {p}; clamped to {replicas} replicas"
                    )
                })
            });
            if self.filled.get(s).is_some_and(|&f| f > 0) {
                detail.push_str(&format!(
                    "; {} missing value(s) filled forward (at most {} interval(s))",
                    self.filled[s], self.cfg.max_fill_intervals
                ));
            }
            if let Some(c) = clamp {
                detail.push_str(&match c {
                    Clamp::Min(m) => format!("; raised to the minimum of {m}"),
                    Clamp::Max(m) => format!("; lowered to the maximum of {m}"),
                });
            }
            out.push(Recommendation {
                service: service.clone(),
                replicas,
                current,
                wanted,
                predicted,
                clamp,
                source,
                detail,
                warning,
                filled: self.filled.get(s).copied().unwrap_or(0),
                time_ms: obs.time_ms,
            });
        }
        self.last = Some(obs);
        self.latest = out;
        Ok(&self.latest)
    }
}

/// An error unless `time_ms` is after `last`.
fn check_after(last: Option<i64>, time_ms: i64) -> Result<()> {
    match last {
        Some(last) if time_ms <= last => Err(Error::param(
            "timestamp",
            format!(
                "{} is not after the last observation at {} (timestamps must increase)",
                holoscale_datasets::time::format_ms(time_ms),
                holoscale_datasets::time::format_ms(last)
            ),
        )),
        _ => Ok(()),
    }
}

/// `asked` within `[min, max]`, and the bound that moved it.
fn bound(asked: u32, min: u32, max: u32) -> (u32, Option<Clamp>) {
    if asked < min {
        (min, Some(Clamp::Min(min)))
    } else if asked > max {
        (max, Some(Clamp::Max(max)))
    } else {
        (asked, None)
    }
}
