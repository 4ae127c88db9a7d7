//! TOML workflows and benchmark sweeps: the main job of the host.
//!
//! Data flows one way: [`spec`] parses the file (with positions) → [`plan`] resolves it against
//! the plugins into cells → `execute` runs the cells through the [`Invoker`] (which records
//! every call) → `metrics` aggregates the cell records → `output` writes the run directory.
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

pub(crate) mod execute;
pub(crate) mod files;
pub mod forecast;
pub mod limits;
pub mod merge;
pub(crate) mod metrics;
pub(crate) mod output;
pub mod plan;
pub(crate) mod quarantine;
pub mod record;
pub mod shard;
pub mod spec;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::{Instant, SystemTime};

use lrdbench_analytics::event::StepType;
use sha2::{Digest, Sha256};

use crate::invoke::{CallContext, Invoker, StepRecord};
use crate::isolate::QuarantineNotice;
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

fn read_manifest(dir: &Path) -> Result<Manifest, RunError> {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).map_err(|e| RunError::Resume {
        dir: dir.to_path_buf(),
        reason: format!("no readable manifest.json ({e})"),
    })?;
    serde_json::from_str(&text).map_err(|e| RunError::Resume {
        dir: dir.to_path_buf(),
        reason: format!("manifest.json is not a valid run manifest ({e})"),
    })
}

/// Finds the run directory to use: the one given to resume (checked to belong to this
/// workflow), the latest unfinished run of the same workflow when `[execution] resume` is on,
/// or a new one. Returns the run id, the directory and the start time of a resumed run.
fn choose_run_dir(
    plan: &Plan<'_>,
    options: &RunOptions,
    out: &Path,
) -> Result<(String, PathBuf, Option<String>), RunError> {
    if let Some(dir) = &options.resume {
        return resume_dir(plan, dir);
    }
    if plan.execution.resume {
        if let Some((dir, m)) = latest_unfinished(plan, out) {
            return Ok((m.run_id, dir, Some(m.started)));
        }
    }
    let id = new_run_id(&plan.name);
    Ok((id.clone(), out.join(id), None))
}

/// The run directory `dir` given to resume, checked to belong to this workflow.
fn resume_dir(plan: &Plan<'_>, dir: &Path) -> Result<(String, PathBuf, Option<String>), RunError> {
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
        return Ok((id, dir.to_path_buf(), None));
    }
    let m = read_manifest(dir)?;
    if m.workflow_sha256 != plan.sha256 || !shard::same_shard(plan, &m) {
        return Err(RunError::Resume {
            dir: dir.to_path_buf(),
            reason: format!(
                "it was made by a different workflow file than {}",
                plan.path.display()
            ),
        });
    }
    Ok((m.run_id, dir.to_path_buf(), Some(m.started)))
}

/// The most recently started unfinished run of this workflow under `out`, if any.
fn latest_unfinished(plan: &Plan<'_>, out: &Path) -> Option<(PathBuf, Manifest)> {
    std::fs::read_dir(out)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        // Hidden directories are runs still being created.
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .filter_map(|e| {
            let m = read_manifest(&e.path()).ok()?;
            (m.workflow_sha256 == plan.sha256
                && shard::same_shard(plan, &m)
                && m.status != "complete")
                .then(|| (e.path(), m))
        })
        .max_by(|a, b| a.1.started.cmp(&b.1.started))
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
        shard: plan.shard.clone(),
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
    run_journaled(plan, invoker, options, stop, None)
}

