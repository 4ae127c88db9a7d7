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
use rustfft::{Fft, FftPlanner};

struct Workspace {
    planner: RealFftPlanner<f64>,
    len: usize,
    plan: Option<Arc<dyn RealToComplex<f64>>>,
    input: Vec<f64>,
    spectrum: Vec<Complex<f64>>,
    scratch: Vec<Complex<f64>>,
    band: Band,
}

/// The buffers and tables of the pruned band transform ([`periodogram_head_into`]), kept
/// per thread.
struct Band {
    planner: FftPlanner<f64>,
    /// The row length Q of `plan`.
    q: usize,
    plan: Option<Arc<dyn Fft<f64>>>,
    /// A batch of rows of Q points: row r holds (x_{aP+2r} − x_0) + i(x_{aP+2r+1} − x_0).
    rows: Vec<Complex<f64>>,
    scratch: Vec<Complex<f64>>,
    /// The (n, count) of the tables below.
    key: (usize, usize),
    /// w_k = e^{−2πi k/n}, k = 1..=count, each from its own sin/cos.
    w: Vec<Complex<f64>>,
    /// The Horner multipliers of the 2·count accumulated bins, as flat (re, im) pairs: the
    /// real part twice, and the imaginary part as (−im, im), so that one multiply-add pair
    /// per lane forms the complex product (see [`horner_step`]).
    u_re: Vec<f64>,
    u_im: Vec<f64>,
    /// Horner accumulators, 2·count complex numbers as flat (re, im) pairs.
    acc: Vec<f64>,
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
        band: Band {
            planner: FftPlanner::new(),
            q: 0,
            plan: None,
            rows: Vec::new(),
            scratch: Vec::new(),
            key: (0, 0),
            w: Vec::new(),
            u_re: Vec::new(),
            u_im: Vec::new(),
            acc: Vec::new(),
        },
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
    if let Some(q) = band_rows(n, k) {
        WORKSPACE.with(|ws| band_periodogram(&mut ws.borrow_mut().band, x, k, q, scale, out));
        return Ok(());
    }
    with_spectrum(x, |spec| {
        out.clear();
        out.extend(spec[1..=k].iter().map(|c| c.norm_sqr() * scale));
    })
}

/// The row length Q of the pruned band transform for the lowest `count` ordinates of a
/// series of length n, or `None` when the full transform is expected to be faster.
fn band_rows(n: usize, count: usize) -> Option<usize> {
    if n < BAND_MIN_N || count.saturating_mul(BAND_MAX_SHARE) > n {
        return None;
    }
    let target = count.saturating_mul(BAND_Q_FACTOR).max(BAND_MIN_Q);
    // The smallest 7-smooth divisor Q ≥ target with at least two rows; rustfft runs such
    // lengths with its radix kernels (a large prime factor would send it to Bluestein).
    (target..=n / 2).find(|&q| n % q == 0 && smooth(q))
}

/// Whether `q` has no prime factor above 7.
fn smooth(mut q: usize) -> bool {
    for f in [2, 3, 5, 7] {
        while q % f == 0 {
            q /= f;
        }
    }
    q == 1
}

/// Below this length the full transform is a few microseconds and the band path's setup
/// would not pay.
const BAND_MIN_N: usize = 256;
/// The band path needs `count · BAND_MAX_SHARE ≤ n`.
const BAND_MAX_SHARE: usize = 8;
/// The band path's rows are at least `BAND_Q_FACTOR · count` points long (2 at least, so
/// that the band lies in the first half of each row's spectrum).
const BAND_Q_FACTOR: usize = 2;
/// Rows shorter than this make the per-row overhead of the batched transform dominate.
const BAND_MIN_Q: usize = 64;

/// Complex points per batch of rows: gathered, transformed and accumulated while they are in
/// L2 (512 KiB here), instead of a pass over all n points per stage.
const BAND_BATCH: usize = 8192;

