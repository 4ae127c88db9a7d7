//! Merging the shard runs of a sharded sweep into the run directory one machine would have
//! written.
//!
//! Merge is a second entry point into the same output path as [`super::run`]: it checks that
//! the shard directories are one whole split of one plan, gathers their `cells.jsonl` records
//! into a new run directory's journal, and then completes that directory with [`super::run`],
//! which finds every cell done and writes `estimates.csv`, `metrics.csv`, the leaderboards and
//! `report.html` with the very code a single-machine run uses. The only differences from a
//! single-machine run are therefore the run id and what was timed.

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use serde::Serialize;

use super::execute::{self, CellRecord};
use super::plan::Plan;
use super::shard::{self, ShardInfo};
use super::{RunError, RunOptions, RunReport};
use crate::invoke::Invoker;

/// One shard run directory, as its manifest describes it.
#[derive(Debug, Clone)]
pub struct ShardRun {
    /// The run directory.
    pub dir: PathBuf,
    /// Its run id.
    pub run_id: String,
    /// Which shard of which split.
    pub info: ShardInfo,
    /// SHA-256 of the workflow file it ran.
    pub workflow_sha256: String,
    /// The workflow file it ran, as recorded.
    pub workflow_path: String,
    /// Cells assigned to it.
    pub cells: usize,
}

/// Why shards cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A directory that is not a shard run.
    #[error("{}: {reason}", dir.display())]
    NotAShard {
        /// The directory.
        dir: PathBuf,
        /// Why not.
        reason: String,
    },
    /// Shards of two different sweeps.
    #[error("{} and {} are shards of different sweeps ({what} differs)", a.display(), b.display())]
    Mismatch {
        /// One shard.
        a: PathBuf,
        /// Another.
        b: PathBuf,
        /// What differs.
        what: &'static str,
    },
    /// The same shard twice.
    #[error("shard {index}/{count} appears twice: {} and {}", a.display(), b.display())]
    Duplicate {
        /// Shard index.
        index: usize,
        /// Shard count.
        count: usize,
        /// One copy.
        a: PathBuf,
        /// The other.
        b: PathBuf,
    },
    /// Shards not given.
    #[error("missing shard(s) {} of {count}: run them with `lrdbench-host run {workflow} --shard I/{count}`, or merge with --partial", list(.missing))]
    MissingShards {
        /// Missing indices.
        missing: Vec<usize>,
        /// Shard count.
        count: usize,
        /// The workflow file.
        workflow: String,
    },
    /// A shard that has not finished its cells.
    #[error("shard {index}/{count} in {} is incomplete ({done} of {cells} cells): resume it with `lrdbench-host run {workflow} --shard {index}/{count} --resume {}`, or merge with --partial", dir.display(), dir.display())]
    Incomplete {
        /// Shard index.
        index: usize,
        /// Shard count.
        count: usize,
        /// Its directory.
        dir: PathBuf,
        /// Cells done.
        done: usize,
        /// Cells assigned.
        cells: usize,
        /// The workflow file.
        workflow: String,
    },
    /// The workflow loaded for the merge is not the one the shards ran.
    #[error("{} is not the workflow the shards ran: {reason}", path.display())]
    Workflow {
        /// The workflow file.
        path: PathBuf,
        /// What differs.
        reason: String,
    },
    /// Cells of the plan found in no shard although every shard is complete.
    #[error("{missing} of {cells} cells of the plan are in no shard (first: {first})")]
    MissingCells {
        /// Cells missing.
        missing: usize,
        /// Cells in the plan.
        cells: usize,
        /// The hash of the first missing cell.
        first: String,
    },
    /// The output directory exists.
    #[error("{}: already exists; merge writes a new run directory", .0.display())]
    OutExists(PathBuf),
    /// An I/O error or a failure of the output writers.
    #[error(transparent)]
    Run(#[from] RunError),
}

