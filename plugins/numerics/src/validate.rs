//! Input validation shared by every estimator kernel: one pass, typed errors, no panics.

use lrdbench_plugin_api::PluginError;

/// Checks a series once, before any estimator kernel runs on it.
///
/// Order of checks: non-finite values (`invalid_input`, with the first offending index), then
/// the length against `min_len` (`insufficient_data`), then a constant series
/// (`invalid_input`: every scaling statistic would be zero and its logarithm undefined).
///
/// # Errors
///
/// As listed above; `method` names the estimator in the message.
///
/// # Examples
///
/// ```
/// use lrdbench_numerics::validate::series;
/// assert!(series(&[1.0, 2.0, 3.0], 3, "demo").is_ok());
/// assert!(series(&[1.0, f64::NAN, 3.0], 3, "demo").is_err());
/// assert!(series(&[2.0; 8], 3, "demo").is_err());
/// ```
pub fn series(x: &[f64], min_len: usize, method: &str) -> Result<(), PluginError> {
    if let Some(i) = first_non_finite(x) {
        return Err(PluginError::invalid_input(format!(
            "{method}: value at index {i} is not finite ({})",
            x[i]
        )));
    }
    if x.len() < min_len {
        return Err(PluginError::insufficient_data(format!(
            "{method} needs at least {min_len} points, got {}",
            x.len()
        )));
    }
    let first = x[0];
    if x.iter().all(|v| *v == first) {
        return Err(PluginError::invalid_input(format!(
            "{method}: the series is constant"
        )));
    }
    Ok(())
}

/// The index of the first NaN or infinite value, if any.
///
/// A search that stops at the first hit cannot be vectorized, and at n = 65,536 it took 20–40
/// µs, as long as some whole estimates. So whole chunks are tested first with an OR of their
/// exponent bits (all ones only for NaN and ±∞), which the compiler vectorizes; the position
/// is looked for only inside a chunk that has a hit.
pub fn first_non_finite(x: &[f64]) -> Option<usize> {
    const EXP: u64 = 0x7ff0_0000_0000_0000;
    const CHUNK: usize = 256;
    for (c, chunk) in x.chunks(CHUNK).enumerate() {
        let hit = chunk
            .iter()
            .fold(0u64, |acc, v| acc | u64::from(v.to_bits() & EXP == EXP));
        if hit != 0 {
            return chunk
                .iter()
                .position(|v| !v.is_finite())
                .map(|i| c * CHUNK + i);
        }
    }
    None
}

/// Returns `Err(parameter)` with `message` unless `ok`.
///
/// # Errors
///
/// A `parameter` error carrying `message`.
pub fn require(ok: bool, message: impl FnOnce() -> String) -> Result<(), PluginError> {
    if ok {
        Ok(())
    } else {
        Err(PluginError::parameter(message()))
    }
}

/// Mean and sample standard deviation (n − 1), by two passes.
pub fn mean_sd(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    if x.is_empty() {
        return (0.0, 0.0);
    }
    let mean = x.iter().sum::<f64>() / n;
    let ss: f64 = x.iter().map(|v| (v - mean) * (v - mean)).sum();
    let sd = if x.len() > 1 {
        (ss / (n - 1.0)).sqrt()
    } else {
        0.0
    };
    (mean, sd)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use lrdbench_plugin_api::ErrorKind;

    #[test]
    fn first_non_finite_finds_the_first_bad_value_wherever_it_is() {
        let mut x: Vec<f64> = (0..1000).map(|i| f64::from(i) - 500.0).collect();
        assert_eq!(first_non_finite(&x), None);
        assert_eq!(first_non_finite(&[]), None);
        // Each kind of bad value, at chunk edges and inside chunks; the earliest one wins.
        for (bad, at) in [
            (f64::NAN, 0),
            (f64::INFINITY, 255),
            (f64::NEG_INFINITY, 256),
            (-f64::NAN, 777),
            (f64::INFINITY, 999),
        ] {
            let mut y = x.clone();
            y[at] = bad;
            y[999] = f64::NAN;
            assert_eq!(first_non_finite(&y), Some(at), "{bad} at {at}");
        }
        // The largest finite values and subnormals are finite.
        x[3] = f64::MAX;
        x[4] = -f64::MAX;
        x[5] = f64::MIN_POSITIVE / 2.0;
        assert_eq!(first_non_finite(&x), None);
    }

    #[test]
    fn series_non_finite_is_invalid_input_even_when_short() {
        let e = series(&[f64::INFINITY], 10, "m").unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidInput);
        assert!(e.message.contains("index 0"));
    }

    #[test]
    fn series_short_is_insufficient_data() {
        let e = series(&[1.0, 2.0], 10, "m").unwrap_err();
        assert_eq!(e.kind, ErrorKind::InsufficientData);
    }

    #[test]
    fn series_constant_is_invalid_input() {
        let e = series(&[3.0; 20], 10, "m").unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidInput);
    }

    #[test]
    fn mean_sd_matches_hand_values() {
        // 1..=4: mean 2.5, sample variance 5/3.
        let (m, s) = mean_sd(&[1.0, 2.0, 3.0, 4.0]);
        assert!((m - 2.5).abs() < 1e-15 && (s - (5.0f64 / 3.0).sqrt()).abs() < 1e-15);
    }
}
