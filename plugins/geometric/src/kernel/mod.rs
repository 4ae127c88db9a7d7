//! The geometric estimators' kernels: pure functions over `&[f64]` with a `Config` each.

pub mod ghe;
pub mod higuchi;

use lrdbench_numerics::prefix;
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

/// The demeaned increments of the path, whichever representation `x` is in (validated input).
pub(crate) fn increments(x: &[f64], input: Input) -> Vec<f64> {
    let d: Vec<f64> = match input {
        Input::Increments => x.to_vec(),
        Input::Path => x.windows(2).map(|w| w[1] - w[0]).collect(),
    };
    let mean = prefix::neumaier_sum(d.iter().copied()) / d.len().max(1) as f64;
    d.into_iter().map(|v| v - mean).collect()
}

/// The path X_0 = 0, X_j = Σ_{i<j} z_i of demeaned increments (compensated), length n + 1.
pub(crate) fn path(z: &[f64]) -> Vec<f64> {
    let mut out = Vec::with_capacity(z.len() + 1);
    out.push(0.0);
    out.extend(prefix::profile(z));
    out
}

/// Checks the interval level shared by every kernel.
pub(crate) fn check_level(level: f64) -> Result<(), PluginError> {
    lrdbench_numerics::validate::require(level > 0.0 && level < 1.0, || {
        format!("level must be in (0, 1), got {level}")
    })
}

/// Rejects a path whose increments are all equal (a straight line has no roughness).
pub(crate) fn check_increments(z: &[f64], method: &str) -> Result<(), PluginError> {
    if z.iter()
        .all(|v| v.abs() <= f64::EPSILON * 16.0 * z.len() as f64)
    {
        return Err(PluginError::invalid_input(format!(
            "{method}: the increments are constant (the path is a straight line)"
        )));
    }
    Ok(())
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
    let corrected = |h: f64| -> Vec<f64> {
        let h = h.clamp(0.01, 0.99);
        log_stat
            .iter()
            .zip(lags)
            .map(|(s, l)| s - 0.5 * power * demeaned_moment_factor(*l as usize, n, h).ln())
            .collect()
    };
    // Secant steps to the fixed point (about five evaluations instead of dozens: each costs
    // a power sum per lag), then the full fit once at it.
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
}
