//! Fractional Gaussian noise: its autocovariance, accurate at every lag, and exact generation by
//! Davies–Harte circulant embedding, with planned FFTs reused across replicates.
//!
//! # Formula
//!
//! ```text
//! γ(k) = ½ (|k+1|^2H − 2|k|^2H + |k−1|^2H)                 unit-variance fGn, lag k
//!      = k^2H Σ_{j≥1} C(2H, 2j) k^(−2j)                     (k ≥ 2, the form used here)
//! c    = (γ(0), γ(1), …, γ(n−1), γ(n), γ(n−1), …, γ(1))    circulant row, length M = 2n
//! λ_k  = Σ_j c_j e^(−2πijk/M)                               its eigenvalues (real, symmetric)
//! X    = FFT(√(λ/M) ⊙ W)                                    W complex white noise
//! ```
//!
//! The real and imaginary parts of `X[0..n]` are two independent exact fGn series (their
//! cross-covariance is a sine sum over the symmetric λ, which cancels). A single series uses the
//! Hermitian half of `W` and a complex-to-real FFT of length M, at the same cost per series.
//!
//! # Accuracy
//!
//! The textbook γ(k) subtracts numbers of size k^2H to get one of size k^(2H−2): at k = 2^20 it
//! loses about 1e-4 relative. The binomial series has terms of one sign (all C(2H, 2j) share
//! the sign of 2H − 1 for 0 < 2H < 2), so it sums to a few ulps; γ(1) = 2^(2H−1) − 1 is
//! evaluated as `expm1`, exact to rounding also near H = ½.
//!
//! The standard embedding (with γ(n), as above) is non-negative for fGn at every H and n
//! tested (tests cover H up to 0.99 and n up to 2^22). Every eigenvalue is still checked: a
//! negative one beyond rounding switches to the exact Durbin–Levinson (Hosking) method, and
//! [`CirculantEmbedding::warning`] says so.

use std::sync::{Arc, Mutex, OnceLock};

use lrdbench_plugin_api::PluginError;
use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner};
use rustfft::{Fft, FftPlanner};

use crate::rng::NormalStream;

/// Buffer sets kept for reuse by one plan, per kind (about 48 bytes a point for single series,
/// 80 for pairs): reuse avoids allocating and faulting in fresh pages on every sample; more
/// concurrent callers allocate their own. The buffers are fully overwritten before use, so
/// which set a call gets never changes its values.
pub const MAX_POOLED: usize = 2;

/// Largest length for the O(n²) exact fallback; beyond it a failed embedding is an error, since
/// one series would take minutes.
pub const MAX_FALLBACK_LENGTH: usize = 1 << 17;

/// The autocovariance γ(k) of unit-variance fGn with Hurst exponent `h` (0 < h < 1).
///
/// Accurate to a few ulps relative at every lag (see the module documentation). `h` outside
/// (0, 1) gives NaN; validate first.
pub fn autocovariance(h: f64, k: usize) -> f64 {
    if !(h > 0.0 && h < 1.0) {
        return f64::NAN;
    }
    let a = 2.0 * h;
    match k {
        0 => 1.0,
        // ½(2^2H − 2) = 2^(2H−1) − 1 without cancellation near H = ½.
        1 => ((a - 1.0) * std::f64::consts::LN_2).exp_m1(),
        _ => {
            let kf = k as f64;
            let x2 = 1.0 / (kf * kf);
            // c = C(a, m), advanced two orders per step; the terms C(a, 2j)·x^(2j) share one
            // sign and shrink at least as fast as x² ≤ ¼, so stopping when a term no longer
            // changes the sum leaves a tail below one ulp.
            let mut c = a * (a - 1.0) / 2.0;
            let mut xp = x2;
            let mut sum = 0.0f64;
            let mut m = 2.0;
            for _ in 0..60 {
                let term = c * xp;
                let next = sum + term;
                if next == sum {
                    break;
                }
                sum = next;
                c *= (a - m) * (a - m - 1.0) / ((m + 1.0) * (m + 2.0));
                m += 2.0;
                xp *= x2;
            }
            kf.powf(a) * sum
        }
    }
}

