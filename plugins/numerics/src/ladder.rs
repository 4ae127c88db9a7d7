//! Scale ladders: the sets of window sizes, block sizes and lags that scaling estimators fit over.

use lrdbench_plugin_api::PluginError;

/// Integer scales `⌊min · ratio^k⌋ ≤ max`, k = 0, 1, …, with repeats removed.
///
/// With `min = 16`, `ratio = 1.25` and `max = n/4` this is the DFA ladder of lrdbench 2.0 and
/// fathon (16, 20, 25, 31, 39, 48, 61, …), so results compare one to one.
///
/// # Errors
///
/// `parameter` if `min` is 0, `ratio` is not a finite number above 1, or `max < min`.
///
/// # Examples
///
/// ```
/// use lrdbench_numerics::ladder::geometric;
/// assert_eq!(geometric(16, 64, 1.25).unwrap(), vec![16, 20, 25, 31, 39, 48, 61]);
/// ```
pub fn geometric(min: usize, max: usize, ratio: f64) -> Result<Vec<usize>, PluginError> {
    if min == 0 {
        return Err(PluginError::parameter(
            "the smallest scale must be at least 1",
        ));
    }
    if !(ratio.is_finite() && ratio > 1.0) {
        return Err(PluginError::parameter(format!(
            "the scale ratio must be above 1, got {ratio}"
        )));
    }
    if max < min {
        return Err(PluginError::insufficient_data(format!(
            "the largest scale {max} is below the smallest {min}"
        )));
    }
    let mut out = Vec::new();
    let mut s = min as f64;
    // A tiny tolerance keeps exact powers (e.g. 16 · 1.25² = 25) from flooring one below.
    while s <= max as f64 + 1e-9 {
        let k = (s + 1e-9).floor() as usize;
        if out.last() != Some(&k) && k <= max {
            out.push(k);
        }
        s *= ratio;
    }
    Ok(out)
}

/// About `count` integer lags spread evenly in log scale from `min` to `max` (both included),
/// with repeats removed (so fewer than `count` when the range is narrow).
///
/// # Errors
///
/// `parameter` if `min` is 0, `count < 2` or `max < min`.
///
/// # Examples
///
/// ```
/// use lrdbench_numerics::ladder::log_spaced;
/// assert_eq!(log_spaced(1, 8, 4).unwrap(), vec![1, 2, 4, 8]);
/// ```
pub fn log_spaced(min: usize, max: usize, count: usize) -> Result<Vec<usize>, PluginError> {
    if min == 0 || count < 2 {
        return Err(PluginError::parameter(
            "log-spaced lags need min ≥ 1 and at least 2 lags",
        ));
    }
    if max < min {
        return Err(PluginError::insufficient_data(format!(
            "the largest lag {max} is below the smallest {min}"
        )));
    }
    let (a, b) = ((min as f64).ln(), (max as f64).ln());
    let mut out: Vec<usize> = Vec::with_capacity(count);
    for i in 0..count {
        let v = (a + (b - a) * i as f64 / (count - 1) as f64).exp().round() as usize;
        let v = v.clamp(min, max);
        if out.last().is_none_or(|l| *l < v) {
            out.push(v);
        }
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn geometric_dfa_ladder_at_4096_has_19_scales() {
        // 16 · 1.25^k ≤ 1024 ⇔ k ≤ 18.6: k = 0..=18.
        let l = geometric(16, 1024, 1.25).unwrap();
        assert_eq!(l.len(), 19);
        assert_eq!(l[0], 16);
        assert!(*l.last().unwrap() <= 1024);
    }

    #[test]
    fn geometric_dfa_ladder_at_2_pow_20_has_44_scales() {
        // The count quoted for this ladder in the project's design notes.
        assert_eq!(geometric(16, 1 << 18, 1.25).unwrap().len(), 44);
    }

    #[test]
    fn geometric_small_ratio_removes_repeats() {
        let l = geometric(2, 10, 1.1).unwrap();
        assert!(l.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(l.first(), Some(&2));
    }

    #[test]
    fn geometric_bad_arguments_are_errors() {
        assert!(geometric(0, 10, 2.0).is_err());
        assert!(geometric(4, 10, 1.0).is_err());
        assert!(geometric(4, 10, f64::NAN).is_err());
        assert!(geometric(11, 10, 2.0).is_err());
    }

    #[test]
    fn log_spaced_is_increasing_and_bounded() {
        let l = log_spaced(1, 512, 16).unwrap();
        assert_eq!((l[0], *l.last().unwrap()), (1, 512));
        assert!(l.windows(2).all(|w| w[0] < w[1]));
    }
}
