//! Lane-wise vector math shared by the kernels: four doubles at a time, with branch-free
//! `exp`, `ln` and `sin` (the C library's are scalar calls that block vectorisation and cost
//! 5–20 ns each), and whole-slice [`exp_in_place`] / [`ln_in_place`] built on them.
//!
//! Kernels are written once, generic over [`Lane`], and run through [`dispatch`], which
//! compiles them twice with the array lane [`V`]: inside a function compiled for AVX2 and FMA
//! (called only with an [`Avx2Fma`] proof), where the compiler turns each lane operation into
//! one vector instruction and `f64::mul_add` into a hardware fused multiply–add, and in the
//! baseline build otherwise. Every operation is a correctly rounded IEEE-754 add, multiply,
//! divide or fused multiply–add, or an integer operation on the bits, so both builds give the
//! same bits.
//!
//! A hand-written lane of `_mm256_*` intrinsics existed beside [`V`]; `benches/simd_routes.rs`
//! measured it slower than [`V`] compiled for the same features (exp then ln of a slice:
//! 105.9 µs against 77.5 µs at n = 4,096, 1.95 ms against 0.96 ms at 65,536), so it was removed.
//!
//! # Example
//!
//! ```
//! use lrdbench_numerics::cpu::Avx2Fma;
//! use lrdbench_numerics::vmath::{self, dispatch, Lane, LaneKernel};
//!
//! /// Σ e^{x_i} over the first four values.
//! struct SumExp<'a>(&'a [f64]);
//! impl LaneKernel for SumExp<'_> {
//!     type Output = f64;
//!     fn run<L: Lane>(self) -> f64 {
//!         vmath::exp(L::load(self.0)).sum()
//!     }
//! }
//! let x = [0.0, 1.0, 2.0, 3.0];
//! let fast = dispatch(Avx2Fma::detect(), SumExp(&x));
//! assert_eq!(fast, dispatch(None, SumExp(&x)));
//! let exact: f64 = x.iter().map(|v| v.exp()).sum();
//! assert!((fast - exact).abs() < 1e-14 * exact);
//! ```

use std::ops::{Add, Div, Mul, Sub};

use crate::cpu::Avx2Fma;
use crate::fft::Complex;

/// Elements per group.
pub const LANES: usize = 4;

/// A group of [`LANES`] doubles and the operations the kernels need.
pub trait Lane:
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

/// The portable [`Lane`]: an array the compiler may or may not vectorise (and does, to AVX2,
/// inside a function compiled for it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct V(pub [f64; LANES]);

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

/// The arithmetic operators of [`V`], lane by lane (also with a scalar operand).
macro_rules! lane_ops {
    ($($trait:ident $method:ident $op:tt),*) => {$(
        impl $trait for V {
            type Output = V;
            #[inline(always)]
            fn $method(self, o: V) -> V {
                self.zip(o, |x, y| x $op y)
            }
        }
        impl $trait<f64> for V {
            type Output = V;
            #[inline(always)]
            fn $method(self, o: f64) -> V {
                self.$method(<V as Lane>::splat(o))
            }
        }
    )*};
}

lane_ops!(Add add +, Sub sub -, Mul mul *, Div div /);

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

/// A kernel generic over its [`Lane`] type, for [`dispatch`] (a closure cannot be generic).
pub trait LaneKernel {
    /// What the kernel returns.
    type Output;
    /// Runs the kernel with lanes of type `L`. Mark it `#[inline(always)]`, so that the body
    /// is compiled inside [`dispatch`]'s AVX2 function.
    fn run<L: Lane>(self) -> Self::Output;
}

/// Runs `kernel` compiled for AVX2 and FMA when given the proof `cpu`, in the baseline build
/// otherwise (pass `None` to force the baseline, as the tests that compare the two do).
#[inline(always)]
pub fn dispatch<K: LaneKernel>(cpu: Option<Avx2Fma>, kernel: K) -> K::Output {
    #[cfg(target_arch = "x86_64")]
    if let Some(cpu) = cpu {
        // SAFETY: `cpu` proves that the CPU executes AVX2 and FMA.
        return unsafe { run_avx2(cpu, kernel) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = cpu;
    kernel.run::<V>()
}

/// `kernel` compiled for AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn run_avx2<K: LaneKernel>(_cpu: Avx2Fma, kernel: K) -> K::Output {
    kernel.run::<V>()
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
pub fn exp<L: Lane>(y: L) -> L {
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
pub fn ln<L: Lane>(x: L) -> L {
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
pub fn sin_quadrant<L: Lane>(t: L) -> L {
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

/// `v[i] = exp(v[i])` for every element, to within two ulp of the correctly rounded value;
/// elements with |v| > 700 (where the result or 2^k leaves the normal range) go through the
/// standard library, four at a time with their chunk.
pub fn exp_in_place(v: &mut [f64]) {
    dispatch(Avx2Fma::detect(), InPlace::<false>(v));
}

/// `v[i] = ln(v[i])` for every element, to within two ulp of the correctly rounded value;
/// elements that are not positive, finite and normal go through the standard library, four
/// at a time with their chunk.
pub fn ln_in_place(v: &mut [f64]) {
    dispatch(Avx2Fma::detect(), InPlace::<true>(v));
}

/// Largest |x| the lane exponential takes (its result and 2^k stay normal).
const EXP_DOMAIN: f64 = 700.0;

/// ln (`LN`) or exp of the elements in place.
struct InPlace<'a, const LN: bool>(&'a mut [f64]);

impl<const LN: bool> LaneKernel for InPlace<'_, LN> {
    type Output = ();
    #[inline(always)]
    fn run<L: Lane>(self) {
        let ok = |x: f64| {
            if LN {
                x.is_finite() && x >= f64::MIN_POSITIVE
            } else {
                x.abs() <= EXP_DOMAIN
            }
        };
        for c in self.0.chunks_mut(LANES) {
            if !c.iter().all(|x| ok(*x)) {
                for x in c.iter_mut() {
                    *x = if LN { x.ln() } else { x.exp() };
                }
                continue;
            }
            // A short chunk is padded with 1, which is in both domains.
            let x = L::load_partial(c, 1.0);
            let y = if LN { ln(x) } else { exp(x) };
            y.store_partial(c);
        }
    }
}

#[cfg(test)]
mod tests;
