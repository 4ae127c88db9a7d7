//! The reliability report: failure rates over attempts with Wilson intervals, split into the
//! component's failures and the input's (see [`crate::failure`]), errors by kind, failure
//! modes, where a component's own failures concentrate, a defined reliability score with its
//! sample size and interval, and recommendations each backed by a test of stated false-alarm
//! rate and minimum sample ([`crate::alarm`]).

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Serialize;

use crate::util::FastMap;

use lrdbench_analytics::event::{CallEvent, EventType};
use lrdbench_analytics::table::{CallTable, DerivedValue, SetId, Sym};

use crate::alarm::{
    binomial_sf, hypergeometric_sf, Verdict, FAMILY_ALPHA, MIN_STRATUM_FAILURES, MIN_USABLE_CALLS,
};
use crate::failure::Side;
use crate::render::Doc;
use crate::report::usage::proportion_text;
use crate::stats::{
    lift, reliability_score, wilson, Interval, Lift, Proportion, RELIABILITY_SCORE_DEFINITION, Z95,
};
use crate::util::{h_band, length_bucket, length_bucket_label, num, opt, pct, Period};

/// Error kinds the host adds (as opposed to the kinds a plugin returns).
pub(crate) const HOST_KINDS: [&str; 5] = ["panic", "crash", "timeout", "out_of_memory", "load"];

/// Kinds whose single occurrence is evidence enough to recommend isolation: the host saw the
/// component panic, crash or exhaust memory. A timeout is not among them: machine load alone
/// can cause one, so timeouts count in the failure-rate test instead.
pub(crate) const CRASH_KINDS: [&str; 3] = ["panic", "crash", "out_of_memory"];

/// A parameter with more distinct values than this (per component) is not stratified: its
/// strata would be too thin to say anything.
pub(crate) const MAX_PARAMETER_STRATA: usize = 20;

/// The failure rate of a component's own failures (over usable calls) that its failure-rate
/// test asks whether it exceeds.
pub(crate) const ATTENTION_RATE: f64 = 0.05;

/// Reliability of one component.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComponentReliability {
    /// Component name.
    pub component: String,
    /// Event type of its calls.
    pub event_type: String,
    /// Every failure (the component's and the input's) over attempts, with the Wilson 95%
    /// interval.
    pub error_rate: Proportion,
    /// Failures whose kind says the input was unusable ([`crate::failure::INPUT_KINDS`]) over
    /// attempts: the data's, not the component's.
    pub input_failures: Proportion,
    /// Attempts whose input the component could use: attempts − input failures.
    pub usable_calls: u64,
    /// The component's own failures over usable calls; `None` without usable calls.
    pub component_failure_rate: Option<Proportion>,
    /// The reliability score over usable calls (see [`RELIABILITY_SCORE_DEFINITION`]);
    /// `None` below [`MIN_USABLE_CALLS`] usable calls: not enough data, not ranked.
    pub score: Option<f64>,
    /// 100 × the Wilson 95% interval of the success rate over usable calls: the range the
    /// score's success rate lies in.
    pub score_ci95: Option<Interval>,
    /// The binomial test of "its own failure rate exceeds [`ATTENTION_RATE`]"; `None` below
    /// [`MIN_USABLE_CALLS`] usable calls.
    pub failure_test: Option<Verdict>,
    /// Its most frequent kind of its own failures.
    pub top_kind: Option<String>,
    /// Its most frequent kind of input failures.
    pub top_input_kind: Option<String>,
}

/// Failures of one kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KindCount {
    /// The kind.
    pub kind: String,
    /// `plugin` (returned by the plugin) or `host` (added by the host).
    pub origin: String,
    /// `input` (the input was unusable) or `component` (the component failed).
    pub side: Side,
    /// Failures of this kind.
    pub failures: u64,
    /// Share of all failures.
    pub share: f64,
}

/// One failure mode: a component failing with one kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailureMode {
    /// Component.
    pub component: String,
    /// Error kind.
    pub kind: String,
    /// Whose failure the kind is.
    pub side: Side,
    /// Failures of this kind over the component's attempts.
    pub rate: Proportion,
}

