//! `compare`: did a change make an estimator better or worse? Two runs of a workflow evaluate
//! the same cells (same series, same seeds), so every difference is paired cell by cell and
//! the noise of the series cancels.
//!
//! A new entry point that only reads run outputs (`manifest.json` and the `cells.jsonl`
//! journal, whose floats read back bit-identical): [`load`] → [`compare`] (cells matched by
//! identity, plan difference, one [`RowComparison`] per estimator row, statistics in
//! [`stats`]) → [`render`] (Markdown, JSON, HTML). [`locate`] finds `latest` / `previous`
//! runs of a workflow in a runs directory.

pub mod locate;
pub mod render;
pub mod stats;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::workflow::execute::{read_done, CellRecord};
use stats::{Estimate, Metric, PairedCell, Verdict};

/// Why a comparison could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// A directory that is not a run directory.
    #[error("{}: not a run directory ({reason})", dir.display())]
    NotARun {
        /// The directory.
        dir: PathBuf,
        /// Why not.
        reason: String,
    },
    /// An I/O error on a run file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// `latest` / `previous` found no such run.
    #[error("{0}")]
    NotFound(String),
    /// A bad `--tolerance` or `--fail-on`.
    #[error("{0}")]
    Usage(String),
}

/// The fields of `manifest.json` a comparison reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunManifest {
    /// The run id.
    pub run_id: String,
    /// `running`, `complete` or `interrupted`.
    pub status: String,
    /// The workflow's name.
    pub workflow: String,
    /// SHA-256 of the workflow file.
    #[serde(default)]
    pub workflow_sha256: String,
    /// The workflow seed.
    #[serde(default)]
    pub seed: u64,
    /// Every plugin used.
    #[serde(default)]
    pub plugins: Vec<PluginInfo>,
    /// Cells in the plan.
    #[serde(default)]
    pub cells: usize,
    /// Start time (RFC 3339, UTC).
    #[serde(default)]
    pub started: String,
    /// End time, when finished.
    #[serde(default)]
    pub finished: Option<String>,
}

/// One plugin of a manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PluginInfo {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// SHA-256 of the library.
    pub sha256: String,
}

/// A run directory, read.
#[derive(Debug, Clone)]
pub struct Run {
    /// The directory.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: RunManifest,
    /// Its cells (the first record of each cell of the journal).
    pub cells: Vec<CellRecord>,
}

/// Reads a run directory's manifest.
///
/// # Errors
///
/// [`CompareError::NotARun`] when there is no readable `manifest.json`.
pub fn read_manifest(dir: &Path) -> Result<RunManifest, CompareError> {
    let not_a_run = |reason: String| CompareError::NotARun {
        dir: dir.to_path_buf(),
        reason,
    };
    if !dir.is_dir() {
        return Err(not_a_run("no such directory".into()));
    }
    let path = dir.join("manifest.json");
    let text = crate::fsutil::read_regular_text(&path, 64 << 20)
        .map_err(|e| not_a_run(format!("no readable manifest.json: {e}")))?;
    serde_json::from_str(&text).map_err(|e| not_a_run(format!("manifest.json: {e}")))
}

/// Reads a run directory: its manifest and its cells.
///
/// # Errors
///
/// A directory without a readable manifest, or an unreadable `cells.jsonl`.
pub fn load(dir: &Path) -> Result<Run, CompareError> {
    let manifest = read_manifest(dir)?;
    let path = dir.join("cells.jsonl");
    let mut cells = read_done(&path).map_err(|source| CompareError::Io { path, source })?;
    // A resumed run may hold a cell twice (done, then redone after a kill mid-flush): the
    // first record is the one the run's outputs used.
    let mut seen = BTreeSet::new();
    cells.retain(|c| seen.insert(c.index));
    Ok(Run {
        dir: dir.to_path_buf(),
        manifest,
        cells,
    })
}

/// The tolerance of each metric: the smallest change that counts (see
/// [`Metric::default_tolerance`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tolerances(pub BTreeMap<Metric, f64>);

