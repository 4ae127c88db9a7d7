//! The statistics behind every report: intervals, quantiles, scaling fits, rank tests and lift,
//! each with its formula, its source and its accuracy.
//!
//! Every function is total: empty or degenerate input gives `None` (or an empty result), never
//! NaN and never a panic, so a report over no data stays a report.

use serde::Serialize;

use lrdbench_numerics::regression::ols;

/// The standard normal quantile of 0.975, the z of a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// A closed interval `[low, high]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// Lower end.
    pub low: f64,
    /// Upper end.
    pub high: f64,
}

/// A proportion `k / n` with its Wilson score interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Proportion {
    /// Events counted (successes, or failures, as the caller means).
    pub count: u64,
    /// Attempts.
    pub attempts: u64,
    /// `count / attempts`.
    pub rate: f64,
    /// Wilson 95% score interval of the rate.
    pub ci95: Interval,
}

impl Proportion {
    /// `count` out of `attempts`; `None` when there were no attempts (a rate has no meaning).
    pub fn new(count: u64, attempts: u64) -> Option<Proportion> {
        let ci95 = wilson(count, attempts, Z95)?;
        Some(Proportion {
            count,
            attempts,
            rate: count as f64 / attempts as f64,
            ci95,
        })
    }
}

/// The Wilson score interval of a binomial proportion.
///
/// # Formula
///
/// ```text
/// p̂ = k / n,   d = 1 + z²/n
/// centre = (p̂ + z²/(2n)) / d
/// half   = (z / d) · sqrt(p̂(1 − p̂)/n + z²/(4n²))
/// interval = [centre − half, centre + half]   (clamped to [0, 1] against rounding)
/// ```
///
/// # Reference
///
/// E. B. Wilson (1927), "Probable inference, the law of succession, and statistical inference",
/// JASA 22, 209–212; recommended over the Wald interval by Brown, Cai & DasGupta (2001). Unlike
/// the Wald interval it never collapses to a point at k = 0 or k = n.
///
/// # Examples
///
/// ```
/// use lrdbench_dashboard::stats::{wilson, Z95};
/// // 3 failures in 10 attempts: the textbook interval is 10.8% to 60.3%.
/// let ci = wilson(3, 10, Z95).unwrap();
/// assert!((ci.low - 0.107_791_267).abs() < 1e-9 && (ci.high - 0.603_221_853).abs() < 1e-9);
/// assert!(wilson(0, 0, Z95).is_none());
/// ```
pub fn wilson(k: u64, n: u64, z: f64) -> Option<Interval> {
    if n == 0 || k > n || !z.is_finite() {
        return None;
    }
    let nf = n as f64;
    let p = k as f64 / nf;
    let z2 = z * z;
    let d = 1.0 + z2 / nf;
    let centre = (p + z2 / (2.0 * nf)) / d;
    let half = z / d * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt();
    Some(Interval {
        low: (centre - half).clamp(0.0, 1.0),
        high: (centre + half).clamp(0.0, 1.0),
    })
}

/// The `q`-quantile (0 ≤ q ≤ 1) of already sorted, finite values, by linear interpolation
/// between order statistics: Hyndman & Fan's definition 7, the default of R's `quantile` and
/// NumPy's `percentile`.
///
/// # Formula
///
/// ```text
/// h = (n − 1) q,   Q(q) = x[⌊h⌋] + (h − ⌊h⌋) (x[⌊h⌋ + 1] − x[⌊h⌋])   (0-based, sorted x)
/// ```
///
/// `None` for an empty slice or `q` outside [0, 1].
///
/// # Examples
///
/// ```
/// use lrdbench_dashboard::stats::quantile_sorted;
/// let x: Vec<f64> = (1..=10).map(f64::from).collect();
/// assert_eq!(quantile_sorted(&x, 0.5), Some(5.5));
/// assert!((quantile_sorted(&x, 0.95).unwrap() - 9.55).abs() < 1e-12); // numpy.percentile
/// ```
pub fn quantile_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() || !(0.0..=1.0).contains(&q) {
        return None;
    }
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    Some(sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo]))
}

