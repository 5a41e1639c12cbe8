//! Telemetry and call edges from Prometheus (SPEC section 8).
//!
//! [`parse_query_range`] reads the JSON of the HTTP API's `query_range` (values are strings;
//! `NaN`, `+Inf` and `-Inf` occur; series can be missing). [`Client`] fetches it from a live
//! server, splitting long ranges so that no request asks for more than
//! [`MAX_POINTS_PER_REQUEST`] points per series. [`import`] runs one query per telemetry
//! column and one for the call edges, from templates in which `$ns` is the namespace and `$w`
//! the rate window; [`Queries::from_toml`] overrides them from a config file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use ndarray::Array3;
use serde::Deserialize;
use serde_json::Value;

use super::Progress;
use crate::edges::{CallEdge, CallEdges};
use crate::error::{Error, Result};
use crate::schema;
use crate::telemetry::Telemetry;

/// Prometheus refuses more than 11,000 points per series in one `query_range`.
pub const MAX_POINTS_PER_REQUEST: i64 = 10_000;

/// Default rate window (`$w`).
pub const DEFAULT_WINDOW: &str = "1m";

/// One series of a `query_range` answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The series labels.
    pub labels: BTreeMap<String, String>,
    /// (time in ms since the epoch, value) pairs; `NaN` and infinities are kept.
    pub points: Vec<(i64, f64)>,
}

/// Parses the JSON answer of `/api/v1/query_range`. `source` names it in messages.
pub fn parse_query_range(json: &str, source: &str) -> Result<Vec<Series>> {
    let bad = |message: String| Error::Prometheus {
        url: source.to_string(),
        message,
    };
    let v: Value =
        serde_json::from_str(json).map_err(|e| bad(format!("answer is not JSON: {e}")))?;
    match v.get("status").and_then(Value::as_str) {
        Some("success") => {}
        Some("error") => {
            let kind = v
                .get("errorType")
                .and_then(Value::as_str)
                .unwrap_or("error");
            let msg = v
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("(no message)");
            return Err(bad(format!("query failed ({kind}): {msg}")));
        }
        _ => {
            return Err(bad(
                "answer has no `status`; is this a Prometheus API URL?".into()
            ));
        }
    }
    let data = v
        .get("data")
        .ok_or_else(|| bad("answer has no `data`".into()))?;
    match data.get("resultType").and_then(Value::as_str) {
        Some("matrix") => {}
        other => {
            return Err(bad(format!(
                "expected a range result (`matrix`), got {}",
                other.unwrap_or("nothing")
            )));
        }
    }
    let result = data
        .get("result")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("`data.result` is not a list".into()))?;
    result
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let labels = s
                .get("metric")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                        .collect()
                })
                .unwrap_or_default();
            let values = s
                .get("values")
                .and_then(Value::as_array)
                .ok_or_else(|| bad(format!("series {i} has no `values` list")))?;
            let points = values
                .iter()
                .map(|p| {
                    parse_point(p).ok_or_else(|| bad(format!("series {i}: malformed point {p}")))
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(Series { labels, points })
        })
        .collect()
}

fn parse_point(p: &Value) -> Option<(i64, f64)> {
    let arr = p.as_array()?;
    let t = arr.first()?.as_f64()?;
    let v = match arr.get(1)? {
        Value::String(s) => parse_value(s)?,
        Value::Number(n) => n.as_f64()?,
        _ => return None,
    };
    Some(((t * 1000.0).round() as i64, v))
}

/// Prometheus value text: decimal numbers, `NaN`, `+Inf`, `-Inf`.
fn parse_value(s: &str) -> Option<f64> {
    match s {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => s.parse().ok(),
    }
}

/// A query giving one telemetry column: one series per service, named by `label`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ColumnQuery {
    /// PromQL template (`$ns`, `$w`).
    pub query: String,
    /// Label holding the service name.
    pub label: String,
}

