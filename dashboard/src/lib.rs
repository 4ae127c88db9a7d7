//! The lrdbench analytics dashboard: the quick summary, the usage, performance, reliability,
//! workflow and comprehensive reports, SVG charts, and exports of the raw events — the
//! original system's `AnalyticsDashboard`, with every statistic defined over real
//! denominators.
//!
//! Everything is computed by pure functions over the recorded events
//! ([`lrdbench_analytics::event`]), so a report over an empty period is still a report (no
//! crash, no NaN: missing values are `null` in JSON and `n/a` in text). [`Dashboard`] reads
//! the events of a period from a store directory (or takes them from memory), and renders each
//! report as Markdown, JSON and self-contained HTML with inline SVG charts.
//!
//! The statistics are in [`stats`], each with its formula, its reference and tests against
//! textbook values.
//!
//! # Example: reports over events in memory
//!
//! ```
//! use lrdbench_dashboard::{Dashboard, ReportFormat, ReportKind};
//!
//! // No events: every report is still well defined.
//! let dashboard = Dashboard::from_events(vec![], vec![]);
//! let summary = dashboard.get_analytics_summary(30)?;
//! assert_eq!(summary.total_events, 0);
//! assert_eq!(summary.success_rate, None);
//! let reliability = dashboard.generate_reliability_report(30)?;
//! assert!(reliability.overall.is_none());
//!
//! let out = tempfile::tempdir()?;
//! let written = dashboard.write_reports(30, &[ReportKind::Usage], out.path(), &ReportFormat::ALL)?;
//! assert!(written.files.iter().any(|p| p.ends_with("usage_report.html")));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Example: the reports of a store
//!
//! ```no_run
//! use std::path::Path;
//! use lrdbench_dashboard::Dashboard;
//!
//! let dashboard = Dashboard::open(Path::new("/home/me/.lrdbench"));
//! println!("{}", dashboard.comprehensive_summary(30)?.to_text());
//! let written = dashboard.generate_comprehensive_report(30, Path::new("reports"))?;
//! println!("wrote {} files", written.files.len());
//! # Ok::<(), lrdbench_dashboard::DashboardError>(())
//! ```
#![deny(missing_docs)]
// Crate internals are `pub(crate)`: `pub` means part of the documented surface.
#![warn(unreachable_pub)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod alarm;
pub mod charts;
mod export;
mod failure;
pub mod paired;
pub mod render;
mod report;
pub mod stats;
mod util;

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use lrdbench_analytics::event::{CallEvent, StepEvent};
use lrdbench_analytics::table::CallTable;
use lrdbench_analytics::{AnalyticsConfig, StoreError};

pub use charts::Charts;
pub use export::{ExportFormat, ExportOptions};
pub use report::regressions::{LessValid, Regressions, Slower, WorkflowRegressions};
pub use report::{
    event_type_name, ComprehensiveReport, PerformanceReport, ReliabilityReport, ReportKind,
    Reports, Summary, UsageReport, WorkflowReport,
};
pub use util::{h_band, Period};

/// Why a dashboard operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DashboardError {
    /// The analytics store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A CSV file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Csv {
        /// The path.
        path: PathBuf,
        /// The error.
        source: csv::Error,
    },
    /// A report could not be serialized.
    #[error("cannot serialize the {report} report: {source}")]
    Json {
        /// Which report.
        report: String,
        /// The error.
        source: serde_json::Error,
    },
}

