//! The Alibaba fixture (`tests/data/alibaba`), converted end to end; every expected number is
//! worked out by hand from the fixture rows.

use std::path::PathBuf;

use holoscale_datasets::io::{self, alibaba};
use holoscale_datasets::validate::{self, RepairPolicy};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/data/alibaba")
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn trace_directory_becomes_telemetry_and_edges() {
    let opts = alibaba::Options {
        interval_ms: 60_000,
        start_ms: 1_700_000_000_000,
    };
    let imp = alibaba::read_dir(&fixture(), &opts, &io::NoProgress).unwrap();
    assert_eq!(
        imp.files.len(),
        4,
        "both CallGraph layouts, metrics and MCR/RT"
    );
    let mut tel = imp.telemetry;
    assert_eq!(
        tel.services(),
        ["MS_A", "MS_B", "MS_C"],
        "USER is a caller, not a measured service"
    );
    assert_eq!(
        tel.columns(),
        ["replicas", "cpu_util", "mem_util", "req_rate", "latency_ms"]
    );
    assert_eq!(
        (tel.start_ms(), tel.interval_ms(), tel.len()),
        (1_700_000_000_000, 60_000, 3)
    );
    let s = |svc: &str, col: &str| tel.series(svc, col).unwrap().to_vec();
    assert_eq!(s("MS_A", "replicas"), [2.0, 2.0, 1.0]);
    assert!(
        s("MS_A", "cpu_util")
            .iter()
            .zip([0.3, 0.4, 0.1])
            .all(|(a, b)| close(*a, b))
    );
    assert!(
        s("MS_A", "mem_util")
            .iter()
            .zip([0.6, 0.6, 0.4])
            .all(|(a, b)| close(*a, b))
    );
    // Provider RPC + HTTP call rates summed over instances: 100+50 + 100 at t=0.
    assert_eq!(s("MS_A", "req_rate"), [250.0, 240.0, 110.0]);
    // Rate-weighted response time: (100·10 + 50·20 + 100·30) / 250 = 20.
    assert!(
        s("MS_A", "latency_ms")
            .iter()
            .zip([20.0, 12.0, 11.0])
            .all(|(a, b)| close(*a, b))
    );
    assert_eq!(s("MS_C", "req_rate"), [40.0, 45.0, 50.0]);
    let report = validate::repair(&mut tel, &RepairPolicy::default())
        .into_result()
        .unwrap();
    assert!(!report.has_fatal());

    let e = imp.edges.edges();
    let find = |t: i64, a: &str, b: &str| {
        e.iter()
            .find(|x| {
                x.timestamp_ms == Some(1_700_000_000_000 + t)
                    && &*x.source == a
                    && &*x.destination == b
            })
            .unwrap_or_else(|| panic!("edge {a}->{b} at {t}"))
    };
    // Two calls MS_A -> MS_B in the first minute, one from each CallGraph layout.
    let ab = find(0, "MS_A", "MS_B");
    assert!(close(ab.req_rate, 2.0 / 60.0) && close(ab.latency_ms.unwrap(), 14.0));
    assert!(close(find(60_000, "MS_A", "MS_B").req_rate, 1.0 / 60.0));
    assert!(close(find(0, "MS_B", "MS_C").latency_ms.unwrap(), 4.0));
    assert!(close(find(0, "USER", "MS_A").req_rate, 1.0 / 60.0));
    assert_eq!(e.len(), 5);
    assert!(
        imp.notes
            .iter()
            .any(|n| n.contains("1 CallGraph rows with an unknown")),
        "{:?}",
        imp.notes
    );
}

#[test]
fn missing_trace_column_is_named() {
    let bad = b"timestamp,msname,msinstanceid,cpu_utilization\n0,MS_A,A1,x\n";
    let err = alibaba::read_tables(&[("MSMetricsUpdate_9.csv", bad)], &Default::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("MSMetricsUpdate_9.csv")
            && err.contains("cpu_utilization")
            && err.contains("`x`"),
        "{err}"
    );
    let err = alibaba::read_tables(
        &[("CallGraph_9.csv", b"timestamp,um,dm\n0,A,\n".as_slice())],
        &Default::default(),
    );
    // The only row has no callee: dropped, leaving nothing.
    assert!(err.unwrap_err().to_string().contains("no rows"));
    let err = alibaba::read_dir(
        &fixture().join("nope"),
        &Default::default(),
        &io::NoProgress,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("nope"), "{err}");
}
