//! Exports of the raw events, one file per record type of the spec — usage, performance,
//! errors, workflow steps — as JSON Lines and/or CSV, with the same columns in both.
//!
//! The events are written as stored: in privacy mode they were sanitized before they were
//! recorded, and an optional sanitizer passed in [`ExportOptions`] is applied once more to
//! every event before a byte is written.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use lrdbench_analytics::event::{CallEvent, StepEvent};
use lrdbench_analytics::privacy::{
    sanitize_text_parameters, scrub_cell, scrub_location, scrub_message, Identity,
};

use crate::report::event_type_name;
use crate::DashboardError;

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ExportFormat {
    /// JSON Lines: one object per line (`.jsonl`).
    JsonLines,
    /// CSV with a header row (`.csv`).
    Csv,
}

/// A record type of the export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecordType {
    /// One row per call: what was called, with which parameters, by whom, and whether it worked.
    Usage,
    /// One row per measured call: time, CPU and memory.
    Performance,
    /// One row per failed call: the typed error.
    Errors,
    /// One row per workflow step.
    WorkflowSteps,
}

impl RecordType {
    /// The file stem.
    pub(crate) fn stem(self) -> &'static str {
        match self {
            RecordType::Usage => "usage",
            RecordType::Performance => "performance",
            RecordType::Errors => "errors",
            RecordType::WorkflowSteps => "workflow_steps",
        }
    }

    /// The columns, in order.
    pub(crate) fn columns(self) -> &'static [&'static str] {
        match self {
            RecordType::Usage => &[
                "id",
                "timestamp_us",
                "event_type",
                "component",
                "plugin",
                "plugin_version",
                "plugin_sha256",
                "parameters",
                "data_length",
                "success",
                "user_id",
                "session_id",
                "run_id",
                "workflow",
                "cell",
                "truth_h",
            ],
            RecordType::Performance => &[
                "id",
                "timestamp_us",
                "event_type",
                "component",
                "data_length",
                "success",
                "wall_ns",
                "cpu_thread_ns",
                "cpu_process_ns",
                "cpu_percent",
                "rss_before",
                "rss_after",
                "heap_peak",
                "session_id",
                "run_id",
            ],
            RecordType::Errors => &[
                "id",
                "timestamp_us",
                "event_type",
                "component",
                "kind",
                "message",
                "location",
                "backtrace",
                "parameters",
                "data_length",
                "user_id",
                "session_id",
                "run_id",
            ],
            RecordType::WorkflowSteps => &[
                "id",
                "timestamp_us",
                "run_id",
                "workflow",
                "seq",
                "step_type",
                "component",
                "cell",
                "duration_ns",
                "success",
                "user_id",
                "session_id",
            ],
        }
    }
}

/// Export options.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// The formats to write.
    pub formats: Vec<ExportFormat>,
    /// Privacy mode: sanitize every event once more with the recorder's own rules
    /// (`sanitize_call`, `sanitize_step`) before it is written.
    pub privacy: bool,
}

/// Applies the recorder's privacy rules to a call, as in privacy mode: parameters redacted by
/// key and value shape, messages, locations and backtraces scrubbed of paths, the home
/// directory, the login name, e-mail addresses and URLs. Idempotent on events that were
/// recorded in privacy mode.
pub(crate) fn sanitize_call(c: &mut CallEvent, who: &Identity) {
    c.parameters = sanitize_text_parameters(
        c.parameters.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        true,
    );
    if let Some(e) = &mut c.error {
        e.message = scrub_message(&e.message, who);
        e.location = e.location.as_deref().map(scrub_location);
        e.backtrace = e.backtrace.as_deref().map(|b| scrub_message(b, who));
    }
    c.workflow = c.workflow.as_deref().map(|w| scrub_message(w, who));
    c.cell = c.cell.as_deref().map(|w| scrub_cell(w, who));
}

/// Applies the privacy rules to the free-text fields of a step (workflow, component, cell).
pub(crate) fn sanitize_step(s: &mut StepEvent, who: &Identity) {
    s.workflow = scrub_message(&s.workflow, who);
    s.component = scrub_message(&s.component, who);
    s.cell = s.cell.as_deref().map(|w| scrub_cell(w, who));
}

fn call_row(t: RecordType, c: &CallEvent) -> Option<Vec<Value>> {
    let params = || json!(c.parameters);
    let et = event_type_name(c.event_type);
    Some(match t {
        RecordType::Usage => vec![
            json!(c.id),
            json!(c.timestamp_us),
            json!(et),
            json!(c.component),
            json!(c.plugin.as_ref().map(|p| &p.name)),
            json!(c.plugin.as_ref().map(|p| &p.version)),
            json!(c.plugin.as_ref().map(|p| &p.sha256)),
            params(),
            json!(c.data_length),
            json!(c.success),
            json!(c.user_id),
            json!(c.session_id),
            json!(c.run_id),
            json!(c.workflow),
            json!(c.cell),
            c.truth_h
                .filter(|h| h.is_finite())
                .map_or(Value::Null, |h| json!(h)),
        ],
        RecordType::Performance => {
            let p = c.performance.as_ref()?;
            vec![
                json!(c.id),
                json!(c.timestamp_us),
                json!(et),
                json!(c.component),
                json!(c.data_length),
                json!(c.success),
                json!(p.wall_ns),
                json!(p.cpu_thread_ns),
                json!(p.cpu_process_ns),
                if p.cpu_percent.is_finite() {
                    json!(p.cpu_percent)
                } else {
                    Value::Null
                },
                json!(p.rss_before),
                json!(p.rss_after),
                json!(p.heap_peak),
                json!(c.session_id),
                json!(c.run_id),
            ]
        }
        RecordType::Errors => {
            if c.success {
                return None;
            }
            let e = c.error.as_ref();
            vec![
                json!(c.id),
                json!(c.timestamp_us),
                json!(et),
                json!(c.component),
                json!(e.map_or("unknown", |e| e.kind.as_str())),
                json!(e.map_or("", |e| e.message.as_str())),
                json!(e.and_then(|e| e.location.as_ref())),
                json!(e.and_then(|e| e.backtrace.as_ref())),
                params(),
                json!(c.data_length),
                json!(c.user_id),
                json!(c.session_id),
                json!(c.run_id),
            ]
        }
        RecordType::WorkflowSteps => return None,
    })
}

