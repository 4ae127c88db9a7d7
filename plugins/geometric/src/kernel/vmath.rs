//! Exponentials and natural logarithms of short arrays, four at a time with AVX2 and FMA.
//!
//! The fGn correction of both estimators takes a few dozen exponentials and logarithms per
//! step of its fixed point; one at a time through the C library they cost more than the rest
//! of the fit. Here they run in the four lanes of a vector, to within two ulp of the
//! correctly rounded value (held to the standard library in the tests); without AVX2 and FMA,
//! or for arguments outside the stated domains, the standard library computes them.

/// `v[i] = exp(v[i])` for every element.
pub fn exp_in_place(v: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    if super::path::avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA, checked just above.
        unsafe { map4::<false>(v) };
        return;
    }
    v.iter_mut().for_each(|x| *x = x.exp());
}

/// `v[i] = ln(v[i])` for every element.
pub fn ln_in_place(v: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    if super::path::avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA, checked just above.
        unsafe { map4::<true>(v) };
        return;
    }
    v.iter_mut().for_each(|x| *x = x.ln());
}

/// Largest |x| the vector exponential takes (its result and 2^k stay normal).
const EXP_DOMAIN: f64 = 700.0;

/// ln 2 in two parts: `LN2_HI` has 32 trailing zero bits, so k · `LN2_HI` is exact for
/// |k| < 2^20 (fdlibm's split).
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);

/// ln (`LN`) or exp of the elements, four at a time where all four are in the domain, by the
/// standard library elsewhere.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn map4<const LN: bool>(v: &mut [f64]) {
    use std::arch::x86_64::*;
    let ok = |x: f64| {
        if LN {
            x.is_finite() && x >= f64::MIN_POSITIVE
        } else {
            x.abs() <= EXP_DOMAIN
        }
    };
    for c in v.chunks_mut(4) {
        if !c.iter().all(|x| ok(*x)) {
            for x in c.iter_mut() {
                *x = if LN { x.ln() } else { x.exp() };
            }
            continue;
        }
        // A short chunk is padded with 1, which is in both domains.
        let mut a = [1.0f64; 4];
        a[..c.len()].copy_from_slice(c);
        // SAFETY: `a` holds four f64; the caller guarantees AVX2 and FMA.
        unsafe {
            let x = _mm256_loadu_pd(a.as_ptr());
            _mm256_storeu_pd(a.as_mut_ptr(), if LN { ln4(x) } else { exp4(x) });
        }
        c.copy_from_slice(&a[..c.len()]);
    }
}

/// 1/j! for j = 0..13 (each quotient rounded once from the previous: within a few ulp, far
/// below the truncation of the series where it matters, the high-order terms).
const INV_FACT: [f64; 14] = {
    let mut t = [1.0f64; 14];
    let mut j = 1;
    while j < 14 {
        t[j] = t[j - 1] / j as f64;
        j += 1;
    }
    t
};

/// 2^k for integral k (as f64) with −1022 ≤ k ≤ 1023, by placing k + 1023 in the exponent
/// field.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn pow2(k: std::arch::x86_64::__m256d) -> std::arch::x86_64::__m256d {
    use std::arch::x86_64::*;
    // k + 1.5 · 2^52 holds k in the low mantissa bits, in two's complement (|k| < 2^51).
    const MAGIC: f64 = 6_755_399_441_055_744.0;
    let bits = _mm256_castpd_si256(_mm256_add_pd(k, _mm256_set1_pd(MAGIC)));
    let k = _mm256_sub_epi64(bits, _mm256_castpd_si256(_mm256_set1_pd(MAGIC)));
    _mm256_castsi256_pd(_mm256_slli_epi64::<52>(_mm256_add_epi64(
        k,
        _mm256_set1_epi64x(1023),
    )))
}

/// exp(x) for |x| ≤ 700: x = k ln 2 + r with |r| ≤ ln 2 / 2 (Cody–Waite), exp(r) by its Taylor
/// polynomial of degree 13 (the first omitted term, r^14/14!, is below 5e-18 relative), and
/// exp(x) = 2^k exp(r).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn exp4(x: std::arch::x86_64::__m256d) -> std::arch::x86_64::__m256d {
    use std::arch::x86_64::*;
    let k = _mm256_round_pd::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(_mm256_mul_pd(
        x,
        _mm256_set1_pd(std::f64::consts::LOG2_E),
    ));
    let r = _mm256_fnmadd_pd(k, _mm256_set1_pd(LN2_HI), x);
    let r = _mm256_fnmadd_pd(k, _mm256_set1_pd(LN2_LO), r);
    let mut p = _mm256_set1_pd(INV_FACT[13]);
    for c in INV_FACT[..13].iter().rev() {
        p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(*c));
    }
    // 2^k exp(r) can leave the normal range at |x| = 700 only through 2^k (k ≤ 1010).
    _mm256_mul_pd(p, pow2(k))
}

