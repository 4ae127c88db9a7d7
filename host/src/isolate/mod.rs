//! Process isolation of plugin calls: crashing, hanging and memory-hungry plugins cannot take
//! the host down.
//!
//! A segfault, an abort or an endless loop inside an in-process plugin ends the host, and
//! nothing in-process can stop it; so in isolated mode the calls of a plugin run in persistent
//! worker processes — the host binary re-executed as `lrdbench-host __worker LIBRARY` — that
//! the [`Supervisor`] spawns lazily, one pool per plugin library, and reuses across calls.
//! Requests and results cross the worker's standard input and output as length-prefixed binary
//! frames (`protocol`): a series travels as raw little-endian `f64` bytes.
//!
//! Each call has an optional timeout (the worker is killed: `timeout`) and each worker an
//! optional memory limit (`RLIMIT_AS`; an allocation failure ends as `out_of_memory`). A worker
//! that dies by a signal yields `crash` with the signal's name; it is restarted on the next call
//! after an exponential back-off. An estimator whose calls keep crashing or timing out is
//! quarantined: its remaining calls fail at once with kind `crash` and one clear message.
//!
//! # Example
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//! use lrdbench_host::invoke::Invoker;
//! use lrdbench_host::isolate::{IsolationConfig, Supervisor};
//!
//! # fn main() -> std::io::Result<()> {
//! let mut config = IsolationConfig::with_current_exe()?;
//! config.timeout = Some(Duration::from_secs(2));
//! config.memory_limit = Some(2 << 30);
//! let invoker = Invoker::unrecorded().with_isolation(Arc::new(Supervisor::new(config)));
//! # let _ = invoker;
//! # Ok(())
//! # }
//! ```

mod child;
mod classify;
mod describe;
mod health;
mod pool;
mod process;
pub(crate) mod protocol;
mod stderr_tail;
mod supervisor;
pub mod worker;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

pub use describe::describe_in_worker;
pub use process::describe_process;
pub use protocol::{decode_descriptor, encode_descriptor, WorkerUsage};
pub use supervisor::{Isolated, QuarantineNotice, Supervisor};

pub use crate::trust::{
    store_settings, untrusted_plugins, ConfigError, PluginList, StoreIsolationSettings,
};

use crate::plugin::LoadedPlugin;

/// How isolated calls run. Build one with [`IsolationConfig::new`] (or
/// [`IsolationConfig::with_current_exe`]) and adjust its fields.
#[derive(Debug, Clone)]
pub struct IsolationConfig {
    /// The `lrdbench-host` binary to run as a worker (`PROGRAM __worker LIBRARY`).
    pub program: PathBuf,
    /// Per-call time limit; `None` waits for ever.
    pub timeout: Option<Duration>,
    /// Per-worker address-space limit in bytes; `None` for no limit. It covers the worker's
    /// code and the series too: leave a few hundred MiB above what a call needs.
    pub memory_limit: Option<u64>,
    /// Crashes or timeouts in a row after which an estimator is quarantined; 0 never
    /// quarantines.
    pub max_consecutive_crashes: u32,
    /// Wait before the first restart after a worker died; doubled on each further death in a
    /// row of the same plugin.
    pub backoff_initial: Duration,
    /// The longest wait before a restart.
    pub backoff_max: Duration,
    /// Which plugins run isolated.
    pub scope: IsolationScope,
}

impl IsolationConfig {
    /// Isolates every plugin with `program` as the worker: no timeout, no memory limit,
    /// quarantine after 3 crashes in a row, back-off from 10 ms doubling up to 2 s.
    pub fn new(program: PathBuf) -> Self {
        IsolationConfig {
            program,
            timeout: None,
            memory_limit: None,
            max_consecutive_crashes: 3,
            backoff_initial: Duration::from_millis(10),
            backoff_max: Duration::from_secs(2),
            scope: IsolationScope::All,
        }
    }

    /// [`IsolationConfig::new`] with the running executable as the worker: right for the
    /// `lrdbench-host` binary itself.
    ///
    /// # Errors
    ///
    /// When the path of the running executable cannot be found.
    pub fn with_current_exe() -> std::io::Result<Self> {
        Ok(Self::new(std::env::current_exe()?))
    }
}

/// Which plugins the supervisor isolates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IsolationScope {
    /// Every plugin (`--isolate`, `isolation = "process"`).
    All,
    /// Only the plugins matched by the list (the untrusted plugins of `config.toml`); the
    /// others run in-process.
    Only(PluginList),
}

impl IsolationScope {
    /// Whether calls of `plugin` go to a worker.
    pub fn isolates(&self, plugin: &LoadedPlugin) -> bool {
        // A plugin known only through a worker's description has no code in this process.
        if !plugin.in_process() {
            return true;
        }
        match self {
            IsolationScope::All => true,
            IsolationScope::Only(list) => list.matches(plugin),
        }
    }
}

