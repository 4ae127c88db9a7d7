//! Reports on synthetic events with answers computed by hand.

use std::collections::BTreeMap;

use lrdbench_analytics::event::{
    CallEvent, ErrorInfo, EventType, Performance, StepEvent, StepType,
};

use super::*;
use crate::stats::{mann_whitney_greater, Z95};
use crate::util::DAY_US;

const T0: i64 = 20_000 * DAY_US;

pub fn call(component: &str, ts: i64, len: u64, ok: bool) -> CallEvent {
    CallEvent {
        id: ts as u64,
        timestamp_us: ts,
        event_type: EventType::EstimatorUsage,
        component: component.to_string(),
        plugin: None,
        parameters: BTreeMap::new(),
        data_length: len,
        success: ok,
        user_id: "u1".into(),
        session_id: "s1".into(),
        run_id: None,
        workflow: None,
        cell: None,
        truth_h: None,
        performance: None,
        error: (!ok).then(|| ErrorInfo {
            kind: "insufficient_data".into(),
            message: "series too short".into(),
            location: None,
            backtrace: None,
        }),
        machine: None,
    }
}

fn perf(wall_ns: u64, heap: u64) -> Option<Performance> {
    Some(Performance {
        wall_ns,
        cpu_thread_ns: wall_ns,
        cpu_process_ns: wall_ns,
        cpu_percent: 100.0,
        rss_before: 0,
        rss_after: 0,
        heap_peak: heap,
    })
}

pub fn step(
    run: &str,
    seq: u64,
    t: StepType,
    comp: &str,
    cell: Option<&str>,
    dur: u64,
) -> StepEvent {
    StepEvent {
        id: seq,
        timestamp_us: T0 + seq as i64 * 1000,
        run_id: run.into(),
        workflow: "pipeline".into(),
        seq,
        step_type: t,
        component: comp.into(),
        cell: cell.map(str::to_string),
        duration_ns: dur,
        success: true,
        user_id: "u1".into(),
        session_id: "s1".into(),
    }
}

fn period() -> Period {
    Period::ending_at(T0 + 30 * DAY_US, 60)
}

#[test]
fn reliability_three_failures_in_ten_gives_thirty_percent_with_wilson_interval() {
    // 7 successes at n = 1024, 3 failures at n = 64.
    let mut calls: Vec<CallEvent> = (0..7).map(|i| call("dfa", T0 + i, 1024, true)).collect();
    calls.extend((0..3).map(|i| call("dfa", T0 + 100 + i, 64, false)));
    let r = ReliabilityReport::compute(&calls, period());
    let c = &r.components[0];
    assert_eq!((c.error_rate.count, c.error_rate.attempts), (3, 10));
    assert!((c.error_rate.rate - 0.3).abs() < 1e-15);
    // Wilson 95% of 3/10 by hand: 0.107791 – 0.603222 (see stats tests).
    assert!((c.error_rate.ci95.low - 0.107_791_267).abs() < 1e-8);
    assert!((c.error_rate.ci95.high - 0.603_221_853).abs() < 1e-8);
    // Score = 100 × Wilson lower bound of 7/10 = 100 × (1 − 0.603222).
    assert!((c.score - 39.677_814_7).abs() < 1e-6);
    assert_eq!(r.errors_by_kind[0].kind, "insufficient_data");
    assert_eq!(r.errors_by_kind[0].failures, 3);
    assert_eq!(r.failure_modes.len(), 1);
    // The 64-length stratum: 3 of 3 fail, lift 1.0 / 0.3, and Wilson low of 3/3 = 0.4385 > 0.3.
    let s = r
        .strata
        .iter()
        .find(|s| s.dimension == "data_length" && s.value.starts_with("64–127"))
        .unwrap();
    assert_eq!((s.lift.stratum.count, s.lift.stratum.attempts), (3, 3));
    assert!((s.lift.lift.unwrap() - 1.0 / 0.3).abs() < 1e-12);
    assert!(s.concentrated);
    let other = r
        .strata
        .iter()
        .find(|s| s.value.starts_with("1024"))
        .unwrap();
    assert_eq!(other.lift.lift, Some(0.0));
    assert!(!other.concentrated);
    // Recommendations quote their numbers: the 3/10 rate's Wilson low (10.8%) exceeds 5%.
    let text: Vec<&str> = r.recommendations.iter().map(|x| x.text.as_str()).collect();
    assert!(
        text.iter()
            .any(|t| t.contains("3 of 10 calls (30.0%, 95% CI 10.8%–60.3%)")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|t| t.contains("3 of 3 calls failed") && t.contains("lift 3.3")),
        "{text:?}"
    );
}

