//! Daubechies filter banks (db2–db8, extremal phase) and a pyramid DWT that keeps only the
//! coefficients untouched by the series' ends.
//!
//! The filters are computed, not typed in: Daubechies' construction (Ten Lectures on Wavelets,
//! 1992, §6.1) factors |m₀(ξ)|² = cos^{2N}(ξ/2) P(sin²(ξ/2)), P(y) = Σ_{k<N} C(N−1+k, k) y^k,
//! keeping the roots of P's z-polynomial inside the unit circle. The tests check the result
//! against the closed form of db2, Daubechies' Table 6.1 for db4, orthonormality and the N
//! vanishing moments. Filters are built once per process and cached.
//!
//! # Formula
//!
//! ```text
//! a_0 = x
//! a_j[k] = Σ_l h[l] a_{j−1}[2k + l]          (approximation at octave j)
//! d_j[k] = Σ_l g[l] a_{j−1}[2k + l]          (detail at octave j)
//! g[l]   = (−1)^l h[L − 1 − l],  L = 2N
//! k = 0 .. ⌊(len(a_{j−1}) − L)/2⌋            (only full windows: no boundary extension)
//! ```
//!
//! Without extension no coefficient mixes the two ends of the series (periodic mode) or
//! mirrors them (symmetric mode), so none is biased by the boundary — the cause of the
//! symmetric-mode bias of some wavelet Hurst estimators at low H.
//!
//! [`details`] keeps every octave's coefficients; [`detail_energies`], for estimators that need
//! only Σ d², streams the whole pyramid in one pass over the series with cache-sized buffers.

use std::sync::OnceLock;

use lrdbench_plugin_api::PluginError;
use rustfft::num_complex::Complex64;

/// Smallest supported number of vanishing moments (db2).
pub const MIN_ORDER: usize = 2;
/// Largest supported number of vanishing moments (db8).
pub const MAX_ORDER: usize = 8;

/// An orthonormal Daubechies filter pair with N vanishing moments.
#[derive(Debug, Clone, PartialEq)]
pub struct Daubechies {
    /// N, the number of vanishing moments (db N).
    pub order: usize,
    /// Scaling (low-pass) filter h, length 2N, Σh = √2, in Daubechies' orientation.
    pub low: Vec<f64>,
    /// Wavelet (high-pass) filter `g[l] = (−1)^l h[2N − 1 − l]`.
    pub high: Vec<f64>,
}

impl Daubechies {
    /// The filter pair db`order`, for 2 ≤ order ≤ 8.
    ///
    /// # Errors
    ///
    /// `parameter` outside db2–db8.
    ///
    /// # Examples
    ///
    /// ```
    /// use lrdbench_numerics::dwt::Daubechies;
    /// let db2 = Daubechies::new(2).unwrap();
    /// let s3 = 3f64.sqrt();
    /// let want = (1.0 + s3) / (4.0 * 2f64.sqrt());
    /// assert!((db2.low[0] - want).abs() < 1e-14);
    /// ```
    pub fn new(order: usize) -> Result<&'static Daubechies, PluginError> {
        static BANK: OnceLock<Vec<Daubechies>> = OnceLock::new();
        if !(MIN_ORDER..=MAX_ORDER).contains(&order) {
            return Err(PluginError::parameter(format!(
                "daubechies order must be between {MIN_ORDER} and {MAX_ORDER}, got {order}"
            )));
        }
        let bank = BANK.get_or_init(|| (MIN_ORDER..=MAX_ORDER).map(construct).collect());
        Ok(&bank[order - MIN_ORDER])
    }

    /// The filter length L = 2N.
    pub fn len(&self) -> usize {
        self.low.len()
    }

    /// Always false: a filter has 2N ≥ 4 taps.
    pub fn is_empty(&self) -> bool {
        self.low.is_empty()
    }
}

