//! The estimators through their plugin interface: parameters, intervals, bootstrap, warnings,
//! and typed errors on bad input.

#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is the assertion.

use lrdbench_plugin_api::abi::{ErrorKind, ParamValue};
use lrdbench_plugin_api::abi_stable::std_types::ROption;
use lrdbench_plugin_api::prelude::*;
use lrdbench_plugin_spectral::plugin::{ArfimaWhittle, Gph, LocalWhittle, Periodogram, Whittle};
use lrdbench_test_kit::params;

fn all() -> Vec<(&'static str, Box<dyn Estimator>)> {
    vec![
        ("periodogram", Box::new(Periodogram)),
        ("gph", Box::new(Gph)),
        ("local_whittle", Box::new(LocalWhittle)),
        ("whittle", Box::new(Whittle)),
        ("arfima_whittle", Box::new(ArfimaWhittle)),
    ]
}

#[test]
fn estimators_declare_shared_uncertainty_parameters() {
    for (name, est) in all() {
        let d = est.describe();
        assert_eq!(d.name.as_str(), name);
        for p in ["ci", "replicates", "seed", "level"] {
            assert!(
                d.params.iter().any(|s| s.name.as_str() == p),
                "{name} lacks {p}"
            );
        }
    }
}

#[test]
fn asymptotic_interval_is_symmetric_at_requested_level() {
    let x = lrdbench_numerics::fgn::fgn(0.7, 4096, 42).unwrap();
    for (name, est) in all() {
        let p = params(
            est.as_ref(),
            &[
                ("level", ParamValue::Float(0.9)),
                ("ci", ParamValue::Str("asymptotic".into())),
            ],
        );
        let e = est.estimate(&x, &p).unwrap();
        // The default (`ci = auto`) interval is the calibrated one, at the requested level;
        // arfima_whittle has no fGn table (its model is not fGn) and keeps the interval of
        // its Whittle information matrix, whose coverage its own tests check by simulation.
        let auto = est
            .estimate(
                &x,
                &params(est.as_ref(), &[("level", ParamValue::Float(0.9))]),
            )
            .unwrap();
        let c = auto.ci.unwrap();
        let expected = if name == "arfima_whittle" {
            CiMethod::Asymptotic
        } else {
            CiMethod::Calibrated
        };
        assert_eq!((c.method, c.level), (expected, 0.9), "{name}");
        let se = match e.stderr {
            ROption::RSome(s) => s,
            ROption::RNone => panic!("{name}: no stderr"),
        };
        let ci = match e.ci {
            ROption::RSome(c) => c,
            ROption::RNone => panic!("{name}: no ci"),
        };
        // Φ⁻¹(0.95) = 1.6448536269514722.
        assert!(
            (ci.high - e.value - 1.644_853_626_951_472 * se).abs() < 1e-9,
            "{name}"
        );
        assert!(
            (e.value - ci.low - 1.644_853_626_951_472 * se).abs() < 1e-9,
            "{name}"
        );
        assert_eq!(ci.level, 0.9);
        let h = if e.estimand.as_str() == "d" {
            e.value + 0.5
        } else {
            e.value
        };
        assert!((h - 0.7).abs() < 0.25, "{name}: {}", e.value);
    }
}

#[test]
fn bootstrap_interval_is_seeded_and_close_to_asymptotic() {
    let x = lrdbench_numerics::fgn::fgn(0.3, 1024, 3).unwrap();
    let p = params(
        &Whittle,
        &[
            ("ci", ParamValue::Str("bootstrap".into())),
            ("replicates", ParamValue::Int(100)),
            ("seed", ParamValue::Int(9)),
        ],
    );
    let a = Whittle.estimate(&x, &p).unwrap();
    let b = Whittle.estimate(&x, &p).unwrap();
    assert_eq!(a, b, "same seed, same interval");
    let asym = Whittle.estimate(&x, &params(&Whittle, &[])).unwrap();
    let (ROption::RSome(se_b), ROption::RSome(se_a)) = (a.stderr, asym.stderr) else {
        panic!("missing stderr")
    };
    // The Fisher standard error is efficient for exact fGn: the bootstrap spread of 100
    // replicates must agree with it to within its own sampling error (±15% at 2 sd).
    assert!(
        (se_b / se_a - 1.0).abs() < 0.2,
        "bootstrap {se_b} vs fisher {se_a}"
    );
}