/// γ(0), …, γ(n) of unit-variance fGn (n + 1 values), allocated fallibly.
///
/// # Errors
///
/// `parameter` for `h` outside (0, 1); `invalid_input` when the row cannot be allocated.
pub fn autocovariance_row(h: f64, n: usize) -> Result<Vec<f64>, PluginError> {
    check_hurst(h)?;
    let len = n
        .checked_add(1)
        .ok_or_else(|| PluginError::invalid_input(format!("length {n} is too large")))?;
    let mut row = try_vec(len, "the autocovariance row")?;
    for (k, g) in row.iter_mut().enumerate() {
        *g = autocovariance(h, k);
    }
    Ok(row)
}

fn check_hurst(h: f64) -> Result<(), PluginError> {
    if h > 0.0 && h < 1.0 {
        Ok(())
    } else {
        Err(PluginError::parameter(format!(
            "H = {h} is out of range: must be in (0, 1), exclusive"
        )))
    }
}

/// A zeroed vector of `len` elements, or an `invalid_input` error naming `what` and the size
/// when the allocator refuses.
pub fn try_vec<T: Clone + Default>(len: usize, what: &str) -> Result<Vec<T>, PluginError> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| {
        PluginError::invalid_input(format!(
            "cannot allocate {} MiB for {what}",
            (len as u128 * std::mem::size_of::<T>() as u128) >> 20
        ))
    })?;
    v.resize(len, T::default());
    Ok(v)
}

/// Bytes that [`CirculantEmbedding::new`] and one sample of length `n` hold at once, for a
/// memory check before anything is allocated.
pub fn embedding_bytes(n: usize) -> u128 {
    // Plan: the row (2n reals), spectrum (n + 1 complex), scale factors (n + 1), the
    // autocovariance (n + 1); one sample: spectrum (n + 1 complex), output (2n reals) and
    // scratch (about n complex). About 12 words per point; twiddles add a little.
    (n as u128 + 1) * 8 * 12 + (1 << 16)
}

/// How a [`CirculantEmbedding`] draws its series.
enum Method {
    /// Circulant embedding: `scale[k]` multiplies the noise at frequency k (0 ≤ k ≤ n).
    Circulant {
        /// √(λ_k / M), k = 0..=n.
        scale: Vec<f64>,
        c2r: Arc<dyn ComplexToReal<f64>>,
        /// Planned on the first paired draw only.
        complex: OnceLock<Arc<dyn Fft<f64>>>,
        /// Reused spectrum, scratch and output buffers (at most [`MAX_POOLED`] sets).
        pool: Mutex<Vec<Buffers>>,
        /// Reused length-M complex buffers of [`CirculantEmbedding::sample_pair`] (at most
        /// [`MAX_POOLED`] sets).
        pair_pool: Mutex<Vec<PairBuffers>>,
    },
    /// Exact Durbin–Levinson recursion (O(n²) per series), when the embedding fails.
    Levinson {
        /// γ(0..n).
        acvf: Vec<f64>,
    },
}

struct PairBuffers {
    data: Vec<Complex<f64>>,
    scratch: Vec<Complex<f64>>,
}

/// Takes a buffer set from `pool`, or makes one with `make` when the pool is empty.
fn take<B>(pool: &Mutex<Vec<B>>, make: impl FnOnce() -> B) -> B {
    pool.lock()
        .ok()
        .and_then(|mut p| p.pop())
        .unwrap_or_else(make)
}

/// Returns a buffer set to `pool`, keeping at most [`MAX_POOLED`].
fn give<B>(pool: &Mutex<Vec<B>>, bufs: B) {
    if let Ok(mut p) = pool.lock() {
        if p.len() < MAX_POOLED {
            p.push(bufs);
        }
    }
}

