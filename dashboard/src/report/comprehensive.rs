//! The comprehensive report: executive summary, quick statistics, key insights and
//! recommendations drawn from the four detailed reports, with links to them.

use serde::Serialize;

use crate::render::{Block, Doc};
use crate::report::{
    PerformanceReport, ReliabilityReport, ReportKind, Summary, UsageReport, WorkflowReport,
};
use crate::util::{duration_ns, num, opt, pct, Period};

/// Recommendations listed at most.
pub(crate) const MAX_RECOMMENDATIONS: usize = 10;

/// A quick statistic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stat {
    /// What.
    pub name: String,
    /// Its value, formatted.
    pub value: String,
}

/// The comprehensive report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComprehensiveReport {
    /// The period.
    pub period: Period,
    /// Executive summary, one sentence each.
    pub executive_summary: Vec<String>,
    /// Quick statistics.
    pub quick_statistics: Vec<Stat>,
    /// Key insights, each quoting its numbers.
    pub key_insights: Vec<String>,
    /// Recommendations from every report, at most `MAX_RECOMMENDATIONS`.
    pub recommendations: Vec<String>,
    /// File stems of the four reports.
    pub reports: Vec<String>,
}

impl ComprehensiveReport {
    /// Draws the comprehensive report from the summary and the four reports.
    pub fn compute(
        s: &Summary,
        u: &UsageReport,
        p: &PerformanceReport,
        r: &ReliabilityReport,
        w: &WorkflowReport,
    ) -> ComprehensiveReport {
        let mut exec = Vec::new();
        if s.calls == 0 && s.workflow_steps == 0 {
            exec.push(format!(
                "Nothing was recorded between {}: no calls and no workflow steps.",
                s.period.label()
            ));
        } else {
            exec.push(format!(
                "{} component calls by {} user(s) in {} session(s), and {} workflow run(s), in {}.",
                s.calls,
                s.unique_users,
                s.sessions,
                s.workflows,
                s.period.label()
            ));
            if let (Some(rate), Some(ci)) = (s.success_rate, s.success_rate_ci95) {
                exec.push(format!(
                    "{} of the calls succeeded ({} of {}; 95% CI {}–{}); reliability score {}.",
                    pct(rate),
                    s.successes,
                    s.calls,
                    pct(ci.low),
                    pct(ci.high),
                    opt(s.reliability_score, |v| num(v, 1))
                ));
            }
            let flagged: Vec<&str> = p
                .components
                .iter()
                .filter(|c| c.trend.as_ref().is_some_and(|t| t.regression))
                .map(|c| c.component.as_str())
                .collect();
            exec.push(if flagged.is_empty() {
                "No component got significantly slower over the period (sessions compared, load-adjusted; see the performance report).".to_string()
            } else {
                format!(
                    "Significantly slower in later sessions, beyond the machine's load: {}.",
                    flagged.join(", ")
                )
            });
        }
        let quick = vec![
            stat("Recorded events (all types)", s.total_events.to_string()),
            stat("Component calls", s.calls.to_string()),
            stat("Success rate", opt(s.success_rate, pct)),
            stat("Error rate", opt(s.error_rate, pct)),
            stat(
                "Median time per call",
                opt(s.median_time_ms, |v| duration_ns(v * 1e6)),
            ),
            stat(
                "95th percentile time per call",
                opt(s.p95_time_ms, |v| duration_ns(v * 1e6)),
            ),
            stat("Reliability score", opt(s.reliability_score, |v| num(v, 1))),
            stat("Workflow runs", s.workflows.to_string()),
            stat("Unique users", s.unique_users.to_string()),
            stat("Sessions", s.sessions.to_string()),
        ];
        let mut insights = Vec::new();
        if let Some(e) = u.estimators.first() {
            insights.push(format!(
                "Most used estimator: {} ({} calls, {} of estimator calls).",
                e.name,
                e.calls,
                pct(e.share)
            ));
        }
        if let Some(t) = p.bottlenecks.time_leaders.first() {
            insights.push(format!(
                "Largest share of time: {} ({} of all measured time, {}).",
                t.component,
                pct(t.share),
                duration_ns(t.total_wall_ns)
            ));
        }
        for ps in &p.bottlenecks.poor_scaling {
            insights.push(format!(
                "{} scales as length^{} (95% CI {}–{}), worse than n log n.",
                ps.component,
                num(ps.scaling.exponent, 2),
                num(ps.scaling.ci95.low, 2),
                num(ps.scaling.ci95.high, 2)
            ));
        }
        if let Some(k) = r.errors_by_kind.first() {
            insights.push(format!(
                "Most common error kind: {} ({} failures, {} of all failures).",
                k.kind,
                k.failures,
                pct(k.share)
            ));
        }
        if let Some(c) = r
            .components
            .first()
            .filter(|c| c.score.is_some() && c.component_failure_rate.is_some_and(|f| f.count > 0))
        {
            insights.push(format!(
                "Lowest reliability score among components with enough data: {} ({} of {} usable calls failed; score {}, 95% CI {}).",
                c.component,
                opt(c.component_failure_rate, |f| f.count.to_string()),
                c.usable_calls,
                opt(c.score, |v| num(v, 1)),
                opt(c.score_ci95, |ci| format!("{}–{}", num(ci.low, 1), num(ci.high, 1))),
            ));
        }
        if let Some(inp) = r.overall_input.filter(|p| p.count > 0) {
            insights.push(format!(
                "{} of {} calls ({}) were given input they could not use; these are the data's failures, not the components' (see the reliability report).",
                inp.count,
                inp.attempts,
                pct(inp.rate)
            ));
        }
        if let Some(pat) = w.step_patterns.first() {
            insights.push(format!(
                "Most common workflow pattern: {} ({} of {} runs).",
                pat.sequence.join(" → "),
                pat.count,
                w.runs
            ));
        }
        if insights.is_empty() {
            insights.push("No data in this period, so no insight.".to_string());
        }
        let mut recs: Vec<String> = Vec::new();
        for c in p
            .components
            .iter()
            .filter(|c| c.trend.as_ref().is_some_and(|t| t.regression))
        {
            if let (Some(t), Some(v)) = (&c.trend, c.trend.as_ref().and_then(|t| t.verdict)) {
                recs.push(format!(
                    "{} got slower: its later sessions are {}× the earlier at equal length and load ({} vs {} sessions, {} load-adjusted; Mann–Whitney over sessions p = {:.1e}, below the level {:.1e}). Look for the change that caused it.",
                    c.component,
                    num(t.median_ratio, 2),
                    t.later_sessions,
                    t.earlier_sessions,
                    t.load_adjusted_sessions,
                    v.p_value,
                    v.level,
                ));
            }
        }
        for ps in &p.bottlenecks.poor_scaling {
            recs.push(format!(
                "{} scales as length^{} (95% CI {}–{}) above the n log n threshold {}: check its algorithm for a quadratic step.",
                ps.component,
                num(ps.scaling.exponent, 2),
                num(ps.scaling.ci95.low, 2),
                num(ps.scaling.ci95.high, 2),
                num(ps.threshold, 2)
            ));
        }
        recs.extend(
            r.recommendations
                .iter()
                .filter(|x| x.component.is_some())
                .map(|x| x.text.clone()),
        );
        let h = &w.hints;
        if h.duplicate_estimates > 0 {
            recs.push(format!(
                "{} estimator run(s) repeated on the same series within a run: reuse the first result.",
                h.duplicate_estimates
            ));
        }
        if let Some(x) = h.repeated.first() {
            recs.push(format!(
                "Workflow {} ran {} times with identical steps: cache its results.",
                x.workflow, x.runs
            ));
        }
        recs.truncate(MAX_RECOMMENDATIONS);
        if recs.is_empty() {
            recs.push(
                "No recommendation: no failure rate, slow-down, scaling or workflow pattern in this period crosses its threshold."
                    .to_string(),
            );
        }
        ComprehensiveReport {
            period: s.period,
            executive_summary: exec,
            quick_statistics: quick,
            key_insights: insights,
            recommendations: recs,
            reports: ReportKind::DETAILED.iter().map(|k| k.stem()).collect(),
        }
    }

    /// The report as a document.
    pub fn to_doc(&self) -> Doc {
        let mut d = Doc::new("lrdbench analytics: comprehensive report");
        d.para(format!("Period: {}.", self.period.label()));
        d.h2("Executive summary");
        d.list(self.executive_summary.clone());
        d.h2("Quick statistics");
        d.table(
            &["statistic", "value"],
            self.quick_statistics
                .iter()
                .map(|s| vec![s.name.clone(), s.value.clone()])
                .collect(),
            "",
        );
        d.h2("Key insights");
        d.list(self.key_insights.clone());
        d.h2("Recommendations");
        d.list(self.recommendations.clone());
        d.h2("Detailed reports");
        for k in ReportKind::DETAILED {
            d.blocks.push(Block::Link {
                text: format!("{} report", k.as_str()),
                stem: k.stem(),
            });
        }
        d
    }
}

fn stat(name: &str, value: String) -> Stat {
    Stat {
        name: name.to_string(),
        value,
    }
}
