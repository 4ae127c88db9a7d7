//! The reliability report: error rates over attempts with Wilson intervals, errors by kind,
//! failure modes, where failures concentrate (with counts and lift), a defined reliability
//! score, and recommendations that quote the numbers behind them.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::util::FastMap;

use lrdbench_analytics::event::{CallEvent, EventType};
use lrdbench_analytics::table::{CallTable, SetId, Sym};

use crate::render::Doc;
use crate::report::usage::proportion_text;
use crate::stats::{lift, reliability_score, Lift, Proportion, RELIABILITY_SCORE_DEFINITION};
use crate::util::{h_band, length_bucket, length_bucket_label, num, opt, pct, Period};

/// Error kinds the host adds (as opposed to the kinds a plugin returns).
pub const HOST_KINDS: [&str; 5] = ["panic", "crash", "timeout", "out_of_memory", "load"];

/// A parameter with more distinct values than this (per component) is not stratified: its
/// strata would be too thin to say anything.
pub const MAX_PARAMETER_STRATA: usize = 20;

/// The failure rate above which (at the lower end of its 95% interval) a component gets a
/// recommendation.
pub const ATTENTION_RATE: f64 = 0.05;

/// Reliability of one component.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComponentReliability {
    /// Component name.
    pub component: String,
    /// Event type of its calls.
    pub event_type: String,
    /// Failures over attempts, with the Wilson 95% interval.
    pub error_rate: Proportion,
    /// The reliability score (see [`RELIABILITY_SCORE_DEFINITION`]).
    pub score: f64,
    /// Its most frequent error kind, if it failed.
    pub top_kind: Option<String>,
}

/// Failures of one kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KindCount {
    /// The kind.
    pub kind: String,
    /// `plugin` (returned by the plugin) or `host` (added by the host).
    pub origin: String,
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
    /// Failures of this kind over the component's attempts.
    pub rate: Proportion,
}

/// A stratum of one component's attempts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stratum {
    /// Component.
    pub component: String,
    /// `data_length`, `parameter` or `h_band`.
    pub dimension: String,
    /// The stratum, e.g. `64–127 (2^6)`, `window=8`, `0.7 ≤ H < 0.85`.
    pub value: String,
    /// Failures and attempts in the stratum against the component's overall rate.
    pub lift: Lift,
    /// Whether the stratum's failure rate is significantly above the component's overall
    /// rate: the lower end of its Wilson 95% interval exceeds the overall rate, with at least
    /// 3 failures.
    pub concentrated: bool,
}

/// A recommendation and the numbers that triggered it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    /// The component it is about, if any.
    pub component: Option<String>,
    /// The text, quoting its numbers.
    pub text: String,
}

/// The reliability report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReliabilityReport {
    /// The period analysed.
    pub period: Period,
    /// How the score is defined.
    pub score_definition: String,
    /// Failures over all component calls; `None` without calls.
    pub overall: Option<Proportion>,
    /// The score over all component calls.
    pub overall_score: Option<f64>,
    /// Per component, lowest score first.
    pub components: Vec<ComponentReliability>,
    /// Failures by kind, most frequent first.
    pub errors_by_kind: Vec<KindCount>,
    /// Failure modes, most frequent first.
    pub failure_modes: Vec<FailureMode>,
    /// Strata of components that failed at least once, by component, dimension and value.
    pub strata: Vec<Stratum>,
    /// Recommendations.
    pub recommendations: Vec<Recommendation>,
}

#[derive(Default)]
struct Acc<'a> {
    attempts: u64,
    failures: u64,
    kinds: FastMap<&'a str, u64>,
    by_len: BTreeMap<Option<u32>, (u64, u64)>,
    by_param: FastMap<(&'a str, &'a str), (u64, u64)>,
    by_h: BTreeMap<&'static str, (u64, u64)>,
}

/// [`Acc`] while the calls are counted: keyed by symbols, lengths in array slots.
struct RawAcc {
    attempts: u64,
    failures: u64,
    kinds: FastMap<Option<Sym>, u64>,
    by_len: [(u64, u64); 66],
    by_set: FastMap<SetId, (u64, u64)>,
    by_h: BTreeMap<&'static str, (u64, u64)>,
}

