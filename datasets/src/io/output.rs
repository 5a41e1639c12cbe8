//! The rules every command and library function follows before it writes: never replace
//! what holoscale did not write, never write over an input, and replace holoscale's own
//! outputs only when asked to (`force`).
//!
//! - A **file** that exists is refused unless `force`; an output that is one of the inputs
//!   (the same file, through any path) is refused even with `force`.
//! - A **directory** that exists and holds anything is refused unless `force`; with `force`
//!   it is accepted only when everything in it is what holoscale writes into a directory of
//!   that kind (its [`DirManifest`]: file names, suffixes, subdirectories of known kinds)
//!   and its signature file shows that holoscale wrote it (a model's `metadata.json`, a
//!   run's `run.json`). Anything else is named in the error, and nothing is touched.
//! - `-` is standard output: the callers that can stream to stdout handle it before these
//!   checks; the checks refuse it as a file name.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// What holoscale writes into a directory of one kind.
#[derive(Debug)]
pub struct DirManifest {
    /// What the directory is, for messages ("model directory").
    pub what: &'static str,
    /// File names holoscale writes there.
    pub files: &'static [&'static str],
    /// Endings of further file names holoscale writes there (".png").
    pub suffixes: &'static [&'static str],
    /// Subdirectories holoscale writes, with their own manifests.
    pub dirs: &'static [(&'static str, &'static DirManifest)],
    /// A file that a directory holoscale wrote always holds, and a text in it.
    pub signature: Option<(&'static str, &'static str)>,
}

/// Temporary files of [`super::write_atomic`] (left by a killed process) are holoscale's too.
fn is_temporary(name: &str) -> bool {
    name.starts_with(".holoscale-") && name.ends_with(".tmp")
}

/// Whether `a` and `b` name the same existing file or directory.
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

fn refuse_stdout(path: &Path) -> Result<()> {
    if path.as_os_str() == "-" {
        return Err(Error::param(
            "output",
            "`-` (standard output) cannot take this output; give a file or directory",
        ));
    }
    Ok(())
}

/// Checks an output file: refused when it exists (unless `force`), when it is a directory,
/// or when it is one of `inputs` (even with `force`).
pub fn check_output_file(path: &Path, force: bool, inputs: &[&Path]) -> Result<()> {
    refuse_stdout(path)?;
    if let Some(input) = inputs.iter().find(|i| same_file(path, i)) {
        return Err(Error::OutputIsInput {
            path: path.to_path_buf(),
            input: input.to_path_buf(),
        });
    }
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Err(Error::param(
            "output",
            format!("{}: is a directory; give a file name", path.display()),
        )),
        Ok(_) if !force => Err(Error::OutputExists {
            path: path.to_path_buf(),
            directory: false,
        }),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(path, "inspect", e)),
    }
}

/// Checks an output directory of the kind `manifest` describes: missing or empty is fine;
/// otherwise refused unless `force`, and with `force` refused when it holds anything that
/// holoscale did not write there, lacks the signature of a directory holoscale wrote, or
/// holds one of `inputs`.
pub fn check_output_dir(
    dir: &Path,
    force: bool,
    manifest: &DirManifest,
    inputs: &[&Path],
) -> Result<()> {
    refuse_stdout(dir)?;
    let mut entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries.peekable(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) if dir.exists() && !dir.is_dir() => {
            return Err(Error::io(dir, "use as a directory", e));
        }
        Err(e) => return Err(Error::io(dir, "list", e)),
    };
    if entries.peek().is_none() {
        return Ok(());
    }
    if !force {
        return Err(Error::OutputExists {
            path: dir.to_path_buf(),
            directory: true,
        });
    }
    let mut foreign = Vec::new();
    foreign_entries(dir, manifest, Path::new(""), &mut foreign)?;
    if !foreign.is_empty() {
        return Err(Error::ForeignFiles {
            path: dir.to_path_buf(),
            what: manifest.what.to_string(),
            found: foreign,
        });
    }
    if let Ok(canonical) = std::fs::canonicalize(dir)
        && let Some(input) = inputs
            .iter()
            .find(|i| std::fs::canonicalize(i).is_ok_and(|p| p.starts_with(&canonical)))
    {
        return Err(Error::OutputIsInput {
            path: dir.to_path_buf(),
            input: input.to_path_buf(),
        });
    }
    Ok(())
}

