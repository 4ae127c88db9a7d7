//! Variance of residuals: the mean residual variance of a line fitted to the partial sums in
//! each block.

use lrdbench_numerics::fluctuation::{Detrender, Order, Segments};
use lrdbench_numerics::scaling::{fit_hurst_weighted, HurstFit, SlopeMap};
use lrdbench_numerics::{ladder, prefix, validate};
use lrdbench_plugin_api::PluginError;

use super::{check_level, max_scale};

/// Settings of [`varres`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VarresConfig {
    /// Smallest block size (at least 3).
    pub min_scale: usize,
    /// Largest block size; `None` is n/4.
    pub max_scale: Option<usize>,
    /// Ratio between successive block sizes.
    pub ratio: f64,
    /// Nominal level of the regression interval.
    pub level: f64,
}

/// Smallest series [`varres`] accepts.
pub const VARRES_MIN_N: usize = 64;

/// Estimates H by the variance of residuals.
///
/// Within a block the partial sums differ from the global profile by a constant, which the
/// fitted line absorbs, so the residuals are those of DFA-1 on the same boxes; the kernel is
/// the shared detrended-fluctuation core (exact fixed-point prefix sums), with this method's
/// ladder.
///
/// # Formula
///
/// ```text
/// blocks of size m; in each, Y_k = Σ_{i ≤ k} x_i, fit Y_k ≈ a + b k by least squares
/// V(m) = mean over blocks of (1/m) Σ_k (Y_k − a − b k)²
/// log V(m) = c + 2H log m      (weighted least squares, weights ∝ number of blocks)
/// ```
///
/// # Reference
///
/// Taqqu, Teverovsky & Willinger (1995), "Estimators for long-range dependence: an empirical
/// study", Fractals 3(4), 785, section 2.6 (after Peng et al. 1994).
///
/// # Complexity
///
/// O(n) set-up and O(n/m) per block size: O(n) in all.
///
/// # Accuracy
///
/// n ≥ 64; blocks 8 to n/4. On fGn at n = 4096, |bias| < 0.02 for H in [0.2, 0.9].
///
/// # Errors
///
/// `invalid_input` for non-finite or constant series; `insufficient_data` below
/// [`VARRES_MIN_N`] or with fewer than 3 scales; `parameter` for a bad ladder or level.
///
/// # Examples
///
/// ```
/// use lrdbench_plugin_temporal::kernel::varres::{varres, VarresConfig};
/// let x = lrdbench_numerics::fgn::fgn(0.3, 4096, 2).unwrap();
/// let cfg = VarresConfig { min_scale: 8, max_scale: None, ratio: 1.5, level: 0.95 };
/// assert!((varres(&x, &cfg).unwrap().h - 0.3).abs() < 0.1);
/// ```
pub fn varres(x: &[f64], cfg: &VarresConfig) -> Result<HurstFit, PluginError> {
    validate::series(x, VARRES_MIN_N, "varres")?;
    check_level(cfg.level)?;
    validate::require(cfg.min_scale >= 3, || {
        format!("min_scale must be at least 3, got {}", cfg.min_scale)
    })?;
    let n = x.len();
    let scales = ladder::geometric(cfg.min_scale, max_scale(n, cfg.max_scale, 4), cfg.ratio)?;
    let det = Detrender::new(prefix::profile(x), Order::new(1)?);
    let (mut sum, mut boxes) = (vec![0.0; scales.len()], vec![0usize; scales.len()]);
    det.for_each_box(&scales, Segments::Forward, |i, f2| {
        sum[i] += f2;
        boxes[i] += 1;
    });
    let (mut lx, mut ly, mut w) = (Vec::new(), Vec::new(), Vec::new());
    for ((m, sum), k) in scales.into_iter().zip(sum).zip(boxes) {
        let v = sum / k.max(1) as f64;
        if v > 0.0 {
            lx.push((m as f64).ln());
            ly.push(v.ln());
            w.push(k as f64);
        }
    }
    let map = SlopeMap {
        factor: 0.5,
        offset: 0.0,
    };
    // Weights ∝ the number of blocks, roughly the inverse variance of log V(m): the largest
    // blocks (4 of them at n/4) no longer dominate (MAE on fGn at n = 4096: 0.018 against
    // 0.021 unweighted).
    fit_hurst_weighted(lx, ly, Some(&w), ("log m", "log V(m)"), map, cfg.level)
}
