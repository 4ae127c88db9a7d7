//! The Whittle maximum-likelihood estimator with the exact spectral density of fractional
//! Gaussian noise.

use lrdbench_numerics::fft;
use lrdbench_numerics::optimize::{brent_min, newton_root, Minimum};
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
    /// Absolute tolerance on Ĥ: Newton stops at a step below it, Brent's fallback at an
    /// interval below it (1e-7 is far below the standard error).
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
            let s = p * plan.at_abscissa(*x) + 1.0;
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

    /// The contrast's first and second derivatives in H, in one pass: (L′(H), L″(H)).
    ///
    /// ∂R/∂H and ∂²R/∂H² come from central differences of the Chebyshev plans at H ± δ,
    /// δ = 1e-4: truncation ≈ δ²R‴/6 ≈ 1e-9 relative, rounding ≈ 1e-16/δ² = 1e-8 relative in
    /// R″ only, which slows Newton's last step a little but does not move the root.
    fn derivatives(&self, h: f64) -> Result<(f64, f64, f64), PluginError> {
        let delta = 1e-4_f64.min(0.5 * h).min(0.5 * (1.0 - h));
        let (lo, mid, hi) = (
            FgnCorrection::new(h - delta)?,
            FgnCorrection::new(h)?,
            FgnCorrection::new(h + delta)?,
        );
        let a = 2.0 * h + 1.0;
        let m = self.w.len() as f64;
        let (mut a0, mut a1, mut a2) = (0.0, 0.0, 0.0);
        let (mut d1, mut d2) = (0.0, 0.0);
        // D_j = ∂ ln g_j/∂H = −2 ln λ_j + s′_j/s_j, for the Fisher information.
        let (mut f1, mut f2) = (0.0, 0.0);
        for ((w, l), x) in self.w.iter().zip(&self.ln_lambda).zip(&self.abscissa) {
            let p = (a * l).exp();
            let (rm, r0, rp) = (lo.at_abscissa(*x), mid.at_abscissa(*x), hi.at_abscissa(*x));
            let r1 = (rp - rm) / (2.0 * delta);
            let r2 = (rp - 2.0 * r0 + rm) / (delta * delta);
            let p1 = 2.0 * l * p;
            let p2 = 2.0 * l * p1;
            let s = p * r0 + 1.0;
            let s1 = p1 * r0 + p * r1;
            let s2 = p2 * r0 + 2.0 * p1 * r1 + p * r2;
            let inv = 1.0 / s;
            let q = p * inv;
            let q1 = (p1 - q * s1) * inv;
            let q2 = (p2 - 2.0 * q1 * s1 - q * s2) * inv;
            a0 += w * q;
            a1 += w * q1;
            a2 += w * q2;
            let g = s1 * inv;
            d1 += g;
            d2 += s2 * inv - g * g;
            // Shifted by −2·mean(ln λ), near D's mean, so the one-pass variance keeps its digits.
            let dj = g - 2.0 * (l - self.mean_ln_lambda);
            f1 += dj;
            f2 += dj * dj;
        }
        let r = a1 / a0;
        let first = r - 2.0 * self.mean_ln_lambda + d1 / m;
        let second = a2 / a0 - r * r + d2 / m;
        // Σ (D − D̄)² from the shifted sums.
        let information = f2 - f1 * f1 / m;
        if first.is_finite() && second.is_finite() {
            Ok((first, second, information))
        } else {
            Err(PluginError::numerical(format!(
                "whittle: contrast derivatives not finite at H = {h}"
            )))
        }
    }

    /// Newton's method on L′ from `start`, steps capped at 0.1 and kept inside the search
    /// interval; `None` when the curvature is not positive or it does not settle in 12 steps
    /// (the caller then falls back to Brent's method).
    /// On success returns (Ĥ, steps, Fisher information Σ(D − D̄)² at the last iterate, within
    /// `tol` of Ĥ).
    fn newton(&self, start: f64, tol: f64) -> Result<Option<(f64, usize, f64)>, PluginError> {
        let (lo, hi) = (H_RANGE.0 + 1e-4, H_RANGE.1 - 1e-4);
        let mut h = start.clamp(lo, hi);
        for k in 1..=12 {
            let (g, c, information) = self.derivatives(h)?;
            if c <= 0.0 {
                return Ok(None);
            }
            let step = (g / c).clamp(-0.1, 0.1);
            let next = (h - step).clamp(lo, hi);
            // Quadratic convergence: a step below tol leaves an error of order tol²/0.01.
            if (next - h).abs() < tol {
                return Ok(Some((next, k, information)));
            }
            if next == lo || next == hi {
                return Ok(None);
            }
            h = next;
        }
        Ok(None)
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
            let s = p * r + 1.0;
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

/// A starting value: the local Whittle estimate from the lowest ⌊m^0.65⌋ ordinates (at least
/// 8), clamped into the search interval; 0.5 if that fails.
fn local_start(c: &Contrast) -> f64 {
    let k = ((c.w.len() as f64).powf(0.65) as usize).clamp(8.min(c.w.len()), c.w.len());
    // w_j = I_j/(1 − cos λ_j) ∝ λ_j^{1 − 2H − 2} near 0: the local Whittle contrast in
    // d = H − ½ reads ln Σ e^{2(d+1)ν_j} w_j with ν centred ln λ.
    let l = &c.ln_lambda[..k];
    let mean = l.iter().sum::<f64>() / k as f64;
    let g = |d: f64| {
        let (mut s0, mut s1, mut s2) = (0.0, 0.0, 0.0);
        for (lj, wj) in l.iter().zip(&c.w[..k]) {
            let v = lj - mean;
            let e = (2.0 * (d + 1.0) * v).exp() * wj;
            s0 += e;
            s1 += v * e;
            s2 += v * v * e;
        }
        let m1 = s1 / s0;
        Ok((2.0 * m1, 4.0 * (s2 / s0 - m1 * m1)))
    };
    match newton_root(g, -0.5, 0.5, 1e-6) {
        Ok(r) => (r.x + 0.5).clamp(0.05, 0.95),
        Err(_) => 0.5,
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
/// B is evaluated through Chebyshev plans built once per trial H (14 exact evaluations,
/// [`lrdbench_numerics::spectral_density::FgnCorrection`]), so each frequency costs one `exp`
/// and a few dozen multiply–adds per trial. The minimum is found by Newton's method on L′
/// (analytic in the periodogram, 3–4 passes) from a local Whittle start, with Brent's method
/// as the fallback.
///
/// # Reference
///
/// Whittle (1953), Ark. Mat. 2; Fox & Taqqu (1986), Ann. Statist. 14(2), Theorem 2
/// (asymptotic normality, variance 4π / ∫(∂ ln f)²); Beran (1994), §5.5 and eq. 2.17.
///
/// # Complexity
///
/// O(n log n) for the periodogram plus O(n) per Newton step (3–5 steps): O(n log n) time,
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
    // Start Newton from the local Whittle estimate on the lowest n^0.65 frequencies (its
    // error is a few hundredths, inside Newton's basin for this smooth contrast); Brent's
    // method on the whole interval is the fallback.
    let start = local_start(&contrast);
    let (min, information) = match contrast.newton(start, cfg.tolerance)? {
        Some((h, steps, information)) => (
            Minimum {
                x: h,
                value: f64::NAN,
                evaluations: steps,
                at_bound: false,
            },
            Some(information),
        ),
        None => (
            brent_min(|h| contrast.value(h), H_RANGE.0, H_RANGE.1, cfg.tolerance)?,
            None,
        ),
    };
    let mut warnings = Vec::new();
    if min.at_bound {
        warnings.push(format!(
            "optimum at the bound H = {:.4} of the search interval: the series is not fGn-like",
            min.x
        ));
    }
    range_warning(min.x, &mut warnings);
    let inverse = match information {
        Some(i) if i > 0.0 && i.is_finite() => 1.0 / i,
        _ => contrast.inverse_information(min.x)?,
    };
    let stderr = inverse.sqrt();
    Ok(SpectralEstimate {
        h: min.x,
        stderr,
        bandwidth: m,
        r_squared: None,
        fit: None,
        warnings,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn contrast_of(x: &[f64]) -> Contrast {
        let n = x.len();
        let pgram = fft::periodogram(x).unwrap();
        let mut c = Contrast {
            w: Vec::new(),
            ln_lambda: Vec::new(),
            abscissa: Vec::new(),
            mean_ln_lambda: 0.0,
        };
        for (j, p) in pgram.iter().enumerate() {
            let lambda = fft::fourier_frequency(j + 1, n);
            c.w.push(p / (2.0 * (0.5 * lambda).sin().powi(2)));
            c.ln_lambda.push(lambda.ln());
            c.abscissa.push(FgnCorrection::abscissa(lambda));
        }
        c.mean_ln_lambda = c.ln_lambda.iter().sum::<f64>() / c.ln_lambda.len() as f64;
        c
    }

    #[test]
    fn newton_path_agrees_with_brent_minimum() {
        for (h, seed) in [(0.1, 1), (0.35, 2), (0.6, 3), (0.95, 4)] {
            let x = lrdbench_numerics::fgn::fgn(h, 2048, seed).unwrap();
            let c = contrast_of(&x);
            let (newton, steps, info) = c.newton(local_start(&c), 1e-9).unwrap().unwrap();
            let direct = 1.0 / c.inverse_information(newton).unwrap();
            // The information from the last Newton pass matches the direct one; they differ by
            // the H-steps of their difference quotients (1e-4 vs 1e-5): ~1e-6 relative at 0.1.
            assert!(
                (info / direct - 1.0).abs() < 1e-4,
                "H={h}: {info} vs {direct}"
            );
            let brent = brent_min(|h| c.value(h), H_RANGE.0, H_RANGE.1, 1e-9).unwrap();
            // Both minimise the same contrast: they agree to the tolerances, far below se ≈ 0.01.
            assert!(
                (newton - brent.x).abs() < 1e-6,
                "H={h}: {newton} vs {}",
                brent.x
            );
            assert!(steps <= 8, "H={h}: {steps} Newton steps");
        }
    }

    #[test]
    fn analytic_derivative_matches_difference_of_contrast() {
        let x = lrdbench_numerics::fgn::fgn(0.7, 1024, 9).unwrap();
        let c = contrast_of(&x);
        for h in [0.2, 0.5, 0.8] {
            let (g, curv, _) = c.derivatives(h).unwrap();
            let e = 1e-4;
            let num = (c.value(h + e).unwrap() - c.value(h - e).unwrap()) / (2.0 * e);
            let num2 = (c.value(h + e).unwrap() - 2.0 * c.value(h).unwrap()
                + c.value(h - e).unwrap())
                / (e * e);
            // Central differences with step 1e-4: truncation ~1e-8·L‴, rounding ~1e-16/e² ≈ 1e-8.
            assert!(
                (g - num).abs() < 1e-6 * (1.0 + g.abs()),
                "H={h}: {g} vs {num}"
            );
            assert!(
                (curv - num2).abs() < 1e-3 * (1.0 + curv.abs()),
                "H={h}: {curv} vs {num2}"
            );
        }
    }
}
