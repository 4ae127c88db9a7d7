//! What the per-family estimator benches share: finding a component in a plugin's registry,
//! calling it as the host does minus the ABI hop, and timing a list of estimators at
//! n = 4,096, 65,536 and 2^20 on one fGn series of H = 0.7 per length.
//!
//! Each family bench links only its own plugin: every plugin rlib exports the same root-module
//! symbol (`_1as_0lib_1header_0root_bmodule_bloader`), so two of them in one binary fail to link.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion};
use lrdbench_plugin_api::abi_stable::std_types::{RResult, RSlice};
use lrdbench_plugin_api::sdk::Registry;
use lrdbench_plugin_api::Param;

/// The lengths every family bench times.
pub const LENGTHS: [usize; 3] = [4096, 65536, 1 << 20];

/// Index of the component `name` in `reg`.
pub fn index(reg: &Registry, name: &str) -> u32 {
    let d = match reg.describe() {
        RResult::ROk(d) => d,
        RResult::RErr(e) => panic!("describe failed: {e}"),
    };
    d.components
        .iter()
        .position(|c| c.name == name)
        .unwrap_or_else(|| panic!("no estimator {name}")) as u32
}

/// One estimate through the registry; panics on an error (a bench must not time failures).
pub fn run(reg: &Registry, idx: u32, x: &[f64], params: &[Param]) -> f64 {
    match reg.estimate(idx, RSlice::from_slice(x), RSlice::from_slice(params)) {
        RResult::ROk(e) => e.value,
        RResult::RErr(e) => panic!("estimate failed: {e}"),
    }
}

/// One fGn series (H = 0.7, seed 1) per entry of [`LENGTHS`].
pub fn series() -> Vec<Vec<f64>> {
    LENGTHS
        .iter()
        .map(|n| lrdbench_numerics::fgn::fgn(0.7, *n, 1).expect("fgn"))
        .collect()
}

/// A criterion group per estimator of `names`, timing the default-parameter point estimate
/// at each length.
pub fn bench_point_estimates(c: &mut Criterion, reg: &Registry, names: &[&str]) {
    let series = series();
    for name in names {
        bench_group(c, reg, name, name, &[], &series);
    }
}

/// The criterion group `group` timing estimator `name` with `params` at each length of
/// [`LENGTHS`] on `series`. Ten short samples keep the 2^20 runs brief on a shared machine.
pub fn bench_group(
    c: &mut Criterion,
    reg: &Registry,
    group: &str,
    name: &str,
    params: &[Param],
    series: &[Vec<f64>],
) {
    let idx = index(reg, name);
    let mut g = c.benchmark_group(group);
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_millis(800));
    for (n, x) in LENGTHS.iter().zip(series) {
        g.bench_with_input(BenchmarkId::from_parameter(n), x, |b, x| {
            b.iter(|| black_box(run(reg, idx, black_box(x), params)))
        });
    }
    g.finish();
}
