//! The dashboard end to end over events in memory: windows, written files, escaping, exports.

use lrdbench_analytics::event::{Performance, StepType};

use super::*;
use crate::report::tests::{call, step};
use crate::util::DAY_US;

const NOW: i64 = 20_100 * DAY_US;
const EVIL: &str = "<script>alert(1)</script>";

fn events() -> (Vec<CallEvent>, Vec<StepEvent>) {
    let mut calls = Vec::new();
    for i in 0..40i64 {
        let mut c = call(
            if i % 2 == 0 { "dfa" } else { EVIL },
            NOW - i * 3_600_000_000,
            256 << (i % 4),
            i % 5 != 0,
        );
        c.performance = Some(Performance {
            wall_ns: 1000 + 10 * i as u64,
            cpu_thread_ns: 1000,
            cpu_process_ns: 1000,
            cpu_percent: 99.0,
            rss_before: 0,
            rss_after: 0,
            heap_peak: 4096,
        });
        calls.push(c);
    }
    // One call 40 days ago: outside a 30-day window.
    calls.push(call("old", NOW - 40 * DAY_US, 100, true));
    let mut steps = vec![
        step("r1", 0, StepType::Generate, "fgn", Some("c"), 10),
        step("r1", 1, StepType::Estimate, EVIL, Some("c"), 10),
    ];
    for s in &mut steps {
        s.timestamp_us = NOW - 1000 + s.seq as i64;
    }
    (calls, steps)
}

#[test]
fn window_excludes_events_before_the_period() {
    let (calls, steps) = events();
    let d = Dashboard::from_events(calls, steps).at(NOW);
    let s = d.get_analytics_summary(30).unwrap();
    assert_eq!(s.total_events, 40);
    assert_eq!(s.failures, 8);
    assert!((s.success_rate.unwrap() - 0.8).abs() < 1e-15);
    assert_eq!(d.get_analytics_summary(100).unwrap().total_events, 41);
    // A window with no data is still a summary.
    let empty = Dashboard::from_events(vec![], vec![])
        .at(NOW)
        .get_analytics_summary(1)
        .unwrap();
    assert_eq!(empty.calls, 0);
}

#[test]
fn report_all_writes_every_file_and_escapes_plugin_strings() {
    let (calls, steps) = events();
    let d = Dashboard::from_events(calls, steps).at(NOW);
    let out = tempfile::tempdir().unwrap();
    let w = d.generate_comprehensive_report(30, out.path()).unwrap();
    assert!(w.warnings.is_empty(), "{:?}", w.warnings);
    for k in [
        "usage",
        "performance",
        "reliability",
        "workflow",
        "comprehensive",
    ] {
        for ext in ["md", "json", "html"] {
            assert!(
                out.path().join(format!("{k}_report.{ext}")).is_file(),
                "{k}.{ext}"
            );
        }
    }
    let dash = std::fs::read_to_string(out.path().join("dashboard.html")).unwrap();
    assert!(dash.contains("<svg"), "charts are inline");
    assert!(!dash.contains("src=\"http"), "no network fetch");
    assert!(!dash.contains("<script"), "plugin strings are escaped");
    assert!(dash.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    // JSON carries the name as data (a JSON string); every markup format must escape it.
    for f in w
        .files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e != "json"))
    {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(
            !text.contains("<script>"),
            "{} holds raw markup",
            f.display()
        );
    }
    let md = std::fs::read_to_string(out.path().join("usage_report.md")).unwrap();
    assert!(md.contains("](charts/calls_per_estimator.svg)"));
    assert!(out.path().join("charts/calls_per_estimator.svg").is_file());
    assert!(out.path().join("charts/time_vs_length.svg").is_file());
}

#[test]
fn export_writes_one_file_per_record_type_with_matching_rows() {
    let (calls, steps) = events();
    let d = Dashboard::from_events(calls, steps).at(NOW);
    let out = tempfile::tempdir().unwrap();
    let files = d
        .export_all_data(
            30,
            out.path(),
            &[ExportFormat::JsonLines, ExportFormat::Csv],
        )
        .unwrap();
    assert_eq!(files.len(), 8 + 5);
    let lines = |name: &str| {
        std::fs::read_to_string(out.path().join(name))
            .unwrap()
            .lines()
            .count()
    };
    assert_eq!(lines("usage.jsonl"), 40);
    assert_eq!(lines("usage.csv"), 41);
    assert_eq!(lines("performance.jsonl"), 40);
    assert_eq!(lines("errors.jsonl"), 8);
    assert_eq!(lines("errors.csv"), 9);
    assert_eq!(lines("workflow_steps.jsonl"), 2);
    let first: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(out.path().join("errors.jsonl"))
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(first["kind"], "insufficient_data");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("summary.json")).unwrap())
            .unwrap();
    for key in [
        "total_events",
        "unique_users",
        "success_rate",
        "error_rate",
        "workflows",
        "top_estimators",
    ] {
        assert!(summary.get(key).is_some(), "summary lacks {key}");
    }
}

