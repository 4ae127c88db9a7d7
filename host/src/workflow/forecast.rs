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

/// Forecasts the estimator work of `plan` from recorded successful estimator calls.
pub fn forecast(plan: &Plan<'_>, calls: &[CallEvent]) -> Forecast {
    // Median seconds per (estimator, length bucket) and the bucket's median length.
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
    let table: BTreeMap<(&str, u32), (f64, f64)> = samples
        .into_iter()
        .map(|(k, (mut t, mut n))| (k, (median(&mut t), median(&mut n))))
        .collect();
    let mut cpu_seconds = 0.0;
    let mut unknown = Vec::new();
    for cell in &plan.cells {
        let e = &plan.estimators[cell.estimator];
        let name = e.handle.name();
        let n = plan.series[cell.series].length.max(1) as f64;
        let b = bucket(n as u64);
        let nearest = table
            .range((name, 0)..=(name, u32::MAX))
            .min_by_key(|((_, kb), _)| kb.abs_diff(b))
            .map(|(_, v)| *v);
        match nearest {
            Some((secs, len)) => cpu_seconds += secs * n / len.max(1.0),
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