/// Quantiles p50, p95, p99 and the maximum of a sample, by [`quantile_sorted`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Quantiles {
    /// Sample size.
    pub n: usize,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Maximum.
    pub max: f64,
}

impl Quantiles {
    /// Summarises `values` (non-finite values are dropped first); `None` when nothing finite
    /// is left. The rest is reordered in place by selection, not sorted: only the order
    /// statistics the quantiles read are put in their sorted positions, in O(n), and each
    /// quantile is [`quantile_sorted`]'s formula on them, so the values are the same.
    pub fn of(values: &mut Vec<f64>) -> Option<Quantiles> {
        values.retain(|v| v.is_finite());
        let n = values.len();
        if n == 0 {
            return None;
        }
        let (p50, p95, p99) = (type7_at(n, 0.5), type7_at(n, 0.95), type7_at(n, 0.99));
        let mut ks = [p50.1, p50.2, p95.1, p95.2, p99.1, p99.2, n - 1];
        ks.sort_unstable();
        select_positions(values, &ks);
        let q = |(h, lo, hi): (f64, usize, usize)| {
            values[lo] + (h - lo as f64) * (values[hi] - values[lo])
        };
        Some(Quantiles {
            n,
            p50: q(p50),
            p95: q(p95),
            p99: q(p99),
            max: values[n - 1],
        })
    }
}

/// The median of `values` ([`quantile_sorted`] at 0.5, by selection); non-finite values are
/// dropped first and the rest reordered. `None` when nothing finite is left.
pub fn median(values: &mut Vec<f64>) -> Option<f64> {
    values.retain(|v| v.is_finite());
    if values.is_empty() {
        return None;
    }
    let (h, lo, hi) = type7_at(values.len(), 0.5);
    select_positions(values, &[lo, hi]);
    Some(values[lo] + (h - lo as f64) * (values[hi] - values[lo]))
}

/// Hyndman–Fan 7 at `q` over `n` sorted values: `h = (n − 1)q` and the two order statistics
/// it falls between.
fn type7_at(n: usize, q: f64) -> (f64, usize, usize) {
    let h = (n - 1) as f64 * q;
    let lo = h.floor() as usize;
    (h, lo, (lo + 1).min(n - 1))
}

/// Puts the `k`-th smallest value (in `f64::total_cmp` order) at index `k` for every `k` of
/// `ks` (ascending), as a sort would; each selection only searches above the previous one.
fn select_positions(values: &mut [f64], ks: &[usize]) {
    let mut start = 0;
    for &k in ks {
        if k < start {
            continue;
        }
        values[start..].select_nth_unstable_by(k - start, f64::total_cmp);
        start = k + 1;
    }
}

/// The standard normal distribution function Φ(x).
///
/// Computed as `erfc(−x/√2)/2` with the Chebyshev approximation of erfc from Numerical Recipes
/// (Press et al., 2nd ed., §6.2, `erfcc`), whose fractional error is below 1.2e-7 everywhere:
/// ample for p-values reported to three digits.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// The standard normal upper tail 1 − Φ(x), computed as `erfc(x/√2)/2` directly so that tiny
/// p-values keep their relative accuracy instead of cancelling to 0.
pub fn normal_sf(x: f64) -> f64 {
    0.5 * erfc(x / std::f64::consts::SQRT_2)
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

/// ln Γ(x) for x > 0 by the Lanczos approximation (Numerical Recipes §6.1, `gammln`; relative
/// error below 2e-10).
fn ln_gamma(x: f64) -> f64 {
    const COF: [f64; 6] = [
        76.180_091_729_471_46,
        -86.505_320_329_416_77,
        24.014_098_240_830_91,
        -1.231_739_572_450_155,
        0.120_865_097_386_617_9e-2,
        -0.539_523_938_495_3e-5,
    ];
    let tmp = x + 5.5 - (x + 0.5) * (x + 5.5).ln();
    let mut ser = 1.000_000_000_190_015;
    for (j, c) in COF.iter().enumerate() {
        ser += c / (x + 1.0 + j as f64);
    }
    -tmp + (2.506_628_274_631_000_5 * ser / x).ln()
}

/// The regularised incomplete beta function I_x(a, b) by its continued fraction (Numerical
/// Recipes §6.4, `betai`/`betacf`, modified Lentz), converged to 1e-15 relative.
fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_cf(a, b, x) / a
    } else {
        1.0 - front * beta_cf(b, a, 1.0 - x) / b
    }
}

fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..300 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// The distribution function of Student's t with `df` degrees of freedom, for t ≥ 0:
/// `1 − I_{df/(df+t²)}(df/2, 1/2) / 2`.
fn student_t_cdf_upper_half(t: f64, df: f64) -> f64 {
    1.0 - 0.5 * incomplete_beta(df / 2.0, 0.5, df / (df + t * t))
}

/// The `p`-quantile of Student's t with `df` degrees of freedom, for 0.5 ≤ p < 1, by bisection
/// of the distribution function (to 1e-12 absolute); `None` for other arguments.
///
/// # Examples
///
/// ```
/// use lrdbench_dashboard::stats::student_t_quantile;
/// // Textbook table (e.g. Montgomery, Appendix IV): t(0.975; 5) = 2.571, t(0.975; 30) = 2.042.
/// assert!((student_t_quantile(0.975, 5.0).unwrap() - 2.570_582).abs() < 1e-5);
/// ```
pub fn student_t_quantile(p: f64, df: f64) -> Option<f64> {
    if !((0.5..1.0).contains(&p) && df.is_finite() && df > 0.0) {
        return None;
    }
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    while student_t_cdf_upper_half(hi, df) < p {
        hi *= 2.0;
        if hi > 1e12 {
            return None;
        }
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if student_t_cdf_upper_half(mid, df) < p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-12 {
            break;
        }
    }
    Some(0.5 * (lo + hi))
}

/// A power law `time = c · length^b` fitted on log–log axes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ScalingFit {
    /// The exponent b (slope of ln time on ln length).
    pub exponent: f64,
    /// Its 95% confidence interval, `b ± t(0.975; k−2) · se(b)`.
    pub ci95: Interval,
    /// Standard error of b.
    pub stderr: f64,
    /// ln c (intercept).
    pub intercept: f64,
    /// Coefficient of determination of the log–log fit.
    pub r_squared: f64,
    /// Calls in the fit.
    pub points: usize,
    /// Distinct lengths among them.
    pub distinct_lengths: usize,
}

