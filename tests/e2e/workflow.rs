//! Workflows end to end: the shipped workflows at reduced size, determinism across thread
//! counts, interruption and resume, and located errors for bad workflow files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::{host_binary, workspace_root};

fn host(store: &Path, args: &[&str]) -> Output {
    Command::new(host_binary())
        .args(args)
        .env("LRDBENCH_HOME", store)
        .env("LRDBENCH_ANALYTICS", "0")
        .env_remove("LRDBENCH_PLUGIN_PATH")
        .output()
        .expect("host runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A shipped workflow made small: fewer lengths, H values and replicates, paths absolute.
fn reduced(name: &str, dir: &Path) -> PathBuf {
    let src = workspace_root().join("workflows").join(name);
    let mut doc: toml::Table = toml::from_str(&std::fs::read_to_string(&src).unwrap()).unwrap();
    if let Some(toml::Value::Array(data)) = doc.get_mut("data") {
        for d in data.iter_mut().filter_map(|d| d.as_table_mut()) {
            if d.contains_key("lengths") {
                d.insert(
                    "lengths".into(),
                    toml::Value::Array(vec![toml::Value::Integer(1024)]),
                );
                d.insert("replicates".into(), toml::Value::Integer(1));
            }
            if let Some(toml::Value::Table(params)) = d.get_mut("params") {
                for (_, v) in params.iter_mut() {
                    if let toml::Value::Array(a) = v {
                        a.truncate(2);
                    }
                }
            }
            if let Some(toml::Value::String(f)) = d.get_mut("files") {
                *f = src
                    .parent()
                    .unwrap()
                    .join(&*f)
                    .to_string_lossy()
                    .into_owned();
            }
        }
    }
    let out = dir.join(name);
    std::fs::write(&out, toml::to_string(&doc).unwrap()).unwrap();
    out
}

fn run_dir_of(out: &Output) -> PathBuf {
    PathBuf::from(
        text(&out.stdout)
            .lines()
            .last()
            .expect("run dir printed last")
            .trim(),
    )
}

fn estimates(dir: &Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(dir.join("estimates.csv")).unwrap();
    let headers = r.headers().unwrap().clone();
    let keep: Vec<usize> = [
        "series_id",
        "contamination",
        "variant",
        "value",
        "stderr",
        "ci_low",
        "ci_high",
        "valid",
        "error_kind",
    ]
    .iter()
    .map(|k| headers.iter().position(|h| h == *k).unwrap())
    .collect();
    r.records()
        .map(|rec| {
            keep.iter()
                .map(|&i| rec.as_ref().unwrap()[i].to_string())
                .collect()
        })
        .collect()
}

#[test]
fn shipped_workflows_run_at_reduced_size() {
    let tmp = tempfile::tempdir().unwrap();
    for name in ["pipeline.toml", "sweep.toml", "stress.toml", "data.toml"] {
        let wf = reduced(name, tmp.path());
        let out_dir = tmp.path().join("runs");
        let out = host(
            tmp.path(),
            &[
                "run",
                wf.to_str().unwrap(),
                "--out",
                out_dir.to_str().unwrap(),
            ],
        );
        let dir = run_dir_of(&out);
        assert!(
            dir.join("report.html").exists(),
            "{name}: {}",
            text(&out.stderr)
        );
        for f in [
            "estimates.csv",
            "metrics.csv",
            "leaderboard.csv",
            "leaderboard.md",
            "manifest.json",
            "cells.jsonl",
        ] {
            assert!(dir.join(f).exists(), "{name}: {f} missing");
        }
        let manifest: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap())
                .unwrap();
        assert_eq!(manifest["status"], "complete", "{name}");
        assert_eq!(manifest["cells"], manifest["cells_done"]);
        assert_eq!(
            estimates(&dir).len() as u64,
            manifest["cells"].as_u64().unwrap()
        );
        assert!(manifest["machine"]["cores"].as_u64().unwrap() >= 1);
        assert_eq!(manifest["workflow_sha256"].as_str().unwrap().len(), 64);
        let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
        assert!(
            html.contains("<svg") && !html.contains("http://") || html.contains("xmlns"),
            "{name}: report has inline svg"
        );
        assert!(!html.contains("<script src"), "the report fetches nothing");
        if name == "pipeline.toml" {
            // Clean fGn: every cell valid, so the run exits 0.
            assert!(out.status.success(), "{}", text(&out.stderr));
        }
    }
}

#[test]
fn results_do_not_depend_on_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let wf = reduced("pipeline.toml", tmp.path());
    let out_dir = tmp.path().join("runs");
    let one = host(
        tmp.path(),
        &[
            "run",
            wf.to_str().unwrap(),
            "--threads",
            "1",
            "--out",
            out_dir.to_str().unwrap(),
        ],
    );
    let two = host(
        tmp.path(),
        &[
            "run",
            wf.to_str().unwrap(),
            "--threads",
            "2",
            "--out",
            out_dir.to_str().unwrap(),
        ],
    );
    assert!(
        one.status.success() && two.status.success(),
        "{}",
        text(&two.stderr)
    );
    assert_eq!(estimates(&run_dir_of(&one)), estimates(&run_dir_of(&two)));
}

