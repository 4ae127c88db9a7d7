//! The stable plugin interface of lrdbench, and the SDK plugin authors write against.
//!
//! A plugin is a dynamic library (`crate-type = ["cdylib", "rlib"]`) that exports one root
//! module, [`abi::PluginModule`], through [abi_stable]. The module describes the plugin's
//! components (estimators and data models, each with a parameter schema) and runs them. The
//! host loads it with `lib_header_from_path(path)?.init_root_module::<PluginModuleRef>()`, which
//! checks the interface version and the layout of every type before the first call.
//!
//! Plugin authors never write `extern "C"`: they implement [`Estimator`] (or [`Model`]) and
//! invoke [`export_plugin!`] once. The SDK fills the descriptors, checks parameters against the
//! schema, and runs every entry point under `catch_unwind`, so a panic becomes an `internal`
//! error instead of aborting the host.
//!
//! # Example: a complete estimator plugin
//!
//! ```
//! use lrdbench_plugin_api::prelude::*;
//!
//! /// Estimates H from the lag-1 autocorrelation of fGn: rho(1) = 2^(2H-1) - 1.
//! struct Lag1;
//!
//! impl Estimator for Lag1 {
//!     fn describe(&self) -> ComponentDescriptor {
//!         estimator("lag1", Family::Temporal, "H")
//!             .description("H from the lag-1 autocorrelation of fGn")
//!             .reference("Beran (1994), Statistics for Long-Memory Processes, eq. 2.14")
//!             .param(param::float("clip", 0.99, "largest |rho| used").bounds(0.0, 1.0))
//!             .build()
//!     }
//!
//!     fn estimate(&self, x: &[f64], params: &Params) -> Result<Estimate, PluginError> {
//!         if x.len() < 3 {
//!             return Err(PluginError::insufficient_data("need at least 3 points"));
//!         }
//!         let n = x.len() as f64;
//!         let mean = x.iter().sum::<f64>() / n;
//!         let var: f64 = x.iter().map(|v| (v - mean).powi(2)).sum();
//!         if var == 0.0 {
//!             return Err(PluginError::invalid_input("constant series"));
//!         }
//!         let cov: f64 = x.windows(2).map(|w| (w[0] - mean) * (w[1] - mean)).sum();
//!         let clip = params.float("clip");
//!         let rho = (cov / var).clamp(-clip, clip);
//!         Ok(Estimate::new(0.5 * (1.0 + (1.0 + rho).log2()), "H"))
//!     }
//! }
//!
//! lrdbench_plugin_api::export_plugin! {
//!     name: "lag1",
//!     version: "0.1.0",
//!     estimators: [Lag1],
//! }
//!
//! # fn main() {
//! // The same entry point the host calls through the ABI:
//! let x: Vec<f64> = (0..1000).map(|i| ((i * 7919) % 1009) as f64).collect();
//! let out = lrdbench_registry().estimate(0, x.as_slice().into(), (&[][..]).into());
//! assert!(out.is_ok());
//! # }
//! ```
#![deny(missing_docs)]
// Crate internals are `pub(crate)`: `pub` means part of the documented surface.
#![warn(unreachable_pub)]

pub mod abi;
mod names;
pub mod params;
pub mod sdk;

pub use abi::{
    CiMethod, ComponentDescriptor, ComponentKind, ErrorKind, Estimate, Family, Generated, Interval,
    NamedValues, Param, ParamKind, ParamSpec, ParamValue, PluginDescriptor, PluginError,
    PluginModule, PluginModuleRef, ScalingFit, TrueValue, API_VERSION,
};
pub use params::ParamError;
pub use sdk::{component, estimator, model, param, Choice, Estimator, Model, Params};

/// Re-exported so that [`export_plugin!`] expands without the plugin naming abi_stable.
pub use abi_stable;

/// Everything a plugin file needs: `use lrdbench_plugin_api::prelude::*;`.
pub mod prelude {
    pub use crate::abi::{
        CiMethod, ComponentDescriptor, ComponentKind, ErrorKind, Estimate, Family, Generated,
        ParamKind, PluginError,
    };
    pub use crate::sdk::{component, estimator, model, param, Choice, Estimator, Model, Params};
}
