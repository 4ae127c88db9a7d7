//! The generalised Hurst exponent: scaling of the q-th absolute moment of path increments.

use lrdbench_numerics::cpu::Avx2Fma;
use lrdbench_numerics::lanes::zip_sum;
use lrdbench_numerics::prefix::shifted_sum;
use lrdbench_numerics::scaling::{fit_hurst, HurstFit, SlopeMap};
use lrdbench_numerics::{ladder, validate, vmath};
use lrdbench_plugin_api::PluginError;

use super::path::{
    check_not_constant, check_not_straight, checked_mean, demeaned_path, LaneRows, Row, LANE_BLOCK,
};
use super::{check_level, corrected_fit, Demeaning, Input};

/// Settings of [`ghe`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GheConfig {
    /// What the series is.
    pub input: Input,
    /// Moment order q (> 0; H(2) is the Hurst exponent of a Gaussian process).
    pub q: f64,
    /// Number of lags, spread evenly in log scale from 1 to `max_lag`.
    pub lags: usize,
    /// Largest lag; `None` is min(64, n/8).
    pub max_lag: Option<usize>,
    /// Correction for the demeaned path.
    pub correction: Demeaning,
    /// Nominal level of the regression interval.
    pub level: f64,
}

/// Smallest series [`ghe`] accepts.
pub const GHE_MIN_N: usize = 128;

/// Estimates the generalised Hurst exponent H(q).
///
/// # Formula
///
/// ```text
/// X the path; K_q(τ) = mean_t |X_{t+τ} − X_t|^q  over t = 0..N−1−τ
/// log K_q(τ) = c + q H(q) log τ
/// fgn correction: log K_q(τ) − (q/2) log c(τ, H) on the left, iterated in H, where c is the
///   factor by which demeaning lowers E(X_{t+τ} − X_t)² under fGn (exact for q = 2, the
///   Gaussian moment scaling for other q)
/// ```
///
/// # Reference
///
/// Di Matteo, Aste & Dacorogna (2003), Physica A 324, 183, eq. 1; Di Matteo (2007),
/// Quantitative Finance 7(1), 21.
///
/// # Complexity
///
/// O(n) per lag, O(n · lags) in all (16 lags by default, 14 distinct once rounded to
/// integers). At q = 2 with AVX2 and FMA x is read once: a four-lane layout of the path of
/// the increments less the mean of the first `SHIFT_TERMS` is built chunk by chunk, every
/// lag but the first is swept over each chunk while it is in cache, and the exact mean, its
/// correction of every moment and the finiteness check come from the sums and the rows at
/// both ends (see `square_moments`); a non-finite value or a correction that would cancel
/// takes the validating two-pass route instead. Otherwise two streaming passes build the
/// flat path. At n = 65,536 the lag sweeps take about two thirds of the time and the lane
/// build a fifth; the fGn correction and the fit take most of the rest (about 8%).
///
/// # Accuracy
///
/// n ≥ 128; lags 1 to min(64, n/8) by default (Di Matteo et al. fit lags up to about 20;
/// lrdbench 2.0 goes to n/8, which on fGn at n = 4096 doubled the MAE: 0.030 against 0.016). The path is built from demeaned increments, which pulls K_q down
/// at the largest lags for H near 1 (uncorrected bias −0.08 at H = 0.9, n = 4096); the fGn
/// correction removes it.
///
/// # Errors
///
/// `invalid_input` for non-finite or constant series (or a straight-line path);
/// `insufficient_data` below [`GHE_MIN_N`] or with fewer than 3 lags; `parameter` for
/// q ≤ 0 or a bad level.
///
/// # Examples
///
/// ```
/// use lrdbench_plugin_geometric::kernel::{ghe::{ghe, GheConfig}, Demeaning, Input};
/// let x = lrdbench_numerics::fgn::fgn(0.3, 4096, 1).unwrap();
/// let cfg = GheConfig { input: Input::Increments, q: 2.0, lags: 16, max_lag: None,
///                     correction: Demeaning::Fgn, level: 0.95 };
/// assert!((ghe(&x, &cfg).unwrap().h - 0.3).abs() < 0.1);
/// ```
pub fn ghe(x: &[f64], cfg: &GheConfig) -> Result<HurstFit, PluginError> {
    let n = match cfg.input {
        Input::Increments => x.len() + 1,
        Input::Path => x.len(),
    };
    let max_lag = cfg.max_lag.unwrap_or((n / 8).min(64)).min(n / 2);
    let lags = ladder::log_spaced(1, max_lag.max(1), cfg.lags);
    // At q = 2 the first read of x builds the path and sweeps it; the mean comes out of the
    // same pass (and a non-finite value as a non-finite sum). Anything unusual (a bad value,
    // a bad setting, cancellation) takes the validating route below, which reports the same
    // errors in the same order as it always has.
    let fused = match &lags {
        Ok(lags) if cfg.q == 2.0 && x.len() >= GHE_MIN_N && check_level(cfg.level).is_ok() => {
            square_moments(x, cfg.input, provisional_shift(x, cfg.input), lags)
        }
        _ => None,
    };
    let moments = match fused {
        Some(sq) => {
            // The sums are finite, so every value is: only these checks of `checked_mean`
            // remain.
            check_not_constant(x, "ghe")?;
            check_not_straight(x, cfg.input, sq.mean, "ghe")?;
            sq.k
        }
        None => {
            let mean = checked_mean(x, cfg.input, GHE_MIN_N, "ghe")?;
            check_level(cfg.level)?;
            validate::require(cfg.q.is_finite() && cfg.q > 0.0, || {
                format!("q must be positive, got {}", cfg.q)
            })?;
            check_not_straight(x, cfg.input, mean, "ghe")?;
            let lags = lags.as_deref().map_err(Clone::clone)?;
            let fast = if cfg.q == 2.0 {
                square_moments(x, cfg.input, mean, lags)
            } else {
                None
            };
            match fast {
                Some(sq) => sq.k,
                None => moments(&demeaned_path(x, cfg.input, mean), lags, cfg.q),
            }
        }
    };
    let lags = lags.as_deref().map_err(Clone::clone)?;
    let (mut lx, mut ly) = (
        Vec::with_capacity(lags.len()),
        Vec::with_capacity(lags.len()),
    );
    for (tau, k) in lags.iter().zip(moments) {
        if k > 0.0 {
            lx.push(*tau as f64);
            ly.push(k);
        }
    }
    vmath::ln_in_place(&mut ly);
    let map = SlopeMap {
        factor: 1.0 / cfg.q,
        offset: 0.0,
    };
    let labels = ("log τ", "log K_q(τ)");
    match cfg.correction {
        Demeaning::None => {
            vmath::ln_in_place(&mut lx);
            fit_hurst(lx, ly, labels, map, cfg.level)
        }
        Demeaning::Fgn => corrected_fit(&lx, &ly, n - 1, cfg.q, labels, map, cfg.level),
    }
}

