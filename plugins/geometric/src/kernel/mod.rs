//! The geometric estimators' kernels: pure functions over `&[f64]` with a `Config` each.

pub mod ghe;
pub mod higuchi;
pub mod path;

use lrdbench_numerics::vmath;
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
pub(crate) fn demeaned_moment_factor(tau: usize, n: usize, h: f64) -> f64 {
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
/// prefix sums shared by every lag, and everything that does not depend on H is computed once:
///
/// - u^{2H} for u ≤ τ_max: exp(2H ln u) for the primes only, products for the rest
///   (u^{2H} = a^{2H} (u/a)^{2H}; at most six products, a few ulp);
/// - Σ_{i<τ} (n − i)^{2H} = n^{2H} Σ_k C(2H, k) (−1/n)^k S_k(τ) with S_k(τ) = Σ_{i<τ} i^k
///   cached, truncated where (τ_max/n)^k < 1e-17 (|C(2H, k)| ≤ 1 for 2H ≤ 2, so the tail is
///   below 3e-17 relative for τ_max ≤ n/4); for τ_max > n/4, exp(2H ln(n − i)) term by term.
///
/// About twenty exponentials and a logarithm per lag for each H, all taken four at a time
/// (`lrdbench_numerics::vmath`), in buffers kept from one H to the next. Larger lags call
/// [`demeaned_moment_factor`].
struct DemeanedFactors<'a> {
    lags: &'a [f64],
    n: usize,
    /// Largest cached lag.
    top: usize,
    /// The primes up to `top`, and ln of each.
    primes: Vec<usize>,
    ln_primes: Vec<f64>,
    /// (a, u / a) for each composite u ≤ top with a its smallest prime factor, (u, 0) for
    /// 0, 1 and the primes.
    split: Vec<(usize, usize)>,
    /// S_k(τ) for each lag (row) and k < terms, or empty when the series is not used.
    moments: Vec<f64>,
    terms: usize,
    /// ln (n − i) for i < top when the series is not used.
    ln_top: Vec<f64>,
    ln_n: f64,
    /// Working space of [`DemeanedFactors::ln_factors`].
    scratch: std::cell::RefCell<FactorScratch>,
}

/// Buffers of [`DemeanedFactors::ln_factors`], reused from one H to the next.
#[derive(Default)]
struct FactorScratch {
    /// Exponents, then their exponentials: the primes', n's, then the (n − i)'s.
    powers: Vec<f64>,
    /// u^p for u ≤ top.
    pow: Vec<f64>,
    /// Σ_{u ≤ j} u^p.
    low: Vec<f64>,
    /// C(p, k) (−1/n)^k.
    coef: Vec<f64>,
    /// Σ_{i < j} (n − i)^p without the series.
    high: Vec<f64>,
}

