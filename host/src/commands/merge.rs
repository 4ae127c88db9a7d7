//! `merge`, and the `run --shard` hook that restricts a plan to one shard.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use lrdbench_host::settings::{Settings, Verbosity};
use lrdbench_host::workflow::merge;
use lrdbench_host::workflow::plan::Plan;
use lrdbench_host::workflow::shard::{self, CostTable, ShardSpec};

use crate::cli::merge::MergeArgs;

/// Restricts `plan` to shard `spec`, balanced by the cost table at `costs` when given.
pub fn apply_shard(plan: &mut Plan<'_>, spec: ShardSpec, costs: Option<&Path>) -> Result<()> {
    let table = match costs {
        Some(p) => Some(CostTable::read(p).map_err(|e| super::usage(anyhow::anyhow!(e)))?),
        None => None,
    };
    shard::apply(plan, spec, table.as_ref().map(|(t, sha)| (t, sha.as_str())));
    Ok(())
}

/// Exit code of a partial merge: the outputs are written but cover only part of the sweep.
const PARTIAL: u8 = 3;

pub fn run(settings: &Settings, args: MergeArgs) -> Result<ExitCode> {
    let shards = merge::discover(&args.shards).map_err(super::usage)?;
    let (shards, missing) = merge::check(shards)?;
    let file = match &args.workflow {
        Some(f) => f.clone(),
        None => shards[0].workflow_path.clone().into(),
    };
    let settings = &super::run::with_workflow_plugins(settings, &file)
        .with_context(|| format!("the workflow of the shards, {}", file.display()))?;
    let catalog = super::load_catalog(settings, super::run::workflow_isolates(&file))?;
    let limits = lrdbench_host::workflow::limits::PlanLimits {
        max_cells: u64::MAX,
    };
    let mut plan = lrdbench_host::workflow::plan::load_with(&file, &catalog, &limits)?;
    let report = merge::merge(
        &mut plan,
        &shards,
        &missing,
        &args.out,
        args.threads.map(usize::from),
        args.partial,
    )?;
    if settings.verbosity >= Verbosity::Normal {
        eprintln!(
            "merged {} of {} shard(s): {} of {} cells, {} failed",
            report.shards.len(),
            report.count,
            report.plan_cells - report.missing_cells,
            report.plan_cells,
            report.run.failed_cells
        );
        if report.missing_cells > 0 {
            eprintln!(
                "partial: {} of {} cells ({:.1}%) missing",
                report.missing_cells,
                report.plan_cells,
                100.0 * report.missing_cells as f64 / report.plan_cells.max(1) as f64
            );
        }
    }
    outln!("{}", report.run.run_dir.display());
    Ok(if report.missing_cells > 0 {
        ExitCode::from(PARTIAL)
    } else if report.run.failed_cells > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `analytics merge`: imports each store in turn into the target.
pub fn analytics_merge(
    store_dir: &Path,
    args: &crate::cli::analytics::MergeStoresArgs,
) -> Result<ExitCode> {
    let into = args.into.as_deref().unwrap_or(store_dir);
    for from in &args.stores {
        if same_dir(from, into) {
            return Err(super::usage(anyhow::anyhow!(
                "{} is the store being merged into",
                from.display()
            )));
        }
    }
    for from in &args.stores {
        let stats = lrdbench_analytics::merge::merge_store(from, into, args.rekey)
            .with_context(|| format!("merging {} into {}", from.display(), into.display()))?;
        outln!(
            "{}: {} events read, {} new{}",
            from.display(),
            stats.read,
            stats.added,
            if stats.rekeyed {
                ", user ids re-keyed"
            } else {
                ""
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
