//! Rescaled-range (R/S) analysis, with the optional Anis–Lloyd–Peters small-sample correction.

use lrdbench_numerics::ladder;
use lrdbench_numerics::scaling::{fit_hurst, HurstFit, SlopeMap};
use lrdbench_numerics::validate;
use lrdbench_plugin_api::PluginError;

use super::{check_level, max_scale};

/// Small-sample correction of R/S.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RsCorrection {
    /// Plain R/S: H is the slope of log E[R/S] on log s.
    None,
    /// Divide R/S by its expectation for white noise (Anis & Lloyd 1976, with Peters' 1994
    /// factor (s − ½)/s) and add ½ to the slope.
    AnisLloyd,
}

/// Settings of [`rs`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RsConfig {
    /// Smallest block size (at least 8: R/S of shorter blocks is dominated by its bias).
    pub min_scale: usize,
    /// Largest block size; `None` is n/2.
    pub max_scale: Option<usize>,
    /// Ratio between successive block sizes.
    pub ratio: f64,
    /// Small-sample correction.
    pub correction: RsCorrection,
    /// Nominal level of the regression interval.
    pub level: f64,
}

/// Smallest series [`rs`] accepts: blocks of 8 to n/2 by ×1.5 need n ≥ 64 for 4 scales.
pub const RS_MIN_N: usize = 64;

/// Estimates H by rescaled-range analysis.
///
/// # Formula
///
/// ```text
/// blocks of size s (non-overlapping, ⌊n/s⌋ of them, from the start)
/// Y_k = Σ_{i ≤ k} (x_i − x̄_block),  R = max_k Y_k − min_k Y_k (Y_s = 0 is included)
/// S = sqrt((1/s) Σ (x_i − x̄_block)²),  (R/S)_s = mean over blocks with S > 0
/// plain:      log (R/S)_s = c + H log s
/// corrected:  log((R/S)_s / E_AL[R/S]_s) = c + (H − ½) log s, with
///             E_AL[R/S]_s = (s − ½)/s · Γ((s−1)/2)/(√π Γ(s/2)) · Σ_{i=1}^{s−1} √((s−i)/i)
///             (the Γ ratio replaced by 1/√(sπ/2) above s = 340)
/// ```
///
/// # Reference
///
/// Hurst (1951), Trans. Am. Soc. Civ. Eng. 116; Mandelbrot & Wallis (1969), Water Resour.
/// Res. 5(5); Anis & Lloyd (1976), Biometrika 63(1), eq. 4; Peters (1994), *Fractal Market
/// Analysis*, eq. 5.6.
///
/// # Complexity
///
/// O(n) per block size, O(n log n) for the ladder; O(1) extra memory per block.
///
/// # Accuracy
///
/// n ≥ 64. Known bias: plain R/S reads H too high below 0.5 and too low above (about +0.1 at
/// H = 0.2 and −0.05 at H = 0.9 for n = 4096); the correction shifts the whole curve down.
///
/// # Errors
///
/// `invalid_input` for non-finite or constant series; `insufficient_data` below [`RS_MIN_N`]
/// or with fewer than 3 usable scales; `parameter` for a bad ladder or level.
///
/// # Examples
///
/// ```
/// use lrdbench_plugin_temporal::kernel::rs::{rs, RsConfig, RsCorrection};
/// let x = lrdbench_numerics::fgn::fgn(0.7, 4096, 1).unwrap();
/// let cfg = RsConfig { min_scale: 8, max_scale: None, ratio: 1.5,
///                      correction: RsCorrection::None, level: 0.95 };
/// let fit = rs(&x, &cfg).unwrap();
/// assert!((fit.h - 0.7).abs() < 0.12);
/// ```
pub fn rs(x: &[f64], cfg: &RsConfig) -> Result<HurstFit, PluginError> {
    validate::series(x, RS_MIN_N, "rs")?;
    check_level(cfg.level)?;
    validate::require(cfg.min_scale >= 8, || {
        format!("min_scale must be at least 8, got {}", cfg.min_scale)
    })?;
    let n = x.len();
    let scales = ladder::geometric(cfg.min_scale, max_scale(n, cfg.max_scale, 2), cfg.ratio)?;
    let (mut lx, mut ly) = (Vec::new(), Vec::new());
    for s in scales {
        let Some(v) = mean_rs(x, s) else { continue };
        let y = match cfg.correction {
            RsCorrection::None => v.ln(),
            RsCorrection::AnisLloyd => v.ln() - expected_rs(s).ln(),
        };
        lx.push((s as f64).ln());
        ly.push(y);
    }
    let map = match cfg.correction {
        RsCorrection::None => SlopeMap::IDENTITY,
        RsCorrection::AnisLloyd => SlopeMap {
            factor: 1.0,
            offset: 0.5,
        },
    };
    let label = match cfg.correction {
        RsCorrection::None => "log R/S",
        RsCorrection::AnisLloyd => "log (R/S / E_AL[R/S])",
    };
    // Ordinary least squares on purpose: weighting by the number of blocks favours the small
    // blocks, where R/S is most biased (measured: MAE 0.078 against 0.057 unweighted).
    fit_hurst(lx, ly, ("log s", label), map, cfg.level)
}

