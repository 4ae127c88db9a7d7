//! Tests of the statistics against textbook values and independent naive computations.

use super::*;

#[test]
fn wilson_three_in_ten_matches_textbook_interval() {
    // Reference: Wilson interval of 3/10 at z = 1.959964, computed from the closed form in
    // plain double precision (Python, math module): (0.1077912674, 0.6032218525); the textbook
    // rounding is 10.8%–60.3% (Brown, Cai & DasGupta 2001). Tolerance 1e-9: both are the same
    // closed form, so only rounding separates them.
    let ci = wilson(3, 10, Z95).unwrap();
    assert!((ci.low - 0.107_791_267_406_301).abs() < 1e-9);
    assert!((ci.high - 0.603_221_852_538_855).abs() < 1e-9);
}

#[test]
fn wilson_extremes_stay_inside_unit_interval() {
    // 0/10: upper end 0.2775328 (same closed form); 10/10 mirrors it.
    let zero = wilson(0, 10, Z95).unwrap();
    assert_eq!(zero.low, 0.0);
    assert!((zero.high - 0.277_532_799_862_889).abs() < 1e-9);
    let all = wilson(10, 10, Z95).unwrap();
    assert!((all.low - 0.722_467_200_137_111).abs() < 1e-9);
    assert!(all.high <= 1.0);
    assert!(wilson(0, 0, Z95).is_none());
    assert!(wilson(3, 2, Z95).is_none());
}

#[test]
fn quantile_sorted_matches_numpy_linear_definition() {
    // numpy.percentile([1, 2, 3, 4], [0, 25, 50, 100]) = 1, 1.75, 2.5, 4 (definition 7).
    let x = [1.0, 2.0, 3.0, 4.0];
    assert_eq!(quantile_sorted(&x, 0.0), Some(1.0));
    assert_eq!(quantile_sorted(&x, 0.25), Some(1.75));
    assert_eq!(quantile_sorted(&x, 0.5), Some(2.5));
    assert_eq!(quantile_sorted(&x, 1.0), Some(4.0));
    assert_eq!(quantile_sorted(&[7.0], 0.99), Some(7.0));
    assert_eq!(quantile_sorted(&[], 0.5), None);
    assert_eq!(quantile_sorted(&x, 1.5), None);
}

#[test]
fn quantiles_of_one_to_hundred_match_definition_seven() {
    // For 1..=100, Q(q) = 1 + 99 q exactly: p95 = 95.05, p99 = 99.01.
    let mut v: Vec<f64> = (1..=100).rev().map(f64::from).collect();
    v.push(f64::NAN);
    let q = Quantiles::of(&mut v).unwrap();
    assert_eq!(q.n, 100);
    assert!((q.p50 - 50.5).abs() < 1e-12);
    assert!((q.p95 - 95.05).abs() < 1e-12);
    assert!((q.p99 - 99.01).abs() < 1e-12);
    assert_eq!(q.max, 100.0);
    assert!(Quantiles::of(&mut vec![]).is_none());
}

#[test]
fn normal_cdf_matches_tables() {
    // Φ(1.96) = 0.9750021048517795, Φ(0) = 0.5, Φ(−2.5) = 0.0062096653 (math.erfc). The
    // approximation's fractional error bound is 1.2e-7, hence the tolerance.
    assert!((normal_cdf(1.96) - 0.975_002_104_851_779_5).abs() < 2e-7);
    assert!((normal_cdf(0.0) - 0.5).abs() < 2e-7);
    assert!((normal_cdf(-2.5) - 0.006_209_665_325_776_132).abs() < 2e-9);
    // Far tail keeps relative accuracy: 1 − Φ(10) = 7.6198530241605e-24 (math.erfc(10/√2)/2).
    assert!((normal_sf(10.0) / 7.619_853_024_160_5e-24 - 1.0).abs() < 2e-7);
    assert!((normal_sf(2.5) - 0.006_209_665_325_776_132).abs() < 2e-9);
}

