//! Wavelet estimator kernels: pure functions over `&[f64]` and the shared [`Config`], on the
//! boundary-free pyramid DWT of [`lrdbench_numerics::dwt`].

mod curvature;
pub mod wavelet_av;
pub mod wavelet_whittle;

use lrdbench_numerics::dwt::{detail_energies, Daubechies};
use lrdbench_plugin_api::PluginError;

pub(crate) use curvature::FgnCurvature;

/// Fewest coefficients an octave needs to enter either estimator's fit.
pub const MIN_COEFFICIENTS: usize = 4;

/// Settings of both wavelet estimators: the filter and the octaves they use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Config {
    /// Daubechies filter db`order`, 2..=8 (vanishing moments).
    pub order: usize,
    /// Finest octave used (1 = finest available).
    pub j_min: usize,
    /// Coarsest octave used; `usize::MAX` for the coarsest with at least
    /// [`MIN_COEFFICIENTS`] coefficients.
    pub j_max: usize,
    /// Treatment of the fine-octave curvature of fGn.
    pub correction: Correction,
}

impl Config {
    /// The recommended settings for db`order`: the exact fGn correction, which straightens
    /// the diagram down to octave 1, and every octave from 1 to the coarsest available.
    pub fn new(order: usize) -> Self {
        Config {
            order,
            j_min: 1,
            j_max: usize::MAX,
            correction: Correction::FgnExact,
        }
    }
}

/// The detail energy of one octave.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Octave {
    /// Octave j (1 = finest).
    pub j: usize,
    /// Number of boundary-free coefficients n_j.
    pub count: usize,
    /// Σ_k d_{j,k}².
    pub energy: f64,
}

/// The scaling points and fitted line of a log-scale diagram, for plots.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagram {
    /// Octaves j.
    pub x: Vec<f64>,
    /// log2 of the (bias-corrected) mean squared detail at each octave.
    pub y: Vec<f64>,
    /// The fitted line at `x`.
    pub fitted: Vec<f64>,
}

/// The result of a wavelet kernel.
#[derive(Debug, Clone, PartialEq)]
pub struct WaveletEstimate {
    /// The Hurst exponent H of the input read as fGn.
    pub h: f64,
    /// Its standard error (see each kernel's `# Accuracy`).
    pub stderr: f64,
    /// r² of the weighted log-scale fit, when the method is a regression.
    pub r_squared: Option<f64>,
    /// The log-scale diagram over the octaves used.
    pub diagram: Diagram,
    /// The octaves used, first and last.
    pub octaves: (usize, usize),
    /// Number of coefficients at each octave used.
    pub counts: Vec<usize>,
    /// Warnings (estimate outside (0, 1), few octaves, …).
    pub warnings: Vec<String>,
}

/// The energies of octaves `j_min..=j_max` (j_max clipped to the coarsest octave with at least
/// `min_count` coefficients), after validating the input.
pub(crate) fn octave_energies(
    x: &[f64],
    order: usize,
    j_min: usize,
    j_max: usize,
    min_count: usize,
    method: &str,
    warnings: &mut Vec<String>,
) -> Result<Vec<Octave>, PluginError> {
    let bank = Daubechies::new(order)?;
    if j_min < 1 || j_max < j_min + 1 {
        return Err(PluginError::parameter(format!(
            "{method}: octaves must satisfy 1 <= j_min < j_max, got j_min = {j_min}, j_max = {j_max}"
        )));
    }
    // Enough points for octave j_min + 1 to have min_count coefficients: the pyramid leaves
    // ⌊(len − L)/2⌋ + 1 per step.
    let l = bank.len();
    let mut need = min_count;
    for _ in 0..=j_min {
        need = 2 * (need - 1) + l;
    }
    // `validate::series` scans the whole series for non-finite values; on a long series that
    // pass costs a fair share of the transform, which reads every value anyway. So it runs
    // up front only when its cheap checks (length, constancy) fail, and otherwise only when the
    // transform shows a non-finite value: every value of the series enters octave 1 through a
    // non-zero tap, except the last when len − L is odd, so a NaN or infinity anywhere makes
    // octave 1's energy non-finite or sits in that last value.
    let validate = || lrdbench_numerics::validate::series(x, need, method);
    if x.len() < need || x.iter().all(|v| *v == x[0]) {
        validate()?;
    }
    let energies = detail_energies(x, bank, min_count)?;
    let covered = 2 * (energies[0].count - 1) + l;
    if !energies[0].energy.is_finite() || x[covered..].iter().any(|v| !v.is_finite()) {
        validate()?;
    }
    let coarsest = energies.len();
    if j_max != usize::MAX && j_max > coarsest {
        warnings.push(format!(
            "j_max = {j_max} clipped to {coarsest}, the coarsest octave with at least {min_count} coefficients"
        ));
    }
    let last = j_max.min(coarsest);
    let octaves: Vec<Octave> = (j_min..=last)
        .map(|j| Octave {
            j,
            count: energies[j - 1].count,
            energy: energies[j - 1].energy,
        })
        .collect();
    if octaves.len() < 3 {
        warnings.push(format!(
            "only {} octaves ({j_min}..{last}) in the fit: a longer series or a smaller j_min gives a steadier estimate",
            octaves.len()
        ));
    }
    if octaves
        .iter()
        .any(|o| !(o.energy > 0.0 && o.energy.is_finite()))
    {
        return Err(PluginError::numerical(format!(
            "{method}: an octave has zero or non-finite detail energy"
        )));
    }
    Ok(octaves)
}