/// Mean R/S over the blocks of size `s` whose standard deviation is positive (one pass per
/// block for the mean, one for the range and the variance); `None` if no block qualifies.
pub fn mean_rs(x: &[f64], s: usize) -> Option<f64> {
    let (mut sum, mut count) = (0.0, 0usize);
    for block in x.chunks_exact(s) {
        let mean = block.iter().sum::<f64>() / s as f64;
        let (mut y, mut lo, mut hi, mut ss) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        for v in block {
            let d = v - mean;
            y += d;
            lo = lo.min(y);
            hi = hi.max(y);
            ss += d * d;
        }
        if ss > 0.0 {
            sum += (hi - lo) / (ss / s as f64).sqrt();
            count += 1;
        }
    }
    (count > 0).then(|| sum / count as f64)
}

/// E[R/S] of white noise in blocks of size s (Anis–Lloyd with Peters' factor).
pub fn expected_rs(s: usize) -> f64 {
    let sf = s as f64;
    let tail: f64 = (1..s).map(|i| ((sf - i as f64) / i as f64).sqrt()).sum();
    let gamma_ratio = if s <= 340 {
        // Γ((s−1)/2)/Γ(s/2) by the recursion r(s + 2) = r(s)·(s − 1)/s from r(2) = √π and
        // r(3) = 2/√π: no log-gamma needed, exact to rounding.
        let pi = std::f64::consts::PI;
        let (mut r, mut k) = if s % 2 == 0 {
            (pi.sqrt(), 2usize)
        } else {
            (2.0 / pi.sqrt(), 3usize)
        };
        while k < s {
            r *= (k as f64 - 1.0) / k as f64;
            k += 2;
        }
        r / std::f64::consts::PI.sqrt()
    } else {
        1.0 / (sf * std::f64::consts::PI / 2.0).sqrt()
    };
    (sf - 0.5) / sf * gamma_ratio * tail
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn expected_rs_branches_agree_at_the_switch() {
        // The Γ-ratio branch and its large-s approximation meet at s = 340: the asymptotic
        // Γ((s−1)/2)/Γ(s/2) ≈ √(2/s)(1 + 3/(4s)) differs by about 0.2% there.
        let a = expected_rs(340);
        let b = {
            let sf = 340.0f64;
            let tail: f64 = (1..340).map(|i| ((sf - i as f64) / i as f64).sqrt()).sum();
            (sf - 0.5) / sf / (sf * std::f64::consts::PI / 2.0).sqrt() * tail
        };
        assert!((a / b - 1.0).abs() < 3e-3, "{a} {b}");
    }

    #[test]
    fn mean_rs_of_alternating_series_is_hand_value() {
        // Block [1, −1, 1, −1, …] of size 8: mean 0, Y alternates 1, 0 → R = 1, S = 1.
        let x: Vec<f64> = (0..16)
            .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        assert!((mean_rs(&x, 8).unwrap() - 1.0).abs() < 1e-15);
    }
}
