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
//!
//! # Band transform
//!
//! [`periodogram_head_into`] needs only X_1..X_K for a low band K ≪ n, and for n = P·Q with
//! a 7-smooth row length Q ≥ 2K it forms them exactly by a transform pruned to those outputs
//! (Markel 1971, "FFT pruning", IEEE Trans. Audio Electroacoust. 19(4); Sorensen & Burrus
//! 1993, "Efficient computation of the DFT with only a subset of input or output points",
//! IEEE Trans. Signal Process. 41(3)). Decimation in time splits the series into the P
//! sub-series x_{aP+b}, a < Q, with Q-point DFTs Y_b:
//!
//! ```text
//! X_k = Σ_{b<P} w_k^b · Y_b[k],   w_k = e^{−2πi k/n},   k = 1..K
//! ```
//!
//! The sub-series go in pairs, z_r = x_{·P+2r} + i·x_{·P+2r+1}, through one batched complex
//! FFT of Q points per pair (Z_r); with `Y_{2r}[k] = (Z_r[k] + conj Z_r[Q−k])/2` and
//! `Y_{2r+1}[k] = (Z_r[k] − conj Z_r[Q−k])/2i`, and v_k = w_k²,
//!
//! ```text
//! 2X_k = (1 − i w_k)·S_k + (1 + i w_k)·conj T_k,
//! S_k  = Σ_r v_k^r Z_r[k],   T_k = Σ_r conj(v_k)^r Z_r[Q−k]
//! ```
//!
//! S and T are Horner sums over the rows, highest first, on the contiguous bins 1..K and
//! Q−K..Q−1 of each transformed row, so no row is split or read backwards. The multipliers
//! come from a table of sines and cosines per (n, K), and |v_k| = 1 keeps Horner's rounding
//! to O(P·ε) of the largest partial sum. Cost O(n log Q + K·P) instead of O(n log n): the
//! strided gather of the rows (a transpose, in cache-sized batches of rows gathered,
//! transformed and accumulated together) is a copy the full transform makes too. Whether
//! the band path is taken, and Q, follow measurements (see `band_rows`); other lengths, and
//! wide bands, use the full transform. Shifting by x_0 carries over: it changes only X_0.

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
/// the ordinates above it are never formed.
///
/// # Complexity
///
/// O(n log Q + count·n/Q) for a narrow band (count ≤ n/32, n ≥ 1024) when n has
/// a 7-smooth divisor Q of about 4·count, by the pruned transform of the module's "Band
/// transform"; O(n log n) by the full real FFT otherwise. Both agree with the definition to
/// rounding (about 1e-13 of the largest ordinate), not bit for bit.
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
///
/// Measured against the full real FFT (one thread, n from 2^10 to 2^20, bands of n^0.5,
/// n^0.65, n/64 to n/8): the band path took 45–65% of its time for the n^0.5 bands and
/// 65–90% for n^0.65 and n/32. For wider bands the rows are at most n/4 long (Q ≈ 4·count)
/// and save at most one level of the transform in log₂ n, which the gather does not repay:
/// n/20 ran at 0.85–1.0 of the full transform up to 2^18 and 1.1 at 2^20, n/8 at 1.15. Rows
/// of about 4·count points balanced the batched transforms (n log Q) against the combination
/// (n·count/Q): 2·count was up to 15% slower, 8·count within noise.
fn band_rows(n: usize, count: usize) -> Option<usize> {
    if n < BAND_MIN_N || count == 0 || count.saturating_mul(32) > n {
        return None;
    }
    let target = count.saturating_mul(4).max(BAND_MIN_Q);
    smooth_divisor(n, target).filter(|&q| q <= n / 2)
}

/// The smallest divisor of `n` with no prime factor above 7 that is at least `target`:
/// rustfft runs such lengths with its radix kernels (a large prime factor would send it to
/// Bluestein's algorithm).
fn smooth_divisor(n: usize, target: usize) -> Option<usize> {
    // The 7-smooth divisors are the products of one prime power of each of 2, 3, 5 and 7
    // dividing n: a few hundred at most.
    let mut divisors = vec![1usize];
    for f in [2, 3, 5, 7] {
        let base = divisors.len();
        let mut power = f;
        while n.is_multiple_of(power) {
            for i in 0..base {
                divisors.push(divisors[i] * power);
            }
            match power.checked_mul(f) {
                Some(next) => power = next,
                None => break,
            }
        }
    }
    divisors.into_iter().filter(|&d| d >= target).min()
}