/// A stratum of one component's usable calls.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stratum {
    /// Component.
    pub component: String,
    /// `data_length`, `parameter` or `h_band`.
    pub dimension: String,
    /// The stratum, e.g. `64–127 (2^6)`, `window=8`, `0.6-0.8`.
    pub value: String,
    /// The component's own failures and usable calls in the stratum against its rate over all
    /// its usable calls.
    pub lift: Lift,
    /// Fisher's exact test (hypergeometric tail) of "the stratum holds more of the
    /// component's failures than chance puts there", Bonferroni over every tested stratum;
    /// `None` when not tested (fewer than [`MIN_STRATUM_FAILURES`] failures in the stratum,
    /// or fewer than [`MIN_USABLE_CALLS`] usable calls of the component).
    pub test: Option<Verdict>,
    /// Whether the test raised an alarm.
    pub concentrated: bool,
}

/// A recommendation and the numbers that triggered it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    /// The component it is about, if any.
    pub component: Option<String>,
    /// The test behind it; `None` for an observed crash (a fact, not an inference) or the
    /// closing "no alarm" line.
    pub test: Option<Verdict>,
    /// The text, quoting its numbers and its test.
    pub text: String,
}

/// The reliability report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReliabilityReport {
    /// The period analysed.
    pub period: Period,
    /// How the score is defined.
    pub score_definition: String,
    /// How failures are split between the component and the input.
    pub split_rule: String,
    /// The tests behind the recommendations, with their false-alarm rates and minimum samples.
    pub alarm_rules: Vec<String>,
    /// Every failure over all component calls; `None` without calls.
    pub overall: Option<Proportion>,
    /// Input failures over all component calls.
    pub overall_input: Option<Proportion>,
    /// Components' own failures over all usable calls.
    pub overall_component: Option<Proportion>,
    /// The score over all usable calls.
    pub overall_score: Option<f64>,
    /// Per component: scored components lowest score first, then those without enough data,
    /// by name.
    pub components: Vec<ComponentReliability>,
    /// Failures by kind, most frequent first.
    pub errors_by_kind: Vec<KindCount>,
    /// Failure modes, most frequent first.
    pub failure_modes: Vec<FailureMode>,
    /// Strata of components with own failures, by component, dimension and value.
    pub strata: Vec<Stratum>,
    /// Recommendations.
    pub recommendations: Vec<Recommendation>,
    /// What the input failures say about the data (facts with counts, not alarms about a
    /// component).
    pub input_notes: Vec<String>,
}

/// Calls, input failures and own failures of one component.
#[derive(Default, Clone, Copy)]
struct Rates {
    attempts: u64,
    input: u64,
    own: u64,
}

impl Rates {
    fn usable(&self) -> u64 {
        self.attempts - self.input
    }
}

/// Usable calls and own failures per value of one seed parameter.
type SeedStrata = FastMap<DerivedValue, (u64, u64)>;

/// Usable calls and own failures by stratum while the calls are counted: keyed by symbols,
/// lengths in array slots.
struct RawStrata {
    by_len: [(u64, u64); 66],
    by_set: FastMap<SetId, (u64, u64)>,
    /// Per seed parameter (kept out of the sets by the table), its values' counts, or `None`
    /// once it has more than [`MAX_PARAMETER_STRATA`] values (then it is no stratum at all).
    by_seed: FastMap<Sym, Option<SeedStrata>>,
    by_h: BTreeMap<&'static str, (u64, u64)>,
}

/// The counts of one component, one accumulator per section of the report.
struct RawComponent {
    rates: Rates,
    kinds: FastMap<Option<Sym>, u64>,
    strata: RawStrata,
}

impl RawComponent {
    fn new() -> RawComponent {
        RawComponent {
            rates: Rates::default(),
            kinds: FastMap::default(),
            strata: RawStrata {
                by_len: [(0, 0); 66],
                by_set: FastMap::default(),
                by_seed: FastMap::default(),
                by_h: BTreeMap::new(),
            },
        }
    }

