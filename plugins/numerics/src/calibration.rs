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
    /// E\[Ĥ\], row-major (row = length, column = H).
    pub mean: &'static [f64],
    /// SD\[Ĥ\], row-major like `mean`.
    pub sd: &'static [f64],
    /// Per column, the exponent α of SD ∝ n^α used past the last row.
    pub sd_slope: &'static [f64],
    /// The null table of the same estimator's local-slope gap (see [`crate::misfit`]), when
    /// one was tabulated: the mean and SD of H_fine − H_coarse under exact fGn, in the same
    /// layout.
    pub misfit: Option<&'static Calibration>,
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

    /// Per column, E\[Ĥ\] and SD\[Ĥ\] at length n: between rows the mean is interpolated
    /// linearly and the SD log-linearly in log2 n (it is a power of n between rows); past the
    /// last row (before the first) the SD follows n^α and the mean is held.
    fn column(&self, n: usize) -> (Vec<f64>, Vec<f64>) {
        let k = self.h.len();
        let l = (n.max(2) as f64).log2();
        let (lo, hi) = (self.log2_n_min as f64, self.log2_n_max() as f64);
        if l <= lo || l >= hi {
            let (r, edge) = if l <= lo {
                (0, lo)
            } else {
                (self.rows() - 1, hi)
            };
            let m = self.mean[r * k..(r + 1) * k].to_vec();
            let s = (0..k)
                .map(|j| self.sd[r * k + j] * 2f64.powf(self.sd_slope[j] * (l - edge)))
                .collect();
            return (m, s);
        }
        let r = ((l - lo).floor() as usize).min(self.rows() - 2);
        let t = l - lo - r as f64;
        let (a, b) = (r * k, (r + 1) * k);
        let m = (0..k)
            .map(|j| self.mean[a + j] + t * (self.mean[b + j] - self.mean[a + j]))
            .collect();
        let s = (0..k)
            .map(|j| (self.sd[a + j].ln() * (1.0 - t) + self.sd[b + j].ln() * t).exp())
            .collect();
        (m, s)
    }

    /// E\[Ĥ\] and SD\[Ĥ\] at (H, n): linear in H between columns; outside the columns the mean
    /// continues with the edge segment's slope and the SD is held.
    pub fn at(&self, h: f64, n: usize) -> (f64, f64) {
        let (m, s) = self.column(n);
        let k = self.h.len();
        let j = self
            .h
            .iter()
            .position(|&c| c > h)
            .map_or(k - 2, |j| j.max(1) - 1);
        let t = (h - self.h[j]) / (self.h[j + 1] - self.h[j]);
        let sd = if h <= self.h[0] {
            s[0]
        } else if h >= self.h[k - 1] {
            s[k - 1]
        } else {
            s[j] + t * (s[j + 1] - s[j])
        };
        (m[j] + t * (m[j + 1] - m[j]), sd)
    }

    /// The level-`level` interval for H from the estimate `h_hat` of a series of `n` points:
    /// the belt inversion of the module docs. Both belt edges m ± z·s are piecewise linear in
    /// H, so each end is found exactly by a scan of the columns and one linear solve.
    pub fn interval(&self, h_hat: f64, n: usize, level: f64) -> CalibratedInterval {
        let z = crate::scaling::normal_quantile(0.5 + 0.5 * level);
        let (m, s) = self.column(n);
        let upper: Vec<f64> = m.iter().zip(&s).map(|(m, s)| m + z * s).collect();
        let lower: Vec<f64> = m.iter().zip(&s).map(|(m, s)| m - z * s).collect();
        let low = self.crossing(&upper, &m, h_hat, |v| v >= h_hat);
        let high = self.crossing(&lower, &m, h_hat, |v| v > h_hat);
        CalibratedInterval {
            low,
            high,
            stderr: (high - low) / (2.0 * z),
            extrapolated_below: (n.max(2) as f64).log2() < self.log2_n_min as f64,
        }
    }

    /// The smallest H where the piecewise-linear `edge` (values at the columns; beyond them
    /// it moves with the mean's edge slope, the SD being held) reaches `target`, i.e. where
    /// `reached` turns true; clipped to [`H_SEARCH`].
    fn crossing(&self, edge: &[f64], m: &[f64], target: f64, reached: impl Fn(f64) -> bool) -> f64 {
        let (h, k) = (self.h, self.h.len());
        // A mean that does not increase over an edge segment (table noise) extrapolates as the
        // identity, E\[Ĥ\] = H + bias.
        let slope = |a: usize, b: usize| {
            let d = (m[b] - m[a]) / (h[b] - h[a]);
            if d > 0.0 {
                d
            } else {
                1.0
            }
        };
        let found = match edge.iter().position(|&v| reached(v)) {
            Some(0) => h[0] - (edge[0] - target) / slope(0, 1),
            Some(j) => {
                let t = (target - edge[j - 1]) / (edge[j] - edge[j - 1]);
                h[j - 1] + t * (h[j] - h[j - 1])
            }
            None => h[k - 1] + (target - edge[k - 1]) / slope(k - 2, k - 1),
        };
        found.clamp(H_SEARCH.0, H_SEARCH.1)
    }
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
        misfit: None,
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
    fn interval_ends_lie_on_the_belt_edges() {
        // A curved mean and an SD growing with H, between rows: at each end of the interval
        // the belt edge m(H) ± z s(H), evaluated independently by `at`, equals the estimate.
        static CURVED: Calibration = Calibration {
            log2_n_min: 10,
            h: &[0.1, 0.3, 0.5, 0.7, 0.9],
            mean: &[0.05, 0.28, 0.52, 0.73, 0.92, 0.08, 0.29, 0.51, 0.71, 0.91],
            sd: &[0.05, 0.06, 0.07, 0.09, 0.12, 0.03, 0.04, 0.05, 0.06, 0.08],
            sd_slope: &[-0.5; 5],
            misfit: None,
        };
        let z = crate::scaling::normal_quantile(0.975);
        for (h_hat, n) in [(0.4, 1500), (0.62, 1024), (0.95, 3000), (0.02, 1200)] {
            let ci = CURVED.interval(h_hat, n, 0.95);
            let (m, s) = CURVED.at(ci.low, n);
            assert!((m + z * s - h_hat).abs() < 1e-12, "{h_hat} {ci:?}");
            let (m, s) = CURVED.at(ci.high, n);
            assert!((m - z * s - h_hat).abs() < 1e-12, "{h_hat} {ci:?}");
        }
    }

    #[test]
    fn a_biased_estimator_gets_an_interval_around_the_true_value() {
        // E\[Ĥ\] = H + 0.05: an estimate of 0.55 is centred on H = 0.5.
        static BIASED: Calibration = Calibration {
            log2_n_min: 10,
            h: &[0.1, 0.9],
            mean: &[0.15, 0.95],
            sd: &[0.01, 0.01],
            sd_slope: &[-0.5, -0.5],
            misfit: None,
        };
        let ci = BIASED.interval(0.55, 1024, 0.9);
        assert!(((ci.low + ci.high) / 2.0 - 0.5).abs() < 1e-6, "{ci:?}");
        assert!((ci.high - ci.low - 2.0 * 1.644_854 * 0.01).abs() < 1e-5);
    }
}
