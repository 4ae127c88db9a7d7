//! Lane-wise arithmetic for the Whittle passes and the local Whittle sums: four doubles at a
//! time, with branch-free `exp`, `ln` and `sin` (the C library's are scalar calls that block
//! vectorisation and cost 5–20 ns each).
//!
//! Kernels are written once, generic over [`Lane`], and instantiated twice: with [`V`] (a
//! plain array, any CPU) and with `Avx2` (one 256-bit register, inside functions compiled for
//! AVX2 and FMA after a run-time check). Every operation is a correctly rounded IEEE-754 add,
//! multiply, divide or fused multiply–add (`f64::mul_add`, a hardware instruction or the C
//! library's exact `fma`), or an integer operation on the bits, so both give the same bits.

use std::ops::{Add, Div, Mul, Sub};

use lrdbench_numerics::fft::Complex;

/// Elements per group.
pub(crate) const LANES: usize = 4;

/// A group of [`LANES`] doubles and the operations the kernels need.
pub(crate) trait Lane:
    Copy
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Add<f64, Output = Self>
    + Sub<f64, Output = Self>
    + Mul<f64, Output = Self>
{
    /// Every lane `v`.
    fn splat(v: f64) -> Self;
    /// The first [`LANES`] values of `s`.
    fn load(s: &[f64]) -> Self;
    /// Writes the lanes to the first [`LANES`] places of `s`.
    fn store(self, s: &mut [f64]);
    /// The lanes as an array.
    fn to_array(self) -> [f64; LANES];
    /// The group holding `a`.
    fn from_array(a: [f64; LANES]) -> Self;
    /// |z|² = re·re + im·im (two products, one sum) of the first [`LANES`] values of `s`.
    fn norm_sqr(s: &[Complex<f64>]) -> Self;
    /// self·b + c with one rounding (fused multiply–add).
    fn mul_add(self, b: Self, c: Self) -> Self;
    /// Each lane's bit pattern plus `c` (wrapping), as a double.
    fn bits_add(self, c: u64) -> Self;
    /// Each lane's bit pattern minus `o`'s (wrapping), as a double.
    fn bits_sub(self, o: Self) -> Self;
    /// Each lane's bit pattern shifted left by 52.
    fn bits_shl52(self) -> Self;
    /// Each lane's bit pattern shifted right (logically) by 52.
    fn bits_shr52(self) -> Self;

    /// The lanes' sum, in a fixed order.
    #[inline(always)]
    fn sum(self) -> f64 {
        let a = self.to_array();
        (a[0] + a[1]) + (a[2] + a[3])
    }

    /// The first `s.len() ≤ LANES` lanes from `s`, the rest `fill`.
    #[inline(always)]
    fn load_partial(s: &[f64], fill: f64) -> Self {
        let mut a = [fill; LANES];
        a[..s.len()].copy_from_slice(s);
        Self::from_array(a)
    }

    /// Writes the first `s.len() ≤ LANES` lanes to `s`.
    #[inline(always)]
    fn store_partial(self, s: &mut [f64]) {
        let k = s.len();
        s.copy_from_slice(&self.to_array()[..k]);
    }
}

/// The portable [`Lane`]: an array the compiler may or may not vectorise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct V(pub [f64; LANES]);

impl V {
    #[inline(always)]
    fn map(self, f: impl Fn(f64) -> f64) -> V {
        V(self.0.map(f))
    }

    #[inline(always)]
    fn zip(self, o: V, f: impl Fn(f64, f64) -> f64) -> V {
        let mut out = self.0;
        for (v, b) in out.iter_mut().zip(o.0) {
            *v = f(*v, b);
        }
        V(out)
    }

    #[inline(always)]
    fn map_bits(self, f: impl Fn(u64) -> u64) -> V {
        self.map(|v| f64::from_bits(f(v.to_bits())))
    }
}

macro_rules! lane_ops {
    ($t:ident, $($trait:ident $method:ident $op:tt $simd:ident),*) => {$(
        impl $trait for $t {
            type Output = $t;
            #[inline(always)]
            fn $method(self, o: $t) -> $t {
                lane_ops!(@apply $t, self, o, $op, $simd)
            }
        }
        impl $trait<f64> for $t {
            type Output = $t;
            #[inline(always)]
            fn $method(self, o: f64) -> $t {
                self.$method(<$t as Lane>::splat(o))
            }
        }
    )*};
    (@apply V, $a:expr, $b:expr, $op:tt, $simd:ident) => { $a.zip($b, |x, y| x $op y) };
    (@apply Avx2, $a:expr, $b:expr, $op:tt, $simd:ident) => {
        // SAFETY: `Avx2` values are only made inside functions compiled for AVX2, which are
        // only called after a run-time check of the CPU (see the type's documentation).
        Avx2(unsafe { arch::$simd($a.0, $b.0) })
    };
}