/// The query giving call edges: one series per (source, destination).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EdgeQuery {
    /// PromQL template for the request rate.
    pub query: String,
    /// Optional PromQL template for the mean latency of the calls.
    #[serde(default)]
    pub latency_query: Option<String>,
    /// Label holding the calling service.
    pub source_label: String,
    /// Label holding the called service.
    pub destination_label: String,
}

/// The queries of an import: telemetry columns and call edges.
#[derive(Debug, Clone, PartialEq)]
pub struct Queries {
    /// Column name to query.
    pub columns: BTreeMap<String, ColumnQuery>,
    /// Call edges, when wanted.
    pub edges: Option<EdgeQuery>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QueriesFile {
    #[serde(default)]
    replace_defaults: bool,
    #[serde(default)]
    columns: BTreeMap<String, ColumnEntry>,
    #[serde(default)]
    edges: Option<EdgeEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ColumnEntry {
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    disable: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EdgeEntry {
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    latency_query: Option<String>,
    #[serde(default)]
    source_label: Option<String>,
    #[serde(default)]
    destination_label: Option<String>,
    #[serde(default)]
    disable: bool,
}

impl Default for Queries {
    /// The Istio + cAdvisor templates of SPEC section 8.
    fn default() -> Self {
        let istio = |metric: &str, extra: &str| {
            format!(
                r#"{metric}{{reporter="destination",destination_workload_namespace="$ns"{extra}}}"#
            )
        };
        let cad =
            |metric: &str| format!(r#"{metric}{{namespace="$ns",container!="",container!="POD"}}"#);
        let by_dst = |expr: String| format!("sum by (destination_workload)({expr})");
        let by_ctr = |agg: &str, expr: String| format!("{agg} by (container)({expr})");
        let cpu_rate = format!("rate({}[$w])", cad("container_cpu_usage_seconds_total"));
        let cpu_limit = format!(
            "{} / {}",
            cad("container_spec_cpu_quota"),
            cad("container_spec_cpu_period")
        );
        let q = |query: String, label: &str| ColumnQuery {
            query,
            label: label.into(),
        };
        let dst = "destination_workload";
        let ctr = "container";
        let mut columns = BTreeMap::new();
        columns.insert(
            schema::REQ_RATE.into(),
            q(
                by_dst(format!("rate({}[$w])", istio("istio_requests_total", ""))),
                dst,
            ),
        );
        columns.insert(
            schema::ERRORS_RATE.into(),
            q(
                by_dst(format!(
                    "rate({}[$w])",
                    istio("istio_requests_total", r#",response_code=~"5..""#)
                )),
                dst,
            ),
        );
        columns.insert(
            schema::LATENCY_MS.into(),
            q(
                format!(
                    "{} / {}",
                    by_dst(format!(
                        "rate({}[$w])",
                        istio("istio_request_duration_milliseconds_sum", "")
                    )),
                    by_dst(format!(
                        "rate({}[$w])",
                        istio("istio_request_duration_milliseconds_count", "")
                    ))
                ),
                dst,
            ),
        );
        for (col, quantile) in [
            (schema::LATENCY_P95_MS, "0.95"),
            (schema::LATENCY_P99_MS, "0.99"),
        ] {
            columns.insert(
                col.into(),
                q(
                    format!(
                        "histogram_quantile({quantile}, sum by (destination_workload, le)(rate({}[$w])))",
                        istio("istio_request_duration_milliseconds_bucket", "")
                    ),
                    dst,
                ),
            );
        }
        columns.insert(
            schema::CPU_CORES.into(),
            q(by_ctr("sum", cpu_rate.clone()), ctr),
        );
        columns.insert(
            schema::CPU_LIMIT_CORES.into(),
            q(by_ctr("max", cpu_limit.clone()), ctr),
        );
        columns.insert(
            schema::CPU_UTIL.into(),
            q(
                format!("{} / {}", by_ctr("sum", cpu_rate), by_ctr("sum", cpu_limit)),
                ctr,
            ),
        );
        columns.insert(
            schema::REPLICAS.into(),
            q(by_ctr("count", cad("container_spec_cpu_period")), ctr),
        );
        columns.insert(
            schema::MEM_BYTES.into(),
            q(
                by_ctr("sum", cad("container_memory_working_set_bytes")),
                ctr,
            ),
        );
        columns.insert(
            schema::MEM_UTIL.into(),
            q(
                format!(
                    "{} / {}",
                    by_ctr("sum", cad("container_memory_working_set_bytes")),
                    by_ctr("sum", cad("container_spec_memory_limit_bytes"))
                ),
                ctr,
            ),
        );
        let src_sel = |metric: &str| {
            format!(
                r#"sum by (source_workload, destination_workload)(rate({metric}{{reporter="source",source_workload_namespace="$ns"}}[$w]))"#
            )
        };
        let edges = EdgeQuery {
            query: src_sel("istio_requests_total"),
            latency_query: Some(format!(
                "{} / {}",
                src_sel("istio_request_duration_milliseconds_sum"),
                src_sel("istio_request_duration_milliseconds_count")
            )),
            source_label: "source_workload".into(),
            destination_label: "destination_workload".into(),
        };
        Queries {
            columns,
            edges: Some(edges),
        }
    }
}

impl Queries {
    /// Reads a TOML file of overrides (see [`Queries::from_toml`]).
    pub fn from_file(path: &Path) -> Result<Queries> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "read", e))?;
        Queries::from_toml(&text, &path.display().to_string())
    }

    /// Applies TOML overrides to the default templates.
    ///
    /// ```toml
    /// replace_defaults = false        # true: start from no queries at all
    /// [columns.req_rate]
    /// query = 'sum by (app)(rate(http_requests_total{namespace="$ns"}[$w]))'
    /// label = "app"
    /// [columns.latency_p99_ms]
    /// disable = true
    /// [edges]
    /// query = '...'
    /// source_label = "source_workload"
    /// destination_label = "destination_workload"
    /// ```
    pub fn from_toml(text: &str, file: &str) -> Result<Queries> {
        let parsed: QueriesFile = toml::from_str(text).map_err(|e| Error::Config {
            file: file.to_string(),
            message: e.to_string(),
        })?;
        let mut out = if parsed.replace_defaults {
            Queries {
                columns: BTreeMap::new(),
                edges: None,
            }
        } else {
            Queries::default()
        };
        for (column, entry) in parsed.columns {
            if column == schema::TIMESTAMP || column == schema::SERVICE {
                return Err(Error::Config {
                    file: file.to_string(),
                    message: format!("`{column}` is a key column, not a metric"),
                });
            }
            if entry.disable {
                out.columns.remove(&column);
                continue;
            }
            let base = out.columns.get(&column).cloned();
            let query = entry.query.or(base.as_ref().map(|b| b.query.clone()));
            let label = entry.label.or(base.map(|b| b.label));
            match (query, label) {
                (Some(query), Some(label)) => {
                    out.columns.insert(column, ColumnQuery { query, label });
                }
                _ => {
                    return Err(Error::Config {
                        file: file.to_string(),
                        message: format!("[columns.{column}] needs both `query` and `label`"),
                    });
                }
            }
        }
        if let Some(e) = parsed.edges {
            if e.disable {
                out.edges = None;
            } else {
                let base = out.edges.clone();
                let pick = |v: Option<String>, b: Option<String>, key: &str| {
                    v.or(b).ok_or_else(|| Error::Config {
                        file: file.to_string(),
                        message: format!("[edges] needs `{key}`"),
                    })
                };
                out.edges = Some(EdgeQuery {
                    query: pick(e.query, base.as_ref().map(|b| b.query.clone()), "query")?,
                    latency_query: e
                        .latency_query
                        .or(base.as_ref().and_then(|b| b.latency_query.clone())),
                    source_label: pick(
                        e.source_label,
                        base.as_ref().map(|b| b.source_label.clone()),
                        "source_label",
                    )?,
                    destination_label: pick(
                        e.destination_label,
                        base.as_ref().map(|b| b.destination_label.clone()),
                        "destination_label",
                    )?,
                });
            }
        }
        if out.columns.is_empty() {
            return Err(Error::Config {
                file: file.to_string(),
                message: "no column queries left; telemetry needs at least one".into(),
            });
        }
        Ok(out)
    }
}

/// Fills `$ns` and `$w` into a template.
pub fn render(template: &str, namespace: &str, window: &str) -> String {
    template.replace("$ns", namespace).replace("$w", window)
}

/// The time range of an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// First sample, ms since the epoch.
    pub start_ms: i64,
    /// Last sample (inclusive), ms since the epoch.
    pub end_ms: i64,
    /// Resolution, ms.
    pub step_ms: i64,
}

impl Range {
    /// Checks the range.
    pub fn try_new(start_ms: i64, end_ms: i64, step_ms: i64) -> Result<Range> {
        if step_ms <= 0 {
            return Err(Error::param("step_ms", "must be positive"));
        }
        if end_ms < start_ms {
            return Err(Error::param("end_ms", "must not be before `start_ms`"));
        }
        Ok(Range {
            start_ms,
            end_ms,
            step_ms,
        })
    }

