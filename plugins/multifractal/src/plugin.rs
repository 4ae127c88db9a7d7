//! ABI glue: `mfdfa` as an [`Estimator`], with the shared uncertainty parameters.

use std::sync::OnceLock;

use lrdbench_numerics::bootstrap::{uncertainty_params, Calibrated, Uncertainty};
use lrdbench_numerics::fluctuation::{Order, Segments};
use lrdbench_numerics::scaling::FitWeights;
use lrdbench_plugin_api::prelude::*;

use crate::calibration;
use crate::kernel::mfdfa::{mfdfa, MfdfaConfig};

/// The default q grid: symmetric, integer, and including 2 (the Hurst exponent).
pub const DEFAULT_Q: [f64; 8] = [-5.0, -3.0, -1.0, 0.0, 1.0, 2.0, 3.0, 5.0];

/// Multifractal detrended fluctuation analysis.
pub struct Mfdfa;

impl Estimator for Mfdfa {
    fn describe(&self) -> ComponentDescriptor {
        let mut b = component(ComponentKind::Estimator, "mfdfa", Family::Multifractal, "H")
            .description("multifractal DFA: h(q) spectrum in the diagnostics, H = h(2)")
            .reference("Kantelhardt et al. (2002), Physica A 316, 87")
            .param(
                param::list("q", &DEFAULT_Q, "moment orders; 2 is added if missing")
                    .bounds(-20.0, 20.0)
                    .build(),
            )
            .param(
                param::int("order", 1, "detrending polynomial order")
                    .bounds(1.0, 3.0)
                    .build(),
            )
            .param(
                param::int("min_scale", 16, "smallest box size")
                    .min(3.0)
                    .build(),
            )
            .param(
                param::int("max_scale", 0, "largest box size (0: n/4)")
                    .min(0.0)
                    .build(),
            )
            .param(
                param::float("ratio", 1.25, "ratio between successive box sizes")
                    .bounds(1.01, 4.0)
                    .build(),
            )
            .param(
                param::choice(
                    "segments",
                    "forward",
                    &["forward", "both"],
                    "boxes from the start only, or also from the end",
                )
                .build(),
            )
            .param(
                param::choice(
                    "fit",
                    "wls",
                    &["wls", "ols"],
                    "scaling fits weighted by the number of boxes (wls) or unweighted (ols)",
                )
                .build(),
            );
        for p in uncertainty_params() {
            b = b.param(p);
        }
        b.build()
    }

    fn estimate(&self, x: &[f64], params: &Params) -> Result<Estimate, PluginError> {
        let u = Uncertainty::from_params(params)?;
        let mut q = params.list("q").to_vec();
        if !q.contains(&2.0) {
            q.push(2.0);
        }
        let cfg = MfdfaConfig {
            q,
            order: Order::new(params.usize("order"))?,
            min_scale: params.usize("min_scale"),
            max_scale: match params.usize("max_scale") {
                0 => None,
                v => Some(v),
            },
            ratio: params.float("ratio"),
            segments: match params.str("segments") {
                "both" => Segments::Both,
                _ => Segments::Forward,
            },
            fit: match params.str("fit") {
                "ols" => FitWeights::Equal,
                _ => FitWeights::BoxCount,
            },
            level: u.bootstrap.level,
        };
        let spec = mfdfa(x, &cfg)?;
        let fit = spec
            .at_two()
            .ok_or_else(|| PluginError::internal("q = 2 missing from the grid"))?;
        // Replicates need only h(2): a one-point grid keeps the bootstrap at DFA's cost.
        let cfg2 = MfdfaConfig {
            q: vec![2.0],
            ..cfg.clone()
        };
        static DEFAULTS: OnceLock<Params> = OnceLock::new();
        let est = u.finish(
            fit,
            "H",
            x,
            Calibrated::check(&calibration::MFDFA, params, &DEFAULTS, || self.describe()),
            |r| mfdfa(r, &cfg2).map(|s| s.fits[0].h),
        )?;
        let stderrs = spec.fits.iter().map(|f| f.stderr).collect();
        Ok(est
            .with_diagnostic("q", spec.q.clone())
            .with_diagnostic("h(q)", spec.h())
            .with_diagnostic("h(q) stderr", stderrs))
    }
}