    /// Counts call `i` of `t`.
    fn add(&mut self, t: &CallTable, i: usize) {
        self.rates.attempts += 1;
        let failed = !t.success[i];
        if failed {
            let kind = t.error[i].map(|e| e.kind);
            *self.kinds.entry(kind).or_default() += 1;
            if Side::of(kind.map(|k| t.str(k))) == Side::Input {
                // The input's failure: not a usable call, so in no stratum of the component.
                self.rates.input += 1;
                return;
            }
            self.rates.own += 1;
        }
        let s = &mut self.strata;
        bump(
            &mut s.by_len[length_bucket(t.data_length[i]).map_or(0, |k| k as usize + 1)],
            failed,
        );
        bump(s.by_set.entry(t.params[i]).or_default(), failed);
        for &(key, value) in t.derived_pairs(i) {
            let values = s
                .by_seed
                .entry(key)
                .or_insert_with(|| Some(FastMap::default()));
            if let Some(map) = values {
                if map.len() == MAX_PARAMETER_STRATA && !map.contains_key(&value) {
                    *values = None;
                } else {
                    bump(map.entry(value).or_default(), failed);
                }
            }
        }
        if let Some(band) = t.truth_h[i].and_then(h_band) {
            bump(s.by_h.entry(band).or_default(), failed);
        }
    }

    fn resolve(self, t: &CallTable, name: Sym, et: EventType) -> ComponentAcc<'_> {
        let mut kinds: FastMap<&str, u64> = FastMap::default();
        for (k, n) in self.kinds {
            *kinds.entry(k.map_or("unknown", |k| t.str(k))).or_default() += n;
        }
        let mut kinds: Vec<(&str, u64)> = kinds.into_iter().collect();
        kinds.sort_unstable_by(|x, y| y.1.cmp(&x.1).then_with(|| x.0.cmp(y.0)));
        let mut by_len = BTreeMap::new();
        for (slot, c) in self.strata.by_len.into_iter().enumerate() {
            if c.0 > 0 {
                by_len.insert(slot.checked_sub(1).map(|k| k as u32), c);
            }
        }
        let mut by_param: BTreeMap<(&str, Cow<'_, str>), (u64, u64)> = BTreeMap::new();
        for (set, (n, k)) in self.strata.by_set {
            for &(key, value) in t.param_set(set) {
                let e = by_param
                    .entry((t.str(key), Cow::Borrowed(t.str(value))))
                    .or_default();
                e.0 += n;
                e.1 += k;
            }
        }
        for (key, values) in self.strata.by_seed {
            for (value, c) in values.into_iter().flatten() {
                by_param.insert((t.str(key), t.derived_text(value)), c);
            }
        }
        ComponentAcc {
            name: t.str(name),
            event_type: et,
            rates: self.rates,
            kinds,
            strata: Strata {
                by_len,
                by_param,
                by_h: self.strata.by_h,
            },
        }
    }
}

/// Usable calls and own failures by stratum, with strings.
struct Strata<'a> {
    by_len: BTreeMap<Option<u32>, (u64, u64)>,
    by_param: BTreeMap<(&'a str, Cow<'a, str>), (u64, u64)>,
    by_h: BTreeMap<&'static str, (u64, u64)>,
}

impl Strata<'_> {
    /// Every stratum as (dimension, value, (usable calls, own failures)); parameters with
    /// more than [`MAX_PARAMETER_STRATA`] values are left out.
    fn rows(&self) -> Vec<(&'static str, String, (u64, u64))> {
        let mut out = Vec::new();
        for (b, c) in &self.by_len {
            out.push(("data_length", length_bucket_label(*b), *c));
        }
        let mut per_key: BTreeMap<&str, usize> = BTreeMap::new();
        for (k, _) in self.by_param.keys() {
            *per_key.entry(k).or_default() += 1;
        }
        for ((k, v), c) in &self.by_param {
            if per_key.get(k).copied().unwrap_or(0) <= MAX_PARAMETER_STRATA {
                out.push(("parameter", format!("{k}={v}"), *c));
            }
        }
        for (band, c) in &self.by_h {
            out.push(("h_band", format!("H {band}"), *c));
        }
        out
    }
}

