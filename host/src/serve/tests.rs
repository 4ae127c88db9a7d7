//! The server without its socket: [`respond`] over real run directories.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use super::*;

fn state(root: &Path, store: &Path) -> Arc<State> {
    Arc::new(State::new(ServeOptions {
        addr: "127.0.0.1:8787".parse().unwrap(),
        runs: vec![root.to_path_buf()],
        store_dir: store.to_path_buf(),
        log_requests: false,
    }))
}

fn make_run(root: &Path, name: &str, workflow: &str) {
    let d = root.join(name);
    std::fs::create_dir_all(&d).unwrap();
    let m = serde_json::json!({
        "run_id": name, "status": "running", "workflow": workflow, "workflow_path": "/nonexistent",
        "workflow_sha256": "00", "seed": 1, "host_version": "0", "plugins": [], "cells": 4,
        "cells_done": 0, "threads": 1, "started": "2026-01-01T00:00:00Z", "finished": null
    });
    std::fs::write(d.join("manifest.json"), m.to_string()).unwrap();
}

const HOST: Option<&str> = Some("127.0.0.1:8787");

#[test]
fn runs_are_listed_and_a_new_run_appears_without_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("runs");
    make_run(&root, "one", "w1");
    let s = state(&root, &tmp.path().join("store"));
    let r = respond(&s, "GET", "/api/runs", HOST);
    assert_eq!(r.status, 200);
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
    make_run(&root, "two", "w2");
    let v: serde_json::Value =
        serde_json::from_slice(&respond(&s, "GET", "/api/runs", HOST).body).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    let page = respond(&s, "GET", "/", HOST);
    assert_eq!(page.status, 200);
    assert!(String::from_utf8(page.body).unwrap().contains("/runs/two"));
}

#[test]
fn a_hostile_workflow_name_is_text_on_every_page() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("runs");
    make_run(&root, "r", "<img src=x onerror=alert(1)>");
    let s = state(&root, &tmp.path().join("store"));
    for url in ["/", "/runs/r"] {
        let body = String::from_utf8(respond(&s, "GET", url, HOST).body).unwrap();
        assert!(!body.contains("<img src=x"), "{url}: {body}");
        assert!(body.contains("&lt;img src=x onerror=alert(1)&gt;"), "{url}");
    }
}

#[test]
fn traversal_encoded_slashes_and_symlinks_reach_nothing_outside_the_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("runs");
    make_run(&root, "r", "w");
    std::fs::write(tmp.path().join("secret.txt"), "SECRET").unwrap();
    make_run(tmp.path(), "outside", "w");
    std::fs::write(tmp.path().join("outside/report.html"), "SECRET").unwrap();
    std::os::unix::fs::symlink(tmp.path().join("outside"), root.join("linked")).unwrap();
    std::os::unix::fs::symlink(tmp.path().join("secret.txt"), root.join("r/report.html")).unwrap();
    let s = state(&root, &tmp.path().join("store"));
    for url in [
        "/runs/../secret.txt",
        "/runs/%2e%2e/secret.txt",
        "/runs/r/..%2f..%2fsecret.txt",
        "/runs/r%2f..%2f..%2fsecret.txt",
        "/runs/linked/report.html",
        "/runs/linked",
        "/api/runs/linked",
        "/runs/r/report.html",
        "/runs/..%2foutside/report.html",
    ] {
        let r = respond(&s, "GET", url, HOST);
        assert!(matches!(r.status, 403 | 404), "{url}: {}", r.status);
        assert!(
            !String::from_utf8_lossy(&r.body).contains("SECRET"),
            "{url}"
        );
    }
    // The symlinked run is not listed either.
    let list = String::from_utf8(respond(&s, "GET", "/api/runs", HOST).body).unwrap();
    assert!(!list.contains("linked"), "{list}");
    assert_eq!(
        respond(&s, "GET", "/runs/r/manifest.json", HOST).status,
        200
    );
}

#[test]
fn nothing_changes_anything_and_other_hosts_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let s = state(&tmp.path().join("runs"), &tmp.path().join("store"));
    for m in ["POST", "PUT", "DELETE"] {
        assert_eq!(respond(&s, m, "/api/runs", HOST).status, 405);
    }
    // A page of another site that resolves its name to 127.0.0.1 (DNS rebinding).
    assert_eq!(
        respond(&s, "GET", "/api/runs", Some("evil.example:8787")).status,
        421
    );
    assert_eq!(respond(&s, "GET", "/api/runs", None).status, 421);
    assert_eq!(
        respond(&s, "GET", "/api/runs", Some("localhost:8787")).status,
        200
    );
}

#[test]
fn an_empty_store_still_has_a_dashboard_and_metrics() {
    let tmp = tempfile::tempdir().unwrap();
    let s = state(&tmp.path().join("runs"), &tmp.path().join("store"));
    let r = respond(&s, "GET", "/api/summary?days=7", HOST);
    assert_eq!(r.status, 200);
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["total_events"], 0);
    assert_eq!(v["analysis_period_days"], 7);
    for url in [
        "/dashboard",
        "/dashboard/usage",
        "/dashboard/comprehensive_report.html",
    ] {
        let r = respond(&s, "GET", url, HOST);
        assert_eq!(r.status, 200, "{url}");
        let body = String::from_utf8(r.body).unwrap();
        assert!(body.contains("Content-Security-Policy"), "{url}");
    }
    let m = respond(&s, "GET", "/metrics", HOST);
    assert_eq!(m.status, 200);
    assert!(String::from_utf8(m.body)
        .unwrap()
        .contains("lrdbench_runs_in_progress 0"));
    assert_eq!(respond(&s, "GET", "/api/summary?days=0", HOST).status, 400);
}

#[test]
fn the_live_truth_chart_draws_at_most_the_dashboards_points_per_row() {
    let records: Vec<crate::workflow::record::CellRecord> = (0..4000)
        .map(|i| {
            serde_json::from_value(serde_json::json!({
                "index": i, "hash": format!("h{i}"), "series_id": format!("s{i}"),
                "origin": "fgn", "truth": {"H": 0.3 + 0.0001 * f64::from(i)}, "length": 256,
                "contamination": "clean", "estimator": "a", "variant": "a", "params": "",
                "estimand": "H", "value": 0.5, "stderr": null, "ci_low": null, "ci_high": null,
                "ci_level": null, "r_squared": null, "valid": true, "error_kind": null,
                "error_message": null, "elapsed_ms": 1.0, "warnings": []
            }))
            .unwrap()
        })
        .collect();
    let svg = api::truth_chart(&records);
    let points = svg.matches("<circle").count();
    // 1,500 points of the row and the legend's mark.
    assert!(
        (1000..=lrdbench_dashboard::charts::MAX_POINTS + 1).contains(&points),
        "{points}"
    );
}
