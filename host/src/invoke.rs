//! Every plugin call of the host goes through [`Invoker`]: it checks what comes back (a NaN
//! estimate is a `numerical` error, whatever the plugin says), and it is the one place where
//! calls are measured and recorded, and routed to isolated workers.
//!
//! Nothing else in the host calls [`ComponentHandle::estimate`] or
//! [`ComponentHandle::generate`] directly.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use lrdbench_analytics::codec::EncodedParameters;
use lrdbench_analytics::event::{
    CallView, ErrorInfo, EventType, ParametersView, Performance, PluginView, StepEvent, StepType,
};
use lrdbench_analytics::measure::Probe;
use lrdbench_analytics::{param_hasher, Analytics, ParamMemo, ParamView, StepSequences};
use lrdbench_plugin_api::{ErrorKind, Estimate, Generated, Param, ParamValue, PluginError};

use crate::isolate::Supervisor;
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
pub struct Invoker {
    /// Set in isolated mode: calls of the plugins it isolates run in its worker processes.
    isolation: Option<Arc<Supervisor>>,
    /// Set when calls are recorded.
    recording: Option<Recording>,
}

/// The recording side of an [`Invoker`].
#[derive(Debug, Clone)]
struct Recording {
    analytics: Analytics,
    steps: Arc<StepSequences>,
}

impl Invoker {
    /// An invoker that records nothing.
    pub fn unrecorded() -> Self {
        Invoker::default()
    }

    /// An invoker that records every call into `analytics` (nothing when it is not recording).
    /// A forced exit (a second Ctrl-C) first stores what was recorded ([`crate::interrupt`]).
    pub fn recording(analytics: Analytics) -> Self {
        Invoker::default().with_recording(analytics)
    }

    /// Records every call of this invoker into `analytics`.
    pub fn with_recording(mut self, analytics: Analytics) -> Self {
        self.recording = Some(Recording {
            analytics,
            steps: Arc::new(StepSequences::default()),
        });
        self
    }

    /// The analytics calls are recorded into, if any.
    pub fn analytics(&self) -> Option<&Analytics> {
        self.recording.as_ref().map(|r| &r.analytics)
    }

    fn recorder(&self) -> Option<&Recording> {
        self.recording
            .as_ref()
            .filter(|r| r.analytics.is_recording())
    }

    /// Sends the calls of every plugin `supervisor` isolates (all, or the untrusted ones) to its
    /// worker processes; the others stay in-process.
    pub fn with_isolation(mut self, supervisor: Arc<Supervisor>) -> Self {
        self.isolation = Some(supervisor);
        self
    }

    /// The supervisor of isolated calls, if any: callers print its quarantine notices, and its
    /// `estimate`/`generate` also return the worker's own measurement of each call.
    pub fn isolation(&self) -> Option<&Arc<Supervisor>> {
        self.isolation.as_ref()
    }

    fn isolating(&self, handle: &ComponentHandle<'_>) -> Option<&Supervisor> {
        self.isolation
            .as_deref()
            .filter(|s| s.isolates(handle.plugin))
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
        ctx: &CallContext,
    ) -> Result<Estimate, CallError> {
        let started_us = lrdbench_analytics::now_us();
        let probe = self.recorder().map(|_| Probe::start());
        let (out, worker) = match self.isolating(handle) {
            Some(sup) => {
                let r = sup.estimate(handle, series, resolved);
                (r.result, r.usage.map(worker_performance))
            }
            None => (
                handle.estimate(series, resolved).map_err(CallError::from),
                None,
            ),
        };
        // The worker's own figures when it has them; the host's view (a crash, a timeout)
        // otherwise.
        let performance = worker.or_else(|| probe.map(Probe::finish));
        let out = out.and_then(|est| check_estimate(handle.name(), est));
        self.record(
            handle,
            resolved,
            ctx,
            Measured {
                event_type: EventType::EstimatorUsage,
                started_us,
                data_length: series.len() as u64,
                performance,
                error: out.as_ref().err(),
            },
        );
        out
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
        ctx: &CallContext,
    ) -> Result<Generated, CallError> {
        let started_us = lrdbench_analytics::now_us();
        let probe = self.recorder().map(|_| Probe::start());
        let (out, worker) = match self.isolating(handle) {
            Some(sup) => {
                let r = sup.generate(handle, length, seed, resolved);
                (r.result, r.usage.map(worker_performance))
            }
            None => (
                handle
                    .generate(length, seed, resolved)
                    .map_err(CallError::from),
                None,
            ),
        };
        let performance = worker.or_else(|| probe.map(Probe::finish));
        let out = out.and_then(|g| check_generated(handle.name(), length, g));
        self.record(
            handle,
            resolved,
            ctx,
            Measured {
                event_type: EventType::ModelUsage,
                started_us,
                data_length: length,
                performance,
                error: out.as_ref().err(),
            },
        );
        out
    }

