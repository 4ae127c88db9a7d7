//! `run` and `validate`.

use std::process::ExitCode;

use anyhow::Result;
use lrdbench_host::interrupt;
use lrdbench_host::invoke::Invoker;
use lrdbench_host::settings::{Settings, Verbosity};
use lrdbench_host::workflow::{self, plan::Plan, RunOptions};
use serde_json::{json, Value};
use std::io::IsTerminal;

use crate::cli::run::{RunArgs, ValidateArgs};

fn describe(plan: &Plan<'_>) -> String {
    let mut s = format!(
        "workflow `{}`: {} series × {} contamination variant(s) × {} estimator row(s) = {} cells",
        plan.name,
        plan.series.len(),
        plan.contaminations.len(),
        plan.estimators.len(),
        plan.cells.len()
    );
    let rows: Vec<&str> = plan.estimators.iter().map(|e| e.label.as_str()).collect();
    s += &format!("\n  estimators: {}", rows.join(", "));
    let contaminations: Vec<&str> = plan.contaminations.iter().map(|c| c.id.as_str()).collect();
    s += &format!("\n  contaminations: {}", contaminations.join(", "));
    let generated: Vec<usize> = plan
        .series
        .iter()
        .filter(|x| matches!(x.source, workflow::plan::SeriesSource::Model { .. }))
        .map(|x| x.length)
        .collect();
    if !generated.is_empty() {
        s += &format!(
            "\n  generated series: {} ({} points in all)",
            generated.len(),
            generated.iter().sum::<usize>()
        );
    }
    s
}

/// The plan as JSON: what `describe` prints, as fields.
fn plan_json(plan: &Plan<'_>) -> Value {
    let generated: Vec<usize> = plan
        .series
        .iter()
        .filter(|x| matches!(x.source, workflow::plan::SeriesSource::Model { .. }))
        .map(|x| x.length)
        .collect();
    json!({
        "workflow": plan.name,
        "file": plan.path.display().to_string(),
        "sha256": plan.sha256,
        "series": plan.series.len(),
        "generated_series": generated.len(),
        "generated_points": generated.iter().sum::<usize>(),
        "contaminations": plan.contaminations.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        "estimators": plan.estimators.iter().map(|e| e.label.as_str()).collect::<Vec<_>>(),
        "cells": plan.cells.len(),
    })
}

/// The estimated time of a plan, from the times recorded in the analytics store.
struct Forecast {
    threads: usize,
    /// Seconds of estimator work on `threads`, when any estimator was ever timed.
    seconds: Option<f64>,
    /// Estimators never timed here.
    unknown: Vec<String>,
    /// Why there is no estimate at all.
    why_unknown: Option<&'static str>,
}

fn forecast(settings: &Settings, plan: &Plan<'_>, threads: Option<usize>) -> Forecast {
    let threads = match threads.unwrap_or(plan.execution.threads) {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        t => t,
    };
    let since = lrdbench_analytics::now_us() - 90 * 86_400_000_000;
    let unknown = |why| Forecast {
        threads,
        seconds: None,
        unknown: Vec::new(),
        why_unknown: Some(why),
    };
    let events = match lrdbench_analytics::read_events(&settings.store_dir, since) {
        Ok(e) => e,
        Err(_) => return unknown("no readable analytics store"),
    };
    let f = workflow::forecast::forecast(plan, &events.calls);
    if f.unknown.len() == plan.estimators.len() {
        return unknown("no recorded calls of these estimators yet");
    }
    Forecast {
        threads,
        seconds: Some(f.wall_seconds(threads)),
        unknown: f.unknown.clone(),
        why_unknown: None,
    }
}

fn forecast_line(f: &Forecast) -> String {
    let Some(seconds) = f.seconds else {
        return format!("estimated time: unknown ({})", f.why_unknown.unwrap_or(""));
    };
    let mut line = format!(
        "estimated time: {seconds:.1} s on {} thread(s) (estimator work, from recorded medians)",
        f.threads
    );
    if !f.unknown.is_empty() {
        line += &format!("; not counted, never timed here: {}", f.unknown.join(", "));
    }
    line
}

/// The settings with the workflow's own `[plugins] dirs` added.
pub(super) fn with_workflow_plugins(
    settings: &Settings,
    file: &std::path::Path,
) -> Result<Settings> {
    let mut settings = settings.clone();
    settings
        .plugins
        .dirs
        .extend(workflow::spec::plugin_dirs(file)?);
    Ok(settings)
}

/// Whether the workflow asks for process isolation (`isolation = "process"` or a timeout),
/// read before any plugin is loaded so isolated plugins are never loaded in the host. A file
/// that cannot be parsed gives `false`: planning reports its error right after.
pub(super) fn workflow_isolates(path: &std::path::Path) -> bool {
    let Ok(text) =
        lrdbench_host::fsutil::read_regular_text(path, workflow::plan::MAX_WORKFLOW_BYTES)
    else {
        return false;
    };
    match workflow::spec::parse(path, &text) {
        Ok((file, _)) => {
            file.execution.timeout.is_some()
                || file
                    .execution
                    .isolation
                    .as_ref()
                    .is_some_and(|i| i.get_ref() == "process")
        }
        Err(_) => false,
    }
}

