//! The fractional Ornstein–Uhlenbeck process dX = −θ X dt + σ dB_H (Cheridito, Kawaguchi and
//! Maejima 2003), by the exponential Euler scheme on exact fGn increments.
//!
//! # Formula
//!
//! ```text
//! X_{t+1} = e^(−θΔ) X_t + σ Δ^H ξ_t,   ξ unit-variance fGn(H),   X_{−b} = 0
//! ```
//!
//! The first b = ⌈36 / (θΔ)⌉ steps are burn-in (capped at 10⁶), after which the start is
//! forgotten to e^(−36) ≈ 2e-16. The autocovariance decays as k^(2H−2) at large lags
//! (Cheridito et al., Theorem 2.3): long-range dependent with the same H for H > ½.

use lrdbench_numerics::fgn::embedding_bytes;
use lrdbench_plugin_api::PluginError;

use super::check_positive;
use super::gaussian::fgn_plan;
use crate::cache::Plans;

/// Longest burn-in; a slower mean reversion is rejected.
pub const MAX_BURN_IN: usize = 1_000_000;

/// Parameters of the fOU process.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FouConfig {
    /// Hurst exponent of the driving fBm, in (0, 1).
    pub h: f64,
    /// Mean-reversion rate θ > 0.
    pub theta: f64,
    /// Volatility σ > 0.
    pub sigma: f64,
    /// Time step Δ > 0.
    pub dt: f64,
}

/// `n` points of the fOU process.
///
/// # Errors
///
/// `parameter` for H outside (0, 1), non-positive θ, σ or Δ, or a mean reversion so slow that
/// the burn-in exceeds [`MAX_BURN_IN`]; `invalid_input` for n = 0 or too long.
pub fn fou(cfg: &FouConfig, n: usize, seed: u64, plans: &Plans) -> Result<Vec<f64>, PluginError> {
    check_positive("theta", cfg.theta)?;
    check_positive("sigma", cfg.sigma)?;
    check_positive("dt", cfg.dt)?;
    if n == 0 {
        return Err(PluginError::invalid_input(
            "length n = 0: must be at least 1",
        ));
    }
    let rate = cfg.theta * cfg.dt;
    let burn = (36.0 / rate).ceil();
    if burn > MAX_BURN_IN as f64 {
        return Err(PluginError::parameter(format!(
            "theta * dt = {rate} is too small: the burn-in would exceed {MAX_BURN_IN} steps \
             (need theta * dt >= {})",
            36.0 / MAX_BURN_IN as f64
        )));
    }
    let total = n + burn as usize;
    crate::memory::check(n, embedding_bytes(total))?;
    let plan = fgn_plan(cfg.h, total, plans)?;
    let mut x = plan.sample(seed);
    let a = (-rate).exp();
    let s = cfg.sigma * cfg.dt.powf(cfg.h);
    let mut prev = 0.0;
    for v in x.iter_mut() {
        prev = a * prev + s * *v;
        *v = prev;
    }
    Ok(x.split_off(burn as usize))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn fou_white_limit_matches_ar1_variance() {
        // H = ½ makes ξ white: X is an AR(1) with φ = e^(−θΔ), variance σ²Δ/(1 − φ²). Over
        // 200 series of 2000 points at φ = 0.905 the variance estimate has a standard error
        // of about 1%; 5% is 5 of those.
        let plans = Plans::new();
        let cfg = FouConfig {
            h: 0.5,
            theta: 0.1,
            sigma: 1.0,
            dt: 1.0,
        };
        let phi = (-0.1f64).exp();
        let want = 1.0 / (1.0 - phi * phi);
        let mut acc = 0.0;
        for s in 0..200 {
            let x = fou(&cfg, 2000, s, &plans).unwrap();
            acc += x.iter().map(|v| v * v).sum::<f64>() / 2000.0;
        }
        let got = acc / 200.0;
        assert!((got / want - 1.0).abs() < 0.05, "{got} vs {want}");
    }

    #[test]
    fn fou_rejects_bad_parameters() {
        let plans = Plans::new();
        let bad = FouConfig {
            h: 0.7,
            theta: 0.0,
            sigma: 1.0,
            dt: 1.0,
        };
        assert!(fou(&bad, 10, 1, &plans)
            .unwrap_err()
            .message
            .contains("theta"));
        let slow = FouConfig {
            h: 0.7,
            theta: 1e-9,
            sigma: 1.0,
            dt: 1.0,
        };
        assert!(fou(&slow, 10, 1, &plans)
            .unwrap_err()
            .message
            .contains("too small"));
        let h = FouConfig {
            h: 1.0,
            theta: 0.1,
            sigma: 1.0,
            dt: 1.0,
        };
        assert!(fou(&h, 10, 1, &plans)
            .unwrap_err()
            .message
            .contains("(0, 1)"));
    }
}
