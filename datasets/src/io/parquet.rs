//! Parquet telemetry and call edges.
//!
//! Telemetry is read by row group in two streaming passes with column projection: the first
//! reads only `timestamp` and `service` to fix the grid, the second scatters the selected
//! numeric columns into the dense array. A ten-million-row file is never held as rows.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, Float64Array, RecordBatch, StringArray, TimestampMillisecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::reader::ChunkReader;

use super::checksum::{CHECKSUM_KEY, Checksums};
use super::columns::{
    floats, for_each_opt_str, is_numeric, is_string, is_timestamp, map_str_ids, timestamps_ms,
};
use super::{NoProgress, Progress, ReadOptions, WriteOptions};
use crate::edges::{CallEdge, CallEdges};
use crate::error::{Error, Result, name_list};
use crate::ingest::{KeyScan, Scatter};
use crate::schema::{self, SCHEMA_VERSION, SCHEMA_VERSION_KEY};
use crate::telemetry::Telemetry;

/// Reads telemetry from a Parquet file.
pub fn read_telemetry(
    path: &Path,
    options: &ReadOptions,
    progress: &dyn Progress,
) -> Result<Telemetry> {
    let name = path.display().to_string();
    if std::fs::metadata(path).is_ok_and(|m| m.len() == 0) {
        return Err(Error::Empty {
            file: name,
            message: "the file is empty (0 bytes); expected a Parquet file of telemetry".into(),
        });
    }
    read_with(&name, || super::open(path), options, progress)
}

/// Reads telemetry from Parquet bytes in memory; `name` is used in messages.
pub fn read_telemetry_bytes(bytes: Bytes, name: &str, options: &ReadOptions) -> Result<Telemetry> {
    read_with(name, || Ok(bytes.clone()), options, &NoProgress)
}

/// Telemetry written as Parquet a row at a time, in (timestamp, service) order, batch by
/// batch, so a run of any length is never held in memory: what [`write_telemetry`] and the
/// simulator's streaming recorder both write with. Every value is hashed into the file's
/// [`CHECKSUM_KEY`] metadata.
pub struct TelemetryWriter<W: Write + Send> {
    name: String,
    schema: SchemaRef,
    writer: ArrowWriter<W>,
    services: Vec<String>,
    columns: usize,
    rows: Vec<(i64, u32)>,
    /// Column-major values of the buffered rows.
    values: Vec<Vec<Option<f64>>>,
    sums: Checksums,
}

impl<W: Write + Send> TelemetryWriter<W> {
    /// A writer of telemetry over `services` with numeric `columns`, sampled every
    /// `interval_ms`; `name` names it in messages; `row_group_rows` 0 means one million.
    pub fn try_new(
        writer: W,
        name: &str,
        services: &[String],
        columns: &[String],
        interval_ms: i64,
        row_group_rows: usize,
    ) -> Result<Self> {
        let schema = schema::telemetry_schema(columns);
        let rows_per_group = if row_group_rows == 0 {
            1 << 20
        } else {
            row_group_rows
        };
        let props = writer_properties(Some(interval_ms), rows_per_group);
        let writer =
            ArrowWriter::try_new(writer, schema.clone(), Some(props)).map_err(|source| {
                Error::Parquet {
                    path: name.into(),
                    source,
                }
            })?;
        let mut checked: Vec<String> = vec![schema::TIMESTAMP.into(), schema::SERVICE.into()];
        checked.extend(columns.iter().cloned());
        Ok(TelemetryWriter {
            name: name.to_string(),
            schema,
            writer,
            services: services.to_vec(),
            columns: columns.len(),
            rows: Vec::with_capacity(super::DEFAULT_BATCH_ROWS),
            values: vec![Vec::with_capacity(super::DEFAULT_BATCH_ROWS); columns.len()],
            sums: Checksums::for_writer(&checked, rows_per_group),
        })
    }