impl DashboardError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> DashboardError {
        DashboardError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// A CSV error on `path`.
    pub fn csv(path: &Path, source: csv::Error) -> DashboardError {
        DashboardError::Csv {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// A report output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReportFormat {
    /// Markdown (`.md`), charts as `charts/<name>.svg` files beside it.
    Markdown,
    /// JSON (`.json`): the report struct, missing values `null`.
    Json,
    /// Self-contained HTML (`.html`): inline CSS and SVG, no script, no network.
    Html,
}

impl ReportFormat {
    /// Every format.
    pub const ALL: [ReportFormat; 3] = [
        ReportFormat::Markdown,
        ReportFormat::Json,
        ReportFormat::Html,
    ];
}

/// What a report run wrote.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Written {
    /// The files, in the order written.
    pub files: Vec<PathBuf>,
    /// Charts that could not be drawn (the reports are written without them).
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone)]
enum Source {
    Store(PathBuf),
    Memory {
        calls: Vec<CallEvent>,
        steps: Vec<StepEvent>,
    },
}

/// The analytics dashboard over a store directory or over events in memory.
#[derive(Debug, Clone)]
pub struct Dashboard {
    source: Source,
    now_us: Option<i64>,
    privacy: bool,
}

/// The events of one period, in the reports' form.
#[derive(Debug, Clone)]
pub struct Window {
    /// The period.
    pub period: Period,
    /// Calls in it, in time order, as columns.
    pub calls: CallTable,
    /// Steps in it, in time order.
    pub steps: Vec<StepEvent>,
    /// The time of the report.
    pub now_us: i64,
}

/// The events of one period as recorded (what exports write).
#[derive(Debug, Clone)]
struct EventWindow<'a> {
    period: Period,
    calls: Cow<'a, [CallEvent]>,
    steps: Cow<'a, [StepEvent]>,
    now_us: i64,
}

impl Dashboard {
    /// The dashboard of the store under `store_dir` (the directory that holds `analytics/`).
    /// Exports follow the store's privacy setting (on unless turned off).
    pub fn open(store_dir: &Path) -> Dashboard {
        let privacy = AnalyticsConfig::load(store_dir).map_or(true, |c| c.privacy);
        Dashboard {
            source: Source::Store(store_dir.to_path_buf()),
            now_us: None,
            privacy,
        }
    }

    /// A dashboard over events in memory (privacy mode on for exports).
    pub fn from_events(mut calls: Vec<CallEvent>, mut steps: Vec<StepEvent>) -> Dashboard {
        calls.sort_by_key(|c| (c.timestamp_us, c.id));
        steps.sort_by_key(|s| (s.timestamp_us, s.id));
        Dashboard {
            source: Source::Memory { calls, steps },
            now_us: None,
            privacy: true,
        }
    }

    /// Fixes the time of the report (µs since the epoch) instead of the clock: periods end
    /// there. For reproducible reports and tests.
    pub fn at(mut self, now_us: i64) -> Dashboard {
        self.now_us = Some(now_us);
        self
    }

    /// Sets privacy mode for exports.
    pub fn with_privacy(mut self, privacy: bool) -> Dashboard {
        self.privacy = privacy;
        self
    }

    /// Whether exports are sanitized.
    pub fn privacy(&self) -> bool {
        self.privacy
    }

    fn period(&self, days: u32) -> (Period, i64) {
        let now = self.now_us.unwrap_or_else(lrdbench_analytics::now_us);
        (Period::ending_at(now.saturating_add(1), days), now)
    }

    /// The events of the last `days` days (up to and including now), the calls as a
    /// [`CallTable`]: from a store, read without building a [`CallEvent`] per call.
    ///
    /// # Errors
    ///
    /// [`DashboardError::Store`] when the store cannot be read.
    pub fn window(&self, days: u32) -> Result<Window, DashboardError> {
        let (period, now) = self.period(days);
        match &self.source {
            Source::Memory { .. } => {
                let w = self.event_window(days)?;
                Ok(Window {
                    period,
                    calls: CallTable::from_events(&w.calls),
                    steps: w.steps.into_owned(),
                    now_us: now,
                })
            }
            Source::Store(dir) => {
                let ev = lrdbench_analytics::read_table(dir, period.since_us)?;
                if ev.calls.skipped > 0 {
                    // Reports go on without them; the count must not go unsaid.
                    eprintln!(
                        "warning: {} analytics record(s) of this period could not be read and are left out",
                        ev.calls.skipped
                    );
                }
                let mut calls = ev.calls;
                calls.retain_rows(|t, i| period.contains(t.timestamp_us[i]));
                let mut steps = ev.steps;
                steps.retain(|s| period.contains(s.timestamp_us));
                Ok(Window {
                    period,
                    calls,
                    steps,
                    now_us: now,
                })
            }
        }
    }

