//! Numbers as tables and captions print them.

/// A number in at most 4 significant digits, `-` for NaN: `1235`, `0.01235`, `2`,
/// `1.235e8`.
pub fn num(v: f64) -> String {
    if v.is_nan() {
        return "-".into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if (1e-3..1e6).contains(&a) {
        let digits = (3 - a.log10().floor() as i32).clamp(0, 6) as usize;
        let s = format!("{v:.digits$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    } else {
        format!("{v:.3e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_compact() {
        assert_eq!(num(1234.5678), "1235");
        assert_eq!(num(0.012345), "0.01235");
        assert_eq!(num(2.0), "2");
        assert_eq!(num(f64::NAN), "-");
        assert_eq!(num(123456789.0), "1.235e8");
        assert_eq!(num(-0.5), "-0.5");
    }
}