    /// Writes one row: service `service` (an index into the services given) at `ts_ms`,
    /// column `c`'s value `value(c)` (`None`: not observed).
    pub fn push_row(
        &mut self,
        ts_ms: i64,
        service: usize,
        mut value: impl FnMut(usize) -> Option<f64>,
    ) -> Result<()> {
        self.rows.push((ts_ms, service as u32));
        for (c, col) in self.values.iter_mut().enumerate() {
            col.push(value(c));
        }
        if self.rows.len() == super::DEFAULT_BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let ts: TimestampMillisecondArray = self
            .rows
            .iter()
            .map(|&(t, _)| Some(t))
            .collect::<TimestampMillisecondArray>()
            .with_timezone("UTC");
        let svc: StringArray = self
            .rows
            .iter()
            .map(|&(_, n)| Some(self.services[n as usize].as_str()))
            .collect();
        for &(t, n) in &self.rows {
            self.sums.column(0).push_i64(t);
            self.sums
                .column(1)
                .push(Some(self.services[n as usize].as_bytes()));
        }
        let mut cols: Vec<ArrayRef> = vec![Arc::new(ts), Arc::new(svc)];
        for c in 0..self.columns {
            let arr: Float64Array = self.values[c].iter().copied().collect();
            let h = self.sums.column(2 + c);
            self.values[c].iter().for_each(|v| h.push_f64(*v));
            self.values[c].clear();
            cols.push(Arc::new(arr));
        }
        self.rows.clear();
        let batch =
            RecordBatch::try_new(self.schema.clone(), cols).map_err(|source| Error::Arrow {
                path: self.name.clone().into(),
                source,
            })?;
        self.writer.write(&batch).map_err(|source| Error::Parquet {
            path: self.name.clone().into(),
            source,
        })
    }

    /// Writes what is buffered, the checksums and the footer.
    pub fn finish(mut self) -> Result<()> {
        self.flush()?;
        self.writer.append_key_value_metadata(KeyValue::new(
            CHECKSUM_KEY.to_string(),
            self.sums.to_metadata(),
        ));
        self.writer.close().map_err(|source| Error::Parquet {
            path: self.name.clone().into(),
            source,
        })?;
        Ok(())
    }
}

/// Writes telemetry as Parquet to any writer (use [`super::write_telemetry`] for files).
pub fn write_telemetry<W: Write + Send>(
    tel: &Telemetry,
    writer: W,
    options: &WriteOptions,
) -> Result<()> {
    let mut w = TelemetryWriter::try_new(
        writer,
        tel.source(),
        tel.services(),
        tel.columns(),
        tel.interval_ms(),
        options.row_group_rows,
    )?;
    let (t_len, n_len, _) = tel.values().dim();
    for t in 0..t_len {
        for n in 0..n_len {
            let write_row = if options.filled {
                tel.values()
                    .slice(ndarray::s![t, n, ..])
                    .iter()
                    .any(|v| !v.is_nan())
            } else {
                tel.row_observed(t, n)
            };
            if write_row {
                w.push_row(tel.timestamp(t), n, |c| {
                    let v = tel.values()[[t, n, c]];
                    (options.filled && !v.is_nan() || tel.observed()[[t, n, c]]).then_some(v)
                })?;
            }
        }
    }
    w.finish()
}

pub(crate) fn writer_properties(
    interval_ms: Option<i64>,
    row_group_rows: usize,
) -> WriterProperties {
    let mut kv = vec![KeyValue::new(
        SCHEMA_VERSION_KEY.to_string(),
        SCHEMA_VERSION.to_string(),
    )];
    if let Some(i) = interval_ms {
        kv.push(KeyValue::new(
            schema::INTERVAL_KEY.to_string(),
            i.to_string(),
        ));
    }
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(row_group_rows))
        .set_key_value_metadata(Some(kv))
        .build()
}

/// Checks the schema version and returns the interval hint of a file.
fn check_metadata<R: ChunkReader>(
    builder: &ParquetRecordBatchReaderBuilder<R>,
    name: &str,
) -> Result<Option<i64>> {
    let kv = builder.metadata().file_metadata().key_value_metadata();
    let get = |key: &str| {
        kv.and_then(|kv| kv.iter().find(|e| e.key == key))
            .and_then(|e| e.value.clone())
    };
    if let Some(v) = get(SCHEMA_VERSION_KEY) {
        match v.trim().parse::<u32>() {
            Ok(found) if found <= SCHEMA_VERSION => {}
            _ => {
                return Err(Error::SchemaVersion {
                    file: name.to_string(),
                    found: v,
                    supported: SCHEMA_VERSION,
                });
            }
        }
    }
    Ok(get(schema::INTERVAL_KEY)
        .and_then(|v| v.parse().ok())
        .filter(|&i: &i64| i > 0))
}