#[test]
fn bad_input_gives_typed_errors_never_nan() {
    let good = lrdbench_numerics::fgn::fgn(0.6, 512, 1).unwrap();
    let mut with_nan = good.clone();
    with_nan[100] = f64::NAN;
    let mut with_inf = good.clone();
    with_inf[7] = f64::INFINITY;
    for (name, est) in all() {
        let p = params(est.as_ref(), &[]);
        let kind = |x: &[f64]| est.estimate(x, &p).map(|_| ()).unwrap_err().kind;
        assert_eq!(kind(&with_nan), ErrorKind::InvalidInput, "{name}");
        assert_eq!(kind(&with_inf), ErrorKind::InvalidInput, "{name}");
        assert_eq!(kind(&[3.0; 1000]), ErrorKind::InvalidInput, "{name}");
        assert_eq!(kind(&good[..20]), ErrorKind::InsufficientData, "{name}");
        assert_eq!(kind(&[]), ErrorKind::InsufficientData, "{name}");
    }
    // A pooling too large for the bandwidth is a parameter error, not a panic.
    let p = params(&Gph, &[("pool", ParamValue::Int(64))]);
    assert_eq!(
        Gph.estimate(&good, &p).unwrap_err().kind,
        ErrorKind::Parameter
    );
}

#[test]
fn clipped_bandwidth_and_out_of_range_estimates_warn() {
    let x = lrdbench_numerics::fgn::fgn(0.5, 256, 2).unwrap();
    let p = params(&LocalWhittle, &[("bandwidth", ParamValue::Int(10_000))]);
    let e = LocalWhittle.estimate(&x, &p).unwrap();
    assert!(
        e.warnings.iter().any(|w| w.contains("clipped")),
        "{:?}",
        e.warnings
    );
    // A random walk (integrated white noise) has H = 1.5 as fGn: outside (0, 1). The warning
    // needs the estimate 3 standard errors out, so the walk is long enough for the noisiest
    // estimator (periodogram, SD 0.05 at n = 4096; at n = 256 its SD is 0.2 and an estimate of
    // 1.4 is not a diagnosis).
    let long = lrdbench_numerics::fgn::fgn(0.5, 4096, 2).unwrap();
    let walk: Vec<f64> = long
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
    let x = lrdbench_numerics::fgn::fgn(0.8, 2048, 5).unwrap();
    let y: Vec<f64> = x.iter().map(|v| 1e6 + 250.0 * v).collect();
    for (name, est) in all() {
        let p = params(est.as_ref(), &[]);
        let (a, b) = (est.estimate(&x, &p).unwrap(), est.estimate(&y, &p).unwrap());
        // Mean removal and the scale-free contrasts make H exactly invariant up to rounding of
        // the 1e6 offset (8 digits of the data lost to it) and the minimiser's 1e-7 tolerance.
        assert!(
            (a.value - b.value).abs() < 1e-6,
            "{name}: {} vs {}",
            a.value,
            b.value
        );
    }
}

#[test]
fn arfima_whittle_reports_d_with_h_orders_and_coefficients() {
    let x =
        lrdbench_plugin_spectral::kernel::arfima::simulate_arfima_1d0(0.2, 0.5, 4096, 7).unwrap();
    let e = ArfimaWhittle
        .estimate(&x, &params(&ArfimaWhittle, &[]))
        .unwrap();
    assert_eq!(e.estimand.as_str(), "d");
    let diag = |name: &str| {
        e.diagnostics
            .iter()
            .find(|d| d.name.as_str() == name)
            .map(|d| d.values.to_vec())
            .unwrap()
    };
    let ci = e.ci.into_option().unwrap();
    assert_eq!(diag("H"), vec![e.value + 0.5, ci.low + 0.5, ci.high + 0.5]);
    // BIC over the 9 orders finds the AR(1) part (its φ̂ within 3 se of 0.5: se ≈ 0.04).
    assert_eq!(diag("orders"), vec![1.0, 0.0]);
    assert!((diag("ar")[0] - 0.5).abs() < 0.12, "{:?}", diag("ar"));
    assert_eq!(diag("bic_candidates").len(), 27);
    // d within 4 se (se ≈ 0.023 at n = 4096 for (1, d, 0)).
    assert!((e.value - 0.2).abs() < 0.1, "{}", e.value);
    // Fixed orders: only (0, d, 0) is the selected fit.
    let fixed = ArfimaWhittle
        .estimate(
            &x,
            &params(
                &ArfimaWhittle,
                &[("p", ParamValue::Int(0)), ("q", ParamValue::Int(0))],
            ),
        )
        .unwrap();
    assert_eq!(
        fixed
            .diagnostics
            .iter()
            .find(|d| d.name.as_str() == "orders")
            .unwrap()
            .values
            .to_vec(),
        vec![0.0, 0.0]
    );
    // One order without the other is a parameter error.
    let half = ArfimaWhittle.estimate(&x, &params(&ArfimaWhittle, &[("p", ParamValue::Int(1))]));
    assert_eq!(half.unwrap_err().kind, ErrorKind::Parameter);
}
