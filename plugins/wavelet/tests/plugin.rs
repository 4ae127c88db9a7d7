//! The estimators through their plugin interface: parameters, intervals, bootstrap, warnings,
//! and typed errors on bad input.

#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is the assertion.

use lrdbench_plugin_api::abi::{ErrorKind, ParamValue};
use lrdbench_plugin_api::abi_stable::std_types::ROption;
use lrdbench_plugin_api::prelude::*;
use lrdbench_plugin_wavelet::plugin::{WaveletAv, WaveletWhittle};
use lrdbench_test_kit::params;

fn all() -> Vec<(&'static str, Box<dyn Estimator>)> {
    vec![
        ("wavelet_av", Box::new(WaveletAv)),
        ("wavelet_whittle", Box::new(WaveletWhittle)),
    ]
}

#[test]
fn estimates_carry_interval_fit_and_diagnostics() {
    let x = lrdbench_numerics::fgn::fgn(0.7, 4096, 42).unwrap();
    for (name, est) in all() {
        let d = est.describe();
        assert_eq!(d.name.as_str(), name);
        for p in [
            "ci",
            "replicates",
            "seed",
            "level",
            "order",
            "j_min",
            "j_max",
            "correction",
        ] {
            assert!(
                d.params.iter().any(|s| s.name.as_str() == p),
                "{name} lacks {p}"
            );
        }
        // The default interval is calibrated: its stderr is its half-width over z.
        let e = est.estimate(&x, &params(est.as_ref(), &[])).unwrap();
        let (ROption::RSome(se), ROption::RSome(ci)) = (e.stderr, e.ci) else {
            panic!("{name}: no interval")
        };
        assert_eq!(ci.method, CiMethod::Calibrated, "{name}");
        assert!(
            (ci.high - ci.low - 2.0 * 1.959_963_984_540_054 * se).abs() < 1e-9,
            "{name}"
        );
        // The theory interval (`ci = asymptotic`) is symmetric: Φ⁻¹(0.975) = 1.959963984540054.
        let p = params(
            est.as_ref(),
            &[("ci", ParamValue::Str("asymptotic".into()))],
        );
        let a = est.estimate(&x, &p).unwrap();
        let (ROption::RSome(ase), ROption::RSome(aci)) = (a.stderr, a.ci) else {
            panic!("{name}: no asymptotic interval")
        };
        assert_eq!(aci.method, CiMethod::Asymptotic, "{name}");
        assert!(
            (aci.high - a.value - 1.959_963_984_540_054 * ase).abs() < 1e-9,
            "{name}"
        );
        assert!(
            matches!(e.fit, ROption::RSome(_)),
            "{name}: no log-scale diagram"
        );
        assert!(
            (e.value - 0.7).abs() < 5.0 * se,
            "{name}: {} ± {se}",
            e.value
        );
    }
}

#[test]
fn every_filter_order_runs_and_agrees() {
    let x = lrdbench_numerics::fgn::fgn(0.3, 8192, 8).unwrap();
    for order in 2..=8 {
        let p = params(&WaveletAv, &[("order", ParamValue::Int(order))]);
        let e = WaveletAv.estimate(&x, &p).unwrap();
        // Different filters see the same series: estimates differ by their noise only.
        assert!((e.value - 0.3).abs() < 0.05, "db{order}: {}", e.value);
    }
}

#[test]
fn bootstrap_interval_is_seeded() {
    let x = lrdbench_numerics::fgn::fgn(0.8, 1024, 3).unwrap();
    let p = params(
        &WaveletWhittle,
        &[
            ("ci", ParamValue::Str("bootstrap".into())),
            ("replicates", ParamValue::Int(60)),
            ("seed", ParamValue::Int(5)),
        ],
    );
    let a = WaveletWhittle.estimate(&x, &p).unwrap();
    assert_eq!(a, WaveletWhittle.estimate(&x, &p).unwrap());
    let (ROption::RSome(se), ROption::RSome(ci)) = (a.stderr, a.ci) else {
        panic!("no interval")
    };
    assert!(se > 0.0 && ci.low < a.value && a.value < ci.high);
}

#[test]
fn bad_input_gives_typed_errors_never_nan() {
    let good = lrdbench_numerics::fgn::fgn(0.6, 512, 1).unwrap();
    let mut with_nan = good.clone();
    with_nan[100] = f64::NAN;
    let mut with_inf = good.clone();
    with_inf[7] = f64::NEG_INFINITY;
    for (name, est) in all() {
        let p = params(est.as_ref(), &[]);
        let kind = |x: &[f64]| est.estimate(x, &p).map(|_| ()).unwrap_err().kind;
        assert_eq!(kind(&with_nan), ErrorKind::InvalidInput, "{name}");
        assert_eq!(kind(&with_inf), ErrorKind::InvalidInput, "{name}");
        assert_eq!(kind(&[3.0; 1000]), ErrorKind::InvalidInput, "{name}");
        assert_eq!(kind(&good[..12]), ErrorKind::InsufficientData, "{name}");
        assert_eq!(kind(&[]), ErrorKind::InsufficientData, "{name}");
        // j_min beyond what the series holds, and j_max not above j_min.
        let p = params(est.as_ref(), &[("j_min", ParamValue::Int(12))]);
        assert_eq!(
            est.estimate(&good, &p).unwrap_err().kind,
            ErrorKind::InsufficientData
        );
        let p = params(
            est.as_ref(),
            &[("j_min", ParamValue::Int(3)), ("j_max", ParamValue::Int(3))],
        );
        assert_eq!(
            est.estimate(&good, &p).unwrap_err().kind,
            ErrorKind::Parameter
        );
    }
}

#[test]
fn few_octaves_and_out_of_range_estimates_warn() {
    // n = 512 with db4 leaves octaves 1..5 with ≥ 4 coefficients: j_min = 4 fits only two.
    let x = lrdbench_numerics::fgn::fgn(0.5, 512, 2).unwrap();
    let p = params(&WaveletAv, &[("j_min", ParamValue::Int(4))]);
    let e = WaveletAv.estimate(&x, &p).unwrap();
    assert!(
        e.warnings.iter().any(|w| w.contains("octaves")),
        "{:?}",
        e.warnings
    );
    let walk: Vec<f64> = lrdbench_numerics::fgn::fgn(0.5, 4096, 2)
        .unwrap()
        .iter()
        .scan(0.0, |s, v| {
            *s += v;
            Some(*s)
        })
        .collect();
    for (name, est) in all() {
        let e = est.estimate(&walk, &params(est.as_ref(), &[])).unwrap();
        assert!(e.value.is_finite(), "{name}");
        assert!(
            e.warnings
                .iter()
                .any(|w| w.contains("outside") || w.contains("bound")),
            "{name}: H = {} without warning",
            e.value
        );
    }
}

#[test]
fn affine_rescaling_leaves_estimates_unchanged() {
    let x = lrdbench_numerics::fgn::fgn(0.25, 2048, 5).unwrap();
    let y: Vec<f64> = x.iter().map(|v| -40.0 + 0.001 * v).collect();
    for (name, est) in all() {
        let p = params(est.as_ref(), &[]);
        let (a, b) = (est.estimate(&x, &p).unwrap(), est.estimate(&y, &p).unwrap());
        // Wavelets annihilate constants and the fits are scale-free: equal up to rounding.
        assert!(
            (a.value - b.value).abs() < 1e-9,
            "{name}: {} vs {}",
            a.value,
            b.value
        );
    }
}
