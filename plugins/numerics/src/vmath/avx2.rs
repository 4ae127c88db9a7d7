//! The AVX2 lane of [`super::Lane`]. Every `unsafe` block here executes AVX, AVX2 or FMA
//! instructions, which the existence of an `Avx2` value guarantees the CPU has (see the type).

use std::ops::{Add, Div, Mul, Sub};

use super::{Lane, LANES};
use crate::fft::Complex;

use std::arch::x86_64 as arch;

/// The AVX2 [`Lane`]: one 256-bit register.
///
/// The type is private to `vmath`, and [`super::dispatch`] is the only place that names it: it
/// instantiates a kernel with it only when it holds an [`crate::cpu::Avx2Fma`] proof. So a
/// value of this type exists only on a CPU with AVX2 and FMA, which is what every `unsafe`
/// block below relies on.
#[derive(Debug, Clone, Copy)]
pub(super) struct Avx2(arch::__m256d);

lane_ops!(Avx2, Add add + _mm256_add_pd, Sub sub - _mm256_sub_pd, Mul mul * _mm256_mul_pd, Div div / _mm256_div_pd);

impl Lane for Avx2 {
    #[inline(always)]
    fn splat(v: f64) -> Avx2 {
        // SAFETY: this lane is only instantiated by `dispatch` with a proof of AVX2 and FMA.
        Avx2(unsafe { arch::_mm256_set1_pd(v) })
    }
    #[inline(always)]
    fn norm_sqr(s: &[Complex<f64>]) -> Avx2 {
        let s = &s[..LANES];
        // Complex<f64> is #[repr(C)] {re, im}: the four values are eight contiguous doubles.
        let p = s.as_ptr().cast::<f64>();
        // SAFETY: AVX2 as for `splat`; `s` was cut to four values, eight doubles from `p`.
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
        // SAFETY: `self` exists, so the CPU has FMA (see the type).
        Avx2(unsafe { arch::_mm256_fmadd_pd(self.0, b.0, c.0) })
    }
    #[inline(always)]
    fn load(s: &[f64]) -> Avx2 {
        let s = &s[..LANES];
        // SAFETY: AVX as for `splat`; `s` was cut to four doubles (an unaligned load).
        Avx2(unsafe { arch::_mm256_loadu_pd(s.as_ptr()) })
    }
    #[inline(always)]
    fn store(self, s: &mut [f64]) {
        let s = &mut s[..LANES];
        // SAFETY: `self` proves AVX; `s` was cut to four doubles (an unaligned store).
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
        // SAFETY: `self` exists, so the CPU has AVX2 (see the type).
        Avx2(unsafe {
            arch::_mm256_castsi256_pd(arch::_mm256_add_epi64(
                arch::_mm256_castpd_si256(self.0),
                arch::_mm256_set1_epi64x(c as i64),
            ))
        })
    }
    #[inline(always)]
    fn bits_sub(self, o: Avx2) -> Avx2 {
        // SAFETY: `self` exists, so the CPU has AVX2 (see the type).
        Avx2(unsafe {
            arch::_mm256_castsi256_pd(arch::_mm256_sub_epi64(
                arch::_mm256_castpd_si256(self.0),
                arch::_mm256_castpd_si256(o.0),
            ))
        })
    }
    #[inline(always)]
    fn bits_shl52(self) -> Avx2 {
        // SAFETY: `self` exists, so the CPU has AVX2 (see the type).
        Avx2(unsafe {
            arch::_mm256_castsi256_pd(arch::_mm256_slli_epi64::<52>(arch::_mm256_castpd_si256(
                self.0,
            )))
        })
    }
    #[inline(always)]
    fn bits_shr52(self) -> Avx2 {
        // SAFETY: `self` exists, so the CPU has AVX2 (see the type).
        Avx2(unsafe {
            arch::_mm256_castsi256_pd(arch::_mm256_srli_epi64::<52>(arch::_mm256_castpd_si256(
                self.0,
            )))
        })
    }
}
