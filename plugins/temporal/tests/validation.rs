//! Accuracy, coverage and bad-input behaviour of the temporal estimators, through the same
//! entry point the host calls (`lrdbench_registry().estimate`), on exact fGn of known H.
//!
//! Peer bounds are the lrdbench 2.0 MAE values of `docs/peer-measurements.md`,
//! section 2 (20 seeds × H ∈ {0.2, 0.3, 0.5, 0.7, 0.8, 0.9}, n = 4096, exact fGn).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lrdbench_numerics::fgn::DaviesHarte;
use lrdbench_plugin_api::{ErrorKind, Estimate, ParamValue, PluginError};
use lrdbench_plugin_temporal::lrdbench_registry;

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
fn dfa_mae_beats_lrdbench_dfa() {
    // Peer: lrdbench DFA MAE 0.026 (fathon: the same). The unweighted fit is their method
    // and is held to the same bound.
    assert!(score("dfa", &[], SEEDS).0 <= 0.026);
    assert!(score("dfa", &[("fit", ParamValue::Str("ols".into()))], SEEDS).0 <= 0.026);
}

#[test]
fn dma_mae_beats_lrdbench_dma() {
    // Peer: lrdbench DMA MAE 0.045 (backward window); the default here is centred.
    assert!(score("dma", &[], SEEDS).0 <= 0.045);
}

#[test]
fn aggvar_mae_beats_lrdbench_variance() {
    // Peer: lrdbench Variance MAE 0.047.
    assert!(score("aggvar", &[], SEEDS).0 <= 0.047);
}

#[test]
fn absmom_mae_beats_lrdbench_absolute_moment() {
    // Peer: lrdbench AbsoluteMoment MAE 0.051.
    assert!(score("absmom", &[], SEEDS).0 <= 0.051);
}

#[test]
fn varres_mae_beats_lrdbench_variance_residual() {
    // Peer: lrdbench VarianceResidual MAE 0.024.
    assert!(score("varres", &[], SEEDS).0 <= 0.024);
}

#[test]
fn rs_mae_beats_lrdbench_rs() {
    // Peers: lrdbench RS MAE 0.057 (plain R/S), RS[anis_lloyd] 0.055. The default here divides
    // R/S by its expectation under fGn at the fitted H, which removes most of R/S's known bias
    // (+0.1 at H = 0.2 to −0.06 at 0.9 plain), so it is held to the plain peer's value itself.
    assert!(score("rs", &[], SEEDS).0 <= 0.057);
    // The plain and Anis–Lloyd variants are the peers' own methods on the same ladder, and
    // their MAE is that bias (mean |bias| over the grid about 0.054 for both, measured with
    // 40 seeds), so they cannot reliably beat the peers. The bound adds two standard errors of
    // a 180-series MAE (sd of |error| ≈ 0.035 → se ≈ 0.0026) to the peer's value, so the test
    // fails on a real regression but not on seed noise.
    let plain = [("correction", ParamValue::Str("none".into()))];
    assert!(score("rs", &plain, SEEDS).0 <= 0.057 + 0.005);
    let al = [("correction", ParamValue::Str("anis_lloyd".into()))];
    assert!(score("rs", &al, SEEDS).0 <= 0.055 + 0.005);
}

#[test]
fn dfa_orders_two_and_three_stay_accurate() {
    // No peer value for higher orders; DFA-2/3 need larger boxes for the same accuracy, and
    // 0.05 is twice the DFA-1 peer bound.
    for order in [2, 3] {
        assert!(score("dfa", &[("order", ParamValue::Int(order))], 10).0 <= 0.05);
    }
}

#[test]
fn dfa_bootstrap_interval_covers_truth() {
    // 6 H × 20 seeds with 200-replicate parametric bootstrap intervals at 95%. Under the fGn
    // model the interval is calibrated up to the estimator's bias at ĥ (which the basic interval
    // corrects) and Monte-Carlo error, so coverage should be near 0.95 (the replicate sd was
    // checked against the sd of DFA over 200 fresh fGn series: 0.0268 against 0.0273); with
    // 120 intervals the binomial sd is 0.02, and 0.88 is 3.5 sd below nominal: failing it
    // means the interval is genuinely too narrow, not unlucky.
    let params = [
        ("ci", ParamValue::Str("bootstrap".into())),
        ("seed", ParamValue::Int(7)),
    ];
    let (_, cov) = score("dfa", &params, 20);
    assert!(cov >= 0.88, "bootstrap coverage {cov}");
}

