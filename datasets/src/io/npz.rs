//! DeepScaler-style NumPy archives: one array `(T, N, F)` (time, services, features).
//!
//! The array carries no names, so the caller gives the feature names, the service names, the
//! start time and the interval ([`NpzLayout`]). Archives written by holoscale also hold
//! `services`, `features`, `start_ms` and `interval_ms` arrays, so they read back without
//! flags. Stored and deflated (`np.savez_compressed`) archives are both read; `.npy` arrays in
//! float16 are not supported, every other numeric dtype is, in either byte order and in C or
//! Fortran order.

use std::io::{Cursor, Read, Seek, Write};
use std::path::Path;

use ndarray::{Array3, ShapeBuilder};

use crate::error::{Error, Result};
use crate::telemetry::Telemetry;

/// Name of the data array DeepScaler's archives use.
pub const DEFAULT_ARRAY: &str = "data";

/// What the `(T, N, F)` array means.
#[derive(Debug, Clone, Default)]
pub struct NpzLayout {
    /// Feature (column) names, one per entry of the last axis.
    pub features: Option<Vec<String>>,
    /// Service names, one per entry of the middle axis.
    pub services: Option<Vec<String>>,
    /// Time of the first step, milliseconds since the epoch.
    pub start_ms: Option<i64>,
    /// Sampling interval, milliseconds.
    pub interval_ms: Option<i64>,
    /// Name of the array in the archive; `None` takes `data`, or the only 3-d array.
    pub array: Option<String>,
}

/// Reads an `.npz` archive as telemetry.
pub fn read_telemetry(path: &Path, layout: &NpzLayout) -> Result<Telemetry> {
    let name = path.display().to_string();
    let file = super::open(path)?;
    read_from(std::io::BufReader::new(file), &name, layout)
}

/// Reads an `.npz` archive held in memory.
pub fn read_telemetry_bytes(bytes: &[u8], name: &str, layout: &NpzLayout) -> Result<Telemetry> {
    read_from(Cursor::new(bytes), name, layout)
}

