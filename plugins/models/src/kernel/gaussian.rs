//! Fractional Gaussian noise and fractional Brownian motion, exact, by Davies–Harte.

use lrdbench_numerics::fgn::{autocovariance_row, embedding_bytes, CirculantEmbedding};
use lrdbench_plugin_api::PluginError;

use super::{check_hurst, check_positive};
use crate::cache::{PlanKey, Plans};

/// Parameters of fGn (and of fBm, its cumulative sum).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FgnConfig {
    /// Hurst exponent, in (0, 1).
    pub h: f64,
    /// Standard deviation of each point.
    pub sigma: f64,
}

/// The cached plan of unit-variance fGn with Hurst exponent `h` and length `n`.
pub(crate) fn fgn_plan(
    h: f64,
    n: usize,
    plans: &Plans,
) -> Result<std::sync::Arc<CirculantEmbedding>, PluginError> {
    check_hurst(h)?;
    if n == 0 {
        return Err(PluginError::invalid_input(
            "length n = 0: must be at least 1",
        ));
    }
    crate::memory::check(n, embedding_bytes(n))?;
    plans.get_or_build(PlanKey::new("fgn", &[h], n), || {
        CirculantEmbedding::new(&autocovariance_row(h, n)?)
    })
}

/// `n` points of fGn: stationary, mean 0, variance σ², autocovariance σ²γ_H(k).
///
/// # Errors
///
/// `parameter` for H outside (0, 1) or σ ≤ 0; `invalid_input` for n = 0 or a length the
/// machine cannot hold.
pub fn fgn(cfg: &FgnConfig, n: usize, seed: u64, plans: &Plans) -> Result<Vec<f64>, PluginError> {
    check_positive("sigma", cfg.sigma)?;
    let plan = fgn_plan(cfg.h, n, plans)?;
    let mut x = plan.sample(seed);
    if cfg.sigma != 1.0 {
        x.iter_mut().for_each(|v| *v *= cfg.sigma);
    }
    Ok(x)
}

/// `n` points of fBm sampled at t = 0, 1, …, n−1: B(0) = 0 and B(t) the sum of the first t
/// fGn points (drawn from the same seed as [`fgn`] of length n − 1).
///
/// # Errors
///
/// As [`fgn`].
pub fn fbm(cfg: &FgnConfig, n: usize, seed: u64, plans: &Plans) -> Result<Vec<f64>, PluginError> {
    check_hurst(cfg.h)?;
    check_positive("sigma", cfg.sigma)?;
    if n == 0 {
        return Err(PluginError::invalid_input(
            "length n = 0: must be at least 1",
        ));
    }
    if n == 1 {
        return Ok(vec![0.0]);
    }
    let increments = fgn(cfg, n - 1, seed, plans)?;
    let mut out = Vec::with_capacity(n);
    let mut acc = 0.0;
    out.push(0.0);
    for dx in increments {
        acc += dx;
        out.push(acc);
    }
    Ok(out)
}
