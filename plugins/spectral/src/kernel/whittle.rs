//! The Whittle maximum-likelihood estimator with the exact spectral density of fractional
//! Gaussian noise.

use lrdbench_numerics::fft;
use lrdbench_numerics::optimize::brent_min;
use lrdbench_numerics::spectral_density::FgnCorrection;
use lrdbench_numerics::validate;
use lrdbench_plugin_api::PluginError;

use super::{range_warning, SpectralEstimate};

/// Shortest series accepted.
pub const MIN_LENGTH: usize = 32;
/// The search interval for H: the open interval (0, 1) of fGn, less a margin where the
/// density's tail sums lose accuracy.
pub const H_RANGE: (f64, f64) = (0.0005, 0.9995);

/// Configuration of [`whittle`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Config {
    /// Absolute tolerance on Ĥ for the minimiser (1e-7 is far below the standard error).
    pub tolerance: f64,
}

/// Precomputed per-frequency quantities of the Whittle contrast.
struct Contrast {
    /// I_j / (1 − cos λ_j), scaled to mean 1.
    w: Vec<f64>,
    /// ln λ_j.
    ln_lambda: Vec<f64>,
    /// Chebyshev abscissa of λ_j.
    abscissa: Vec<f64>,
    /// mean of ln λ_j.
    mean_ln_lambda: f64,
}

impl Contrast {
    /// The profiled Whittle contrast (module formula) at H.
    fn value(&self, h: f64) -> Result<f64, PluginError> {
        let plan = FgnCorrection::new(h)?;
        let a = 2.0 * h + 1.0;
        let m = self.w.len() as f64;
        let mut acc = 0.0;
        let mut log_sum = 0.0;
        let mut prod = 1.0;
        for ((w, l), x) in self.w.iter().zip(&self.ln_lambda).zip(&self.abscissa) {
            let p = (a * l).exp();
            let s = p.mul_add(plan.at_abscissa(*x), 1.0);
            acc += w * p / s;
            // s ≥ 1, so the running product only grows; take its log before it can overflow.
            prod *= s;
            if prod > 1e200 {
                log_sum += prod.ln();
                prod = 1.0;
            }
        }
        log_sum += prod.ln();
        Ok((acc / m).ln() - a * self.mean_ln_lambda + log_sum / m)
    }

    /// 1 / Σ_j (D_j − D̄)², D_j = ∂ ln f(λ_j; H)/∂H: the inverse Fisher information of the
    /// Whittle likelihood with the scale profiled out.
    fn inverse_information(&self, h: f64) -> Result<f64, PluginError> {
        let delta = 1e-5_f64.min(0.5 * h).min(0.5 * (1.0 - h));
        let (lo, mid, hi) = (
            FgnCorrection::new(h - delta)?,
            FgnCorrection::new(h)?,
            FgnCorrection::new(h + delta)?,
        );
        let a = 2.0 * h + 1.0;
        let mut d = Vec::with_capacity(self.w.len());
        for (l, x) in self.ln_lambda.iter().zip(&self.abscissa) {
            let p = (a * l).exp();
            let r = mid.at_abscissa(*x);
            let dr = (hi.at_abscissa(*x) - lo.at_abscissa(*x)) / (2.0 * delta);
            let s = p.mul_add(r, 1.0);
            // ln g = ln(1 − cos λ) − a ln λ + ln s;  ∂a/∂H = 2,  ∂p/∂H = 2 ln λ · p.
            d.push(-2.0 * l + (2.0 * l * p * r + p * dr) / s);
        }
        let mean = d.iter().sum::<f64>() / d.len() as f64;
        let ss: f64 = d.iter().map(|v| (v - mean) * (v - mean)).sum();
        if ss > 0.0 && ss.is_finite() {
            Ok(1.0 / ss)
        } else {
            Err(PluginError::numerical(
                "whittle: Fisher information is not positive",
            ))
        }
    }
}

