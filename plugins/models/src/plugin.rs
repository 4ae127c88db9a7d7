//! The ABI glue: one [`Model`] per generator, with its parameter schema and declared truth.
//! Every model shares the process-wide plan cache.

use std::sync::OnceLock;

use lrdbench_plugin_api::prelude::*;

use crate::cache::Plans;
use crate::kernel::{self, ArfimaConfig, FgnConfig, FouConfig, MrwConfig, MrwOutput};

/// The plan cache shared by the models of this plugin.
fn plans() -> &'static Plans {
    static PLANS: OnceLock<Plans> = OnceLock::new();
    PLANS.get_or_init(Plans::new)
}

fn hurst_param() -> lrdbench_plugin_api::ParamSpec {
    param::float("H", 0.7, "Hurst exponent, in (0, 1) exclusive")
        .bounds(0.0, 1.0)
        .build()
}

fn sigma_param() -> lrdbench_plugin_api::ParamSpec {
    param::float("sigma", 1.0, "standard deviation of each point")
        .min(0.0)
        .build()
}

/// Fractional Gaussian noise.
pub struct Fgn;

impl Model for Fgn {
    fn describe(&self) -> ComponentDescriptor {
        component(ComponentKind::Model, "fgn", Family::Other, "H")
            .description("exact fractional Gaussian noise (Davies-Harte circulant embedding)")
            .reference("Davies and Harte (1987), Biometrika 74, 95-101")
            .param(hurst_param())
            .param(sigma_param())
            .build()
    }
    fn generate(&self, n: usize, seed: u64, p: &Params) -> Result<Generated, PluginError> {
        let cfg = FgnConfig {
            h: p.float("H"),
            sigma: p.float("sigma"),
        };
        let x = kernel::fgn(&cfg, n, seed, plans())?;
        Ok(Generated::new(x).with_truth("H", cfg.h))
    }
}

/// Fractional Brownian motion.
pub struct Fbm;

impl Model for Fbm {
    fn describe(&self) -> ComponentDescriptor {
        component(ComponentKind::Model, "fbm", Family::Other, "H")
            .description("exact fractional Brownian motion from 0 (cumulative fGn)")
            .reference("Mandelbrot and Van Ness (1968), SIAM Review 10, 422-437")
            .param(hurst_param())
            .param(sigma_param())
            .build()
    }
    fn generate(&self, n: usize, seed: u64, p: &Params) -> Result<Generated, PluginError> {
        let cfg = FgnConfig {
            h: p.float("H"),
            sigma: p.float("sigma"),
        };
        let x = kernel::fbm(&cfg, n, seed, plans())?;
        Ok(Generated::new(x).with_truth("H", cfg.h))
    }
}

/// ARFIMA(p, d, q).
pub struct Arfima;

impl Model for Arfima {
    fn describe(&self) -> ComponentDescriptor {
        component(ComponentKind::Model, "arfima", Family::Other, "d")
            .description("ARFIMA(p,d,q): exact (0,d,0) by circulant embedding, AR/MA as filters")
            .reference("Hosking (1981), Biometrika 68, 165-176; Granger and Joyeux (1980)")
            .param(
                param::float(
                    "d",
                    0.2,
                    "fractional differencing, in (-0.5, 0.5) exclusive",
                )
                .bounds(-0.5, 0.5)
                .build(),
            )
            .param(
                param::list(
                    "ar",
                    &[],
                    "AR coefficients phi_1..phi_p (stationary): X_t = phi_1 X_(t-1) + ... + e_t; \
                     same sign as R's arima and fracdiff",
                )
                .build(),
            )
            .param(
                param::list(
                    "ma",
                    &[],
                    "MA coefficients theta_1..theta_q with a plus sign: X_t = e_t + theta_1 e_(t-1) \
                     + ...; as R's arima, the opposite of fracdiff's ma (fracdiff ma = -theta)",
                )
                .build(),
            )
            .param(
                param::float("sigma2", 1.0, "innovation variance")
                    .min(0.0)
                    .build(),
            )
            .build()
    }
    fn generate(&self, n: usize, seed: u64, p: &Params) -> Result<Generated, PluginError> {
        let cfg = ArfimaConfig {
            d: p.float("d"),
            ar: p.list("ar").to_vec(),
            ma: p.list("ma").to_vec(),
            sigma2: p.float("sigma2"),
        };
        let x = kernel::arfima(&cfg, n, seed, plans())?;
        Ok(Generated::new(x)
            .with_truth("H", cfg.d + 0.5)
            .with_truth("d", cfg.d))
    }
}

/// Multifractal random walk.
pub struct Mrw;

