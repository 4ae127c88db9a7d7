//! The slow-down test of the performance report: sessions, not calls, are the unit, and each
//! session's time is taken relative to the other components timed in the same session, so the
//! machine's load (which slows every component of a session alike) is not read as a change in
//! one component's code.
//!
//! # Rule
//!
//! ```text
//! a(call)     = ln(wall) − b·ln(length)              (b: the component's fitted exponent)
//! m(c, s)     = median of a over component c's calls in session s
//! d(c, s)     = m(c, s) − median over sessions of m(c, ·)       (c's deviation in s)
//! v(c, s)     = m(c, s) − median over c' ≠ c in s of d(c', s)   (when ≥ 2 other components
//!                                                                were timed in s; else m(c, s))
//! sessions of c in order of their first call; earlier = first ⌊k/2⌋, later = the rest
//! p           = one-sided Mann–Whitney of v(later) > v(earlier) (exact without ties when both
//!               windows hold ≤ 30 sessions, else the normal approximation)
//! slow-down   ⇔ both windows ≥ MIN_SESSIONS_PER_WINDOW sessions, p < 5% / (components tested),
//!               and exp(median v(later) − median v(earlier)) ≥ MIN_SLOWDOWN_RATIO
//! ```
//!
//! Under a history where nothing changed — sessions' loads independent of when they ran — the
//! session values are exchangeable between the windows, so the chance that a report flags any
//! component is at most 5% (Bonferroni over the components tested), whatever the load; the
//! simulation in `report/tests.rs` checks it. Calls of one session are not independent
//! evidence (they share one machine state), which is why a per-call test raised alarms for
//! two runs of one binary an hour apart.

use serde::Serialize;

use crate::alarm::{
    mann_whitney_exact_p, Verdict, FAMILY_ALPHA, MIN_SESSIONS_PER_WINDOW, MIN_SLOWDOWN_RATIO,
};
use crate::stats::{mann_whitney_greater, median, RankTest};
use crate::util::{pct, FastMap};

/// One measured call, as the trend test sees it; components and sessions are dense indices
/// given by the caller.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    /// Component index (< the number of components).
    pub component: usize,
    /// Session (host process) index.
    pub session: usize,
    /// Call time, µs since the epoch.
    pub ts: i64,
    /// Data length.
    pub len: u64,
    /// Wall time, ns.
    pub wall_ns: f64,
}

/// The slow-down test of one component, earlier sessions against later ones.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegressionCheck {
    /// Sessions with measured calls of the component.
    pub sessions: usize,
    /// Sessions in the earlier window.
    pub earlier_sessions: usize,
    /// Sessions in the later window.
    pub later_sessions: usize,
    /// Sessions whose value is relative to the other components of the session (the rest had
    /// fewer than 2 other components timed and are taken as they are).
    pub load_adjusted_sessions: usize,
    /// The first call of the first later session, µs since the epoch.
    pub split_us: i64,
    /// Calls in the earlier window.
    pub earlier_calls: usize,
    /// Calls in the later window.
    pub later_calls: usize,
    /// exp(median later − median earlier) of the session values: the typical slow-down at
    /// equal length and equal load.
    pub median_ratio: f64,
    /// The rank test on the session values (its p-value is the normal approximation; see
    /// `verdict` for the one used).
    pub test: Option<RankTest>,
    /// The p-value used and its Bonferroni level; `None` when a window has fewer than
    /// [`MIN_SESSIONS_PER_WINDOW`] sessions.
    pub verdict: Option<Verdict>,
    /// Whether the later sessions are significantly and materially slower.
    pub regression: bool,
}

/// The rule, for the report.
pub(crate) fn rule() -> String {
    format!(
        "Sessions (host processes), not calls, are the unit: the calls of one session share the machine's state. \
         Per component and session: the median of ln t − b·ln n (b: the component's fitted exponent, 0 without a fit), \
         made relative to the machine's load by subtracting the median deviation of the other components timed in the same session \
         (when at least 2 were). A component's sessions are ordered by their first call and split into an earlier and a later half. \
         A one-sided Mann–Whitney test (exact without ties up to 30 sessions a window) asks whether later sessions are slower; \
         a slow-down is claimed only when both halves hold at least {MIN_SESSIONS_PER_WINDOW} sessions, p is below {} divided by the number of components tested (Bonferroni), \
         and the median ratio is at least {MIN_SLOWDOWN_RATIO}. When nothing changed, the chance that the report claims any slow-down is at most {}, however loaded the machine was in each session. \
         Two runs of one binary are two sessions: never enough to claim a slow-down.",
        pct(FAMILY_ALPHA),
        pct(FAMILY_ALPHA)
    )
}

