//! The lrdbench host as a library: plugin loading, workflows, analytics and reports. The `lrdbench-host` binary is a thin command-line shell over this crate; this crate
//! never sees the command line (no clap here), so a Rust program can embed all of it.
//!
//! # Example: list the estimators of the plugins next to the executable
//!
//! ```no_run
//! use lrdbench_host::plugin::{Catalog, PluginSources};
//! use lrdbench_plugin_api::ComponentKind;
//!
//! let sources = PluginSources { dirs: vec!["target/release".into()], files: vec![] };
//! let (catalog, errors) = Catalog::load(&sources);
//! for e in &errors {
//!     eprintln!("warning: {e}");
//! }
//! println!("{:?}", catalog.names(ComponentKind::Estimator));
//! ```
#![deny(missing_docs)]
// Crate internals are `pub(crate)`: `pub` means part of the documented surface.
#![warn(unreachable_pub)]

mod call_error;
pub mod compare;
pub mod contamination;
pub mod data;
pub mod estimate;
pub mod fsutil;
pub mod interrupt;
pub mod invoke;
pub mod isolate;
pub mod plugin;
pub mod scaffold;
pub mod serve;
pub mod settings;
pub mod trust;
pub mod workflow;
