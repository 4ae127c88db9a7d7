//! The paired statistics behind `compare`: every number compares the same cell (same series,
//! same seed) in two runs, so the noise of the series cancels and only the change is left.
//!
//! - Means of per-cell quantities (MAE, |bias|, RMSE, CI width, coverage, validity): a
//!   **paired percentile bootstrap over cells** ([`bootstrap`]), resampling whole cells (both
//!   runs' values of a cell stay together) with a fixed seed, so the same two runs always give
//!   the same interval.
//! - Coverage and validity are 0/1 per cell: their significance is the **exact McNemar test**
//!   ([`mcnemar_exact`]), a two-sided binomial test on the discordant cells.
//! - Runtime: the **median of the per-cell log time ratios**, with the distribution-free
//!   order-statistic interval of a median (the one the leaderboard's runtime tiers use). Each
//!   cell is timed once per run; the median ignores the load spikes that hit a few cells, and
//!   the interval's width is the spread of the ratios, i.e. the timing noise itself.

use lrdbench_numerics::rng::NormalStream;
use serde::Serialize;

/// A point estimate with its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    /// The point estimate.
    pub value: f64,
    /// Lower end of the 95% interval.
    pub low: f64,
    /// Upper end of the 95% interval.
    pub high: f64,
}

/// The paired values of one cell, BASE and NEW: `None` when the cell does not enter that
/// metric in one of the runs (no truth, no interval, invalid).
#[derive(Debug, Clone, Copy, Default)]
pub struct PairedCell {
    /// Signed errors (estimate − truth), when both runs have a valid estimate of known truth.
    pub error: Option<(f64, f64)>,
    /// Interval widths, when both runs have an interval.
    pub width: Option<(f64, f64)>,
    /// Whether the interval covers the truth, when both have an interval and the truth is known.
    pub covered: Option<(bool, bool)>,
    /// Whether the cell is valid.
    pub valid: (bool, bool),
}

impl PairedCell {
    /// Whether both runs gave this cell the same values, bit for bit.
    pub fn is_unchanged(&self) -> bool {
        let same = |a: f64, b: f64| a.to_bits() == b.to_bits();
        self.error.is_none_or(|(b, n)| same(b, n))
            && self.width.is_none_or(|(b, n)| same(b, n))
            && self.covered.is_none_or(|(b, n)| b == n)
            && self.valid.0 == self.valid.1
    }
}

/// Sums over a set of cells, from which every metric of a row is a closed form; a bootstrap
/// replicate is the same sums over a resample.
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    n_err: f64,
    abs: [f64; 2],
    err: [f64; 2],
    sq: [f64; 2],
    n_width: f64,
    width: [f64; 2],
    n_cov: f64,
    cov: [f64; 2],
    n: f64,
    valid: [f64; 2],
}

impl Sums {
    #[inline]
    fn add(&mut self, c: &PairedCell) {
        if let Some((b, n)) = c.error {
            self.n_err += 1.0;
            self.abs[0] += b.abs();
            self.abs[1] += n.abs();
            self.err[0] += b;
            self.err[1] += n;
            self.sq[0] += b * b;
            self.sq[1] += n * n;
        }
        if let Some((b, n)) = c.width {
            self.n_width += 1.0;
            self.width[0] += b;
            self.width[1] += n;
        }
        if let Some((b, n)) = c.covered {
            self.n_cov += 1.0;
            self.cov[0] += f64::from(u8::from(b));
            self.cov[1] += f64::from(u8::from(n));
        }
        self.n += 1.0;
        self.valid[0] += f64::from(u8::from(c.valid.0));
        self.valid[1] += f64::from(u8::from(c.valid.1));
    }

