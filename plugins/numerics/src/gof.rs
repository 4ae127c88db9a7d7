//! Goodness-of-fit tests that turn a misspecified model into a specific warning rather than a
//! confident wrong answer.
//!
//! [`spectral_dispersion`] is Beran's test of a fitted spectral density: if the model is right,
//! the ratios r_j = I(λ_j)/f̂(λ_j) of the periodogram to the fitted density are asymptotically
//! independent exponentials with a common mean, whose squared coefficient of variation is 1;
//! a wrong spectral shape makes the ratios drift with λ and inflates their dispersion.
//! [`too_few_scales_for_bootstrap`] refuses a bootstrap interval for a scaling fit of too few
//! points.

/// The result of a one-sided test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GofTest {
    /// The statistic in its natural units.
    pub statistic: f64,
    /// Its standardised value (asymptotically N(0, 1) under the model).
    pub z: f64,
    /// The one-sided p-value P(Z ≥ z).
    pub p_value: f64,
}

/// P(Z ≥ z) for a standard normal Z, to about 1e-7 relative (Numerical Recipes' Chebyshev
/// fit of erfc, W. H. Press et al. (2007), §6.2.2), so tiny p-values keep their digits.
///
/// # Examples
///
/// ```
/// use lrdbench_numerics::gof::normal_upper_tail;
/// // Within the fit's 1.2e-7 relative accuracy.
/// assert!((normal_upper_tail(1.959_964) / 0.025 - 1.0).abs() < 2e-7);
/// assert!((normal_upper_tail(0.0) / 0.5 - 1.0).abs() < 2e-7);
/// ```
pub fn normal_upper_tail(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// Beran's goodness-of-fit test of a fitted spectral density, from Σ r_j and Σ r_j² over `m`
/// Fourier frequencies in (0, π), r_j = I(λ_j)/f̂(λ_j) (any common scale).
///
/// # Formula
///
/// ```text
/// T = m Σ r_j² / (Σ r_j)²        (→ E r²/(E r)² = 2 for exponential ratios)
/// z = √m (T − 2) / 2             (delta method: Var r² = 20, Var r = 1, Cov(r², r) = 4 for
///                                 Exp(1), so Var T ≈ 4/m; fitted parameters do not change it)
/// p = P(Z ≥ z)
/// ```
///
/// # Reference
///
/// Beran (1992), "A goodness-of-fit test for time series with long range dependence",
/// J. R. Statist. Soc. B 54(3), 749–760, Theorem 1 (the statistic A/B², whose limit is not
/// affected by √n-consistent parameter estimates).
///
/// # Examples
///
/// ```
/// use lrdbench_numerics::gof::spectral_dispersion;
/// // Exponential ratios of mean 1 on half the band and 2 on the other: E r = 1.5,
/// // E r² = (2 + 8)/2 = 5, so T = 5/1.5² = 2.22 and z = √1000 · 0.22/2 = 3.5.
/// let t = spectral_dispersion(1500.0, 5000.0, 1000);
/// assert!((t.z - 3.51).abs() < 0.01 && t.p_value < 1e-3);
/// ```
pub fn spectral_dispersion(sum_r: f64, sum_r2: f64, m: usize) -> GofTest {
    let mf = m as f64;
    let statistic = mf * sum_r2 / (sum_r * sum_r);
    let z = mf.sqrt() * (statistic - 2.0) / 2.0;
    GofTest {
        statistic,
        z,
        p_value: normal_upper_tail(z),
    }
}

/// Fewest scaling points from which a bootstrap interval is reported. A line through three
/// points has one residual degree of freedom: replicates of the same short ladder reproduce
/// its slope's sampling spread only if the ladder itself is trustworthy, which three scales of
/// a short series are not (on the Nile series, n = 100, DFA's three scales gave 0.04
/// [−0.18, 0.10] where every other method says 0.68–1.0).
pub const MIN_BOOTSTRAP_SCALES: usize = 4;

/// With `ci = bootstrap`: when the estimate comes from a scaling fit of fewer than
/// [`MIN_BOOTSTRAP_SCALES`] points, the estimate without interval or standard error, with a
/// warning saying why; `None` when the bootstrap may proceed.
pub fn too_few_scales_for_bootstrap(
    out: &lrdbench_plugin_api::Estimate,
) -> Option<lrdbench_plugin_api::Estimate> {
    use lrdbench_plugin_api::abi_stable::std_types::ROption;
    let points = out.fit.as_ref().map(|f| f.x.len()).into_option()?;
    if points >= MIN_BOOTSTRAP_SCALES {
        return None;
    }
    let mut refused = out.clone();
    refused.ci = ROption::RNone;
    refused.stderr = ROption::RNone;
    refused.warnings.push(
        format!(
            "no interval: the fit has only {points} scales, too few for an honest bootstrap \
             (at least {MIN_BOOTSTRAP_SCALES}); use a longer series or a smaller minimum scale"
        )
        .into(),
    );
    Some(refused)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_is_refused_below_four_scales() {
        use lrdbench_plugin_api::Estimate;
        let with = |k: usize| {
            let x: Vec<f64> = (0..k).map(|i| i as f64).collect();
            Estimate::new(0.04, "H")
                .with_stderr(0.05)
                .with_ci(-0.06, 0.14, 0.95)
                .with_fit("x", "y", x.clone(), x.clone(), x)
        };
        let refused = too_few_scales_for_bootstrap(&with(3)).unwrap();
        assert!(refused.ci.is_none() && refused.stderr.is_none());
        assert!(refused.warnings[0].contains("only 3 scales"));
        assert!(too_few_scales_for_bootstrap(&with(4)).is_none());
        assert!(too_few_scales_for_bootstrap(&Estimate::new(0.5, "H")).is_none());
    }

    #[test]
    fn upper_tail_matches_tabulated_values() {
        // Abramowitz & Stegun table 26.1 / R's pnorm(z, lower.tail = FALSE).
        for (z, p) in [
            (-1.0, 0.841_344_746_068_543),
            (1.0, 0.158_655_253_931_457),
            (2.575_829_3, 0.005),
            (5.0, 2.866_515_718_791_94e-7),
            (8.0, 6.220_960_574_271_78e-16),
        ] {
            let got = normal_upper_tail(z);
            assert!(((got - p) / p).abs() < 2e-7, "z={z}: {got} vs {p}");
        }
    }

    #[test]
    fn dispersion_test_has_its_size_on_exponential_ratios() {
        // 2,000 sets of m = 500 exponential ratios (inverse-CDF of the portable uniform
        // stream). At the 5% level the rejection count is Binomial(2000, 0.05): mean 100,
        // SD 9.7; [70, 130] is ±3 SD. The limit is asymptotic (T is skewed at finite m), which
        // this also bounds.
        let mut rng = crate::rng::NormalStream::new(17);
        let mut rejected = 0;
        for _ in 0..2000 {
            let (mut s, mut s2) = (0.0, 0.0);
            for _ in 0..500 {
                let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
                let r = -(1.0 - u).ln();
                s += r;
                s2 += r * r;
            }
            if spectral_dispersion(s, s2, 500).p_value < 0.05 {
                rejected += 1;
            }
        }
        assert!((70..=130).contains(&rejected), "{rejected} of 2000");
    }
}
