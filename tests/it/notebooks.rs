//! Runs the notebooks in `notebooks/` headless against the outputs of a demo run, so they
//! cannot rot. The Python environment comes from `notebooks/setup.sh` (which `.ci/run`
//! calls): `HOLOSCALE_NOTEBOOK_PYTHON` names its python, else `.venv-notebooks/` at the
//! repository root is used. Set `HOLOSCALE_SKIP_NOTEBOOKS=1` to skip them on a machine
//! without Python.

use std::path::{Path, PathBuf};
use std::process::Command;

fn python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("HOLOSCALE_NOTEBOOK_PYTHON") {
        return Some(PathBuf::from(p));
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-notebooks/bin/python");
    venv.is_file().then_some(venv)
}

/// Executes every notebook against `demo` (the output directory of `holoscale demo`).
pub fn execute(demo: &Path) {
    let skip = std::env::var("HOLOSCALE_SKIP_NOTEBOOKS").is_ok_and(|v| v == "1");
    let Some(python) = python() else {
        assert!(
            skip,
            "no Python for the notebooks: run notebooks/setup.sh (it creates .venv-notebooks), set HOLOSCALE_NOTEBOOK_PYTHON, or set HOLOSCALE_SKIP_NOTEBOOKS=1"
        );
        return;
    };
    if skip {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(&python)
        .arg(root.join("notebooks/run.py"))
        .arg("--demo")
        .arg(demo)
        .arg("--bin")
        .arg(env!("CARGO_BIN_EXE_holoscale"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "notebooks failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for nb in ["quickstart.ipynb", "dependencies.ipynb"] {
        assert!(
            stdout.contains(&format!("ok      {nb}")),
            "{nb} did not run:\n{stdout}"
        );
    }
}
