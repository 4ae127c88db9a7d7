//! The standard spectral plugin of lrdbench: `periodogram`, `gph`, `local_whittle` and
//! `whittle`, each returning H with a standard error and a confidence interval, and
//! `arfima_whittle`, returning d (= H − ½) of an ARFIMA(p, d, q) fit.
//!
//! The kernels in [`kernel`] are pure functions over `&[f64]`, callable directly; [`plugin`]
//! wraps them for the host.
//!
//! # Example
//!
//! ```
//! use lrdbench_plugin_spectral::kernel::whittle;
//! let x = lrdbench_numerics::fgn::fgn(0.7, 2048, 5).unwrap();
//! let est = whittle::whittle(&x, &whittle::Config { tolerance: 1e-7 }).unwrap();
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
    name: "spectral",
    version: env!("CARGO_PKG_VERSION"),
    estimators: [
        plugin::Periodogram,
        plugin::Gph,
        plugin::LocalWhittle,
        plugin::Whittle,
        plugin::ArfimaWhittle
    ],
    models: [],
}
