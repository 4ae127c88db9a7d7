//! Arguments of `compare`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// A comparison output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum CompareFormat {
    /// Markdown, short enough for a pull request
    Md,
    /// JSON: every number with its interval, verdict and test
    Json,
    /// Self-contained HTML with SVG charts (only with --out)
    Html,
}

/// Compare two runs of a workflow cell by cell: did a change help?
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The baseline: a run directory, or `latest` / `previous` (see --runs, --workflow)
    pub base: String,
    /// The run to judge: a run directory, or `latest` / `previous`
    pub new: String,
    /// Formats, comma-separated; the first of md/json is printed, every one is written with --out
    #[arg(long, value_enum, value_delimiter = ',', default_value = "md")]
    pub format: Vec<CompareFormat>,
    /// Write compare.md / compare.json / compare.html into DIR
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Where `latest` / `previous` are looked for [default: the --workflow file's `[output]
    /// dir`, else `runs`]
    #[arg(long, value_name = "DIR")]
    pub runs: Option<PathBuf>,
    /// The workflow of `latest` / `previous`: its name, or its TOML file [default: the only
    /// workflow with complete runs in the runs directory]
    #[arg(long, value_name = "NAME|FILE")]
    pub workflow: Option<String>,
    /// Exit 1 when a row regresses on these: accuracy (MAE, bias, RMSE), coverage (coverage, CI
    /// width), validity, runtime, or single metrics, comma-separated
    #[arg(long, value_name = "LIST")]
    pub fail_on: Option<String>,
    /// Smallest change that counts, per metric: mae=0.002,runtime=1.10 (defaults: accuracy and
    /// CI width 0.001, coverage 0.01, validity 0.001, runtime 1.10)
    #[arg(long, value_name = "LIST")]
    pub tolerance: Option<String>,
}