    /// Records one measured call: the recording step, kept apart from the measurement so that
    /// a call measured elsewhere (an isolated worker) is recorded the same way. Sanitizes the
    /// parameters and the message (privacy mode), and never records series values. Does
    /// nothing when not recording.
    pub fn record(
        &self,
        handle: &ComponentHandle<'_>,
        resolved: &[Param],
        ctx: &CallContext,
        measured: Measured<'_>,
    ) {
        let Some(rec) = self.recorder() else { return };
        let a = &rec.analytics;
        let parameters = sanitized_parameters(a, resolved);
        // Callers see a caught panic as the `internal` error the plugin returned; the records
        // file it under the host's `panic` kind, with its location split out.
        let classified = measured.error.map(|e| classify_panic(e.clone()));
        let error = classified.as_ref().map(|e| {
            let (message, location) = split_panic(e);
            ErrorInfo {
                kind: e.kind.as_str().to_string(),
                message: a.sanitize_message(message),
                location: location.map(|l| a.sanitize_location(l)),
                backtrace: None,
            }
        });
        let descriptor = &handle.plugin.descriptor;
        // Borrowed, not built: an owned event would cost about ten allocations per call.
        a.record_call_view(&CallView {
            timestamp_us: measured.started_us,
            event_type: measured.event_type,
            component: handle.name(),
            plugin: Some(PluginView {
                name: descriptor.name.as_str(),
                version: descriptor.version.as_str(),
                sha256: &handle.plugin.sha256,
            }),
            parameters: match &parameters {
                Some(encoded) => ParametersView::Encoded(encoded),
                None => ParametersView::Map(&NO_PARAMETERS),
            },
            data_length: measured.data_length,
            success: error.is_none(),
            run_id: ctx.run_id.as_deref(),
            workflow: ctx.workflow.as_deref(),
            cell: ctx.cell.as_deref(),
            truth_h: ctx.truth_h,
            performance: measured.performance,
            error: error.as_ref(),
        });
    }
}

static NO_PARAMETERS: BTreeMap<String, String> = BTreeMap::new();

/// A raw parameter set with the privacy mode it was sanitized under, as [`ParamMemo`] keys it.
type ParamKey = (bool, Vec<Param>);

thread_local! {
    static PARAM_MEMO: RefCell<ParamMemo<ParamKey, Rc<EncodedParameters>>> =
        RefCell::new(ParamMemo::default());
}

/// The recorded form of `resolved`, encoded: sanitized and encoded once per distinct set (and
/// privacy mode) on this thread, shared from the memo after that. `None` for no parameters.
fn sanitized_parameters(a: &Analytics, resolved: &[Param]) -> Option<Rc<EncodedParameters>> {
    if resolved.is_empty() {
        return None;
    }
    let privacy = a.privacy();
    let mut h = param_hasher();
    privacy.hash(&mut h);
    for p in resolved {
        hash_param(p, &mut h);
    }
    Some(PARAM_MEMO.with(|memo| {
        memo.borrow_mut().get_or_make(
            h.finish(),
            |(was_private, raw)| {
                *was_private == privacy
                    && raw.len() == resolved.len()
                    && raw.iter().zip(resolved).all(|(x, y)| same_param(x, y))
            },
            || {
                let map: BTreeMap<String, String> = resolved
                    .iter()
                    .map(|p| (p.name.to_string(), sanitize_one(a, p)))
                    .collect();
                (
                    (privacy, resolved.to_vec()),
                    Rc::new(EncodedParameters::new(&map)),
                )
            },
        )
    }))
}

fn sanitize_one(a: &Analytics, p: &Param) -> String {
    let name = p.name.as_str();
    match &p.value {
        ParamValue::Int(i) => a.sanitize_parameter(name, ParamView::Int(*i)),
        ParamValue::Float(x) => a.sanitize_parameter(name, ParamView::Float(*x)),
        ParamValue::Bool(b) => a.sanitize_parameter(name, ParamView::Bool(*b)),
        ParamValue::Str(s) => a.sanitize_parameter(name, ParamView::Text(s.as_str())),
        ParamValue::List(xs) => a.sanitize_parameter(name, ParamView::Numbers(xs.as_slice())),
    }
}

