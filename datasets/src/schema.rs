//! Column names, Arrow schemas and the schema version of holoscale's files (SPEC sections 2.1, 2.2).

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// Version of the telemetry and call-edge layouts written by this crate.
///
/// Stored in every Parquet file under [`SCHEMA_VERSION_KEY`]. Readers accept files without the
/// key (written by other tools) and files whose version is not newer than this one.
pub const SCHEMA_VERSION: u32 = 1;

/// Parquet key-value metadata key holding [`SCHEMA_VERSION`].
pub const SCHEMA_VERSION_KEY: &str = "holoscale.schema_version";

/// Parquet key-value metadata key holding the sampling interval in milliseconds.
pub const INTERVAL_KEY: &str = "holoscale.interval_ms";

/// Name of the timestamp column.
pub const TIMESTAMP: &str = "timestamp";
/// Name of the service column.
pub const SERVICE: &str = "service";

/// Running replicas (pods).
pub const REPLICAS: &str = "replicas";
/// CPU used, cores, summed over replicas.
pub const CPU_CORES: &str = "cpu_cores";
/// CPU used divided by the CPU limit.
pub const CPU_UTIL: &str = "cpu_util";
/// Memory used, bytes.
pub const MEM_BYTES: &str = "mem_bytes";
/// Memory used divided by the memory limit.
pub const MEM_UTIL: &str = "mem_util";
/// Requests per second arriving at the service.
pub const REQ_RATE: &str = "req_rate";
/// Mean response time, milliseconds.
pub const LATENCY_MS: &str = "latency_ms";
/// 95th percentile response time, milliseconds.
pub const LATENCY_P95_MS: &str = "latency_p95_ms";
/// 99th percentile response time, milliseconds.
pub const LATENCY_P99_MS: &str = "latency_p99_ms";
/// CPU limit per replica, cores.
pub const CPU_LIMIT_CORES: &str = "cpu_limit_cores";
/// Failed requests per second.
pub const ERRORS_RATE: &str = "errors_rate";
/// Label: the replicas the service should have had.
pub const OPTIMAL_REPLICAS: &str = "optimal_replicas";

/// The standard numeric telemetry columns, in the order files are written.
pub const STANDARD_COLUMNS: [&str; 12] = [
    REPLICAS,
    CPU_CORES,
    CPU_UTIL,
    MEM_BYTES,
    MEM_UTIL,
    REQ_RATE,
    LATENCY_MS,
    LATENCY_P95_MS,
    LATENCY_P99_MS,
    CPU_LIMIT_CORES,
    ERRORS_RATE,
    OPTIMAL_REPLICAS,
];

/// Columns whose values can never be negative: every standard column is a count, a rate, an
/// amount or a ratio of such. Extra columns are not checked.
pub fn is_non_negative(column: &str) -> bool {
    STANDARD_COLUMNS.contains(&column)
}

/// Unit and meaning of a standard column, for `inspect` and error messages.
pub fn describe(column: &str) -> Option<&'static str> {
    Some(match column {
        REPLICAS => "running replicas (pods)",
        CPU_CORES => "CPU used, cores (sum over replicas)",
        CPU_UTIL => "CPU used / CPU limit",
        MEM_BYTES => "memory used, bytes",
        MEM_UTIL => "memory used / limit",
        REQ_RATE => "requests per second arriving",
        LATENCY_MS => "mean response time, ms",
        LATENCY_P95_MS => "p95 response time, ms",
        LATENCY_P99_MS => "p99 response time, ms",
        CPU_LIMIT_CORES => "CPU limit per replica, cores",
        ERRORS_RATE => "failed requests per second",
        OPTIMAL_REPLICAS => "label: replicas the service should have had",
        _ => return None,
    })
}

/// The Arrow type of the timestamp column: milliseconds, UTC.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
}

/// Arrow schema of a telemetry file with the given numeric columns.
///
/// `timestamp` and `service` are non-nullable; every numeric column is a nullable float64
/// (a null is a value that was not observed).
pub fn telemetry_schema<S: AsRef<str>>(columns: &[S]) -> SchemaRef {
    let mut fields = vec![
        Field::new(TIMESTAMP, timestamp_type(), false),
        Field::new(SERVICE, DataType::Utf8, false),
    ];
    fields.extend(
        columns
            .iter()
            .map(|c| Field::new(c.as_ref(), DataType::Float64, true)),
    );
    Arc::new(Schema::new(fields))
}

/// Name of the call-edge source column.
pub const SOURCE: &str = "source";
/// Name of the call-edge destination column.
pub const DESTINATION: &str = "destination";

/// Arrow schema of a call-edge file (SPEC 2.2): `source`, `destination`, `req_rate`, and the
/// optional `latency_ms` and `timestamp` (absent for a static graph).
pub fn edges_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new(SOURCE, DataType::Utf8, false),
        Field::new(DESTINATION, DataType::Utf8, false),
        Field::new(REQ_RATE, DataType::Float64, false),
        Field::new(LATENCY_MS, DataType::Float64, true),
        Field::new(TIMESTAMP, timestamp_type(), true),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telemetry_schema_lists_key_columns_first() {
        let schema = telemetry_schema(&[REPLICAS, REQ_RATE]);
        let names: Vec<_> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, [TIMESTAMP, SERVICE, REPLICAS, REQ_RATE]);
        assert!(!schema.field(0).is_nullable());
        assert!(schema.field(2).is_nullable());
    }

    #[test]
    fn every_standard_column_is_described() {
        for c in STANDARD_COLUMNS {
            assert!(describe(c).is_some(), "{c}");
            assert!(is_non_negative(c));
        }
        assert!(!is_non_negative("my_extra_metric"));
    }
}
