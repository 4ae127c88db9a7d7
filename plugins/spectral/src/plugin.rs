//! ABI glue: the `Estimator` implementations that read parameters, call the kernels and build
//! the returned `Estimate` with its uncertainty.

use lrdbench_numerics::fgn::DaviesHarte;
use lrdbench_numerics::optimize::normal_quantile;
use lrdbench_plugin_api::prelude::*;

use crate::kernel::{gph, local_whittle, periodogram, whittle, Bandwidth, SpectralEstimate};

/// Parameters every estimator of this plugin shares (names shared across lrdbench).
fn common_params(
    builder: lrdbench_plugin_api::sdk::ComponentBuilder,
) -> lrdbench_plugin_api::sdk::ComponentBuilder {
    builder
        .param(
            param::choice(
                "ci",
                "asymptotic",
                &["asymptotic", "bootstrap"],
                "confidence interval: asymptotic theory, or a parametric fGn bootstrap",
            )
            .build(),
        )
        .param(
            param::int("replicates", 200, "bootstrap replicates (ci = bootstrap)")
                .bounds(20.0, 100_000.0)
                .build(),
        )
        .param(
            param::int("seed", 0, "seed of the bootstrap replicates")
                .min(0.0)
                .build(),
        )
        .param(
            param::float("level", 0.95, "confidence level of the interval")
                .bounds(0.5, 0.999)
                .build(),
        )
}

fn bandwidth_params(
    builder: lrdbench_plugin_api::sdk::ComponentBuilder,
    exponent: f64,
) -> lrdbench_plugin_api::sdk::ComponentBuilder {
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

/// Turns a kernel result into an `Estimate`: asymptotic or parametric-bootstrap interval,
/// fit, r², warnings and the bandwidth as a diagnostic.
fn finish(
    x: &[f64],
    est: SpectralEstimate,
    params: &Params,
    kernel: &dyn Fn(&[f64]) -> Result<SpectralEstimate, PluginError>,
) -> Result<Estimate, PluginError> {
    let level = params.float("level");
    let z = normal_quantile(0.5 + 0.5 * level)?;
    let (stderr, low, high, extra) = match params.str("ci") {
        "bootstrap" => {
            let (se, lo, hi, failed) = parametric_bootstrap(
                est.h,
                x.len(),
                params.usize("replicates"),
                params.int("seed") as u64,
                level,
                kernel,
            )?;
            let note = (failed > 0)
                .then(|| format!("{failed} bootstrap replicates failed and were left out"));
            (se, lo, hi, note)
        }
        _ => (
            est.stderr,
            est.h - z * est.stderr,
            est.h + z * est.stderr,
            None,
        ),
    };
    let mut out = Estimate::new(est.h, "H")
        .with_stderr(stderr)
        .with_ci(low, high, level)
        .with_diagnostic("bandwidth", vec![est.bandwidth as f64]);
    if let Some(r2) = est.r_squared {
        out = out.with_r_squared(r2);
    }
    if let Some(fit) = est.fit {
        out = out.with_fit(fit.x_label, fit.y_label, fit.x, fit.y, fit.fitted);
    }
    for w in est.warnings.into_iter().chain(extra) {
        out = out.with_warning(w);
    }
    Ok(out)
}

/// Parametric bootstrap: `replicates` exact fGn series of length n at H = Ĥ (clamped into
/// [0.01, 0.99]), each re-estimated; returns the standard deviation of the replicates and the
/// basic interval [2Ĥ − q_{1−α/2}, 2Ĥ − q_{α/2}], which removes the estimator's bias at Ĥ.
fn parametric_bootstrap(
    h: f64,
    n: usize,
    replicates: usize,
    seed: u64,
    level: f64,
    kernel: &dyn Fn(&[f64]) -> Result<SpectralEstimate, PluginError>,
) -> Result<(f64, f64, f64, usize), PluginError> {
    let model = DaviesHarte::new(h.clamp(0.01, 0.99), n)?;
    let mut hs = Vec::with_capacity(replicates);
    let mut failed = 0;
    let mut series = vec![0.0; n];
    for r in 0..replicates as u64 {
        model.sample_into(
            seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(r),
            &mut series,
        )?;
        match kernel(&series) {
            Ok(e) if e.h.is_finite() => hs.push(e.h),
            _ => failed += 1,
        }
    }
    if hs.len() < replicates / 2 || hs.len() < 10 {
        return Err(PluginError::numerical(format!(
            "bootstrap: only {} of {replicates} replicates gave an estimate",
            hs.len()
        )));
    }
    hs.sort_by(f64::total_cmp);
    let k = hs.len() as f64;
    let mean = hs.iter().sum::<f64>() / k;
    let sd = (hs.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (k - 1.0)).sqrt();
    let q = |p: f64| {
        // Linear interpolation between order statistics (Hyndman & Fan type 7).
        let pos = p * (k - 1.0);
        let i = pos.floor() as usize;
        let frac = pos - i as f64;
        let hi = hs[(i + 1).min(hs.len() - 1)];
        hs[i] + frac * (hi - hs[i])
    };
    let alpha = 1.0 - level;
    Ok((
        sd,
        2.0 * h - q(1.0 - alpha / 2.0),
        2.0 * h - q(alpha / 2.0),
        failed,
    ))
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
        finish(x, kernel(x)?, params, &kernel)
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
        finish(x, kernel(x)?, params, &kernel)
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
        finish(x, kernel(x)?, params, &kernel)
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
        finish(x, kernel(x)?, params, &kernel)
    }
}
