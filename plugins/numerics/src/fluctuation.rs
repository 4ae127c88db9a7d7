//! The detrended-fluctuation core shared by DFA, the variance of residuals and MFDFA: the
//! residual variance of a polynomial fit of the profile in each box of a given size.
//!
//! Two paths compute the same quantity:
//! - order 1 uses exact integer prefix sums of a fixed-point copy of y: Σy, Σj·y and Σy² are
//!   formed (wrapping, so exactly) in i128 at every 8th position, and a box's sums come from
//!   two of these checkpoints plus at most 7 terms each. One sweep serves the whole ladder:
//!   tile by tile (8,192 points), the tile's checkpoints are built and every box size takes
//!   its boxes from them while they are in cache, so the ladder costs O(n + Σ n/s) time and
//!   no memory beyond the profile;
//! - orders 2 and 3 (and the reference for order 1) fit each box directly against an
//!   orthonormal polynomial basis, in two passes (mean, then residuals), O(s·order) per box.
//!
//! # Formula
//!
//! ```text
//! y_j        profile, j = 0..n−1 (cumulative sum of x − x̄)
//! box v      indices a_v .. a_v + s − 1 (forward boxes from the start; "both" adds boxes laid
//!            from the end, Kantelhardt et al. 2002)
//! F²(v, s)   = (1/s) Σ_{j in box} (y_j − p_v(j))²,  p_v the least-squares polynomial of the order
//! order 1:   with t = j − c, c the box centre, S_tt = s(s²−1)/12,
//!            s·F² = Σy² − (Σy)²/s − (Σ t·y)² / S_tt,   Σ t·y = Σ j·y − c·Σ y
//! ```
//!
//! # Reference
//!
//! Peng et al. (1994), Phys. Rev. E 49, 1685; Kantelhardt et al. (2002), Physica A 316, 87,
//! eqs. 1–4.
//!
//! # Accuracy
//!
//! The profile less its mid-range is scaled by a power of two so that its largest magnitude
//! has 53 bits (fewer, by ⌈(log₂ n − 20)/2⌉ bits, beyond n = 2^20, so that no box sum can
//! overflow i128) and truncated to integers: values in the upper octave are exact, smaller
//! ones are off by less than one ulp of the half-range. Every box sum is then exact, and so
//! are the box-centred sums Σ(y − r)² and Σ(j − c)·y about an integer r near the box mean
//! (wrapping arithmetic is exact when the true result fits, which the scaling guarantees), so
//! the profile's level (∝ n^H, or any offset) costs no precision beyond that one rounding.
//! Only the last step, RSS = M₂ − (Σ t·y)²/S_tt, cancels when a line explains most of the
//! box's variance; it is taken in f64 when the cancellation is below 2^8 and in double-double
//! otherwise, so F² keeps about 1e-13 relative accuracy; `fast_linear_matches_direct_at_large_n`
//! measures it against the direct fit at n = 2^20 (bound 1e-11).

use lrdbench_plugin_api::PluginError;

use crate::prefix::Dd;

/// Which boxes of size s are laid over the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segments {
    /// ⌊n/s⌋ boxes from the start (the remainder at the end is unused): lrdbench, fathon.
    Forward,
    /// The forward boxes plus ⌊n/s⌋ boxes laid from the end, so no point is left out.
    Both,
}

/// The polynomial order of the detrending fit (1 = linear, as in DFA-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Order(usize);

impl Order {
    /// An order from 1 to 3.
    ///
    /// # Errors
    ///
    /// `parameter` outside 1..=3.
    pub fn new(order: usize) -> Result<Order, PluginError> {
        if (1..=3).contains(&order) {
            Ok(Order(order))
        } else {
            Err(PluginError::parameter(format!(
                "the detrending order must be 1, 2 or 3, got {order}"
            )))
        }
    }

    /// The order as a number.
    pub fn get(self) -> usize {
        self.0
    }
}

/// A profile prepared for box fits of one order.
#[derive(Debug, Clone)]
pub struct Detrender {
    y: Vec<f64>,
    order: Order,
    fast: Option<FixedPoint>,
}

impl Detrender {
    /// Prepares `profile` (already the cumulative sum) for fits of `order`. Order 1 chooses
    /// the fixed-point scaling (one O(n) pass); the sums themselves are formed per sweep.
    pub fn new(profile: Vec<f64>, order: Order) -> Detrender {
        let fast = (order.0 == 1).then(|| FixedPoint::new(&profile));
        Detrender {
            y: profile,
            order,
            fast,
        }
    }