fn read_from<R: Read + Seek>(r: R, name: &str, layout: &NpzLayout) -> Result<Telemetry> {
    let bad = |message: String| Error::Npz {
        file: name.to_string(),
        message,
    };
    let mut zip =
        zip::ZipArchive::new(r).map_err(|e| bad(format!("not a NumPy .npz archive: {e}")))?;
    let entries: Vec<String> = zip
        .file_names()
        .filter_map(|n| n.ok())
        .map(|n| n.trim_end_matches(".npy").to_string())
        .collect();
    let mut load = |entry: &str| -> Result<Option<Npy>> {
        if !entries.iter().any(|e| e == entry) {
            return Ok(None);
        }
        let mut f = zip
            .by_name(&format!("{entry}.npy"))
            .map_err(|e| bad(format!("array `{entry}`: {e}")))?;
        // The archive's stated size sizes the buffer only up to 64 MiB (a corrupt header
        // cannot ask for more), and no more than it states is read.
        let declared = f.size();
        let mut buf = Vec::with_capacity(declared.min(64 << 20) as usize);
        (&mut f)
            .take(declared)
            .read_to_end(&mut buf)
            .map_err(|e| bad(format!("array `{entry}`: {e}")))?;
        if (buf.len() as u64) < declared {
            return Err(bad(format!(
                "array `{entry}`: the archive says {declared} bytes but holds {}; the file is truncated or corrupt",
                buf.len()
            )));
        }
        Npy::parse(&buf)
            .map(Some)
            .map_err(|m| bad(format!("array `{entry}`: {m}")))
    };

    let data_name = match &layout.array {
        Some(a) => a.clone(),
        None if entries.iter().any(|e| e == DEFAULT_ARRAY) => DEFAULT_ARRAY.to_string(),
        None => {
            let mut three_d = Vec::new();
            for e in entries.clone() {
                if load(&e)?.is_some_and(|a| a.shape.len() == 3) {
                    three_d.push(e);
                }
            }
            match three_d.as_slice() {
                [one] => one.clone(),
                [] => {
                    return Err(bad(format!(
                        "no 3-d (T, N, F) array among {}",
                        crate::error::name_list(&entries)
                    )));
                }
                _ => {
                    return Err(bad(format!(
                        "several 3-d arrays ({}); choose one with `array`",
                        crate::error::name_list(&three_d)
                    )));
                }
            }
        }
    };
    let data = load(&data_name)?.ok_or_else(|| {
        bad(format!(
            "no array `{data_name}`; the archive has {}",
            crate::error::name_list(&entries)
        ))
    })?;
    let [t, n, f] = data.shape[..] else {
        return Err(bad(format!(
            "array `{data_name}` has shape {:?}; expected (T, N, F) = (time steps, services, features)",
            data.shape
        )));
    };
    let values = data.to_f64()?;
    let values = if data.fortran_order {
        Array3::from_shape_vec((t, n, f).f(), values)
    } else {
        Array3::from_shape_vec((t, n, f), values)
    }
    .map_err(|e| bad(format!("array `{data_name}`: {e}")))?
    .as_standard_layout()
    .to_owned();

    let names = |given: &Option<Vec<String>>,
                 entry: &str,
                 flag: &str,
                 len: usize,
                 what: &str,
                 load: &mut dyn FnMut(&str) -> Result<Option<Npy>>|
     -> Result<Vec<String>> {
        let list = match given {
            Some(v) => v.clone(),
            None => match load(entry)? {
                Some(a) => a
                    .strings()
                    .map_err(|m| bad(format!("array `{entry}`: {m}")))?,
                None => {
                    return Err(Error::param(
                        flag,
                        format!(
                            "{name}: the archive does not name its {what}; give {len} names in `{flag}`"
                        ),
                    ));
                }
            },
        };
        if list.len() != len {
            return Err(Error::param(
                flag,
                format!(
                    "{name}: array `{data_name}` has {len} {what} on its axis but {} names were given",
                    list.len()
                ),
            ));
        }
        Ok(list)
    };
    let features = names(
        &layout.features,
        "features",
        "features",
        f,
        "features",
        &mut load,
    )?;
    let services = names(
        &layout.services,
        "services",
        "services",
        n,
        "services",
        &mut load,
    )?;
    let scalar = |v: Option<i64>,
                  entry: &str,
                  flag: &str,
                  load: &mut dyn FnMut(&str) -> Result<Option<Npy>>|
     -> Result<i64> {
        match v {
            Some(v) => Ok(v),
            None => match load(entry)? {
                Some(a) => a
                    .to_f64()?
                    .first()
                    .map(|&x| x as i64)
                    .ok_or_else(|| bad(format!("array `{entry}` is empty"))),
                None => Err(Error::param(
                    flag,
                    format!("{name}: the archive has no `{entry}`; give it as `{flag}`"),
                )),
            },
        }
    };
    let start_ms = scalar(layout.start_ms, "start_ms", "start_ms", &mut load)?;
    let interval_ms = scalar(layout.interval_ms, "interval_ms", "interval_ms", &mut load)?;
    let observed = Array3::from_elem(values.dim(), true);
    Telemetry::try_with_mask(
        name,
        start_ms,
        interval_ms,
        services,
        features,
        values,
        observed,
    )
}

