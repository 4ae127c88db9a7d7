//! `compare` end to end: real runs of real plugins, compared cell by cell. The estimator made
//! worse or slower on purpose is the fault plugin's `fault_shift` (a lag-one estimate of H,
//! plus `shift`, after `sleep_ms`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::{host_binary, library};

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

/// A workflow of fGn at H 0.5–0.8, n = 256, 5 replicates (20 series), with `dfa` and
/// `fault_shift` at the given parameters, writing into `out`.
fn workflow(dir: &Path, name: &str, shift: f64, sleep_ms: f64, out: &Path) -> PathBuf {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(
        &path,
        format!(
            "[workflow]\nname = \"cmp\"\nseed = 22\n\n[[data]]\nmodel = \"fgn\"\n\
             params = {{ H = [0.1, 0.2, 0.3, 0.4] }}\nlengths = [256]\nreplicates = 5\n\n\
             [[estimator]]\nname = \"dfa\"\n\n[[estimator]]\nname = \"fault_shift\"\n\
             params = {{ shift = {shift}, sleep_ms = {sleep_ms} }}\n\n\
             [execution]\nthreads = 2\n\n[output]\ndir = \"{}\"\n",
            out.display()
        ),
    )
    .unwrap();
    path
}

fn run(store: &Path, file: &Path, extra: &[&str]) -> (PathBuf, String) {
    let fault = library("lrdbench_fault_plugin");
    let mut args = vec![
        "--plugin",
        fault.to_str().unwrap(),
        "run",
        file.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = host(store, &args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let dir = PathBuf::from(text(&out.stdout).lines().last().unwrap().trim());
    (dir, text(&out.stderr))
}

fn compare(store: &Path, args: &[&str]) -> (Option<i32>, serde_json::Value, String) {
    let mut all = vec!["compare"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let out = host(store, &all);
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code(), json, text(&out.stderr))
}

fn row<'a>(c: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    c["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["estimator"] == name)
        .unwrap_or_else(|| panic!("no row {name} in {c}"))
}

fn verdict(c: &serde_json::Value, name: &str, metric: &str) -> String {
    row(c, name)["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == metric)
        .unwrap()["verdict"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn two_runs_of_the_same_plugins_are_identical_row_by_row() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let wf = workflow(tmp.path(), "same", 0.0, 0.0, &runs);
    let (a, _) = run(tmp.path(), &wf, &[]);
    let (b, stderr) = run(tmp.path(), &wf, &[]);
    // The second run compared itself with the first: no result changed, so no accuracy line
    // (a runtime line could appear on a loaded machine: times are not results).
    for line in stderr
        .lines()
        .filter(|l| l.starts_with("regression against"))
    {
        assert!(line.contains(" runtime "), "between identical runs: {line}");
    }
    let (code, c, err) = compare(
        tmp.path(),
        &[
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            "--fail-on",
            "accuracy,coverage,validity",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(c["plan"]["matched"], 40);
    for r in c["rows"].as_array().unwrap() {
        assert_eq!(r["identical"], true, "{r}");
    }
    // `latest` / `previous`, found in the runs directory through the workflow file.
    let (code, c2, err) = compare(
        tmp.path(),
        &["previous", "latest", "--workflow", wf.to_str().unwrap()],
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(c2["base"]["dir"], c["base"]["dir"]);
    assert_eq!(c2["new"]["dir"], c["new"]["dir"]);
}

/// Welch's unpaired 95% interval of mean(new) − mean(old) of absolute errors.
fn welch(new: &[f64], old: &[f64]) -> (f64, f64) {
    let m = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let var = |v: &[f64]| {
        let mu = m(v);
        v.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / (v.len() - 1) as f64
    };
    let (va, vb) = (var(new) / new.len() as f64, var(old) / old.len() as f64);
    let se = (va + vb).sqrt();
    // 20 + 20 values: t(0.975, ≥ 19 df) ≤ 2.093.
    let d = m(new) - m(old);
    (d - 2.093 * se, d + 2.093 * se)
}

fn abs_errors(run: &Path, row: &str) -> Vec<f64> {
    let mut r = csv::Reader::from_path(run.join("estimates.csv")).unwrap();
    let h = r.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let (variant, value, truth) = (col("variant"), col("value"), col("truth"));
    r.records()
        .map(|x| x.unwrap())
        .filter(|x| &x[variant] == row)
        .map(|x| {
            let t: f64 = x[truth].trim_start_matches("H=").parse().unwrap();
            (x[value].parse::<f64>().unwrap() - t).abs()
        })
        .collect()
}

#[test]
fn a_shift_of_one_hundredth_is_a_paired_mae_regression_an_unpaired_test_misses() {
    // BASE over-estimates by 0.3, over 3 SD of the lag-one estimate at n = 256, so every error
    // is positive; NEW by 0.31:
    // the estimate moved by +0.01 in every cell.
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let (base, _) = run(
        tmp.path(),
        &workflow(tmp.path(), "base", 0.3, 0.0, &runs),
        &[],
    );
    let (new, stderr) = run(
        tmp.path(),
        &workflow(tmp.path(), "new", 0.31, 0.0, &runs),
        &[],
    );
    assert!(
        stderr.contains("fault_shift mae +0.0"),
        "run did not report the MAE regression:\n{stderr}"
    );
    let (b, n) = (base.to_str().unwrap(), new.to_str().unwrap());
    let (code, c, err) = compare(tmp.path(), &[b, n, "--fail-on", "accuracy"]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(verdict(&c, "fault_shift", "mae"), "regressed", "{c}");
    assert_eq!(verdict(&c, "fault_shift", "bias"), "regressed", "{c}");
    assert_eq!(row(&c, "dfa")["identical"], true);
    let params = c["plan"]["parameters"][0].as_str().unwrap();
    assert!(
        params.starts_with("fault_shift: shift=0.3") && params.contains("→ shift=0.31"),
        "{params}"
    );
    // The same absolute errors compared unpaired: the 20 series' own spread hides the change.
    let (lo, hi) = welch(
        &abs_errors(&new, "fault_shift"),
        &abs_errors(&base, "fault_shift"),
    );
    assert!(
        lo < 0.0 && 0.0 < hi,
        "unpaired interval [{lo}, {hi}] excludes 0"
    );
    let mae = &row(&c, "fault_shift")["metrics"][0]["change"];
    assert!(mae["low"].as_f64().unwrap() > 0.0, "{mae}");
    // Within a wide enough tolerance it passes; coverage is not asked about.
    let tol = "mae=0.05,bias=0.05,rmse=0.05";
    let (code, _, err) = compare(
        tmp.path(),
        &[b, n, "--fail-on", "accuracy", "--tolerance", tol],
    );
    assert_eq!(code, Some(0), "{err}");
    let (code, _, err) = compare(tmp.path(), &[b, n, "--fail-on", "coverage"]);
    assert_eq!(code, Some(0), "{err}");
    // Markdown, JSON and HTML with its charts.
    let out = tmp.path().join("cmp");
    let o = host(
        tmp.path(),
        &[
            "compare",
            b,
            n,
            "--format",
            "md,json,html",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let md = std::fs::read_to_string(out.join("compare.md")).unwrap();
    assert!(md.contains("❌") && md.lines().count() < 40, "{md}");
    let html = std::fs::read_to_string(out.join("compare.html")).unwrap();
    assert!(
        html.matches("<svg").count() >= 3,
        "runtime chart and two error charts"
    );
    assert!(out.join("compare.json").is_file());
}

#[test]
fn a_much_slower_plugin_is_a_runtime_regression() {
    // 20 ms of sleep against a call of microseconds: the ratio is in the hundreds whatever
    // the machine's load, far beyond the 1.10 tolerance.
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let (base, _) = run(
        tmp.path(),
        &workflow(tmp.path(), "fast", 0.0, 0.0, &runs),
        &[],
    );
    let slow = workflow(tmp.path(), "slow", 0.0, 20.0, &runs);
    let (_, quiet) = run(tmp.path(), &slow, &["--no-compare"]);
    assert!(!quiet.contains("regression"), "{quiet}");
    let (new, stderr) = run(tmp.path(), &slow, &[]);
    // Compared with the previous complete run: the slow one, so no runtime line.
    assert!(!stderr.contains("fault_shift runtime"), "{stderr}");
    let (b, n) = (base.to_str().unwrap(), new.to_str().unwrap());
    let (code, c, err) = compare(tmp.path(), &[b, n, "--fail-on", "runtime"]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(verdict(&c, "fault_shift", "runtime"), "regressed");
    assert_eq!(
        row(&c, "fault_shift")["identical"],
        true,
        "slower, same results"
    );
    let (code, _, err) = compare(tmp.path(), &[b, n, "--fail-on", "accuracy"]);
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn bad_arguments_are_usage_errors_with_one_clear_line() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let e = empty.to_str().unwrap();
    for (args, says) in [
        (
            vec!["compare", "previous", "latest", "--runs", e],
            "no complete run in",
        ),
        (vec!["compare", e, e], "not a run directory"),
        (
            vec!["compare", e, e, "--tolerance", "speed=2"],
            "unknown metric `speed`",
        ),
        (
            vec!["compare", e, e, "--fail-on", "speed"],
            "unknown `speed`",
        ),
        (vec!["compare", e, e, "--format", "html"], "needs --out"),
    ] {
        let o = host(tmp.path(), &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o.stderr));
        let err = text(&o.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}

#[test]
fn the_performance_report_lists_a_row_made_slower_between_two_runs() {
    // Recording on: the store's calls carry run, workflow and cell, so the report pairs the
    // two runs' cells without their directories.
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let fault = library("lrdbench_fault_plugin");
    let recorded = |file: &Path| {
        let o = Command::new(host_binary())
            .args([
                "--plugin",
                fault.to_str().unwrap(),
                "run",
                file.to_str().unwrap(),
            ])
            .env("LRDBENCH_HOME", tmp.path())
            .env_remove("LRDBENCH_ANALYTICS")
            .env_remove("DO_NOT_TRACK")
            .env_remove("LRDBENCH_PLUGIN_PATH")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o.stderr));
    };
    recorded(&workflow(tmp.path(), "fast", 0.0, 0.0, &runs));
    recorded(&workflow(tmp.path(), "slow", 0.0, 20.0, &runs));
    let out = tmp.path().join("reports");
    let o = Command::new(host_binary())
        .args([
            "report",
            "performance",
            "--format",
            "md",
            "--out",
            out.to_str().unwrap(),
        ])
        .env("LRDBENCH_HOME", tmp.path())
        .env_remove("LRDBENCH_ANALYTICS")
        .env_remove("DO_NOT_TRACK")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let md = std::fs::read_to_string(out.join("performance_report.md")).unwrap();
    let section = &md[md.find("## Regressions").expect("a Regressions section")..];
    let line = section
        .lines()
        .find(|l| l.contains("fault\\_shift") || l.contains("fault_shift"))
        .unwrap_or_else(|| panic!("no fault_shift regression:\n{section}"));
    assert!(line.contains('×'), "{line}");
}
