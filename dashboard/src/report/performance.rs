//! The performance report: time quantiles, time per sample, the scaling exponent with its
//! interval, memory, CPU, daily trends with a rank-test regression flag, and bottlenecks.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::util::FastMap;

use lrdbench_analytics::event::{CallEvent, EventType};
use lrdbench_analytics::table::{CallTable, Sym};

use crate::render::Doc;
use crate::report::trend::{self, Timing};
use crate::stats::{scaling_fit, Quantiles, ScalingFit};
use crate::util::{bytes, day_label, day_of, duration_ns, num, opt, pct, Period};

pub(crate) use crate::report::trend::RegressionCheck;

/// The share of all measured time above which a single component is called dominant.
pub(crate) const DOMINANT_SHARE: f64 = 0.5;

/// Performance of one component.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComponentPerformance {
    /// Component name.
    pub component: String,
    /// Event type of its calls.
    pub event_type: String,
    /// Calls with measurements.
    pub calls: usize,
    /// Wall time quantiles, nanoseconds.
    pub wall_ns: Option<Quantiles>,
    /// Wall time per sample (wall / length), nanoseconds, for calls with length ≥ 1.
    pub ns_per_sample: Option<Quantiles>,
    /// Total wall time, nanoseconds.
    pub total_wall_ns: f64,
    /// Share of all measured wall time.
    pub share_of_time: f64,
    /// Log–log fit of wall time against length.
    pub scaling: Option<ScalingFit>,
    /// Heap peak quantiles, bytes.
    pub heap_peak: Option<Quantiles>,
    /// Median heap peak per sample, bytes.
    pub bytes_per_sample_p50: Option<f64>,
    /// CPU % quantiles (100 = one core).
    pub cpu_percent: Option<Quantiles>,
    /// The slow-down test, earlier sessions against later ones ([`trend`]); `None` when
    /// timed in fewer than 2 sessions.
    pub trend: Option<RegressionCheck>,
    /// Smallest length (≥ 1) among its calls.
    pub min_length: Option<u64>,
}

/// One component on one UTC day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DailyPoint {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// Component.
    pub component: String,
    /// Measured calls.
    pub calls: usize,
    /// Median wall time, ns.
    pub median_wall_ns: f64,
    /// Median wall time per sample, ns.
    pub median_ns_per_sample: Option<f64>,
}

/// A component that takes much of the total time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimeShare {
    /// Component.
    pub component: String,
    /// Total wall time, ns.
    pub total_wall_ns: f64,
    /// Share of all measured time.
    pub share: f64,
    /// Whether it alone exceeds [`DOMINANT_SHARE`].
    pub dominant: bool,
}

/// A component whose time grows faster than n log n over the lengths observed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PoorScaling {
    /// Component.
    pub component: String,
    /// The fit.
    pub scaling: ScalingFit,
    /// The exponent its interval's lower end exceeds: the local log–log slope of n log n at
    /// the smallest length observed, 1 + 1/ln(n_min).
    pub threshold: f64,
    /// Smallest length observed.
    pub min_length: u64,
}

/// Bottlenecks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bottlenecks {
    /// The fewest components that together take 80% of all measured time, largest first.
    pub time_leaders: Vec<TimeShare>,
    /// Components whose scaling exponent is significantly above n log n.
    pub poor_scaling: Vec<PoorScaling>,
}

/// The performance report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PerformanceReport {
    /// The period analysed.
    pub period: Period,
    /// Component calls with measurements.
    pub measured_calls: u64,
    /// Component calls without measurements (recorded without a performance record).
    pub unmeasured_calls: u64,
    /// Per component, by total time, largest first.
    pub components: Vec<ComponentPerformance>,
    /// Daily medians per component.
    pub daily: Vec<DailyPoint>,
    /// Bottlenecks.
    pub bottlenecks: Bottlenecks,
    /// How the regression flag is decided.
    pub regression_rule: String,
}

struct Sample {
    session: Sym,
    ts: i64,
    len: u64,
    wall: f64,
    heap: f64,
    cpu: f64,
}

fn median(v: &mut Vec<f64>) -> Option<f64> {
    crate::stats::median(v)
}

impl PerformanceReport {
    /// Computes the report over the calls of `period`. Successful and failed calls both count:
    /// a failure costs time too. Benchmark-run records are left out (their time is the sum of
    /// their calls).
    pub fn compute(calls: &[CallEvent], period: Period) -> PerformanceReport {
        PerformanceReport::compute_table(&CallTable::from_events(calls), period)
    }

