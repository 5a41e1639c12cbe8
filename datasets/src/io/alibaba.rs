//! The Alibaba cluster-trace-microservices-v2022 CSVs as telemetry and call edges.
//!
//! Three tables are read, each recognised by its header (file names and column orders vary
//! between releases, so columns are found by name):
//!
//! | table | columns used | gives |
//! |---|---|---|
//! | `MSMetricsUpdate` | `timestamp, msname, msinstanceid, cpu_utilization, memory_utilization` | `replicas` (instances reporting), `cpu_util`, `mem_util` (mean over instances) |
//! | `MCRRTUpdate` | `timestamp, msname, providerrpc_mcr, providerrpc_rt, http_mcr, http_rt` | `req_rate` (provider RPC + HTTP call rate, summed over instances), `latency_ms` (rate-weighted response time) |
//! | `CallGraph` | `timestamp, um, dm, rt` | call edges `um -> dm`: calls per second and mean `rt` |
//!
//! Timestamps in the trace are milliseconds from the trace start; they are bucketed to the
//! interval (60 s by default, the metrics' period) and placed after a chosen start time.
//! Instances are aggregated to services. The trace's values are normalised (max-min) by the
//! publisher, so `cpu_util` and `mem_util` are in the trace's units, and `req_rate` is the
//! trace's call-rate column (MCR) as published.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ndarray::Array3;
use rustc_hash::FxHashMap;

use super::Progress;
use crate::edges::{CallEdge, CallEdges};
use crate::error::{Error, Result};
use crate::schema;
use crate::telemetry::Telemetry;

/// Metrics period of the trace.
pub const DEFAULT_INTERVAL_MS: i64 = 60_000;

/// Options of an Alibaba import.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Bucket width, milliseconds.
    pub interval_ms: i64,
    /// Time given to the trace start, milliseconds since the epoch.
    pub start_ms: i64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            interval_ms: DEFAULT_INTERVAL_MS,
            start_ms: 0,
        }
    }
}

/// Which table a CSV file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// Per-instance CPU and memory utilisation.
    MsMetrics,
    /// Per-instance call rates and response times.
    McrRt,
    /// Sampled calls between services.
    CallGraph,
}

/// What an import produced.
#[derive(Debug, Clone)]
pub struct Import {
    /// Service telemetry.
    pub telemetry: Telemetry,
    /// Time-stamped call edges (empty without CallGraph files).
    pub edges: CallEdges,
    /// The files read, with their table.
    pub files: Vec<(PathBuf, Table)>,
    /// Notes for the user (files skipped, rows dropped).
    pub notes: Vec<String>,
}

/// Recognises a table by its header.
pub fn classify(headers: &[&str]) -> Option<Table> {
    let has = |c: &str| headers.iter().any(|h| h.trim().eq_ignore_ascii_case(c));
    if has("cpu_utilization") && has("msname") {
        Some(Table::MsMetrics)
    } else if has("msname") && (has("providerrpc_mcr") || has("http_mcr")) {
        Some(Table::McrRt)
    } else if has("um") && has("dm") {
        Some(Table::CallGraph)
    } else {
        None
    }
}

#[derive(Default, Clone)]
struct MetricAcc {
    cpu: f64,
    mem: f64,
    rows: u32,
    stamps: Vec<i64>,
}

#[derive(Default, Clone)]
struct RateAcc {
    rate: f64,
    rt_weighted: f64,
    weight: f64,
    stamps: Vec<i64>,
}

#[derive(Default)]
struct State {
    services: FxHashMap<String, u32>,
    names: Vec<String>,
    /// Per id: whether a metrics table (not only the call graph) names the service.
    measured: Vec<bool>,
    metrics: FxHashMap<(i64, u32), MetricAcc>,
    rates: FxHashMap<(i64, u32), RateAcc>,
    calls: BTreeMap<(i64, u32, u32), (u64, f64, u64)>,
    min_bucket: Option<i64>,
    max_bucket: Option<i64>,
    dropped_calls: u64,
    notes: Vec<String>,
}

impl State {
    fn id(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.services.get(name) {
            return i;
        }
        let i = self.names.len() as u32;
        self.services.insert(name.to_string(), i);
        self.names.push(name.to_string());
        self.measured.push(false);
        i
    }

    fn measured_id(&mut self, name: &str) -> u32 {
        let i = self.id(name);
        self.measured[i as usize] = true;
        i
    }

    fn bucket(&mut self, ts: i64, interval: i64) -> i64 {
        let b = ts.div_euclid(interval);
        self.min_bucket = Some(self.min_bucket.map_or(b, |m| m.min(b)));
        self.max_bucket = Some(self.max_bucket.map_or(b, |m| m.max(b)));
        b
    }
}

