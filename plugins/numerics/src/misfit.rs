//! The local-slope test: does the log-log line bend where fGn's would not?
//!
//! # Why
//!
//! Every scaling estimator (and the wavelet log-scale diagram) fits one straight line across
//! its scales and reads H from the slope. Short-range correlation (an AR(1) component, say)
//! steepens the line at the small scales only, so the slope mixes a short-memory excess into
//! H and the interval, calibrated on exact fGn, excludes the truth with confidence. Trends and
//! level shifts bend it the other way, at the large scales. Both leave a signature: the H read
//! from the finest half of the scales differs from the H read from the coarsest half.
//!
//! # The statistic
//!
//! With the k fit points ordered from the finest scale to the coarsest, the first ⌈k/2⌉ and
//! the last ⌈k/2⌉ (sharing the middle point when k is odd) are each fitted by least squares,
//! and their slopes mapped to H: `gap = H_fine − H_coarse`. The plugin records
//! `[H_fine, H_coarse, gap]` as the diagnostic [`GAP_DIAGNOSTIC`].
//!
//! # Its null distribution
//!
//! Under exact fGn the gap is not zero (finite-sample curvature of the statistics) and its
//! spread depends on H and n, so its mean and SD are tabulated by simulation exactly like the
//! interval tables of [`crate::calibration`], by the same generator
//! (`cargo run --release --example calibrate -- --misfit --write`), for the default
//! configuration of each estimator. The test is two-sided: z = (gap − m(Ĥ, n)) / s(Ĥ, n),
//! p = 2 P(Z ≥ |z|), rejected below [`MISFIT_LEVEL`]. It is looked up at Ĥ (the true H is
//! unknown); the gap's null mean and SD change slowly with H, so the level holds (measured by
//! `examples/coverage.rs`, which prints the share of warned fGn series).

use crate::calibration::Calibration;
use crate::gof::normal_upper_tail;
use crate::regression::ols;

/// Name of the diagnostic holding `[H_fine, H_coarse, gap]`.
pub const GAP_DIAGNOSTIC: &str = "local_slope_gap";

/// Name of the diagnostic holding the test's `[z, p]` when it ran.
pub const TEST_DIAGNOSTIC: &str = "local_slope_test";

/// Two-sided level of the local-slope test. The issue's budget is at most 10% of exact-fGn
/// results warned in total; the gap is close to normal but not exactly (few scales at small
/// n), so the nominal level is kept well under the budget.
pub const MISFIT_LEVEL: f64 = 0.02;

/// Fewest fit points for the test: two halves of at least two points each.
pub const MIN_POINTS: usize = 4;

/// Which end of the fit's abscissa holds the finest scales.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Orientation {
    /// x increases with the scale (log block size, octave): the first points are the finest.
    FineFirst,
    /// x increases with frequency (log λ): the last points are the finest scales.
    CoarseFirst,
}

/// H read from the finest and the coarsest halves of a scaling fit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlopeGap {
    /// H from the finest ⌈k/2⌉ points.
    pub h_fine: f64,
    /// H from the coarsest ⌈k/2⌉ points.
    pub h_coarse: f64,
}

impl SlopeGap {
    /// `h_fine − h_coarse`.
    pub fn gap(&self) -> f64 {
        self.h_fine - self.h_coarse
    }

    /// The diagnostic values `[H_fine, H_coarse, gap]`.
    pub fn diagnostic(&self) -> Vec<f64> {
        vec![self.h_fine, self.h_coarse, self.gap()]
    }
}