    /// The profile.
    pub fn profile(&self) -> &[f64] {
        &self.y
    }

    /// Calls `visit(i, F²(v, s))` for every box v of every size `s = scales[i]` with
    /// `order + 2 ≤ s ≤ n` (other sizes give nothing), in no particular order.
    ///
    /// Order 1 sweeps the profile once for the whole ladder, tile by tile, so each tile's
    /// checkpoints are built and used while in cache: O(n + Σ n/s) time, O(1) memory beyond
    /// the profile. Orders 2–3 fit each box directly.
    pub fn for_each_box(
        &self,
        scales: &[usize],
        segments: Segments,
        mut visit: impl FnMut(usize, f64),
    ) {
        self.sweep(scales, segments, |i, _, f2| visit(i, f2));
    }

    /// Appends F²(v, s) of every box of size `s` to `out`: the forward boxes from the start,
    /// then (for [`Segments::Both`]) the boxes laid from the end, in increasing position.
    /// Requires `order + 2 ≤ s ≤ n`; other sizes give nothing.
    pub fn box_variances(&self, s: usize, segments: Segments, out: &mut Vec<f64>) {
        let mut back = Vec::new();
        self.sweep(&[s], segments, |_, backward, f2| {
            if backward {
                back.push(f2);
            } else {
                out.push(f2);
            }
        });
        out.extend(back);
    }

    /// As [`Self::box_variances`] but always by the direct per-box fit (the reference path).
    pub fn box_variances_direct(&self, s: usize, segments: Segments, out: &mut Vec<f64>) {
        let n = self.y.len();
        if s < self.order.0 + 2 || s > n {
            return;
        }
        let basis = Basis::new(s, self.order.0);
        for a in box_starts(n, s, segments) {
            out.push(basis.rss(&self.y[a..a + s]) / s as f64);
        }
    }

    /// Visits (scale index, laid from the end, F²) of every box.
    fn sweep(&self, scales: &[usize], segments: Segments, mut visit: impl FnMut(usize, bool, f64)) {
        let n = self.y.len();
        let usable = |s: usize| s >= self.order.0 + 2 && s <= n;
        match &self.fast {
            Some(fp) => fp.sweep(&self.y, scales, segments, usable, visit),
            None => {
                for (i, &s) in scales.iter().enumerate().filter(|(_, s)| usable(**s)) {
                    let basis = Basis::new(s, self.order.0);
                    let forward = n / s;
                    for (v, a) in box_starts(n, s, segments).enumerate() {
                        visit(i, v >= forward, basis.rss(&self.y[a..a + s]) / s as f64);
                    }
                }
            }
        }
    }
}

/// Starts of the boxes of size s: forward from 0, then (both) from n mod s upwards.
fn box_starts(n: usize, s: usize, segments: Segments) -> impl Iterator<Item = usize> {
    let boxes = n / s;
    let back = match segments {
        Segments::Forward => 0,
        Segments::Both => boxes,
    };
    (0..boxes)
        .map(move |v| v * s)
        .chain((0..back).map(move |v| n % s + v * s))
}

/// Distance between the integer checkpoints of a sweep.
const STRIDE: usize = 8;

/// Positions per tile of a sweep: the tile's profile (64 KiB) and checkpoints (48 KiB) stay
/// in cache while every box size uses them.
const TILE: usize = 8192;

/// Σ y, Σ j·y and Σ y² over a prefix of the fixed-point profile, modulo 2^128.
type Sums = [i128; 3];

/// The fixed-point representation of a profile (see the module's *Accuracy* section).
#[derive(Debug, Clone)]
struct FixedPoint {
    /// The mid-range of the profile, subtracted before scaling.
    mid: f64,
    /// 2^e: (profile value − mid) × scale, truncated, is the fixed-point value.
    scale: f64,
    /// 2^−e.
    inv_scale: f64,
}

/// One arithmetic progression of box boundaries (one box size, forward or from the end).
struct Stream {
    scale: usize,
    backward: bool,
    size: BoxSize,
    /// Next boundary to visit, and the last one.
    next: usize,
    last: usize,
    /// Sums at the previous boundary, once one was visited.
    prev: Option<Sums>,
}

