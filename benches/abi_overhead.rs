//! The cost of the plugin boundary: one estimator call through the ABI against the same
//! function called directly, at n = 4,096 and n = 1,048,576. Equal overhead at both sizes shows
//! that the series is borrowed, not copied.
//!
//! Needs the plugin libraries of the bench profile: `cargo build --release --workspace` first.

#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use lrdbench_host::plugin::load_plugin;
use lrdbench_plugin_api::ComponentKind;

fn abi_overhead(c: &mut Criterion) {
    let plugin =
        load_plugin(&support::library("lrdbench_fault_plugin")).expect("fault plugin loads");
    let index = plugin
        .descriptor
        .components
        .iter()
        .position(|d| d.name == "fault_trivial" && d.kind == ComponentKind::Estimator)
        .expect("fault_trivial exists") as u32;
    let mut group = c.benchmark_group("abi_overhead");
    for n in [4096usize, 1 << 20] {
        let series: Vec<f64> = (0..n).map(|i| i as f64).collect();
        group.bench_with_input(BenchmarkId::new("direct", n), &series, |b, s| {
            b.iter(|| lrdbench_fault_plugin::trivial(black_box(s)).expect("ok"))
        });
        group.bench_with_input(BenchmarkId::new("through_abi", n), &series, |b, s| {
            b.iter(|| plugin.estimate(index, black_box(s), &[]).expect("ok").value)
        });
    }
    group.finish();
}

criterion_group!(benches, abi_overhead);
criterion_main!(benches);
