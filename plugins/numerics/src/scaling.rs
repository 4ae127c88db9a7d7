//! From scaling points to an estimate of H: the regression, its standard error and interval,
//! r², the fitted line and the warnings every scaling estimator reports the same way.

use lrdbench_plugin_api::{CiMethod, Estimate, PluginError};

use crate::misfit::{slope_gap, Orientation, GAP_DIAGNOSTIC};
use crate::regression::{ols, wls, LineFit, WeightScale};

/// How the slope of the scaling fit maps to H: `H = factor · slope + offset`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlopeMap {
    /// Multiplier of the slope.
    pub factor: f64,
    /// Added after scaling.
    pub offset: f64,
}

impl SlopeMap {
    /// H is the slope itself (R/S, DFA, DMA).
    pub const IDENTITY: SlopeMap = SlopeMap {
        factor: 1.0,
        offset: 0.0,
    };
}

/// How the points of a scaling fit are weighted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FitWeights {
    /// Ordinary least squares (lrdbench 2.0, fathon).
    Equal,
    /// Weights ∝ the number of boxes behind each point, roughly the inverse variance of its
    /// log-statistic, so that the largest scales (a handful of boxes) do not dominate.
    BoxCount,
}

/// A fitted scaling law and the H it implies, with a regression-based interval.
#[derive(Debug, Clone, PartialEq)]
pub struct HurstFit {
    /// The estimate of H.
    pub h: f64,
    /// Standard error of H from the regression (|factor| · se of the slope).
    pub stderr: f64,
    /// Lower end of the interval.
    pub ci_low: f64,
    /// Upper end of the interval.
    pub ci_high: f64,
    /// Nominal level of the interval.
    pub level: f64,
    /// The line fitted to the points.
    pub line: LineFit,
    /// Abscissae (log-scale).
    pub x: Vec<f64>,
    /// Ordinates (log-statistic).
    pub y: Vec<f64>,
    /// Label of the abscissae.
    pub x_label: &'static str,
    /// Label of the ordinates.
    pub y_label: &'static str,
    /// Warnings for the user.
    pub warnings: Vec<String>,
    /// The slope-to-H factor of the fit's [`SlopeMap`], which maps local slopes to H too.
    pub slope_factor: f64,
}

/// Fewer scaling points than this earn a warning: the slope's error estimate has k − 2 degrees
/// of freedom, and with 2 or 3 points it says little.
pub const FEW_SCALES: usize = 4;

/// Fits `y` on `x` by least squares and maps the slope to H.
///
/// The interval is H ± t_{k−2, (1+level)/2} · se(H). It treats the scaling points as
/// independent, which they are not (the statistics at neighbouring scales share data), so it
/// undercovers (20–60% for a nominal 95% on fGn); it is labelled `regression` and replaced by
/// default with the calibrated interval of [`crate::calibration`] (see
/// [`crate::bootstrap::Uncertainty::settle`]).
///
/// # Errors
///
/// `insufficient_data` with fewer than 3 points (no degrees of freedom for the error);
/// `numerical` when the points are degenerate or non-finite.
pub fn fit_hurst(
    x: Vec<f64>,
    y: Vec<f64>,
    labels: (&'static str, &'static str),
    map: SlopeMap,
    level: f64,
) -> Result<HurstFit, PluginError> {
    fit_hurst_weighted(x, y, None, labels, map, level)
}

/// As [`fit_hurst`], by weighted least squares when `weights` are given (relative weights,
/// e.g. inverse approximate variances of the log-statistics; the residual variance still sets
/// the scale of the standard error).
///
/// # Errors
///
/// As [`fit_hurst`], plus `numerical` for non-positive weights.
pub fn fit_hurst_weighted(
    x: Vec<f64>,
    y: Vec<f64>,
    weights: Option<&[f64]>,
    labels: (&'static str, &'static str),
    map: SlopeMap,
    level: f64,
) -> Result<HurstFit, PluginError> {
    if x.len() < 3 {
        return Err(PluginError::insufficient_data(format!(
            "only {} usable scales; at least 3 are needed for a slope and its error",
            x.len()
        )));
    }
    let line = match weights {
        None => ols(&x, &y),
        Some(w) => wls(&x, &y, w, WeightScale::Relative),
    }
    .map_err(|e| PluginError::numerical(format!("scaling fit: {e}")))?;
    let h = map.factor * line.slope + map.offset;
    let stderr = map.factor.abs() * line.slope_stderr;
    if !(h.is_finite() && stderr.is_finite()) {
        return Err(PluginError::numerical("the scaling fit is not finite"));
    }
    let t = t_quantile(0.5 + level / 2.0, (x.len() - 2) as f64);
    let mut warnings = Vec::new();
    if x.len() < FEW_SCALES {
        warnings.push(format!(
            "only {} scales in the fit (fewer than {FEW_SCALES}): the slope is poorly determined",
            x.len()
        ));
    }
    Ok(HurstFit {
        h,
        stderr,
        ci_low: h - t * stderr,
        ci_high: h + t * stderr,
        level,
        line,
        x,
        y,
        x_label: labels.0,
        y_label: labels.1,
        warnings,
        slope_factor: map.factor,
    })
}