/// The roots of Σ c_k y^k (c ordered by power, c_last ≠ 0) by Durand–Kerner, polished by Newton.
fn poly_roots(c: &[f64]) -> Vec<Complex64> {
    let deg = c.len() - 1;
    let lead = c[deg];
    let eval = |z: Complex64| {
        c.iter()
            .rev()
            .fold(Complex64::new(0.0, 0.0), |acc, &a| acc * z + a)
    };
    let deriv = |z: Complex64| {
        c.iter()
            .enumerate()
            .skip(1)
            .rev()
            .fold(Complex64::new(0.0, 0.0), |acc, (k, &a)| {
                acc * z + a * k as f64
            })
    };
    let seed = Complex64::new(0.4, 0.9);
    let mut roots: Vec<Complex64> = (0..deg).map(|i| seed.powu(i as u32)).collect();
    for _ in 0..500 {
        let mut delta = 0.0f64;
        for i in 0..deg {
            let mut den = Complex64::new(lead, 0.0);
            for j in 0..deg {
                if i != j {
                    den *= roots[i] - roots[j];
                }
            }
            let step = eval(roots[i]) / den;
            roots[i] -= step;
            delta = delta.max(step.norm());
        }
        if delta < 1e-15 {
            break;
        }
    }
    for r in &mut roots {
        for _ in 0..3 {
            let d = deriv(*r);
            if d.norm() > 0.0 {
                *r -= eval(*r) / d;
            }
        }
    }
    roots
}

fn construct(order: usize) -> Daubechies {
    let n = order;
    // P(y) = Σ_{k<N} C(N−1+k, k) y^k.
    let mut p = Vec::with_capacity(n);
    let mut binom = 1.0;
    for k in 0..n {
        if k > 0 {
            binom *= (n - 1 + k) as f64 / k as f64;
        }
        p.push(binom);
    }
    // Each root y of P gives z + 1/z = 2 − 4y; keep the z inside the unit circle.
    let mut poly = vec![Complex64::new(1.0, 0.0)];
    let mut mul = |root: Complex64| {
        let mut next = vec![Complex64::new(0.0, 0.0); poly.len() + 1];
        for (i, c) in poly.iter().enumerate() {
            next[i + 1] += c;
            next[i] -= c * root;
        }
        poly = next;
    };
    if n > 1 {
        for y in poly_roots(&p) {
            let b = Complex64::new(1.0, 0.0) - y * 2.0;
            let s = (b * b - 1.0).sqrt();
            let (z1, z2) = (b + s, b - s);
            mul(if z1.norm() < 1.0 { z1 } else { z2 });
        }
    }
    for _ in 0..n {
        mul(Complex64::new(-1.0, 0.0));
    }
    let coeffs: Vec<f64> = poly.iter().map(|c| c.re).collect();
    let sum: f64 = coeffs.iter().sum();
    let scale = std::f64::consts::SQRT_2 / sum;
    // The polynomial above is ordered like PyWavelets' decomposition filter; Daubechies' h is
    // its reverse.
    let low: Vec<f64> = coeffs.iter().rev().map(|c| c * scale).collect();
    let l = low.len();
    let high = (0..l)
        .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 } * low[l - 1 - i])
        .collect();
    Daubechies { order, low, high }
}

/// One analysis step without boundary extension: `approx` and `detail` receive
/// ⌊(len(a) − L)/2⌋ + 1 coefficients each (nothing when len(a) < L).
pub fn analysis_step(a: &[f64], bank: &Daubechies, approx: &mut Vec<f64>, detail: &mut Vec<f64>) {
    approx.clear();
    detail.clear();
    let count = step_count(a.len(), bank.len());
    approx.resize(count, 0.0);
    detail.resize(count, 0.0);
    let mut split = Split::new(a.len());
    level(a, bank, &mut split, approx, Some(detail));
}

/// ⌊(len − L)/2⌋ + 1 coefficients from `len` inputs, 0 when len < L.
fn step_count(len: usize, l: usize) -> usize {
    if len < l {
        0
    } else {
        (len - l) / 2 + 1
    }
}

/// Outputs computed together: eight approximations and eight details are four AVX2 registers.
const TILE: usize = 8;

/// Scratch for the even- and odd-indexed inputs of a step: with them every tap reads
/// consecutive values (tap 2m of output k is even[k + m], tap 2m + 1 is odd[k + m]), which
/// vectorises across outputs; the strided reads of the textbook loop do not.
struct Split {
    even: Vec<f64>,
    odd: Vec<f64>,
}

