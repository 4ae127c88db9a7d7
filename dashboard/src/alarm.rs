//! The tests behind every recommendation of the reports, each with its false-alarm rate and its
//! minimum sample, in one place.
//!
//! A report raises an alarm (a recommendation about a component) only when one of these tests
//! rejects at the level [`FAMILY_ALPHA`], Bonferroni-divided over every test of the same kind in
//! the report: the chance that a report raises any alarm of that kind when nothing is wrong is
//! at most [`FAMILY_ALPHA`]. The unit tests in `report/tests.rs` check this by simulating
//! noise-only histories, and check that a real slow-down or failure cluster is found.

use lrdbench_numerics::special::ln_gamma;
use serde::Serialize;

/// The family-wise false-alarm rate of each kind of alarm in one report.
pub const FAMILY_ALPHA: f64 = 0.05;

/// The fewest usable calls (calls whose input the component could use) for a component to get
/// a reliability score, a rank and a failure-rate test. Below it the component is "not enough
/// data": with 30 calls and no failure the Wilson 95% interval of the failure rate still
/// reaches 11.4%, and with fewer it cannot tell a component that never fails from one that
/// fails one time in eight.
pub const MIN_USABLE_CALLS: u64 = 30;

/// The fewest estimator failures in a stratum for it to be tested for a concentration.
pub const MIN_STRATUM_FAILURES: u64 = 3;

/// The fewest sessions (host processes) in each window for the slow-down test. Sessions, not
/// calls, are its unit: the calls of one session share the machine's load, so they are not
/// independent evidence of a change in the code.
pub const MIN_SESSIONS_PER_WINDOW: usize = 5;

/// The smallest slow-down a report claims, as a ratio of medians (later / earlier), whatever
/// the p-value: smaller shifts are within what a change of machine state explains.
pub const MIN_SLOWDOWN_RATIO: f64 = 1.10;

/// A one-sided test's outcome against its Bonferroni-corrected level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Verdict {
    /// The p-value.
    pub p_value: f64,
    /// The level it is compared with: [`FAMILY_ALPHA`] / `tests`.
    pub level: f64,
    /// How many tests of this kind the report ran (the Bonferroni divisor).
    pub tests: usize,
    /// `p_value < level`.
    pub alarm: bool,
}

impl Verdict {
    /// `p` judged as one of `tests` tests at the family level [`FAMILY_ALPHA`].
    pub fn bonferroni(p: f64, tests: usize) -> Verdict {
        let level = FAMILY_ALPHA / tests.max(1) as f64;
        Verdict {
            p_value: p,
            level,
            tests: tests.max(1),
            alarm: p < level,
        }
    }
}

fn ln_choose(n: u64, k: u64) -> f64 {
    ln_gamma(n as f64 + 1.0) - ln_gamma(k as f64 + 1.0) - ln_gamma((n - k) as f64 + 1.0)
}

/// P(X ≥ k) for X ~ Binomial(n, p): the one-sided p-value of "the rate exceeds p" after k
/// events in n trials. Summed term by term in logs (exact up to rounding; n up to millions
/// costs at most n − k + 1 terms, and the sum stops once terms fall below 1e-17 of it).
///
/// # Examples
///
/// ```
/// use lrdbench_dashboard::alarm::binomial_sf;
/// // P(X ≥ 2 | n = 3, p = 0.5) = 4/8.
/// assert!((binomial_sf(2, 3, 0.5) - 0.5).abs() < 1e-12);
/// assert_eq!(binomial_sf(0, 10, 0.3), 1.0);
/// ```
pub fn binomial_sf(k: u64, n: u64, p: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if k > n || p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return 1.0;
    }
    let (lp, lq) = (p.ln(), (1.0 - p).ln());
    let term = |i: u64| (ln_choose(n, i) + i as f64 * lp + (n - i) as f64 * lq).exp();
    let mut sum = 0.0;
    // Terms decrease past the mode; sum from k up, stopping when they no longer matter.
    let mode = ((n + 1) as f64 * p).floor() as u64;
    for i in k..=n {
        let t = term(i);
        sum += t;
        if i > mode && t < sum * 1e-17 {
            break;
        }
    }
    sum.min(1.0)
}

/// P(X ≥ k) for X hypergeometric: `n` draws without replacement from `total` items of which
/// `marked` are marked. The one-sided p-value of Fisher's exact test that a stratum of `n`
/// calls holds more of a component's `marked` failures than chance would put there.
///
/// # Examples
///
/// ```
/// use lrdbench_dashboard::alarm::hypergeometric_sf;
/// // 3 failures in 10 calls, all 3 in a stratum of 3: 1 / C(10, 3) = 1/120.
/// assert!((hypergeometric_sf(3, 10, 3, 3) - 1.0 / 120.0).abs() < 1e-12);
/// ```
pub fn hypergeometric_sf(k: u64, total: u64, marked: u64, n: u64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    let hi = marked.min(n);
    if k > hi || n > total || marked > total {
        return 0.0;
    }
    let denom = ln_choose(total, n);
    let mut sum = 0.0;
    for i in k..=hi {
        if n - i > total - marked {
            continue;
        }
        sum += (ln_choose(marked, i) + ln_choose(total - marked, n - i) - denom).exp();
    }
    sum.min(1.0)
}

