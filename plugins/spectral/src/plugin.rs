//! ABI glue: the `Estimator` implementations that read parameters, call the kernels and build
//! the returned `Estimate` with its uncertainty.

use std::sync::OnceLock;

use lrdbench_numerics::bootstrap::{uncertainty_params, Calibrated, Uncertainty};
use lrdbench_plugin_api::prelude::*;
use lrdbench_plugin_api::sdk::ComponentBuilder;

use crate::calibration;
use crate::kernel::{
    arfima, gph, local_whittle, periodogram, whittle, Bandwidth, SpectralEstimate,
};

/// Appends the uncertainty parameters every lrdbench estimator shares.
fn common_params(mut builder: ComponentBuilder) -> ComponentBuilder {
    for spec in uncertainty_params() {
        builder = builder.param(spec);
    }
    builder
}

fn bandwidth_params(builder: ComponentBuilder, exponent: f64) -> ComponentBuilder {
    builder
        .param(
            param::float(
                "bandwidth_exponent",
                exponent,
                "bandwidth m = floor(n^exponent) when `bandwidth` is 0",
            )
            .bounds(0.05, 0.95)
            .build(),
        )
        .param(
            param::int(
                "bandwidth",
                0,
                "number of low Fourier frequencies; 0: n^bandwidth_exponent",
            )
            .min(0.0)
            .build(),
        )
}

fn bandwidth_of(params: &Params) -> Bandwidth {
    match params.usize("bandwidth") {
        0 => Bandwidth::Exponent(params.float("bandwidth_exponent")),
        m => Bandwidth::Fixed(m),
    }
}

/// Turns a kernel result into an `Estimate`: the asymptotic interval Ĥ ± z·se, or with
/// `ci = bootstrap` the parametric fGn bootstrap of `lrdbench_numerics::bootstrap` (re-running
/// `kernel` on each replicate); fit, r², warnings and the bandwidth as a diagnostic.
fn finish(
    x: &[f64],
    est: SpectralEstimate,
    params: &Params,
    calibration: Calibrated<'_>,
    kernel: &(dyn Fn(&[f64]) -> Result<SpectralEstimate, PluginError> + Sync),
) -> Result<Estimate, PluginError> {
    let unc = Uncertainty::from_params(params)?;
    let mut out = unc
        .normal_estimate(est.h, est.stderr, "H")
        .with_diagnostic("bandwidth", vec![est.bandwidth as f64]);
    if let Some(r2) = est.r_squared {
        out = out.with_r_squared(r2);
    }
    if let Some(fit) = est.fit {
        out = out.with_fit(fit.x_label, fit.y_label, fit.x, fit.y, fit.fitted);
    }
    for w in est.warnings {
        out = out.with_warning(w);
    }
    for (name, t) in est.gof {
        out = out.with_diagnostic(name, vec![t.statistic, t.z, t.p_value]);
    }
    if let Some(g) = est.gap {
        out = out.with_diagnostic(lrdbench_numerics::misfit::GAP_DIAGNOSTIC, g.diagnostic());
    }
    unc.settle_with(out, x, calibration, |s| kernel(s).map(|e| e.h))
}

/// `periodogram`: log-periodogram slope at the lowest frequencies.
pub struct Periodogram;

impl Estimator for Periodogram {
    fn describe(&self) -> ComponentDescriptor {
        let b = component(
            ComponentKind::Estimator,
            "periodogram",
            Family::Spectral,
            "H",
        )
        .description("slope of the log-periodogram against log-frequency at low frequencies")
        .reference("Taqqu, Teverovsky & Willinger (1995), Fractals 3(4), §2.6")
        .param(
            param::float(
                "fraction",
                0.1,
                "fraction of the Fourier frequencies used, lowest first",
            )
            .bounds(0.001, 1.0)
            .build(),
        )
        .param(
            param::int(
                "bandwidth",
                0,
                "number of low Fourier frequencies; 0: use `fraction`",
            )
            .min(0.0)
            .build(),
        );
        common_params(b).build()
    }

