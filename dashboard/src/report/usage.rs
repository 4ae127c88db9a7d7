//! The usage report: who calls what, with which parameters and lengths, how often it works,
//! sessions, and the common errors.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::util::{FastMap, FastSet};

use lrdbench_analytics::event::{CallEvent, EventType};
use lrdbench_analytics::table::{is_seed_key, CallTable, DerivedValue, SetId, Sym};

use crate::render::Doc;
use crate::stats::{Proportion, Quantiles};
use crate::util::{self, day_of, length_bucket, length_bucket_label, pct, Period};

/// How many values and combinations are listed per estimator and parameter.
pub(crate) const TOP_N: usize = 5;

/// Uses of one component.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComponentUse {
    /// Component name.
    pub name: String,
    /// Calls.
    pub calls: u64,
    /// Share of the calls of its kind.
    pub share: f64,
    /// Failed calls.
    pub failures: u64,
}

/// A value (or a combination) and how often it was used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValueCount {
    /// The value, or the combination as `k1=v1, k2=v2`.
    pub value: String,
    /// Calls that used it.
    pub calls: u64,
}

/// How one parameter of one component was set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParameterKeyUsage {
    /// Parameter name.
    pub key: String,
    /// Calls that set it.
    pub calls: u64,
    /// Distinct values seen.
    pub distinct_values: u64,
    /// The most used values, most used first (ties by value).
    pub top_values: Vec<ValueCount>,
}

/// Parameter usage of one component.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParameterUsage {
    /// Component name.
    pub component: String,
    /// Calls of the component.
    pub calls: u64,
    /// Per parameter, by name.
    pub keys: Vec<ParameterKeyUsage>,
    /// Parameters left out of the full sets as derived per call rather than chosen (see
    /// [`is_derived`]), by name.
    pub derived_keys: Vec<String>,
    /// The most used full parameter sets of the parameters a user chose, derived ones left
    /// out (`(none)` for a call without chosen parameters).
    pub top_combinations: Vec<ValueCount>,
}

/// A parameter with more distinct values than this, and more than half as many distinct values
/// as calls, is taken as derived per call (see [`is_derived`]).
pub(crate) const DERIVED_MIN_DISTINCT: u64 = 20;

/// Whether a parameter is derived per call rather than chosen by a user, so that grouping
/// calls by their full parameter sets would make every set unique: its name is `seed` or ends
/// in `_seed` (a workflow derives every cell's seed from the workflow seed and the cell's
/// identity, and hands it to estimators that declare a `seed`), or its values are nearly all
/// distinct — more than [`DERIVED_MIN_DISTINCT`] of them, for more than half of the calls
/// that set it.
pub(crate) fn is_derived(key: &str, distinct_values: u64, calls: u64) -> bool {
    is_seed_key(key) || (distinct_values > DERIVED_MIN_DISTINCT && 2 * distinct_values > calls)
}

/// Calls in one log2 length bucket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LengthCount {
    /// k of [2^k, 2^(k+1)); `None` for length 0.
    pub log2: Option<u32>,
    /// Human label.
    pub label: String,
    /// Calls.
    pub calls: u64,
    /// Share of calls.
    pub share: f64,
}

/// Outcomes of one event type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcomes {
    /// The event type (`estimator_usage`, `model_usage`, `benchmark_run`, `custom`).
    pub event_type: String,
    /// Calls.
    pub calls: u64,
    /// Successful calls.
    pub successes: u64,
    /// Failed calls.
    pub failures: u64,
    /// Success rate over calls with its Wilson interval; `None` without calls.
    pub success: Option<Proportion>,
}

/// Calls and sessions of one UTC day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayActivity {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// Sessions active that day.
    pub sessions: u64,
    /// Calls that day.
    pub calls: u64,
}

/// Session statistics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sessions {
    /// Distinct sessions (one per host process).
    pub sessions: u64,
    /// Calls per session.
    pub calls_per_session: Option<Quantiles>,
    /// Mean calls per session.
    pub mean_calls_per_session: Option<f64>,
    /// Per day with activity.
    pub per_day: Vec<DayActivity>,
}