#[test]
fn reliability_strata_by_h_band_and_parameter() {
    let mut calls = Vec::new();
    for i in 0..20 {
        let mut c = call("whittle", T0 + i, 4096, i % 4 != 0); // 5 failures
        c.truth_h = Some(if i % 4 == 0 { 0.95 } else { 0.6 });
        c.parameters
            .insert("method".into(), if i % 2 == 0 { "a" } else { "b" }.into());
        calls.push(c);
    }
    let r = ReliabilityReport::compute(&calls, period());
    let band = r.strata.iter().find(|s| s.value == "H ≥ 0.85").unwrap();
    assert_eq!(
        (band.lift.stratum.count, band.lift.stratum.attempts),
        (5, 5)
    );
    assert!((band.lift.lift.unwrap() - 4.0).abs() < 1e-12); // 1.0 / 0.25
                                                            // Failures are at i = 0, 4, 8, 12, 16: all even, so method=a holds 5 of 10.
    let a = r.strata.iter().find(|s| s.value == "method=a").unwrap();
    assert_eq!((a.lift.stratum.count, a.lift.stratum.attempts), (5, 10));
    assert!((a.lift.lift.unwrap() - 2.0).abs() < 1e-12);
}

#[test]
fn usage_counts_sorts_and_buckets() {
    let mut calls = Vec::new();
    for i in 0..6 {
        let mut c = call("dfa", T0 + i, 1000, true);
        c.parameters
            .insert("order".into(), if i < 4 { "1" } else { "2" }.into());
        c.parameters.insert("min_scale".into(), "16".into());
        calls.push(c);
    }
    for i in 0..3 {
        let mut c = call("rs", T0 + DAY_US + i, 2048, i != 0);
        c.session_id = "s2".into();
        c.user_id = "u2".into();
        calls.push(c);
    }
    let mut m = call("fgn", T0 + 50, 2048, true);
    m.event_type = EventType::ModelUsage;
    calls.push(m);
    let mut b = call("pipeline", T0 + 60, 0, false);
    b.event_type = EventType::BenchmarkRun;
    b.error = None;
    calls.push(b);
    let u = UsageReport::compute(&calls, period());
    assert_eq!(u.total_calls, 11);
    assert_eq!(u.unique_users, 2);
    assert_eq!(u.estimators[0].name, "dfa");
    assert_eq!(u.estimators[0].calls, 6);
    assert!((u.estimators[0].share - 6.0 / 9.0).abs() < 1e-12);
    assert_eq!(u.estimators[1].name, "rs");
    assert_eq!(u.models[0].name, "fgn");
    // Component calls exclude the benchmark-run record: 10 calls, 9 succeeded.
    assert_eq!(u.component_outcomes.calls, 10);
    assert_eq!(u.component_outcomes.failures, 1);
    let bench = u
        .outcomes
        .iter()
        .find(|o| o.event_type == "benchmark_run")
        .unwrap();
    assert_eq!((bench.calls, bench.failures), (1, 1));
    let dfa = u.parameters.iter().find(|p| p.component == "dfa").unwrap();
    let order = dfa.keys.iter().find(|k| k.key == "order").unwrap();
    assert_eq!(
        order.top_values[0],
        usage::ValueCount {
            value: "1".into(),
            calls: 4
        }
    );
    assert_eq!(order.distinct_values, 2);
    assert_eq!(dfa.top_combinations[0].value, "min_scale=16, order=1");
    assert_eq!(dfa.top_combinations[0].calls, 4);
    // 1000 → bucket 9 (512–1023), 2048 → bucket 11.
    let b9 = u.data_lengths.iter().find(|l| l.log2 == Some(9)).unwrap();
    assert_eq!(b9.calls, 6);
    let b11 = u.data_lengths.iter().find(|l| l.log2 == Some(11)).unwrap();
    assert_eq!(b11.calls, 4);
    assert_eq!(u.sessions.sessions, 2);
    assert_eq!(u.sessions.per_day.len(), 2);
    assert_eq!(u.common_errors[0].count, 1);
}

