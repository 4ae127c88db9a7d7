//! The detrended-fluctuation core shared by DFA, the variance of residuals and MFDFA: the
//! residual variance of a polynomial fit of the profile in each box of a given size.
//!
//! Two paths compute the same quantity:
//! - order 1 uses compensated prefix sums of y, j·y and y² ([`crate::prefix`]), so every box
//!   costs O(1) and a whole scale ladder O(n) in total after an O(n) set-up;
//! - orders 2 and 3 (and the reference for order 1) fit each box directly against an
//!   orthonormal polynomial basis, in two passes (mean, then residuals), O(s·order) per box.
//!
//! # Formula
//!
//! ```text
//! y_j        profile, j = 0..n−1 (cumulative sum of x − x̄)
//! box v      indices a_v .. a_v + s − 1 (forward boxes from the start; "both" adds boxes laid
//!            from the end, Kantelhardt et al. 2002)
//! F²(v, s)   = (1/s) Σ_{j in box} (y_j − p_v(j))²,  p_v the least-squares polynomial of the order
//! order 1:   with t = j − c, c the box centre, S_tt = s(s²−1)/12,
//!            s·F² = Σy² − (Σy)²/s − (Σ t·y)² / S_tt,   Σ t·y = Σ j·y − c·Σ y
//! ```
//!
//! # Reference
//!
//! Peng et al. (1994), Phys. Rev. E 49, 1685; Kantelhardt et al. (2002), Physica A 316, 87,
//! eqs. 1–4.
//!
//! # Accuracy
//!
//! The fast path forms Σy² − (Σy)²/s and the t·y term in double-double, so F² keeps about
//! 1e-14 relative accuracy even when the profile's level (∝ n^H) dwarfs the in-box spread
//! (∝ s^H); the test `fast_linear_matches_direct_at_large_n` measures it at n = 2^20.

use lrdbench_plugin_api::PluginError;

use crate::prefix::{Dd, DdPrefix};

/// Which boxes of size s are laid over the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segments {
    /// ⌊n/s⌋ boxes from the start (the remainder at the end is unused): lrdbench, fathon.
    Forward,
    /// The forward boxes plus ⌊n/s⌋ boxes laid from the end, so no point is left out.
    Both,
}

/// The polynomial order of the detrending fit (1 = linear, as in DFA-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Order(usize);

impl Order {
    /// An order from 1 to 3.
    ///
    /// # Errors
    ///
    /// `parameter` outside 1..=3.
    pub fn new(order: usize) -> Result<Order, PluginError> {
        if (1..=3).contains(&order) {
            Ok(Order(order))
        } else {
            Err(PluginError::parameter(format!(
                "the detrending order must be 1, 2 or 3, got {order}"
            )))
        }
    }

    /// The order as a number.
    pub fn get(self) -> usize {
        self.0
    }
}

/// A profile prepared for box fits of one order.
#[derive(Debug, Clone)]
pub struct Detrender {
    y: Vec<f64>,
    order: Order,
    fast: Option<[DdPrefix; 3]>,
}

impl Detrender {
    /// Prepares `profile` (already the cumulative sum) for fits of `order`. Order 1 builds the
    /// compensated prefix sums (O(n) time, 6n f64 of memory).
    pub fn new(profile: Vec<f64>, order: Order) -> Detrender {
        let fast = (order.0 == 1).then(|| {
            let y = &profile;
            DdPrefix::build(y.len(), |j| {
                let v = y[j];
                [Dd::from_f64(v), Dd::prod(j as f64, v), Dd::prod(v, v)]
            })
        });
        Detrender {
            y: profile,
            order,
            fast,
        }
    }

    /// The profile.
    pub fn profile(&self) -> &[f64] {
        &self.y
    }

    /// Appends F²(v, s) of every box of size `s` to `out` (forward boxes first). Requires
    /// `order + 2 ≤ s ≤ n`; smaller boxes give nothing.
    pub fn box_variances(&self, s: usize, segments: Segments, out: &mut Vec<f64>) {
        let n = self.y.len();
        if s < self.order.0 + 2 || s > n {
            return;
        }
        let boxes = n / s;
        let starts = (0..boxes).map(|v| v * s);
        let back = (0..boxes).map(|v| n - (v + 1) * s);
        let all: Box<dyn Iterator<Item = usize>> = match segments {
            Segments::Forward => Box::new(starts),
            Segments::Both => Box::new(starts.chain(back)),
        };
        match &self.fast {
            Some(p) => {
                let stt = (s as f64) * ((s * s - 1) as f64) / 12.0;
                for a in all {
                    out.push(linear_rss(p, a, s, stt) / s as f64);
                }
            }
            None => {
                let basis = Basis::new(s, self.order.0);
                for a in all {
                    out.push(basis.rss(&self.y[a..a + s]) / s as f64);
                }
            }
        }
    }