    fn estimate(&self, x: &[f64], params: &Params) -> Result<Estimate, PluginError> {
        let cfg = periodogram::Config {
            bandwidth: match params.usize("bandwidth") {
                0 => Bandwidth::Fraction(params.float("fraction")),
                m => Bandwidth::Fixed(m),
            },
        };
        let kernel = move |s: &[f64]| periodogram::periodogram(s, &cfg);
        static DEFAULTS: OnceLock<Params> = OnceLock::new();
        let calibration = Calibrated::check(&calibration::PERIODOGRAM, params, &DEFAULTS, || {
            self.describe()
        });
        finish(x, kernel(x)?, params, calibration, &kernel)
    }
}

/// `gph`: Geweke–Porter-Hudak log-periodogram regression.
pub struct Gph;

impl Estimator for Gph {
    fn describe(&self) -> ComponentDescriptor {
        let b = component(ComponentKind::Estimator, "gph", Family::Spectral, "H")
            .description("Geweke–Porter-Hudak log-periodogram regression, H = d + 1/2")
            .reference("Geweke & Porter-Hudak (1983), J. Time Ser. Anal. 4(4); Robinson (1995), Ann. Statist. 23(3)");
        let b = b.param(
            param::int(
                "pool",
                3,
                "adjacent periodogram ordinates pooled per regression point (1: original GPH)",
            )
            .bounds(1.0, 64.0)
            .build(),
        );
        common_params(bandwidth_params(b, 0.5)).build()
    }

    fn estimate(&self, x: &[f64], params: &Params) -> Result<Estimate, PluginError> {
        let cfg = gph::Config {
            bandwidth: bandwidth_of(params),
            pool: params.usize("pool"),
        };
        let kernel = move |s: &[f64]| gph::gph(s, &cfg);
        static DEFAULTS: OnceLock<Params> = OnceLock::new();
        let calibration =
            Calibrated::check(&calibration::GPH, params, &DEFAULTS, || self.describe());
        finish(x, kernel(x)?, params, calibration, &kernel)
    }
}

/// `local_whittle`: Robinson's Gaussian semiparametric estimator.
pub struct LocalWhittle;

impl Estimator for LocalWhittle {
    fn describe(&self) -> ComponentDescriptor {
        let b = component(
            ComponentKind::Estimator,
            "local_whittle",
            Family::Spectral,
            "H",
        )
        .description("Robinson's local Whittle estimator, H = d + 1/2, stderr 1/(2 sqrt(m))")
        .reference("Robinson (1995), Ann. Statist. 23(5), 1630–1661");
        common_params(bandwidth_params(b, 0.65)).build()
    }

    fn estimate(&self, x: &[f64], params: &Params) -> Result<Estimate, PluginError> {
        let cfg = local_whittle::Config {
            bandwidth: bandwidth_of(params),
        };
        let kernel = move |s: &[f64]| local_whittle::local_whittle(s, &cfg);
        static DEFAULTS: OnceLock<Params> = OnceLock::new();
        let calibration = Calibrated::check(&calibration::LOCAL_WHITTLE, params, &DEFAULTS, || {
            self.describe()
        });
        // The misfit gap for the estimate itself; bootstrap replicates need the point only.
        let est = local_whittle::local_whittle_with_gap(x, &cfg)?;
        finish(x, est, params, calibration, &kernel)
    }
}

/// `whittle`: full Whittle likelihood with the exact fGn spectral density.
pub struct Whittle;

impl Estimator for Whittle {
    fn describe(&self) -> ComponentDescriptor {
        let b = component(ComponentKind::Estimator, "whittle", Family::Spectral, "H")
            .description("Whittle maximum likelihood with the exact fGn spectral density; stderr from the Fisher information")
            .reference("Whittle (1953); Fox & Taqqu (1986), Ann. Statist. 14(2); Beran (1994), §5.5");
        common_params(b).build()
    }

    fn estimate(&self, x: &[f64], params: &Params) -> Result<Estimate, PluginError> {
        let cfg = whittle::Config { tolerance: 1e-7 };
        let kernel = move |s: &[f64]| whittle::whittle_point(s, &cfg);
        static DEFAULTS: OnceLock<Params> = OnceLock::new();
        let calibration =
            Calibrated::check(&calibration::WHITTLE, params, &DEFAULTS, || self.describe());
        finish(x, whittle::whittle(x, &cfg)?, params, calibration, &kernel)
    }
}

