//! Arguments of the analytics dashboard commands: `summary`, `report` and `export`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// Arguments of `summary`.
#[derive(Debug, Args)]
pub struct SummaryArgs {
    /// Days to analyse, ending now
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=36500))]
    pub days: u32,
    /// Print JSON (keys include total_events, unique_users, success_rate, error_rate,
    /// workflows, top_estimators; missing values are null)
    #[arg(long)]
    pub json: bool,
}

/// Which report to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportWhich {
    /// Usage: calls, parameters, lengths, outcomes, sessions, errors
    Usage,
    /// Performance: time quantiles, scaling exponent, memory, CPU, trends, bottlenecks
    Performance,
    /// Reliability: error rates with intervals, kinds, failure modes, strata, recommendations
    Reliability,
    /// Workflow: runs, complexity, patterns, sequences, durations, hints
    Workflow,
    /// The four reports plus the comprehensive one
    All,
}

/// A report file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormatArg {
    /// Markdown, with charts as SVG files in charts/
    Md,
    /// JSON
    Json,
    /// Self-contained HTML with inline SVG charts
    Html,
}

/// Arguments of `report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The report
    #[arg(value_enum, default_value = "all")]
    pub which: ReportWhich,
    /// Days to analyse, ending now
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=36500))]
    pub days: u32,
    /// Output directory [default: <store>/reports]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Formats, comma-separated
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "md,json,html"
    )]
    pub format: Vec<ReportFormatArg>,
}

/// An export file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormatArg {
    /// JSON Lines (one event per line)
    Json,
    /// CSV with a header row
    Csv,
}

/// Arguments of `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Days to export, ending now
    #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=36500))]
    pub days: u32,
    /// Output directory [default: <store>/exports]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Formats, comma-separated
    #[arg(long, value_enum, value_delimiter = ',', default_value = "json,csv")]
    pub format: Vec<ExportFormatArg>,
}
