//! `generate`: CSV shape, seeds, agreement with the model kernels, contaminations, and one-line
//! errors for bad input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

use lrdbench_plugin_models::cache::Plans;
use lrdbench_plugin_models::kernel::{fgn, FgnConfig};

use crate::support::host_binary;

fn host(args: &[&str]) -> Output {
    let store = tempfile::tempdir().expect("tempdir");
    Command::new(host_binary())
        .args(args)
        .env("LRDBENCH_HOME", store.path())
        .env("LRDBENCH_ANALYTICS", "0")
        .env_remove("LRDBENCH_PLUGIN_PATH")
        .output()
        .expect("host runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Header and columns of a CSV as written by `generate`.
fn parse(csv: &str) -> (Vec<String>, Vec<Vec<f64>>) {
    let mut lines = csv.lines();
    let header: Vec<String> = lines
        .next()
        .expect("header")
        .split(',')
        .map(str::to_string)
        .collect();
    let mut cols = vec![Vec::new(); header.len()];
    for line in lines {
        for (c, v) in cols.iter_mut().zip(line.split(',')) {
            c.push(v.parse::<f64>().expect("number"));
        }
    }
    (header, cols)
}

#[test]
fn generate_one_series_matches_the_model_kernel_bit_for_bit() {
    let out = host(&[
        "generate", "fgn", "--param", "H=0.8", "--length", "1000", "--seed", "42",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (header, cols) = parse(&stdout(&out));
    assert_eq!(header, ["value"]);
    let want = fgn(&FgnConfig { h: 0.8, sigma: 1.0 }, 1000, 42, &Plans::new()).unwrap();
    // Shortest round-trip printing: the parsed text is the same f64.
    assert_eq!(cols[0], want);
}

#[test]
fn generate_replicates_are_columns_each_reproducible_alone() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.csv");
    let out = host(&[
        "generate",
        "arfima",
        "-p",
        "d=0.3",
        "-p",
        "ar=0.5",
        "-n",
        "300",
        "-s",
        "5",
        "-r",
        "3",
        "--out",
        file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    let (header, cols) = parse(&std::fs::read_to_string(&file).unwrap());
    assert_eq!(header, ["seed_5", "seed_6", "seed_7"]);
    assert!(cols.iter().all(|c| c.len() == 300));
    assert_ne!(cols[0], cols[1]);
    let alone = host(&[
        "generate", "arfima", "-p", "d=0.3", "-p", "ar=0.5", "-n", "300", "-s", "6",
    ]);
    assert_eq!(parse(&stdout(&alone)).1[0], cols[1]);
    // The declared truth goes to standard error.
    assert!(
        stderr(&out).contains("H = 0.8, d = 0.3"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn generate_applies_contaminations_in_order() {
    let clean = parse(&stdout(&host(&[
        "generate",
        "white_noise",
        "-n",
        "200",
        "-s",
        "1",
    ])))
    .1;
    let stepped = host(&[
        "generate",
        "white_noise",
        "-n",
        "200",
        "-s",
        "1",
        "-c",
        "step:position=0.5,size=2",
    ]);
    assert!(stepped.status.success(), "{}", stderr(&stepped));
    let stepped = parse(&stdout(&stepped)).1;
    let diff: Vec<f64> = stepped[0]
        .iter()
        .zip(&clean[0])
        .map(|(a, b)| a - b)
        .collect();
    assert!(diff[..100].iter().all(|d| d.abs() < 1e-12));
    let size = diff[100];
    assert!(size > 1.0 && diff[100..].iter().all(|d| (d - size).abs() < 1e-12));

    let gaps = host(&["generate", "fgn", "-n", "50", "-c", "missing:rate=1"]);
    assert!(gaps.status.success(), "{}", stderr(&gaps));
    assert!(parse(&stdout(&gaps)).1[0].iter().all(|v| v.is_nan()));
    let filled = host(&[
        "generate",
        "fgn",
        "-n",
        "50",
        "-c",
        "missing:rate=0.3,fill=linear",
    ]);
    assert!(parse(&stdout(&filled)).1[0].iter().all(|v| v.is_finite()));
}

#[test]
fn generate_bad_input_is_one_line_naming_the_valid_range() {
    let cases: [(&[&str], &str); 8] = [
        (
            &["generate", "fgn", "-p", "H=1.2", "-n", "10"],
            "between 0 and 1",
        ),
        (
            &["generate", "fgn", "-p", "H=1", "-n", "10"],
            "must be in (0, 1)",
        ),
        (
            &["generate", "arfima", "-p", "d=0.5", "-n", "10"],
            "(-0.5, 0.5)",
        ),
        (
            &["generate", "fgnx", "-n", "10"],
            "valid: ar1, arfima, fbm, fgn",
        ),
        (
            &["generate", "fgn", "-p", "hurst=0.3", "-n", "10"],
            "valid: H, sigma",
        ),
        (
            &["generate", "fgn", "-n", "10", "-c", "trnd"],
            "valid: trend, outliers",
        ),
        (
            &["generate", "fgn", "-n", "10", "-c", "trend:order=9"],
            "between 1 and 3",
        ),
        (&["generate", "fgn", "-n", "1125899906842624"], "MiB"),
    ];
    for (args, needle) in cases {
        let out = host(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error")).collect();
        assert_eq!(lines.len(), 1, "{args:?}: {err}");
        assert!(
            lines[0].contains(needle),
            "{args:?}: `{}` lacks `{needle}`",
            lines[0]
        );
        assert!(stdout(&out).is_empty(), "{args:?}");
    }
    // n = 0 is a usage error.
    let out = host(&["generate", "fgn", "-n", "0"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}
