//! Speed of the temporal estimators (point estimate with the
//! default parameters, through each plugin's registry, i.e. the call the host makes minus the
//! ABI hop) at n = 4096, 65536 and 2^20, and of a 200-replicate bootstrap interval for `dfa`.
//!
//! Only the temporal plugin is linked: every plugin rlib exports the same root-module symbol,
//! so two of them in one binary fail to link (duplicate `_1as_0lib_1header_0root_bmodule_bloader`).
//!
//! Peer times (lrdbench 2.0, `shared/reference/peer-measurements.md`, section 3a) are printed
//! next to nothing here: the closing report puts them side by side.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use lrdbench_plugin_api::abi_stable::std_types::{RResult, RSlice};
use lrdbench_plugin_api::sdk::Registry;
use lrdbench_plugin_api::{Param, ParamValue};

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

fn run(reg: &Registry, idx: u32, x: &[f64], params: &[Param]) -> f64 {
    match reg.estimate(idx, RSlice::from_slice(x), RSlice::from_slice(params)) {
        RResult::ROk(e) => e.value,
        RResult::RErr(e) => panic!("estimate failed: {e}"),
    }
}

fn estimators(c: &mut Criterion) {
    let regs: [(&str, &Registry); 6] = [
        ("rs", lrdbench_plugin_temporal::lrdbench_registry()),
        ("dfa", lrdbench_plugin_temporal::lrdbench_registry()),
        ("dma", lrdbench_plugin_temporal::lrdbench_registry()),
        ("aggvar", lrdbench_plugin_temporal::lrdbench_registry()),
        ("absmom", lrdbench_plugin_temporal::lrdbench_registry()),
        ("varres", lrdbench_plugin_temporal::lrdbench_registry()),
    ];
    let lengths = [4096usize, 65536, 1 << 20];
    let series: Vec<Vec<f64>> = lengths
        .iter()
        .map(|n| lrdbench_numerics::fgn::fgn(0.7, *n, 1).expect("fgn"))
        .collect();
    for (name, reg) in regs {
        let idx = index(reg, name);
        let mut g = c.benchmark_group(name);
        g.sample_size(10)
            .warm_up_time(Duration::from_millis(200))
            .measurement_time(Duration::from_millis(800));
        for (n, x) in lengths.iter().zip(&series) {
            g.bench_with_input(BenchmarkId::from_parameter(n), x, |b, x| {
                b.iter(|| black_box(run(reg, idx, black_box(x), &[])))
            });
        }
        g.finish();
    }
}

fn bootstrap(c: &mut Criterion) {
    let reg = lrdbench_plugin_temporal::lrdbench_registry();
    let idx = index(reg, "dfa");
    let x = lrdbench_numerics::fgn::fgn(0.7, 4096, 2).expect("fgn");
    let params = [
        Param {
            name: "ci".into(),
            value: ParamValue::Str("bootstrap".into()),
        },
        Param {
            name: "replicates".into(),
            value: ParamValue::Int(200),
        },
    ];
    let mut g = c.benchmark_group("dfa_bootstrap_200");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_secs(2));
    g.bench_function("4096", |b| b.iter(|| black_box(run(reg, idx, &x, &params))));
    g.finish();
}

criterion_group!(benches, estimators, bootstrap);
criterion_main!(benches);
