//! Shards: which cells of a plan one process of a sharded sweep runs.
//!
//! A sweep split into N shards is N ordinary runs of the same workflow, each restricted to its
//! own cells. The split is a pure function of the plan: every process that plans the same
//! workflow with the same plugins computes the same assignment, so shard processes need no
//! coordination and the shards cover every cell exactly once. Series (with all their cells)
//! are dealt out by expected cost, longest first, each to the shard with the least work so
//! far (the LPT rule); ties go by cell hash. A plan of few series is dealt out cell by cell
//! ([`assign`]). The expected cost of a cell is the seconds a cost table gives its estimator
//! at its length when one is given (`--shard-costs`, written from the analytics store's
//! forecast by `lrdbench-host slurm`), else `n log2 n` of its series length.
//!
//! A cost table is a file rather than a live read of the analytics store because the store
//! changes while the shards run: two shards planning at different moments would otherwise
//! split the cells differently.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::plan::Plan;

/// Which shard of how many, as given on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardSpec {
    /// Zero-based shard index, below `count`.
    pub index: usize,
    /// Number of shards, at least one.
    pub count: usize,
}

/// The most shards a sweep may be split into (Slurm's own default array limit is 1,001).
pub const MAX_SHARDS: usize = 100_000;

impl ShardSpec {
    /// Parses `I/N` (zero-based `I < N`), or `slurm`: the index and count of the Slurm array
    /// task this process is (`SLURM_ARRAY_TASK_ID` minus `SLURM_ARRAY_TASK_MIN`, and
    /// `SLURM_ARRAY_TASK_COUNT`).
    ///
    /// # Errors
    ///
    /// A one-line reason when the text is malformed or the Slurm variables are missing.
    pub fn parse(text: &str) -> Result<ShardSpec, String> {
        if text == "slurm" {
            return Self::from_slurm(|k| std::env::var(k).ok());
        }
        let (i, n) = text
            .split_once('/')
            .ok_or_else(|| format!("expected I/N (e.g. 0/4) or `slurm`, got `{text}`"))?;
        let index: usize = i
            .trim()
            .parse()
            .map_err(|_| format!("shard index `{i}` is not a whole number"))?;
        let count: usize = n
            .trim()
            .parse()
            .map_err(|_| format!("shard count `{n}` is not a whole number"))?;
        Self::new(index, count)
    }

    /// Checks `index < count ≤ MAX_SHARDS`.
    ///
    /// # Errors
    ///
    /// A one-line reason.
    pub fn new(index: usize, count: usize) -> Result<ShardSpec, String> {
        if count == 0 || count > MAX_SHARDS {
            return Err(format!(
                "shard count must be 1 to {MAX_SHARDS}, got {count}"
            ));
        }
        if index >= count {
            return Err(format!(
                "shard index must be below the count (0 to {}), got {index}",
                count - 1
            ));
        }
        Ok(ShardSpec { index, count })
    }

    /// The shard of a Slurm array task, from its environment.
    ///
    /// # Errors
    ///
    /// A one-line reason naming the missing or malformed variable.
    pub fn from_slurm(var: impl Fn(&str) -> Option<String>) -> Result<ShardSpec, String> {
        let num = |k: &str| -> Result<usize, String> {
            let v = var(k).ok_or_else(|| {
                format!("--shard slurm: {k} is not set (is this a Slurm array task?)")
            })?;
            v.trim()
                .parse()
                .map_err(|_| format!("--shard slurm: {k}=`{v}` is not a whole number"))
        };
        let id = num("SLURM_ARRAY_TASK_ID")?;
        let count = num("SLURM_ARRAY_TASK_COUNT")?;
        let min = match var("SLURM_ARRAY_TASK_MIN") {
            Some(_) => num("SLURM_ARRAY_TASK_MIN")?,
            None => 0,
        };
        let index = id
            .checked_sub(min)
            .ok_or("--shard slurm: SLURM_ARRAY_TASK_ID is below SLURM_ARRAY_TASK_MIN")?;
        Self::new(index, count).map_err(|e| format!("--shard slurm: {e}"))
    }
}