impl Split {
    /// Room for steps of up to `len` inputs.
    fn new(len: usize) -> Self {
        Split {
            even: vec![0.0; len.div_ceil(2)],
            odd: vec![0.0; len / 2],
        }
    }
}

/// One pyramid step from `a` into `approx` (sized by the caller to [`step_count`]) and, when
/// given, `detail` (the same size); returns the detail energy Σ d². Each coefficient is the
/// left-to-right sum over the taps, as in the module formula, so the coefficients are the
/// same bits whichever instruction set runs; only the energy's summation order is blocked.
fn level(
    a: &[f64],
    bank: &Daubechies,
    split: &mut Split,
    approx: &mut [f64],
    detail: Option<&mut [f64]>,
) -> f64 {
    macro_rules! taps {
        ($($l:literal),*) => {
            match bank.len() {
                $($l => {
                    let (Ok(low), Ok(high)) = (
                        <&[f64; $l]>::try_from(bank.low.as_slice()),
                        <&[f64; $l]>::try_from(bank.high.as_slice()),
                    ) else {
                        unreachable!("a filter of {} taps", $l)
                    };
                    level_dispatch::<$l>(a, low, high, split, approx, detail)
                })*
                l => unreachable!("db filters have 4 to 16 taps, not {l}"),
            }
        };
    }
    taps!(4, 6, 8, 10, 12, 14, 16)
}

fn level_dispatch<const L: usize>(
    a: &[f64],
    low: &[f64; L],
    high: &[f64; L],
    split: &mut Split,
    approx: &mut [f64],
    detail: Option<&mut [f64]>,
) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if let Some(cpu) = crate::cpu::Avx2Fma::detect() {
        // SAFETY: `cpu` proves that the CPU executes AVX2.
        return unsafe { level_avx2::<L>(cpu, a, low, high, split, approx, detail) };
    }
    level_body::<L>(a, low, high, split, approx, detail)
}

/// [`level_body`] compiled for AVX2. Rust never fuses a multiply and an add, so the
/// coefficients are the same bits as the baseline build.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn level_avx2<const L: usize>(
    _cpu: crate::cpu::Avx2Fma,
    a: &[f64],
    low: &[f64; L],
    high: &[f64; L],
    split: &mut Split,
    approx: &mut [f64],
    detail: Option<&mut [f64]>,
) -> f64 {
    level_body::<L>(a, low, high, split, approx, detail)
}

#[inline(always)]
fn level_body<const L: usize>(
    a: &[f64],
    low: &[f64; L],
    high: &[f64; L],
    split: &mut Split,
    approx: &mut [f64],
    mut detail: Option<&mut [f64]>,
) -> f64 {
    let count = approx.len();
    let (even, odd) = (
        &mut split.even[..a.len().div_ceil(2)],
        &mut split.odd[..a.len() / 2],
    );
    for ((e, o), pair) in even.iter_mut().zip(odd.iter_mut()).zip(a.chunks_exact(2)) {
        *e = pair[0];
        *o = pair[1];
    }
    if a.len() % 2 == 1 {
        even[a.len() / 2] = a[a.len() - 1];
    }
    let (even, odd) = (&*even, &*odd);
    let tiles = count / TILE;
    let mut lanes = [0.0f64; TILE];
    for t in 0..tiles {
        let k0 = t * TILE;
        let (mut s, mut d) = ([0.0f64; TILE], [0.0f64; TILE]);
        for m in 0..L / 2 {
            let (e, o) = (&even[k0 + m..k0 + m + TILE], &odd[k0 + m..k0 + m + TILE]);
            for i in 0..TILE {
                s[i] += e[i] * low[2 * m];
                d[i] += e[i] * high[2 * m];
            }
            for i in 0..TILE {
                s[i] += o[i] * low[2 * m + 1];
                d[i] += o[i] * high[2 * m + 1];
            }
        }
        approx[k0..k0 + TILE].copy_from_slice(&s);
        if let Some(out) = detail.as_deref_mut() {
            out[k0..k0 + TILE].copy_from_slice(&d);
        }
        for i in 0..TILE {
            lanes[i] += d[i] * d[i];
        }
    }
    let mut tail = 0.0;
    for k in tiles * TILE..count {
        let (mut s, mut d) = (0.0, 0.0);
        for m in 0..L / 2 {
            s += even[k + m] * low[2 * m];
            d += even[k + m] * high[2 * m];
            s += odd[k + m] * low[2 * m + 1];
            d += odd[k + m] * high[2 * m + 1];
        }
        approx[k] = s;
        if let Some(out) = detail.as_deref_mut() {
            out[k] = d;
        }
        tail += d * d;
    }
    lanes.iter().sum::<f64>() + tail
}

