//! Speed of the temporal estimators (point estimate with the
//! default parameters, through each plugin's registry, i.e. the call the host makes minus the
//! ABI hop) at n = 4096, 65536 and 2^20, and of a 200-replicate bootstrap interval for `dfa`.
//!
//! Peer times (lrdbench 2.0) at the same n are in `docs/peer-measurements.md`, section 3a.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/registry.rs"]
mod registry;

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use lrdbench_plugin_api::{Param, ParamValue};
use registry::{index, run};

fn estimators(c: &mut Criterion) {
    let reg = lrdbench_plugin_temporal::lrdbench_registry();
    registry::bench_point_estimates(c, reg, &["rs", "dfa", "dma", "aggvar", "absmom", "varres"]);
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
