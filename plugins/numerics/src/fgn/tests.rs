//! Tests of the fGn autocovariance and the Davies–Harte sampler against known truth.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::excessive_precision)]

use super::*;

/// (H, k, γ(k)) computed with mpmath at 60 digits from the textbook formula, with H the exact
/// binary value of the f64 literal (`mp.mpf(float(h))`), printed to 20 significant digits.
const REFERENCE: &[(f64, usize, f64)] = &[
    (0.1, 1, -0.42565082250148249218),
    (0.1, 2, -0.025832885189276345058),
    (0.1, 3, -0.0116278067305526935),
    (0.1, 10, -0.0012732724023446473969),
    (0.1, 1000, -3.1848587020688847285e-7),
    (0.1, 1048576, -1.1641532182697930645e-12),
    (0.1, 4194304, -9.6006836303635357759e-14),
    (0.3, 1, -0.24214171674480097049),
    (0.3, 2, -0.049125544044516706836),
    (0.3, 3, -0.026625406679528703418),
    (0.3, 10, -0.004790729565746430767),
    (0.3, 1000, -7.5714902537800526077e-6),
    (0.3, 1048576, -4.4703483581554339939e-10),
    (0.3, 4194304, -6.4188522565945214888e-11),
    (0.7, 1, 0.31950791077289417814),
    (0.7, 2, 0.18875253932725092799),
    (0.7, 3, 0.14617344221131173738),
    (0.7, 10, 0.070389262701115249004),
    (0.7, 1000, 0.0044377012939072996453),
    (0.7, 1048576, 0.000068359375000004870114),
    (0.7, 4194304, 0.000029755146206410579552),
    (0.9, 1, 0.74110112659224833187),
    (0.9, 2, 0.63013477473654158193),
    (0.9, 3, 0.57929333679176454317),
    (0.9, 10, 0.45438035993212944466),
    (0.9, 1000, 0.18085582668580714817),
    (0.9, 1048576, 0.045000000000000849857),
    (0.9, 4194304, 0.034103622746484021454),
    (0.99, 1, 0.97246540898671832153),
    (0.99, 2, 0.95727241780783353233),
    (0.99, 3, 0.94929851672246192732),
    (0.99, 10, 0.92654959017796785515),
    (0.99, 1000, 0.8450088764119046875),
    (0.99, 1048576, 0.73527410641419504559),
    (0.99, 4194304, 0.71516799730791305409),
    (0.5000001, 1, 1.3862944564808135979e-7),
    (0.5000001, 2, 5.2324831339263325256e-8),
    (0.5000001, 3, 3.3979821405801110668e-8),
    (0.5000001, 10, 1.001674029863840419e-8),
    (0.5000001, 1000, 1.0000017476928757739e-10),
    (0.5000001, 1048576, 9.5367715079013156102e-14),
    (0.5000001, 4194304, 2.3841935380137096145e-14),
];

#[test]
fn autocovariance_matches_high_precision_reference() {
    // The series sums terms of one sign (a few ulps) and k^2H costs one more ulp; 1e-13 relative
    // leaves room for the 20-digit rounding of the reference and for H's own f64 rounding
    // (relative sensitivity 2·ln k·ε ≈ 7e-15 at k = 2^22).
    for &(h, k, want) in REFERENCE {
        let got = autocovariance(h, k);
        let rel = ((got - want) / want).abs();
        assert!(rel < 1e-13, "H={h} k={k}: {got} vs {want} (rel {rel:.2e})");
    }
}

#[test]
fn textbook_autocovariance_loses_precision_where_the_series_does_not() {
    // The reason for the series form: at H = 0.7, k = 2^20 the direct formula is off by far
    // more than the series (about 1e-4 relative, where the series form keeps 1e-13).
    let (h, k, want) = (0.7, 1_048_576usize, 0.000_068_359_375_000_004_973_799);
    let a = 2.0 * h;
    let kf = k as f64;
    let textbook = 0.5 * ((kf + 1.0).powf(a) - 2.0 * kf.powf(a) + (kf - 1.0).powf(a));
    let rel_textbook = ((textbook - want) / want).abs();
    let rel_series = ((autocovariance(h, k) - want) / want).abs();
    assert!(rel_textbook > 1e-9, "{rel_textbook:e}");
    assert!(rel_series < 1e-14, "{rel_series:e}");
}

#[test]
fn autocovariance_at_half_is_white_noise_exactly() {
    assert_eq!(autocovariance(0.5, 0), 1.0);
    for k in 1..100 {
        assert_eq!(autocovariance(0.5, k), 0.0, "k={k}");
    }
}

