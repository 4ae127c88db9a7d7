//! Accuracy, coverage and bad-input behaviour of the geometric estimators, through the same
//! entry point the host calls (`lrdbench_registry().estimate`), on exact fGn of known H.
//!
//! Peer bounds are the lrdbench 2.0 MAE values of `docs/peer-measurements.md`,
//! section 2 (20 seeds × H ∈ {0.2, 0.3, 0.5, 0.7, 0.8, 0.9}, n = 4096, exact fGn).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lrdbench_numerics::fgn::DaviesHarte;
use lrdbench_plugin_api::{ErrorKind, Estimate, ParamValue, PluginError};
use lrdbench_plugin_geometric::lrdbench_registry;

use lrdbench_test_kit as fgn_grid;
use lrdbench_test_kit::N;

/// 30 seeds per H (the issue asks for at least 20): 180 series per estimator.
const SEEDS: u64 = 30;

fn call(name: &str, x: &[f64], params: &[(&str, ParamValue)]) -> Result<Estimate, PluginError> {
    fgn_grid::call(lrdbench_registry(), name, x, params)
}

/// (MAE, coverage of the reported interval) over the fGn grid.
fn score(name: &str, params: &[(&str, ParamValue)], seeds: u64) -> (f64, f64) {
    fgn_grid::score(lrdbench_registry(), name, params, seeds)
}

#[test]
fn higuchi_mae_beats_lrdbench_higuchi_increments() {
    // Peer: lrdbench Higuchi[increments] MAE 0.024.
    assert!(score("higuchi", &[], SEEDS).0 <= 0.024);
}

#[test]
fn ghe_mae_beats_lrdbench_ghe_increments() {
    // Peer: lrdbench GHE[increments] MAE 0.028.
    assert!(score("ghe", &[], SEEDS).0 <= 0.028);
}

#[test]
fn path_input_of_cumulated_fgn_gives_the_same_h() {
    // Reading fBm (the cumulative sum of fGn) with input = path must give what the fGn gives
    // with input = increments: the increments are recovered exactly up to rounding (1e-9).
    let x = DaviesHarte::new(0.7, N).unwrap().sample(4);
    let mut path = vec![0.0];
    path.extend(lrdbench_numerics::prefix::profile(&x));
    for name in ["higuchi", "ghe"] {
        let a = call(name, &x, &[]).unwrap().value;
        let b = call(name, &path, &[("input", ParamValue::Str("path".into()))])
            .unwrap()
            .value;
        assert!((a - b).abs() < 1e-9, "{name}: {a} vs {b}");
        // The wrong representation is not silently accepted as right: fGn read as a path
        // gives an H near 0, far from 0.7.
        let wrong = call(name, &x, &[("input", ParamValue::Str("path".into()))])
            .unwrap()
            .value;
        assert!(wrong < 0.2, "{name}: {wrong}");
    }
}

#[test]
fn higuchi_bootstrap_interval_covers_truth() {
    // As for dfa: 120 intervals at 95%, binomial sd 0.02; 0.88 is 3.5 sd below nominal.
    let params = [
        ("ci", ParamValue::Str("bootstrap".into())),
        ("seed", ParamValue::Int(3)),
    ];
    let (_, cov) = score("higuchi", &params, 20);
    assert!(cov >= 0.88, "bootstrap coverage {cov}");
}

#[test]
fn every_estimator_rejects_bad_input_with_typed_errors() {
    let good = DaviesHarte::new(0.7, 1024).unwrap().sample(1);
    for name in ["higuchi", "ghe"] {
        let mut nan = good.clone();
        nan[17] = f64::NAN;
        assert_eq!(
            call(name, &nan, &[]).unwrap_err().kind,
            ErrorKind::InvalidInput
        );
        assert_eq!(
            call(name, &[1.5; 500], &[]).unwrap_err().kind,
            ErrorKind::InvalidInput
        );
        assert_eq!(
            call(name, &good[..10], &[]).unwrap_err().kind,
            ErrorKind::InsufficientData
        );
        assert_eq!(
            call(name, &[], &[]).unwrap_err().kind,
            ErrorKind::InsufficientData
        );
        // A straight-line path has no roughness.
        let line: Vec<f64> = (0..500).map(|i| i as f64).collect();
        let e = call(name, &line, &[("input", ParamValue::Str("path".into()))]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidInput, "{name}: {e}");
        let e = call(name, &good, &[("input", ParamValue::Str("fbm".into()))]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Parameter);
    }
    let e = call("ghe", &good, &[("q", ParamValue::Float(-1.0))]).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Parameter);
}

#[test]
fn estimates_carry_fit_and_interval() {
    let x = DaviesHarte::new(0.7, N).unwrap().sample(3);
    for name in ["higuchi", "ghe"] {
        let e = call(name, &x, &[]).unwrap();
        let fit = e.fit.clone().unwrap();
        assert!(
            fit.x.len() >= 4 && fit.x.len() == fit.fitted.len(),
            "{name}"
        );
        assert!(e.r_squared.unwrap() > 0.9, "{name}");
        let ci = e.ci.unwrap();
        assert!(ci.low < e.value && e.value < ci.high);
    }
}

/// The default interval is calibrated (see `fgn_grid::assert_calibrated` for the tolerances).
#[test]
fn default_intervals_are_calibrated_on_fgn() {
    fgn_grid::assert_calibrated(lrdbench_registry(), "higuchi");
    fgn_grid::assert_calibrated(lrdbench_registry(), "ghe");
}