/// The size and detail energy of one octave of [`detail_energies`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OctaveEnergy {
    /// Number of boundary-free coefficients n_j.
    pub count: usize,
    /// Σ_k d_{j,k}².
    pub energy: f64,
}

/// Octave-1 coefficients computed per round of [`detail_energies`]: the round's inputs and
/// every octave's pending approximations stay in cache.
const ROUND: usize = 1024;

/// The coefficient counts and detail energies Σ_k d_{j,k}² of octaves 1 (finest) .. J of the
/// pyramid DWT without boundary extension (module formula), for every octave with at least
/// `min_coefficients` (≥ 1) coefficients: what [`details`] gives, without keeping the details.
///
/// The octaves are computed together in rounds: each round takes the next 1,024
/// coefficients of octave 1 and passes every approximation on at once to the next octave,
/// which computes all coefficients whose window is complete and keeps the rest of its input
/// (fewer than L values) for the next round. The series is read once; no approximation
/// leaves the cache.
///
/// # Complexity
///
/// O(n L) time, O((1,024 + L) log n) memory.
///
/// # Errors
///
/// `insufficient_data` when not even octave 1 has `min_coefficients` coefficients.
///
/// # Examples
///
/// ```
/// use lrdbench_numerics::dwt::{detail_energies, Daubechies};
/// // Orthonormal filters keep white noise's energy per coefficient at about 1.
/// let mut s = 1u64;
/// let x: Vec<f64> = (0..4096)
///     .map(|_| {
///         s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
///         ((s >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 12f64.sqrt()
///     })
///     .collect();
/// let e = detail_energies(&x, Daubechies::new(4).unwrap(), 8).unwrap();
/// assert_eq!(e[0].count, 2045);
/// assert!((e[0].energy / e[0].count as f64 - 1.0).abs() < 0.1);
/// ```
pub fn detail_energies(
    x: &[f64],
    bank: &Daubechies,
    min_coefficients: usize,
) -> Result<Vec<OctaveEnergy>, PluginError> {
    let min = min_coefficients.max(1);
    let l = bank.len();
    let mut out: Vec<OctaveEnergy> = Vec::new();
    let mut len = x.len();
    while step_count(len, l) >= min {
        len = step_count(len, l);
        out.push(OctaveEnergy {
            count: len,
            energy: 0.0,
        });
    }
    if out.is_empty() {
        return Err(no_octave(x.len(), bank, min));
    }
    let octaves = out.len();
    // pending[j] holds the approximations of octave j + 1 not yet consumed by octave j + 2
    // (at most round + L − 1: a round's new values plus fewer than L left over); the coarsest
    // octave's approximations go to `spill`, unused.
    let round = ROUND.min(out[0].count);
    let mut pending: Vec<(Vec<f64>, usize)> =
        (1..octaves).map(|_| (vec![0.0; round + l], 0)).collect();
    let mut spill = vec![0.0; round];
    let mut split = Split::new(2 * round + l);
    let (mut start, mut done) = (0, 0);
    while done < out[0].count {
        let m = round.min(out[0].count - done);
        let input = &x[start..start + 2 * (m - 1) + l];
        out[0].energy += match pending.first_mut() {
            Some((next, filled)) => {
                *filled += m;
                level(
                    input,
                    bank,
                    &mut split,
                    &mut next[*filled - m..*filled],
                    None,
                )
            }
            None => level(input, bank, &mut split, &mut spill[..m], None),
        };
        start += 2 * m;
        done += m;
        for j in 1..octaves {
            let (inputs, outputs) = pending.split_at_mut(j);
            let (input, len) = &mut inputs[j - 1];
            let m = step_count(*len, l);
            if m == 0 {
                break;
            }
            out[j].energy += match outputs.first_mut() {
                Some((next, filled)) => {
                    *filled += m;
                    level(
                        &input[..*len],
                        bank,
                        &mut split,
                        &mut next[*filled - m..*filled],
                        None,
                    )
                }
                // Octave j's input holds fewer than round + L values, so m ≤ round.
                None => level(&input[..*len], bank, &mut split, &mut spill[..m], None),
            };
            input.copy_within(2 * m..*len, 0);
            *len -= 2 * m;
        }
    }
    Ok(out)
}