/// [`run`], where the caller that wrote the run's journal may hand over its records (each with
/// its index in `plan`), so they are not read back and parsed a second time. `merge` does so.
fn run_journaled(
    plan: &Plan<'_>,
    invoker: &Invoker,
    options: &RunOptions,
    stop: &AtomicBool,
    journaled: Option<Vec<CellRecord>>,
) -> Result<RunReport, RunError> {
    let out = options
        .out_dir
        .clone()
        .unwrap_or_else(|| plan.out_dir.clone());
    let (run_id, run_dir, started) = choose_run_dir(plan, options, &out)?;
    let threads = effective_threads(options.threads.unwrap_or(plan.execution.threads));
    // The machine facts take a few hundred microseconds of /proc reads: read them beside the
    // cells, and add them to the manifest once they are needed.
    let machine = std::thread::spawn(MachineFacts::read);
    let mut man = manifest(plan, &run_id, &started.unwrap_or_else(now_rfc3339), threads);
    let manifest_path = run_dir.join("manifest.json");
    if run_dir.is_dir() {
        write_json(&manifest_path, &man)?;
    } else {
        create_run_dir(&run_dir, &man)?;
    }

    let journal = run_dir.join("cells.jsonl");
    let (mut records, done) = match journaled {
        Some(records) => {
            let done = records.iter().map(|r| r.hash.clone()).collect();
            (records, done)
        }
        None => read_journaled(plan, &journal)?,
    };
    let ctx = CallContext {
        run_id: Some(run_id.clone()),
        workflow: Some(plan.name.clone()),
        cell: None,
        truth_h: None,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| RunError::Io {
            path: run_dir.clone(),
            source: std::io::Error::other(e),
        })?;
    let exec = ExecOptions {
        pool: &pool,
        progress: options.progress,
    };
    let (stats, new_records) =
        execute::execute(plan, invoker, &ctx, &journal, &done, exec, stop).map_err(io(&journal))?;
    records.extend(new_records);
    records.sort_by_key(|r| r.index);
    apply_quarantine(plan, invoker, &mut records);
    man.cells_done = records.len();
    // Reading /proc cannot panic in practice; if the thread did, the facts are unknown.
    man.machine = Some(machine.join().unwrap_or_else(|_| MachineFacts::unknown()));
    let failed_cells = records.iter().filter(|r| !r.valid).count();
    let mut report = RunReport {
        run_id,
        run_dir,
        stats,
        leaderboard: Vec::new(),
        failed_cells,
        total_cells: plan.cells.len(),
    };

    if records.len() < plan.cells.len() {
        man.status = "interrupted".into();
        let estimates = report.run_dir.join("estimates.csv");
        output::write_estimates(&estimates, &report.run_id, &records).map_err(io(&estimates))?;
        write_json(&manifest_path, &man)?;
        return Ok(report);
    }

    let report_start = Instant::now();
    man.status = "complete".into();
    man.finished = Some(now_rfc3339());
    let outputs = Outputs {
        plan,
        invoker,
        ctx: &ctx,
        run_dir: &report.run_dir,
        run_id: &report.run_id,
        records: &records,
        man: &man,
    };
    report.leaderboard = pool.install(|| outputs.write())?;
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
    record_benchmark_run(plan, invoker, &report.run_id, &records, &report.stats);
    Ok(report)
}

/// The number of worker threads: `threads`, or one per core for 0.
fn effective_threads(threads: usize) -> usize {
    if threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        threads
    }
}

/// The cells of this plan already in the run's journal (the first record of each, with its
/// index in this plan), and their hashes. The journal is the source of truth for earlier runs'
/// cells; this run's cells come back from `execute` as journaled.
fn read_journaled(
    plan: &Plan<'_>,
    journal: &Path,
) -> Result<(Vec<CellRecord>, HashSet<String>), RunError> {
    let index_of: HashMap<&str, usize> = plan
        .cells
        .iter()
        .enumerate()
        .map(|(i, c)| (c.hash.as_str(), i))
        .collect();
    let mut records: Vec<CellRecord> = Vec::with_capacity(plan.cells.len());
    let mut done: HashSet<String> = HashSet::new();
    for mut r in execute::read_done(journal).map_err(io(journal))? {
        if let Some(&i) = index_of.get(r.hash.as_str()) {
            if done.insert(r.hash.clone()) {
                r.index = i;
                records.push(r);
            }
        }
    }
    Ok((records, done))
}