impl PluginList {
    /// Whether `plugin` is on the list.
    pub fn matches(&self, plugin: &LoadedPlugin) -> bool {
        let file_name = plugin.path.file_name().and_then(|n| n.to_str());
        self.0.iter().any(|entry| {
            let entry = entry.trim();
            match entry.strip_prefix("sha256:") {
                Some(hash) => hash.eq_ignore_ascii_case(&plugin.sha256),
                None => {
                    entry == plugin.descriptor.name.as_str()
                        || Some(entry) == file_name
                        || Path::new(entry) == plugin.path
                }
            }
        })
    }
}

/// Longest per-call time limit, seconds (about 11.6 days).
pub const MAX_TIMEOUT_SECS: f64 = 1_000_000.0;

/// Checks a per-call timeout in seconds.
///
/// # Errors
///
/// A message giving the valid range.
pub fn check_timeout(t: f64) -> Result<Duration, String> {
    if t.is_finite() && t > 0.0 && t <= MAX_TIMEOUT_SECS {
        Ok(Duration::from_secs_f64(t))
    } else {
        Err(format!(
            "timeout must be a number of seconds above 0 and at most {MAX_TIMEOUT_SECS}, got {t}"
        ))
    }
}

/// What a command was asked for, to build its supervisor with [`supervisor_for`].
#[derive(Debug, Clone, PartialEq)]
pub struct IsolationRequest {
    /// Isolate every plugin (`--isolate`, or `isolation = "process"` in a workflow).
    pub all: bool,
    /// Per-call time limit in seconds (`--timeout`, or `timeout` in a workflow).
    pub timeout_secs: Option<f64>,
    /// Per-worker memory limit in bytes.
    pub memory_limit: Option<u64>,
    /// Plugins to isolate besides those `config.toml` marks untrusted (e.g. plugins missing
    /// from the allow-list), in [`PluginList`] syntax.
    pub also_untrusted: Vec<String>,
}

/// Why isolation could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A timeout outside its range.
    #[error("{0}")]
    Timeout(String),
    /// The running executable, needed as the worker, could not be found.
    #[error("cannot find the running executable to start workers: {0}")]
    Exe(std::io::Error),
    /// `config.toml` could not be read.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// The supervisor a command needs, or `None` when every call stays in-process: with
/// `request.all` every plugin is isolated; otherwise only the untrusted plugins listed in
/// `<store_dir>/config.toml`, if any. The running executable (the `lrdbench-host` binary) is the
/// worker program.
///
/// # Errors
///
/// A timeout that is not positive and finite, an unreadable `config.toml`, or an executable
/// path that cannot be found.
pub fn supervisor_for(
    store_dir: &Path,
    request: &IsolationRequest,
) -> Result<Option<std::sync::Arc<Supervisor>>, SetupError> {
    let timeout = match request.timeout_secs {
        Some(t) => Some(check_timeout(t).map_err(SetupError::Timeout)?),
        None => None,
    };
    let mut stored = store_settings(store_dir)?;
    stored
        .untrusted
        .0
        .extend(request.also_untrusted.iter().cloned());
    let scope = if request.all {
        IsolationScope::All
    } else {
        if stored.untrusted.is_empty() {
            return Ok(None);
        }
        IsolationScope::Only(stored.untrusted)
    };
    let mut config = IsolationConfig::with_current_exe().map_err(SetupError::Exe)?;
    config.timeout = timeout;
    config.memory_limit = request.memory_limit.or(stored.memory_limit);
    config.scope = scope;
    Ok(Some(std::sync::Arc::new(Supervisor::new(config))))
}

/// Locks a mutex, recovering the data of a poisoned one: every critical section here leaves
/// the data consistent at each step, so a panic elsewhere does not invalidate it.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn supervisor_for_rejects_bad_timeouts_and_reads_untrusted() {
        let dir = tempfile::tempdir().unwrap();
        let req = |all, timeout_secs| IsolationRequest {
            all,
            timeout_secs,
            memory_limit: None,
            also_untrusted: Vec::new(),
        };
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e19, 1e300] {
            assert!(matches!(
                supervisor_for(dir.path(), &req(true, Some(bad))),
                Err(SetupError::Timeout(_))
            ));
        }
        assert!(supervisor_for(dir.path(), &req(false, None))
            .unwrap()
            .is_none());
        let all = supervisor_for(dir.path(), &req(true, Some(2.0)))
            .unwrap()
            .unwrap();
        assert_eq!(all.config().timeout, Some(Duration::from_secs(2)));
        assert_eq!(all.config().scope, IsolationScope::All);
        std::fs::write(
            dir.path().join("config.toml"),
            "[plugins]\nuntrusted = [\"fault\"]\n",
        )
        .unwrap();
        let some = supervisor_for(dir.path(), &req(false, None))
            .unwrap()
            .unwrap();
        assert_eq!(
            some.config().scope,
            IsolationScope::Only(PluginList(vec!["fault".to_string()]))
        );
    }
}
