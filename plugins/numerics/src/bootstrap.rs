//! Parametric fGn bootstrap intervals for any estimator of H, suited to dependent data.
//!
//! # Why parametric
//!
//! Resampling the observations (i.i.d. bootstrap) destroys the long-range dependence that the
//! estimators measure; block bootstraps keep it only within blocks, and with long memory the
//! variance of the estimator depends on dependence far beyond any block a series of a few
//! thousand points can afford (lrdbench 2.0 uses blocks of n/10, and its intervals are too
//! narrow for H near 1). The parametric bootstrap instead simulates exact fGn with the
//! estimated H and the sample standard deviation, re-estimates on each replicate, and reads the
//! interval from the replicates' spread.
//!
//! # Limits
//!
//! The interval is exact only when the data are fGn: for other processes (ARFIMA with short
//! memory, trends, heavy tails) it reflects the estimator's sampling spread *under the fitted
//! fGn*, not under the true process. H is clamped to [0.01, 0.99] for the simulation (a flag
//! says so). The default basic interval `[2ĥ − q_hi, 2ĥ − q_lo]` corrects for the estimator's
//! bias at ĥ; the percentile interval `[q_lo, q_hi]` does not.
//!
//! # Complexity
//!
//! One Davies–Harte plan per call (O(n log n) set-up), then per pair of replicates one complex
//! FFT of length 2n plus two estimator runs. Pairs run on up to
//! `std::thread::available_parallelism()` scoped threads; replicate r always comes from pair
//! ⌊r/2⌋'s seed and lands in slot r, so the interval is bit-identical for any thread count.

use std::sync::OnceLock;

use lrdbench_plugin_api::params::resolve;
use lrdbench_plugin_api::{
    param, CiMethod, ComponentDescriptor, Estimate, ParamSpec, Params, PluginError,
};

use crate::calibration::{changed_params, Calibration};
use crate::fgn::DaviesHarte;
use crate::scaling::{normal_quantile, HurstFit};

/// Which bootstrap interval to form from the replicates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntervalMethod {
    /// `[2ĥ − q_{1−α/2}, 2ĥ − q_{α/2}]`: corrects the estimator's bias at ĥ.
    Basic,
    /// `[q_{α/2}, q_{1−α/2}]`.
    Percentile,
}

/// Settings of a bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BootstrapConfig {
    /// Number of replicates (at least 20).
    pub replicates: usize,
    /// Seed of the first replicate; replicates use independent streams derived from it.
    pub seed: u64,
    /// Nominal coverage, in (0, 1).
    pub level: f64,
    /// Interval construction.
    pub method: IntervalMethod,
}

/// A bootstrap interval and what it was built from.
#[derive(Debug, Clone, PartialEq)]
pub struct BootstrapInterval {
    /// Lower end.
    pub low: f64,
    /// Upper end.
    pub high: f64,
    /// Nominal level.
    pub level: f64,
    /// Standard deviation of the replicate estimates.
    pub stderr: f64,
    /// Replicates that gave an estimate.
    pub used: usize,
    /// Replicates whose estimator call failed.
    pub failed: usize,
    /// The H the replicates were simulated with (ĥ clamped to [0.01, 0.99]).
    pub simulated_h: f64,
}

/// Smallest replicate count accepted: fewer cannot place a 95% quantile.
pub const MIN_REPLICATES: usize = 20;