/// One component's counts, resolved to strings.
struct ComponentAcc<'a> {
    name: &'a str,
    event_type: EventType,
    rates: Rates,
    /// Failures by kind, most frequent first.
    kinds: Vec<(&'a str, u64)>,
    strata: Strata<'a>,
}

impl ComponentAcc<'_> {
    fn top_kind(&self, side: Side) -> Option<String> {
        self.kinds
            .iter()
            .find(|(k, _)| Side::of(Some(k)) == side)
            .map(|(k, _)| k.to_string())
    }

    /// Whether it has enough usable calls for a score, a rank and the tests.
    fn enough_data(&self) -> bool {
        self.rates.usable() >= MIN_USABLE_CALLS
    }
}

fn bump(e: &mut (u64, u64), failed: bool) {
    e.0 += 1;
    e.1 += u64::from(failed);
}

/// Counts every estimator, model and custom call of `t` per component.
fn tally(t: &CallTable) -> Vec<ComponentAcc<'_>> {
    let mut raw: FastMap<(Sym, EventType), RawComponent> = FastMap::default();
    for i in 0..t.len() {
        let et = t.event_type[i];
        if et == EventType::BenchmarkRun {
            continue;
        }
        raw.entry((t.component[i], et))
            .or_insert_with(RawComponent::new)
            .add(t, i);
    }
    let mut accs: Vec<ComponentAcc> = raw
        .into_iter()
        .map(|((name, et), r)| r.resolve(t, name, et))
        .collect();
    accs.sort_by(|a, b| a.name.cmp(b.name).then(a.event_type.cmp(&b.event_type)));
    accs
}

/// How failures are split; printed in the report.
pub(crate) const SPLIT_RULE: &str = "A failed call is the input's when its typed kind says the input \
could not be used (invalid_input — e.g. gaps left by a `missing` contamination without interpolation \
—, insufficient_data, parameter), and the component's otherwise (numerical, non_convergence, \
internal, panic, crash, timeout, out_of_memory, load, or a kind this build does not know). Input \
failures are reported as the data's and never count against a component: its own failure rate, \
its score and its strata are over its usable calls (attempts − input failures).";

/// The rules of the tests behind the recommendations.
pub(crate) fn alarm_rules() -> Vec<String> {
    let a = pct(FAMILY_ALPHA);
    vec![
        format!(
            "Failure rate: a component with at least {MIN_USABLE_CALLS} usable calls is flagged when the exact binomial test rejects \"its own failure rate is at most {}\" at {a} divided by the number of components tested (Bonferroni): when no component fails more often than {}, the report raises this alarm with probability at most {a}.",
            pct(ATTENTION_RATE),
            pct(ATTENTION_RATE)
        ),
        format!(
            "Concentration: a stratum (data-length bucket, parameter value, H band) holding at least {MIN_STRATUM_FAILURES} of a component's own failures, of a component with at least {MIN_USABLE_CALLS} usable calls, is flagged when Fisher's exact test (hypergeometric upper tail) rejects \"the stratum's calls fail like the component's other calls\" at {a} divided by the number of strata that could be tested (every stratum of every such component with own failures): when failures fall at random among a component's calls, the report raises this alarm with probability at most {a}. Input failures are in no stratum, so a contamination that leaves gaps on purpose cannot raise it."
        ),
        String::from(
            "Crashes: a component that panicked, crashed or ran out of memory in a call is named on that evidence alone (an observed event, not a rate estimate); a timeout is not (machine load can cause one) and counts in the failure-rate test."
        ),
        format!(
            "Components with fewer than {MIN_USABLE_CALLS} usable calls get no score and no rank (\"not enough data\"), and no failure-rate or concentration alarm."
        ),
    ]
}

impl ReliabilityReport {
    /// Computes the report over the calls of `period`: every estimator, model and custom call
    /// is an attempt; benchmark-run records are not.
    pub fn compute(calls: &[CallEvent], period: Period) -> ReliabilityReport {
        ReliabilityReport::compute_table(&CallTable::from_events(calls), period)
    }

