use std::time::Instant;
use lrdbench_plugin_spectral::kernel::whittle;
fn main() {
    for n in [4096usize, 65536, 1 << 20] {
        let x = lrdbench_numerics::fgn::fgn(0.7, n, 1).unwrap();
        let reps = ((1 << 22) / n).max(3);
        let t = Instant::now();
        for _ in 0..reps { std::hint::black_box(lrdbench_numerics::fft::with_spectrum(&x, |s| s[1].re).unwrap()); }
        let tf = t.elapsed().as_secs_f64() / reps as f64;
        let t = Instant::now();
        let mut e = None;
        for _ in 0..reps { e = Some(std::hint::black_box(whittle::whittle(&x, &whittle::Config{tolerance:1e-7}).unwrap())); }
        let tw = t.elapsed().as_secs_f64() / reps as f64;
        println!("n={n} fft {:.1}us whittle {:.1}us {:?}", tf*1e6, tw*1e6, e.map(|e| (e.h, e.stderr)));
    }
}
