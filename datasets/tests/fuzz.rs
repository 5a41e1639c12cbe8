//! Every parser of the data layer against random and mutated bytes: none may panic, loop or
//! allocate without bound; each input ends in a named error or a valid result.
//!
//! The number of cases per parser is `HOLOSCALE_FUZZ_CASES` (64 by default, what CI runs);
//! run more with, for example, `HOLOSCALE_FUZZ_CASES=20000 cargo test --release -p
//! holoscale-datasets --test fuzz`. An allocation above 1 GiB aborts the test binary (the
//! allocator below refuses it), which is how an unbounded allocation shows.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};

use bytes::Bytes;
use holoscale_datasets::edges::CallEdges;
use holoscale_datasets::io::{self, ReadOptions, WriteOptions};
use holoscale_datasets::{GroundTruth, Telemetry};
use proptest::prelude::*;

/// Refuses any single allocation above 1 GiB: a parser that sizes a buffer from a corrupt
/// length aborts the process instead of eating the machine.
struct Capped;

const CAP: usize = 1 << 30;

#[allow(unsafe_code)] // a test allocator: forwards to the system allocator below the cap
unsafe impl GlobalAlloc for Capped {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > CAP {
            return std::ptr::null_mut();
        }
        // SAFETY: the layout is the caller's, passed on unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > CAP {
            return std::ptr::null_mut();
        }
        // SAFETY: as for `alloc` and `dealloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Capped = Capped;

fn cases() -> u32 {
    std::env::var("HOLOSCALE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

/// `seed` with some bytes replaced, some inserted, and maybe truncated.
fn mutated(seed: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = seed.len().max(1);
    (
        prop::collection::vec((0..len, any::<u8>()), 1..12),
        prop::collection::vec((0..len, any::<u8>()), 0..3),
        prop::option::of(0..len),
    )
        .prop_map(move |(replace, insert, cut)| {
            let mut b = seed.clone();
            for (i, v) in replace {
                if i < b.len() {
                    b[i] = v;
                }
            }
            for (i, v) in insert {
                b.insert(i.min(b.len()), v);
            }
            if let Some(c) = cut {
                b.truncate(c);
            }
            b
        })
}

/// Random bytes, or mutations of `seed`.
fn inputs(seed: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..600),
        4 => mutated(seed),
    ]
}

/// Runs `parse`, failing on a panic (an error is fine).
fn no_panic<T, E: std::fmt::Display>(what: &str, parse: impl FnOnce() -> Result<T, E>) {
    let started = std::time::Instant::now();
    let outcome = catch_unwind(AssertUnwindSafe(parse));
    assert!(outcome.is_ok(), "{what} panicked");
    if let Ok(Err(e)) = outcome {
        assert!(
            !e.to_string().is_empty(),
            "{what}: an error without a message"
        );
    }
    assert!(
        started.elapsed().as_secs() < 10,
        "{what} took {:?}",
        started.elapsed()
    );
}

fn sample() -> Telemetry {
    let v = ndarray::Array3::from_shape_fn((20, 3, 2), |(t, n, c)| (t * 3 + n + c) as f64 * 0.5);
    Telemetry::try_new(
        "seed",
        1_700_000_000_000,
        30_000,
        vec!["a".into(), "b".into(), "c".into()],
        vec!["replicas".into(), "req_rate".into()],
        v,
    )
    .unwrap()
}

fn parquet_seed() -> Vec<u8> {
    let mut b = Vec::new();
    io::parquet::write_telemetry(&sample(), &mut b, &WriteOptions::default()).unwrap();
    b
}

fn csv_seed() -> Vec<u8> {
    let mut b = Vec::new();
    io::csv::write_telemetry(&sample(), &mut b, &WriteOptions::default()).unwrap();
    b
}

fn npz_seed() -> Vec<u8> {
    let mut c = Cursor::new(Vec::new());
    io::npz::write_telemetry(&sample(), &mut c).unwrap();
    c.into_inner()
}

