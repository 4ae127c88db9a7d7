//! ARFIMA(p, d, q): the fractionally integrated noise (0, d, 0) exactly, by circulant embedding of
//! its autocovariance, then the MA and AR parts as filters.
//!
//! # Formula
//!
//! ```text
//! φ(B) (1 − B)^d y_t = θ(B) ε_t,   φ(B) = 1 − φ₁B − … − φ_pB^p,   θ(B) = 1 + θ₁B + … + θ_qB^q
//! x = (1 − B)^(−d) ε:  γ(0) = σ² Γ(1 − 2d) / Γ(1 − d)²,   γ(k) = γ(k − 1) (k − 1 + d) / (k − d)
//! u_t = x_t + Σ θ_j x_{t−j};   y_t = Σ φ_i y_{t−i} + u_t
//! ```
//!
//! θ enters with a plus (R's `arima` convention): `ma = [θ₁]` is X_t = ε_t + θ₁ε_{t−1}. R's
//! `fracdiff` writes 1 − θ₁B − …, so its `ma` is −θ; the AR signs agree.
//!
//! The MA filter is exact given q extra points of x. The AR filter starts from zero, so the
//! first points are discarded: the burn-in lasts until the AR impulse response falls below
//! 1e-12 of its peak, which makes the transient invisible in double precision. H = d + ½.

use lrdbench_numerics::fgn::{embedding_bytes, try_vec, CirculantEmbedding};
use lrdbench_plugin_api::PluginError;

use super::check_positive;
use crate::cache::{PlanKey, Plans};
use lrdbench_numerics::special::ln_gamma;

/// Longest AR burn-in accepted; beyond it the AR part is too close to a unit root.
pub const MAX_BURN_IN: usize = 1_000_000;

/// Parameters of ARFIMA(p, d, q).
#[derive(Debug, Clone, PartialEq)]
pub struct ArfimaConfig {
    /// Fractional differencing d, in (−½, ½).
    pub d: f64,
    /// AR coefficients φ₁…φ_p (Box–Jenkins sign: y_t = Σ φ_i y_{t−i} + …).
    pub ar: Vec<f64>,
    /// MA coefficients θ₁…θ_q (u_t = ε_t + Σ θ_j ε_{t−j}).
    pub ma: Vec<f64>,
    /// Innovation variance σ².
    pub sigma2: f64,
}

fn check_d(d: f64) -> Result<(), PluginError> {
    if d > -0.5 && d < 0.5 {
        Ok(())
    } else {
        Err(PluginError::parameter(format!(
            "d = {d} is out of range: must be in (-0.5, 0.5), exclusive"
        )))
    }
}

/// γ(0), …, γ(n) of ARFIMA(0, d, 0) with innovation variance `sigma2`.
///
/// # Errors
///
/// `parameter` for d outside (−½, ½) or σ² ≤ 0; `invalid_input` when it cannot be allocated.
pub fn arfima_acvf(d: f64, sigma2: f64, n: usize) -> Result<Vec<f64>, PluginError> {
    check_d(d)?;
    check_positive("sigma2", sigma2)?;
    let mut g: Vec<f64> = try_vec(n + 1, "the ARFIMA autocovariance")?;
    g[0] = sigma2 * (ln_gamma(1.0 - 2.0 * d) - 2.0 * ln_gamma(1.0 - d)).exp();
    for k in 1..=n {
        let kf = k as f64;
        g[k] = g[k - 1] * (kf - 1.0 + d) / (kf - d);
    }
    Ok(g)
}

/// Checks that φ(z) has no root in the closed unit disc, by the step-down (Schur–Cohn)
/// recursion: the AR part is stationary exactly when every partial autocorrelation it implies
/// is below 1 in magnitude.
fn check_ar_stationary(ar: &[f64]) -> Result<(), PluginError> {
    if let Some(v) = ar.iter().find(|v| !v.is_finite()) {
        return Err(PluginError::parameter(format!(
            "ar coefficient {v} is not finite"
        )));
    }
    let mut a = ar.to_vec();
    while let Some(&kappa) = a.last() {
        if kappa.abs() >= 1.0 {
            return Err(PluginError::parameter(format!(
                "ar = {ar:?} is not stationary: its polynomial has a root on or inside the \
                 unit circle"
            )));
        }
        let p = a.len();
        let scale = 1.0 - kappa * kappa;
        let next: Vec<f64> = (0..p - 1)
            .map(|j| (a[j] + kappa * a[p - 2 - j]) / scale)
            .collect();
        a = next;
    }
    Ok(())
}