/// What a shard run records in its manifest, and merge checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardInfo {
    /// Zero-based shard index.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
    /// [`plan_sha256`] of the whole plan (before the split).
    pub plan_sha256: String,
    /// Cells in the whole plan.
    pub plan_cells: usize,
    /// How cells were weighed: `length` (n log2 n) or `costs:<sha256 of the cost table>`.
    pub balance: String,
}

/// SHA-256 of a plan's cell hashes in plan order: equal exactly when two plans have the same
/// cells (workflow, plugins and their versions, parameters and seeds).
pub fn plan_sha256(plan: &Plan<'_>) -> String {
    let mut h = Sha256::new();
    for c in &plan.cells {
        h.update(c.hash.as_bytes());
        h.update(b"\n");
    }
    crate::plugin::hex(&h.finalize())
}

/// Expected seconds per estimator row label and series length, as written by
/// `lrdbench-host slurm` (`{"<label>": {"<length>": seconds}}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CostTable {
    /// Seconds by estimator row label, then series length.
    pub seconds: BTreeMap<String, BTreeMap<usize, f64>>,
}

impl CostTable {
    /// Reads a cost table file.
    ///
    /// # Errors
    ///
    /// A one-line reason naming the file.
    pub fn read(path: &Path) -> Result<(CostTable, String), String> {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let table: CostTable = serde_json::from_slice(&bytes)
            .map_err(|e| format!("{}: not a cost table ({e})", path.display()))?;
        if let Some((label, len, s)) = table
            .seconds
            .iter()
            .flat_map(|(l, m)| m.iter().map(move |(n, s)| (l, n, s)))
            .find(|(_, _, s)| !(s.is_finite() && **s >= 0.0))
        {
            return Err(format!(
                "{}: cost of `{label}` at length {len} must be finite and ≥ 0, got {s}",
                path.display()
            ));
        }
        Ok((table, crate::plugin::hex(&Sha256::digest(&bytes))))
    }
}

/// The expected cost of every cell of `plan`, in plan order.
fn costs(plan: &Plan<'_>, table: Option<&CostTable>) -> Vec<f64> {
    plan.cells
        .iter()
        .map(|c| {
            let n = plan.series[c.series].length.max(2);
            let proxy = n as f64 * (n as f64).log2();
            match table {
                // Known rows cost their seconds; rows never timed cost their length proxy
                // scaled into seconds as if at 1 ns per n log n step.
                Some(t) => t
                    .seconds
                    .get(&plan.estimators[c.estimator].label)
                    .and_then(|m| m.get(&plan.series[c.series].length))
                    .copied()
                    .unwrap_or(proxy * 1e-9),
                None => proxy,
            }
        })
        .collect()
}

