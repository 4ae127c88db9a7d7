//! Compensated (double-double) prefix sums, for box statistics from O(1) differences without
//! the cancellation of plain f64 prefix sums.
//!
//! A box statistic such as Σ y² over a window of a profile is a difference of two prefix sums
//! that are each far larger than the result (the profile of long-memory data grows like n^H).
//! In plain f64 the difference keeps only the bits that survive that ratio: for DFA-1 at
//! n = 2^20 the fluctuation function came out up to 4.7e-5 relative off (measured on fGn with
//! the 44-scale ladder 16, ×1.25, up to n/4; see `fluctuation`'s `fast_linear_matches_direct_at_large_n`).
//! Here each prefix sum is an unevaluated pair `hi + lo` (about 106 bits), each term is formed
//! exactly (`two_prod` by fused multiply-add), and box differences are taken in double-double,
//! so the result is accurate to about 1e-15 relative unless the cancellation exceeds 2^50.
//!
//! # Reference
//!
//! Dekker (1971), "A floating-point technique for extending the available precision",
//! Numer. Math. 18; Ogita, Rump & Oishi (2005), "Accurate sum and dot product", SIAM J. Sci.
//! Comput. 26(6) (TwoSum, TwoProduct).

/// A double-double number `hi + lo` with `|lo| ≤ ulp(hi)/2`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Dd {
    /// Leading part.
    pub hi: f64,
    /// Trailing part.
    pub lo: f64,
}

#[inline(always)]
fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

#[inline(always)]
fn fast_two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    (s, b - (s - a))
}

impl Dd {
    /// The exact value of an f64.
    #[inline(always)]
    pub fn from_f64(x: f64) -> Dd {
        Dd { hi: x, lo: 0.0 }
    }

    /// The exact product `a · b` (TwoProduct): by fused multiply-add where the target has it,
    /// otherwise by Dekker's splitting, which stays inline (without the `fma` target feature
    /// `f64::mul_add` is a library call) and is exact for |a|, |b| below 2^995.
    #[inline(always)]
    pub fn prod(a: f64, b: f64) -> Dd {
        let p = a * b;
        #[cfg(target_feature = "fma")]
        let lo = a.mul_add(b, -p);
        #[cfg(not(target_feature = "fma"))]
        let lo = {
            const SPLIT: f64 = 134_217_729.0; // 2^27 + 1
            let split = |v: f64| {
                let c = SPLIT * v;
                let hi = c - (c - v);
                (hi, v - hi)
            };
            let (ah, al) = split(a);
            let (bh, bl) = split(b);
            ((ah * bh - p) + ah * bl + al * bh) + al * bl
        };
        Dd { hi: p, lo }
    }

    /// Rounded to the nearest f64.
    #[inline(always)]
    pub fn to_f64(self) -> f64 {
        self.hi + self.lo
    }

    /// Sum (the accurate double-double addition, relative error about 2^-104).
    #[inline(always)]
    #[allow(clippy::should_implement_trait)]
    pub fn add(self, o: Dd) -> Dd {
        let (s, e) = two_sum(self.hi, o.hi);
        let (t, f) = two_sum(self.lo, o.lo);
        let (s, e) = fast_two_sum(s, e + t);
        let (hi, lo) = fast_two_sum(s, e + f);
        Dd { hi, lo }
    }

    /// Difference.
    #[inline(always)]
    #[allow(clippy::should_implement_trait)]
    pub fn sub(self, o: Dd) -> Dd {
        self.add(Dd {
            hi: -o.hi,
            lo: -o.lo,
        })
    }

    /// Product with an f64.
    #[inline(always)]
    pub fn mul_f64(self, b: f64) -> Dd {
        let p = Dd::prod(self.hi, b);
        let (hi, lo) = fast_two_sum(p.hi, p.lo + self.lo * b);
        Dd { hi, lo }
    }

    /// Product of two double-doubles.
    #[inline(always)]
    #[allow(clippy::should_implement_trait)]
    pub fn mul(self, o: Dd) -> Dd {
        let p = Dd::prod(self.hi, o.hi);
        let (hi, lo) = fast_two_sum(p.hi, p.lo + (self.hi * o.lo + self.lo * o.hi));
        Dd { hi, lo }
    }

