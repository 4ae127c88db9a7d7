//! Least-squares lines, plain and weighted, with the standard error of the slope and r².
//!
//! Every scaling estimator ends in a fit of log-quantities against log-scale; this module is the
//! one place that fit is computed.
//!
//! # Formula
//!
//! ```text
//! slope     b = Σ w (x − x̄)(y − ȳ) / Σ w (x − x̄)²        (x̄, ȳ weighted means)
//! intercept a = ȳ − b x̄
//! residual  s² = Σ w (y − a − b x)² / (k − 2)            (k points)
//! se(b)     = sqrt(s² / Σ w (x − x̄)²)                    (unweighted, or relative weights)
//! se(b)     = sqrt(1 / Σ w (x − x̄)²)                     (weights are exact inverse variances)
//! r²        = 1 − Σ w (y − a − b x)² / Σ w (y − ȳ)²
//! ```
//!
//! Centred sums (two passes) are used: the abscissae are logarithms of scales, whose squares
//! are large next to their spread, and one-pass sums would cancel.

/// How the weights of a weighted fit are to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightScale {
    /// Weights are only relative; the residual variance sets the scale of the slope's error.
    Relative,
    /// Weights are exact inverse variances of the ordinates (as in the Abry–Veitch diagram).
    InverseVariance,
}

/// A fitted line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LineFit {
    /// Slope b.
    pub slope: f64,
    /// Intercept a.
    pub intercept: f64,
    /// Standard error of the slope (NaN with two points and relative weights).
    pub slope_stderr: f64,
    /// Coefficient of determination.
    pub r_squared: f64,
    /// Number of points.
    pub points: usize,
}

impl LineFit {
    /// The line at `x`.
    pub fn at(&self, x: f64) -> f64 {
        self.intercept + self.slope * x
    }
}

/// Why a line could not be fitted.
#[derive(Debug, Clone, PartialEq)]
pub enum FitError {
    /// Fewer than two points, or slices of different lengths.
    TooFewPoints(usize),
    /// All abscissae equal, a non-finite input, or non-positive weights.
    Degenerate(&'static str),
}

impl std::fmt::Display for FitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FitError::TooFewPoints(k) => write!(f, "a line needs at least 2 points, got {k}"),
            FitError::Degenerate(why) => write!(f, "degenerate fit: {why}"),
        }
    }
}

impl std::error::Error for FitError {}

/// Ordinary least squares of `y` on `x`.
///
/// # Errors
///
/// [`FitError`] for fewer than two points, mismatched lengths, equal abscissae or
/// non-finite values.
///
/// # Examples
///
/// ```
/// use lrdbench_numerics::regression::ols;
/// let fit = ols(&[0.0, 1.0, 2.0], &[1.0, 3.0, 5.0]).unwrap();
/// assert!((fit.slope - 2.0).abs() < 1e-15 && (fit.intercept - 1.0).abs() < 1e-15);
/// assert!((fit.r_squared - 1.0).abs() < 1e-15);
/// ```
pub fn ols(x: &[f64], y: &[f64]) -> Result<LineFit, FitError> {
    fit(x, y, None, WeightScale::Relative)
}

/// Weighted least squares of `y` on `x` with weights `w` (> 0).
///
/// # Errors
///
/// As [`ols`], plus non-positive or non-finite weights.
pub fn wls(x: &[f64], y: &[f64], w: &[f64], scale: WeightScale) -> Result<LineFit, FitError> {
    if w.len() != x.len() {
        return Err(FitError::TooFewPoints(w.len().min(x.len())));
    }
    if w.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
        return Err(FitError::Degenerate("weights must be finite and positive"));
    }
    fit(x, y, Some(w), scale)
}

fn fit(x: &[f64], y: &[f64], w: Option<&[f64]>, scale: WeightScale) -> Result<LineFit, FitError> {
    let k = x.len();
    if k < 2 || y.len() != k {
        return Err(FitError::TooFewPoints(k.min(y.len())));
    }
    if x.iter().chain(y).any(|v| !v.is_finite()) {
        return Err(FitError::Degenerate("non-finite value"));
    }
    let weight = |i: usize| w.map_or(1.0, |w| w[i]);
    let sw: f64 = (0..k).map(weight).sum();
    let mx = (0..k).map(|i| weight(i) * x[i]).sum::<f64>() / sw;
    let my = (0..k).map(|i| weight(i) * y[i]).sum::<f64>() / sw;
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for i in 0..k {
        let (dx, dy, wi) = (x[i] - mx, y[i] - my, weight(i));
        sxx += wi * dx * dx;
        sxy += wi * dx * dy;
        syy += wi * dy * dy;
    }
    if sxx <= 0.0 {
        return Err(FitError::Degenerate("all abscissae are equal"));
    }
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let rss: f64 = (0..k)
        .map(|i| weight(i) * (y[i] - intercept - slope * x[i]).powi(2))
        .sum();
    let slope_stderr = match scale {
        WeightScale::InverseVariance if w.is_some() => (1.0 / sxx).sqrt(),
        _ if k > 2 => (rss / (k as f64 - 2.0) / sxx).sqrt(),
        _ => f64::NAN,
    };
    let r_squared = if syy > 0.0 { 1.0 - rss / syy } else { 1.0 };
    Ok(LineFit {
        slope,
        intercept,
        slope_stderr,
        r_squared,
        points: k,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ols_matches_textbook_example() {
        // Draper & Smith style toy data; values computed by hand:
        // x̄ = 3, ȳ = 4, Sxx = 10, Sxy = 6 → b = 0.6, a = 2.2.
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        let y = [2.0, 4.0, 5.0, 4.0, 5.0];
        let f = ols(&x, &y).unwrap();
        assert!((f.slope - 0.6).abs() < 1e-14);
        assert!((f.intercept - 2.2).abs() < 1e-14);
        // RSS = 2.4, s² = 0.8, se = sqrt(0.08); Syy = 6 → r² = 0.6.
        assert!((f.slope_stderr - 0.08f64.sqrt()).abs() < 1e-14);
        assert!((f.r_squared - 0.6).abs() < 1e-14);
    }

    #[test]
    fn wls_with_equal_weights_equals_ols() {
        let x = [0.5, 1.5, 2.0, 3.7, 4.1];
        let y = [1.0, 0.2, 2.2, 3.1, 5.5];
        let a = ols(&x, &y).unwrap();
        let b = wls(&x, &y, &[3.0; 5], WeightScale::Relative).unwrap();
        assert!(
            (a.slope - b.slope).abs() < 1e-13 && (a.slope_stderr - b.slope_stderr).abs() < 1e-13
        );
    }

    #[test]
    fn ols_rejects_degenerate_input() {
        assert!(matches!(
            ols(&[1.0], &[1.0]),
            Err(FitError::TooFewPoints(1))
        ));
        assert!(matches!(
            ols(&[1.0, 1.0], &[1.0, 2.0]),
            Err(FitError::Degenerate(_))
        ));
        assert!(matches!(
            ols(&[1.0, f64::NAN], &[1.0, 2.0]),
            Err(FitError::Degenerate(_))
        ));
    }
}
