//! The ground truth of an application's dependencies: its call edges and the latent
//! dependencies planted on purpose (by the simulator, `holoscale-sim`), each with its kind.
//! Graph learning is scored against it; `truth.parquet` stores it.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Kinds of planted latent dependencies (dependencies that are not calls).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LatentKind {
    /// Two services driven by the same user action through different call paths: the
    /// operation's share of the mix varies on its own, so both loads move together.
    SameAction,
    /// Two services using one datastore, whose utilisation slows both.
    SharedDatastore,
    /// Two services on one node: each one's CPU use takes capacity from the other.
    CoLocated,
}

impl LatentKind {
    /// Name as written in files.
    pub fn as_str(self) -> &'static str {
        match self {
            LatentKind::SameAction => "same-action",
            LatentKind::SharedDatastore => "shared-datastore",
            LatentKind::CoLocated => "co-located",
        }
    }
}

/// Kind of a ground-truth edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TruthKind {
    /// A call from source to destination.
    Call,
    /// A planted latent dependency (undirected).
    Latent(LatentKind),
}

impl TruthKind {
    /// Name as written in files.
    pub fn as_str(self) -> &'static str {
        match self {
            TruthKind::Call => "call",
            TruthKind::Latent(k) => k.as_str(),
        }
    }

    /// Parses a name written by [`TruthKind::as_str`].
    pub fn parse(text: &str) -> Option<TruthKind> {
        Some(match text {
            "call" => TruthKind::Call,
            "same-action" => TruthKind::Latent(LatentKind::SameAction),
            "shared-datastore" => TruthKind::Latent(LatentKind::SharedDatastore),
            "co-located" => TruthKind::Latent(LatentKind::CoLocated),
            _ => return None,
        })
    }
}

/// One true dependency.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TruthEdge {
    /// Caller, or the first service of a latent pair.
    pub source: String,
    /// Callee, or the second service of a latent pair.
    pub destination: String,
    /// Kind.
    pub kind: TruthKind,
    /// For latent edges: the operation or datastore that links the pair.
    pub via: Option<String>,
}

/// Every true dependency of an application.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GroundTruth {
    /// Call edges first (sorted), then latent edges in spec order.
    pub edges: Vec<TruthEdge>,
}

impl GroundTruth {
    /// The latent edges only.
    pub fn latent(&self) -> impl Iterator<Item = &TruthEdge> {
        self.edges.iter().filter(|e| e.kind != TruthKind::Call)
    }

    /// Whether `a` and `b` are linked by a call in either direction.
    pub fn calls_between(&self, a: &str, b: &str) -> bool {
        self.edges.iter().any(|e| {
            e.kind == TruthKind::Call
                && ((e.source == a && e.destination == b) || (e.source == b && e.destination == a))
        })
    }

    fn schema() -> Arc<Schema> {
        Arc::new(Schema::new(vec![
            Field::new("source", DataType::Utf8, false),
            Field::new("destination", DataType::Utf8, false),
            Field::new("kind", DataType::Utf8, false),
            Field::new("via", DataType::Utf8, true),
        ]))
    }

    /// Writes the truth as Parquet (`source`, `destination`, `kind`, `via`).
    pub fn write_parquet<W: Write + Send>(&self, w: W) -> Result<()> {
        let pq = |source| Error::Parquet {
            path: "ground truth".into(),
            source,
        };
        let cols: Vec<ArrayRef> = vec![
            Arc::new(
                self.edges
                    .iter()
                    .map(|e| Some(e.source.as_str()))
                    .collect::<StringArray>(),
            ),
            Arc::new(
                self.edges
                    .iter()
                    .map(|e| Some(e.destination.as_str()))
                    .collect::<StringArray>(),
            ),
            Arc::new(
                self.edges
                    .iter()
                    .map(|e| Some(e.kind.as_str()))
                    .collect::<StringArray>(),
            ),
            Arc::new(
                self.edges
                    .iter()
                    .map(|e| e.via.as_deref())
                    .collect::<StringArray>(),
            ),
        ];
        let batch = RecordBatch::try_new(Self::schema(), cols).map_err(|source| Error::Arrow {
            path: "ground truth".into(),
            source,
        })?;
        let props = crate::io::parquet::writer_properties(None, 1 << 20);
        let mut writer =
            parquet::arrow::ArrowWriter::try_new(w, Self::schema(), Some(props)).map_err(pq)?;
        writer.write(&batch).map_err(pq)?;
        writer.close().map_err(pq)?;
        Ok(())
    }

