//! ABI glue: the `Estimator` implementations that read parameters, call the kernels and build
//! the returned `Estimate` with its uncertainty.

use std::sync::OnceLock;

use lrdbench_numerics::bootstrap::{uncertainty_params, Calibrated, Uncertainty};
use lrdbench_numerics::misfit::{slope_gap, Orientation, GAP_DIAGNOSTIC};
use lrdbench_plugin_api::prelude::*;
use lrdbench_plugin_api::sdk::ComponentBuilder;

use crate::calibration;
use crate::kernel::{wavelet_av, wavelet_whittle, Correction, WaveletEstimate};

/// The octave and filter parameters both estimators take.
fn wavelet_params(builder: ComponentBuilder) -> ComponentBuilder {
    let mut b = builder
        .param(
            param::int(
                "order",
                4,
                "Daubechies filter dbN: vanishing moments N, 2 to 8",
            )
            .bounds(2.0, 8.0)
            .build(),
        )
        .param(
            param::int(
                "j_min",
                1,
                "finest octave used (1 = finest); use 3 or more with correction = none",
            )
            .bounds(1.0, 30.0)
            .build(),
        )
        .param(
            param::int(
                "j_max",
                0,
                "coarsest octave used; 0: the coarsest with at least 4 boundary-free coefficients",
            )
            .bounds(0.0, 60.0)
            .build(),
        );
    b = b.param(
        param::choice(
            "correction",
            "fgn",
            &["fgn", "none"],
            "fine-octave curvature: remove fGn's exact curvature, or none (the original method)",
        )
        .build(),
    );
    for spec in uncertainty_params() {
        b = b.param(spec);
    }
    b
}

fn correction(params: &Params) -> Correction {
    match params.str("correction") {
        "none" => Correction::None,
        _ => Correction::FgnExact,
    }
}

fn octaves(params: &Params) -> (usize, usize, usize) {
    let j_max = match params.usize("j_max") {
        0 => usize::MAX,
        j => j,
    };
    (params.usize("order"), params.usize("j_min"), j_max)
}

/// Turns a kernel result into an `Estimate`: the asymptotic interval Ĥ ± z·se, or with
/// `ci = bootstrap` the parametric fGn bootstrap (re-running `kernel` on each replicate); the
/// log-scale diagram, r², warnings and the octave counts as diagnostics.
fn finish(
    x: &[f64],
    est: WaveletEstimate,
    params: &Params,
    calibration: Calibrated<'_>,
    kernel: &(dyn Fn(&[f64]) -> Result<WaveletEstimate, PluginError> + Sync),
) -> Result<Estimate, PluginError> {
    let unc = Uncertainty::from_params(params)?;
    let d = est.diagram;
    // The diagram's slope is 2H − 1 per octave, finest octave first.
    let gap = slope_gap(&d.x, &d.y, 0.5, Orientation::FineFirst);
    let mut out = unc
        .normal_estimate(est.h, est.stderr, "H")
        .with_fit("octave j", "log2 mean d_j^2", d.x, d.y, d.fitted)
        .with_diagnostic("octaves", vec![est.octaves.0 as f64, est.octaves.1 as f64])
        .with_diagnostic(
            "coefficients_per_octave",
            est.counts.iter().map(|c| *c as f64).collect(),
        );
    if let Some(r2) = est.r_squared {
        out = out.with_r_squared(r2);
    }
    if let Some(g) = gap {
        out = out.with_diagnostic(GAP_DIAGNOSTIC, g.diagnostic());
    }
    for w in est.warnings {
        out = out.with_warning(w);
    }
    unc.settle_with(out, x, calibration, |s| kernel(s).map(|e| e.h))
}

/// `wavelet_av`: the Abry–Veitch log-scale diagram.
pub struct WaveletAv;

impl Estimator for WaveletAv {
    fn describe(&self) -> ComponentDescriptor {
        let b = component(ComponentKind::Estimator, "wavelet_av", Family::Wavelet, "H")
            .description("Abry–Veitch log-scale diagram: bias-corrected, inverse-variance weighted, boundary-free DWT")
            .reference("Veitch & Abry (1999), IEEE Trans. Inf. Theory 45(3); Abry & Veitch (1998), IEEE Trans. Inf. Theory 44(1)");
        wavelet_params(b).build()
    }

    fn estimate(&self, x: &[f64], params: &Params) -> Result<Estimate, PluginError> {
        let (order, j_min, j_max) = octaves(params);
        let cfg = wavelet_av::Config {
            order,
            j_min,
            j_max,
            correction: correction(params),
        };
        let kernel = move |s: &[f64]| wavelet_av::wavelet_av(s, &cfg);
        static DEFAULTS: OnceLock<Params> = OnceLock::new();
        let calibration = Calibrated::check(&calibration::WAVELET_AV, params, &DEFAULTS, || {
            self.describe()
        });
        finish(x, kernel(x)?, params, calibration, &kernel)
    }
}

/// `wavelet_whittle`: local Whittle in the wavelet domain.
pub struct WaveletWhittle;

impl Estimator for WaveletWhittle {
    fn describe(&self) -> ComponentDescriptor {
        let b = component(
            ComponentKind::Estimator,
            "wavelet_whittle",
            Family::Wavelet,
            "H",
        )
        .description(
            "wavelet Whittle estimator of Moulines, Roueff & Taqqu on the boundary-free DWT",
        )
        .reference("Moulines, Roueff & Taqqu (2008), Ann. Statist. 36(4), 1925–1956");
        wavelet_params(b).build()
    }

    fn estimate(&self, x: &[f64], params: &Params) -> Result<Estimate, PluginError> {
        let (order, j_min, j_max) = octaves(params);
        let cfg = wavelet_whittle::Config {
            order,
            j_min,
            j_max,
            correction: correction(params),
        };
        let kernel = move |s: &[f64]| wavelet_whittle::wavelet_whittle(s, &cfg);
        static DEFAULTS: OnceLock<Params> = OnceLock::new();
        let calibration =
            Calibrated::check(&calibration::WAVELET_WHITTLE, params, &DEFAULTS, || {
                self.describe()
            });
        finish(x, kernel(x)?, params, calibration, &kernel)
    }
}