    /// Number of samples.
    pub fn steps(&self) -> usize {
        ((self.end_ms - self.start_ms) / self.step_ms + 1) as usize
    }

    /// Sub-ranges of at most [`MAX_POINTS_PER_REQUEST`] samples.
    pub fn chunks(&self) -> Vec<Range> {
        let span = MAX_POINTS_PER_REQUEST * self.step_ms;
        let mut out = Vec::new();
        let mut s = self.start_ms;
        while s <= self.end_ms {
            let e = (s + span - self.step_ms).min(self.end_ms);
            out.push(Range {
                start_ms: s,
                end_ms: e,
                step_ms: self.step_ms,
            });
            s = e + self.step_ms;
        }
        out
    }
}

/// A client of one Prometheus server's HTTP API.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    agent: ureq::Agent,
}

impl Client {
    /// A client for `base_url` (such as `http://prometheus:9090`) with a per-request timeout.
    pub fn new(base_url: &str, timeout: Duration) -> Client {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .into();
        Client {
            base: base_url.trim_end_matches('/').to_string(),
            agent,
        }
    }

    /// The server's base URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// Runs `query_range` over `range`, in chunks the server accepts, joining the series.
    pub fn query_range(&self, query: &str, range: &Range) -> Result<Vec<Series>> {
        let url = format!("{}/api/v1/query_range", self.base);
        let mut joined: BTreeMap<BTreeMap<String, String>, Vec<(i64, f64)>> = BTreeMap::new();
        for chunk in range.chunks() {
            let fail = |message: String| Error::Prometheus {
                url: url.clone(),
                message,
            };
            let secs = |ms: i64| format!("{:.3}", ms as f64 / 1000.0);
            let mut resp = self
                .agent
                .get(&url)
                .query("query", query)
                .query("start", secs(chunk.start_ms))
                .query("end", secs(chunk.end_ms))
                .query("step", secs(chunk.step_ms))
                .call()
                .map_err(|e| fail(format!("request failed: {e}")))?;
            let status = resp.status().as_u16();
            let body = resp
                .body_mut()
                .with_config()
                .limit(1 << 30)
                .read_to_string()
                .map_err(|e| fail(format!("reading the answer failed: {e}")))?;
            if status != 200 && !body.trim_start().starts_with('{') {
                return Err(fail(format!("HTTP {status}: {}", body.trim())));
            }
            for s in parse_query_range(&body, &format!("{url} ({query})"))? {
                joined.entry(s.labels).or_default().extend(s.points);
            }
        }
        Ok(joined
            .into_iter()
            .map(|(labels, points)| Series { labels, points })
            .collect())
    }
}

