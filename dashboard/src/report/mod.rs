//! The reports: one module per report, each a `Serialize` struct computed by a pure function
//! over the events of a period and turned into a [`Doc`] for Markdown and HTML.

pub(crate) mod comprehensive;
pub(crate) mod performance;
pub(crate) mod regressions;
pub(crate) mod reliability;
pub(crate) mod trend;
pub(crate) mod usage;
pub(crate) mod workflow;

use serde::Serialize;

use crate::alarm::MIN_USABLE_CALLS;
use crate::failure::Side;
use crate::util::FastSet;

use lrdbench_analytics::event::{CallEvent, EventType, StepEvent};
use lrdbench_analytics::table::CallTable;

use crate::render::Doc;
use crate::stats::{reliability_score, Interval, Proportion, Quantiles};
use crate::util::{self, Period};

pub use comprehensive::ComprehensiveReport;
pub use performance::PerformanceReport;
pub use reliability::ReliabilityReport;
pub use usage::UsageReport;
pub use workflow::WorkflowReport;

/// The snake-case name of an event type, as stored.
pub fn event_type_name(t: EventType) -> &'static str {
    match t {
        EventType::EstimatorUsage => "estimator_usage",
        EventType::ModelUsage => "model_usage",
        EventType::BenchmarkRun => "benchmark_run",
        EventType::Custom => "custom",
    }
}

/// Which report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// Usage.
    Usage,
    /// Performance.
    Performance,
    /// Reliability.
    Reliability,
    /// Workflow.
    Workflow,
    /// Comprehensive (summary of the four, with links).
    Comprehensive,
}

impl ReportKind {
    /// The four detailed reports.
    pub const DETAILED: [ReportKind; 4] = [
        ReportKind::Usage,
        ReportKind::Performance,
        ReportKind::Reliability,
        ReportKind::Workflow,
    ];

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Usage => "usage",
            ReportKind::Performance => "performance",
            ReportKind::Reliability => "reliability",
            ReportKind::Workflow => "workflow",
            ReportKind::Comprehensive => "comprehensive",
        }
    }

    /// The file stem of the report, e.g. `usage_report`.
    pub fn stem(self) -> String {
        format!("{}_report", self.as_str())
    }
}

/// A most-used component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopComponent {
    /// Name.
    pub name: String,
    /// Calls.
    pub calls: u64,
}

/// The quick summary (`lrdbench-host summary`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// When it was computed (`YYYY-MM-DD HH:MM UTC`).
    pub generated_at: String,
    /// Days analysed.
    pub analysis_period_days: u32,
    /// The period.
    pub period: Period,
    /// Recorded call events of every type (estimator, model, benchmark run, custom).
    pub total_events: u64,
    /// Component calls (estimators, models, custom functions): the attempts behind the rates.
    pub calls: u64,
    /// Workflow step events.
    pub workflow_steps: u64,
    /// Distinct users (hashed ids) across calls and steps.
    pub unique_users: u64,
    /// Sessions (host processes).
    pub sessions: u64,
    /// Successful component calls.
    pub successes: u64,
    /// Failed component calls.
    pub failures: u64,
    /// Failed calls whose input was unusable (the data's failures, `crate::failure`).
    pub input_failures: u64,
    /// successes / calls; `null` without calls.
    pub success_rate: Option<f64>,
    /// Wilson 95% interval of the success rate.
    pub success_rate_ci95: Option<Interval>,
    /// failures / calls; `null` without calls.
    pub error_rate: Option<f64>,
    /// The reliability score over all usable component calls (definition in the reliability
    /// report); `None` below [`crate::alarm::MIN_USABLE_CALLS`] usable calls.
    pub reliability_score: Option<f64>,
    /// Median wall time of measured component calls, ms.
    pub median_time_ms: Option<f64>,
    /// 95th percentile of wall time, ms.
    pub p95_time_ms: Option<f64>,
    /// Workflow runs (distinct run ids among the steps).
    pub workflows: u64,
    /// The most used estimators, most used first (up to 5).
    pub top_estimators: Vec<TopComponent>,
}

