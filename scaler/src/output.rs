//! Files of scaler runs and evaluations: per-interval series and replicas as Parquet, the
//! table and the decisions as CSV. Every file is written to a temporary file and renamed
//! into place.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Float64Array, StringArray, TimestampMillisecondArray, UInt32Array,
    UInt64Array,
};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use holoscale_datasets::io::write_atomic;
use holoscale_datasets::schema;

use crate::error::{Error, Result};
use crate::harness::{Decision, RunResult, TableRow};
use crate::metrics::columns;

fn data_err(e: holoscale_datasets::Error) -> Error {
    Error::Data(e)
}

fn write_parquet(
    path: &Path,
    batches: impl Iterator<Item = Result<RecordBatch>>,
    schema: Arc<Schema>,
) -> Result<()> {
    let pq = |e: parquet::errors::ParquetError| holoscale_datasets::Error::Parquet {
        path: path.to_path_buf(),
        source: e,
    };
    let mut first_err = None;
    write_atomic(path, |w| {
        let mut writer = parquet::arrow::ArrowWriter::try_new(w, schema, None).map_err(pq)?;
        for b in batches {
            match b {
                Ok(b) => writer.write(&b).map_err(pq)?,
                Err(e) => {
                    first_err = Some(e);
                    return Err(holoscale_datasets::Error::InvalidParameter {
                        name: "series".into(),
                        message: "could not be assembled".into(),
                    });
                }
            }
        }
        writer.close().map_err(pq)?;
        Ok(())
    })
    .map_err(|e| first_err.take().unwrap_or_else(|| data_err(e)))
}

fn batch(schema: &Arc<Schema>, cols: Vec<ArrayRef>) -> Result<RecordBatch> {
    RecordBatch::try_new(schema.clone(), cols)
        .map_err(|e| Error::param("series", format!("columns do not form a table: {e}")))
}

/// Writes every run's per-interval series (runs recorded with series) to `path`: columns
/// `scaler`, `seed`, `timestamp`, `latency_ms` (the application's latency at the SLO
/// percentile), `mean_latency_ms`, `request_rate`, `violated`, `core_hours`, `replicas`
/// (all services).
pub fn write_series(path: &Path, runs: &[RunResult]) -> Result<()> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("scaler", DataType::Utf8, false),
        Field::new("seed", DataType::UInt64, false),
        Field::new(schema::TIMESTAMP, schema::timestamp_type(), false),
        Field::new("latency_ms", DataType::Float64, false),
        Field::new("mean_latency_ms", DataType::Float64, false),
        Field::new("request_rate", DataType::Float64, false),
        Field::new("violated", DataType::Boolean, false),
        Field::new("core_hours", DataType::Float64, false),
        Field::new("replicas", DataType::UInt32, false),
    ]));
    let batches = runs
        .iter()
        .filter_map(|r| r.run.series.as_ref().map(|s| (r, s)))
        .map(|(r, s)| {
            let n = s.times_ms.len();
            batch(
                &schema,
                vec![
                    Arc::new(StringArray::from(vec![r.scaler.as_str(); n])) as ArrayRef,
                    Arc::new(UInt64Array::from(vec![r.seed; n])),
                    Arc::new(
                        TimestampMillisecondArray::from(s.times_ms.clone()).with_timezone("UTC"),
                    ),
                    Arc::new(Float64Array::from(s.latency_ms.clone())),
                    Arc::new(Float64Array::from(s.mean_latency_ms.clone())),
                    Arc::new(Float64Array::from(s.request_rate.clone())),
                    Arc::new(BooleanArray::from(s.violated.clone())),
                    Arc::new(Float64Array::from(s.core_hours.clone())),
                    Arc::new(UInt32Array::from(
                        s.replicas
                            .iter()
                            .map(|r| r.iter().sum::<u32>())
                            .collect::<Vec<_>>(),
                    )),
                ],
            )
        });
    write_parquet(path, batches, schema.clone())
}

/// Writes every run's running replicas per interval and service to `path`: columns
/// `scaler`, `seed`, `timestamp`, `service`, `replicas`.
pub fn write_replicas(path: &Path, runs: &[RunResult], services: &[String]) -> Result<()> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("scaler", DataType::Utf8, false),
        Field::new("seed", DataType::UInt64, false),
        Field::new(schema::TIMESTAMP, schema::timestamp_type(), false),
        Field::new(schema::SERVICE, DataType::Utf8, false),
        Field::new("replicas", DataType::UInt32, false),
    ]));
    let batches = runs
        .iter()
        .filter_map(|r| r.run.series.as_ref().map(|s| (r, s)))
        .map(|(r, s)| {
            let rows = s.times_ms.len() * services.len();
            let mut times = Vec::with_capacity(rows);
            let mut names = Vec::with_capacity(rows);
            let mut reps = Vec::with_capacity(rows);
            for (t, row) in s.times_ms.iter().zip(&s.replicas) {
                for (name, &k) in services.iter().zip(row) {
                    times.push(*t);
                    names.push(name.as_str());
                    reps.push(k);
                }
            }
            batch(
                &schema,
                vec![
                    Arc::new(StringArray::from(vec![r.scaler.as_str(); times.len()])) as ArrayRef,
                    Arc::new(UInt64Array::from(vec![r.seed; times.len()])),
                    Arc::new(TimestampMillisecondArray::from(times).with_timezone("UTC")),
                    Arc::new(StringArray::from(names)),
                    Arc::new(UInt32Array::from(reps)),
                ],
            )
        });
    write_parquet(path, batches, schema.clone())
}

/// The table as CSV: `scaler`, `oracle`, `runs`, each metric's mean and `_sd`, and the
/// reductions against the baselines.
pub fn table_csv(rows: &[TableRow]) -> String {
    let mut out = String::from("scaler,oracle,runs");
    if let Some(first) = rows.first() {
        for (name, _) in columns(&first.mean) {
            out.push_str(&format!(",{name},{name}_sd"));
        }
    }
    out.push_str(",violation_reduction,cost_reduction\n");
    let opt = |v: Option<f64>| v.map(|x| format!("{x}")).unwrap_or_default();
    for r in rows {
        out.push_str(&format!("{},{},{}", csv_field(&r.scaler), r.oracle, r.runs));
        for ((_, m), (_, s)) in columns(&r.mean).iter().zip(columns(&r.spread).iter()) {
            out.push_str(&format!(",{m},{s}"));
        }
        out.push_str(&format!(
            ",{},{}\n",
            opt(r.violation_reduction),
            opt(r.cost_reduction)
        ));
    }
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Writes `text` to `path` atomically.
pub fn write_text(path: &Path, text: &str) -> Result<()> {
    write_atomic(path, |w| {
        w.write_all(text.as_bytes())
            .map_err(|e| holoscale_datasets::Error::io(path, "write", e))
    })
    .map_err(data_err)
}

/// The applied decisions of a run as CSV: `timestamp_ms`, `service`, `from`, `to`.
pub fn decisions_csv(decisions: &[Decision], services: &[String]) -> String {
    let mut out = String::from("timestamp_ms,service,from,to\n");
    for d in decisions {
        let name = services.get(d.service).map_or("?", String::as_str);
        out.push_str(&format!(
            "{},{},{},{}\n",
            d.time_ms,
            csv_field(name),
            d.from,
            d.to
        ));
    }
    out
}