fn read_with<R, F>(
    name: &str,
    open: F,
    options: &ReadOptions,
    progress: &dyn Progress,
) -> Result<Telemetry>
where
    R: ChunkReader + 'static,
    F: Fn() -> Result<R>,
{
    super::guard::guarded(name, || read_unguarded(name, open, options, progress))
}

fn read_unguarded<R, F>(
    name: &str,
    open: F,
    options: &ReadOptions,
    progress: &dyn Progress,
) -> Result<Telemetry>
where
    R: ChunkReader + 'static,
    F: Fn() -> Result<R>,
{
    let pq_err = |source| Error::Parquet {
        path: name.into(),
        source,
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(open()?).map_err(pq_err)?;
    let interval_hint = check_metadata(&builder, name)?;
    let stored_sums = key_value(&builder, CHECKSUM_KEY);
    let group_rows: Vec<u64> = builder
        .metadata()
        .row_groups()
        .iter()
        .map(|g| g.num_rows().max(0) as u64)
        .collect();
    let file_schema = builder.schema().clone();
    let total_rows = builder.metadata().file_metadata().num_rows().max(0) as u64;
    let expected = "telemetry needs `timestamp`, `service` and numeric columns (SPEC 2.1)";
    let find = |col: &str| {
        file_schema.index_of(col).map_err(|_| Error::MissingColumn {
            file: name.to_string(),
            column: col.to_string(),
            expected: expected.to_string(),
        })
    };
    let ts_idx = find(schema::TIMESTAMP)?;
    let svc_idx = find(schema::SERVICE)?;
    check_type(
        name,
        &file_schema,
        ts_idx,
        is_timestamp,
        "a timestamp, or int64 epoch milliseconds",
    )?;
    check_type(name, &file_schema, svc_idx, is_string, "a string")?;
    let columns: Vec<String> = match &options.columns {
        Some(cols) => {
            for c in cols {
                let i = file_schema.index_of(c).map_err(|_| Error::MissingColumn {
                    file: name.to_string(),
                    column: c.clone(),
                    expected: format!("the file has {}", name_list(&numeric_columns(&file_schema))),
                })?;
                check_type(
                    name,
                    &file_schema,
                    i,
                    is_numeric,
                    "a number (float or integer)",
                )?;
            }
            cols.clone()
        }
        None => numeric_columns(&file_schema),
    };
    if columns.is_empty() {
        return Err(Error::MissingColumn {
            file: name.to_string(),
            column: "(numeric)".into(),
            expected:
                "telemetry needs at least one numeric column besides `timestamp` and `service`"
                    .into(),
        });
    }
    let col_idx: Vec<usize> = columns
        .iter()
        .map(|c| file_schema.index_of(c).expect("checked above"))
        .collect();
    // Read the service column as a dictionary when it is plain UTF-8: no string per row.
    let read_schema = dictionary_service_schema(&file_schema, svc_idx);
    let batch = options.batch();

    // Pass 1: keys (checked against the writer's checksums before the grid is sized).
    progress.begin("scanning keys", Some(total_rows));
    let key_names = [schema::TIMESTAMP.to_string(), schema::SERVICE.to_string()];
    let mut key_sums = Checksums::for_reader(&key_names, &group_rows);
    let mut scan = KeyScan::default();
    let reader = reader_for(open()?, &read_schema, &[ts_idx, svc_idx], batch, name)?;
    let mut row0 = 0u64;
    for b in reader {
        let b = b.map_err(|source| Error::Arrow {
            path: name.into(),
            source,
        })?;
        let ts = timestamps_ms(
            b.column_by_name(schema::TIMESTAMP).expect("projected"),
            name,
            schema::TIMESTAMP,
            row0,
        )?;
        if stored_sums.is_some() {
            ts.iter().for_each(|&t| key_sums.column(0).push_i64(t));
            let h = key_sums.column(1);
            for_each_opt_str(
                b.column_by_name(schema::SERVICE).expect("projected"),
                &mut |s| h.push(s.map(str::as_bytes)),
            );
        }
        let ids = map_str_ids(
            b.column_by_name(schema::SERVICE).expect("projected"),
            name,
            schema::SERVICE,
            row0,
            |s| Ok(scan.service_id(s)),
        )?;
        for (t, id) in ts.into_iter().zip(ids) {
            scan.add_row(t, id);
        }
        row0 += b.num_rows() as u64;
        progress.advance(b.num_rows() as u64);
    }
    progress.finish();
    if let Some(stored) = &stored_sums {
        key_sums.verify(stored, name, group_rows.len())?;
    }
    if matches!(
        file_schema.field(ts_idx).data_type(),
        DataType::Timestamp(_, _)
    ) {
        scan.saw_dated();
    }
    let grid = scan.finish(
        name,
        options.interval_ms.or(interval_hint),
        options.timestamp_unit,
    )?;
    let mut value_sums = Checksums::for_reader(&columns, &group_rows);

    // Pass 2: values.
    progress.begin("reading values", Some(total_rows));
    let mut scatter = Scatter::new(grid, columns.clone());
    let mut proj = vec![ts_idx, svc_idx];
    proj.extend(&col_idx);
    let reader = reader_for(open()?, &read_schema, &proj, batch, name)?;
    let mut row0 = 0u64;
    let mut nan_buf: Vec<Vec<f64>> = vec![Vec::new(); columns.len()];
    for b in reader {
        let b = b.map_err(|source| Error::Arrow {
            path: name.into(),
            source,
        })?;
        let ts = timestamps_ms(
            b.column_by_name(schema::TIMESTAMP).expect("projected"),
            name,
            schema::TIMESTAMP,
            row0,
        )?;
        let grid = scatter.grid();
        let svc = map_str_ids(
            b.column_by_name(schema::SERVICE).expect("projected"),
            name,
            schema::SERVICE,
            row0,
            |s| {
                grid.service(s).ok_or_else(|| Error::Parse {
                    file: name.to_string(),
                    line: None,
                    column: schema::SERVICE.into(),
                    message: format!(
                        "service `{s}` appeared between passes; is the file being rewritten?"
                    ),
                })
            },
        )?;
        // Values as f64 slices with NaN marking nulls (kept apart from source NaNs below).
        let mut nulls: Vec<Option<arrow::buffer::NullBuffer>> = Vec::with_capacity(columns.len());
        for (k, c) in columns.iter().enumerate() {
            let arr = floats(b.column_by_name(c).expect("projected"), name, c)?;
            if stored_sums.is_some() {
                let h = value_sums.column(k);
                arr.iter().for_each(|v| h.push_f64(v));
            }
            nulls.push(arr.nulls().cloned());
            nan_buf[k].clear();
            nan_buf[k].extend_from_slice(arr.values());
        }
        for r in 0..b.num_rows() {
            scatter.push(ts[r], svc[r], |c| match &nulls[c] {
                Some(nb) if nb.is_null(r) => None,
                _ => Some(nan_buf[c][r]),
            });
        }
        row0 += b.num_rows() as u64;
        progress.advance(b.num_rows() as u64);
    }
    progress.finish();
    if let Some(stored) = &stored_sums {
        value_sums.verify(stored, name, group_rows.len())?;
    }
    scatter.finish(name)
}

/// A key-value metadata entry of a file.
fn key_value<R: ChunkReader>(
    builder: &ParquetRecordBatchReaderBuilder<R>,
    key: &str,
) -> Option<String> {
    builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|e| e.key == key))
        .and_then(|e| e.value.clone())
}

