//! ABI glue: the temporal estimators as [`Estimator`]s, their parameter schemas, and the
//! uncertainty settings shared by every estimator (`ci`, `replicates`, `seed`, `level`).

use std::sync::OnceLock;

use lrdbench_numerics::bootstrap::{uncertainty_params, Calibrated, Uncertainty};
use lrdbench_numerics::fluctuation::{Order, Segments};
use lrdbench_numerics::scaling::FitWeights;
use lrdbench_plugin_api::prelude::*;
use lrdbench_plugin_api::ComponentDescriptor;

use crate::calibration;
use crate::kernel::absmom::absmom;
use crate::kernel::aggvar::{aggvar, BiasCorrection, BlockConfig};
use crate::kernel::dfa::{dfa, DfaConfig};
use crate::kernel::dma::{dma, DmaConfig, DmaWindow};
use crate::kernel::rs::{rs, RsConfig, RsCorrection};
use crate::kernel::varres::{varres, VarresConfig};

/// The estimand every estimator here reports.
const ESTIMAND: &str = "H";

fn with_common(mut b: lrdbench_plugin_api::sdk::ComponentBuilder) -> ComponentDescriptor {
    for p in uncertainty_params() {
        b = b.param(p);
    }
    b.build()
}

fn ladder_params(
    b: lrdbench_plugin_api::sdk::ComponentBuilder,
    min: i64,
    min_allowed: f64,
    max_help: &str,
    ratio: f64,
) -> lrdbench_plugin_api::sdk::ComponentBuilder {
    b.param(
        param::int("min_scale", min, "smallest scale")
            .min(min_allowed)
            .build(),
    )
    .param(param::int("max_scale", 0, max_help).min(0.0).build())
    .param(
        param::float("ratio", ratio, "ratio between successive scales")
            .bounds(1.01, 4.0)
            .build(),
    )
}

/// The `fit` parameter: weighted by box count (default) or ordinary least squares.
pub(crate) fn fit_param() -> lrdbench_plugin_api::ParamSpec {
    param::choice(
        "fit",
        "wls",
        &["wls", "ols"],
        "scaling fit weighted by the number of boxes (wls) or unweighted as lrdbench 2.0 and fathon (ols)",
    )
    .build()
}

fn fit_weights(params: &Params) -> FitWeights {
    match params.str("fit") {
        "ols" => FitWeights::Equal,
        _ => FitWeights::BoxCount,
    }
}

fn max_scale(params: &Params) -> Option<usize> {
    match params.usize("max_scale") {
        0 => None,
        v => Some(v),
    }
}

/// Rescaled range.
pub struct Rs;

impl Estimator for Rs {
    fn describe(&self) -> ComponentDescriptor {
        let b = component(ComponentKind::Estimator, "rs", Family::Temporal, ESTIMAND)
            .description(
                "rescaled range (R/S) analysis, fGn or Anis-Lloyd-Peters small-sample correction",
            )
            .reference("Hurst (1951); Mandelbrot & Wallis (1969); Anis & Lloyd (1976)");
        let b = ladder_params(b, 8, 8.0, "largest block size (0: n/2)", 1.5).param(
            param::choice(
                "correction",
                "fgn",
                &["fgn", "none", "anis_lloyd"],
                "small-sample correction of R/S (fgn: expectation under fGn, iterated in H)",
            )
            .build(),
        );
        with_common(b)
    }

    fn estimate(&self, x: &[f64], params: &Params) -> Result<Estimate, PluginError> {
        let u = Uncertainty::from_params(params)?;
        let cfg = RsConfig {
            min_scale: params.usize("min_scale"),
            max_scale: max_scale(params),
            ratio: params.float("ratio"),
            correction: match params.str("correction") {
                "anis_lloyd" => RsCorrection::AnisLloyd,
                "none" => RsCorrection::None,
                _ => RsCorrection::Fgn,
            },
            level: u.bootstrap.level,
        };
        let fit = rs(x, &cfg)?;
        static DEFAULTS: OnceLock<Params> = OnceLock::new();
        u.finish(
            &fit,
            ESTIMAND,
            x,
            Calibrated::check(&calibration::RS, params, &DEFAULTS, || self.describe()),
            |r| rs(r, &cfg).map(|f| f.h),
        )
    }
}

