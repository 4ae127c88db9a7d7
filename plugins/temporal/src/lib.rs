//! The standard temporal plugin of lrdbench: rescaled range (`rs`), detrended fluctuation
//! analysis (`dfa`), detrending moving average (`dma`), aggregated variance (`aggvar`),
//! absolute moments (`absmom`) and variance of residuals (`varres`).
//!
//! The kernels in [`kernel`] are pure functions over `&[f64]`; [`plugin`] is the ABI glue.
//!
//! # Example
//!
//! ```
//! use lrdbench_numerics::fluctuation::{Order, Segments};
//! use lrdbench_plugin_temporal::kernel::dfa::{dfa, DfaConfig};
//! let x = lrdbench_numerics::fgn::fgn(0.5, 2048, 7).unwrap();
//! let cfg = DfaConfig { order: Order::new(1).unwrap(), min_scale: 16, max_scale: None,
//!                       ratio: 1.25, segments: Segments::Forward,
//!                       fit: lrdbench_numerics::scaling::FitWeights::BoxCount, level: 0.95 };
//! let fit = dfa(&x, &cfg).unwrap();
//! assert!(fit.ci_low < fit.h && fit.h < fit.ci_high);
//! ```
#![deny(missing_docs)]
// Crate internals are `pub(crate)`: `pub` means part of the documented surface.
#![warn(unreachable_pub)]

mod calibration;
pub mod kernel;
mod misfit;
pub mod plugin;

lrdbench_plugin_api::export_plugin! {
    name: "temporal",
    version: env!("CARGO_PKG_VERSION"),
    estimators: [plugin::Rs, plugin::Dfa, plugin::Dma, plugin::Aggvar, plugin::Absmom, plugin::Varres],
    models: [],
}
