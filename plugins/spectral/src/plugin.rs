//! ABI glue: the `Estimator` implementations that read parameters, call the kernels and build
//! the returned `Estimate` with its uncertainty.

use std::sync::OnceLock;

use lrdbench_numerics::bootstrap::{uncertainty_params, Calibrated, Uncertainty};
use lrdbench_plugin_api::prelude::*;
use lrdbench_plugin_api::sdk::ComponentBuilder;

use crate::calibration;
use crate::kernel::{gph, local_whittle, periodogram, whittle, Bandwidth, SpectralEstimate};

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
        finish(x, kernel(x)?, params, calibration, &kernel)
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
        let kernel = move |s: &[f64]| whittle::whittle(s, &cfg);
        static DEFAULTS: OnceLock<Params> = OnceLock::new();
        let calibration =
            Calibrated::check(&calibration::WHITTLE, params, &DEFAULTS, || self.describe());
        finish(x, kernel(x)?, params, calibration, &kernel)
    }
}
