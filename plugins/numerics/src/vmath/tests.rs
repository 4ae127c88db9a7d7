//! Accuracy of the lane functions against the C library, and agreement of the two lanes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

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

/// Largest error in units of the last place of `want`.
fn ulps_of(got: &[f64], want: &[f64]) -> f64 {
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
    assert!(ulps_of(&got, &want) <= 2.0, "{}", ulps_of(&got, &want));
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
            assert!(ulps_of(&[*g], &[*w]) <= 2.0, "ln {v}: {g} vs {w}");
        }
    }
}

/// The same kernel on both lanes gives the same bits (every operation is correctly rounded).
#[test]
fn both_lanes_give_the_same_bits() {
    struct Mix<'a>(&'a [f64]);
    impl LaneKernel for Mix<'_> {
        type Output = Vec<f64>;
        #[inline(always)]
        fn run<L: Lane>(self) -> Vec<f64> {
            let mut out = vec![0.0; self.0.len()];
            for (x, o) in self.0.chunks_exact(LANES).zip(out.chunks_exact_mut(LANES)) {
                let v = L::load(x);
                let y = exp(v * 0.01) + ln(v) / sin_quadrant(L::splat(0.5));
                y.store(o);
            }
            out
        }
    }
    let x: Vec<f64> = (1..=4096).map(|i| i as f64 * 0.37).collect();
    let portable = dispatch(None, Mix(&x));
    assert_eq!(dispatch(Avx2Fma::detect(), Mix(&x)), portable);
}
