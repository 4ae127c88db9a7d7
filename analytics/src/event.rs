//! The recorded events. One [`CallEvent`] per plugin call (or per call of a wrapped function of
//! an embedding program) holds the spec's three records — usage, performance metrics and error
//! event — linked by construction; exports project it into one file per record type. One
//! [`StepEvent`] per workflow step lets reports reconstruct each run's sequence.
//!
//! Timestamps are microseconds since the Unix epoch, UTC. Every string field that could carry
//! private data (parameters, messages, ids) is sanitized before an event is built in privacy
//! mode; nothing here ever holds the values of a series.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::wire::{put_str, put_u64};

/// What kind of call a [`CallEvent`] records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    /// A call of an estimator.
    EstimatorUsage,
    /// A call of a data model.
    ModelUsage,
    /// A whole benchmark run (one per workflow run).
    BenchmarkRun,
    /// A function of an embedding program, recorded through the library API.
    Custom,
}

/// The plugin that served a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginRef {
    /// Plugin name.
    pub name: String,
    /// Plugin version.
    pub version: String,
    /// SHA-256 of the library file.
    pub sha256: String,
}

/// Resource use of one call.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Performance {
    /// Wall-clock time, nanoseconds.
    pub wall_ns: u64,
    /// CPU time of the calling thread, nanoseconds.
    pub cpu_thread_ns: u64,
    /// CPU time of the process attributable to the call, nanoseconds: the calling thread's for
    /// an in-process call (the process-wide clock counts the other workers of a sweep), the
    /// worker process's for an isolated one. Stores written before this was settled hold the
    /// whole process's time here.
    pub cpu_process_ns: u64,
    /// The call's CPU time over its wall time, in percent (100 = one core busy): the calling
    /// thread's for in-process calls (see [`crate::measure`]), the worker process's for
    /// isolated ones.
    pub cpu_percent: f64,
    /// Resident set size before the call, bytes (a process-wide sample at most 1 ms old; see
    /// [`crate::measure`]).
    pub rss_before: u64,
    /// Resident set size after the call, bytes (read afresh after calls that could move it).
    pub rss_after: u64,
    /// Peak heap bytes allocated during the call above the level at its start (including the
    /// plugin's own allocations), bytes.
    pub heap_peak: u64,
}

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorInfo {
    /// The typed kind: the ABI's (`invalid_input`, `insufficient_data`, `parameter`,
    /// `numerical`, `non_convergence`, `internal`) or the host's (`panic`, `crash`, `timeout`,
    /// `out_of_memory`, `load`).
    pub kind: String,
    /// The message (paths scrubbed in privacy mode).
    pub message: String,
    /// Where a panic happened, when known (`file:line`).
    pub location: Option<String>,
    /// A backtrace, when one was captured.
    pub backtrace: Option<String>,
}

/// One recorded call: the usage event, its performance metrics and, on failure, its error event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallEvent {
    /// Unique id of the event (time-ordered).
    pub id: u64,
    /// When the call started, µs since the Unix epoch (UTC).
    pub timestamp_us: i64,
    /// What kind of call.
    pub event_type: EventType,
    /// The estimator, model or function name.
    pub component: String,
    /// The plugin, for plugin calls.
    pub plugin: Option<PluginRef>,
    /// Parameters, rendered as text and sanitized.
    pub parameters: BTreeMap<String, String>,
    /// Length of the series (input for estimators, output for models).
    pub data_length: u64,
    /// Whether the call returned a usable result.
    pub success: bool,
    /// User id (an HMAC in privacy mode).
    pub user_id: String,
    /// Session id: one per host process.
    pub session_id: String,
    /// Workflow run id, inside a workflow.
    pub run_id: Option<String>,
    /// Workflow name, inside a workflow.
    pub workflow: Option<String>,
    /// Cell id within the run, inside a workflow.
    pub cell: Option<String>,
    /// The true H of the input series, when known (for reliability by H band).
    pub truth_h: Option<f64>,
    /// Resource use, when measured.
    pub performance: Option<Performance>,
    /// The error, when the call failed.
    pub error: Option<ErrorInfo>,
    /// The machine the session runs on: set on the first call event each session records
    /// (join on `session_id` for the others), `None` on the rest.
    pub machine: Option<Machine>,
}

/// A call event borrowed from the caller's own data: the form the host records its plugin
/// calls in. Encoding it straight into the journal skips building an owned [`CallEvent`]
/// (about ten allocations, a copy of the parameter map, and their frees), which is most of
/// what recording a call cost besides the clocks. The id, user, session and machine facts are
/// added by [`crate::Analytics::record_call_view`].
#[derive(Debug, Clone, Copy)]
pub struct CallView<'a> {
    /// When the call started, µs since the Unix epoch (UTC).
    pub timestamp_us: i64,
    /// What kind of call.
    pub event_type: EventType,
    /// The estimator, model or function name.
    pub component: &'a str,
    /// The plugin, for plugin calls.
    pub plugin: Option<PluginView<'a>>,
    /// Parameters, already sanitized.
    pub parameters: ParametersView<'a>,
    /// Length of the series (input for estimators, output for models).
    pub data_length: u64,
    /// Whether the call returned a usable result.
    pub success: bool,
    /// Workflow run id, inside a workflow.
    pub run_id: Option<&'a str>,
    /// Workflow name, inside a workflow.
    pub workflow: Option<&'a str>,
    /// Cell id within the run, inside a workflow.
    pub cell: Option<&'a str>,
    /// The true H of the input series, when known.
    pub truth_h: Option<f64>,
    /// Resource use, when measured.
    pub performance: Option<Performance>,
    /// The error (already sanitized), when the call failed.
    pub error: Option<&'a ErrorInfo>,
}