#[test]
fn resume_completes_a_run_with_identical_results() {
    let tmp = tempfile::tempdir().unwrap();
    let wf = reduced("pipeline.toml", tmp.path());
    let out_dir = tmp.path().join("runs");
    let full = host(
        tmp.path(),
        &[
            "run",
            wf.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
        ],
    );
    let full_dir = run_dir_of(&full);
    // Make a copy that looks interrupted: keep a third of the finished cells, and a torn line.
    let partial = tmp.path().join("partial");
    std::fs::create_dir_all(&partial).unwrap();
    let cells = std::fs::read_to_string(full_dir.join("cells.jsonl")).unwrap();
    let lines: Vec<&str> = cells.lines().collect();
    let mut kept = lines[..lines.len() / 3].join("\n");
    kept.push('\n');
    kept.push_str(&lines[lines.len() / 3][..20]);
    std::fs::write(partial.join("cells.jsonl"), kept).unwrap();
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(full_dir.join("manifest.json")).unwrap())
            .unwrap();
    manifest["status"] = "interrupted".into();
    std::fs::write(partial.join("manifest.json"), manifest.to_string()).unwrap();
    let resumed = host(
        tmp.path(),
        &[
            "run",
            wf.to_str().unwrap(),
            "--resume",
            partial.to_str().unwrap(),
        ],
    );
    assert!(resumed.status.success(), "{}", text(&resumed.stderr));
    assert!(
        text(&resumed.stderr).contains("resumed"),
        "{}",
        text(&resumed.stderr)
    );
    assert_eq!(estimates(&full_dir), estimates(&partial));
}

#[test]
fn ctrl_c_stops_cleanly_and_resume_finishes() {
    let tmp = tempfile::tempdir().unwrap();
    let fault = crate::support::library("lrdbench_fault_plugin");
    let wf = tmp.path().join("slow.toml");
    std::fs::write(
        &wf,
        "[workflow]\nname = \"slow\"\n[[data]]\nvalues = [1.0, 2.0, 3.0, 4.0]\ntruth = { H = 0.5 }\n\
         [[estimator]]\nname = \"fault_slow\"\nparams = { seconds = 0.2 }\n[estimator.variants]\n\
         a = { seconds = 0.21 }\nb = { seconds = 0.22 }\nc = { seconds = 0.23 }\nd = { seconds = 0.24 }\n\
         e = { seconds = 0.25 }\nf = { seconds = 0.26 }\ng = { seconds = 0.27 }\n",
    )
    .unwrap();
    let out_dir = tmp.path().join("runs");
    let child = Command::new(host_binary())
        .args([
            "--plugin",
            fault.to_str().unwrap(),
            "run",
            wf.to_str().unwrap(),
            "--threads",
            "1",
        ])
        .args(["--out", out_dir.to_str().unwrap()])
        .env("LRDBENCH_HOME", tmp.path())
        .env("LRDBENCH_ANALYTICS", "0")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt once the first cell is in the journal (the machine may be slow to start it).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let first_cell_done = || {
        std::fs::read_dir(&out_dir)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| {
                std::fs::read_to_string(e.path().join("cells.jsonl"))
                    .is_ok_and(|t| t.lines().count() >= 1)
            })
    };
    while !first_cell_done() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // SAFETY: kill(2) on a child we own.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    let dir = run_dir_of(&out);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["status"], "interrupted");
    let done = manifest["cells_done"].as_u64().unwrap();
    assert!((1..8).contains(&done), "{done} cells done before the stop");
    let resumed = host(
        tmp.path(),
        &[
            "--plugin",
            fault.to_str().unwrap(),
            "run",
            wf.to_str().unwrap(),
            "--resume",
            dir.to_str().unwrap(),
        ],
    );
    assert!(resumed.status.success(), "{}", text(&resumed.stderr));
    assert_eq!(estimates(&dir).len(), 8);
}