/// K_q(τ) of the path `p` for every lag of `lags` (each below `p.len()`), by [`moment`].
pub(crate) fn moments(p: &[f64], lags: &[usize], q: f64) -> Vec<f64> {
    lags.iter().map(|tau| moment(p, *tau, q)).collect()
}

/// K_2(τ) of the demeaned path and the mean it was taken about, from [`square_moments`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SquareMoments {
    /// K_2(τ) for each lag, in the order of the lags.
    pub k: Vec<f64>,
    /// The mean of the increments (of x for [`Input::Increments`]).
    pub mean: f64,
}

/// Increments the provisional shift of [`ghe`] averages (the first 16 KiB of x; they stay in
/// cache for the build that follows).
pub(crate) const SHIFT_TERMS: usize = 2048;

/// A shift close to the mean of the increments of `x`, from its first [`SHIFT_TERMS`]
/// increments (the fused route of [`square_moments`] corrects for the rest exactly; the
/// closer the shift, the less that correction cancels). `x` must hold at least two values.
pub(crate) fn provisional_shift(x: &[f64], input: Input) -> f64 {
    match input {
        Input::Increments => {
            let k = x.len().min(SHIFT_TERMS);
            x[0] + shifted_sum(&x[..k], x[0]) / k as f64
        }
        Input::Path => {
            let k = (x.len() - 1).min(SHIFT_TERMS);
            (x[k] - x[0]) / k as f64
        }
    }
}