/// An error kind or message and its count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorCount {
    /// Error kind.
    pub kind: String,
    /// Message (empty in by-kind lists).
    pub message: String,
    /// Occurrences.
    pub count: u64,
}

/// The usage report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UsageReport {
    /// The period analysed.
    pub period: Period,
    /// All recorded calls, every type.
    pub total_calls: u64,
    /// Distinct (hashed) users.
    pub unique_users: u64,
    /// Outcomes per event type; rates are never mixed across types.
    pub outcomes: Vec<Outcomes>,
    /// Outcomes of component calls (estimators, models and custom functions together; the
    /// benchmark-run records, one per workflow run, are counted apart).
    pub component_outcomes: Outcomes,
    /// Estimators by calls, most used first.
    pub estimators: Vec<ComponentUse>,
    /// Models by calls, most used first.
    pub models: Vec<ComponentUse>,
    /// Functions recorded through the library API, by calls.
    pub custom: Vec<ComponentUse>,
    /// Parameter usage per estimator and model.
    pub parameters: Vec<ParameterUsage>,
    /// Length distribution of component calls in log2 buckets.
    pub data_lengths: Vec<LengthCount>,
    /// Sessions.
    pub sessions: Sessions,
    /// Failures by kind, most frequent first.
    pub errors_by_kind: Vec<ErrorCount>,
    /// The most frequent (kind, message) pairs.
    pub common_errors: Vec<ErrorCount>,
}

fn type_name(t: EventType) -> &'static str {
    match t {
        EventType::EstimatorUsage => "estimator_usage",
        EventType::ModelUsage => "model_usage",
        EventType::BenchmarkRun => "benchmark_run",
        EventType::Custom => "custom",
    }
}