    /// [`ReliabilityReport::compute`] over calls as a [`CallTable`]: the pass over the calls
    /// counts by symbols and parameter sets; strings are looked at once per distinct value.
    pub fn compute_table(t: &CallTable, period: Period) -> ReliabilityReport {
        let accs = tally(t);
        let mut total = Rates::default();
        for a in &accs {
            total.attempts += a.rates.attempts;
            total.input += a.rates.input;
            total.own += a.rates.own;
        }
        let components = component_rows(&accs);
        let (errors_by_kind, failure_modes) = kind_rows(&accs, total.input + total.own);
        let strata = strata_rows(&accs);
        let recommendations = recommend(&components, &failure_modes, &strata);
        ReliabilityReport {
            period,
            score_definition: RELIABILITY_SCORE_DEFINITION.to_string(),
            split_rule: SPLIT_RULE.to_string(),
            alarm_rules: alarm_rules(),
            overall: Proportion::new(total.input + total.own, total.attempts),
            overall_input: Proportion::new(total.input, total.attempts),
            overall_component: Proportion::new(total.own, total.usable()),
            overall_score: reliability_score(total.usable() - total.own, total.usable()),
            input_notes: input_notes(&components),
            components,
            errors_by_kind,
            failure_modes,
            strata,
            recommendations,
        }
    }
}

/// The per-component rows with their scores and failure-rate tests.
fn component_rows(accs: &[ComponentAcc]) -> Vec<ComponentReliability> {
    let tested = accs.iter().filter(|a| a.enough_data()).count();
    let mut rows: Vec<ComponentReliability> = accs
        .iter()
        .filter_map(|a| {
            let r = a.rates;
            let usable = r.usable();
            let enough = a.enough_data();
            Some(ComponentReliability {
                component: a.name.to_string(),
                event_type: super::event_type_name(a.event_type).to_string(),
                error_rate: Proportion::new(r.input + r.own, r.attempts)?,
                input_failures: Proportion::new(r.input, r.attempts)?,
                usable_calls: usable,
                component_failure_rate: Proportion::new(r.own, usable),
                score: enough
                    .then(|| reliability_score(usable - r.own, usable))
                    .flatten(),
                score_ci95: wilson(usable - r.own, usable, Z95).map(|ci| Interval {
                    low: 100.0 * ci.low,
                    high: 100.0 * ci.high,
                }),
                failure_test: enough.then(|| {
                    Verdict::bonferroni(binomial_sf(r.own, usable, ATTENTION_RATE), tested)
                }),
                top_kind: a.top_kind(Side::Component),
                top_input_kind: a.top_kind(Side::Input),
            })
        })
        .collect();
    rows.sort_by(|x, y| match (x.score, y.score) {
        (Some(a), Some(b)) => a.total_cmp(&b).then_with(|| x.component.cmp(&y.component)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => x.component.cmp(&y.component),
    });
    rows
}

/// Failures by kind over all components, and the failure modes.
fn kind_rows(accs: &[ComponentAcc], failures: u64) -> (Vec<KindCount>, Vec<FailureMode>) {
    let mut kinds: BTreeMap<&str, u64> = BTreeMap::new();
    let mut modes = Vec::new();
    for a in accs {
        for &(k, n) in &a.kinds {
            *kinds.entry(k).or_default() += n;
            if let Some(rate) = Proportion::new(n, a.rates.attempts) {
                modes.push(FailureMode {
                    component: a.name.to_string(),
                    kind: k.to_string(),
                    side: Side::of(Some(k)),
                    rate,
                });
            }
        }
    }
    let mut by_kind: Vec<KindCount> = kinds
        .into_iter()
        .map(|(k, n)| KindCount {
            kind: k.to_string(),
            origin: if HOST_KINDS.contains(&k) {
                "host"
            } else {
                "plugin"
            }
            .to_string(),
            side: Side::of(Some(k)),
            failures: n,
            share: n as f64 / failures.max(1) as f64,
        })
        .collect();
    by_kind.sort_by(|x, y| {
        y.failures
            .cmp(&x.failures)
            .then_with(|| x.kind.cmp(&y.kind))
    });
    modes.sort_by(|x, y| {
        y.rate
            .count
            .cmp(&x.rate.count)
            .then_with(|| x.component.cmp(&y.component))
            .then_with(|| x.kind.cmp(&y.kind))
    });
    (by_kind, modes)
}

/// The strata of every component with own failures, each tested for a concentration when it
/// qualifies, at the family level over every tested stratum.
fn strata_rows(accs: &[ComponentAcc]) -> Vec<Stratum> {
    struct Candidate<'a> {
        acc: &'a ComponentAcc<'a>,
        dimension: &'static str,
        value: String,
        usable: u64,
        failed: u64,
        p: Option<f64>,
    }
    let mut cands = Vec::new();
    let mut eligible_strata = 0usize;
    for a in accs.iter().filter(|a| a.rates.own > 0) {
        let (total, marked) = (a.rates.usable(), a.rates.own);
        for (dimension, value, (usable, failed)) in a.strata.rows() {
            // Every stratum that could be tested counts in the Bonferroni divisor, whatever
            // its failures: counting only those with enough failures would pick the tests by
            // their outcome (that raised false alarms in 22% of simulated noise-only reports).
            let eligible = a.enough_data() && usable < total;
            eligible_strata += usize::from(eligible);
            let tested = eligible && failed >= MIN_STRATUM_FAILURES;
            cands.push(Candidate {
                acc: a,
                dimension,
                value,
                usable,
                failed,
                p: tested.then(|| hypergeometric_sf(failed, total, marked, usable)),
            });
        }
    }
    let tests = eligible_strata;
    let mut out: Vec<Stratum> = cands
        .into_iter()
        .filter_map(|c| {
            let overall = c.acc.rates.own as f64 / c.acc.rates.usable() as f64;
            let test = c.p.map(|p| Verdict::bonferroni(p, tests));
            Some(Stratum {
                component: c.acc.name.to_string(),
                dimension: c.dimension.to_string(),
                value: c.value,
                lift: lift(c.failed, c.usable, overall)?,
                concentrated: test.is_some_and(|v| v.alarm),
                test,
            })
        })
        .collect();
    out.sort_by(|x, y| {
        x.component
            .cmp(&y.component)
            .then_with(|| x.dimension.cmp(&y.dimension))
            .then_with(|| x.value.cmp(&y.value))
    });
    out
}