fn no_octave(len: usize, bank: &Daubechies, min: usize) -> PluginError {
    PluginError::insufficient_data(format!(
        "a db{} transform of {len} points has no octave with {min} coefficients",
        bank.order
    ))
}

/// The detail coefficients d_1 (finest) .. d_J of the pyramid DWT without boundary extension
/// (module formula), for every octave with at least `min_coefficients` (≥ 1) coefficients.
///
/// # Complexity
///
/// O(n L) time (the octaves halve), O(n) memory.
///
/// # Errors
///
/// `insufficient_data` when not even octave 1 has `min_coefficients` coefficients.
///
/// # Examples
///
/// ```
/// use lrdbench_numerics::dwt::{details, Daubechies};
/// // A db2 wavelet has two vanishing moments: it annihilates a straight line.
/// let x: Vec<f64> = (0..64).map(|t| 3.0 + 0.5 * t as f64).collect();
/// let d = details(&x, Daubechies::new(2).unwrap(), 1).unwrap();
/// assert_eq!(d[0].len(), 31);
/// assert!(d.iter().flatten().all(|v| v.abs() < 1e-12));
/// ```
pub fn details(
    x: &[f64],
    bank: &Daubechies,
    min_coefficients: usize,
) -> Result<Vec<Vec<f64>>, PluginError> {
    let min = min_coefficients.max(1);
    let mut out = Vec::new();
    let mut current = x.to_vec();
    let mut approx = Vec::with_capacity(x.len() / 2 + 1);
    loop {
        let mut detail = Vec::new();
        analysis_step(&current, bank, &mut approx, &mut detail);
        if detail.len() < min {
            break;
        }
        out.push(detail);
        std::mem::swap(&mut current, &mut approx);
    }
    if out.is_empty() {
        return Err(no_octave(x.len(), bank, min));
    }
    Ok(out)
}

/// The equivalent filter of octave `j` ≥ 1: `d_j[k] = Σ_l ψ_j[l] x[2^j k + l]`, with
/// `ψ_j[l] = Σ_i f[i] e_{j−1}[l − 2^{j−1} i]` (f = g at the last step, h before; e_0 = δ).
/// Length (L − 1)(2^j − 1) + 1.
pub fn equivalent_detail_filter(bank: &Daubechies, j: usize) -> Vec<f64> {
    let mut eq = vec![1.0];
    for level in 1..=j {
        let f = if level == j { &bank.high } else { &bank.low };
        let step = 1usize << (level - 1);
        let mut next = vec![0.0; eq.len() + step * (f.len() - 1)];
        for (i, fi) in f.iter().enumerate() {
            for (l, e) in eq.iter().enumerate() {
                next[l + step * i] += fi * e;
            }
        }
        eq = next;
    }
    eq
}

/// Octaves for which [`detail_autocorrelation`] is tabulated.
pub const MAX_TABULATED_OCTAVE: usize = 8;