/// The one-sided p-value of the Mann–Whitney test "later > earlier" from the exact null
/// distribution of U (every ordering of the pooled values equally likely), for samples without
/// ties of at most 30 values each; `None` otherwise (the normal approximation of
/// [`crate::stats::mann_whitney_greater`] then applies).
///
/// The distribution is counted by the recursion on the largest pooled value:
/// f(i, j, u) = f(i − 1, j, u) + f(i, j − 1, u − i).
///
/// # Examples
///
/// ```
/// use lrdbench_dashboard::alarm::mann_whitney_exact_p;
/// // 5 against 5, every later value larger: p = 1 / C(10, 5) = 1/252.
/// let e = [1.0, 2.0, 3.0, 4.0, 5.0];
/// let l = [6.0, 7.0, 8.0, 9.0, 10.0];
/// assert!((mann_whitney_exact_p(&e, &l).unwrap() - 1.0 / 252.0).abs() < 1e-15);
/// ```
pub fn mann_whitney_exact_p(earlier: &[f64], later: &[f64]) -> Option<f64> {
    let (m, n) = (earlier.len(), later.len());
    if m == 0 || n == 0 || m > 30 || n > 30 {
        return None;
    }
    let mut all: Vec<f64> = earlier.iter().chain(later).copied().collect();
    if all.iter().any(|v| !v.is_finite()) {
        return None;
    }
    all.sort_unstable_by(f64::total_cmp);
    if all.windows(2).any(|w| w[0] == w[1]) {
        return None;
    }
    let u_obs: usize = later
        .iter()
        .map(|l| earlier.iter().filter(|e| *e < l).count())
        .sum();
    // f[i][j] is the count vector over u for i earlier and j later values.
    let width = m * n + 1;
    let mut f = vec![vec![vec![0.0_f64; width]; n + 1]; m + 1];
    for i in 0..=m {
        for j in 0..=n {
            if i == 0 || j == 0 {
                f[i][j][0] = 1.0;
                continue;
            }
            for u in 0..=i * j {
                let a = f[i - 1][j][u];
                let b = if u >= i { f[i][j - 1][u - i] } else { 0.0 };
                f[i][j][u] = a + b;
            }
        }
    }
    let counts = &f[m][n];
    let total: f64 = counts.iter().sum();
    let tail: f64 = counts[u_obs..].iter().sum();
    Some(tail / total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binomial_tail_matches_direct_sums() {
        // P(X ≥ 3 | n = 10, p = 0.05) = 1 − Σ_{i<3} C(10,i) .05^i .95^(10−i).
        let direct = 1.0
            - (0..3)
                .map(|i| {
                    let c = [1.0, 10.0, 45.0][i as usize];
                    c * 0.05f64.powi(i) * 0.95f64.powi(10 - i)
                })
                .sum::<f64>();
        assert!((binomial_sf(3, 10, 0.05) - direct).abs() < 1e-13);
        assert_eq!(binomial_sf(11, 10, 0.5), 0.0);
        // A large n: P(X ≥ 60 | 1000, 0.05) against the normal approximation's ballpark.
        let p = binomial_sf(60, 1000, 0.05);
        assert!(p > 0.05 && p < 0.12, "{p}");
    }

    #[test]
    fn hypergeometric_tail_sums_to_one_and_matches_fisher() {
        assert!((hypergeometric_sf(0, 20, 5, 8) - 1.0).abs() < 1e-12);
        // Fisher's exact one-sided p for the table [[3, 1], [2, 14]]: k = 3 of n = 4 in a
        // stratum, 5 marked of 20: (C(5,3)C(15,1) + C(5,4)C(15,0)) / C(20,4) = 155 / 4845.
        assert!((hypergeometric_sf(3, 20, 5, 4) - 155.0 / 4845.0).abs() < 1e-12);
    }

    #[test]
    fn exact_rank_test_is_uniform_under_the_null() {
        // 4 against 3: C(7, 3) = 35 orderings; P(U ≥ u) for u = 12 (all later above) is 1/35,
        // for u = 0 it is 1.
        let e = [1.0, 2.0, 3.0, 4.0];
        assert!((mann_whitney_exact_p(&e, &[5.0, 6.0, 7.0]).unwrap() - 1.0 / 35.0).abs() < 1e-15);
        assert_eq!(mann_whitney_exact_p(&e, &[0.1, 0.2, 0.3]).unwrap(), 1.0);
        assert!(mann_whitney_exact_p(&e, &[1.0, 6.0]).is_none(), "ties");
    }

    #[test]
    fn bonferroni_divides_the_family_level() {
        let v = Verdict::bonferroni(0.004, 10);
        assert!((v.level - 0.005).abs() < 1e-15 && v.alarm);
        assert!(!Verdict::bonferroni(0.006, 10).alarm);
    }
}
