//! Reading and writing telemetry and call edges: Parquet, CSV, DeepScaler-style `.npz`,
//! Prometheus and the Alibaba microservices trace.
//!
//! Every writer to a path goes through [`write_atomic`]: it writes a temporary file next to
//! the target and renames it into place, so an interrupted run never leaves half a file.

pub mod alibaba;
pub(crate) mod checksum;
pub(crate) mod columns;
pub mod csv;
pub mod guard;
pub mod npz;
pub mod output;
pub mod parquet;
pub mod prometheus;
pub mod stream;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::edges::CallEdges;
use crate::error::{Error, Result};
use crate::telemetry::Telemetry;

pub use output::{DirManifest, check_output_dir, check_output_file, same_file};

/// Default number of rows per Arrow batch when reading and writing.
pub const DEFAULT_BATCH_ROWS: usize = 64 * 1024;

/// A telemetry file format, known from the file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Apache Parquet (`.parquet`, `.pq`).
    Parquet,
    /// Comma-separated values with a header (`.csv`).
    Csv,
    /// NumPy archive holding a `(T, N, F)` array (`.npz`).
    Npz,
}

impl Format {
    /// The format of `path` from its extension.
    pub fn from_path(path: &Path) -> Result<Format> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase());
        match ext.as_deref() {
            Some("parquet" | "pq") => Ok(Format::Parquet),
            Some("csv") => Ok(Format::Csv),
            Some("npz") => Ok(Format::Npz),
            _ => Err(Error::param(
                "file",
                format!(
                    "{}: cannot tell the format from the extension; use .parquet, .csv or .npz",
                    path.display()
                ),
            )),
        }
    }
}

/// Receives progress of long reads and writes. Libraries report; the binary draws.
pub trait Progress: Send + Sync {
    /// A phase starts; `total` is in the phase's units (rows, bytes) when known.
    fn begin(&self, _label: &str, _total: Option<u64>) {}
    /// `delta` more units are done.
    fn advance(&self, _delta: u64) {}
    /// The phase is over.
    fn finish(&self) {}
}

/// A [`Progress`] that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// The unit of integer timestamps in a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimestampUnit {
    /// From the magnitude: integers within [`crate::ingest::SECONDS_RANGE`] (1973 to 5138 as
    /// seconds) are epoch seconds, others epoch milliseconds.
    #[default]
    Auto,
    /// Epoch milliseconds.
    Milliseconds,
    /// Epoch seconds.
    Seconds,
}

/// Options for reading telemetry.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Numeric columns to read, in this order; `None` reads every numeric column.
    pub columns: Option<Vec<String>>,
    /// Sampling interval in milliseconds; `None` takes the file's metadata or infers it.
    pub interval_ms: Option<i64>,
    /// Rows per batch; 0 means [`DEFAULT_BATCH_ROWS`].
    pub batch_rows: usize,
    /// The unit of integer timestamps.
    pub timestamp_unit: TimestampUnit,
}

impl ReadOptions {
    /// Reads only these columns (column projection).
    pub fn with_columns<S: AsRef<str>>(mut self, columns: &[S]) -> Self {
        self.columns = Some(columns.iter().map(|c| c.as_ref().to_string()).collect());
        self
    }

    /// Fixes the sampling interval instead of inferring it.
    pub fn with_interval_ms(mut self, interval_ms: i64) -> Self {
        self.interval_ms = Some(interval_ms);
        self
    }

    /// Sets the batch size.
    pub fn with_batch_rows(mut self, rows: usize) -> Self {
        self.batch_rows = rows;
        self
    }

    pub(crate) fn batch(&self) -> usize {
        if self.batch_rows == 0 {
            DEFAULT_BATCH_ROWS
        } else {
            self.batch_rows
        }
    }
}

/// Options for writing telemetry.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// Write every (timestamp, service) row with repaired values; by default only rows with an
    /// observed value are written and values that were not observed are null, so that reading
    /// the file back gives the same telemetry.
    pub filled: bool,
    /// Rows per Parquet row group; 0 means one million.
    pub row_group_rows: usize,
}