/// The local slopes of the fit (x, y) with H = `factor` · slope + offset; `None` with fewer
/// than [`MIN_POINTS`] points or a degenerate half.
///
/// # Examples
///
/// ```
/// use lrdbench_numerics::misfit::{slope_gap, Orientation};
/// // Slope 0.8 over the small scales, 0.5 over the large ones (a bend at x = 2).
/// let x = [0.0, 1.0, 2.0, 3.0, 4.0];
/// let y = [0.0, 0.8, 1.6, 2.1, 2.6];
/// let g = slope_gap(&x, &y, 1.0, Orientation::FineFirst).unwrap();
/// assert!((g.h_fine - 0.8).abs() < 1e-12 && (g.h_coarse - 0.5).abs() < 1e-12);
/// ```
pub fn slope_gap(x: &[f64], y: &[f64], factor: f64, orientation: Orientation) -> Option<SlopeGap> {
    let k = x.len();
    if k < MIN_POINTS || y.len() != k {
        return None;
    }
    let half = k.div_ceil(2);
    let slope = |r: std::ops::Range<usize>| {
        ols(&x[r.clone()], &y[r])
            .ok()
            .map(|f| f.slope)
            .filter(|s| s.is_finite())
    };
    let (low_x, high_x) = (slope(0..half)?, slope(k - half..k)?);
    let (fine, coarse) = match orientation {
        Orientation::FineFirst => (low_x, high_x),
        Orientation::CoarseFirst => (high_x, low_x),
    };
    Some(SlopeGap {
        h_fine: factor * fine,
        h_coarse: factor * coarse,
    })
}

/// The outcome of the local-slope test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GapTest {
    /// The measured gap H_fine − H_coarse.
    pub gap: f64,
    /// Its standardised value under fGn at Ĥ.
    pub z: f64,
    /// The two-sided p-value.
    pub p_value: f64,
}

/// Tests `gap` against its fGn null at (`h_hat`, `n`).
pub fn test(gap: f64, h_hat: f64, n: usize, null: &Calibration) -> GapTest {
    let (m, s) = null.at(h_hat, n);
    let z = (gap - m) / s;
    GapTest {
        gap,
        z,
        p_value: (2.0 * normal_upper_tail(z.abs())).min(1.0),
    }
}

/// The warning for a rejected test (`None` when p ≥ [`MISFIT_LEVEL`]): what was rejected, the
/// p-value, what it means and what to try.
pub fn warning(t: &GapTest, local: &SlopeGap) -> Option<String> {
    // A NaN p-value (a degenerate null) is no evidence of misfit.
    if t.p_value.is_nan() || t.p_value >= MISFIT_LEVEL {
        return None;
    }
    Some(if t.z > 0.0 {
        format!(
            "the log-log line bends (local-slope test p = {:.1e}): H from the small scales is \
             {:.3}, from the large scales {:.3}, unlike fGn. Short-range correlation inflates H \
             at small scales, so this estimate and its interval (calibrated on fGn) are biased \
             upward; try arfima_whittle or local_whittle, or a larger smallest scale \
             (min_scale / j_min)",
            t.p_value, local.h_fine, local.h_coarse
        )
    } else {
        format!(
            "the log-log line bends (local-slope test p = {:.1e}): H from the large scales is \
             {:.3}, from the small scales {:.3}, unlike fGn. A trend, level shift or other \
             non-stationarity inflates H at large scales, so this estimate and its interval \
             (calibrated on fGn) are suspect; remove the trend (dfa with order 2, or difference \
             a path) or try arfima_whittle",
            t.p_value, local.h_coarse, local.h_fine
        )
    })
}

/// A lag-1 autocorrelation above this marks a series as a path rather than increments. fGn's
/// is ρ₁ = 2^(2H−1) − 1: 0.87 at H = 0.95, 0.97 only at H = 0.99; a path's (fBm, a random
/// walk, a price level) tends to 1 as n grows (1 − ρ̂₁ ≈ Var Δx / (2 Var x) ∝ n^(−2H)).
pub const PATH_LAG1: f64 = 0.97;

/// The sample lag-1 autocorrelation of `x` (0 for a constant or too short series).
pub fn lag1_autocorrelation(x: &[f64]) -> f64 {
    let n = x.len();
    if n < 3 {
        return 0.0;
    }
    let mean = x.iter().sum::<f64>() / n as f64;
    let (mut num, mut den) = (0.0, 0.0);
    for w in x.windows(2) {
        num += (w[0] - mean) * (w[1] - mean);
    }
    for v in x {
        den += (v - mean) * (v - mean);
    }
    if den > 0.0 {
        num / den
    } else {
        0.0
    }
}

