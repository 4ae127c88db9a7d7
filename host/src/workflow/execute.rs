//! Running a plan: series are produced once each, contaminated per variant, and every
//! estimator cell runs in a rayon pool. Finished cells are appended to `cells.jsonl` in the run
//! directory as they complete, so an interrupted run loses nothing and `--resume` skips what is
//! done. Results do not depend on the thread count or order: each cell is a pure function of
//! its plan entry and seed.

use std::collections::{BTreeMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use lrdbench_analytics::event::StepType;
use lrdbench_plugin_api::{Param, ParamValue};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::plan::{params_text, Cell, Plan, SeriesPlan, SeriesSource};
use crate::contamination;
use crate::invoke::{CallContext, CallError, Invoker, StepRecord};

/// The outcome of one cell, as written to `cells.jsonl` and `estimates.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellRecord {
    /// Position of the cell in the plan.
    pub index: usize,
    /// SHA-256 of the cell's specification.
    pub hash: String,
    /// The series.
    pub series_id: String,
    /// Model, file or inline label of the series.
    pub origin: String,
    /// True parameters of the series (H, d, ...), when known.
    pub truth: BTreeMap<String, f64>,
    /// Length of the series the estimator saw.
    pub length: usize,
    /// `clean` or the contamination variant.
    pub contamination: String,
    /// The estimator's name.
    pub estimator: String,
    /// The estimator row (`dfa` or `dfa/order2`).
    pub variant: String,
    /// The parameters used, `a=1,b=2`.
    pub params: String,
    /// What the estimator estimates.
    pub estimand: String,
    /// The estimate, when valid.
    pub value: Option<f64>,
    /// Its standard error.
    pub stderr: Option<f64>,
    /// Lower end of its interval.
    pub ci_low: Option<f64>,
    /// Upper end of its interval.
    pub ci_high: Option<f64>,
    /// Nominal level of its interval.
    pub ci_level: Option<f64>,
    /// r² of the scaling fit.
    pub r_squared: Option<f64>,
    /// Whether the cell produced a usable estimate.
    pub valid: bool,
    /// The typed error kind when it did not.
    pub error_kind: Option<String>,
    /// The error message when it did not.
    pub error_message: Option<String>,
    /// Wall time of the estimator call, milliseconds.
    pub elapsed_ms: f64,
    /// Warnings of the estimate.
    pub warnings: Vec<String>,
}

impl CellRecord {
    /// The true value of this cell's estimand, when the series' truth gives it (`d` is
    /// derived from `H` as `H − 1/2` when only `H` is known, and vice versa).
    pub fn truth_value(&self) -> Option<f64> {
        let t = &self.truth;
        t.get(&self.estimand)
            .copied()
            .or_else(|| match self.estimand.as_str() {
                "d" => t.get("H").map(|h| h - 0.5),
                "H" => t.get("d").map(|d| d + 0.5),
                _ => None,
            })
    }
}

/// Options of one execution.
#[derive(Debug, Clone)]
pub struct ExecOptions {
    /// Worker threads (0: one per core).
    pub threads: usize,
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
pub fn read_done(path: &Path) -> std::io::Result<Vec<CellRecord>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for line in BufReader::new(file).lines() {
        let line = line?;
        if let Ok(r) = serde_json::from_str::<CellRecord>(&line) {
            out.push(r);
        }
    }
    Ok(out)
}

/// Runs every cell of `plan` not in `done`, appending each result to `journal` as it finishes.
/// Stops scheduling new series when `stop` becomes true.
///
/// # Errors
///
/// I/O errors of the journal. Failures of plugins are results, not errors.
pub fn execute(
    plan: &Plan<'_>,
    invoker: &Invoker,
    ctx: &CallContext,
    journal: &Path,
    done: &HashSet<String>,
    options: &ExecOptions,
    stop: &AtomicBool,
) -> std::io::Result<ExecStats> {
    let start = Instant::now();
    let todo: Vec<usize> = (0..plan.cells.len())
        .filter(|&i| !done.contains(&plan.cells[i].hash))
        .collect();
    let skipped = plan.cells.len() - todo.len();
    // Group the remaining cells by series: a series is produced once.
    let mut by_series: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &i in &todo {
        by_series.entry(plan.cells[i].series).or_default().push(i);
    }

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
    let (tx, rx) = mpsc::channel::<CellRecord>();
    let bar = progress_bar(plan.cells.len() as u64, skipped as u64, options.progress);
    let writer_bar = bar.clone();
    let writer = std::thread::spawn(move || -> std::io::Result<usize> {
        let mut n = 0;
        for record in rx {
            let mut line = serde_json::to_vec(&record).map_err(std::io::Error::other)?;
            line.push(b'\n');
            // One write per cell: a finished cell is in the page cache before the next starts,
            // so it survives the host being killed.
            file.write_all(&line)?;
            writer_bar.inc(1);
            n += 1;
        }
        file.flush()?;
        Ok(n)
    });

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.threads)
        .build()
        .map_err(std::io::Error::other)?;
    let groups: Vec<(usize, Vec<usize>)> = by_series.into_iter().collect();
    pool.install(|| {
        groups
            .par_iter()
            .for_each_with(tx, |tx, (series_index, cells)| {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                run_series(plan, invoker, ctx, *series_index, cells, tx, stop);
            });
    });
    let ran = writer
        .join()
        .map_err(|_| std::io::Error::other("result writer panicked"))??;
    bar.finish_and_clear();
    Ok(ExecStats {
        ran,
        skipped,
        interrupted: skipped + ran < plan.cells.len(),
        elapsed: start.elapsed(),
    })
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