impl Default for Tolerances {
    fn default() -> Self {
        Tolerances(
            Metric::ALL
                .into_iter()
                .map(|m| (m, m.default_tolerance()))
                .collect(),
        )
    }
}

impl Tolerances {
    /// The defaults with `text` (`mae=0.002,runtime=1.10`) applied.
    ///
    /// # Errors
    ///
    /// [`CompareError::Usage`] naming the bad item.
    pub fn parse(text: &str) -> Result<Tolerances, CompareError> {
        let mut t = Tolerances::default();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (k, v) = item.split_once('=').ok_or_else(|| {
                CompareError::Usage(format!("--tolerance `{item}`: expected METRIC=VALUE"))
            })?;
            let m = Metric::parse(k.trim()).ok_or_else(|| {
                CompareError::Usage(format!(
                    "--tolerance: unknown metric `{k}` (valid: {})",
                    Metric::ALL.map(Metric::as_str).join(", ")
                ))
            })?;
            let v: f64 = v.trim().parse().map_err(|_| {
                CompareError::Usage(format!("--tolerance {k}: `{v}` is not a number"))
            })?;
            let ok = if m == Metric::Runtime {
                v.is_finite() && v >= 1.0
            } else {
                v.is_finite() && v >= 0.0
            };
            if !ok {
                return Err(CompareError::Usage(format!(
                    "--tolerance {k}={v}: {}",
                    if m == Metric::Runtime {
                        "the runtime tolerance is a ratio >= 1 (1.10: 10% slower)"
                    } else {
                        "a tolerance is a finite number >= 0"
                    }
                )));
            }
            t.0.insert(m, v);
        }
        Ok(t)
    }

    /// The tolerance of `m`.
    pub fn of(&self, m: Metric) -> f64 {
        self.0
            .get(&m)
            .copied()
            .unwrap_or_else(|| m.default_tolerance())
    }
}

/// The metrics named by `--fail-on`: groups `accuracy` (MAE, bias, RMSE), `coverage` (coverage,
/// CI width), `validity`, `runtime`, or single metric names.
///
/// # Errors
///
/// [`CompareError::Usage`] naming an unknown item.
pub fn parse_fail_on(text: &str) -> Result<BTreeSet<Metric>, CompareError> {
    let mut out = BTreeSet::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match item {
            "accuracy" => out.extend([Metric::Mae, Metric::Bias, Metric::Rmse]),
            "coverage" => out.extend([Metric::Coverage, Metric::CiWidth]),
            other => match Metric::parse(other) {
                Some(m) => {
                    out.insert(m);
                }
                None => {
                    return Err(CompareError::Usage(format!(
                    "--fail-on: unknown `{other}` (valid: accuracy, coverage, validity, runtime, \
                         or a metric: {})",
                    Metric::ALL.map(Metric::as_str).join(", ")
                )))
                }
            },
        }
    }
    Ok(out)
}

/// One side of the comparison.
#[derive(Debug, Clone, Serialize)]
pub struct RunSide {
    /// The directory.
    pub dir: String,
    /// The run id.
    pub run_id: String,
    /// The workflow.
    pub workflow: String,
    /// `complete`, `interrupted`, …
    pub status: String,
    /// Cells read.
    pub cells: usize,
}

/// What changed in the plan between the runs: reported before any metric, since a metric
/// compares only the cells both runs have.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PlanDiff {
    /// Cells in both runs.
    pub matched: usize,
    /// Cells only in BASE, per estimator row.
    pub only_in_base: BTreeMap<String, usize>,
    /// Cells only in NEW, per estimator row.
    pub only_in_new: BTreeMap<String, usize>,
    /// Plugins added, removed, or of another version or SHA-256: `name: BASE → NEW`.
    pub plugins: Vec<String>,
    /// Estimator rows whose parameters changed: `row: BASE → NEW`.
    pub parameters: Vec<String>,
    /// The workflow seeds, when they differ: the series then differ too, and pairing removes
    /// no noise.
    pub seeds: Option<(u64, u64)>,
    /// Whether the workflow files differ (SHA-256).
    pub workflow_changed: bool,
}