/// The warning for a series that looks like a path (lag-1 autocorrelation above
/// [`PATH_LAG1`]), or `None`: every estimator of H here takes increments (stationary,
/// fGn-like noise), and on a path it reads H + 1 or the upper bound.
///
/// # Examples
///
/// ```
/// use lrdbench_numerics::misfit::path_warning;
/// let smooth: Vec<f64> = (0..1000).map(|i| (i as f64 / 50.0).sin()).collect();
/// assert!(path_warning(&smooth).is_some());
/// let alternating: Vec<f64> = (0..1000).map(|i| if i % 2 == 0 { 1.0 } else { -1.0 }).collect();
/// assert!(path_warning(&alternating).is_none());
/// ```
pub fn path_warning(x: &[f64]) -> Option<String> {
    let r1 = lag1_autocorrelation(x);
    (r1 > PATH_LAG1).then(|| {
        format!(
            "the series looks like a path, not increments (lag-1 autocorrelation {r1:.3}; fGn's \
             is below {PATH_LAG1} for H < 0.99): estimators of H take stationary increments, and \
             a cumulative series (fBm, a level, a price) reads as H near 1 or above; difference \
             it (x_t − x_(t−1)) and estimate again"
        )
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    static NULL: Calibration = Calibration {
        log2_n_min: 10,
        h: &[0.1, 0.9],
        mean: &[0.02, 0.02],
        sd: &[0.05, 0.05],
        sd_slope: &[-0.5, -0.5],
        misfit: None,
    };

    #[test]
    fn paths_are_told_from_increments() {
        // Exact fGn at H = 0.95 (ρ₁ = 0.87) is increments; its cumulative sum, fBm, is a path.
        for seed in 0..20 {
            let x = crate::fgn::fgn(0.95, 512, seed).unwrap();
            assert!(path_warning(&x).is_none(), "seed {seed}");
            let path: Vec<f64> = x
                .iter()
                .scan(0.0, |s, v| {
                    *s += v;
                    Some(*s)
                })
                .collect();
            assert!(path_warning(&path).is_some(), "seed {seed}");
        }
    }

    #[test]
    fn orientation_decides_which_half_is_fine() {
        let x = [0.0, 1.0, 2.0, 3.0];
        let y = [0.0, 1.0, 1.5, 2.0];
        let a = slope_gap(&x, &y, 0.5, Orientation::FineFirst).unwrap();
        let b = slope_gap(&x, &y, 0.5, Orientation::CoarseFirst).unwrap();
        assert!((a.gap() + b.gap()).abs() < 1e-12 && a.gap() > 0.0);
        assert!(slope_gap(&x[..3], &y[..3], 1.0, Orientation::FineFirst).is_none());
    }

    #[test]
    fn test_is_two_sided_and_warns_with_the_direction() {
        let local = SlopeGap {
            h_fine: 0.8,
            h_coarse: 0.5,
        };
        // gap 0.3 against N(0.02, 0.05²): z = 5.6.
        let t = test(local.gap(), 0.7, 1024, &NULL);
        assert!((t.z - 5.6).abs() < 1e-9 && t.p_value < 1e-7);
        assert!(warning(&t, &local)
            .unwrap()
            .contains("Short-range correlation"));
        let flipped = SlopeGap {
            h_fine: 0.5,
            h_coarse: 0.8,
        };
        let t = test(flipped.gap(), 0.7, 1024, &NULL);
        assert!(warning(&t, &flipped).unwrap().contains("trend"));
        // One SD off: p = 0.32, no warning.
        let t = test(0.07, 0.7, 1024, &NULL);
        assert!((t.p_value - 0.3173).abs() < 1e-3 && warning(&t, &local).is_none());
    }
}