    /// The changes NEW − BASE, in the order of [`Metric::PAIRED`]; `None` where a metric has
    /// no cells. Bias is compared by its magnitude and coverage by its distance to the
    /// nominal level, so every change reads "positive = farther from ideal" except validity,
    /// whose sign is flipped by the verdict.
    fn changes(&self, nominal: f64) -> [Option<f64>; 6] {
        let per = |s: [f64; 2], n: f64| (n > 0.0).then(|| (s[0] / n, s[1] / n));
        let mae = per(self.abs, self.n_err).map(|(b, n)| n - b);
        let bias = per(self.err, self.n_err).map(|(b, n)| n.abs() - b.abs());
        let rmse = per(self.sq, self.n_err).map(|(b, n)| n.sqrt() - b.sqrt());
        let width = per(self.width, self.n_width).map(|(b, n)| n - b);
        let coverage =
            per(self.cov, self.n_cov).map(|(b, n)| (n - nominal).abs() - (b - nominal).abs());
        let validity = per(self.valid, self.n).map(|(b, n)| n - b);
        [mae, bias, rmse, width, coverage, validity]
    }
}

/// The metrics compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Mean absolute error.
    Mae,
    /// Bias, compared by magnitude.
    Bias,
    /// Root mean squared error.
    Rmse,
    /// Mean interval width.
    CiWidth,
    /// Coverage, compared by distance to the nominal level.
    Coverage,
    /// Share of valid cells.
    Validity,
    /// Time per call, as a ratio NEW / BASE.
    Runtime,
}

impl Metric {
    /// The metrics estimated by the paired bootstrap, in the order of the bootstrap's output.
    pub const PAIRED: [Metric; 6] = [
        Metric::Mae,
        Metric::Bias,
        Metric::Rmse,
        Metric::CiWidth,
        Metric::Coverage,
        Metric::Validity,
    ];

    /// Every metric, in report order.
    pub const ALL: [Metric; 7] = [
        Metric::Mae,
        Metric::Bias,
        Metric::Rmse,
        Metric::Coverage,
        Metric::CiWidth,
        Metric::Validity,
        Metric::Runtime,
    ];

    /// The name used in `--tolerance`, JSON and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Mae => "mae",
            Metric::Bias => "bias",
            Metric::Rmse => "rmse",
            Metric::CiWidth => "ci_width",
            Metric::Coverage => "coverage",
            Metric::Validity => "validity",
            Metric::Runtime => "runtime",
        }
    }

    /// Parses [`Metric::as_str`].
    pub fn parse(s: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// The default tolerance: the smallest change that counts. Absolute for the accuracy
    /// metrics (units of the estimand), proportions for coverage and validity, a ratio for
    /// runtime.
    pub fn default_tolerance(self) -> f64 {
        match self {
            Metric::Mae | Metric::Bias | Metric::Rmse | Metric::CiWidth => 0.001,
            Metric::Coverage => 0.01,
            Metric::Validity => 0.001,
            Metric::Runtime => 1.10,
        }
    }

    /// The test behind the metric's interval and verdict, as stated in the reports.
    pub fn test(self) -> &'static str {
        match self {
            Metric::Mae | Metric::Bias | Metric::Rmse | Metric::CiWidth => {
                "paired bootstrap over cells"
            }
            Metric::Coverage | Metric::Validity => "exact McNemar test; paired bootstrap interval",
            Metric::Runtime => "median of per-cell time ratios, order-statistic interval",
        }
    }
}

/// Resamples drawn by [`bootstrap`].
pub const BOOTSTRAP_RESAMPLES: usize = 1000;

/// The fixed seed of every bootstrap: the same two runs give the same intervals.
pub const BOOTSTRAP_SEED: u64 = 0x6C72_6462_656E_6368;

