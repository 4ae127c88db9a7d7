//! Real FFTs with cached plans and reused buffers, and the periodogram at Fourier frequencies.
//!
//! Plans are made once per length and thread (a thread-local [`RealFftPlanner`] caches them),
//! and the input, spectrum and scratch buffers of the last length are kept per thread, so a
//! repeated call of the same length allocates only its output.
//!
//! # Formula
//!
//! ```text
//! λ_j  = 2π j / n                                    (Fourier frequencies, j = 1..m)
//! m    = ⌊(n − 1) / 2⌋                               (strictly inside (0, π): no 0, no Nyquist)
//! I(λ) = |Σ_{t=0}^{n−1} (x_t − x̄) e^{−i t λ}|² / (2π n)
//! ```
//!
//! With this normalisation E I(λ_j) ≈ f(λ_j) for the spectral density f of
//! [`crate::spectral_density`], whose integral over (−π, π] is the variance. Removing a
//! constant does not change I at j ≥ 1; shifting by x_0 keeps the transform well conditioned
//! for series with a large offset, as removing the mean would, without a pass to compute it.

use std::cell::RefCell;
use std::sync::Arc;

use lrdbench_plugin_api::PluginError;
/// The complex type of [`with_spectrum`]'s spectrum.
pub use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

struct Workspace {
    planner: RealFftPlanner<f64>,
    len: usize,
    plan: Option<Arc<dyn RealToComplex<f64>>>,
    input: Vec<f64>,
    spectrum: Vec<Complex<f64>>,
    scratch: Vec<Complex<f64>>,
}

impl Workspace {
    fn prepare(&mut self, n: usize) -> Arc<dyn RealToComplex<f64>> {
        match &self.plan {
            Some(plan) if self.len == n => Arc::clone(plan),
            _ => {
                let plan = self.planner.plan_fft_forward(n);
                self.input = plan.make_input_vec();
                self.spectrum = plan.make_output_vec();
                self.scratch = plan.make_scratch_vec();
                self.len = n;
                self.plan = Some(Arc::clone(&plan));
                plan
            }
        }
    }
}

thread_local! {
    static WORKSPACE: RefCell<Workspace> = RefCell::new(Workspace {
        planner: RealFftPlanner::new(),
        len: 0,
        plan: None,
        input: Vec::new(),
        spectrum: Vec::new(),
        scratch: Vec::new(),
    });
}

/// The number of Fourier frequencies strictly inside (0, π) for a series of length `n`.
pub fn fourier_count(n: usize) -> usize {
    n.saturating_sub(1) / 2
}

/// The Fourier frequency λ_j = 2πj/n.
pub fn fourier_frequency(j: usize, n: usize) -> f64 {
    2.0 * std::f64::consts::PI * j as f64 / n as f64
}

/// Runs `f` on the spectrum X_k = Σ_t (x_t − x̄) e^{−2πi t k / n}, k = 0..=n/2, computed with a
/// cached real-FFT plan in this thread's workspace.
///
/// # Errors
///
/// `insufficient_data` for fewer than 2 points; `internal` if the FFT library rejects its
/// buffers (which the cached lengths rule out).
pub fn with_spectrum<T>(x: &[f64], f: impl FnOnce(&[Complex<f64>]) -> T) -> Result<T, PluginError> {
    let n = x.len();
    if n < 2 {
        return Err(PluginError::insufficient_data(format!(
            "an fft needs at least 2 points, got {n}"
        )));
    }
    WORKSPACE.with(|ws| {
        let mut ws = ws.borrow_mut();
        let plan = ws.prepare(n);
        let Workspace {
            input,
            spectrum,
            scratch,
            ..
        } = &mut *ws;
        // A constant shift changes only X_0, so the series is shifted by its first value in
        // the copy the transform needs anyway (no separate pass for the mean): the offset left
        // is x̄ − x_0, of the order of the series' spread, which keeps the transform as well
        // conditioned as centring does. X_0 of the centred series is 0 by definition.
        let origin = x[0];
        for (dst, src) in input.iter_mut().zip(x) {
            *dst = src - origin;
        }
        plan.process_with_scratch(input, spectrum, scratch)
            .map_err(|e| PluginError::internal(format!("real fft failed: {e}")))?;
        spectrum[0] = Complex::new(0.0, 0.0);
        Ok(f(spectrum))
    })
}

/// The periodogram I(λ_j), j = 1..m (see the module formula), written into `out`.
///
/// # Errors
///
/// `insufficient_data` for fewer than 3 points (no Fourier frequency inside (0, π)).
pub fn periodogram_into(x: &[f64], out: &mut Vec<f64>) -> Result<(), PluginError> {
    periodogram_head_into(x, usize::MAX, out)
}

/// The periodogram at the lowest `count` Fourier frequencies only, I(λ_j) for
/// j = 1..min(count, m), written into `out`: the semiparametric estimators use a low band, so
/// the ordinates above it are never squared, scaled or stored.
///
/// # Errors
///
/// `insufficient_data` for fewer than 3 points (no Fourier frequency inside (0, π)).
pub fn periodogram_head_into(
    x: &[f64],
    count: usize,
    out: &mut Vec<f64>,
) -> Result<(), PluginError> {
    let n = x.len();
    let m = fourier_count(n);
    if m == 0 {
        return Err(PluginError::insufficient_data(format!(
            "a periodogram needs at least 3 points, got {n}"
        )));
    }
    let k = count.min(m);
    let scale = 1.0 / (2.0 * std::f64::consts::PI * n as f64);
    with_spectrum(x, |spec| {
        out.clear();
        out.extend(spec[1..=k].iter().map(|c| c.norm_sqr() * scale));
    })
}