/// The periodogram at j = 1..=count by the pruned transform with rows of `q` points (see
/// [`periodogram_head_into`]), scaled by `scale`, into `out`.
fn band_periodogram(
    band: &mut Band,
    x: &[f64],
    count: usize,
    q: usize,
    scale: f64,
    out: &mut Vec<f64>,
) {
    let n = x.len();
    let p = n / q;
    let pairs = p.div_ceil(2);
    let batch = (BAND_BATCH / q).clamp(1, pairs);
    if band.q != q || band.plan.is_none() {
        let plan = band.planner.plan_fft_forward(q);
        band.scratch = vec![Complex::new(0.0, 0.0); plan.get_inplace_scratch_len()];
        band.plan = Some(plan);
        band.q = q;
    }
    band.rows.resize(batch * q, Complex::new(0.0, 0.0));
    if band.key != (n, count) {
        band_tables(band, n, count);
    }
    band.acc.clear();
    band.acc.resize(4 * count, 0.0);
    let Band {
        plan: Some(plan),
        rows,
        scratch,
        u_re,
        u_im,
        acc,
        ..
    } = band
    else {
        return;
    };
    // Horner needs the rows from the highest down; batches go top down too.
    let mut top = pairs;
    while top > 0 {
        let low = top.saturating_sub(batch);
        let rows = &mut rows[..(top - low) * q];
        gather_rows(x, p, q, low, rows);
        plan.process_with_scratch(rows, scratch);
        for row in rows.chunks_exact(q).rev() {
            horner(acc, u_re, u_im, row, count);
        }
        top = low;
    }
    // 2X_k = (1 − i w_k)·S_k + (1 + i w_k)·conj T_k (see `periodogram_head_into`); the
    // factor 2 leaves as 1/4 on the squares.
    let scale = 0.25 * scale;
    let (s, t) = acc.split_at(2 * count);
    out.clear();
    out.extend(
        band.w
            .iter()
            .zip(s.chunks_exact(2))
            .zip(t.chunks_exact(2).rev())
            .map(|((w, s), t)| {
                let (a_re, a_im) = (1.0 + w.im, -w.re);
                let (b_re, b_im) = (1.0 - w.im, w.re);
                let (t_re, t_im) = (t[0], -t[1]);
                let re = a_re * s[0] - a_im * s[1] + b_re * t_re - b_im * t_im;
                let im = a_re * s[1] + a_im * s[0] + b_re * t_im + b_im * t_re;
                (re * re + im * im) * scale
            }),
    );
}

/// Fills the tables of `band` for length `n` and `count` ordinates: w_k, and the Horner
/// multipliers v_k = w_k² = e^{−2πi·2k/n} for the bins 1..=count and conj v_k for the bins
/// q − count..q − 1 (k = count down to 1). Each from its own sine and cosine, not by
/// recurrence: 2k < n, so every angle carries one rounding and each factor is accurate to an
/// ulp or two.
fn band_tables(band: &mut Band, n: usize, count: usize) {
    band.w.clear();
    band.u_re.clear();
    band.u_im.clear();
    band.w.extend((1..=count).map(|k| {
        let (s, c) = fourier_frequency(k, n).sin_cos();
        Complex::new(c, -s)
    }));
    let v: Vec<(f64, f64)> = (1..=count)
        .map(|k| {
            let (s, c) = fourier_frequency(2 * k, n).sin_cos();
            (c, -s)
        })
        .collect();
    let conj = v.iter().rev().map(|&(c, s)| (c, -s));
    for (re, im) in v.iter().copied().chain(conj) {
        band.u_re.extend([re, re]);
        band.u_im.extend([-im, im]);
    }
    band.key = (n, count);
}

