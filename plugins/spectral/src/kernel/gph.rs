//! The Geweke–Porter-Hudak log-periodogram regression.

use lrdbench_numerics::fft;
use lrdbench_numerics::misfit::{slope_gap, Orientation};
use lrdbench_numerics::regression::{wls, WeightScale};
use lrdbench_numerics::validate;
use lrdbench_plugin_api::PluginError;

use super::{fit_error, resolve_bandwidth, Bandwidth, FitPoints, SpectralEstimate};

/// Shortest series accepted.
pub const MIN_LENGTH: usize = 64;
/// Fewest frequencies in the regression.
pub const MIN_FREQUENCIES: usize = 4;

/// Configuration of [`gph`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Config {
    /// The bandwidth m; the usual choice is [`Bandwidth::Exponent`]\(0.5), m = ⌊√n⌋.
    pub bandwidth: Bandwidth,
    /// J, the number of adjacent ordinates pooled per regression point (1: the original GPH).
    pub pool: usize,
}

/// Estimates d = H − ½ by regressing the log-periodogram on log(4 sin²(λ/2)) over the m
/// lowest Fourier frequencies, pooled in blocks of J adjacent ordinates.
///
/// # Formula
///
/// ```text
/// Y_k = ln Σ_{j∈block k} I(λ_j),  x_k = mean_{j∈block k} ln(4 sin²(λ_j/2)),  k = 1..⌊m/J⌋
/// Y_k = c − d · x_k + e_k,   H = d + ½                  (weighted least squares)
/// Var e_k = ψ′(J) = π²/6 − Σ_{i<J} 1/i²   (log of a Gamma(J) variable)
/// se(d) = sqrt(ψ′(J) / Σ_k (x_k − x̄)²)                 (known variance, not residuals)
/// ```
///
/// J = 1 is the original GPH regression (variance π²/(24m)). Pooling J ordinates keeps the
/// bandwidth and lowers the variance by the factor J ψ′(J)/ψ′(1): 0.78 for J = 2, 0.72 for
/// J = 3, the plugin's default.
///
/// # Reference
///
/// Geweke & Porter-Hudak (1983), J. Time Ser. Anal. 4(4), eq. 2.9; Robinson (1995),
/// "Log-periodogram regression of time series with long range dependence", Ann. Statist.
/// 23(3), 1048–1072 (pooling, Theorem 3 for the variance).
///
/// # Complexity
///
/// O(n log Q + m·n/Q) time for the band of m ordinates, Q ≈ 4m (the transform pruned to the
/// band, `fft::periodogram_head_into`; about half a full FFT at m = √n), O(n) memory.
///
/// # Accuracy
///
/// n ≥ 64, m ≥ 3J. With m = √n and J = 3 the standard deviation of Ĥ is about 0.07 at
/// n = 4096 (MAE 0.064 on fGn; 0.073 unpooled); the bias on fGn is below 0.015 for H in
/// [0.2, 0.9].
///
/// # Errors
///
/// `invalid_input` for non-finite or constant input or a zero ordinate in the band,
/// `insufficient_data` below 64 points, `parameter` for a bad bandwidth or pooling.
///
/// # Examples
///
/// ```
/// use lrdbench_plugin_spectral::kernel::{gph, Bandwidth};
/// let x = lrdbench_numerics::fgn::fgn(0.8, 4096, 3).unwrap();
/// let est = gph::gph(&x, &gph::Config { bandwidth: Bandwidth::Exponent(0.5), pool: 3 }).unwrap();
/// assert_eq!(est.bandwidth, 64);
/// assert!((est.h - 0.8).abs() < 4.0 * est.stderr);
/// ```
pub fn gph(x: &[f64], cfg: &Config) -> Result<SpectralEstimate, PluginError> {
    validate::series(x, MIN_LENGTH, "gph")?;
    let n = x.len();
    let mut warnings = Vec::new();
    let m = resolve_bandwidth(
        cfg.bandwidth,
        n,
        fft::fourier_count(n),
        MIN_FREQUENCIES,
        "gph",
        &mut warnings,
    )?;
    let pool = cfg.pool;
    if !(1..=m / 3).contains(&pool) {
        return Err(PluginError::parameter(format!(
            "gph: pooling must be between 1 and m/3 = {} (at least 3 regression points), got {pool}",
            m / 3
        )));
    }
    let pgram = fft::periodogram_head(x, m)?;
    let blocks = m / pool;
    let mut lx = Vec::with_capacity(blocks);
    let mut ly = Vec::with_capacity(blocks);
    for (b, chunk) in pgram[..blocks * pool].chunks_exact(pool).enumerate() {
        let sum: f64 = chunk.iter().sum();
        if sum <= 0.0 {
            return Err(PluginError::invalid_input(format!(
                "gph: zero periodogram ordinates at frequencies {}..{}",
                b * pool + 1,
                (b + 1) * pool
            )));
        }
        let mean_x = (0..pool)
            .map(|i| {
                let s = (0.5 * fft::fourier_frequency(b * pool + i + 1, n)).sin();
                (4.0 * s * s).ln()
            })
            .sum::<f64>()
            / pool as f64;
        lx.push(mean_x);
        ly.push(sum.ln());
    }
    // ψ′(J) = π²/6 − Σ_{i<J} 1/i²: the variance of the log of a Gamma(J) variable.
    let trigamma =
        std::f64::consts::PI.powi(2) / 6.0 - (1..pool).map(|i| 1.0 / (i * i) as f64).sum::<f64>();
    let w = vec![1.0 / trigamma; blocks];
    let fit = wls(&lx, &ly, &w, WeightScale::InverseVariance).map_err(|e| fit_error("gph", e))?;
    let h = 0.5 - fit.slope;
    let fitted = lx.iter().map(|v| fit.at(*v)).collect();
    // H = ½ − slope; the abscissa grows with λ, so the finest scales come last.
    let gap = slope_gap(&lx, &ly, -1.0, Orientation::CoarseFirst);
    Ok(SpectralEstimate {
        h,
        stderr: fit.slope_stderr,
        bandwidth: m,
        r_squared: Some(fit.r_squared),
        fit: Some(FitPoints {
            x_label: "ln(4 sin²(λ/2))",
            y_label: "ln(periodogram)",
            x: lx,
            y: ly,
            fitted,
        }),
        warnings,
        gof: Vec::new(),
        gap,
    })
}