impl PlanDiff {
    /// Whether both runs planned the same cells with the same plugins and parameters.
    pub fn is_empty(&self) -> bool {
        self.only_in_base.is_empty()
            && self.only_in_new.is_empty()
            && self.plugins.is_empty()
            && self.parameters.is_empty()
            && self.seeds.is_none()
    }
}

/// The comparison of one metric of one row.
#[derive(Debug, Clone, Serialize)]
pub struct MetricChange {
    /// The metric.
    pub metric: Metric,
    /// Its value in BASE over the compared cells (signed bias, raw coverage).
    pub base: Option<f64>,
    /// Its value in NEW.
    pub new: Option<f64>,
    /// NEW − BASE of the compared quantity (|bias|, |coverage − nominal|; a ratio for
    /// runtime) with its 95% interval.
    pub change: Option<Estimate>,
    /// The exact test's p-value, for coverage and validity.
    pub p_value: Option<f64>,
    /// Cells compared.
    pub cells: usize,
    /// The tolerance applied.
    pub tolerance: f64,
    /// The verdict.
    pub verdict: Verdict,
    /// The test.
    pub test: &'static str,
}

/// A point of the HTML charts: one matched cell.
#[derive(Debug, Clone, Copy)]
pub struct CellPoint {
    /// True H of the series, when known.
    pub h: Option<f64>,
    /// Length.
    pub length: usize,
    /// |error| NEW − |error| BASE, when both are valid with known truth.
    pub abs_error_change: Option<f64>,
    /// Time NEW / BASE, when both are valid and timed.
    pub time_ratio: Option<f64>,
}

/// The comparison of one estimator row.
#[derive(Debug, Clone, Serialize)]
pub struct RowComparison {
    /// The row (`dfa`, `dfa/order2`).
    pub estimator: String,
    /// Cells of the row in both runs.
    pub matched: usize,
    /// Every result of every matched cell is the same bit for bit, and no cell is unmatched.
    pub identical: bool,
    /// One entry per metric, in [`Metric::ALL`] order.
    pub metrics: Vec<MetricChange>,
    /// Per-cell points for the charts.
    #[serde(skip)]
    pub points: Vec<CellPoint>,
}

impl RowComparison {
    /// The change of `m`.
    pub fn metric(&self, m: Metric) -> Option<&MetricChange> {
        self.metrics.iter().find(|c| c.metric == m)
    }

    /// The metrics that regressed.
    pub fn regressions(&self) -> impl Iterator<Item = &MetricChange> {
        self.metrics
            .iter()
            .filter(|c| c.verdict == Verdict::Regressed)
    }
}

/// A whole comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// BASE.
    pub base: RunSide,
    /// NEW.
    pub new: RunSide,
    /// What changed in the plan.
    pub plan: PlanDiff,
    /// One entry per estimator row present in both runs.
    pub rows: Vec<RowComparison>,
    /// The tolerances applied.
    pub tolerances: Tolerances,
    /// How the numbers were made.
    pub method: String,
}

impl Comparison {
    /// Every (row, metric) that regressed, in `metrics` (all when `None`).
    pub fn regressions<'a>(
        &'a self,
        metrics: Option<&'a BTreeSet<Metric>>,
    ) -> impl Iterator<Item = (&'a RowComparison, &'a MetricChange)> + 'a {
        self.rows.iter().flat_map(move |r| {
            r.regressions()
                .filter(move |c| metrics.is_none_or(|set| set.contains(&c.metric)))
                .map(move |c| (r, c))
        })
    }
}

/// The identity of a cell across runs: series, contamination variant and estimator row. Not
/// the cell's SHA-256, which covers the plugin's hash and parameters: those are what a
/// comparison is about.
type Key<'a> = (&'a str, &'a str, &'a str);

fn key(c: &CellRecord) -> Key<'_> {
    (
        c.series_id.as_str(),
        c.contamination.as_str(),
        c.variant.as_str(),
    )
}

