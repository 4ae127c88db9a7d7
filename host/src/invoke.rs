//! Every plugin call of the host goes through [`Invoker`]: it checks what comes back (a NaN
//! estimate is a `numerical` error, whatever the plugin says), and it is the one place where
//! calls are measured and recorded, and (later) routed to isolated workers.
//!
//! Nothing else in the host calls [`ComponentHandle::estimate`] or
//! [`ComponentHandle::generate`] directly.

use std::fmt;

use std::time::Duration;

use lrdbench_analytics::event::StepType;
use lrdbench_plugin_api::{ErrorKind, Estimate, Generated, Param, PluginError};

use crate::plugin::ComponentHandle;

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

/// Where a call happens, for the records.
#[derive(Debug, Clone, Default)]
pub struct CallContext {
    /// Workflow run id, inside a workflow.
    pub run_id: Option<String>,
    /// Workflow name, inside a workflow.
    pub workflow: Option<String>,
    /// Cell id, inside a workflow.
    pub cell: Option<String>,
    /// True H of the input, when known.
    pub truth_h: Option<f64>,
}

/// Calls plugins on behalf of the host. Cheap to clone and shareable across threads.
#[derive(Debug, Clone, Default)]
pub struct Invoker {}

impl Invoker {
    /// An invoker that records nothing.
    pub fn unrecorded() -> Self {
        Invoker {}
    }

    /// Runs an estimator. `resolved` must come from [`ComponentHandle::resolve`].
    ///
    /// # Errors
    ///
    /// The plugin's typed error, or `numerical` for a non-finite estimate.
    pub fn estimate(
        &self,
        handle: &ComponentHandle<'_>,
        series: &[f64],
        resolved: &[Param],
        _ctx: &CallContext,
    ) -> Result<Estimate, CallError> {
        let est = handle.estimate(series, resolved)?;
        check_estimate(handle.name(), est)
    }

    /// Runs a model. `resolved` must come from [`ComponentHandle::resolve`].
    ///
    /// # Errors
    ///
    /// The plugin's typed error, `numerical` for non-finite output, or `internal` when the
    /// plugin returns a series of the wrong length.
    pub fn generate(
        &self,
        handle: &ComponentHandle<'_>,
        length: u64,
        seed: u64,
        resolved: &[Param],
        _ctx: &CallContext,
    ) -> Result<Generated, CallError> {
        let g = handle.generate(length, seed, resolved)?;
        check_generated(handle.name(), length, g)
    }
}

/// A workflow step, as the engine reports it for the records.
#[derive(Debug, Clone, Copy)]
pub struct StepRecord<'a> {
    /// What the step did.
    pub step_type: StepType,
    /// The estimator, model, contamination or output involved.
    pub component: &'a str,
    /// The cell, for per-cell steps.
    pub cell: Option<&'a str>,
    /// How long it took.
    pub duration: Duration,
    /// Whether it succeeded.
    pub success: bool,
}

impl Invoker {
    /// Records one workflow step (run id and workflow come from `ctx`).
    pub fn record_step(&self, _ctx: &CallContext, _step: StepRecord<'_>) {}
}

/// A plugin's estimate is usable only if its value is finite; a NaN is reported as the
/// `numerical` error it is, never passed on as a number.
pub fn check_estimate(component: &str, est: Estimate) -> Result<Estimate, CallError> {
    if est.value.is_finite() {
        Ok(est)
    } else {
        Err(CallError {
            kind: CallErrorKind::Plugin(ErrorKind::Numerical),
            message: format!("{component} returned a non-finite estimate ({})", est.value),
        })
    }
}

/// A generated series must have the requested length and finite values.
pub fn check_generated(component: &str, length: u64, g: Generated) -> Result<Generated, CallError> {
    if g.values.len() as u64 != length {
        return Err(CallError {
            kind: CallErrorKind::Plugin(ErrorKind::Internal),
            message: format!(
                "{component} returned {} values, {length} were asked for",
                g.values.len()
            ),
        });
    }
    if let Some(i) = g.values.iter().position(|v| !v.is_finite()) {
        return Err(CallError {
            kind: CallErrorKind::Plugin(ErrorKind::Numerical),
            message: format!("{component} returned a non-finite value at index {i}"),
        });
    }
    Ok(g)
}