fn sorted_counts<K: Ord + Clone>(m: FastMap<K, u64>) -> Vec<(K, u64)> {
    let mut v: Vec<(K, u64)> = m.into_iter().collect();
    v.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

fn outcomes(event_type: &str, calls: u64, successes: u64) -> Outcomes {
    Outcomes {
        event_type: event_type.to_string(),
        calls,
        successes,
        failures: calls - successes,
        success: Proportion::new(successes, calls),
    }
}

#[derive(Default)]
struct ComponentAcc {
    calls: u64,
    failures: u64,
    combos: FastMap<SetId, u64>,
    /// The values of each seed parameter (kept out of the sets by the table).
    seeds: FastMap<Sym, SeedValues>,
}

/// The values one seed parameter took: numbers in a list (sorted and counted at the end,
/// 8 bytes a call and no hashing), other texts counted by symbol.
#[derive(Default)]
struct SeedValues {
    numbers: Vec<u64>,
    texts: FastMap<Sym, u64>,
}

impl SeedValues {
    fn add(&mut self, v: DerivedValue) {
        match v {
            DerivedValue::Num(n) => self.numbers.push(n),
            DerivedValue::Str(s) => *self.texts.entry(s).or_default() += 1,
        }
    }

    /// Calls, distinct values, and the [`TOP_N`] most used values (ties by value, as
    /// [`sorted_counts`] orders them).
    fn usage(mut self, t: &CallTable) -> (u64, u64, Vec<ValueCount>) {
        self.numbers.sort_unstable();
        let mut calls = self.numbers.len() as u64;
        let mut distinct = 0u64;
        // The best TOP_N (count, text), best first.
        let mut top: Vec<(u64, String)> = Vec::with_capacity(TOP_N + 1);
        let mut offer = |n: u64, text: &dyn Fn() -> String| {
            if top.len() == TOP_N && top.last().is_some_and(|w| n < w.0) {
                return;
            }
            let text = text();
            let at =
                top.partition_point(|(c, v)| *c > n || (*c == n && v.as_str() < text.as_str()));
            if at < TOP_N {
                top.insert(at, (n, text));
                top.truncate(TOP_N);
            }
        };
        let mut i = 0;
        while i < self.numbers.len() {
            let v = self.numbers[i];
            let run = self.numbers[i..].partition_point(|&x| x == v);
            distinct += 1;
            offer(run as u64, &|| v.to_string());
            i += run;
        }
        for (&s, &n) in &self.texts {
            calls += n;
            distinct += 1;
            offer(n, &|| t.str(s).to_string());
        }
        let top = top
            .into_iter()
            .map(|(calls, value)| ValueCount { value, calls })
            .collect();
        (calls, distinct, top)
    }
}

/// The `[2^k, 2^(k+1))` buckets of [`length_bucket`] as array slots: 0 for length 0, k + 1
/// otherwise.
const LENGTH_SLOTS: usize = 66;

fn length_slot(b: Option<u32>) -> usize {
    b.map_or(0, |k| k as usize + 1)
}

/// How one component's parameters were set: per key, and the full sets of the chosen keys.
fn parameter_usage(t: &CallTable, name: &str, acc: ComponentAcc) -> ParameterUsage {
    // Per parameter and value, from the counts of the full sets.
    let mut keys: BTreeMap<&str, FastMap<&str, u64>> = BTreeMap::new();
    for (&set, &n) in &acc.combos {
        for &(k, v) in t.param_set(set) {
            *keys
                .entry(t.str(k))
                .or_default()
                .entry(t.str(v))
                .or_default() += n;
        }
    }
    let mut keys: Vec<ParameterKeyUsage> = keys
        .into_iter()
        .map(|(key, values)| {
            let distinct = values.len() as u64;
            let calls = values.values().sum();
            let top = sorted_counts(values)
                .into_iter()
                .take(TOP_N)
                .map(|(v, n)| ValueCount {
                    value: v.to_string(),
                    calls: n,
                })
                .collect();
            ParameterKeyUsage {
                key: key.to_string(),
                calls,
                distinct_values: distinct,
                top_values: top,
            }
        })
        .collect();
    for (key, values) in acc.seeds {
        let (calls, distinct_values, top_values) = values.usage(t);
        keys.push(ParameterKeyUsage {
            key: t.str(key).to_string(),
            calls,
            distinct_values,
            top_values,
        });
    }
    keys.sort_unstable_by(|a, b| a.key.cmp(&b.key));
    let derived: Vec<String> = keys
        .iter()
        .filter(|k| is_derived(&k.key, k.distinct_values, k.calls))
        .map(|k| k.key.clone())
        .collect();
    let mut combos: FastMap<Vec<(&str, &str)>, u64> = FastMap::default();
    for (&set, &n) in &acc.combos {
        let pairs: Vec<(&str, &str)> = t
            .param_set(set)
            .iter()
            .map(|&(k, v)| (t.str(k), t.str(v)))
            .filter(|(k, _)| !derived.iter().any(|d| d == k))
            .collect();
        *combos.entry(pairs).or_default() += n;
    }
    ParameterUsage {
        component: name.to_string(),
        calls: acc.calls,
        keys,
        derived_keys: derived,
        top_combinations: sorted_counts(combos)
            .into_iter()
            .take(TOP_N)
            .map(|(params, calls)| ValueCount {
                value: combination(&params),
                calls,
            })
            .collect(),
    }
}

impl UsageReport {
    /// Computes the report over the calls of `period` (the caller has filtered them).
    pub fn compute(calls: &[CallEvent], period: Period) -> UsageReport {
        UsageReport::compute_table(&CallTable::from_events(calls), period)
    }

    /// [`UsageReport::compute`] over calls as a [`CallTable`]: one pass, every string
    /// counted by its symbol in a `Vec` slot.
    pub fn compute_table(t: &CallTable, period: Period) -> UsageReport {
        let nsym = t.strings.len();
        let mut user_seen = vec![false; nsym];
        let mut unique_users = 0u64;
        let mut by_type: BTreeMap<&'static str, (u64, u64)> = BTreeMap::new();
        let mut type_counts = [(0u64, 0u64); 4];
        let mut comps: [FastMap<Sym, ComponentAcc>; 3] = Default::default();
        let mut lengths = [0u64; LENGTH_SLOTS];
        let mut session_calls = vec![0u64; nsym];
        let mut days: BTreeMap<i64, (FastSet<Sym>, u64)> = BTreeMap::new();
        let mut kinds = vec![0u64; nsym];
        let mut messages: FastMap<(Sym, Sym), u64> = FastMap::default();
        let (mut comp_calls, mut comp_ok) = (0u64, 0u64);
        // Calls come in time order, and consecutive calls mostly share a session and a day:
        // the current day's sessions are collected apart and merged when the day changes.
        let mut cur: Option<(i64, FastSet<Sym>, u64)> = None;
        let mut last_session = Sym::MAX;
        for i in 0..t.len() {
            let user = t.user[i] as usize;
            if !user_seen[user] {
                user_seen[user] = true;
                unique_users += 1;
            }
            let et = t.event_type[i];
            let success = t.success[i];
            let tc = &mut type_counts[et as usize];
            tc.0 += 1;
            tc.1 += u64::from(success);
            let session = t.session[i];
            session_calls[session as usize] += 1;
            let day = day_of(t.timestamp_us[i]);
            if cur.as_ref().is_none_or(|c| c.0 != day) {
                if let Some((d, set, n)) = cur.take() {
                    let e = days.entry(d).or_default();
                    e.0.extend(set);
                    e.1 += n;
                }
                cur = Some((day, FastSet::default(), 0));
                last_session = Sym::MAX;
            }
            if let Some(c) = cur.as_mut() {
                if session != last_session {
                    c.1.insert(session);
                    last_session = session;
                }
                c.2 += 1;
            }
            if let Some(err) = t.error[i] {
                kinds[err.kind as usize] += 1;
                *messages.entry((err.kind, err.message)).or_default() += 1;
            }
            let slot = match et {
                EventType::EstimatorUsage => 0,
                EventType::ModelUsage => 1,
                EventType::Custom => 2,
                EventType::BenchmarkRun => continue,
            };
            comp_calls += 1;
            comp_ok += u64::from(success);
            lengths[length_slot(length_bucket(t.data_length[i]))] += 1;
            let acc = comps[slot].entry(t.component[i]).or_default();
            acc.calls += 1;
            acc.failures += u64::from(!success);
            if slot < 2 {
                *acc.combos.entry(t.params[i]).or_default() += 1;
                for &(k, v) in t.derived_pairs(i) {
                    acc.seeds.entry(k).or_default().add(v);
                }
            }
        }
        if let Some((d, set, n)) = cur.take() {
            let e = days.entry(d).or_default();
            e.0.extend(set);
            e.1 += n;
        }
        for et in [
            EventType::EstimatorUsage,
            EventType::ModelUsage,
            EventType::BenchmarkRun,
            EventType::Custom,
        ] {
            let (n, ok) = type_counts[et as usize];
            if n > 0 {
                by_type.insert(type_name(et), (n, ok));
            }
        }
        let mut parameters = Vec::new();
        let mut lists: Vec<Vec<ComponentUse>> = Vec::new();
        for map in comps {
            let total: u64 = map.values().map(|a| a.calls).sum();
            let mut list: Vec<ComponentUse> = Vec::with_capacity(map.len());
            for (name, acc) in map {
                let name = t.str(name);
                list.push(ComponentUse {
                    name: name.to_string(),
                    calls: acc.calls,
                    share: acc.calls as f64 / total as f64,
                    failures: acc.failures,
                });
                if !acc.combos.is_empty() {
                    parameters.push(parameter_usage(t, name, acc));
                }
            }
            list.sort_unstable_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.name.cmp(&b.name)));
            lists.push(list);
        }
        parameters.sort_unstable_by(|a, b| {
            b.calls
                .cmp(&a.calls)
                .then_with(|| a.component.cmp(&b.component))
        });
        let custom = lists.pop().unwrap_or_default();
        let models = lists.pop().unwrap_or_default();
        let estimators = lists.pop().unwrap_or_default();
        let session_calls: Vec<u64> = session_calls.into_iter().filter(|&n| n > 0).collect();
        let kinds: FastMap<&str, u64> = kinds
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(k, &n)| (t.str(k as Sym), n))
            .collect();
        let messages: FastMap<(&str, &str), u64> = messages
            .into_iter()
            .map(|((k, m), n)| ((t.str(k), t.str(m)), n))
            .collect();
        let calls = &t.id;
        let mut per_session: Vec<f64> = session_calls.iter().map(|&n| n as f64).collect();
        let sessions = Sessions {
            sessions: session_calls.len() as u64,
            mean_calls_per_session: (!per_session.is_empty())
                .then(|| calls.len() as f64 / per_session.len() as f64),
            calls_per_session: Quantiles::of(&mut per_session),
            per_day: days
                .into_iter()
                .map(|(d, (s, n))| DayActivity {
                    day: util::day_label(d),
                    sessions: s.len() as u64,
                    calls: n,
                })
                .collect(),
        };
        UsageReport {
            period,
            total_calls: calls.len() as u64,
            unique_users,
            outcomes: by_type
                .into_iter()
                .map(|(t, (n, ok))| outcomes(t, n, ok))
                .collect(),
            component_outcomes: outcomes("component calls", comp_calls, comp_ok),
            estimators,
            models,
            custom,
            parameters,
            data_lengths: std::iter::once(None)
                .chain((0..LENGTH_SLOTS as u32 - 1).map(Some))
                .filter(|&b| lengths[length_slot(b)] > 0)
                .map(|b| (b, lengths[length_slot(b)]))
                .map(|(b, n)| LengthCount {
                    log2: b,
                    label: length_bucket_label(b),
                    calls: n,
                    share: n as f64 / comp_calls as f64,
                })
                .collect(),
            sessions,
            errors_by_kind: sorted_counts(kinds)
                .into_iter()
                .map(|(k, count)| ErrorCount {
                    kind: k.to_string(),
                    message: String::new(),
                    count,
                })
                .collect(),
            common_errors: sorted_counts(messages)
                .into_iter()
                .take(10)
                .map(|((k, m), count)| ErrorCount {
                    kind: k.to_string(),
                    message: m.to_string(),
                    count,
                })
                .collect(),
        }
    }

    /// The report as a document.
    pub fn to_doc(&self) -> Doc {
        let mut d = Doc::new("Usage report");
        d.para(format!("Period: {}.", self.period.label()));
        d.h2("Overview");
        let co = &self.component_outcomes;
        d.list(vec![
            format!("Recorded calls: {} (all types).", self.total_calls),
            format!("Unique users: {}.", self.unique_users),
            format!(
                "Component calls (estimators, models, custom functions): {}; {} succeeded, {} failed; success rate {}.",
                co.calls,
                co.successes,
                co.failures,
                proportion_text(co.success.as_ref())
            ),
        ]);
        d.h2("Success and failure by event type");
        d.para("Each rate is over the calls of its own type, with a Wilson 95% interval; benchmark-run records (one per workflow run) are never mixed with component calls.");
        d.table(
            &[
                "event type",
                "calls",
                "successes",
                "failures",
                "success rate (95% CI)",
            ],
            self.outcomes
                .iter()
                .map(|o| {
                    vec![
                        o.event_type.clone(),
                        o.calls.to_string(),
                        o.successes.to_string(),
                        o.failures.to_string(),
                        proportion_text(o.success.as_ref()),
                    ]
                })
                .collect(),
            "No calls were recorded in this period.",
        );
        d.h2("Most used estimators");
        d.table(
            &["estimator", "calls", "share", "failures"],
            use_rows(&self.estimators),
            "No estimator calls in this period.",
        );
        d.chart("calls_per_estimator", "Calls per estimator");
        d.h2("Most used models");
        d.table(
            &["model", "calls", "share", "failures"],
            use_rows(&self.models),
            "No model calls in this period.",
        );
        if !self.custom.is_empty() {
            d.h2("Functions recorded through the library API");
            d.table(
                &["function", "calls", "share", "failures"],
                use_rows(&self.custom),
                "",
            );
        }
        d.h2("Parameter usage patterns");
        d.para(format!("Per estimator and model: the {TOP_N} most used values of each parameter (by calls, ties by value) and the {TOP_N} most used full sets of the parameters a user chose. Parameters derived per call are left out of the sets: a `seed` or `*_seed` (a workflow derives one per cell) and any parameter with more than {DERIVED_MIN_DISTINCT} distinct values for more than half of its calls."));
        let mut rows = Vec::new();
        for p in &self.parameters {
            for k in &p.keys {
                rows.push(vec![
                    p.component.clone(),
                    k.key.clone(),
                    format!("{} of {}", k.calls, p.calls),
                    k.distinct_values.to_string(),
                    k.top_values
                        .iter()
                        .map(|v| format!("{} ({})", v.value, v.calls))
                        .collect::<Vec<_>>()
                        .join("; "),
                ]);
            }
        }
        d.table(
            &[
                "component",
                "parameter",
                "calls setting it",
                "distinct values",
                "top values (calls)",
            ],
            rows,
            "No parameters were recorded in this period.",
        );
        let combos: Vec<Vec<String>> = self
            .parameters
            .iter()
            .flat_map(|p| {
                p.top_combinations
                    .iter()
                    .map(|c| vec![p.component.clone(), c.value.clone(), c.calls.to_string()])
            })
            .collect();
        d.h3("Parameter combinations (chosen parameters)");
        let derived: Vec<String> = self
            .parameters
            .iter()
            .filter(|p| !p.derived_keys.is_empty())
            .map(|p| format!("{}: {}", p.component, p.derived_keys.join(", ")))
            .collect();
        if !derived.is_empty() {
            d.para(format!(
                "Left out as derived per call: {}.",
                derived.join("; ")
            ));
        }
        d.table(
            &["component", "parameters", "calls"],
            combos,
            "No parameter combinations in this period.",
        );
        d.h2("Data length distribution");
        d.para("Component calls by series length in powers of two, [2^k, 2^(k+1)).");
        d.table(
            &["length", "calls", "share"],
            self.data_lengths
                .iter()
                .map(|l| vec![l.label.clone(), l.calls.to_string(), pct(l.share)])
                .collect(),
            "No component calls in this period.",
        );
        d.h2("Sessions");
        let s = &self.sessions;
        d.list(vec![
            format!("Sessions (host processes): {}.", s.sessions),
            format!(
                "Calls per session: mean {}, median {}, 95th percentile {}, maximum {}.",
                util::opt(s.mean_calls_per_session, |v| util::num(v, 1)),
                util::opt(s.calls_per_session, |q| util::num(q.p50, 1)),
                util::opt(s.calls_per_session, |q| util::num(q.p95, 1)),
                util::opt(s.calls_per_session, |q| util::num(q.max, 0)),
            ),
        ]);
        d.table(
            &["day (UTC)", "sessions", "calls"],
            s.per_day
                .iter()
                .map(|r| vec![r.day.clone(), r.sessions.to_string(), r.calls.to_string()])
                .collect(),
            "No sessions in this period.",
        );
        d.h2("Common errors");
        d.table(
            &["kind", "failures"],
            self.errors_by_kind
                .iter()
                .map(|e| vec![e.kind.clone(), e.count.to_string()])
                .collect(),
            "No failures in this period.",
        );
        d.table(
            &["kind", "message", "occurrences"],
            self.common_errors
                .iter()
                .map(|e| vec![e.kind.clone(), e.message.clone(), e.count.to_string()])
                .collect(),
            "",
        );
        d
    }
}

fn combination(params: &[(&str, &str)]) -> String {
    if params.is_empty() {
        "(none)".to_string()
    } else {
        params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn use_rows(list: &[ComponentUse]) -> Vec<Vec<String>> {
    list.iter()
        .map(|u| {
            vec![
                u.name.clone(),
                u.calls.to_string(),
                pct(u.share),
                u.failures.to_string(),
            ]
        })
        .collect()
}

/// `30.0% (10.8%–60.3%, 3/10)`, or `n/a (no attempts)`.
pub(crate) fn proportion_text(p: Option<&Proportion>) -> String {
    match p {
        Some(p) => format!(
            "{} ({}–{}, {}/{})",
            pct(p.rate),
            pct(p.ci95.low),
            pct(p.ci95.high),
            p.count,
            p.attempts
        ),
        None => "n/a (no attempts)".to_string(),
    }
}
