//! Criterion benchmarks of the wavelet estimators at n = 4096, 65536 and 2^20, calling the
//! kernels directly (the rlib), on exact fGn with H = 0.7 (db4, default octaves and the fGn
//! correction).
//!
//! Peer times (lrdbench 2.0, point estimate, one thread) at the same n are in
//! `docs/peer-measurements.md`, section 3a.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use lrdbench_plugin_wavelet::kernel::{wavelet_av, wavelet_whittle};

const LENGTHS: [usize; 3] = [4096, 65_536, 1 << 20];

fn series(n: usize) -> Vec<f64> {
    lrdbench_numerics::fgn::fgn(0.7, n, 1).expect("fgn generation for the benchmark")
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("wavelet");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(2));
    for n in LENGTHS {
        let x = series(n);
        let acfg = wavelet_av::Config::new(4);
        group.bench_with_input(BenchmarkId::new("wavelet_av", n), &x, |b, x| {
            b.iter(|| wavelet_av::wavelet_av(black_box(x), &acfg))
        });
        let wcfg = wavelet_whittle::Config::new(4);
        group.bench_with_input(BenchmarkId::new("wavelet_whittle", n), &x, |b, x| {
            b.iter(|| wavelet_whittle::wavelet_whittle(black_box(x), &wcfg))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