/// Paired percentile bootstrap of the changes of [`Metric::PAIRED`] over `cells`: the point
/// estimates on all cells and 95% intervals from [`BOOTSTRAP_RESAMPLES`] resamples of whole
/// cells. `nominal` is the intervals' nominal level (for coverage). A metric without cells is
/// `None`. When every cell's pair is equal the intervals are exactly the point (no resampling
/// is needed: every resample gives 0).
pub fn bootstrap(cells: &[PairedCell], nominal: f64, seed: u64) -> [Option<Estimate>; 6] {
    let mut all = Sums::default();
    for c in cells {
        all.add(c);
    }
    let point = all.changes(nominal);
    let mut reps: [Vec<f64>; 6] = Default::default();
    let n = cells.len();
    // Every pair equal: every resample gives exactly 0, so none is drawn.
    let all_equal = cells.iter().all(PairedCell::is_unchanged);
    if n > 0 && !all_equal {
        let mut rng = NormalStream::new(seed);
        for r in &mut reps {
            r.reserve(BOOTSTRAP_RESAMPLES);
        }
        for _ in 0..BOOTSTRAP_RESAMPLES {
            let mut s = Sums::default();
            for _ in 0..n {
                // Lemire's multiply-shift: an index in [0, n) without a division.
                let i = ((u128::from(rng.next_u64()) * n as u128) >> 64) as usize;
                s.add(&cells[i]);
            }
            for (r, v) in reps.iter_mut().zip(s.changes(nominal)) {
                if let Some(v) = v {
                    r.push(v);
                }
            }
        }
    }
    let mut out = [None; 6];
    for ((o, p), r) in out.iter_mut().zip(point).zip(reps.iter_mut()) {
        let Some(value) = p else { continue };
        r.sort_by(f64::total_cmp);
        let (low, high) = if r.is_empty() {
            (value, value)
        } else {
            (percentile(r, 0.025), percentile(r, 0.975))
        };
        *o = Some(Estimate { value, low, high });
    }
    out
}

/// The `q` quantile of sorted `v` (Hyndman–Fan type 7, the dashboard's).
fn percentile(v: &[f64], q: f64) -> f64 {
    lrdbench_dashboard::stats::quantile_sorted(v, q).unwrap_or(f64::NAN)
}

/// The exact two-sided McNemar test (p-value) of paired 0/1 outcomes, `b` cells 1 → 0 and `c`
/// cells 0 → 1: [`lrdbench_dashboard::paired::mcnemar_exact`], the reports' test too.
pub fn mcnemar_exact(b: u64, c: u64) -> f64 {
    lrdbench_dashboard::paired::mcnemar_exact(b, c)
}

/// The ratio NEW / BASE of per-cell times `(base, new)`: the median ratio with its
/// order-statistic 95% interval ([`lrdbench_dashboard::paired::time_ratio`], the reports'
/// test too). `None` without a pair of positive times.
pub fn runtime_ratio(times: &[(f64, f64)]) -> Option<Estimate> {
    lrdbench_dashboard::paired::time_ratio(times).map(|r| Estimate {
        value: r.value,
        low: r.low,
        high: r.high,
    })
}

/// What a comparison says about one metric of one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every result of the row is the same, bit for bit.
    Identical,
    /// Significantly better, by more than the tolerance.
    Improved,
    /// Not significantly different, or by less than the tolerance.
    Unchanged,
    /// Significantly worse, by more than the tolerance.
    Regressed,
    /// No cell to compare.
    NotApplicable,
}

impl Verdict {
    /// The lowercase word.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Identical => "identical",
            Verdict::Improved => "improved",
            Verdict::Unchanged => "unchanged",
            Verdict::Regressed => "regressed",
            Verdict::NotApplicable => "n/a",
        }
    }
}

/// The verdict on a change `e` (NEW − BASE, positive = worse): regressed when its whole 95%
/// interval lies above `tolerance` (the change is significantly larger than the smallest
/// change that counts), improved when it lies below −`tolerance`, unchanged otherwise. `p`,
/// the exact test's p-value where one applies (coverage, validity), must also be < 0.05.
pub fn verdict_of_change(e: Estimate, p: Option<f64>, tolerance: f64) -> Verdict {
    let significant = p.is_none_or(|p| p < 0.05);
    if significant && e.low > tolerance {
        Verdict::Regressed
    } else if significant && e.high < -tolerance {
        Verdict::Improved
    } else {
        Verdict::Unchanged
    }
}

/// The verdict on a time ratio ([`lrdbench_dashboard::paired::ratio_verdict`]): regressed
/// when its whole interval lies above `tolerance` (e.g. 1.10), improved when it lies below
/// 1 / `tolerance`, otherwise unchanged.
pub fn verdict_of_ratio(e: Estimate, tolerance: f64) -> Verdict {
    let r = lrdbench_dashboard::paired::Ratio {
        value: e.value,
        low: e.low,
        high: e.high,
        cells: 0,
    };
    match lrdbench_dashboard::paired::ratio_verdict(&r, tolerance) {
        Some(true) => Verdict::Regressed,
        Some(false) => Verdict::Improved,
        None => Verdict::Unchanged,
    }
}
