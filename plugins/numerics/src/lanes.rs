//! Sums over sixteen independent accumulators. A single f64 accumulator makes every addition
//! wait for the previous one (about four cycles each); sixteen break that chain and let the
//! compiler use four AVX2 registers in a caller compiled with AVX2 (`#[target_feature]`), or
//! SSE2 pairs otherwise. The order of the additions is fixed by the code, so a given build
//! always gives the same bits, and an AVX2 caller the same bits as a portable one.
//!
//! # Example
//!
//! ```
//! use lrdbench_numerics::lanes::{map_sum, zip_sum};
//! let x: Vec<f64> = (1..=100).map(f64::from).collect();
//! assert_eq!(map_sum(&x, |v| v), 5050.0);
//! assert_eq!(zip_sum(&x[1..], &x[..99], |a, b| a - b), 99.0);
//! ```

/// Σ f(x_i).
#[inline(always)]
pub fn map_sum(x: &[f64], f: impl Fn(f64) -> f64) -> f64 {
    zip_sum(x, x, |a, _| f(a))
}

/// Σ f(a_i, b_i) over the common length of `a` and `b`.
#[inline(always)]
pub fn zip_sum(a: &[f64], b: &[f64], f: impl Fn(f64, f64) -> f64) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f64; 16];
    let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| f(*x, *y))
        .sum();
    for (xa, xb) in ca.zip(cb) {
        for l in 0..16 {
            acc[l] += f(xa[l], xb[l]);
        }
    }
    acc.iter().sum::<f64>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lane_sums_match_plain_sums() {
        for len in 0..40usize {
            let v: Vec<f64> = (0..len).map(|i| 1.0 / (i + 1) as f64).collect();
            let plain: f64 = v.iter().map(|x| x * x).sum();
            let lanes = map_sum(&v, |x| x * x);
            // Only the order of the additions differs: a few ulps of the total.
            assert!((lanes - plain).abs() <= 4.0 * f64::EPSILON * plain, "{len}");
            let diffs: f64 = v.iter().zip(v.iter().skip(1)).map(|(a, b)| b - a).sum();
            let zipped = zip_sum(&v[len.min(1)..], &v, |a, b| a - b);
            assert!(
                (zipped - diffs).abs() <= 4.0 * f64::EPSILON * diffs.abs().max(1.0),
                "{len}"
            );
        }
    }
}
