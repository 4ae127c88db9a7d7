//! Honest answers through the CLI: the Whittle misfit warning, `arfima_whittle`, and the
//! agreement line that closes `estimate`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

use serde_json::Value;

use crate::support::host_binary;

fn host(store: &std::path::Path, args: &[&str]) -> Output {
    Command::new(host_binary())
        .args(args)
        .env("LRDBENCH_HOME", store)
        .env("LRDBENCH_ANALYTICS", "0")
        .env_remove("LRDBENCH_PLUGIN_PATH")
        .output()
        .expect("host runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A generated series written to `dir/name.csv`.
fn generated(dir: &std::path::Path, name: &str, model: &str, params: &[&str]) -> String {
    let path = dir.join(format!("{name}.csv"));
    let mut args = vec!["generate", model, "--length", "4096", "--seed", "1"];
    for p in params {
        args.extend(["--param", p]);
    }
    args.extend(["--out", path.to_str().unwrap()]);
    let out = host(dir, &args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    path.to_str().unwrap().to_string()
}

fn row<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["estimates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["estimator"] == name)
        .unwrap_or_else(|| panic!("{name} missing: {doc}"))
}

#[test]
fn short_memory_is_flagged_and_arfima_whittle_reports_d() {
    let dir = tempfile::tempdir().unwrap();
    let ar1 = generated(dir.path(), "ar1", "ar1", &["phi=0.5"]);
    let out = host(
        dir.path(),
        &[
            "estimate",
            &ar1,
            "-e",
            "whittle,local_whittle,arfima_whittle",
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    // AR(1), φ = 0.5, n = 4096: the fGn fit is rejected (power 100% in the kernel's
    // calibration at this length), and the warning names the alternatives.
    let warnings = row(&doc, "whittle")["warnings"].to_string();
    assert!(warnings.contains("fGn spectrum is rejected"), "{warnings}");
    assert!(warnings.contains("arfima_whittle"), "{warnings}");
    let arfima = row(&doc, "arfima_whittle");
    assert_eq!(arfima["estimand"], "d");
    assert!(arfima["ci_low"].as_f64().unwrap() < arfima["ci_high"].as_f64().unwrap());
    // The agreement compares all three (d as d + 1/2); whittle's fGn answer (about 0.87)
    // is far from local_whittle's and arfima_whittle's, so the verdict names whittle.
    let agree = &doc["agreement"];
    assert_eq!(agree["compared"].as_array().unwrap().len(), 3, "{agree}");
    assert_eq!(agree["pairs"], 3);
    assert_eq!(agree["consistent"], false, "{agree}");
    assert!(agree["disagreeing"].to_string().contains("whittle"));
}

#[test]
fn estimate_table_ends_with_the_agreement_line() {
    let dir = tempfile::tempdir().unwrap();
    let fgn = generated(dir.path(), "fgn", "fgn", &["H=0.7"]);
    let out = host(
        dir.path(),
        &["estimate", &fgn, "-e", "whittle,local_whittle,gph"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let last = stdout.trim_end().lines().last().unwrap();
    assert!(last.starts_with("agreement: "), "{stdout}");
    assert!(
        last.contains("3 estimates") || last.contains("INCONSISTENT"),
        "{last}"
    );
    // Exact fGn: no misfit warning from whittle on this series.
    assert!(!stdout.contains("fGn spectrum is rejected"), "{stdout}");
}
