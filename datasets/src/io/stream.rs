//! Telemetry and call edges written as they are produced, row by row, to a temporary file
//! renamed into place when finished: for runs too long to hold in memory (the simulator's
//! streaming recorder). The format comes from the file's extension (`.parquet`, `.csv`);
//! the bytes are those that writing the whole telemetry at once gives.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

use super::{AtomicFile, AtomicTarget, Format, csv, parquet};
use crate::edges::CallEdge;
use crate::error::{Error, Result};

/// The temporary file, shared with a writer that keeps its sink until it is closed.
#[derive(Clone)]
struct Shared(Arc<Mutex<BufWriter<File>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).flush()
    }
}

impl Shared {
    /// The file, once the writer that shared it is gone.
    fn into_inner(self, path: &Path) -> Result<BufWriter<File>> {
        Arc::try_unwrap(self.0)
            .map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()))
            .map_err(|_| {
                Error::io(
                    path,
                    "finish",
                    std::io::Error::other("the writer still holds the file"),
                )
            })
    }
}

enum TelemetrySink {
    Parquet(parquet::TelemetryWriter<Shared>),
    Csv(csv::TelemetryWriter<Shared>),
}

/// A telemetry file being written a row at a time.
pub struct TelemetryStream {
    target: AtomicTarget,
    file: Shared,
    path: std::path::PathBuf,
    sink: TelemetrySink,
}

fn unstreamable(path: &Path) -> Error {
    Error::param(
        "file",
        format!(
            "{}: only .parquet and .csv files are written as a stream",
            path.display()
        ),
    )
}

impl TelemetryStream {
    /// Starts `path` for telemetry over `services` with numeric `columns`, every
    /// `interval_ms`.
    pub fn create(
        path: &Path,
        services: &[String],
        columns: &[String],
        interval_ms: i64,
    ) -> Result<TelemetryStream> {
        let format = Format::from_path(path)?;
        let name = path.display().to_string();
        let (writer, target) = AtomicFile::create(path)?.into_parts();
        let file = Shared(Arc::new(Mutex::new(writer)));
        let writer = file.clone();
        let sink = match format {
            Format::Parquet => TelemetrySink::Parquet(parquet::TelemetryWriter::try_new(
                writer,
                &name,
                services,
                columns,
                interval_ms,
                0,
            )?),
            Format::Csv => TelemetrySink::Csv(csv::TelemetryWriter::try_new(
                writer, &name, services, columns,
            )?),
            Format::Npz => return Err(unstreamable(path)),
        };
        Ok(TelemetryStream {
            target,
            file,
            path: path.to_path_buf(),
            sink,
        })
    }

    /// Writes one step: `rows[n]` is service `n`'s values (NaN: not observed); a service
    /// without any value gets no row, as [`super::write_telemetry`] writes telemetry.
    pub fn push_step<R: AsRef<[f64]>>(&mut self, ts_ms: i64, rows: &[R]) -> Result<()> {
        for (n, row) in rows.iter().enumerate() {
            let row = row.as_ref();
            if row.iter().all(|v| v.is_nan()) {
                continue;
            }
            let value = |c: usize| Some(row[c]).filter(|v| !v.is_nan());
            match &mut self.sink {
                TelemetrySink::Parquet(w) => w.push_row(ts_ms, n, value)?,
                TelemetrySink::Csv(w) => w.push_row(ts_ms, n, value)?,
            }
        }
        Ok(())
    }

    /// Finishes the file and renames it into place.
    pub fn finish(self) -> Result<()> {
        match self.sink {
            TelemetrySink::Parquet(w) => w.finish()?,
            TelemetrySink::Csv(w) => drop(w.finish()?),
        }
        self.target.commit(self.file.into_inner(&self.path)?)
    }
}

enum EdgeSink {
    Parquet(parquet::EdgesWriter<Shared>),
    Csv(csv::EdgesWriter<Shared>),
}

/// A call-edge file being written an edge at a time.
pub struct EdgeStream {
    target: AtomicTarget,
    file: Shared,
    path: std::path::PathBuf,
    sink: EdgeSink,
}

impl EdgeStream {
    /// Starts `path`.
    pub fn create(path: &Path) -> Result<EdgeStream> {
        let format = Format::from_path(path)?;
        let (writer, target) = AtomicFile::create(path)?.into_parts();
        let file = Shared(Arc::new(Mutex::new(writer)));
        let writer = file.clone();
        let sink = match format {
            Format::Parquet => EdgeSink::Parquet(parquet::EdgesWriter::try_new(writer)?),
            Format::Csv => EdgeSink::Csv(csv::EdgesWriter::try_new(writer)?),
            Format::Npz => return Err(unstreamable(path)),
        };
        Ok(EdgeStream {
            target,
            file,
            path: path.to_path_buf(),
            sink,
        })
    }

    /// Writes one edge.
    pub fn push(&mut self, edge: CallEdge) -> Result<()> {
        match &mut self.sink {
            EdgeSink::Parquet(w) => w.push(edge),
            EdgeSink::Csv(w) => w.push(&edge),
        }
    }

    /// Finishes the file and renames it into place.
    pub fn finish(self) -> Result<()> {
        match self.sink {
            EdgeSink::Parquet(w) => w.finish()?,
            EdgeSink::Csv(w) => drop(w.finish()?),
        }
        self.target.commit(self.file.into_inner(&self.path)?)
    }
}
