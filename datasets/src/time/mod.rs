//! Timestamps (milliseconds since the Unix epoch, UTC) and durations as users write them.

use chrono::DateTime;

use crate::error::{Error, Result};

pub mod format;

pub use format::{format_duration_ms, format_ms};

/// Parses a timestamp written as RFC 3339 (`2024-01-01T00:00:00Z`), as a date-time without a
/// zone (`2024-01-01 00:00:00`, taken as UTC), or as integer epoch milliseconds.
///
/// The error names `what` (a column or flag) and quotes the text.
pub fn parse_timestamp(text: &str, what: &str) -> Result<i64> {
    let t = text.trim();
    if let Ok(ms) = t.parse::<i64>() {
        return Ok(ms);
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(dt.timestamp_millis());
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(naive) = chrono::NaiveDateTime::parse_from_str(t, fmt) {
            return Ok(naive.and_utc().timestamp_millis());
        }
    }
    Err(Error::param(
        what,
        format!(
            "`{t}` is not a timestamp; expected RFC 3339 (2024-01-01T00:00:00Z) or epoch milliseconds"
        ),
    ))
}

/// Parses a duration such as `500ms`, `30s`, `5m`, `48h`, `2d` or `1w` into milliseconds.
/// A bare number is seconds.
pub fn parse_duration_ms(text: &str, what: &str) -> Result<i64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num.parse().map_err(|_| {
        Error::param(
            what,
            format!("`{t}` is not a duration; expected a number and a unit such as 30s, 5m, 48h"),
        )
    })?;
    let scale = match unit.trim() {
        "ms" => 1.0,
        "" | "s" => 1e3,
        "m" | "min" => 60e3,
        "h" => 3_600e3,
        "d" => 86_400e3,
        "w" => 604_800e3,
        other => {
            return Err(Error::param(
                what,
                format!("unknown unit `{other}` in `{t}`; use ms, s, m, h, d or w"),
            ));
        }
    };
    let ms = (value * scale).round();
    if !(ms.is_finite() && ms > 0.0 && ms < i64::MAX as f64) {
        return Err(Error::param(
            what,
            format!("`{t}` must be a positive duration"),
        ));
    }
    Ok(ms as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_timestamps() {
        assert_eq!(
            parse_timestamp("1970-01-01T00:00:30Z", "t").unwrap(),
            30_000
        );
        assert_eq!(parse_timestamp("30000", "t").unwrap(), 30_000);
        assert_eq!(parse_timestamp("1970-01-01 00:01:00", "t").unwrap(), 60_000);
        assert_eq!(format_ms(30_000), "1970-01-01T00:00:30Z");
        assert_eq!(format_ms(30_500), "1970-01-01T00:00:30.500Z");
        let err = parse_timestamp("yesterday", "--start")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--start") && err.contains("yesterday"),
            "{err}"
        );
    }

    #[test]
    fn parses_and_formats_durations() {
        assert_eq!(parse_duration_ms("30s", "i").unwrap(), 30_000);
        assert_eq!(parse_duration_ms("5m", "i").unwrap(), 300_000);
        assert_eq!(parse_duration_ms("48h", "i").unwrap(), 172_800_000);
        assert_eq!(parse_duration_ms("250ms", "i").unwrap(), 250);
        assert_eq!(parse_duration_ms("15", "i").unwrap(), 15_000);
        assert!(parse_duration_ms("-5s", "i").is_err());
        assert!(
            parse_duration_ms("5 parsecs", "--interval")
                .unwrap_err()
                .to_string()
                .contains("--interval")
        );
        assert_eq!(format_duration_ms(30_000), "30s");
        assert_eq!(format_duration_ms(5_400_000), "1h30m");
        assert_eq!(format_duration_ms(250), "250ms");
    }
}
