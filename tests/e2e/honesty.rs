//! Honest answers through the CLI: the Whittle misfit warning, `arfima_whittle`, and the
//! agreement line that closes `estimate`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

use lrdbench_plugin_api::{ComponentKind, Param, ParamValue};
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

/// The standard estimator plugins and the models plugin, loaded in-process.
fn standard_catalog() -> lrdbench_host::plugin::Catalog {
    let mut catalog = lrdbench_host::plugin::Catalog::default();
    for lib in [
        "lrdbench_plugin_temporal",
        "lrdbench_plugin_geometric",
        "lrdbench_plugin_spectral",
        "lrdbench_plugin_wavelet",
        "lrdbench_plugin_multifractal",
        "lrdbench_plugin_models",
    ] {
        let plugin = lrdbench_host::plugin::load_plugin(&crate::support::library(lib))
            .unwrap_or_else(|e| panic!("{lib}: {e}"));
        catalog.add(plugin);
    }
    catalog
}

fn param(name: &str, value: ParamValue) -> Param {
    Param {
        name: name.into(),
        value,
    }
}

/// Series per kind in [`no_confident_wrong_answer_without_a_warning`].
const SERIES: usize = 30;

/// The estimators that meet the cover-or-warn property on short-memory series at n = 4096
/// (`cargo run --example misfit -- --n 4096`, 200 series per cell: 0.91–1.00 on AR(1) φ = 0.5
/// and ARFIMA(1, 0.2, 0) φ = 0.5). The others do not yet: the local-slope test is live for
/// them and keeps its false-alarm budget, but its power on these series is low (dfa, aggvar,
/// absmom under 0.3 on AR(1)), so they are held to the fGn false-alarm bound only.
const COVER_OR_WARN: [&str; 6] = [
    "higuchi",
    "ghe",
    "periodogram",
    "gph",
    "whittle",
    "arfima_whittle",
];

/// The property at n = 4096, on few series: on exact fGn at most 10% of every
/// estimator's default results warn, and on short-memory contaminated series (AR(1) φ = 0.5,
/// true H = 0.5; ARFIMA(1, 0.2, 0) φ = 0.5, true H = 0.7) the results of the estimators of
/// [`COVER_OR_WARN`] cover the truth or warn.
///
/// Tolerances, from the number of series (30 per kind; each count is binomial): the property
/// asked for is a share ≥ 0.90 (cover-or-warn) and ≤ 0.10 (warned on fGn). A count fails at
/// 22 or fewer (resp. 9 or more), what a share of 0.75 (resp. 0.30) gives about half the
/// time. A true share at the target passes with probability above 0.99 per count
/// (P(Bin(30, 0.9) ≤ 22) = 0.008; P(Bin(30, 0.1) ≥ 9) = 0.002), and an estimator confidently
/// wrong on half the series fails with probability 0.997 (P(Bin(30, 0.5) ≥ 23) = 0.003).
/// The seeds are fixed, so the outcome is deterministic; the bounds say how far it is from
/// chance. The full-size measurement is `examples/misfit.rs`.
#[test]
fn no_confident_wrong_answer_without_a_warning() {
    let catalog = standard_catalog();
    let estimators: Vec<_> = catalog
        .components()
        .filter(|c| c.descriptor.kind == ComponentKind::Estimator)
        .map(|c| {
            let p = c.resolve(&[]).unwrap();
            (c, p)
        })
        .collect();
    assert!(estimators.len() >= 16, "{} estimators", estimators.len());
    // (model, parameters, true H, contaminated by short memory)
    let kinds: [(&str, Vec<Param>, f64, bool); 4] = [
        ("fgn", vec![param("H", ParamValue::Float(0.3))], 0.3, false),
        ("fgn", vec![param("H", ParamValue::Float(0.8))], 0.8, false),
        ("ar1", vec![param("phi", ParamValue::Float(0.5))], 0.5, true),
        (
            "arfima",
            vec![
                param("d", ParamValue::Float(0.2)),
                param("ar", ParamValue::List(vec![0.5].into())),
            ],
            0.7,
            true,
        ),
    ];
    let mut failures = Vec::new();
    for (k, (model, given, h, contaminated)) in kinds.iter().enumerate() {
        let m = catalog.find(model, ComponentKind::Model).unwrap();
        let params = m.resolve(given).unwrap();
        // Per estimator: (covered or warned or refused, warned).
        let mut counts = vec![(0usize, 0usize); estimators.len()];
        for r in 0..SERIES {
            let seed = 7_000 + 100 * k as u64 + r as u64;
            let x = m.generate(4096, seed, &params).unwrap().values.to_vec();
            for (e, (c, p)) in estimators.iter().enumerate() {
                let Ok(est) = c.estimate(&x, p) else {
                    // A refusal is not a confident answer.
                    counts[e].0 += 1;
                    continue;
                };
                let truth = if &*est.estimand == "d" { h - 0.5 } else { *h };
                let warned = !est.warnings.is_empty();
                let covers = est
                    .ci
                    .into_option()
                    .is_some_and(|ci| ci.low <= truth && truth <= ci.high);
                counts[e].0 += usize::from(warned || covers);
                counts[e].1 += usize::from(warned);
            }
        }
        for ((c, _), (good, warned)) in estimators.iter().zip(&counts) {
            let label = format!("{} on {model} {h}", c.name());
            let held = COVER_OR_WARN.contains(&c.name());
            if *contaminated && held && *good <= 22 {
                failures.push(format!("{label}: cover-or-warn {good}/{SERIES}"));
            }
            if !contaminated && *warned >= 9 {
                failures.push(format!("{label}: warned {warned}/{SERIES} on exact fGn"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