/// Writes telemetry as an `.npz` archive: `data` `(T, N, F)` float64 with missing values as
/// NaN, plus `services`, `features`, `start_ms` and `interval_ms`.
pub fn write_telemetry<W: Write + Seek>(tel: &Telemetry, writer: W) -> Result<()> {
    let name = tel.source().to_string();
    let err = |e: zip::result::ZipError| Error::Npz {
        file: name.clone(),
        message: format!("writing the archive failed: {e}"),
    };
    let io = |e: std::io::Error| Error::io(name.clone(), "write", e);
    let mut zip = zip::ZipWriter::new(writer);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(true);
    let masked = ndarray::Zip::from(tel.values())
        .and(tel.observed())
        .map_collect(|&v, &o| if o { v } else { f64::NAN });
    let data: Vec<u8> = masked.iter().flat_map(|v| v.to_le_bytes()).collect();
    let (t, n, f) = tel.values().dim();
    let arrays: Vec<(&str, Vec<u8>)> = vec![
        ("data", npy_bytes("<f8", &[t, n, f], &data)),
        ("services", npy_strings(tel.services())),
        ("features", npy_strings(tel.columns())),
        (
            "start_ms",
            npy_bytes("<i8", &[], &tel.start_ms().to_le_bytes()),
        ),
        (
            "interval_ms",
            npy_bytes("<i8", &[], &tel.interval_ms().to_le_bytes()),
        ),
    ];
    for (entry, bytes) in arrays {
        zip.start_file(format!("{entry}.npy"), opts).map_err(err)?;
        zip.write_all(&bytes).map_err(io)?;
    }
    let mut w = zip.finish().map_err(err)?;
    super::flush(&mut w, &name)
}

/// The bytes of a `.npy` file (format 1.0).
fn npy_bytes(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let shape_txt = match shape {
        [] => "()".to_string(),
        [one] => format!("({one},)"),
        more => format!(
            "({})",
            more.iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_txt}, }}");
    // Pad so that the data start on a 64-byte boundary, ending with a newline.
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// A 1-d array of fixed-width unicode strings (`<U`).
fn npy_strings(items: &[String]) -> Vec<u8> {
    let width = items
        .iter()
        .map(|s| s.chars().count())
        .max()
        .unwrap_or(1)
        .max(1);
    let mut data = Vec::with_capacity(items.len() * width * 4);
    for s in items {
        let mut k = 0;
        for ch in s.chars() {
            data.extend_from_slice(&(ch as u32).to_le_bytes());
            k += 1;
        }
        data.extend(std::iter::repeat_n(0u8, (width - k) * 4));
    }
    npy_bytes(&format!("<U{width}"), &[items.len()], &data)
}

/// A parsed `.npy` array.
struct Npy {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
    data: Vec<u8>,
}

