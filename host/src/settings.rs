//! Settings every command shares, resolved once from the command line and the environment.

use std::path::PathBuf;

use crate::plugin::PluginSources;

/// How talkative the host is on standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// Errors only (`-q`).
    Quiet,
    /// Errors, warnings and progress.
    Normal,
    /// Also diagnostics such as abi_stable's full load reports (`-v`).
    Verbose,
}

/// Resolved global settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The store directory: `--store`, else `LRDBENCH_HOME`, else `~/.lrdbench`.
    pub store_dir: PathBuf,
    /// Where plugins come from.
    pub plugins: PluginSources,
    /// Output level.
    pub verbosity: Verbosity,
}

/// The default store directory, `~/.lrdbench` (or `./.lrdbench` when there is no home).
pub fn default_store_dir() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
        .join(".lrdbench")
}

/// The directories of `LRDBENCH_PLUGIN_PATH` (separated like `PATH`).
pub fn plugin_path_from_env() -> Vec<PathBuf> {
    std::env::var_os("LRDBENCH_PLUGIN_PATH")
        .map(|v| std::env::split_paths(&v).collect())
        .unwrap_or_default()
}

/// The directory of the running executable, where `cargo build` puts the standard plugins.
pub fn executable_dir() -> Option<PathBuf> {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(PathBuf::from))
}
