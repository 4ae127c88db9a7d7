//! Criterion benchmarks of the spectral estimators at n = 4096, 65536 and 2^20, calling the
//! kernels directly (the rlib), on exact fGn with H = 0.7. The wavelet estimators are in
//! benches/wavelet.rs (one plugin rlib per bench binary: each exports the root-module symbol).
//!
//! Peer times (lrdbench 2.0, point estimate, one thread) at the same n are in
//! `docs/peer-measurements.md`, section 3a.
//!
//! `fft_floor` is the cached-plan real FFT of the centred series alone (the first step of
//! every estimator here, `lrdbench_numerics::fft::with_spectrum`), measured in the same run,
//! so each estimator's time can be read as a multiple of this floor. `band_floor/<estimator>`
//! is `lrdbench_numerics::fft::periodogram_head_into` for that estimator's default band
//! (periodogram: a tenth of the Fourier frequencies; gph: n^0.5; local_whittle: n^0.65), the
//! transform it actually runs: pruned to the band where that is faster, else the full one.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use lrdbench_plugin_spectral::kernel::{
    arfima, gph, local_whittle, periodogram, whittle, Bandwidth,
};

const LENGTHS: [usize; 3] = [4096, 65_536, 1 << 20];

fn series(n: usize) -> Vec<f64> {
    lrdbench_numerics::fgn::fgn(0.7, n, 1).expect("fgn generation for the benchmark")
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("spectral");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(2));
    for n in LENGTHS {
        let x = series(n);
        group.bench_with_input(BenchmarkId::new("fft_floor", n), &x, |b, x| {
            b.iter(|| lrdbench_numerics::fft::with_spectrum(black_box(x), |s| s[1].re))
        });
        let m = lrdbench_numerics::fft::fourier_count(n);
        let bands = [
            ("periodogram", (0.1 * m as f64).floor() as usize),
            ("gph", (n as f64).powf(0.5).floor() as usize),
            ("local_whittle", (n as f64).powf(0.65).floor() as usize),
        ];
        for (name, count) in bands {
            let mut out = Vec::with_capacity(count);
            group.bench_with_input(
                BenchmarkId::new(format!("band_floor/{name}"), n),
                &x,
                |b, x| {
                    b.iter(|| {
                        lrdbench_numerics::fft::periodogram_head_into(black_box(x), count, &mut out)
                    })
                },
            );
        }
        let pcfg = periodogram::Config {
            bandwidth: Bandwidth::Fraction(0.1),
        };
        group.bench_with_input(BenchmarkId::new("periodogram", n), &x, |b, x| {
            b.iter(|| periodogram::periodogram(black_box(x), &pcfg))
        });
        let gcfg = gph::Config {
            bandwidth: Bandwidth::Exponent(0.5),
            pool: 3,
        };
        group.bench_with_input(BenchmarkId::new("gph", n), &x, |b, x| {
            b.iter(|| gph::gph(black_box(x), &gcfg))
        });
        let lcfg = local_whittle::Config {
            bandwidth: Bandwidth::Exponent(0.65),
        };
        group.bench_with_input(BenchmarkId::new("local_whittle", n), &x, |b, x| {
            b.iter(|| local_whittle::local_whittle(black_box(x), &lcfg))
        });
        // With the misfit gap (the plugin's call): the ratio is the two half-band fits' cost.
        group.bench_with_input(BenchmarkId::new("local_whittle_gap", n), &x, |b, x| {
            b.iter(|| local_whittle::local_whittle_with_gap(black_box(x), &lcfg))
        });
        let wcfg = whittle::Config { tolerance: 1e-7 };
        group.bench_with_input(BenchmarkId::new("whittle", n), &x, |b, x| {
            b.iter(|| whittle::whittle(black_box(x), &wcfg))
        });
        // The same fit without its goodness-of-fit pass: the ratio is that pass's cost.
        group.bench_with_input(BenchmarkId::new("whittle_point", n), &x, |b, x| {
            b.iter(|| whittle::whittle_point(black_box(x), &wcfg))
        });
        // Nine ARFIMA fits by BIC: seconds per call at 2^20, so measured up to 65,536 only.
        if n <= 65_536 {
            let acfg = arfima::Config::default();
            group.bench_with_input(BenchmarkId::new("arfima_whittle", n), &x, |b, x| {
                b.iter(|| arfima::arfima_whittle(black_box(x), &acfg))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