#[test]
fn autocovariance_outside_unit_interval_is_nan_and_new_rejects_it() {
    assert!(autocovariance(1.0, 3).is_nan());
    for h in [0.0, 1.0, -0.2, 1.5, f64::NAN] {
        let e = DaviesHarte::new(h, 16).unwrap_err();
        assert_eq!(e.kind, lrdbench_plugin_api::ErrorKind::Parameter);
        assert!(e.message.contains("must be in (0, 1)"), "{}", e.message);
    }
    let e = DaviesHarte::new(0.7, 0).unwrap_err();
    assert!(e.message.contains("at least 1"), "{}", e.message);
    let e = fgn(0.7, 0, 1).unwrap_err();
    assert_eq!(e.kind, lrdbench_plugin_api::ErrorKind::InvalidInput);
}

const HS: [f64; 6] = [0.1, 0.3, 0.5, 0.7, 0.9, 0.99];

/// Mean and standard error across replicates of the lag-k sample autocovariance (known mean 0).
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

/// 6 H × 11 lags = 66 comparisons per sampler; a two-sided 4.5σ bound has a per-test false
/// alarm rate of 7e-6, so about 5e-4 for the family (and the seeds are fixed, so a pass is
/// reproducible).
const Z: f64 = 4.5;

fn check_autocovariance(h: f64, series: &[Vec<f64>], what: &str) {
    for k in 0..=10 {
        let (mean, se) = lag_stats(series, k);
        let want = autocovariance(h, k);
        assert!(
            (mean - want).abs() < Z * se,
            "{what} H={h} lag {k}: {mean:.5} vs {want:.5} (se {se:.5})"
        );
    }
}

#[test]
fn sample_autocovariance_matches_gamma_within_standard_error() {
    let n = 512;
    for h in HS {
        let dh = DaviesHarte::new(h, n).unwrap();
        assert!(dh.warning().is_none());
        let single: Vec<Vec<f64>> = (0..1500).map(|s| dh.sample(s)).collect();
        check_autocovariance(h, &single, "sample");
        let mut paired = Vec::new();
        for s in 0..750 {
            let (a, b) = dh.sample_pair(1_000_000 + s);
            paired.push(a);
            paired.push(b);
        }
        check_autocovariance(h, &paired, "sample_pair");
        // The two halves of a pair are independent: their lag-0 cross-product averages 0.
        let cross: Vec<f64> = (0..750)
            .map(|s| {
                let (a, b) = dh.sample_pair(2_000_000 + s);
                a.iter().zip(&b).map(|(x, y)| x * y).sum::<f64>() / n as f64
            })
            .collect();
        let m = cross.iter().sum::<f64>() / 750.0;
        let se = (cross.iter().map(|v| (v - m).powi(2)).sum::<f64>() / 749.0 / 750.0).sqrt();
        assert!(m.abs() < Z * se, "H={h}: cross {m} (se {se})");
    }
}

#[test]
fn variance_is_one_at_every_h() {
    // The mean of x_t² over a series of n Gaussian points has the exact variance
    // (2/n²)·Σ_{s,t} γ(s−t)²; over R replicates its standard error is sqrt(that/R). The bound
    // is 4.5 of those, and the across-replicate spread must agree with the theory too.
    let n = 4096;
    let r = 200;
    for h in HS {
        let dh = DaviesHarte::new(h, n).unwrap();
        let series: Vec<Vec<f64>> = (0..r).map(|s| dh.sample(s)).collect();
        let (mean, se_emp) = lag_stats(&series, 0);
        let nf = n as f64;
        let s2: f64 = (1..n)
            .map(|k| 2.0 * (nf - k as f64) * autocovariance(h, k).powi(2))
            .sum::<f64>()
            + nf;
        let se = (2.0 * s2 / (nf * nf) / r as f64).sqrt();
        assert!((mean - 1.0).abs() < Z * se, "H={h}: {mean} (se {se})");
        // The spread of a sample standard deviation of 200 values is about 5%; 0.6–1.5×
        // allows for the skew of x² averages under strong dependence.
        assert!(
            se_emp > 0.6 * se && se_emp < 1.5 * se,
            "H={h}: se {se_emp} vs {se}"
        );
    }
}

