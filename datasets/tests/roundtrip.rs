//! Round trips through memory for every format, over random telemetry.

use std::io::Cursor;

use bytes::Bytes;
use holoscale_datasets::edges::{CallEdge, CallEdges};
use holoscale_datasets::io::{self, ReadOptions, WriteOptions};
use holoscale_datasets::telemetry::Telemetry;
use ndarray::Array3;
use proptest::prelude::*;
use rand::{RngExt, SeedableRng};

/// Random telemetry: every row present (the first column is always observed), other cells
/// missing with probability 0.2, values of mixed magnitude.
fn random_telemetry(t: usize, n: usize, c: usize, seed: u64) -> Telemetry {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let values = Array3::from_shape_fn((t, n, c), |(_, _, k)| {
        if k > 0 && rng.random_bool(0.2) {
            f64::NAN
        } else {
            let scale = [1.0, 1e-3, 1e6, 17.0][k % 4];
            rng.random_range(0.0..1000.0) * scale
        }
    });
    Telemetry::try_new(
        "random",
        1_700_000_000_000 + rng.random_range(0..1000) * 1000,
        [1000, 15_000, 30_000, 60_000][(seed % 4) as usize],
        (0..n).map(|i| format!("svc-{i}")).collect(),
        ["replicas", "req_rate", "latency_ms", "my_metric"][..c]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        values,
    )
    .unwrap()
}

fn assert_same(a: &Telemetry, b: &Telemetry, check_mask: bool) {
    assert_eq!(a.services(), b.services());
    assert_eq!(a.columns(), b.columns());
    assert_eq!(a.start_ms(), b.start_ms());
    assert_eq!(a.interval_ms(), b.interval_ms());
    assert_eq!(a.values().dim(), b.values().dim());
    for (x, y) in a.values().iter().zip(b.values()) {
        assert!(x == y || (x.is_nan() && y.is_nan()), "{x} != {y}");
    }
    if check_mask {
        assert_eq!(a.observed(), b.observed());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn parquet_round_trip(t in 2usize..40, n in 1usize..6, c in 1usize..5, seed in any::<u64>()) {
        let tel = random_telemetry(t, n, c, seed);
        let mut buf = Vec::new();
        io::parquet::write_telemetry(&tel, &mut buf, &WriteOptions::default()).unwrap();
        let back = io::parquet::read_telemetry_bytes(Bytes::from(buf), "mem", &ReadOptions::default().with_batch_rows(7)).unwrap();
        assert_same(&tel, &back, true);
    }

    #[test]
    fn csv_round_trip(t in 2usize..40, n in 1usize..6, c in 1usize..5, seed in any::<u64>()) {
        let tel = random_telemetry(t, n, c, seed);
        let mut buf = Vec::new();
        io::csv::write_telemetry(&tel, &mut buf, &WriteOptions::default()).unwrap();
        let back = io::csv::read_telemetry_bytes(&buf, "mem", &ReadOptions::default()).unwrap();
        assert_same(&tel, &back, true);
    }

    #[test]
    fn npz_round_trip(t in 1usize..40, n in 1usize..6, c in 1usize..5, seed in any::<u64>()) {
        let tel = random_telemetry(t, n, c, seed);
        let mut buf = Cursor::new(Vec::new());
        io::npz::write_telemetry(&tel, &mut buf).unwrap();
        let back = io::npz::read_telemetry_bytes(buf.get_ref(), "mem", &Default::default()).unwrap();
        // An array has no mask: missing values come back as NaN.
        assert_same(&tel, &back, false);
    }

    #[test]
    fn edges_round_trip(rows in 0usize..30, stamped in any::<bool>(), seed in any::<u64>()) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let edges: Vec<CallEdge> = (0..rows)
            .map(|i| CallEdge {
                timestamp_ms: stamped.then_some(1_700_000_000_000 + i as i64 * 30_000),
                source: format!("s{}", rng.random_range(0..5)).into(),
                destination: format!("d{}", rng.random_range(0..5)).into(),
                req_rate: rng.random_range(0.0..100.0),
                latency_ms: rng.random_bool(0.5).then(|| rng.random_range(0.0..50.0)),
            })
            .collect();
        let edges = CallEdges::try_new("mem", edges).unwrap();
        let mut pq = Vec::new();
        io::parquet::write_edges(&edges, &mut pq).unwrap();
        prop_assert_eq!(&io::parquet::read_edges_bytes(Bytes::from(pq), "mem").unwrap(), &edges);
        let mut csv = Vec::new();
        io::csv::write_edges(&edges, &mut csv).unwrap();
        prop_assert_eq!(&io::csv::read_edges_bytes(&csv, "mem").unwrap(), &edges);
    }
}

