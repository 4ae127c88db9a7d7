//! The multifractal random walk of Bacry, Delour and Muzy (2001): Gaussian noise modulated by
//! a log-correlated Gaussian field, optionally fractionally integrated to a Hurst exponent H.
//!
//! # Formula
//!
//! ```text
//! Cov(ω_s, ω_t) = λ² ln(L / (|s − t| + 1))  for |s − t| + 1 < L, else 0   (integral scale L)
//! E ω_t = −λ² ln L                            (so E e^(2ω) = 1)
//! δX_t = σ ε_t e^(ω_t),  ε white N(0, 1) independent of ω                 (H = ½)
//! δX^H = (1 − B)^(−(H − ½)) δX / √(Γ(2 − 2H) / Γ(3/2 − H)²)              (H ≠ ½)
//! ζ(q) = (H + λ²) q − λ² q² / 2,   E|X(t + τ) − X(t)|^q ∝ τ^ζ(q)  for τ < L
//! ```
//!
//! ω is drawn exactly by circulant embedding of its covariance. For H = ½ the construction is
//! the exact discrete MRW. For H ≠ ½ the fractional integration (Abry, Chainais, Coutin and
//! Pipiras 2009) is a causal filter run over n points of burn-in before the n kept, so the
//! far past beyond 2n points is missing: a fraction of order n^(2H−2) of the variance.

use lrdbench_numerics::fgn::{embedding_bytes, try_vec, CirculantEmbedding};
use lrdbench_numerics::rng::{exp, NormalStream};
use lrdbench_plugin_api::PluginError;
use realfft::num_complex::Complex;
use realfft::RealFftPlanner;

use super::{check_hurst, check_positive};
use crate::cache::{PlanKey, Plans};
use lrdbench_numerics::special::ln_gamma;

/// Which series [`mrw`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MrwOutput {
    /// The stationary increments δX (noise-like, as fGn is to fBm).
    Increments,
    /// The walk X, starting at X(0) = 0.
    Walk,
}

/// Parameters of the MRW.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MrwConfig {
    /// Hurst exponent H ∈ (0, 1): ζ(2) = 2H.
    pub h: f64,
    /// Intermittency λ² ≥ 0 (0 gives fGn-like Gaussian noise).
    pub lambda2: f64,
    /// Integral scale L ≥ 1, in samples: the correlation length of ω.
    pub integral_scale: f64,
    /// Standard deviation of the increments.
    pub sigma: f64,
    /// Increments or walk.
    pub output: MrwOutput,
}

/// The scaling exponent ζ(q) = (H + λ²) q − λ² q² / 2 of the MRW's moments.
pub fn mrw_zeta(h: f64, lambda2: f64, q: f64) -> f64 {
    (h + lambda2) * q - lambda2 * q * q / 2.0
}