/// Fits `ln t = ln c + b ln n` by ordinary least squares over calls with `n ≥ 1` and `t > 0`.
///
/// # Formula
///
/// ```text
/// b̂ = Σ (xᵢ − x̄)(yᵢ − ȳ) / Σ (xᵢ − x̄)²,   xᵢ = ln nᵢ, yᵢ = ln tᵢ
/// se(b̂) = sqrt( Σ rᵢ² / (k − 2) / Σ (xᵢ − x̄)² ),   rᵢ the residuals
/// 95% CI = b̂ ± t(0.975; k − 2) · se(b̂)
/// ```
///
/// The interval assumes independent, homoscedastic log-time errors: repeated calls at the
/// same length are independent timings, and taking logs makes the spread of timings roughly
/// proportional to their level, as it is. The line fit is the workspace's one
/// (`lrdbench_numerics::regression::ols`).
///
/// `None` with fewer than 3 usable calls or fewer than 2 distinct lengths (no slope, or no
/// degrees of freedom for its error).
///
/// # Examples
///
/// ```
/// use lrdbench_dashboard::stats::scaling_fit;
/// let n = [256.0, 1024.0, 4096.0, 16384.0];
/// let t: Vec<f64> = n.iter().map(|n: &f64| 3e-9 * n.powf(1.5)).collect();
/// let fit = scaling_fit(&n, &t).unwrap();
/// assert!((fit.exponent - 1.5).abs() < 1e-12);
/// ```
pub fn scaling_fit(lengths: &[f64], times: &[f64]) -> Option<ScalingFit> {
    let (mut x, mut y) = (
        Vec::with_capacity(lengths.len()),
        Vec::with_capacity(times.len()),
    );
    for (&n, &t) in lengths.iter().zip(times) {
        if n >= 1.0 && n.is_finite() && t > 0.0 && t.is_finite() {
            x.push(n.ln());
            y.push(t.ln());
        }
    }
    let k = x.len();
    if k < 3 {
        return None;
    }
    let mut sorted = x.clone();
    sorted.sort_unstable_by(f64::total_cmp);
    sorted.dedup();
    let distinct_lengths = sorted.len();
    if distinct_lengths < 2 {
        return None;
    }
    let fit = ols(&x, &y).ok()?;
    let tq = student_t_quantile(0.975, (k - 2) as f64)?;
    let se = if fit.slope_stderr.is_finite() {
        fit.slope_stderr
    } else {
        0.0
    };
    Some(ScalingFit {
        exponent: fit.slope,
        ci95: Interval {
            low: fit.slope - tq * se,
            high: fit.slope + tq * se,
        },
        stderr: se,
        intercept: fit.intercept,
        r_squared: if fit.r_squared.is_finite() {
            fit.r_squared
        } else {
            1.0
        },
        points: k,
        distinct_lengths,
    })
}

/// The result of a Mann–Whitney U test of "later values tend to be larger than earlier ones".
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RankTest {
    /// Size of the earlier sample.
    pub n_earlier: usize,
    /// Size of the later sample.
    pub n_later: usize,
    /// U of the later sample: the number of (earlier, later) pairs with later > earlier, ties
    /// counted one half.
    pub u_later: f64,
    /// U / (n₁ n₂): the probability that a later value exceeds an earlier one (ties half), the
    /// common-language effect size; 0.5 means no shift.
    pub prob_later_greater: f64,
    /// The continuity-corrected normal score.
    pub z: f64,
    /// One-sided p-value of "later is stochastically larger".
    pub p_greater: f64,
}

/// Mann–Whitney U test (Wilcoxon rank-sum) with the normal approximation, tie correction and
/// continuity correction; one-sided, alternative "later > earlier".
///
/// # Formula
///
/// ```text
/// R₂ = sum of the mid-ranks of the later sample in the pooled sample (N = n₁ + n₂)
/// U₂ = R₂ − n₂(n₂ + 1)/2,          E[U₂] = n₁n₂/2
/// Var U₂ = n₁n₂/12 · ( (N + 1) − Σⱼ (tⱼ³ − tⱼ) / (N(N − 1)) )   (tⱼ sizes of tied groups)
/// z = (U₂ − E[U₂] − 1/2) / sqrt(Var U₂),   p = 1 − Φ(z)   (computed as the upper tail)
/// ```
///
/// # Reference
///
/// Mann & Whitney (1947), Ann. Math. Statist. 18, 50–60; the tie correction as in Lehmann,
/// *Nonparametrics* (1975), §1.4; the same as SciPy's `mannwhitneyu(method="asymptotic")`.
/// The approximation is reasonable from about 8 values per sample; [`regression_test`] asks
/// for that many.
///
/// `None` when either sample is empty or every value is tied (no variance).
///
/// # Complexity
///
/// O(N log N) for the sort.
pub fn mann_whitney_greater(earlier: &[f64], later: &[f64]) -> Option<RankTest> {
    let (n1, n2) = (earlier.len(), later.len());
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let mut pooled: Vec<(f64, bool)> = earlier
        .iter()
        .map(|&v| (v, false))
        .chain(later.iter().map(|&v| (v, true)))
        .collect();
    if pooled.iter().any(|(v, _)| !v.is_finite()) {
        return None;
    }
    pooled.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let n = pooled.len();
    let (mut rank_sum_later, mut tie_term) = (0.0_f64, 0.0_f64);
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && pooled[j].0 == pooled[i].0 {
            j += 1;
        }
        // Ranks i+1 ..= j share their mean.
        let mid_rank = (i + 1 + j) as f64 / 2.0;
        let t = (j - i) as f64;
        tie_term += t * t * t - t;
        let later_in_group = pooled[i..j].iter().filter(|(_, l)| *l).count();
        rank_sum_later += mid_rank * later_in_group as f64;
        i = j;
    }
    let (n1f, n2f, nf) = (n1 as f64, n2 as f64, n as f64);
    let u = rank_sum_later - n2f * (n2f + 1.0) / 2.0;
    let mean = n1f * n2f / 2.0;
    let var = n1f * n2f / 12.0 * ((nf + 1.0) - tie_term / (nf * (nf - 1.0)));
    if var.is_nan() || var <= 0.0 {
        return None;
    }
    let z = (u - mean - 0.5) / var.sqrt();
    Some(RankTest {
        n_earlier: n1,
        n_later: n2,
        u_later: u,
        prob_later_greater: u / (n1f * n2f),
        z,
        p_greater: normal_sf(z),
    })
}