    fn event_window(&self, days: u32) -> Result<EventWindow<'_>, DashboardError> {
        let (period, now) = self.period(days);
        match &self.source {
            Source::Memory { calls, steps } => {
                let c0 = calls.partition_point(|c| c.timestamp_us < period.since_us);
                let c1 = calls.partition_point(|c| c.timestamp_us < period.until_us);
                let s0 = steps.partition_point(|s| s.timestamp_us < period.since_us);
                let s1 = steps.partition_point(|s| s.timestamp_us < period.until_us);
                Ok(EventWindow {
                    period,
                    calls: Cow::Borrowed(&calls[c0..c1]),
                    steps: Cow::Borrowed(&steps[s0..s1]),
                    now_us: now,
                })
            }
            Source::Store(dir) => {
                let mut ev = lrdbench_analytics::read_events(dir, period.since_us)?;
                if ev.skipped > 0 {
                    eprintln!(
                        "warning: {} analytics record(s) of this period could not be read and are left out",
                        ev.skipped
                    );
                }
                ev.calls.retain(|c| period.contains(c.timestamp_us));
                ev.steps.retain(|s| period.contains(s.timestamp_us));
                ev.calls.sort_by_key(|c| (c.timestamp_us, c.id));
                ev.steps.sort_by_key(|s| (s.timestamp_us, s.id));
                Ok(EventWindow {
                    period,
                    calls: Cow::Owned(ev.calls),
                    steps: Cow::Owned(ev.steps),
                    now_us: now,
                })
            }
        }
    }

    /// Every report of the last `days` days.
    ///
    /// # Errors
    ///
    /// [`DashboardError::Store`] when the store cannot be read.
    pub fn reports(&self, days: u32) -> Result<Reports, DashboardError> {
        let w = self.window(days)?;
        Ok(Reports::compute_table(
            &w.calls, &w.steps, w.period, w.now_us,
        ))
    }

    /// The spec's `get_comprehensive_summary(days)`: the quick summary.
    ///
    /// # Errors
    ///
    /// [`DashboardError::Store`] when the store cannot be read.
    pub fn comprehensive_summary(&self, days: u32) -> Result<Summary, DashboardError> {
        let w = self.window(days)?;
        Ok(Summary::compute_table(
            &w.calls, &w.steps, w.period, w.now_us,
        ))
    }

    /// The spec's `get_analytics_summary(days)`; the same as [`Dashboard::comprehensive_summary`].
    ///
    /// # Errors
    ///
    /// As [`Dashboard::comprehensive_summary`].
    pub fn get_analytics_summary(&self, days: u32) -> Result<Summary, DashboardError> {
        self.comprehensive_summary(days)
    }

    /// The usage report of the last `days` days.
    ///
    /// # Errors
    ///
    /// [`DashboardError::Store`] when the store cannot be read.
    pub fn generate_usage_report(&self, days: u32) -> Result<UsageReport, DashboardError> {
        let w = self.window(days)?;
        Ok(UsageReport::compute_table(&w.calls, w.period))
    }

    /// The performance report of the last `days` days.
    ///
    /// # Errors
    ///
    /// [`DashboardError::Store`] when the store cannot be read.
    pub fn generate_performance_report(
        &self,
        days: u32,
    ) -> Result<PerformanceReport, DashboardError> {
        let w = self.window(days)?;
        Ok(PerformanceReport::compute_table(&w.calls, w.period))
    }

    /// The reliability report of the last `days` days.
    ///
    /// # Errors
    ///
    /// [`DashboardError::Store`] when the store cannot be read.
    pub fn generate_reliability_report(
        &self,
        days: u32,
    ) -> Result<ReliabilityReport, DashboardError> {
        let w = self.window(days)?;
        Ok(ReliabilityReport::compute_table(&w.calls, w.period))
    }

    /// The workflow report of the last `days` days.
    ///
    /// # Errors
    ///
    /// [`DashboardError::Store`] when the store cannot be read.
    pub fn generate_workflow_report(&self, days: u32) -> Result<WorkflowReport, DashboardError> {
        let w = self.window(days)?;
        Ok(WorkflowReport::compute(&w.steps, w.period))
    }

    /// The spec's `generate_comprehensive_report(days, output_dir)`: writes the four reports
    /// and the comprehensive one in every format, plus `dashboard.html` and `charts/*.svg`.
    ///
    /// # Errors
    ///
    /// [`DashboardError`] when the store cannot be read or a file cannot be written.
    pub fn generate_comprehensive_report(
        &self,
        days: u32,
        output_dir: &Path,
    ) -> Result<Written, DashboardError> {
        let mut kinds = ReportKind::DETAILED.to_vec();
        kinds.push(ReportKind::Comprehensive);
        self.write_reports(days, &kinds, output_dir, &ReportFormat::ALL)
    }

    /// The spec's `generate_analytics_report(days)`: [`Dashboard::generate_comprehensive_report`]
    /// into `<store>/reports` (or `./lrdbench-reports` for events in memory); returns the path
    /// of the comprehensive Markdown report.
    ///
    /// # Errors
    ///
    /// As [`Dashboard::generate_comprehensive_report`].
    pub fn generate_analytics_report(&self, days: u32) -> Result<PathBuf, DashboardError> {
        let dir = match &self.source {
            Source::Store(d) => d.join("reports"),
            Source::Memory { .. } => PathBuf::from("lrdbench-reports"),
        };
        self.generate_comprehensive_report(days, &dir)?;
        Ok(dir.join(format!("{}.md", ReportKind::Comprehensive.stem())))
    }

    /// The spec's `create_visualizations(days)`: every chart as an SVG string, by name, plus
    /// the charts that could not be drawn.
    ///
    /// # Examples
    ///
    /// ```
    /// use lrdbench_dashboard::Dashboard;
    ///
    /// // Without data there is nothing to draw, and that is not an error.
    /// let (charts, failed) = Dashboard::from_events(vec![], vec![]).create_visualizations(30)?;
    /// assert!(charts.is_empty() && failed.is_empty());
    /// # Ok::<(), lrdbench_dashboard::DashboardError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`DashboardError::Store`] when the store cannot be read.
    pub fn create_visualizations(
        &self,
        days: u32,
    ) -> Result<(Charts, Vec<String>), DashboardError> {
        let w = self.window(days)?;
        let r = Reports::compute_table(&w.calls, &w.steps, w.period, w.now_us);
        Ok(charts::draw_all(charts::ChartInputs {
            calls: &w.calls,
            usage: Some(&r.usage),
            performance: Some(&r.performance),
            reliability: Some(&r.reliability),
            workflow: Some(&r.workflow),
        }))
    }

    /// Writes the reports `kinds` of the last `days` days into `output_dir` (created if
    /// needed) in `formats`: `<kind>_report.{md,json,html}`, `charts/*.svg` for Markdown, and
    /// one self-contained `dashboard.html` with every report of the run for HTML.
    ///
    /// # Errors
    ///
    /// [`DashboardError`] when the store cannot be read or a file cannot be written.
    pub fn write_reports(
        &self,
        days: u32,
        kinds: &[ReportKind],
        output_dir: &Path,
        formats: &[ReportFormat],
    ) -> Result<Written, DashboardError> {
        let w = self.window(days)?;
        let reports = Reports::compute_table(&w.calls, &w.steps, w.period, w.now_us);
        // The regressions section pairs calls by run and cell, which the reports' columns do
        // not hold: the events are read again, only when a report that shows it is asked for.
        let regressions = if kinds.contains(&ReportKind::Performance)
            || kinds.contains(&ReportKind::Reliability)
        {
            Some(self.regressions(days)?)
        } else {
            None
        };
        write_reports_with(
            &reports,
            &w.calls,
            kinds,
            output_dir,
            formats,
            regressions.as_ref(),
        )
    }

    /// The regressions between the two latest runs of each workflow of the last `days` days
    /// (see `report::regressions`).
    ///
    /// # Errors
    ///
    /// [`DashboardError::Store`] when the store cannot be read.
    pub fn regressions(
        &self,
        days: u32,
    ) -> Result<report::regressions::Regressions, DashboardError> {
        use report::regressions::RunStarts;
        let (period, _) = self.period(days);
        let dir = match &self.source {
            Source::Store(dir) => dir,
            Source::Memory { .. } => {
                let w = self.event_window(days)?;
                return Ok(report::regressions::Regressions::compute(&w.calls));
            }
        };
        // Two passes over the store, each call visited and dropped: the first finds each
        // workflow's two latest runs, the second keeps only their cells.
        struct Pass<F: FnMut(&CallEvent)>(F, Period);
        impl<F: FnMut(&CallEvent)> lrdbench_analytics::EventVisitor for Pass<F> {
            fn call(&mut self, c: CallEvent) {
                if self.1.contains(c.timestamp_us) {
                    (self.0)(&c);
                }
            }
            fn step(&mut self, _: StepEvent) {}
        }
        let mut starts = RunStarts::default();
        lrdbench_analytics::visit_events(
            dir,
            period.since_us,
            false,
            &mut Pass(|c: &CallEvent| starts.add(c), period),
        )?;
        let mut cells = starts.latest_two();
        lrdbench_analytics::visit_events(
            dir,
            period.since_us,
            false,
            &mut Pass(|c: &CallEvent| cells.add(c), period),
        )?;
        Ok(cells.finish())
    }

    /// The spec's `export_all_data(days, output_dir)`: the raw events of the last `days` days,
    /// one file per record type (`usage`, `performance`, `errors`, `workflow_steps`; `.jsonl`
    /// and/or `.csv`), sanitized in privacy mode, plus `summary.json` and the four reports
    /// as JSON.
    ///
    /// # Examples
    ///
    /// ```
    /// use lrdbench_dashboard::{Dashboard, ExportFormat};
    ///
    /// let out = tempfile::tempdir()?;
    /// let files = Dashboard::from_events(vec![], vec![])
    ///     .export_all_data(90, out.path(), &[ExportFormat::JsonLines, ExportFormat::Csv])?;
    /// // usage, performance, errors, workflow_steps × 2 formats, summary.json, 4 reports.
    /// assert_eq!(files.len(), 13);
    /// assert!(out.path().join("errors.csv").is_file());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`DashboardError`] when the store cannot be read or a file cannot be written.
    pub fn export_all_data(
        &self,
        days: u32,
        output_dir: &Path,
        formats: &[ExportFormat],
    ) -> Result<Vec<PathBuf>, DashboardError> {
        if let Source::Store(dir) = &self.source {
            return self.export_store(dir, days, output_dir, formats);
        }
        let w = self.event_window(days)?;
        let (period, now_us) = (w.period, w.now_us);
        // One owned copy of the period, sanitized in place: the files and the summaries are
        // made from the same (sanitized) events, so no string leaves through the summaries
        // that the raw files would not show, and the events are held once, not three times.
        let (mut calls, mut steps) = (w.calls.into_owned(), w.steps.into_owned());
        if self.privacy {
            let who = lrdbench_analytics::privacy::Identity::current();
            calls
                .iter_mut()
                .for_each(|c| export::sanitize_call(c, &who));
            steps
                .iter_mut()
                .for_each(|s| export::sanitize_step(s, &who));
        }
        let opts = ExportOptions {
            formats: formats.to_vec(),
            privacy: false,
        };
        let files = export::export_events(&calls, &steps, output_dir, &opts)?;
        let reports = Reports::compute(&calls, &steps, period, now_us);
        write_export_reports(&reports, output_dir, files)
    }

    /// [`Dashboard::export_all_data`] of a store: the events stream from the store into the
    /// files one decoding batch at a time, each sanitized once; the reports are computed from
    /// the same sanitized calls, gathered as the reports' columns ([`CallTable`]) on the way.
    fn export_store(
        &self,
        dir: &Path,
        days: u32,
        output_dir: &Path,
        formats: &[ExportFormat],
    ) -> Result<Vec<PathBuf>, DashboardError> {
        struct Visit {
            out: export::Exporter,
            who: Option<lrdbench_analytics::privacy::Identity>,
            period: Period,
            calls: CallTable,
            steps: Vec<StepEvent>,
            failed: Option<DashboardError>,
        }
        impl lrdbench_analytics::EventVisitor for Visit {
            fn call(&mut self, mut c: CallEvent) {
                if self.failed.is_some() || !self.period.contains(c.timestamp_us) {
                    return;
                }
                if let Some(who) = &self.who {
                    export::sanitize_call(&mut c, who);
                }
                match self.out.call(&c) {
                    Ok(()) => self.calls.push(&c),
                    Err(e) => self.failed = Some(e),
                }
            }
            fn step(&mut self, mut s: StepEvent) {
                if self.failed.is_some() || !self.period.contains(s.timestamp_us) {
                    return;
                }
                if let Some(who) = &self.who {
                    export::sanitize_step(&mut s, who);
                }
                match self.out.step(&s) {
                    Ok(()) => self.steps.push(s),
                    Err(e) => self.failed = Some(e),
                }
            }
        }
        let (period, now_us) = self.period(days);
        let opts = ExportOptions {
            formats: formats.to_vec(),
            privacy: false,
        };
        let mut v = Visit {
            out: export::Exporter::create(output_dir, &opts)?,
            who: self
                .privacy
                .then(lrdbench_analytics::privacy::Identity::current),
            period,
            calls: CallTable::default(),
            steps: Vec::new(),
            failed: None,
        };
        let skipped = lrdbench_analytics::visit_events(dir, period.since_us, true, &mut v)?;
        if skipped > 0 {
            eprintln!(
                "warning: {skipped} analytics record(s) of this period could not be read and are left out"
            );
        }
        if let Some(e) = v.failed {
            return Err(e);
        }
        let files = v.out.finish()?;
        let mut calls = v.calls;
        calls.sort_by_time();
        let mut steps = v.steps;
        steps.sort_by_key(|s| (s.timestamp_us, s.id));
        let reports = Reports::compute_table(&calls, &steps, period, now_us);
        write_export_reports(&reports, output_dir, files)
    }
}