    /// As [`Self::box_variances`] but always by the direct per-box fit (the reference path).
    pub fn box_variances_direct(&self, s: usize, segments: Segments, out: &mut Vec<f64>) {
        let direct = Detrender {
            y: Vec::new(),
            order: self.order,
            fast: None,
        };
        let n = self.y.len();
        if s < self.order.0 + 2 || s > n {
            return;
        }
        let basis = Basis::new(s, direct.order.0);
        let boxes = n / s;
        for v in 0..boxes {
            out.push(basis.rss(&self.y[v * s..(v + 1) * s]) / s as f64);
        }
        if segments == Segments::Both {
            for v in 0..boxes {
                let a = n - (v + 1) * s;
                out.push(basis.rss(&self.y[a..a + s]) / s as f64);
            }
        }
    }
}

#[inline(always)]
fn linear_rss(p: &[DdPrefix; 3], a: usize, s: usize, stt: f64) -> f64 {
    let b = a + s;
    let sy = p[0].range(a, b);
    let sjy = p[1].range(a, b);
    let syy = p[2].range(a, b);
    // Box centre: a + (s − 1)/2 is a half-integer, exact in f64.
    let c = a as f64 + (s as f64 - 1.0) * 0.5;
    let sty = sjy.sub(sy.mul_f64(c));
    let syy_c = syy.sub(sy.mul(sy).div_f64(s as f64));
    let rss = syy_c.sub(sty.mul(sty).div_f64(stt)).to_f64();
    rss.max(0.0)
}

/// An orthonormal polynomial basis (degrees 1..=order) on s equispaced points, built by
/// modified Gram–Schmidt twice over on centred, scaled abscissae.
struct Basis {
    s: usize,
    vecs: Vec<Vec<f64>>,
}

impl Basis {
    fn new(s: usize, order: usize) -> Basis {
        let half = (s as f64 - 1.0) * 0.5;
        let scale = half.max(1.0);
        let mut vecs: Vec<Vec<f64>> = Vec::with_capacity(order);
        let inv_sqrt_s = 1.0 / (s as f64).sqrt();
        for d in 1..=order {
            let mut v: Vec<f64> = (0..s)
                .map(|i| ((i as f64 - half) / scale).powi(d as i32))
                .collect();
            for _ in 0..2 {
                let m = v.iter().sum::<f64>() / s as f64;
                v.iter_mut().for_each(|x| *x -= m);
                for u in &vecs {
                    let dot: f64 = u.iter().zip(&v).map(|(a, b)| a * b).sum();
                    v.iter_mut().zip(u).for_each(|(x, ui)| *x -= dot * ui);
                }
            }
            let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            v.iter_mut().for_each(|x| *x /= norm);
            vecs.push(v);
        }
        let _ = inv_sqrt_s;
        Basis { s, vecs }
    }

