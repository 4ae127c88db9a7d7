//! Wavelet estimator kernels: pure functions over `&[f64]` and a `Config` each, on the
//! boundary-free pyramid DWT of [`lrdbench_numerics::dwt`].

pub mod wavelet_av;
pub mod wavelet_whittle;

use lrdbench_numerics::dwt::{self, details, Daubechies};
use lrdbench_numerics::fgn::autocovariance_row;
use lrdbench_plugin_api::PluginError;

/// The detail energy of one octave.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Octave {
    /// Octave j (1 = finest).
    pub j: usize,
    /// Number of boundary-free coefficients n_j.
    pub count: usize,
    /// Σ_k d_{j,k}².
    pub energy: f64,
}

/// The scaling points and fitted line of a log-scale diagram, for plots.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagram {
    /// Octaves j.
    pub x: Vec<f64>,
    /// log2 of the (bias-corrected) mean squared detail at each octave.
    pub y: Vec<f64>,
    /// The fitted line at `x`.
    pub fitted: Vec<f64>,
}

/// The result of a wavelet kernel.
#[derive(Debug, Clone, PartialEq)]
pub struct WaveletEstimate {
    /// The Hurst exponent H of the input read as fGn.
    pub h: f64,
    /// Its standard error (see each kernel's `# Accuracy`).
    pub stderr: f64,
    /// r² of the weighted log-scale fit, when the method is a regression.
    pub r_squared: Option<f64>,
    /// The log-scale diagram over the octaves used.
    pub diagram: Diagram,
    /// The octaves used, first and last.
    pub octaves: (usize, usize),
    /// Number of coefficients at each octave used.
    pub counts: Vec<usize>,
    /// Warnings (estimate outside (0, 1), few octaves, …).
    pub warnings: Vec<String>,
}

/// The energies of octaves `j_min..=j_max` (j_max clipped to the coarsest octave with at least
/// `min_count` coefficients), after validating the input.
pub(crate) fn octave_energies(
    x: &[f64],
    order: usize,
    j_min: usize,
    j_max: usize,
    min_count: usize,
    method: &str,
    warnings: &mut Vec<String>,
) -> Result<Vec<Octave>, PluginError> {
    let bank = Daubechies::new(order)?;
    if j_min < 1 || j_max < j_min + 1 {
        return Err(PluginError::parameter(format!(
            "{method}: octaves must satisfy 1 <= j_min < j_max, got j_min = {j_min}, j_max = {j_max}"
        )));
    }
    // Enough points for octave j_min + 1 to have min_count coefficients: the pyramid leaves
    // ⌊(len − L)/2⌋ + 1 per step.
    let l = bank.len();
    let mut need = min_count;
    for _ in 0..=j_min {
        need = 2 * (need - 1) + l;
    }
    lrdbench_numerics::validate::series(x, need, method)?;
    let d = details(x, bank, min_count)?;
    let coarsest = d.len();
    if j_max != usize::MAX && j_max > coarsest {
        warnings.push(format!(
            "j_max = {j_max} clipped to {coarsest}, the coarsest octave with at least {min_count} coefficients"
        ));
    }
    let last = j_max.min(coarsest);
    let octaves: Vec<Octave> = (j_min..=last)
        .map(|j| {
            let c = &d[j - 1];
            Octave {
                j,
                count: c.len(),
                energy: c.iter().map(|v| v * v).sum(),
            }
        })
        .collect();
    if octaves.len() < 3 {
        warnings.push(format!(
            "only {} octaves ({j_min}..{last}) in the fit: a longer series or a smaller j_min gives a steadier estimate",
            octaves.len()
        ));
    }
    if octaves
        .iter()
        .any(|o| !(o.energy > 0.0 && o.energy.is_finite()))
    {
        return Err(PluginError::numerical(format!(
            "{method}: an octave has zero or non-finite detail energy"
        )));
    }
    Ok(octaves)
}

/// How the departure of fGn's octave variances from an exact power law at fine octaves is
/// handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Correction {
    /// None: treat E d_j² as exactly ∝ 2^{(2H−1)j} (the original semiparametric estimators;
    /// use j_min ≥ 3 on fGn, where the curvature is below the noise at n = 4096).
    None,
    /// Remove the exact fGn curvature c_j(H) − c_8(H), c_j = log2 E d_j² − (2H − 1) j,
    /// iterating H to a fixed point. E d_j² = γ(0) r_j(0) + 2 Σ_k γ(k) r_j(k) is exact for fGn
    /// (r_j: autocorrelation of the octave-j filter, [`lrdbench_numerics::dwt`]).
    FgnExact,
}

/// c_j(H) − c_ref(H) for each octave in `js`, c_j = log2 E d_j² − (2H − 1) j for unit fGn, with
/// ref = the tabulated octave 8 (beyond it the curvature is below 1e-4 and taken as 0).
pub(crate) fn fgn_curvature(h: f64, order: usize, js: &[usize]) -> Result<Vec<f64>, PluginError> {
    let top = dwt::MAX_TABULATED_OCTAVE;
    let longest = dwt::detail_autocorrelation(order, top)?.len();
    let gamma = autocovariance_row(h, longest)?;
    let c = |j: usize| -> Result<f64, PluginError> {
        let r = dwt::detail_autocorrelation(order, j)?;
        let v = gamma[0] * r[0]
            + 2.0
                * r[1..]
                    .iter()
                    .zip(&gamma[1..])
                    .map(|(a, b)| a * b)
                    .sum::<f64>();
        Ok(v.log2() - (2.0 * h - 1.0) * j as f64)
    };
    let reference = c(top)?;
    js.iter()
        .map(|&j| {
            if j >= top {
                Ok(0.0)
            } else {
                Ok(c(j)? - reference)
            }
        })
        .collect()
}

/// Adds the warning for an estimate outside (0, 1).
pub(crate) fn range_warning(h: f64, warnings: &mut Vec<String>) {
    if !(h > 0.0 && h < 1.0) {
        warnings.push(format!(
            "estimate H = {h:.4} is outside (0, 1): not a stationary long-memory fGn value"
        ));
    }
}

/// Trigamma ψ′(x), x > 0: recurrence up to x ≥ 20, then the asymptotic series
/// (Abramowitz & Stegun 6.4.12) through x^−11, whose first omitted term is 691/(2730 x¹³) <
/// 4e-18; about 1e-15 relative.
pub(crate) fn trigamma(mut x: f64) -> f64 {
    let mut acc = 0.0;
    while x < 20.0 {
        acc += 1.0 / (x * x);
        x += 1.0;
    }
    let r = 1.0 / (x * x);
    acc + 1.0 / x
        + r / 2.0
        + r / x
            * (1.0 / 6.0 - r * (1.0 / 30.0 - r * (1.0 / 42.0 - r * (1.0 / 30.0 - r * 5.0 / 66.0))))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn trigamma_matches_closed_forms() {
        // ψ′(1) = π²/6, ψ′(½) = π²/2 (Abramowitz & Stegun 6.4.2, 6.4.4).
        let pi2 = std::f64::consts::PI.powi(2);
        assert!((trigamma(1.0) - pi2 / 6.0).abs() < 1e-14);
        assert!((trigamma(0.5) - pi2 / 2.0).abs() < 1e-13);
        // ψ′(x) = 1/x + 1/(2x²) + 1/(6x³) − … for large x.
        let x: f64 = 1000.0;
        assert!((trigamma(x) - (1.0 / x + 0.5 / (x * x) + 1.0 / (6.0 * x * x * x))).abs() < 1e-16);
    }
}
