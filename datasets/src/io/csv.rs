//! CSV telemetry and call edges, with the same columns as Parquet.
//!
//! Timestamps are written as RFC 3339 and read as RFC 3339 or epoch milliseconds. An empty
//! field is a missing value; `NaN` and `inf` are read as such and reported by validation.
//! Reading is two streaming passes over the file, like the Parquet reader.

use std::io::{Read, Write};
use std::path::Path;

use super::{NoProgress, Progress, ReadOptions, WriteOptions};
use crate::edges::{CallEdge, CallEdges};
use crate::error::{Error, Result, name_list};
use crate::ingest::{KeyScan, Scatter};
use crate::schema;
use crate::telemetry::Telemetry;
use crate::time::{format_ms, parse_timestamp};

/// Reads telemetry from a CSV file.
pub fn read_telemetry(
    path: &Path,
    options: &ReadOptions,
    progress: &dyn Progress,
) -> Result<Telemetry> {
    let name = path.display().to_string();
    let total = std::fs::metadata(path).map(|m| m.len()).ok();
    read_with(&name, || super::open(path), options, progress, total)
}

/// Reads telemetry from CSV text in memory; `name` is used in messages.
pub fn read_telemetry_bytes(bytes: &[u8], name: &str, options: &ReadOptions) -> Result<Telemetry> {
    read_with(
        name,
        || Ok(bytes),
        options,
        &NoProgress,
        Some(bytes.len() as u64),
    )
}

struct Layout {
    ts: usize,
    svc: usize,
    cols: Vec<usize>,
    names: Vec<String>,
}

fn layout(headers: &csv::StringRecord, name: &str, options: &ReadOptions) -> Result<Layout> {
    let find = |col: &str| headers.iter().position(|h| h.trim() == col);
    let expected = "telemetry needs `timestamp`, `service` and numeric columns (SPEC 2.1)";
    let missing = |col: &str| Error::MissingColumn {
        file: name.to_string(),
        column: col.to_string(),
        expected: expected.to_string(),
    };
    let ts = find(schema::TIMESTAMP).ok_or_else(|| missing(schema::TIMESTAMP))?;
    let svc = find(schema::SERVICE).ok_or_else(|| missing(schema::SERVICE))?;
    let available: Vec<String> = headers
        .iter()
        .map(|h| h.trim().to_string())
        .filter(|h| h != schema::TIMESTAMP && h != schema::SERVICE && !h.is_empty())
        .collect();
    let names = match &options.columns {
        Some(cols) => cols.clone(),
        None => available.clone(),
    };
    if names.is_empty() {
        return Err(missing("(numeric)"));
    }
    let cols = names
        .iter()
        .map(|c| {
            find(c).ok_or_else(|| Error::MissingColumn {
                file: name.to_string(),
                column: c.clone(),
                expected: format!("the file has {}", name_list(&available)),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Layout {
        ts,
        svc,
        cols,
        names,
    })
}

fn read_with<R: Read, F: Fn() -> Result<R>>(
    name: &str,
    open: F,
    options: &ReadOptions,
    progress: &dyn Progress,
    total_bytes: Option<u64>,
) -> Result<Telemetry> {
    // The csv crate knows the line of a malformed record better than a count of records.
    let csv_err = |line: Option<u64>, e: csv::Error| Error::Parse {
        file: name.to_string(),
        line: e.position().map(|p| p.line()).or(line),
        column: "(row)".into(),
        message: e.to_string(),
    };
    let reader = |r: R| csv::ReaderBuilder::new().flexible(false).from_reader(r);

    // Pass 1: keys.
    let mut rdr = reader(open()?);
    let headers = rdr.headers().map_err(|e| csv_err(Some(1), e))?.clone();
    if headers.iter().all(|h| h.trim().is_empty()) {
        return Err(Error::Empty {
            file: name.to_string(),
            message: if total_bytes == Some(0) {
                "the file is empty (0 bytes); expected a header row `timestamp,service,...` and one row per timestamp and service".into()
            } else {
                "the file has no header row; expected `timestamp,service,...` and one row per timestamp and service".into()
            },
        });
    }
    let lay = layout(&headers, name, options)?;
    progress.begin("scanning keys", total_bytes);
    let mut scan = KeyScan::default();
    let mut rec = csv::StringRecord::new();
    let mut last_pos = 0u64;
    loop {
        let line = rdr.position().line() + 1;
        match rdr.read_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_err(Some(line), e)),
        }
        let line = rec.position().map(|p| p.line()).unwrap_or(line);
        let text = &rec[lay.ts];
        let ts = parse_ts(text, name, line)?;
        if text.trim().parse::<i64>().is_err() {
            scan.saw_dated();
        }
        let s = rec[lay.svc].trim();
        if s.is_empty() {
            return Err(Error::Parse {
                file: name.to_string(),
                line: Some(line),
                column: schema::SERVICE.into(),
                message: "empty service name".into(),
            });
        }
        let id = scan.service_id(s);
        scan.add_row(ts, id);
        let pos = rdr.position().byte();
        progress.advance(pos - last_pos);
        last_pos = pos;
    }
    progress.finish();
    let grid = scan.finish(name, options.interval_ms, options.timestamp_unit)?;

    // Pass 2: values.
    progress.begin("reading values", total_bytes);
    let mut scatter = Scatter::new(grid, lay.names.clone());
    let mut rdr = reader(open()?);
    rdr.headers().map_err(|e| csv_err(Some(1), e))?;
    let mut vals = vec![None; lay.cols.len()];
    let mut last_pos = 0u64;
    while rdr.read_record(&mut rec).map_err(|e| csv_err(None, e))? {
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let ts = parse_ts(&rec[lay.ts], name, line)?;
        let svc = scatter
            .grid()
            .service(rec[lay.svc].trim())
            .expect("every service was seen in pass 1");
        for (k, &i) in lay.cols.iter().enumerate() {
            vals[k] = parse_value(&rec[i], name, line, &lay.names[k])?;
        }
        scatter.push(ts, svc, |c| vals[c]);
        let pos = rdr.position().byte();
        progress.advance(pos - last_pos);
        last_pos = pos;
    }
    progress.finish();
    scatter.finish(name)
}

fn parse_ts(text: &str, file: &str, line: u64) -> Result<i64> {
    parse_timestamp(text, schema::TIMESTAMP).map_err(|_| Error::Parse {
        file: file.to_string(),
        line: Some(line),
        column: schema::TIMESTAMP.into(),
        message: format!(
            "`{}` is not a timestamp; expected RFC 3339 (2024-01-01T00:00:00Z) or epoch milliseconds",
            text.trim()
        ),
    })
}

fn parse_value(text: &str, file: &str, line: u64, column: &str) -> Result<Option<f64>> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    t.parse::<f64>().map(Some).map_err(|_| Error::Parse {
        file: file.to_string(),
        line: Some(line),
        column: column.to_string(),
        message: format!("`{t}` is not a number"),
    })
}