impl HurstFit {
    /// The fitted line at every abscissa.
    pub fn fitted(&self) -> Vec<f64> {
        self.x.iter().map(|x| self.line.at(*x)).collect()
    }

    /// The estimate as the plugin ABI carries it (value, stderr, interval, r², fit, warnings,
    /// and the local-slope gap of [`crate::misfit`] when the fit has enough points).
    pub fn to_estimate(&self, estimand: &str) -> Estimate {
        let mut e = Estimate::new(self.h, estimand)
            .with_stderr(self.stderr)
            .with_ci_method(self.ci_low, self.ci_high, self.level, CiMethod::Regression)
            .with_r_squared(self.line.r_squared)
            .with_fit(
                self.x_label,
                self.y_label,
                self.x.clone(),
                self.y.clone(),
                self.fitted(),
            );
        for w in &self.warnings {
            e = e.with_warning(w.clone());
        }
        // Every scaling fit's abscissa is a log scale, finest first.
        if let Some(g) = slope_gap(&self.x, &self.y, self.slope_factor, Orientation::FineFirst) {
            e = e.with_diagnostic(GAP_DIAGNOSTIC, g.diagnostic());
        }
        e
    }
}

/// Solves H = T(H) from `h0` by secant steps on T(H) − H (a plain step T(H) where the secant
/// is flat), stopping when a step is below `tol`; returns the last iterate and whether it
/// converged within `max_iter` evaluations of T.
///
/// The estimators' bias corrections are such fixed points: T(H) is the slope of the points
/// corrected at H. Plain iteration converges linearly (a few dozen evaluations of T); the
/// secant converges superlinearly to the same point, in about five.
///
/// # Examples
///
/// ```
/// use lrdbench_numerics::scaling::fixed_point;
/// let (h, ok) = fixed_point(0.5, |h| 0.3 + 0.4 * h * h, 1e-12, 60);
/// assert!(ok && (h - (0.3 + 0.4 * h * h)).abs() < 1e-12);
/// ```
pub fn fixed_point(h0: f64, t: impl Fn(f64) -> f64, tol: f64, max_iter: usize) -> (f64, bool) {
    let (mut a, mut ga) = (h0, t(h0) - h0);
    let mut b = a + ga;
    for _ in 1..max_iter {
        let gb = t(b) - b;
        if gb == 0.0 {
            return (b, true);
        }
        let slope = (gb - ga) / (b - a);
        let next = if slope.is_finite() && slope.abs() > 1e-12 {
            b - gb / slope
        } else {
            b + gb
        };
        (a, ga) = (b, gb);
        b = next;
        if (b - a).abs() < tol {
            return (b, true);
        }
    }
    (b, false)
}

/// Slope of the least-squares line of `y` on `x` with weights `w` (all 1 when `None`),
/// without the interval: the inner step of fixed-point corrections.
pub fn slope(x: &[f64], y: &[f64], w: Option<&[f64]>) -> f64 {
    let wt = |i: usize| w.map_or(1.0, |w| w[i]);
    let sw: f64 = (0..x.len()).map(wt).sum();
    let mx = (0..x.len()).map(|i| wt(i) * x[i]).sum::<f64>() / sw;
    let my = (0..x.len()).map(|i| wt(i) * y[i]).sum::<f64>() / sw;
    let (mut sxx, mut sxy) = (0.0, 0.0);
    for i in 0..x.len() {
        let dx = x[i] - mx;
        sxx += wt(i) * dx * dx;
        sxy += wt(i) * dx * (y[i] - my);
    }
    sxy / sxx
}