fn list(v: &[usize]) -> String {
    v.iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> MergeError + '_ {
    move |source| {
        MergeError::Run(RunError::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}

fn read_shard(dir: &Path) -> Result<ShardRun, MergeError> {
    let not = |reason: String| MergeError::NotAShard {
        dir: dir.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(dir.join("manifest.json"))
        .map_err(|e| not(format!("no readable manifest.json ({e})")))?;
    let m: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| not(format!("manifest.json is not valid JSON ({e})")))?;
    let info: ShardInfo = m
        .get("shard")
        .filter(|v| !v.is_null())
        .ok_or_else(|| not("a whole run, not a shard (its manifest names no shard)".into()))
        .and_then(|v| {
            serde_json::from_value(v.clone())
                .map_err(|e| not(format!("unreadable shard in manifest.json ({e})")))
        })?;
    let field = |k: &str| m[k].as_str().unwrap_or_default().to_string();
    Ok(ShardRun {
        dir: dir.to_path_buf(),
        run_id: field("run_id"),
        info,
        workflow_sha256: field("workflow_sha256"),
        workflow_path: field("workflow_path"),
        cells: m["cells"].as_u64().unwrap_or(0) as usize,
    })
}

/// The shard runs named by `paths`: each path is a shard run directory, or a directory whose
/// subdirectories are shard run directories (hidden ones, still being created, are skipped).
///
/// # Errors
///
/// [`MergeError::NotAShard`] for a path that is neither.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<ShardRun>, MergeError> {
    let mut shards = Vec::new();
    for p in paths {
        if p.join("manifest.json").exists() {
            shards.push(read_shard(p)?);
            continue;
        }
        let entries = std::fs::read_dir(p).map_err(|e| MergeError::NotAShard {
            dir: p.clone(),
            reason: format!("not a readable directory ({e})"),
        })?;
        let mut children: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .map(|e| e.path())
            .filter(|d| d.join("manifest.json").exists())
            .collect();
        children.sort();
        if children.is_empty() {
            return Err(MergeError::NotAShard {
                dir: p.clone(),
                reason: "neither a shard run directory nor a directory of them".into(),
            });
        }
        for c in children {
            shards.push(read_shard(&c)?);
        }
    }
    Ok(shards)
}

/// Checks that `shards` are shards of one split of one plan, none twice, and returns them in
/// shard order with the indices that are missing.
///
/// # Errors
///
/// [`MergeError::Mismatch`] and [`MergeError::Duplicate`].
pub fn check(mut shards: Vec<ShardRun>) -> Result<(Vec<ShardRun>, Vec<usize>), MergeError> {
    let Some(first) = shards.first().cloned() else {
        return Err(MergeError::NotAShard {
            dir: PathBuf::from("."),
            reason: "no shard directories given".into(),
        });
    };
    for s in &shards[1..] {
        let what = if s.workflow_sha256 != first.workflow_sha256 {
            Some("the workflow file")
        } else if s.info.plan_sha256 != first.info.plan_sha256 {
            Some("the plan (plugins or their versions)")
        } else if s.info.count != first.info.count {
            Some("the shard count")
        } else if s.info.balance != first.info.balance {
            Some("the cost table of the split")
        } else {
            None
        };
        if let Some(what) = what {
            return Err(MergeError::Mismatch {
                a: first.dir.clone(),
                b: s.dir.clone(),
                what,
            });
        }
    }
    shards.sort_by(|a, b| a.info.index.cmp(&b.info.index).then(a.dir.cmp(&b.dir)));
    for w in shards.windows(2) {
        if w[0].info.index == w[1].info.index {
            return Err(MergeError::Duplicate {
                index: w[0].info.index,
                count: w[0].info.count,
                a: w[0].dir.clone(),
                b: w[1].dir.clone(),
            });
        }
    }
    let missing = (0..first.info.count)
        .filter(|i| shards.binary_search_by_key(i, |s| s.info.index).is_err())
        .collect();
    Ok((shards, missing))
}

/// What a merge did.
#[derive(Debug)]
pub struct MergeReport {
    /// The run the merged directory is, as [`super::run`] reports it.
    pub run: RunReport,
    /// Shard indices merged.
    pub shards: Vec<usize>,
    /// Shard count of the split.
    pub count: usize,
    /// Cells of the whole plan.
    pub plan_cells: usize,
    /// Cells of the plan in no merged shard (only with `partial`).
    pub missing_cells: usize,
}

/// What the merged manifest adds to a run's.
#[derive(Debug, Serialize)]
struct Merged<'a> {
    count: usize,
    plan_sha256: &'a str,
    plan_cells: usize,
    missing_cells: usize,
    missing_fraction: f64,
    missing_shards: Vec<usize>,
    shards: Vec<BTreeMap<&'static str, serde_json::Value>>,
}