/// The band path is not tried below this length: the full transform takes about a
/// microsecond there.
const BAND_MIN_N: usize = 1024;
/// Rows shorter than this make the per-row overhead of the batched transform dominate.
const BAND_MIN_Q: usize = 64;

/// Complex points per batch of rows (2 MiB): gathered, transformed and accumulated while they
/// are in cache, instead of a pass over all n points per stage, and enough rows per batch
/// that the blocked Horner sums reuse their L1-resident accumulators. Measured at n = 2^20:
/// 2 MiB batches beat 512 KiB ones by 10–30% for bands of 1024 and 8192, and one batch of
/// all rows (8 MiB) was no faster.
const BAND_BATCH: usize = 131_072;

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
    let plan = match &band.plan {
        Some(plan) if band.q == q => Arc::clone(plan),
        _ => {
            let plan = band.planner.plan_fft_forward(q);
            band.scratch = vec![Complex::new(0.0, 0.0); plan.get_inplace_scratch_len()];
            band.plan = Some(Arc::clone(&plan));
            band.q = q;
            plan
        }
    };
    band.rows.resize(batch * q, Complex::new(0.0, 0.0));
    if band.key != (n, count) {
        band_tables(band, n, count);
    }
    band.acc.clear();
    band.acc.resize(4 * count, 0.0);
    let Band {
        rows,
        scratch,
        u_re,
        u_im,
        acc,
        ..
    } = band;
    // Horner needs the rows from the highest down; batches go top down too.
    let mut top = pairs;
    while top > 0 {
        let low = top.saturating_sub(batch);
        let rows = &mut rows[..(top - low) * q];
        gather_rows(x, p, q, low, rows);
        plan.process_with_scratch(rows, scratch);
        horner(acc, u_re, u_im, rows, q, count);
        top = low;
    }
    // 2X_k = (1 − i w_k)·S_k + (1 + i w_k)·conj T_k (see the module's "Band transform"); the
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

/// Horner steps over the transformed rows of a batch, highest first: acc ← acc·u + Z_r over
/// the bins 1..=count and q − count..q − 1 of each row, both contiguous runs. Rows go two at
/// a time, acc ← (acc·u + Z_{r+1})·u + Z_r, so each accumulator is loaded and stored once per
/// two rows; the bins go in blocks whose accumulators and multipliers (24 KiB) stay in L1
/// while every row of the batch passes, which matters when the band outgrows L2.
fn horner(
    acc: &mut [f64],
    u_re: &[f64],
    u_im: &[f64],
    rows: &[Complex<f64>],
    q: usize,
    count: usize,
) {
    const BINS: usize = 512;
    for (region, start) in [(0, 1), (1, q - count)] {
        for b0 in (0..count).step_by(BINS) {
            let b1 = (b0 + BINS).min(count);
            let (o, e) = (2 * (region * count + b0), 2 * (region * count + b1));
            let (a, ur, ui) = (&mut acc[o..e], &u_re[o..e], &u_im[o..e]);
            let span = start + b0..start + b1;
            let mut rows = rows.chunks_exact(q).rev();
            if rows.len() % 2 == 1 {
                if let Some(row) = rows.next() {
                    horner_steps(a, ur, ui, &row[span.clone()], &row[span.clone()], false);
                }
            }
            while let (Some(top), Some(row)) = (rows.next(), rows.next()) {
                horner_steps(a, ur, ui, &top[span.clone()], &row[span.clone()], true);
            }
        }
    }
}

