//! Arguments of `run` and `validate`.

use std::path::PathBuf;

use clap::Args;

/// Run a TOML workflow: generate or read series, contaminate, estimate, score, report.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The workflow file
    pub file: PathBuf,
    /// Output directory [default: the workflow's `[output] dir`, else `runs`]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Worker threads, 0 to 1024 [default: the workflow's, else one per core]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(0..=1024))]
    pub threads: Option<u16>,
    /// Largest plan accepted, in cells (series × contaminations × estimator rows)
    #[arg(long, value_name = "N", default_value_t = lrdbench_host::workflow::limits::DEFAULT_MAX_CELLS)]
    pub max_cells: u64,
    /// Print the plan (series, cells, estimated time) and exit
    #[arg(long)]
    pub dry_run: bool,
    /// With --dry-run: print the plan as a JSON object
    #[arg(long, requires = "dry_run")]
    pub json: bool,
    /// Complete an interrupted run directory, skipping the cells it has done
    #[arg(long, value_name = "RUN_DIR")]
    pub resume: Option<PathBuf>,
    /// Run plugin calls in isolated worker processes
    #[arg(long)]
    pub isolate: bool,
    /// Per-call time limit in seconds; implies --isolate (only a process boundary can stop a call)
    #[arg(long, value_name = "SECS", value_parser = super::positive_seconds)]
    pub timeout: Option<f64>,
    /// Run only shard I of N (zero-based, e.g. 2/8) of the sweep, or `slurm`: the shard of this
    /// Slurm array task (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT); merge shards with
    /// `lrdbench-host merge`
    #[arg(long, value_name = "I/N|slurm", value_parser = lrdbench_host::workflow::shard::ShardSpec::parse)]
    pub shard: Option<lrdbench_host::workflow::shard::ShardSpec>,
    /// With --shard: balance the shards by this cost table (JSON, written by
    /// `lrdbench-host slurm`) instead of by series length
    #[arg(long, value_name = "FILE", requires = "shard")]
    pub shard_costs: Option<PathBuf>,
    /// Do not compare the finished run with the previous complete run of the workflow (by
    /// default one line per significant regression is printed)
    #[arg(long)]
    pub no_compare: bool,
}

/// Check a workflow file without running it.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The workflow file
    pub file: PathBuf,
    /// Print the plan as a JSON object (workflow, cells, series, contaminations, estimators)
    #[arg(long)]
    pub json: bool,
    /// Largest plan accepted, in cells (series × contaminations × estimator rows)
    #[arg(long, value_name = "N", default_value_t = lrdbench_host::workflow::limits::DEFAULT_MAX_CELLS)]
    pub max_cells: u64,
}
