//! The standard multifractal plugin of lrdbench: multifractal detrended fluctuation analysis
//! (`mfdfa`), reporting H = h(2) with the whole h(q) spectrum in the diagnostics.
//!
//! # Example
//!
//! ```
//! use lrdbench_numerics::fluctuation::{Order, Segments};
//! use lrdbench_plugin_multifractal::kernel::mfdfa::{mfdfa, MfdfaConfig};
//! let x = lrdbench_numerics::fgn::fgn(0.5, 2048, 3).unwrap();
//! let cfg = MfdfaConfig { q: vec![1.0, 2.0, 3.0], order: Order::new(1).unwrap(), min_scale: 16,
//!                         max_scale: None, ratio: 1.25, segments: Segments::Forward,
//!                         fit: lrdbench_numerics::scaling::FitWeights::BoxCount, level: 0.95 };
//! assert_eq!(mfdfa(&x, &cfg).unwrap().h().len(), 3);
//! ```
#![deny(missing_docs)]
// Crate internals are `pub(crate)`: `pub` means part of the documented surface.
#![warn(unreachable_pub)]

mod calibration;
pub mod kernel;
mod misfit;
pub mod plugin;

lrdbench_plugin_api::export_plugin! {
    name: "multifractal",
    version: env!("CARGO_PKG_VERSION"),
    estimators: [plugin::Mfdfa],
    models: [],
}