/// The interleaved re, im of complex values: `Complex<f64>` is `#[repr(C)] { re, im }`.
fn as_f64s(z: &mut [Complex<f64>]) -> &mut [f64] {
    // SAFETY: `Complex<f64>` is `#[repr(C)]` with two `f64` fields and no padding, so a slice
    // of n of them is a valid, aligned slice of 2n `f64`, borrowed for the same lifetime.
    unsafe { std::slice::from_raw_parts_mut(z.as_mut_ptr().cast::<f64>(), 2 * z.len()) }
}

struct Buffers {
    spectrum: Vec<Complex<f64>>,
    scratch: Vec<Complex<f64>>,
    /// The full length-M transform, of which the first n points are the series.
    full: Vec<f64>,
}

/// Exact sampler of a stationary Gaussian series of given autocovariance, by circulant
/// embedding (or the exact fallback). Build once per (autocovariance, n); each sample then
/// costs one FFT. `Send + Sync`: share it across threads.
pub struct CirculantEmbedding {
    n: usize,
    method: Method,
    min_eigenvalue: f64,
    warning: Option<String>,
}

impl std::fmt::Debug for CirculantEmbedding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CirculantEmbedding")
            .field("n", &self.n)
            .field("min_eigenvalue", &self.min_eigenvalue)
            .field("warning", &self.warning)
            .finish()
    }
}

impl CirculantEmbedding {
    /// Plans the embedding of `acvf` = γ(0), …, γ(n) for series of length n = `acvf.len() − 1`.
    ///
    /// # Errors
    ///
    /// `invalid_input` for fewer than two values, non-finite values, or memory that cannot be
    /// allocated; `numerical` when the embedding has negative eigenvalues and n exceeds
    /// [`MAX_FALLBACK_LENGTH`], or the autocovariance is not positive definite.
    pub fn new(acvf: &[f64]) -> Result<Self, PluginError> {
        if acvf.len() < 2 {
            return Err(PluginError::invalid_input(
                "the autocovariance needs lags 0..=n with n >= 1",
            ));
        }
        if let Some(i) = acvf.iter().position(|g| !g.is_finite()) {
            return Err(PluginError::invalid_input(format!(
                "autocovariance at lag {i} is not finite"
            )));
        }
        if acvf[0] <= 0.0 {
            return Err(PluginError::invalid_input(
                "the variance (lag 0 autocovariance) must be positive",
            ));
        }
        let n = acvf.len() - 1;
        let m = n
            .checked_mul(2)
            .ok_or_else(|| PluginError::invalid_input(format!("length {n} is too large")))?;
        let mut planner = RealFftPlanner::<f64>::new();
        let r2c = planner.plan_fft_forward(m);
        let c2r = planner.plan_fft_inverse(m);

        // The standard row: γ(0..=n) then γ(n−1) down to γ(1), computed once and mirrored.
        let mut row: Vec<f64> = try_vec(m, "the circulant row")?;
        row[..=n].copy_from_slice(acvf);
        for j in 1..n {
            row[m - j] = acvf[j];
        }
        let abs_sum: f64 = row.iter().map(|c| c.abs()).sum();
        let mut spectrum: Vec<Complex<f64>> = try_vec(n + 1, "the circulant spectrum")?;
        let mut scratch: Vec<Complex<f64>> = try_vec(r2c.get_scratch_len(), "FFT scratch")?;
        r2c.process_with_scratch(&mut row, &mut spectrum, &mut scratch)
            .map_err(|e| PluginError::internal(format!("eigenvalue fft: {e}")))?;
        drop(row);

        // Rounding of an FFT of length M perturbs each eigenvalue by at most about
        // ε·log2(M)·Σ|c| (Higham, Accuracy and Stability, §24.1); 4× that is "rounding".
        let tolerance = 4.0 * f64::EPSILON * ((m as f64).log2() + 1.0) * abs_sum;
        let min_eigenvalue = spectrum.iter().map(|z| z.re).fold(f64::INFINITY, f64::min);
        if min_eigenvalue >= -tolerance {
            let mf = m as f64;
            let mut scale: Vec<f64> = try_vec(n + 1, "the spectral scale factors")?;
            for (k, (s, z)) in scale.iter_mut().zip(&spectrum).enumerate() {
                let lambda = z.re.max(0.0);
                // Interior frequencies carry half their variance in each of re and im.
                *s = if k == 0 || k == n {
                    (lambda / mf).sqrt()
                } else {
                    (lambda / (2.0 * mf)).sqrt()
                };
            }
            return Ok(CirculantEmbedding {
                n,
                method: Method::Circulant {
                    scale,
                    c2r,
                    complex: OnceLock::new(),
                    pool: Mutex::new(Vec::new()),
                    pair_pool: Mutex::new(Vec::new()),
                },
                min_eigenvalue,
                warning: None,
            });
        }
        if n > MAX_FALLBACK_LENGTH {
            return Err(PluginError::numerical(format!(
                "circulant embedding has a negative eigenvalue ({min_eigenvalue:.3e}) and the \
                 exact O(n^2) fallback is limited to n <= {MAX_FALLBACK_LENGTH} (n = {n})"
            )));
        }
        levinson_check(acvf)?;
        Ok(CirculantEmbedding {
            n,
            method: Method::Levinson {
                acvf: acvf.to_vec(),
            },
            min_eigenvalue,
            warning: Some(format!(
                "circulant embedding has a negative eigenvalue ({min_eigenvalue:.3e}, beyond \
                 rounding {tolerance:.1e}); using the exact Durbin-Levinson method, O(n^2)"
            )),
        })
    }

