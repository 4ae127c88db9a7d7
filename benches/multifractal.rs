//! Speed of the multifractal estimators (point estimate with the default parameters, through the
//! plugin's registry, i.e. the call the host makes minus the ABI hop) at n = 4096, 65536 and
//! 2^20.
//!
//! Only the multifractal plugin is linked: every plugin rlib exports the same root-module symbol,
//! so two of them in one binary fail to link.
//!
//! Peer times at 4096 / 65536 / 2^20 (`shared/reference/peer-measurements.md`, section 3a):
//! MFDFA (the MFDFA package, q = 2) 2.7 ms / 44.1 ms / 677 ms.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use lrdbench_plugin_api::abi_stable::std_types::{RResult, RSlice};
use lrdbench_plugin_api::sdk::Registry;

fn index(reg: &Registry, name: &str) -> u32 {
    let d = match reg.describe() {
        RResult::ROk(d) => d,
        RResult::RErr(e) => panic!("describe failed: {e}"),
    };
    d.components
        .iter()
        .position(|c| c.name == name)
        .unwrap_or_else(|| panic!("no estimator {name}")) as u32
}

fn run(reg: &Registry, idx: u32, x: &[f64]) -> f64 {
    match reg.estimate(idx, RSlice::from_slice(x), RSlice::from_slice(&[])) {
        RResult::ROk(e) => e.value,
        RResult::RErr(e) => panic!("estimate failed: {e}"),
    }
}

fn estimators(c: &mut Criterion) {
    let reg = lrdbench_plugin_multifractal::lrdbench_registry();
    let lengths = [4096usize, 65536, 1 << 20];
    let series: Vec<Vec<f64>> = lengths
        .iter()
        .map(|n| lrdbench_numerics::fgn::fgn(0.7, *n, 1).expect("fgn"))
        .collect();
    for name in ["mfdfa"] {
        let idx = index(reg, name);
        let mut g = c.benchmark_group(name);
        // Ten samples keep the 2^20 runs short on a shared machine.
        g.sample_size(10)
            .warm_up_time(Duration::from_millis(200))
            .measurement_time(Duration::from_millis(800));
        for (n, x) in lengths.iter().zip(&series) {
            g.bench_with_input(BenchmarkId::from_parameter(n), x, |b, x| {
                b.iter(|| black_box(run(reg, idx, black_box(x))))
            });
        }
        g.finish();
    }
}

criterion_group!(benches, estimators);
criterion_main!(benches);