#[test]
fn student_t_quantile_matches_tables() {
    // Two-sided 95% critical values, standard t table (6 decimals): df 1, 2, 5, 10, 30, 120.
    for (df, want) in [
        (1.0, 12.706_205),
        (2.0, 4.302_653),
        (5.0, 2.570_582),
        (10.0, 2.228_139),
        (30.0, 2.042_272),
        (120.0, 1.979_930),
    ] {
        let got = student_t_quantile(0.975, df).unwrap();
        // The table is rounded to 1e-6; lnΓ's 2e-10 error is far below that.
        assert!((got - want).abs() < 2e-6, "df {df}: {got} vs {want}");
    }
    // With many degrees of freedom t tends to z.
    assert!((student_t_quantile(0.975, 1e7).unwrap() - Z95).abs() < 1e-5);
    assert!(student_t_quantile(0.3, 5.0).is_none());
    assert!(student_t_quantile(0.975, 0.0).is_none());
}

#[test]
fn scaling_fit_recovers_exponent_and_interval_matches_naive_computation() {
    // t = 2e-9 n^1.3 with a deterministic ±5% wobble; the interval is recomputed here from
    // the textbook sums, independently of the regression module.
    let mut n = Vec::new();
    let mut t = Vec::new();
    for (i, len) in [256.0, 512.0, 1024.0, 2048.0, 4096.0, 8192.0]
        .iter()
        .enumerate()
    {
        for r in 0..3 {
            let wobble = 1.0 + 0.05 * (((i * 3 + r) % 5) as f64 - 2.0) / 2.0;
            n.push(*len);
            t.push(2e-9 * f64::powf(*len, 1.3) * wobble);
        }
    }
    let fit = scaling_fit(&n, &t).unwrap();
    let x: Vec<f64> = n.iter().map(|v| v.ln()).collect();
    let y: Vec<f64> = t.iter().map(|v| v.ln()).collect();
    let k = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / k, y.iter().sum::<f64>() / k);
    let sxx: f64 = x.iter().map(|v| (v - mx).powi(2)).sum();
    let sxy: f64 = x.iter().zip(&y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let b = sxy / sxx;
    let a = my - b * mx;
    let rss: f64 = x
        .iter()
        .zip(&y)
        .map(|(xi, yi)| (yi - a - b * xi).powi(2))
        .sum();
    let se = (rss / (k - 2.0) / sxx).sqrt();
    // t(0.975; 16) = 2.119905 from the table.
    let half = 2.119_905 * se;
    assert!((fit.exponent - b).abs() < 1e-12);
    assert!((fit.ci95.low - (b - half)).abs() < 1e-6 * se.max(1e-12) + 1e-9);
    assert!((fit.ci95.high - (b + half)).abs() < 1e-6 * se.max(1e-12) + 1e-9);
    // The wobble is small and balanced, so the true 1.3 must be inside the interval.
    assert!(fit.ci95.low < 1.3 && 1.3 < fit.ci95.high, "{fit:?}");
    assert_eq!(fit.distinct_lengths, 6);
    assert_eq!(fit.points, 18);
}

#[test]
fn scaling_fit_degenerate_input_gives_none() {
    assert!(scaling_fit(&[], &[]).is_none());
    assert!(scaling_fit(&[100.0, 100.0, 100.0], &[1.0, 2.0, 3.0]).is_none());
    assert!(scaling_fit(&[100.0, 200.0], &[1.0, 2.0]).is_none());
    assert!(scaling_fit(&[0.0, 100.0, 200.0], &[1.0, 0.0, 2.0]).is_none());
}

fn naive_u(earlier: &[f64], later: &[f64]) -> f64 {
    let mut u = 0.0;
    for l in later {
        for e in earlier {
            if l > e {
                u += 1.0;
            } else if l == e {
                u += 0.5;
            }
        }
    }
    u
}

#[test]
fn mann_whitney_separated_samples_match_hand_computation() {
    // earlier 1..5, later 6..10: U = 25, E = 12.5, Var = 25·11/12, z = 12/4.7871 = 2.506718,
    // p = 0.0060929 (Python math.erfc); scipy.stats.mannwhitneyu(later, earlier,
    // alternative="greater", method="asymptotic") gives the same formula.
    let e = [1.0, 2.0, 3.0, 4.0, 5.0];
    let l = [6.0, 7.0, 8.0, 9.0, 10.0];
    let r = mann_whitney_greater(&e, &l).unwrap();
    assert_eq!(r.u_later, 25.0);
    assert_eq!(r.prob_later_greater, 1.0);
    assert!((r.z - 2.506_718_245_762_048_7).abs() < 1e-12);
    assert!((r.p_greater - 0.006_092_890_177_672_409).abs() < 1e-8);
}