#[test]
fn parquet_column_projection_reads_only_what_is_asked() {
    let tel = random_telemetry(10, 3, 4, 3);
    let mut buf = Vec::new();
    io::parquet::write_telemetry(&tel, &mut buf, &WriteOptions::default()).unwrap();
    let opts = ReadOptions::default().with_columns(&["my_metric", "replicas"]);
    let back = io::parquet::read_telemetry_bytes(Bytes::from(buf), "mem", &opts).unwrap();
    assert_eq!(back.columns(), ["my_metric", "replicas"]);
    assert_same(
        &tel.select_columns(&["my_metric", "replicas"]).unwrap(),
        &back,
        true,
    );
}

#[test]
fn files_round_trip_through_disk_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let tel = random_telemetry(12, 2, 3, 9);
    for name in ["t.parquet", "t.csv", "t.npz"] {
        let path = dir.path().join(name);
        io::write_telemetry(&tel, &path, &WriteOptions::default()).unwrap();
        let back = match io::Format::from_path(&path).unwrap() {
            io::Format::Npz => io::npz::read_telemetry(&path, &Default::default()).unwrap(),
            _ => io::read_telemetry(&path, &ReadOptions::default(), &io::NoProgress).unwrap(),
        };
        assert_same(&tel, &back.with_source("random"), name != "t.npz");
    }
    // Only the three outputs: no temporary file left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
}

#[test]
fn filled_output_writes_every_row() {
    let mut tel = random_telemetry(10, 2, 3, 5);
    holoscale_datasets::validate::repair(&mut tel, &Default::default());
    let mut buf = Vec::new();
    io::csv::write_telemetry(&tel, &mut buf, &WriteOptions::default().with_filled(true)).unwrap();
    let back = io::csv::read_telemetry_bytes(&buf, "mem", &ReadOptions::default()).unwrap();
    assert!(back.observed().iter().all(|&o| o));
    assert_same(&tel, &back, false);
}

#[test]
fn deepscaler_npz_with_given_names() {
    // An archive as DeepScaler's scripts write it: only `data`, float32, (T, N, F).
    let (t, n, f) = (5usize, 2usize, 3usize);
    let data: Vec<f32> = (0..t * n * f).map(|i| i as f32 * 0.5).collect();
    let header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({t}, {n}, {f}), }}");
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    let pad = 64 - (10 + header.len() + 1) % 64;
    let header = format!("{header}{}\n", " ".repeat(pad % 64));
    npy.extend((header.len() as u16).to_le_bytes());
    npy.extend(header.as_bytes());
    npy.extend(data.iter().flat_map(|v| v.to_le_bytes()));
    let mut zip_buf = Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut zip_buf);
        z.start_file("data.npy", zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut z, &npy).unwrap();
        z.finish().unwrap();
    }
    let layout = io::npz::NpzLayout {
        features: Some(vec![
            "replicas".into(),
            "cpu_util".into(),
            "req_rate".into(),
        ]),
        services: Some(vec!["a".into(), "b".into()]),
        start_ms: Some(0),
        interval_ms: Some(30_000),
        array: None,
    };
    let tel = io::npz::read_telemetry_bytes(zip_buf.get_ref(), "ds.npz", &layout).unwrap();
    assert_eq!(
        tel.series("b", "req_rate").unwrap().to_vec(),
        [2.5, 5.5, 8.5, 11.5, 14.5]
    );
    assert_eq!(tel.timestamp(4), 120_000);
}

#[test]
fn telemetry_and_its_parts_can_be_shared_between_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<holoscale_datasets::Telemetry>();
    shared::<holoscale_datasets::CallEdges>();
    shared::<holoscale_datasets::GroundTruth>();
    shared::<holoscale_datasets::tensor::Windowed>();
    shared::<holoscale_datasets::validate::Report>();
}
