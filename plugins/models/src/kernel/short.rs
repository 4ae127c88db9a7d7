//! Short-memory nulls for false-positive studies: Gaussian white noise and a stationary AR(1).

use lrdbench_numerics::rng::NormalStream;
use lrdbench_plugin_api::PluginError;

use super::{check_length, check_positive};

/// `n` independent N(0, σ²) points (stream 0 of the seed).
///
/// # Errors
///
/// `parameter` for σ ≤ 0; `invalid_input` for n = 0 or a length the machine cannot hold.
pub fn white_noise(sigma: f64, n: usize, seed: u64) -> Result<Vec<f64>, PluginError> {
    check_positive("sigma", sigma)?;
    check_length(n, 1)?;
    let mut x = vec![0.0; n];
    NormalStream::new(seed).fill_normal(&mut x);
    x.iter_mut().for_each(|v| *v *= sigma);
    Ok(x)
}

/// `n` points of the stationary AR(1) x_t = φ x_{t−1} + ε_t, ε ~ N(0, σ²), started exactly in
/// the stationary law x_0 ~ N(0, σ²/(1 − φ²)), so no burn-in is needed.
///
/// # Errors
///
/// `parameter` for |φ| ≥ 1 or σ ≤ 0; `invalid_input` for n = 0 or too long.
pub fn ar1(phi: f64, sigma: f64, n: usize, seed: u64) -> Result<Vec<f64>, PluginError> {
    // Written to also reject NaN.
    if phi.is_nan() || phi.abs() >= 1.0 {
        return Err(PluginError::parameter(format!(
            "phi = {phi} is out of range: must be in (-1, 1), exclusive"
        )));
    }
    check_positive("sigma", sigma)?;
    check_length(n, 1)?;
    let mut x = vec![0.0; n];
    NormalStream::new(seed).fill_normal(&mut x);
    x[0] *= sigma / (1.0 - phi * phi).sqrt();
    for t in 1..n {
        x[t] = phi * x[t - 1] + sigma * x[t];
    }
    Ok(x)
}
