use lrdbench_plugin_spectral::kernel::whittle;
fn main() {
    let n: usize = std::env::args().nth(1).unwrap().parse().unwrap();
    let reps: usize = std::env::args().nth(2).unwrap().parse().unwrap();
    let x = lrdbench_numerics::fgn::fgn(0.7, n, 1).unwrap();
    let mut best_w = f64::MAX; let mut best_f = f64::MAX;
    for _ in 0..reps {
        let t = std::time::Instant::now();
        std::hint::black_box(whittle::whittle(&x, &whittle::Config{tolerance:1e-7}).unwrap());
        best_w = best_w.min(t.elapsed().as_secs_f64());
        let t = std::time::Instant::now();
        std::hint::black_box(lrdbench_numerics::fft::with_spectrum(&x, |s| s[1].re).unwrap());
        best_f = best_f.min(t.elapsed().as_secs_f64());
    }
    println!("n={n} min whittle {:.1}us fft {:.1}us", best_w*1e6, best_f*1e6);
}
