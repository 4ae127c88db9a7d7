//! How long a plan will take, from the times the analytics store has seen: the median wall
//! time of each estimator at each length (log2 bucket), scaled linearly in length to the
//! nearest bucket seen when the exact one is missing.

use std::collections::BTreeMap;

use lrdbench_analytics::event::{CallEvent, EventType};

use super::plan::Plan;

/// A forecast of a plan's duration.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    /// Estimated seconds of estimator work on one thread.
    pub cpu_seconds: f64,
    /// Estimator rows with no recorded time at all (their cells are not counted).
    pub unknown: Vec<String>,
}

impl Forecast {
    /// Wall seconds on `threads` threads, assuming the work spreads evenly.
    pub fn wall_seconds(&self, threads: usize) -> f64 {
        self.cpu_seconds / threads.max(1) as f64
    }
}

fn bucket(n: u64) -> u32 {
    64 - n.max(1).leading_zeros()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        0.5 * (v[m - 1] + v[m])
    }
}

/// Recorded seconds and lengths of one estimator in one length bucket.
type Samples = (Vec<f64>, Vec<f64>);

/// Median seconds and median length per (estimator, length bucket).
type Table<'a> = BTreeMap<(&'a str, u32), (f64, f64)>;

fn medians(calls: &[CallEvent]) -> Table<'_> {
    let mut samples: BTreeMap<(&str, u32), Samples> = BTreeMap::new();
    for c in calls
        .iter()
        .filter(|c| c.event_type == EventType::EstimatorUsage && c.success)
    {
        if let Some(p) = &c.performance {
            let e = samples
                .entry((c.component.as_str(), bucket(c.data_length)))
                .or_default();
            e.0.push(p.wall_ns as f64 * 1e-9);
            e.1.push(c.data_length as f64);
        }
    }
    samples
        .into_iter()
        .map(|(k, (mut t, mut n))| (k, (median(&mut t), median(&mut n))))
        .collect()
}

/// Forecast seconds of one call of estimator `name` at length `n`: the nearest bucket's
/// median, scaled linearly in length; `None` when the estimator was never timed.
fn seconds(table: &Table<'_>, name: &str, n: usize) -> Option<f64> {
    let n = n.max(1) as f64;
    let b = bucket(n as u64);
    table
        .range((name, 0)..=(name, u32::MAX))
        .min_by_key(|((_, kb), _)| kb.abs_diff(b))
        .map(|(_, (secs, len))| secs * n / len.max(1.0))
}

/// Forecasts the estimator work of `plan` from recorded successful estimator calls.
pub fn forecast(plan: &Plan<'_>, calls: &[CallEvent]) -> Forecast {
    let table = medians(calls);
    let mut cpu_seconds = 0.0;
    let mut unknown = Vec::new();
    for cell in &plan.cells {
        let e = &plan.estimators[cell.estimator];
        match seconds(&table, e.handle.name(), plan.series[cell.series].length) {
            Some(s) => cpu_seconds += s,
            None => {
                if !unknown.contains(&e.label) {
                    unknown.push(e.label.clone());
                }
            }
        }
    }
    Forecast {
        cpu_seconds,
        unknown,
    }
}

/// Forecast seconds of one cell of each estimator row at each series length of `plan`
/// (`label → length → seconds`), for the rows ever timed: the cost table that balances the
/// shards of a sharded sweep ([`super::shard::CostTable`]).
pub fn cost_table(plan: &Plan<'_>, calls: &[CallEvent]) -> BTreeMap<String, BTreeMap<usize, f64>> {
    let table = medians(calls);
    let mut out: BTreeMap<String, BTreeMap<usize, f64>> = BTreeMap::new();
    for cell in &plan.cells {
        let e = &plan.estimators[cell.estimator];
        let n = plan.series[cell.series].length;
        if let Some(s) = seconds(&table, e.handle.name(), n) {
            out.entry(e.label.clone()).or_default().insert(n, s);
        }
    }
    out
}