/// Largest ratio of the magnitudes of the terms of the mean correction of [`square_moments`]
/// to its result. The raw sum of squares is accurate to about √(n/16) ε relative (16 lanes
/// of plain sums, ≲ 3e-14 at n = 2^20) and the correction terms to a few ε, so the result
/// holds ≲ 3e-11 relative, well inside the 1e-9 the fast paths are held to. On a stationary
/// series shifted by the mean of its first [`SHIFT_TERMS`] increments the ratio is a few at
/// most; beyond the bound (a level shift far into the series) the caller takes the exact
/// mean first.
pub(crate) const CANCELLATION: f64 = 1e3;

/// K_2(τ) for every lag of `lags` (each ≥ 1) of the path of the demeaned increments of `x`,
/// and their mean, building the lanes from the increments less a constant `shift` (any
/// finite value near the mean: [`provisional_shift`], or the mean from [`checked_mean`]).
/// `None` without AVX2 and FMA, for a series too short for the lane layout, for a non-finite
/// sum (a non-finite value in `x`, or an overflow) or where the mean correction cancels
/// beyond [`CANCELLATION`]; the caller then validates x, takes the mean and tries again with
/// it, or builds the flat path and uses [`moments`].
///
/// The path is built as [`LaneRows`] in chunks of [`CHUNK_ROWS`] rows, and every lag is swept
/// over a chunk while it is in the first-level cache, so the layout is never written out
/// whole. A sweep carries up to [`LAG_GROUP`] lags: each aligned row of four path values is
/// loaded once for the group, and each lag adds one aligned load (folded into the
/// subtraction), one subtraction and one fused multiply-add per four points. Lag 1 needs no
/// sweep: its sum is Σ z² of the shifted increments, which the build takes on the way.
///
/// With δ = x̄ − `shift`, the shifted path is P'_t = P_t + tδ, so with D'_t = P'_{t+τ} − P'_t
///
/// ```text
/// Σ_t (P_{t+τ} − P_t)² = Σ_t (D'_t − τδ)² = Σ D'_t² − 2τδ Σ D'_t + (N − τ) τ² δ²
/// Σ_{t=0}^{N−1−τ} D'_t = Σ_{t=N−τ}^{N−1} P'_t − Σ_{t=0}^{τ−1} P'_t
/// ```
///
/// and δ = P'_{N−1} / (N − 1): the mean, the correction and the check for finiteness cost
/// O(τ) beside the one pass over x.
///
/// The sweep runs at the fused multiply-add floor: one multiply-add per lag and row is needed
/// by any form of the sum, and on cores with separate add pipes (Zen 3) the subtraction costs
/// nothing beside it. Expanding (X_{t+τ} − X_t)² into two prefix sums of X² and a lagged dot
/// product removes the subtraction but not the multiply-add, and measured no faster there,
/// while it adds cancellation of order (chunk/τ)^{2H}; so the difference form stays.
/// Building the rows inside the sweep's loop instead of chunk by chunk gains nothing there
/// either: the subtraction per lag and row keeps both add pipes as busy as the multiply-add
/// pipes, so the build's additions and shuffles find no idle port, and the lags'
/// accumulators and the build's state do not fit in the sixteen vector registers together
/// (with two lags in the build's loop it measured 15% slower).
pub(crate) fn square_moments(
    x: &[f64],
    input: Input,
    shift: f64,
    lags: &[usize],
) -> Option<SquareMoments> {
    let reach = lags.iter().copied().max()?;
    if lags.contains(&0) || !shift.is_finite() {
        return None;
    }
    let mut lanes = LaneRows::new(x, input, shift, reach)?;
    let swept: Vec<usize> = lags.iter().copied().filter(|t| *t > 1).collect();
    let mut sums = vec![0.0; swept.len()];
    // `ends[j]` = Σ_{t < N − τ} D'_t for lags[j], `ends[lags.len()]` = P'_{N−1}.
    let mut ends = vec![0.0; lags.len() + 1];
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `lanes.cpu()` proves that the CPU executes AVX2 and FMA.
    unsafe {
        sweep_chunks(
            lanes.cpu(),
            &mut lanes,
            &swept,
            reach,
            &mut sums,
            lags,
            &mut ends,
        )
    };
    let lag_one = lanes.square_sum()?;
    let steps = (lanes.len() - 1) as f64;
    let delta = ends[lags.len()] / steps;
    if !delta.is_finite() {
        return None;
    }
    let mut next = sums.iter();
    let mut k = Vec::with_capacity(lags.len());
    for (tau, drift) in lags.iter().zip(&ends) {
        let raw = if *tau == 1 { lag_one } else { *next.next()? };
        let (t, m) = (*tau as f64, (lanes.len() - tau) as f64);
        let cross = 2.0 * t * delta * drift;
        let square = m * (t * delta) * (t * delta);
        let sum = raw - cross + square;
        // A non-finite or non-positive sum, or one that cancels, goes the exact way (the
        // comparison is false for NaN).
        if !(sum > 0.0 && sum.is_finite() && raw + cross.abs() + square <= CANCELLATION * sum) {
            return None;
        }
        k.push(sum / m);
    }
    Some(SquareMoments {
        k,
        mean: shift + delta,
    })
}

