use lrdbench_numerics::fluctuation::{Detrender, Order, Segments};
use lrdbench_numerics::{ladder, prefix};
use std::time::{Duration, Instant};
fn main() {
    let n = 1 << 20;
    let x = lrdbench_numerics::fgn::fgn(0.7, n, 1).unwrap();
    let mut best = [Duration::MAX; 3];
    let mut acc = 0.0;
    for _ in 0..25 {
        let t0 = Instant::now();
        let y = prefix::profile(&x);
        let t1 = Instant::now();
        let d = Detrender::new(y, Order::new(1).unwrap());
        let t2 = Instant::now();
        let sc = ladder::geometric(16, n / 4, 1.25).unwrap();
        d.for_each_box(&sc, Segments::Forward, |_, f| acc += f);
        let t3 = Instant::now();
        for (b, t) in best.iter_mut().zip([t1 - t0, t2 - t1, t3 - t2]) {
            *b = (*b).min(t);
        }
    }
    println!(
        "min: profile {:?} new {:?} ladder {:?} {}",
        best[0], best[1], best[2], acc
    );
}
