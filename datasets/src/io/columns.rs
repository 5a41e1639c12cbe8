//! Typed access to Arrow columns, shared by the Parquet readers of telemetry and call edges.

use arrow::array::{Array, ArrayRef, AsArray, Float64Array};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type, TimeUnit, TimestampMillisecondType};

use crate::error::{Error, Result};

/// Whether a column of this type can be read as numbers.
pub(crate) fn is_numeric(dt: &DataType) -> bool {
    dt.is_numeric() || matches!(dt, DataType::Boolean)
}

/// Whether a column of this type can be read as timestamps.
pub(crate) fn is_timestamp(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Timestamp(_, _) | DataType::Int64 | DataType::Date64
    )
}

/// Whether a column of this type can be read as strings.
pub(crate) fn is_string(dt: &DataType) -> bool {
    match dt {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, v) => matches!(**v, DataType::Utf8 | DataType::LargeUtf8),
        _ => false,
    }
}

/// Timestamps in epoch milliseconds. Nulls are an error naming the row.
pub(crate) fn timestamps_ms(
    col: &ArrayRef,
    file: &str,
    column: &str,
    row0: u64,
) -> Result<Vec<i64>> {
    if col.null_count() > 0 {
        let row = (0..col.len()).find(|&i| col.is_null(i)).unwrap_or(0);
        return Err(Error::Parse {
            file: file.to_string(),
            line: None,
            column: column.to_string(),
            message: format!("row {} has no timestamp", row0 + row as u64),
        });
    }
    let arrow_err = |source| Error::Arrow {
        path: file.into(),
        source,
    };
    let out = match col.data_type() {
        DataType::Timestamp(TimeUnit::Millisecond, _) => col
            .as_primitive::<TimestampMillisecondType>()
            .values()
            .to_vec(),
        DataType::Timestamp(_, _) => cast(col, &DataType::Timestamp(TimeUnit::Millisecond, None))
            .map_err(arrow_err)?
            .as_primitive::<TimestampMillisecondType>()
            .values()
            .to_vec(),
        DataType::Int64 => col.as_primitive::<Int64Type>().values().to_vec(),
        DataType::Date64 => cast(col, &DataType::Int64)
            .map_err(arrow_err)?
            .as_primitive::<Int64Type>()
            .values()
            .to_vec(),
        other => {
            return Err(Error::ColumnType {
                file: file.to_string(),
                column: column.to_string(),
                found: other.to_string(),
                expected: "a timestamp, or int64 epoch milliseconds".into(),
            });
        }
    };
    Ok(out)
}

/// A numeric column as float64 (nulls stay null).
pub(crate) fn floats(col: &ArrayRef, file: &str, column: &str) -> Result<Float64Array> {
    if !is_numeric(col.data_type()) {
        return Err(Error::ColumnType {
            file: file.to_string(),
            column: column.to_string(),
            found: col.data_type().to_string(),
            expected: "a number (float or integer)".into(),
        });
    }
    let arr = cast(col, &DataType::Float64).map_err(|source| Error::Arrow {
        path: file.into(),
        source,
    })?;
    Ok(arr.as_primitive().clone())
}

/// Calls `f(row, text)` for every row of a string column (plain, large, view or dictionary).
/// Nulls are an error naming the row.
pub(crate) fn for_each_str(
    col: &ArrayRef,
    file: &str,
    column: &str,
    row0: u64,
    mut f: impl FnMut(usize, &str),
) -> Result<()> {
    for_each_str_dyn(col, file, column, row0, &mut f)
}