/// Writes `summary.json` and the four reports as JSON beside the exported files `files`;
/// returns every path.
fn write_export_reports(
    reports: &Reports,
    output_dir: &Path,
    mut files: Vec<PathBuf>,
) -> Result<Vec<PathBuf>, DashboardError> {
    let path = output_dir.join("summary.json");
    let json =
        serde_json::to_string_pretty(&reports.summary).map_err(|e| DashboardError::Json {
            report: "summary".into(),
            source: e,
        })?;
    std::fs::write(&path, json).map_err(|e| DashboardError::io(&path, e))?;
    files.push(path);
    for k in ReportKind::DETAILED {
        let path = output_dir.join(format!("{}.json", k.stem()));
        let json = reports.json(k).map_err(|e| DashboardError::Json {
            report: k.as_str().into(),
            source: e,
        })?;
        std::fs::write(&path, json).map_err(|e| DashboardError::io(&path, e))?;
        files.push(path);
    }
    Ok(files)
}

/// Writes already computed reports; see [`Dashboard::write_reports`].
///
/// # Errors
///
/// [`DashboardError`] when a file cannot be written.
pub fn write_reports(
    reports: &Reports,
    calls: &CallTable,
    kinds: &[ReportKind],
    output_dir: &Path,
    formats: &[ReportFormat],
) -> Result<Written, DashboardError> {
    write_reports_with(reports, calls, kinds, output_dir, formats, None)
}

