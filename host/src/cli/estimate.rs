//! Arguments of `estimate`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use lrdbench_host::data::Missing;

/// Estimate H of one series with one or more estimators.
#[derive(Debug, Args)]
pub struct EstimateArgs {
    /// The series: a CSV file (header optional), whitespace-separated numbers, or `-` for
    /// standard input
    pub file: PathBuf,
    /// Column to read, by header name or zero-based index [default: the first]
    #[arg(long, value_name = "NAME|INDEX")]
    pub column: Option<String>,
    /// Estimators to run, comma-separated, or `all`
    #[arg(
        long,
        short = 'e',
        value_delimiter = ',',
        required = true,
        value_name = "NAME[,NAME...]"
    )]
    pub estimator: Vec<String>,
    /// A parameter, applied to every selected estimator that declares it (repeatable)
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Print JSON: {n, estimates: [{estimator, estimand, value, stderr, ci_low, ci_high,
    /// ci_level, ci_method, r_squared, warnings, error, elapsed_ms}], agreement: {method, compared, pairs,
    /// level, critical_z, consistent, disagreeing: [{a, b, difference, z}]}}
    #[arg(long)]
    pub json: bool,
    /// Run each estimator in an isolated worker process
    #[arg(long)]
    pub isolate: bool,
    /// Per-call time limit in seconds; implies --isolate (only a process boundary can stop a call)
    #[arg(long, value_name = "SECS", value_parser = super::positive_seconds)]
    pub timeout: Option<f64>,
    /// Missing cells (empty, NA, NaN): refuse the series naming the first one's line, leave
    /// them out, or fill interior gaps linearly (dropping leading and trailing ones)
    #[arg(long, value_enum, default_value_t = MissingArg::Error, value_name = "POLICY")]
    pub missing: MissingArg,
}

/// `--missing` policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MissingArg {
    /// Refuse the series
    Error,
    /// Leave missing cells out
    Drop,
    /// Interpolate interior gaps linearly
    Interpolate,
}

impl From<MissingArg> for Missing {
    fn from(m: MissingArg) -> Missing {
        match m {
            MissingArg::Error => Missing::Error,
            MissingArg::Drop => Missing::Drop,
            MissingArg::Interpolate => Missing::Interpolate,
        }
    }
}
