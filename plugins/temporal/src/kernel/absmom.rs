//! Absolute moments: the mean absolute deviation of block means against the block size.

use lrdbench_numerics::scaling::{HurstFit, SlopeMap};
use lrdbench_plugin_api::PluginError;

use super::aggvar::{block_statistics, corrected_fit, BlockConfig, Moment};

/// Bias of the log of a mean of k − 1 effective absolute normal deviates, to first order:
/// −Var|Z|/(2 (E|Z|)²)/(k − 1) = −(1 − 2/π)/(4/π)/(k − 1) ≈ −0.2854/(k − 1).
const ABS_LOG_BIAS: f64 = 0.2854;

/// Estimates H by the first absolute moment of the aggregated series.
///
/// # Formula
///
/// ```text
/// k = ⌊n/m⌋ blocks, A_i = block mean, AM(m) = (1/k) Σ |A_i − Ā|
/// under Gaussian fGn: E AM(m) ≈ √(2/π) σ m^{H−1} √(1 − k^{2H−2})
///   (mean over blocks of Var(A_i − Ā) = σ² m^{2H−2}(1 − k^{2H−2}), exactly)
/// none: log AM(m) = c + (H − 1) log m
/// fgn:  log AM(m) − ½ log(1 − k^{2H−2}) + 0.2854/(k − 1) = c + (H − 1) log m, iterated in H
/// fits are weighted least squares with weights k − 1
/// ```
///
/// 0.2854/(k − 1) is the first-order bias of the log of a mean of k − 1 absolute normal
/// deviates (delta method).
///
/// # Reference
///
/// Taqqu, Teverovsky & Willinger (1995), Fractals 3(4), 785, section 2.2.
///
/// # Complexity
///
/// As [`super::aggvar::aggvar`]: two passes, one centred prefix sum streamed through every
/// block size m at O(n/m), O(n) for the ladder (four runs and four blocks per vector
/// operation), plus one backward walk over the longest tail for the scales' mean block sums.
///
/// # Accuracy
///
/// n ≥ 32; blocks 2 to n/4. Uncorrected, H is biased low at high H (about −0.09 at H = 0.9,
/// n = 4096); the correction removes most of it (the √ factor is exact for the mean square
/// and approximate for the mean absolute value).
///
/// # Errors
///
/// `invalid_input` for non-finite or constant series; `insufficient_data` below 32 points
/// or with fewer than 3 scales; `parameter` for a bad ladder or level.
///
/// # Examples
///
/// ```
/// use lrdbench_plugin_temporal::kernel::absmom::absmom;
/// use lrdbench_plugin_temporal::kernel::aggvar::{BiasCorrection, BlockConfig};
/// let x = lrdbench_numerics::fgn::fgn(0.5, 4096, 5).unwrap();
/// let cfg = BlockConfig { min_scale: 2, max_scale: None, ratio: 1.5,
///                         correction: BiasCorrection::Fgn, level: 0.95 };
/// assert!((absmom(&x, &cfg).unwrap().h - 0.5).abs() < 0.1);
/// ```
pub fn absmom(x: &[f64], cfg: &BlockConfig) -> Result<HurstFit, PluginError> {
    let stats = block_statistics(x, cfg, "absmom", Moment::Absolute)?;
    let map = SlopeMap {
        factor: 1.0,
        offset: 1.0,
    };
    let fixed = |k: f64| -ABS_LOG_BIAS / (k - 1.0);
    let varying = |_k: f64, ln_k: f64, h: f64| 0.5 * (-((2.0 * h - 2.0) * ln_k).exp()).ln_1p();
    corrected_fit(stats, cfg, map, ("log m", "log AM(m)"), fixed, varying)
}
