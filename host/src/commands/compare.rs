//! `compare`, and the comparison that closes `run`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use lrdbench_host::compare::{self, locate, CompareError, Tolerances};
use lrdbench_host::settings::Settings;
use lrdbench_host::workflow;

use super::usage;
use crate::cli::compare::{CompareArgs, CompareFormat};

/// A comparison error: a bad argument or a BASE/NEW that names no run is a usage error (exit
/// 2), so that exit 1 means "regressed" to a CI script; an unreadable journal is not.
fn classify(e: CompareError) -> anyhow::Error {
    match e {
        CompareError::Io { .. } => anyhow::Error::new(e),
        _ => usage(e),
    }
}

/// The workflow name and runs directory of `--workflow` / `--runs`.
fn where_to_look(args: &CompareArgs) -> Result<(PathBuf, Option<String>)> {
    let Some(w) = &args.workflow else {
        return Ok((args.runs.clone().unwrap_or_else(|| "runs".into()), None));
    };
    let path = Path::new(w);
    if !path.is_file() {
        return Ok((
            args.runs.clone().unwrap_or_else(|| "runs".into()),
            Some(w.clone()),
        ));
    }
    let text = lrdbench_host::fsutil::read_regular_text(path, workflow::plan::MAX_WORKFLOW_BYTES)
        .map_err(|e| usage(anyhow::anyhow!("--workflow {}: {e}", path.display())))?;
    let (file, _) = workflow::spec::parse(path, &text).map_err(usage)?;
    let runs = args
        .runs
        .clone()
        .or_else(|| file.output.dir.clone().map(PathBuf::from))
        .unwrap_or_else(|| "runs".into());
    Ok((runs, Some(file.workflow.name)))
}

pub fn run(_settings: &Settings, args: CompareArgs) -> Result<ExitCode> {
    let tolerances = match &args.tolerance {
        Some(t) => Tolerances::parse(t).map_err(classify)?,
        None => Tolerances::default(),
    };
    let fail_on = match &args.fail_on {
        Some(f) => Some(compare::parse_fail_on(f).map_err(classify)?),
        None => None,
    };
    if args.out.is_none() && args.format == [CompareFormat::Html] {
        return Err(usage(anyhow::anyhow!(
            "--format html needs --out DIR (the page is a file, not terminal output)"
        )));
    }
    let (runs, workflow) = where_to_look(&args)?;
    let base_dir = locate::resolve(&args.base, &runs, workflow.as_deref()).map_err(classify)?;
    let new_dir = locate::resolve(&args.new, &runs, workflow.as_deref()).map_err(classify)?;
    let base = compare::load(&base_dir).map_err(classify).context("BASE")?;
    let new = compare::load(&new_dir).map_err(classify).context("NEW")?;
    let c = compare::compare(&base, &new, &tolerances);
    if let Some(out) = &args.out {
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
        for f in &args.format {
            let (name, text) = match f {
                CompareFormat::Md => ("compare.md", compare::render::markdown(&c)),
                CompareFormat::Json => ("compare.json", compare::render::json(&c)?),
                CompareFormat::Html => ("compare.html", compare::render::html(&c)),
            };
            let path = out.join(name);
            std::fs::write(&path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    match args.format.iter().find(|f| **f != CompareFormat::Html) {
        Some(CompareFormat::Json) => outln!("{}", compare::render::json(&c)?),
        Some(_) => out!("{}", compare::render::markdown(&c)),
        None => {
            for line in compare::render::regression_lines(&c, None) {
                outln!("{line}");
            }
        }
    }
    let failed = fail_on
        .as_ref()
        .is_some_and(|set| c.regressions(Some(set)).next().is_some());
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// After a complete run: one line on standard error per significant regression against the
/// previous complete run of the same workflow in the same runs directory. Never fails the
/// run: a comparison that cannot be made is one warning line.
pub fn after_run(run_dir: &Path, workflow: &str) {
    let Some(runs) = run_dir.parent() else {
        return;
    };
    let Some(previous) = locate::previous_of(runs, workflow, run_dir) else {
        return;
    };
    let loaded = compare::load(&previous).and_then(|b| Ok((b, compare::load(run_dir)?)));
    match loaded {
        Ok((base, new)) => {
            let c = compare::compare(&base, &new, &Tolerances::default());
            for line in compare::render::regression_lines(&c, None) {
                eprintln!("{line}");
            }
        }
        Err(e) => eprintln!("warning: cannot compare with the previous run: {e}"),
    }
}