fn side(run: &Run) -> RunSide {
    RunSide {
        dir: run.dir.display().to_string(),
        run_id: run.manifest.run_id.clone(),
        workflow: run.manifest.workflow.clone(),
        status: run.manifest.status.clone(),
        cells: run.cells.len(),
    }
}

/// Whether two records of one cell hold the same results, bit for bit (times aside).
fn same_results(a: &CellRecord, b: &CellRecord) -> bool {
    let bits = |v: Option<f64>| v.map(f64::to_bits);
    a.valid == b.valid
        && bits(a.value) == bits(b.value)
        && bits(a.stderr) == bits(b.stderr)
        && bits(a.ci_low) == bits(b.ci_low)
        && bits(a.ci_high) == bits(b.ci_high)
        && bits(a.ci_level) == bits(b.ci_level)
        && a.ci_method == b.ci_method
        && a.estimand == b.estimand
        && a.error_kind == b.error_kind
}

fn plugin_diff(base: &[PluginInfo], new: &[PluginInfo]) -> Vec<String> {
    let by_name = |v: &[PluginInfo]| -> BTreeMap<String, PluginInfo> {
        v.iter().map(|p| (p.name.clone(), p.clone())).collect()
    };
    let (b, n) = (by_name(base), by_name(new));
    let short = |p: &PluginInfo| {
        format!(
            "{} (sha256 {})",
            p.version,
            &p.sha256[..12.min(p.sha256.len())]
        )
    };
    let mut out = Vec::new();
    for (name, p) in &b {
        match n.get(name) {
            None => out.push(format!("{name}: {} → removed", short(p))),
            Some(q) if q != p => out.push(format!("{name}: {} → {}", short(p), short(q))),
            Some(_) => {}
        }
    }
    for (name, q) in &n {
        if !b.contains_key(name) {
            out.push(format!("{name}: added → {}", short(q)));
        }
    }
    out
}

/// Compares NEW against BASE.
pub fn compare(base: &Run, new: &Run, tolerances: &Tolerances) -> Comparison {
    let mut index: HashMap<Key<'_>, usize> = HashMap::with_capacity(base.cells.len());
    for (i, c) in base.cells.iter().enumerate() {
        index.entry(key(c)).or_insert(i);
    }
    let mut plan = PlanDiff {
        plugins: plugin_diff(&base.manifest.plugins, &new.manifest.plugins),
        seeds: (base.manifest.seed != new.manifest.seed)
            .then_some((base.manifest.seed, new.manifest.seed)),
        workflow_changed: base.manifest.workflow_sha256 != new.manifest.workflow_sha256,
        ..PlanDiff::default()
    };
    // Pairs per row, in NEW's plan order.
    let mut rows: BTreeMap<&str, Vec<(usize, usize)>> = BTreeMap::new();
    let mut used = vec![false; base.cells.len()];
    let mut params: BTreeMap<&str, (&str, &str)> = BTreeMap::new();
    for (j, c) in new.cells.iter().enumerate() {
        match index.get(&key(c)) {
            Some(&i) if !used[i] => {
                used[i] = true;
                rows.entry(c.variant.as_str()).or_default().push((i, j));
                let b = &base.cells[i];
                if b.params != c.params {
                    params
                        .entry(c.variant.as_str())
                        .or_insert((b.params.as_str(), c.params.as_str()));
                }
            }
            _ => *plan.only_in_new.entry(c.variant.clone()).or_default() += 1,
        }
    }
    for (i, c) in base.cells.iter().enumerate() {
        if !used[i] {
            *plan.only_in_base.entry(c.variant.clone()).or_default() += 1;
        }
    }
    plan.matched = rows.values().map(Vec::len).sum();
    plan.parameters = params
        .into_iter()
        .map(|(row, (b, n))| format!("{row}: {b} → {n}"))
        .collect();
    let rows: Vec<(&str, Vec<(usize, usize)>)> = rows.into_iter().collect();
    let plan_ref = &plan;
    let rows: Vec<RowComparison> = rows
        .par_iter()
        .map(|(row, pairs)| {
            let unmatched =
                plan_ref.only_in_base.contains_key(*row) || plan_ref.only_in_new.contains_key(*row);
            compare_row(row, pairs, &base.cells, &new.cells, unmatched, tolerances)
        })
        .collect();
    Comparison {
        base: side(base),
        new: side(new),
        plan,
        rows,
        tolerances: tolerances.clone(),
        method: method_text(tolerances),
    }
}

