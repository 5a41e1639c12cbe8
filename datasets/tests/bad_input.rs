//! One test per way telemetry can be wrong: each asserts that the error or the reported
//! problem names what is wrong (file, service, column, time).

use bytes::Bytes;
use holoscale_datasets::io::{self, ReadOptions, WriteOptions};
use holoscale_datasets::validate::{
    self, Duplicates, Irregular, PartialCoverage, ProblemKind, RepairPolicy, Severity,
};
use holoscale_datasets::{Error, Telemetry};

fn read_csv(text: &str) -> Telemetry {
    io::csv::read_telemetry_bytes(text.as_bytes(), "bad.csv", &ReadOptions::default()).unwrap()
}

fn csv_error(text: &str) -> String {
    io::csv::read_telemetry_bytes(text.as_bytes(), "bad.csv", &ReadOptions::default())
        .unwrap_err()
        .to_string()
}

/// Rows for `services` at steps `0..n` (30 s), replicas = step.
fn grid(services: &[&str], n: usize) -> String {
    let mut s = String::from("timestamp,service,replicas,req_rate\n");
    for t in 0..n {
        for (k, svc) in services.iter().enumerate() {
            s.push_str(&format!("{},{svc},{},{}\n", t * 30_000, t + k, 10 * t + k));
        }
    }
    s
}

#[test]
fn irregular_timestamps_are_resampled_or_refused() {
    let mut text = grid(&["a", "b"], 6);
    text.push_str("187000,b,9,9\n"); // 7 s after step 6: off the grid
    let mut tel = read_csv(&text);
    let report = validate::repair(&mut tel, &RepairPolicy::default());
    let p = report
        .of_kind(ProblemKind::IrregularTimestamps)
        .next()
        .unwrap();
    assert_eq!(p.severity, Severity::Repaired);
    assert_eq!(p.service.as_deref(), Some("b"));
    assert_eq!(p.time_ms, Some(187_000));
    assert_eq!(tel.len(), 7);

    let mut tel = read_csv(&text);
    let err = validate::repair(
        &mut tel,
        &RepairPolicy::default().with_irregular(Irregular::Error),
    )
    .into_result()
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("bad.csv") && err.contains("`b`") && err.contains("1970-01-01T00:03:07Z"),
        "{err}"
    );
}