struct SessionValue {
    start: i64,
    value: f64,
    adjusted: bool,
    calls: usize,
}

/// The slow-down test of every component (`exponents[c]` is component `c`'s fitted exponent);
/// `None` for a component timed in fewer than 2 sessions.
pub(crate) fn trends(timings: &[Timing], exponents: &[f64]) -> Vec<Option<RegressionCheck>> {
    let nc = exponents.len();
    let mut start: FastMap<usize, i64> = FastMap::default();
    let mut cells: FastMap<(usize, usize), Vec<f64>> = FastMap::default();
    for t in timings {
        let s = start.entry(t.session).or_insert(t.ts);
        *s = (*s).min(t.ts);
        let a = t.wall_ns.max(1.0).ln() - exponents[t.component] * (t.len.max(1) as f64).ln();
        cells.entry((t.component, t.session)).or_default().push(a);
    }
    // m(c, s) with its call count, per component and per session.
    let mut per_comp: Vec<Vec<(usize, f64, usize)>> = vec![Vec::new(); nc];
    for ((c, s), mut v) in cells {
        let n = v.len();
        if let Some(m) = median(&mut v) {
            per_comp[c].push((s, m, n));
        }
    }
    let mut devs: FastMap<usize, Vec<(usize, f64)>> = FastMap::default();
    for (c, rows) in per_comp.iter().enumerate() {
        let mut ms: Vec<f64> = rows.iter().map(|r| r.1).collect();
        let Some(centre) = median(&mut ms) else {
            continue;
        };
        for &(s, m, _) in rows {
            devs.entry(s).or_default().push((c, m - centre));
        }
    }
    let series: Vec<Vec<SessionValue>> = per_comp
        .iter()
        .enumerate()
        .map(|(c, rows)| {
            let mut out: Vec<SessionValue> = rows
                .iter()
                .map(|&(s, m, calls)| {
                    let mut others: Vec<f64> = devs
                        .get(&s)
                        .into_iter()
                        .flatten()
                        .filter(|(o, _)| *o != c)
                        .map(|(_, d)| *d)
                        .collect();
                    let load = (others.len() >= 2).then(|| median(&mut others)).flatten();
                    SessionValue {
                        start: start[&s],
                        value: m - load.unwrap_or(0.0),
                        adjusted: load.is_some(),
                        calls,
                    }
                })
                .collect();
            out.sort_by_key(|a| a.start);
            out
        })
        .collect();
    let enough = |v: &Vec<SessionValue>| v.len() / 2 >= MIN_SESSIONS_PER_WINDOW;
    let tested = series.iter().filter(|v| enough(v)).count();
    series
        .iter()
        .map(|v| check(v, enough(v).then_some(tested)))
        .collect()
}

fn check(v: &[SessionValue], tested: Option<usize>) -> Option<RegressionCheck> {
    if v.len() < 2 {
        return None;
    }
    let (earlier, later) = v.split_at(v.len() / 2);
    let mut e: Vec<f64> = earlier.iter().map(|s| s.value).collect();
    let mut l: Vec<f64> = later.iter().map(|s| s.value).collect();
    let test = mann_whitney_greater(&e, &l);
    let verdict = tested.and_then(|m| {
        let p = mann_whitney_exact_p(&e, &l).or(test.map(|t| t.p_greater))?;
        Some(Verdict::bonferroni(p, m))
    });
    let median_ratio = (median(&mut l)? - median(&mut e)?).exp();
    Some(RegressionCheck {
        sessions: v.len(),
        earlier_sessions: earlier.len(),
        later_sessions: later.len(),
        load_adjusted_sessions: v.iter().filter(|s| s.adjusted).count(),
        split_us: later[0].start,
        earlier_calls: earlier.iter().map(|s| s.calls).sum(),
        later_calls: later.iter().map(|s| s.calls).sum(),
        median_ratio,
        test,
        regression: verdict.is_some_and(|x| x.alarm) && median_ratio >= MIN_SLOWDOWN_RATIO,
        verdict,
    })
}