impl Summary {
    /// Computes the summary over the events of `period`, `now_us` being the time of report.
    pub fn compute(
        calls: &[CallEvent],
        steps: &[StepEvent],
        period: Period,
        now_us: i64,
    ) -> Summary {
        Summary::compute_table(&CallTable::from_events(calls), steps, period, now_us)
    }

    /// [`Summary::compute`] over calls as a [`CallTable`].
    pub fn compute_table(
        calls: &CallTable,
        steps: &[StepEvent],
        period: Period,
        now_us: i64,
    ) -> Summary {
        let mut users: FastSet<&str> = FastSet::default();
        let mut sessions: FastSet<&str> = FastSet::default();
        // Distinct users and sessions of the calls are distinct symbols: a flag per symbol.
        let mut user_seen = vec![false; calls.strings.len()];
        let mut session_seen = vec![false; calls.strings.len()];
        let mut est = vec![0u64; calls.strings.len()];
        let (mut n, mut ok, mut input) = (0u64, 0u64, 0u64);
        let mut times = Vec::new();
        for i in 0..calls.len() {
            let (u, s) = (calls.user[i] as usize, calls.session[i] as usize);
            if !user_seen[u] {
                user_seen[u] = true;
                users.insert(calls.str(calls.user[i]));
            }
            if !session_seen[s] {
                session_seen[s] = true;
                sessions.insert(calls.str(calls.session[i]));
            }
            let et = calls.event_type[i];
            if et == EventType::BenchmarkRun {
                continue;
            }
            n += 1;
            ok += u64::from(calls.success[i]);
            if !calls.success[i]
                && Side::of(calls.error[i].map(|e| calls.str(e.kind))) == Side::Input
            {
                input += 1;
            }
            if et == EventType::EstimatorUsage {
                est[calls.component[i] as usize] += 1;
            }
            if calls.measured[i] {
                times.push(calls.wall_ns[i] as f64 / 1e6);
            }
        }
        let est: Vec<(&str, u64)> = est
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(sym, &n)| (calls.str(sym as u32), n))
            .collect();
        let mut runs: FastSet<&str> = FastSet::default();
        for s in steps {
            users.insert(&s.user_id);
            sessions.insert(&s.session_id);
            runs.insert(&s.run_id);
        }
        let mut top = est;
        top.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        let q = Quantiles::of(&mut times);
        let success = Proportion::new(ok, n);
        Summary {
            generated_at: util::timestamp_label(now_us),
            analysis_period_days: period.days,
            period,
            total_events: calls.len() as u64,
            calls: n,
            workflow_steps: steps.len() as u64,
            unique_users: users.len() as u64,
            sessions: sessions.len() as u64,
            successes: ok,
            failures: n - ok,
            input_failures: input,
            success_rate: success.map(|p| p.rate),
            success_rate_ci95: success.map(|p| p.ci95),
            error_rate: success.map(|p| 1.0 - p.rate),
            reliability_score: (n - input >= MIN_USABLE_CALLS)
                .then(|| reliability_score(ok, n - input))
                .flatten(),
            median_time_ms: q.map(|q| q.p50),
            p95_time_ms: q.map(|q| q.p95),
            workflows: runs.len() as u64,
            top_estimators: top
                .into_iter()
                .take(5)
                .map(|(name, calls)| TopComponent {
                    name: name.to_string(),
                    calls,
                })
                .collect(),
        }
    }

    /// Plain text for the terminal.
    pub fn to_text(&self) -> String {
        use util::{num, opt, pct};
        let mut s = format!(
            "lrdbench analytics, {}\n\
             calls:            {} component calls ({} events of every type), {} workflow steps\n\
             users:            {} unique, {} sessions\n\
             success rate:     {}\n\
             error rate:       {}\n\
             reliability:      {}\n\
             time per call:    median {}, p95 {}\n\
             workflows run:    {}\n",
            self.period.label(),
            self.calls,
            self.total_events,
            self.workflow_steps,
            self.unique_users,
            self.sessions,
            match (self.success_rate, self.success_rate_ci95) {
                (Some(r), Some(ci)) => format!(
                    "{} (95% CI {}–{}; {} of {})",
                    pct(r),
                    pct(ci.low),
                    pct(ci.high),
                    self.successes,
                    self.calls
                ),
                _ => "n/a (no calls)".to_string(),
            },
            opt(self.error_rate, pct),
            match self.reliability_score {
                Some(s) => format!(
                    "{} / 100 (Wilson lower bound of the success rate over {} usable calls; {} input failures left out)",
                    num(s, 1),
                    self.calls - self.input_failures,
                    self.input_failures
                ),
                None => format!(
                    "not enough data ({} usable calls, fewer than {MIN_USABLE_CALLS})",
                    self.calls - self.input_failures
                ),
            },
            opt(self.median_time_ms, |v| util::duration_ns(v * 1e6)),
            opt(self.p95_time_ms, |v| util::duration_ns(v * 1e6)),
            self.workflows,
        );
        if self.top_estimators.is_empty() {
            s.push_str("top estimators:   none\n");
        } else {
            s.push_str("top estimators:   ");
            s.push_str(
                &self
                    .top_estimators
                    .iter()
                    .map(|t| format!("{} ({})", t.name, t.calls))
                    .collect::<Vec<_>>()
                    .join(", "),
            );
            s.push('\n');
        }
        s
    }
}