#[test]
fn long_gaps_are_refused_naming_the_place() {
    // Drop steps 3..=7 of service b: a gap of 5 steps.
    let text: String = grid(&["a", "b"], 12)
        .lines()
        .filter(|l| {
            let mut f = l.split(',');
            let t = f.next().unwrap().parse::<i64>().ok();
            let s = f.next().unwrap();
            !(s == "b" && t.is_some_and(|t| (90_000..=210_000).contains(&t)))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let mut tel = read_csv(&text);
    let err = validate::repair(&mut tel, &RepairPolicy::default())
        .into_result()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("bad.csv")
            && err.contains("service `b`")
            && err.contains("1970-01-01T00:01:30Z"),
        "{err}"
    );
    assert!(
        err.contains("longest 5 steps") && err.contains("`max_fill`"),
        "{err}"
    );
}

#[test]
fn duplicate_rows_are_merged_or_refused() {
    let mut text = grid(&["a"], 4);
    text.push_str("60000,a,2,20\n");
    let mut tel = read_csv(&text);
    let report = validate::repair(&mut tel, &RepairPolicy::default());
    let p = report.of_kind(ProblemKind::DuplicateRows).next().unwrap();
    assert_eq!(
        (p.service.as_deref(), p.time_ms, p.count),
        (Some("a"), Some(60_000), 1)
    );
    let mut tel = read_csv(&text);
    let err = validate::repair(
        &mut tel,
        &RepairPolicy::default().with_duplicates(Duplicates::Error),
    )
    .into_result()
    .unwrap_err();
    assert!(matches!(err, Error::Invalid(_)));
    assert!(
        err.to_string()
            .contains("repeat an earlier (timestamp, service) pair")
    );
}

#[test]
fn nan_and_infinity_are_reported() {
    let text = grid(&["a", "b"], 5).replace("60000,b,3,21", "60000,b,NaN,inf");
    let mut tel = read_csv(&text);
    let report = validate::repair(&mut tel, &RepairPolicy::default());
    let found: Vec<_> = report.of_kind(ProblemKind::NonFinite).collect();
    assert_eq!(found.len(), 2);
    assert!(
        found
            .iter()
            .all(|p| p.service.as_deref() == Some("b") && p.time_ms == Some(60_000))
    );
    assert_eq!(found[0].column.as_deref(), Some("replicas"));
    assert_eq!(found[1].column.as_deref(), Some("req_rate"));
}

#[test]
fn negative_counts_are_reported() {
    let text = grid(&["a"], 5).replace("90000,a,3,30", "90000,a,-3,30");
    let mut tel = read_csv(&text);
    let report = validate::repair(&mut tel, &RepairPolicy::default());
    let p = report.of_kind(ProblemKind::NegativeValue).next().unwrap();
    assert_eq!(
        (p.column.as_deref(), p.time_ms),
        (Some("replicas"), Some(90_000))
    );
    assert!(
        p.to_string()
            .contains("bad.csv: service `a`, column `replicas`, at 1970-01-01T00:01:30Z")
    );
}

#[test]
fn services_present_in_some_steps_only_are_reported() {
    let mut text = grid(&["a"], 10);
    for t in 6..10 {
        text.push_str(&format!("{},late,1,1\n", t * 30_000));
    }
    let mut tel = read_csv(&text);
    let report = validate::repair(&mut tel, &RepairPolicy::default());
    let p = report.of_kind(ProblemKind::PartialCoverage).next().unwrap();
    assert_eq!(p.service.as_deref(), Some("late"));
    assert!(p.detail.contains("4 of 10 steps"), "{}", p.detail);
    let mut tel = read_csv(&text);
    let err = validate::repair(
        &mut tel,
        &RepairPolicy::default().with_partial(PartialCoverage::Error),
    )
    .into_result()
    .unwrap_err()
    .to_string();
    assert!(err.contains("`late`") && err.contains("`partial`"), "{err}");
}

#[test]
fn constant_series_are_reported() {
    let text = grid(&["a"], 6)
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                format!("{l},cpu_limit_cores\n")
            } else {
                format!("{l},0.5\n")
            }
        })
        .collect::<String>();
    let mut tel = read_csv(&text);
    let report = validate::repair(&mut tel, &RepairPolicy::default());
    let p = report.of_kind(ProblemKind::ConstantSeries).next().unwrap();
    assert_eq!(
        (p.service.as_deref(), p.column.as_deref()),
        (Some("a"), Some("cpu_limit_cores"))
    );
}

#[test]
fn missing_key_columns_are_named() {
    let err = csv_error("time,service,replicas\n0,a,1\n");
    assert!(
        err.contains("bad.csv") && err.contains("missing column `timestamp`"),
        "{err}"
    );
    let err = csv_error("timestamp,svc,replicas\n0,a,1\n");
    assert!(err.contains("missing column `service`"), "{err}");
    let err = csv_error("timestamp,service\n0,a\n");
    assert!(err.contains("numeric"), "{err}");
}

#[test]
fn unparsable_values_name_line_and_column() {
    let err = csv_error("timestamp,service,replicas\n0,a,1\n30000,a,three\n");
    assert!(
        err.contains("bad.csv, line 3") && err.contains("`replicas`") && err.contains("`three`"),
        "{err}"
    );
    let err = csv_error("timestamp,service,replicas\nyesterday,a,1\n");
    assert!(
        err.contains("line 2") && err.contains("`timestamp`") && err.contains("yesterday"),
        "{err}"
    );
}