/// The rule, stated once beside every output.
pub fn method_text(t: &Tolerances) -> String {
    let tol: Vec<String> = Metric::ALL
        .iter()
        .map(|m| format!("{}={}", m.as_str(), t.of(*m)))
        .collect();
    format!(
        "Cells are matched by series, contamination and estimator row. Changes are NEW − BASE over \
         the matched cells (|bias| by magnitude, coverage by its distance to the nominal level), \
         with 95% intervals from a paired bootstrap over cells ({} resamples, fixed seed). \
         Coverage and validity are also tested with the exact McNemar test (p < 0.05). Runtime is \
         the median of the per-cell time ratios NEW/BASE (each cell timed once per run; the median \
         ignores load spikes on a few cells) with its order-statistic 95% interval. A metric \
         regressed when its whole interval lies beyond its tolerance on the worse side (and p < \
         0.05 where tested), improved likewise on the better side, unchanged otherwise; a row \
         whose results are all the same bit for bit is identical. Tolerances: {}.",
        stats::BOOTSTRAP_RESAMPLES,
        tol.join(", ")
    )
}

fn mean(v: impl Iterator<Item = f64>) -> Option<f64> {
    let (s, n) = v.fold((0.0, 0usize), |a, x| (a.0 + x, a.1 + 1));
    (n > 0).then(|| s / n as f64)
}

