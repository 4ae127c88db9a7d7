//! Quarantine of an isolated estimator, decided in plan order so that a run's results do not
//! depend on its thread count.
//!
//! The rule: the cells of one estimator component (`plugin::component`, across all rows that
//! use it) are taken in plan order (cell index). The first cell at which `limit` of them in a
//! row have ended in `crash` or `timeout` is the trigger; every later cell of the component
//! fails with kind `crash` and the message "… is quarantined after N crashes or timeouts in a
//! row (last: …); its remaining calls are not run", whether or not it ran.
//!
//! While the run goes on, a cell is refused (not run) only when its fate is already certain:
//! `limit` earlier cells in a row are known to have crashed or timed out. Cells whose fate is
//! not yet known run, and [`apply`] corrects the records of those that came after the trigger
//! once all cells are back. With one thread nothing is corrected: cells finish in order. With
//! more, a few cells after the trigger may run in vain (at most one per other thread), but the
//! records are the same. The supervisor's own quarantine, which counts failures in the order
//! they happen, is switched off for the calls of a workflow (see
//! `Supervisor::set_caller_quarantines`).
//!
//! Invariant: the outcome of every cell is a function of the outcomes of the cells before it
//! in plan order, never of timing. Resumed runs apply the rule over the journaled cells and
//! the new ones alike.

use std::collections::HashMap;
use std::sync::Mutex;

use super::plan::Plan;
use super::record::CellRecord;
use crate::invoke::Invoker;
use crate::isolate::Supervisor;

/// The prefix of the message of a cell whose series could not be made: its estimator was not
/// called, so the cell neither counts towards quarantine nor breaks a run of failures.
pub(super) const NOT_CALLED: &str = "series not available: ";

/// How a cell ended, as far as quarantine is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Not back yet.
    Unknown,
    /// `crash` or `timeout`.
    Failed,
    /// Anything else the estimator returned.
    Answered,
    /// The estimator was not called.
    NotCalled,
}

fn outcome(r: &CellRecord) -> Outcome {
    if r.error_message
        .as_deref()
        .is_some_and(|m| m.starts_with(NOT_CALLED))
    {
        Outcome::NotCalled
    } else if matches!(r.error_kind.as_deref(), Some("crash" | "timeout")) {
        Outcome::Failed
    } else {
        Outcome::Answered
    }
}

/// The message a quarantined component's cells fail with (the supervisor's wording).
fn message(component: &str, limit: u32, last: &str) -> String {
    format!(
        "{component} is quarantined after {limit} crashes or timeouts in a row (last: {last}); its remaining calls are not run"
    )
}

/// Per component: its cells' plan indices in order, and each cell's rank among them.
#[derive(Debug)]
pub(super) struct Gate {
    limit: u32,
    /// Per cell index: (component slot, rank within the component).
    rank: Vec<(usize, usize)>,
    /// Per component slot: the outcomes by rank.
    outcomes: Vec<Mutex<Vec<Outcome>>>,
}

impl Gate {
    /// A gate for `plan` with quarantine after `limit` failures in a row; `None` when `limit`
    /// is 0 (never quarantine).
    pub(super) fn new(plan: &Plan<'_>, limit: u32) -> Option<Gate> {
        if limit == 0 {
            return None;
        }
        let mut slot_of: HashMap<String, usize> = HashMap::new();
        let mut sizes: Vec<usize> = Vec::new();
        let rank = plan
            .cells
            .iter()
            .map(|c| {
                let name = plan.estimators[c.estimator].handle.qualified_name();
                let next = slot_of.len();
                let slot = *slot_of.entry(name).or_insert(next);
                if slot == sizes.len() {
                    sizes.push(0);
                }
                sizes[slot] += 1;
                (slot, sizes[slot] - 1)
            })
            .collect();
        Some(Gate {
            limit,
            rank,
            outcomes: sizes
                .iter()
                .map(|&n| Mutex::new(vec![Outcome::Unknown; n]))
                .collect(),
        })
    }

    /// Whether cell `index` is certainly after its component's trigger: `limit` earlier cells
    /// in a row are known to have crashed or timed out.
    pub(super) fn refuses(&self, index: usize) -> bool {
        let (slot, rank) = self.rank[index];
        let known = self.outcomes[slot]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let mut run = 0;
        for o in &known[..rank] {
            match o {
                Outcome::Failed => run += 1,
                Outcome::NotCalled => {}
                Outcome::Unknown | Outcome::Answered => run = 0,
            }
            if run >= self.limit {
                return true;
            }
        }
        false
    }

    /// Notes how cell `index` ended.
    pub(super) fn note(&self, index: usize, record: &CellRecord) {
        let (slot, rank) = self.rank[index];
        let mut known = self.outcomes[slot]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        known[rank] = outcome(record);
    }
}

/// The record of a cell refused by the gate while running; [`apply`] gives it its final
/// message.
pub(super) fn refuse(record: &mut CellRecord) {
    record.error_kind = Some("crash".to_string());
    record.error_message = Some("quarantined".to_string());
}

/// Switches the supervisor of `invoker`, if any, to let the workflow decide quarantine (when
/// `gating`); returns it, for [`hand_back`].
pub(super) fn take_over(invoker: &Invoker, gating: bool) -> Option<&Supervisor> {
    let supervisor = invoker.isolation().filter(|_| gating)?;
    supervisor.set_caller_quarantines(true);
    Some(supervisor)
}

/// Gives quarantine back to the supervisor after [`take_over`].
pub(super) fn hand_back(supervisor: Option<&Supervisor>) {
    if let Some(s) = supervisor {
        s.set_caller_quarantines(false);
    }
}

/// The quarantine limit of the calls `invoker` makes: its supervisor's, or 0 (never) without
/// isolation.
pub(crate) fn limit_of(invoker: &Invoker) -> u32 {
    invoker
        .isolation()
        .map_or(0, |s| s.config().max_consecutive_crashes)
}

/// Applies the rule to the records of a run (sorted by cell index, possibly incomplete): every
/// cell after its component's trigger becomes a quarantined failure. Returns one
/// `(component, message)` per quarantined component, in plan order.
pub(crate) fn apply(
    plan: &Plan<'_>,
    limit: u32,
    records: &mut [CellRecord],
) -> Vec<(String, String)> {
    if limit == 0 {
        return Vec::new();
    }
    // Per component: failures in a row so far, and the message once quarantined.
    let mut state: HashMap<String, (u32, Option<String>)> = HashMap::new();
    let mut quarantined = Vec::new();
    for r in records.iter_mut() {
        let component = plan.estimators[plan.cells[r.index].estimator]
            .handle
            .qualified_name();
        let (run, verdict) = state.entry(component.clone()).or_default();
        let seen = outcome(r);
        if seen == Outcome::NotCalled {
            continue;
        }
        if let Some(m) = verdict {
            r.value = None;
            r.stderr = None;
            r.ci_low = None;
            r.ci_high = None;
            r.ci_level = None;
            r.ci_method = None;
            r.r_squared = None;
            r.valid = false;
            r.warnings.clear();
            r.elapsed_ms = 0.0;
            r.error_kind = Some("crash".to_string());
            r.error_message = Some(m.clone());
            continue;
        }
        match seen {
            Outcome::Failed => {
                *run += 1;
                if *run >= limit {
                    let last = r.error_message.as_deref().unwrap_or("");
                    let m = message(&component, limit, last);
                    quarantined.push((component, m.clone()));
                    *verdict = Some(m);
                }
            }
            Outcome::NotCalled => {}
            Outcome::Unknown | Outcome::Answered => *run = 0,
        }
    }
    quarantined
}
