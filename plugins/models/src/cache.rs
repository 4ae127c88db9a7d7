//! A small, bounded cache of circulant-embedding plans, so that replicates of one (model,
//! parameters, length) cost one FFT each instead of a new eigenvalue computation.

use std::sync::{Arc, Mutex};

use lrdbench_numerics::fgn::CirculantEmbedding;
use lrdbench_plugin_api::PluginError;

/// At most this many plans are kept; a sweep cycles through a handful of (H, n) cells.
pub const MAX_ENTRIES: usize = 16;

/// At most this many bytes of plans are kept (about 120 bytes a point each: the scale factors
/// and FFT twiddles, plus up to two pooled sample buffer sets).
pub const MAX_BYTES: usize = 1 << 30;

/// What identifies a plan: the model, the bits of the parameters that shape the
/// autocovariance, and the length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlanKey {
    /// Model name.
    pub model: &'static str,
    /// `f64::to_bits` of the shaping parameters.
    pub params: Vec<u64>,
    /// Series length.
    pub n: usize,
}

impl PlanKey {
    /// A key from a model name, its shaping parameters and the length.
    pub(crate) fn new(model: &'static str, params: &[f64], n: usize) -> Self {
        PlanKey {
            model,
            params: params.iter().map(|p| p.to_bits()).collect(),
            n,
        }
    }
}

/// The cache: most recently used last. Thread-safe; a plan is built outside the lock.
#[derive(Debug, Default)]
pub struct Plans {
    entries: Mutex<Vec<(PlanKey, Arc<CirculantEmbedding>)>>,
}

fn plan_bytes(n: usize) -> usize {
    n.saturating_mul(120)
}

impl Plans {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The plan of `key`, built by `build` when absent.
    ///
    /// # Errors
    ///
    /// Whatever `build` returns.
    pub(crate) fn get_or_build(
        &self,
        key: PlanKey,
        build: impl FnOnce() -> Result<CirculantEmbedding, PluginError>,
    ) -> Result<Arc<CirculantEmbedding>, PluginError> {
        if let Ok(mut entries) = self.entries.lock() {
            if let Some(i) = entries.iter().position(|(k, _)| *k == key) {
                let entry = entries.remove(i);
                let plan = Arc::clone(&entry.1);
                entries.push(entry);
                return Ok(plan);
            }
        }
        let plan = Arc::new(build()?);
        if plan_bytes(key.n) <= MAX_BYTES {
            if let Ok(mut entries) = self.entries.lock() {
                if !entries.iter().any(|(k, _)| *k == key) {
                    entries.push((key, Arc::clone(&plan)));
                }
                let mut total: usize = entries.iter().map(|(k, _)| plan_bytes(k.n)).sum();
                while entries.len() > MAX_ENTRIES || total > MAX_BYTES {
                    let (k, _) = entries.remove(0);
                    total -= plan_bytes(k.n);
                }
            }
        }
        Ok(plan)
    }

    /// Number of cached plans.
    pub fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn build(n: usize) -> Result<CirculantEmbedding, PluginError> {
        CirculantEmbedding::new(&lrdbench_numerics::fgn::autocovariance_row(0.7, n)?)
    }

    #[test]
    fn plans_second_lookup_reuses_the_first_plan() {
        let plans = Plans::new();
        let a = plans
            .get_or_build(PlanKey::new("fgn", &[0.7], 64), || build(64))
            .unwrap();
        let b = plans
            .get_or_build(PlanKey::new("fgn", &[0.7], 64), || panic!("rebuilt"))
            .unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(plans.len(), 1);
    }

    #[test]
    fn plans_beyond_capacity_evict_the_oldest() {
        let plans = Plans::new();
        for n in 1..=(MAX_ENTRIES + 3) {
            plans
                .get_or_build(PlanKey::new("fgn", &[0.7], n), || build(n))
                .unwrap();
        }
        assert_eq!(plans.len(), MAX_ENTRIES);
        let mut rebuilt = false;
        plans
            .get_or_build(PlanKey::new("fgn", &[0.7], 1), || {
                rebuilt = true;
                build(1)
            })
            .unwrap();
        assert!(rebuilt);
    }
}
