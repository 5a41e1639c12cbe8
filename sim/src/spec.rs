//! The application spec (SPEC 2.3): services with their resources and latency-load profiles,
//! operations as call trees, the request mix, the end-to-end SLO and the planted latent
//! dependencies. Read from and written to TOML.
//!
//! Call trees use the dotted tags of the Erms span files: a call tagged `1.2` is a child of
//! the call tagged `1`; children of one call with the same `step` run in parallel, and steps
//! run in increasing order, one after the other.
//!
//! ```toml
//! name = "tiny"
//! [slo]
//! percentile = 95.0
//! latency_ms = 200.0
//! [workload]
//! base_rps = 20.0
//! peak_rps = 60.0
//! [[services]]
//! name = "front"
//! cpu_per_request = 0.01
//! [[services]]
//! name = "db"
//! cpu_per_request = 0.004
//! kind = "datastore"
//! [[operations]]
//! name = "read"
//! weight = 1.0
//! calls = [ { tag = "1", service = "front" }, { tag = "1.1", service = "db", step = 1, fanout = 2.0 } ]
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
pub use holoscale_datasets::truth::LatentKind;
use holoscale_datasets::truth::{GroundTruth, TruthEdge, TruthKind};

/// An application: what the simulator runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSpec {
    /// Application name.
    pub name: String,
    /// One line about the application and where its topology comes from.
    #[serde(default)]
    pub description: String,
    /// End-to-end latency objective.
    pub slo: Slo,
    /// Scale of the default workloads.
    pub workload: LoadScale,
    /// Services (deployments).
    pub services: Vec<ServiceSpec>,
    /// User-facing operations with their call trees and request-mix weights.
    pub operations: Vec<OperationSpec>,
    /// Dependencies that are not calls, planted on purpose.
    #[serde(default)]
    pub latent: Vec<LatentSpec>,
}

/// The end-to-end SLO: a latency percentile and its bound.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slo {
    /// Percentile of the end-to-end latency, such as 95.
    pub percentile: f64,
    /// Bound on that percentile, milliseconds.
    pub latency_ms: f64,
}

/// Request rates of the default workloads, requests per second entering the application.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadScale {
    /// Typical low rate.
    pub base_rps: f64,
    /// Typical peak rate.
    pub peak_rps: f64,
}

/// What kind of component a service is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceKind {
    /// A stateless service.
    #[default]
    Service,
    /// A database or cache.
    Datastore,
    /// A message queue.
    Queue,
}

/// A latency-load profile: own response time as a function of the load per replica.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Profile {
    /// Two-piece linear, as fitted by Erms: `base + slope·w` below the knee, then
    /// `steep_slope` per request/s beyond it; `w` in requests per second per replica at the
    /// spec's CPU limit.
    TwoPiece {
        /// Latency at zero load, ms.
        base_ms: f64,
        /// Slope below the knee, ms per (request/s per replica).
        slope_ms: f64,
        /// Per-replica load of the inflection point, requests/s.
        knee_rps: f64,
        /// Slope above the knee, ms per (request/s per replica).
        steep_slope_ms: f64,
    },
    /// An M/M/c queue: exponential service at rate μ = cpu_limit / cpu_per_request per
    /// replica, c = ready replicas.
    Mmc,
}

fn default_cpu_request() -> f64 {
    0.5
}
fn default_cpu_limit() -> f64 {
    1.0
}
fn default_min() -> u32 {
    1
}
fn default_max() -> u32 {
    20
}
fn default_startup() -> f64 {
    10.0
}
fn default_cv() -> f64 {
    0.5
}
fn default_mem_base() -> f64 {
    128.0 * 1024.0 * 1024.0
}
fn default_mem_per_rps() -> f64 {
    1024.0 * 1024.0
}
fn default_mem_limit() -> f64 {
    512.0 * 1024.0 * 1024.0
}
fn default_timeout() -> f64 {
    10.0
}
fn default_util_target() -> f64 {
    0.7
}
fn default_fanout() -> f64 {
    1.0
}
fn default_step() -> u32 {
    1
}
fn default_weight() -> f64 {
    1.0
}
fn default_strength() -> f64 {
    0.5
}