/// Reads every recognised CSV under `dir` (recursively) into telemetry and call edges.
pub fn read_dir(dir: &Path, options: &Options, progress: &dyn Progress) -> Result<Import> {
    if options.interval_ms <= 0 {
        return Err(Error::param("interval_ms", "must be positive"));
    }
    let mut paths = Vec::new();
    collect_csv(dir, &mut paths)?;
    paths.sort();
    if paths.is_empty() {
        return Err(Error::Empty {
            file: dir.display().to_string(),
            message: "no .csv files; expected the trace's MSMetricsUpdate, MCRRTUpdate and CallGraph CSVs".into(),
        });
    }
    let total: u64 = paths
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    progress.begin("reading the Alibaba trace", Some(total));
    let mut state = State::default();
    let mut files = Vec::new();
    for path in paths {
        let file = super::open(&path)?;
        if let Some(table) = read_table(
            file,
            &path.display().to_string(),
            options,
            &mut state,
            progress,
        )? {
            files.push((path, table));
        } else {
            state.notes.push(format!(
                "{}: header matches no trace table; skipped",
                path.display()
            ));
        }
    }
    progress.finish();
    finish(dir.display().to_string(), state, files, options)
}

/// Reads one table from CSV text in memory into an import of its own (for tests and tools).
pub fn read_tables(tables: &[(&str, &[u8])], options: &Options) -> Result<Import> {
    let mut state = State::default();
    let mut files = Vec::new();
    for (name, bytes) in tables {
        match read_table(*bytes, name, options, &mut state, &super::NoProgress)? {
            Some(t) => files.push((PathBuf::from(name), t)),
            None => {
                return Err(Error::MissingColumn {
                    file: name.to_string(),
                    column: "msname / um, dm".into(),
                    expected: "an MSMetricsUpdate, MCRRTUpdate or CallGraph table".into(),
                });
            }
        }
    }
    finish("alibaba trace".into(), state, files, options)
}

fn collect_csv(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let meta = std::fs::metadata(dir).map_err(|e| Error::io(dir, "open", e))?;
    if meta.is_file() {
        out.push(dir.to_path_buf());
        return Ok(());
    }
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, "list", e))? {
        let path = entry.map_err(|e| Error::io(dir, "list", e))?.path();
        if path.is_dir() {
            collect_csv(&path, out)?;
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
        {
            out.push(path);
        }
    }
    Ok(())
}