    /// Residual sum of squares of the least-squares fit of `z` (two passes: mean, residuals).
    fn rss(&self, z: &[f64]) -> f64 {
        debug_assert_eq!(z.len(), self.s);
        let mean = z.iter().sum::<f64>() / self.s as f64;
        let mut coef = [0.0f64; 3];
        for (k, u) in self.vecs.iter().enumerate() {
            coef[k] = u.iter().zip(z).map(|(a, b)| a * (b - mean)).sum();
        }
        let mut rss = 0.0;
        for i in 0..self.s {
            let mut r = z[i] - mean;
            for (k, u) in self.vecs.iter().enumerate() {
                r -= coef[k] * u[i];
            }
            rss += r * r;
        }
        rss
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::ladder::geometric;
    use crate::prefix::profile;

    /// A reproducible white-noise-like series (splitmix64 → uniform → centred).
    fn noise(n: usize, seed: u64) -> Vec<f64> {
        let mut z = seed;
        (0..n)
            .map(|_| {
                z = z.wrapping_add(0x9E3779B97F4A7C15);
                let mut x = z;
                x = (x ^ (x >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
                x = (x ^ (x >> 27)).wrapping_mul(0x94D049BB133111EB);
                x ^= x >> 31;
                (x >> 11) as f64 / (1u64 << 53) as f64 - 0.5
            })
            .collect()
    }

    fn max_rel(a: &[f64], b: &[f64]) -> f64 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(u, v)| (u - v).abs() / v.abs().max(1e-300))
            .fold(0.0, f64::max)
    }

    #[test]
    fn fast_linear_matches_direct_on_random_data() {
        // The issue's exactness bound for fast paths: 1e-9 relative, box by box.
        let y = profile(&noise(5000, 7));
        let d = Detrender::new(y, Order::new(1).unwrap());
        for s in geometric(3, 2500, 1.3).unwrap() {
            for seg in [Segments::Forward, Segments::Both] {
                let (mut f, mut r) = (Vec::new(), Vec::new());
                d.box_variances(s, seg, &mut f);
                d.box_variances_direct(s, seg, &mut r);
                assert!(max_rel(&f, &r) < 1e-9, "s={s}: {}", max_rel(&f, &r));
            }
        }
    }

    #[test]
    fn fast_linear_matches_direct_at_large_n() {
        // A profile with a level far above its in-box spread: a random walk of 2^20 steps with
        // drift, plus an offset of 1e6. Plain f64 prefix sums lose about 5 digits here (DESIGN.md:
        // 4.7e-5 at n = 2^20); the compensated path must stay near f64 round-off. The direct
        // per-box two-pass fit is the reference; both see the same rounded profile, and 1e-11
        // leaves room for the direct fit's own O(s·ε) rounding at the largest boxes.
        let n = 1 << 20;
        let x: Vec<f64> = noise(n, 11).iter().map(|v| v + 0.01).collect();
        let mut y = profile(&x);
        y.iter_mut()
            .enumerate()
            .for_each(|(j, v)| *v += 1e6 + 0.3 * j as f64);
        let d = Detrender::new(y, Order::new(1).unwrap());
        let mut worst = 0.0f64;
        for s in geometric(16, n / 4, 1.25).unwrap() {
            let (mut f, mut r) = (Vec::new(), Vec::new());
            d.box_variances(s, Segments::Forward, &mut f);
            d.box_variances_direct(s, Segments::Forward, &mut r);
            worst = worst.max(max_rel(&f, &r));
        }
        assert!(worst < 1e-11, "worst relative error {worst}");
    }

    #[test]
    fn plain_f64_prefix_sums_fail_the_large_n_bound() {
        // The same data as above through plain f64 prefix sums of y, j·y and y²: this is the
        // shortcut the compensated path replaces, and it must miss the 1e-11 bound by orders
        // of magnitude (else the large-n test above would not be discriminating).
        let n = 1 << 20;
        let x: Vec<f64> = noise(n, 11).iter().map(|v| v + 0.01).collect();
        let mut y = profile(&x);
        y.iter_mut()
            .enumerate()
            .for_each(|(j, v)| *v += 1e6 + 0.3 * j as f64);
        let (mut py, mut pjy, mut pyy) = (vec![0.0], vec![0.0], vec![0.0]);
        for (j, v) in y.iter().enumerate() {
            py.push(py[j] + v);
            pjy.push(pjy[j] + j as f64 * v);
            pyy.push(pyy[j] + v * v);
        }
        let s = 16usize;
        let stt = (s * (s * s - 1)) as f64 / 12.0;
        let d = Detrender::new(y, Order::new(1).unwrap());
        let mut r = Vec::new();
        d.box_variances_direct(s, Segments::Forward, &mut r);
        let mut worst = 0.0f64;
        for (v, reference) in r.iter().enumerate() {
            let (a, b) = (v * s, (v + 1) * s);
            let sy = py[b] - py[a];
            let c = a as f64 + (s as f64 - 1.0) / 2.0;
            let sty = (pjy[b] - pjy[a]) - c * sy;
            let rss = (pyy[b] - pyy[a]) - sy * sy / s as f64 - sty * sty / stt;
            worst = worst.max((rss / s as f64 - reference).abs() / reference);
        }
        assert!(
            worst > 1e-6,
            "plain prefix sums unexpectedly accurate: {worst}"
        );
    }

    #[test]
    fn direct_removes_polynomials_of_its_order() {
        // A cubic has zero residual under order-3 detrending but not under order 2.
        let y: Vec<f64> = (0..64)
            .map(|j| {
                let t = j as f64;
                1.0 + 0.5 * t - 0.01 * t * t + 1e-4 * t * t * t
            })
            .collect();
        let (mut o3, mut o2) = (Vec::new(), Vec::new());
        Detrender::new(y.clone(), Order::new(3).unwrap()).box_variances(
            32,
            Segments::Forward,
            &mut o3,
        );
        Detrender::new(y, Order::new(2).unwrap()).box_variances(32, Segments::Forward, &mut o2);
        assert!(o3.iter().all(|v| *v < 1e-20), "{o3:?}");
        assert!(o2.iter().all(|v| *v > 1e-12), "{o2:?}");
    }

    #[test]
    fn order_outside_one_to_three_is_parameter_error() {
        assert!(Order::new(0).is_err() && Order::new(4).is_err());
    }
}
