//! Running a plan: series are produced once each, contaminated per variant, and every
//! estimator cell runs in a rayon pool. Finished cells are appended to `cells.jsonl` in the run
//! directory as they complete (buffered, written at least every 50 ms), so a stopped run loses
//! nothing, a killed one at most its last 50 ms, and `--resume` skips what is done. Results do not depend on the thread count or order: each cell is a pure function of
//! its plan entry and seed.

use std::collections::{BTreeMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use lrdbench_analytics::event::StepType;
use lrdbench_plugin_api::{CiMethod, Param, ParamValue};
use rayon::prelude::*;

use super::plan::{params_text, Cell, Plan, SeriesPlan, SeriesSource};
use super::quarantine::{self, Gate, NOT_CALLED};
use crate::contamination;
use crate::invoke::{CallContext, CallError, Invoker, StepRecord};

pub(crate) use super::record::CellRecord;

/// Options of one execution.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExecOptions<'p> {
    /// The worker pool the cells run in (its size is the run's thread count).
    pub pool: &'p rayon::ThreadPool,
    /// Show a progress bar on standard error.
    pub progress: bool,
}

/// What an execution did.
#[derive(Debug, Clone)]
pub struct ExecStats {
    /// Cells run now.
    pub ran: usize,
    /// Cells skipped because a previous, interrupted run had done them.
    pub skipped: usize,
    /// Whether the run was interrupted before every cell was done.
    pub interrupted: bool,
    /// Wall time of the execution.
    pub elapsed: Duration,
}

/// Reads the cells already done in `cells.jsonl` (a torn last line, from a kill mid-write, is
/// ignored: that cell simply runs again).
pub(crate) fn read_done(path: &Path) -> std::io::Result<Vec<CellRecord>> {
    let text = read_journal(path)?;
    Ok(done_lines(&text).map(|(record, _)| record).collect())
}