    /// [`PerformanceReport::compute`] over calls as a [`CallTable`].
    pub fn compute_table(t: &CallTable, period: Period) -> PerformanceReport {
        let (groups, unmeasured) = group_samples(t);
        let measured: u64 = groups.iter().map(|g| g.1.len() as u64).sum();
        let grand_total: f64 = groups.iter().flat_map(|g| &g.1).map(|s| s.wall).sum();
        let mut components = Vec::with_capacity(groups.len());
        let mut daily = Vec::new();
        for ((name, et), samples) in &groups {
            let (comp, days) = component(t.str(*name), *et, samples, grand_total);
            components.push(comp);
            daily.extend(days);
        }
        let checks = session_trends(&groups, &components);
        for (c, check) in components.iter_mut().zip(checks) {
            c.trend = check;
        }
        components.sort_by(|a, b| {
            b.total_wall_ns
                .total_cmp(&a.total_wall_ns)
                .then_with(|| a.component.cmp(&b.component))
        });
        daily.sort_by(|a, b| {
            a.component
                .cmp(&b.component)
                .then_with(|| a.day.cmp(&b.day))
        });
        PerformanceReport {
            period,
            measured_calls: measured,
            unmeasured_calls: unmeasured,
            bottlenecks: bottlenecks(&components),
            components,
            daily,
            regression_rule: trend::rule(),
        }
    }

    /// The report as a document.
    pub fn to_doc(&self) -> Doc {
        let mut d = Doc::new("Performance report");
        d.para(format!("Period: {}.", self.period.label()));
        self.time_doc(&mut d);
        self.scaling_doc(&mut d);
        self.memory_doc(&mut d);
        self.trends_doc(&mut d);
        self.bottlenecks_doc(&mut d);
        d
    }

    fn time_doc(&self, d: &mut Doc) {
        d.h2("Overview");
        let total: f64 = self.components.iter().map(|c| c.total_wall_ns).sum();
        d.list(vec![
            format!("Measured component calls: {}; without measurements: {}.", self.measured_calls, self.unmeasured_calls),
            format!("Components: {}; total measured wall time {}.", self.components.len(), duration_ns(total)),
            "Quantiles are Hyndman–Fan definition 7 (linear interpolation, as R and NumPy). Failed calls count: a failure costs time too.".to_string(),
        ]);
        d.h2("Execution time");
        d.table(
            &[
                "component",
                "calls",
                "p50",
                "p95",
                "p99",
                "max",
                "time per sample (p50)",
                "total",
                "share",
            ],
            self.components
                .iter()
                .map(|c| {
                    vec![
                        c.component.clone(),
                        c.calls.to_string(),
                        opt(c.wall_ns, |q| duration_ns(q.p50)),
                        opt(c.wall_ns, |q| duration_ns(q.p95)),
                        opt(c.wall_ns, |q| duration_ns(q.p99)),
                        opt(c.wall_ns, |q| duration_ns(q.max)),
                        opt(c.ns_per_sample, |q| duration_ns(q.p50)),
                        duration_ns(c.total_wall_ns),
                        pct(c.share_of_time),
                    ]
                })
                .collect(),
            "No measured calls in this period.",
        );
        d.chart(
            "time_distribution",
            "Wall time per call: median (dot), 95th and 99th percentiles (bars), log scale",
        );
    }

    fn scaling_doc(&self, d: &mut Doc) {
        d.h2("Scaling with data length");
        d.para("Exponent b of time ∝ length^b: the ordinary least-squares slope of ln(time) on ln(length) over every measured call, with its 95% interval b ± t(0.975; k−2)·se(b). It needs at least 3 calls at 2 or more distinct lengths.");
        d.table(
            &[
                "component",
                "exponent b",
                "95% CI",
                "r²",
                "calls",
                "distinct lengths",
            ],
            self.components
                .iter()
                .filter_map(|c| c.scaling.map(|f| (c, f)))
                .map(|(c, f)| {
                    vec![
                        c.component.clone(),
                        num(f.exponent, 3),
                        format!("{} – {}", num(f.ci95.low, 3), num(f.ci95.high, 3)),
                        num(f.r_squared, 3),
                        f.points.to_string(),
                        f.distinct_lengths.to_string(),
                    ]
                })
                .collect(),
            "No component has calls at two or more lengths: no exponent can be fitted.",
        );
        d.chart(
            "time_vs_length",
            "Wall time against length, log–log, with fitted power laws",
        );
    }

