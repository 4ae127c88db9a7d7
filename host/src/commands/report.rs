//! The analytics dashboard commands: `summary`, `report` and `export`, over the store of the
//! settings.

use std::process::ExitCode;

use anyhow::{Context, Result};
use lrdbench_dashboard::{Dashboard, ExportFormat, ReportFormat, ReportKind};
use lrdbench_host::settings::{Settings, Verbosity};

use crate::cli::report::{
    ExportArgs, ExportFormatArg, ReportArgs, ReportFormatArg, ReportWhich, SummaryArgs,
};

/// `summary`: the quick summary, as text or JSON.
pub fn summary(settings: &Settings, args: SummaryArgs) -> Result<ExitCode> {
    let dashboard = Dashboard::open(&settings.store_dir);
    let s = dashboard
        .comprehensive_summary(args.days)
        .context("cannot read the analytics store")?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        out!("{}", s.to_text());
    }
    Ok(ExitCode::SUCCESS)
}

/// `report`: writes the chosen reports; prints the files written, the dashboard last.
pub fn report(settings: &Settings, args: ReportArgs) -> Result<ExitCode> {
    let kinds: Vec<ReportKind> = match args.which {
        ReportWhich::Usage => vec![ReportKind::Usage],
        ReportWhich::Performance => vec![ReportKind::Performance],
        ReportWhich::Reliability => vec![ReportKind::Reliability],
        ReportWhich::Workflow => vec![ReportKind::Workflow],
        ReportWhich::All => {
            let mut k = ReportKind::DETAILED.to_vec();
            k.push(ReportKind::Comprehensive);
            k
        }
    };
    let mut formats: Vec<ReportFormat> = args
        .format
        .iter()
        .map(|f| match f {
            ReportFormatArg::Md => ReportFormat::Markdown,
            ReportFormatArg::Json => ReportFormat::Json,
            ReportFormatArg::Html => ReportFormat::Html,
        })
        .collect();
    formats.sort();
    formats.dedup();
    let out = args
        .out
        .unwrap_or_else(|| settings.store_dir.join("reports"));
    let written = Dashboard::open(&settings.store_dir)
        .write_reports(args.days, &kinds, &out, &formats)
        .context("cannot write the reports")?;
    for w in &written.warnings {
        if settings.verbosity >= Verbosity::Normal {
            eprintln!("warning: {w}");
        }
    }
    if settings.verbosity >= Verbosity::Normal {
        for f in &written.files {
            outln!("{}", f.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `export`: the raw events, one file per record type, plus the summaries.
pub fn export(settings: &Settings, args: ExportArgs) -> Result<ExitCode> {
    let mut formats: Vec<ExportFormat> = args
        .format
        .iter()
        .map(|f| match f {
            ExportFormatArg::Json => ExportFormat::JsonLines,
            ExportFormatArg::Csv => ExportFormat::Csv,
        })
        .collect();
    formats.sort();
    formats.dedup();
    let out = args
        .out
        .unwrap_or_else(|| settings.store_dir.join("exports"));
    let files = Dashboard::open(&settings.store_dir)
        .export_all_data(args.days, &out, &formats)
        .context("cannot export the analytics data")?;
    if settings.verbosity >= Verbosity::Normal {
        for f in &files {
            outln!("{}", f.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