fn compare_row(
    row: &str,
    pairs: &[(usize, usize)],
    base: &[CellRecord],
    new: &[CellRecord],
    unmatched: bool,
    tol: &Tolerances,
) -> RowComparison {
    let identical = !unmatched && pairs.iter().all(|&(i, j)| same_results(&base[i], &new[j]));
    let mut cells = Vec::with_capacity(pairs.len());
    let mut points = Vec::with_capacity(pairs.len());
    let mut times = Vec::with_capacity(pairs.len());
    let mut nominal = None;
    let (mut cov_lost, mut cov_gained, mut val_lost, mut val_gained) = (0u64, 0u64, 0u64, 0u64);
    for &(i, j) in pairs {
        let (b, n) = (&base[i], &new[j]);
        let err = |c: &CellRecord| Some(c.value? - c.truth_value()?).filter(|_| c.valid);
        let interval = |c: &CellRecord| match (c.valid, c.ci_low, c.ci_high) {
            (true, Some(lo), Some(hi)) => Some((lo, hi)),
            _ => None,
        };
        let error = err(b).zip(err(n));
        let (ib, inn) = (interval(b), interval(n));
        let width = ib.zip(inn).map(|(x, y)| (x.1 - x.0, y.1 - y.0));
        let covered = match (ib, inn, b.truth_value()) {
            (Some(x), Some(y), Some(t)) => {
                nominal = nominal.or(b.ci_level).or(n.ci_level);
                Some((x.0 <= t && t <= x.1, y.0 <= t && t <= y.1))
            }
            _ => None,
        };
        if let Some((cb, cn)) = covered {
            cov_lost += u64::from(cb && !cn);
            cov_gained += u64::from(!cb && cn);
        }
        val_lost += u64::from(b.valid && !n.valid);
        val_gained += u64::from(!b.valid && n.valid);
        let ratio = (b.valid && n.valid && b.elapsed_ms > 0.0 && n.elapsed_ms > 0.0)
            .then(|| n.elapsed_ms / b.elapsed_ms);
        if ratio.is_some() {
            times.push((b.elapsed_ms, n.elapsed_ms));
        }
        cells.push(PairedCell {
            error,
            width,
            covered,
            valid: (b.valid, n.valid),
        });
        points.push(CellPoint {
            h: n.truth.get("H").copied(),
            length: n.length,
            abs_error_change: error.map(|(e0, e1)| e1.abs() - e0.abs()),
            time_ratio: ratio,
        });
    }
    let nominal = nominal.unwrap_or(0.95);
    // One seed per row, from its name: reproducible, and rows draw independent resamples.
    let seed = crate::workflow::plan::derive_seed(stats::BOOTSTRAP_SEED, &[row]);
    let boot = stats::bootstrap(&cells, nominal, seed);
    let counts = |f: &dyn Fn(&PairedCell) -> bool| cells.iter().filter(|c| f(c)).count();
    let n_err = counts(&|c| c.error.is_some());
    let n_width = counts(&|c| c.width.is_some());
    let n_cov = counts(&|c| c.covered.is_some());
    let levels = |m: Metric| -> (Option<f64>, Option<f64>) {
        let pick = |k: usize| -> Option<f64> {
            let e = cells
                .iter()
                .filter_map(|c| c.error.map(|e| if k == 0 { e.0 } else { e.1 }));
            match m {
                Metric::Mae => mean(e.map(f64::abs)),
                Metric::Bias => mean(e),
                Metric::Rmse => mean(e.map(|x| x * x)).map(f64::sqrt),
                Metric::CiWidth => mean(
                    cells
                        .iter()
                        .filter_map(|c| c.width.map(|w| if k == 0 { w.0 } else { w.1 })),
                ),
                Metric::Coverage => mean(cells.iter().filter_map(|c| {
                    c.covered
                        .map(|v| f64::from(u8::from(if k == 0 { v.0 } else { v.1 })))
                })),
                Metric::Validity => mean(
                    cells
                        .iter()
                        .map(|c| f64::from(u8::from(if k == 0 { c.valid.0 } else { c.valid.1 }))),
                ),
                Metric::Runtime => {
                    let mut t: Vec<f64> = times
                        .iter()
                        .map(|p| if k == 0 { p.0 } else { p.1 })
                        .collect();
                    lrdbench_dashboard::stats::median(&mut t)
                }
            }
        };
        (pick(0), pick(1))
    };
    let mut metrics = Vec::with_capacity(Metric::ALL.len());
    for m in Metric::ALL {
        let (base_level, new_level) = levels(m);
        let tolerance = tol.of(m);
        let (change, p_value, n) = match m {
            Metric::Runtime => (stats::runtime_ratio(&times), None, times.len()),
            _ => {
                let k = Metric::PAIRED
                    .iter()
                    .position(|x| *x == m)
                    .unwrap_or_default();
                let p = match m {
                    Metric::Coverage => Some(stats::mcnemar_exact(cov_lost, cov_gained)),
                    Metric::Validity => Some(stats::mcnemar_exact(val_lost, val_gained)),
                    _ => None,
                };
                let n = match m {
                    Metric::Mae | Metric::Bias | Metric::Rmse => n_err,
                    Metric::CiWidth => n_width,
                    Metric::Coverage => n_cov,
                    _ => cells.len(),
                };
                (boot[k], p, n)
            }
        };
        let verdict = match (m, change) {
            (_, None) => Verdict::NotApplicable,
            (Metric::Runtime, Some(e)) => stats::verdict_of_ratio(e, tolerance),
            (_, Some(_)) if identical => Verdict::Identical,
            // Higher validity is better: flip the change so positive reads worse.
            (Metric::Validity, Some(e)) => stats::verdict_of_change(
                Estimate {
                    value: -e.value,
                    low: -e.high,
                    high: -e.low,
                },
                p_value,
                tolerance,
            ),
            (_, Some(e)) => stats::verdict_of_change(e, p_value, tolerance),
        };
        metrics.push(MetricChange {
            metric: m,
            base: base_level,
            new: new_level,
            change,
            p_value,
            cells: n,
            tolerance,
            verdict,
            test: m.test(),
        });
    }
    RowComparison {
        estimator: row.to_string(),
        matched: pairs.len(),
        identical,
        metrics,
        points,
    }
}