    /// The series length n.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Always false: n ≥ 1.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The smallest eigenvalue of the embedding, before clamping rounding noise to 0.
    pub fn min_eigenvalue(&self) -> f64 {
        self.min_eigenvalue
    }

    /// Set when the exact fallback is in use (the embedding had a negative eigenvalue).
    pub fn warning(&self) -> Option<&str> {
        self.warning.as_deref()
    }

    /// One series of length n from `seed` (stream 0 of [`NormalStream`]).
    pub fn sample(&self, seed: u64) -> Vec<f64> {
        let mut rng = NormalStream::new(seed);
        match &self.method {
            // The transform lands in a pooled buffer; the series is copied out of it once,
            // into a vector that is never zeroed first.
            Method::Circulant { .. } => {
                let mut out = Vec::with_capacity(self.n);
                self.circulant(&mut rng, |x| out.extend_from_slice(x));
                out
            }
            Method::Levinson { .. } => {
                let mut out = vec![0.0; self.n];
                self.fill(&mut rng, &mut out);
                out
            }
        }
    }

    /// Writes one series from `seed` into `out`, the same values as [`Self::sample`].
    ///
    /// # Errors
    ///
    /// `invalid_input` when `out.len()` is not n.
    pub fn sample_into(&self, seed: u64, out: &mut [f64]) -> Result<(), PluginError> {
        if out.len() != self.n {
            return Err(PluginError::invalid_input(format!(
                "output has length {}, the plan is for {}",
                out.len(),
                self.n
            )));
        }
        self.fill(&mut NormalStream::new(seed), out);
        Ok(())
    }

