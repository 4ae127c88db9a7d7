//! Spectral estimator kernels: pure functions over `&[f64]` and a `Config` each.
//!
//! Every kernel validates its input once (non-finite values, constant series, length) and its
//! configuration, then works on the periodogram at the Fourier frequencies
//! ([`lrdbench_numerics::fft`]).

pub mod arfima;
pub mod gph;
mod lanes;
pub mod local_whittle;
pub mod periodogram;
pub mod whittle;

use lrdbench_plugin_api::PluginError;

/// How many low Fourier frequencies a semiparametric estimator uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bandwidth {
    /// m = ⌊n^e⌋ for exponent e in (0, 1).
    Exponent(f64),
    /// m = ⌊f · (number of Fourier frequencies in (0, π))⌋ for fraction f in (0, 1].
    Fraction(f64),
    /// A fixed m.
    Fixed(usize),
}

/// The scaling points of a log-periodogram fit, for plots.
#[derive(Debug, Clone, PartialEq)]
pub struct FitPoints {
    /// What x is.
    pub x_label: &'static str,
    /// What y is.
    pub y_label: &'static str,
    /// Abscissae.
    pub x: Vec<f64>,
    /// Ordinates.
    pub y: Vec<f64>,
    /// The fitted line at `x`.
    pub fitted: Vec<f64>,
}

/// The result of a spectral kernel.
#[derive(Debug, Clone, PartialEq)]
pub struct SpectralEstimate {
    /// The Hurst exponent H (= d + ½).
    pub h: f64,
    /// Its standard error (see each kernel's `# Accuracy`).
    pub stderr: f64,
    /// Number of Fourier frequencies used.
    pub bandwidth: usize,
    /// r² of the log-periodogram regression, when the method is one.
    pub r_squared: Option<f64>,
    /// The regression points, when the method is a regression.
    pub fit: Option<FitPoints>,
    /// Warnings (estimate outside (0, 1), bandwidth clipped, optimum at a bound, …).
    pub warnings: Vec<String>,
    /// The goodness-of-fit tests of the fitted model, by diagnostic name (none for the
    /// semiparametric methods).
    pub gof: Vec<(&'static str, lrdbench_numerics::gof::GofTest)>,
    /// H from the highest and the lowest halves of the frequencies (see
    /// `lrdbench_numerics::misfit`): the regression's halves, or local Whittle's estimates on
    /// the two halves of its band.
    pub gap: Option<lrdbench_numerics::misfit::SlopeGap>,
}

/// Resolves a bandwidth for a series of length `n` with `available` Fourier frequencies,
/// clipping to [`min`, available] with a warning.
pub(crate) fn resolve_bandwidth(
    bw: Bandwidth,
    n: usize,
    available: usize,
    min: usize,
    method: &str,
    warnings: &mut Vec<String>,
) -> Result<usize, PluginError> {
    let m = match bw {
        Bandwidth::Exponent(e) => {
            if !(e > 0.0 && e < 1.0) {
                return Err(PluginError::parameter(format!(
                    "{method}: bandwidth exponent must be in (0, 1), got {e}"
                )));
            }
            (n as f64).powf(e).floor() as usize
        }
        Bandwidth::Fraction(f) => {
            if !(f > 0.0 && f <= 1.0) {
                return Err(PluginError::parameter(format!(
                    "{method}: frequency fraction must be in (0, 1], got {f}"
                )));
            }
            (f * available as f64).floor() as usize
        }
        Bandwidth::Fixed(m) => m,
    };
    if available < min {
        return Err(PluginError::insufficient_data(format!(
            "{method} needs at least {min} Fourier frequencies, a series of {n} points has {available}"
        )));
    }
    if m > available {
        warnings.push(format!(
            "bandwidth clipped from {m} to {available} (all Fourier frequencies below π)"
        ));
        Ok(available)
    } else if m < min {
        warnings.push(format!("bandwidth raised from {m} to the minimum {min}"));
        Ok(min)
    } else {
        Ok(m)
    }
}

/// Maps a regression failure to a typed error.
pub(crate) fn fit_error(method: &str, e: lrdbench_numerics::regression::FitError) -> PluginError {
    PluginError::numerical(format!("{method}: regression failed: {e}"))
}