/// The digamma function ψ(x) for x > 0 (recurrence to x ≥ 10, then the asymptotic series to
/// the x⁻¹⁰ term; the first omitted term, 691/(32760 x¹²), bounds the error by 2.2e-14).
///
/// # Examples
///
/// ```
/// use lrdbench_numerics::scaling::digamma;
/// // ψ(1) = −γ (Euler–Mascheroni).
/// assert!((digamma(1.0) + 0.5772156649015329).abs() < 1e-12);
/// ```
pub fn digamma(mut x: f64) -> f64 {
    let mut acc = 0.0;
    while x < 10.0 {
        acc -= 1.0 / x;
        x += 1.0;
    }
    let f = 1.0 / (x * x);
    acc + x.ln()
        - 0.5 / x
        - f * (1.0 / 12.0 - f * (1.0 / 120.0 - f * (1.0 / 252.0 - f * (1.0 / 240.0 - f / 132.0))))
}

/// The standard normal quantile (Acklam's rational approximation, relative error below
/// 1.2e-9 over (0, 1)).
///
/// # Examples
///
/// ```
/// use lrdbench_numerics::scaling::normal_quantile;
/// assert!((normal_quantile(0.975) - 1.959963985).abs() < 1e-8);
/// ```
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.38357751867269e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// Student's t quantile with `dof` degrees of freedom: exact for 1 and 2, otherwise the
/// Cornish–Fisher expansion in 1/ν to fourth order (Abramowitz & Stegun 26.7.5), within 4e-3
/// at ν = 3 (0.12%), 3e-4 at ν = 5 and 1e-5 from ν = 12 for p in [0.9, 0.999].
///
/// # Examples
///
/// ```
/// use lrdbench_numerics::scaling::t_quantile;
/// // Tables: t_{0.975, 10} = 2.228139.
/// assert!((t_quantile(0.975, 10.0) - 2.228139).abs() < 1e-4);
/// ```
pub fn t_quantile(p: f64, dof: f64) -> f64 {
    if dof <= 1.0 {
        return (std::f64::consts::PI * (p - 0.5)).tan();
    }
    if dof <= 2.0 {
        return (2.0 * p - 1.0) / (2.0 * p * (1.0 - p)).sqrt();
    }
    let z = normal_quantile(p);
    let (z2, v) = (z * z, dof);
    let g1 = (z2 + 1.0) * z / 4.0;
    let g2 = ((5.0 * z2 + 16.0) * z2 + 3.0) * z / 96.0;
    let g3 = (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) * z / 384.0;
    let g4 = ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) * z / 92160.0;
    z + g1 / v + g2 / (v * v) + g3 / (v * v * v) + g4 / (v * v * v * v)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn t_quantile_matches_tables() {
        // Student t table values (e.g. R's qt): qt(.975, 3) = 3.182446, qt(.975, 5) = 2.570582,
        // qt(.975, 20) = 2.085963, qt(.995, 12) = 3.054540, qt(.975, 2) = 4.302653.
        assert!((t_quantile(0.975, 3.0) - 3.182446).abs() < 4e-3);
        assert!((t_quantile(0.975, 5.0) - 2.570582).abs() < 3e-4);
        assert!((t_quantile(0.975, 20.0) - 2.085963).abs() < 1e-5);
        assert!((t_quantile(0.995, 12.0) - 3.054540).abs() < 2e-4);
        assert!((t_quantile(0.975, 2.0) - 4.302653).abs() < 1e-6);
    }

    #[test]
    fn fit_hurst_recovers_exact_line_and_labels_its_interval_regression() {
        let x: Vec<f64> = (1..=6).map(|v| v as f64).collect();
        let y: Vec<f64> = x.iter().map(|v| 1.2 * v + 0.3).collect();
        let f = fit_hurst(x, y, ("log s", "log F"), SlopeMap::IDENTITY, 0.95).unwrap();
        assert!((f.h - 1.2).abs() < 1e-12);
        let e = f.to_estimate("H");
        assert_eq!(
            e.ci.into_option().map(|c| c.method),
            Some(CiMethod::Regression)
        );
    }

    #[test]
    fn fit_hurst_two_points_is_insufficient_data() {
        let e = fit_hurst(
            vec![1.0, 2.0],
            vec![1.0, 2.0],
            ("a", "b"),
            SlopeMap::IDENTITY,
            0.95,
        );
        assert!(e.is_err());
    }
}
