//! The analytics dashboard end to end: `summary`, `report` and `export` of the built host over
//! a store filled through the recorder, with the numbers checked, and privacy canaries that
//! must not reach any exported byte.

use std::path::Path;
use std::process::{Command, Output};

use lrdbench_analytics::event::StepType;
use lrdbench_analytics::{Analytics, Usage};
use serde_json::Value;

use crate::support::host_binary;

fn host(store: &Path, args: &[&str]) -> Output {
    Command::new(host_binary())
        .args(args)
        .env("LRDBENCH_HOME", store)
        .env_remove("LRDBENCH_ANALYTICS")
        .env_remove("DO_NOT_TRACK")
        .env_remove("LRDBENCH_PLUGIN_PATH")
        .output()
        .expect("host runs")
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// 10 calls of `est_a` (7 succeed, 3 fail), 4 of `est_b` (all succeed), and one workflow run
/// of three steps, recorded through the library API into `store`.
fn fill(store: &Path) {
    let a = Analytics::open(store).expect("analytics opens");
    assert!(a.is_recording());
    for i in 0..14 {
        let (name, fail) = if i < 10 {
            ("est_a", i >= 7)
        } else {
            ("est_b", false)
        };
        a.track_estimator_usage(&Usage {
            estimator_name: name,
            parameters: &[("window", "16")],
            execution_time_s: 0.001 * (i + 1) as f64,
            success: !fail,
            data_length: 1024,
            error_message: fail.then_some("series too short"),
        });
    }
    let run = a.workflow("sweep");
    run.step(StepType::Generate, "fgn", Some("c1"), || ());
    run.step(StepType::Estimate, "est_a", Some("c1"), || ());
    run.step(StepType::Estimate, "est_b", Some("c1"), || ());
    a.close();
}

#[test]
fn summary_json_has_the_documented_keys_and_the_recorded_numbers() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path());
    let out = ok(&host(dir.path(), &["summary", "--json", "--days", "1"]));
    let v: Value = serde_json::from_str(&out).unwrap();
    for key in [
        "total_events",
        "unique_users",
        "success_rate",
        "error_rate",
        "workflows",
        "top_estimators",
    ] {
        assert!(v.get(key).is_some(), "missing {key}: {v}");
    }
    assert_eq!(v["total_events"], 14);
    assert_eq!(v["unique_users"], 1);
    assert_eq!(v["workflows"], 1);
    // 3 failures in 14 calls.
    assert!((v["error_rate"].as_f64().unwrap() - 3.0 / 14.0).abs() < 1e-12);
    assert!((v["success_rate"].as_f64().unwrap() - 11.0 / 14.0).abs() < 1e-12);
    assert_eq!(v["top_estimators"][0]["name"], "est_a");
    assert_eq!(v["top_estimators"][0]["calls"], 10);
    let text = ok(&host(dir.path(), &["summary"]));
    assert!(text.contains("78.6%"), "{text}");
}

