//! TOML workflows and benchmark sweeps: the main job of the host.
//!
//! Data flows one way: [`spec`] parses the file (with positions) → [`plan`] resolves it against
//! the plugins into cells → [`execute`] runs the cells through the [`Invoker`] (which records
//! every call) → [`metrics`] aggregates the cell records → [`output`] writes the run directory.
//! Nothing downstream reaches back upstream.
//!
//! # Example
//!
//! ```no_run
//! use std::sync::atomic::AtomicBool;
//! use lrdbench_host::invoke::Invoker;
//! use lrdbench_host::plugin::{Catalog, PluginSources};
//! use lrdbench_host::workflow::{self, RunOptions};
//!
//! let (catalog, _) = Catalog::load(&PluginSources { dirs: vec!["target/release".into()], files: vec![] });
//! let plan = workflow::plan::load("workflows/pipeline.toml".as_ref(), &catalog)?;
//! let options = RunOptions { out_dir: None, threads: None, resume: None, progress: false };
//! let report = workflow::run(&plan, &Invoker::unrecorded(), &options, &AtomicBool::new(false))?;
//! println!("{}", report.run_dir.display());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod execute;
pub mod files;
pub mod forecast;
pub mod limits;
pub mod metrics;
pub mod output;
pub mod plan;
pub mod spec;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::{Instant, SystemTime};

use lrdbench_analytics::event::StepType;
use sha2::{Digest, Sha256};

use crate::invoke::{CallContext, Invoker, StepRecord};
use execute::{CellRecord, ExecOptions, ExecStats};
use metrics::LeaderboardRow;
use output::{MachineFacts, Manifest, PluginProvenance};
use plan::Plan;

/// Command-line overrides of a run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Output directory (overrides `[output] dir`).
    pub out_dir: Option<PathBuf>,
    /// Threads (overrides `[execution] threads`).
    pub threads: Option<usize>,
    /// An interrupted run directory to complete.
    pub resume: Option<PathBuf>,
    /// Show a progress bar.
    pub progress: bool,
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The run id.
    pub run_id: String,
    /// The run directory.
    pub run_dir: PathBuf,
    /// Execution counts and time.
    pub stats: ExecStats,
    /// The leaderboard (empty when interrupted).
    pub leaderboard: Vec<LeaderboardRow>,
    /// Cells that failed.
    pub failed_cells: usize,
    /// Cells in the plan.
    pub total_cells: usize,
}

/// Why a run could not be carried out (plugin failures are results, not errors).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// An I/O error on a run file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A run directory that cannot be resumed with this workflow.
    #[error("cannot resume {}: {reason}", dir.display())]
    Resume {
        /// The directory.
        dir: PathBuf,
        /// Why not.
        reason: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RunError + '_ {
    move |source| RunError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Current time as RFC 3339 UTC, seconds precision.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

fn new_run_id(name: &str) -> String {
    let stamp: String = now_rfc3339()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let tag = Sha256::digest(format!("{}-{nanos}", std::process::id()).as_bytes());
    format!("{clean}-{stamp}-{}", crate::plugin::hex(&tag[..3]))
}

fn read_manifest(dir: &Path) -> Result<serde_json::Value, RunError> {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).map_err(|e| RunError::Resume {
        dir: dir.to_path_buf(),
        reason: format!("no readable manifest.json ({e})"),
    })?;
    serde_json::from_str(&text).map_err(|e| RunError::Resume {
        dir: dir.to_path_buf(),
        reason: format!("manifest.json is not valid JSON ({e})"),
    })
}

