//! The documented range of every number a workflow or command line may give, checked when a
//! plan is built (so `validate` reports them), and the plan size limit.
//!
//! The ranges are far above any useful benchmark and far below what would exhaust memory or
//! spawn threads for minutes: an absurd value is a one-line error naming the line, never an
//! abort after gigabytes.

// The timeout range belongs to isolation, which enforces it; it is listed here with the others.
pub use crate::isolate::{check_timeout, MAX_TIMEOUT_SECS};

/// Most replicates per parameter combination and length.
pub const MAX_REPLICATES: i64 = 1_000_000;
/// Longest generated series, points (2^28: 2 GiB of `f64`).
pub const MAX_LENGTH: i64 = 1 << 28;
/// Most worker threads (`[execution] threads`, `--threads`).
pub const MAX_THREADS: usize = 1024;
/// Default largest plan, in cells (and series); `--max-cells` raises it.
pub const DEFAULT_MAX_CELLS: u64 = 1_000_000;
/// Deepest directory level a `files` glob descends to below its literal base.
pub const MAX_GLOB_DEPTH: usize = 32;
/// Most directory entries a `files` glob visits.
pub const MAX_GLOB_ENTRIES: usize = 1_000_000;

/// The largest workflow file read: 16 MiB (inline series included).
pub const MAX_WORKFLOW_BYTES: u64 = 16 << 20;

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