fn step_row(s: &StepEvent) -> Vec<Value> {
    vec![
        json!(s.id),
        json!(s.timestamp_us),
        json!(s.run_id),
        json!(s.workflow),
        json!(s.seq),
        json!(s.step_type.as_str()),
        json!(s.component),
        json!(s.cell),
        json!(s.duration_ns),
        json!(s.success),
        json!(s.user_id),
        json!(s.session_id),
    ]
}

struct Sink {
    jsonl: Option<(PathBuf, BufWriter<File>)>,
    csv: Option<(PathBuf, csv::Writer<File>)>,
    columns: &'static [&'static str],
}

impl Sink {
    fn create(dir: &Path, t: RecordType, formats: &[ExportFormat]) -> Result<Sink, DashboardError> {
        let mut sink = Sink {
            jsonl: None,
            csv: None,
            columns: t.columns(),
        };
        if formats.contains(&ExportFormat::JsonLines) {
            let p = dir.join(format!("{}.jsonl", t.stem()));
            let f = File::create(&p).map_err(|e| DashboardError::io(&p, e))?;
            sink.jsonl = Some((p, BufWriter::new(f)));
        }
        if formats.contains(&ExportFormat::Csv) {
            let p = dir.join(format!("{}.csv", t.stem()));
            let f = File::create(&p).map_err(|e| DashboardError::io(&p, e))?;
            let mut w = csv::Writer::from_writer(f);
            w.write_record(t.columns())
                .map_err(|e| DashboardError::csv(&p, e))?;
            sink.csv = Some((p, w));
        }
        Ok(sink)
    }

    fn write(&mut self, row: &[Value]) -> Result<(), DashboardError> {
        if let Some((p, w)) = &mut self.jsonl {
            let mut line = String::with_capacity(256);
            line.push('{');
            for (i, (k, v)) in self.columns.iter().zip(row).enumerate() {
                if i > 0 {
                    line.push(',');
                }
                line.push('"');
                line.push_str(k);
                line.push_str("\":");
                line.push_str(&v.to_string());
            }
            line.push_str("}\n");
            w.write_all(line.as_bytes())
                .map_err(|e| DashboardError::io(p, e))?;
        }
        if let Some((p, w)) = &mut self.csv {
            let cells = row.iter().map(|v| match v {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            });
            w.write_record(cells)
                .map_err(|e| DashboardError::csv(p, e))?;
        }
        Ok(())
    }

    fn finish(self, out: &mut Vec<PathBuf>) -> Result<(), DashboardError> {
        if let Some((p, mut w)) = self.jsonl {
            w.flush().map_err(|e| DashboardError::io(&p, e))?;
            out.push(p);
        }
        if let Some((p, mut w)) = self.csv {
            w.flush().map_err(|e| DashboardError::io(&p, e))?;
            out.push(p);
        }
        Ok(())
    }
}

/// Writes the four record files of `calls` and `steps` into `dir` (created if needed) and
/// returns the paths written.
///
/// # Errors
///
/// [`DashboardError`] when a file cannot be created or written.
pub(crate) fn export_events(
    calls: &[CallEvent],
    steps: &[StepEvent],
    dir: &Path,
    options: &ExportOptions,
) -> Result<Vec<PathBuf>, DashboardError> {
    std::fs::create_dir_all(dir).map_err(|e| DashboardError::io(dir, e))?;
    let mut written = Vec::new();
    let mut sinks: Vec<(RecordType, Sink)> = Vec::new();
    for t in [
        RecordType::Usage,
        RecordType::Performance,
        RecordType::Errors,
    ] {
        sinks.push((t, Sink::create(dir, t, &options.formats)?));
    }
    let who = Identity::current();
    for c in calls {
        let sanitized;
        let c = if options.privacy {
            let mut copy = c.clone();
            sanitize_call(&mut copy, &who);
            sanitized = copy;
            &sanitized
        } else {
            c
        };
        for (t, sink) in &mut sinks {
            if let Some(row) = call_row(*t, c) {
                sink.write(&row)?;
            }
        }
    }
    for (_, sink) in sinks {
        sink.finish(&mut written)?;
    }
    let mut sink = Sink::create(dir, RecordType::WorkflowSteps, &options.formats)?;
    for s in steps {
        let row = if options.privacy {
            let mut copy = s.clone();
            sanitize_step(&mut copy, &who);
            step_row(&copy)
        } else {
            step_row(s)
        };
        sink.write(&row)?;
    }
    sink.finish(&mut written)?;
    Ok(written)
}
