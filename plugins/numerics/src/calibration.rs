//! Calibrated intervals: an estimator's sampling distribution under exact fGn, tabulated once
//! by simulation, inverted into a confidence interval for H.
//!
//! # Why
//!
//! The scaling estimators' regression interval treats the log-log points as independent; they
//! are strongly correlated across scales, so it undercovers badly (20–60% for a nominal 95%),
//! and some estimators carry a bias of several standard deviations (variance of residuals at
//! low H). A table of the mean m(H, n) and standard deviation s(H, n) of the estimate, measured
//! on exact fGn for the estimator's *default* configuration, gives both.
//!
//! # The interval
//!
//! With Ĥ approximately normal, N(m(H, n), s(H, n)²), the level-(1 − α) confidence set is the
//! Neyman belt inversion {H : |Ĥ − m(H, n)| ≤ z · s(H, n)}, z the normal (1 − α/2) quantile:
//! [H_lo, H_hi] with m(H_lo) + z s(H_lo) = Ĥ and m(H_hi) − z s(H_hi) = Ĥ. It accounts for the
//! bias (the interval is centred where the estimator's mean equals Ĥ, not on Ĥ) and for the SD
//! changing with H. Its cost is a few hundred table look-ups, nothing next to the estimate.
//!
//! # The table
//!
//! Rows are n = 2^`log2_n_min` … 2^16, columns H = 0.05 … 0.95 (see [`Calibration`]); values
//! are interpolated bilinearly in (log2 n, H). Past the last row the bias is held and the SD
//! follows n^α(H), α fitted over 2^12 … 2^16 (the generator checks the fit against the
//! measured 2^16 row); below the first row the same power law is used with a warning. Beyond
//! the H columns, the mean continues linearly and the SD is held. The tables are written by
//! `cargo run --release --example calibrate -- --write` at the workspace root.

use lrdbench_plugin_api::Params;

/// The mean and standard deviation of an estimator under exact fGn, by length and H.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calibration {
    /// log2 of the first row's length; row i is n = 2^(log2_n_min + i).
    pub log2_n_min: u32,
    /// The H of each column, increasing.
    pub h: &'static [f64],
    /// E[Ĥ], row-major (row = length, column = H).
    pub mean: &'static [f64],
    /// SD[Ĥ], row-major like `mean`.
    pub sd: &'static [f64],
    /// Per column, the exponent α of SD ∝ n^α used past the last row.
    pub sd_slope: &'static [f64],
}

/// A calibrated interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CalibratedInterval {
    /// Lower end.
    pub low: f64,
    /// Upper end.
    pub high: f64,
    /// The sampling SD at the interval's centre: (high − low) / (2z).
    pub stderr: f64,
    /// The series is shorter than the table's first row (the SD is extrapolated).
    pub extrapolated_below: bool,
}

/// H is searched for in this range; intervals reaching its ends are clipped to it.
const H_SEARCH: (f64, f64) = (-1.0, 2.0);

impl Calibration {
    fn rows(&self) -> usize {
        self.mean.len() / self.h.len()
    }

    /// The largest tabulated log2 n.
    pub fn log2_n_max(&self) -> u32 {
        self.log2_n_min + self.rows() as u32 - 1
    }

    /// Mean and SD of row `r` at H, interpolated linearly between columns; outside the columns
    /// the mean continues with the edge slope and the SD is held.
    fn row_at(&self, r: usize, h: f64) -> (f64, f64) {
        let k = self.h.len();
        let (m, s) = (&self.mean[r * k..(r + 1) * k], &self.sd[r * k..(r + 1) * k]);
        let j = match self.h.iter().position(|&c| c > h) {
            Some(0) => 0,
            Some(j) => j - 1,
            None => k - 2,
        };
        let t = (h - self.h[j]) / (self.h[j + 1] - self.h[j]);
        let mean = m[j] + t * (m[j + 1] - m[j]);
        let sd = if h <= self.h[0] {
            s[0]
        } else if h >= self.h[k - 1] {
            s[k - 1]
        } else {
            s[j] + t * (s[j + 1] - s[j])
        };
        (mean, sd)
    }

    /// The SD slope at H (interpolated, held outside the columns).
    fn slope_at(&self, h: f64) -> f64 {
        let k = self.h.len();
        let h = h.clamp(self.h[0], self.h[k - 1]);
        let j = self
            .h
            .iter()
            .position(|&c| c > h)
            .map_or(k - 2, |j| j.max(1) - 1);
        let t = (h - self.h[j]) / (self.h[j + 1] - self.h[j]);
        self.sd_slope[j] + t * (self.sd_slope[j + 1] - self.sd_slope[j])
    }

    /// E[Ĥ] and SD[Ĥ] at (H, n).
    pub fn at(&self, h: f64, n: usize) -> (f64, f64) {
        let l = (n.max(2) as f64).log2();
        let (lo, hi) = (self.log2_n_min as f64, self.log2_n_max() as f64);
        if l <= lo || l >= hi {
            let (r, edge) = if l <= lo {
                (0, lo)
            } else {
                (self.rows() - 1, hi)
            };
            let (m, s) = self.row_at(r, h);
            let s = s * 2f64.powf(self.slope_at(h) * (l - edge));
            return (m, s);
        }
        let r = (l - lo).floor() as usize;
        let t = l - lo - r as f64;
        let (m0, s0) = self.row_at(r, h);
        let (m1, s1) = self.row_at(r + 1, h);
        // The SD is interpolated in log: it is a power of n between rows.
        (
            m0 + t * (m1 - m0),
            (s0.ln() + t * (s1.ln() - s0.ln())).exp(),
        )
    }

