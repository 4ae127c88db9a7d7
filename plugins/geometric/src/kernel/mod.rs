//! The geometric estimators' kernels: pure functions over `&[f64]` with a `Config` each.

pub mod ghe;
pub mod higuchi;
pub mod path;

use lrdbench_plugin_api::PluginError;

/// What the input series is: the noise (increments) or its cumulative path.
///
/// Both methods measure the roughness of a path; an fGn series read as a path gives H ≈ 0
/// (the peer's default did exactly that), so the representation is always explicit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// The series is noise (e.g. fGn); its demeaned cumulative sum is the path.
    Increments,
    /// The series is a path (e.g. fBm); its first differences are the increments.
    Path,
}

/// Whether the moments of the demeaned path are corrected for the demeaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Demeaning {
    /// Fit the raw moments.
    None,
    /// Divide out the expected reduction under fGn at the current H, iterated to a fixed point.
    Fgn,
}

/// Checks the interval level shared by every kernel.
pub(crate) fn check_level(level: f64) -> Result<(), PluginError> {
    lrdbench_numerics::validate::require(level > 0.0 && level < 1.0, || {
        format!("level must be in (0, 1), got {level}")
    })
}

/// E[(X_{t+τ} − X_t)²] / τ^{2H} averaged over t, for the path of *demeaned* unit-variance fGn
/// of length n: removing the sample mean subtracts τ·x̄ from every increment, which lowers the
/// moments at large lags, more the higher H (to a third of τ^{2H} at τ = n/8, H = 0.9).
///
/// ```text
/// E(S_τ(t) − (τ/n) S_n)² = τ^{2H} − 2(τ/n) Cov(S_τ(t), S_n) + τ² n^{2H−2}
/// Σ_{t=0}^{n−τ} Cov(S_τ(t), S_n) = Σ_{u=n−τ+1}^{n} u^{2H} − Σ_{u=1}^{τ−1} u^{2H}
/// ```
/// (the covariance of fBm increments, summed by telescoping). Power sums beyond 64 terms use
/// the midpoint rule ∫_{a−½}^{b+½} u^p du, whose relative error is O(a^{−2}).
pub fn demeaned_moment_factor(tau: usize, n: usize, h: f64) -> f64 {
    let p = 2.0 * h;
    let (t, nf) = (tau as f64, n as f64);
    let integral = |a: f64, b: f64| ((b + 0.5).powf(p + 1.0) - (a - 0.5).powf(p + 1.0)) / (p + 1.0);
    let power_sum = |a: usize, b: usize| -> f64 {
        if b < a {
            return 0.0;
        }
        if b - a < 64 {
            (a..=b).map(|u| (u as f64).powf(p)).sum()
        } else {
            let head: f64 = (a..a + 64).map(|u| (u as f64).powf(p)).sum();
            head + integral((a + 64) as f64, b as f64)
        }
    };
    let cov_sum = power_sum(n + 1 - tau, n) - power_sum(1, tau.saturating_sub(1));
    let positions = (n - tau + 1) as f64;
    let e = t.powf(p) - 2.0 * (t / nf) * cov_sum / positions + t * t * nf.powf(p - 2.0);
    (e / t.powf(p)).max(1e-12)
}

/// Lags up to which [`DemeanedFactors`] takes the power sums from cached logarithms (those
/// [`demeaned_moment_factor`] sums term by term; both default ladders stay below it).
const CACHED_LAG: usize = 64;

/// `ln` [`demeaned_moment_factor`]`(τ, n, H)` for fixed lags and n at any H, as the fixed point
/// in H needs it five or so times per fit. For τ ≤ [`CACHED_LAG`] the two power sums are
/// prefix sums over u = 1.. and u = n, n − 1, .., shared by every lag, and each u^{2H} is
/// exp(2H ln u) from logarithms taken once: about 2·τ_max exponentials per H instead of
/// 2·Σ τ powers. Larger lags call [`demeaned_moment_factor`].
struct DemeanedFactors<'a> {
    lags: &'a [f64],
    n: usize,
    /// ln u for u = 0..=τ_max (index 0 unused).
    ln_low: Vec<f64>,
    /// ln (n − i) for i = 0..τ_max.
    ln_top: Vec<f64>,
    ln_n: f64,
}