/// Parametric fGn bootstrap interval around `h_hat` for an estimator run by `estimate`.
///
/// # Errors
///
/// `parameter` for fewer than [`MIN_REPLICATES`] replicates or a level outside (0, 1);
/// errors of [`DaviesHarte::new`]; `numerical` when fewer than half of the replicates give a
/// finite estimate.
///
/// # Examples
///
/// ```
/// use lrdbench_numerics::bootstrap::{parametric_fgn_ci, BootstrapConfig, IntervalMethod};
/// // The sample mean of fGn (H = 0.5 is white noise) as a toy "estimator": the interval
/// // is centred on the value passed in.
/// let cfg = BootstrapConfig { replicates: 50, seed: 1, level: 0.9, method: IntervalMethod::Basic };
/// let ci = parametric_fgn_ci(0.5, 256, 1.0, &cfg, |x| Ok(x.iter().sum::<f64>() / 256.0 + 0.5)).unwrap();
/// assert!(ci.low < 0.5 && 0.5 < ci.high && ci.used == 50);
/// ```
pub fn parametric_fgn_ci(
    h_hat: f64,
    n: usize,
    scale: f64,
    cfg: &BootstrapConfig,
    estimate: impl Fn(&[f64]) -> Result<f64, PluginError> + Sync,
) -> Result<BootstrapInterval, PluginError> {
    if cfg.replicates < MIN_REPLICATES {
        return Err(PluginError::parameter(format!(
            "bootstrap needs at least {MIN_REPLICATES} replicates, got {}",
            cfg.replicates
        )));
    }
    if !(cfg.level > 0.0 && cfg.level < 1.0) {
        return Err(PluginError::parameter(format!(
            "the interval level must be in (0, 1), got {}",
            cfg.level
        )));
    }
    if !h_hat.is_finite() {
        return Err(PluginError::numerical(
            "cannot bootstrap around a non-finite estimate",
        ));
    }
    let simulated_h = h_hat.clamp(0.01, 0.99);
    let scale = if scale.is_finite() && scale > 0.0 {
        scale
    } else {
        1.0
    };
    let plan = DaviesHarte::new(simulated_h, n)?;
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    let values = replicate_values(&plan, cfg, scale, &estimate, threads);
    let mut reps: Vec<f64> = values.iter().flatten().copied().collect();
    let failed = cfg.replicates - reps.len();
    if reps.len() * 2 < cfg.replicates {
        return Err(PluginError::numerical(format!(
            "bootstrap: {failed} of {} replicates failed",
            cfg.replicates
        )));
    }
    reps.sort_by(f64::total_cmp);
    let alpha = 1.0 - cfg.level;
    let (q_lo, q_hi) = (
        quantile(&reps, alpha / 2.0),
        quantile(&reps, 1.0 - alpha / 2.0),
    );
    let (low, high) = match cfg.method {
        IntervalMethod::Basic => (2.0 * h_hat - q_hi, 2.0 * h_hat - q_lo),
        IntervalMethod::Percentile => (q_lo, q_hi),
    };
    let m = reps.len() as f64;
    let mean = reps.iter().sum::<f64>() / m;
    let stderr = (reps.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (m - 1.0)).sqrt();
    Ok(BootstrapInterval {
        low,
        high,
        level: cfg.level,
        stderr,
        used: reps.len(),
        failed,
        simulated_h,
    })
}

/// The estimate of every replicate, in replicate order (`None` where the estimator failed or
/// gave a non-finite value), computed on `threads` threads.
///
/// Thread t takes pairs t, t + threads, …; each pair's seed depends only on its index, so the
/// values do not depend on `threads`.
fn replicate_values(
    plan: &DaviesHarte,
    cfg: &BootstrapConfig,
    scale: f64,
    estimate: &(impl Fn(&[f64]) -> Result<f64, PluginError> + Sync),
    threads: usize,
) -> Vec<Option<f64>> {
    let total = cfg.replicates;
    let pairs = total.div_ceil(2);
    let run_pair = |pair: usize, out: &mut Vec<(usize, Option<f64>)>| {
        let (mut a, mut b) = plan.sample_pair(stream_seed(cfg.seed, pair as u64));
        for (member, series) in [&mut a, &mut b].into_iter().enumerate() {
            let r = 2 * pair + member;
            if r == total {
                break;
            }
            series.iter_mut().for_each(|v| *v *= scale);
            let v = estimate(series).ok().filter(|v| v.is_finite());
            out.push((r, v));
        }
    };
    let threads = threads.clamp(1, pairs.max(1));
    let mut values = vec![None; total];
    if threads == 1 {
        let mut out = Vec::with_capacity(total);
        (0..pairs).for_each(|p| run_pair(p, &mut out));
        out.into_iter().for_each(|(r, v)| values[r] = v);
        return values;
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let run_pair = &run_pair;
                scope.spawn(move || {
                    let mut out = Vec::with_capacity(2 * pairs / threads + 2);
                    (t..pairs)
                        .step_by(threads)
                        .for_each(|p| run_pair(p, &mut out));
                    out
                })
            })
            .collect();
        for h in handles {
            // A panicking estimator is re-raised here, on the caller's thread, where the
            // plugin's guard turns it into an `internal` error.
            match h.join() {
                Ok(out) => out.into_iter().for_each(|(r, v)| values[r] = v),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });
    values
}