fn read_table<R: std::io::Read>(
    r: R,
    name: &str,
    options: &Options,
    state: &mut State,
    progress: &dyn Progress,
) -> Result<Option<Table>> {
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(r);
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| Error::Parse {
            file: name.to_string(),
            line: Some(1),
            column: "(header)".into(),
            message: e.to_string(),
        })?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    let Some(table) = classify(&refs) else {
        return Ok(None);
    };
    let find = |c: &str| headers.iter().position(|h| h == c);
    let need = |c: &str| {
        find(c).ok_or_else(|| Error::MissingColumn {
            file: name.to_string(),
            column: c.to_string(),
            expected: format!("a {table:?} table of the Alibaba trace needs it"),
        })
    };
    let ts_col = need("timestamp")?;
    let num =
        |rec: &csv::StringRecord, i: Option<usize>, col: &str, line: u64| -> Result<Option<f64>> {
            let Some(i) = i else { return Ok(None) };
            let t = rec.get(i).unwrap_or("").trim();
            if t.is_empty() || t.eq_ignore_ascii_case("nan") {
                return Ok(None);
            }
            t.parse::<f64>().map(Some).map_err(|_| Error::Parse {
                file: name.to_string(),
                line: Some(line),
                column: col.to_string(),
                message: format!("`{t}` is not a number"),
            })
        };
    let interval = options.interval_ms;
    let mut rec = csv::StringRecord::new();
    let mut last_pos = 0;
    let cols = match table {
        Table::MsMetrics => [
            need("msname")?,
            need("cpu_utilization")?,
            find("memory_utilization").unwrap_or(usize::MAX),
            0,
        ],
        Table::McrRt => [need("msname")?, 0, 0, 0],
        Table::CallGraph => [
            need("um")?,
            need("dm")?,
            find("rt").unwrap_or(usize::MAX),
            0,
        ],
    };
    let opt = |i: usize| (i != usize::MAX).then_some(i);
    let (p_mcr, p_rt, h_mcr, h_rt) = (
        find("providerrpc_mcr"),
        find("providerrpc_rt"),
        find("http_mcr"),
        find("http_rt"),
    );
    loop {
        match rdr.read_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                return Err(Error::Parse {
                    file: name.to_string(),
                    line: e.position().map(|p| p.line()),
                    column: "(row)".into(),
                    message: e.to_string(),
                });
            }
        }
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let ts = num(&rec, Some(ts_col), "timestamp", line)?.ok_or_else(|| Error::Parse {
            file: name.to_string(),
            line: Some(line),
            column: "timestamp".into(),
            message: "empty timestamp".into(),
        })? as i64;
        match table {
            Table::MsMetrics => {
                let svc = rec.get(cols[0]).unwrap_or("").trim();
                if svc.is_empty() {
                    continue;
                }
                let id = state.measured_id(svc);
                let b = state.bucket(ts, interval);
                let cpu = num(&rec, Some(cols[1]), "cpu_utilization", line)?;
                let mem = num(&rec, opt(cols[2]), "memory_utilization", line)?;
                let acc = state.metrics.entry((b, id)).or_default();
                acc.cpu += cpu.unwrap_or(f64::NAN);
                acc.mem += mem.unwrap_or(f64::NAN);
                acc.rows += 1;
                if !acc.stamps.contains(&ts) {
                    acc.stamps.push(ts);
                }
            }
            Table::McrRt => {
                let svc = rec.get(cols[0]).unwrap_or("").trim();
                if svc.is_empty() {
                    continue;
                }
                let id = state.measured_id(svc);
                let b = state.bucket(ts, interval);
                let pm = num(&rec, p_mcr, "providerrpc_mcr", line)?.unwrap_or(0.0);
                let pr = num(&rec, p_rt, "providerrpc_rt", line)?.unwrap_or(0.0);
                let hm = num(&rec, h_mcr, "http_mcr", line)?.unwrap_or(0.0);
                let hr = num(&rec, h_rt, "http_rt", line)?.unwrap_or(0.0);
                let acc = state.rates.entry((b, id)).or_default();
                acc.rate += pm + hm;
                acc.rt_weighted += pm * pr + hm * hr;
                acc.weight += pm + hm;
                if !acc.stamps.contains(&ts) {
                    acc.stamps.push(ts);
                }
            }
            Table::CallGraph => {
                let um = rec.get(cols[0]).unwrap_or("").trim();
                let dm = rec.get(cols[1]).unwrap_or("").trim();
                let unknown = |s: &str| {
                    s.is_empty()
                        || s == "?"
                        || s.eq_ignore_ascii_case("unknown")
                        || s.eq_ignore_ascii_case("unavailable")
                        || s.eq_ignore_ascii_case("nan")
                };
                if unknown(um) || unknown(dm) {
                    state.dropped_calls += 1;
                    continue;
                }
                let (u, d) = (state.id(um), state.id(dm));
                let b = state.bucket(ts, interval);
                let rt =
                    num(&rec, opt(cols[2]), "rt", line)?.filter(|r| r.is_finite() && *r >= 0.0);
                let e = state.calls.entry((b, u, d)).or_default();
                e.0 += 1;
                if let Some(rt) = rt {
                    e.1 += rt;
                    e.2 += 1;
                }
            }
        }
        let pos = rdr.position().byte();
        progress.advance(pos.saturating_sub(last_pos));
        last_pos = pos;
    }
    Ok(Some(table))
}

