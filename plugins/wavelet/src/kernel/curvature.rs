//! The exact fGn curvature of the octave variances, c_j(H) − c_ref(H), and its derivative in
//! H, at a cost of one pass over the longest tabulated filter per evaluation.
//!
//! # Formula
//!
//! ```text
//! x[t] = B(t+1) − B(t)            unit fGn as increments of fBm, Var B(t) = |t|^2H
//! d_j  = Σ_l ψ_j[l] x[l] = Σ_m φ_j[m] B(m),   φ_j[m] = ψ_j[m−1] − ψ_j[m]   (Σ φ_j = 0)
//! E d_j² = −½ Σ_{m,m'} φ_j[m] φ_j[m'] |m − m'|^2H = −Σ_{k=1}^{ℓ_j} k^2H R_j(k)
//! R_j(k) = Σ_m φ_j[m] φ_j[m + k]                                   (tabulated once per order)
//! ∂/∂H E d_j² = −Σ_k 2 ln k · k^2H R_j(k)
//! c_j(H) = log2 E d_j² − (2H − 1) j,   c_ref = c_8
//! ```
//!
//! This is the same variance as γ(0) r_j(0) + 2 Σ_k γ(k) r_j(k) (fGn autocovariance γ against
//! the filter autocorrelation r_j), but needs only the powers k^2H, not γ(k): k^2H is
//! multiplicative, so one exponential per prime k and one product per composite k give every
//! power up to ℓ_8 (ℓ_8 = 1786 for db4). The tests compare it with the γ-form.

use std::sync::OnceLock;

use lrdbench_numerics::dwt::{self, Daubechies, MAX_ORDER, MAX_TABULATED_OCTAVE, MIN_ORDER};
use lrdbench_plugin_api::PluginError;

/// The reference octave: beyond it the curvature is below 1e-4 and taken as 0.
pub(crate) const REFERENCE: usize = MAX_TABULATED_OCTAVE;

/// What one filter order needs, computed once per process.
struct Tables {
    /// ln k at index k (index 0 unused).
    ln: Vec<f64>,
    /// The primes up to ℓ_8.
    primes: Vec<u32>,
    /// Every composite k up to ℓ_8, ascending, as (k, f, k/f) with f its smallest prime factor.
    composites: Vec<(u32, u32, u32)>,
    /// R_j(k) at index k − 1, k = 1..=ℓ_j, for octaves j = 1..=8 at index j − 1.
    lags: Vec<Vec<f64>>,
}

fn tables(order: usize) -> Result<&'static Tables, PluginError> {
    static TABLES: [OnceLock<Tables>; MAX_ORDER - MIN_ORDER + 1] =
        [const { OnceLock::new() }; MAX_ORDER - MIN_ORDER + 1];
    let bank = Daubechies::new(order)?;
    Ok(TABLES[order - MIN_ORDER].get_or_init(|| {
        let lags: Vec<Vec<f64>> = (1..=REFERENCE)
            .map(|j| {
                let psi = dwt::equivalent_detail_filter(bank, j);
                let phi: Vec<f64> = (0..=psi.len())
                    .map(|m| {
                        let before = if m > 0 { psi[m - 1] } else { 0.0 };
                        before - psi.get(m).copied().unwrap_or(0.0)
                    })
                    .collect();
                (1..phi.len())
                    .map(|k| {
                        phi[..phi.len() - k]
                            .iter()
                            .zip(&phi[k..])
                            .map(|(a, b)| a * b)
                            .sum()
                    })
                    .collect()
            })
            .collect();
        let top = lags.last().map_or(0, Vec::len);
        let mut smallest = vec![0usize; top + 1];
        for p in 2..=top {
            if smallest[p] == 0 {
                for m in (p * p..=top).step_by(p) {
                    if smallest[m] == 0 {
                        smallest[m] = p;
                    }
                }
            }
        }
        let primes = (2..=top)
            .filter(|&k| smallest[k] == 0)
            .map(|k| k as u32)
            .collect();
        let composites = (2..=top)
            .filter(|&k| smallest[k] != 0)
            .map(|k| (k as u32, smallest[k] as u32, (k / smallest[k]) as u32))
            .collect();
        let ln = (0..=top).map(|k| (k as f64).ln()).collect();
        Tables {
            ln,
            primes,
            composites,
            lags,
        }
    }))
}

/// Evaluates c_j(H) − c_ref(H) and its H-derivative for a fixed set of octaves.
pub(crate) struct FgnCurvature {
    tables: &'static Tables,
    /// The octaves asked for.
    js: Vec<usize>,
    /// k^2H at index k, reused across evaluations.
    powers: Vec<f64>,
}

impl FgnCurvature {
    /// The evaluator for db`order` and octaves `js` (octaves ≥ 8 get 0).
    pub(crate) fn new(order: usize, js: &[usize]) -> Result<Self, PluginError> {
        let tables = tables(order)?;
        Ok(FgnCurvature {
            tables,
            js: js.to_vec(),
            powers: vec![0.0; tables.ln.len()],
        })
    }

