//! Data-model generation speed: Davies–Harte fGn at n = 2^20 with a cached plan (target under
//! 40 ms per series; numpy Davies–Harte takes 208 ms, lrdbench 2.0's dense Cholesky 1.75 s at
//! n = 4,096), the plan setup on its own, and the other models through the plugin.

// A benchmark that cannot plan has nothing to measure: failing loudly is the right outcome.
#![allow(clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use lrdbench_numerics::fgn::DaviesHarte;

fn fgn(c: &mut Criterion) {
    let mut g = c.benchmark_group("fgn");
    g.sample_size(20).measurement_time(Duration::from_secs(8));
    for p in [12u32, 16, 20] {
        let n = 1usize << p;
        let dh = DaviesHarte::new(0.7, n).expect("plan");
        let mut seed = 0u64;
        g.bench_with_input(BenchmarkId::new("sample_cached", n), &n, |b, _| {
            b.iter(|| {
                seed += 1;
                black_box(dh.sample(seed))
            })
        });
        // Two series per call: divide by two for the cost per series.
        g.bench_with_input(BenchmarkId::new("sample_pair_cached", n), &n, |b, _| {
            b.iter(|| {
                seed += 1;
                black_box(dh.sample_pair(seed))
            })
        });
        g.bench_with_input(BenchmarkId::new("plan_setup", n), &n, |b, &n| {
            b.iter(|| black_box(DaviesHarte::new(0.7, n).expect("plan")))
        });
    }
    g.finish();
}

/// The other models through their kernels, plans cached (as in a sweep's replicates).
fn models(c: &mut Criterion) {
    use lrdbench_plugin_models::cache::Plans;
    use lrdbench_plugin_models::kernel::{arfima, mrw, ArfimaConfig, MrwConfig, MrwOutput};
    let mut g = c.benchmark_group("models");
    g.sample_size(10).measurement_time(Duration::from_secs(6));
    let plans = Plans::new();
    let n = 1usize << 20;
    let mut seed = 0u64;
    let a = ArfimaConfig {
        d: 0.3,
        ar: vec![],
        ma: vec![],
        sigma2: 1.0,
    };
    g.bench_function(BenchmarkId::new("arfima_0d0_cached", n), |b| {
        b.iter(|| {
            seed += 1;
            black_box(arfima(&a, n, seed, &plans).expect("arfima"))
        })
    });
    let m = MrwConfig {
        h: 0.5,
        lambda2: 0.02,
        integral_scale: 4096.0,
        sigma: 1.0,
        output: MrwOutput::Increments,
    };
    g.bench_function(BenchmarkId::new("mrw_cached", n), |b| {
        b.iter(|| {
            seed += 1;
            black_box(mrw(&m, n, seed, &plans).expect("mrw"))
        })
    });
    g.finish();
}

criterion_group!(benches, fgn, models);
criterion_main!(benches);
