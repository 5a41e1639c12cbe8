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

/// Telemetry of two services and four columns with varied values, as Parquet bytes.
fn parquet_bytes(steps: usize) -> (Telemetry, Vec<u8>) {
    let values = ndarray::Array3::from_shape_fn((steps, 2, 4), |(t, n, c)| {
        (t as f64 * 0.37 + n as f64 * 1.3 + c as f64).sin() * 100.0 + 200.0
    });
    let tel = Telemetry::try_new(
        "pages",
        1_700_000_000_000,
        30_000,
        vec!["a".into(), "b".into()],
        vec![
            "replicas".into(),
            "cpu_cores".into(),
            "req_rate".into(),
            "latency_ms".into(),
        ],
        values,
    )
    .unwrap();
    let mut buf = Vec::new();
    io::parquet::write_telemetry(&tel, &mut buf, &WriteOptions::default()).unwrap();
    (tel, buf)
}

#[test]
fn parquet_with_corrupted_pages_is_an_error_naming_the_row_group() {
    let (tel, good) = parquet_bytes(2000);
    let read = |bytes: &[u8]| {
        io::parquet::read_telemetry_bytes(
            Bytes::copy_from_slice(bytes),
            "pages.parquet",
            &ReadOptions::default(),
        )
    };
    assert_eq!(read(&good).unwrap().values(), tel.values());
    // 0xFF bytes over every part of the file: an error, or (where the bytes are not data,
    // such as statistics) the very same values; never other values.
    let mut errors = 0;
    let mut named = 0;
    for k in 1..40 {
        let mut bad = good.clone();
        let at = good.len() * k / 40;
        let end = (at + 48).min(good.len());
        bad[at..end].fill(0xFF);
        match read(&bad) {
            Err(e) => {
                errors += 1;
                let msg = e.to_string();
                assert!(msg.contains("pages.parquet"), "{msg}");
                if msg.contains("row group") {
                    named += 1;
                }
            }
            Ok(back) => assert!(
                back.values().iter().zip(tel.values()).all(|(a, b)| a == b)
                    && back.observed() == tel.observed(),
                "corruption at byte {at} was read as other values"
            ),
        }
    }
    assert!(errors >= 20, "only {errors} of 39 corruptions were caught");
    assert!(named >= 1, "no error named the row group");
}

#[test]
fn timestamps_in_epoch_seconds_are_read_as_seconds() {
    let mut text = String::from("timestamp,service,replicas\n");
    for t in 0..20 {
        text.push_str(&format!("{},a,{}\n", 1_700_000_000 + 30 * t, t));
    }
    let tel = read_csv(&text);
    assert_eq!(tel.interval_ms(), 30_000);
    assert_eq!(tel.start_ms(), 1_700_000_000_000);
    assert_eq!(tel.len(), 20);
    // Told they are milliseconds, they are.
    let opts = ReadOptions {
        timestamp_unit: io::TimestampUnit::Milliseconds,
        ..Default::default()
    };
    let ms = io::csv::read_telemetry_bytes(text.as_bytes(), "s.csv", &opts).unwrap();
    assert_eq!(ms.interval_ms(), 30);
    // Epoch milliseconds stay milliseconds, and dated timestamps carry their own unit.
    assert_eq!(read_csv(&grid(&["a"], 10)).interval_ms(), 30_000);
    let dated = "timestamp,service,replicas\n2024-01-01T00:00:00Z,a,1\n2024-01-01T00:00:30Z,a,2\n";
    let opts = ReadOptions {
        timestamp_unit: io::TimestampUnit::Seconds,
        ..Default::default()
    };
    let err = io::csv::read_telemetry_bytes(dated.as_bytes(), "d.csv", &opts)
        .unwrap_err()
        .to_string();
    assert!(err.contains("`timestamp_unit`"), "{err}");
}

