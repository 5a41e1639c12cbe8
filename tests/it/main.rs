//! End-to-end tests of the `holoscale` binary, run as a user runs it.

mod cli;
mod deploy;
mod estimate;
mod graph;
mod notebooks;
mod prometheus;
mod report;
mod safety;
mod scale;
mod sim;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The binary under test, with logs quiet unless a test asks.
pub fn holoscale() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_holoscale"));
    c.env_remove("RUST_LOG");
    c
}

/// Runs and returns the output, failing with both streams when the exit code is not `ok`.
pub fn run(cmd: &mut Command, ok: bool) -> Output {
    let out = cmd.output().expect("the holoscale binary runs");
    if out.status.success() != ok {
        panic!(
            "{:?} exited with {} (expected success = {ok})\nstdout:\n{}\nstderr:\n{}",
            cmd,
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// `holoscale -q simulate` of a built-in app (HPA policy, the default) into `out`.
pub fn simulate(app: &str, duration: &str, seed: &str, out: &Path) -> Output {
    run(
        holoscale()
            .args(["-q", "simulate", "--app", app, "--duration", duration])
            .args(["--policy", "hpa", "--seed", seed, "--out"])
            .arg(out),
        true,
    )
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fixture under `tests/data`.
pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}