fn progress_bar(total: u64, done: u64, visible: bool) -> ProgressBar {
    if !visible {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{bar:32} {pos}/{len} cells  {per_sec}  {elapsed_precise} elapsed, ~{eta} left",
    ) {
        bar.set_style(style);
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

fn run_series(
    plan: &Plan<'_>,
    invoker: &Invoker,
    ctx: &CallContext,
    series_index: usize,
    cells: &[usize],
    tx: &mut mpsc::Sender<CellRecord>,
    stop: &AtomicBool,
) {
    let s = &plan.series[series_index];
    let produced = produce(plan, s, invoker, ctx);
    // Cells of one series, grouped by contamination variant.
    let mut by_contamination: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &i in cells {
        by_contamination
            .entry(plan.cells[i].contamination)
            .or_default()
            .push(i);
    }
    let groups: Vec<(usize, Vec<usize>)> = by_contamination.into_iter().collect();
    groups
        .par_iter()
        .for_each_with(tx.clone(), |tx, (ci, cell_ids)| {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let input = match &produced {
                Ok(input) => contaminate(plan, s, *ci, input, invoker, ctx),
                Err(e) => Err(e.clone()),
            };
            cell_ids.par_iter().for_each_with(tx.clone(), |tx, &i| {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let record = run_cell(plan, invoker, ctx, i, &plan.cells[i], &input);
                // The receiver lives until every sender is gone.
                let _ = tx.send(record);
            });
        });
}

fn contaminate(
    plan: &Plan<'_>,
    s: &SeriesPlan<'_>,
    ci: usize,
    input: &Input,
    invoker: &Invoker,
    ctx: &CallContext,
) -> Result<Input, CallError> {
    let c = &plan.contaminations[ci];
    let Some(name) = &c.name else {
        return Ok(Input {
            values: input.values.clone(),
            truth: input.truth.clone(),
        });
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
    result.map(|()| Input {
        values: Arc::new(values),
        truth: input.truth.clone(),
    })
}

fn run_cell(
    plan: &Plan<'_>,
    invoker: &Invoker,
    ctx: &CallContext,
    index: usize,
    cell: &Cell,
    input: &Result<Input, CallError>,
) -> CellRecord {
    let s = &plan.series[cell.series];
    let e = &plan.estimators[cell.estimator];
    let params = cell_params(e.params.as_slice(), e.fill_seed, cell.seed);
    let mut record = CellRecord {
        index,
        hash: cell.hash.clone(),
        series_id: s.id.clone(),
        origin: s.origin.clone(),
        truth: input
            .as_ref()
            .map(|i| i.truth.clone())
            .unwrap_or_else(|_| s.truth.clone()),
        length: input.as_ref().map(|i| i.values.len()).unwrap_or(s.length),
        contamination: plan.contaminations[cell.contamination].id.clone(),
        estimator: e.handle.name().to_string(),
        variant: e.label.clone(),
        params: params_text(&params),
        estimand: e.handle.descriptor.estimand.to_string(),
        value: None,
        stderr: None,
        ci_low: None,
        ci_high: None,
        ci_level: None,
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
            record.error_message = Some(format!("series not available: {}", err.message));
            return record;
        }
    };
    let cell_ctx = CallContext {
        cell: Some(format!("{}|{}|{}", s.id, record.contamination, e.label)),
        truth_h: input.truth.get("H").copied(),
        ..ctx.clone()
    };
    let started = Instant::now();
    let outcome = invoker.estimate(&e.handle, &input.values, &params, &cell_ctx);
    let elapsed = started.elapsed();
    record.elapsed_ms = elapsed.as_secs_f64() * 1e3;
    invoker.record_step(
        ctx,
        StepRecord {
            step_type: StepType::Estimate,
            component: &e.label,
            cell: cell_ctx.cell.as_deref(),
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

/// The estimator's parameters for one cell: the plan's, with `seed` set to the cell's seed
/// when the estimator declares one the workflow left unset.
fn cell_params(params: &[Param], fill_seed: bool, seed: u64) -> Vec<Param> {
    let mut out = params.to_vec();
    if fill_seed {
        if let Some(p) = out.iter_mut().find(|p| p.name == "seed") {
            // Seeds are declared as non-negative i64; keep the top bit clear.
            p.value = ParamValue::Int((seed >> 1) as i64);
        }
    }
    out
}
