//! The "Regressions" section of the performance and reliability reports: for each workflow,
//! its two latest runs in the period compared cell by cell with the tests of
//! `lrdbench-host compare` ([`crate::paired`]).
//!
//! The reports see the analytics store, not run directories, so only what the store records
//! per cell can be compared: every estimator call inside a workflow carries its run, its
//! workflow and its cell (`series|contamination|row`), whether it succeeded, and its wall time.
//! That gives the time ratio (performance report) and validity (reliability report). Accuracy,
//! coverage and CI width need the estimates, which live only in the run directories: that is
//! `lrdbench-host compare`'s job, and the section says so. The store does not record whether a
//! run completed, so the two latest runs are compared on the cells both have.

use std::collections::HashMap;

use lrdbench_analytics::event::{CallEvent, EventType};
use serde::Serialize;

use crate::paired::{self, Ratio};
use crate::render::Doc;
use crate::report::ReportKind;

/// The smallest drop of the share of valid cells that counts (as in `compare`).
pub(crate) const VALIDITY_TOLERANCE: f64 = 0.001;

/// A row that became slower.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Slower {
    /// The estimator row.
    pub estimator: String,
    /// Median time ratio NEW / BASE with its 95% interval.
    pub ratio: Ratio,
}

/// A row that fails more often.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LessValid {
    /// The estimator row.
    pub estimator: String,
    /// Cells compared.
    pub cells: usize,
    /// Valid cells in BASE.
    pub base_valid: usize,
    /// Valid cells in NEW.
    pub new_valid: usize,
    /// Exact McNemar p-value.
    pub p_value: f64,
}

/// The comparison of the two latest runs of one workflow.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkflowRegressions {
    /// The workflow (a pseudonym in privacy mode, as everywhere in the store).
    pub workflow: String,
    /// The earlier run.
    pub base_run: String,
    /// The later run.
    pub new_run: String,
    /// Cells in both.
    pub matched_cells: usize,
    /// Rows significantly slower by more than [`paired::RATIO_TOLERANCE`].
    pub slower: Vec<Slower>,
    /// Rows significantly less often valid, by more than 0.1 percentage point.
    pub less_valid: Vec<LessValid>,
}

/// The section: every workflow with two runs in the period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Regressions {
    /// How it is decided.
    pub rule: String,
    /// One entry per workflow with at least two runs, by name.
    pub workflows: Vec<WorkflowRegressions>,
}

/// What one run recorded of one cell: the row, success, and wall time when measured.
type CellCall = (String, bool, Option<f64>);

/// One run's cells, each with the (time, id) of the call kept.
struct RunCalls {
    cells: HashMap<String, ((i64, u64), CellCall)>,
}

/// The calls that take part: estimator calls of a workflow run with a cell.
fn run_call(c: &CallEvent) -> Option<(&str, &str, &str)> {
    let (Some(w), Some(run), Some(cell)) = (&c.workflow, &c.run_id, &c.cell) else {
        return None;
    };
    (c.event_type == EventType::EstimatorUsage).then_some((w.as_str(), run.as_str(), cell.as_str()))
}

/// The section computed in two passes over the calls, so that only the cells of the two
/// runs compared are ever held: [`RunStarts`] finds each workflow's two latest runs, then
/// [`RunCells`] collects their cells. Neither depends on the order of the calls.
#[derive(Debug, Default)]
pub(crate) struct RunStarts {
    /// Per workflow, per run, the time of its first call.
    by_workflow: HashMap<String, HashMap<String, i64>>,
}

impl RunStarts {
    /// Counts one call (first pass).
    pub(crate) fn add(&mut self, c: &CallEvent) {
        let Some((w, run, _)) = run_call(c) else {
            return;
        };
        let runs = match self.by_workflow.get_mut(w) {
            Some(r) => r,
            None => self.by_workflow.entry(w.to_string()).or_default(),
        };
        match runs.get_mut(run) {
            Some(first) => *first = (*first).min(c.timestamp_us),
            None => {
                runs.insert(run.to_string(), c.timestamp_us);
            }
        }
    }

