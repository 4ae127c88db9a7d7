//! The error of a failed plugin call, [`CallError`], and its kinds.
//!
//! A leaf module: both the in-process call path ([`crate::invoke`]) and the isolated one
//! ([`crate::isolate`]) produce these errors, so neither owns them.

use std::fmt;

use lrdbench_plugin_api::{ErrorKind, PluginError};

/// The kinds of failure of a call: the plugin's typed kinds, plus the host's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CallErrorKind {
    /// A typed error returned by the plugin.
    Plugin(ErrorKind),
    /// The plugin panicked (caught inside the plugin by the SDK, or seen by an isolated worker).
    Panic,
    /// The plugin's process died by a signal (isolated mode).
    Crash,
    /// The call exceeded its time limit.
    Timeout,
    /// The call exceeded its memory limit.
    OutOfMemory,
    /// The plugin could not be loaded.
    Load,
}

impl CallErrorKind {
    /// The lowercase name used in outputs and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            CallErrorKind::Plugin(k) => k.as_str(),
            CallErrorKind::Panic => "panic",
            CallErrorKind::Crash => "crash",
            CallErrorKind::Timeout => "timeout",
            CallErrorKind::OutOfMemory => "out_of_memory",
            CallErrorKind::Load => "load",
        }
    }
}

impl fmt::Display for CallErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed call.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct CallError {
    /// What kind of failure.
    pub kind: CallErrorKind,
    /// One line saying what happened.
    pub message: String,
}

impl From<PluginError> for CallError {
    fn from(e: PluginError) -> Self {
        CallError {
            kind: CallErrorKind::Plugin(e.kind),
            message: e.message.into_string(),
        }
    }
}
