//! ABI glue: `higuchi` and `ghe` as [`Estimator`]s, with the shared uncertainty parameters.

use std::sync::OnceLock;

use lrdbench_numerics::bootstrap::{uncertainty_params, Calibrated, Uncertainty};
use lrdbench_plugin_api::prelude::*;

use crate::calibration;
use crate::kernel::ghe::{ghe, GheConfig};
use crate::kernel::higuchi::{higuchi, HiguchiConfig};
use crate::kernel::{Demeaning, Input};

fn input_param() -> lrdbench_plugin_api::ParamSpec {
    param::choice(
        "input",
        "increments",
        &["increments", "path"],
        "the series is noise (increments, e.g. fGn) or a path (e.g. fBm)",
    )
    .build()
}

fn correction_param() -> lrdbench_plugin_api::ParamSpec {
    param::choice(
        "correction",
        "fgn",
        &["fgn", "none"],
        "correct the moments for the demeaned path under fGn (iterated in H)",
    )
    .build()
}

fn correction(params: &Params) -> Demeaning {
    match params.str("correction") {
        "none" => Demeaning::None,
        _ => Demeaning::Fgn,
    }
}

fn input(params: &Params) -> Input {
    match params.str("input") {
        "path" => Input::Path,
        _ => Input::Increments,
    }
}

/// Higuchi's fractal dimension, H = 2 − D.
pub struct Higuchi;

impl Estimator for Higuchi {
    fn describe(&self) -> ComponentDescriptor {
        let mut b = component(ComponentKind::Estimator, "higuchi", Family::Geometric, "H")
            .description("Higuchi's curve length: H = 2 - D of the path")
            .reference("Higuchi (1988), Physica D 31, 277")
            .param(input_param())
            .param(correction_param())
            .param(
                param::int("k_max", 0, "largest lag (0: 16, clipped to n/4)")
                    .min(0.0)
                    .build(),
            );
        for p in uncertainty_params() {
            b = b.param(p);
        }
        b.build()
    }

    fn estimate(&self, x: &[f64], params: &Params) -> Result<Estimate, PluginError> {
        let u = Uncertainty::from_params(params)?;
        let cfg = HiguchiConfig {
            input: input(params),
            k_max: match params.usize("k_max") {
                0 => None,
                v => Some(v),
            },
            correction: correction(params),
            level: u.bootstrap.level,
        };
        let fit = higuchi(x, &cfg)?;
        // Replicates are fGn, i.e. increments, whatever the input representation.
        let rep = HiguchiConfig {
            input: Input::Increments,
            ..cfg
        };
        static DEFAULTS: OnceLock<Params> = OnceLock::new();
        u.finish(
            &fit,
            "H",
            x,
            Calibrated::check(&calibration::HIGUCHI, params, &DEFAULTS, || self.describe()),
            |r| higuchi(r, &rep).map(|f| f.h),
        )
    }
}

/// The generalised Hurst exponent H(q).
pub struct Ghe;

impl Estimator for Ghe {
    fn describe(&self) -> ComponentDescriptor {
        let mut b = component(ComponentKind::Estimator, "ghe", Family::Geometric, "H")
            .description("generalised Hurst exponent: scaling of the q-th absolute moment")
            .reference("Di Matteo, Aste & Dacorogna (2003), Physica A 324, 183")
            .param(input_param())
            .param(correction_param())
            .param(
                param::float("q", 2.0, "moment order (H(2) is the Hurst exponent)")
                    .bounds(0.1, 10.0)
                    .build(),
            )
            .param(
                param::int("lags", 16, "number of log-spaced lags")
                    .bounds(3.0, 1000.0)
                    .build(),
            )
            .param(
                param::int("max_lag", 0, "largest lag (0: min(64, n/8))")
                    .min(0.0)
                    .build(),
            );
        for p in uncertainty_params() {
            b = b.param(p);
        }
        b.build()
    }

    fn estimate(&self, x: &[f64], params: &Params) -> Result<Estimate, PluginError> {
        let u = Uncertainty::from_params(params)?;
        let cfg = GheConfig {
            input: input(params),
            q: params.float("q"),
            lags: params.usize("lags"),
            max_lag: match params.usize("max_lag") {
                0 => None,
                v => Some(v),
            },
            correction: correction(params),
            level: u.bootstrap.level,
        };
        let fit = ghe(x, &cfg)?;
        let rep = GheConfig {
            input: Input::Increments,
            ..cfg
        };
        static DEFAULTS: OnceLock<Params> = OnceLock::new();
        u.finish(
            &fit,
            "H",
            x,
            Calibrated::check(&calibration::GHE, params, &DEFAULTS, || self.describe()),
            |r| ghe(r, &rep).map(|f| f.h),
        )
    }
}
