//! Plugin loading and the catalog of loaded components.
//!
//! Loading goes through `loader`, which checks each library against the interface with
//! abi_stable and fingerprints it with SHA-256. [`Catalog`] indexes every component by name and
//! is the only way the rest of the host reaches a plugin.

mod catalog;
mod loader;

pub use catalog::{Catalog, ComponentHandle, LookupError};
pub use loader::{
    discover, hex, is_plugin_file_name, load_plugin, sha256_file, LoadError, LoadedPlugin,
    PluginSources,
};