impl FixedPoint {
    fn new(y: &[f64]) -> FixedPoint {
        // Values are quantized about the mid-range, so an offset costs no bits (box residuals
        // do not depend on a constant shift). y − mid is exact when both are within a factor
        // 2 of each other (Sterbenz), and otherwise rounded to below the quantum.
        let (lo, hi) = y
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(*v), b.max(*v))
            });
        let mid = if y.is_empty() {
            0.0
        } else {
            0.5 * lo + 0.5 * hi
        };
        // Rounded subtraction is monotone, so the extremes bound every |y − mid|.
        let max = if y.is_empty() {
            0.0
        } else {
            (lo - mid).abs().max((hi - mid).abs())
        };
        // Bits of head-room beyond n = 2^20: a box of s points has Σ(y − ȳ)² ≤ s·range²/4,
        // which must stay below 2^126 (range < 2^(54 − guard)).
        let log2n = (usize::BITS - y.len().saturating_sub(1).leading_zeros()) as i32;
        let guard = ((log2n - 20).max(0) + 1) / 2;
        // max ∈ [2^k, 2^(k+1)) → max·2^e < 2^(53 − guard). The clamp keeps 2^±e finite and
        // normal; it binds only for profiles beyond 1e±250.
        let k = if max > 0.0 {
            ((max.to_bits() >> 52) & 0x7ff) as i32 - 1023
        } else {
            0
        };
        let e = (52 - guard - k).clamp(-900, 900);
        let scale = 2f64.powi(e);
        FixedPoint {
            mid,
            scale,
            inv_scale: 1.0 / scale,
        }
    }

    /// The fixed-point value of a profile value. Exact: |(v − mid)·scale| < 2^53 by the
    /// choice of scale, and scaling by 2^e is exact.
    #[inline(always)]
    fn quantize(&self, v: f64) -> i64 {
        ((v - self.mid) * self.scale) as i64
    }

    fn sweep(
        &self,
        y: &[f64],
        scales: &[usize],
        segments: Segments,
        usable: impl Fn(usize) -> bool,
        mut visit: impl FnMut(usize, bool, f64),
    ) {
        let n = y.len();
        let mut streams = Vec::with_capacity(2 * scales.len());
        for (i, &s) in scales.iter().enumerate().filter(|(_, s)| usable(**s)) {
            let boxes = n / s;
            let mut add = |first: usize, backward: bool| {
                streams.push(Stream {
                    scale: i,
                    backward,
                    size: BoxSize::new(s),
                    next: first,
                    last: first + boxes * s,
                    prev: None,
                })
            };
            add(0, false);
            if segments == Segments::Both {
                add(n % s, true);
            }
        }
        let unit = self.inv_scale * self.inv_scale;
        let mut checkpoints: Vec<Sums> = Vec::with_capacity(TILE / STRIDE + 1);
        let mut q: Vec<i64> = Vec::with_capacity(TILE);
        let mut acc: Sums = [0; 3];
        let mut t0 = 0;
        loop {
            let t1 = (t0 + TILE).min(n);
            q.clear();
            q.extend(y[t0..t1].iter().map(|v| self.quantize(*v)));
            checkpoints.clear();
            checkpoints.push(acc);
            for (c, chunk) in q.chunks_exact(STRIDE).enumerate() {
                let d = partial(chunk);
                add_partial(&mut acc, d, t0 + c * STRIDE);
                checkpoints.push(acc);
            }
            for st in streams.iter_mut() {
                while st.next <= t1 && st.next <= st.last {
                    let p = st.next;
                    // The nearest checkpoint, plus or minus at most STRIDE/2 terms.
                    let k = (p - t0) / STRIDE;
                    let base = t0 + k * STRIDE;
                    let cur = if p - base <= STRIDE / 2 || k + 1 == checkpoints.len() {
                        let mut cur = checkpoints[k];
                        add_partial(&mut cur, partial(&q[base - t0..p - t0]), base);
                        cur
                    } else {
                        let mut cur = checkpoints[k + 1];
                        let d = partial(&q[p - t0..base + STRIDE - t0]);
                        add_partial(&mut cur, [-d[0], -d[1], -d[2]], p);
                        cur
                    };
                    if let Some(prev) = st.prev {
                        let s = st.size.s;
                        let rss = linear_rss(prev, cur, p - s, st.size);
                        visit(st.scale, st.backward, rss * unit * st.size.inv_s);
                    }
                    st.prev = Some(cur);
                    st.next += st.size.s;
                }
            }
            if t1 == n {
                break;
            }
            t0 = t1;
        }
    }
}