#[test]
fn mann_whitney_with_ties_matches_naive_pair_count_and_tie_variance() {
    let e = [1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 5.0, 8.0];
    let l = [2.0, 3.0, 3.0, 4.0, 5.0, 5.0, 9.0, 9.0, 10.0];
    let r = mann_whitney_greater(&e, &l).unwrap();
    assert_eq!(r.u_later, naive_u(&e, &l));
    // Tie groups in the pooled sample: 2 (×3), 3 (×5), 5 (×3), 9 (×2).
    let ties: f64 = [3.0_f64, 5.0, 3.0, 2.0].iter().map(|t| t * t * t - t).sum();
    let (n1, n2, n) = (8.0, 9.0, 17.0);
    let var = n1 * n2 / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)));
    let z = (r.u_later - n1 * n2 / 2.0 - 0.5) / f64::sqrt(var);
    assert!((r.z - z).abs() < 1e-12);
    assert!((r.p_greater - (1.0 - normal_cdf(z))).abs() < 1e-15);
}

#[test]
fn mann_whitney_identical_samples_are_not_significant_and_all_ties_give_none() {
    let x: Vec<f64> = (0..20).map(f64::from).collect();
    let r = mann_whitney_greater(&x, &x).unwrap();
    assert!((r.prob_later_greater - 0.5).abs() < 1e-12);
    assert!(r.p_greater > 0.5);
    assert!(mann_whitney_greater(&[1.0; 10], &[1.0; 10]).is_none());
    assert!(mann_whitney_greater(&[], &[1.0]).is_none());
    assert!(regression_test(&x[..5], &x[..10]).is_none());
}

#[test]
fn lift_reports_counts_and_is_undefined_without_reference_failures() {
    let l = lift(8, 10, 0.2).unwrap();
    assert_eq!(l.stratum.count, 8);
    assert_eq!(l.stratum.attempts, 10);
    assert!((l.lift.unwrap() - 4.0).abs() < 1e-12);
    assert!(lift(0, 10, 0.0).unwrap().lift.is_none());
    assert!(lift(0, 0, 0.5).is_none());
}

#[test]
fn reliability_score_is_wilson_lower_bound_of_success_rate() {
    // 7 successes of 10 → Wilson lower bound of 0.7 = 1 − upper bound of 0.3 = 0.396778.
    let s = reliability_score(7, 10).unwrap();
    assert!((s - 100.0 * (1.0 - 0.603_221_852_538_855)).abs() < 1e-7);
    // 0/1000 failures scores 99.6 as the definition says.
    assert!((reliability_score(1000, 1000).unwrap() - 99.617).abs() < 1e-3);
    assert!(reliability_score(0, 0).is_none());
}

#[test]
fn quantiles_by_selection_equal_the_sorted_definition_bit_for_bit() {
    // A deterministic mix with ties, negative values and a non-finite value, at every size
    // from 1 to 300: the selection must read exactly the order statistics a sort would.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for n in 1..=300usize {
        let mut v: Vec<f64> = (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                ((state % 1000) as f64 - 300.0) / 7.0
            })
            .collect();
        v.push(f64::NAN);
        let mut sorted: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
        sorted.sort_unstable_by(f64::total_cmp);
        let q = Quantiles::of(&mut v.clone()).unwrap();
        assert_eq!(q.n, n);
        assert_eq!(
            q.p50.to_bits(),
            quantile_sorted(&sorted, 0.5).unwrap().to_bits()
        );
        assert_eq!(
            q.p95.to_bits(),
            quantile_sorted(&sorted, 0.95).unwrap().to_bits()
        );
        assert_eq!(
            q.p99.to_bits(),
            quantile_sorted(&sorted, 0.99).unwrap().to_bits()
        );
        assert_eq!(q.max.to_bits(), sorted[n - 1].to_bits());
        let m = crate::stats::median(&mut v).unwrap();
        assert_eq!(
            m.to_bits(),
            quantile_sorted(&sorted, 0.5).unwrap().to_bits()
        );
    }
    assert!(crate::stats::median(&mut vec![f64::INFINITY]).is_none());
}