impl Npy {
    fn parse(bytes: &[u8]) -> std::result::Result<Npy, String> {
        if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
            return Err("not a .npy array (bad magic)".into());
        }
        let (header_len, offset) = match bytes[6] {
            1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
            2 | 3 if bytes.len() >= 12 => (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            ),
            v => return Err(format!("unsupported .npy format version {v}")),
        };
        let header = bytes
            .get(offset..offset + header_len)
            .ok_or("truncated .npy header")?;
        let header = std::str::from_utf8(header).map_err(|_| "header is not text")?;
        let field = |key: &str| -> std::result::Result<&str, String> {
            let pat = format!("'{key}':");
            let at = header.find(&pat).ok_or(format!("header lacks `{key}`"))? + pat.len();
            Ok(header[at..].trim_start())
        };
        let descr_txt = field("descr")?;
        let descr = descr_txt
            .strip_prefix('\'')
            .and_then(|s| s.split('\'').next())
            .ok_or("cannot read `descr` (structured dtypes are not supported)")?
            .to_string();
        let fortran_order = field("fortran_order")?.starts_with("True");
        let shape_txt = field("shape")?;
        let close = shape_txt.find(')').ok_or("cannot read `shape`")?;
        let shape = shape_txt[1..close]
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.trim_end_matches('L').parse::<usize>())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|_| "cannot read `shape`")?;
        let data = bytes[offset + header_len..].to_vec();
        Ok(Npy {
            descr,
            fortran_order,
            shape,
            data,
        })
    }

    fn count(&self) -> usize {
        self.shape.iter().product()
    }

    /// The values as f64, in storage order.
    fn to_f64(&self) -> Result<Vec<f64>> {
        let d = self.descr.as_bytes();
        let unsupported = || Error::Npz {
            file: "array".into(),
            message: format!(
                "dtype `{}` is not supported; use a float or integer array",
                self.descr
            ),
        };
        if d.len() < 3 {
            return Err(unsupported());
        }
        let big = d[0] == b'>';
        let kind = d[1];
        let size: usize = self.descr[2..].parse().map_err(|_| unsupported())?;
        let need = self.count() * size;
        if self.data.len() < need {
            return Err(Error::Npz {
                file: "array".into(),
                message: format!(
                    "holds {} bytes but shape {:?} of `{}` needs {need}",
                    self.data.len(),
                    self.shape,
                    self.descr
                ),
            });
        }
        macro_rules! conv {
            ($t:ty) => {
                self.data[..need]
                    .chunks_exact(size)
                    .map(|c| {
                        let a = c.try_into().expect("chunk has the dtype's size");
                        (if big {
                            <$t>::from_be_bytes(a)
                        } else {
                            <$t>::from_le_bytes(a)
                        }) as f64
                    })
                    .collect()
            };
        }
        Ok(match (kind, size) {
            (b'f', 8) => conv!(f64),
            (b'f', 4) => conv!(f32),
            (b'i', 8) => conv!(i64),
            (b'i', 4) => conv!(i32),
            (b'i', 2) => conv!(i16),
            (b'i', 1) => conv!(i8),
            (b'u', 8) => conv!(u64),
            (b'u', 4) => conv!(u32),
            (b'u', 2) => conv!(u16),
            (b'u', 1) | (b'b', 1) => self.data[..need].iter().map(|&b| b as f64).collect(),
            _ => return Err(unsupported()),
        })
    }

    /// The values of a `<U` (UTF-32) array.
    fn strings(&self) -> std::result::Result<Vec<String>, String> {
        let width: usize = self
            .descr
            .strip_prefix("<U")
            .and_then(|w| w.parse().ok())
            .ok_or(format!(
                "expected a unicode string array, found `{}`",
                self.descr
            ))?;
        let need = self.count() * width * 4;
        if self.data.len() < need {
            return Err("truncated string array".into());
        }
        Ok(self.data[..need]
            .chunks_exact(width * 4)
            .map(|item| {
                item.chunks_exact(4)
                    .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .take_while(|&c| c != 0)
                    .filter_map(char::from_u32)
                    .collect()
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_header_round_trip() {
        let data: Vec<u8> = [1.5f32, -2.0, 3.25, 4.0, 5.0, 6.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let bytes = npy_bytes("<f4", &[1, 2, 3], &data);
        assert_eq!(
            (bytes.len() - data.len()) % 64,
            0,
            "data aligned to 64 bytes"
        );
        let a = Npy::parse(&bytes).unwrap();
        assert_eq!(a.shape, [1, 2, 3]);
        assert_eq!(a.to_f64().unwrap(), [1.5, -2.0, 3.25, 4.0, 5.0, 6.0]);
        let s = Npy::parse(&npy_strings(&["ab".into(), "cdé".into()])).unwrap();
        assert_eq!(s.strings().unwrap(), ["ab", "cdé"]);
    }

    #[test]
    fn big_endian_and_fortran_arrays_are_read() {
        let data: Vec<u8> = (0..8i32).flat_map(|v| v.to_be_bytes()).collect();
        let mut bytes = npy_bytes(">i4", &[2, 2, 2], &data);
        // Flip the order flag in the header text.
        let pos = bytes.windows(5).position(|w| w == b"False").unwrap();
        bytes.splice(pos..pos + 5, b"True ".iter().copied());
        let mut buf = Cursor::new(Vec::new());
        {
            let mut z = zip::ZipWriter::new(&mut buf);
            z.start_file("data.npy", zip::write::SimpleFileOptions::default())
                .unwrap();
            z.write_all(&bytes).unwrap();
            z.finish().unwrap();
        }
        let layout = NpzLayout {
            features: Some(vec!["a".into(), "b".into()]),
            services: Some(vec!["s".into(), "t".into()]),
            start_ms: Some(0),
            interval_ms: Some(1000),
            array: None,
        };
        let tel = read_telemetry_bytes(buf.get_ref(), "f.npz", &layout).unwrap();
        // Fortran order: element (t, n, f) is at t + 2n + 4f.
        assert_eq!(tel.values()[[1, 0, 1]], 5.0);
        assert_eq!(tel.values()[[0, 1, 0]], 2.0);
    }
}