    /// Quotient by an f64 (one Newton correction of the f64 quotient).
    #[inline(always)]
    pub fn div_f64(self, d: f64) -> Dd {
        let q1 = self.hi / d;
        let r = self.sub(Dd::prod(q1, d));
        let (hi, lo) = fast_two_sum(q1, r.hi / d);
        Dd { hi, lo }
    }
}

/// Prefix sums `P[0] = 0, P[k] = t_0 + … + t_{k−1}` of double-double terms, stored as two
/// f64 arrays; `range(a, b) = t_a + … + t_{b−1}` in double-double.
///
/// # Complexity
///
/// O(n) time and 2(n + 1) f64 of memory to build; O(1) per range.
#[derive(Debug, Clone)]
pub struct DdPrefix {
    hi: Vec<f64>,
    lo: Vec<f64>,
}

impl DdPrefix {
    /// Builds the prefix sums of `terms`.
    pub fn new(terms: impl ExactSizeIterator<Item = Dd>) -> DdPrefix {
        let mut hi = Vec::with_capacity(terms.len() + 1);
        let mut lo = Vec::with_capacity(terms.len() + 1);
        let mut acc = Dd::default();
        hi.push(0.0);
        lo.push(0.0);
        for t in terms {
            acc = acc.add(t);
            hi.push(acc.hi);
            lo.push(acc.lo);
        }
        DdPrefix { hi, lo }
    }

    /// Builds `K` prefix sums at once from `n` terms, `terms(i)` giving the i-th term of each.
    ///
    /// Each running sum carries an error term beside it, renormalised after every addition
    /// (TwoSum, then FastTwoSum), so `|lo| ≤ ulp(hi)` throughout. An unrenormalised error
    /// accumulator is faster but grows like √n·ulp(sum), and its own rounding then cost 1e-9
    /// relative in DFA-1 box variances at n = 2^20 (measured); the `K` sums interleave, which
    /// hides most of the longer dependency chain.
    pub fn build<const K: usize>(n: usize, terms: impl Fn(usize) -> [Dd; K]) -> [DdPrefix; K] {
        let mut out: [DdPrefix; K] = std::array::from_fn(|_| DdPrefix {
            hi: Vec::with_capacity(n + 1),
            lo: Vec::with_capacity(n + 1),
        });
        let mut hi = [0.0f64; K];
        let mut lo = [0.0f64; K];
        for p in out.iter_mut() {
            p.hi.push(0.0);
            p.lo.push(0.0);
        }
        for i in 0..n {
            let t = terms(i);
            for k in 0..K {
                let (s, e) = two_sum(hi[k], t[k].hi);
                let (h, l) = fast_two_sum(s, e + (lo[k] + t[k].lo));
                hi[k] = h;
                lo[k] = l;
                out[k].hi.push(hi[k]);
                out[k].lo.push(lo[k]);
            }
        }
        out
    }

    /// Number of terms.
    pub fn len(&self) -> usize {
        self.hi.len() - 1
    }

    /// True when built from no terms.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `t_a + … + t_{b−1}` (requires `a ≤ b ≤ len`; out-of-range indices panic, a caller bug).
    #[inline(always)]
    pub fn range(&self, a: usize, b: usize) -> Dd {
        Dd {
            hi: self.hi[b],
            lo: self.lo[b],
        }
        .sub(Dd {
            hi: self.hi[a],
            lo: self.lo[a],
        })
    }
}

/// The profile `y_k = Σ_{i ≤ k} (x_i − x̄)` by compensated summation (TwoSum error terms
/// gathered beside the running sum), each value rounded once, so the profile's own error does
/// not grow with n.
///
/// # Examples
///
/// ```
/// use lrdbench_numerics::prefix::profile;
/// assert_eq!(profile(&[1.0, 3.0, 2.0]), vec![-1.0, 0.0, 0.0]);
/// ```
pub fn profile(x: &[f64]) -> Vec<f64> {
    if x.is_empty() {
        return Vec::new();
    }
    let mean = neumaier_sum(x.iter().copied()) / x.len() as f64;
    let (mut s, mut c) = (0.0f64, 0.0f64);
    // Branch-free TwoSum: the only loop-carried dependency is one addition per point (the
    // branching Neumaier form mispredicts wherever the running sum crosses zero).
    x.iter()
        .map(|v| {
            let (t, e) = two_sum(s, v - mean);
            s = t;
            c += e;
            s + c
        })
        .collect()
}