/// One service (a deployment) and its resources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    /// Workload name.
    pub name: String,
    /// Component kind.
    #[serde(default)]
    pub kind: ServiceKind,
    /// CPU request per replica, cores (for cost).
    #[serde(default = "default_cpu_request")]
    pub cpu_request: f64,
    /// CPU limit per replica, cores: with `cpu_per_request`, the replica's capacity.
    #[serde(default = "default_cpu_limit")]
    pub cpu_limit: f64,
    /// Fewest replicas.
    #[serde(default = "default_min")]
    pub min_replicas: u32,
    /// Most replicas.
    #[serde(default = "default_max")]
    pub max_replicas: u32,
    /// CPU time per request of the service's own work, core-seconds.
    pub cpu_per_request: f64,
    /// Latency-load profile; by default two-piece with the service time `cpu_per_request /
    /// cpu_limit` as base, a knee at 70% of capacity where latency is 1.5× the base, and a
    /// ten times steeper slope beyond.
    #[serde(default)]
    pub profile: Option<Profile>,
    /// Coefficient of variation of the own latency (two-piece profiles).
    #[serde(default = "default_cv")]
    pub latency_cv: f64,
    /// Seconds from scale-out to readiness.
    #[serde(default = "default_startup")]
    pub startup_delay_s: f64,
    /// Seconds a request waits in the queue before it fails.
    #[serde(default = "default_timeout")]
    pub timeout_s: f64,
    /// Memory of an idle replica, bytes.
    #[serde(default = "default_mem_base")]
    pub mem_base_bytes: f64,
    /// Extra memory per request/s served, bytes.
    #[serde(default = "default_mem_per_rps")]
    pub mem_per_rps_bytes: f64,
    /// Memory limit per replica, bytes.
    #[serde(default = "default_mem_limit")]
    pub mem_limit_bytes: f64,
    /// Own-latency target for the `optimal_replicas` label, ms; by default the profile's
    /// latency at the knee (two-piece) or at the utilisation target (M/M/c).
    #[serde(default)]
    pub latency_target_ms: Option<f64>,
    /// CPU utilisation the `optimal_replicas` label stays under.
    #[serde(default = "default_util_target")]
    pub util_target: f64,
    /// Replicas at the start; by default those the average default load needs.
    #[serde(default)]
    pub initial_replicas: Option<u32>,
}

impl ServiceSpec {
    /// A service with the defaults and the given per-request CPU time.
    pub fn new(name: &str, cpu_per_request: f64) -> ServiceSpec {
        ServiceSpec {
            name: name.to_string(),
            kind: ServiceKind::Service,
            cpu_request: default_cpu_request(),
            cpu_limit: default_cpu_limit(),
            min_replicas: default_min(),
            max_replicas: default_max(),
            cpu_per_request,
            profile: None,
            latency_cv: default_cv(),
            startup_delay_s: default_startup(),
            timeout_s: default_timeout(),
            mem_base_bytes: default_mem_base(),
            mem_per_rps_bytes: default_mem_per_rps(),
            mem_limit_bytes: default_mem_limit(),
            latency_target_ms: None,
            util_target: default_util_target(),
            initial_replicas: None,
        }
    }

    /// Sets the kind.
    pub fn with_kind(mut self, kind: ServiceKind) -> Self {
        self.kind = kind;
        self
    }

    /// Sets the profile.
    pub fn with_profile(mut self, profile: Profile) -> Self {
        self.profile = Some(profile);
        self
    }

    /// Requests per second one replica serves at full CPU limit.
    pub fn capacity_rps(&self) -> f64 {
        self.cpu_limit / self.cpu_per_request
    }