lane_ops!(V, Add add + _mm256_add_pd, Sub sub - _mm256_sub_pd, Mul mul * _mm256_mul_pd, Div div / _mm256_div_pd);

impl Lane for V {
    #[inline(always)]
    fn splat(v: f64) -> V {
        V([v; LANES])
    }
    #[inline(always)]
    fn norm_sqr(s: &[Complex<f64>]) -> V {
        let mut out = [0.0; LANES];
        for (o, z) in out.iter_mut().zip(&s[..LANES]) {
            *o = z.re * z.re + z.im * z.im;
        }
        V(out)
    }
    #[inline(always)]
    fn mul_add(self, b: V, c: V) -> V {
        let mut out = self.0;
        for ((o, b), c) in out.iter_mut().zip(b.0).zip(c.0) {
            *o = o.mul_add(b, c);
        }
        V(out)
    }
    #[inline(always)]
    fn load(s: &[f64]) -> V {
        let mut out = [0.0; LANES];
        out.copy_from_slice(&s[..LANES]);
        V(out)
    }
    #[inline(always)]
    fn store(self, s: &mut [f64]) {
        s[..LANES].copy_from_slice(&self.0);
    }
    #[inline(always)]
    fn to_array(self) -> [f64; LANES] {
        self.0
    }
    #[inline(always)]
    fn from_array(a: [f64; LANES]) -> V {
        V(a)
    }
    #[inline(always)]
    fn bits_add(self, c: u64) -> V {
        self.map_bits(|b| b.wrapping_add(c))
    }
    #[inline(always)]
    fn bits_sub(self, o: V) -> V {
        self.zip(o, |a, b| {
            f64::from_bits(a.to_bits().wrapping_sub(b.to_bits()))
        })
    }
    #[inline(always)]
    fn bits_shl52(self) -> V {
        self.map_bits(|b| b << 52)
    }
    #[inline(always)]
    fn bits_shr52(self) -> V {
        self.map_bits(|b| b >> 52)
    }
}

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64 as arch;

/// The AVX2 [`Lane`]: one 256-bit register.
///
/// Only functions marked `#[target_feature(enable = "avx2,fma")]`, which are called only after
/// `is_x86_feature_detected!` of both, create values of this type; its operations (inlined
/// into those functions) therefore always run on a CPU with AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[derive(Debug, Clone, Copy)]
pub(crate) struct Avx2(arch::__m256d);

#[cfg(target_arch = "x86_64")]
lane_ops!(Avx2, Add add + _mm256_add_pd, Sub sub - _mm256_sub_pd, Mul mul * _mm256_mul_pd, Div div / _mm256_div_pd);

