//! MRW against its moment-scaling law ζ(q).
#![allow(clippy::unwrap_used)]

use super::*;

fn config(h: f64, lambda2: f64, scale: f64, output: MrwOutput) -> MrwConfig {
    MrwConfig {
        h,
        lambda2,
        integral_scale: scale,
        sigma: 1.0,
        output,
    }
}

/// Slope of ln E|X(t+τ) − X(t)|^q against ln τ for τ = 2^lo..2^hi, pooled over `walks`.
fn zeta_hat(walks: &[Vec<f64>], q: f64, lo: u32, hi: u32) -> f64 {
    let pts: Vec<(f64, f64)> = (lo..=hi)
        .map(|j| {
            let tau = 1usize << j;
            let mut s = 0.0;
            let mut c = 0usize;
            for w in walks {
                for t in 0..w.len() - tau {
                    s += (w[t + tau] - w[t]).abs().powf(q);
                    c += 1;
                }
            }
            ((tau as f64).ln(), (s / c as f64).ln())
        })
        .collect();
    let xs: Vec<f64> = pts.iter().map(|p| p.0).collect();
    let ys: Vec<f64> = pts.iter().map(|p| p.1).collect();
    lrdbench_numerics::regression::ols(&xs, &ys).unwrap().slope
}

#[test]
fn mrw_without_intermittency_is_white_with_unit_variance() {
    let plans = Plans::new();
    let x = mrw(
        &config(0.5, 0.0, 1024.0, MrwOutput::Increments),
        100_000,
        3,
        &plans,
    )
    .unwrap();
    let v = x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64;
    // Standard error sqrt(2/n) = 0.0045; 5 of those.
    assert!((v - 1.0).abs() < 0.023, "{v}");
}

#[test]
fn mrw_increments_have_unit_variance() {
    // E[ε² e^(2ω)] = 1 by the choice of E ω. The variance of the sample mean of ε²e^(2ω)
    // is inflated by the log-correlated volatility; over 16 series of 2^15 the empirical
    // standard error is used with a 4.5σ bound.
    let plans = Plans::new();
    let c = config(0.5, 0.05, 4096.0, MrwOutput::Increments);
    let per: Vec<f64> = (0..16)
        .map(|s| {
            let x = mrw(&c, 1 << 15, s, &plans).unwrap();
            x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64
        })
        .collect();
    let m = per.iter().sum::<f64>() / 16.0;
    let se = (per.iter().map(|v| (v - m).powi(2)).sum::<f64>() / 15.0 / 16.0).sqrt();
    assert!((m - 1.0).abs() < 4.5 * se, "{m} (se {se})");
}

#[test]
fn mrw_moment_scaling_matches_zeta() {
    // Per-replicate slopes of the structure functions over τ = 2..256 (inside L = 4096); the
    // bound is 4.5 standard errors of their mean across 8 replicates, plus 0.01 for the bias of
    // the discrete construction at small τ (measured at about 0.008 for q = 1, where the
    // sampling error is smallest).
    let plans = Plans::new();
    for (h, l2) in [(0.5, 0.05), (0.5, 0.1), (0.7, 0.05)] {
        let n = 1 << 17;
        let c = config(h, l2, 4096.0, MrwOutput::Walk);
        let walks: Vec<Vec<f64>> = (0..8).map(|s| mrw(&c, n, s, &plans).unwrap()).collect();
        for q in [1.0, 2.0, 3.0, 4.0] {
            let per: Vec<f64> = walks
                .iter()
                .map(|w| zeta_hat(std::slice::from_ref(w), q, 1, 8))
                .collect();
            let m = per.iter().sum::<f64>() / 8.0;
            let se = (per.iter().map(|v| (v - m).powi(2)).sum::<f64>() / 7.0 / 8.0).sqrt();
            let want = mrw_zeta(h, l2, q);
            assert!(
                (m - want).abs() < 4.5 * se + 0.01,
                "H={h} l2={l2} q={q}: {m:.4} vs {want:.4} (se {se:.4})"
            );
        }
    }
    // The test can tell multifractal from monofractal: at λ² = 0.1, q = 4 the estimate is
    // nearer ζ(4) = 1.6 than the linear 4H = 2.
    let c = config(0.5, 0.1, 4096.0, MrwOutput::Walk);
    let walks: Vec<Vec<f64>> = (0..8)
        .map(|s| mrw(&c, 1 << 17, s, &plans).unwrap())
        .collect();
    let z4 = zeta_hat(&walks, 4.0, 1, 8);
    assert!((z4 - 1.6).abs() < (z4 - 2.0).abs(), "{z4}");
}
