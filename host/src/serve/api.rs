//! What the dashboard endpoints and pages are made of: every report of a period computed once
//! by the dashboard's own functions (the numbers of `summary --json` and `report`), with the
//! reports' charts ([`lrdbench_dashboard::charts`]: one chart module for files and pages),
//! and the run chart of the cells so far (the chart of `report.html`).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use lrdbench_dashboard::charts::{self, Charts};
use lrdbench_dashboard::render::escape_html;
use lrdbench_dashboard::Regressions;
use lrdbench_dashboard::{Dashboard, ReportKind, Reports};

use crate::workflow::record::CellRecord;

/// Every report of one period, its charts and, once a page that shows it is asked for, its
/// regressions section (which reads the events a second time, as `report` does).
#[derive(Debug)]
pub struct Computed {
    /// The reports.
    pub reports: Reports,
    /// Their charts, by key.
    pub charts: Charts,
    /// Charts that could not be drawn.
    pub warnings: Vec<String>,
    regressions: OnceLock<Result<Regressions, String>>,
    store_dir: PathBuf,
    days: u32,
}

impl Computed {
    /// Reads the store's last `days` days and computes every report, as `report all` does.
    ///
    /// # Errors
    ///
    /// The store cannot be read (the message).
    pub fn compute(store_dir: &Path, days: u32) -> Result<Computed, String> {
        let dashboard = Dashboard::open(store_dir);
        let w = dashboard.window(days).map_err(|e| e.to_string())?;
        let reports = Reports::compute_table(&w.calls, &w.steps, w.period, w.now_us);
        let (charts, warnings) = charts::draw_all(charts::ChartInputs {
            calls: &w.calls,
            usage: Some(&reports.usage),
            performance: Some(&reports.performance),
            reliability: Some(&reports.reliability),
            workflow: Some(&reports.workflow),
        });
        Ok(Computed {
            reports,
            charts,
            warnings,
            regressions: OnceLock::new(),
            store_dir: store_dir.to_path_buf(),
            days,
        })
    }

    /// The regressions section of the performance and reliability reports (computed once).
    ///
    /// # Errors
    ///
    /// The store cannot be read (the message).
    pub fn regressions(&self) -> Result<&Regressions, String> {
        self.regressions
            .get_or_init(|| {
                Dashboard::open(&self.store_dir)
                    .regressions(self.days)
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The HTML page of one report, or of all of them (the comprehensive one first), as
    /// `report` writes `<kind>_report.html` and `dashboard.html`.
    pub fn page(&self, kind: Option<ReportKind>) -> String {
        let kinds: Vec<ReportKind> = match kind {
            Some(k) => vec![k],
            None => std::iter::once(ReportKind::Comprehensive)
                .chain(ReportKind::DETAILED)
                .collect(),
        };
        let shows_regressions = kinds
            .iter()
            .any(|k| matches!(k, ReportKind::Performance | ReportKind::Reliability));
        let regressions = shows_regressions.then(|| self.regressions());
        let mut fragments: Vec<String> = kinds
            .iter()
            .map(|&k| {
                let mut doc = self.reports.doc(k);
                if let Some(Ok(r)) = &regressions {
                    r.append_to(k, &mut doc);
                }
                doc.to_html_fragment(&self.charts)
            })
            .collect();
        if let Some(Err(e)) = &regressions {
            fragments.push(format!(
                "<p>warning: no regressions section: {}</p>",
                escape_html(e)
            ));
        }
        for w in &self.warnings {
            fragments.push(format!("<p>warning: {}</p>", escape_html(w)));
        }
        let title = match kind {
            Some(k) => format!("lrdbench {} report", k.as_str()),
            None => "lrdbench analytics dashboard".to_string(),
        };
        super::pages::dashboard(&title, &fragments)
    }
}

/// Estimate against truth of the cells so far, one colour per estimator row (rows in the order
/// their first cell finished): the chart of `report.html`, as an SVG document.
///
/// Each row shows at most [`charts::MAX_POINTS`] of its cells, evenly spaced in journal order
/// (the dashboard's own limit for scatter charts), so a page watching a 20,000-cell sweep does
/// not make the server draw every point every few seconds.
pub fn truth_chart(records: &[CellRecord]) -> String {
    let mut rows: Vec<String> = Vec::new();
    let mut counts: Vec<usize> = Vec::new();
    for r in records {
        match rows.iter().position(|v| v == &r.variant) {
            Some(i) => counts[i] += 1,
            None => {
                rows.push(r.variant.clone());
                counts.push(1);
            }
        }
    }
    let steps: Vec<usize> = counts
        .iter()
        .map(|&n| n.div_ceil(charts::MAX_POINTS).max(1))
        .collect();
    let mut seen = vec![0usize; rows.len()];
    let shown: Vec<CellRecord> = records
        .iter()
        .filter(|r| {
            let Some(i) = rows.iter().position(|v| v == &r.variant) else {
                return false;
            };
            seen[i] += 1;
            (seen[i] - 1).is_multiple_of(steps[i])
        })
        .cloned()
        .collect();
    let svg = crate::workflow::output::svg_estimate_vs_truth(&shown, &rows);
    if svg.starts_with("<svg") {
        svg
    } else {
        // The report's note (no cell with a truth yet), already escaped, as a small SVG, so
        // the page's image stays an image.
        let text = svg.trim_start_matches("<p>").trim_end_matches("</p>");
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"920\" height=\"40\">\
             <text x=\"10\" y=\"25\" font-family=\"sans-serif\" font-size=\"14\">{text}</text></svg>"
        )
    }
}
