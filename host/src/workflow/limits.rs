//! The documented range of every number a workflow or command line may give, checked when a
//! plan is built (so `validate` reports them), and the plan size limit.
//!
//! The ranges are far above any useful benchmark and far below what would exhaust memory or
//! spawn threads for minutes: an absurd value is a one-line error naming the line, never an
//! abort after gigabytes.

/// Most replicates per parameter combination and length.
pub const MAX_REPLICATES: i64 = 1_000_000;
/// Longest generated series, points (2^28: 2 GiB of `f64`).
pub const MAX_LENGTH: i64 = 1 << 28;
/// Most worker threads (`[execution] threads`, `--threads`).
pub const MAX_THREADS: usize = 1024;
/// Longest per-call time limit, seconds (about 11.6 days).
pub const MAX_TIMEOUT_SECS: f64 = 1_000_000.0;
/// Default largest plan, in cells (and series); `--max-cells` raises it.
pub const DEFAULT_MAX_CELLS: u64 = 1_000_000;
/// Deepest directory level a `files` glob descends to below its literal base.
pub const MAX_GLOB_DEPTH: usize = 32;
/// Most directory entries a `files` glob visits.
pub const MAX_GLOB_ENTRIES: usize = 1_000_000;

/// Limits a plan is built under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanLimits {
    /// Largest number of cells (and of series).
    pub max_cells: u64,
}

impl Default for PlanLimits {
    fn default() -> Self {
        PlanLimits {
            max_cells: DEFAULT_MAX_CELLS,
        }
    }
}

/// Checks a per-call timeout in seconds.
///
/// # Errors
///
/// A message giving the valid range.
pub fn check_timeout(t: f64) -> Result<std::time::Duration, String> {
    if t.is_finite() && t > 0.0 && t <= MAX_TIMEOUT_SECS {
        Ok(std::time::Duration::from_secs_f64(t))
    } else {
        Err(format!(
            "timeout must be a number of seconds above 0 and at most {MAX_TIMEOUT_SECS}, got {t}"
        ))
    }
}