#[test]
fn performance_quantiles_exponent_and_poor_scaling() {
    let mut calls = Vec::new();
    // 100 calls at one length with wall times 1..=100 µs: p50 = 50.5 µs, p95 = 95.05 µs.
    for i in 1..=100u64 {
        let mut c = call("flat", T0 + i as i64, 1000, true);
        c.performance = perf(i * 1000, 8000);
        calls.push(c);
    }
    // Exactly t = n^1.5 ns over four lengths (whole numbers for n = 4^k): exponent 1.5.
    for (k, n) in [256u64, 1024, 4096, 16384].iter().enumerate() {
        for r in 0..3 {
            let mut c = call("quadratic-ish", T0 + 1000 + (k * 3 + r) as i64, *n, true);
            c.performance = perf((*n as f64).powf(1.5) as u64, 16 * n);
            calls.push(c);
        }
    }
    let p = PerformanceReport::compute(&calls, period());
    let flat = p.components.iter().find(|c| c.component == "flat").unwrap();
    let q = flat.wall_ns.unwrap();
    assert!((q.p50 - 50_500.0).abs() < 1e-9);
    assert!((q.p95 - 95_050.0).abs() < 1e-9);
    assert!((q.p99 - 99_010.0).abs() < 1e-9);
    assert_eq!(q.max, 100_000.0);
    assert!((flat.ns_per_sample.unwrap().p50 - 50.5).abs() < 1e-12);
    assert_eq!(flat.bytes_per_sample_p50, Some(8.0));
    assert!(flat.scaling.is_none(), "one length: no exponent");
    let s = p
        .components
        .iter()
        .find(|c| c.component == "quadratic-ish")
        .unwrap();
    let fit = s.scaling.unwrap();
    // Exact data: only floating-point rounding of the logarithms separates b from 1.5.
    assert!((fit.exponent - 1.5).abs() < 1e-12, "{fit:?}");
    assert!(fit.ci95.high - fit.ci95.low < 1e-9);
    assert_eq!(s.bytes_per_sample_p50, Some(16.0));
    assert_eq!(p.bottlenecks.poor_scaling.len(), 1);
    assert_eq!(p.bottlenecks.poor_scaling[0].component, "quadratic-ish");
    // 1 + 1/ln 256 = 1.18034.
    assert!((p.bottlenecks.poor_scaling[0].threshold - 1.180_336_9).abs() < 1e-6);
    // Shares of total time add up to one.
    let total: f64 = p.components.iter().map(|c| c.share_of_time).sum();
    assert!((total - 1.0).abs() < 1e-12);
}

#[test]
fn performance_regression_flag_uses_rank_test_on_time_halves() {
    let mut calls = Vec::new();
    // "slower": 12 calls on day 0 at 1.0–1.11 ms, 12 on day 10 at 1.5–1.61 ms, same length.
    for i in 0..12 {
        let mut c = call("slower", T0 + i, 4096, true);
        c.performance = perf(1_000_000 + i as u64 * 10_000, 0);
        calls.push(c);
        let mut c = call("slower", T0 + 10 * DAY_US + i, 4096, true);
        c.performance = perf(1_500_000 + i as u64 * 10_000, 0);
        calls.push(c);
        // "steady": the same 12 times in both windows.
        for d in [0, 10] {
            let mut c = call("steady", T0 + d * DAY_US + i, 4096, true);
            c.performance = perf(1_000_000 + i as u64 * 10_000, 0);
            calls.push(c);
        }
    }
    let p = PerformanceReport::compute(&calls, period());
    let slower = p
        .components
        .iter()
        .find(|c| c.component == "slower")
        .unwrap();
    let t = slower.trend.as_ref().unwrap();
    assert!(t.regression);
    assert_eq!((t.earlier_calls, t.later_calls), (12, 12));
    // All later > all earlier: U = 144, and the p-value is the Mann–Whitney one on ln t.
    let test = t.test.unwrap();
    assert_eq!(test.u_later, 144.0);
    let e: Vec<f64> = (0..12).map(|i| f64::ln(1e6 + i as f64 * 1e4)).collect();
    let l: Vec<f64> = (0..12).map(|i| f64::ln(1.5e6 + i as f64 * 1e4)).collect();
    let direct = mann_whitney_greater(&e, &l).unwrap();
    assert!((test.p_greater - direct.p_greater).abs() < 1e-15);
    // Medians of 12 log times are the means of the 6th and 7th: the ratio is the ratio of
    // geometric means, sqrt(1.55 · 1.56) / sqrt(1.05 · 1.06).
    let want = f64::sqrt(1.55 * 1.56) / f64::sqrt(1.05 * 1.06);
    assert!((t.median_ratio - want).abs() < 1e-12);
    let steady = p
        .components
        .iter()
        .find(|c| c.component == "steady")
        .unwrap();
    assert!(!steady.trend.as_ref().unwrap().regression);
    assert_eq!(
        p.daily.iter().filter(|d| d.component == "slower").count(),
        2
    );
}

