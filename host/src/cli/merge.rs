//! Arguments of `merge`.

use std::path::PathBuf;

use clap::Args;

/// Merge the shard runs of a sharded sweep into one run directory.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Shard run directories, or directories holding them (e.g. the `--out` of every shard)
    #[arg(required = true, value_name = "SHARD_DIR")]
    pub shards: Vec<PathBuf>,
    /// The run directory to write (must not exist)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The workflow file [default: the one the shards recorded in their manifests]
    #[arg(long, value_name = "FILE")]
    pub workflow: Option<PathBuf>,
    /// Merge what is there when shards or cells are missing; the manifest and report say what
    /// fraction is missing (exit code 3)
    #[arg(long)]
    pub partial: bool,
    /// Worker threads for writing the outputs, 0 to 1024 [default: the workflow's]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(0..=1024))]
    pub threads: Option<u16>,
}