/// Σ q, Σ i·q (i the offset in the run) and Σ q² of a run of at most [`STRIDE`] fixed-point
/// values: the first two fit i64 (|q| < 2^53, i < 8), the squares need i128.
#[inline(always)]
fn partial(q: &[i64]) -> [i128; 3] {
    let (mut s0, mut s1, mut s2) = (0i64, 0i64, 0i128);
    for (i, v) in q.iter().enumerate() {
        s0 += v;
        s1 += i as i64 * v;
        s2 += *v as i128 * *v as i128;
    }
    [s0 as i128, s1 as i128, s2]
}

/// Adds a run's partial sums, the run starting at position `start`: Σ j·q = start·Σq + Σ i·q.
#[inline(always)]
fn add_partial(acc: &mut Sums, d: [i128; 3], start: usize) {
    acc[0] = acc[0].wrapping_add(d[0]);
    acc[1] = acc[1]
        .wrapping_add((start as i128).wrapping_mul(d[0]))
        .wrapping_add(d[1]);
    acc[2] = acc[2].wrapping_add(d[2]);
}

/// Per-box-size constants of [`linear_rss`].
#[derive(Clone, Copy)]
struct BoxSize {
    s: usize,
    inv_s: f64,
    stt: f64,
    inv_stt: f64,
}

impl BoxSize {
    fn new(s: usize) -> BoxSize {
        // S_tt = Σ (j − c)² over the box = s(s² − 1)/12.
        let stt = (s as f64) * ((s * s - 1) as f64) / 12.0;
        BoxSize {
            s,
            inv_s: 1.0 / s as f64,
            stt,
            inv_stt: 1.0 / stt,
        }
    }
}

/// An i128 to the nearest f64 or one ulp off, without the library call of `as f64`.
#[inline(always)]
fn i128_to_f64(v: i128) -> f64 {
    const TWO64: f64 = 18_446_744_073_709_551_616.0;
    let small = v as i64;
    if small as i128 == v {
        return small as f64;
    }
    // |v| ≥ 2^63: the low word's rounding (≤ 2^11) is below one ulp of the result.
    // Not `mul_add`: without the fma target feature that is a library call too.
    (v >> 64) as i64 as f64 * TWO64 + v as u64 as f64
}

/// The residual sum of squares of the line fit over the box [a, a + s), in fixed-point
/// units², from the prefix sums at both ends.
#[inline(always)]
fn linear_rss(lo: Sums, hi: Sums, a: usize, b: BoxSize) -> f64 {
    let s1 = hi[0].wrapping_sub(lo[0]);
    let sj = hi[1].wrapping_sub(lo[1]);
    let s2 = hi[2].wrapping_sub(lo[2]);
    let s = b.s;
    // r within one of the box mean: Σ(y − r)² then exceeds M₂ by at most s, nothing against
    // M₂ itself unless the box is flat to within the quantum. |s1| < s·2^53 fits the f64
    // quotient's truncation.
    let r = (i128_to_f64(s1) * b.inv_s) as i64 as i128;
    let t1 = s1.wrapping_sub(r.wrapping_mul(s as i128));
    // Σ(y − r)² = Σy² − 2rΣy + s·r² = Σy² − r·(Σy + t1); exact mod 2^128, and the true
    // value fits (module docs), so exact.
    let t2 = s2.wrapping_sub(r.wrapping_mul(s1.wrapping_add(t1)));
    // 2·Σ(j − c)·y with c = a + (s − 1)/2 the box centre; Σ(j − c) = 0, so r drops out.
    let tj2 = sj
        .wrapping_mul(2)
        .wrapping_sub(((2 * a + s - 1) as i128).wrapping_mul(s1));
    let (t1f, t2f, tjf) = (t1 as i64 as f64, i128_to_f64(t2), i128_to_f64(tj2) * 0.5);
    let m2 = t2f - t1f * t1f * b.inv_s;
    let rss = m2 - tjf * tjf * b.inv_stt;
    // f64 rounding in the two subtractions is a few ulp of M₂: below 2^-44 relative to RSS
    // when the cancellation is under 2^8; otherwise redo the last steps in double-double.
    if rss > m2 * (1.0 / 256.0) {
        return rss;
    }
    let dd = |v: i128| {
        let hi = i128_to_f64(v);
        Dd {
            hi,
            lo: i128_to_f64(v.wrapping_sub(hi as i128)),
        }
    };
    let m2 = dd(t2).sub(Dd::prod(t1f, t1f).div_f64(s as f64));
    let tj = dd(tj2).mul_f64(0.5);
    m2.sub(tj.mul(tj).div_f64(b.stt)).to_f64().max(0.0)
}

