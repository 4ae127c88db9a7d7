//! Exports of the raw events, one file per record type of the spec — usage, performance,
//! errors, workflow steps — as JSON Lines and/or CSV, with the same columns in both.
//!
//! The events are written as stored: in privacy mode they were sanitized before they were
//! recorded, and an optional sanitizer passed in [`ExportOptions`] is applied once more to
//! every event before a byte is written.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

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

/// One field of an exported row, borrowed from the event: written straight into the JSON
/// Lines and CSV buffers, with no `serde_json::Value` (and no string copy) per field.
#[derive(Debug, Clone, Copy)]
enum Cell<'a> {
    Null,
    Str(&'a str),
    U64(u64),
    I64(i64),
    /// A finite float (a non-finite one is [`Cell::Null`]).
    F64(f64),
    Bool(bool),
    /// The parameters, as a JSON object (in CSV too).
    Params(&'a std::collections::BTreeMap<String, String>),
}

fn opt_str(s: Option<&String>) -> Cell<'_> {
    s.map_or(Cell::Null, |s| Cell::Str(s))
}

fn float(x: Option<f64>) -> Cell<'static> {
    x.filter(|x| x.is_finite()).map_or(Cell::Null, Cell::F64)
}

impl Cell<'_> {
    /// The field as JSON, appended to `out`.
    fn json(self, out: &mut Vec<u8>) {
        // Writing into a Vec cannot fail, and these values always serialize.
        let _ = match self {
            Cell::Null => {
                out.extend_from_slice(b"null");
                Ok(())
            }
            Cell::Str(s) => serde_json::to_writer(&mut *out, s),
            Cell::U64(n) => write!(out, "{n}").map_err(serde_json::Error::io),
            Cell::I64(n) => write!(out, "{n}").map_err(serde_json::Error::io),
            Cell::F64(x) => serde_json::to_writer(&mut *out, &x),
            Cell::Bool(b) => {
                out.extend_from_slice(if b { b"true" } else { b"false" });
                Ok(())
            }
            Cell::Params(p) => serde_json::to_writer(&mut *out, p),
        };
    }

    /// The field as CSV text (a string as it is, `null` as empty, the parameters as JSON),
    /// into `buf`.
    fn csv(self, buf: &mut Vec<u8>) -> &[u8] {
        buf.clear();
        match self {
            Cell::Null => {}
            Cell::Str(s) => buf.extend_from_slice(s.as_bytes()),
            other => other.json(buf),
        }
        buf
    }
}

fn call_row(t: RecordType, c: &CallEvent) -> Option<Vec<Cell<'_>>> {
    let params = Cell::Params(&c.parameters);
    let et = Cell::Str(event_type_name(c.event_type));
    let plugin = c.plugin.as_ref();
    Some(match t {
        RecordType::Usage => vec![
            Cell::U64(c.id),
            Cell::I64(c.timestamp_us),
            et,
            Cell::Str(&c.component),
            opt_str(plugin.map(|p| &p.name)),
            opt_str(plugin.map(|p| &p.version)),
            opt_str(plugin.map(|p| &p.sha256)),
            params,
            Cell::U64(c.data_length),
            Cell::Bool(c.success),
            Cell::Str(&c.user_id),
            Cell::Str(&c.session_id),
            opt_str(c.run_id.as_ref()),
            opt_str(c.workflow.as_ref()),
            opt_str(c.cell.as_ref()),
            float(c.truth_h),
        ],
        RecordType::Performance => {
            let p = c.performance.as_ref()?;
            vec![
                Cell::U64(c.id),
                Cell::I64(c.timestamp_us),
                et,
                Cell::Str(&c.component),
                Cell::U64(c.data_length),
                Cell::Bool(c.success),
                Cell::U64(p.wall_ns),
                Cell::U64(p.cpu_thread_ns),
                Cell::U64(p.cpu_process_ns),
                float(Some(p.cpu_percent)),
                Cell::U64(p.rss_before),
                Cell::U64(p.rss_after),
                Cell::U64(p.heap_peak),
                Cell::Str(&c.session_id),
                opt_str(c.run_id.as_ref()),
            ]
        }
        RecordType::Errors => {
            if c.success {
                return None;
            }
            let e = c.error.as_ref();
            vec![
                Cell::U64(c.id),
                Cell::I64(c.timestamp_us),
                et,
                Cell::Str(&c.component),
                Cell::Str(e.map_or("unknown", |e| e.kind.as_str())),
                Cell::Str(e.map_or("", |e| e.message.as_str())),
                opt_str(e.and_then(|e| e.location.as_ref())),
                opt_str(e.and_then(|e| e.backtrace.as_ref())),
                params,
                Cell::U64(c.data_length),
                Cell::Str(&c.user_id),
                Cell::Str(&c.session_id),
                opt_str(c.run_id.as_ref()),
            ]
        }
        RecordType::WorkflowSteps => return None,
    })
}

fn step_row(s: &StepEvent) -> Vec<Cell<'_>> {
    vec![
        Cell::U64(s.id),
        Cell::I64(s.timestamp_us),
        Cell::Str(&s.run_id),
        Cell::Str(&s.workflow),
        Cell::U64(s.seq),
        Cell::Str(s.step_type.as_str()),
        Cell::Str(&s.component),
        opt_str(s.cell.as_ref()),
        Cell::U64(s.duration_ns),
        Cell::Bool(s.success),
        Cell::Str(&s.user_id),
        Cell::Str(&s.session_id),
    ]
}