/// How the departure of fGn's octave variances from an exact power law at fine octaves is
/// handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Correction {
    /// None: treat E d_j² as exactly ∝ 2^{(2H−1)j} (the original semiparametric estimators;
    /// use j_min ≥ 3 on fGn, where the curvature is below the noise at n = 4096).
    None,
    /// Remove the exact fGn curvature c_j(H) − c_8(H), c_j = log2 E d_j² − (2H − 1) j,
    /// solving for the fixed point Ĥ = estimate(corrected by c(Ĥ)) by Newton's method. E d_j² is
    /// computed exactly for fGn from the octave-j filter and the powers k^{2H} (module
    /// `curvature`).
    FgnExact,
}

/// The H range over which the fGn correction is evaluated: an estimate outside it is corrected
/// as at the nearer end.
pub(crate) const H_CLAMP: (f64, f64) = (0.005, 0.995);
/// At most this many Newton steps for the corrected fixed point Ĥ = estimate(c(Ĥ)).
pub(crate) const MAX_NEWTON_STEPS: usize = 20;
/// A Newton step below this ends the iteration with c linearised over the step: Newton's
/// error after a step δ is about |G″/2G′| δ², measured ≈ δ² on fGn, so about 1e-10 in Ĥ,
/// far below any standard error. From the uncorrected estimate this takes 2–3 evaluations.
pub(crate) const NEWTON_STEP: f64 = 1e-5;