/// An orthonormal polynomial basis (degrees 1..=order) on s equispaced points, built by
/// modified Gram–Schmidt twice over on centred, scaled abscissae.
struct Basis {
    s: usize,
    vecs: Vec<Vec<f64>>,
}

impl Basis {
    fn new(s: usize, order: usize) -> Basis {
        let half = (s as f64 - 1.0) * 0.5;
        let scale = half.max(1.0);
        let mut vecs: Vec<Vec<f64>> = Vec::with_capacity(order);
        let inv_sqrt_s = 1.0 / (s as f64).sqrt();
        for d in 1..=order {
            let mut v: Vec<f64> = (0..s)
                .map(|i| ((i as f64 - half) / scale).powi(d as i32))
                .collect();
            for _ in 0..2 {
                let m = v.iter().sum::<f64>() / s as f64;
                v.iter_mut().for_each(|x| *x -= m);
                for u in &vecs {
                    let dot: f64 = u.iter().zip(&v).map(|(a, b)| a * b).sum();
                    v.iter_mut().zip(u).for_each(|(x, ui)| *x -= dot * ui);
                }
            }
            let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            v.iter_mut().for_each(|x| *x /= norm);
            vecs.push(v);
        }
        let _ = inv_sqrt_s;
        Basis { s, vecs }
    }