/// [`PluginRef`], borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PluginView<'a> {
    /// Plugin name.
    pub name: &'a str,
    /// Plugin version.
    pub version: &'a str,
    /// SHA-256 of the library file.
    pub sha256: &'a str,
}

/// The sanitized parameters of a [`CallView`]: a map, or the same map encoded once as
/// [`EncodedParameters`] and copied byte for byte into every record that repeats it.
#[derive(Debug, Clone, Copy)]
pub enum ParametersView<'a> {
    /// Name to rendered value.
    Map(&'a BTreeMap<String, String>),
    /// The encoded form of a map.
    Encoded(&'a EncodedParameters),
}

/// A sanitized parameter map in the journal's encoded form (count, then name and value of each
/// entry; see `crate::codec`), made once per distinct set and copied into each record: a
/// repeated set costs one `memcpy` instead of a map clone and its re-encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedParameters(Vec<u8>);

impl EncodedParameters {
    /// Encodes `map`.
    pub fn new(map: &BTreeMap<String, String>) -> EncodedParameters {
        Self::from_sorted_pairs(map.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// Encodes `pairs`, which must be in strictly increasing key order: the same bytes as
    /// [`EncodedParameters::new`] of the map they make, without building the map.
    pub fn from_sorted_pairs<'a>(
        pairs: impl ExactSizeIterator<Item = (&'a str, &'a str)>,
    ) -> EncodedParameters {
        let mut out = Vec::with_capacity(16 * pairs.len());
        put_u64(&mut out, pairs.len() as u64);
        for (k, v) in pairs {
            put_str(&mut out, k);
            put_str(&mut out, v);
        }
        EncodedParameters(out)
    }

    /// The encoded bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl CallEvent {
    /// This event as a [`CallView`] (its id, user, session and machine are not part of it).
    pub fn view(&self) -> CallView<'_> {
        CallView {
            timestamp_us: self.timestamp_us,
            event_type: self.event_type,
            component: &self.component,
            plugin: self.plugin.as_ref().map(|p| PluginView {
                name: &p.name,
                version: &p.version,
                sha256: &p.sha256,
            }),
            parameters: ParametersView::Map(&self.parameters),
            data_length: self.data_length,
            success: self.success,
            run_id: self.run_id.as_deref(),
            workflow: self.workflow.as_deref(),
            cell: self.cell.as_deref(),
            truth_h: self.truth_h,
            performance: self.performance,
            error: self.error.as_ref(),
        }
    }
}

/// Facts about the machine a session ran on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    /// CPU model.
    pub cpu: String,
    /// Logical cores.
    pub cores: u64,
    /// Total memory, bytes.
    pub memory_bytes: u64,
    /// Operating system and version.
    pub os: String,
}

/// The kind of a workflow step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepType {
    /// A series generated by a model.
    Generate,
    /// A contamination applied to a series.
    Contaminate,
    /// An estimator run on a series.
    Estimate,
    /// Metrics computed over the results.
    Evaluate,
    /// Outputs and reports written.
    Report,
}

impl StepType {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            StepType::Generate => "generate",
            StepType::Contaminate => "contaminate",
            StepType::Estimate => "estimate",
            StepType::Evaluate => "evaluate",
            StepType::Report => "report",
        }
    }
}

/// One step of a workflow run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepEvent {
    /// Unique id of the event (time-ordered).
    pub id: u64,
    /// When the step started, µs since the Unix epoch (UTC).
    pub timestamp_us: i64,
    /// The run.
    pub run_id: String,
    /// The workflow's name.
    pub workflow: String,
    /// Position of the step within the run, from 0.
    pub seq: u64,
    /// What the step did.
    pub step_type: StepType,
    /// The estimator, model, contamination or output involved.
    pub component: String,
    /// The cell, for per-cell steps.
    pub cell: Option<String>,
    /// How long the step took, nanoseconds.
    pub duration_ns: u64,
    /// Whether it succeeded.
    pub success: bool,
    /// User id (an HMAC in privacy mode).
    pub user_id: String,
    /// Session id.
    pub session_id: String,
}

/// A workflow step as borrowed data: what [`crate::Recorder::record_step_view`] encodes
/// without an owned [`StepEvent`] (its id, user and session come from the recorder).
#[derive(Debug, Clone, Copy)]
pub struct StepView<'a> {
    /// When the step started, µs since the Unix epoch (UTC).
    pub timestamp_us: i64,
    /// The run.
    pub run_id: &'a str,
    /// The workflow's name.
    pub workflow: &'a str,
    /// Position of the step within the run, from 0.
    pub seq: u64,
    /// What the step did.
    pub step_type: StepType,
    /// The estimator, model, contamination or output involved.
    pub component: &'a str,
    /// The cell, for per-cell steps.
    pub cell: Option<&'a str>,
    /// How long the step took, nanoseconds.
    pub duration_ns: u64,
    /// Whether it succeeded.
    pub success: bool,
}

/// Anything the recorder stores.
// Steps are rarer than calls and both are moved, not copied, through the recorder: boxing the
// call would cost an allocation per recorded call for no gain.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum Event {
    /// A call.
    Call(CallEvent),
    /// A workflow step.
    Step(StepEvent),
}