/// Which interval an estimator reports, as chosen by the `ci` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CiChoice {
    /// The default: the calibrated interval (see [`crate::calibration`]) for the tabulated
    /// default configuration; otherwise the method's theory interval where it has one, and
    /// none (with a warning) where its only interval is the scaling regression's.
    Auto,
    /// The method's own interval: its theory's, or for scaling fits the regression t-interval
    /// (reported as `regression`; it undercovers).
    Asymptotic,
    /// The parametric fGn bootstrap of this module.
    Bootstrap,
}

/// The uncertainty settings shared by every estimator: `ci`, `replicates`, `seed`, `level`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Uncertainty {
    /// Interval method.
    pub method: CiChoice,
    /// Bootstrap settings (level also used by the other intervals).
    pub bootstrap: BootstrapConfig,
}

/// The schema entries of the uncertainty parameters, with the names every estimator shares
/// (the workflow engine fills `seed` per cell).
pub fn uncertainty_params() -> Vec<ParamSpec> {
    vec![
        param::choice(
            "ci",
            "auto",
            &["auto", "asymptotic", "bootstrap"],
            "interval: auto (calibrated by simulation for the default settings), asymptotic \
             (the method's theory, or the scaling regression) or parametric fGn bootstrap",
        )
        .build(),
        param::int("replicates", 200, "bootstrap replicates (ci = bootstrap)")
            .bounds(MIN_REPLICATES as f64, 100_000.0)
            .build(),
        param::int("seed", 0, "seed of the bootstrap replicates")
            .min(0.0)
            .build(),
        param::float("level", 0.95, "nominal coverage of the interval")
            .bounds(0.5, 0.999)
            .build(),
    ]
}

/// An estimate this many sampling SDs or more outside (0, 1) earns a warning: fewer would fire
/// on genuine fGn near the ends (a Gaussian exceeds 3 SDs once in 740 draws).
pub const RANGE_SDS: f64 = 3.0;

/// The warning for an estimate outside (0, 1) by more than [`RANGE_SDS`] standard errors (by
/// any amount when there is no standard error), or `None`.
pub fn range_warning(h: f64, stderr: Option<f64>) -> Option<String> {
    let margin = stderr
        .filter(|s| s.is_finite())
        .map_or(0.0, |s| RANGE_SDS * s);
    if h > -margin && h < 1.0 + margin {
        return None;
    }
    Some(match stderr {
        Some(s) => format!(
            "estimate {h:.4} is outside (0, 1) by more than {RANGE_SDS} standard errors \
             ({s:.4}): the series may not be stationary fGn-like noise (a path? differencing \
             gives its increments)"
        ),
        None => format!(
            "estimate {h:.4} is outside (0, 1): the series may not be stationary fGn-like noise"
        ),
    })
}

impl Uncertainty {
    /// Reads the four parameters of [`uncertainty_params`].
    ///
    /// # Errors
    ///
    /// `parameter` for an unknown `ci` value or a level outside (0, 1).
    pub fn from_params(params: &Params) -> Result<Uncertainty, PluginError> {
        let method = match params.str("ci") {
            "auto" => CiChoice::Auto,
            "asymptotic" => CiChoice::Asymptotic,
            "bootstrap" => CiChoice::Bootstrap,
            other => {
                return Err(PluginError::parameter(format!(
                    "ci must be auto, asymptotic or bootstrap, got `{other}`"
                )))
            }
        };
        let level = params.float("level");
        if !(level > 0.0 && level < 1.0) {
            return Err(PluginError::parameter(format!(
                "level must be in (0, 1), got {level}"
            )));
        }
        Ok(Uncertainty {
            method,
            bootstrap: BootstrapConfig {
                replicates: params.usize("replicates"),
                seed: params.int("seed") as u64,
                level,
                method: IntervalMethod::Basic,
            },
        })
    }

    /// Turns a scaling fit into the reported estimate (see [`Uncertainty::settle`]); r², the
    /// fit and the warnings are kept whatever the interval.
    ///
    /// # Errors
    ///
    /// Those of [`parametric_fgn_ci`].
    pub fn finish(
        &self,
        fit: &HurstFit,
        estimand: &str,
        series: &[f64],
        calibration: Calibrated<'_>,
        estimate: impl Fn(&[f64]) -> Result<f64, PluginError> + Sync,
    ) -> Result<Estimate, PluginError> {
        self.settle_with(fit.to_estimate(estimand), series, calibration, estimate)
    }

