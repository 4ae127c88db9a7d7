//! Test helpers shared by the standard plugins' test suites, as a dev-dependency (one home
//! instead of files pulled in with `#[path]`): the fGn validation grid that scores an
//! estimator through a plugin's registry (the entry point the host calls) on exact fGn of
//! known H, and parameter resolution against an estimator's own schema.
//!
//! # Example
//!
//! ```
//! use lrdbench_test_kit::{HS, N};
//! assert_eq!(HS.len(), 6);
//! assert_eq!(N, 4096);
//! ```
#![deny(missing_docs)]
// Test support: a failed unwrap is the assertion of the test that called it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lrdbench_numerics::fgn::DaviesHarte;
use lrdbench_plugin_api::abi_stable::std_types::RResult;
use lrdbench_plugin_api::params::resolve;
use lrdbench_plugin_api::sdk::{Estimator, Params, Registry};
use lrdbench_plugin_api::{Estimate, Param, ParamValue, PluginError};

/// The H grid of the peer table (`docs/peer-measurements.md`, section 2).
pub const HS: [f64; 6] = [0.2, 0.3, 0.5, 0.7, 0.8, 0.9];
/// The series length of that table.
pub const N: usize = 4096;

/// The component index of `name` in `registry`.
pub fn index(registry: &Registry, name: &str) -> u32 {
    let d = registry.describe().unwrap();
    d.components.iter().position(|c| c.name == name).unwrap() as u32
}

/// Calls estimator `name` of `registry` on `x`.
pub fn call(
    registry: &Registry,
    name: &str,
    x: &[f64],
    params: &[(&str, ParamValue)],
) -> Result<Estimate, PluginError> {
    let p: Vec<Param> = params
        .iter()
        .map(|(k, v)| Param {
            name: (*k).into(),
            value: v.clone(),
        })
        .collect();
    match registry.estimate(index(registry, name), x.into(), p.as_slice().into()) {
        RResult::ROk(e) => Ok(e),
        RResult::RErr(e) => Err(e),
    }
}

/// (MAE, coverage of the reported interval) over the fGn grid, `seeds` series per H.
pub fn score(
    registry: &Registry,
    name: &str,
    params: &[(&str, ParamValue)],
    seeds: u64,
) -> (f64, f64) {
    let (mut ae, mut covered, mut count) = (0.0, 0usize, 0usize);
    for h in HS {
        let plan = DaviesHarte::new(h, N).unwrap();
        for s in 0..seeds {
            let x = plan.sample(10_000 + s);
            let e = call(registry, name, &x, params).unwrap();
            assert!(e.value.is_finite());
            ae += (e.value - h).abs();
            let ci = e.ci.unwrap();
            covered += usize::from(ci.low <= h && h <= ci.high);
            count += 1;
        }
    }
    let (mae, cov) = (ae / count as f64, covered as f64 / count as f64);
    eprintln!("{name} {params:?}: MAE {mae:.4}, coverage {cov:.3} over {count} series");
    (mae, cov)
}

/// `given` resolved against the schema of `est` (defaults filled in, every value checked), as
/// the SDK hands them to [`Estimator::estimate`].
pub fn params(est: &dyn Estimator, given: &[(&str, ParamValue)]) -> Params {
    let given: Vec<Param> = given
        .iter()
        .map(|(k, v)| Param {
            name: (*k).into(),
            value: v.clone(),
        })
        .collect();
    Params::from_resolved(resolve(&est.describe().params, &given).unwrap())
}