/// ln(x) for positive normal x, as fdlibm takes it: x = 2^k (1 + f) with
/// √2/2 ≤ 1 + f < √2, s = f / (2 + f), ln(1 + f) = 2 atanh(s) = f − (f²/2 − s (f²/2 + R))
/// with R = Σ_{j≥1} 2 s^{2j} / (2j + 1), summed to j = 10 (|s| ≤ 0.1716, so the first
/// omitted term is below 1e-18 relative), and k ln 2 added in two parts.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn ln4(x: std::arch::x86_64::__m256d) -> std::arch::x86_64::__m256d {
    use std::arch::x86_64::*;
    let bits = _mm256_castpd_si256(x);
    let mantissa = _mm256_set1_epi64x(0x000f_ffff_ffff_ffff);
    // 1 + f in [1, 2), then halved where it exceeds √2 (with k one larger).
    let m = _mm256_castsi256_pd(_mm256_or_si256(
        _mm256_and_si256(bits, mantissa),
        _mm256_castpd_si256(_mm256_set1_pd(1.0)),
    ));
    let big = _mm256_cmp_pd::<_CMP_GT_OQ>(m, _mm256_set1_pd(std::f64::consts::SQRT_2));
    let m = _mm256_blendv_pd(m, _mm256_mul_pd(m, _mm256_set1_pd(0.5)), big);
    // The biased exponent (≤ 2046) as f64 through 2^52 + e, then k = e − 1023 (+ 1).
    const MAGIC: f64 = 4_503_599_627_370_496.0;
    let e = _mm256_srli_epi64::<52>(bits);
    let e = _mm256_sub_pd(
        _mm256_castsi256_pd(_mm256_or_si256(
            e,
            _mm256_castpd_si256(_mm256_set1_pd(MAGIC)),
        )),
        _mm256_set1_pd(MAGIC),
    );
    let k = _mm256_add_pd(
        _mm256_sub_pd(e, _mm256_set1_pd(1023.0)),
        _mm256_and_pd(big, _mm256_set1_pd(1.0)),
    );
    let f = _mm256_sub_pd(m, _mm256_set1_pd(1.0));
    let s = _mm256_div_pd(f, _mm256_add_pd(_mm256_set1_pd(2.0), f));
    let z = _mm256_mul_pd(s, s);
    // R = z (2/3 + z (2/5 + … + z 2/21)).
    let mut r = _mm256_set1_pd(2.0 / 21.0);
    for j in (1..10).rev() {
        r = _mm256_fmadd_pd(r, z, _mm256_set1_pd(2.0 / (2 * j + 1) as f64));
    }
    let r = _mm256_mul_pd(r, z);
    let hfsq = _mm256_mul_pd(_mm256_set1_pd(0.5), _mm256_mul_pd(f, f));
    // k ln2_hi − ((hfsq − (s (hfsq + R) + k ln2_lo)) − f)
    let inner = _mm256_fmadd_pd(
        s,
        _mm256_add_pd(hfsq, r),
        _mm256_mul_pd(k, _mm256_set1_pd(LN2_LO)),
    );
    _mm256_fmsub_pd(
        k,
        _mm256_set1_pd(LN2_HI),
        _mm256_sub_pd(_mm256_sub_pd(hfsq, inner), f),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// Largest error in units of the last place of `want`.
    fn ulps(got: &[f64], want: &[f64]) -> f64 {
        got.iter()
            .zip(want)
            .map(|(g, w)| {
                let ulp = f64::from_bits(w.abs().to_bits() + 1) - w.abs();
                (g - w).abs() / ulp
            })
            .fold(0.0, f64::max)
    }

    #[test]
    fn exponentials_are_within_two_ulp() {
        // Against the standard library (itself within one ulp; the largest difference seen
        // is one ulp): a dense grid over the range
        // the correction uses (0 to 45), a sparse one over the whole domain, odd lengths for
        // the padded chunk, and values past the domain, which take the scalar route.
        let mut x: Vec<f64> = (0..90_001).map(|i| i as f64 * 5e-4).collect();
        x.extend((0..14_001).map(|i| -700.0 + i as f64 * 0.1));
        x.extend([1e-300, -1e-300, 0.0, 709.0, -720.0]);
        let want: Vec<f64> = x.iter().map(|v| v.exp()).collect();
        let mut got = x.clone();
        exp_in_place(&mut got);
        assert!(ulps(&got, &want) <= 2.0, "{}", ulps(&got, &want));
    }

    #[test]
    fn logarithms_are_within_two_ulp() {
        // Lags, moments and correction factors: from 1e-12 to 1e12, dense near 1 (where the
        // result is small and only a careful 1 + f keeps its relative accuracy), powers of
        // two at both ends of the mantissa, and a subnormal (the scalar route). Two ulp
        // against the standard library, as for the exponential (one seen).
        let mut x: Vec<f64> = (0..20_001)
            .map(|i| 10f64.powf(-12.0 + i as f64 * 1.2e-3))
            .collect();
        x.extend((1..20_001).map(|i| 1.0 + (i as f64 - 10_000.0) * 1e-7));
        x.extend((1..=64).map(|v| v as f64));
        x.extend([
            f64::MIN_POSITIVE,
            5e-324,
            2f64.sqrt(),
            1e300,
            0.5,
            2.0,
            1.0 - 1e-16,
        ]);
        let want: Vec<f64> = x.iter().map(|v| v.ln()).collect();
        let mut got = x.clone();
        ln_in_place(&mut got);
        // ln 1 = 0 exactly: the ulp of zero is tiny, so compare it separately.
        for (g, (v, w)) in got.iter().zip(x.iter().zip(&want)) {
            if *v == 1.0 {
                assert_eq!(*g, 0.0);
            } else {
                assert!(ulps(&[*g], &[*w]) <= 2.0, "ln {v}: {g} vs {w}");
            }
        }
    }
}