/// The shard of every cell of `plan` among `count` shards (LPT by expected cost, ties by
/// hash).
///
/// The unit dealt out is a series with all its cells when there are at least
/// [`SERIES_PER_SHARD`] series per shard: a shard then generates each of its series once, as
/// a single run does (split by cell, a series would be generated again in every shard that
/// holds one of its cells). With fewer series the unit is the cell, so a sweep of a few
/// series and many estimator rows still spreads over every shard.
pub fn assign(plan: &Plan<'_>, count: usize, table: Option<&CostTable>) -> Vec<usize> {
    let cost = costs(plan, table);
    let by_series = plan.series.len() >= SERIES_PER_SHARD * count;
    // Units: (cost, tie-break hash, cells).
    let mut units: Vec<(f64, &str, Vec<usize>)> = if by_series {
        let mut of_series: Vec<Vec<usize>> = vec![Vec::new(); plan.series.len()];
        for (i, c) in plan.cells.iter().enumerate() {
            of_series[c.series].push(i);
        }
        of_series
            .into_iter()
            .filter(|cells| !cells.is_empty())
            .map(|cells| {
                let total = cells.iter().map(|&i| cost[i]).sum();
                (total, plan.cells[cells[0]].hash.as_str(), cells)
            })
            .collect()
    } else {
        (0..plan.cells.len())
            .map(|i| (cost[i], plan.cells[i].hash.as_str(), vec![i]))
            .collect()
    };
    units.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    // Least-loaded shard first; ties to the lowest index. Loads are compared exactly, so every
    // process computes the same order.
    let mut heap: std::collections::BinaryHeap<std::cmp::Reverse<(Load, usize)>> = (0..count)
        .map(|s| std::cmp::Reverse((Load(0.0), s)))
        .collect();
    let mut shard_of = vec![0; plan.cells.len()];
    for (unit_cost, _, cells) in units {
        if let Some(std::cmp::Reverse((Load(load), s))) = heap.pop() {
            for i in cells {
                shard_of[i] = s;
            }
            heap.push(std::cmp::Reverse((Load(load + unit_cost), s)));
        }
    }
    shard_of
}

/// Series per shard from which whole series are dealt out rather than single cells.
pub const SERIES_PER_SHARD: usize = 4;

/// A shard's accumulated cost, totally ordered.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Load(f64);

impl Eq for Load {}

impl PartialOrd for Load {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Load {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Restricts `plan` to the cells of shard `spec` and marks it as that shard (recorded in the
/// manifest; a run directory of another shard is never resumed with it). A shard also resumes
/// the latest unfinished run of the same shard in its output directory by itself, so a
/// requeued array task continues where it stopped.
pub fn apply(plan: &mut Plan<'_>, spec: ShardSpec, table: Option<(&CostTable, &str)>) {
    let info = ShardInfo {
        index: spec.index,
        count: spec.count,
        plan_sha256: plan_sha256(plan),
        plan_cells: plan.cells.len(),
        balance: table.map_or_else(|| "length".to_string(), |(_, sha)| format!("costs:{sha}")),
    };
    let shard_of = assign(plan, spec.count, table.map(|(t, _)| t));
    let mut i = 0;
    plan.cells.retain(|_| {
        let keep = shard_of[i] == spec.index;
        i += 1;
        keep
    });
    plan.shard = Some(info);
    plan.execution.resume = true;
}

/// Whether a run directory's manifest belongs to the same shard as `plan` (both unsharded,
/// or the same shard of the same split).
pub fn same_shard(plan: &Plan<'_>, manifest: &super::output::Manifest) -> bool {
    plan.shard == manifest.shard
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_index_and_count() {
        assert_eq!(
            ShardSpec::parse("2/7"),
            Ok(ShardSpec { index: 2, count: 7 })
        );
        assert!(ShardSpec::parse("7/7").unwrap_err().contains("below"));
        assert!(ShardSpec::parse("0/0").unwrap_err().contains("1 to"));
        assert!(ShardSpec::parse("x/3").unwrap_err().contains("index"));
        assert!(ShardSpec::parse("3").unwrap_err().contains("I/N"));
    }

    #[test]
    fn reads_the_slurm_array_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            ShardSpec::from_slurm(env(&[
                ("SLURM_ARRAY_TASK_ID", "5"),
                ("SLURM_ARRAY_TASK_COUNT", "4"),
                ("SLURM_ARRAY_TASK_MIN", "2"),
            ])),
            Ok(ShardSpec { index: 3, count: 4 })
        );
        assert!(ShardSpec::from_slurm(env(&[("SLURM_ARRAY_TASK_ID", "1")]))
            .unwrap_err()
            .contains("SLURM_ARRAY_TASK_COUNT is not set"));
        assert!(ShardSpec::from_slurm(env(&[
            ("SLURM_ARRAY_TASK_ID", "4"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]))
        .unwrap_err()
        .contains("below the count"));
    }
}