impl RawAcc {
    fn new() -> RawAcc {
        RawAcc {
            attempts: 0,
            failures: 0,
            kinds: FastMap::default(),
            by_len: [(0, 0); 66],
            by_set: FastMap::default(),
            by_h: BTreeMap::new(),
        }
    }

    fn resolve(self, t: &CallTable) -> Acc<'_> {
        let mut kinds: FastMap<&str, u64> = FastMap::default();
        for (k, n) in self.kinds {
            *kinds.entry(k.map_or("unknown", |k| t.str(k))).or_default() += n;
        }
        let mut by_len = BTreeMap::new();
        for (slot, c) in self.by_len.into_iter().enumerate() {
            if c.0 > 0 {
                by_len.insert(slot.checked_sub(1).map(|k| k as u32), c);
            }
        }
        let mut by_param: FastMap<(&str, &str), (u64, u64)> = FastMap::default();
        for (set, (n, k)) in self.by_set {
            for &(key, value) in t.param_set(set) {
                let e = by_param.entry((t.str(key), t.str(value))).or_default();
                e.0 += n;
                e.1 += k;
            }
        }
        Acc {
            attempts: self.attempts,
            failures: self.failures,
            kinds,
            by_len,
            by_param,
            by_h: self.by_h,
        }
    }
}