/// What the input failures say about the data, per component with any.
fn input_notes(components: &[ComponentReliability]) -> Vec<String> {
    components
        .iter()
        .filter(|c| c.input_failures.count > 0)
        .map(|c| {
            format!(
                "{}: {} of {} calls ({}) were given input it could not use (most often {}); they are the data's failures and are left out of its reliability.",
                c.component,
                c.input_failures.count,
                c.input_failures.attempts,
                pct(c.input_failures.rate),
                c.top_input_kind.as_deref().unwrap_or("unknown"),
            )
        })
        .collect()
}

impl ReliabilityReport {
    /// The report as a document.
    pub fn to_doc(&self) -> Doc {
        let mut d = Doc::new("Reliability report");
        d.para(format!("Period: {}.", self.period.label()));
        self.overview_doc(&mut d);
        self.components_doc(&mut d);
        self.kinds_doc(&mut d);
        self.strata_doc(&mut d);
        d.h2("Improvement recommendations");
        d.para("Each recommendation is backed by one of these tests:");
        d.list(self.alarm_rules.clone());
        d.list(
            self.recommendations
                .iter()
                .map(|r| r.text.clone())
                .collect(),
        );
        d.h2("Unusable input (the data's failures)");
        if self.input_notes.is_empty() {
            d.para("No call was given input it could not use.");
        } else {
            d.list(self.input_notes.clone());
        }
        d
    }

    fn overview_doc(&self, d: &mut Doc) {
        d.h2("Error overview");
        d.list(vec![
            format!(
                "Every failure over all component calls: {}.",
                proportion_text(self.overall.as_ref())
            ),
            format!(
                "Input failures (the input was unusable) over all calls: {}.",
                proportion_text(self.overall_input.as_ref())
            ),
            format!(
                "Components' own failures over usable calls: {}.",
                proportion_text(self.overall_component.as_ref())
            ),
            format!(
                "Overall reliability score (usable calls): {}.",
                opt(self.overall_score, |s| num(s, 1))
            ),
            format!("Distinct error kinds: {}.", self.errors_by_kind.len()),
        ]);
        d.para(self.split_rule.clone());
        d.para(format!("Definition: {}", self.score_definition));
    }