impl<'a> DemeanedFactors<'a> {
    fn new(lags: &'a [f64], n: usize) -> DemeanedFactors<'a> {
        let top = lags
            .iter()
            .map(|l| *l as usize)
            .filter(|t| *t <= CACHED_LAG && *t <= n)
            .max()
            .unwrap_or(0);
        // Sieve of smallest prime factors.
        let mut factor: Vec<usize> = (0..=top).collect();
        for d in 2..=top {
            if factor[d] == d {
                for multiple in (d * d..=top).step_by(d) {
                    factor[multiple] = factor[multiple].min(d);
                }
            }
        }
        let primes: Vec<usize> = (2..=top).filter(|u| factor[*u] == *u).collect();
        let split = (0..=top)
            .map(|u| match factor[u] {
                a if a == u || u < 2 => (u, 0),
                a => (a, u / a),
            })
            .collect();
        // The primes' logarithms and ln n in one call.
        let mut ln_primes: Vec<f64> = primes.iter().map(|u| *u as f64).collect();
        ln_primes.push(n as f64);
        let ratio = top as f64 / n as f64;
        let series = top > 0 && ratio <= 0.25;
        if !series {
            ln_primes.extend((0..top).map(|i| (n - i) as f64));
        }
        vmath::ln_in_place(&mut ln_primes);
        let ln_top = ln_primes.split_off(primes.len() + 1);
        let ln_n = ln_primes.pop().unwrap_or(0.0);
        let (terms, moments) = if series {
            let terms = ((1e-17f64.ln() / ratio.ln()).ceil() as usize).max(1);
            // S_k(τ) by running powers and prefix sums, copied out at each lag's τ.
            let mut moments = vec![0.0; lags.len() * terms];
            let mut rows: Vec<(usize, usize)> = lags
                .iter()
                .enumerate()
                .map(|(row, l)| (*l as usize, row))
                .filter(|(tau, _)| *tau <= top)
                .collect();
            rows.sort_unstable();
            let mut run = vec![0.0; terms];
            let mut next = rows.iter().peekable();
            // τ = 0 (if asked for) is the empty sum.
            while let Some((_, row)) = next.next_if(|(tau, _)| *tau == 0) {
                moments[row * terms..(row + 1) * terms].copy_from_slice(&run);
            }
            for i in 0..top {
                let mut v = 1.0;
                for r in run.iter_mut() {
                    *r += v;
                    v *= i as f64;
                }
                while let Some((_, row)) = next.next_if(|(tau, _)| *tau == i + 1) {
                    moments[row * terms..(row + 1) * terms].copy_from_slice(&run);
                }
            }
            (terms, moments)
        } else {
            (0, Vec::new())
        };
        DemeanedFactors {
            lags,
            n,
            top,
            primes,
            ln_primes,
            split,
            moments,
            terms,
            ln_top,
            ln_n,
            scratch: Default::default(),
        }
    }

    /// ln factor per lag at `h`, into `out`.
    fn ln_factors(&self, h: f64, out: &mut Vec<f64>) {
        let p = 2.0 * h;
        let top = self.top;
        let mut scratch = self.scratch.borrow_mut();
        let FactorScratch {
            powers,
            pow,
            low,
            coef,
            high,
        } = &mut *scratch;
        powers.clear();
        powers.extend(self.ln_primes.iter().map(|l| p * l));
        powers.push(p * self.ln_n);
        powers.extend(self.ln_top.iter().map(|l| p * l));
        vmath::exp_in_place(powers);
        let np = self.primes.len();
        // pow[u] = u^p; low[j] = Σ_{u=1}^{j} u^p.
        pow.clear();
        pow.resize(top + 1, 0.0);
        for (u, v) in self.primes.iter().zip(powers.iter()) {
            pow[*u] = *v;
        }
        low.clear();
        low.resize(top + 1, 0.0);
        if top >= 1 {
            pow[1] = 1.0;
        }
        // The running sum stays in a register (through `low` it would wait on a store per
        // term), and the factors of each composite come from the table, not a division.
        let mut sum = 0.0;
        for (u, (l, (a, b))) in low.iter_mut().zip(&self.split).enumerate().skip(1) {
            if *b != 0 {
                pow[u] = pow[*a] * pow[*b];
            }
            sum += pow[u];
            *l = sum;
        }
        let nf = self.n as f64;
        let n_p = powers[np];
        let n_pow = n_p / (nf * nf);
        // c_k = C(p, k) (−1/n)^k.
        coef.clear();
        let mut c = 1.0;
        for k in 0..self.terms {
            coef.push(c);
            c *= (p - k as f64) / (k + 1) as f64 * (-1.0 / nf);
        }
        // Without the series: high[j] = Σ_{i<j} (n − i)^p.
        high.clear();
        high.push(0.0);
        let mut b = 0.0;
        for v in &powers[np + 1..] {
            b += v;
            high.push(b);
        }
        out.clear();
        out.extend(self.lags.iter().enumerate().map(|(row, l)| {
            let tau = *l as usize;
            if tau == 0 || tau > top {
                return demeaned_moment_factor(tau, self.n, h);
            }
            let top_sum = if self.terms > 0 {
                let s = &self.moments[row * self.terms..(row + 1) * self.terms];
                // Smallest terms first.
                n_p * coef.iter().zip(s).rev().map(|(c, s)| c * s).sum::<f64>()
            } else {
                high[tau]
            };
            let t = *l;
            let t_pow = pow[tau];
            let cov_sum = top_sum - low[tau - 1];
            let positions = (self.n - tau + 1) as f64;
            let e = t_pow - 2.0 * (t / nf) * cov_sum / positions + t * t * n_pow;
            (e / t_pow).max(1e-12)
        }));
        vmath::ln_in_place(out);
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
    let mut lx = lags.to_vec();
    vmath::ln_in_place(&mut lx);
    if lx.len() < 3 {
        // The fit's own error for too few scales.
        return fit_hurst(lx, log_stat.to_vec(), labels, map, level);
    }
    // The uncorrected slope starts the fixed point (the interval of that fit is not needed).
    let h0 = map.factor * slope(&lx, log_stat, None) + map.offset;
    if !h0.is_finite() {
        // The fit's own error for a degenerate line.
        return fit_hurst(lx, log_stat.to_vec(), labels, map, level);
    }
    let factors = DemeanedFactors::new(lags, n);
    // One buffer for every evaluation: the corrected log-statistics at `h`.
    let buffer = std::cell::RefCell::new(Vec::with_capacity(lags.len()));
    let corrected = |h: f64| {
        let mut ln_c = buffer.borrow_mut();
        factors.ln_factors(h.clamp(0.01, 0.99), &mut ln_c);
        for (c, s) in ln_c.iter_mut().zip(log_stat) {
            *c = s - 0.5 * power * *c;
        }
    };
    // Secant steps to the fixed point (about five evaluations instead of dozens: each costs
    // the power sums of `factors`), then the full fit once at it.
    let t = |h: f64| {
        corrected(h);
        map.factor * slope(&lx, &buffer.borrow(), None) + map.offset
    };
    let (h, converged) = fixed_point(h0, t, 1e-10, 60);
    corrected(h);
    let mut fit = fit_hurst(lx, buffer.take(), labels, map, level)?;
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
        // Same sums by other means (u^p from prime powers, the top sum by its binomial
        // series, or term by term when τ_max > n/4 as at n = 128 and 257): agreement to 1e-12
        // relative (each term carries a few ulp, the sums have at most 64 terms, the series is
        // truncated below 3e-17). Lags past the cache go through the function itself.
        for n in [128usize, 257, 600, 65_536] {
            let lags: Vec<f64> = [1usize, 2, 3, 7, 16, 37, 64, 65, 200]
                .iter()
                .filter(|v| **v <= n / 2)
                .map(|v| *v as f64)
                .collect();
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
