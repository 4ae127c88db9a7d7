//! ARFIMA against its closed forms and against an independent summation for AR(1) + d.
#![allow(clippy::unwrap_used)]

use super::*;

/// Mean and standard error across replicates of the lag-k sample autocovariance (mean known 0).
fn lag_stats(series: &[Vec<f64>], k: usize) -> (f64, f64) {
    let per: Vec<f64> = series
        .iter()
        .map(|x| {
            let m = x.len() - k;
            (0..m).map(|t| x[t] * x[t + k]).sum::<f64>() / m as f64
        })
        .collect();
    let r = per.len() as f64;
    let mean = per.iter().sum::<f64>() / r;
    let var = per.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (r - 1.0);
    (mean, (var / r).sqrt())
}

/// Two-sided 4.5σ bounds: about 7e-6 false alarms per comparison (fixed seeds make a pass
/// reproducible).
const Z: f64 = 4.5;

#[test]
fn acvf_recursion_matches_gamma_closed_form() {
    // γ(k) = σ² Γ(1−2d) Γ(k+d) / (Γ(d) Γ(1−d) Γ(k+1−d)), evaluated independently in logs with
    // the sign of Γ(d) (negative for d < 0). lnΓ(1000) ≈ 5900 carries about 1e-12 absolute
    // error, so 1e-9 relative is the tolerance.
    for d in [-0.3, 0.1, 0.4] {
        let g = arfima_acvf(d, 2.0, 1000).unwrap();
        for k in [0usize, 1, 2, 10, 1000] {
            let (gd, sign) = if d < 0.0 {
                // Γ(d) = Γ(d+1)/d.
                (ln_gamma(d + 1.0) - (-d).ln(), -1.0)
            } else {
                (ln_gamma(d), 1.0)
            };
            let want = if k == 0 {
                2.0 * (ln_gamma(1.0 - 2.0 * d) - 2.0 * ln_gamma(1.0 - d)).exp()
            } else {
                sign * 2.0
                    * (ln_gamma(1.0 - 2.0 * d) + ln_gamma(k as f64 + d)
                        - gd
                        - ln_gamma(1.0 - d)
                        - ln_gamma(k as f64 + 1.0 - d))
                    .exp()
            };
            let rel = ((g[k] - want) / want).abs();
            assert!(rel < 1e-9, "d={d} k={k}: {} vs {want}", g[k]);
        }
    }
    // d = 0 is white noise.
    let g = arfima_acvf(0.0, 1.0, 5).unwrap();
    assert!((g[0] - 1.0).abs() < 1e-14, "{}", g[0]);
    assert_eq!(&g[1..], &[0.0; 5]);
}

fn cfg(d: f64, ar: &[f64], ma: &[f64]) -> ArfimaConfig {
    ArfimaConfig {
        d,
        ar: ar.to_vec(),
        ma: ma.to_vec(),
        sigma2: 1.0,
    }
}

#[test]
fn arfima_0d0_sample_autocovariance_matches_closed_form() {
    let plans = Plans::new();
    for d in [-0.3, 0.2, 0.4] {
        let c = cfg(d, &[], &[]);
        let series: Vec<Vec<f64>> = (0..1000)
            .map(|s| arfima(&c, 512, s, &plans).unwrap())
            .collect();
        let g = arfima_acvf(d, 1.0, 10).unwrap();
        for (k, want) in g.iter().enumerate() {
            let (mean, se) = lag_stats(&series, k);
            assert!(
                (mean - want).abs() < Z * se,
                "d={d} lag {k}: {mean} vs {want} (se {se})"
            );
        }
    }
}

#[test]
fn arfima_ar1_plus_d_matches_filtered_autocovariance() {
    // y = (1 − φB)^(−1) x with x ARFIMA(0, d, 0): γ_y(k) = Σ_i Σ_j φ^(i+j) γ_x(k + j − i),
    // summed directly here (φ^400 ≈ 1e-120: the truncation is exact in double precision).
    let (phi, d): (f64, f64) = (0.5, 0.2);
    let gx = arfima_acvf(d, 1.0, 1200).unwrap();
    let gamma_y = |k: i64| -> f64 {
        let mut s = 0.0;
        for i in 0..200i64 {
            for j in 0..200i64 {
                let lag = (k + j - i).unsigned_abs() as usize;
                s += phi.powi((i + j) as i32) * gx[lag];
            }
        }
        s
    };
    let plans = Plans::new();
    let c = cfg(d, &[phi], &[]);
    let series: Vec<Vec<f64>> = (0..1000)
        .map(|s| arfima(&c, 512, s, &plans).unwrap())
        .collect();
    for k in 0..=10 {
        let want = gamma_y(k);
        let (mean, se) = lag_stats(&series, k as usize);
        assert!(
            (mean - want).abs() < Z * se,
            "lag {k}: {mean} vs {want} (se {se})"
        );
    }
    // Theory: the AR part raises short-lag correlation, the memory keeps d: the ratio
    // γ_y(k)/γ_x(k) tends to 1/(1 − φ)² = 4 at large k.
    assert!((gamma_y(900) / gx[900] - 4.0).abs() < 0.05);
}

#[test]
fn arfima_ma1_white_matches_ma_autocovariance() {
    // d = 0, θ = 0.6: γ(0) = 1 + θ², γ(1) = θ, γ(2) = 0.
    let plans = Plans::new();
    let c = cfg(0.0, &[], &[0.6]);
    let series: Vec<Vec<f64>> = (0..800)
        .map(|s| arfima(&c, 256, s, &plans).unwrap())
        .collect();
    for (k, want) in [(0usize, 1.36), (1, 0.6), (2, 0.0)] {
        let (mean, se) = lag_stats(&series, k);
        assert!(
            (mean - want).abs() < Z * se,
            "lag {k}: {mean} vs {want} (se {se})"
        );
    }
}

#[test]
fn arfima_bad_parameters_are_one_line_errors_naming_the_range() {
    let plans = Plans::new();
    let e = arfima(&cfg(0.5, &[], &[]), 10, 1, &plans).unwrap_err();
    assert_eq!(
        e.message.as_str(),
        "d = 0.5 is out of range: must be in (-0.5, 0.5), exclusive"
    );
    let e = arfima(&cfg(0.2, &[1.0], &[]), 10, 1, &plans).unwrap_err();
    assert!(e.message.contains("not stationary"), "{}", e.message);
    // φ₁ + φ₂ > 1: a real root inside the unit circle though each |φ| < 1.
    let e = arfima(&cfg(0.2, &[0.5, 0.6], &[]), 10, 1, &plans).unwrap_err();
    assert!(e.message.contains("not stationary"), "{}", e.message);
    assert!(arfima(&cfg(0.2, &[0.5, 0.3], &[]), 10, 1, &plans).is_ok());
    let e = arfima(&cfg(0.2, &[], &[]), 0, 1, &plans).unwrap_err();
    assert!(e.message.contains("at least 1"), "{}", e.message);
    assert!(!e.message.contains('\n'));
}

#[test]
fn arfima_length_one_and_reproducible() {
    let plans = Plans::new();
    let c = cfg(0.3, &[0.2], &[0.1]);
    assert_eq!(arfima(&cfg(0.3, &[], &[]), 1, 4, &plans).unwrap().len(), 1);
    let a = arfima(&c, 300, 4, &plans).unwrap();
    assert_eq!(a.len(), 300);
    assert_eq!(a, arfima(&c, 300, 4, &Plans::new()).unwrap());
}