/// Merges `shards` (checked by [`check`]) of the sweep of `plan` (the whole plan, as loaded
/// from the workflow file) into the new run directory `out`. With `partial`, missing shards
/// and unfinished cells are left out and the manifest and report say what fraction is
/// missing; without it they are errors that name them.
///
/// # Errors
///
/// [`MergeError`]: a plan that is not the shards', an incomplete sweep, an existing `out`, or
/// an I/O error.
pub fn merge(
    plan: &mut Plan<'_>,
    shards: &[ShardRun],
    missing_shards: &[usize],
    out: &Path,
    threads: Option<usize>,
    partial: bool,
) -> Result<MergeReport, MergeError> {
    let Some(first) = shards.first() else {
        return Err(MergeError::NotAShard {
            dir: out.to_path_buf(),
            reason: "no shard directories given".into(),
        });
    };
    let workflow = plan.path.display().to_string();
    if plan.sha256 != first.workflow_sha256 {
        return Err(MergeError::Workflow {
            path: plan.path.clone(),
            reason: format!(
                "its SHA-256 is {}, the shards ran {} ({})",
                plan.sha256, first.workflow_sha256, first.workflow_path
            ),
        });
    }
    let plan_sha = shard::plan_sha256(plan);
    if plan_sha != first.info.plan_sha256 || plan.cells.len() != first.info.plan_cells {
        return Err(MergeError::Workflow {
            path: plan.path.clone(),
            reason: "it plans different cells here than when the shards ran (different plugins or plugin versions)".into(),
        });
    }
    if !missing_shards.is_empty() && !partial {
        return Err(MergeError::MissingShards {
            missing: missing_shards.to_vec(),
            count: first.info.count,
            workflow,
        });
    }
    if out.exists() {
        return Err(MergeError::OutExists(out.to_path_buf()));
    }

    // Every plan cell's first record, from whichever shard holds it.
    let index_of: HashMap<&str, usize> = plan
        .cells
        .iter()
        .enumerate()
        .map(|(i, c)| (c.hash.as_str(), i))
        .collect();
    // The journals' bytes stay loaded so the merged journal copies each kept line as it is.
    let mut texts = Vec::with_capacity(shards.len());
    for s in shards {
        let journal = s.dir.join("cells.jsonl");
        texts.push(execute::read_journal(&journal).map_err(io(&journal))?);
    }
    let mut found: Vec<Option<(CellRecord, &[u8])>> = vec![None; plan.cells.len()];
    for (s, text) in shards.iter().zip(&texts) {
        let mut done = 0;
        for (mut r, line) in execute::done_lines(text) {
            if let Some(&i) = index_of.get(r.hash.as_str()) {
                if found[i].is_none() {
                    r.index = i;
                    found[i] = Some((r, line));
                    done += 1;
                }
            }
        }
        if done < s.cells && !partial {
            return Err(MergeError::Incomplete {
                index: s.info.index,
                count: s.info.count,
                dir: s.dir.clone(),
                done,
                cells: s.cells,
                workflow,
            });
        }
    }
    let plan_cells = plan.cells.len();
    let missing_cells = found.iter().filter(|r| r.is_none()).count();
    if missing_cells > 0 && !partial {
        let first_missing = plan
            .cells
            .iter()
            .zip(&found)
            .find(|(_, r)| r.is_none())
            .map(|(c, _)| c.hash.clone())
            .unwrap_or_default();
        return Err(MergeError::MissingCells {
            missing: missing_cells,
            cells: plan_cells,
            first: first_missing,
        });
    }
    if missing_cells > 0 {
        let mut i = 0;
        plan.cells.retain(|_| {
            let keep = found[i].is_some();
            i += 1;
            keep
        });
    }

    // The new run directory: its journal holds every cell, so the run below executes nothing.
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(parent) = parent {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    std::fs::create_dir(out).map_err(io(out))?;
    let journal = out.join("cells.jsonl");
    {
        let file = std::fs::File::create(&journal).map_err(io(&journal))?;
        let mut w = std::io::BufWriter::new(file);
        for (_, line) in found.iter().flatten() {
            w.write_all(line).map_err(io(&journal))?;
            w.write_all(b"\n").map_err(io(&journal))?;
        }
        w.into_inner()
            .map_err(|e| io(&journal)(e.into_error()))?
            .sync_data()
            .map_err(io(&journal))?;
    }
    let options = RunOptions {
        out_dir: None,
        threads,
        resume: Some(out.to_path_buf()),
        progress: false,
    };
    // Found cells are in plan order, so a kept cell's index in the (possibly thinned) plan is
    // its rank among them.
    let records = found
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(index, (mut r, _))| {
            r.index = index;
            r
        })
        .collect();
    // Unrecorded: the shards recorded their own cells and runs; the merge adds no work.
    let run = super::run_journaled(
        plan,
        &Invoker::unrecorded(),
        &options,
        &AtomicBool::new(false),
        Some(records),
    )?;

    let merged = Merged {
        count: first.info.count,
        plan_sha256: &plan_sha,
        plan_cells,
        missing_cells,
        missing_fraction: missing_cells as f64 / plan_cells.max(1) as f64,
        missing_shards: missing_shards.to_vec(),
        shards: shards
            .iter()
            .map(|s| {
                BTreeMap::from([
                    ("index", s.info.index.into()),
                    ("dir", s.dir.display().to_string().into()),
                    ("run_id", s.run_id.clone().into()),
                    ("cells", s.cells.into()),
                ])
            })
            .collect(),
    };
    note_merge(&run.run_dir, &merged)?;
    Ok(MergeReport {
        run,
        shards: shards.iter().map(|s| s.info.index).collect(),
        count: first.info.count,
        plan_cells,
        missing_cells,
    })
}

