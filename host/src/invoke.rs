//! Every plugin call of the host goes through [`Invoker`]: it checks what comes back (a NaN
//! estimate is a `numerical` error, whatever the plugin says), and it is the one place where
//! calls are measured and recorded, and routed to isolated workers.
//!
//! Nothing else in the host calls [`ComponentHandle::estimate`] or
//! [`ComponentHandle::generate`] directly.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use lrdbench_analytics::event::EncodedParameters;
use lrdbench_analytics::event::{
    CallView, ErrorInfo, EventType, ParametersView, Performance, PluginView, StepType, StepView,
};
use lrdbench_analytics::measure::Probe;
use lrdbench_analytics::{param_hasher, Analytics, ParamMemo, ParamView, StepSequences};
use lrdbench_plugin_api::{ErrorKind, Estimate, Generated, Param, ParamValue};

pub use crate::call_error::{CallError, CallErrorKind};
use crate::isolate::Supervisor;
use crate::plugin::ComponentHandle;

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
        self.estimate_timed(handle, series, resolved, ctx).0
    }

    /// [`Invoker::estimate`], with the estimator's own time when a worker measured it: an
    /// isolated call's round trip also holds the pipe and, on a new worker, its start-up
    /// (an interpreter and its imports, for a process plugin), which are the harness's cost,
    /// not the estimator's. `None` for in-process calls and calls that got no answer.
    ///
    /// # Errors
    ///
    /// As [`Invoker::estimate`].
    pub fn estimate_timed(
        &self,
        handle: &ComponentHandle<'_>,
        series: &[f64],
        resolved: &[Param],
        ctx: &CallContext,
    ) -> (Result<Estimate, CallError>, Option<Duration>) {
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
        let own_time = worker.as_ref().map(|p| Duration::from_nanos(p.wall_ns));
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
        (out, own_time)
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

/// A raw parameter set with the privacy mode it was sanitized under, as [`ParamMemo`] keys it;
/// integer values are zeroed (see [`ParamTemplate`]).
type ParamKey = (bool, Vec<Param>);

/// The recorded form of a parameter set with its integers left open. A workflow gives every
/// cell its own `seed`, so whole sets almost never repeat, but the sanitized text of an integer
/// depends only on its key (a private key is redacted, any other prints the number): the
/// template is made once per set of keys and non-integer values, and a call only prints its
/// integers into it.
#[derive(Debug)]
struct ParamTemplate {
    /// In key order: the key, and the fixed text or the index in the raw set of the integer
    /// printed there.
    parts: Vec<(String, Part)>,
    /// The encoded set, when no part is open.
    fixed: Option<Rc<EncodedParameters>>,
}

#[derive(Debug)]
enum Part {
    Text(String),
    Int(usize),
}

/// The encoded parameters of one call: shared from the memo, or printed for this call.
enum Encoded {
    Shared(Rc<EncodedParameters>),
    Own(EncodedParameters),
}

impl std::ops::Deref for Encoded {
    type Target = EncodedParameters;
    fn deref(&self) -> &EncodedParameters {
        match self {
            Encoded::Shared(e) => e,
            Encoded::Own(e) => e,
        }
    }
}

thread_local! {
    static PARAM_MEMO: RefCell<ParamMemo<ParamKey, Rc<ParamTemplate>>> =
        RefCell::new(ParamMemo::default());
}

/// The recorded form of `resolved`, encoded: sanitized once per distinct set of keys and
/// non-integer values (and privacy mode) on this thread, after which a call prints only its
/// integers. `None` for no parameters. The bytes are those of sanitizing the whole set.
fn sanitized_parameters(a: &Analytics, resolved: &[Param]) -> Option<Encoded> {
    if resolved.is_empty() {
        return None;
    }
    let privacy = a.privacy();
    let mut h = param_hasher();
    privacy.hash(&mut h);
    for p in resolved {
        hash_param_shape(p, &mut h);
    }
    let template = PARAM_MEMO.with(|memo| {
        memo.borrow_mut().get_or_make(
            h.finish(),
            |(was_private, raw)| {
                *was_private == privacy
                    && raw.len() == resolved.len()
                    && raw.iter().zip(resolved).all(|(x, y)| same_shape(x, y))
            },
            || {
                let template = make_template(a, resolved);
                let key = resolved.iter().map(int_zeroed).collect();
                ((privacy, key), Rc::new(template))
            },
        )
    });
    if let Some(fixed) = &template.fixed {
        return Some(Encoded::Shared(Rc::clone(fixed)));
    }
    let ints: Vec<String> = template
        .parts
        .iter()
        .map(|(_, part)| match part {
            Part::Int(i) => match &resolved[*i].value {
                ParamValue::Int(v) => v.to_string(),
                // `same_shape` matched an integer here.
                _ => String::new(),
            },
            Part::Text(_) => String::new(),
        })
        .collect();
    let pairs = template
        .parts
        .iter()
        .zip(&ints)
        .map(|((key, part), int)| match part {
            Part::Text(t) => (key.as_str(), t.as_str()),
            Part::Int(_) => (key.as_str(), int.as_str()),
        });
    Some(Encoded::Own(EncodedParameters::from_sorted_pairs(pairs)))
}

/// The template of `resolved`: its sanitized map (the last of equal keys wins, as in a map
/// built from the set), with the integers that print as themselves left open.
fn make_template(a: &Analytics, resolved: &[Param]) -> ParamTemplate {
    let mut map: BTreeMap<String, Part> = BTreeMap::new();
    for (i, p) in resolved.iter().enumerate() {
        let text = sanitize_one(a, p);
        let part = match &p.value {
            ParamValue::Int(v) if text == v.to_string() => Part::Int(i),
            _ => Part::Text(text),
        };
        map.insert(p.name.to_string(), part);
    }
    let parts: Vec<(String, Part)> = map.into_iter().collect();
    let fixed = parts
        .iter()
        .all(|(_, part)| matches!(part, Part::Text(_)))
        .then(|| {
            Rc::new(EncodedParameters::from_sorted_pairs(parts.iter().map(
                |(k, part)| match part {
                    Part::Text(t) => (k.as_str(), t.as_str()),
                    Part::Int(_) => (k.as_str(), ""),
                },
            )))
        });
    ParamTemplate { parts, fixed }
}

/// `p` with an integer value replaced by 0: the memo's key holds the set's shape only.
fn int_zeroed(p: &Param) -> Param {
    match p.value {
        ParamValue::Int(_) => Param {
            name: p.name.clone(),
            value: ParamValue::Int(0),
        },
        _ => p.clone(),
    }
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

/// Hashes what [`same_shape`] compares: the name and the value, but of an integer only that
/// it is one.
fn hash_param_shape(p: &Param, h: &mut impl Hasher) {
    p.name.as_str().hash(h);
    match &p.value {
        ParamValue::Int(_) => 0u8.hash(h),
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

/// Equality as the memo needs it: any integer matches any integer (templates leave them open),
/// floats by their bits, so a NaN matches itself (and 0.0 does not match -0.0, which render
/// differently).
fn same_shape(x: &Param, y: &Param) -> bool {
    x.name.as_str() == y.name.as_str()
        && match (&x.value, &y.value) {
            (ParamValue::Int(_), ParamValue::Int(_)) => true,
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
        let run_id = ctx.run_id.as_deref().unwrap_or_default();
        let seq = rec.steps.next(run_id);
        let duration_ns = u64::try_from(step.duration.as_nanos()).unwrap_or(u64::MAX);
        // Borrowed, not built: an owned step event would cost six allocations per step.
        rec.analytics.record_step_view(&StepView {
            timestamp_us: lrdbench_analytics::now_us() - (duration_ns / 1000) as i64,
            run_id,
            workflow: ctx.workflow.as_deref().unwrap_or_default(),
            seq,
            step_type: step.step_type,
            component: step.component,
            cell: step.cell,
            duration_ns,
            success: step.success,
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

#[cfg(test)]
mod tests {
    use super::*;
    use abi_stable::std_types::RString;

    fn param(name: &str, value: ParamValue) -> Param {
        Param {
            name: RString::from(name),
            value,
        }
    }

    /// What sanitizing the whole set afresh encodes to: the reference the memo must match.
    fn reference(a: &Analytics, set: &[Param]) -> EncodedParameters {
        let map: BTreeMap<String, String> = set
            .iter()
            .map(|p| (p.name.to_string(), sanitize_one(a, p)))
            .collect();
        EncodedParameters::new(&map)
    }

    #[test]
    fn memoized_parameters_encode_as_sanitizing_the_whole_set() {
        let a = Analytics::disabled();
        assert!(a.privacy(), "the default mode redacts private keys");
        // Sets of one shape with varying integers (seeds), a private integer key (redacted
        // whatever its value), a float and a string, a repeated name (the last wins), and
        // integer values of every sign and width; each is checked on a warm memo too.
        let shapes: Vec<Box<dyn Fn(i64) -> Vec<Param>>> = vec![
            Box::new(|i| {
                vec![
                    param("seed", ParamValue::Int(i)),
                    param("min_scale", ParamValue::Int(2)),
                    param("ci", ParamValue::Str("asymptotic".into())),
                    param("level", ParamValue::Float(0.95)),
                ]
            }),
            Box::new(|i| {
                vec![
                    param("token_count", ParamValue::Int(i)),
                    param("order", ParamValue::Int(i.wrapping_neg())),
                ]
            }),
            Box::new(|i| {
                vec![
                    param("order", ParamValue::Int(i)),
                    param("order", ParamValue::Int(7)),
                    param("fit", ParamValue::Bool(i % 2 == 0)),
                ]
            }),
            Box::new(|_| vec![param("detrend", ParamValue::Str("linear".into()))]),
        ];
        for shape in &shapes {
            for i in [0, 1, -1, 42, i64::MAX, i64::MIN, 4_243_666_891_374_244_878] {
                let set = shape(i);
                let got = sanitized_parameters(&a, &set).unwrap();
                assert_eq!(*got, reference(&a, &set), "set {set:?}");
            }
        }
        assert!(sanitized_parameters(&a, &[]).is_none());
    }
}