    /// Residual sum of squares of the least-squares fit of `z` (two passes: mean, residuals).
    fn rss(&self, z: &[f64]) -> f64 {
        debug_assert_eq!(z.len(), self.s);
        let mean = z.iter().sum::<f64>() / self.s as f64;
        let mut coef = [0.0f64; 3];
        for (k, u) in self.vecs.iter().enumerate() {
            coef[k] = u.iter().zip(z).map(|(a, b)| a * (b - mean)).sum();
        }
        let mut rss = 0.0;
        for i in 0..self.s {
            let mut r = z[i] - mean;
            for (k, u) in self.vecs.iter().enumerate() {
                r -= coef[k] * u[i];
            }
            rss += r * r;
        }
        rss
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::ladder::geometric;
    use crate::prefix::profile;

    /// A reproducible white-noise-like series (splitmix64 → uniform → centred).
    fn noise(n: usize, seed: u64) -> Vec<f64> {
        let mut z = seed;
        (0..n)
            .map(|_| {
                z = z.wrapping_add(0x9E3779B97F4A7C15);
                let mut x = z;
                x = (x ^ (x >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
                x = (x ^ (x >> 27)).wrapping_mul(0x94D049BB133111EB);
                x ^= x >> 31;
                (x >> 11) as f64 / (1u64 << 53) as f64 - 0.5
            })
            .collect()
    }

    fn max_rel(a: &[f64], b: &[f64]) -> f64 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(u, v)| (u - v).abs() / v.abs().max(1e-300))
            .fold(0.0, f64::max)
    }

    /// Worst relative difference between the fast and the direct box variances at scale `s`.
    fn fast_vs_direct(d: &Detrender, s: usize, seg: Segments) -> f64 {
        let (mut f, mut r) = (Vec::new(), Vec::new());
        d.box_variances(s, seg, &mut f);
        d.box_variances_direct(s, seg, &mut r);
        max_rel(&f, &r)
    }

    #[test]
    fn fast_linear_matches_direct_on_random_data() {
        // The issue's exactness bound for fast paths: 1e-9 relative, box by box.
        let y = profile(&noise(5000, 7));
        let d = Detrender::new(y, Order::new(1).unwrap());
        for s in geometric(3, 2500, 1.3).unwrap() {
            for seg in [Segments::Forward, Segments::Both] {
                let err = fast_vs_direct(&d, s, seg);
                assert!(err < 1e-9, "s={s}: {err}");
            }
        }
    }

    #[test]
    fn fast_linear_matches_direct_at_large_n() {
        // A profile with a level far above its in-box spread: a random walk of 2^20 steps with
        // drift, plus an offset of 1e6. Plain f64 prefix sums lose about 5 digits here (4.7e-5
        // relative at n = 2^20, see `crate::prefix`); the fixed-point path must stay near f64 round-off. The direct
        // per-box two-pass fit is the reference; both see the same rounded profile, and 1e-11
        // leaves room for the direct fit's own O(s·ε) rounding at the largest boxes.
        let n = 1 << 20;
        let x: Vec<f64> = noise(n, 11).iter().map(|v| v + 0.01).collect();
        let mut y = profile(&x);
        y.iter_mut()
            .enumerate()
            .for_each(|(j, v)| *v += 1e6 + 0.3 * j as f64);
        let d = Detrender::new(y, Order::new(1).unwrap());
        let mut worst = 0.0f64;
        for s in geometric(16, n / 4, 1.25).unwrap() {
            worst = worst.max(fast_vs_direct(&d, s, Segments::Forward));
        }
        assert!(worst < 1e-11, "worst relative error {worst}");
    }

    #[test]
    fn extreme_range_beyond_2_pow_20_does_not_overflow() {
        // The worst case for the i128 sums: a square wave between −max and +max (every point
        // at the full range from the box mean) in one box of nearly n = 2^21 points, where
        // the head-room bit must keep Σ(y − r)² below 2^127. Checked against the direct fit,
        // 1e-9 (the issue's bound for fast paths).
        let n = (1 << 21) + 3;
        let y: Vec<f64> = (0..n)
            .map(|j| if (j / 1000) % 2 == 0 { 3e10 } else { -3e10 })
            .collect();
        let d = Detrender::new(y, Order::new(1).unwrap());
        for s in [n, n / 2, n / 3, 2000, 16] {
            for seg in [Segments::Forward, Segments::Both] {
                let err = fast_vs_direct(&d, s, seg);
                assert!(err < 1e-9, "s={s}: {err}");
            }
        }
    }

    #[test]
    fn plain_f64_prefix_sums_fail_the_large_n_bound() {
        // The same data as above through plain f64 prefix sums of y, j·y and y²: this is the
        // shortcut the fixed-point path replaces, and it must miss the 1e-11 bound by orders
        // of magnitude (else the large-n test above would not be discriminating).
        let n = 1 << 20;
        let x: Vec<f64> = noise(n, 11).iter().map(|v| v + 0.01).collect();
        let mut y = profile(&x);
        y.iter_mut()
            .enumerate()
            .for_each(|(j, v)| *v += 1e6 + 0.3 * j as f64);
        let (mut py, mut pjy, mut pyy) = (vec![0.0], vec![0.0], vec![0.0]);
        for (j, v) in y.iter().enumerate() {
            py.push(py[j] + v);
            pjy.push(pjy[j] + j as f64 * v);
            pyy.push(pyy[j] + v * v);
        }
        let s = 16usize;
        let stt = (s * (s * s - 1)) as f64 / 12.0;
        let d = Detrender::new(y, Order::new(1).unwrap());
        let mut r = Vec::new();
        d.box_variances_direct(s, Segments::Forward, &mut r);
        let mut worst = 0.0f64;
        for (v, reference) in r.iter().enumerate() {
            let (a, b) = (v * s, (v + 1) * s);
            let sy = py[b] - py[a];
            let c = a as f64 + (s as f64 - 1.0) / 2.0;
            let sty = (pjy[b] - pjy[a]) - c * sy;
            let rss = (pyy[b] - pyy[a]) - sy * sy / s as f64 - sty * sty / stt;
            worst = worst.max((rss / s as f64 - reference).abs() / reference);
        }
        assert!(
            worst > 1e-6,
            "plain prefix sums unexpectedly accurate: {worst}"
        );
    }

    #[test]
    fn direct_removes_polynomials_of_its_order() {
        // A cubic has zero residual under order-3 detrending but not under order 2.
        let y: Vec<f64> = (0..64)
            .map(|j| {
                let t = j as f64;
                1.0 + 0.5 * t - 0.01 * t * t + 1e-4 * t * t * t
            })
            .collect();
        let (mut o3, mut o2) = (Vec::new(), Vec::new());
        Detrender::new(y.clone(), Order::new(3).unwrap()).box_variances(
            32,
            Segments::Forward,
            &mut o3,
        );
        Detrender::new(y, Order::new(2).unwrap()).box_variances(32, Segments::Forward, &mut o2);
        assert!(o3.iter().all(|v| *v < 1e-20), "{o3:?}");
        assert!(o2.iter().all(|v| *v > 1e-12), "{o2:?}");
    }

    #[test]
    fn order_outside_one_to_three_is_parameter_error() {
        assert!(Order::new(0).is_err() && Order::new(4).is_err());
    }
}
