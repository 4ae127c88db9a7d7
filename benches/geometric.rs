//! Speed of the geometric estimators (point estimate with the default parameters, through the
//! plugin's registry, i.e. the call the host makes minus the ABI hop) at n = 4096, 65536 and
//! 2^20.
//!
//! Peer times at 4096 / 65536 / 2^20 (`docs/peer-measurements.md`, section 3a):
//! Higuchi[increments] 1.6 ms / 16.5 ms / 258 ms, GHE[increments] 232 µs / 1.3 ms / 26.2 ms.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/registry.rs"]
mod registry;

use criterion::{criterion_group, criterion_main, Criterion};

fn estimators(c: &mut Criterion) {
    let reg = lrdbench_plugin_geometric::lrdbench_registry();
    registry::bench_point_estimates(c, reg, &["higuchi", "ghe"]);
}

criterion_group!(benches, estimators);
criterion_main!(benches);