fn for_each_str_dyn(
    col: &ArrayRef,
    file: &str,
    column: &str,
    row0: u64,
    f: &mut dyn FnMut(usize, &str),
) -> Result<()> {
    if col.null_count() > 0 {
        let row = (0..col.len()).find(|&i| col.is_null(i)).unwrap_or(0);
        return Err(Error::Parse {
            file: file.to_string(),
            line: None,
            column: column.to_string(),
            message: format!("row {} is null; every row needs a name", row0 + row as u64),
        });
    }
    match col.data_type() {
        DataType::Utf8 => col
            .as_string::<i32>()
            .iter()
            .enumerate()
            .for_each(|(i, s)| f(i, s.unwrap_or_default())),
        DataType::LargeUtf8 => col
            .as_string::<i64>()
            .iter()
            .enumerate()
            .for_each(|(i, s)| f(i, s.unwrap_or_default())),
        DataType::Utf8View => col
            .as_string_view()
            .iter()
            .enumerate()
            .for_each(|(i, s)| f(i, s.unwrap_or_default())),
        DataType::Dictionary(_, _) => {
            let dict = col.as_any_dictionary();
            let mut names: Vec<String> = Vec::new();
            for_each_str_dyn(dict.values(), file, column, 0, &mut |_, s| {
                names.push(s.to_string())
            })?;
            for (i, k) in dict.normalized_keys().into_iter().enumerate() {
                f(i, &names[k]);
            }
        }
        other => {
            return Err(Error::ColumnType {
                file: file.to_string(),
                column: column.to_string(),
                found: other.to_string(),
                expected: "a string".into(),
            });
        }
    }
    Ok(())
}

/// Maps every row of a string column to an id with `id_of`, calling it once per distinct
/// dictionary value for dictionary columns and once per change of value otherwise.
pub(crate) fn map_str_ids(
    col: &ArrayRef,
    file: &str,
    column: &str,
    row0: u64,
    mut id_of: impl FnMut(&str) -> Result<u32>,
) -> Result<Vec<u32>> {
    if let DataType::Dictionary(_, _) = col.data_type()
        && col.null_count() == 0
    {
        let dict = col.as_any_dictionary();
        let mut lut = Vec::with_capacity(dict.values().len());
        let mut err = None;
        for_each_str(dict.values(), file, column, 0, |_, s| match id_of(s) {
            Ok(id) => lut.push(id),
            Err(e) => {
                err.get_or_insert(e);
                lut.push(u32::MAX);
            }
        })?;
        let keys = dict.normalized_keys();
        if let Some(e) = err {
            // Only an error if a row uses the failing value.
            if keys.iter().any(|&k| lut[k] == u32::MAX) {
                return Err(e);
            }
        }
        return Ok(keys.into_iter().map(|k| lut[k]).collect());
    }
    let mut out = Vec::with_capacity(col.len());
    let mut last: Option<(String, u32)> = None;
    let mut err = None;
    for_each_str(col, file, column, row0, |_, s| {
        if err.is_some() {
            return;
        }
        match &last {
            Some((name, id)) if name == s => out.push(*id),
            _ => match id_of(s) {
                Ok(id) => {
                    last = Some((s.to_string(), id));
                    out.push(id);
                }
                Err(e) => err = Some(e),
            },
        }
    })?;
    match err {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// Calls `f` for every row of a string column, with `None` for nulls.
pub(crate) fn for_each_opt_str(col: &ArrayRef, f: &mut dyn FnMut(Option<&str>)) {
    match col.data_type() {
        DataType::Utf8 => col.as_string::<i32>().iter().for_each(f),
        DataType::LargeUtf8 => col.as_string::<i64>().iter().for_each(f),
        DataType::Utf8View => col.as_string_view().iter().for_each(f),
        DataType::Dictionary(_, _) => {
            let dict = col.as_any_dictionary();
            let mut names: Vec<Option<String>> = Vec::new();
            for_each_opt_str(dict.values(), &mut |s| names.push(s.map(str::to_string)));
            let keys = dict.normalized_keys();
            for (i, k) in keys.into_iter().enumerate() {
                f(if col.is_null(i) {
                    None
                } else {
                    names[k].as_deref()
                });
            }
        }
        _ => (0..col.len()).for_each(|_| f(None)),
    }
}