    /// The level-`level` interval for H from the estimate `h_hat` of a series of `n` points:
    /// the belt inversion of the module docs, by bisection in H.
    pub fn interval(&self, h_hat: f64, n: usize, level: f64) -> CalibratedInterval {
        let z = crate::scaling::normal_quantile(0.5 + 0.5 * level);
        let upper_edge = |h: f64| {
            let (m, s) = self.at(h, n);
            m + z * s
        };
        let lower_edge = |h: f64| {
            let (m, s) = self.at(h, n);
            m - z * s
        };
        let low = bisect(|h| upper_edge(h) >= h_hat);
        let high = bisect(|h| lower_edge(h) > h_hat);
        CalibratedInterval {
            low,
            high,
            stderr: (high - low) / (2.0 * z),
            extrapolated_below: ((n.max(2) as f64).log2()) < self.log2_n_min as f64,
        }
    }
}

/// The smallest H in [`H_SEARCH`] where the monotone predicate `above` turns true (to 1e-9).
fn bisect(above: impl Fn(f64) -> bool) -> f64 {
    let (mut a, mut b) = H_SEARCH;
    if above(a) {
        return a;
    }
    if !above(b) {
        return b;
    }
    while b - a > 1e-9 {
        let mid = 0.5 * (a + b);
        if above(mid) {
            b = mid;
        } else {
            a = mid;
        }
    }
    0.5 * (a + b)
}

/// The parameters that set only the interval, not the estimate: ignored when deciding
/// whether a call uses the calibrated (default) configuration.
pub const UNCERTAINTY_PARAMS: [&str; 4] = ["ci", "replicates", "seed", "level"];

/// The names of the parameters of `params` that differ from `defaults`, the uncertainty
/// parameters excepted: empty when a table calibrated for the defaults applies.
pub fn changed_params(params: &Params, defaults: &Params) -> Vec<String> {
    params
        .as_slice()
        .iter()
        .filter(|p| !UNCERTAINTY_PARAMS.contains(&p.name.as_str()))
        .filter(|p| {
            defaults
                .as_slice()
                .iter()
                .find(|d| d.name == p.name)
                .is_none_or(|d| d.value != p.value)
        })
        .map(|p| p.name.to_string())
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// An unbiased estimator with SD 0.1 · (n / 1024)^(-1/2), tabulated on two rows.
    static FLAT: Calibration = Calibration {
        log2_n_min: 10,
        h: &[0.1, 0.5, 0.9],
        mean: &[0.1, 0.5, 0.9, 0.1, 0.5, 0.9],
        sd: &[0.1, 0.1, 0.1, 0.070_710_678, 0.070_710_678, 0.070_710_678],
        sd_slope: &[-0.5, -0.5, -0.5],
    };

    #[test]
    fn unbiased_constant_sd_gives_the_normal_interval() {
        // m(H) = H and s = 0.1: the inversion is Ĥ ± 1.96 · 0.1.
        let ci = FLAT.interval(0.4, 1024, 0.95);
        assert!((ci.low - (0.4 - 0.195_996)).abs() < 1e-5, "{ci:?}");
        assert!((ci.high - (0.4 + 0.195_996)).abs() < 1e-5, "{ci:?}");
        assert!((ci.stderr - 0.1).abs() < 1e-6);
    }

    #[test]
    fn sd_interpolates_in_log_n_and_extrapolates_as_a_power() {
        // Halfway in log2 n between rows: 0.1 · 2^(-1/4); four octaves past the last row:
        // 0.0707 · 2^(-2); one octave below the first: 0.1 · 2^(1/2).
        let (_, s) = FLAT.at(0.5, 1448);
        assert!((s - 0.1 * 2f64.powf(-0.25)).abs() < 1e-4, "{s}");
        let (_, s) = FLAT.at(0.5, 2048 * 16);
        assert!((s - 0.070_710_678 / 4.0).abs() < 1e-9);
        let (_, s) = FLAT.at(0.5, 512);
        assert!((s - 0.1 * 2f64.sqrt()).abs() < 1e-9);
        assert!(FLAT.interval(0.5, 512, 0.95).extrapolated_below);
    }

    #[test]
    fn a_biased_estimator_gets_an_interval_around_the_true_value() {
        // E[Ĥ] = H + 0.05: an estimate of 0.55 is centred on H = 0.5.
        static BIASED: Calibration = Calibration {
            log2_n_min: 10,
            h: &[0.1, 0.9],
            mean: &[0.15, 0.95],
            sd: &[0.01, 0.01],
            sd_slope: &[-0.5, -0.5],
        };
        let ci = BIASED.interval(0.55, 1024, 0.9);
        assert!(((ci.low + ci.high) / 2.0 - 0.5).abs() < 1e-6, "{ci:?}");
        assert!((ci.high - ci.low - 2.0 * 1.644_854 * 0.01).abs() < 1e-5);
    }
}