/// Finds the run directory to use: the one given to resume (checked to belong to this
/// workflow), the latest unfinished run of the same workflow when `[execution] resume` is on,
/// or a new one.
fn choose_run_dir(
    plan: &Plan<'_>,
    options: &RunOptions,
    out: &Path,
) -> Result<(String, PathBuf, Option<String>), RunError> {
    let matches =
        |m: &serde_json::Value| m["workflow_sha256"].as_str() == Some(plan.sha256.as_str());
    if let Some(dir) = &options.resume {
        // A directory without any manifest was killed before its run started (directories of
        // this version never exist without one; older ones could): start it afresh. Cells
        // already in its journal are still skipped by their hashes, which cover the whole
        // specification, so nothing foreign is reused.
        if dir.is_dir() && !dir.join("manifest.json").exists() {
            let id = dir
                .file_name()
                .map(|n| n.to_string_lossy().trim_start_matches('.').to_string())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| new_run_id(&plan.name));
            return Ok((id, dir.clone(), None));
        }
        let m = read_manifest(dir)?;
        if !matches(&m) {
            return Err(RunError::Resume {
                dir: dir.clone(),
                reason: format!(
                    "it was made by a different workflow file than {}",
                    plan.path.display()
                ),
            });
        }
        let id = m["run_id"].as_str().unwrap_or_default().to_string();
        return Ok((id, dir.clone(), m["started"].as_str().map(String::from)));
    }
    if plan.execution.resume {
        let mut candidates: Vec<(String, PathBuf, serde_json::Value)> = std::fs::read_dir(out)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            // Hidden directories are runs still being created.
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .filter_map(|e| {
                let m = read_manifest(&e.path()).ok()?;
                if !matches(&m) || m["status"] == "complete" {
                    return None;
                }
                Some((m["started"].as_str()?.to_string(), e.path(), m))
            })
            .collect();
        candidates.sort_by(|a, b| a.0.cmp(&b.0));
        if let Some((started, dir, m)) = candidates.pop() {
            let id = m["run_id"].as_str().unwrap_or_default().to_string();
            return Ok((id, dir, Some(started)));
        }
    }
    let id = new_run_id(&plan.name);
    Ok((id.clone(), out.join(id), None))
}

fn manifest(plan: &Plan<'_>, run_id: &str, started: &str, threads: usize) -> Manifest {
    let mut plugins: Vec<PluginProvenance> = Vec::new();
    let mut add = |p: &crate::plugin::LoadedPlugin| {
        if !plugins.iter().any(|q| q.sha256 == p.sha256) {
            plugins.push(PluginProvenance {
                name: p.descriptor.name.to_string(),
                version: p.descriptor.version.to_string(),
                path: p.path.display().to_string(),
                sha256: p.sha256.clone(),
            });
        }
    };
    for e in &plan.estimators {
        add(e.handle.plugin);
    }
    for s in &plan.series {
        if let plan::SeriesSource::Model { handle, .. } = &s.source {
            add(handle.plugin);
        }
    }
    Manifest {
        run_id: run_id.to_string(),
        status: "running".into(),
        workflow: plan.name.clone(),
        workflow_path: plan.path.display().to_string(),
        workflow_sha256: plan.sha256.clone(),
        seed: plan.seed,
        host_version: env!("CARGO_PKG_VERSION").to_string(),
        plugins,
        machine: None,
        cells: plan.cells.len(),
        cells_done: 0,
        threads,
        started: started.to_string(),
        finished: None,
    }
}

fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<(), RunError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| RunError::Io {
        path: path.to_path_buf(),
        source: e.into(),
    })?;
    // Write, sync, then rename, so a reader (or a resumed run after a crash) never sees half a
    // manifest.
    let tmp = path.with_extension("json.tmp");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(text.as_bytes()).map_err(io(&tmp))?;
        f.sync_data().map_err(io(&tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// Creates a new run directory that is never visible without a readable manifest: the
/// directory is made under a hidden temporary name beside its final one, the manifest written
/// and synced inside it, and only then is it renamed into place.
fn create_run_dir(run_dir: &Path, man: &Manifest) -> Result<(), RunError> {
    let parent = run_dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io(parent))?;
    let name = run_dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = parent.join(format!(".{name}.partial"));
    std::fs::create_dir(&tmp).map_err(io(&tmp))?;
    write_json(&tmp.join("manifest.json"), man)?;
    std::fs::rename(&tmp, run_dir).map_err(io(run_dir))?;
    // The rename itself reaches the disk with the parent directory.
    if let Ok(d) = std::fs::File::open(parent) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Records the run as one `benchmark_run` event (the spec's `track_benchmark_run`): the
/// estimators used, the models, the success rate over cells and the total time.
fn record_benchmark_run(
    plan: &Plan<'_>,
    invoker: &Invoker,
    run_id: &str,
    records: &[CellRecord],
    stats: &ExecStats,
) {
    let Some(analytics) = invoker.analytics() else {
        return;
    };
    let valid = records.iter().filter(|r| r.valid).count();
    // Data file and inline series names are the user's: pseudonyms in privacy mode.
    let mut models: Vec<String> = plan
        .series
        .iter()
        .map(|s| match &s.source {
            plan::SeriesSource::Model { .. } => s.origin.clone(),
            _ => analytics.pseudonym(&s.id),
        })
        .collect();
    models.sort();
    models.dedup();
    let mut parameters = std::collections::BTreeMap::new();
    parameters.insert("benchmark_type".to_string(), "workflow".to_string());
    parameters.insert(
        "estimators_count".to_string(),
        plan.estimators.len().to_string(),
    );
    parameters.insert(
        "estimators".to_string(),
        plan.estimators
            .iter()
            .map(|e| e.label.as_str())
            .collect::<Vec<_>>()
            .join(","),
    );
    parameters.insert("data_models".to_string(), models.join(","));
    parameters.insert("cells".to_string(), records.len().to_string());
    parameters.insert(
        "success_rate".to_string(),
        format!(
            "{:.6}",
            if records.is_empty() {
                0.0
            } else {
                valid as f64 / records.len() as f64
            }
        ),
    );
    let wall_ns = u64::try_from(stats.elapsed.as_nanos()).unwrap_or(u64::MAX);
    analytics.record_call(lrdbench_analytics::event::CallEvent {
        id: 0,
        timestamp_us: lrdbench_analytics::now_us() - (wall_ns / 1000) as i64,
        event_type: lrdbench_analytics::event::EventType::BenchmarkRun,
        component: plan.name.clone(),
        plugin: None,
        parameters,
        data_length: records.len() as u64,
        success: valid > 0,
        user_id: String::new(),
        session_id: String::new(),
        run_id: Some(run_id.to_string()),
        workflow: Some(plan.name.clone()),
        cell: None,
        truth_h: None,
        performance: None,
        error: None,
        machine: None,
    });
}

/// Runs a plan to completion (or until `stop` is set), writing the run directory.
///
/// # Errors
///
/// [`RunError`] for file errors and unresumable directories. A failing estimator is recorded
/// in its cell and does not stop the run.
pub fn run(
    plan: &Plan<'_>,
    invoker: &Invoker,
    options: &RunOptions,
    stop: &AtomicBool,
) -> Result<RunReport, RunError> {
    let out = options
        .out_dir
        .clone()
        .unwrap_or_else(|| plan.out_dir.clone());
    let (run_id, run_dir, started) = choose_run_dir(plan, options, &out)?;
    let threads = options.threads.unwrap_or(plan.execution.threads);
    let effective_threads = if threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        threads
    };
    // The machine facts take a few hundred microseconds of /proc reads: read them beside the
    // cells, and add them to the manifest once they are needed.
    let machine = std::thread::spawn(MachineFacts::read);
    let mut man = manifest(
        plan,
        &run_id,
        &started.unwrap_or_else(now_rfc3339),
        effective_threads,
    );
    let manifest_path = run_dir.join("manifest.json");
    if run_dir.is_dir() {
        write_json(&manifest_path, &man)?;
    } else {
        create_run_dir(&run_dir, &man)?;
    }

    let journal = run_dir.join("cells.jsonl");
    let index_of: HashMap<&str, usize> = plan
        .cells
        .iter()
        .enumerate()
        .map(|(i, c)| (c.hash.as_str(), i))
        .collect();
    // The journal is the source of truth for earlier runs' cells: the first record of each
    // cell of this plan. This run's cells come back from `execute` as journaled.
    let mut records: Vec<CellRecord> = Vec::with_capacity(plan.cells.len());
    let mut done: HashSet<String> = HashSet::new();
    for mut r in execute::read_done(&journal).map_err(io(&journal))? {
        if let Some(&i) = index_of.get(r.hash.as_str()) {
            if done.insert(r.hash.clone()) {
                r.index = i;
                records.push(r);
            }
        }
    }
    let ctx = CallContext {
        run_id: Some(run_id.clone()),
        workflow: Some(plan.name.clone()),
        cell: None,
        truth_h: None,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(effective_threads)
        .build()
        .map_err(|e| RunError::Io {
            path: run_dir.clone(),
            source: std::io::Error::other(e),
        })?;
    let (stats, new_records) = execute::execute(
        plan,
        invoker,
        &ctx,
        &journal,
        &done,
        ExecOptions {
            pool: &pool,
            progress: options.progress,
        },
        stop,
    )
    .map_err(io(&journal))?;
    records.extend(new_records);
    records.sort_by_key(|r| r.index);
    man.cells_done = records.len();
    // Reading /proc cannot panic in practice; if the thread did, the facts are unknown.
    man.machine = Some(machine.join().unwrap_or_else(|_| MachineFacts::unknown()));
    let failed_cells = records.iter().filter(|r| !r.valid).count();

    if records.len() < plan.cells.len() {
        man.status = "interrupted".into();
        output::write_estimates(&run_dir.join("estimates.csv"), &run_id, &records)
            .map_err(io(&run_dir.join("estimates.csv")))?;
        write_json(&manifest_path, &man)?;
        return Ok(RunReport {
            run_id,
            run_dir,
            stats,
            leaderboard: Vec::new(),
            failed_cells,
            total_cells: plan.cells.len(),
        });
    }

    let report_start = Instant::now();
    man.status = "complete".into();
    man.finished = Some(now_rfc3339());
    let wants = |f: &str| plan.formats.iter().any(|x| x == f);
    let path = |name: &str| run_dir.join(name);
    let write = |name: &str, text: &str| std::fs::write(path(name), text).map_err(io(&path(name)));
    let rows: Vec<String> = plan.estimators.iter().map(|e| e.label.clone()).collect();
    // The outputs are independent once the metrics exist; they are written side by side in the
    // run's pool (so a one-thread run stays on one thread).
    let (estimates, rest) = pool.install(|| {
        rayon::join(
            || {
                if wants("csv") {
                    output::write_estimates(&path("estimates.csv"), &run_id, &records)
                        .map_err(io(&path("estimates.csv")))
                } else {
                    Ok(())
                }
            },
            || -> Result<Vec<LeaderboardRow>, RunError> {
                let evaluate_start = Instant::now();
                let metric_rows = metrics::compute(&records, &rows, &plan.metrics.strata);
                let overall: Vec<metrics::MetricRow> = metric_rows
                    .iter()
                    .filter(|m| m.stratum.values().all(|v| v == "all"))
                    .cloned()
                    .collect();
                let board = metrics::leaderboard(&overall, &plan.weights);
                invoker.record_step(
                    &ctx,
                    StepRecord {
                        step_type: StepType::Evaluate,
                        component: "metrics",
                        cell: None,
                        duration: evaluate_start.elapsed(),
                        success: true,
                    },
                );
                let (tables, html) = rayon::join(
                    || -> Result<(), RunError> {
                        if wants("csv") {
                            output::write_metrics(
                                &path("metrics.csv"),
                                &metric_rows,
                                &plan.metrics.strata,
                            )
                            .map_err(io(&path("metrics.csv")))?;
                            output::write_leaderboard_csv(&path("leaderboard.csv"), &board)
                                .map_err(io(&path("leaderboard.csv")))?;
                        }
                        if wants("md") {
                            let md =
                                output::leaderboard_markdown(&plan.name, &board, &plan.weights, &records, &rows);
                            write("leaderboard.md", &md)?;
                        }
                        if wants("json") {
                            write_json(
                                &path("metrics.json"),
                                &serde_json::json!({ "metrics": metric_rows, "leaderboard": board }),
                            )?;
                        }
                        Ok(())
                    },
                    || -> Result<(), RunError> {
                        if wants("html") {
                            let html = output::report_html(
                                &man,
                                &board,
                                &plan.weights,
                                &metric_rows,
                                &records,
                                &rows,
                            );
                            write("report.html", &html)?;
                        }
                        Ok(())
                    },
                );
                tables?;
                html?;
                Ok(board)
            },
        )
    });
    estimates?;
    let board = rest?;
    write_json(&manifest_path, &man)?;
    invoker.record_step(
        &ctx,
        StepRecord {
            step_type: StepType::Report,
            component: "outputs",
            cell: None,
            duration: report_start.elapsed(),
            success: true,
        },
    );
    record_benchmark_run(plan, invoker, &run_id, &records, &stats);
    Ok(RunReport {
        run_id,
        run_dir,
        stats,
        leaderboard: board,
        failed_cells,
        total_cells: plan.cells.len(),
    })
}
