//! `holoscale simulate` writes the same bytes as before the simulator became its own crate:
//! hashes of every output file recorded with holoscale at commit 7d9c58b (the last commit
//! with the simulator inside `holoscale-datasets`). A change of these hashes is a change of
//! behaviour; `run.json` also holds the holoscale version, so a version bump re-records them.
//!
//! Re-recorded once since, for `telemetry.parquet` only, when telemetry files gained the
//! `holoscale.checksums` key-value metadata (issue 16): the files of 7d9c58b and of that
//! change decode to the same CSV, byte for byte (`holoscale convert` of both).

use sha2::{Digest, Sha256};

use crate::{holoscale, run};

/// (arguments after `simulate`, output file, sha256).
type Recorded = (
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
);

const RECORDED: [Recorded; 6] = [
    (
        &[
            "--app",
            "bookinfo",
            "--duration",
            "2h",
            "--policy",
            "hpa",
            "--seed",
            "3",
        ],
        &[
            (
                "app.toml",
                "d41081794cb0b55a125f9ef84ed622b49da3d3800f86b42b97c05fca53fb968b",
            ),
            (
                "edges.parquet",
                "8e2a2412c68595f9ec3f11644229a2a471b67af944fecf71d2e1bde58dbaaec5",
            ),
            (
                "run.json",
                "e21edcc5e2271b9379ba687f6f0dc9625ddb598c6ce2030a08edcb50d494c2e1",
            ),
            (
                "telemetry.parquet",
                "b325ddf9d42875f89f9b30ae730ca2b7283622a9a932f8298170bdddeef3107d",
            ),
            (
                "truth.parquet",
                "439d7d567ffdc89f0d0caa991115780b9f7020420bb0c4f460157bfca66dbffc",
            ),
        ],
    ),
    (
        &[
            "--app",
            "online-boutique",
            "--duration",
            "6h",
            "--policy",
            "hpa",
            "--seed",
            "5",
            "--gaps",
            "0.01",
        ],
        &[
            (
                "app.toml",
                "45eda184d9b61369a2db80c3dd20b84fe16a41bedc7f3ea23632e63fe3385fab",
            ),
            (
                "edges.parquet",
                "5bd464c9944821e109a4af4aecfd3dd198e8e9eaa6df1ad2988881e8653d5376",
            ),
            (
                "run.json",
                "b4c9aa2c0c1fb6188bca80d736e79e75c10e406d2d61dffcfdedd153ed00f81b",
            ),
            (
                "telemetry.parquet",
                "f53dfd1c8c2f443e2c4a5089b0b9cdc007334a7a1608d286ae37638b21f9d038",
            ),
            (
                "truth.parquet",
                "38b3c3eb21276bfd570256f86f862d88706d97a86a80c701e2ad5130ffe3698b",
            ),
        ],
    ),
    (
        &[
            "--app",
            "sock-shop",
            "--duration",
            "2h",
            "--policy",
            "random",
            "--seed",
            "2",
            "--format",
            "csv",
            "--static-edges",
        ],
        &[
            (
                "app.toml",
                "e015629cc910c1ce5853b3a5ceaac2e340c93e7cbcc6d128a673335b0bd7461f",
            ),
            (
                "edges.csv",
                "212fff918a5caeba7ee11424fb0350e062198fa55499c2afd279c91d6b5e7b29",
            ),
            (
                "run.json",
                "8f6444c309cc8991c7a5bd368b50de5ceabe7ccef9c3f21c6624de1b5012983f",
            ),
            (
                "telemetry.csv",
                "2e434e07cb6cc4213adc3d6f3d8f4b99862c62f3ef7393a7656533cb7bbf1adf",
            ),
            (
                "truth.csv",
                "6e458f82c25e01dcfb86dd72ea73880cf95aaff813c610780c79af992129f592",
            ),
        ],
    ),
    (
        &[
            "--app",
            "hotel-reservation",
            "--duration",
            "2h",
            "--policy",
            "oracle-noise",
            "--seed",
            "4",
            "--oracle",
            "realized",
        ],
        &[
            (
                "app.toml",
                "790d90278a39a1471c72da616a6ecb4db3ef5d49937346632febbb3dcc43c75c",
            ),
            (
                "edges.parquet",
                "e7a6b57fa3e51fd764e11496b971ce502408b3a3525462b777277e4cef090e88",
            ),
            (
                "run.json",
                "1f4b8c9ae7ebca0c830b843ba410deb74d45fd67043be8f10b5559d93dafb773",
            ),
            (
                "telemetry.parquet",
                "cc4ba0db0bd68ed36aa297bae52ed2cb3ac978f042656bab276f277771954a76",
            ),
            (
                "truth.parquet",
                "15d5befff74ad924c166a58df43c6e8988beba6153c885debe37acc086eb0db6",
            ),
        ],
    ),
    (
        &[
            "--app",
            "train-ticket",
            "--duration",
            "1h",
            "--policy",
            "static",
            "--seed",
            "9",
        ],
        &[
            (
                "app.toml",
                "e92cd8e67256812ba5f3b093d8412b6ecc92d0fe62dc5190e4620bd3e5480d7a",
            ),
            (
                "edges.parquet",
                "2b36b8937d0b28ad72667598ba156711bc9b577ba21a538544cea3eee080185e",
            ),
            (
                "run.json",
                "afee9393eb7b54f6e8bf5700414b147fb3b60603b8916a4086fc760838b1061c",
            ),
            (
                "telemetry.parquet",
                "646c19dfed904977dff445886a123ee5811aefae2a6a782141d0d8319a7450c9",
            ),
            (
                "truth.parquet",
                "c4c521c9a429bc8e06a22d7fe427d5ad179ca44ec8ab5d279d5d06bf470380a2",
            ),
        ],
    ),
    (
        &[
            "--app",
            "alibaba:30",
            "--duration",
            "1h",
            "--workload",
            "bursts",
            "--seed",
            "6",
        ],
        &[
            (
                "app.toml",
                "f59c9aabe6f899b09c7614b893188f62ba0e9d3f24885a0aec5e345db03ee338",
            ),
            (
                "edges.parquet",
                "c19f43383e4da7eb1f28dccbcdd3299b64e53d525b300c82b47b0dad317bde99",
            ),
            (
                "run.json",
                "0ad16642013b9ae1e9d48a16af820e4c897e69e7c19232fa055eccd414d42c1e",
            ),
            (
                "telemetry.parquet",
                "75419577987ca5f0c03d59307525258135c4cd8c7f27390c6a092bd3e4195323",
            ),
            (
                "truth.parquet",
                "8dd5e43cfbeb08139861d3e0b933db4ef6ce6e3a0c1d0a96f821fe4262974c04",
            ),
        ],
    ),
];

fn sha256(path: &std::path::Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn simulate_writes_the_bytes_recorded_before_the_move() {
    let dir = tempfile::tempdir().unwrap();
    for (k, (args, files)) in RECORDED.iter().enumerate() {
        let out = dir.path().join(format!("run{k}"));
        run(
            holoscale()
                .args(["-q", "simulate"])
                .args(*args)
                .arg("--out")
                .arg(&out),
            true,
        );
        let mut written: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        written.sort();
        let expected: Vec<&str> = files.iter().map(|(f, _)| *f).collect();
        assert_eq!(written, expected, "simulate {args:?}");
        for (file, hash) in *files {
            assert_eq!(
                sha256(&out.join(file)),
                *hash,
                "simulate {} wrote a different {file}",
                args.join(" ")
            );
        }
    }
}