#[test]
fn jittered_timestamps_give_the_interval_of_their_grid() {
    // Up to ±14 s around a 30 s grid, two services, 300 steps.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut text = String::from("timestamp,service,replicas\n");
    for t in 0..300i64 {
        for s in ["a", "b"] {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let jitter = (state % 28_001) as i64 - 14_000;
            text.push_str(&format!(
                "{},{s},{}\n",
                1_704_067_200_000 + t * 30_000 + jitter,
                t
            ));
        }
    }
    let mut tel = read_csv(&text);
    assert_eq!(tel.interval_ms(), 30_000);
    let report = validate::repair(&mut tel, &RepairPolicy::default())
        .into_result()
        .unwrap();
    assert!(!report.has_fatal());
    assert!((299..=301).contains(&tel.len()), "{} steps", tel.len());
    // Every sample on its own step: a's replicas are 0, 1, 2, ... step by step.
    let a = tel.series("a", "replicas").unwrap();
    let on_own_step = a
        .iter()
        .enumerate()
        .filter(|(k, v)| **v == *k as f64)
        .count();
    assert!(
        on_own_step >= 295,
        "{on_own_step} of {} samples on their step",
        a.len()
    );
}

#[test]
fn a_refused_gap_in_inferred_data_suggests_the_interval() {
    // 30 s samples with one hour missing for `a`.
    let mut text = String::from("timestamp,service,replicas\n");
    for t in 0..400 {
        for s in ["a", "b"] {
            if s == "a" && (100..220).contains(&t) {
                continue;
            }
            text.push_str(&format!("{},{s},{t}\n", t * 30_000));
        }
    }
    let mut tel = read_csv(&text);
    let err = validate::repair(&mut tel, &RepairPolicy::default())
        .into_result()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`max_fill`") && err.contains("`interval_ms`") && err.contains("30s"),
        "{err}"
    );
}

#[test]
fn a_column_without_values_is_named_as_such() {
    use holoscale_datasets::tensor::{SplitSpec, WindowOptions, WindowSpec, Windowed};
    let mut text = String::from("timestamp,service,replicas,req_rate\n");
    for t in 0..60 {
        text.push_str(&format!("{},a,{t},{}\n", t * 30_000, t * 2));
        text.push_str(&format!("{},b,{t},\n", t * 30_000));
    }
    let mut tel = read_csv(&text);
    let report = validate::repair(&mut tel, &RepairPolicy::default());
    assert!(report.of_kind(ProblemKind::NoValues).count() == 1);
    let err = Windowed::new(
        &tel,
        &["replicas", "req_rate"],
        "replicas",
        WindowSpec::try_new(5, 1, 1).unwrap(),
        SplitSpec::default(),
        WindowOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("`b`") && err.contains("`req_rate`") && err.contains("no values at all"),
        "{err}"
    );
    assert!(!err.contains("max_fill"), "not a gap to repair: {err}");
}

#[test]
fn an_empty_csv_says_it_is_empty() {
    let err = csv_error("");
    assert!(err.contains("bad.csv") && err.contains("empty"), "{err}");
    assert!(!err.contains("missing column"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("e.parquet");
    std::fs::write(&empty, b"").unwrap();
    let err = io::read_telemetry(&empty, &ReadOptions::default(), &io::NoProgress)
        .unwrap_err()
        .to_string();
    assert!(err.contains("empty"), "{err}");
}

#[test]
fn csv_errors_name_the_line_of_the_file() {
    // Line 1 is the header; the short record is on line 3, the bad value on line 4.
    let short = "timestamp,service,replicas\n0,a,1\n30000,a\n";
    let err = csv_error(short);
    assert!(err.contains("line 3"), "{err}");
    let bad = "timestamp,service,replicas\n0,a,1\n30000,a,2\n60000,a,x\n";
    let err = csv_error(bad);
    assert!(err.contains("line 4") && err.contains("`x`"), "{err}");
}

#[test]
fn duplicates_that_disagree_are_warned() {
    let text = "timestamp,service,replicas,req_rate\n0,a,3,10\n0,a,13,10.2\n30000,a,4,11\n30000,a,4,11\n60000,a,5,12\n";
    let mut tel = read_csv(text);
    let report = validate::repair(&mut tel, &RepairPolicy::default());
    let d: Vec<_> = report.of_kind(ProblemKind::DisagreeingDuplicates).collect();
    assert_eq!(d.len(), 1, "{:?}", report.problems);
    let msg = d[0].to_string();
    assert!(
        msg.contains("`replicas`: 3 and 13") && msg.contains("10%"),
        "{msg}"
    );
    assert_eq!(d[0].severity, Severity::Warning);
    // Still averaged, as before.
    assert_eq!(tel.series("a", "replicas").unwrap()[0], 8.0);
}