/// One Horner step per accumulated bin: acc ← acc·u + Z_r over the bins 1..=count and
/// q − count..q − 1 of the transformed row pair Z_r, both contiguous runs.
#[inline]
fn horner(acc: &mut [f64], u_re: &[f64], u_im: &[f64], row: &[Complex<f64>], count: usize) {
    let (lo, hi) = acc.split_at_mut(2 * count);
    let (ulo_re, uhi_re) = u_re.split_at(2 * count);
    let (ulo_im, uhi_im) = u_im.split_at(2 * count);
    horner_step(lo, ulo_re, ulo_im, &row[1..=count]);
    horner_step(hi, uhi_re, uhi_im, &row[row.len() - count..]);
}

/// acc ← acc·u + z for flat (re, im) pairs, with u given as (re, re) and (−im, im): the
/// complex product is acc·u_re + swap(acc)·u_im lane by lane, which vectorises without
/// de-interleaving. Two roundings per lane and product, no fused multiply–add, so an AVX
/// build and a portable one give the same bits.
#[inline]
fn horner_step(acc: &mut [f64], u_re: &[f64], u_im: &[f64], z: &[Complex<f64>]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: the CPU supports AVX, checked just above.
            unsafe { horner_step_avx(acc, u_re, u_im, z) };
            return;
        }
    }
    horner_step_portable(acc, u_re, u_im, z);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn horner_step_avx(acc: &mut [f64], u_re: &[f64], u_im: &[f64], z: &[Complex<f64>]) {
    horner_step_portable(acc, u_re, u_im, z);
}

#[inline(always)]
fn horner_step_portable(acc: &mut [f64], u_re: &[f64], u_im: &[f64], z: &[Complex<f64>]) {
    for (((a, ur), ui), z) in acc
        .chunks_exact_mut(2)
        .zip(u_re.chunks_exact(2))
        .zip(u_im.chunks_exact(2))
        .zip(z)
    {
        let (re, im) = (a[0], a[1]);
        a[0] = (re * ur[0] + im * ui[0]) + z.re;
        a[1] = (im * ur[1] + re * ui[1]) + z.im;
    }
}