    /// The estimate `h` of `estimand` with the normal interval h ± z·`stderr` at this level:
    /// the asymptotic interval of a method whose theory gives the standard error.
    pub fn normal_estimate(&self, h: f64, stderr: f64, estimand: &str) -> Estimate {
        let z = normal_quantile(0.5 + 0.5 * self.bootstrap.level);
        Estimate::new(h, estimand).with_stderr(stderr).with_ci(
            h - z * stderr,
            h + z * stderr,
            self.bootstrap.level,
        )
    }

    /// Settles the interval of `out`, which carries its method's own interval (labelled
    /// `asymptotic` or `regression`):
    ///
    /// - `ci = bootstrap`: replaced by the parametric bootstrap interval and standard error
    ///   around `out.value`, with the replicate counts as diagnostics and a warning for a
    ///   clamped H or failed replicates;
    /// - `ci = asymptotic`: kept;
    /// - `ci = auto`: the calibrated interval when `calibration` applies; otherwise an
    ///   `asymptotic` interval is kept and a `regression` one is dropped with a warning (it
    ///   undercovers, and nothing calibrated exists for these settings).
    ///
    /// With the default settings of an estimator whose table carries a local-slope null
    /// ([`Calibration::misfit`]), the local-slope test of [`crate::misfit`] runs whatever the
    /// interval method: its `[z, p]` is recorded, and a rejection adds a warning saying which
    /// end of the scales disagrees and what to try. Then a series that looks like a path
    /// ([`crate::misfit::path_warning`]) is flagged, and the warning for an estimate outside
    /// (0, 1) is added when it is out by more than [`RANGE_SDS`] standard errors.
    ///
    /// # Errors
    ///
    /// Those of [`parametric_fgn_ci`].
    pub fn settle_with(
        &self,
        out: Estimate,
        series: &[f64],
        calibration: Calibrated<'_>,
        estimate: impl Fn(&[f64]) -> Result<f64, PluginError> + Sync,
    ) -> Result<Estimate, PluginError> {
        let misfit = match &calibration {
            Calibrated::Table(t) => t.misfit,
            _ => None,
        };
        let out = match self.method {
            CiChoice::Asymptotic => out,
            CiChoice::Bootstrap => self.bootstrap_settle(out, series, estimate)?,
            CiChoice::Auto => self.auto_settle(out, series.len(), calibration),
        };
        let out = match misfit {
            Some(null) => local_slope_check(out, series.len(), null),
            None => out,
        };
        let stderr = out.stderr.into_option();
        let out = match crate::misfit::path_warning(series) {
            Some(w) => out.with_warning(w),
            None => out,
        };
        Ok(match range_warning(out.value, stderr) {
            Some(w) => out.with_warning(w),
            None => out,
        })
    }

    /// [`Uncertainty::settle_with`] for an estimator without a calibration table: its own
    /// interval stands unless `ci = bootstrap`.
    ///
    /// # Errors
    ///
    /// Those of [`parametric_fgn_ci`].
    pub fn settle(
        &self,
        out: Estimate,
        series: &[f64],
        estimate: impl Fn(&[f64]) -> Result<f64, PluginError> + Sync,
    ) -> Result<Estimate, PluginError> {
        self.settle_with(out, series, Calibrated::NotApplicable, estimate)
    }

    fn auto_settle(&self, out: Estimate, n: usize, calibration: Calibrated<'_>) -> Estimate {
        let level = self.bootstrap.level;
        match calibration {
            Calibrated::Table(table) => {
                let ci = table.interval(out.value, n, level);
                let out = out.with_stderr(ci.stderr).with_ci_method(
                    ci.low,
                    ci.high,
                    level,
                    CiMethod::Calibrated,
                );
                if ci.extrapolated_below {
                    out.with_warning(format!(
                        "n = {n} is below the shortest calibrated length (2^{}): the interval \
                         extrapolates the sampling SD",
                        table.log2_n_min
                    ))
                } else {
                    out
                }
            }
            Calibrated::Changed(names) => {
                let regression = out
                    .ci
                    .into_option()
                    .is_some_and(|c| c.method == CiMethod::Regression);
                if !regression {
                    return out;
                }
                out.without_ci().with_warning(format!(
                    "no interval: the calibrated interval holds for the default settings only \
                     ({} changed) and the scaling regression's undercovers; use ci = bootstrap",
                    names.join(", ")
                ))
            }
            Calibrated::NotApplicable => out,
        }
    }