/// acc ← (acc·u + z1)·u + z0 when `two`, else acc ← acc·u + z0, for flat (re, im) pairs,
/// with u given as (re, re) and (−im, im): the complex product is acc·u_re + swap(acc)·u_im
/// lane by lane, which vectorises without de-interleaving. Separate multiplies and adds (no
/// fused multiply–add) in a fixed order, so the AVX route and the portable one give the same
/// bits.
#[inline]
fn horner_steps(
    acc: &mut [f64],
    u_re: &[f64],
    u_im: &[f64],
    z1: &[Complex<f64>],
    z0: &[Complex<f64>],
    two: bool,
) {
    let len = acc.len();
    assert!(u_re.len() >= len && u_im.len() >= len && 2 * z1.len() >= len && 2 * z0.len() >= len);
    #[cfg(target_arch = "x86_64")]
    {
        if crate::cpu::Avx2Fma::detect().is_some() {
            // SAFETY: the proof of AVX2 implies AVX, and every slice holds at least
            // `acc.len()` doubles (asserted above).
            unsafe { horner_steps_avx(acc, u_re, u_im, z1, z0, two) };
            return;
        }
    }
    horner_steps_portable(acc, u_re, u_im, z1, z0, two);
}

/// [`horner_steps`] with explicit AVX loads, swaps and stores.
///
/// # Safety
///
/// The CPU must execute AVX, and `u_re`, `u_im` must hold at least `acc.len()` doubles and
/// `z1`, `z0` at least `acc.len() / 2` complex values.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn horner_steps_avx(
    acc: &mut [f64],
    u_re: &[f64],
    u_im: &[f64],
    z1: &[Complex<f64>],
    z0: &[Complex<f64>],
    two: bool,
) {
    use std::arch::x86_64::{
        _mm256_add_pd, _mm256_loadu_pd, _mm256_mul_pd, _mm256_permute_pd, _mm256_storeu_pd,
    };
    let len = acc.len();
    let body = len - len % 4;
    let (a, ur, ui) = (acc.as_mut_ptr(), u_re.as_ptr(), u_im.as_ptr());
    let (p1, p0) = (z1.as_ptr().cast::<f64>(), z0.as_ptr().cast::<f64>());
    let mut i = 0;
    // SAFETY: for every load and store, i + 4 ≤ body ≤ len, and every slice holds at least len
    // doubles (the caller's contract); the loads and stores are unaligned.
    unsafe {
        while i < body {
            let (vr, vi) = (_mm256_loadu_pd(ur.add(i)), _mm256_loadu_pd(ui.add(i)));
            let mut v = _mm256_loadu_pd(a.add(i));
            if two {
                let t = _mm256_add_pd(
                    _mm256_mul_pd(v, vr),
                    _mm256_mul_pd(_mm256_permute_pd(v, 0b0101), vi),
                );
                v = _mm256_add_pd(t, _mm256_loadu_pd(p1.add(i)));
            }
            let t = _mm256_add_pd(
                _mm256_mul_pd(v, vr),
                _mm256_mul_pd(_mm256_permute_pd(v, 0b0101), vi),
            );
            _mm256_storeu_pd(a.add(i), _mm256_add_pd(t, _mm256_loadu_pd(p0.add(i))));
            i += 4;
        }
    }
    horner_steps_portable(
        &mut acc[body..],
        &u_re[body..],
        &u_im[body..],
        &z1[body / 2..],
        &z0[body / 2..],
        two,
    );
}

#[inline(always)]
fn horner_steps_portable(
    acc: &mut [f64],
    u_re: &[f64],
    u_im: &[f64],
    z1: &[Complex<f64>],
    z0: &[Complex<f64>],
    two: bool,
) {
    for ((((a, ur), ui), z1), z0) in acc
        .chunks_exact_mut(2)
        .zip(u_re.chunks_exact(2))
        .zip(u_im.chunks_exact(2))
        .zip(z1)
        .zip(z0)
    {
        let (mut re, mut im) = (a[0], a[1]);
        if two {
            (re, im) = (
                (re * ur[0] + im * ui[0]) + z1.re,
                (im * ur[1] + re * ui[1]) + z1.im,
            );
        }
        a[0] = (re * ur[0] + im * ui[0]) + z0.re;
        a[1] = (im * ur[1] + re * ui[1]) + z0.im;
    }
}

