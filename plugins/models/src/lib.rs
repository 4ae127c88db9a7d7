//! The standard data models of lrdbench: series of known truth, exact where exact methods exist,
//! reproducible bit for bit from a seed.
//!
//! Models (names as users type them): `fgn` and `fbm` (exact, Davies–Harte), `arfima`
//! (ARFIMA(p, d, q), exact (0, d, 0) by circulant embedding, AR/MA as filters), `mrw`
//! (Bacry–Muzy multifractal random walk), `fou` (fractional Ornstein–Uhlenbeck), and the
//! short-memory nulls `white_noise` and `ar1`. Each declares its true parameters (H always; d,
//! λ², φ, θ where they apply) in [`Generated`](lrdbench_plugin_api::Generated)'s truth.
//!
//! Randomness comes only from the seed, through the portable ChaCha8 stream of
//! [`lrdbench_numerics::rng`]. Circulant-embedding plans are cached per (model, parameters,
//! length), so replicates cost one FFT each.
//!
//! # Example
//!
//! ```
//! use lrdbench_plugin_models::cache::Plans;
//! use lrdbench_plugin_models::kernel::{fgn, FgnConfig};
//!
//! let plans = Plans::new();
//! let x = fgn(&FgnConfig { h: 0.7, sigma: 1.0 }, 1024, 42, &plans).unwrap();
//! assert_eq!(x.len(), 1024);
//! assert_eq!(x, fgn(&FgnConfig { h: 0.7, sigma: 1.0 }, 1024, 42, &plans).unwrap());
//! ```
#![deny(missing_docs)]
// Crate internals are `pub(crate)`: `pub` means part of the documented surface.
#![warn(unreachable_pub)]

pub mod cache;
pub mod kernel;
mod memory;
pub mod plugin;

use plugin::{Ar1, Arfima, Fbm, Fgn, Fou, Mrw, WhiteNoise};

lrdbench_plugin_api::export_plugin! {
    name: "models",
    version: env!("CARGO_PKG_VERSION"),
    estimators: [],
    models: [Fgn, Fbm, Arfima, Mrw, Fou, WhiteNoise, Ar1],
}

#[cfg(test)]
mod tests;