    /// The second pass's collector: each workflow with two runs or more, its two latest (by
    /// first call, then id).
    pub(crate) fn latest_two(self) -> RunCells {
        let mut pairs = HashMap::new();
        for (w, runs) in self.by_workflow {
            if runs.len() < 2 {
                continue;
            }
            let mut runs: Vec<(String, i64)> = runs.into_iter().collect();
            runs.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
            let new = runs.pop().map(|r| r.0).unwrap_or_default();
            let base = runs.pop().map(|r| r.0).unwrap_or_default();
            pairs.insert(w, [base, new]);
        }
        RunCells {
            pairs,
            runs: HashMap::new(),
        }
    }
}

/// The cells of each workflow's two latest runs (second pass; see [`RunStarts`]).
#[derive(Debug)]
pub(crate) struct RunCells {
    /// Per workflow, [base run, new run].
    pairs: HashMap<String, [String; 2]>,
    /// Per (workflow, run), the cells.
    runs: HashMap<(String, String), RunCalls>,
}

impl std::fmt::Debug for RunCalls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RunCalls({} cells)", self.cells.len())
    }
}

impl RunCells {
    /// Counts one call (second pass).
    pub(crate) fn add(&mut self, c: &CallEvent) {
        let Some((w, run, cell)) = run_call(c) else {
            return;
        };
        let Some(pair) = self.pairs.get(w) else {
            return;
        };
        if pair[0] != run && pair[1] != run {
            return;
        }
        let r = self
            .runs
            .entry((w.to_string(), run.to_string()))
            .or_insert_with(|| RunCalls {
                cells: HashMap::new(),
            });
        // The row is the cell's last part (`series|contamination|row`).
        let row = cell.rsplit('|').next().unwrap_or(&c.component).to_string();
        let wall = c.performance.as_ref().map(|p| p.wall_ns as f64);
        let at = (c.timestamp_us, c.id);
        // A cell called twice in a run (a resumed run) counts once: the first call.
        match r.cells.get_mut(cell) {
            Some(kept) if kept.0 <= at => {}
            Some(kept) => *kept = (at, (row, c.success, wall)),
            None => {
                r.cells
                    .insert(cell.to_string(), (at, (row, c.success, wall)));
            }
        }
    }

    /// The section.
    pub(crate) fn finish(mut self) -> Regressions {
        let mut workflows: Vec<WorkflowRegressions> = Vec::new();
        for (w, [base_id, new_id]) in &self.pairs {
            let empty = || RunCalls {
                cells: HashMap::new(),
            };
            let base = self
                .runs
                .remove(&(w.clone(), base_id.clone()))
                .unwrap_or_else(empty);
            let new = self
                .runs
                .remove(&(w.clone(), new_id.clone()))
                .unwrap_or_else(empty);
            workflows.push(compare_runs(w, base_id, &base, new_id, &new));
        }
        workflows.sort_by(|a, b| a.workflow.cmp(&b.workflow));
        Regressions {
            rule: format!(
                "For each workflow, its two latest runs in the period, compared on the cells both \
                 recorded (paired by series, contamination and estimator row). Slower: the whole \
                 order-statistic 95% interval of the median per-cell time ratio NEW / BASE lies \
                 above ×{}. Less valid: the share of valid cells dropped by more than {}, with \
                 the exact McNemar test at p < 0.05. These are the tests of `lrdbench-host \
                 compare`; accuracy, coverage and CI width need the run directories: `lrdbench-host \
                 compare previous latest --workflow FILE`.",
                paired::RATIO_TOLERANCE,
                VALIDITY_TOLERANCE
            ),
            workflows,
        }
    }
}

