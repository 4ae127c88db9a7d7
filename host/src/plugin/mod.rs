//! Plugin loading and the catalog of loaded components.
//!
//! Loading goes through `loader`, which reads each library once, fingerprints those bytes with
//! SHA-256 and loads exactly them, checked against the interface with abi_stable; `policy`
//! decides from path and hash, before any code of the library runs, whether it is loaded here,
//! described by a worker process and isolated, or refused. [`Catalog`] indexes every component by name and
//! is the only way the rest of the host reaches a plugin.

mod catalog;
mod loader;
mod manifest;
mod policy;

pub use catalog::{Catalog, ComponentHandle, LookupError};
pub use loader::{
    discover, hex, is_plugin_file_name, load_bytes, load_plugin, load_verified, read_library,
    sha256_file, LibraryBytes, LoadError, LoadedPlugin, PluginSources, MAX_LIBRARY_BYTES,
};
pub use manifest::{is_manifest, manifests_in, read_manifest, ProcessLaunch, MANIFEST_NAME};
pub use policy::{Describer, LoadPolicy, Placement};
