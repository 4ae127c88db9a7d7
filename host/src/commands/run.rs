//! `run` and `validate`.

use std::process::ExitCode;

use anyhow::Result;
use lrdbench_host::interrupt;
use lrdbench_host::invoke::Invoker;
use lrdbench_host::settings::{Settings, Verbosity};
use lrdbench_host::workflow::{self, plan::Plan, RunOptions};
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

/// The estimated time of a plan, from the times recorded in the analytics store.
fn forecast_line(settings: &Settings, plan: &Plan<'_>, threads: Option<usize>) -> String {
    let since = lrdbench_analytics::now_us() - 90 * 86_400_000_000;
    let events = match lrdbench_analytics::read_events(&settings.store_dir, since) {
        Ok(e) => e,
        Err(_) => return "estimated time: unknown (no readable analytics store)".into(),
    };
    let f = workflow::forecast::forecast(plan, &events.calls);
    let threads = match threads.unwrap_or(plan.execution.threads) {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        t => t,
    };
    if f.unknown.len() == plan.estimators.len() {
        return "estimated time: unknown (no recorded calls of these estimators yet)".into();
    }
    let mut line = format!(
        "estimated time: {:.1} s on {threads} thread(s) (estimator work, from recorded medians)",
        f.wall_seconds(threads)
    );
    if !f.unknown.is_empty() {
        line += &format!("; not counted, never timed here: {}", f.unknown.join(", "));
    }
    line
}

/// Whether the workflow asks for process isolation (`isolation = "process"` or a timeout),
/// read before any plugin is loaded so isolated plugins are never loaded in the host. A file
/// that cannot be parsed gives `false`: planning reports its error right after.
fn workflow_isolates(path: &std::path::Path) -> bool {
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
    let catalog = super::load_catalog(settings, workflow_isolates(&args.file))?;
    let limits = workflow::limits::PlanLimits {
        max_cells: args.max_cells,
    };
    let plan = workflow::plan::load_with(&args.file, &catalog, &limits)?;
    println!("{}: valid", args.file.display());
    println!("{}", describe(&plan));
    Ok(ExitCode::SUCCESS)
}

pub fn run(settings: &Settings, args: RunArgs, invoker: &Invoker) -> Result<ExitCode> {
    let isolate_all = args.isolate || args.timeout.is_some() || workflow_isolates(&args.file);
    let catalog = super::load_catalog(settings, isolate_all)?;
    let limits = workflow::limits::PlanLimits {
        max_cells: args.max_cells,
    };
    let plan = workflow::plan::load_with(&args.file, &catalog, &limits)?;
    if args.dry_run {
        println!("{}", describe(&plan));
        println!(
            "  {}",
            forecast_line(settings, &plan, args.threads.map(usize::from))
        );
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
            "interrupted: {}/{} cells done; complete it with `lrdbench-host run {} --resume {}`",
            report.stats.ran + report.stats.skipped,
            report.total_cells,
            args.file.display(),
            report.run_dir.display()
        );
        println!("{}", report.run_dir.display());
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
        eprintln!("report: {}", report.run_dir.join("report.html").display());
    }
    println!("{}", report.run_dir.display());
    Ok(if report.failed_cells > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