/// Detrended fluctuation analysis.
pub struct Dfa;

impl Dfa {
    fn config(params: &Params, level: f64) -> Result<DfaConfig, PluginError> {
        Ok(DfaConfig {
            order: Order::new(params.usize("order"))?,
            min_scale: params.usize("min_scale"),
            max_scale: max_scale(params),
            ratio: params.float("ratio"),
            segments: match params.str("segments") {
                "both" => Segments::Both,
                _ => Segments::Forward,
            },
            fit: fit_weights(params),
            level,
        })
    }
}

impl Estimator for Dfa {
    fn describe(&self) -> ComponentDescriptor {
        let b = component(ComponentKind::Estimator, "dfa", Family::Temporal, ESTIMAND)
            .description("detrended fluctuation analysis of order 1 to 3")
            .reference("Peng et al. (1994), Phys. Rev. E 49, 1685; Kantelhardt et al. (2001)")
            .param(
                param::int("order", 1, "detrending polynomial order")
                    .bounds(1.0, 3.0)
                    .build(),
            );
        let b = ladder_params(b, 16, 3.0, "largest box size (0: n/4)", 1.25)
            .param(
                param::choice(
                    "segments",
                    "forward",
                    &["forward", "both"],
                    "boxes from the start only, or also from the end",
                )
                .build(),
            )
            .param(fit_param());
        with_common(b)
    }

    fn estimate(&self, x: &[f64], params: &Params) -> Result<Estimate, PluginError> {
        let u = Uncertainty::from_params(params)?;
        let cfg = Dfa::config(params, u.bootstrap.level)?;
        let fit = dfa(x, &cfg)?;
        static DEFAULTS: OnceLock<Params> = OnceLock::new();
        u.finish(
            &fit,
            ESTIMAND,
            x,
            Calibrated::check(&calibration::DFA, params, &DEFAULTS, || self.describe()),
            |r| dfa(r, &cfg).map(|f| f.h),
        )
    }
}

/// Detrending moving average.
pub struct Dma;

impl Estimator for Dma {
    fn describe(&self) -> ComponentDescriptor {
        let b = component(ComponentKind::Estimator, "dma", Family::Temporal, ESTIMAND)
            .description("detrending moving-average analysis, backward or centred window")
            .reference("Alessio et al. (2002), Eur. Phys. J. B 27, 197; Arianos & Carbone (2007)")
            .param(
                param::choice(
                    "window",
                    "centred",
                    &["centred", "backward"],
                    "moving-average window placement",
                )
                .build(),
            );
        let b = ladder_params(b, 8, 2.0, "largest window (0: n/4)", 1.25);
        with_common(b)
    }

    fn estimate(&self, x: &[f64], params: &Params) -> Result<Estimate, PluginError> {
        let u = Uncertainty::from_params(params)?;
        let cfg = DmaConfig {
            window: match params.str("window") {
                "backward" => DmaWindow::Backward,
                _ => DmaWindow::Centred,
            },
            min_scale: params.usize("min_scale"),
            max_scale: max_scale(params),
            ratio: params.float("ratio"),
            level: u.bootstrap.level,
        };
        let fit = dma(x, &cfg)?;
        static DEFAULTS: OnceLock<Params> = OnceLock::new();
        u.finish(
            &fit,
            ESTIMAND,
            x,
            Calibrated::check(&calibration::DMA, params, &DEFAULTS, || self.describe()),
            |r| dma(r, &cfg).map(|f| f.h),
        )
    }
}