/// Trigamma ψ′(x), x > 0: recurrence up to x ≥ 20, then the asymptotic series
/// (Abramowitz & Stegun 6.4.12) through x^−11, whose first omitted term is 691/(2730 x¹³) <
/// 4e-18; about 1e-15 relative.
pub(crate) fn trigamma(mut x: f64) -> f64 {
    let mut acc = 0.0;
    while x < 20.0 {
        acc += 1.0 / (x * x);
        x += 1.0;
    }
    let r = 1.0 / (x * x);
    acc + 1.0 / x
        + r / 2.0
        + r / x
            * (1.0 / 6.0 - r * (1.0 / 30.0 - r * (1.0 / 42.0 - r * (1.0 / 30.0 - r * 5.0 / 66.0))))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// c_j(h) − c_8(h) by the autocovariance form, independent of `FgnCurvature`.
    fn curvature_direct(h: f64, order: usize, j: usize) -> f64 {
        let h = h.clamp(H_CLAMP.0, H_CLAMP.1);
        if j >= curvature::REFERENCE {
            0.0
        } else {
            curvature::tests::c_direct(h, order, j)
                - curvature::tests::c_direct(h, order, curvature::REFERENCE)
        }
    }

    /// Independent octave energies: Σ d² over the stored coefficients of `dwt::details`.
    fn stored_energies(x: &[f64], order: usize) -> Vec<(usize, f64)> {
        let bank = Daubechies::new(order).unwrap();
        lrdbench_numerics::dwt::details(x, bank, 4)
            .unwrap()
            .iter()
            .map(|d| (d.len(), d.iter().map(|v| v * v).sum()))
            .collect()
    }

    #[test]
    fn corrected_estimates_are_fixed_points_of_the_direct_correction() {
        // Ĥ must reproduce itself when the octaves are corrected by the γ-form curvature at
        // Ĥ. Newton stops within ~1e-10 of the fixed point and c agrees with the γ-form to
        // 4e-12 (curvature tests), which moves a slope by less than 1e-10: 1e-9 has room.
        use lrdbench_numerics::regression::{wls, WeightScale};
        use lrdbench_numerics::scaling::digamma;
        let ln2 = std::f64::consts::LN_2;
        for (h, n, seed) in [
            (0.2, 4096, 3),
            (0.5, 4096, 4),
            (0.9, 8192, 5),
            (0.99, 4096, 6),
        ] {
            let x = lrdbench_numerics::fgn::fgn(h, n, seed).unwrap();
            for order in [2, 4, 7] {
                let energies = stored_energies(&x, order);
                let (mut xs, mut ys, mut ws) = (vec![], vec![], vec![]);
                let av = wavelet_av::wavelet_av(&x, &wavelet_av::Config::new(order)).unwrap();
                for (j0, &(count, energy)) in energies.iter().enumerate() {
                    let half = count as f64 / 2.0;
                    let g = digamma(half) / ln2 - half.log2();
                    xs.push((j0 + 1) as f64);
                    ys.push(
                        (energy / count as f64).log2() - g - curvature_direct(av.h, order, j0 + 1),
                    );
                    ws.push(ln2 * ln2 / trigamma(half));
                }
                let fit = wls(&xs, &ys, &ws, WeightScale::InverseVariance).unwrap();
                let again = 0.5 * (fit.slope + 1.0);
                assert!(
                    (again - av.h).abs() < 1e-9,
                    "wavelet_av db{order} H={h}: {} vs {again}",
                    av.h
                );

                // wavelet_whittle: d = Ĥ − ½ makes the contrast stationary for the energies
                // corrected at Ĥ, Σ_j u_j e^{−2d ln2 u_j} S_j 2^{−c_j} = 0.
                let ww = wavelet_whittle::wavelet_whittle(&x, &wavelet_whittle::Config::new(order))
                    .unwrap();
                let total: f64 = energies.iter().map(|e| e.0 as f64).sum();
                let jbar = energies
                    .iter()
                    .enumerate()
                    .map(|(j0, e)| (j0 + 1) as f64 * e.0 as f64)
                    .sum::<f64>()
                    / total;
                let d = ww.h - 0.5;
                let (mut num, mut den) = (0.0, 0.0);
                for (j0, &(_, energy)) in energies.iter().enumerate() {
                    let u = (j0 + 1) as f64 - jbar;
                    let c = curvature_direct(ww.h, order, j0 + 1);
                    let w = (-2.0 * d * ln2 * u).exp() * energy / c.exp2();
                    num += u * w;
                    den += u * u * w;
                }
                // A shift δ in d changes Σ u w by about −2 ln2 δ Σ u² w.
                let shift = num / (2.0 * ln2 * den);
                assert!(
                    shift.abs() < 1e-9,
                    "wavelet_whittle db{order} H={h}: off the fixed point by {shift}"
                );
            }
        }
    }

    #[test]
    fn non_finite_values_anywhere_are_invalid_input() {
        // The transform's energies stand in for the finiteness scan; the last value, outside
        // every window when len − L is odd, is checked on its own. 4097 − 8 is odd.
        use lrdbench_plugin_api::ErrorKind;
        let good = lrdbench_numerics::fgn::fgn(0.6, 4097, 1).unwrap();
        for at in [0, 1, 2048, 4095, 4096] {
            for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                let mut x = good.clone();
                x[at] = bad;
                for order in [2, 4] {
                    let a = wavelet_av::wavelet_av(&x, &wavelet_av::Config::new(order));
                    let w =
                        wavelet_whittle::wavelet_whittle(&x, &wavelet_whittle::Config::new(order));
                    for e in [a.map(|_| ()), w.map(|_| ())] {
                        let e = e.unwrap_err();
                        assert_eq!(e.kind, ErrorKind::InvalidInput, "at {at}: {e:?}");
                        assert!(e.message.contains("not finite"), "{}", e.message);
                    }
                }
            }
        }
    }

    #[test]
    fn trigamma_matches_closed_forms() {
        // ψ′(1) = π²/6, ψ′(½) = π²/2 (Abramowitz & Stegun 6.4.2, 6.4.4).
        let pi2 = std::f64::consts::PI.powi(2);
        assert!((trigamma(1.0) - pi2 / 6.0).abs() < 1e-14);
        assert!((trigamma(0.5) - pi2 / 2.0).abs() < 1e-13);
        // ψ′(x) = 1/x + 1/(2x²) + 1/(6x³) − … for large x.
        let x: f64 = 1000.0;
        assert!((trigamma(x) - (1.0 / x + 0.5 / (x * x) + 1.0 / (6.0 * x * x * x))).abs() < 1e-16);
    }
}
