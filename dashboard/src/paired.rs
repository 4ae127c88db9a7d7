//! Tests of paired outcomes: the same cell measured in two runs. One home for the tests that
//! both `lrdbench-host compare` (over run directories) and the reports' regressions section
//! (over the store's call events) state, so that the two always agree.
//!
//! - [`median_interval`]: the distribution-free 95% interval of a median from order statistics.
//! - [`time_ratio`]: the median of per-cell log time ratios NEW / BASE with that interval,
//!   back on the ratio scale, and [`ratio_verdict`].
//! - [`mcnemar_exact`]: the exact two-sided McNemar test of paired 0/1 outcomes.

use serde::Serialize;

/// The 95% interval of the median of sorted `v` from order statistics: with n values, the
/// number below the true median is Binomial(n, 1/2), so `[v(j), v(n−1−j)]` covers it with
/// probability 1 − 2 P(B ≤ j); `j` is the largest index keeping that ≥ 0.95 (0 when no index
/// does, i.e. n < 6: the range).
pub fn median_interval(sorted: &[f64]) -> Option<(f64, f64)> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    // P(B ≤ j) for B ~ Binomial(n, 1/2), accumulated in log space (n can be large).
    let ln_half_n = n as f64 * 0.5f64.ln();
    let mut ln_choose = 0.0f64;
    let mut cdf = 0.0f64;
    let mut best = 0usize;
    for j in 0..n / 2 {
        if j > 0 {
            ln_choose += ((n - j + 1) as f64).ln() - (j as f64).ln();
        }
        cdf += (ln_choose + ln_half_n).exp();
        if 1.0 - 2.0 * cdf >= 0.95 {
            best = j;
        } else {
            break;
        }
    }
    Some((sorted[best], sorted[n - 1 - best]))
}

/// A ratio with its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Ratio {
    /// The median ratio.
    pub value: f64,
    /// Lower end of the 95% interval.
    pub low: f64,
    /// Upper end.
    pub high: f64,
    /// Cells compared.
    pub cells: usize,
}

/// The time ratio NEW / BASE of paired per-cell times `(base, new)`: exp of the median of the
/// log ratios, with the order-statistic interval of that median. Each cell timed once per run:
/// the median ignores the load spikes that hit a few cells, and the interval's width is the
/// spread of the ratios, i.e. the timing noise itself. Pairs with a time that is not positive
/// and finite are left out; `None` without any pair.
pub fn time_ratio(times: &[(f64, f64)]) -> Option<Ratio> {
    let mut logs: Vec<f64> = times
        .iter()
        .filter(|(b, n)| *b > 0.0 && *n > 0.0 && b.is_finite() && n.is_finite())
        .map(|(b, n)| (n / b).ln())
        .collect();
    logs.sort_by(f64::total_cmp);
    let (lo, hi) = median_interval(&logs)?;
    let m = logs.len() / 2;
    let median = if logs.len() % 2 == 1 {
        logs[m]
    } else {
        0.5 * (logs[m - 1] + logs[m])
    };
    Some(Ratio {
        value: median.exp(),
        low: lo.exp(),
        high: hi.exp(),
        cells: logs.len(),
    })
}

/// The default tolerance of a time ratio: 10% slower.
pub const RATIO_TOLERANCE: f64 = 1.10;

/// Whether a time ratio is a regression (`Some(true)`), an improvement (`Some(false)`) or
/// neither (`None`): a regression when its whole 95% interval lies above `tolerance` (the
/// slow-down is significantly larger than the one that counts), an improvement when it lies
/// below 1 / `tolerance`.
pub fn ratio_verdict(r: &Ratio, tolerance: f64) -> Option<bool> {
    if r.low > tolerance {
        Some(true)
    } else if r.high < 1.0 / tolerance {
        Some(false)
    } else {
        None
    }
}