    fn memory_doc(&self, d: &mut Doc) {
        d.h2("Memory and CPU");
        d.para("Heap peak: the most heap allocated during the call above its level at the start, including the plugin's own allocations. CPU %: the calling thread's CPU time over wall time (100 = one core busy; an isolated call: its worker process's).");
        d.table(
            &[
                "component",
                "heap peak p50",
                "heap peak max",
                "bytes per sample (p50)",
                "CPU % p50",
                "CPU % p95",
            ],
            self.components
                .iter()
                .map(|c| {
                    vec![
                        c.component.clone(),
                        opt(c.heap_peak, |q| bytes(q.p50)),
                        opt(c.heap_peak, |q| bytes(q.max)),
                        opt(c.bytes_per_sample_p50, |v| num(v, 2)),
                        opt(c.cpu_percent, |q| num(q.p50, 1)),
                        opt(c.cpu_percent, |q| num(q.p95, 1)),
                    ]
                })
                .collect(),
            "No measured calls in this period.",
        );
        d.chart("memory_vs_length", "Heap peak against length, log–log");
    }

    fn trends_doc(&self, d: &mut Doc) {
        d.h2("Performance trends");
        d.para(self.regression_rule.clone());
        d.table(
            &[
                "component",
                "sessions (earlier / later)",
                "calls (earlier / later)",
                "load-adjusted sessions",
                "median ratio",
                "p (level)",
                "slow-down",
            ],
            self.components
                .iter()
                .filter_map(|c| c.trend.as_ref().map(|t| (c, t)))
                .map(|(c, t)| {
                    vec![
                        c.component.clone(),
                        format!("{} / {}", t.earlier_sessions, t.later_sessions),
                        format!("{} / {}", t.earlier_calls, t.later_calls),
                        t.load_adjusted_sessions.to_string(),
                        num(t.median_ratio, 3),
                        opt(t.verdict, |v| {
                            format!("{:.2e} ({:.1e})", v.p_value, v.level)
                        }),
                        if t.regression {
                            "yes".into()
                        } else if t.verdict.is_none() {
                            "too few sessions".into()
                        } else {
                            "no".into()
                        },
                    ]
                })
                .collect(),
            "No component was timed in two or more sessions.",
        );
        d.chart(
            "daily_trends",
            "Median wall time per sample per day, log scale",
        );
        let mut rows = Vec::new();
        for p in &self.daily {
            rows.push(vec![
                p.day.clone(),
                p.component.clone(),
                p.calls.to_string(),
                duration_ns(p.median_wall_ns),
                opt(p.median_ns_per_sample, duration_ns),
            ]);
        }
        d.h3("Daily medians");
        d.table(
            &[
                "day (UTC)",
                "component",
                "calls",
                "median time",
                "median time per sample",
            ],
            rows,
            "No measured calls in this period.",
        );
    }

    fn bottlenecks_doc(&self, d: &mut Doc) {
        d.h2("Performance bottlenecks");
        d.para(format!("Time leaders: the fewest components that together take 80% of all measured time; dominant when one alone takes more than {}.", pct(DOMINANT_SHARE)));
        d.table(
            &["component", "total time", "share", "dominant"],
            self.bottlenecks
                .time_leaders
                .iter()
                .map(|t| {
                    vec![
                        t.component.clone(),
                        duration_ns(t.total_wall_ns),
                        pct(t.share),
                        if t.dominant {
                            "yes".into()
                        } else {
                            "no".into()
                        },
                    ]
                })
                .collect(),
            "No measured time in this period.",
        );
        d.para("Scaling worse than n log n: the lower end of the exponent's 95% interval exceeds 1 + 1/ln(n_min), the local log–log slope of n log n at the smallest length observed. Every standard lrdbench estimator is designed to be O(n) or O(n log n).");
        d.table(
            &[
                "component",
                "exponent b",
                "95% CI",
                "threshold",
                "smallest length",
            ],
            self.bottlenecks
                .poor_scaling
                .iter()
                .map(|p| {
                    vec![
                        p.component.clone(),
                        num(p.scaling.exponent, 3),
                        format!(
                            "{} – {}",
                            num(p.scaling.ci95.low, 3),
                            num(p.scaling.ci95.high, 3)
                        ),
                        num(p.threshold, 3),
                        p.min_length.to_string(),
                    ]
                })
                .collect(),
            "No component scales significantly worse than n log n.",
        );
    }
}

/// The measured calls per (component, event type), and the count of unmeasured ones.
#[allow(clippy::type_complexity)]
fn group_samples(t: &CallTable) -> (Vec<((Sym, EventType), Vec<Sample>)>, u64) {
    let mut groups: FastMap<(Sym, EventType), Vec<Sample>> = FastMap::default();
    let mut unmeasured = 0u64;
    for i in 0..t.len() {
        let et = t.event_type[i];
        if et == EventType::BenchmarkRun {
            continue;
        }
        if !t.measured[i] {
            unmeasured += 1;
            continue;
        }
        groups
            .entry((t.component[i], et))
            .or_default()
            .push(Sample {
                session: t.session[i],
                ts: t.timestamp_us[i],
                len: t.data_length[i],
                wall: t.wall_ns[i] as f64,
                heap: t.heap_peak[i] as f64,
                cpu: t.cpu_percent[i],
            });
    }
    (groups.into_iter().collect(), unmeasured)
}

