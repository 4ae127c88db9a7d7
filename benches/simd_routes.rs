//! Each hand-written AVX2 route against the portable code compiled for the same CPU features
//! (`#[target_feature(enable = "avx2,fma")]`), in one run, at n = 4,096 and 65,536: a route
//! stays only where it is at least 1.3× faster than that yardstick. The portable code without
//! the target features (what `LRDBENCH_PORTABLE=1` runs) is measured beside them.
//!
//! - `vmath/…`: the lane-wise exp and ln of `lrdbench_numerics::vmath` compiled for AVX2 and
//!   FMA (`avx2`) and without (`portable`). Its intrinsic lane measured slower than the array
//!   lane compiled for the same features and was removed (see that module's documentation).
//! - `demeaned_path/…`: the in-register scan of `lrdbench_plugin_geometric::kernel::path`
//!   (kept: 11× the portable code compiled for AVX2 at n = 4,096, 8.6× at 65,536).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use lrdbench_numerics::cpu::Avx2Fma;
use lrdbench_numerics::vmath::{self, dispatch, Lane, LaneKernel, LANES};
use lrdbench_plugin_geometric::kernel::path;
use lrdbench_plugin_geometric::kernel::Input;

/// The lane functions of the Whittle passes on a slice: ln(e^{v/64} + 1) per value.
struct ExpLn<'a>(&'a mut [f64]);

impl LaneKernel for ExpLn<'_> {
    type Output = ();
    #[inline(always)]
    fn run<L: Lane>(self) {
        for c in self.0.chunks_exact_mut(LANES) {
            let v = L::load(c);
            vmath::ln(vmath::exp(v * (1.0 / 64.0)) + 1.0).store(c);
        }
    }
}

fn routes(c: &mut Criterion) {
    let Some(cpu) = Avx2Fma::detect() else {
        eprintln!("no AVX2 and FMA (or LRDBENCH_PORTABLE=1): nothing to compare");
        return;
    };
    let mut g = c.benchmark_group("vmath");
    for n in [4096usize, 65_536] {
        let x: Vec<f64> = (0..n).map(|i| (i % 977) as f64 * 0.05 - 20.0).collect();
        let mut buf = x.clone();
        g.bench_with_input(BenchmarkId::new("avx2", n), &n, |b, _| {
            b.iter(|| {
                buf.copy_from_slice(&x);
                dispatch(Some(cpu), ExpLn(black_box(&mut buf)));
            })
        });
        g.bench_with_input(BenchmarkId::new("portable", n), &n, |b, _| {
            b.iter(|| {
                buf.copy_from_slice(&x);
                dispatch(None, ExpLn(black_box(&mut buf)));
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("demeaned_path");
    for n in [4096usize, 65_536] {
        let x = lrdbench_numerics::fgn::fgn(0.7, n, 3).unwrap();
        let mean = x.iter().sum::<f64>() / n as f64;
        g.bench_with_input(BenchmarkId::new("intrinsic", n), &n, |b, _| {
            b.iter(|| path::demeaned_path(black_box(&x), Input::Increments, mean))
        });
        g.bench_with_input(BenchmarkId::new("portable_avx2", n), &n, |b, _| {
            // SAFETY: `cpu` proves that the CPU executes AVX2 and FMA.
            b.iter(|| unsafe {
                path::demeaned_path_portable_avx2(cpu, black_box(&x), Input::Increments, mean)
            })
        });
        g.bench_with_input(BenchmarkId::new("portable", n), &n, |b, _| {
            b.iter(|| path::demeaned_path_portable(black_box(&x), Input::Increments, mean))
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    targets = routes
}
criterion_main!(benches);