impl WriteOptions {
    /// Sets [`WriteOptions::filled`].
    pub fn with_filled(mut self, filled: bool) -> Self {
        self.filled = filled;
        self
    }
}

/// Reads telemetry from a Parquet or CSV file, choosing the reader by extension.
///
/// `.npz` files need service and feature names: use [`npz::read_telemetry`].
pub fn read_telemetry(
    path: &Path,
    options: &ReadOptions,
    progress: &dyn Progress,
) -> Result<Telemetry> {
    match Format::from_path(path)? {
        Format::Parquet => parquet::read_telemetry(path, options, progress),
        Format::Csv => csv::read_telemetry(path, options, progress),
        Format::Npz => Err(Error::param(
            "file",
            format!(
                "{}: an .npz array carries no service or feature names; give them in an npz layout (`features`, `services`, `start_ms`, `interval_ms`)",
                path.display()
            ),
        )),
    }
}

/// Writes telemetry to a Parquet, CSV or `.npz` file (by extension), atomically.
pub fn write_telemetry(tel: &Telemetry, path: &Path, options: &WriteOptions) -> Result<()> {
    match Format::from_path(path)? {
        Format::Parquet => write_atomic(path, |w| parquet::write_telemetry(tel, w, options)),
        Format::Csv => write_atomic(path, |w| csv::write_telemetry(tel, w, options)),
        Format::Npz => write_atomic(path, |w| npz::write_telemetry(tel, w)),
    }
}

/// Reads call edges from a `.parquet` or `.csv` file (by extension).
pub fn read_edges(path: &Path) -> Result<CallEdges> {
    match Format::from_path(path)? {
        Format::Parquet => parquet::read_edges(path),
        Format::Csv => csv::read_edges(path),
        Format::Npz => Err(Error::param(
            "file",
            format!("{}: call edges are .parquet or .csv files", path.display()),
        )),
    }
}

/// Writes call edges to a `.parquet` or `.csv` file (by extension), atomically.
pub fn write_edges(edges: &CallEdges, path: &Path) -> Result<()> {
    match Format::from_path(path)? {
        Format::Parquet => write_atomic(path, |w| parquet::write_edges(edges, w)),
        Format::Csv => write_atomic(path, |w| csv::write_edges(edges, w)),
        Format::Npz => Err(Error::param(
            "file",
            format!(
                "{}: call edges are written as .parquet or .csv",
                path.display()
            ),
        )),
    }
}

/// What a Parquet or CSV file holds, judged from its column names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// Telemetry rows (`timestamp`, `service`, ...).
    Telemetry,
    /// Call edges (`source`, `destination`, ..., no `service`).
    Edges,
}

/// Looks at the columns of a file to tell telemetry from call edges.
pub fn sniff(path: &Path) -> Result<Content> {
    guard::guarded(&path.display().to_string(), || sniff_unguarded(path))
}

fn sniff_unguarded(path: &Path) -> Result<Content> {
    let names: Vec<String> = match Format::from_path(path)? {
        Format::Parquet => {
            let builder = ::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                open(path)?,
            )
            .map_err(|source| Error::Parquet {
                path: path.to_path_buf(),
                source,
            })?;
            builder
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect()
        }
        Format::Csv => {
            let mut rdr = ::csv::Reader::from_reader(open(path)?);
            rdr.headers()
                .map_err(|e| Error::Parse {
                    file: path.display().to_string(),
                    line: Some(1),
                    column: "(header)".into(),
                    message: e.to_string(),
                })?
                .iter()
                .map(|h| h.trim().to_string())
                .collect()
        }
        Format::Npz => return Ok(Content::Telemetry),
    };
    let has = |c: &str| names.iter().any(|n| n == c);
    Ok(
        if has(crate::schema::SOURCE)
            && has(crate::schema::DESTINATION)
            && !has(crate::schema::SERVICE)
        {
            Content::Edges
        } else {
            Content::Telemetry
        },
    )
}