fn hash_param(p: &Param, h: &mut impl Hasher) {
    p.name.as_str().hash(h);
    match &p.value {
        ParamValue::Int(i) => (0u8, *i).hash(h),
        ParamValue::Float(x) => (1u8, x.to_bits()).hash(h),
        ParamValue::Bool(b) => (2u8, *b).hash(h),
        ParamValue::Str(s) => (3u8, s.as_str()).hash(h),
        ParamValue::List(xs) => {
            4u8.hash(h);
            xs.len().hash(h);
            for x in xs.iter() {
                x.to_bits().hash(h);
            }
        }
    }
}

/// Equality as the memo needs it: floats by their bits, so a NaN matches itself (and 0.0 does
/// not match -0.0, which render differently).
fn same_param(x: &Param, y: &Param) -> bool {
    x.name.as_str() == y.name.as_str()
        && match (&x.value, &y.value) {
            (ParamValue::Int(a), ParamValue::Int(b)) => a == b,
            (ParamValue::Float(a), ParamValue::Float(b)) => a.to_bits() == b.to_bits(),
            (ParamValue::Bool(a), ParamValue::Bool(b)) => a == b,
            (ParamValue::Str(a), ParamValue::Str(b)) => a.as_str() == b.as_str(),
            (ParamValue::List(a), ParamValue::List(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .zip(b.iter())
                        .all(|(p, q)| p.to_bits() == q.to_bits())
            }
            _ => false,
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
    /// Records one workflow step (run id and workflow come from `ctx`; steps are numbered in
    /// the order they are recorded within each run).
    pub fn record_step(&self, ctx: &CallContext, step: StepRecord<'_>) {
        let Some(rec) = self.recorder() else { return };
        let run_id = ctx.run_id.clone().unwrap_or_default();
        let seq = rec.steps.next(&run_id);
        let duration_ns = u64::try_from(step.duration.as_nanos()).unwrap_or(u64::MAX);
        rec.analytics.record_step(StepEvent {
            id: 0,
            timestamp_us: lrdbench_analytics::now_us() - (duration_ns / 1000) as i64,
            run_id,
            workflow: ctx.workflow.clone().unwrap_or_default(),
            seq,
            step_type: step.step_type,
            component: step.component.to_string(),
            cell: step.cell.map(str::to_string),
            duration_ns,
            success: step.success,
            user_id: String::new(),
            session_id: String::new(),
        });
    }
}

/// A measured call, as [`Invoker::record`] takes it.
#[derive(Debug, Clone, Copy)]
pub struct Measured<'a> {
    /// Estimator or model call.
    pub event_type: EventType,
    /// When the call started, µs since the epoch.
    pub started_us: i64,
    /// Length of the series (input of an estimator, output of a model).
    pub data_length: u64,
    /// What it cost, when measured.
    pub performance: Option<Performance>,
    /// How it failed, if it did.
    pub error: Option<&'a CallError>,
}

/// The SDK reports a caught panic as an `internal` error whose message starts with
/// `panicked at <file>:<line>:`; it is a panic, and reports group it as one.
pub fn classify_panic(e: CallError) -> CallError {
    if e.kind == CallErrorKind::Plugin(ErrorKind::Internal) && e.message.starts_with("panicked") {
        CallError {
            kind: CallErrorKind::Panic,
            message: e.message,
        }
    } else {
        e
    }
}

/// A panic message split into its text and its `file:line[:col]` location, when it carries
/// one (`panicked at src/lib.rs:10:5: message`).
fn split_panic(e: &CallError) -> (&str, Option<&str>) {
    if let Some(rest) = e.message.strip_prefix("panicked at ") {
        if let Some(i) = rest.find(": ") {
            return (&rest[i + 2..], Some(&rest[..i]));
        }
    }
    (e.message.as_str(), None)
}

fn worker_performance(u: crate::isolate::protocol::WorkerUsage) -> Performance {
    Performance {
        wall_ns: u.wall_ns,
        cpu_thread_ns: u.cpu_ns,
        cpu_process_ns: u.cpu_ns,
        cpu_percent: if u.wall_ns == 0 {
            0.0
        } else {
            100.0 * u.cpu_ns as f64 / u.wall_ns as f64
        },
        rss_before: u.rss_before,
        rss_after: u.peak_rss,
        heap_peak: u.heap_peak,
    }
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