/// Writes telemetry as CSV. Missing values are empty fields.
pub fn write_telemetry<W: Write>(tel: &Telemetry, writer: W, options: &WriteOptions) -> Result<()> {
    let mut w = TelemetryWriter::try_new(writer, tel.source(), tel.services(), tel.columns())?;
    let (t_len, n_len, _) = tel.values().dim();
    for t in 0..t_len {
        for n in 0..n_len {
            let cells = tel.values().slice(ndarray::s![t, n, ..]);
            let write_row = if options.filled {
                cells.iter().any(|v| !v.is_nan())
            } else {
                tel.row_observed(t, n)
            };
            if write_row {
                w.push_row(tel.timestamp(t), n, |c| {
                    let v = cells[c];
                    (tel.observed()[[t, n, c]] || (options.filled && !v.is_nan())).then_some(v)
                })?;
            }
        }
    }
    w.finish().map(|_| ())
}

/// Telemetry written as CSV a row at a time (the header first).
pub struct TelemetryWriter<W: Write> {
    name: String,
    writer: csv::Writer<W>,
    services: Vec<String>,
    fields: Vec<String>,
}

impl<W: Write> TelemetryWriter<W> {
    /// A writer of telemetry over `services` with numeric `columns`; `name` names it in
    /// messages.
    pub fn try_new(writer: W, name: &str, services: &[String], columns: &[String]) -> Result<Self> {
        let mut out = TelemetryWriter {
            name: name.to_string(),
            writer: csv::Writer::from_writer(writer),
            services: services.to_vec(),
            fields: vec![String::new(); 2 + columns.len()],
        };
        let mut header = vec![schema::TIMESTAMP.to_string(), schema::SERVICE.to_string()];
        header.extend(columns.iter().cloned());
        out.writer.write_record(&header).map_err(|e| out.err(e))?;
        Ok(out)
    }

    fn err(&self, e: csv::Error) -> Error {
        Error::Io {
            path: self.name.clone().into(),
            action: "write CSV",
            source: e.into(),
        }
    }

    /// Writes one row: service `service` (an index into the services given) at `ts_ms`,
    /// column `c`'s value `value(c)` (`None`: not observed, an empty field).
    pub fn push_row(
        &mut self,
        ts_ms: i64,
        service: usize,
        mut value: impl FnMut(usize) -> Option<f64>,
    ) -> Result<()> {
        self.fields[0] = format_ms(ts_ms);
        self.fields[1].clone_from(&self.services[service]);
        for c in 0..self.fields.len() - 2 {
            self.fields[2 + c] = value(c).map(format_f64).unwrap_or_default();
        }
        let r = self.writer.write_record(&self.fields);
        r.map_err(|e| self.err(e))
    }