/// Σ (x_i − shift) over sixteen accumulators ([`crate::lanes`]; a first pass that takes a mean relative to `shift`, e.g. `x[0]`, to keep the sum at
/// the scale of the fluctuations). AVX2 is used when the CPU has it, in the same rounding order
/// as the portable build.
pub fn shifted_sum(x: &[f64], shift: f64) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if let Some(cpu) = crate::cpu::Avx2Fma::detect() {
        // SAFETY: `cpu` proves that the CPU executes AVX2.
        return unsafe { shifted_sum_avx2(cpu, x, shift) };
    }
    shifted_sum_body(x, shift)
}

/// [`shifted_sum`] compiled for AVX2 (the sixteen lanes become four registers).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn shifted_sum_avx2(_cpu: crate::cpu::Avx2Fma, x: &[f64], shift: f64) -> f64 {
    shifted_sum_body(x, shift)
}

#[inline(always)]
fn shifted_sum_body(x: &[f64], shift: f64) -> f64 {
    crate::lanes::map_sum(x, |v| v - shift)
}

/// Compensated sum (TwoSum error terms accumulated beside the running sum; as accurate as
/// Neumaier's form, without its branch).
pub fn neumaier_sum(x: impl Iterator<Item = f64>) -> f64 {
    let (mut s, mut c) = (0.0f64, 0.0f64);
    for v in x {
        let (t, e) = two_sum(s, v);
        s = t;
        c += e;
    }
    s + c
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn shifted_sum_matches_a_compensated_sum_and_the_portable_build() {
        for n in [0usize, 1, 15, 16, 17, 1000, 4099] {
            let x: Vec<f64> = (0..n)
                .map(|i| 1e6 + ((i * 7919) % 1013) as f64 / 7.0)
                .collect();
            let shift = x.first().copied().unwrap_or(0.0);
            let got = shifted_sum(&x, shift);
            let want = neumaier_sum(x.iter().map(|v| v - shift));
            // Terms below 150 in size, n ≤ 4099: the lanes' rounding is a few ulps of the sum.
            assert!(
                (got - want).abs() <= 1e-12 * want.abs().max(1.0),
                "{n}: {got} vs {want}"
            );
            assert_eq!(got.to_bits(), shifted_sum_body(&x, shift).to_bits(), "{n}");
        }
    }

    #[test]
    fn dd_recovers_cancelled_bits() {
        // (1e16 + 1) − 1e16 is 0 in f64 arithmetic but exact in double-double.
        let a = Dd::from_f64(1e16).add(Dd::from_f64(1.0));
        assert_eq!(a.sub(Dd::from_f64(1e16)).to_f64(), 1.0);
    }

    #[test]
    fn dd_prod_is_exact() {
        // (1 + 2^-30)² = 1 + 2^-29 + 2^-60: the last term is lost in f64, kept in `lo`.
        let a = 1.0 + 2f64.powi(-30);
        let p = Dd::prod(a, a);
        assert_eq!(p.hi, 1.0 + 2f64.powi(-29));
        assert_eq!(p.lo, 2f64.powi(-60));
    }

    #[test]
    fn dd_div_matches_exact_third() {
        let q = Dd::from_f64(1.0).div_f64(3.0);
        // 3q − 1 should vanish to double-double precision.
        let r = q.mul_f64(3.0).sub(Dd::from_f64(1.0)).to_f64();
        assert!(r.abs() < 1e-30, "{r}");
    }

    #[test]
    fn dd_prefix_range_matches_direct_sum_on_large_offsets() {
        // Terms 1e12 + k/7: plain prefix sums lose the fractional parts of long ranges.
        let t: Vec<f64> = (0..10_000).map(|k| 1e12 + k as f64 / 7.0).collect();
        let p = DdPrefix::new(t.iter().map(|v| Dd::from_f64(*v)));
        let direct: f64 = neumaier_sum(t[9_000..9_010].iter().copied());
        let r = p.range(9_000, 9_010).to_f64();
        assert!(((r - direct) / direct).abs() < 1e-15);
    }

    #[test]
    fn profile_of_constant_shift_is_unchanged() {
        let x = [1.0, 4.0, -2.0, 0.5];
        let y: Vec<f64> = x.iter().map(|v| v + 1e6).collect();
        let (a, b) = (profile(&x), profile(&y));
        for (u, v) in a.iter().zip(&b) {
            assert!((u - v).abs() < 1e-9);
        }
    }
}