fn validate_error(body: &str) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let wf = tmp.path().join("w.toml");
    std::fs::write(&wf, body).unwrap();
    let out = host(tmp.path(), &["validate", wf.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let e = text(&out.stderr);
    assert_eq!(e.trim().lines().count(), 1, "one-line error: {e}");
    e
}

const HEAD: &str = "[workflow]\nname = \"w\"\n[[data]]\nmodel = \"fgn\"\nlengths = [512]\n";

#[test]
fn validate_malformed_toml_names_the_line() {
    let e = validate_error("[workflow]\nname = \"w\"\nseed = = 1\n");
    assert!(e.contains("w.toml:3:"), "{e}");
}

#[test]
fn validate_unknown_estimator_lists_valid_ones() {
    let e = validate_error(&format!("{HEAD}[[estimator]]\nname = \"dfx\"\n"));
    assert!(
        e.contains("w.toml:7:") && e.contains("unknown estimator `dfx`") && e.contains("dfa"),
        "{e}"
    );
}

#[test]
fn validate_misspelt_parameter_lists_valid_ones() {
    let e = validate_error(&format!(
        "{HEAD}[[estimator]]\nname = \"dfa\"\nparams = {{ ordr = 2 }}\n"
    ));
    assert!(
        e.contains("w.toml:8:") && e.contains("no parameter `ordr`") && e.contains("order"),
        "{e}"
    );
}

#[test]
fn validate_unknown_key_is_an_error() {
    let e = validate_error(&format!(
        "{HEAD}[[estimator]]\nname = \"dfa\"\nparmas = {{ order = 2 }}\n"
    ));
    assert!(e.contains("w.toml:8:") && e.contains("parmas"), "{e}");
}

#[test]
fn validate_out_of_range_model_parameter_is_located() {
    let e = validate_error("[workflow]\nname = \"w\"\n[[data]]\nmodel = \"fgn\"\nparams = { H = [0.5, 1.5] }\nlengths = [512]\n[[estimator]]\nname = \"dfa\"\n");
    assert!(e.contains("w.toml:5:") && e.contains("1.5"), "{e}");
}

#[test]
fn dry_run_prints_the_plan() {
    let tmp = tempfile::tempdir().unwrap();
    let out = host(
        tmp.path(),
        &[
            "run",
            workspace_root()
                .join("workflows/pipeline.toml")
                .to_str()
                .unwrap(),
            "--dry-run",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.contains("40 series") && s.contains("cells"), "{s}");
}

#[test]
fn the_stress_example_exits_0_and_reports_by_contamination() {
    let tmp = tempfile::tempdir().unwrap();
    let wf = reduced("stress.toml", tmp.path());
    let out_dir = tmp.path().join("runs");
    let out = host(
        tmp.path(),
        &[
            "run",
            wf.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let html = std::fs::read_to_string(run_dir_of(&out).join("report.html")).unwrap();
    let table = &html[html.find("<h2>By contamination</h2>").expect("the table")..];
    let header = &table[..table.find("</tr>").unwrap()];
    assert!(
        header.find("<th>clean</th>").unwrap() < header.find("<th>trend").unwrap(),
        "clean first: {header}"
    );
    assert!(header.contains("<th>missing"), "{header}");
    assert!(table.contains("<td>dfa</td>"), "{table}");
}