pub fn validate(settings: &Settings, args: ValidateArgs) -> Result<ExitCode> {
    let settings = &with_workflow_plugins(settings, &args.file)?;
    let catalog = super::load_catalog(settings, workflow_isolates(&args.file))?;
    let limits = workflow::limits::PlanLimits {
        max_cells: args.max_cells,
    };
    let plan = workflow::plan::load_with(&args.file, &catalog, &limits)?;
    if args.json {
        let mut v = plan_json(&plan);
        v["valid"] = json!(true);
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    outln!("{}: valid", args.file.display());
    outln!("{}", describe(&plan));
    Ok(ExitCode::SUCCESS)
}

pub fn run(settings: &Settings, args: RunArgs, invoker: &Invoker) -> Result<ExitCode> {
    let settings = &with_workflow_plugins(settings, &args.file)?;
    let isolate_all = args.isolate || args.timeout.is_some() || workflow_isolates(&args.file);
    let catalog = super::load_catalog(settings, isolate_all)?;
    let limits = workflow::limits::PlanLimits {
        max_cells: args.max_cells,
    };
    let mut plan = workflow::plan::load_with(&args.file, &catalog, &limits)?;
    if let Some(spec) = args.shard {
        super::merge::apply_shard(&mut plan, spec, args.shard_costs.as_deref())?;
    }
    if args.dry_run {
        let f = forecast(settings, &plan, args.threads.map(usize::from));
        if args.json {
            let mut v = plan_json(&plan);
            v["forecast"] = json!({
                "threads": f.threads,
                "seconds": f.seconds,
                "not_timed": f.unknown,
                "unknown_because": f.why_unknown,
            });
            outln!("{}", serde_json::to_string_pretty(&v)?);
        } else {
            outln!("{}", describe(&plan));
            outln!("  {}", forecast_line(&f));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let isolated = args.isolate || plan.execution.isolation == workflow::plan::Isolation::Process;
    let invoker = super::isolate(
        invoker.clone(),
        settings,
        &catalog,
        isolated,
        args.timeout.or(plan.execution.timeout),
    )?;
    let invoker = &invoker;
    interrupt::install();
    let options = RunOptions {
        out_dir: args.out.clone(),
        threads: args.threads.map(usize::from),
        resume: args.resume.clone(),
        progress: settings.verbosity >= Verbosity::Normal && std::io::stderr().is_terminal(),
    };
    let report = workflow::run(&plan, invoker, &options, interrupt::flag())?;
    let quiet = settings.verbosity == Verbosity::Quiet;
    if report.stats.interrupted {
        eprintln!(
            "interrupted: {}/{} cells done; complete it with `lrdbench-host run {}{} --resume {}`",
            report.stats.ran + report.stats.skipped,
            report.total_cells,
            args.file.display(),
            plan.shard.as_ref().map_or(String::new(), |s| format!(
                " --shard {}/{}",
                s.index, s.count
            )),
            report.run_dir.display()
        );
        outln!("{}", report.run_dir.display());
        return Ok(ExitCode::from(130));
    }
    if !quiet {
        eprintln!(
            "{} cells in {:.2} s ({} run now, {} resumed), {} failed",
            report.total_cells,
            report.stats.elapsed.as_secs_f64(),
            report.stats.ran,
            report.stats.skipped,
            report.failed_cells
        );
        eprintln!("leaderboard:");
        for r in report.leaderboard.iter().take(5) {
            let m = &r.metrics;
            eprintln!(
                "  {:>2}. {:<20} score {:>6.2}  MAE {}  coverage {}  validity {:.0}%  {} ms",
                r.rank,
                r.estimator,
                r.score,
                m.mae.map_or("–".into(), |v| format!("{v:.4}")),
                m.coverage.map_or("–".into(), |v| format!("{v:.2}")),
                100.0 * m.validity,
                m.runtime_ms.map_or("–".into(), |v| format!("{v:.3}"))
            );
        }
        let shown = 5.min(report.leaderboard.len());
        if report.leaderboard.len() > shown {
            eprintln!(
                "  … {} more row(s) in {}",
                report.leaderboard.len() - shown,
                report.run_dir.join("leaderboard.md").display()
            );
        }
        eprintln!("report: {}", report.run_dir.join("report.html").display());
    }
    if !args.no_compare && !quiet {
        super::compare::after_run(&report.run_dir, &plan.name);
    }
    outln!("{}", report.run_dir.display());
    // A shard that ran all its cells succeeded even when some failed: failed cells are
    // results, which the merge reports (a failing array task would cancel the merge job).
    Ok(if report.failed_cells > 0 && plan.shard.is_none() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