#[test]
fn workflow_ngrams_patterns_and_hints() {
    use StepType::*;
    let mut steps = Vec::new();
    for run in ["A", "B"] {
        let mut s = 0;
        let mut push = |t, c: &str, cell: Option<&str>, d| {
            steps.push(step(run, s, t, c, cell, d));
            s += 1;
        };
        push(Generate, "fgn", Some("c1"), 100);
        push(Estimate, "dfa", Some("c1"), 100);
        push(Estimate, "rs", Some("c1"), 100);
        push(Estimate, "whittle", Some("c1"), 1000);
        push(Estimate, "dfa", Some("c2"), 100);
        push(Estimate, "rs", Some("c2"), 100);
        push(Report, "markdown", None, 10);
    }
    // Run C runs dfa twice on the same series.
    steps.push(step("C", 0, Estimate, "dfa", Some("x"), 50));
    steps.push(step("C", 1, Estimate, "dfa", Some("x"), 70));
    let w = WorkflowReport::compute(&steps, period());
    assert_eq!(w.runs, 3);
    assert_eq!(w.steps, 16);
    assert_eq!(w.workflows[0].count, 3);
    // Complexity: A and B have 7 steps (complex), C has 2 (simple).
    assert_eq!(w.complexity[0].runs, 1);
    assert_eq!(w.complexity[2].runs, 2);
    assert_eq!(
        w.step_patterns[0].sequence,
        vec!["generate", "estimate×5", "report"]
    );
    assert_eq!(w.step_patterns[0].count, 2);
    // Per cell: c1 = dfa, rs, whittle; c2 = dfa, rs; x = dfa, dfa. Bigrams: (dfa, rs) 2 per run
    // in A and B = 4, (rs, whittle) 2, (dfa, dfa) 1. Trigram (dfa, rs, whittle) 2.
    let bi = |a: &str, b: &str| {
        w.estimator_bigrams
            .iter()
            .find(|s| s.sequence == [a, b])
            .map(|s| s.count)
    };
    assert_eq!(bi("dfa", "rs"), Some(4));
    assert_eq!(bi("rs", "whittle"), Some(2));
    assert_eq!(bi("dfa", "dfa"), Some(1));
    assert_eq!(w.estimator_trigrams.len(), 1);
    assert_eq!(w.estimator_trigrams[0].count, 2);
    // Hints: run C duplicates dfa on x (repeat costs 70 ns); whittle takes 1000/1400 of the
    // estimation time in A and B; A and B are identical.
    assert_eq!(w.hints.duplicate_estimates, 1);
    assert_eq!(w.hints.duplicates[0].extra_ns, 70.0);
    assert_eq!(w.hints.dominated_runs, 2);
    assert!((w.hints.dominated[0].share - 1000.0 / 1400.0).abs() < 1e-12);
    assert_eq!(w.hints.repeated.len(), 1);
    assert_eq!(w.hints.repeated[0].runs, 2);
    let est = w
        .features
        .iter()
        .find(|f| f.feature == "estimator" && f.component == "dfa")
        .unwrap();
    assert_eq!((est.steps, est.runs), (6, 3));
}

fn assert_no_nan(text: &str) {
    for bad in ["NaN", "nan%", "inf"] {
        assert!(!text.contains(bad), "found {bad} in:\n{text}");
    }
}

#[test]
fn empty_period_gives_sensible_reports_without_nan() {
    let r = Reports::compute(&[], &[], period(), T0);
    assert_eq!(r.summary.total_events, 0);
    assert!(r.summary.success_rate.is_none());
    for k in [
        ReportKind::Usage,
        ReportKind::Performance,
        ReportKind::Reliability,
        ReportKind::Workflow,
        ReportKind::Comprehensive,
    ] {
        let md = r.doc(k).to_markdown("charts");
        assert_no_nan(&md);
        assert!(md.len() > 100);
        let json = r.json(k).unwrap();
        assert_no_nan(&json);
    }
    assert!(r.summary.to_text().contains("n/a (no calls)"));
    assert!(r.comprehensive.executive_summary[0].contains("Nothing was recorded"));
}

#[test]
fn one_event_gives_sensible_reports_without_nan() {
    let mut c = call("dfa", T0, 1024, true);
    c.performance = perf(5000, 100);
    let calls = [c];
    let steps = [step("r", 0, StepType::Estimate, "dfa", None, 5000)];
    let r = Reports::compute(&calls, &steps, period(), T0);
    assert_eq!(r.summary.calls, 1);
    assert_eq!(r.summary.success_rate, Some(1.0));
    // Wilson lower bound of 1/1 at z = 1.96: 1 / (1 + z²) = 0.206543.
    let want = 100.0 / (1.0 + Z95 * Z95);
    assert!((r.summary.reliability_score.unwrap() - want).abs() < 1e-9);
    for k in ReportKind::DETAILED {
        assert_no_nan(&r.doc(k).to_markdown("charts"));
        assert_no_nan(&r.json(k).unwrap());
    }
    assert_no_nan(&r.doc(ReportKind::Comprehensive).to_markdown("c"));
}