struct Sink {
    jsonl: Option<(PathBuf, BufWriter<File>)>,
    csv: Option<(PathBuf, csv::Writer<File>)>,
    columns: &'static [&'static str],
    line: Vec<u8>,
    field: Vec<u8>,
}

impl Sink {
    fn create(dir: &Path, t: RecordType, formats: &[ExportFormat]) -> Result<Sink, DashboardError> {
        let mut sink = Sink {
            jsonl: None,
            csv: None,
            columns: t.columns(),
            line: Vec::with_capacity(512),
            field: Vec::with_capacity(64),
        };
        if formats.contains(&ExportFormat::JsonLines) {
            let p = dir.join(format!("{}.jsonl", t.stem()));
            let f = File::create(&p).map_err(|e| DashboardError::io(&p, e))?;
            sink.jsonl = Some((p, BufWriter::with_capacity(1 << 16, f)));
        }
        if formats.contains(&ExportFormat::Csv) {
            let p = dir.join(format!("{}.csv", t.stem()));
            let f = File::create(&p).map_err(|e| DashboardError::io(&p, e))?;
            let mut w = csv::WriterBuilder::new()
                .buffer_capacity(1 << 16)
                .from_writer(f);
            w.write_record(t.columns())
                .map_err(|e| DashboardError::csv(&p, e))?;
            sink.csv = Some((p, w));
        }
        Ok(sink)
    }

    fn write(&mut self, row: &[Cell<'_>]) -> Result<(), DashboardError> {
        if let Some((p, w)) = &mut self.jsonl {
            let line = &mut self.line;
            line.clear();
            line.push(b'{');
            for (i, (k, v)) in self.columns.iter().zip(row).enumerate() {
                if i > 0 {
                    line.push(b',');
                }
                line.push(b'"');
                line.extend_from_slice(k.as_bytes());
                line.extend_from_slice(b"\":");
                v.json(line);
            }
            line.extend_from_slice(b"}\n");
            w.write_all(line).map_err(|e| DashboardError::io(p, e))?;
        }
        if let Some((p, w)) = &mut self.csv {
            for v in row {
                w.write_field(v.csv(&mut self.field))
                    .map_err(|e| DashboardError::csv(p, e))?;
            }
            w.write_record(None::<&[u8]>)
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

/// The four record files being written, one event at a time: an export holds one event,
/// never the period.
pub(crate) struct Exporter {
    calls: Vec<(RecordType, Sink)>,
    steps: Sink,
    privacy: Option<Identity>,
}

impl Exporter {
    /// Creates the files of `options.formats` in `dir` (created if needed).
    ///
    /// # Errors
    ///
    /// [`DashboardError`] when a file cannot be created.
    pub(crate) fn create(dir: &Path, options: &ExportOptions) -> Result<Exporter, DashboardError> {
        std::fs::create_dir_all(dir).map_err(|e| DashboardError::io(dir, e))?;
        let mut calls = Vec::new();
        for t in [
            RecordType::Usage,
            RecordType::Performance,
            RecordType::Errors,
        ] {
            calls.push((t, Sink::create(dir, t, &options.formats)?));
        }
        Ok(Exporter {
            calls,
            steps: Sink::create(dir, RecordType::WorkflowSteps, &options.formats)?,
            privacy: options.privacy.then(Identity::current),
        })
    }

    /// Writes one call's rows (sanitized first in privacy mode).
    ///
    /// # Errors
    ///
    /// [`DashboardError`] when a file cannot be written.
    pub(crate) fn call(&mut self, c: &CallEvent) -> Result<(), DashboardError> {
        let sanitized;
        let c = match &self.privacy {
            Some(who) => {
                let mut copy = c.clone();
                sanitize_call(&mut copy, who);
                sanitized = copy;
                &sanitized
            }
            None => c,
        };
        for (t, sink) in &mut self.calls {
            if let Some(row) = call_row(*t, c) {
                sink.write(&row)?;
            }
        }
        Ok(())
    }

    /// Writes one step's row (sanitized first in privacy mode).
    ///
    /// # Errors
    ///
    /// [`DashboardError`] when a file cannot be written.
    pub(crate) fn step(&mut self, s: &StepEvent) -> Result<(), DashboardError> {
        match &self.privacy {
            Some(who) => {
                let mut copy = s.clone();
                sanitize_step(&mut copy, who);
                self.steps.write(&step_row(&copy))
            }
            None => self.steps.write(&step_row(s)),
        }
    }

    /// Flushes every file; returns their paths (usage, performance, errors, workflow steps;
    /// JSON Lines before CSV).
    ///
    /// # Errors
    ///
    /// [`DashboardError`] when a file cannot be written.
    pub(crate) fn finish(self) -> Result<Vec<PathBuf>, DashboardError> {
        let mut written = Vec::new();
        for (_, sink) in self.calls {
            sink.finish(&mut written)?;
        }
        self.steps.finish(&mut written)?;
        Ok(written)
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
    let mut out = Exporter::create(dir, options)?;
    for c in calls {
        out.call(c)?;
    }
    for s in steps {
        out.step(s)?;
    }
    out.finish()
}