/// The exact two-sided McNemar test of paired 0/1 outcomes: with `b` cells that went 1 → 0 and
/// `c` that went 0 → 1, under no change each discordant cell goes either way with probability
/// 1/2, so the p-value is 2 P(X ≤ min(b, c)) for X ~ Binomial(b + c, 1/2), at most 1 (1
/// without discordant cells).
pub fn mcnemar_exact(b: u64, c: u64) -> f64 {
    let n = b + c;
    if n == 0 {
        return 1.0;
    }
    let k = b.min(c);
    let ln_half_n = n as f64 * 0.5f64.ln();
    let mut ln_choose = 0.0f64;
    let mut tail = 0.0f64;
    for j in 0..=k {
        if j > 0 {
            ln_choose += ((n - j + 1) as f64).ln() - (j as f64).ln();
        }
        tail += (ln_choose + ln_half_n).exp();
    }
    (2.0 * tail).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64*: enough for simulated samples.
    fn uniform(state: &mut u64) -> f64 {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    #[test]
    fn the_median_interval_covers_at_its_level() {
        // Exponential(1) samples of 50, median ln 2: the interval [x(18), x(31)] has exact
        // coverage 0.967; over 4,000 trials the SE of the coverage is 0.003, so [0.95, 0.985].
        let mut s = 0x9E37_79B9_7F4A_7C15u64;
        let mut covered = 0;
        for _ in 0..4000 {
            let mut v: Vec<f64> = (0..50).map(|_| -(1.0 - uniform(&mut s)).ln()).collect();
            v.sort_by(f64::total_cmp);
            let (lo, hi) = median_interval(&v).unwrap();
            covered += usize::from(lo <= std::f64::consts::LN_2 && std::f64::consts::LN_2 <= hi);
        }
        let c = covered as f64 / 4000.0;
        assert!((0.95..=0.985).contains(&c), "coverage {c}");
        assert_eq!(median_interval(&[1.0, 2.0, 3.0]), Some((1.0, 3.0)));
        assert_eq!(median_interval(&[]), None);
    }

    #[test]
    fn mcnemar_is_the_binomial_tail() {
        assert!((mcnemar_exact(0, 5) - 0.0625).abs() < 1e-12);
        assert!((mcnemar_exact(9, 1) - 22.0 / 1024.0).abs() < 1e-12);
        assert_eq!(mcnemar_exact(0, 0), 1.0);
        assert_eq!(mcnemar_exact(3, 3), 1.0);
    }

    #[test]
    fn mcnemar_false_alarms_stay_under_five_percent() {
        // 4,000 simulated pairs of runs of 200 cells whose outcomes flip at random both ways
        // (10% of cells): the exact test is conservative, so rejections at 5% stay ≤ 5% (plus
        // 3 SE of 0.0034 for the simulation).
        let mut s = 42u64;
        let mut rejected = 0;
        for _ in 0..4000 {
            let (mut b, mut c) = (0, 0);
            for _ in 0..200 {
                let u = uniform(&mut s);
                if u < 0.05 {
                    b += 1;
                } else if u < 0.10 {
                    c += 1;
                }
            }
            rejected += usize::from(mcnemar_exact(b, c) < 0.05);
        }
        assert!(rejected as f64 / 4000.0 <= 0.06, "{rejected}");
    }

    #[test]
    fn a_ratio_is_judged_against_its_interval_and_tolerance() {
        let r = |value, low, high| Ratio {
            value,
            low,
            high,
            cells: 10,
        };
        assert_eq!(ratio_verdict(&r(1.3, 1.2, 1.4), 1.1), Some(true));
        assert_eq!(ratio_verdict(&r(1.05, 1.02, 1.08), 1.1), None);
        assert_eq!(
            ratio_verdict(&r(1.2, 1.05, 1.3), 1.1),
            None,
            "not surely beyond ×1.1"
        );
        assert_eq!(ratio_verdict(&r(0.5, 0.4, 0.6), 1.1), Some(false));
        let t = time_ratio(&[(1.0, 2.0), (2.0, 4.0), (3.0, 6.0), (0.0, 1.0)]).unwrap();
        assert_eq!((t.value, t.cells), (2.0, 3));
    }
}