fn bump(e: &mut (u64, u64), failed: bool) {
    e.0 += 1;
    e.1 += u64::from(failed);
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
        let mut raw: FastMap<(Sym, EventType), RawAcc> = FastMap::default();
        for i in 0..t.len() {
            let et = t.event_type[i];
            if et == EventType::BenchmarkRun {
                continue;
            }
            let failed = !t.success[i];
            let a = raw.entry((t.component[i], et)).or_insert_with(RawAcc::new);
            a.attempts += 1;
            a.failures += u64::from(failed);
            if failed {
                *a.kinds.entry(t.error[i].map(|e| e.kind)).or_default() += 1;
            }
            bump(
                &mut a.by_len[length_bucket(t.data_length[i]).map_or(0, |k| k as usize + 1)],
                failed,
            );
            bump(a.by_set.entry(t.params[i]).or_default(), failed);
            if let Some(band) = t.truth_h[i].and_then(h_band) {
                bump(a.by_h.entry(band).or_default(), failed);
            }
        }
        let accs: FastMap<(&str, EventType), Acc> = raw
            .into_iter()
            .map(|((name, et), r)| ((t.str(name), et), r.resolve(t)))
            .collect();
        let (mut attempts, mut failures) = (0, 0);
        let mut components = Vec::new();
        let mut kinds: FastMap<&str, u64> = FastMap::default();
        let mut modes = Vec::new();
        let mut strata = Vec::new();
        for ((name, et), a) in &accs {
            attempts += a.attempts;
            failures += a.failures;
            let Some(rate) = Proportion::new(a.failures, a.attempts) else {
                continue;
            };
            let mut top: Vec<(&str, u64)> = a.kinds.iter().map(|(k, n)| (*k, *n)).collect();
            top.sort_unstable_by(|x, y| y.1.cmp(&x.1).then_with(|| x.0.cmp(y.0)));
            for (k, n) in &top {
                *kinds.entry(k).or_default() += n;
                if let Some(rate) = Proportion::new(*n, a.attempts) {
                    modes.push(FailureMode {
                        component: name.to_string(),
                        kind: k.to_string(),
                        rate,
                    });
                }
            }
            components.push(ComponentReliability {
                component: name.to_string(),
                event_type: super::event_type_name(*et).to_string(),
                score: reliability_score(a.attempts - a.failures, a.attempts).unwrap_or(0.0),
                error_rate: rate,
                top_kind: top.first().map(|(k, _)| k.to_string()),
            });
            if a.failures > 0 {
                strata.extend(component_strata(name, a, rate.rate));
            }
        }
        components.sort_by(|x, y| {
            x.score
                .total_cmp(&y.score)
                .then_with(|| x.component.cmp(&y.component))
        });
        let mut errors_by_kind: Vec<KindCount> = kinds
            .into_iter()
            .map(|(k, n)| KindCount {
                kind: k.to_string(),
                origin: if HOST_KINDS.contains(&k) {
                    "host"
                } else {
                    "plugin"
                }
                .to_string(),
                failures: n,
                share: n as f64 / failures.max(1) as f64,
            })
            .collect();
        errors_by_kind.sort_by(|x, y| {
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
        strata.sort_by(|x, y| {
            x.component
                .cmp(&y.component)
                .then_with(|| x.dimension.cmp(&y.dimension))
                .then_with(|| x.value.cmp(&y.value))
        });
        let recommendations = recommend(&components, &modes, &strata);
        ReliabilityReport {
            period,
            score_definition: RELIABILITY_SCORE_DEFINITION.to_string(),
            overall: Proportion::new(failures, attempts),
            overall_score: reliability_score(attempts - failures, attempts),
            components,
            errors_by_kind,
            failure_modes: modes,
            strata,
            recommendations,
        }
    }

    /// The report as a document.
    pub fn to_doc(&self) -> Doc {
        let mut d = Doc::new("Reliability report");
        d.para(format!("Period: {}.", self.period.label()));
        d.h2("Error overview");
        d.list(vec![
            format!(
                "Error rate over all component calls: {}.",
                proportion_text(self.overall.as_ref())
            ),
            format!(
                "Overall reliability score: {}.",
                opt(self.overall_score, |s| num(s, 1))
            ),
            format!("Distinct error kinds: {}.", self.errors_by_kind.len()),
        ]);
        d.para(format!("Definition: {}", self.score_definition));
        d.h2("Error rate and reliability per estimator");
        d.para("Every call is an attempt; the error rate is failures over attempts with its Wilson 95% interval. Lowest score first.");
        d.table(
            &[
                "component",
                "type",
                "attempts",
                "failures",
                "error rate (95% CI)",
                "score",
                "most common kind",
            ],
            self.components
                .iter()
                .map(|c| {
                    vec![
                        c.component.clone(),
                        c.event_type.clone(),
                        c.error_rate.attempts.to_string(),
                        c.error_rate.count.to_string(),
                        proportion_text(Some(&c.error_rate)),
                        num(c.score, 1),
                        c.top_kind.clone().unwrap_or_else(|| "—".into()),
                    ]
                })
                .collect(),
            "No component calls in this period.",
        );
        d.chart(
            "reliability_intervals",
            "Error rate per component with its Wilson 95% interval",
        );
        d.h2("Errors by kind");
        d.para("Kinds are typed at the ABI (plugin kinds) or added by the host (panic, crash, timeout, out_of_memory, load); no message text is parsed.");
        d.table(
            &["kind", "origin", "failures", "share of failures"],
            self.errors_by_kind
                .iter()
                .map(|k| {
                    vec![
                        k.kind.clone(),
                        k.origin.clone(),
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
                "failures",
                "rate over attempts (95% CI)",
            ],
            self.failure_modes
                .iter()
                .map(|m| {
                    vec![
                        m.component.clone(),
                        m.kind.clone(),
                        m.rate.count.to_string(),
                        proportion_text(Some(&m.rate)),
                    ]
                })
                .collect(),
            "No failures in this period.",
        );
        d.h2("Where failures concentrate");
        d.para(format!(
            "For every component that failed: its error rate by data-length bucket, by parameter value (parameters with at most {MAX_PARAMETER_STRATA} distinct values) and by H band of the input when the true H is known. Lift = stratum rate / the component's overall rate. A stratum is marked concentrated when the lower end of its Wilson 95% interval exceeds the overall rate and it holds at least 3 failures."
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
                        if s.concentrated {
                            "yes".into()
                        } else {
                            "no".into()
                        },
                    ]
                })
                .collect();
            let empty = if dim == "h_band" {
                "No failing component has calls with a known true H."
            } else {
                "No failures to stratify."
            };
            d.table(
                &[
                    "component",
                    "stratum",
                    "attempts",
                    "failures",
                    "error rate (95% CI)",
                    "overall rate",
                    "lift",
                    "concentrated",
                ],
                rows,
                empty,
            );
        }
        d.h2("Improvement recommendations");
        d.list(
            self.recommendations
                .iter()
                .map(|r| r.text.clone())
                .collect(),
        );
        d
    }
}

fn component_strata(name: &str, a: &Acc, overall: f64) -> Vec<Stratum> {
    let mut out = Vec::new();
    let mut push = |dimension: &str, value: String, (n, k): (u64, u64)| {
        if let Some(l) = lift(k, n, overall) {
            out.push(Stratum {
                component: name.to_string(),
                dimension: dimension.to_string(),
                value,
                concentrated: k >= 3 && l.stratum.ci95.low > overall,
                lift: l,
            });
        }
    };
    for (b, c) in &a.by_len {
        push("data_length", length_bucket_label(*b), *c);
    }
    let mut per_key: FastMap<&str, usize> = FastMap::default();
    for (k, _) in a.by_param.keys() {
        *per_key.entry(k).or_default() += 1;
    }
    for ((k, v), c) in &a.by_param {
        if per_key.get(k).copied().unwrap_or(0) <= MAX_PARAMETER_STRATA {
            push("parameter", format!("{k}={v}"), *c);
        }
    }
    for (band, c) in &a.by_h {
        push("h_band", band.to_string(), *c);
    }
    out
}

fn recommend(
    components: &[ComponentReliability],
    modes: &[FailureMode],
    strata: &[Stratum],
) -> Vec<Recommendation> {
    let mut out = Vec::new();
    for c in components {
        let r = &c.error_rate;
        if r.ci95.low > ATTENTION_RATE {
            out.push(Recommendation {
                component: Some(c.component.clone()),
                text: format!(
                    "{} fails often: {} of {} calls ({}, 95% CI {}–{}); most common kind: {}. Its failure rate is above {} with 95% confidence.",
                    c.component,
                    r.count,
                    r.attempts,
                    pct(r.rate),
                    pct(r.ci95.low),
                    pct(r.ci95.high),
                    c.top_kind.as_deref().unwrap_or("unknown"),
                    pct(ATTENTION_RATE)
                ),
            });
        }
    }
    let mut conc: Vec<&Stratum> = strata.iter().filter(|s| s.concentrated).collect();
    conc.sort_by(|x, y| {
        y.lift
            .lift
            .unwrap_or(0.0)
            .total_cmp(&x.lift.lift.unwrap_or(0.0))
            .then_with(|| x.component.cmp(&y.component))
    });
    for s in conc.into_iter().take(10) {
        let what = match s.dimension.as_str() {
            "data_length" => format!("at data length {}", s.value),
            "parameter" => format!("with {}", s.value),
            _ => format!("on inputs with {}", s.value),
        };
        out.push(Recommendation {
            component: Some(s.component.clone()),
            text: format!(
                "{} failures concentrate {what}: {} of {} calls failed ({}, 95% CI {}–{}) against {} overall (lift {}). Validate or document this range.",
                s.component,
                s.lift.stratum.count,
                s.lift.stratum.attempts,
                pct(s.lift.stratum.rate),
                pct(s.lift.stratum.ci95.low),
                pct(s.lift.stratum.ci95.high),
                pct(s.lift.reference_rate),
                opt(s.lift.lift, |l| num(l, 1)),
            ),
        });
    }
    for m in modes
        .iter()
        .filter(|m| HOST_KINDS[..4].contains(&m.kind.as_str()))
    {
        out.push(Recommendation {
            component: Some(m.component.clone()),
            text: format!(
                "{} ended in {} {} time(s) in {} calls: run it in isolated worker processes until it is fixed.",
                m.component, m.kind, m.rate.count, m.rate.attempts
            ),
        });
    }
    if out.is_empty() {
        let worst = components
            .iter()
            .max_by(|a, b| a.error_rate.ci95.low.total_cmp(&b.error_rate.ci95.low));
        out.push(Recommendation {
            component: None,
            text: match worst {
                Some(w) => format!(
                    "No component's failure rate is above {} with 95% confidence and no failure concentrates in a stratum; the highest is {} ({} of {} calls, 95% CI {}–{}).",
                    pct(ATTENTION_RATE),
                    w.component,
                    w.error_rate.count,
                    w.error_rate.attempts,
                    pct(w.error_rate.ci95.low),
                    pct(w.error_rate.ci95.high)
                ),
                None => "No component calls in this period: nothing to recommend.".to_string(),
            },
        });
    }
    out
}
