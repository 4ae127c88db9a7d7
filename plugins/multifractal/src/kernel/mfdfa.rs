//! Multifractal detrended fluctuation analysis: the generalised Hurst exponents h(q).

use lrdbench_numerics::fluctuation::{Detrender, Order, Segments};
use lrdbench_numerics::lanes::map_sum;
use lrdbench_numerics::scaling::{fit_hurst_weighted, FitWeights, HurstFit, SlopeMap};
use lrdbench_numerics::special::sum_ln;
use lrdbench_numerics::{ladder, prefix, validate};
use lrdbench_plugin_api::PluginError;

/// Settings of [`mfdfa`].
#[derive(Debug, Clone, PartialEq)]
pub struct MfdfaConfig {
    /// The moment orders q (any finite values; q = 0 uses the logarithmic average).
    pub q: Vec<f64>,
    /// Detrending order (1 to 3).
    pub order: Order,
    /// Smallest box size.
    pub min_scale: usize,
    /// Largest box size; `None` is n/4.
    pub max_scale: Option<usize>,
    /// Ratio between successive box sizes.
    pub ratio: f64,
    /// Which boxes are laid over the profile.
    pub segments: Segments,
    /// Weighting of the scaling fits.
    pub fit: FitWeights,
    /// Nominal level of the regression intervals.
    pub level: f64,
}

/// The h(q) spectrum: one scaling fit per q.
#[derive(Debug, Clone, PartialEq)]
pub struct Spectrum {
    /// The q grid, in the order given.
    pub q: Vec<f64>,
    /// The fits, one per q.
    pub fits: Vec<HurstFit>,
}

impl Spectrum {
    /// h(q) for every q.
    pub fn h(&self) -> Vec<f64> {
        self.fits.iter().map(|f| f.h).collect()
    }

    /// The fit at q = 2 (the Hurst exponent), if 2 is on the grid.
    pub fn at_two(&self) -> Option<&HurstFit> {
        self.q.iter().position(|q| *q == 2.0).map(|i| &self.fits[i])
    }
}

/// Smallest series [`mfdfa`] accepts (as DFA).
pub const MFDFA_MIN_N: usize = 100;