/// The result of a scoped report thread; a panic in it is re-raised here, as if the report
/// had been computed on this thread.
fn join<T>(h: std::thread::ScopedJoinHandle<'_, T>) -> T {
    match h.join() {
        Ok(v) => v,
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

/// All five reports of one period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reports {
    /// The summary.
    pub summary: Summary,
    /// Usage.
    pub usage: UsageReport,
    /// Performance.
    pub performance: PerformanceReport,
    /// Reliability.
    pub reliability: ReliabilityReport,
    /// Workflow.
    pub workflow: WorkflowReport,
    /// Comprehensive.
    pub comprehensive: ComprehensiveReport,
}

impl Reports {
    /// Computes every report over the events of `period`.
    pub fn compute(
        calls: &[CallEvent],
        steps: &[StepEvent],
        period: Period,
        now_us: i64,
    ) -> Reports {
        Reports::compute_table(&CallTable::from_events(calls), steps, period, now_us)
    }

    /// [`Reports::compute`] over calls as a [`CallTable`].
    pub fn compute_table(
        calls: &CallTable,
        steps: &[StepEvent],
        period: Period,
        now_us: i64,
    ) -> Reports {
        // The reports are independent passes over the same events: run them side by side.
        let (summary, usage, performance, reliability, workflow) = std::thread::scope(|s| {
            let usage = s.spawn(|| UsageReport::compute_table(calls, period));
            let performance = s.spawn(|| PerformanceReport::compute_table(calls, period));
            let reliability = s.spawn(|| ReliabilityReport::compute_table(calls, period));
            let workflow = s.spawn(|| WorkflowReport::compute(steps, period));
            let summary = Summary::compute_table(calls, steps, period, now_us);
            (
                summary,
                join(usage),
                join(performance),
                join(reliability),
                join(workflow),
            )
        });
        let comprehensive =
            ComprehensiveReport::compute(&summary, &usage, &performance, &reliability, &workflow);
        Reports {
            summary,
            usage,
            performance,
            reliability,
            workflow,
            comprehensive,
        }
    }

    /// The document of one report.
    pub fn doc(&self, kind: ReportKind) -> Doc {
        match kind {
            ReportKind::Usage => self.usage.to_doc(),
            ReportKind::Performance => self.performance.to_doc(),
            ReportKind::Reliability => self.reliability.to_doc(),
            ReportKind::Workflow => self.workflow.to_doc(),
            ReportKind::Comprehensive => self.comprehensive.to_doc(),
        }
    }

    /// The JSON of one report.
    pub fn json(&self, kind: ReportKind) -> serde_json::Result<String> {
        match kind {
            ReportKind::Usage => serde_json::to_string_pretty(&self.usage),
            ReportKind::Performance => serde_json::to_string_pretty(&self.performance),
            ReportKind::Reliability => serde_json::to_string_pretty(&self.reliability),
            ReportKind::Workflow => serde_json::to_string_pretty(&self.workflow),
            ReportKind::Comprehensive => serde_json::to_string_pretty(&self.comprehensive),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