/// The autocorrelation `r_j(k) = Σ_l ψ_j[l] ψ_j[l + k]`, k = 0..len(ψ_j) − 1, of the octave-j
/// detail filter, for 1 ≤ j ≤ [`MAX_TABULATED_OCTAVE`]: the variance of a detail coefficient
/// of a stationary series with autocovariance γ is E d_j² = γ(0) r_j(0) + 2 Σ_{k≥1} γ(k) r_j(k).
/// Computed once per process and order (O(ℓ²) with ℓ ≤ 15·255 + 1).
///
/// # Errors
///
/// `parameter` for an order outside db2–db8 or j outside 1..=8.
pub fn detail_autocorrelation(order: usize, j: usize) -> Result<&'static [f64], PluginError> {
    static TABLES: [OnceLock<Vec<Vec<f64>>>; MAX_ORDER - MIN_ORDER + 1] =
        [const { OnceLock::new() }; MAX_ORDER - MIN_ORDER + 1];
    let bank = Daubechies::new(order)?;
    if !(1..=MAX_TABULATED_OCTAVE).contains(&j) {
        return Err(PluginError::parameter(format!(
            "detail autocorrelations are tabulated for octaves 1 to {MAX_TABULATED_OCTAVE}, got {j}"
        )));
    }
    let table = TABLES[order - MIN_ORDER].get_or_init(|| {
        (1..=MAX_TABULATED_OCTAVE)
            .map(|j| {
                let psi = equivalent_detail_filter(bank, j);
                (0..psi.len())
                    .map(|k| {
                        psi[..psi.len() - k]
                            .iter()
                            .zip(&psi[k..])
                            .map(|(a, b)| a * b)
                            .sum()
                    })
                    .collect()
            })
            .collect()
    });
    Ok(&table[j - 1])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn db2_matches_closed_form() {
        let s3 = 3f64.sqrt();
        let d = 4.0 * 2f64.sqrt();
        let want = [
            (1.0 + s3) / d,
            (3.0 + s3) / d,
            (3.0 - s3) / d,
            (1.0 - s3) / d,
        ];
        let got = &Daubechies::new(2).unwrap().low;
        for (a, b) in got.iter().zip(want) {
            assert!((a - b).abs() < 1e-14, "{a} vs {b}");
        }
    }

    #[test]
    fn db4_matches_daubechies_table() {
        // Daubechies (1992), Ten Lectures on Wavelets, Table 6.1 (N = 4), normalised Σh = √2;
        // the table has 16 significant digits, so 1e-12 leaves room for its own rounding.
        let want = [
            0.230_377_813_308_896_4,
            0.714_846_570_552_915_4,
            0.630_880_767_929_858_7,
            -0.027_983_769_416_859_9,
            -0.187_034_811_719_093_1,
            0.030_841_381_835_560_7,
            0.032_883_011_666_885_2,
            -0.010_597_401_785_069_0,
        ];
        let got = &Daubechies::new(4).unwrap().low;
        for (a, b) in got.iter().zip(want) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }

    #[test]
    fn filters_are_orthonormal_with_n_vanishing_moments() {
        for order in MIN_ORDER..=MAX_ORDER {
            let f = Daubechies::new(order).unwrap();
            let l = f.len();
            assert_eq!(l, 2 * order);
            for shift in 0..order {
                let dot: f64 = (0..l - 2 * shift)
                    .map(|k| f.low[k] * f.low[k + 2 * shift])
                    .sum();
                let want = if shift == 0 { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-13, "db{order} shift {shift}: {dot}");
            }
            for p in 0..order as i32 {
                let m: f64 = f
                    .high
                    .iter()
                    .enumerate()
                    .map(|(k, g)| (k as f64).powi(p) * g)
                    .sum();
                let scale: f64 = f
                    .high
                    .iter()
                    .enumerate()
                    .map(|(k, g)| ((k as f64).powi(p) * g).abs())
                    .sum();
                assert!(m.abs() < 1e-12 * scale, "db{order} moment {p}: {m}");
            }
        }
    }

    #[test]
    fn pyramid_matches_direct_convolution_to_1e9_relative() {
        let mut s = 12345u64;
        let x: Vec<f64> = (0..3001)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
            })
            .collect();
        for order in [2, 5, 8] {
            let bank = Daubechies::new(order).unwrap();
            let d = details(&x, bank, 1).unwrap();
            for (j0, dj) in d.iter().enumerate() {
                let j = j0 + 1;
                let eq = equivalent_detail_filter(bank, j);
                let count = (x.len() - eq.len()) / (1 << j) + 1;
                assert_eq!(dj.len(), count, "db{order} octave {j}");
                let scale = dj.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                for (k, v) in dj.iter().enumerate() {
                    let direct: f64 = eq
                        .iter()
                        .enumerate()
                        .map(|(l, e)| e * x[(k << j) + l])
                        .sum();
                    assert!((v - direct).abs() <= 1e-9 * scale, "db{order} j={j} k={k}");
                }
            }
        }
    }

    #[test]
    fn dispatched_step_is_bitwise_the_baseline_build() {
        // The AVX2 build must give the same bits as the portable one (no fused operations);
        // on a machine without AVX2 both calls take the portable path and agree trivially.
        fn check<const L: usize>(x: &[f64]) {
            let bank = Daubechies::new(L / 2).unwrap();
            let (Ok(low), Ok(high)) = (
                <&[f64; L]>::try_from(bank.low.as_slice()),
                <&[f64; L]>::try_from(bank.high.as_slice()),
            ) else {
                panic!("db{} has {L} taps", L / 2)
            };
            let count = step_count(x.len(), L);
            let mut split = Split::new(x.len());
            let (mut a1, mut d1) = (vec![0.0; count], vec![0.0; count]);
            let (mut a2, mut d2) = (vec![0.0; count], vec![0.0; count]);
            let e1 = level_body::<L>(x, low, high, &mut split, &mut a1, Some(&mut d1));
            let e2 = level(x, bank, &mut split, &mut a2, Some(&mut d2));
            assert_eq!(e1.to_bits(), e2.to_bits(), "db{}", L / 2);
            assert!(a1.iter().zip(&a2).all(|(p, q)| p.to_bits() == q.to_bits()));
            assert!(d1.iter().zip(&d2).all(|(p, q)| p.to_bits() == q.to_bits()));
        }
        let x: Vec<f64> = (0..1001)
            .map(|i| ((i * 7919) % 1013) as f64 / 1013.0 - 0.5)
            .collect();
        check::<4>(&x);
        check::<8>(&x);
        check::<16>(&x);
        check::<10>(&x[..1000]);
    }

    #[test]
    fn energies_match_the_stored_details() {
        // The rounds must give every octave's coefficients exactly once: the counts equal and
        // the energies agree with Σ d² over `details` to summation-order rounding (each
        // coefficient is the same bits; only the order of the sum differs, ~n ε relative).
        let mut s = 99u64;
        let mut next = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        // Lengths around the round size and its multiples, odd and even.
        for len in [
            33,
            1000,
            2 * ROUND + 5,
            2 * ROUND + 6,
            4 * ROUND + 17,
            5000,
            40_001,
        ] {
            let x: Vec<f64> = (0..len).map(|_| next()).collect();
            for order in MIN_ORDER..=MAX_ORDER {
                let bank = Daubechies::new(order).unwrap();
                for min in [1, 4] {
                    let (Ok(d), Ok(e)) = (details(&x, bank, min), detail_energies(&x, bank, min))
                    else {
                        assert!(details(&x, bank, min).is_err());
                        assert!(detail_energies(&x, bank, min).is_err());
                        continue;
                    };
                    assert_eq!(d.len(), e.len(), "len {len} db{order} min {min}");
                    for (j, (dj, ej)) in d.iter().zip(&e).enumerate() {
                        let want: f64 = dj.iter().map(|v| v * v).sum();
                        assert_eq!(dj.len(), ej.count, "len {len} db{order} octave {}", j + 1);
                        assert!(
                            (ej.energy - want).abs() <= 1e-12 * want,
                            "len {len} db{order} octave {}: {} vs {want}",
                            j + 1,
                            ej.energy
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn detail_autocorrelation_gives_white_noise_variance_one() {
        // Orthonormal filters: for white noise (γ = δ) every detail has variance r_j(0) = 1,
        // and the pyramid's coefficients of unit white noise have mean square ≈ 1.
        for order in [2, 4, 8] {
            for j in 1..=MAX_TABULATED_OCTAVE {
                let r = detail_autocorrelation(order, j).unwrap();
                assert!((r[0] - 1.0).abs() < 1e-12, "db{order} j={j}: {}", r[0]);
            }
        }
        assert!(detail_autocorrelation(4, 9).is_err());
    }

    #[test]
    fn bad_orders_and_short_series_are_typed_errors() {
        assert!(Daubechies::new(1).is_err());
        assert!(Daubechies::new(9).is_err());
        let bank = Daubechies::new(8).unwrap();
        assert!(details(&[1.0; 10], bank, 1).is_err());
    }
}