    fn bootstrap_settle(
        &self,
        out: Estimate,
        series: &[f64],
        estimate: impl Fn(&[f64]) -> Result<f64, PluginError> + Sync,
    ) -> Result<Estimate, PluginError> {
        if let Some(refused) = crate::gof::too_few_scales_for_bootstrap(&out) {
            return Ok(refused);
        }
        let h = out.value;
        let (_, sd) = crate::validate::mean_sd(series);
        let b = parametric_fgn_ci(h, series.len(), sd, &self.bootstrap, estimate)?;
        let mut out = out
            .with_stderr(b.stderr)
            .with_ci_method(b.low, b.high, b.level, CiMethod::Bootstrap)
            .with_diagnostic("bootstrap_replicates_used", vec![b.used as f64])
            .with_diagnostic("bootstrap_replicates_failed", vec![b.failed as f64]);
        if b.simulated_h != h {
            out = out.with_warning(format!(
                "bootstrap simulated fGn with H = {} (estimate {h:.4} clamped)",
                b.simulated_h
            ));
        }
        if b.failed > 0 {
            out = out.with_warning(format!(
                "{} of {} bootstrap replicates failed and were left out",
                b.failed, self.bootstrap.replicates
            ));
        }
        Ok(out)
    }
}

/// Runs the local-slope test on `out`'s [`crate::misfit::GAP_DIAGNOSTIC`] (recorded by the
/// fit) against `null`, records `[z, p]` and warns on a rejection; `out` unchanged when it has
/// no gap (too few scales).
fn local_slope_check(out: Estimate, n: usize, null: &Calibration) -> Estimate {
    use crate::misfit::{self, SlopeGap};
    let Some(g) = out
        .diagnostics
        .iter()
        .find(|d| d.name == misfit::GAP_DIAGNOSTIC)
        .filter(|d| d.values.len() == 3)
        .map(|d| SlopeGap {
            h_fine: d.values[0],
            h_coarse: d.values[1],
        })
    else {
        return out;
    };
    let t = misfit::test(g.gap(), out.value, n, null);
    let warning = misfit::warning(&t, &g);
    let out = out.with_diagnostic(misfit::TEST_DIAGNOSTIC, vec![t.z, t.p_value]);
    match warning {
        Some(w) => out.with_warning(w),
        None => out,
    }
}

/// Whether a calibration table applies to a call (built by [`Calibrated::check`]).
#[derive(Debug, Clone)]
pub enum Calibrated<'a> {
    /// The call uses the tabulated (default) configuration.
    Table(&'a Calibration),
    /// The call changes these parameters from the tabulated configuration.
    Changed(Vec<String>),
    /// The estimator has no table: its own interval stands.
    NotApplicable,
}

impl<'a> Calibrated<'a> {
    /// `Table(table)` when `params` equal the component's defaults (uncertainty parameters
    /// aside), `Changed(names)` otherwise. The defaults are resolved from `describe` once, into
    /// `cell`.
    pub fn check(
        table: &'a Calibration,
        params: &Params,
        cell: &'static OnceLock<Params>,
        describe: impl FnOnce() -> ComponentDescriptor,
    ) -> Calibrated<'a> {
        let defaults = cell.get_or_init(|| {
            // A schema whose defaults do not resolve has a required parameter: nothing can equal
            // "the defaults", so every call counts as changed (an empty default set).
            Params::from_resolved(resolve(&describe().params, &[]).unwrap_or_default())
        });
        let changed = changed_params(params, defaults);
        if changed.is_empty() {
            Calibrated::Table(table)
        } else {
            Calibrated::Changed(changed)
        }
    }
}