/// What an import produced.
#[derive(Debug, Clone)]
pub struct Import {
    /// The telemetry.
    pub telemetry: Telemetry,
    /// The call edges (empty when no edge query was run).
    pub edges: CallEdges,
    /// Notes for the user: queries that returned nothing, series without the service label.
    pub notes: Vec<String>,
}

/// Runs every query of `queries` against `client` and assembles telemetry and call edges.
pub fn import(
    client: &Client,
    queries: &Queries,
    namespace: &str,
    window: &str,
    range: &Range,
    progress: &dyn Progress,
) -> Result<Import> {
    import_bounded(client, queries, namespace, window, range, None, progress)
}

/// Bytes one imported value takes in memory: a parsed sample (time and value) and its
/// cell of the dense telemetry.
pub const BYTES_PER_VALUE: u64 = 25;

/// [`import`], refusing an import that would hold more than `max_bytes` in memory: after
/// the first query answers, the services it returned fix the size (range steps × services
/// × columns × [`BYTES_PER_VALUE`]), and nothing more is asked beyond the limit.
pub fn import_bounded(
    client: &Client,
    queries: &Queries,
    namespace: &str,
    window: &str,
    range: &Range,
    max_bytes: Option<u64>,
    progress: &dyn Progress,
) -> Result<Import> {
    let total = queries.columns.len() as u64
        + queries
            .edges
            .as_ref()
            .map_or(0, |e| 1 + e.latency_query.is_some() as u64);
    progress.begin("querying Prometheus", Some(total));
    let mut results = Vec::new();
    for (column, q) in &queries.columns {
        let series = client.query_range(&render(&q.query, namespace, window), range)?;
        if let Some(max) = max_bytes {
            let need = (range.steps() as u64)
                .saturating_mul(series.len() as u64)
                .saturating_mul(queries.columns.len() as u64)
                .saturating_mul(BYTES_PER_VALUE);
            if need > max {
                return Err(Error::param(
                    "max_bytes",
                    format!(
                        "{} steps of {} series ({column}) for {} columns need about {} MiB, more than the limit of {} MiB; import a shorter range or a coarser step",
                        range.steps(),
                        series.len(),
                        queries.columns.len(),
                        need >> 20,
                        max >> 20
                    ),
                ));
            }
        }
        results.push((column.clone(), q.label.clone(), series));
        progress.advance(1);
    }
    let mut edge_series = None;
    if let Some(e) = &queries.edges {
        let rate = client.query_range(&render(&e.query, namespace, window), range)?;
        progress.advance(1);
        let lat = match &e.latency_query {
            Some(l) => {
                let s = client.query_range(&render(l, namespace, window), range)?;
                progress.advance(1);
                s
            }
            None => Vec::new(),
        };
        edge_series = Some((e, rate, lat));
    }
    progress.finish();
    let source = format!("prometheus {} (namespace {namespace})", client.url());
    let (telemetry, mut notes) = telemetry_from_series(&source, range, results)?;
    let edges = match edge_series {
        Some((e, rate, lat)) => {
            let (edges, n) =
                edges_from_series(&source, &e.source_label, &e.destination_label, rate, lat)?;
            notes.extend(n);
            edges
        }
        None => CallEdges::default(),
    };
    Ok(Import {
        telemetry,
        edges,
        notes,
    })
}