/// [`write_reports`], with the regressions section added to the performance and reliability
/// reports when given.
///
/// # Errors
///
/// [`DashboardError`] when a file cannot be written.
pub fn write_reports_with(
    reports: &Reports,
    calls: &CallTable,
    kinds: &[ReportKind],
    output_dir: &Path,
    formats: &[ReportFormat],
    regressions: Option<&report::regressions::Regressions>,
) -> Result<Written, DashboardError> {
    std::fs::create_dir_all(output_dir).map_err(|e| DashboardError::io(output_dir, e))?;
    let has = |k: ReportKind| kinds.contains(&k);
    let (charts, warnings) = charts::draw_all(charts::ChartInputs {
        calls,
        usage: has(ReportKind::Usage).then_some(&reports.usage),
        performance: has(ReportKind::Performance).then_some(&reports.performance),
        reliability: has(ReportKind::Reliability).then_some(&reports.reliability),
        workflow: has(ReportKind::Workflow).then_some(&reports.workflow),
    });
    let mut written = Written {
        files: Vec::new(),
        warnings,
    };
    let write = |written: &mut Written, name: String, body: &str| -> Result<(), DashboardError> {
        let p = output_dir.join(name);
        std::fs::write(&p, body).map_err(|e| DashboardError::io(&p, e))?;
        written.files.push(p);
        Ok(())
    };
    let mut fragments = Vec::new();
    let mut referenced = std::collections::BTreeSet::new();
    for &k in kinds {
        let mut doc = reports.doc(k);
        if let Some(r) = regressions {
            r.append_to(k, &mut doc);
        }
        for b in &doc.blocks {
            if let render::Block::Chart { key, .. } = b {
                if charts.contains_key(key) {
                    referenced.insert(key.clone());
                }
            }
        }
        if formats.contains(&ReportFormat::Markdown) {
            let mut md_doc = doc.clone();
            // Markdown references only charts that exist.
            md_doc.blocks.retain(
                |b| !matches!(b, render::Block::Chart { key, .. } if !charts.contains_key(key)),
            );
            write(
                &mut written,
                format!("{}.md", k.stem()),
                &md_doc.to_markdown("charts"),
            )?;
        }
        if formats.contains(&ReportFormat::Json) {
            let json = reports.json(k).map_err(|e| DashboardError::Json {
                report: k.as_str().into(),
                source: e,
            })?;
            write(&mut written, format!("{}.json", k.stem()), &json)?;
        }
        let fragment = doc.to_html_fragment(&charts);
        if formats.contains(&ReportFormat::Html) {
            write(
                &mut written,
                format!("{}.html", k.stem()),
                &render::html_page(&doc.title, std::slice::from_ref(&fragment)),
            )?;
        }
        fragments.push(fragment);
    }
    if formats.contains(&ReportFormat::Markdown) && !referenced.is_empty() {
        let dir = output_dir.join("charts");
        std::fs::create_dir_all(&dir).map_err(|e| DashboardError::io(&dir, e))?;
        for key in &referenced {
            write(&mut written, format!("charts/{key}.svg"), &charts[key])?;
        }
    }
    if formats.contains(&ReportFormat::Html) {
        write(
            &mut written,
            "dashboard.html".to_string(),
            &render::html_page("lrdbench analytics dashboard", &fragments),
        )?;
    }
    Ok(written)
}

#[cfg(test)]
mod tests;