/// `n` points of the MRW (increments or walk).
///
/// # Errors
///
/// `parameter` for H outside (0, 1), λ² < 0, L < 1 or σ ≤ 0; `invalid_input` for n = 0 or a
/// length the machine cannot hold.
pub fn mrw(cfg: &MrwConfig, n: usize, seed: u64, plans: &Plans) -> Result<Vec<f64>, PluginError> {
    check_hurst(cfg.h)?;
    check_positive("sigma", cfg.sigma)?;
    if !(cfg.lambda2 >= 0.0 && cfg.lambda2.is_finite()) {
        return Err(PluginError::parameter(format!(
            "lambda2 = {} is out of range: must be at least 0",
            cfg.lambda2
        )));
    }
    if !(cfg.integral_scale >= 1.0 && cfg.integral_scale.is_finite()) {
        return Err(PluginError::parameter(format!(
            "integral_scale = {} is out of range: must be at least 1",
            cfg.integral_scale
        )));
    }
    if n == 0 {
        return Err(PluginError::invalid_input(
            "length n = 0: must be at least 1",
        ));
    }
    let integrate = cfg.h != 0.5;
    let len = if integrate { n.saturating_mul(2) } else { n };
    // The ω plan, the increments and (for H ≠ ½) a real FFT of twice the length.
    crate::memory::check(n, embedding_bytes(len) + (len as u128) * 8 * 6)?;

    let mut inc: Vec<f64> = try_vec(len, "the MRW increments")?;
    NormalStream::with_stream(seed, 1).fill_normal(&mut inc);
    let var_omega = cfg.lambda2 * cfg.integral_scale.ln();
    if var_omega > 0.0 {
        let plan_len = len.max(2);
        let (lambda2, scale) = (cfg.lambda2, cfg.integral_scale);
        let plan = plans.get_or_build(PlanKey::new("mrw", &[lambda2, scale], plan_len), || {
            let mut acvf: Vec<f64> = try_vec(plan_len + 1, "the MRW log-covariance")?;
            for (k, c) in acvf.iter_mut().enumerate() {
                let r = (k as f64) + 1.0;
                *c = if r < scale {
                    lambda2 * (scale / r).ln()
                } else {
                    0.0
                };
            }
            CirculantEmbedding::new(&acvf)
        })?;
        let omega = plan.sample(seed);
        for (x, w) in inc.iter_mut().zip(&omega) {
            *x *= exp(w - var_omega);
        }
    }
    if integrate {
        inc = fractional_integration(&inc, cfg.h - 0.5)?;
        inc.drain(..n);
    }
    if cfg.sigma != 1.0 {
        inc.iter_mut().for_each(|v| *v *= cfg.sigma);
    }
    Ok(match cfg.output {
        MrwOutput::Increments => inc,
        MrwOutput::Walk => {
            let mut acc = 0.0;
            inc.iter()
                .map(|v| {
                    let x = acc;
                    acc += v;
                    x
                })
                .collect()
        }
    })
}

/// (1 − B)^(−d) applied causally to `x` (zero before the start) by FFT convolution, scaled by
/// 1/√(Σψ²) = 1/√(Γ(1 − 2d)/Γ(1 − d)²) so that unit-variance white input gives unit variance.
fn fractional_integration(x: &[f64], d: f64) -> Result<Vec<f64>, PluginError> {
    let n = x.len();
    let m = 2 * n;
    let mut planner = RealFftPlanner::<f64>::new();
    let r2c = planner.plan_fft_forward(m);
    let c2r = planner.plan_fft_inverse(m);
    let mut a: Vec<f64> = try_vec(m, "the fractional-integration buffer")?;
    a[..n].copy_from_slice(x);
    let mut b: Vec<f64> = try_vec(m, "the fractional-integration kernel")?;
    b[0] = 1.0;
    for j in 1..n {
        b[j] = b[j - 1] * ((j - 1) as f64 + d) / j as f64;
    }
    let mut fa: Vec<Complex<f64>> = try_vec(n + 1, "the fractional-integration spectrum")?;
    let mut fb: Vec<Complex<f64>> = try_vec(n + 1, "the fractional-integration spectrum")?;
    let fft_err = |e: realfft::FftError| PluginError::internal(format!("fft: {e}"));
    r2c.process(&mut a, &mut fa).map_err(fft_err)?;
    r2c.process(&mut b, &mut fb).map_err(fft_err)?;
    let norm = (ln_gamma(1.0 - 2.0 * d) - 2.0 * ln_gamma(1.0 - d))
        .exp()
        .sqrt();
    let scale = 1.0 / (m as f64 * norm);
    for (p, q) in fa.iter_mut().zip(&fb) {
        *p = *p * *q * scale;
    }
    // The product of two real spectra has real edge bins up to rounding; clear it.
    fa[0].im = 0.0;
    fa[n].im = 0.0;
    c2r.process(&mut fa, &mut a).map_err(fft_err)?;
    a.truncate(n);
    Ok(a)
}

#[cfg(test)]
mod tests;