fn block_describe(name: &str, description: &str, reference: &str) -> ComponentDescriptor {
    let b = component(ComponentKind::Estimator, name, Family::Temporal, ESTIMAND)
        .description(description)
        .reference(reference);
    let b = ladder_params(b, 2, 2.0, "largest block size (0: n/4)", 1.5).param(
        param::choice(
            "correction",
            "fgn",
            &["fgn", "none"],
            "remove the statistic's finite-sample bias under fGn (iterated in H)",
        )
        .build(),
    );
    with_common(b)
}

fn block_config(params: &Params, level: f64) -> BlockConfig {
    BlockConfig {
        min_scale: params.usize("min_scale"),
        max_scale: max_scale(params),
        ratio: params.float("ratio"),
        correction: match params.str("correction") {
            "none" => BiasCorrection::None,
            _ => BiasCorrection::Fgn,
        },
        level,
    }
}

/// Aggregated variance.
pub struct Aggvar;

impl Estimator for Aggvar {
    fn describe(&self) -> ComponentDescriptor {
        block_describe(
            "aggvar",
            "aggregated variance: variance of block means against block size",
            "Taqqu, Teverovsky & Willinger (1995), Fractals 3(4), 785, section 2.1",
        )
    }

    fn estimate(&self, x: &[f64], params: &Params) -> Result<Estimate, PluginError> {
        let u = Uncertainty::from_params(params)?;
        let cfg = block_config(params, u.bootstrap.level);
        let fit = aggvar(x, &cfg)?;
        static DEFAULTS: OnceLock<Params> = OnceLock::new();
        u.finish(
            &fit,
            ESTIMAND,
            x,
            Calibrated::check(&calibration::AGGVAR, params, &DEFAULTS, || self.describe()),
            |r| aggvar(r, &cfg).map(|f| f.h),
        )
    }
}

/// Absolute moments.
pub struct Absmom;

impl Estimator for Absmom {
    fn describe(&self) -> ComponentDescriptor {
        block_describe(
            "absmom",
            "absolute moments: mean absolute deviation of block means against block size",
            "Taqqu, Teverovsky & Willinger (1995), Fractals 3(4), 785, section 2.2",
        )
    }

    fn estimate(&self, x: &[f64], params: &Params) -> Result<Estimate, PluginError> {
        let u = Uncertainty::from_params(params)?;
        let cfg = block_config(params, u.bootstrap.level);
        let fit = absmom(x, &cfg)?;
        static DEFAULTS: OnceLock<Params> = OnceLock::new();
        u.finish(
            &fit,
            ESTIMAND,
            x,
            Calibrated::check(&calibration::ABSMOM, params, &DEFAULTS, || self.describe()),
            |r| absmom(r, &cfg).map(|f| f.h),
        )
    }
}

/// Variance of residuals.
pub struct Varres;

impl Estimator for Varres {
    fn describe(&self) -> ComponentDescriptor {
        let b = component(
            ComponentKind::Estimator,
            "varres",
            Family::Temporal,
            ESTIMAND,
        )
        .description("variance of residuals of in-block line fits to the partial sums")
        .reference("Taqqu, Teverovsky & Willinger (1995), Fractals 3(4), 785, section 2.6");
        let b = ladder_params(b, 8, 3.0, "largest block size (0: n/4)", 1.5);
        with_common(b)
    }

    fn estimate(&self, x: &[f64], params: &Params) -> Result<Estimate, PluginError> {
        let u = Uncertainty::from_params(params)?;
        let cfg = VarresConfig {
            min_scale: params.usize("min_scale"),
            max_scale: max_scale(params),
            ratio: params.float("ratio"),
            level: u.bootstrap.level,
        };
        let fit = varres(x, &cfg)?;
        static DEFAULTS: OnceLock<Params> = OnceLock::new();
        u.finish(
            &fit,
            ESTIMAND,
            x,
            Calibrated::check(&calibration::VARRES, params, &DEFAULTS, || self.describe()),
            |r| varres(r, &cfg).map(|f| f.h),
        )
    }
}
