//! Speed of the multifractal estimators (point estimate with the default parameters, through
//! the plugin's registry, i.e. the call the host makes minus the ABI hop) at n = 4096, 65536
//! and 2^20.
//!
//! Peer times at 4096 / 65536 / 2^20 (`docs/peer-measurements.md`, section 3a):
//! MFDFA (the MFDFA package, q = 2) 2.7 ms / 44.1 ms / 677 ms. The peer computes q = 2 alone,
//! so `mfdfa_q2` times the same single-q call next to the default eight-q spectrum.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/registry.rs"]
mod registry;

use criterion::{criterion_group, criterion_main, Criterion};
use lrdbench_plugin_api::{Param, ParamValue};

fn estimators(c: &mut Criterion) {
    let reg = lrdbench_plugin_multifractal::lrdbench_registry();
    registry::bench_point_estimates(c, reg, &["mfdfa"]);
    let q2 = [Param {
        name: "q".into(),
        value: ParamValue::List(vec![2.0].into()),
    }];
    registry::bench_group(c, reg, "mfdfa_q2", "mfdfa", &q2, &registry::series());
}

criterion_group!(benches, estimators);
criterion_main!(benches);
