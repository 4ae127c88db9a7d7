//! The temporal estimators' kernels: pure functions over `&[f64]` with a `Config` each.

pub mod absmom;
pub mod aggvar;
pub mod dfa;
pub mod dma;
pub mod rs;
pub mod varres;

use lrdbench_plugin_api::PluginError;

/// Resolves an optional largest scale against the series length: `None` means `n / divisor`.
pub(crate) fn max_scale(n: usize, max: Option<usize>, divisor: usize) -> usize {
    max.unwrap_or(n / divisor).min(n)
}

/// Checks the interval level shared by every kernel.
pub(crate) fn check_level(level: f64) -> Result<(), PluginError> {
    lrdbench_numerics::validate::require(level > 0.0 && level < 1.0, || {
        format!("level must be in (0, 1), got {level}")
    })
}
