//! Accuracy, coverage and bad-input behaviour of `mfdfa`, through the same
//! entry point the host calls (`lrdbench_registry().estimate`), on exact fGn of known H.
//!
//! Peer bounds are the lrdbench 2.0 MAE values of `docs/peer-measurements.md`,
//! section 2 (20 seeds × H ∈ {0.2, 0.3, 0.5, 0.7, 0.8, 0.9}, n = 4096, exact fGn).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lrdbench_numerics::fgn::DaviesHarte;
use lrdbench_plugin_api::{ErrorKind, Estimate, ParamValue, PluginError};
use lrdbench_plugin_multifractal::lrdbench_registry;

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
fn mfdfa_mae_beats_mfdfa_package_at_q_two() {
    // Peer: the MFDFA package (0.4.3) at q = 2 on lrdbench's ladder, MAE 0.025.
    assert!(score("mfdfa", &[], SEEDS).0 <= 0.025);
    // The unweighted fit is the peer's method; no bound, printed for the report.
    score("mfdfa", &[("fit", ParamValue::Str("ols".into()))], SEEDS);
}

fn diagnostic(e: &Estimate, name: &str) -> Vec<f64> {
    e.diagnostics
        .iter()
        .find(|d| d.name == name)
        .map(|d| d.values.to_vec())
        .unwrap()
}

#[test]
fn mfdfa_h_two_equals_dfa_on_the_same_ladder() {
    // Both go through the shared detrended-fluctuation core; F_2 is exactly DFA's F, so the
    // two must agree to rounding (1e-12).
    use lrdbench_numerics::fluctuation::{Order, Segments};
    use lrdbench_plugin_multifractal::kernel::mfdfa::{mfdfa, MfdfaConfig};
    let x = DaviesHarte::new(0.7, N).unwrap().sample(2);
    let cfg = MfdfaConfig {
        q: vec![2.0],
        order: Order::new(1).unwrap(),
        min_scale: 16,
        max_scale: None,
        ratio: 1.25,
        segments: Segments::Forward,
        fit: lrdbench_numerics::scaling::FitWeights::Equal,
        level: 0.95,
    };
    let h2 = mfdfa(&x, &cfg).unwrap().fits[0].h;
    // DFA by hand from the same core: F(s) = sqrt(mean F²(v, s)).
    let det = lrdbench_numerics::fluctuation::Detrender::new(
        lrdbench_numerics::prefix::profile(&x),
        Order::new(1).unwrap(),
    );
    let (mut lx, mut ly) = (Vec::new(), Vec::new());
    for s in lrdbench_numerics::ladder::geometric(16, N / 4, 1.25).unwrap() {
        let mut b = Vec::new();
        det.box_variances(s, Segments::Forward, &mut b);
        lx.push((s as f64).ln());
        ly.push(0.5 * (b.iter().sum::<f64>() / b.len() as f64).ln());
    }
    let dfa = lrdbench_numerics::regression::ols(&lx, &ly).unwrap().slope;
    assert!((h2 - dfa).abs() < 1e-12, "{h2} vs {dfa}");
}

#[test]
fn mfdfa_spectrum_of_fgn_is_flat_and_reported() {
    // fGn is monofractal: h(q) ≈ H for every q. At n = 4096 the spread over q in [-3, 3]
    // stays within 0.15 (negative q are dominated by a few boxes of small variance).
    let x = DaviesHarte::new(0.6, N).unwrap().sample(8);
    let e = call("mfdfa", &x, &[]).unwrap();
    let q = diagnostic(&e, "q");
    let h = diagnostic(&e, "h(q)");
    assert_eq!(q.len(), h.len());
    let i2 = q.iter().position(|v| *v == 2.0).unwrap();
    assert_eq!(h[i2], e.value);
    for (qi, hi) in q.iter().zip(&h) {
        if qi.abs() <= 3.0 {
            assert!((hi - 0.6).abs() < 0.15, "h({qi}) = {hi}");
        }
    }
    // A grid without 2 gets 2 added, so the value is always h(2).
    let e = call(
        "mfdfa",
        &x,
        &[("q", ParamValue::List(vec![-1.0, 1.0].into()))],
    )
    .unwrap();
    assert_eq!(diagnostic(&e, "q"), vec![-1.0, 1.0, 2.0]);
}

#[test]
fn mfdfa_bootstrap_interval_covers_truth() {
    // As for dfa: 120 intervals at 95%, binomial sd 0.02; 0.88 is 3.5 sd below nominal.
    let params = [
        ("ci", ParamValue::Str("bootstrap".into())),
        ("seed", ParamValue::Int(11)),
    ];
    let (_, cov) = score("mfdfa", &params, 20);
    assert!(cov >= 0.88, "bootstrap coverage {cov}");
}

#[test]
fn mfdfa_rejects_bad_input_with_typed_errors() {
    let good = DaviesHarte::new(0.7, 1024).unwrap().sample(1);
    let mut nan = good.clone();
    nan[17] = f64::NAN;
    assert_eq!(
        call("mfdfa", &nan, &[]).unwrap_err().kind,
        ErrorKind::InvalidInput
    );
    assert_eq!(
        call("mfdfa", &[1.5; 500], &[]).unwrap_err().kind,
        ErrorKind::InvalidInput
    );
    assert_eq!(
        call("mfdfa", &good[..50], &[]).unwrap_err().kind,
        ErrorKind::InsufficientData
    );
    let e = call("mfdfa", &good, &[("order", ParamValue::Int(0))]).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Parameter);
    let e = call(
        "mfdfa",
        &good,
        &[("q", ParamValue::List(vec![f64::NAN].into()))],
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Parameter);
    // Extreme q stay finite (log-sum-exp moments).
    let e = call(
        "mfdfa",
        &good,
        &[("q", ParamValue::List(vec![-20.0, 20.0].into()))],
    )
    .unwrap();
    assert!(diagnostic(&e, "h(q)").iter().all(|v| v.is_finite()));
}

/// The default interval is calibrated (see `fgn_grid::assert_calibrated` for the tolerances).
#[test]
fn default_intervals_are_calibrated_on_fgn() {
    fgn_grid::assert_calibrated(lrdbench_registry(), "mfdfa");
}
