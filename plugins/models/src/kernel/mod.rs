//! The generators as pure functions of (configuration, length, seed): no I/O beyond the memory
//! check, no global state; plans come from the caller's [`Plans`](crate::cache::Plans) cache.

pub mod arfima;
pub mod fou;
pub mod gaussian;
pub mod mrw;
pub mod short;

pub use arfima::{arfima, arfima_acvf, ArfimaConfig};
pub use fou::{fou, FouConfig};
pub use gaussian::{fbm, fgn, FgnConfig};
pub use mrw::{mrw, mrw_zeta, MrwConfig, MrwOutput};
pub use short::{ar1, white_noise};

use lrdbench_plugin_api::PluginError;

/// Rejects n = 0 and lengths whose memory (about `words_per_point` 8-byte words a point) the
/// machine cannot hold.
pub(crate) fn check_length(n: usize, words_per_point: u128) -> Result<(), PluginError> {
    if n == 0 {
        return Err(PluginError::invalid_input(
            "length n = 0: must be at least 1",
        ));
    }
    crate::memory::check(n, (n as u128 + 1) * 8 * words_per_point + (1 << 16))
}

/// Checks a positive finite scale parameter.
pub(crate) fn check_positive(name: &str, v: f64) -> Result<(), PluginError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(PluginError::parameter(format!(
            "{name} = {v} is out of range: must be positive and finite"
        )))
    }
}

/// Checks H ∈ (0, 1).
pub(crate) fn check_hurst(h: f64) -> Result<(), PluginError> {
    if h > 0.0 && h < 1.0 {
        Ok(())
    } else {
        Err(PluginError::parameter(format!(
            "H = {h} is out of range: must be in (0, 1), exclusive"
        )))
    }
}