/// Assembles telemetry from per-column query results `(column, service label, series)`.
///
/// Samples land on the range's grid (nearest step). A query without any series gives no
/// column (noted); a service missing from one query has that column missing.
pub fn telemetry_from_series(
    source: &str,
    range: &Range,
    results: Vec<(String, String, Vec<Series>)>,
) -> Result<(Telemetry, Vec<String>)> {
    let mut notes = Vec::new();
    let mut services = BTreeSet::new();
    let mut kept = Vec::new();
    for (column, label, series) in results {
        if series.is_empty() {
            notes.push(format!(
                "query for `{column}` returned no series; column left out"
            ));
            continue;
        }
        let mut per_service: Vec<(String, Vec<(i64, f64)>)> = Vec::new();
        let mut unlabeled = 0;
        for s in series {
            match s.labels.get(&label).filter(|v| !v.is_empty()) {
                Some(name) => {
                    services.insert(name.clone());
                    per_service.push((name.clone(), s.points));
                }
                None => unlabeled += 1,
            }
        }
        if unlabeled > 0 {
            notes.push(format!(
                "query for `{column}`: {unlabeled} series without label `{label}` ignored"
            ));
        }
        if !per_service.is_empty() {
            kept.push((column, per_service));
        }
    }
    if kept.is_empty() {
        return Err(Error::Empty {
            file: source.to_string(),
            message:
                "no query returned any series: check the URL, the namespace and the time range"
                    .into(),
        });
    }
    let services: Vec<String> = services.into_iter().collect();
    let index: BTreeMap<&str, usize> = services
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), i))
        .collect();
    let t_len = range.steps();
    let mut values = Array3::from_elem((t_len, services.len(), kept.len()), f64::NAN);
    let mut observed = Array3::from_elem(values.dim(), false);
    for (c, (_, per_service)) in kept.iter().enumerate() {
        for (name, points) in per_service {
            let n = index[name.as_str()];
            for &(ts, v) in points {
                let d = ts - range.start_ms;
                let t = (d as f64 / range.step_ms as f64).round();
                if t < 0.0 || t as usize >= t_len {
                    continue;
                }
                values[[t as usize, n, c]] = v;
                observed[[t as usize, n, c]] = true;
            }
        }
    }
    let columns = kept.into_iter().map(|(c, _)| c).collect();
    let tel = Telemetry::try_with_mask(
        source,
        range.start_ms,
        range.step_ms,
        services,
        columns,
        values,
        observed,
    )?;
    Ok((tel, notes))
}