/// Writes the pair rows low.. of the series read as q rows of p into `rows` (each q long):
/// row r − low, column a holds (x_{ap+2r} − x_0) + i(x_{ap+2r+1} − x_0), with 0 for the
/// imaginary part when 2r + 1 = p (odd p). A transpose, done in blocks of 16 columns so
/// that the source lines of a block stay in L1 while the destination is written in runs.
fn gather_rows(x: &[f64], p: usize, q: usize, low: usize, rows: &mut [Complex<f64>]) {
    let count = rows.len() / q;
    // Row pairs whose four source values per column are all inside the series row.
    let mut quads = 0;
    while quads < count / 2 && 2 * (low + 2 * quads + 1) + 1 < p {
        quads += 1;
    }
    let done = gather_quads(x, p, q, low, quads, rows);
    gather_scalar(x, p, q, low + done, &mut rows[done * q..]);
}

/// Rows low..low + 2·quads of [`gather_rows`] through AVX 2×2 transposes of complex pairs,
/// when the CPU has AVX; returns how many rows it wrote (0 without AVX).
fn gather_quads(
    x: &[f64],
    p: usize,
    q: usize,
    low: usize,
    quads: usize,
    rows: &mut [Complex<f64>],
) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        if quads > 0 && q.is_multiple_of(2) && crate::cpu::Avx2Fma::detect().is_some() {
            assert!(rows.len() >= 2 * quads * q && x.len() >= q * p && 2 * (low + 2 * quads) <= p);
            // SAFETY: the proof of AVX2 implies AVX; the bounds are asserted above.
            unsafe { gather_quads_avx(x, p, q, low, quads, rows) };
            return 2 * quads;
        }
    }
    let _ = (x, p, q, low, quads, rows);
    0
}

/// [`gather_quads`] once AVX is known to be present.
///
/// # Safety
///
/// The CPU must execute AVX, `q` must be even, and `rows.len() ≥ 2·quads·q`,
/// `x.len() ≥ q·p` and `2 (low + 2·quads) ≤ p` (the bounds [`gather_quads`] asserts).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn gather_quads_avx(
    x: &[f64],
    p: usize,
    q: usize,
    low: usize,
    quads: usize,
    rows: &mut [Complex<f64>],
) {
    use std::arch::x86_64::{
        _mm256_loadu_pd, _mm256_permute2f128_pd, _mm256_set1_pd, _mm256_storeu_pd, _mm256_sub_pd,
    };
    const BLOCK: usize = 16;
    let origin = _mm256_set1_pd(x[0]);
    let (src, dst) = (x.as_ptr(), rows.as_mut_ptr().cast::<f64>());
    let mut a0 = 0;
    while a0 < q {
        let a1 = (a0 + BLOCK).min(q);
        for j in 0..quads {
            // Series offset of row pair (low + 2j, low + 2j + 1) in each source row, and the
            // destination offsets (in doubles) of those two rows.
            let c = 2 * (low + 2 * j);
            let (d0, d1) = (2 * (2 * j) * q, 2 * (2 * j + 1) * q);
            let mut a = a0;
            // SAFETY: a + 1 < q, c + 4 ≤ p and row 2j + 1 < 2·quads, inside the bounds the
            // caller asserted; loads and stores are unaligned.
            unsafe {
                while a + 1 < a1 {
                    let u = _mm256_sub_pd(_mm256_loadu_pd(src.add(a * p + c)), origin);
                    let v = _mm256_sub_pd(_mm256_loadu_pd(src.add((a + 1) * p + c)), origin);
                    _mm256_storeu_pd(dst.add(d0 + 2 * a), _mm256_permute2f128_pd(u, v, 0x20));
                    _mm256_storeu_pd(dst.add(d1 + 2 * a), _mm256_permute2f128_pd(u, v, 0x31));
                    a += 2;
                }
            }
        }
        a0 = a1;
    }
}

