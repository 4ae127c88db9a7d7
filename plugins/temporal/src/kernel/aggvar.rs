//! Aggregated variance: the variance of block means against the block size.

use lrdbench_numerics::scaling::{digamma, fit_hurst_weighted, HurstFit, SlopeMap};
use lrdbench_numerics::{ladder, validate};
use lrdbench_plugin_api::PluginError;

use super::{check_level, max_scale};

/// Whether the known finite-sample bias of the statistic under fGn is removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BiasCorrection {
    /// The textbook statistic as is.
    None,
    /// Divide each point by its expectation factor under fGn at the current H and iterate
    /// H to a fixed point (the factor depends on H through the number of blocks k).
    Fgn,
}

/// Settings of [`aggvar`] and of the absolute-moments estimator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockConfig {
    /// Smallest block size (at least 2).
    pub min_scale: usize,
    /// Largest block size; `None` is n/4 (so at least 4 blocks).
    pub max_scale: Option<usize>,
    /// Ratio between successive block sizes.
    pub ratio: f64,
    /// Finite-sample correction.
    pub correction: BiasCorrection,
    /// Nominal level of the regression interval.
    pub level: f64,
}

/// Smallest series the block estimators accept.
pub const BLOCK_MIN_N: usize = 32;

/// Estimates H by the aggregated-variance method.
///
/// # Formula
///
/// ```text
/// k = ⌊n/m⌋ blocks, A_i = block mean, S²(m) = (1/(k−1)) Σ (A_i − Ā)²
/// under fGn: E S²(m) = σ² m^{2H−2} · (k − k^{2H−1})/(k − 1)
/// none: log S²(m) = c + (2H − 2) log m
/// fgn:  log S²(m) − log((k − k^{2H−1})/(k − 1)) − [ψ((k−1)/2) − log((k−1)/2)]
///         = c + (2H − 2) log m, iterated in H
/// fits are weighted least squares with weights k − 1 (Var log S² ≈ 2/(k − 1))
/// ```
///
/// The ψ term is E log(χ²_ν/ν), ν = k − 1: the log of a sample variance is biased low, most at
/// the largest blocks (−0.37 at k = 4), which pulled H down by about 0.02 at every H.
///
/// # Reference
///
/// Taqqu, Teverovsky & Willinger (1995), Fractals 3(4), 785, section 2.1; the expectation of
/// the sample variance of fGn block means is Beran (1994), *Statistics for Long-Memory
/// Processes*, eq. 8.4 applied to the aggregated series.
///
/// # Complexity
///
/// O(n) per block size, O(n log n) for the ladder; the correction iterates only on the k
/// fitted points (under 60 iterations).
///
/// # Accuracy
///
/// n ≥ 32; blocks 2 to n/4. Without correction H is biased low, increasingly with H (about
/// −0.08 at H = 0.9, n = 4096); the correction removes most of it.
///
/// # Errors
///
/// `invalid_input` for non-finite or constant series; `insufficient_data` below
/// [`BLOCK_MIN_N`] or with fewer than 3 scales; `parameter` for a bad ladder or level.
///
/// # Examples
///
/// ```
/// use lrdbench_plugin_temporal::kernel::aggvar::{aggvar, BiasCorrection, BlockConfig};
/// let x = lrdbench_numerics::fgn::fgn(0.7, 4096, 4).unwrap();
/// let cfg = BlockConfig { min_scale: 2, max_scale: None, ratio: 1.5,
///                         correction: BiasCorrection::Fgn, level: 0.95 };
/// assert!((aggvar(&x, &cfg).unwrap().h - 0.7).abs() < 0.1);
/// ```
pub fn aggvar(x: &[f64], cfg: &BlockConfig) -> Result<HurstFit, PluginError> {
    let stats = block_statistics(x, cfg, "aggvar", |means, mean| {
        let ss: f64 = means.iter().map(|a| (a - mean) * (a - mean)).sum();
        ss / (means.len() - 1) as f64
    })?;
    let map = SlopeMap {
        factor: 0.5,
        offset: 1.0,
    };
    let factor = |k: f64, h: f64| {
        let nu = k - 1.0;
        ((k - k.powf(2.0 * h - 1.0)) / nu).ln() + digamma(nu / 2.0) - (nu / 2.0).ln()
    };
    corrected_fit(stats, cfg, map, ("log m", "log S²(m)"), factor)
}

/// Per block size m: (m, k, statistic of the block means).
pub(crate) struct BlockStats {
    pub(crate) m: Vec<f64>,
    pub(crate) k: Vec<f64>,
    pub(crate) value: Vec<f64>,
}

/// Validates, then evaluates `stat(block means, their mean)` on the ladder.
pub(crate) fn block_statistics(
    x: &[f64],
    cfg: &BlockConfig,
    method: &str,
    stat: impl Fn(&[f64], f64) -> f64,
) -> Result<BlockStats, PluginError> {
    validate::series(x, BLOCK_MIN_N, method)?;
    check_level(cfg.level)?;
    validate::require(cfg.min_scale >= 2, || {
        format!("min_scale must be at least 2, got {}", cfg.min_scale)
    })?;
    let n = x.len();
    let max = max_scale(n, cfg.max_scale, 4).min(n / 2);
    let scales = ladder::geometric(cfg.min_scale, max, cfg.ratio)?;
    let mut out = BlockStats {
        m: Vec::new(),
        k: Vec::new(),
        value: Vec::new(),
    };
    let mut means = Vec::with_capacity(n / cfg.min_scale);
    for m in scales {
        means.clear();
        means.extend(x.chunks_exact(m).map(|b| b.iter().sum::<f64>() / m as f64));
        let mean = means.iter().sum::<f64>() / means.len() as f64;
        let v = stat(&means, mean);
        if v > 0.0 && v.is_finite() {
            out.m.push(m as f64);
            out.k.push(means.len() as f64);
            out.value.push(v);
        }
    }
    Ok(out)
}

/// Fits log(value) − log_factor(k, H) on log m, iterating H to a fixed point when the
/// correction is on. H is clamped to [0.01, 0.99] inside the factor, where it stays finite.
pub(crate) fn corrected_fit(
    stats: BlockStats,
    cfg: &BlockConfig,
    map: SlopeMap,
    labels: (&'static str, &'static str),
    log_factor: impl Fn(f64, f64) -> f64,
) -> Result<HurstFit, PluginError> {
    let lx: Vec<f64> = stats.m.iter().map(|m| m.ln()).collect();
    let raw: Vec<f64> = stats.value.iter().map(|v| v.ln()).collect();
    let w: Vec<f64> = stats.k.iter().map(|k| k - 1.0).collect();
    let weights = Some(w.as_slice());
    let mut fit = fit_hurst_weighted(lx.clone(), raw.clone(), weights, labels, map, cfg.level)?;
    if cfg.correction == BiasCorrection::None {
        return Ok(fit);
    }
    let mut converged = false;
    for _ in 0..60 {
        let h = fit.h.clamp(0.01, 0.99);
        let y = raw
            .iter()
            .zip(&stats.k)
            .map(|(r, k)| r - log_factor(*k, h))
            .collect();
        let next = fit_hurst_weighted(lx.clone(), y, weights, labels, map, cfg.level)?;
        let step = (next.h - fit.h).abs();
        fit = next;
        if step < 1e-10 {
            converged = true;
            break;
        }
    }
    if !converged {
        fit.warnings
            .push("the fGn bias correction did not converge in 60 iterations".to_string());
    }
    Ok(fit)
}
