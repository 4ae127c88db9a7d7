//! Special functions std lacks (it has no stable `gamma`): the log-gamma function, for the
//! ARFIMA and MRW autocovariances and the expected R/S of fGn; and the sum of logarithms of
//! many positive values with few logarithms, for MFDFA's q = 0 moment.

/// ln Γ(x) for x > 0, by the Lanczos approximation (g = 7, 9 terms; Numerical Recipes 3rd ed.
/// §6.1 and Godfrey's coefficients), relative error about 1e-15 on (0, 10], with the reflection
/// formula below ½.
// Godfrey's coefficients, digit for digit as published.
#[allow(clippy::excessive_precision)]
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_93,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_13,
        -176.615_029_162_140_59,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_571_6e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Γ(x)Γ(1−x) = π / sin(πx); x ∈ (0, ½) keeps sin positive.
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Values whose mantissas one lane multiplies before taking a logarithm: each mantissa is in
/// [1, 2), so a product of 256 stays below 2^256, far from overflow.
const LN_RUN: usize = 256;

/// Σ ln vᵢ over positive values, with one logarithm per `LN_RUN` (256) values instead of one per
/// value: each vᵢ = mᵢ·2^eᵢ (mᵢ ∈ [1, 2)) contributes eᵢ to an integer sum and mᵢ to a running
/// product, so Σ ln vᵢ = ln 2 · Σ eᵢ + Σ_runs ln Π mᵢ. Four lanes run side by side.
///
/// # Accuracy
///
/// Each product of 256 mantissas carries at most 256 roundings of 2^−53 (relative 2.8e-14, an
/// absolute 2.8e-14 in its logarithm); the exponent sum is exact. The plain sum of logarithms
/// has an error of the same order (one rounding of each |ln vᵢ| and of each partial sum).
/// Zero, negative, subnormal and non-finite values take the plain logarithm, so the result is
/// what Σ ln vᵢ gives for them (−∞, NaN).
pub fn sum_ln(values: &[f64]) -> f64 {
    const MANTISSA: u64 = (1 << 52) - 1;
    const ONE: u64 = 1023 << 52;
    let mut exponents = [0i64; 4];
    let mut logs = 0.0;
    let mut odd = 0.0;
    for run in values.chunks(4 * LN_RUN) {
        let mut product = [1.0f64; 4];
        let mut quads = run.chunks_exact(4);
        for q in &mut quads {
            for lane in 0..4 {
                let bits = q[lane].to_bits();
                let field = (bits >> 52) as i64;
                // A positive normal value has a sign bit of 0 and an exponent field in
                // 1..=2046; anything else is summed as its own logarithm.
                if (1..=2046).contains(&field) {
                    exponents[lane] += field - 1023;
                    product[lane] *= f64::from_bits(bits & MANTISSA | ONE);
                } else {
                    odd += q[lane].ln();
                }
            }
        }
        for v in quads.remainder() {
            odd += v.ln();
        }
        logs += product.iter().map(|p| p.ln()).sum::<f64>();
    }
    let e: i64 = exponents.iter().sum();
    std::f64::consts::LN_2 * e as f64 + logs + odd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_gamma_matches_known_values() {
        // Γ(½) = √π, Γ(1) = Γ(2) = 1, Γ(3/2) = √π/2, Γ(5) = 24, Γ(0.1) = 9.513507698668732
        // (Abramowitz and Stegun table 6.1); 1e-13 absolute is well above Lanczos' 1e-15.
        let sqrt_pi = std::f64::consts::PI.sqrt();
        let cases = [
            (0.5, sqrt_pi.ln()),
            (1.0, 0.0),
            (2.0, 0.0),
            (1.5, (sqrt_pi / 2.0).ln()),
            (5.0, 24f64.ln()),
            (0.1, 9.513_507_698_668_732f64.ln()),
        ];
        for (x, want) in cases {
            assert!(
                (ln_gamma(x) - want).abs() < 1e-13,
                "{x}: {} vs {want}",
                ln_gamma(x)
            );
        }
    }

    #[test]
    fn ln_gamma_is_right_at_large_arguments() {
        // Γ(½) = √π, Γ(5) = 24, Γ(30.5) from Γ(½) by the recursion (the expected R/S takes
        // ln Γ(s/2) at block sizes s in the thousands).
        let pi = std::f64::consts::PI;
        assert!((ln_gamma(0.5) - 0.5 * pi.ln()).abs() < 1e-12);
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-12);
        let want: f64 = 0.5 * pi.ln() + (0..30).map(|i| (i as f64 + 0.5).ln()).sum::<f64>();
        assert!((ln_gamma(30.5) - want).abs() < 1e-11);
    }

    #[test]
    fn sum_ln_matches_the_plain_sum_of_logarithms() {
        // Against Σ ln v in compensated (two-sum) accumulation. Values span 1e-300..1e300 and
        // the lengths leave partial runs and remainders. Bound: 256 roundings per product
        // (2.8e-14 per run, see `sum_ln`), and the roundings of ln 2 · Σe and of the
        // reference's terms and partial sums, each within a few ulps of Σ|ln v|: 1e-13 per run
        // plus 4ε·Σ|ln v|.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        for n in [0usize, 1, 3, 4, 5, 1023, 1024, 1025, 4099, 41_000] {
            let v: Vec<f64> = (0..n).map(|_| 10f64.powf(600.0 * next() - 300.0)).collect();
            let (mut sum, mut comp, mut size) = (0.0f64, 0.0f64, 0.0f64);
            for x in &v {
                size += x.ln().abs();
                let y = x.ln() - comp;
                let t = sum + y;
                comp = (t - sum) - y;
                sum = t;
            }
            let runs = n.div_ceil(4 * LN_RUN) as f64;
            let bound = 1e-13 * runs + 4.0 * f64::EPSILON * size;
            let fast = sum_ln(&v);
            assert!((fast - sum).abs() <= bound, "n = {n}: {fast} vs {sum}");
        }
        // Values outside the normal positive range give what their logarithms give.
        assert_eq!(sum_ln(&[1.0, 0.0, 2.0, 3.0, 4.0]), f64::NEG_INFINITY);
        assert!(sum_ln(&[1.0, -1.0, 2.0, 3.0]).is_nan());
        let sub = f64::MIN_POSITIVE / 4.0;
        let plain = sub.ln() + 2f64.ln();
        assert!((sum_ln(&[sub, 2.0, 1.0, 1.0]) - plain).abs() < 1e-13);
    }
}