/// Seed of the k-th pair of replicates: splitmix64 of the base seed and k, so that nearby base
/// seeds (0, 1, 2, … as a sweep assigns them) still give unrelated streams.
pub fn stream_seed(seed: u64, k: u64) -> u64 {
    let mut z = seed
        ^ k.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Linear-interpolation quantile (type 7) of sorted, non-empty data.
fn quantile(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p;
    let (i, f) = (h.floor() as usize, h - h.floor());
    match sorted.get(i + 1) {
        Some(next) => sorted[i] + f * (next - sorted[i]),
        None => sorted[i],
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn range_warning_needs_three_standard_errors() {
        // 1.05 with se 0.03 is 1.7 se out: plausible noise at H = 0.95, no warning; 1.15 is
        // 5 se out. Without a standard error any excursion is flagged.
        assert!(range_warning(1.05, Some(0.03)).is_none());
        assert!(range_warning(1.15, Some(0.03)).is_some());
        assert!(range_warning(-0.2, Some(0.05)).is_some());
        assert!(range_warning(1.01, None).is_some());
        assert!(range_warning(0.5, None).is_none());
    }

    #[test]
    fn quantile_interpolates_type_7() {
        // numpy.quantile([1, 2, 3, 4], 0.25) = 1.75.
        assert!((quantile(&[1.0, 2.0, 3.0, 4.0], 0.25) - 1.75).abs() < 1e-15);
    }

    #[test]
    fn bootstrap_rejects_too_few_replicates_and_bad_level() {
        let cfg = BootstrapConfig {
            replicates: 5,
            seed: 0,
            level: 0.95,
            method: IntervalMethod::Basic,
        };
        assert!(parametric_fgn_ci(0.5, 64, 1.0, &cfg, |_| Ok(0.5)).is_err());
        let cfg = BootstrapConfig {
            replicates: 50,
            seed: 0,
            level: 1.0,
            method: IntervalMethod::Basic,
        };
        assert!(parametric_fgn_ci(0.5, 64, 1.0, &cfg, |_| Ok(0.5)).is_err());
    }

    #[test]
    fn bootstrap_counts_failures_and_gives_up_when_most_fail() {
        let cfg = BootstrapConfig {
            replicates: 40,
            seed: 3,
            level: 0.95,
            method: IntervalMethod::Percentile,
        };
        let e = parametric_fgn_ci(0.7, 128, 1.0, &cfg, |_| Err(PluginError::numerical("x")));
        assert!(e.is_err());
    }

    #[test]
    fn bootstrap_same_seed_is_bit_identical() {
        let cfg = BootstrapConfig {
            replicates: 30,
            seed: 9,
            level: 0.95,
            method: IntervalMethod::Basic,
        };
        let f = |x: &[f64]| Ok(x[0] + x[1]);
        let a = parametric_fgn_ci(0.3, 100, 2.0, &cfg, f).unwrap();
        let b = parametric_fgn_ci(0.3, 100, 2.0, &cfg, f).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn replicates_do_not_depend_on_the_thread_count() {
        // Determinism across thread counts: one thread is the sequential definition.
        let cfg = BootstrapConfig {
            replicates: 41,
            seed: 4,
            level: 0.95,
            method: IntervalMethod::Basic,
        };
        let plan = DaviesHarte::new(0.6, 300).unwrap();
        let f = |x: &[f64]| {
            let v = x.iter().map(|v| v * v).sum::<f64>();
            // Some failures, placed by value, to check their slots too.
            if v > 330.0 {
                Err(PluginError::numerical("x"))
            } else {
                Ok(v)
            }
        };
        let one = replicate_values(&plan, &cfg, 1.1, &f, 1);
        assert_eq!(one.len(), 41);
        assert!(one.iter().any(|v| v.is_none()) && one.iter().any(|v| v.is_some()));
        for t in [2, 3, 8, 64] {
            assert_eq!(
                replicate_values(&plan, &cfg, 1.1, &f, t),
                one,
                "{t} threads"
            );
        }
    }

    #[test]
    fn bootstrap_of_sample_mean_matches_theory() {
        // For fGn, Var(x̄) = σ² n^{2H−2}: at H = 0.7, n = 1024, σ = 2 the sd is
        // 2 · 1024^{−0.3} = 0.25. With 400 replicates the sd estimate has ~3.5% relative
        // error; 12% is over three of those.
        let cfg = BootstrapConfig {
            replicates: 400,
            seed: 5,
            level: 0.95,
            method: IntervalMethod::Percentile,
        };
        let ci = parametric_fgn_ci(0.7, 1024, 2.0, &cfg, |x| Ok(x.iter().sum::<f64>() / 1024.0))
            .unwrap();
        let sd = 2.0 * 1024f64.powf(-0.3);
        assert!((ci.stderr / sd - 1.0).abs() < 0.12, "{} vs {sd}", ci.stderr);
    }
}