#[test]
fn asking_for_an_absent_column_lists_what_exists() {
    let err = io::csv::read_telemetry_bytes(
        grid(&["a"], 3).as_bytes(),
        "bad.csv",
        &ReadOptions::default().with_columns(&["latency_ms"]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("`latency_ms`") && err.contains("`replicas`") && err.contains("`req_rate`"),
        "{err}"
    );
}

#[test]
fn parquet_with_wrong_types_or_version_is_refused() {
    use arrow::array::{Float64Array, RecordBatch, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;
    // `timestamp` as text.
    let schema = Arc::new(Schema::new(vec![
        Field::new("timestamp", DataType::Utf8, false),
        Field::new("service", DataType::Utf8, false),
        Field::new("replicas", DataType::Float64, true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(vec!["2024-01-01"])),
            Arc::new(StringArray::from(vec!["a"])),
            Arc::new(Float64Array::from(vec![1.0])),
        ],
    )
    .unwrap();
    let mut buf = Vec::new();
    let mut w = parquet::arrow::ArrowWriter::try_new(&mut buf, schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let err = io::parquet::read_telemetry_bytes(
        Bytes::from(buf),
        "typed.parquet",
        &ReadOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("typed.parquet") && err.contains("`timestamp`") && err.contains("Utf8"),
        "{err}"
    );

    // A file from a future holoscale.
    let tel = read_csv(&grid(&["a"], 3));
    let mut buf = Vec::new();
    io::parquet::write_telemetry(&tel, &mut buf, &WriteOptions::default()).unwrap();
    let needle = b"holoscale.schema_version";
    let pos = buf.windows(needle.len()).position(|w| w == needle).unwrap();
    // The value "1" follows the key in the footer's thrift encoding; make it "9".
    let value = buf[pos + needle.len()..]
        .iter()
        .position(|&b| b == b'1')
        .unwrap()
        + pos
        + needle.len();
    buf[value] = b'9';
    let err = io::parquet::read_telemetry_bytes(
        Bytes::from(buf),
        "future.parquet",
        &ReadOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("future.parquet") && err.contains("schema version 9"),
        "{err}"
    );

    let err = io::parquet::read_telemetry_bytes(
        Bytes::from_static(b"not parquet at all"),
        "junk.parquet",
        &ReadOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("junk.parquet") && err.contains("not a readable Parquet file"),
        "{err}"
    );
}

#[test]
fn npz_with_mismatched_names_is_refused() {
    let tel = read_csv(&grid(&["a", "b"], 3));
    let mut buf = std::io::Cursor::new(Vec::new());
    io::npz::write_telemetry(&tel, &mut buf).unwrap();
    let layout = io::npz::NpzLayout {
        services: Some(vec!["only-one".into()]),
        ..Default::default()
    };
    let err = io::npz::read_telemetry_bytes(buf.get_ref(), "x.npz", &layout)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`services`") && err.contains("2 services") && err.contains("1 names"),
        "{err}"
    );
    let layout = io::npz::NpzLayout {
        array: Some("traffic".into()),
        ..Default::default()
    };
    let err = io::npz::read_telemetry_bytes(buf.get_ref(), "x.npz", &layout)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("x.npz") && err.contains("`traffic`") && err.contains("`data`"),
        "{err}"
    );
    let err = io::npz::read_telemetry_bytes(b"PK junk", "y.npz", &Default::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("y.npz") && err.contains("not a NumPy .npz archive"),
        "{err}"
    );
}

#[test]
fn edges_with_bad_rows_are_refused() {
    let err = io::csv::read_edges_bytes(b"source,destination,req_rate\na,b,-2\n", "e.csv")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("e.csv") && err.contains("a -> b") && err.contains("-2"),
        "{err}"
    );
    let err = io::csv::read_edges_bytes(b"src,dst\na,b\n", "e.csv")
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing column `source`"), "{err}");
    // A bare topology (no rates) is accepted with unit rates.
    let e = io::csv::read_edges_bytes(b"source,destination\na,b\n", "e.csv").unwrap();
    assert_eq!(e.edges()[0].req_rate, 1.0);
}