fn check_type(
    name: &str,
    schema: &Schema,
    idx: usize,
    ok: fn(&DataType) -> bool,
    expected: &str,
) -> Result<()> {
    let f = schema.field(idx);
    if ok(f.data_type()) {
        Ok(())
    } else {
        Err(Error::ColumnType {
            file: name.to_string(),
            column: f.name().clone(),
            found: f.data_type().to_string(),
            expected: expected.to_string(),
        })
    }
}

fn numeric_columns(schema: &Schema) -> Vec<String> {
    schema
        .fields()
        .iter()
        .filter(|f| {
            f.name() != schema::TIMESTAMP
                && f.name() != schema::SERVICE
                && is_numeric(f.data_type())
        })
        .map(|f| f.name().clone())
        .collect()
}

fn dictionary_service_schema(schema: &SchemaRef, svc_idx: usize) -> SchemaRef {
    let f = schema.field(svc_idx);
    if f.data_type() != &DataType::Utf8 {
        return schema.clone();
    }
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields[svc_idx] = Field::new(
        f.name(),
        DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
        f.is_nullable(),
    );
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

fn reader_for<R: ChunkReader + 'static>(
    r: R,
    schema: &SchemaRef,
    roots: &[usize],
    batch: usize,
    name: &str,
) -> Result<parquet::arrow::arrow_reader::ParquetRecordBatchReader> {
    let pq_err = |source| Error::Parquet {
        path: name.into(),
        source,
    };
    let opts = ArrowReaderOptions::new().with_schema(schema.clone());
    let builder = ParquetRecordBatchReaderBuilder::try_new_with_options(r, opts).map_err(pq_err)?;
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots.iter().copied());
    builder
        .with_projection(mask)
        .with_batch_size(batch)
        .build()
        .map_err(pq_err)
}

