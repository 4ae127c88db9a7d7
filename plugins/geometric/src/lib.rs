//! The standard geometric plugin of lrdbench: Higuchi's fractal dimension (`higuchi`) and the
//! generalised Hurst exponent (`ghe`), both with an explicit input representation.
//!
//! # Example
//!
//! ```
//! use lrdbench_plugin_geometric::kernel::{higuchi::{higuchi, HiguchiConfig}, Demeaning, Input};
//! let x = lrdbench_numerics::fgn::fgn(0.5, 2048, 3).unwrap();
//! let cfg = HiguchiConfig { input: Input::Increments, k_max: None,
//!                           correction: Demeaning::Fgn, level: 0.95 };
//! let fit = higuchi(&x, &cfg).unwrap();
//! assert!(fit.ci_low < fit.ci_high);
//! ```
#![deny(missing_docs)]
// Crate internals are `pub(crate)`: `pub` means part of the documented surface.
#![warn(unreachable_pub)]

mod calibration;
pub mod kernel;
mod misfit;
pub mod plugin;

lrdbench_plugin_api::export_plugin! {
    name: "geometric",
    version: env!("CARGO_PKG_VERSION"),
    estimators: [plugin::Higuchi, plugin::Ghe],
    models: [],
}
