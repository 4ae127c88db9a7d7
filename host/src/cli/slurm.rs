//! Arguments of `slurm`.

use std::path::PathBuf;

use clap::Args;

/// Write (or submit) the Slurm batch scripts of a sharded sweep.
#[derive(Debug, Args)]
pub struct SlurmArgs {
    /// The workflow file
    pub file: PathBuf,
    /// Number of shards: array tasks, 1 to 100000
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub shards: u32,
    /// Directory of the sweep: scripts, shard runs (`shards/`), the merged run (`merged/`) and
    /// Slurm logs (`logs/`) [default: sweep-<workflow name>]
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Slurm partition (`#SBATCH --partition`) [default: the cluster's]
    #[arg(long, value_name = "P")]
    pub partition: Option<String>,
    /// Time limit of each task (`#SBATCH --time`, e.g. 2:00:00) [default: the partition's]
    #[arg(long, value_name = "T")]
    pub time: Option<String>,
    /// CPUs of each task (`#SBATCH --cpus-per-task`; the shard runs that many threads)
    #[arg(long, value_name = "C", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub cpus_per_task: u16,
    /// Memory of each task (`#SBATCH --mem`, e.g. 4G) [default: the partition's]
    #[arg(long, value_name = "M")]
    pub mem: Option<String>,
    /// The lrdbench-host the jobs run (scripts honour $LRDBENCH over it) [default: this one]
    #[arg(long, value_name = "PATH")]
    pub lrdbench: Option<PathBuf>,
    /// Submit the scripts with sbatch and print the job ids
    #[arg(long)]
    pub submit: bool,
}
