//! Finding the runs of a workflow: `latest` and `previous` are the newest and second-newest
//! **complete** runs of a workflow in a runs directory (the workflow's `[output] dir`, or
//! `--runs`). The analytics store cannot be asked: it holds events, not run directories, and
//! in privacy mode (the default) its run ids and workflow names are keyed pseudonyms.

use std::path::{Path, PathBuf};

use super::{read_manifest, CompareError, RunManifest};

/// Every complete run of `workflow` in `runs_dir`, oldest first: by end time, then by the
/// modification time of `manifest.json` (written last, to the nanosecond, so two runs that end
/// in the same second still have an order).
/// Hidden directories (runs being created) and directories without a readable manifest are
/// skipped.
pub fn complete_runs(runs_dir: &Path, workflow: &str) -> Vec<(PathBuf, RunManifest)> {
    let mut runs: Vec<(PathBuf, RunManifest)> = std::fs::read_dir(runs_dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .filter_map(|e| {
            let m = read_manifest(&e.path()).ok()?;
            (m.workflow == workflow && m.status == "complete").then(|| (e.path(), m))
        })
        .collect();
    let order = |(p, m): &(PathBuf, RunManifest)| {
        let written = std::fs::metadata(p.join("manifest.json"))
            .and_then(|md| md.modified())
            .ok();
        (
            m.finished.clone().unwrap_or_else(|| m.started.clone()),
            written,
        )
    };
    runs.sort_by_cached_key(order);
    runs
}

/// The workflow names of the complete runs in `runs_dir`.
pub fn workflows(runs_dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(runs_dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .filter_map(|e| read_manifest(&e.path()).ok())
        .filter(|m| m.status == "complete")
        .map(|m| m.workflow)
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Resolves a BASE or NEW argument: `latest`, `previous`, or a run directory.
///
/// # Errors
///
/// [`CompareError::NotFound`] with the directory searched and what it holds, when `latest` /
/// `previous` has no such run; [`CompareError::Usage`] when the workflow is ambiguous.
pub fn resolve(
    arg: &str,
    runs_dir: &Path,
    workflow: Option<&str>,
) -> Result<PathBuf, CompareError> {
    let back = match arg {
        "latest" => 0,
        "previous" => 1,
        _ => return Ok(PathBuf::from(arg)),
    };
    let workflow = match workflow {
        Some(w) => w.to_string(),
        None => {
            let names = workflows(runs_dir);
            match names.as_slice() {
                [one] => one.clone(),
                [] => {
                    return Err(CompareError::NotFound(format!(
                        "`{arg}`: no complete run in {} (give the runs directory with --runs, or \
                         run directories instead of `{arg}`)",
                        runs_dir.display()
                    )))
                }
                many => {
                    return Err(CompareError::Usage(format!(
                    "`{arg}`: {} holds runs of several workflows ({}); name one with --workflow",
                    runs_dir.display(),
                    many.join(", ")
                )))
                }
            }
        }
    };
    let runs = complete_runs(runs_dir, &workflow);
    if runs.len() <= back {
        return Err(CompareError::NotFound(format!(
            "`{arg}`: {} holds {} complete run(s) of workflow `{workflow}`, {} needed",
            runs_dir.display(),
            runs.len(),
            back + 1
        )));
    }
    Ok(runs[runs.len() - 1 - back].0.clone())
}

/// The newest complete run of `workflow` in `runs_dir` other than `this` (compared by
/// canonical path): what `run` compares a new run with.
pub fn previous_of(runs_dir: &Path, workflow: &str, this: &Path) -> Option<PathBuf> {
    let this = this.canonicalize().ok()?;
    complete_runs(runs_dir, workflow)
        .into_iter()
        .rev()
        .map(|(p, _)| p)
        .find(|p| p.canonicalize().ok().as_ref() != Some(&this))
}