/// The periodogram at the lowest `count` Fourier frequencies, I(λ_j) for j = 1..min(count, m).
///
/// # Errors
///
/// `insufficient_data` for fewer than 3 points.
pub fn periodogram_head(x: &[f64], count: usize) -> Result<Vec<f64>, PluginError> {
    let mut out = Vec::with_capacity(count.min(fourier_count(x.len())));
    periodogram_head_into(x, count, &mut out)?;
    Ok(out)
}

/// The periodogram I(λ_j), j = 1..m, of `x` (see the module formula).
///
/// # Complexity
///
/// O(n log n) time for any n (mixed radix, Bluestein for large prime factors); O(n) memory,
/// reused across calls of the same length on one thread.
///
/// # Errors
///
/// `insufficient_data` for fewer than 3 points.
///
/// # Examples
///
/// ```
/// use lrdbench_numerics::fft::periodogram;
/// // A cosine at Fourier frequency j = 2 of n = 8 puts all its power there:
/// // |Σ cos(λ₂ t) e^{−iλ₂ t}|² = (n/2)² = 16, and I = 16 / (2π·8).
/// let x: Vec<f64> = (0..8).map(|t| (std::f64::consts::PI * t as f64 / 2.0).cos()).collect();
/// let p = periodogram(&x).unwrap();
/// assert_eq!(p.len(), 3);
/// assert!((p[1] - 16.0 / (16.0 * std::f64::consts::PI)).abs() < 1e-12);
/// assert!(p[0].abs() < 1e-12 && p[2].abs() < 1e-12);
/// ```
pub fn periodogram(x: &[f64]) -> Result<Vec<f64>, PluginError> {
    let mut out = Vec::with_capacity(fourier_count(x.len()));
    periodogram_into(x, &mut out)?;
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random series (SplitMix64), so the test needs no RNG crate.
    fn noise(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = s;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                z ^= z >> 31;
                (z >> 11) as f64 / (1u64 << 53) as f64 - 0.5 + 3.0
            })
            .collect()
    }

    fn naive(x: &[f64]) -> Vec<f64> {
        let n = x.len();
        let mean = x.iter().sum::<f64>() / n as f64;
        (1..=fourier_count(n))
            .map(|j| {
                let (mut re, mut im) = (0.0, 0.0);
                for (t, v) in x.iter().enumerate() {
                    // Reduce j·t mod n exactly in integers so the angle stays accurate.
                    let a = fourier_frequency((j * t) % n, n);
                    re += (v - mean) * a.cos();
                    im -= (v - mean) * a.sin();
                }
                (re * re + im * im) / (2.0 * std::f64::consts::PI * n as f64)
            })
            .collect()
    }

    #[test]
    fn periodogram_matches_naive_dft_to_1e9_relative() {
        // Even, odd, prime (Bluestein path) and power-of-two lengths; the same thread reuses
        // and replaces the cached plan between lengths, which is exercised too.
        for (n, seed) in [(256, 1), (255, 2), (509, 3), (1000, 4), (256, 5)] {
            let x = noise(n, seed);
            let fast = periodogram(&x).unwrap();
            let slow = naive(&x);
            let scale = slow.iter().cloned().fold(0.0, f64::max);
            for (a, b) in fast.iter().zip(&slow) {
                // Relative to the largest ordinate: a tiny ordinate's relative error is set
                // by cancellation in both methods, not by the FFT.
                assert!((a - b).abs() <= 1e-9 * scale, "n={n}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn large_offset_leaves_periodogram_unchanged() {
        // The transform shifts by x_0 instead of the mean: on a series riding on 1e6 the
        // ordinates still match the centred naive DFT. The data themselves are rounded to
        // ulp(1e6) ≈ 1e-10 against a spread of 0.3, so 1e-8 of the largest ordinate is the bound.
        let x: Vec<f64> = noise(300, 7).iter().map(|v| v + 1e6).collect();
        let fast = periodogram(&x).unwrap();
        let slow = naive(&x);
        let scale = slow.iter().cloned().fold(0.0, f64::max);
        for (a, b) in fast.iter().zip(&slow) {
            assert!((a - b).abs() <= 1e-8 * scale, "{a} vs {b}");
        }
        let head = periodogram_head(&x, 10).unwrap();
        assert_eq!(head[..], fast[..10]);
        assert_eq!(periodogram_head(&x, 1000).unwrap(), fast);
        // X_0 of the centred series is zero.
        assert_eq!(with_spectrum(&x, |s| s[0]).unwrap(), Complex::new(0.0, 0.0));
    }

    #[test]
    fn periodogram_of_white_noise_sums_to_parseval() {
        // Parseval: Σ_{k=0}^{n−1} |X_k|² = n Σ (x − x̄)², X_0 = 0 after centring, and for odd n
        // the terms k = 1..m and n − m..n − 1 mirror each other: Σ_{k≠0} |X_k|² = 2·2πn Σ_j I_j.
        let x = noise(1001, 9);
        let n = x.len() as f64;
        let mean = x.iter().sum::<f64>() / n;
        let ss: f64 = x.iter().map(|v| (v - mean).powi(2)).sum();
        let p = periodogram(&x).unwrap();
        let total: f64 = p.iter().sum::<f64>() * 2.0 * 2.0 * std::f64::consts::PI * n;
        assert!((total - n * ss).abs() < 1e-10 * n * ss);
    }

    #[test]
    fn periodogram_rejects_too_short_series() {
        assert!(periodogram(&[1.0, 2.0]).is_err());
        assert!(periodogram(&[]).is_err());
    }
}