/// Adds the merge to the manifest (`merged`: the shards, and what is missing) and, for a
/// partial merge, a line at the top of the report.
fn note_merge(run_dir: &Path, merged: &Merged<'_>) -> Result<(), MergeError> {
    let path = run_dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    let mut m: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| io(&path)(std::io::Error::other(e)))?;
    m["merged"] = serde_json::to_value(merged).map_err(|e| io(&path)(std::io::Error::other(e)))?;
    if merged.missing_cells > 0 {
        m["status"] = "partial".into();
    }
    let tmp = path.with_extension("json.tmp");
    let body = serde_json::to_string_pretty(&m).map_err(|e| io(&path)(std::io::Error::other(e)))?;
    std::fs::write(&tmp, body).map_err(io(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io(&path))?;
    let report = run_dir.join("report.html");
    if merged.missing_cells > 0 && report.exists() {
        let html = std::fs::read_to_string(&report).map_err(io(&report))?;
        let banner = format!(
            "<body>\n<p class=\"partial\"><strong>Partial merge:</strong> {} of {} cells \
             ({:.1}%) are missing{}; every figure below covers only the cells present.</p>",
            merged.missing_cells,
            merged.plan_cells,
            100.0 * merged.missing_fraction,
            if merged.missing_shards.is_empty() {
                String::new()
            } else {
                format!(
                    " (shards {} of {} not merged)",
                    list(&merged.missing_shards),
                    merged.count
                )
            }
        );
        std::fs::write(&report, html.replacen("<body>", &banner, 1)).map_err(io(&report))?;
    }
    Ok(())
}