/// The significance level of the regression flag, per estimator.
pub const REGRESSION_ALPHA: f64 = 0.01;

/// The fewest values per window for the normal approximation of [`mann_whitney_greater`].
pub const REGRESSION_MIN_PER_WINDOW: usize = 8;

/// Runs [`mann_whitney_greater`] when both windows hold at least
/// [`REGRESSION_MIN_PER_WINDOW`] values.
pub fn regression_test(earlier: &[f64], later: &[f64]) -> Option<RankTest> {
    if earlier.len() < REGRESSION_MIN_PER_WINDOW || later.len() < REGRESSION_MIN_PER_WINDOW {
        return None;
    }
    mann_whitney_greater(earlier, later)
}

/// The failure rate of one stratum against its reference, with counts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Lift {
    /// Failures and attempts in the stratum, with the Wilson interval.
    pub stratum: Proportion,
    /// The reference failure rate (the estimator's over all its attempts).
    pub reference_rate: f64,
    /// stratum rate / reference rate; `None` when the reference rate is 0 (no failures at all,
    /// so no stratum can concentrate them).
    pub lift: Option<f64>,
}

/// Lift of a stratum's failure rate over a reference rate: `(k/n) / r`.
pub fn lift(failures: u64, attempts: u64, reference_rate: f64) -> Option<Lift> {
    let stratum = Proportion::new(failures, attempts)?;
    let lift = (reference_rate > 0.0).then(|| stratum.rate / reference_rate);
    Some(Lift {
        stratum,
        reference_rate,
        lift,
    })
}

/// How the reliability score is defined; printed in every report that shows it.
pub const RELIABILITY_SCORE_DEFINITION: &str = "reliability score = 100 × the lower end of the \
Wilson 95% interval of the success rate over attempts (successful calls / all calls). It is the \
success rate the data support with 97.5% one-sided confidence: 100 only with many attempts and \
no failure (0/10 failures scores 72.2, 0/1000 scores 99.6), and it falls with the failure rate \
and with fewer attempts.";

/// The reliability score of [`RELIABILITY_SCORE_DEFINITION`]; `None` without attempts.
///
/// # Examples
///
/// ```
/// use lrdbench_dashboard::stats::reliability_score;
/// // 10 successes out of 10: the Wilson lower bound is 0.722.
/// assert!((reliability_score(10, 10).unwrap() - 72.246_72).abs() < 1e-4);
/// ```
pub fn reliability_score(successes: u64, attempts: u64) -> Option<f64> {
    wilson(successes, attempts, Z95).map(|ci| 100.0 * ci.low)
}

#[cfg(test)]
mod tests;