/// Minimises the Whittle contrast of fGn over H, with the scale profiled out.
///
/// # Formula
///
/// ```text
/// f(λ; H, σ²) = σ² g(λ; H),  g = (1 − cos λ) B(λ, H)     (exact fGn density, up to a constant
///                                                        in H that the profile absorbs)
/// L(H) = ln( (1/m) Σ_{j=1}^m I(λ_j)/g(λ_j; H) ) + (1/m) Σ_j ln g(λ_j; H),   m = ⌊(n−1)/2⌋
/// Ĥ = argmin L on (0, 1)
/// se(Ĥ) = 1 / √(Σ_j (D_j − D̄)²),  D_j = ∂ ln g(λ_j; H)/∂H at Ĥ   (Fisher information)
/// ```
///
/// B is evaluated through a Chebyshev plan built once per trial H (16 exact evaluations,
/// [`lrdbench_numerics::spectral_density::FgnCorrection`]), so each frequency costs one `exp`
/// and 16 multiply–adds per trial.
///
/// # Reference
///
/// Whittle (1953), Ark. Mat. 2; Fox & Taqqu (1986), Ann. Statist. 14(2), Theorem 2
/// (asymptotic normality, variance 4π / ∫(∂ ln f)²); Beran (1994), §5.5 and eq. 2.17.
///
/// # Complexity
///
/// O(n log n) for the periodogram plus O(n) per trial H (about 25 trials): O(n log n) time,
/// O(n) memory.
///
/// # Accuracy
///
/// n ≥ 32. Efficient for exact fGn: standard deviation ≈ 0.011 at n = 4096 (H = 0.7) and no
/// measurable bias at any H in [0.2, 0.9]. Misspecified (non-fGn) data bias it.
///
/// # Errors
///
/// `invalid_input` for non-finite or constant input, `insufficient_data` below 32 points,
/// `parameter` for a non-positive tolerance, `numerical`/`non_convergence` from the minimiser.
///
/// # Examples
///
/// ```
/// use lrdbench_plugin_spectral::kernel::whittle;
/// let x = lrdbench_numerics::fgn::fgn(0.2, 4096, 11).unwrap();
/// let est = whittle::whittle(&x, &whittle::Config { tolerance: 1e-7 }).unwrap();
/// assert!((est.h - 0.2).abs() < 4.0 * est.stderr);
/// assert!((est.stderr - 0.0085).abs() < 0.002);
/// ```
pub fn whittle(x: &[f64], cfg: &Config) -> Result<SpectralEstimate, PluginError> {
    validate::series(x, MIN_LENGTH, "whittle")?;
    if !(cfg.tolerance > 0.0 && cfg.tolerance < 0.01) {
        return Err(PluginError::parameter(format!(
            "whittle: tolerance must be in (0, 0.01), got {}",
            cfg.tolerance
        )));
    }
    let n = x.len();
    let pgram = fft::periodogram(x)?;
    let m = pgram.len();
    let mut w = Vec::with_capacity(m);
    let mut ln_lambda = Vec::with_capacity(m);
    let mut abscissa = Vec::with_capacity(m);
    for (j, p) in pgram.iter().enumerate() {
        let lambda = fft::fourier_frequency(j + 1, n);
        let s = (0.5 * lambda).sin();
        w.push(p / (2.0 * s * s));
        ln_lambda.push(lambda.ln());
        abscissa.push(FgnCorrection::abscissa(lambda));
    }
    let scale = w.iter().sum::<f64>() / m as f64;
    if !(scale > 0.0 && scale.is_finite()) {
        return Err(PluginError::numerical(
            "whittle: periodogram is zero or not finite",
        ));
    }
    w.iter_mut().for_each(|v| *v /= scale);
    let mean_ln_lambda = ln_lambda.iter().sum::<f64>() / m as f64;
    let contrast = Contrast {
        w,
        ln_lambda,
        abscissa,
        mean_ln_lambda,
    };
    let min = brent_min(|h| contrast.value(h), H_RANGE.0, H_RANGE.1, cfg.tolerance)?;
    let mut warnings = Vec::new();
    if min.at_bound {
        warnings.push(format!(
            "optimum at the bound H = {:.4} of the search interval: the series is not fGn-like",
            min.x
        ));
    }
    range_warning(min.x, &mut warnings);
    let stderr = contrast.inverse_information(min.x)?.sqrt();
    Ok(SpectralEstimate {
        h: min.x,
        stderr,
        bandwidth: m,
        r_squared: None,
        fit: None,
        warnings,
    })
}