fn finish(
    source: String,
    mut state: State,
    files: Vec<(PathBuf, Table)>,
    options: &Options,
) -> Result<Import> {
    let (Some(lo), Some(hi)) = (state.min_bucket, state.max_bucket) else {
        return Err(Error::Empty {
            file: source,
            message: "the trace files hold no rows".into(),
        });
    };
    if state.dropped_calls > 0 {
        state.notes.push(format!(
            "{} CallGraph rows with an unknown caller or callee dropped",
            state.dropped_calls
        ));
    }
    // Every node sorted by name (edges); telemetry covers the measured services, or every
    // node when only the call graph was given.
    let mut order: Vec<(String, u32)> = state
        .names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.clone(), i as u32))
        .collect();
    order.sort();
    let all_names: Vec<std::sync::Arc<str>> =
        state.names.iter().map(|n| n.as_str().into()).collect();
    let any_measured = state.measured.iter().any(|&m| m);
    let mut pos = vec![usize::MAX; order.len()];
    let mut services: Vec<String> = Vec::new();
    for (name, id) in &order {
        if !any_measured || state.measured[*id as usize] {
            pos[*id as usize] = services.len();
            services.push(name.clone());
        }
    }
    let mut columns = Vec::new();
    if !state.metrics.is_empty() {
        columns.extend([schema::REPLICAS, schema::CPU_UTIL, schema::MEM_UTIL]);
    }
    if !state.rates.is_empty() {
        columns.extend([schema::REQ_RATE, schema::LATENCY_MS]);
    }
    let t_len = (hi - lo + 1) as usize;
    let telemetry = if columns.is_empty() {
        state.notes.push("no MSMetricsUpdate or MCRRTUpdate rows: the telemetry holds only call-derived request rates".into());
        // Derive per-service incoming call rates from the call graph so the telemetry is usable.
        let mut values = Array3::from_elem((t_len, services.len(), 1), f64::NAN);
        for (&(b, _, d), &(count, _, _)) in &state.calls {
            let cell = &mut values[[(b - lo) as usize, pos[d as usize], 0]];
            let rate = count as f64 / (options.interval_ms as f64 / 1000.0);
            *cell = if cell.is_nan() { rate } else { *cell + rate };
        }
        Telemetry::try_new(
            source.clone(),
            options.start_ms + lo * options.interval_ms,
            options.interval_ms,
            services.clone(),
            vec![schema::REQ_RATE.to_string()],
            values,
        )?
    } else {
        let c_len = columns.len();
        let mut values = Array3::from_elem((t_len, services.len(), c_len), f64::NAN);
        let rate_off = if state.metrics.is_empty() { 0 } else { 3 };
        for (&(b, id), acc) in &state.metrics {
            let (t, n) = ((b - lo) as usize, pos[id as usize]);
            let stamps = acc.stamps.len().max(1) as f64;
            values[[t, n, 0]] = acc.rows as f64 / stamps;
            values[[t, n, 1]] = acc.cpu / acc.rows as f64;
            values[[t, n, 2]] = acc.mem / acc.rows as f64;
        }
        for (&(b, id), acc) in &state.rates {
            let (t, n) = ((b - lo) as usize, pos[id as usize]);
            let stamps = acc.stamps.len().max(1) as f64;
            values[[t, n, rate_off]] = acc.rate / stamps;
            values[[t, n, rate_off + 1]] = if acc.weight > 0.0 {
                acc.rt_weighted / acc.weight
            } else {
                f64::NAN
            };
        }
        Telemetry::try_new(
            source.clone(),
            options.start_ms + lo * options.interval_ms,
            options.interval_ms,
            services.clone(),
            columns.iter().map(|c| c.to_string()).collect(),
            values,
        )?
    };
    let secs = options.interval_ms as f64 / 1000.0;
    let mut edges: Vec<CallEdge> = state
        .calls
        .iter()
        .map(|(&(b, u, d), &(count, rt_sum, rt_n))| CallEdge {
            timestamp_ms: Some(options.start_ms + b * options.interval_ms),
            source: all_names[u as usize].clone(),
            destination: all_names[d as usize].clone(),
            req_rate: count as f64 / secs,
            latency_ms: (rt_n > 0).then(|| rt_sum / rt_n as f64),
        })
        .collect();
    edges.sort_by(|x, y| {
        (x.timestamp_ms, &x.source, &x.destination).cmp(&(
            y.timestamp_ms,
            &y.source,
            &y.destination,
        ))
    });
    Ok(Import {
        telemetry,
        edges: CallEdges::try_new(&source, edges)?,
        files,
        notes: state.notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_recognised_by_header() {
        assert_eq!(
            classify(&[
                "timestamp",
                "msname",
                "msinstanceid",
                "nodeid",
                "cpu_utilization",
                "memory_utilization"
            ]),
            Some(Table::MsMetrics)
        );
        assert_eq!(
            classify(&[
                "timestamp",
                "msname",
                "msinstanceid",
                "nodeid",
                "providerrpc_rt",
                "providerrpc_mcr"
            ]),
            Some(Table::McrRt)
        );
        assert_eq!(
            classify(&[
                "traceid",
                "timestamp",
                "rpcid",
                "um",
                "rpctype",
                "dm",
                "interface",
                "rt"
            ]),
            Some(Table::CallGraph)
        );
        assert_eq!(classify(&["a", "b"]), None);
    }

    #[test]
    fn instances_aggregate_to_services() {
        let metrics = b"timestamp,msname,msinstanceid,nodeid,cpu_utilization,memory_utilization\n\
0,MS_1,i1,n1,0.2,0.5\n0,MS_1,i2,n1,0.4,0.7\n60000,MS_1,i1,n1,0.3,0.5\n0,MS_2,j1,n2,0.1,0.1\n60000,MS_2,j1,n2,0.1,0.2\n";
        let imp = read_tables(&[("m.csv", metrics)], &Options::default()).unwrap();
        let t = &imp.telemetry;
        assert_eq!(t.services(), ["MS_1", "MS_2"]);
        assert_eq!(t.series("MS_1", "replicas").unwrap().to_vec(), [2.0, 1.0]);
        assert!((t.series("MS_1", "cpu_util").unwrap()[0] - 0.3).abs() < 1e-12);
        assert!((t.series("MS_2", "mem_util").unwrap()[1] - 0.2).abs() < 1e-12);
    }
}