    /// Writes the truth to a `.parquet` or `.csv` file, atomically.
    pub fn write_file(&self, path: &Path) -> Result<()> {
        match crate::io::Format::from_path(path)? {
            crate::io::Format::Csv => crate::io::write_atomic(path, |w| {
                let mut out = String::from("source,destination,kind,via\n");
                for e in &self.edges {
                    out.push_str(&format!(
                        "{},{},{},{}\n",
                        e.source,
                        e.destination,
                        e.kind.as_str(),
                        e.via.as_deref().unwrap_or("")
                    ));
                }
                w.write_all(out.as_bytes())
                    .map_err(|e| Error::io(path, "write", e))
            }),
            _ => crate::io::write_atomic(path, |w| self.write_parquet(w)),
        }
    }

    /// Reads a truth file written by [`GroundTruth::write_file`] (Parquet or CSV).
    pub fn read_file(path: &Path) -> Result<GroundTruth> {
        crate::io::guard::guarded(&path.display().to_string(), || Self::read_unguarded(path))
    }

    fn read_unguarded(path: &Path) -> Result<GroundTruth> {
        let name = path.display().to_string();
        let rows: Vec<[Option<String>; 4]> = match crate::io::Format::from_path(path)? {
            crate::io::Format::Csv => {
                let mut rdr = csv::Reader::from_reader(crate::io::open(path)?);
                let headers = rdr
                    .headers()
                    .map_err(|e| Error::Parse {
                        file: name.clone(),
                        line: Some(1),
                        column: "(header)".into(),
                        message: e.to_string(),
                    })?
                    .clone();
                let idx = |c: &str| headers.iter().position(|h| h.trim() == c);
                let cols = ["source", "destination", "kind", "via"].map(idx);
                let mut out = Vec::new();
                for rec in rdr.records() {
                    let rec = rec.map_err(|e| Error::Parse {
                        file: name.clone(),
                        line: None,
                        column: "(row)".into(),
                        message: e.to_string(),
                    })?;
                    out.push(cols.map(|c| {
                        c.and_then(|i| rec.get(i))
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(str::to_string)
                    }));
                }
                out
            }
            _ => {
                let builder =
                    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                        crate::io::open(path)?,
                    )
                    .map_err(|source| Error::Parquet {
                        path: path.into(),
                        source,
                    })?;
                let reader = builder.build().map_err(|source| Error::Parquet {
                    path: path.into(),
                    source,
                })?;
                let mut out = Vec::new();
                for b in reader {
                    let b = b.map_err(|source| Error::Arrow {
                        path: path.into(),
                        source,
                    })?;
                    let get = |c: &str| -> Vec<Option<String>> {
                        match b.column_by_name(c) {
                            Some(a) => {
                                let mut v = Vec::with_capacity(b.num_rows());
                                crate::io::columns::for_each_opt_str(a, &mut |s| {
                                    v.push(s.map(str::to_string))
                                });
                                v
                            }
                            None => vec![None; b.num_rows()],
                        }
                    };
                    let (s, d, k, v) = (get("source"), get("destination"), get("kind"), get("via"));
                    for i in 0..b.num_rows() {
                        out.push([s[i].clone(), d[i].clone(), k[i].clone(), v[i].clone()]);
                    }
                }
                out
            }
        };
        let mut edges = Vec::with_capacity(rows.len());
        for (i, [s, d, k, via]) in rows.into_iter().enumerate() {
            let (Some(source), Some(destination)) = (s, d) else {
                return Err(Error::Parse {
                    file: name,
                    line: Some(i as u64 + 2),
                    column: "source/destination".into(),
                    message: "a ground-truth edge needs both services".into(),
                });
            };
            let kind_text = k.unwrap_or_else(|| "call".into());
            let kind = TruthKind::parse(&kind_text).ok_or_else(|| Error::Parse {
                file: name.clone(),
                line: Some(i as u64 + 2),
                column: "kind".into(),
                message: format!("`{kind_text}` is not a kind; use call, same-action, shared-datastore or co-located"),
            })?;
            edges.push(TruthEdge {
                source,
                destination,
                kind,
                via,
            });
        }
        Ok(GroundTruth { edges })
    }
}