/// Rows per chunk of [`square_moments`] (16 KiB of rows plus the lags' overhang stay in the
/// 32 KiB first-level cache next to the input being read).
pub(crate) const CHUNK_ROWS: usize = 512;

/// Most lags one sweep of [`square_moments`] carries (one accumulator each, plus the row
/// and the difference, of the sixteen vector registers).
pub(crate) const LAG_GROUP: usize = 13;

/// `sums[j] = Σ_t (X_{t + lags[j]} − X_t)²` over all t, building the rows of `lanes` chunk by
/// chunk and sweeping every lag over each chunk; then `ends[j] = Σ_t (X_{t + all[j]} − X_t)`
/// (each lag ≤ `reach`) and `ends[all.len()]` = X_{N−1}, from the rows at both ends.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn sweep_chunks(
    _cpu: Avx2Fma,
    lanes: &mut LaneRows,
    lags: &[usize],
    reach: usize,
    sums: &mut [f64],
    all: &[usize],
    ends: &mut [f64],
) {
    let (s, r) = (lanes.segment(), lanes.rows());
    // A chunk is at least as long as the overhang it carries to the next, so the copy never
    // costs more than the sweep.
    let chunk = CHUNK_ROWS.max(reach);
    let mut buf = vec![Row::default(); chunk + reach + LANE_BLOCK + 1];
    let mut acc = vec![Row::default(); lags.len()];
    // Groups of near-equal size.
    let groups = lags.len().div_ceil(LAG_GROUP).max(1);
    // `buf[0]` is row `base`.
    let mut base = 0;
    let mut c0 = 0;
    while c0 < s {
        let c1 = (c0 + chunk).min(s);
        // Rows up to c1 − 1 + reach; the last chunk also holds the rows of the tail.
        let need = if c1 == s { r } else { (c1 + reach).min(r) };
        let b = lanes.built();
        lanes.build_to(need, &mut buf[b - base..]);
        let mut start = 0;
        for g in 0..groups {
            let end = lags.len() * (g + 1) / groups;
            // SAFETY: AVX2 and FMA (`_cpu`); rows c0 − base .. c1 − base +
            // reach of `buf` are built (`need` above), and every lag is ≤ reach.
            unsafe {
                sweep_group(
                    &buf[c0 - base..],
                    c1 - c0,
                    &lags[start..end],
                    &mut acc[start..end],
                )
            };
            start = end;
        }
        if c0 == 0 {
            // X_t for t < reach: lane 0 of the first rows, here only until the first copy.
            // `ends[j]` takes −Σ_{t<τ} X_t now and the other end after the last chunk.
            let mut head = 0.0;
            let mut at = 0;
            let mut order: Vec<usize> = (0..all.len()).collect();
            order.sort_unstable_by_key(|j| all[*j]);
            for j in order {
                while at < all[j] {
                    head += buf[at].0[0];
                    at += 1;
                }
                ends[j] = -head;
            }
        }
        if c1 < s {
            let built = lanes.built();
            buf.copy_within(c1 - base..built - base, 0);
            base = c1;
        }
        c0 = c1;
    }
    for ((sum, a), tau) in sums.iter_mut().zip(&acc).zip(lags) {
        // t from 4S on: lane 3, row t − 3S (all rows are built, from `base` on).
        let tail: f64 = (s..lanes.len() - 3 * s - tau)
            .map(|i| (buf[i + tau - base].0[3] - buf[i - base].0[3]).powi(2))
            .sum();
        let v = a.0;
        *sum = (v[0] + v[1]) + (v[2] + v[3]) + tail;
    }
    // X_{3S} from the first three segments (row S, still held: the last chunk starts below
    // S), then X_t = X_{3S} + lane 3 of row t − 3S for the last `reach` values.
    let at_s = buf[s - base].0;
    let x3s = (at_s[0] + at_s[1]) + at_s[2];
    let n = lanes.len();
    let last = |t: usize| x3s + buf[t - 3 * s - base].0[3];
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.sort_unstable_by_key(|j| all[*j]);
    let (mut tail, mut from) = (0.0, n);
    for j in order {
        while from > n - all[j] {
            from -= 1;
            tail += last(from);
        }
        ends[j] += tail;
    }
    ends[all.len()] = last(n - 1);
}