#[test]
fn export_in_privacy_mode_scrubs_paths_from_parameters_and_messages() {
    let mut c = call("dfa", NOW - 10, 100, false);
    c.parameters
        .insert("input".into(), "/home/canary_user/data.csv".into());
    if let Some(e) = &mut c.error {
        e.message = "cannot read /home/canary_user/data.csv".into();
    }
    let d = Dashboard::from_events(vec![c], vec![]).at(NOW);
    let out = tempfile::tempdir().unwrap();
    d.export_all_data(1, out.path(), &[ExportFormat::JsonLines, ExportFormat::Csv])
        .unwrap();
    for e in std::fs::read_dir(out.path()).unwrap() {
        let bytes = std::fs::read(e.unwrap().path()).unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains("canary_user"));
    }
}

#[test]
fn a_store_streams_the_same_export_and_regressions_as_its_events_in_memory() {
    use lrdbench_analytics::event::Event;
    use lrdbench_analytics::{Recorder, RecorderOptions};
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let mut calls = Vec::new();
    for run in 0..3i64 {
        for i in 0..60i64 {
            let name = if i % 3 == 0 { "dfa" } else { "rs" };
            let mut c = call(
                name,
                NOW - (3 - run) * 3_600_000_000 + i * 1000,
                256,
                i % 7 != 0,
            );
            c.run_id = Some(format!("run{run}"));
            c.workflow = Some("w".into());
            c.cell = Some(format!("fgn[H=0.5]={i}|clean|{name}"));
            c.parameters
                .insert("seed".into(), (i * 7919 + run).to_string());
            c.parameters.insert("order".into(), "2".into());
            c.performance = Some(Performance {
                wall_ns: 1000 + 500 * run as u64 + i as u64,
                cpu_thread_ns: 1000,
                cpu_process_ns: 1000,
                cpu_percent: 99.0,
                rss_before: 0,
                rss_after: 0,
                heap_peak: 4096,
            });
            calls.push(c);
        }
    }
    let (rec, _) = Recorder::open(&store, &RecorderOptions::default()).unwrap();
    for c in &calls {
        rec.record(Event::Call(c.clone())).unwrap();
    }
    let (_, steps) = events();
    for s in steps {
        rec.record(Event::Step(s)).unwrap();
    }
    rec.close();
    let ev = lrdbench_analytics::read_events(&store, 0).unwrap();
    assert_eq!(ev.calls.len(), calls.len());
    let memory = Dashboard::from_events(ev.calls, ev.steps).at(NOW);
    let disk = Dashboard::open(&store).at(NOW);
    let r = disk.regressions(30).unwrap();
    assert_eq!(r, memory.regressions(30).unwrap());
    // The two latest of the three runs, on all 60 cells.
    assert_eq!(r.workflows.len(), 1);
    assert_eq!(
        (
            r.workflows[0].base_run.as_str(),
            r.workflows[0].new_run.as_str()
        ),
        ("run1", "run2")
    );
    assert_eq!(r.workflows[0].matched_cells, 60);
    let formats = [ExportFormat::JsonLines, ExportFormat::Csv];
    let (a, b) = (tmp.path().join("memory"), tmp.path().join("disk"));
    let fa = memory.export_all_data(30, &a, &formats).unwrap();
    let fb = disk.export_all_data(30, &b, &formats).unwrap();
    let names = |f: &[PathBuf]| -> Vec<String> {
        f.iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    };
    assert_eq!(names(&fa), names(&fb));
    for name in names(&fa) {
        let read = |d: &Path| std::fs::read_to_string(d.join(&name)).unwrap();
        let (x, y) = (read(&a), read(&b));
        if name.ends_with(".json") {
            assert_eq!(x, y, "{name}");
        } else {
            // The store streams in id order, memory in time order: the same rows.
            let sorted = |t: &str| {
                let mut v: Vec<String> = t.lines().map(str::to_string).collect();
                v.sort();
                v
            };
            assert_eq!(sorted(&x), sorted(&y), "{name}");
            assert!(x.lines().count() > 1, "{name} is not empty");
        }
    }
}