impl Model for Mrw {
    fn describe(&self) -> ComponentDescriptor {
        component(ComponentKind::Model, "mrw", Family::Other, "H")
            .description("multifractal random walk (Bacry-Muzy), zeta(q) = (H + l2) q - l2 q^2 / 2")
            .reference("Bacry, Delour and Muzy (2001), Phys. Rev. E 64, 026103")
            .param(
                param::float(
                    "H",
                    0.5,
                    "Hurst exponent, in (0, 1) exclusive; 0.5 is the exact MRW",
                )
                .bounds(0.0, 1.0)
                .build(),
            )
            .param(
                param::float("lambda2", 0.02, "intermittency lambda^2")
                    .bounds(0.0, 1.0)
                    .build(),
            )
            .param(
                param::float("integral_scale", 1024.0, "integral scale L, in samples")
                    .min(1.0)
                    .build(),
            )
            .param(
                param::float("sigma", 1.0, "standard deviation of the increments")
                    .min(0.0)
                    .build(),
            )
            .param(
                param::choice(
                    "output",
                    "increments",
                    &["increments", "walk"],
                    "series returned",
                )
                .build(),
            )
            .build()
    }
    fn generate(&self, n: usize, seed: u64, p: &Params) -> Result<Generated, PluginError> {
        let cfg = MrwConfig {
            h: p.float("H"),
            lambda2: p.float("lambda2"),
            integral_scale: p.float("integral_scale"),
            sigma: p.float("sigma"),
            output: if p.str("output") == "walk" {
                MrwOutput::Walk
            } else {
                MrwOutput::Increments
            },
        };
        let x = kernel::mrw(&cfg, n, seed, plans())?;
        Ok(Generated::new(x)
            .with_truth("H", cfg.h)
            .with_truth("lambda2", cfg.lambda2)
            .with_truth("c1", cfg.h + cfg.lambda2)
            .with_truth("c2", -cfg.lambda2))
    }
}

/// Fractional Ornstein–Uhlenbeck.
pub struct Fou;

impl Model for Fou {
    fn describe(&self) -> ComponentDescriptor {
        component(ComponentKind::Model, "fou", Family::Other, "H")
            .description("fractional Ornstein-Uhlenbeck dX = -theta X dt + sigma dB_H")
            .reference("Cheridito, Kawaguchi and Maejima (2003), Electron. J. Probab. 8")
            .param(hurst_param())
            .param(
                param::float("theta", 0.1, "mean-reversion rate")
                    .min(0.0)
                    .build(),
            )
            .param(param::float("sigma", 1.0, "volatility").min(0.0).build())
            .param(param::float("dt", 1.0, "time step").min(0.0).build())
            .build()
    }
    fn generate(&self, n: usize, seed: u64, p: &Params) -> Result<Generated, PluginError> {
        let cfg = FouConfig {
            h: p.float("H"),
            theta: p.float("theta"),
            sigma: p.float("sigma"),
            dt: p.float("dt"),
        };
        let x = kernel::fou(&cfg, n, seed, plans())?;
        Ok(Generated::new(x)
            .with_truth("H", cfg.h)
            .with_truth("theta", cfg.theta))
    }
}

/// Gaussian white noise (H = ½, no memory).
pub struct WhiteNoise;

impl Model for WhiteNoise {
    fn describe(&self) -> ComponentDescriptor {
        component(ComponentKind::Model, "white_noise", Family::Other, "H")
            .description("independent Gaussian noise: the null of no memory (H = 0.5)")
            .reference("none")
            .param(sigma_param())
            .build()
    }
    fn generate(&self, n: usize, seed: u64, p: &Params) -> Result<Generated, PluginError> {
        let x = kernel::white_noise(p.float("sigma"), n, seed)?;
        Ok(Generated::new(x).with_truth("H", 0.5).with_truth("d", 0.0))
    }
}

/// Stationary AR(1) (short memory, H = ½).
pub struct Ar1;

impl Model for Ar1 {
    fn describe(&self) -> ComponentDescriptor {
        component(ComponentKind::Model, "ar1", Family::Other, "H")
            .description("stationary AR(1): short memory that can look like long memory (H = 0.5)")
            .reference("Box and Jenkins (1970), Time Series Analysis")
            .param(
                param::float(
                    "phi",
                    0.5,
                    "autoregressive coefficient, in (-1, 1) exclusive",
                )
                .bounds(-1.0, 1.0)
                .build(),
            )
            .param(
                param::float("sigma", 1.0, "innovation standard deviation")
                    .min(0.0)
                    .build(),
            )
            .build()
    }
    fn generate(&self, n: usize, seed: u64, p: &Params) -> Result<Generated, PluginError> {
        let phi = p.float("phi");
        let x = kernel::ar1(phi, p.float("sigma"), n, seed)?;
        Ok(Generated::new(x)
            .with_truth("H", 0.5)
            .with_truth("d", 0.0)
            .with_truth("phi", phi))
    }
}