/// Steps until the AR impulse response stays below 1e-12 of its peak for p steps.
fn burn_in(ar: &[f64]) -> Result<usize, PluginError> {
    let p = ar.len();
    if p == 0 {
        return Ok(0);
    }
    let mut h = vec![1.0];
    let mut peak: f64 = 1.0;
    let mut quiet = 0;
    for t in 1..=MAX_BURN_IN {
        let v: f64 = ar
            .iter()
            .enumerate()
            .filter(|(i, _)| *i < t)
            .map(|(i, f)| f * h[t - 1 - i])
            .sum();
        peak = peak.max(v.abs());
        h.push(v);
        if v.abs() < 1e-12 * peak {
            quiet += 1;
            if quiet >= p {
                return Ok(t);
            }
        } else {
            quiet = 0;
        }
    }
    Err(PluginError::parameter(format!(
        "ar = {ar:?} is too close to a unit root: its transient lasts more than {MAX_BURN_IN} steps"
    )))
}

/// `n` points of ARFIMA(p, d, q).
///
/// # Errors
///
/// `parameter` for d outside (−½, ½), σ² ≤ 0, a non-stationary AR part or non-finite MA
/// coefficients; `invalid_input` for n = 0 or a length the machine cannot hold.
pub fn arfima(
    cfg: &ArfimaConfig,
    n: usize,
    seed: u64,
    plans: &Plans,
) -> Result<Vec<f64>, PluginError> {
    check_d(cfg.d)?;
    check_positive("sigma2", cfg.sigma2)?;
    check_ar_stationary(&cfg.ar)?;
    if let Some(v) = cfg.ma.iter().find(|v| !v.is_finite()) {
        return Err(PluginError::parameter(format!(
            "ma coefficient {v} is not finite"
        )));
    }
    if n == 0 {
        return Err(PluginError::invalid_input(
            "length n = 0: must be at least 1",
        ));
    }
    let burn = burn_in(&cfg.ar)?;
    let q = cfg.ma.len();
    let total = n
        .checked_add(burn + q)
        .ok_or_else(|| PluginError::invalid_input(format!("length {n} is too large")))?;
    crate::memory::check(n, embedding_bytes(total))?;
    // A plan of length 1 has no lag to embed; draw length 2 and keep the first point.
    let plan_len = total.max(2);
    let plan = plans.get_or_build(
        PlanKey::new("arfima", &[cfg.d, cfg.sigma2], plan_len),
        || CirculantEmbedding::new(&arfima_acvf(cfg.d, cfg.sigma2, plan_len)?),
    )?;
    let x = plan.sample(seed);
    if q == 0 && cfg.ar.is_empty() {
        let mut x = x;
        x.truncate(n);
        return Ok(x);
    }
    // MA: u_t for t = q..total, from x_{t−q..t}.
    let mut y: Vec<f64> = try_vec(total - q, "the ARFIMA output")?;
    for (t, u) in y.iter_mut().enumerate() {
        let i = t + q;
        *u = x[i]
            + cfg
                .ma
                .iter()
                .enumerate()
                .map(|(j, th)| th * x[i - 1 - j])
                .sum::<f64>();
    }
    drop(x);
    // AR, in place: y_t += Σ φ_i y_{t−i}, from a zero past.
    for t in 0..y.len() {
        let mut acc = 0.0;
        for (i, phi) in cfg.ar.iter().enumerate() {
            if t > i {
                acc += phi * y[t - 1 - i];
            }
        }
        y[t] += acc;
    }
    Ok(y.split_off(burn))
}

#[cfg(test)]
mod tests;