/// Computes the MFDFA spectrum h(q).
///
/// The box variances come from the detrended-fluctuation core shared with DFA
/// (`lrdbench_numerics::fluctuation`), so h(2) equals the `dfa` estimate on the same ladder.
///
/// # Formula
///
/// ```text
/// F²(v, s) as in DFA (profile, polynomial detrending per box)
/// F_q(s) = ( mean_v [F²(v, s)]^{q/2} )^{1/q},  q ≠ 0
/// F_0(s) = exp( ½ mean_v ln F²(v, s) )
/// log F_q(s) = c_q + h(q) log s     (least squares weighted by box count, or unweighted)
/// ```
///
/// Boxes with F²(v, s) = 0 (a perfectly polynomial stretch) are left out, since negative
/// moments of them are infinite.
///
/// # Reference
///
/// Kantelhardt, Zschiegner, Koscielny-Bunde, Havlin, Bunde & Stanley (2002), "Multifractal
/// detrended fluctuation analysis of nonstationary time series", Physica A 316, 87, eqs. 1–5.
///
/// # Complexity
///
/// Order 1: O(n) set-up and O(n/s · |q|) per box size; orders 2–3 add O(n · order) per box
/// size. Memory O(n).
///
/// # Accuracy
///
/// n ≥ 100; boxes 16 to n/4. h(2) has DFA's accuracy; h(q) for |q| ≥ 5 is dominated by few
/// boxes and is noisy at n of a few thousand.
///
/// # Errors
///
/// `invalid_input` for non-finite or constant series; `insufficient_data` below
/// [`MFDFA_MIN_N`] or with fewer than 3 scales; `parameter` for an empty or non-finite q
/// grid, a bad ladder or level.
///
/// # Examples
///
/// ```
/// use lrdbench_numerics::fluctuation::{Order, Segments};
/// use lrdbench_numerics::scaling::FitWeights;
/// use lrdbench_plugin_multifractal::kernel::mfdfa::{mfdfa, MfdfaConfig};
/// let x = lrdbench_numerics::fgn::fgn(0.7, 4096, 1).unwrap();
/// let cfg = MfdfaConfig { q: vec![-2.0, 2.0], order: Order::new(1).unwrap(), min_scale: 16,
///                         max_scale: None, ratio: 1.25, segments: Segments::Forward,
///                         fit: FitWeights::BoxCount, level: 0.95 };
/// let spec = mfdfa(&x, &cfg).unwrap();
/// assert!((spec.at_two().unwrap().h - 0.7).abs() < 0.1);
/// ```
pub fn mfdfa(x: &[f64], cfg: &MfdfaConfig) -> Result<Spectrum, PluginError> {
    validate::series(x, MFDFA_MIN_N, "mfdfa")?;
    validate::require(cfg.level > 0.0 && cfg.level < 1.0, || {
        format!("level must be in (0, 1), got {}", cfg.level)
    })?;
    validate::require(
        !cfg.q.is_empty() && cfg.q.iter().all(|q| q.is_finite()),
        || "the q grid must be non-empty and finite".to_string(),
    )?;
    validate::require(cfg.min_scale >= cfg.order.get() + 2, || {
        format!(
            "min_scale must be at least order + 2 = {}, got {}",
            cfg.order.get() + 2,
            cfg.min_scale
        )
    })?;
    let n = x.len();
    let max = cfg.max_scale.unwrap_or(n / 4).min(n);
    let scales = ladder::geometric(cfg.min_scale, max, cfg.ratio)?;
    let det = Detrender::new(prefix::profile(x), cfg.order);
    let mut per_scale: Vec<Vec<f64>> = scales
        .iter()
        .map(|s| Vec::with_capacity(2 * (n / s)))
        .collect();
    // One sweep of the profile for the whole ladder.
    det.for_each_box(&scales, cfg.segments, |i, f2| {
        if f2 > 0.0 {
            per_scale[i].push(f2);
        }
    });
    let mut lx = Vec::with_capacity(scales.len());
    let mut count = Vec::with_capacity(scales.len());
    let mut ly: Vec<Vec<f64>> = vec![Vec::with_capacity(scales.len()); cfg.q.len()];
    let (mut up, mut down) = (Vec::new(), Vec::new());
    for (s, f2) in scales.iter().zip(&per_scale) {
        if f2.is_empty() {
            continue;
        }
        lx.push((*s as f64).ln());
        let m = f2.len() as f64;
        count.push(m);
        let (lo, hi) = f2
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(*v), b.max(*v))
            });
        // F relative to the largest box (for q > 0) and the smallest relative to F (q < 0):
        // both in (0, 1], so integer powers of them cannot overflow (the largest term is 1,
        // the log-sum-exp idea without a logarithm and an exponential per box and q).
        up.clear();
        up.extend(f2.iter().map(|v| (v / hi).sqrt()));
        down.clear();
        down.extend(f2.iter().map(|v| (lo / v).sqrt()));
        for (qi, q) in cfg.q.iter().enumerate() {
            let lf = if *q == 0.0 {
                0.5 * sum_ln(f2) / m
            } else {
                let (top, rel) = if *q > 0.0 { (hi, &up) } else { (lo, &down) };
                let aq = q.abs();
                let mean = if aq.fract() == 0.0 && aq <= 64.0 {
                    let k = aq as u32;
                    map_sum(rel, |g| int_pow(g, k)) / m
                } else {
                    map_sum(rel, |g| g.powf(aq)) / m
                };
                0.5 * top.ln() + mean.ln() / q
            };
            ly[qi].push(lf);
        }
    }
    let w = (cfg.fit == FitWeights::BoxCount).then_some(count.as_slice());
    let fits = ly
        .into_iter()
        .map(|y| {
            fit_hurst_weighted(
                lx.clone(),
                y,
                w,
                ("log s", "log F_q(s)"),
                SlopeMap::IDENTITY,
                cfg.level,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Spectrum {
        q: cfg.q.clone(),
        fits,
    })
}

/// g^k by squaring and multiplying: the same products, in the same order, as `powi` (so the
/// same result), but inlined with `k` fixed for the whole loop instead of a library call per
/// box.
#[inline(always)]
fn int_pow(mut g: f64, mut k: u32) -> f64 {
    let mut r = 1.0;
    while k > 0 {
        if k & 1 == 1 {
            r *= g;
        }
        g *= g;
        k >>= 1;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_pow_is_powi_bit_for_bit() {
        for i in 0..1000 {
            let g = f64::from(i) / 999.0;
            for k in 0..=64u32 {
                assert_eq!(
                    int_pow(g, k).to_bits(),
                    g.powi(k as i32).to_bits(),
                    "{g}^{k}"
                );
            }
        }
    }
}
