//! Detrended fluctuation analysis of order 1 to 3.

use lrdbench_numerics::fluctuation::{Detrender, Order, Segments};
use lrdbench_numerics::scaling::{fit_hurst_weighted, FitWeights, HurstFit, SlopeMap};
use lrdbench_numerics::{ladder, prefix, validate};
use lrdbench_plugin_api::PluginError;

use super::{check_level, max_scale};

/// Settings of [`dfa`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DfaConfig {
    /// Detrending order (1 to 3).
    pub order: Order,
    /// Smallest box size (at least order + 2, so a box has residual degrees of freedom).
    pub min_scale: usize,
    /// Largest box size; `None` is n/4.
    pub max_scale: Option<usize>,
    /// Ratio between successive box sizes.
    pub ratio: f64,
    /// Which boxes are laid over the profile.
    pub segments: Segments,
    /// Weighting of the scaling fit.
    pub fit: FitWeights,
    /// Nominal level of the regression interval.
    pub level: f64,
}

/// Smallest series [`dfa`] accepts: boxes of 16 to n/4 by ×1.25 need n ≥ 100 for 3 scales.
pub const DFA_MIN_N: usize = 100;

/// The fluctuation function on a ladder.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Fluctuations {
    /// Box sizes with at least one box of positive variance.
    pub scales: Vec<usize>,
    /// F(s) at each.
    pub f: Vec<f64>,
    /// Number of boxes behind each F(s).
    pub boxes: Vec<f64>,
}

/// The fluctuation function F(s) on the ladder of `cfg` (validated input assumed).
pub(crate) fn fluctuation_function(
    x: &[f64],
    cfg: &DfaConfig,
) -> Result<Fluctuations, PluginError> {
    let n = x.len();
    let scales = ladder::geometric(cfg.min_scale, max_scale(n, cfg.max_scale, 4), cfg.ratio)?;
    let det = Detrender::new(prefix::profile(x), cfg.order);
    let (mut sum, mut boxes) = (vec![0.0; scales.len()], vec![0usize; scales.len()]);
    det.for_each_box(&scales, cfg.segments, |i, f2| {
        sum[i] += f2;
        boxes[i] += 1;
    });
    let (mut used, mut f, mut count) = (Vec::new(), Vec::new(), Vec::new());
    for ((s, sum), m) in scales.into_iter().zip(sum).zip(boxes) {
        let f2 = sum / m.max(1) as f64;
        if m > 0 && f2 > 0.0 {
            used.push(s);
            f.push(f2.sqrt());
            count.push(m as f64);
        }
    }
    Ok(Fluctuations {
        scales: used,
        f,
        boxes: count,
    })
}

/// Estimates H (the DFA exponent α) by detrended fluctuation analysis.
///
/// # Formula
///
/// ```text
/// y_j = Σ_{i ≤ j} (x_i − x̄)                         profile
/// F²(v, s) = (1/s) Σ_{j in box v} (y_j − p_v(j))²     p_v: least-squares polynomial of the order
/// F(s) = sqrt(mean_v F²(v, s))
/// log F(s) = c + α log s,   H = α (fGn); least squares weighted by the number of boxes
///   (default) or unweighted (as lrdbench 2.0 and fathon, for one-to-one comparison)
/// ```
///
/// # Reference
///
/// Peng et al. (1994), "Mosaic organization of DNA nucleotides", Phys. Rev. E 49, 1685;
/// Kantelhardt et al. (2001), Physica A 295, 441 (orders above 1, eq. 4).
///
/// # Complexity
///
/// Order 1: one O(n) sweep of the profile for the whole ladder (exact fixed-point prefix
/// sums, built and used tile by tile) plus O(1) per box, Σ n/s = O(n) boxes; memory O(n) for
/// the profile only. Orders 2–3: O(n · order) per box size, O(n log n) in all.
///
/// # Accuracy
///
/// n ≥ 100; scales 16 to n/4. Bias on fGn at n = 4096 is below 0.01 for H in [0.2, 0.9].
/// Order-1 box variances match the direct two-pass fit to 1e-11 relative even at n = 2^20
/// (test `fast_linear_matches_direct_at_large_n` in lrdbench-numerics).
///
/// # Errors
///
/// `invalid_input` for non-finite or constant series; `insufficient_data` below
/// [`DFA_MIN_N`] or with fewer than 3 scales; `parameter` for a bad ladder or level.
///
/// # Examples
///
/// ```
/// use lrdbench_numerics::fluctuation::{Order, Segments};
/// use lrdbench_numerics::scaling::FitWeights;
/// use lrdbench_plugin_temporal::kernel::dfa::{dfa, DfaConfig};
/// let x = lrdbench_numerics::fgn::fgn(0.7, 4096, 1).unwrap();
/// let cfg = DfaConfig { order: Order::new(1).unwrap(), min_scale: 16, max_scale: None,
///                       ratio: 1.25, segments: Segments::Forward,
///                       fit: FitWeights::BoxCount, level: 0.95 };
/// let fit = dfa(&x, &cfg).unwrap();
/// assert!((fit.h - 0.7).abs() < 0.1);
/// ```
pub fn dfa(x: &[f64], cfg: &DfaConfig) -> Result<HurstFit, PluginError> {
    validate::series(x, DFA_MIN_N, "dfa")?;
    check_level(cfg.level)?;
    validate::require(cfg.min_scale >= cfg.order.get() + 2, || {
        format!(
            "min_scale must be at least order + 2 = {}, got {}",
            cfg.order.get() + 2,
            cfg.min_scale
        )
    })?;
    let fl = fluctuation_function(x, cfg)?;
    let lx = fl.scales.iter().map(|v| (*v as f64).ln()).collect();
    let ly = fl.f.iter().map(|v| v.ln()).collect();
    let w = (cfg.fit == FitWeights::BoxCount).then_some(fl.boxes.as_slice());
    let labels = ("log s", "log F(s)");
    fit_hurst_weighted(lx, ly, w, labels, SlopeMap::IDENTITY, cfg.level)
}