fn edges() -> CallEdges {
    CallEdges::from_static(&[("a", "b", 2.0), ("b", "c", 0.5), ("a", "c", 1.0)]).unwrap()
}

fn edges_csv_seed() -> Vec<u8> {
    let mut b = Vec::new();
    io::csv::write_edges(&edges(), &mut b).unwrap();
    b
}

fn edges_parquet_seed() -> Vec<u8> {
    let mut b = Vec::new();
    io::parquet::write_edges(&edges(), &mut b).unwrap();
    b
}

const PROMETHEUS_SEED: &str = r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"destination_workload":"cart"},"values":[[1700000000,"1.5"],[1700000030,"NaN"],[1700000060,"+Inf"]]},{"metric":{"destination_workload":"front"},"values":[[1700000000,"3"]]}]}}"#;

const ALIBABA_SEED: &str = "timestamp,msname,msinstanceid,nodeid,cpu_utilization,memory_utilization\n0,MS_A,A1,N1,0.2,0.5\n0,MS_A,A2,N2,0.4,0.7\n60000,MS_B,B1,N1,0.1,0.3\n";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn parquet_telemetry(bytes in inputs(parquet_seed())) {
        no_panic("parquet telemetry", || io::parquet::read_telemetry_bytes(
            Bytes::from(bytes), "fuzz.parquet", &ReadOptions::default()));
    }

    #[test]
    fn csv_telemetry(bytes in inputs(csv_seed())) {
        no_panic("csv telemetry", || io::csv::read_telemetry_bytes(
            &bytes, "fuzz.csv", &ReadOptions::default()));
    }

    #[test]
    fn npz_telemetry(bytes in inputs(npz_seed())) {
        let layout = io::npz::NpzLayout::default();
        no_panic("npz", || io::npz::read_telemetry_bytes(&bytes, "fuzz.npz", &layout));
        let named = io::npz::NpzLayout {
            features: Some(vec!["replicas".into(), "req_rate".into()]),
            services: Some(vec!["a".into(), "b".into(), "c".into()]),
            start_ms: Some(0),
            interval_ms: Some(30_000),
            array: None,
        };
        no_panic("npz with names", || io::npz::read_telemetry_bytes(&bytes, "fuzz.npz", &named));
    }

    #[test]
    fn call_edges_csv(bytes in inputs(edges_csv_seed())) {
        no_panic("edges csv", || io::csv::read_edges_bytes(&bytes, "fuzz-edges.csv"));
    }

    #[test]
    fn call_edges_parquet(bytes in inputs(edges_parquet_seed())) {
        no_panic("edges parquet", || io::parquet::read_edges_bytes(Bytes::from(bytes), "fuzz-edges.parquet"));
    }

    #[test]
    fn prometheus_json(bytes in inputs(PROMETHEUS_SEED.as_bytes().to_vec())) {
        let text = String::from_utf8_lossy(&bytes);
        no_panic("prometheus json", || io::prometheus::parse_query_range(&text, "fuzz"));
    }

    #[test]
    fn alibaba_csv(bytes in inputs(ALIBABA_SEED.as_bytes().to_vec())) {
        no_panic("alibaba csv", || io::alibaba::read_tables(
            &[("MSMetricsUpdate_0.csv", &bytes)], &io::alibaba::Options::default()));
    }

    #[test]
    fn ground_truth_file(bytes in inputs(truth_seed())) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("truth.parquet");
        std::fs::write(&path, &bytes).unwrap();
        no_panic("truth parquet", || GroundTruth::read_file(&path));
        let csv = dir.path().join("truth.csv");
        std::fs::write(&csv, &bytes).unwrap();
        no_panic("truth csv", || GroundTruth::read_file(&csv));
    }
}

fn truth_seed() -> Vec<u8> {
    use holoscale_datasets::truth::{TruthEdge, TruthKind};
    let t = GroundTruth {
        edges: vec![TruthEdge {
            source: "a".into(),
            destination: "b".into(),
            kind: TruthKind::Call,
            via: None,
        }],
    };
    let mut b = Vec::new();
    t.write_parquet(&mut b).unwrap();
    b
}