#[test]
fn embedding_is_non_negative_up_to_2_pow_22() {
    // Eigenvalue check only. Powers of two from 2 to 2^22 and a few other lengths.
    let mut lengths: Vec<usize> = (1..=22).map(|p| 1usize << p).collect();
    lengths.extend([3, 5, 7, 100, 999, 1000, 12_345, 100_003]);
    for h in HS {
        for &n in &lengths {
            let acvf = autocovariance_row(h, n).unwrap();
            let e = CirculantEmbedding::new(&acvf).unwrap();
            assert!(
                e.warning().is_none(),
                "H={h} n={n}: {:?} (min eigenvalue {:e})",
                e.warning(),
                e.min_eigenvalue()
            );
        }
    }
}

/// γ(k) = exp(−(k/3)²): positive definite (a Gaussian kernel), but its circulant embedding at
/// n = 4 has λ_4 = Σ(−1)^j c_j ≈ −0.074.
fn gaussian_acvf(n: usize) -> Vec<f64> {
    (0..=n).map(|k| (-(k as f64 / 3.0).powi(2)).exp()).collect()
}

#[test]
fn negative_embedding_falls_back_to_exact_method_with_warning() {
    let acvf = gaussian_acvf(4);
    let e = CirculantEmbedding::new(&acvf).unwrap();
    assert!(e.min_eigenvalue() < -0.07, "{}", e.min_eigenvalue());
    let w = e.warning().expect("a warning, never silent");
    assert!(w.contains("negative eigenvalue"), "{w}");
    // The fallback is exact: sample covariances at lags 0..4 match within 4.5 standard errors.
    let series: Vec<Vec<f64>> = (0..4000).map(|s| e.sample(s)).collect();
    for (k, want) in acvf.iter().enumerate().take(4) {
        // Use all pairs (t, t+k) of each length-4 series.
        let (mean, se) = lag_stats(&series, k);
        assert!(
            (mean - want).abs() < Z * se,
            "lag {k}: {mean} vs {want} (se {se})"
        );
    }
}

#[test]
fn fallback_beyond_its_limit_is_a_numerical_error() {
    // A Gaussian kernel of width 3 has an embedding that stays negative at any n; beyond the
    // O(n²) limit that is an error, not a silent degradation.
    let mut acvf = gaussian_acvf(MAX_FALLBACK_LENGTH + 1);
    // Make the tail exactly zero so the truncation is what breaks the embedding.
    for g in acvf.iter_mut().skip(40) {
        *g = 0.0;
    }
    acvf[MAX_FALLBACK_LENGTH + 1] = 0.5;
    let e = CirculantEmbedding::new(&acvf).unwrap_err();
    assert_eq!(e.kind, lrdbench_plugin_api::ErrorKind::Numerical, "{e}");
}

#[test]
fn non_positive_definite_acvf_is_rejected() {
    let e = CirculantEmbedding::new(&[1.0, 1.5, 0.0]).unwrap_err();
    assert_eq!(e.kind, lrdbench_plugin_api::ErrorKind::Numerical, "{e}");
    let e = CirculantEmbedding::new(&[1.0]).unwrap_err();
    assert_eq!(e.kind, lrdbench_plugin_api::ErrorKind::InvalidInput, "{e}");
    let e = CirculantEmbedding::new(&[1.0, f64::NAN]).unwrap_err();
    assert_eq!(e.kind, lrdbench_plugin_api::ErrorKind::InvalidInput, "{e}");
}

#[test]
fn same_seed_is_bit_identical_across_calls_and_threads() {
    let dh = DaviesHarte::new(0.8, 10_000).unwrap();
    let seq: Vec<Vec<u64>> = (0..8)
        .map(|s| dh.sample(s).iter().map(|v| v.to_bits()).collect())
        .collect();
    let par: Vec<Vec<u64>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8u64)
            .map(|s| {
                let dh = &dh;
                scope.spawn(move || dh.sample(s).iter().map(|v| v.to_bits()).collect())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(seq, par);
    // A fresh plan gives the same values as a cached one, and sample_into equals sample.
    let fresh = fgn(0.8, 10_000, 3).unwrap();
    assert_eq!(fresh, dh.sample(3));
    let mut buf = vec![0.0; 10_000];
    dh.sample_into(3, &mut buf).unwrap();
    assert_eq!(buf, fresh);
    assert!(dh.sample_into(3, &mut [0.0; 5]).is_err());
    assert_ne!(dh.sample(3), dh.sample(4));
    assert_eq!(dh.sample_pair(9), dh.sample_pair(9));
}

#[test]
fn length_one_and_two_work() {
    let one = fgn(0.3, 1, 5).unwrap();
    assert_eq!(one.len(), 1);
    assert!(one[0].is_finite());
    let two = DaviesHarte::new(0.3, 2).unwrap();
    let (a, b) = two.sample_pair(1);
    assert_eq!((a.len(), b.len()), (2, 2));
}