    /// The profile in use: the given one or the default two-piece profile.
    pub fn effective_profile(&self) -> Profile {
        self.profile.unwrap_or_else(|| {
            let mu = self.capacity_rps();
            let base = 1000.0 * self.cpu_per_request / self.cpu_limit;
            let knee = 0.7 * mu;
            let slope = 0.5 * base / knee;
            Profile::TwoPiece {
                base_ms: base,
                slope_ms: slope,
                knee_rps: knee,
                steep_slope_ms: 10.0 * slope,
            }
        })
    }
}

/// A user-facing operation: its weight in the request mix and its call tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperationSpec {
    /// Operation name.
    pub name: String,
    /// Relative weight in the request mix.
    #[serde(default = "default_weight")]
    pub weight: f64,
    /// The calls of the tree, in any order; exactly one has a tag without a dot (the root).
    pub calls: Vec<CallSpec>,
}

/// One call of an operation's tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallSpec {
    /// Dotted position: `1.2` is a child of `1`.
    pub tag: String,
    /// Called service.
    pub service: String,
    /// Order among the parent's calls: equal steps run in parallel, steps run in sequence.
    #[serde(default = "default_step")]
    pub step: u32,
    /// Mean number of such calls per execution of the parent (0.5: every other time).
    #[serde(default = "default_fanout")]
    pub fanout: f64,
    /// Asynchronous (message queue): adds load, not latency to the caller.
    #[serde(default, rename = "async")]
    pub asynchronous: bool,
}

impl CallSpec {
    /// A synchronous call.
    pub fn new(tag: &str, service: &str, step: u32) -> CallSpec {
        CallSpec {
            tag: tag.to_string(),
            service: service.to_string(),
            step,
            fanout: 1.0,
            asynchronous: false,
        }
    }

    /// Sets the fan-out.
    pub fn fanout(mut self, f: f64) -> Self {
        self.fanout = f;
        self
    }

    /// Marks the call asynchronous.
    pub fn asynchronous(mut self) -> Self {
        self.asynchronous = true;
        self
    }
}

/// A planted latent dependency between two services.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatentSpec {
    /// Kind of dependency.
    pub kind: LatentKind,
    /// The two dependent services.
    pub services: [String; 2],
    /// For `same-action`, the operation; for `shared-datastore`, the datastore service.
    #[serde(default)]
    pub via: Option<String>,
    /// Strength: interference coefficient (co-located: capacity lost per unit of the
    /// partner's CPU utilisation), latency growth per unit of the datastore's utilisation
    /// (shared-datastore), or relative amplitude of the operation's own mix variation
    /// (same-action).
    #[serde(default = "default_strength")]
    pub strength: f64,
    /// For `same-action` only: a second operation that the same user action triggers
    /// `lag_s` seconds later (a follow-up, such as booking after searching). Then
    /// `services[0]` is reached by `via`, `services[1]` by `then`, and `then`'s share of the
    /// mix follows `via`'s own variation with that delay, so the first service's load leads
    /// the second's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub then: Option<String>,
    /// Delay of the follow-up, seconds (with `then`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub lag_s: f64,
    /// For `same-action` only: the memory (time constant of the AR(1) process) of the
    /// operation's own mix variation, seconds. Default 1800: slow drifts of the mix. A
    /// memory shorter than a follow-up's lag makes the first service's load say more
    /// about the second's future than the second's own history does.
    #[serde(
        default = "default_memory_s",
        skip_serializing_if = "is_default_memory_s"
    )]
    pub memory_s: f64,
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

/// Default memory of a same-action mix variation, seconds.
pub const DEFAULT_MEMORY_S: f64 = 1800.0;

fn default_memory_s() -> f64 {
    DEFAULT_MEMORY_S
}

fn is_default_memory_s(v: &f64) -> bool {
    *v == DEFAULT_MEMORY_S
}