impl<'a> DemeanedFactors<'a> {
    fn new(lags: &'a [f64], n: usize) -> DemeanedFactors<'a> {
        let top = lags
            .iter()
            .map(|l| *l as usize)
            .filter(|t| *t <= CACHED_LAG && *t <= n)
            .max()
            .unwrap_or(0);
        DemeanedFactors {
            lags,
            n,
            ln_low: (0..=top).map(|u| (u as f64).ln()).collect(),
            ln_top: (0..top).map(|i| ((n - i) as f64).ln()).collect(),
            ln_n: (n as f64).ln(),
        }
    }

    /// ln factor per lag at `h`, into `out`.
    fn ln_factors(&self, h: f64, out: &mut Vec<f64>) {
        let p = 2.0 * h;
        let top = self.ln_top.len();
        // low[j] = Σ_{u=1}^{j} u^p, high[j] = Σ_{i<j} (n − i)^p, for j = 0..=top.
        let mut low = Vec::with_capacity(top + 1);
        let mut high = Vec::with_capacity(top + 1);
        let (mut a, mut b) = (0.0, 0.0);
        low.push(0.0);
        high.push(0.0);
        for j in 0..top {
            a += (p * self.ln_low[j + 1]).exp();
            b += (p * self.ln_top[j]).exp();
            low.push(a);
            high.push(b);
        }
        let nf = self.n as f64;
        let n_pow = ((p - 2.0) * self.ln_n).exp();
        out.clear();
        out.extend(self.lags.iter().map(|l| {
            let tau = *l as usize;
            if tau == 0 || tau > top {
                return demeaned_moment_factor(tau, self.n, h).ln();
            }
            let t = *l;
            let t_pow = (p * self.ln_low[tau]).exp();
            let cov_sum = high[tau] - low[tau - 1];
            let positions = (self.n - tau + 1) as f64;
            let e = t_pow - 2.0 * (t / nf) * cov_sum / positions + t * t * n_pow;
            (e / t_pow).max(1e-12).ln()
        }));
    }
}

/// Fits `log_stat − (power/2)·log factor(lag, H)` on log lag, iterating H to a fixed point
/// (the correction for the demeaned path; see [`demeaned_moment_factor`]).
pub(crate) fn corrected_fit(
    lags: &[f64],
    log_stat: &[f64],
    n: usize,
    power: f64,
    labels: (&'static str, &'static str),
    map: lrdbench_numerics::scaling::SlopeMap,
    level: f64,
) -> Result<lrdbench_numerics::scaling::HurstFit, PluginError> {
    use lrdbench_numerics::scaling::{fit_hurst, fixed_point, slope};
    let lx: Vec<f64> = lags.iter().map(|l| l.ln()).collect();
    let fit = fit_hurst(lx.clone(), log_stat.to_vec(), labels, map, level)?;
    let factors = DemeanedFactors::new(lags, n);
    let corrected = |h: f64| -> Vec<f64> {
        let mut ln_c = Vec::with_capacity(lags.len());
        factors.ln_factors(h.clamp(0.01, 0.99), &mut ln_c);
        log_stat
            .iter()
            .zip(&ln_c)
            .map(|(s, c)| s - 0.5 * power * c)
            .collect()
    };
    // Secant steps to the fixed point (about five evaluations instead of dozens: each costs
    // the power sums of `factors`), then the full fit once at it.
    let t = |h: f64| map.factor * slope(&lx, &corrected(h), None) + map.offset;
    let (h, converged) = fixed_point(fit.h, t, 1e-10, 60);
    let mut fit = fit_hurst(lx, corrected(h), labels, map, level)?;
    if !converged {
        fit.warnings
            .push("the demeaning correction did not converge in 60 iterations".to_string());
    }
    Ok(fit)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn demeaned_factor_matches_direct_covariance_sum() {
        // Direct O(n τ) evaluation of the same expectation for a small case, against the
        // closed form with midpoint-rule power sums: 1e-6 relative covers the O(a^-2) rule.
        let (n, h) = (600usize, 0.8f64);
        let p = 2.0 * h;
        let fbm = |a: f64, b: f64| {
            0.5 * (b.powf(p) - a.powf(p) + (n as f64 - a).powf(p) - (n as f64 - b).powf(p))
        };
        for tau in [1usize, 5, 70, 150] {
            let t = tau as f64;
            let mut acc = 0.0;
            for s in 0..=(n - tau) {
                let cov = fbm(s as f64, (s + tau) as f64);
                acc += t.powf(p) - 2.0 * t / n as f64 * cov + t * t * (n as f64).powf(p - 2.0);
            }
            let direct = acc / (n - tau + 1) as f64 / t.powf(p);
            let closed = demeaned_moment_factor(tau, n, h);
            assert!(
                (direct / closed - 1.0).abs() < 1e-6,
                "τ={tau}: {direct} vs {closed}"
            );
        }
    }

    #[test]
    fn cached_factors_match_the_direct_function() {
        // Same sums in another order with exp(p ln u) for u^p: agreement to 1e-12 relative
        // (each term carries a few ulp, the sums have at most 64 terms). Lags past the cache
        // go through the function itself.
        let lags: Vec<f64> = [1usize, 2, 3, 7, 16, 37, 64, 65, 200]
            .iter()
            .map(|v| *v as f64)
            .collect();
        for n in [600usize, 65_536] {
            let table = DemeanedFactors::new(&lags, n);
            let mut got = Vec::new();
            for h in [0.01, 0.3, 0.7, 0.99] {
                table.ln_factors(h, &mut got);
                for (l, g) in lags.iter().zip(&got) {
                    let want = demeaned_moment_factor(*l as usize, n, h);
                    assert!(
                        (g.exp() / want - 1.0).abs() < 1e-12,
                        "n={n} h={h} τ={l}: {} vs {want}",
                        g.exp()
                    );
                }
            }
        }
    }
}