/// Reads call edges from a Parquet file.
pub fn read_edges(path: &Path) -> Result<CallEdges> {
    let name = path.display().to_string();
    read_edges_from(super::open(path)?, &name)
}

/// Reads call edges from Parquet bytes in memory.
pub fn read_edges_bytes(bytes: Bytes, name: &str) -> Result<CallEdges> {
    read_edges_from(bytes, name)
}

fn read_edges_from<R: ChunkReader + 'static>(r: R, name: &str) -> Result<CallEdges> {
    super::guard::guarded(name, || read_edges_unguarded(r, name))
}

fn read_edges_unguarded<R: ChunkReader + 'static>(r: R, name: &str) -> Result<CallEdges> {
    let pq_err = |source| Error::Parquet {
        path: name.into(),
        source,
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(r).map_err(pq_err)?;
    check_metadata(&builder, name)?;
    let file_schema = builder.schema().clone();
    let expected = "call edges need `source`, `destination` and `req_rate` (SPEC 2.2)";
    for col in [schema::SOURCE, schema::DESTINATION, schema::REQ_RATE] {
        if file_schema.index_of(col).is_err() {
            return Err(Error::MissingColumn {
                file: name.to_string(),
                column: col.to_string(),
                expected: expected.into(),
            });
        }
    }
    let reader = builder.build().map_err(pq_err)?;
    let mut edges = Vec::new();
    let mut names = crate::edges::Names::default();
    let mut row0 = 0u64;
    for b in reader {
        let b = b.map_err(|source| Error::Arrow {
            path: name.into(),
            source,
        })?;
        let mut src = Vec::with_capacity(b.num_rows());
        let mut dst = Vec::with_capacity(b.num_rows());
        super::columns::for_each_str(
            b.column_by_name(schema::SOURCE).expect("checked"),
            name,
            schema::SOURCE,
            row0,
            |_, s| src.push(names.get(s)),
        )?;
        super::columns::for_each_str(
            b.column_by_name(schema::DESTINATION).expect("checked"),
            name,
            schema::DESTINATION,
            row0,
            |_, s| dst.push(names.get(s)),
        )?;
        let rate = floats(
            b.column_by_name(schema::REQ_RATE).expect("checked"),
            name,
            schema::REQ_RATE,
        )?;
        let lat = b
            .column_by_name(schema::LATENCY_MS)
            .map(|c| floats(c, name, schema::LATENCY_MS))
            .transpose()?;
        let ts = match b.column_by_name(schema::TIMESTAMP) {
            Some(c) if c.null_count() == c.len() => None,
            Some(c) if c.null_count() > 0 => {
                return Err(Error::Parse {
                    file: name.to_string(),
                    line: None,
                    column: schema::TIMESTAMP.into(),
                    message: "some edges have a timestamp and some do not; a file is either static (no timestamps) or time-varying".into(),
                });
            }
            Some(c) => Some(timestamps_ms(c, name, schema::TIMESTAMP, row0)?),
            None => None,
        };
        for (i, (source, destination)) in src.into_iter().zip(dst).enumerate() {
            if rate.is_null(i) {
                return Err(Error::Parse {
                    file: name.to_string(),
                    line: None,
                    column: schema::REQ_RATE.into(),
                    message: format!(
                        "row {} ({source} -> {destination}) has no rate",
                        row0 + i as u64
                    ),
                });
            }
            edges.push(CallEdge {
                timestamp_ms: ts.as_ref().map(|t| t[i]),
                source,
                destination,
                req_rate: rate.value(i),
                latency_ms: lat.as_ref().filter(|l| !l.is_null(i)).map(|l| l.value(i)),
            });
        }
        row0 += b.num_rows() as u64;
    }
    CallEdges::try_new(name, edges)
}

