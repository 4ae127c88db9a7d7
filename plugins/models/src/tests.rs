//! The models through the plugin boundary: schemas, declared truth, errors, reproducibility.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lrdbench_plugin_api::abi_stable::std_types::RResult;
use lrdbench_plugin_api::{ErrorKind, Generated, Param, ParamValue, PluginError};

use crate::lrdbench_registry;

const MODELS: [&str; 7] = ["fgn", "fbm", "arfima", "mrw", "fou", "white_noise", "ar1"];

fn index(name: &str) -> u32 {
    let d = lrdbench_registry().describe().unwrap();
    d.components
        .iter()
        .position(|c| c.name == name)
        .expect("model") as u32
}

fn call(
    name: &str,
    n: u64,
    seed: u64,
    params: &[(&str, ParamValue)],
) -> Result<Generated, PluginError> {
    let ps: Vec<Param> = params
        .iter()
        .map(|(k, v)| Param {
            name: (*k).into(),
            value: v.clone(),
        })
        .collect();
    match lrdbench_registry().generate(index(name), n, seed, ps.as_slice().into()) {
        RResult::ROk(g) => Ok(g),
        RResult::RErr(e) => Err(e),
    }
}

fn truth(g: &Generated, name: &str) -> Option<f64> {
    g.truth.iter().find(|t| t.name == name).map(|t| t.value)
}

#[test]
fn every_model_generates_finite_series_with_h_truth() {
    for m in MODELS {
        let g = call(m, 500, 7, &[]).unwrap();
        assert_eq!(g.values.len(), 500, "{m}");
        assert!(g.values.iter().all(|v| v.is_finite()), "{m}");
        assert!(truth(&g, "H").is_some(), "{m}: no H truth");
    }
    let g = call("arfima", 100, 1, &[("d", ParamValue::Float(0.3))]).unwrap();
    assert_eq!(truth(&g, "d"), Some(0.3));
    assert!((truth(&g, "H").unwrap() - 0.8).abs() < 1e-15);
    assert_eq!(
        truth(&call("white_noise", 10, 1, &[]).unwrap(), "H"),
        Some(0.5)
    );
    assert_eq!(truth(&call("ar1", 10, 1, &[]).unwrap(), "H"), Some(0.5));
    let fbm = call("fbm", 10, 1, &[]).unwrap();
    assert_eq!(fbm.values[0], 0.0);
}

#[test]
fn same_seed_is_bit_identical_across_threads() {
    for m in MODELS {
        let seq: Vec<Vec<u64>> = (0..4)
            .map(|s| {
                call(m, 3000, s, &[])
                    .unwrap()
                    .values
                    .iter()
                    .map(|v| v.to_bits())
                    .collect()
            })
            .collect();
        let par: Vec<Vec<u64>> = std::thread::scope(|scope| {
            let hs: Vec<_> = (0..4u64)
                .map(|s| {
                    scope.spawn(move || {
                        call(m, 3000, s, &[])
                            .unwrap()
                            .values
                            .iter()
                            .map(|v| v.to_bits())
                            .collect()
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(seq, par, "{m}");
        assert_ne!(seq[0], seq[1], "{m}");
    }
}

#[test]
fn bad_input_is_a_one_line_error_naming_the_valid_range() {
    type Case = (
        &'static str,
        u64,
        Vec<(&'static str, ParamValue)>,
        ErrorKind,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            "fgn",
            10,
            vec![("H", ParamValue::Float(1.2))],
            ErrorKind::Parameter,
            "between 0 and 1",
        ),
        (
            "fgn",
            10,
            vec![("H", ParamValue::Float(1.0))],
            ErrorKind::Parameter,
            "(0, 1)",
        ),
        (
            "fgn",
            10,
            vec![("H", ParamValue::Float(0.0))],
            ErrorKind::Parameter,
            "(0, 1)",
        ),
        (
            "arfima",
            10,
            vec![("d", ParamValue::Float(0.5))],
            ErrorKind::Parameter,
            "(-0.5, 0.5)",
        ),
        (
            "arfima",
            10,
            vec![("d", ParamValue::Float(-0.7))],
            ErrorKind::Parameter,
            "-0.5 and 0.5",
        ),
        ("fgn", 0, vec![], ErrorKind::InvalidInput, "at least 1"),
        (
            "white_noise",
            0,
            vec![],
            ErrorKind::InvalidInput,
            "at least 1",
        ),
        (
            "fgn",
            10,
            vec![("hurst", ParamValue::Float(0.5))],
            ErrorKind::Parameter,
            "valid: H, sigma",
        ),
        (
            "ar1",
            10,
            vec![("phi", ParamValue::Float(1.0))],
            ErrorKind::Parameter,
            "(-1, 1)",
        ),
        ("fgn", 1 << 50, vec![], ErrorKind::InvalidInput, "MiB"),
        ("arfima", 1 << 50, vec![], ErrorKind::InvalidInput, "MiB"),
        (
            "white_noise",
            1 << 50,
            vec![],
            ErrorKind::InvalidInput,
            "MiB",
        ),
    ];
    for (m, n, ps, kind, needle) in cases {
        let e = call(m, n, 1, &ps).unwrap_err();
        assert_eq!(e.kind, kind, "{m}: {e}");
        assert!(
            e.message.contains(needle),
            "{m}: `{}` lacks `{needle}`",
            e.message
        );
        assert!(!e.message.contains('\n'), "{m}: {}", e.message);
    }
}