/// Rows low.. of [`gather_rows`], one complex value at a time.
fn gather_scalar(x: &[f64], p: usize, q: usize, low: usize, rows: &mut [Complex<f64>]) {
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
        let head = periodogram_head(&x, 10).unwrap();
        assert_eq!(head[..], fast[..10]);
        assert_eq!(periodogram_head(&x, 1000).unwrap(), fast);
        // X_0 of the centred series is zero.
        assert_eq!(with_spectrum(&x, |s| s[0]).unwrap(), Complex::new(0.0, 0.0));
        // The band path shifts by x_0 the same way (n = 2048, 20 ordinates, rows of 128).
        let x: Vec<f64> = noise(2048, 8).iter().map(|v| v + 1e6).collect();
        assert!(band_rows(2048, 20).is_some());
        let slow = naive_head(&x, 20);
        let scale = slow.iter().cloned().fold(0.0, f64::max);
        for (a, b) in periodogram_head(&x, 20).unwrap().iter().zip(&slow) {
            assert!((a - b).abs() <= 1e-8 * scale, "{a} vs {b}");
        }
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
            assert!(
                (a - b).abs() <= 1e-9 * scale,
                "{what}, j={}: {a} vs {b}",
                j + 1
            );
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
            // More bins than one Horner block (512).
            (8192, &[700][..], 16),
        ] {
            let x = noise(n, seed);
            let full = periodogram(&x).unwrap();
            for &count in counts {
                let slow = naive_head(&x, count);
                assert_close(&full[..count], &slow, &format!("full n={n} count={count}"));
                let scale = 1.0 / (2.0 * std::f64::consts::PI * n as f64);
                let mut tried = 0;
                for q in
                    (2 * count..=n / 2).filter(|&q| smooth_divisor(q, q) == Some(q) && n % q == 0)
                {
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
    fn row_lengths_are_smooth_divisors_of_about_four_times_the_band() {
        assert_eq!(smooth_divisor(65_536, 1024), Some(1024));
        assert_eq!(smooth_divisor(65_536, 5404), Some(8192));
        // 18000 = 2^4·3^2·5^3: 540 = 2^2·3^3·5 is not a divisor, 560 has a 7; 576 = 2^6·3^2
        // neither; the next 7-smooth divisor is 600.
        assert_eq!(smooth_divisor(18_000, 536), Some(600));
        assert_eq!(smooth_divisor(2 * 4099, 3), None);
        assert_eq!(band_rows(65_536, 256), Some(1024));
        assert_eq!(band_rows(1 << 20, 8192), Some(32_768));
        // Too wide, too short, or no divisor (2·prime): the full transform.
        assert_eq!(band_rows(65_536, 8192), None);
        assert_eq!(band_rows(1 << 20, 52_428), None);
        assert_eq!(band_rows(4096, 204), None);
        assert_eq!(band_rows(512, 4), None);
        assert_eq!(band_rows(2 * 4099, 30), None);
    }

    #[test]
    fn head_takes_band_path_when_it_applies_and_agrees() {
        // n = 2^16 with the gph and local Whittle bands, and n with odd factors; the public
        // function must pick the band path for these and still match the definition.
        // 2^19 with 16 ordinates has rows of 64 in two batches.
        for (n, count, seed) in [
            (65_536, 256, 21),
            (65_536, 1351, 22),
            (18_000, 134, 23),
            (1 << 19, 16, 25),
        ] {
            assert!(band_rows(n, count).is_some(), "n={n} count={count}");
            let x = noise(n, seed);
            let head = periodogram_head(&x, count).unwrap();
            assert_close(
                &head,
                &naive_head(&x, count),
                &format!("n={n} count={count}"),
            );
        }
        // A prime length has no row split: the full transform answers, and still agrees.
        let n = 4099;
        assert!(band_rows(n, 30).is_none());
        let x = noise(n, 24);
        assert_close(
            &periodogram_head(&x, 30).unwrap(),
            &naive_head(&x, 30),
            "prime",
        );
        // The whole range never takes the band path.
        assert!(band_rows(4096, fourier_count(4096)).is_none());
    }

    #[test]
    fn periodogram_rejects_too_short_series() {
        assert!(periodogram(&[1.0, 2.0]).is_err());
        assert!(periodogram(&[]).is_err());
    }
}