impl AppSpec {
    /// Reads a spec from a TOML file and validates it.
    pub fn from_file(path: &Path) -> Result<AppSpec> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "read", e))?;
        AppSpec::from_toml(&text, &path.display().to_string())
    }

    /// Parses and validates TOML; `file` names it in messages.
    pub fn from_toml(text: &str, file: &str) -> Result<AppSpec> {
        let spec: AppSpec = toml::from_str(text).map_err(|e| Error::Spec {
            file: file.to_string(),
            message: e.to_string(),
        })?;
        spec.validate(file)?;
        Ok(spec)
    }

    /// The spec as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("an AppSpec always serialises")
    }

    /// Index of a service by name.
    pub fn service_index(&self, name: &str) -> Option<usize> {
        self.services.iter().position(|s| s.name == name)
    }

    /// Checks names, numbers and trees; errors name the file, service or operation.
    pub fn validate(&self, file: &str) -> Result<()> {
        let bad = |message: String| Error::Spec {
            file: file.to_string(),
            message,
        };
        if self.services.is_empty() || self.operations.is_empty() {
            return Err(bad(
                "an application needs at least one service and one operation".into(),
            ));
        }
        if !(self.slo.latency_ms > 0.0 && self.slo.percentile > 0.0 && self.slo.percentile < 100.0)
        {
            return Err(bad(
                "[slo] needs 0 < percentile < 100 and latency_ms > 0".into()
            ));
        }
        if !(self.workload.base_rps >= 0.0
            && self.workload.peak_rps >= self.workload.base_rps
            && self.workload.peak_rps > 0.0)
        {
            return Err(bad(
                "[workload] needs 0 <= base_rps <= peak_rps and peak_rps > 0".into(),
            ));
        }
        let mut names = BTreeSet::new();
        for s in &self.services {
            let at = |m: &str| bad(format!("service `{}`: {m}", s.name));
            if s.name.is_empty() || !names.insert(s.name.as_str()) {
                return Err(bad(format!(
                    "service name `{}` is empty or repeated",
                    s.name
                )));
            }
            let pos = |v: f64| v.is_finite() && v > 0.0;
            if !pos(s.cpu_per_request) || !pos(s.cpu_limit) || !pos(s.cpu_request) {
                return Err(at(
                    "cpu_per_request, cpu_limit and cpu_request must be positive",
                ));
            }
            if s.min_replicas > s.max_replicas || s.max_replicas == 0 {
                return Err(at(
                    "needs min_replicas <= max_replicas and max_replicas >= 1",
                ));
            }
            if !(s.latency_cv >= 0.0 && s.startup_delay_s >= 0.0 && pos(s.timeout_s)) {
                return Err(at(
                    "latency_cv and startup_delay_s must be >= 0, timeout_s > 0",
                ));
            }
            if !(s.util_target > 0.0 && s.util_target <= 1.0) {
                return Err(at("util_target must be in (0, 1]"));
            }
            if let Some(t) = s.latency_target_ms
                && !pos(t)
            {
                return Err(at("latency_target_ms must be positive"));
            }
            if let Some(Profile::TwoPiece {
                base_ms,
                slope_ms,
                knee_rps,
                steep_slope_ms,
            }) = s.profile
                && !(base_ms > 0.0
                    && slope_ms >= 0.0
                    && knee_rps > 0.0
                    && steep_slope_ms >= slope_ms)
            {
                return Err(at(
                    "a two-piece profile needs base_ms > 0, slope_ms >= 0, knee_rps > 0, steep_slope_ms >= slope_ms",
                ));
            }
        }
        let mut op_names = BTreeSet::new();
        for op in &self.operations {
            if !op_names.insert(op.name.as_str()) {
                return Err(bad(format!("operation `{}` is repeated", op.name)));
            }
            if !(op.weight.is_finite() && op.weight >= 0.0) {
                return Err(bad(format!("operation `{}`: weight must be >= 0", op.name)));
            }
            op.tree(&names)
                .map_err(|m| bad(format!("operation `{}`: {m}", op.name)))?;
        }
        if self.operations.iter().all(|o| o.weight == 0.0) {
            return Err(bad("every operation has weight 0".into()));
        }
        for l in &self.latent {
            for s in &l.services {
                if !names.contains(s.as_str()) {
                    return Err(bad(format!(
                        "latent {}: unknown service `{s}`",
                        l.kind.as_str()
                    )));
                }
            }
            if l.services[0] == l.services[1] {
                return Err(bad(format!(
                    "latent {}: a service depends on itself",
                    l.kind.as_str()
                )));
            }
            if !(l.strength.is_finite() && l.strength >= 0.0 && l.strength < 1.0) {
                return Err(bad(format!(
                    "latent {}: strength must be in [0, 1)",
                    l.kind.as_str()
                )));
            }
            if !(l.memory_s.is_finite() && l.memory_s > 0.0) {
                return Err(bad(format!(
                    "latent {}: memory_s must be a positive number of seconds",
                    l.kind.as_str()
                )));
            }
            match l.kind {
                LatentKind::SameAction => {
                    let op = l
                        .via
                        .as_deref()
                        .and_then(|v| self.operations.iter().find(|o| o.name == v));
                    let Some(op) = op else {
                        return Err(bad(
                            "latent same-action: `via` must name an operation".into()
                        ));
                    };
                    // Without a follow-up both services are reached by `via`; with one, the
                    // second is reached by `then`.
                    let second = match l.then.as_deref() {
                        None => op,
                        Some(t) => {
                            let Some(then) = self.operations.iter().find(|o| o.name == t) else {
                                return Err(bad(format!(
                                    "latent same-action: `then` names no operation (`{t}`)"
                                )));
                            };
                            if !(l.lag_s.is_finite() && l.lag_s > 0.0) {
                                return Err(bad(
                                    "latent same-action: a follow-up (`then`) needs `lag_s` > 0"
                                        .into(),
                                ));
                            }
                            then
                        }
                    };
                    for (s, op) in l.services.iter().zip([op, second]) {
                        if !op.calls.iter().any(|c| &c.service == s) {
                            return Err(bad(format!(
                                "latent same-action: operation `{}` does not reach `{s}`",
                                op.name
                            )));
                        }
                    }
                }
                LatentKind::SharedDatastore => {
                    let Some(ds) = l.via.as_deref().filter(|v| names.contains(v)) else {
                        return Err(bad(
                            "latent shared-datastore: `via` must name the datastore service".into(),
                        ));
                    };
                    for s in &l.services {
                        let calls = self.operations.iter().any(|op| {
                            let tree = op.tree(&names).expect("validated above");
                            tree.iter().any(|n| {
                                n.service == ds && n.parent.is_some_and(|p| tree[p].service == *s)
                            })
                        });
                        if !calls {
                            return Err(bad(format!(
                                "latent shared-datastore: `{s}` never calls `{ds}`"
                            )));
                        }
                    }
                }
                LatentKind::CoLocated => {}
            }
        }
        Ok(())
    }

    /// Every (caller, callee) pair of the call trees, without self-calls, sorted.
    pub fn call_edges(&self) -> Vec<(String, String)> {
        let names: BTreeSet<&str> = self.services.iter().map(|s| s.name.as_str()).collect();
        let mut edges = BTreeSet::new();
        for op in &self.operations {
            let tree = op.tree(&names).expect("a validated spec has valid trees");
            for n in &tree {
                if let Some(p) = n.parent
                    && tree[p].service != n.service
                {
                    edges.insert((tree[p].service.clone(), n.service.clone()));
                }
            }
        }
        edges.into_iter().collect()
    }

    /// The ground truth of the application: its call edges (sorted) and its planted latent
    /// dependencies (in spec order), each with its kind.
    pub fn ground_truth(&self) -> GroundTruth {
        let mut edges: Vec<TruthEdge> = self
            .call_edges()
            .into_iter()
            .map(|(s, d)| TruthEdge {
                source: s,
                destination: d,
                kind: TruthKind::Call,
                via: None,
            })
            .collect();
        edges.extend(self.latent.iter().map(|l| TruthEdge {
            source: l.services[0].clone(),
            destination: l.services[1].clone(),
            kind: TruthKind::Latent(l.kind),
            via: l.via.clone(),
        }));
        GroundTruth { edges }
    }
}