    /// Two independent series from one complex FFT (its real and imaginary parts), the fastest
    /// way to draw many replicates. Different values from [`Self::sample`] of the same seed.
    pub fn sample_pair(&self, seed: u64) -> (Vec<f64>, Vec<f64>) {
        let mut rng = NormalStream::new(seed);
        match &self.method {
            Method::Circulant {
                scale,
                complex,
                pair_pool,
                ..
            } => {
                let n = self.n;
                let m = 2 * n;
                let fft = complex.get_or_init(|| FftPlanner::new().plan_fft_forward(m));
                let mut bufs = take(pair_pool, || PairBuffers {
                    data: vec![Complex::new(0.0, 0.0); m],
                    scratch: vec![Complex::new(0.0, 0.0); fft.get_inplace_scratch_len()],
                });
                let buf = &mut bufs.data;
                // One polar pair per frequency, in order, scaled by √(λ_k/M) for every k of
                // 0..M from the stored half (λ_{M−k} = λ_k).
                rng.fill_normal_pairs(as_f64s(buf));
                buf[0] *= scale[0];
                buf[n] *= scale[n];
                let (low, high) = buf[1..].split_at_mut(n - 1);
                let high = &mut high[1..];
                for (k, (z, w)) in low.iter_mut().zip(high.iter_mut().rev()).enumerate() {
                    let s = scale[k + 1] * std::f64::consts::SQRT_2;
                    *z *= s;
                    *w *= s;
                }
                fft.process_with_scratch(buf, &mut bufs.scratch);
                let a = buf[..n].iter().map(|z| z.re).collect();
                let b = buf[..n].iter().map(|z| z.im).collect();
                give(pair_pool, bufs);
                (a, b)
            }
            Method::Levinson { .. } => {
                let mut a = vec![0.0; self.n];
                let mut b = vec![0.0; self.n];
                self.fill(&mut rng, &mut a);
                self.fill(&mut rng, &mut b);
                (a, b)
            }
        }
    }

    /// Draws one series by circulant embedding and hands its n points to `emit` (they live
    /// in a pooled buffer). Only for [`Method::Circulant`].
    fn circulant(&self, rng: &mut NormalStream, emit: impl FnOnce(&[f64])) {
        let Method::Circulant {
            scale, c2r, pool, ..
        } = &self.method
        else {
            unreachable!("circulant sampling of a Levinson plan")
        };
        let n = self.n;
        let mut bufs = take(pool, || Buffers {
            spectrum: vec![Complex::new(0.0, 0.0); n + 1],
            scratch: vec![Complex::new(0.0, 0.0); c2r.get_scratch_len()],
            full: vec![0.0; 2 * n],
        });
        let spec = &mut bufs.spectrum;
        // The first polar pair gives the two real edge frequencies (0 and n), the next n − 1
        // pairs the interior ones, written straight into the spectrum and scaled in place.
        let mut edge = [0.0; 2];
        rng.fill_normal_pairs(&mut edge);
        rng.fill_normal_pairs(as_f64s(&mut spec[1..n]));
        spec[0] = Complex::new(scale[0] * edge[0], 0.0);
        spec[n] = Complex::new(scale[n] * edge[1], 0.0);
        for (z, &s) in spec[1..n].iter_mut().zip(&scale[1..n]) {
            *z *= s;
        }
        // Lengths match the plan by construction and the edge imaginary parts are 0, so the
        // transform cannot report an error.
        let _ = c2r.process_with_scratch(spec, &mut bufs.full, &mut bufs.scratch);
        emit(&bufs.full[..n]);
        give(pool, bufs);
    }

    fn fill(&self, rng: &mut NormalStream, out: &mut [f64]) {
        match &self.method {
            Method::Circulant { .. } => self.circulant(rng, |x| out.copy_from_slice(x)),
            Method::Levinson { acvf } => levinson_sample(acvf, rng, out),
        }
    }
}

/// Runs the Durbin–Levinson recursion once to check that the Toeplitz matrix is positive
/// definite (every prediction variance positive).
fn levinson_check(acvf: &[f64]) -> Result<(), PluginError> {
    let n = acvf.len() - 1;
    let mut phi = vec![0.0; n];
    let mut prev = vec![0.0; n];
    let mut v = acvf[0];
    for t in 1..n {
        let acc: f64 = (1..t).map(|j| prev[j - 1] * acvf[t - j]).sum();
        let k = (acvf[t] - acc) / v;
        phi[t - 1] = k;
        for j in 1..t {
            phi[j - 1] = prev[j - 1] - k * prev[t - j - 1];
        }
        v *= 1.0 - k * k;
        // Written to also catch NaN.
        if v.is_nan() || v <= 0.0 {
            return Err(PluginError::numerical(format!(
                "the autocovariance is not positive definite (prediction variance {v:.3e} at \
                 lag {t})"
            )));
        }
        prev[..t].copy_from_slice(&phi[..t]);
    }
    Ok(())
}