impl Regressions {
    /// Compares the two latest runs (by first call) of each workflow among `calls`.
    pub fn compute(calls: &[CallEvent]) -> Regressions {
        let mut starts = RunStarts::default();
        calls.iter().for_each(|c| starts.add(c));
        let mut cells = starts.latest_two();
        calls.iter().for_each(|c| cells.add(c));
        cells.finish()
    }

    /// Appends the section to the performance (time ratios) or reliability (validity) report;
    /// other reports are left as they are.
    pub fn append_to(&self, kind: ReportKind, doc: &mut Doc) {
        let performance = match kind {
            ReportKind::Performance => true,
            ReportKind::Reliability => false,
            _ => return,
        };
        doc.h2("Regressions");
        doc.para(self.rule.clone());
        if self.workflows.is_empty() {
            doc.para("No workflow has two runs in the period: nothing to compare.");
            return;
        }
        let mut rows = Vec::new();
        let mut compared = Vec::new();
        for w in &self.workflows {
            compared.push(format!(
                "{}: {} → {} ({} cells)",
                w.workflow, w.base_run, w.new_run, w.matched_cells
            ));
            if performance {
                for s in &w.slower {
                    rows.push(vec![
                        w.workflow.clone(),
                        s.estimator.clone(),
                        format!(
                            "×{:.2} [{:.2}, {:.2}]",
                            s.ratio.value, s.ratio.low, s.ratio.high
                        ),
                        s.ratio.cells.to_string(),
                    ]);
                }
            } else {
                for v in &w.less_valid {
                    rows.push(vec![
                        w.workflow.clone(),
                        v.estimator.clone(),
                        format!("{}/{} → {}/{}", v.base_valid, v.cells, v.new_valid, v.cells),
                        format!("{:.2e}", v.p_value),
                    ]);
                }
            }
        }
        doc.list(compared);
        let header: &[&str] = if performance {
            &["workflow", "estimator", "time ratio [95%]", "cells"]
        } else {
            &[
                "workflow",
                "estimator",
                "valid cells BASE → NEW",
                "McNemar p",
            ]
        };
        doc.table(header, rows, "No significant regression.");
    }
}