    fn components_doc(&self, d: &mut Doc) {
        d.h2("Error rate and reliability per estimator");
        d.para(format!("Every call is an attempt. Input failures are over attempts; the component's own failure rate and its score are over its usable calls, with Wilson 95% intervals. Lowest score first; a component with fewer than {MIN_USABLE_CALLS} usable calls has \"not enough data\" and no rank."));
        d.table(
            &[
                "component",
                "type",
                "attempts",
                "input failures",
                "usable",
                "own failures (95% CI)",
                "score (95% CI)",
                "most common own kind",
            ],
            self.components
                .iter()
                .map(|c| {
                    vec![
                        c.component.clone(),
                        c.event_type.clone(),
                        c.error_rate.attempts.to_string(),
                        c.input_failures.count.to_string(),
                        c.usable_calls.to_string(),
                        proportion_text(c.component_failure_rate.as_ref()),
                        match (c.score, c.score_ci95) {
                            (Some(s), Some(ci)) => format!(
                                "{} ({}–{}, n = {})",
                                num(s, 1),
                                num(ci.low, 1),
                                num(ci.high, 1),
                                c.usable_calls
                            ),
                            _ => format!("not enough data (n = {})", c.usable_calls),
                        },
                        c.top_kind.clone().unwrap_or_else(|| "—".into()),
                    ]
                })
                .collect(),
            "No component calls in this period.",
        );
        d.chart(
            "reliability_intervals",
            "Own failure rate per component (usable calls) with its Wilson 95% interval",
        );
    }

    fn kinds_doc(&self, d: &mut Doc) {
        d.h2("Errors by kind");
        d.para("Kinds are typed at the ABI (plugin kinds) or added by the host (panic, crash, timeout, out_of_memory, load); no message text is parsed. Side: whose failure the kind is.");
        d.table(
            &["kind", "origin", "side", "failures", "share of failures"],
            self.errors_by_kind
                .iter()
                .map(|k| {
                    vec![
                        k.kind.clone(),
                        k.origin.clone(),
                        k.side.as_str().to_string(),
                        k.failures.to_string(),
                        pct(k.share),
                    ]
                })
                .collect(),
            "No failures in this period.",
        );
        d.chart("errors_by_kind", "Failures per component by kind");
        d.h2("Failure modes");
        d.table(
            &[
                "component",
                "kind",
                "side",
                "failures",
                "rate over attempts (95% CI)",
            ],
            self.failure_modes
                .iter()
                .map(|m| {
                    vec![
                        m.component.clone(),
                        m.kind.clone(),
                        m.side.as_str().to_string(),
                        m.rate.count.to_string(),
                        proportion_text(Some(&m.rate)),
                    ]
                })
                .collect(),
            "No failures in this period.",
        );
    }

    fn strata_doc(&self, d: &mut Doc) {
        d.h2("Where a component's own failures concentrate");
        d.para(format!(
            "For every component with own failures: its own failure rate over usable calls by data-length bucket, by parameter value (parameters with at most {MAX_PARAMETER_STRATA} distinct values) and by H band of the input when the true H is known. Lift = stratum rate / the component's rate. p: Fisher's exact test, against its Bonferroni level; \"—\" when not tested (fewer than {MIN_STRATUM_FAILURES} failures in the stratum, or not enough data)."
        ));
        for (dim, title) in [
            ("data_length", "By data length"),
            ("parameter", "By parameter value"),
            ("h_band", "By H band"),
        ] {
            d.h3(title);
            let rows: Vec<Vec<String>> = self
                .strata
                .iter()
                .filter(|s| s.dimension == dim)
                .map(|s| {
                    vec![
                        s.component.clone(),
                        s.value.clone(),
                        s.lift.stratum.attempts.to_string(),
                        s.lift.stratum.count.to_string(),
                        proportion_text(Some(&s.lift.stratum)),
                        pct(s.lift.reference_rate),
                        opt(s.lift.lift, |l| num(l, 2)),
                        opt(s.test, |v| {
                            format!("{:.1e} (level {:.1e})", v.p_value, v.level)
                        }),
                        if s.concentrated { "yes" } else { "no" }.into(),
                    ]
                })
                .collect();
            let empty = if dim == "h_band" {
                "No component with own failures has calls with a known true H."
            } else {
                "No own failures to stratify."
            };
            d.table(
                &[
                    "component",
                    "stratum",
                    "usable calls",
                    "own failures",
                    "rate (95% CI)",
                    "component rate",
                    "lift",
                    "p (level)",
                    "concentrated",
                ],
                rows,
                empty,
            );
        }
    }
}

