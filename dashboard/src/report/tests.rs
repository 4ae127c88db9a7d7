//! Reports on synthetic events with answers computed by hand.

use std::collections::BTreeMap;

use lrdbench_analytics::event::{
    CallEvent, ErrorInfo, EventType, Performance, StepEvent, StepType,
};

use super::*;
use crate::stats::{reliability_score, Z95};
use crate::util::DAY_US;

const T0: i64 = 20_000 * DAY_US;

pub(crate) fn call(component: &str, ts: i64, len: u64, ok: bool) -> CallEvent {
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

pub(crate) fn step(
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

/// A failed call of `kind`.
pub(crate) fn failing(component: &str, ts: i64, len: u64, kind: &str) -> CallEvent {
    let mut c = call(component, ts, len, false);
    if let Some(e) = c.error.as_mut() {
        e.kind = kind.into();
    }
    c
}

mod alarms;

#[test]
fn reliability_splits_input_failures_from_the_components_own() {
    // dfa: 34 successes at n = 1024, 6 numerical failures at n = 64, and 20 calls at n = 4096
    // given NaN by a contamination (invalid_input). fbm: one successful call.
    let mut calls: Vec<CallEvent> = (0..34).map(|i| call("dfa", T0 + i, 1024, true)).collect();
    calls.extend((0..6).map(|i| failing("dfa", T0 + 100 + i, 64, "numerical")));
    calls.extend((0..20).map(|i| failing("dfa", T0 + 200 + i, 4096, "invalid_input")));
    let mut fbm = call("fbm", T0 + 300, 4096, true);
    fbm.event_type = EventType::ModelUsage;
    calls.push(fbm);
    let r = ReliabilityReport::compute(&calls, period());
    let c = &r.components[0];
    assert_eq!(c.component, "dfa");
    assert_eq!((c.error_rate.count, c.error_rate.attempts), (26, 60));
    assert_eq!(
        (c.input_failures.count, c.input_failures.attempts),
        (20, 60)
    );
    assert_eq!(c.usable_calls, 40);
    let own = c.component_failure_rate.unwrap();
    assert_eq!((own.count, own.attempts), (6, 40));
    assert_eq!(c.score, reliability_score(34, 40));
    let ci = crate::stats::wilson(34, 40, Z95).unwrap();
    assert!((c.score_ci95.unwrap().low - 100.0 * ci.low).abs() < 1e-12);
    assert_eq!(c.top_kind.as_deref(), Some("numerical"));
    assert_eq!(c.top_input_kind.as_deref(), Some("invalid_input"));
    // The component called once has no score and no rank: listed last, "not enough data".
    let f = &r.components[1];
    assert_eq!((f.component.as_str(), f.score), ("fbm", None));
    assert!(f.failure_test.is_none());
    let md = r.to_doc().to_markdown("charts");
    assert!(md.contains("not enough data (n = 1)"), "{md}");
    // Input failures are in no stratum: nothing at 4096.
    assert!(!r.strata.iter().any(|s| s.value.starts_with("4096")));
    // 64: all 6 own failures in 6 of 40 usable calls; Fisher's p = 1 / C(40, 6).
    let s = r
        .strata
        .iter()
        .find(|s| s.dimension == "data_length" && s.value.starts_with("64–127"))
        .unwrap();
    let t = s.test.unwrap();
    assert!((t.p_value - 1.0 / 3_838_380.0).abs() < 1e-15);
    // Both length strata of dfa could be tested: the level is 5% / 2.
    assert_eq!(t.tests, 2);
    assert!(s.concentrated);
    assert!((s.lift.lift.unwrap() - 1.0 / 0.15).abs() < 1e-12);
    // The failure rate test: P(X ≥ 6 | 40, 5%) < 5%.
    let ft = c.failure_test.unwrap();
    assert!((ft.p_value - crate::alarm::binomial_sf(6, 40, 0.05)).abs() < 1e-15);
    assert!(ft.alarm, "{ft:?}");
    let text: Vec<&str> = r.recommendations.iter().map(|x| x.text.as_str()).collect();
    assert!(
        text.iter()
            .any(|t| t.contains("dfa fails often on input it accepts: 6 of 40 usable calls")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|t| t.contains("at data length 64–127") && t.contains("6 of 6 usable calls")),
        "{text:?}"
    );
    assert!(
        !text.iter().any(|t| t.contains("4096") || t.contains("fbm")),
        "{text:?}"
    );
    assert!(
        r.input_notes[0].contains("20 of 60 calls"),
        "{:?}",
        r.input_notes
    );
    assert_eq!(r.errors_by_kind[0].kind, "invalid_input");
    assert_eq!(r.errors_by_kind[0].side, crate::failure::Side::Input);
}

#[test]
fn too_few_calls_are_never_ranked_or_alarmed() {
    // 3 failures in 10 calls: the old rule recommended; now it is not enough data.
    let mut calls: Vec<CallEvent> = (0..7).map(|i| call("dfa", T0 + i, 1024, true)).collect();
    calls.extend((0..3).map(|i| failing("dfa", T0 + 100 + i, 64, "numerical")));
    let r = ReliabilityReport::compute(&calls, period());
    let c = &r.components[0];
    assert_eq!((c.error_rate.count, c.error_rate.attempts), (3, 10));
    assert!((c.error_rate.ci95.low - 0.107_791_267).abs() < 1e-8);
    assert_eq!(c.score, None);
    assert!(r.strata.iter().all(|s| s.test.is_none() && !s.concentrated));
    assert_eq!(r.recommendations.len(), 1);
    assert!(r.recommendations[0].text.starts_with("No alarm"));
}

#[test]
fn reliability_strata_by_h_band_and_parameter() {
    let mut calls = Vec::new();
    for i in 0..40 {
        // 10 failures, all at H = 0.95 and all with method = a.
        let mut c = if i % 4 == 0 {
            failing("whittle", T0 + i, 4096, "non_convergence")
        } else {
            call("whittle", T0 + i, 4096, true)
        };
        c.truth_h = Some(if i % 4 == 0 { 0.95 } else { 0.6 });
        c.parameters
            .insert("method".into(), if i % 2 == 0 { "a" } else { "b" }.into());
        calls.push(c);
    }
    let r = ReliabilityReport::compute(&calls, period());
    let band = r.strata.iter().find(|s| s.value == "H 0.8-1.0").unwrap();
    assert_eq!(
        (band.lift.stratum.count, band.lift.stratum.attempts),
        (10, 10)
    );
    assert!((band.lift.lift.unwrap() - 4.0).abs() < 1e-12); // 1.0 / 0.25
    assert!(band.concentrated);
    let a = r.strata.iter().find(|s| s.value == "method=a").unwrap();
    assert_eq!((a.lift.stratum.count, a.lift.stratum.attempts), (10, 20));
    assert!((a.lift.lift.unwrap() - 2.0).abs() < 1e-12);
}

#[test]
fn usage_groups_full_parameter_sets_by_the_chosen_parameters() {
    // 60 calls, each with its own per-cell seed (as a workflow derives them) and its own
    // `offset` (60 distinct values: derived); `order` is what the user chose (1 or 2).
    let mut calls = Vec::new();
    for i in 0..60 {
        let mut c = call("dfa", T0 + i, 1024, true);
        c.parameters.insert("seed".into(), (1000 + i).to_string());
        c.parameters.insert("offset".into(), (7 * i).to_string());
        c.parameters
            .insert("order".into(), if i < 40 { "1" } else { "2" }.into());
        calls.push(c);
    }
    let u = UsageReport::compute(&calls, period());
    let dfa = &u.parameters[0];
    assert_eq!(dfa.derived_keys, vec!["offset", "seed"]);
    assert_eq!(dfa.top_combinations.len(), 2);
    assert_eq!(dfa.top_combinations[0].value, "order=1");
    assert_eq!(dfa.top_combinations[0].calls, 40);
    assert_eq!(dfa.top_combinations[1].calls, 20);
    // The per-key table still shows the derived parameters.
    assert!(dfa
        .keys
        .iter()
        .any(|k| k.key == "seed" && k.distinct_values == 60));
    // A parameter with few values is chosen, whatever its calls.
    assert!(!usage::is_derived("order", 2, 60));
    assert!(
        !usage::is_derived("window", 20, 21),
        "20 values are not more than 20"
    );
    assert!(usage::is_derived("model_seed", 1, 60));
}

#[test]
fn seeds_held_apart_by_the_table_keep_their_counts_order_and_strata() {
    // 40 calls over four seeds ("010" is text, the others numbers), 10 calls each; every
    // failure has seed 9.
    let mut calls = Vec::new();
    for i in 0..40 {
        let mut c = if i % 4 == 0 {
            failing("whittle", T0 + i, 4096, "non_convergence")
        } else {
            call("whittle", T0 + i, 4096, true)
        };
        let seed = ["9", "10", "010", "5"][i as usize % 4];
        c.parameters.insert("seed".into(), seed.into());
        c.parameters.insert("method".into(), "a".into());
        calls.push(c);
    }
    let u = UsageReport::compute(&calls, period());
    let p = &u.parameters[0];
    let seed = p.keys.iter().find(|k| k.key == "seed").unwrap();
    assert_eq!((seed.calls, seed.distinct_values), (40, 4));
    // Equal counts: by text, as every other parameter's values.
    let top: Vec<&str> = seed.top_values.iter().map(|v| v.value.as_str()).collect();
    assert_eq!(top, ["010", "10", "5", "9"]);
    let keys: Vec<&str> = p.keys.iter().map(|k| k.key.as_str()).collect();
    assert_eq!(keys, ["method", "seed"]);
    assert_eq!(p.derived_keys, vec!["seed"]);
    assert_eq!(p.top_combinations[0].value, "method=a");
    let r = ReliabilityReport::compute(&calls, period());
    let s = r.strata.iter().find(|s| s.value == "seed=9").unwrap();
    assert_eq!((s.lift.stratum.count, s.lift.stratum.attempts), (10, 10));
    assert!(r.strata.iter().any(|s| s.value == "seed=010"));
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
fn performance_slowdown_is_judged_over_sessions_relative_to_the_load() {
    let mut calls = Vec::new();
    // 12 sessions a day apart, each with 5 calls of three components at one length. Session
    // s runs under load factor 1 + s/10 (it slows everything); "slower" is 1.5× slower from
    // session 6 on.
    for s in 0..12i64 {
        let load = 1.0 + s as f64 / 10.0;
        for (name, base) in [("slower", 1.0e6), ("steady", 2.0e6), ("other", 3.0e6)] {
            // A small session-to-session spread of each component's own, so no two sessions tie.
            let own = 1.0 + 0.002 * ((s as f64 * base / 1e6 * 7.0) % 11.0);
            for i in 0..5 {
                let code = if name == "slower" && s >= 6 { 1.5 } else { 1.0 };
                let wall = base * load * code * own * (1.0 + i as f64 / 100.0);
                let mut c = call(name, T0 + s * DAY_US + i, 4096, true);
                c.session_id = format!("s{s}");
                c.performance = perf(wall as u64, 0);
                calls.push(c);
            }
        }
    }
    let p = PerformanceReport::compute(&calls, period());
    let get = |n: &str| p.components.iter().find(|c| c.component == n).unwrap();
    let t = get("slower").trend.clone().unwrap();
    assert_eq!((t.earlier_sessions, t.later_sessions), (6, 6));
    assert_eq!((t.earlier_calls, t.later_calls), (30, 30));
    assert_eq!(t.load_adjusted_sessions, 12);
    // Relative to the others every later session is above every earlier one: exact p =
    // 1 / C(12, 6) = 1/924, against 5% / 3 components.
    let v = t.verdict.unwrap();
    assert!((v.p_value - 1.0 / 924.0).abs() < 1e-15, "{v:?}");
    assert_eq!(v.tests, 3);
    assert!(t.regression);
    assert!((t.median_ratio - 1.5).abs() < 0.02, "{}", t.median_ratio);
    // The load alone (up to 2.1×) flags neither of the others.
    assert!(!get("steady").trend.as_ref().unwrap().regression);
    assert!(!get("other").trend.as_ref().unwrap().regression);
    assert_eq!(
        p.daily.iter().filter(|d| d.component == "slower").count(),
        12
    );
}

#[test]
fn two_runs_of_one_binary_never_claim_a_slowdown() {
    // Two sessions an hour apart, the second 1.27× slower for every call (machine load).
    let mut calls = Vec::new();
    for (s, factor) in [(0i64, 1.0), (1, 1.27)] {
        for i in 0..200 {
            let mut c = call("dfa", T0 + s * 3_600_000_000 + i, 4096, true);
            c.session_id = format!("s{s}");
            c.performance = perf((1e6 * factor * (1.0 + (i % 7) as f64 / 50.0)) as u64, 0);
            calls.push(c);
        }
    }
    let p = PerformanceReport::compute(&calls, period());
    let t = p.components[0].trend.clone().unwrap();
    assert_eq!(t.sessions, 2);
    assert!(t.verdict.is_none() && !t.regression);
    let r = Reports::compute(&calls, &[], period(), T0);
    assert!(
        !r.comprehensive
            .recommendations
            .iter()
            .any(|x| x.contains("slower")),
        "{:?}",
        r.comprehensive.recommendations
    );
}

#[test]
fn complexity_discriminates_single_small_medium_and_large_designs() {
    use StepType::*;
    // (models, contaminations, estimators) → bucket: 1×1×1 single, 1×1×5 small,
    // 2×1×8 medium, 2×3×19 large; replicates (more cells) do not change the design.
    let mut steps = Vec::new();
    for (run, (m, c, e)) in [(1, 1, 1), (1, 1, 5), (2, 1, 8), (2, 3, 19)]
        .iter()
        .enumerate()
    {
        let run = format!("r{run}");
        let mut seq = 0;
        for rep in 0..3 {
            for mi in 0..*m {
                for ci in 0..*c {
                    let cell = format!("m{mi}c{ci}r{rep}");
                    steps.push(step(
                        &run,
                        seq,
                        Generate,
                        &format!("model{mi}"),
                        Some(&cell),
                        1,
                    ));
                    seq += 1;
                    if *c > 1 {
                        steps.push(step(
                            &run,
                            seq,
                            Contaminate,
                            &format!("cont{ci}"),
                            Some(&cell),
                            1,
                        ));
                        seq += 1;
                    }
                    for ei in 0..*e {
                        steps.push(step(
                            &run,
                            seq,
                            Estimate,
                            &format!("est{ei}"),
                            Some(&cell),
                            1,
                        ));
                        seq += 1;
                    }
                }
            }
        }
    }
    let w = WorkflowReport::compute(&steps, period());
    let runs: Vec<u64> = w.complexity.iter().map(|c| c.runs).collect();
    assert_eq!(runs, vec![1, 1, 1, 1]);
    assert_eq!(w.design_size.unwrap().max, 114.0);
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
    // Complexity: A and B compare 1 model × 1 (clean) × 3 estimators = design size 3
    // (small); C runs one estimator on one series: design size 1 (single).
    assert_eq!(w.complexity[0].runs, 1);
    assert_eq!(w.complexity[1].runs, 2);
    assert_eq!(w.complexity[2].runs + w.complexity[3].runs, 0);
    assert_eq!(w.design_size.unwrap().max, 3.0);
    assert_eq!(w.cells_per_run.unwrap().max, 2.0);
    assert_eq!(
        w.step_patterns[0].sequence,
        vec!["generate", "estimate", "report"]
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
    // One call is not enough data for a score (it was 20.7, the Wilson lower bound of 1/1).
    assert_eq!(r.summary.reliability_score, None);
    assert!(r
        .summary
        .to_text()
        .contains("not enough data (1 usable calls"));
    for k in ReportKind::DETAILED {
        assert_no_nan(&r.doc(k).to_markdown("charts"));
        assert_no_nan(&r.json(k).unwrap());
    }
    assert_no_nan(&r.doc(ReportKind::Comprehensive).to_markdown("c"));
}
