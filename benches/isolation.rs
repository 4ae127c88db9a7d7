//! The cost of process isolation per call: `fault_trivial` (returns the first value, so the
//! call is all overhead) in-process through the ABI against the same call sent to a persistent
//! worker process, at n = 4,096 and n = 1,048,576. The difference is the isolation overhead:
//! two pipe transfers of the frame, two context switches, and the worker's per-call accounting.
//! The third case, `process_plugin`, sends the same call to a Python process plugin
//! (`py_trivial` of `tests/fixtures/python-plugin`, which also returns the first value) through
//! the same supervisor: the cost of the language-neutral boundary plus the Python SDK's decoding
//! (zero-copy with numpy, a copy into `array('d')` without it; `python3` from `PATH`).
//!
//! Needs the release binary and plugins: `cargo build --release --workspace` first.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lrdbench_host::isolate::{IsolationConfig, Supervisor};
use lrdbench_host::plugin::{Catalog, PluginSources};
use lrdbench_plugin_api::ComponentKind;

fn isolation(c: &mut Criterion) {
    let sources = PluginSources {
        dirs: vec![],
        files: vec![support::library("lrdbench_fault_plugin")],
    };
    let (catalog, errors) = Catalog::load(&sources);
    assert!(errors.is_empty(), "{errors:?}");
    let trivial = catalog
        .find("fault_trivial", ComponentKind::Estimator)
        .expect("fault_trivial exists");
    let manifest =
        support::workspace_root().join("tests/fixtures/python-plugin/lrdbench-plugin.toml");
    let (process_catalog, errors) = Catalog::load(&PluginSources {
        dirs: vec![],
        files: vec![manifest],
    });
    assert!(errors.is_empty(), "{errors:?}");
    let py_trivial = process_catalog
        .find("py_trivial", ComponentKind::Estimator)
        .expect("py_trivial exists");
    let supervisor = Supervisor::new(IsolationConfig::new(support::host_binary()));
    let mut group = c.benchmark_group("isolation");
    for n in [4096usize, 1 << 20] {
        let series: Vec<f64> = (0..n).map(|i| i as f64).collect();
        group.throughput(Throughput::Bytes((n * 8) as u64));
        group.bench_with_input(BenchmarkId::new("in_process", n), &series, |b, s| {
            b.iter(|| trivial.estimate(black_box(s), &[]).expect("ok").value)
        });
        group.bench_with_input(BenchmarkId::new("isolated", n), &series, |b, s| {
            b.iter(|| {
                supervisor
                    .estimate(&trivial, black_box(s), &[])
                    .result
                    .expect("ok")
                    .value
            })
        });
        group.bench_with_input(BenchmarkId::new("process_plugin", n), &series, |b, s| {
            b.iter(|| {
                supervisor
                    .estimate(&py_trivial, black_box(s), &[])
                    .result
                    .expect("ok")
                    .value
            })
        });
    }
    group.finish();
}

criterion_group!(benches, isolation);
criterion_main!(benches);