    /// c_j(h) − c_ref(h) into `c` and its derivative in h into `dc`, for each octave asked
    /// for; 0 < h < 1.
    pub(crate) fn eval(&mut self, h: f64, c: &mut [f64], dc: &mut [f64]) {
        let t = self.tables;
        let a = 2.0 * h;
        let p = &mut self.powers;
        if p.len() > 1 {
            p[1] = 1.0;
        }
        for &k in &t.primes {
            p[k as usize] = (a * t.ln[k as usize]).exp();
        }
        // Both factors are smaller than k, so ascending order has them ready.
        for &(k, f, g) in &t.composites {
            p[k as usize] = p[f as usize] * p[g as usize];
        }
        let p = &self.powers;
        // (c_j, c_j′) of unit fGn.
        let octave = |j: usize| -> (f64, f64) {
            let r = &t.lags[j - 1];
            // Four partial sums each: independent chains that vectorise.
            let (mut s0, mut s1) = ([0.0f64; 4], [0.0f64; 4]);
            let (rc, pc, lc) = (
                r.chunks_exact(4),
                p[1..=r.len()].chunks_exact(4),
                t.ln[1..=r.len()].chunks_exact(4),
            );
            let (rt, pt, lt) = (rc.remainder(), pc.remainder(), lc.remainder());
            for ((rk, pk), lk) in rc.zip(pc).zip(lc) {
                for i in 0..4 {
                    let w = rk[i] * pk[i];
                    s0[i] += w;
                    s1[i] += w * lk[i];
                }
            }
            let (mut s0, mut s1) = (s0.iter().sum::<f64>(), s1.iter().sum::<f64>());
            for ((rk, pk), lk) in rt.iter().zip(pt).zip(lt) {
                let w = rk * pk;
                s0 += w;
                s1 += w * lk;
            }
            // E d² = −s0, ∂E d²/∂H = −2 s1.
            let j = j as f64;
            let ln2 = std::f64::consts::LN_2;
            (
                (-s0).log2() - (a - 1.0) * j,
                2.0 * s1 / (s0 * ln2) - 2.0 * j,
            )
        };
        let (c_ref, dc_ref) = octave(REFERENCE);
        for ((&j, c), dc) in self.js.iter().zip(c.iter_mut()).zip(dc.iter_mut()) {
            (*c, *dc) = if j >= REFERENCE {
                (0.0, 0.0)
            } else {
                let (v, d) = octave(j);
                (v - c_ref, d - dc_ref)
            };
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use lrdbench_numerics::fgn::autocovariance_row;

    /// c_j(H) by the γ-form γ(0) r_j(0) + 2 Σ_k γ(k) r_j(k): fGn's autocovariance (accurate
    /// to a few ulps at every lag) against the filter autocorrelation of `dwt`.
    pub(crate) fn c_direct(h: f64, order: usize, j: usize) -> f64 {
        let r = dwt::detail_autocorrelation(order, j).unwrap();
        let gamma = autocovariance_row(h, r.len()).unwrap();
        let v = gamma[0] * r[0]
            + 2.0
                * r[1..]
                    .iter()
                    .zip(&gamma[1..])
                    .map(|(a, b)| a * b)
                    .sum::<f64>();
        v.log2() - (2.0 * h - 1.0) * j as f64
    }

    #[test]
    fn matches_the_autocovariance_form_for_every_filter_and_octave() {
        // Both forms sum ~ℓ products that cancel down to E d² (the φ-form more, through the
        // vanishing moments of R_j); 1e-9 in c (log2 units) bounds either's rounding with
        // room, and is 7 orders below the standard error of any Ĥ it feeds.
        let mut worst = 0.0f64;
        for order in MIN_ORDER..=MAX_ORDER {
            let js: Vec<usize> = (1..=10).collect();
            let mut eval = FgnCurvature::new(order, &js).unwrap();
            let (mut c, mut dc) = (vec![0.0; js.len()], vec![0.0; js.len()]);
            for h in [0.005, 0.05, 0.2, 0.5, 0.7, 0.9, 0.995] {
                eval.eval(h, &mut c, &mut dc);
                let reference = c_direct(h, order, REFERENCE);
                for (&j, got) in js.iter().zip(&c) {
                    let want = if j >= REFERENCE {
                        0.0
                    } else {
                        c_direct(h, order, j) - reference
                    };
                    worst = worst.max((got - want).abs());
                    assert!(
                        (got - want).abs() < 1e-9,
                        "db{order} H={h} j={j}: {got} vs {want}"
                    );
                }
            }
        }
        eprintln!("largest |Δc| against the γ-form: {worst:.2e}");
    }

    #[test]
    fn derivative_matches_richardson_differences() {
        // c is computed to ~1e-12 (previous test), so a difference quotient with step δ carries
        // ~1e-12/δ of rounding: δ = 1e-3 with Richardson extrapolation (error O(δ⁴ c⁽⁵⁾), c
        // smooth on (0, 1)) keeps both parts below 1e-8; 1e-6 relative leaves room.
        let js = [1, 2, 3, 5, 7, 8];
        for order in [2, 4, 8] {
            let mut eval = FgnCurvature::new(order, &js).unwrap();
            let (mut c, mut dc, mut scratch) = ([0.0; 6], [0.0; 6], [0.0; 6]);
            let mut quotient = |h: f64, step: f64| {
                let (mut up, mut down) = ([0.0; 6], [0.0; 6]);
                eval.eval(h + step, &mut up, &mut scratch);
                eval.eval(h - step, &mut down, &mut scratch);
                let mut q = [0.0; 6];
                for i in 0..6 {
                    q[i] = (up[i] - down[i]) / (2.0 * step);
                }
                q
            };
            for h in [0.05, 0.3, 0.5, 0.8, 0.95] {
                let (coarse, fine) = (quotient(h, 2e-3), quotient(h, 1e-3));
                let mut exact = FgnCurvature::new(order, &js).unwrap();
                exact.eval(h, &mut c, &mut dc);
                for i in 0..js.len() {
                    let numeric = (4.0 * fine[i] - coarse[i]) / 3.0;
                    assert!(
                        (dc[i] - numeric).abs() < 1e-6 * dc[i].abs().max(1.0),
                        "db{order} H={h} j={}: {} vs {numeric}",
                        js[i],
                        dc[i]
                    );
                }
            }
        }
    }
}