/// `arfima_whittle`: Whittle likelihood of ARFIMA(p, d, q), the orders given or chosen by BIC.
pub struct ArfimaWhittle;

/// An order parameter: −1 chooses it by BIC, 0..=2 fixes it.
fn order_param(name: &str, help: &str) -> lrdbench_plugin_api::ParamSpec {
    param::int(name, -1, help)
        .bounds(-1.0, arfima::MAX_ORDER as f64)
        .build()
}

impl Estimator for ArfimaWhittle {
    fn describe(&self) -> ComponentDescriptor {
        let b = component(
            ComponentKind::Estimator,
            "arfima_whittle",
            Family::Spectral,
            "d",
        )
        .description(
            "Whittle maximum likelihood of ARFIMA(p,d,q), orders by BIC up to (2,2) or given; \
             estimand d (H = d + 1/2 in the diagnostic `H`), stderr from the Whittle information \
             matrix; MA sign X = e + theta e(-1) (fracdiff's ma is -theta)",
        )
        .reference("Fox & Taqqu (1986), Ann. Statist. 14(2); Beran (1994), §5.5 and §6.1")
        .param(order_param("p", "AR order; -1: choose by BIC up to max_p"))
        .param(order_param("q", "MA order; -1: choose by BIC up to max_q"))
        .param(
            param::int("max_p", 2, "largest AR order BIC considers")
                .bounds(0.0, arfima::MAX_ORDER as f64)
                .build(),
        )
        .param(
            param::int("max_q", 2, "largest MA order BIC considers")
                .bounds(0.0, arfima::MAX_ORDER as f64)
                .build(),
        );
        common_params(b).build()
    }

    fn estimate(&self, x: &[f64], params: &Params) -> Result<Estimate, PluginError> {
        let (p, q) = (params.int("p"), params.int("q"));
        let orders = if p >= 0 && q >= 0 {
            arfima::Orders::Fixed {
                p: p as usize,
                q: q as usize,
            }
        } else if p < 0 && q < 0 {
            arfima::Orders::Bic {
                max_p: params.usize("max_p"),
                max_q: params.usize("max_q"),
            }
        } else {
            return Err(PluginError::parameter(
                "arfima_whittle: give both p and q, or neither (-1: chosen by BIC)",
            ));
        };
        let cfg = arfima::Config {
            orders,
            ..arfima::Config::default()
        };
        let est = arfima::arfima_whittle(x, &cfg)?;
        let fit = &est.best;
        let unc = Uncertainty::from_params(params)?;
        // The interval is built and settled on the H scale (H = d + ½), which the shared
        // bootstrap simulates, then shifted to d.
        let mut on_h = unc.normal_estimate(fit.d + 0.5, fit.d_stderr, "H");
        for w in &est.warnings {
            on_h = on_h.with_warning(w.clone());
        }
        let on_h = unc.settle(on_h, x, |s| {
            arfima::arfima_whittle(s, &cfg).map(|e| e.best.d + 0.5)
        })?;
        let mut out = Estimate::new(on_h.value - 0.5, "d");
        out.stderr = on_h.stderr;
        out.warnings = on_h.warnings;
        out.diagnostics = on_h.diagnostics;
        let mut h_diag = vec![on_h.value];
        if let Some(ci) = on_h.ci.into_option() {
            out = out.with_ci(ci.low - 0.5, ci.high - 0.5, ci.level);
            h_diag.extend([ci.low, ci.high]);
        }
        let candidates: Vec<f64> = est
            .candidates
            .iter()
            .flat_map(|&(p, q, bic)| [p as f64, q as f64, bic])
            .collect();
        Ok(out
            .with_diagnostic("H", h_diag)
            .with_diagnostic("orders", vec![fit.p as f64, fit.q as f64])
            .with_diagnostic("ar", fit.ar.clone())
            .with_diagnostic("ma", fit.ma.clone())
            .with_diagnostic("arma_stderr", fit.arma_stderr.clone())
            .with_diagnostic("sigma2", vec![fit.sigma2])
            .with_diagnostic("bic_candidates", candidates)
            .with_diagnostic("frequencies", vec![est.frequencies as f64]))
    }
}