/// Exact sampling by the Durbin–Levinson recursion (Hosking 1984): x_t is its best linear
/// predictor from x_0..x_{t−1} plus an innovation of the prediction variance.
fn levinson_sample(acvf: &[f64], rng: &mut NormalStream, out: &mut [f64]) {
    let n = out.len();
    let mut phi = vec![0.0; n];
    let mut prev = vec![0.0; n];
    let mut v = acvf[0];
    out[0] = v.sqrt() * rng.normal();
    for t in 1..n {
        let acc: f64 = (1..t).map(|j| prev[j - 1] * acvf[t - j]).sum();
        let k = (acvf[t] - acc) / v;
        phi[t - 1] = k;
        for j in 1..t {
            phi[j - 1] = prev[j - 1] - k * prev[t - j - 1];
        }
        v *= 1.0 - k * k;
        let mean: f64 = (1..=t).map(|j| phi[j - 1] * out[t - j]).sum();
        out[t] = mean + v.max(0.0).sqrt() * rng.normal();
        prev[..t].copy_from_slice(&phi[..t]);
    }
}

/// Exact fGn of Hurst exponent H by Davies–Harte, planned for one length.
#[derive(Debug)]
pub struct DaviesHarte {
    h: f64,
    embedding: CirculantEmbedding,
}

impl DaviesHarte {
    /// Plans fGn of Hurst exponent `h` and length `n`: the autocovariance row, the FFT plans
    /// and the eigenvalues (checked).
    ///
    /// # Errors
    ///
    /// `parameter` for `h` outside (0, 1); `invalid_input` for n = 0 or memory that cannot be
    /// allocated; see [`CirculantEmbedding::new`].
    pub fn new(h: f64, n: usize) -> Result<DaviesHarte, PluginError> {
        check_hurst(h)?;
        if n == 0 {
            return Err(PluginError::invalid_input(
                "length n = 0: must be at least 1",
            ));
        }
        let acvf = autocovariance_row(h, n)?;
        Ok(DaviesHarte {
            h,
            embedding: CirculantEmbedding::new(&acvf)?,
        })
    }

    /// The Hurst exponent.
    pub fn hurst(&self) -> f64 {
        self.h
    }

    /// The series length.
    pub fn len(&self) -> usize {
        self.embedding.len()
    }

    /// Always false: n ≥ 1.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The underlying embedding (eigenvalue check, warning).
    pub fn embedding(&self) -> &CirculantEmbedding {
        &self.embedding
    }

    /// Set when the exact fallback is in use; never silent.
    pub fn warning(&self) -> Option<&str> {
        self.embedding.warning()
    }

    /// One unit-variance fGn series from `seed`.
    pub fn sample(&self, seed: u64) -> Vec<f64> {
        self.embedding.sample(seed)
    }

    /// [`Self::sample`] into a caller's buffer of length n.
    ///
    /// # Errors
    ///
    /// `invalid_input` when `out.len()` is not n.
    pub fn sample_into(&self, seed: u64, out: &mut [f64]) -> Result<(), PluginError> {
        self.embedding.sample_into(seed, out)
    }

    /// Two independent fGn series from one complex FFT.
    pub fn sample_pair(&self, seed: u64) -> (Vec<f64>, Vec<f64>) {
        self.embedding.sample_pair(seed)
    }
}

/// One fGn series: plans and samples (use [`DaviesHarte`] to reuse the plan).
///
/// # Errors
///
/// As [`DaviesHarte::new`].
pub fn fgn(h: f64, n: usize, seed: u64) -> Result<Vec<f64>, PluginError> {
    Ok(DaviesHarte::new(h, n)?.sample(seed))
}

#[cfg(test)]
mod tests;