fn compare_runs(
    workflow: &str,
    base_id: &str,
    base: &RunCalls,
    new_id: &str,
    new: &RunCalls,
) -> WorkflowRegressions {
    // Per row: paired times, and (valid in BASE, valid in NEW) counts.
    #[derive(Default)]
    struct Row {
        times: Vec<(f64, f64)>,
        cells: usize,
        base_valid: usize,
        new_valid: usize,
        lost: u64,
        gained: u64,
    }
    let mut rows: HashMap<&str, Row> = HashMap::new();
    let mut matched = 0;
    for (cell, (_, (row, ok_b, wall_b))) in &base.cells {
        let Some((_, (_, ok_n, wall_n))) = new.cells.get(cell) else {
            continue;
        };
        matched += 1;
        let r = rows.entry(row.as_str()).or_default();
        r.cells += 1;
        r.base_valid += usize::from(*ok_b);
        r.new_valid += usize::from(*ok_n);
        r.lost += u64::from(*ok_b && !ok_n);
        r.gained += u64::from(!ok_b && *ok_n);
        if let (true, true, Some(b), Some(n)) = (ok_b, ok_n, wall_b, wall_n) {
            r.times.push((*b, *n));
        }
    }
    let mut slower = Vec::new();
    let mut less_valid = Vec::new();
    for (name, r) in rows {
        if let Some(ratio) = paired::time_ratio(&r.times) {
            if paired::ratio_verdict(&ratio, paired::RATIO_TOLERANCE) == Some(true) {
                slower.push(Slower {
                    estimator: name.to_string(),
                    ratio,
                });
            }
        }
        let p = paired::mcnemar_exact(r.lost, r.gained);
        let drop = (r.base_valid as f64 - r.new_valid as f64) / r.cells.max(1) as f64;
        if p < 0.05 && drop > VALIDITY_TOLERANCE {
            less_valid.push(LessValid {
                estimator: name.to_string(),
                cells: r.cells,
                base_valid: r.base_valid,
                new_valid: r.new_valid,
                p_value: p,
            });
        }
    }
    slower.sort_by(|a, b| a.estimator.cmp(&b.estimator));
    less_valid.sort_by(|a, b| a.estimator.cmp(&b.estimator));
    WorkflowRegressions {
        workflow: workflow.to_string(),
        base_run: base_id.to_string(),
        new_run: new_id.to_string(),
        matched_cells: matched,
        slower,
        less_valid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lrdbench_analytics::event::Performance;

    fn call(run: &str, ts: i64, cell: usize, row: &str, ok: bool, wall_ns: u64) -> CallEvent {
        CallEvent {
            id: ts as u64,
            timestamp_us: ts,
            event_type: EventType::EstimatorUsage,
            component: row.to_string(),
            plugin: None,
            parameters: Default::default(),
            data_length: 1024,
            success: ok,
            user_id: "u".into(),
            session_id: run.into(),
            run_id: Some(run.into()),
            workflow: Some("w".into()),
            cell: Some(format!("fgn[H=0.7]/n=1024/r={cell}|clean|{row}")),
            truth_h: Some(0.7),
            performance: Some(Performance {
                wall_ns,
                cpu_thread_ns: wall_ns,
                cpu_process_ns: wall_ns,
                cpu_percent: 100.0,
                rss_before: 0,
                rss_after: 0,
                heap_peak: 0,
            }),
            error: None,
            machine: None,
        }
    }

    #[test]
    fn the_latest_two_runs_are_paired_by_cell() {
        let mut calls = Vec::new();
        // Run a: everything fast and valid; run b: `slow` takes 1.5× as long, `flaky` fails in
        // 12 of 40 cells; `same` unchanged.
        for i in 0..40 {
            let jitter = 1_000 + (i as u64 * 37) % 100;
            calls.push(call("a", 10, i, "slow", true, 100 * jitter));
            calls.push(call("a", 10, i, "flaky", true, 100 * jitter));
            calls.push(call("a", 10, i, "same", true, 100 * jitter));
            calls.push(call("b", 20, i, "slow", true, 150 * jitter));
            calls.push(call("b", 20, i, "flaky", i >= 12, 100 * jitter));
            calls.push(call("b", 20, i, "same", true, 100 * jitter));
        }
        let r = Regressions::compute(&calls);
        assert_eq!(r.workflows.len(), 1);
        let w = &r.workflows[0];
        assert_eq!((w.base_run.as_str(), w.new_run.as_str()), ("a", "b"));
        assert_eq!(w.matched_cells, 120);
        assert_eq!(w.slower.len(), 1, "{:?}", w.slower);
        assert_eq!(w.slower[0].estimator, "slow");
        assert!((w.slower[0].ratio.value - 1.5).abs() < 1e-9);
        assert_eq!(w.less_valid.len(), 1);
        assert_eq!(
            (w.less_valid[0].base_valid, w.less_valid[0].new_valid),
            (40, 28)
        );
        let mut doc = Doc::new("Performance report");
        r.append_to(ReportKind::Performance, &mut doc);
        assert!(doc.to_markdown("charts").contains("×1.50"));
        let mut usage = Doc::new("Usage report");
        r.append_to(ReportKind::Usage, &mut usage);
        assert!(usage.blocks.is_empty());
    }

    #[test]
    fn one_run_has_nothing_to_compare() {
        let calls: Vec<CallEvent> = (0..5).map(|i| call("a", 1, i, "x", true, 10)).collect();
        let r = Regressions::compute(&calls);
        assert!(r.workflows.is_empty());
        let mut doc = Doc::new("Reliability report");
        r.append_to(ReportKind::Reliability, &mut doc);
        assert!(doc.to_markdown("charts").contains("nothing to compare"));
    }
}