/// A call of a parsed tree.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeNode {
    /// Called service.
    pub service: String,
    /// Parent position in the tree vector (`None` for the root).
    pub parent: Option<usize>,
    /// Step among the parent's calls.
    pub step: u32,
    /// Mean calls per parent execution.
    pub fanout: f64,
    /// Asynchronous call.
    pub asynchronous: bool,
    /// Tag.
    pub tag: String,
}

impl OperationSpec {
    /// The tree in pre-order (every parent before its children; siblings by step, then tag).
    pub fn tree(&self, services: &BTreeSet<&str>) -> std::result::Result<Vec<TreeNode>, String> {
        let mut by_tag: BTreeMap<&str, &CallSpec> = BTreeMap::new();
        for c in &self.calls {
            if !services.contains(c.service.as_str()) {
                return Err(format!(
                    "call `{}` names unknown service `{}`",
                    c.tag, c.service
                ));
            }
            if !(c.fanout.is_finite() && c.fanout > 0.0) || c.step == 0 {
                return Err(format!(
                    "call `{}`: fanout must be > 0 and step >= 1",
                    c.tag
                ));
            }
            if c.tag.is_empty() || c.tag.split('.').any(|p| p.is_empty()) {
                return Err(format!(
                    "call tag `{}` is not a dotted path such as 1.2",
                    c.tag
                ));
            }
            if by_tag.insert(c.tag.as_str(), c).is_some() {
                return Err(format!("call tag `{}` is repeated", c.tag));
            }
        }
        let roots: Vec<&str> = by_tag
            .keys()
            .copied()
            .filter(|t| !t.contains('.'))
            .collect();
        if roots.len() != 1 {
            return Err(format!(
                "needs exactly one root call (a tag without a dot), found {}",
                roots.len()
            ));
        }
        let mut children: BTreeMap<&str, Vec<&CallSpec>> = BTreeMap::new();
        for (tag, c) in &by_tag {
            if let Some((parent, _)) = tag.rsplit_once('.') {
                if !by_tag.contains_key(parent) {
                    return Err(format!("call `{tag}` has no parent call `{parent}`"));
                }
                children.entry(parent).or_default().push(c);
            }
        }
        let mut out = Vec::with_capacity(by_tag.len());
        let mut stack: Vec<(&CallSpec, Option<usize>)> = vec![(by_tag[roots[0]], None)];
        while let Some((c, parent)) = stack.pop() {
            let idx = out.len();
            out.push(TreeNode {
                service: c.service.clone(),
                parent,
                step: c.step,
                fanout: c.fanout,
                asynchronous: c.asynchronous,
                tag: c.tag.clone(),
            });
            if let Some(kids) = children.get(c.tag.as_str()) {
                let mut kids = kids.clone();
                kids.sort_by(|a, b| (a.step, &a.tag).cmp(&(b.step, &b.tag)));
                for k in kids.into_iter().rev() {
                    stack.push((k, Some(idx)));
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TINY: &str = r#"
name = "tiny"
[slo]
percentile = 95.0
latency_ms = 200.0
[workload]
base_rps = 20.0
peak_rps = 60.0
[[services]]
name = "front"
cpu_per_request = 0.01
[[services]]
name = "a"
cpu_per_request = 0.01
[[services]]
name = "db"
cpu_per_request = 0.004
kind = "datastore"
profile = { model = "mmc" }
[[operations]]
name = "read"
calls = [
  { tag = "1", service = "front" },
  { tag = "1.2", service = "db", step = 2, fanout = 2.0 },
  { tag = "1.1", service = "a", step = 1 },
  { tag = "1.1.1", service = "db" },
]
[[latent]]
kind = "shared-datastore"
services = ["front", "a"]
via = "db"
"#;

    #[test]
    fn toml_round_trip_and_tree_order() {
        let spec = AppSpec::from_toml(TINY, "tiny.toml").unwrap();
        let back = AppSpec::from_toml(&spec.to_toml(), "again").unwrap();
        assert_eq!(spec, back);
        let names = spec.services.iter().map(|s| s.name.as_str()).collect();
        let tree = spec.operations[0].tree(&names).unwrap();
        let tags: Vec<&str> = tree.iter().map(|n| n.tag.as_str()).collect();
        assert_eq!(tags, ["1", "1.1", "1.1.1", "1.2"]);
        assert_eq!(tree[3].parent, Some(0));
        assert_eq!(
            spec.call_edges(),
            [
                ("a".into(), "db".into()),
                ("front".into(), "a".into()),
                ("front".into(), "db".into())
            ]
        );
        assert_eq!(spec.services[2].effective_profile(), Profile::Mmc);
        assert!(matches!(
            spec.services[0].effective_profile(),
            Profile::TwoPiece { .. }
        ));
    }

    #[test]
    fn bad_specs_name_the_problem() {
        let err = |text: &str| AppSpec::from_toml(text, "x.toml").unwrap_err().to_string();
        let e = err(&TINY.replace(
            r#"{ tag = "1.1.1", service = "db" }"#,
            r#"{ tag = "1.3.1", service = "db" }"#,
        ));
        assert!(
            e.contains("x.toml") && e.contains("`read`") && e.contains("no parent call `1.3`"),
            "{e}"
        );
        let e = err(&TINY.replace(
            r#"service = "a", step = 1"#,
            r#"service = "nope", step = 1"#,
        ));
        assert!(e.contains("unknown service `nope`"), "{e}");
        let e = err(&TINY.replace("cpu_per_request = 0.004", "cpu_per_request = -1.0"));
        assert!(e.contains("service `db`") && e.contains("positive"), "{e}");
        let e = err(&TINY.replace(r#"via = "db""#, r#"via = "a""#));
        assert!(e.contains("never calls `a`"), "{e}");
        let e = err(&TINY.replace("[slo]", "[slo]\ncolour = 1"));
        assert!(e.contains("colour"), "{e}");
    }

    #[test]
    fn follow_up_same_action_is_validated() {
        let follow = TINY.to_string()
            + r#"
[[operations]]
name = "later"
calls = [{ tag = "1", service = "a" }]
[[latent]]
kind = "same-action"
services = ["front", "a"]
via = "read"
then = "later"
lag_s = 300.0
"#;
        let spec = AppSpec::from_toml(&follow, "f.toml").unwrap();
        assert_eq!(spec.latent[1].then.as_deref(), Some("later"));
        let back = AppSpec::from_toml(&spec.to_toml(), "again").unwrap();
        assert_eq!(spec, back);
        let err = |text: &str| AppSpec::from_toml(text, "f.toml").unwrap_err().to_string();
        let e = err(&follow.replace("lag_s = 300.0", "lag_s = 0.0"));
        assert!(e.contains("needs `lag_s` > 0"), "{e}");
        let e = err(&follow.replace(r#"then = "later""#, r#"then = "never""#));
        assert!(e.contains("`then` names no operation (`never`)"), "{e}");
        let e = err(&follow.replace(
            "services = [\"front\", \"a\"]\nvia = \"read\"",
            "services = [\"a\", \"db\"]\nvia = \"read\"",
        ));
        assert!(e.contains("operation `later` does not reach `db`"), "{e}");
        // The shipped test application validates.
        let shop = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/data/follow-up-shop.toml");
        let shop = AppSpec::from_file(&shop).unwrap();
        assert_eq!(shop.latent[0].lag_s, 600.0);
        assert_eq!(shop.latent[0].memory_s, DEFAULT_MEMORY_S);
        // A memory of its own round-trips; a memory that is not positive is refused.
        let quick = follow.replace("lag_s = 300.0", "lag_s = 300.0\nmemory_s = 90.0");
        let spec = AppSpec::from_toml(&quick, "f.toml").unwrap();
        assert_eq!(spec.latent[1].memory_s, 90.0);
        assert!(spec.to_toml().contains("memory_s = 90.0"));
        assert_eq!(AppSpec::from_toml(&spec.to_toml(), "again").unwrap(), spec);
        let e = err(&quick.replace("memory_s = 90.0", "memory_s = 0.0"));
        assert!(e.contains("memory_s must be a positive"), "{e}");
    }
}