#[test]
fn every_estimator_rejects_bad_input_with_typed_errors() {
    let names = ["rs", "dfa", "dma", "aggvar", "absmom", "varres"];
    let good = DaviesHarte::new(0.7, 1024).unwrap().sample(1);
    for name in names {
        let mut nan = good.clone();
        nan[17] = f64::NAN;
        assert_eq!(
            call(name, &nan, &[]).unwrap_err().kind,
            ErrorKind::InvalidInput
        );
        let mut inf = good.clone();
        inf[3] = f64::INFINITY;
        assert_eq!(
            call(name, &inf, &[]).unwrap_err().kind,
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
        let e = call(name, &good, &[("ratio", ParamValue::Float(0.5))]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Parameter, "{name}: {e}");
        let e = call(name, &good, &[("ci", ParamValue::Str("magic".into()))]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Parameter, "{name}: {e}");
        // A tiny but valid series: a value or a typed error, never NaN or a panic.
        match call(name, &good[..128], &[]) {
            Ok(e) => assert!(e.value.is_finite() && e.stderr.unwrap().is_finite()),
            Err(e) => assert_ne!(e.kind, ErrorKind::Internal, "{name}: {e}"),
        }
    }
    let e = call("dfa", &good, &[("order", ParamValue::Int(4))]).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Parameter);
}

#[test]
fn estimates_carry_fit_r_squared_and_warnings() {
    let x = DaviesHarte::new(0.7, N).unwrap().sample(3);
    for name in ["rs", "dfa", "dma", "aggvar", "absmom", "varres"] {
        let e = call(name, &x, &[]).unwrap();
        let fit = e.fit.clone().unwrap();
        assert!(
            fit.x.len() >= 4 && fit.x.len() == fit.fitted.len(),
            "{name}"
        );
        assert!(e.r_squared.unwrap() > 0.9, "{name}");
        let ci = e.ci.unwrap();
        assert!(ci.low < e.value && e.value < ci.high && (ci.level - 0.95).abs() < 1e-12);
    }
    // Few scales: a narrow ladder earns a warning.
    let e = call("dfa", &x, &[("max_scale", ParamValue::Int(25))]).unwrap();
    assert!(
        e.warnings.iter().any(|w| w.contains("scales")),
        "{:?}",
        e.warnings
    );
    // A random walk read as noise: H far above 1, flagged.
    let walk = lrdbench_numerics::prefix::profile(&x);
    let e = call("dfa", &walk, &[]).unwrap();
    assert!(e.warnings.iter().any(|w| w.contains("outside (0, 1)")));
}

#[test]
fn same_seed_gives_bit_identical_bootstrap() {
    let x = DaviesHarte::new(0.6, 1024).unwrap().sample(5);
    let p = [
        ("ci", ParamValue::Str("bootstrap".into())),
        ("seed", ParamValue::Int(42)),
        ("replicates", ParamValue::Int(50)),
    ];
    let (a, b) = (call("dfa", &x, &p).unwrap(), call("dfa", &x, &p).unwrap());
    assert_eq!(a.ci, b.ci);
}

#[test]
fn h_is_invariant_under_affine_rescaling() {
    // Every statistic here is a log-scale slope of a scale-equivariant quantity of the
    // demeaned series, so x → 3x + 100 must leave H unchanged up to rounding (1e-9).
    let x = DaviesHarte::new(0.4, 2048).unwrap().sample(9);
    let y: Vec<f64> = x.iter().map(|v| 3.0 * v + 100.0).collect();
    for name in ["rs", "dfa", "dma", "aggvar", "absmom", "varres"] {
        let (a, b) = (call(name, &x, &[]).unwrap(), call(name, &y, &[]).unwrap());
        assert!(
            (a.value - b.value).abs() < 1e-9,
            "{name}: {} vs {}",
            a.value,
            b.value
        );
    }
}

/// The default interval is calibrated (see `fgn_grid::assert_calibrated` for the tolerances).
#[test]
fn default_intervals_are_calibrated_on_fgn() {
    fgn_grid::assert_calibrated(lrdbench_registry(), "rs");
    fgn_grid::assert_calibrated(lrdbench_registry(), "dfa");
    fgn_grid::assert_calibrated(lrdbench_registry(), "dma");
    fgn_grid::assert_calibrated(lrdbench_registry(), "aggvar");
    fgn_grid::assert_calibrated(lrdbench_registry(), "absmom");
    fgn_grid::assert_calibrated(lrdbench_registry(), "varres");
}

/// Changed settings have no calibrated table: the regression interval (which undercovers) is
/// not shown unless asked for, and the estimate says why.
#[test]
fn non_default_settings_give_no_interval_with_a_warning() {
    let x = DaviesHarte::new(0.7, 4096).unwrap().sample(8);
    let e = call("dfa", &x, &[("order", ParamValue::Int(2))]).unwrap();
    assert!(e.ci.is_none() && e.stderr.is_none());
    assert!(
        e.warnings
            .iter()
            .any(|w| w.contains("no interval") && w.contains("order")),
        "{:?}",
        e.warnings
    );
    let e = call(
        "dfa",
        &x,
        &[
            ("order", ParamValue::Int(2)),
            ("ci", ParamValue::Str("asymptotic".into())),
        ],
    )
    .unwrap();
    assert_eq!(
        e.ci.unwrap().method,
        lrdbench_plugin_api::CiMethod::Regression
    );
    // The level parameter alone keeps the calibrated interval, at that level.
    let e = call("dfa", &x, &[("level", ParamValue::Float(0.9))]).unwrap();
    let ci = e.ci.unwrap();
    assert_eq!(
        (ci.method, ci.level),
        (lrdbench_plugin_api::CiMethod::Calibrated, 0.9)
    );
}