/// The slow-down test of every group ([`trend::trends`]), in the order of `groups`, whose
/// fitted exponents are those of `components` (same order).
#[allow(clippy::type_complexity)]
fn session_trends(
    groups: &[((Sym, EventType), Vec<Sample>)],
    components: &[ComponentPerformance],
) -> Vec<Option<RegressionCheck>> {
    let timings: Vec<Timing> = groups
        .iter()
        .enumerate()
        .flat_map(|(c, g)| {
            g.1.iter().map(move |s| Timing {
                component: c,
                session: s.session as usize,
                ts: s.ts,
                len: s.len,
                wall_ns: s.wall,
            })
        })
        .collect();
    let exponents: Vec<f64> = components
        .iter()
        .map(|c| c.scaling.map_or(0.0, |f| f.exponent))
        .collect();
    trend::trends(&timings, &exponents)
}

/// The time leaders and the components that scale worse than n log n.
fn bottlenecks(components: &[ComponentPerformance]) -> Bottlenecks {
    let mut time_leaders = Vec::new();
    let mut cum = 0.0;
    for c in components {
        if cum >= 0.8 || c.total_wall_ns <= 0.0 {
            break;
        }
        cum += c.share_of_time;
        time_leaders.push(TimeShare {
            component: c.component.clone(),
            total_wall_ns: c.total_wall_ns,
            share: c.share_of_time,
            dominant: c.share_of_time > DOMINANT_SHARE,
        });
    }
    let mut poor_scaling = Vec::new();
    for c in components {
        let (Some(fit), Some(min_length)) = (c.scaling, c.min_length) else {
            continue;
        };
        let threshold = 1.0 + 1.0 / (min_length.max(2) as f64).ln();
        if fit.ci95.low > threshold {
            poor_scaling.push(PoorScaling {
                component: c.component.clone(),
                scaling: fit,
                threshold,
                min_length,
            });
        }
    }
    Bottlenecks {
        time_leaders,
        poor_scaling,
    }
}

fn component(
    name: &str,
    et: EventType,
    samples: &[Sample],
    grand_total: f64,
) -> (ComponentPerformance, Vec<DailyPoint>) {
    let mut wall: Vec<f64> = samples.iter().map(|s| s.wall).collect();
    let total: f64 = wall.iter().sum();
    let mut per_sample: Vec<f64> = samples
        .iter()
        .filter(|s| s.len > 0)
        .map(|s| s.wall / s.len as f64)
        .collect();
    let mut heap: Vec<f64> = samples.iter().map(|s| s.heap).collect();
    let mut heap_per: Vec<f64> = samples
        .iter()
        .filter(|s| s.len > 0)
        .map(|s| s.heap / s.len as f64)
        .collect();
    let mut cpu: Vec<f64> = samples.iter().map(|s| s.cpu).collect();
    let lens: Vec<f64> = samples.iter().map(|s| s.len as f64).collect();
    let times: Vec<f64> = samples.iter().map(|s| s.wall).collect();
    let scaling = scaling_fit(&lens, &times);
    let mut by_day: BTreeMap<i64, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for s in samples {
        let e = by_day.entry(day_of(s.ts)).or_default();
        e.0.push(s.wall);
        if s.len > 0 {
            e.1.push(s.wall / s.len as f64);
        }
    }
    let days = by_day
        .into_iter()
        .filter_map(|(d, (mut w, mut ps))| {
            let calls = w.len();
            Some(DailyPoint {
                day: day_label(d),
                component: name.to_string(),
                calls,
                median_wall_ns: median(&mut w)?,
                median_ns_per_sample: median(&mut ps),
            })
        })
        .collect();
    (
        ComponentPerformance {
            component: name.to_string(),
            event_type: match et {
                EventType::EstimatorUsage => "estimator_usage",
                EventType::ModelUsage => "model_usage",
                EventType::BenchmarkRun => "benchmark_run",
                EventType::Custom => "custom",
            }
            .to_string(),
            calls: samples.len(),
            wall_ns: Quantiles::of(&mut wall),
            ns_per_sample: Quantiles::of(&mut per_sample),
            total_wall_ns: total,
            share_of_time: if grand_total > 0.0 {
                total / grand_total
            } else {
                0.0
            },
            scaling,
            heap_peak: Quantiles::of(&mut heap),
            bytes_per_sample_p50: median(&mut heap_per),
            cpu_percent: Quantiles::of(&mut cpu),
            trend: None,
            min_length: samples.iter().map(|s| s.len).filter(|&n| n > 0).min(),
        },
        days,
    )
}
