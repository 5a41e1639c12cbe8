//! Checksums of the values holoscale writes to Parquet, per row group and column, kept in
//! the file's key-value metadata (`holoscale.checksums`) and checked when the file is read.
//!
//! The Parquet writer holoscale uses does not write page checksums, and a damaged page can
//! decode to plausible garbage (bytes of 0xFF are NaN as doubles, which validation would
//! then "repair" as missing). So the writer hashes every value it writes (FNV-1a, 64 bits,
//! over the value's bits, with nulls marked) per row group and column, and the reader hashes
//! what it decoded: a difference is an error naming the file, the row group and the column.
//! Files written by other tools carry no such metadata and are read as before (their page
//! checksums, when they have them, are verified by the Parquet reader).

use crate::error::{Error, Result};

/// Key of the checksums in a file's key-value metadata.
pub const CHECKSUM_KEY: &str = "holoscale.checksums";

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;

#[inline]
fn eat(h: &mut u64, bytes: &[u8]) {
    for &b in bytes {
        *h ^= b as u64;
        *h = h.wrapping_mul(FNV_PRIME);
    }
}

/// Which row group a row falls in.
#[derive(Debug, Clone)]
enum Groups {
    /// Every group holds this many rows (the writer's setting).
    Fixed(u64),
    /// Cumulative row counts at the end of each group (from the file's metadata).
    Ends(Vec<u64>),
}

/// The hashes of one column, per row group.
#[derive(Debug, Clone)]
pub(crate) struct ColumnHash {
    groups: Groups,
    row: u64,
    group: usize,
    hashes: Vec<u64>,
}

impl ColumnHash {
    fn new(groups: Groups) -> ColumnHash {
        ColumnHash {
            groups,
            row: 0,
            group: 0,
            hashes: vec![FNV_OFFSET],
        }
    }

    #[inline]
    fn slot(&mut self) -> &mut u64 {
        let next = match &self.groups {
            Groups::Fixed(rows) => (self.row / rows) as usize,
            Groups::Ends(ends) => {
                let mut g = self.group;
                while g + 1 < ends.len() && self.row >= ends[g] {
                    g += 1;
                }
                g
            }
        };
        while self.hashes.len() <= next {
            self.hashes.push(FNV_OFFSET);
        }
        self.group = next;
        self.row += 1;
        &mut self.hashes[next]
    }

    /// One value, by its bytes (`None`: null).
    #[inline]
    pub fn push(&mut self, bytes: Option<&[u8]>) {
        let h = self.slot();
        match bytes {
            None => eat(h, &[0]),
            Some(b) => {
                eat(h, &[1]);
                eat(h, &(b.len() as u64).to_le_bytes());
                eat(h, b);
            }
        }
    }

    /// A float (`None`: null).
    #[inline]
    pub fn push_f64(&mut self, v: Option<f64>) {
        self.push(
            v.map(|v| v.to_bits().to_le_bytes())
                .as_ref()
                .map(|b| &b[..]),
        );
    }

    /// An integer (a timestamp in ms).
    #[inline]
    pub fn push_i64(&mut self, v: i64) {
        self.push(Some(&v.to_le_bytes()));
    }
}

/// Checksums being computed for a set of columns.
#[derive(Debug, Clone)]
pub(crate) struct Checksums {
    columns: Vec<String>,
    hashes: Vec<ColumnHash>,
}

impl Checksums {
    /// For a writer whose row groups hold `rows_per_group` rows.
    pub fn for_writer(columns: &[String], rows_per_group: usize) -> Checksums {
        Checksums::with_groups(columns, Groups::Fixed(rows_per_group.max(1) as u64))
    }

    /// For a reader of a file whose row groups hold `group_rows` rows each.
    pub fn for_reader(columns: &[String], group_rows: &[u64]) -> Checksums {
        let mut ends = Vec::with_capacity(group_rows.len());
        let mut total = 0;
        for r in group_rows {
            total += r;
            ends.push(total);
        }
        Checksums::with_groups(columns, Groups::Ends(ends))
    }

    fn with_groups(columns: &[String], groups: Groups) -> Checksums {
        Checksums {
            columns: columns.to_vec(),
            hashes: columns
                .iter()
                .map(|_| ColumnHash::new(groups.clone()))
                .collect(),
        }
    }

    /// The hasher of column `k` (in the order given at construction).
    pub fn column(&mut self, k: usize) -> &mut ColumnHash {
        &mut self.hashes[k]
    }

    /// The metadata value: `{"columns": [...], "row_groups": [["hex", ...], ...]}`.
    pub fn to_metadata(&self) -> String {
        let groups = self
            .hashes
            .iter()
            .map(|h| h.hashes.len())
            .max()
            .unwrap_or(0);
        let rows: Vec<Vec<String>> = (0..groups)
            .map(|g| {
                self.hashes
                    .iter()
                    .map(|h| format!("{:016x}", h.hashes.get(g).copied().unwrap_or(FNV_OFFSET)))
                    .collect()
            })
            .collect();
        serde_json::json!({ "columns": self.columns, "row_groups": rows }).to_string()
    }

    /// Compares with the checksums a writer stored (`metadata`), for the columns hashed
    /// here that the writer hashed too; `groups` is the file's row-group count.
    pub fn verify(&self, metadata: &str, file: &str, groups: usize) -> Result<()> {
        let corrupt = |message: String| Error::Corrupt {
            file: file.to_string(),
            message,
        };
        let stored: serde_json::Value = serde_json::from_str(metadata)
            .map_err(|e| corrupt(format!("its `{CHECKSUM_KEY}` metadata is malformed ({e})")))?;
        let names: Vec<&str> = stored["columns"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        let rows = stored["row_groups"].as_array().cloned().unwrap_or_default();
        if rows.len() != groups.max(1) && !(groups == 0 && rows.is_empty()) {
            return Err(corrupt(format!(
                "it has {groups} row groups, but holoscale wrote {}",
                rows.len()
            )));
        }
        for (k, name) in self.columns.iter().enumerate() {
            let Some(j) = names.iter().position(|n| n == name) else {
                continue;
            };
            for (g, row) in rows.iter().enumerate().take(groups) {
                let want = row
                    .get(j)
                    .and_then(|v| v.as_str())
                    .and_then(|s| u64::from_str_radix(s, 16).ok());
                let got = self.hashes[k].hashes.get(g).copied().unwrap_or(FNV_OFFSET);
                if want != Some(got) {
                    return Err(corrupt(format!(
                        "row group {g}, column `{name}`: the values read differ from what holoscale wrote (checksum mismatch)"
                    )));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_and_reader_agree_on_row_groups() {
        let cols = vec!["v".to_string()];
        let mut w = Checksums::for_writer(&cols, 3);
        let mut r = Checksums::for_reader(&cols, &[3, 3, 1]);
        for i in 0..7 {
            let v = (i != 4).then_some(i as f64 * 0.5);
            w.column(0).push_f64(v);
            r.column(0).push_f64(v);
        }
        let meta = w.to_metadata();
        r.verify(&meta, "f", 3).unwrap();
        // One value different in the last row group.
        let mut bad = Checksums::for_reader(&cols, &[3, 3, 1]);
        for i in 0..7 {
            bad.column(0)
                .push_f64(Some(if i == 6 { 9.0 } else { i as f64 * 0.5 }));
        }
        let err = bad.verify(&meta, "f", 3).unwrap_err().to_string();
        assert!(
            err.contains("row group 1") || err.contains("row group 2"),
            "{err}"
        );
        assert!(
            Checksums::for_reader(&cols, &[3])
                .verify("{", "f", 1)
                .is_err()
        );
    }
}