/// Writes the pair rows low.. of the series read as q rows of p into `rows` (each q long):
/// row r − low, column a holds (x_{ap+2r} − x_0) + i(x_{ap+2r+1} − x_0), with 0 for the
/// imaginary part when 2r + 1 = p (odd p). A transpose, done in column blocks so that the
/// source lines of a block stay in L1 while the destination is written in runs.
fn gather_rows(x: &[f64], p: usize, q: usize, low: usize, rows: &mut [Complex<f64>]) {
    const BLOCK: usize = 16;
    let origin = x[0];
    for a0 in (0..q).step_by(BLOCK) {
        let a1 = (a0 + BLOCK).min(q);
        let src = &x[a0 * p..a1 * p];
        for (i, row) in rows.chunks_exact_mut(q).enumerate() {
            let c = 2 * (low + i);
            let dst = &mut row[a0..a1];
            if c + 1 < p {
                for (d, s) in dst.iter_mut().zip(src.chunks_exact(p)) {
                    *d = Complex::new(s[c] - origin, s[c + 1] - origin);
                }
            } else {
                for (d, s) in dst.iter_mut().zip(src.chunks_exact(p)) {
                    *d = Complex::new(s[c] - origin, 0.0);
                }
            }
        }
    }
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
        naive_head(x, fourier_count(x.len()))
    }

    /// The first `count` ordinates by the O(n·count) definition.
    fn naive_head(x: &[f64], count: usize) -> Vec<f64> {
        let n = x.len();
        let mean = x.iter().sum::<f64>() / n as f64;
        (1..=count)
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
        // n = 300 takes the band path for 10 ordinates (rows of 75): the same shift by x_0
        // keeps it as accurate as the full transform.
        assert!(band_rows(300, 10).is_some());
        let head = periodogram_head(&x, 10).unwrap();
        for (a, b) in head.iter().zip(&slow) {
            assert!((a - b).abs() <= 1e-8 * scale, "{a} vs {b}");
        }
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

    /// The band path against the full transform and the definition, to 1e-9 of the largest
    /// ordinate. Both fast routes err by O(ε·log n) (FFT) or O(ε·P) (Horner over P rows)
    /// relative to |X|max, under 1e-12 here; the naive sums of n terms add O(ε·√n) ≈ 1e-13 to
    /// 1e-12; 1e-9 leaves three orders of margin while a wrong index, twiddle or split sign
    /// errs by O(1) of the largest ordinate.
    fn assert_close(fast: &[f64], slow: &[f64], what: &str) {
        assert_eq!(fast.len(), slow.len(), "{what}");
        let scale = slow.iter().cloned().fold(0.0, f64::max);
        for (j, (a, b)) in fast.iter().zip(slow).enumerate() {
            assert!((a - b).abs() <= 1e-9 * scale, "{what}, j={}: {a} vs {b}", j + 1);
        }
    }

    #[test]
    fn band_transform_matches_full_transform_and_definition() {
        // Every row length Q the band path accepts for these n, forced, including odd row
        // counts P (3000 = 3·1000, 7000 = 7·1000) whose last row pairs with zeros.
        for (n, counts, seed) in [
            (1024, &[1, 5, 64, 128][..], 11),
            (4096, &[17, 64, 300, 512][..], 12),
            (3000, &[10, 150, 375][..], 13),
            (7000, &[1, 33, 500][..], 14),
            (4374, &[20, 81][..], 15),
        ] {
            let x = noise(n, seed);
            let full = periodogram(&x).unwrap();
            for &count in counts {
                let slow = naive_head(&x, count);
                assert_close(&full[..count], &slow, &format!("full n={n} count={count}"));
                let scale = 1.0 / (2.0 * std::f64::consts::PI * n as f64);
                let mut tried = 0;
                for q in (2 * count..=n / 2).filter(|q| n % q == 0 && smooth(*q)) {
                    let mut out = Vec::new();
                    WORKSPACE.with(|ws| {
                        band_periodogram(&mut ws.borrow_mut().band, &x, count, q, scale, &mut out)
                    });
                    assert_close(&out, &slow, &format!("band n={n} count={count} q={q}"));
                    tried += 1;
                }
                assert!(tried > 0, "n={n} count={count}: no row length tried");
            }
        }
    }

    #[test]
    fn head_takes_band_path_when_it_applies_and_agrees() {
        // n = 2^16 with the gph and local Whittle bands, and n with odd factors; the public
        // function must pick the band path for these and still match the definition.
        for (n, count, seed) in [(65_536, 256, 21), (65_536, 1351, 22), (18_000, 134, 23)] {
            assert!(band_rows(n, count).is_some(), "n={n} count={count}");
            let x = noise(n, seed);
            let head = periodogram_head(&x, count).unwrap();
            assert_close(&head, &naive_head(&x, count), &format!("n={n} count={count}"));
        }
        // A prime length has no row split: the full transform answers, and still agrees.
        let n = 4099;
        assert!(band_rows(n, 30).is_none());
        let x = noise(n, 24);
        assert_close(&periodogram_head(&x, 30).unwrap(), &naive_head(&x, 30), "prime");
        // The whole range never takes the band path.
        assert!(band_rows(4096, fourier_count(4096)).is_none());
    }

    #[test]
    fn periodogram_rejects_too_short_series() {
        assert!(periodogram(&[1.0, 2.0]).is_err());
        assert!(periodogram(&[]).is_err());
    }
}

#[doc(hidden)]
pub fn tmp_band(x: &[f64], count: usize, q: usize, out: &mut Vec<f64>) {
    let scale = 1.0 / (2.0 * std::f64::consts::PI * x.len() as f64);
    WORKSPACE.with(|ws| band_periodogram(&mut ws.borrow_mut().band, x, count, q, scale, out));
}