/// Collects (relative to the top directory) what in `dir` the manifest does not account
/// for, and the signature when it is missing.
fn foreign_entries(
    dir: &Path,
    manifest: &DirManifest,
    rel: &Path,
    out: &mut Vec<String>,
) -> Result<()> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, "list", e))? {
        let entry = entry.map_err(|e| Error::io(dir, "list", e))?;
        names.push((
            entry.file_name().to_string_lossy().into_owned(),
            entry
                .file_type()
                .map_err(|e| Error::io(entry.path(), "inspect", e))?,
        ));
    }
    names.sort_by(|a, b| a.0.cmp(&b.0));
    let shown = |name: &str| rel.join(name).display().to_string();
    for (name, kind) in &names {
        if kind.is_dir() {
            // A subdirectory being written (`.NAME.partial`, `.holoscale-NAME.tmp`) left by
            // a killed process is holoscale's when NAME is one of the manifest's.
            let staging_of = |d: &str| {
                name == &format!(".{d}.partial") || name == &format!(".holoscale-{d}.tmp")
            };
            match manifest.dirs.iter().find(|(d, _)| d == name) {
                Some((_, sub)) => foreign_entries(&dir.join(name), sub, &rel.join(name), out)?,
                None if manifest.dirs.iter().any(|(d, _)| staging_of(d)) => {}
                None => out.push(format!("{}/", shown(name))),
            }
            continue;
        }
        let owned = kind.is_file()
            && (manifest.files.contains(&name.as_str())
                || manifest.suffixes.iter().any(|s| name.ends_with(s))
                || is_temporary(name));
        if !owned {
            out.push(shown(name));
        }
    }
    if let Some((file, text)) = manifest.signature {
        let signed = std::fs::read_to_string(dir.join(file)).is_ok_and(|t| t.contains(text));
        if !signed && !names.is_empty() {
            out.push(format!(
                "no {} written by holoscale",
                rel.join(file).display()
            ));
        }
    }
    Ok(())
}

/// The paths of `names` inside `dir` (the inputs a model or run directory provides).
pub fn files_in(dir: &Path, names: &[&str]) -> Vec<PathBuf> {
    names.iter().map(|n| dir.join(n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    static INNER: DirManifest = DirManifest {
        what: "inner",
        files: &["a.json"],
        suffixes: &[],
        dirs: &[],
        signature: Some(("a.json", "holoscale_version")),
    };
    static OUTER: DirManifest = DirManifest {
        what: "outer",
        files: &["run.json", "data.parquet"],
        suffixes: &[".png"],
        dirs: &[("inner", &INNER)],
        signature: Some(("run.json", "holoscale_version")),
    };

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn a_directory_of_holoscale_files_is_replaced_only_with_force() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("out");
        assert!(
            check_output_dir(&dir, false, &OUTER, &[]).is_ok(),
            "missing is fine"
        );
        std::fs::create_dir(&dir).unwrap();
        assert!(
            check_output_dir(&dir, false, &OUTER, &[]).is_ok(),
            "empty is fine"
        );
        write(&dir.join("run.json"), r#"{"holoscale_version": "0.1.0"}"#);
        write(&dir.join("data.parquet"), "x");
        write(&dir.join("fig.png"), "x");
        write(
            &dir.join("inner/a.json"),
            r#"{"holoscale_version": "0.1.0"}"#,
        );
        write(&dir.join(".holoscale-abc.tmp"), "x");
        // Subdirectories of the manifest left half-written by a killed process.
        write(&dir.join(".inner.partial/a.json"), "x");
        write(&dir.join(".holoscale-inner.tmp/a.json"), "x");
        let err = check_output_dir(&dir, false, &OUTER, &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("not empty") && err.contains("`force`"),
            "{err}"
        );
        check_output_dir(&dir, true, &OUTER, &[]).unwrap();
        // An input inside it is refused even with force.
        let err = check_output_dir(&dir, true, &OUTER, &[&dir.join("data.parquet")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("is also an input"), "{err}");
    }

    #[test]
    fn anything_else_is_named_and_refused_even_with_force() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("out");
        write(&dir.join("run.json"), r#"{"holoscale_version": "0.1.0"}"#);
        write(&dir.join("notes.txt"), "mine");
        write(&dir.join("inner/a.json"), "not signed");
        write(&dir.join("photos/cat.jpg"), "mine");
        // A staging name of a directory the manifest does not know is the user's.
        write(&dir.join(".photos.partial/dog.jpg"), "mine");
        let err = check_output_dir(&dir, true, &OUTER, &[])
            .unwrap_err()
            .to_string();
        for found in [
            "notes.txt",
            "photos/",
            ".photos.partial/",
            "no inner/a.json written by holoscale",
        ] {
            assert!(err.contains(found), "{found} in {err}");
        }
        // Without the signature, even holoscale's file names are not enough.
        std::fs::remove_file(dir.join("notes.txt")).unwrap();
        std::fs::remove_dir_all(dir.join("photos")).unwrap();
        std::fs::remove_dir_all(dir.join(".photos.partial")).unwrap();
        std::fs::remove_dir_all(dir.join("inner")).unwrap();
        write(&dir.join("run.json"), "{}");
        let err = check_output_dir(&dir, true, &OUTER, &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("no run.json written by holoscale"), "{err}");
        assert_eq!(std::fs::read_to_string(dir.join("run.json")).unwrap(), "{}");
    }

    #[test]
    fn files_need_force_and_never_replace_an_input() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out.parquet");
        check_output_file(&out, false, &[]).unwrap();
        write(&out, "old");
        let err = check_output_file(&out, false, &[]).unwrap_err().to_string();
        assert!(err.contains("exists") && err.contains("`force`"), "{err}");
        check_output_file(&out, true, &[]).unwrap();
        // The same file through another path is still the input.
        let other = d.path().join(".").join("out.parquet");
        let err = check_output_file(&other, true, &[&out])
            .unwrap_err()
            .to_string();
        assert!(err.contains("is also an input"), "{err}");
        let err = check_output_file(Path::new("-"), true, &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("standard output"), "{err}");
        let err = check_output_file(d.path(), true, &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("is a directory"), "{err}");
    }
}