fn recommend(
    components: &[ComponentReliability],
    modes: &[FailureMode],
    strata: &[Stratum],
) -> Vec<Recommendation> {
    let mut out = Vec::new();
    for c in components {
        let (Some(test), Some(r)) = (c.failure_test, c.component_failure_rate) else {
            continue;
        };
        if test.alarm {
            out.push(Recommendation {
                component: Some(c.component.clone()),
                test: Some(test),
                text: format!(
                    "{} fails often on input it accepts: {} of {} usable calls ({}, 95% CI {}–{}); most common kind: {}. Exact binomial test against {}: p = {:.1e}, below the level {:.1e} ({} over {} components).",
                    c.component,
                    r.count,
                    r.attempts,
                    pct(r.rate),
                    pct(r.ci95.low),
                    pct(r.ci95.high),
                    c.top_kind.as_deref().unwrap_or("unknown"),
                    pct(ATTENTION_RATE),
                    test.p_value,
                    test.level,
                    pct(FAMILY_ALPHA),
                    test.tests,
                ),
            });
        }
    }
    let mut conc: Vec<&Stratum> = strata.iter().filter(|s| s.concentrated).collect();
    conc.sort_by(|x, y| {
        let p = |s: &Stratum| s.test.map_or(1.0, |t| t.p_value);
        p(x).total_cmp(&p(y))
            .then_with(|| x.component.cmp(&y.component))
            .then_with(|| x.value.cmp(&y.value))
    });
    for s in conc.into_iter().take(10) {
        let what = match s.dimension.as_str() {
            "data_length" => format!("at data length {}", s.value),
            "parameter" => format!("with {}", s.value),
            _ => format!("on inputs with {}", s.value),
        };
        let test = s.test;
        out.push(Recommendation {
            component: Some(s.component.clone()),
            test,
            text: format!(
                "{} failures concentrate {what}: {} of {} usable calls failed ({}, 95% CI {}–{}) against {} over its usable calls (lift {}; Fisher's exact p = {}, below the level {}). Validate or document this range.",
                s.component,
                s.lift.stratum.count,
                s.lift.stratum.attempts,
                pct(s.lift.stratum.rate),
                pct(s.lift.stratum.ci95.low),
                pct(s.lift.stratum.ci95.high),
                pct(s.lift.reference_rate),
                opt(s.lift.lift, |l| num(l, 1)),
                opt(test, |t| format!("{:.1e}", t.p_value)),
                opt(test, |t| format!("{:.1e}", t.level)),
            ),
        });
    }
    for m in modes
        .iter()
        .filter(|m| CRASH_KINDS.contains(&m.kind.as_str()))
    {
        out.push(Recommendation {
            component: Some(m.component.clone()),
            test: None,
            text: format!(
                "{} ended in {} {} time(s) in {} calls (observed, not estimated): run it in isolated worker processes until it is fixed.",
                m.component, m.kind, m.rate.count, m.rate.attempts
            ),
        });
    }
    if out.is_empty() {
        let scored = components.iter().filter(|c| c.score.is_some()).count();
        out.push(Recommendation {
            component: None,
            test: None,
            text: if components.is_empty() {
                "No component calls in this period: nothing to recommend.".to_string()
            } else {
                format!(
                    "No alarm: no component's own failure rate is significantly above {} and no own failure concentrates in a stratum (tests at a family-wise {}; {} of {} components have enough data to be tested).",
                    pct(ATTENTION_RATE),
                    pct(FAMILY_ALPHA),
                    scored,
                    components.len()
                )
            },
        });
    }
    out
}