#[test]
fn report_all_writes_five_reports_with_the_recorded_numbers() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path());
    let out = dir.path().join("out");
    let printed = ok(&host(
        dir.path(),
        &[
            "report",
            "all",
            "--days",
            "1",
            "--out",
            out.to_str().unwrap(),
        ],
    ));
    for k in [
        "usage",
        "performance",
        "reliability",
        "workflow",
        "comprehensive",
    ] {
        for ext in ["md", "json", "html"] {
            assert!(
                out.join(format!("{k}_report.{ext}")).is_file(),
                "{k}.{ext}\n{printed}"
            );
        }
    }
    assert!(out.join("dashboard.html").is_file());
    let rel: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("reliability_report.json")).unwrap(),
    )
    .unwrap();
    let a = rel["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["component"] == "est_a")
        .unwrap();
    assert_eq!(a["error_rate"]["count"], 3);
    assert_eq!(a["error_rate"]["attempts"], 10);
    // Wilson 95% of 3/10: 0.107791–0.603222 (hand computation in the statistics tests).
    assert!((a["error_rate"]["ci95"]["low"].as_f64().unwrap() - 0.107_791_267).abs() < 1e-8);
    assert!((a["error_rate"]["ci95"]["high"].as_f64().unwrap() - 0.603_221_853).abs() < 1e-8);
    let wf: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("workflow_report.json")).unwrap())
            .unwrap();
    assert_eq!(wf["runs"], 1);
    assert_eq!(
        wf["estimator_bigrams"][0]["sequence"],
        serde_json::json!(["est_a", "est_b"])
    );
    let md = std::fs::read_to_string(out.join("reliability_report.md")).unwrap();
    assert!(md.contains("30.0% (10.8%–60.3%, 3/10)"), "{md}");
    assert!(!md.contains("NaN"));
    // One report alone, one format.
    let one = dir.path().join("one");
    ok(&host(
        dir.path(),
        &[
            "report",
            "usage",
            "--days",
            "1",
            "--out",
            one.to_str().unwrap(),
            "--format",
            "html",
        ],
    ));
    let mut names: Vec<String> = std::fs::read_dir(&one)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["dashboard.html", "usage_report.html"]);
}

#[test]
fn report_and_summary_of_an_empty_store_work() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    ok(&host(
        dir.path(),
        &["report", "all", "--out", out.to_str().unwrap()],
    ));
    let md = std::fs::read_to_string(out.join("comprehensive_report.md")).unwrap();
    assert!(md.contains("Nothing was recorded"), "{md}");
    let v: Value = serde_json::from_str(&ok(&host(dir.path(), &["summary", "--json"]))).unwrap();
    assert_eq!(v["total_events"], 0);
    assert!(v["success_rate"].is_null());
}

fn all_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            all_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn export_in_privacy_mode_leaks_no_canary() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let home = dir.path().join("home-canaryhomeRP4");
    std::fs::create_dir_all(&home).unwrap();
    // Recorded through the host's own recorder, privacy mode being the default.
    let rec = Command::new(host_binary())
        .env("LRDBENCH_HOME", &store)
        .env_remove("LRDBENCH_ANALYTICS")
        .env_remove("DO_NOT_TRACK")
        .env("USER", "canaryuserRP4")
        .env("HOME", &home)
        .args(["analytics", "selftest", "--events", "3"])
        .args([
            "--param",
            "token=canarytokenRP4AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ])
        .args(["--param", "source=/srv/canarypathRP4/series.csv"])
        .args(["--param", "contact=canarymailRP4@example.org"])
        .args(["--param", "window=16"])
        .arg("--fail")
        .arg(format!(
            "cannot read /srv/canarypathRP4/series.csv or {}/notes.txt for canaryuserRP4",
            home.display()
        ))
        .output()
        .unwrap();
    ok(&rec);
    let out = dir.path().join("export");
    ok(&host(
        &store,
        &[
            "export",
            "--days",
            "1",
            "--out",
            out.to_str().unwrap(),
            "--format",
            "json,csv",
        ],
    ));
    ok(&host(
        &store,
        &[
            "report",
            "all",
            "--days",
            "1",
            "--out",
            out.join("reports").to_str().unwrap(),
        ],
    ));
    let mut files = Vec::new();
    all_files(&out, &mut files);
    assert!(files.len() >= 9 + 15, "{files:?}");
    // The events are there (the check can fail): 3 failures, the harmless parameter kept.
    let errors = std::fs::read_to_string(out.join("errors.jsonl")).unwrap();
    assert_eq!(errors.lines().count(), 3);
    assert!(errors.contains("\"window\":\"16\""), "{errors}");
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for canary in [
            "canarytokenRP4",
            "canarypathRP4",
            "canarymailRP4",
            "canaryhomeRP4",
            "canaryuserRP4",
        ] {
            assert!(!text.contains(canary), "{canary} in {}", f.display());
        }
    }
}
