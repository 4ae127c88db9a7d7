//! The standard wavelet plugin of lrdbench: `wavelet_av` (Abry–Veitch log-scale diagram) and
//! `wavelet_whittle` (Moulines–Roueff–Taqqu), on a Daubechies DWT that uses only coefficients
//! untouched by the series' ends, so low H is not biased upwards.
//!
//! The kernels in [`kernel`] are pure functions over `&[f64]`, callable directly; [`plugin`]
//! wraps them for the host.
//!
//! # Example
//!
//! ```
//! use lrdbench_plugin_wavelet::kernel::wavelet_av::{wavelet_av, Config};
//! let x = lrdbench_numerics::fgn::fgn(0.7, 4096, 2).unwrap();
//! let est = wavelet_av(&x, &Config::new(3)).unwrap();
//! assert!((est.h - 0.7).abs() < 4.0 * est.stderr);
//! ```
#![deny(missing_docs)]
// Crate internals are `pub(crate)`: `pub` means part of the documented surface.
#![warn(unreachable_pub)]

mod calibration;
pub mod kernel;
mod misfit;
pub mod plugin;

lrdbench_plugin_api::export_plugin! {
    name: "wavelet",
    version: env!("CARGO_PKG_VERSION"),
    estimators: [plugin::WaveletAv, plugin::WaveletWhittle],
    models: [],
}