    /// Flushes what is written; gives the sink back.
    pub fn finish(self) -> Result<W> {
        let name = self.name;
        self.writer
            .into_inner()
            .map_err(|e| Error::io(name, "write", e.into_error()))
    }
}

/// Shortest text that reads back to the same float (`NaN`, `inf`, `-inf` for specials).
fn format_f64(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else {
        v.to_string()
    }
}

/// Reads call edges from a CSV file.
///
/// Columns by header: `source`, `destination` (required), `req_rate` (when absent, every edge
/// has rate 1: an unweighted topology), `latency_ms` and `timestamp` (optional).
pub fn read_edges(path: &Path) -> Result<CallEdges> {
    let name = path.display().to_string();
    read_edges_from(super::open(path)?, &name)
}

/// Reads call edges from CSV text in memory.
pub fn read_edges_bytes(bytes: &[u8], name: &str) -> Result<CallEdges> {
    read_edges_from(bytes, name)
}

fn read_edges_from<R: Read>(r: R, name: &str) -> Result<CallEdges> {
    let mut rdr = csv::ReaderBuilder::new().from_reader(r);
    let headers = rdr
        .headers()
        .map_err(|e| Error::Parse {
            file: name.to_string(),
            line: Some(1),
            column: "(header)".into(),
            message: e.to_string(),
        })?
        .clone();
    let find = |col: &str| headers.iter().position(|h| h.trim() == col);
    let need = |col: &str| {
        find(col).ok_or_else(|| Error::MissingColumn {
            file: name.to_string(),
            column: col.to_string(),
            expected: "call edges need `source` and `destination`, optionally `req_rate`, `latency_ms`, `timestamp` (SPEC 2.2)".into(),
        })
    };
    let (src, dst) = (need(schema::SOURCE)?, need(schema::DESTINATION)?);
    let (rate, lat, ts) = (
        find(schema::REQ_RATE),
        find(schema::LATENCY_MS),
        find(schema::TIMESTAMP),
    );
    let mut edges = Vec::new();
    let mut names = crate::edges::Names::default();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| Error::Parse {
            file: name.to_string(),
            line: e.position().map(|p| p.line()),
            column: "(row)".into(),
            message: e.to_string(),
        })?;
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let req_rate = match rate {
            Some(i) => {
                parse_value(&rec[i], name, line, schema::REQ_RATE)?.ok_or_else(|| Error::Parse {
                    file: name.to_string(),
                    line: Some(line),
                    column: schema::REQ_RATE.into(),
                    message: "empty rate".into(),
                })?
            }
            None => 1.0,
        };
        let timestamp_ms = match ts.map(|i| rec[i].trim()).filter(|t| !t.is_empty()) {
            Some(t) => Some(parse_ts(t, name, line)?),
            None => None,
        };
        edges.push(CallEdge {
            timestamp_ms,
            source: names.get(rec[src].trim()),
            destination: names.get(rec[dst].trim()),
            req_rate,
            latency_ms: match lat {
                Some(i) => parse_value(&rec[i], name, line, schema::LATENCY_MS)?,
                None => None,
            },
        });
    }
    CallEdges::try_new(name, edges)
}

/// Writes call edges as CSV.
pub fn write_edges<W: Write>(edges: &CallEdges, writer: W) -> Result<()> {
    let mut w = EdgesWriter::try_new(writer)?;
    for e in edges.edges() {
        w.push(e)?;
    }
    w.finish().map(|_| ())
}

/// Call edges written as CSV an edge at a time (the header first).
pub struct EdgesWriter<W: Write> {
    writer: csv::Writer<W>,
}

fn edges_err(e: csv::Error) -> Error {
    Error::Io {
        path: "call edges".into(),
        action: "write CSV",
        source: e.into(),
    }
}

impl<W: Write> EdgesWriter<W> {
    /// A writer of call edges.
    pub fn try_new(writer: W) -> Result<Self> {
        let mut w = csv::Writer::from_writer(writer);
        w.write_record([
            schema::SOURCE,
            schema::DESTINATION,
            schema::REQ_RATE,
            schema::LATENCY_MS,
            schema::TIMESTAMP,
        ])
        .map_err(edges_err)?;
        Ok(EdgesWriter { writer: w })
    }

    /// Writes one edge.
    pub fn push(&mut self, e: &CallEdge) -> Result<()> {
        self.writer
            .write_record([
                e.source.to_string(),
                e.destination.to_string(),
                format_f64(e.req_rate),
                e.latency_ms.map(format_f64).unwrap_or_default(),
                e.timestamp_ms.map(format_ms).unwrap_or_default(),
            ])
            .map_err(edges_err)
    }

    /// Flushes what is written; gives the sink back.
    pub fn finish(self) -> Result<W> {
        self.writer
            .into_inner()
            .map_err(|e| Error::io("call edges", "write", e.into_error()))
    }
}