/// Adds `Σ_{i < count} (rows[i + lags[j]] − rows[i])²` lane-wise to `acc[j]`, for up to
/// [`LAG_GROUP`] lags with `rows` holding `count + max lag` rows.
///
/// # Safety
///
/// The CPU must execute AVX2 and FMA, `acc` must hold at least `lags.len()` rows, and
/// `count + τ ≤ rows.len()` for every τ in `lags`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn sweep_group(rows: &[Row], count: usize, lags: &[usize], acc: &mut [Row]) {
    type Sweep = unsafe fn(&[Row], usize, &[usize], &mut [Row]);
    let sweep: Sweep = match lags.len() {
        0 => return,
        1 => sweep_lags::<1>,
        2 => sweep_lags::<2>,
        3 => sweep_lags::<3>,
        4 => sweep_lags::<4>,
        5 => sweep_lags::<5>,
        6 => sweep_lags::<6>,
        7 => sweep_lags::<7>,
        8 => sweep_lags::<8>,
        9 => sweep_lags::<9>,
        10 => sweep_lags::<10>,
        11 => sweep_lags::<11>,
        12 => sweep_lags::<12>,
        _ => sweep_lags::<LAG_GROUP>,
    };
    // SAFETY: this function's own contract, passed on; the chosen G is at most `lags.len()`.
    unsafe { sweep(rows, count, lags, acc) }
}

/// [`sweep_group`] for exactly G lags (the first G of `lags`).
///
/// # Safety
///
/// As for [`sweep_group`], with `lags` and `acc` holding at least G entries.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn sweep_lags<const G: usize>(rows: &[Row], count: usize, lags: &[usize], acc: &mut [Row]) {
    use std::arch::x86_64::*;
    let mut tau = [0usize; G];
    tau.copy_from_slice(&lags[..G]);
    debug_assert!(tau.iter().all(|t| count + t <= rows.len()));
    let base = rows.as_ptr().cast::<f64>();
    // SAFETY: `acc` holds G rows.
    let mut a: [__m256d; G] =
        std::array::from_fn(|j| unsafe { _mm256_loadu_pd(acc[j].0.as_ptr()) });
    for i in 0..count {
        // SAFETY: i + τ_j < count + τ_j ≤ rows.len() (the caller's contract), and rows are
        // 32-byte aligned.
        unsafe {
            let lo = _mm256_load_pd(base.add(4 * i));
            for j in 0..G {
                // X_t − X_{t+τ} (the square is the same) lets the load fold into the
                // subtraction as its memory operand: one instruction fewer per lag.
                let d = _mm256_sub_pd(lo, _mm256_load_pd(base.add(4 * (i + tau[j]))));
                a[j] = _mm256_fmadd_pd(d, d, a[j]);
            }
        }
    }
    for j in 0..G {
        // SAFETY: `acc[j]` holds four f64.
        unsafe { _mm256_storeu_pd(acc[j].0.as_mut_ptr(), a[j]) };
    }
}