/// Applies quarantine in plan order to the run's records (journaled and new alike), and
/// announces each quarantined estimator once.
fn apply_quarantine(plan: &Plan<'_>, invoker: &Invoker, records: &mut [CellRecord]) {
    let limit = quarantine::limit_of(invoker);
    for (component, message) in quarantine::apply(plan, limit, records) {
        if let Some(s) = invoker.isolation() {
            s.report_quarantine(QuarantineNotice { component, message });
        }
    }
}

/// What the outputs of a complete run are made from.
struct Outputs<'a, 'c> {
    plan: &'a Plan<'c>,
    invoker: &'a Invoker,
    ctx: &'a CallContext,
    run_dir: &'a Path,
    run_id: &'a str,
    records: &'a [CellRecord],
    man: &'a Manifest,
}

impl Outputs<'_, '_> {
    fn wants(&self, format: &str) -> bool {
        self.plan.formats.iter().any(|x| x == format)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.run_dir.join(name)
    }

    fn write_text(&self, name: &str, text: &str) -> Result<(), RunError> {
        let path = self.path(name);
        std::fs::write(&path, text).map_err(io(&path))
    }

    /// Writes every output the plan asks for and returns the leaderboard. The outputs are
    /// independent once the metrics exist; they are written side by side in the current rayon
    /// pool (the run's, so a one-thread run stays on one thread).
    fn write(&self) -> Result<Vec<LeaderboardRow>, RunError> {
        let (estimates, board) = rayon::join(|| self.write_estimates(), || self.write_metrics());
        estimates?;
        board
    }

    fn write_estimates(&self) -> Result<(), RunError> {
        if !self.wants("csv") {
            return Ok(());
        }
        let path = self.path("estimates.csv");
        output::write_estimates(&path, self.run_id, self.records).map_err(io(&path))
    }

    /// Computes the metrics and the leaderboard, and writes the tables and the report.
    fn write_metrics(&self) -> Result<Vec<LeaderboardRow>, RunError> {
        let plan = self.plan;
        let evaluate_start = Instant::now();
        let rows: Vec<String> = plan.estimators.iter().map(|e| e.label.clone()).collect();
        let metric_rows = metrics::compute(self.records, &rows, &plan.metrics.strata);
        let overall: Vec<metrics::MetricRow> = metric_rows
            .iter()
            .filter(|m| m.stratum.values().all(|v| v == "all"))
            .cloned()
            .collect();
        let board = metrics::leaderboard(&overall, &plan.weights);
        self.invoker.record_step(
            self.ctx,
            StepRecord {
                step_type: StepType::Evaluate,
                component: "metrics",
                cell: None,
                duration: evaluate_start.elapsed(),
                success: true,
            },
        );
        let (tables, html) = rayon::join(
            || self.write_tables(&metric_rows, &board, &rows),
            || self.write_html(&metric_rows, &board, &rows),
        );
        tables?;
        html?;
        Ok(board)
    }

    fn write_tables(
        &self,
        metric_rows: &[metrics::MetricRow],
        board: &[LeaderboardRow],
        rows: &[String],
    ) -> Result<(), RunError> {
        let plan = self.plan;
        if self.wants("csv") {
            let path = self.path("metrics.csv");
            output::write_metrics(&path, metric_rows, &plan.metrics.strata).map_err(io(&path))?;
            let path = self.path("leaderboard.csv");
            output::write_leaderboard_csv(&path, board).map_err(io(&path))?;
        }
        if self.wants("md") {
            let md =
                output::leaderboard_markdown(&plan.name, board, &plan.weights, self.records, rows);
            self.write_text("leaderboard.md", &md)?;
        }
        if self.wants("json") {
            write_json(
                &self.path("metrics.json"),
                &serde_json::json!({ "metrics": metric_rows, "leaderboard": board }),
            )?;
        }
        Ok(())
    }

    fn write_html(
        &self,
        metric_rows: &[metrics::MetricRow],
        board: &[LeaderboardRow],
        rows: &[String],
    ) -> Result<(), RunError> {
        if !self.wants("html") {
            return Ok(());
        }
        let html = output::report_html(
            self.man,
            board,
            &self.plan.weights,
            metric_rows,
            self.records,
            rows,
        );
        self.write_text("report.html", &html)
    }
}
