//! Arguments of `generate`.

use std::path::PathBuf;

use clap::Args;

/// Generate series from a data model, optionally contaminated, as CSV.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The model, e.g. fgn, fbm, arfima, mrw, fou, white_noise, ar1 (see `plugins list`)
    pub model: String,
    /// A model parameter (repeatable), e.g. --param H=0.8 or --param ar=0.5,-0.2
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Length of each series
    #[arg(long, short = 'n', value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub length: u64,
    /// Seed of the first replicate; replicate r uses seed S + r, so each column can be
    /// reproduced alone with --seed S+r
    #[arg(long, short = 's', default_value_t = 0, value_name = "S")]
    pub seed: u64,
    /// Number of series, one CSV column each
    #[arg(long, short = 'r', default_value_t = 1, value_name = "R",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub replicates: u64,
    /// A contamination applied to every series, in the order given (repeatable), e.g.
    /// --contaminate outliers:rate=0.01,amplitude=6 or --contaminate missing:fill=linear
    #[arg(
        long = "contaminate",
        short = 'c',
        value_name = "NAME[:PARAM=VALUE,...]"
    )]
    pub contaminate: Vec<String>,
    /// Write the CSV to FILE instead of standard output
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
}