/// Assembles time-stamped call edges from the rate and latency series of the edge queries.
pub fn edges_from_series(
    source: &str,
    source_label: &str,
    destination_label: &str,
    rate: Vec<Series>,
    latency: Vec<Series>,
) -> Result<(CallEdges, Vec<String>)> {
    let mut notes = Vec::new();
    let key = |s: &Series| -> Option<(String, String)> {
        Some((
            s.labels
                .get(source_label)
                .filter(|v| !v.is_empty())?
                .clone(),
            s.labels
                .get(destination_label)
                .filter(|v| !v.is_empty())?
                .clone(),
        ))
    };
    let mut lat: BTreeMap<(String, String, i64), f64> = BTreeMap::new();
    for s in &latency {
        if let Some((a, b)) = key(s) {
            for &(t, v) in &s.points {
                if v.is_finite() {
                    lat.insert((a.clone(), b.clone(), t), v);
                }
            }
        }
    }
    let mut edges = Vec::new();
    let mut names = crate::edges::Names::default();
    let (mut unlabeled, mut dropped) = (0, 0);
    for s in &rate {
        let Some((a, b)) = key(s) else {
            unlabeled += 1;
            continue;
        };
        for &(t, v) in &s.points {
            if !(v.is_finite() && v >= 0.0) {
                dropped += 1;
                continue;
            }
            edges.push(CallEdge {
                timestamp_ms: Some(t),
                latency_ms: lat.get(&(a.clone(), b.clone(), t)).copied(),
                source: names.get(&a),
                destination: names.get(&b),
                req_rate: v,
            });
        }
    }
    if unlabeled > 0 {
        notes.push(format!(
            "edge query: {unlabeled} series without `{source_label}` or `{destination_label}` ignored (calls from outside the mesh)"
        ));
    }
    if dropped > 0 {
        notes.push(format!(
            "edge query: {dropped} NaN, infinite or negative rate samples dropped"
        ));
    }
    edges.sort_by(|x, y| {
        (x.timestamp_ms, &x.source, &x.destination).cmp(&(
            y.timestamp_ms,
            &y.source,
            &y.destination,
        ))
    });
    Ok((CallEdges::try_new(source, edges)?, notes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANSWER: &str = r#"{"status":"success","data":{"resultType":"matrix","result":[
        {"metric":{"destination_workload":"cart"},"values":[[1700000000,"1.5"],[1700000030,"NaN"],[1700000060,"+Inf"]]},
        {"metric":{"destination_workload":"frontend"},"values":[[1700000030.000,"-Inf"],[1700000060,"2e3"]]},
        {"metric":{},"values":[[1700000000,"7"]]}
    ]}}"#;

    #[test]
    fn parses_strings_and_special_values() {
        let s = parse_query_range(ANSWER, "test").unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].labels["destination_workload"], "cart");
        assert_eq!(s[0].points[0], (1_700_000_000_000, 1.5));
        assert!(s[0].points[1].1.is_nan());
        assert_eq!(s[0].points[2].1, f64::INFINITY);
        assert_eq!(s[1].points[0].1, f64::NEG_INFINITY);
        assert_eq!(s[1].points[1].1, 2000.0);
    }

    #[test]
    fn error_answers_are_reported() {
        let err = parse_query_range(
            r#"{"status":"error","errorType":"bad_data","error":"parse error at char 5"}"#,
            "http://p/api",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("bad_data") && err.contains("char 5") && err.contains("http://p/api"),
            "{err}"
        );
        assert!(
            parse_query_range("<html>", "u")
                .unwrap_err()
                .to_string()
                .contains("not JSON")
        );
        let vector = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
        assert!(
            parse_query_range(vector, "u")
                .unwrap_err()
                .to_string()
                .contains("matrix")
        );
    }

    #[test]
    fn series_become_telemetry_with_missing_series() {
        let range = Range::try_new(1_700_000_000_000, 1_700_000_060_000, 30_000).unwrap();
        let rate = parse_query_range(ANSWER, "t").unwrap();
        let (tel, notes) = telemetry_from_series(
            "t",
            &range,
            vec![
                ("req_rate".into(), "destination_workload".into(), rate),
                ("replicas".into(), "container".into(), vec![]),
            ],
        )
        .unwrap();
        assert_eq!(tel.services(), ["cart", "frontend"]);
        assert_eq!(tel.columns(), ["req_rate"]);
        assert_eq!(tel.len(), 3);
        assert_eq!(tel.values()[[0, 0, 0]], 1.5);
        assert!(
            !tel.observed()[[0, 1, 0]],
            "frontend has no sample at the first step"
        );
        assert!(
            tel.observed()[[1, 0, 0]],
            "an explicit NaN is observed (and reported later)"
        );
        assert_eq!(notes.len(), 2, "{notes:?}");
    }

    #[test]
    fn long_ranges_are_chunked() {
        let r = Range::try_new(0, 25_000 * 1000, 1000).unwrap();
        let chunks = r.chunks();
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks.iter().map(Range::steps).sum::<usize>(), r.steps());
        assert_eq!(chunks[1].start_ms, chunks[0].end_ms + 1000);
    }

    #[test]
    fn config_overrides_defaults() {
        let q = Queries::from_toml(
            r#"
            [columns.req_rate]
            query = 'sum by (app)(rate(http_requests_total{namespace="$ns"}[$w]))'
            label = "app"
            [columns.latency_p99_ms]
            disable = true
            [columns.queue_len]
            query = 'sum by (app)(queue_length)'
            label = "app"
            "#,
            "q.toml",
        )
        .unwrap();
        assert_eq!(q.columns["req_rate"].label, "app");
        assert!(!q.columns.contains_key("latency_p99_ms"));
        assert!(q.columns.contains_key("queue_len"));
        assert!(q.columns.contains_key("cpu_cores"));
        assert_eq!(
            render(&q.columns["req_rate"].query, "shop", "2m"),
            r#"sum by (app)(rate(http_requests_total{namespace="shop"}[2m]))"#
        );
        let err = Queries::from_toml("[columns.x]\nquery = 'up'\n", "q.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("q.toml") && err.contains("label"), "{err}");
        let err = Queries::from_toml("colums = 1\n", "q.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("q.toml") && err.contains("colums"), "{err}");
    }

    #[test]
    fn default_templates_follow_the_spec() {
        let q = Queries::default();
        assert_eq!(
            render(&q.columns["req_rate"].query, "ns1", "1m"),
            r#"sum by (destination_workload)(rate(istio_requests_total{reporter="destination",destination_workload_namespace="ns1"}[1m]))"#
        );
        assert!(
            q.columns["replicas"]
                .query
                .starts_with("count by (container)(container_spec_cpu_period{")
        );
        assert_eq!(q.edges.unwrap().source_label, "source_workload");
    }
}