/// Writes call edges as Parquet to any writer.
pub fn write_edges<W: Write + Send>(edges: &CallEdges, writer: W) -> Result<()> {
    let mut w = EdgesWriter::try_new(writer)?;
    for e in edges.edges() {
        w.push(e.clone())?;
    }
    w.finish()
}

/// Call edges written as Parquet an edge at a time, batch by batch.
pub struct EdgesWriter<W: Write + Send> {
    schema: SchemaRef,
    writer: ArrowWriter<W>,
    rows: Vec<CallEdge>,
}

impl<W: Write + Send> EdgesWriter<W> {
    /// A writer of call edges.
    pub fn try_new(writer: W) -> Result<Self> {
        let schema = schema::edges_schema();
        let writer = ArrowWriter::try_new(
            writer,
            schema.clone(),
            Some(writer_properties(None, 1 << 20)),
        )
        .map_err(|source| Error::Parquet {
            path: "call edges".into(),
            source,
        })?;
        Ok(EdgesWriter {
            schema,
            writer,
            rows: Vec::with_capacity(super::DEFAULT_BATCH_ROWS),
        })
    }

    /// Writes one edge.
    pub fn push(&mut self, edge: CallEdge) -> Result<()> {
        self.rows.push(edge);
        if self.rows.len() == super::DEFAULT_BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let chunk = &self.rows;
        let cols: Vec<ArrayRef> = vec![
            Arc::new(
                chunk
                    .iter()
                    .map(|e| Some(&*e.source))
                    .collect::<StringArray>(),
            ),
            Arc::new(
                chunk
                    .iter()
                    .map(|e| Some(&*e.destination))
                    .collect::<StringArray>(),
            ),
            Arc::new(
                chunk
                    .iter()
                    .map(|e| Some(e.req_rate))
                    .collect::<Float64Array>(),
            ),
            Arc::new(chunk.iter().map(|e| e.latency_ms).collect::<Float64Array>()),
            Arc::new(
                chunk
                    .iter()
                    .map(|e| e.timestamp_ms)
                    .collect::<TimestampMillisecondArray>()
                    .with_timezone("UTC"),
            ),
        ];
        let batch =
            RecordBatch::try_new(self.schema.clone(), cols).map_err(|source| Error::Arrow {
                path: "call edges".into(),
                source,
            })?;
        self.rows.clear();
        self.writer.write(&batch).map_err(|source| Error::Parquet {
            path: "call edges".into(),
            source,
        })
    }

    /// Writes what is buffered and the footer.
    pub fn finish(mut self) -> Result<()> {
        self.flush()?;
        self.writer.close().map_err(|source| Error::Parquet {
            path: "call edges".into(),
            source,
        })?;
        Ok(())
    }
}

/// Writes call edges to a Parquet file, atomically.
pub fn write_edges_file(edges: &CallEdges, path: &Path) -> Result<()> {
    super::write_atomic(path, |w| write_edges(edges, w))
}