// SAFETY (every `unsafe` block below): see `Avx2`'s documentation; the intrinsics need AVX,
// AVX2 or FMA, and the loads and stores check their slice's length first.
#[cfg(target_arch = "x86_64")]
impl Lane for Avx2 {
    #[inline(always)]
    fn splat(v: f64) -> Avx2 {
        Avx2(unsafe { arch::_mm256_set1_pd(v) })
    }
    #[inline(always)]
    fn norm_sqr(s: &[Complex<f64>]) -> Avx2 {
        let s = &s[..LANES];
        // Complex<f64> is #[repr(C)] {re, im}: the four values are eight contiguous doubles.
        let p = s.as_ptr().cast::<f64>();
        unsafe {
            let a = arch::_mm256_loadu_pd(p);
            let b = arch::_mm256_loadu_pd(p.add(4));
            // [re0² + im0², re2² + im2², re1² + im1², re3² + im3²], then lanes 0, 2, 1, 3.
            let h = arch::_mm256_hadd_pd(arch::_mm256_mul_pd(a, a), arch::_mm256_mul_pd(b, b));
            Avx2(arch::_mm256_permute4x64_pd::<0b11_01_10_00>(h))
        }
    }
    #[inline(always)]
    fn mul_add(self, b: Avx2, c: Avx2) -> Avx2 {
        Avx2(unsafe { arch::_mm256_fmadd_pd(self.0, b.0, c.0) })
    }
    #[inline(always)]
    fn load(s: &[f64]) -> Avx2 {
        let s = &s[..LANES];
        Avx2(unsafe { arch::_mm256_loadu_pd(s.as_ptr()) })
    }
    #[inline(always)]
    fn store(self, s: &mut [f64]) {
        let s = &mut s[..LANES];
        unsafe { arch::_mm256_storeu_pd(s.as_mut_ptr(), self.0) }
    }
    #[inline(always)]
    fn to_array(self) -> [f64; LANES] {
        let mut a = [0.0; LANES];
        self.store(&mut a);
        a
    }
    #[inline(always)]
    fn from_array(a: [f64; LANES]) -> Avx2 {
        Avx2::load(&a)
    }
    #[inline(always)]
    fn bits_add(self, c: u64) -> Avx2 {
        Avx2(unsafe {
            arch::_mm256_castsi256_pd(arch::_mm256_add_epi64(
                arch::_mm256_castpd_si256(self.0),
                arch::_mm256_set1_epi64x(c as i64),
            ))
        })
    }
    #[inline(always)]
    fn bits_sub(self, o: Avx2) -> Avx2 {
        Avx2(unsafe {
            arch::_mm256_castsi256_pd(arch::_mm256_sub_epi64(
                arch::_mm256_castpd_si256(self.0),
                arch::_mm256_castpd_si256(o.0),
            ))
        })
    }
    #[inline(always)]
    fn bits_shl52(self) -> Avx2 {
        Avx2(unsafe {
            arch::_mm256_castsi256_pd(arch::_mm256_slli_epi64::<52>(arch::_mm256_castpd_si256(
                self.0,
            )))
        })
    }
    #[inline(always)]
    fn bits_shr52(self) -> Avx2 {
        Avx2(unsafe {
            arch::_mm256_castsi256_pd(arch::_mm256_srli_epi64::<52>(arch::_mm256_castpd_si256(
                self.0,
            )))
        })
    }
}

/// 1.5·2⁵²: adding it rounds a double of magnitude below 2⁵¹ to an integer held in the low
/// mantissa bits.
const SHIFT: f64 = 6_755_399_441_055_744.0;
/// ln 2 split so that k·LN2_HI is exact for |k| < 2¹¹ (fdlibm's constants).
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);

/// e^y for |y| ≤ 700, to about 2 ulp.
///
/// y = k ln 2 + r with k = round(y/ln 2) and |r| ≤ ln 2/2, e^r by its Taylor polynomial of
/// degree 13 (first omitted term r¹⁴/14! < 5e-18), scaled by 2^k through the exponent bits.
#[inline(always)]
pub(crate) fn exp<L: Lane>(y: L) -> L {
    let t = y * std::f64::consts::LOG2_E + SHIFT;
    let k = t - SHIFT;
    // k·LN2_HI is exact, so the fused form equals the textbook (y − k·LN2_HI) − k·LN2_LO.
    let r = (y - k * LN2_HI) - k * LN2_LO;
    // 1/i! for i = 13 down to 0.
    const C: [f64; 14] = [
        1.0 / 6_227_020_800.0,
        1.0 / 479_001_600.0,
        1.0 / 39_916_800.0,
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ];
    let mut p = L::splat(C[0]);
    for &c in &C[1..] {
        p = p.mul_add(r, L::splat(c));
    }
    // The integer k sits in t's low bits: t − SHIFT as bit patterns is k in two's complement,
    // and (k + 1023) << 52 is the double 2^k.
    let scale = t.bits_sub(L::splat(SHIFT)).bits_add(1023).bits_shl52();
    p * scale
}