/// The bytes of the journal at `path` (empty when there is none yet).
pub(crate) fn read_journal(path: &Path) -> std::io::Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(t) => Ok(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// The readable records of a journal's bytes, each with its line (without the newline), so a
/// merge can copy the line as it is instead of writing the record anew.
pub(crate) fn done_lines(text: &[u8]) -> impl Iterator<Item = (CellRecord, &[u8])> {
    text.split(|&b| b == b'\n')
        .filter_map(|line| Some((serde_json::from_slice::<CellRecord>(line).ok()?, line)))
}

/// How long a finished cell may wait in memory before it is written to the journal.
const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// Buffered journal bytes that trigger a write regardless of time.
const FLUSH_BYTES: usize = 64 * 1024;

/// The cell journal. Lines are buffered and appended with one `write` once [`FLUSH_EVERY`] has
/// passed since the last write or [`FLUSH_BYTES`] are waiting, by the worker that finishes a
/// cell or by a ticker thread while the workers are busy with long cells. A kill loses at most
/// the cells of the last [`FLUSH_EVERY`], which a resumed run simply runs again; a clean stop
/// (Ctrl-C) loses nothing.
struct Journal {
    state: Mutex<JournalState>,
}

struct JournalState {
    file: File,
    buffer: Vec<u8>,
    last_write: Instant,
    error: Option<std::io::Error>,
}

impl Journal {
    fn new(file: File) -> Journal {
        Journal {
            state: Mutex::new(JournalState {
                file,
                buffer: Vec::with_capacity(FLUSH_BYTES + 4096),
                last_write: Instant::now(),
                error: None,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, JournalState> {
        // The lock is never held across a plugin call, and the buffer only ever holds whole
        // lines, so a poisoned lock still guards consistent state.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends one line, serialized by the caller outside the lock.
    fn append(&self, line: &[u8]) {
        let mut st = self.lock();
        st.buffer.extend_from_slice(line);
        if st.buffer.len() >= FLUSH_BYTES || st.last_write.elapsed() >= FLUSH_EVERY {
            st.write_out();
        }
    }

    /// Writes what waits, if it has waited long enough.
    fn write_if_stale(&self) {
        let mut st = self.lock();
        if !st.buffer.is_empty() && st.last_write.elapsed() >= FLUSH_EVERY {
            st.write_out();
        }
    }

    /// Writes everything that waits and returns the first error met.
    fn finish(self) -> std::io::Result<()> {
        let mut st = self.state.into_inner().unwrap_or_else(|e| e.into_inner());
        st.write_out();
        st.error.map_or(Ok(()), Err)
    }
}

impl JournalState {
    fn write_out(&mut self) {
        if !self.buffer.is_empty() && self.error.is_none() {
            // One append of whole lines: a reader, or a resumed run, sees whole cells, except
            // for a torn last line after a kill mid-write, which `read_done` skips.
            if let Err(e) = self.file.write_all(&self.buffer) {
                self.error = Some(e);
            }
        }
        self.buffer.clear();
        self.last_write = Instant::now();
    }
}

thread_local! {
    /// Scratch for serializing journal lines on the worker threads.
    static LINE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// What every cell needs, shared by the workers.
struct Shared<'a, 'c> {
    plan: &'a Plan<'c>,
    invoker: &'a Invoker,
    ctx: &'a CallContext,
    /// Per estimator row: the text of its parameters when every cell uses the plan's
    /// parameters unchanged (no seed to fill), computed once.
    params_text: Vec<Option<String>>,
    /// Whether calls are recorded: the per-cell call context only feeds the records.
    recording: bool,
    journal: &'a Journal,
    bar: Option<&'a ProgressBar>,
    stop: &'a AtomicBool,
    /// Quarantine in plan order, when calls are isolated.
    gate: Option<Gate>,
}

impl Shared<'_, '_> {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Journals a finished cell and hands it on.
    fn finish(&self, record: CellRecord) -> CellRecord {
        LINE.with_borrow_mut(|line| {
            line.clear();
            // Serializing this type cannot fail (string keys, plain fields); if it ever did,
            // the cell would only be missing from the journal and run again on resume.
            if serde_json::to_writer(&mut *line, &record).is_ok() {
                line.push(b'\n');
                self.journal.append(line);
            }
        });
        if let Some(bar) = self.bar {
            bar.inc(1);
        }
        record
    }
}

/// Runs every cell of `plan` not in `done`, journaling each result to `journal` as it
/// finishes, and returns what it did with the new records in plan order. Stops scheduling new
/// cells when `stop` becomes true.
///
/// # Errors
///
/// I/O errors of the journal. Failures of plugins are results, not errors.
pub(crate) fn execute(
    plan: &Plan<'_>,
    invoker: &Invoker,
    ctx: &CallContext,
    journal: &Path,
    done: &HashSet<String>,
    options: ExecOptions<'_>,
    stop: &AtomicBool,
) -> std::io::Result<(ExecStats, Vec<CellRecord>)> {
    let start = Instant::now();
    let mut todo: Vec<usize> = (0..plan.cells.len())
        .filter(|&i| !done.contains(&plan.cells[i].hash))
        .collect();
    let skipped = plan.cells.len() - todo.len();
    // Group the remaining cells by series (a series is produced once), and within a series by
    // contamination (a variant is applied once). The sort is stable: plan order holds inside
    // each group.
    todo.sort_by_key(|&i| (plan.cells[i].series, plan.cells[i].contamination));
    let groups: Vec<&[usize]> = todo
        .chunk_by(|&a, &b| plan.cells[a].series == plan.cells[b].series)
        .collect();

    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(journal)?;
    // A kill mid-write can leave a torn last line; start on a fresh line so the first new
    // record is not glued to it (the torn fragment is then skipped as unreadable).
    if ends_without_newline(&mut file)? {
        file.write_all(b"\n")?;
    }
    let journal = Journal::new(file);
    let bar = options
        .progress
        .then(|| progress_bar(plan.cells.len() as u64, skipped as u64));
    let shared = Shared {
        plan,
        invoker,
        ctx,
        params_text: plan
            .estimators
            .iter()
            .map(|e| (!e.fill_seed).then(|| params_text(&e.params)))
            .collect(),
        recording: invoker.analytics().is_some_and(|a| a.is_recording()),
        journal: &journal,
        bar: bar.as_ref(),
        stop,
        gate: Gate::new(plan, quarantine::limit_of(invoker)),
    };
    let supervisor = quarantine::take_over(invoker, shared.gate.is_some());

    let finished = AtomicBool::new(false);
    let mut records: Vec<CellRecord> = std::thread::scope(|scope| {
        let ticker = scope.spawn(|| {
            while !finished.load(Ordering::Acquire) {
                std::thread::park_timeout(FLUSH_EVERY);
                shared.journal.write_if_stale();
            }
        });
        // Each worker collects its own results; rayon merges them in order, so no lock is
        // shared on the result path.
        let per_series: Vec<Vec<CellRecord>> = options.pool.install(|| {
            groups
                .par_iter()
                .map(|cells| {
                    if shared.stopped() {
                        return Vec::new();
                    }
                    run_series(&shared, cells)
                })
                .collect()
        });
        finished.store(true, Ordering::Release);
        ticker.thread().unpark();
        // The ticker only writes; should it have panicked, `finish` below writes what waits.
        let _ = ticker.join();
        per_series.into_iter().flatten().collect()
    });
    quarantine::hand_back(supervisor);
    journal.finish()?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    records.sort_by_key(|r| r.index);
    let ran = records.len();
    Ok((
        ExecStats {
            ran,
            skipped,
            interrupted: skipped + ran < plan.cells.len(),
            elapsed: start.elapsed(),
        },
        records,
    ))
}

fn ends_without_newline(file: &mut File) -> std::io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    let len = file.seek(SeekFrom::End(0))?;
    if len == 0 {
        return Ok(false);
    }
    file.seek(SeekFrom::End(-1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    Ok(last[0] != b'\n')
}

/// `x` with `digits` significant digits and no exponent: 1234 → "1234", 12.345 → "12.3",
/// 0.012345 → "0.0123".
pub(crate) fn significant(x: f64, digits: i32) -> String {
    if !x.is_finite() || x == 0.0 {
        return "0".into();
    }
    let magnitude = x.abs().log10().floor() as i32;
    let decimals = (digits - 1 - magnitude).max(0) as usize;
    format!("{x:.decimals$}")
}

fn progress_bar(total: u64, done: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{bar:32} {pos}/{len} cells  {rate}  {elapsed_precise} elapsed, ~{eta} left",
    ) {
        // Three significant digits: indicatif's own {per_sec} prints four decimals.
        bar.set_style(style.with_key(
            "rate",
            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{}/s", significant(state.per_sec(), 3));
            },
        ));
    }
    bar.set_position(done);
    bar.reset_eta();
    bar
}

/// The series as the estimators see it, with its truth.
struct Input {
    values: Arc<Vec<f64>>,
    truth: BTreeMap<String, f64>,
}

fn produce(
    plan: &Plan<'_>,
    s: &SeriesPlan<'_>,
    invoker: &Invoker,
    ctx: &CallContext,
) -> Result<Input, CallError> {
    let started = Instant::now();
    let result = match &s.source {
        SeriesSource::Model { handle, params } => invoker
            .generate(handle, s.length as u64, s.seed, params, ctx)
            .map(|g| {
                let mut truth = s.truth.clone();
                for t in g.truth.iter() {
                    truth.insert(t.name.to_string(), t.value);
                }
                Input {
                    values: Arc::new(g.values.into_vec()),
                    truth,
                }
            }),
        SeriesSource::File { path, column } => crate::data::read_series(path, column.as_ref())
            .map(|v| Input {
                values: Arc::new(v),
                truth: s.truth.clone(),
            })
            .map_err(|e| CallError {
                kind: crate::invoke::CallErrorKind::Plugin(
                    lrdbench_plugin_api::ErrorKind::InvalidInput,
                ),
                message: e.to_string(),
            }),
        SeriesSource::Inline { values } => Ok(Input {
            values: values.clone(),
            truth: s.truth.clone(),
        }),
    };
    if matches!(s.source, SeriesSource::Model { .. }) {
        invoker.record_step(
            ctx,
            StepRecord {
                step_type: StepType::Generate,
                component: &s.origin,
                cell: Some(&s.id),
                duration: started.elapsed(),
                success: result.is_ok(),
            },
        );
    }
    let _ = plan;
    result
}

/// Runs the cells of one series (`cells`: plan indices, grouped by contamination).
fn run_series(sh: &Shared<'_, '_>, cells: &[usize]) -> Vec<CellRecord> {
    let plan = sh.plan;
    let s = &plan.series[plan.cells[cells[0]].series];
    let produced = produce(plan, s, sh.invoker, sh.ctx);
    let groups: Vec<&[usize]> = cells
        .chunk_by(|&a, &b| plan.cells[a].contamination == plan.cells[b].contamination)
        .collect();
    let mut per_variant: Vec<Vec<CellRecord>> = groups
        .par_iter()
        .map(|cell_ids| {
            if sh.stopped() {
                return Vec::new();
            }
            let ci = plan.cells[cell_ids[0]].contamination;
            let contaminated = match &produced {
                Ok(clean) => contaminate(plan, s, ci, clean, sh.invoker, sh.ctx),
                Err(e) => Err(e.clone()),
            };
            let input: Result<&Input, &CallError> = match (&produced, &contaminated) {
                (_, Ok(Some(c))) => Ok(c),
                (Ok(clean), Ok(None)) => Ok(clean),
                (_, Err(e)) | (Err(e), Ok(None)) => Err(e),
            };
            cell_ids
                .par_iter()
                .filter_map(|&i| {
                    if sh.stopped() {
                        return None;
                    }
                    let record = run_cell(sh, i, &plan.cells[i], input);
                    if let Some(gate) = &sh.gate {
                        gate.note(i, &record);
                    }
                    Some(sh.finish(record))
                })
                .collect()
        })
        .collect();
    if per_variant.len() == 1 {
        return per_variant.pop().unwrap_or_default();
    }
    per_variant.into_iter().flatten().collect()
}

/// The series of contamination variant `ci`, or `None` for the clean variant (the produced
/// series itself, not a copy).
fn contaminate(
    plan: &Plan<'_>,
    s: &SeriesPlan<'_>,
    ci: usize,
    input: &Input,
    invoker: &Invoker,
    ctx: &CallContext,
) -> Result<Option<Input>, CallError> {
    let c = &plan.contaminations[ci];
    let Some(name) = &c.name else {
        return Ok(None);
    };
    let started = Instant::now();
    let mut values = input.values.as_ref().clone();
    let seed = super::plan::derive_seed(s.seed, &["contamination", &c.id]);
    let result = contamination::apply(name, &c.params, &mut values, seed).map_err(|e| CallError {
        kind: crate::invoke::CallErrorKind::Plugin(lrdbench_plugin_api::ErrorKind::Parameter),
        message: format!("contamination {}: {e}", c.id),
    });
    invoker.record_step(
        ctx,
        StepRecord {
            step_type: StepType::Contaminate,
            component: name,
            cell: Some(&s.id),
            duration: started.elapsed(),
            success: result.is_ok(),
        },
    );
    result.map(|()| {
        Some(Input {
            values: Arc::new(values),
            truth: input.truth.clone(),
        })
    })
}

fn run_cell(
    sh: &Shared<'_, '_>,
    index: usize,
    cell: &Cell,
    input: Result<&Input, &CallError>,
) -> CellRecord {
    let plan = sh.plan;
    let s = &plan.series[cell.series];
    let e = &plan.estimators[cell.estimator];
    let filled: Vec<Param>;
    let (params, text) = match &sh.params_text[cell.estimator] {
        Some(text) => (e.params.as_slice(), text.clone()),
        None => {
            filled = cell_params(&e.params, cell.seed);
            let text = params_text(&filled);
            (filled.as_slice(), text)
        }
    };
    let mut record = CellRecord {
        index,
        hash: cell.hash.clone(),
        series_id: s.id.clone(),
        origin: s.origin.clone(),
        truth: input.map_or_else(|_| s.truth.clone(), |i| i.truth.clone()),
        length: input.map_or(s.length, |i| i.values.len()),
        contamination: plan.contaminations[cell.contamination].id.clone(),
        estimator: e.handle.name().to_string(),
        variant: e.label.clone(),
        params: text,
        estimand: e.handle.descriptor.estimand.to_string(),
        value: None,
        stderr: None,
        ci_low: None,
        ci_high: None,
        ci_level: None,
        ci_method: None,
        r_squared: None,
        valid: false,
        error_kind: None,
        error_message: None,
        elapsed_ms: 0.0,
        warnings: Vec::new(),
    };
    let input = match input {
        Ok(i) => i,
        Err(err) => {
            record.error_kind = Some(err.kind.as_str().to_string());
            record.error_message = Some(format!("{NOT_CALLED}{}", err.message));
            return record;
        }
    };
    if sh.gate.as_ref().is_some_and(|g| g.refuses(index)) {
        quarantine::refuse(&mut record);
        return record;
    }
    let cell_ctx = sh.recording.then(|| CallContext {
        cell: Some(format!("{}|{}|{}", s.id, record.contamination, e.label)),
        truth_h: input.truth.get("H").copied(),
        ..sh.ctx.clone()
    });
    let call_ctx = cell_ctx.as_ref().unwrap_or(sh.ctx);
    let started = Instant::now();
    let (outcome, own_time) = sh
        .invoker
        .estimate_timed(&e.handle, &input.values, params, call_ctx);
    let elapsed = started.elapsed();
    // The estimator's time: a worker's own measurement when the call was isolated, so an
    // isolated or process plugin is timed like an in-process one (not with its pipe and its
    // worker's start-up); the step below keeps the host's view.
    record.elapsed_ms = own_time.unwrap_or(elapsed).as_secs_f64() * 1e3;
    sh.invoker.record_step(
        sh.ctx,
        StepRecord {
            step_type: StepType::Estimate,
            component: &e.label,
            cell: call_ctx.cell.as_deref(),
            duration: elapsed,
            success: outcome.is_ok(),
        },
    );
    match outcome {
        Ok(est) => {
            let ci = est.ci.into_option();
            record.value = Some(est.value);
            record.stderr = est.stderr.into_option();
            record.ci_low = ci.map(|c| c.low);
            record.ci_high = ci.map(|c| c.high);
            record.ci_level = ci.map(|c| c.level);
            record.ci_method = Some(CiMethod::name_of(ci.as_ref()).to_string());
            record.r_squared = est.r_squared.into_option();
            record.warnings = est.warnings.iter().map(|w| w.to_string()).collect();
            record.valid = true;
        }
        Err(err) => {
            record.error_kind = Some(err.kind.as_str().to_string());
            record.error_message = Some(err.message);
        }
    }
    record
}

/// The parameters of one cell of a row that fills the seed: the plan's, with `seed` set to
/// the cell's seed (the estimator declares one and the workflow left it unset).
fn cell_params(params: &[Param], seed: u64) -> Vec<Param> {
    let mut out = params.to_vec();
    if let Some(p) = out.iter_mut().find(|p| p.name == "seed") {
        // Seeds are declared as non-negative i64; keep the top bit clear.
        p.value = ParamValue::Int((seed >> 1) as i64);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(index: usize, value: f64) -> CellRecord {
        CellRecord {
            index,
            hash: format!("{index:064x}"),
            series_id: "fgn[H=0.7]/n=1024/r=0".into(),
            origin: "fgn".into(),
            truth: [("H".to_string(), 0.7)].into_iter().collect(),
            length: 1024,
            contamination: "clean".into(),
            estimator: "dfa".into(),
            variant: "dfa/order2".into(),
            params: "order=2".into(),
            estimand: "H".into(),
            value: Some(value),
            stderr: Some(value / 37.0),
            ci_low: Some(value - 0.1 / 3.0),
            ci_high: Some(value + 0.1 / 3.0),
            ci_level: Some(0.95),
            ci_method: Some("calibrated".into()),
            r_squared: Some(1.0 - 1e-3 / 7.0),
            valid: true,
            error_kind: None,
            error_message: None,
            elapsed_ms: 1.0 / 3.0,
            warnings: vec!["short series".into()],
        }
    }

    #[test]
    fn journaled_cells_read_back_bit_identical() {
        // A resumed run mixes cells read from the journal with cells computed now; the outputs
        // equal an uninterrupted run's only if every f64 survives the JSON round trip exactly.
        // These values need all 17 significant digits.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cells.jsonl");
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap();
        let journal = Journal::new(file);
        let mut x = 0.123_456_789_012_345_68_f64;
        let mut written = Vec::new();
        for i in 0..2000 {
            x = (x * 3.987_654_321).fract() + 0.01;
            let r = record(i, x);
            let mut line = serde_json::to_vec(&r).unwrap();
            line.push(b'\n');
            journal.append(&line);
            written.push(r);
        }
        journal.finish().unwrap();
        let read = read_done(&path).unwrap();
        assert_eq!(read.len(), written.len());
        for (a, b) in read.iter().zip(&written) {
            assert_eq!(a, b);
            assert_eq!(a.value.map(f64::to_bits), b.value.map(f64::to_bits));
        }
    }

    #[test]
    fn a_torn_last_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cells.jsonl");
        let whole = serde_json::to_string(&record(0, 0.5)).unwrap();
        let torn = serde_json::to_string(&record(1, 0.5)).unwrap();
        std::fs::write(&path, format!("{whole}\n{}", &torn[..40])).unwrap();
        assert_eq!(read_done(&path).unwrap(), vec![record(0, 0.5)]);
    }
}

#[cfg(test)]
mod significant_tests {
    use super::significant;

    #[test]
    fn rates_print_three_significant_digits() {
        assert_eq!(significant(1234.567, 3), "1235");
        assert_eq!(significant(12.3456, 3), "12.3");
        assert_eq!(significant(0.012345, 3), "0.0123");
        assert_eq!(significant(0.0, 3), "0");
    }
}