/// A file being written: a temporary file in the target's directory, renamed over the target
/// by [`AtomicFile::commit`]. Dropped without a commit (an error, a panic), the temporary file
/// is removed and the target is untouched.
pub struct AtomicFile {
    path: std::path::PathBuf,
    writer: BufWriter<File>,
    tmp: tempfile::TempPath,
}

impl AtomicFile {
    /// Starts writing `path`.
    pub fn create(path: &Path) -> Result<AtomicFile> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let mut builder = tempfile::Builder::new();
        builder.prefix(".holoscale-").suffix(".tmp");
        // A temporary file is private (0600) by default; outputs are ordinary files.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o644));
        }
        let tmp = builder
            .tempfile_in(dir)
            .map_err(|e| Error::io(dir, "create a temporary file in", e))?;
        let (file, tmp) = tmp.into_parts();
        Ok(AtomicFile {
            path: path.to_path_buf(),
            writer: BufWriter::new(file),
            tmp,
        })
    }

    /// The writer of the temporary file.
    pub fn writer(&mut self) -> &mut BufWriter<File> {
        &mut self.writer
    }

    /// The target path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes, syncs and renames the file into place.
    pub fn commit(self) -> Result<()> {
        let (writer, target) = self.into_parts();
        target.commit(writer)
    }

    /// The writer, and the rest of the file that [`AtomicTarget::commit`] puts in place
    /// (for writers that take their sink by value and give it back when finished).
    pub fn into_parts(self) -> (BufWriter<File>, AtomicTarget) {
        (
            self.writer,
            AtomicTarget {
                path: self.path,
                tmp: self.tmp,
            },
        )
    }
}

/// The temporary file of an [`AtomicFile`] whose writer was taken out.
pub struct AtomicTarget {
    path: std::path::PathBuf,
    tmp: tempfile::TempPath,
}

impl AtomicTarget {
    /// Flushes `writer` (the temporary file's), syncs it and renames it into place.
    pub fn commit(self, writer: BufWriter<File>) -> Result<()> {
        let path = self.path;
        let file = writer
            .into_inner()
            .map_err(|e| Error::io(&path, "write", e.into_error()))?;
        file.sync_all().map_err(|e| Error::io(&path, "sync", e))?;
        self.tmp
            .persist(&path)
            .map_err(|e| Error::io(&path, "rename into place", e.error))?;
        Ok(())
    }
}

/// Writes `path` through a temporary file in the same directory, renamed into place once
/// `write` succeeded. On error the temporary file is removed and `path` is untouched.
pub fn write_atomic<F>(path: &Path, write: F) -> Result<()>
where
    F: FnOnce(&mut BufWriter<File>) -> Result<()>,
{
    let mut file = AtomicFile::create(path)?;
    write(file.writer())?;
    file.commit()
}

/// Reads a whole small file into memory with a path-naming error.
pub(crate) fn open(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| Error::io(path, "open", e))
}

/// Flushes a writer, naming the target on failure.
pub(crate) fn flush<W: Write>(w: &mut W, name: &str) -> Result<()> {
    w.flush().map_err(|e| Error::io(name, "write", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_from_extension() {
        assert_eq!(
            Format::from_path(Path::new("a/b.PARQUET")).unwrap(),
            Format::Parquet
        );
        assert_eq!(Format::from_path(Path::new("b.csv")).unwrap(), Format::Csv);
        assert_eq!(Format::from_path(Path::new("b.npz")).unwrap(), Format::Npz);
        let err = Format::from_path(Path::new("b.xlsx"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("b.xlsx") && err.contains(".parquet"), "{err}");
    }

    #[test]
    fn failed_write_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        std::fs::write(&path, "old").unwrap();
        let err = write_atomic(&path, |w| {
            w.write_all(b"half").unwrap();
            Err(Error::param("x", "interrupted"))
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "temporary file removed");
        write_atomic(&path, |w| {
            w.write_all(b"new")
                .map_err(|e| Error::io("out", "write", e))
        })
        .unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o644, "outputs are readable by others, like any file");
        }
    }
}