/// ln x for positive normal x, to about 2 ulp.
///
/// x = 2^k f with f in [√½, √2) (read off the bits), ln f = 2 atanh s with s = (f − 1)/(f + 1),
/// |s| ≤ 0.172: 2s Σ_{i≤9} s^{2i}/(2i + 1), first omitted term s²⁰/21 < 3e-17.
#[inline(always)]
pub(crate) fn ln<L: Lane>(x: L) -> L {
    const SQRT_HALF_BITS: u64 = 0x3fe6_a09e_667f_3bcd;
    // u = bits − bits(√½) + 1024·2⁵² is non-negative for every positive double, so a logical
    // shift gives k + 1024 with k = ⌊log₂(x/√½)⌋.
    let biased = x
        .bits_add(1024u64 << 52)
        .bits_sub(L::splat(f64::from_bits(SQRT_HALF_BITS)))
        .bits_shr52();
    // f = x/2^k: subtract (k + 1024)·2⁵², add back 1024·2⁵².
    let f = x.bits_sub(biased.bits_shl52()).bits_add(1024u64 << 52);
    // k as a double: the bits of 1.5·2⁵² + k, minus 1.5·2⁵².
    let k = biased.bits_add(SHIFT.to_bits() - 1024) - SHIFT;
    let s = (f - 1.0) / (f + 1.0);
    let z = s * s;
    // 1/(2i + 1) for i = 9 down to 1.
    const C: [f64; 9] = [
        1.0 / 19.0,
        1.0 / 17.0,
        1.0 / 15.0,
        1.0 / 13.0,
        1.0 / 11.0,
        1.0 / 9.0,
        1.0 / 7.0,
        1.0 / 5.0,
        1.0 / 3.0,
    ];
    let mut p = L::splat(C[0]);
    for &c in &C[1..] {
        p = p.mul_add(z, L::splat(c));
    }
    let two_s = s * 2.0;
    let ln_f = (two_s * z).mul_add(p, two_s);
    k.mul_add(L::splat(LN2_HI), k.mul_add(L::splat(LN2_LO), ln_f))
}

/// sin t for 0 ≤ t ≤ π/2, to about 2 ulp: its Taylor polynomial of degree 21 (first omitted
/// term (π/2)²³/23! < 2e-18).
#[inline(always)]
pub(crate) fn sin_quadrant<L: Lane>(t: L) -> L {
    // (−1)^i/(2i + 1)! for i = 10 down to 1.
    const C: [f64; 10] = [
        1.0 / 51_090_942_171_709_440_000.0,
        -1.0 / 121_645_100_408_832_000.0,
        1.0 / 355_687_428_096_000.0,
        -1.0 / 1_307_674_368_000.0,
        1.0 / 6_227_020_800.0,
        -1.0 / 39_916_800.0,
        1.0 / 362_880.0,
        -1.0 / 5_040.0,
        1.0 / 120.0,
        -1.0 / 6.0,
    ];
    let z = t * t;
    let mut p = L::splat(C[0]);
    for &c in &C[1..] {
        p = p.mul_add(z, L::splat(c));
    }
    (t * z).mul_add(p, t)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Relative error in units of 2⁻⁵² against the C library.
    fn ulps(fast: f64, exact: f64) -> f64 {
        ((fast - exact) / exact).abs() / f64::EPSILON
    }

    #[test]
    fn exp_ln_sin_match_the_c_library_within_4_ulp() {
        let mut worst = [0.0f64; 3];
        for i in 0..20_000 {
            let u = i as f64 / 20_000.0;
            // exp over the Whittle range (−3·ln 2⁴⁰ … 3 ln π) and beyond.
            let y = -200.0 + 210.0 * u;
            worst[0] = worst[0].max(ulps(exp(V::splat(y)).0[0], y.exp()));
            // ln over 2⁻⁶⁰ … 2⁴⁰, including values next to powers of two and to 1.
            let x = (2.0f64).powf(-60.0 + 100.0 * u) * (1.0 + 1e-9 * (i % 7) as f64);
            worst[1] = worst[1].max(ulps(ln(V::splat(x)).0[0], x.ln()));
            let t = std::f64::consts::FRAC_PI_2 * (u + 1e-9);
            worst[2] = worst[2].max(ulps(sin_quadrant(V::splat(t)).0[0], t.sin()));
        }
        // Near x = 1, ln x → 0 and the comparison is relative to a tiny value: both sides are
        // correctly rounded to within a few ulp of ln x itself.
        for x in [1.0f64, 1.0 + 1e-12, 1.0 - 1e-12, 0.75, 1.25] {
            let e = x.ln();
            let f = ln(V::splat(x)).0[0];
            assert!(
                (f - e).abs() <= 4.0 * f64::EPSILON * e.abs().max(f64::MIN_POSITIVE),
                "{x}"
            );
        }
        assert!(
            worst.iter().all(|&w| w < 4.0),
            "worst ulps (exp, ln, sin): {worst:?}"
        );
    }

    #[test]
    fn lanes_are_independent() {
        let y = V([-3.0, 0.0, 0.5, 2.0]);
        let e = exp(y);
        for (a, b) in e.0.iter().zip(y.0) {
            assert_eq!(*a, exp(V::splat(b)).0[0]);
        }
    }
}