/// K_q(τ) of the path `p`.
pub(crate) fn moment(p: &[f64], tau: usize, q: f64) -> f64 {
    let m = p.len() - tau;
    let (hi, lo) = (&p[tau..], &p[..m]);
    let s = if q == 2.0 {
        zip_sum(hi, lo, |a, b| (a - b) * (a - b))
    } else if q == 1.0 {
        zip_sum(hi, lo, |a, b| (a - b).abs())
    } else {
        zip_sum(hi, lo, |a, b| (a - b).abs().powf(q))
    };
    s / m as f64
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use lrdbench_numerics::cpu::Avx2Fma;

    fn naive(p: &[f64], tau: usize, q: f64) -> f64 {
        let m = p.len() - tau;
        (0..m)
            .map(|i| (p[i + tau] - p[i]).abs().powf(q))
            .sum::<f64>()
            / m as f64
    }

    fn fgn_path(h: f64, n: usize, seed: u64) -> Vec<f64> {
        let z = lrdbench_numerics::fgn::fgn(h, n, seed).unwrap();
        let mean = checked_mean(&z, Input::Increments, 8, "t").unwrap();
        demeaned_path(&z, Input::Increments, mean)
    }

    #[test]
    fn moment_matches_single_accumulator_sum() {
        // The eight-lane sum against the plain definition, 1e-9 relative (the issue's bound
        // for fast paths), for every q branch and lags that leave remainders.
        let p = fgn_path(0.8, 5003, 2);
        for q in [1.0, 2.0, 0.7] {
            for tau in [1usize, 3, 9, 64] {
                let want = naive(&p, tau, q);
                let fast = moment(&p, tau, q);
                assert!(((fast - want) / want).abs() < 1e-9, "q={q} tau={tau}");
            }
        }
    }

    #[test]
    fn lane_sweeps_match_the_definition() {
        // `square_moments` (where the CPU has AVX2 and FMA) against the definition on the flat
        // path, 1e-9 relative: group sizes 1 to 13 and two groups (20 lags), lag 1 (from the
        // squared increments) present or absent, a reach longer than a chunk, lengths that
        // leave every remainder of the four-row steps, of the 64-row blocks and of the
        // chunks, both input representations, and fBm riding on 1e6 read as a path, where the
        // large values must cost nothing. The flat path itself is held to a double-double
        // reference in `path`.
        let wide: Vec<usize> = (1..=20).map(|v| v * v).collect();
        let ladders: [&[usize]; 7] = [
            &[1, 2, 3, 4, 5, 7, 9, 12, 16, 21, 28, 37, 49, 64],
            &[5],
            &[1],
            &[1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144],
            &[2, 3, 4, 6, 7, 11, 17, 30, 31],
            &wide,
            &[3, 700, 701],
        ];
        let mut checked = 0;
        for (n, h) in [(1001usize, 0.3), (4099, 0.95), (70_003, 0.7)] {
            let z = lrdbench_numerics::fgn::fgn(h, n, 9).unwrap();
            let mut fbm = vec![1e6];
            for v in &z {
                fbm.push(fbm[fbm.len() - 1] + v);
            }
            for (x, input) in [(&z, Input::Increments), (&fbm, Input::Path)] {
                let mean = checked_mean(x, input, 8, "t").unwrap();
                let p = demeaned_path(x, input, mean);
                for lags in ladders {
                    let Some(got) = square_moments(x, input, mean, lags) else {
                        continue;
                    };
                    assert!((got.mean - mean).abs() <= 1e-12 * (1.0 + mean.abs()));
                    let got = got.k;
                    for (tau, g) in lags.iter().zip(&got) {
                        let want = naive(&p, *tau, 2.0);
                        assert!(((g - want) / want).abs() < 1e-9, "n={n} τ={tau} {input:?}");
                    }
                    checked += 1;
                }
            }
        }
        // Without AVX2 and FMA there is nothing to compare; with them every ladder fits.
        if Avx2Fma::detect().is_some() {
            assert_eq!(checked, 42);
        }
    }

    #[test]
    fn lane_sweeps_hold_at_the_largest_length_and_hurst() {
        // n = 2^20 at H = 0.95, where the path grows largest against its increments (|X| up to
        // about n^H ≈ 5e5 against unit steps), with the default ladder and the lags of 2^20/8
        // clipped to 64: the sweep against a compensated sum of the same differences on the
        // flat path, 1e-9 relative. Both sides difference path values that each carry about
        // one ulp of |X| (≈ 1e-10), far below the bound even for the smallest lag, and the
        // compensated sum adds nothing; a plain sum of 2^20 terms could drift by n·ε ≈ 2e-10
        // relative, which is why the reference is compensated. fBm riding on 1e6 as a path
        // checks that the large offset still cancels.
        let n = 1 << 20;
        let z = lrdbench_numerics::fgn::fgn(0.95, n, 4).unwrap();
        let fbm: Vec<f64> = std::iter::once(1e6)
            .chain(z.iter().scan(1e6, |a, v| {
                *a += v;
                Some(*a)
            }))
            .collect();
        let lags = ladder::log_spaced(1, 64, 16).unwrap();
        for (x, input) in [(&z, Input::Increments), (&fbm, Input::Path)] {
            let mean = checked_mean(x, input, 8, "t").unwrap();
            let Some(got) = square_moments(x, input, mean, &lags).map(|s| s.k) else {
                assert!(Avx2Fma::detect().is_none());
                return;
            };
            let p = demeaned_path(x, input, mean);
            for (tau, g) in lags.iter().zip(&got) {
                let m = p.len() - tau;
                let want = lrdbench_numerics::prefix::neumaier_sum(
                    (0..m).map(|i| (p[i + tau] - p[i]).powi(2)),
                ) / m as f64;
                assert!(((g - want) / want).abs() < 1e-9, "τ={tau} {input:?}");
            }
        }
    }

    /// K_2 of every lag on the flat path of the increments demeaned by the compensated mean,
    /// each sum compensated (the independent reference of the fused route).
    fn reference_moments(x: &[f64], input: Input, lags: &[usize]) -> (Vec<f64>, f64) {
        let z: Vec<f64> = match input {
            Input::Increments => x.to_vec(),
            Input::Path => x.windows(2).map(|w| w[1] - w[0]).collect(),
        };
        let mean = lrdbench_numerics::prefix::neumaier_sum(z.iter().copied()) / z.len() as f64;
        let p = demeaned_path(x, input, mean);
        let k = lags
            .iter()
            .map(|tau| {
                let m = p.len() - tau;
                lrdbench_numerics::prefix::neumaier_sum((0..m).map(|i| (p[i + tau] - p[i]).powi(2)))
                    / m as f64
            })
            .collect();
        (k, mean)
    }

    #[test]
    fn fused_mean_matches_the_definition() {
        // The fused route (lanes built about the mean of the first increments, the exact mean
        // applied afterwards) against compensated sums on the flat path demeaned by the
        // compensated mean, 1e-9 relative (the bound of the fast paths): stationary fGn from
        // anti-persistent to H = 0.95 (where the first increments' mean is furthest from the
        // whole series'), on a mean of 1e6 (the shift must absorb it) and as fBm riding on
        // 1e6, for lengths below and above one chunk of the shift. On such series the
        // correction never cancels past the bound, so the route must not decline.
        let lags = ladder::log_spaced(1, 64, 16).unwrap();
        for (n, h) in [(1000usize, 0.1), (4099, 0.5), (70_003, 0.95), (65_536, 0.7)] {
            let z = lrdbench_numerics::fgn::fgn(h, n, 11).unwrap();
            let offset: Vec<f64> = z.iter().map(|v| v + 1e6).collect();
            let fbm: Vec<f64> = std::iter::once(1e6)
                .chain(z.iter().scan(1e6, |a, v| {
                    *a += v;
                    Some(*a)
                }))
                .collect();
            for (x, input) in [
                (&z, Input::Increments),
                (&offset, Input::Increments),
                (&fbm, Input::Path),
            ] {
                let shift = provisional_shift(x, input);
                let Some(got) = square_moments(x, input, shift, &lags) else {
                    assert!(
                        Avx2Fma::detect().is_none(),
                        "n={n} H={h} {input:?} declined"
                    );
                    return;
                };
                let (want, mean) = reference_moments(x, input, &lags);
                assert!(
                    (got.mean - mean).abs() <= 1e-12 * (1.0 + mean.abs()),
                    "n={n} H={h}: mean {} vs {mean}",
                    got.mean
                );
                for ((tau, g), w) in lags.iter().zip(&got.k).zip(&want) {
                    assert!(((g - w) / w).abs() < 1e-9, "n={n} H={h} τ={tau} {input:?}");
                }
            }
        }
    }

    #[test]
    fn fused_mean_declines_where_the_correction_cancels() {
        // The correction cancels by about n / SHIFT_TERMS at most when the shift is the mean
        // of the first SHIFT_TERMS increments (for lag 1, Σ (z − x̄)² ≥ SHIFT_TERMS δ² by
        // Cauchy–Schwarz), so it takes 2^22 terms to pass the bound: a burst of 1e5 standard
        // deviations over exactly those first increments, then uniform noise. The route must
        // decline, as it must for a shift far from the mean on any series; with the exact
        // mean as the shift it holds 1e-9, and `ghe` (which falls back to it) gives the
        // least-squares slope of the reference moments to 1e-8 (the moments' 1e-9, carried
        // through a logarithm and a slope over log τ spanning ln 64).
        let lags = ladder::log_spaced(1, 64, 16).unwrap();
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut x: Vec<f64> = (0..1 << 22)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
            })
            .collect();
        for v in &mut x[..SHIFT_TERMS] {
            *v += 1e5;
        }
        let shift = provisional_shift(&x, Input::Increments);
        assert!(square_moments(&x, Input::Increments, shift, &lags).is_none());
        assert!(square_moments(&x[SHIFT_TERMS..], Input::Increments, 1e3, &lags).is_none());
        let (want, mean) = reference_moments(&x, Input::Increments, &lags);
        match square_moments(&x, Input::Increments, mean, &lags) {
            Some(got) => {
                assert!((got.mean - mean).abs() <= 1e-12 * mean.abs());
                for ((tau, g), w) in lags.iter().zip(&got.k).zip(&want) {
                    assert!(((g - w) / w).abs() < 1e-9, "τ={tau}");
                }
            }
            None => assert!(Avx2Fma::detect().is_none()),
        }
        let cfg = GheConfig {
            input: Input::Increments,
            q: 2.0,
            lags: 16,
            max_lag: None,
            correction: Demeaning::None,
            level: 0.95,
        };
        // Demeaning::None fits log K against log τ directly: the slope from the reference
        // moments, by ordinary least squares, is the estimate (times 1/q).
        let lx: Vec<f64> = lags.iter().map(|t| (*t as f64).ln()).collect();
        let ly: Vec<f64> = want.iter().map(|k| k.ln()).collect();
        let (mx, my) = (
            lx.iter().sum::<f64>() / lx.len() as f64,
            ly.iter().sum::<f64>() / ly.len() as f64,
        );
        let sxy: f64 = lx.iter().zip(&ly).map(|(a, b)| (a - mx) * (b - my)).sum();
        let sxx: f64 = lx.iter().map(|a| (a - mx).powi(2)).sum();
        let h = ghe(&x, &cfg).unwrap().h;
        assert!(
            (h - sxy / sxx / 2.0).abs() < 1e-8,
            "{h} vs {}",
            sxy / sxx / 2.0
        );
    }

    #[test]
    fn non_finite_values_anywhere_are_invalid_input() {
        // The fused route has no separate validating pass: a NaN or an infinity at the first,
        // a middle or the last position must still give the validator's error, for both
        // representations and whichever route the CPU takes.
        use lrdbench_plugin_api::ErrorKind;
        let z = lrdbench_numerics::fgn::fgn(0.6, 5000, 2).unwrap();
        let cfg = |input| GheConfig {
            input,
            q: 2.0,
            lags: 16,
            max_lag: None,
            correction: Demeaning::Fgn,
            level: 0.95,
        };
        for input in [Input::Increments, Input::Path] {
            assert!(ghe(&z, &cfg(input)).is_ok());
            for at in [0, 1, 2500, 4998, 4999] {
                for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                    let mut x = z.clone();
                    x[at] = bad;
                    let err = ghe(&x, &cfg(input)).unwrap_err();
                    assert_eq!(
                        err.kind,
                        ErrorKind::InvalidInput,
                        "{input:?} at {at}: {bad}"
                    );
                    let shift = provisional_shift(&x, input);
                    let lags = ladder::log_spaced(1, 64, 16).unwrap();
                    assert!(square_moments(&x, input, shift, &lags).is_none());
                }
            }
        }
    }
}
