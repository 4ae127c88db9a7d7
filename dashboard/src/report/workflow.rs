//! The workflow report: runs, their complexity, common step patterns and estimator sequences,
//! durations, feature usage and optimisation hints found in the data.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::util::{FastMap, FastSet};

use lrdbench_analytics::event::{StepEvent, StepType};

use crate::render::Doc;
use crate::stats::Quantiles;
use crate::util::{duration_ns, num, opt, pct, Period};

/// Complexity buckets by design size (see [`COMPLEXITY_DEFINITION`]): (label, largest size).
/// Decades, so one estimator on one series, a small comparison, a study and a factorial sweep
/// fall in different buckets.
pub(crate) const COMPLEXITY: [(&str, u64); 4] = [
    ("single (design size 1)", 1),
    ("small (2–9)", 9),
    ("medium (10–99)", 99),
    ("large (≥100)", u64::MAX),
];

/// How a run's complexity is measured; printed in the report.
pub(crate) const COMPLEXITY_DEFINITION: &str =
    "A run's design size = (distinct models generated, at \
least 1: a run on files has none) × (distinct contaminations applied, at least 1: clean) × \
(distinct estimators run): the number of model × contamination × estimator combinations the \
run compares. It does not grow with replicates or lengths (cells measure those, shown beside \
it). Runs are bucketed by decades of the design size.";

/// The design size of a run (see [`COMPLEXITY_DEFINITION`]).
pub(crate) fn design_size(run: &[&StepEvent]) -> u64 {
    let distinct = |t: StepType| {
        run.iter()
            .filter(|s| s.step_type == t)
            .map(|s| s.component.as_str())
            .collect::<FastSet<&str>>()
            .len() as u64
    };
    distinct(StepType::Generate).max(1)
        * distinct(StepType::Contaminate).max(1)
        * distinct(StepType::Estimate).max(1)
}

/// How many patterns, n-grams and hints are listed.
pub(crate) const TOP_N: usize = 10;

/// A workflow and how often it ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NameCount {
    /// Name.
    pub name: String,
    /// Count.
    pub count: u64,
}

/// Runs in one complexity bucket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComplexityBucket {
    /// Bucket label.
    pub label: String,
    /// Runs.
    pub runs: u64,
    /// Share of runs.
    pub share: f64,
}

/// A sequence and its count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SequenceCount {
    /// The items, in order.
    pub sequence: Vec<String>,
    /// Occurrences.
    pub count: u64,
}

/// Time spent in one step type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepTime {
    /// Step type.
    pub step_type: String,
    /// Steps.
    pub steps: u64,
    /// Total duration, ns.
    pub total_ns: f64,
    /// Share of all step time.
    pub share: f64,
    /// Median duration, ns.
    pub median_ns: Option<f64>,
}

/// A component used by steps of one type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeatureUse {
    /// `model` (generate), `contamination`, `estimator` or `output` (report); `evaluation`.
    pub feature: String,
    /// Component name.
    pub component: String,
    /// Steps.
    pub steps: u64,
    /// Runs that used it.
    pub runs: u64,
}

/// The same estimator run more than once on the same series (cell) of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DuplicateEstimate {
    /// Run.
    pub run_id: String,
    /// Workflow name.
    pub workflow: String,
    /// Cell (series).
    pub cell: String,
    /// Estimator.
    pub component: String,
    /// How many times it ran there.
    pub times: u64,
    /// Time of the repeats beyond the first, ns.
    pub extra_ns: f64,
}

/// A run whose estimation time is dominated by one estimator.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DominatedRun {
    /// Run.
    pub run_id: String,
    /// Workflow.
    pub workflow: String,
    /// The slow estimator.
    pub component: String,
    /// Its share of the run's estimation time.
    pub share: f64,
    /// Its time, ns.
    pub time_ns: f64,
    /// Distinct estimators in the run.
    pub estimators: u64,
}

/// A workflow run more than once with identical steps.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RepeatedWorkflow {
    /// Workflow.
    pub workflow: String,
    /// Identical runs.
    pub runs: u64,
    /// Steps per run.
    pub steps: u64,
    /// Total time of the runs beyond the first, ns (sum of step durations).
    pub extra_ns: f64,
}

/// Optimisation hints found in the data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hints {
    /// Estimators repeated on the same series: total occurrences.
    pub duplicate_estimates: u64,
    /// The largest of them.
    pub duplicates: Vec<DuplicateEstimate>,
    /// Runs where one estimator takes more than half of the estimation time (with two or
    /// more estimators).
    pub dominated_runs: u64,
    /// The most dominated of them.
    pub dominated: Vec<DominatedRun>,
    /// Workflows run more than once with identical steps.
    pub repeated: Vec<RepeatedWorkflow>,
}

/// The workflow report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkflowReport {
    /// The period analysed.
    pub period: Period,
    /// Runs (distinct run ids).
    pub runs: u64,
    /// Steps.
    pub steps: u64,
    /// Distinct users with runs.
    pub unique_users: u64,
    /// Workflows by runs.
    pub workflows: Vec<NameCount>,
    /// Steps per run.
    pub steps_per_run: Option<Quantiles>,
    /// How complexity is measured.
    pub complexity_definition: String,
    /// Design size per run (`COMPLEXITY_DEFINITION`).
    pub design_size: Option<Quantiles>,
    /// Distinct cells (series × contamination × estimator) per run.
    pub cells_per_run: Option<Quantiles>,
    /// Complexity distribution: runs by design-size bucket.
    pub complexity: Vec<ComplexityBucket>,
    /// The most common run shapes: the step types in the order they first appear
    /// (`generate → contaminate → estimate → report`).
    pub step_patterns: Vec<SequenceCount>,
    /// The most common estimator bigrams within a series (cell), in step order.
    pub estimator_bigrams: Vec<SequenceCount>,
    /// The most common estimator trigrams within a series.
    pub estimator_trigrams: Vec<SequenceCount>,
    /// Run duration (first step start to last step end), ns.
    pub run_duration_ns: Option<Quantiles>,
    /// Time per step type.
    pub step_time: Vec<StepTime>,
    /// Feature usage.
    pub features: Vec<FeatureUse>,
    /// Optimisation hints.
    pub hints: Hints,
}

/// A run's steps as (type, component, cell), to find identical runs.
type Signature<'a> = Vec<(StepType, &'a str, Option<&'a str>)>;

fn feature_name(t: StepType) -> &'static str {
    match t {
        StepType::Generate => "model",
        StepType::Contaminate => "contamination",
        StepType::Estimate => "estimator",
        StepType::Evaluate => "evaluation",
        StepType::Report => "output",
    }
}

fn top_sequences(m: FastMap<Vec<&str>, u64>) -> Vec<SequenceCount> {
    let mut v: Vec<(Vec<&str>, u64)> = m.into_iter().collect();
    v.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.into_iter()
        .take(TOP_N)
        .map(|(s, count)| SequenceCount {
            sequence: s.into_iter().map(str::to_string).collect(),
            count,
        })
        .collect()
}

impl WorkflowReport {
    /// Computes the report over the steps of `period`.
    pub fn compute(steps: &[StepEvent], period: Period) -> WorkflowReport {
        let mut runs: FastMap<&str, Vec<&StepEvent>> = FastMap::default();
        for s in steps {
            runs.entry(s.run_id.as_str()).or_default().push(s);
        }
        let mut users = FastSet::default();
        let mut workflows: FastMap<&str, u64> = FastMap::default();
        let mut sizes = Vec::with_capacity(runs.len());
        let mut durations = Vec::with_capacity(runs.len());
        let mut complexity = [0u64; 4];
        let mut designs = Vec::with_capacity(runs.len());
        let mut cell_counts = Vec::with_capacity(runs.len());
        let mut patterns: FastMap<Vec<String>, u64> = FastMap::default();
        let mut bigrams: FastMap<Vec<&str>, u64> = FastMap::default();
        let mut trigrams: FastMap<Vec<&str>, u64> = FastMap::default();
        let mut type_time: BTreeMap<StepType, Vec<f64>> = BTreeMap::new();
        let mut features: FastMap<(StepType, &str), (u64, u64)> = FastMap::default();
        let mut duplicates = Vec::new();
        let mut dominated = Vec::new();
        let mut signatures: FastMap<(&str, Signature), (u64, f64)> = FastMap::default();
        for (run_id, run) in runs.iter_mut() {
            run.sort_unstable_by_key(|s| (s.seq, s.id));
            let workflow = run.first().map_or("", |s| s.workflow.as_str());
            *workflows.entry(workflow).or_default() += 1;
            for s in run.iter() {
                users.insert(s.user_id.as_str());
            }
            sizes.push(run.len() as f64);
            let design = design_size(run);
            designs.push(design as f64);
            cell_counts.push(
                run.iter()
                    .filter_map(|s| s.cell.as_deref())
                    .collect::<FastSet<&str>>()
                    .len() as f64,
            );
            if let Some(i) = COMPLEXITY.iter().position(|(_, max)| design <= *max) {
                complexity[i] += 1;
            }
            let start = run.iter().map(|s| s.timestamp_us).min().unwrap_or(0);
            let end = run
                .iter()
                .map(|s| s.timestamp_us.saturating_add((s.duration_ns / 1000) as i64))
                .max()
                .unwrap_or(start);
            durations.push((end - start) as f64 * 1000.0);
            // The run's shape: step types in the order they first appear.
            let mut pattern: Vec<String> = Vec::new();
            for st in run.iter() {
                if !pattern.iter().any(|p| p == st.step_type.as_str()) {
                    pattern.push(st.step_type.as_str().to_string());
                }
            }
            *patterns.entry(pattern).or_default() += 1;
            // Estimator sequences within each cell, and per-run features and hints.
            let mut cells: BTreeMap<Option<&str>, Vec<&str>> = BTreeMap::new();
            let mut est_time: FastMap<&str, f64> = FastMap::default();
            let mut seen: FastMap<(Option<&str>, &str), (u64, f64)> = FastMap::default();
            let mut run_features: FastMap<(StepType, &str), u64> = FastMap::default();
            let mut total = 0.0;
            for s in run.iter() {
                let dur = s.duration_ns as f64;
                total += dur;
                type_time.entry(s.step_type).or_default().push(dur);
                *run_features
                    .entry((s.step_type, s.component.as_str()))
                    .or_default() += 1;
                if s.step_type == StepType::Estimate {
                    cells
                        .entry(s.cell.as_deref())
                        .or_default()
                        .push(s.component.as_str());
                    *est_time.entry(s.component.as_str()).or_default() += dur;
                    let e = seen
                        .entry((s.cell.as_deref(), s.component.as_str()))
                        .or_default();
                    e.0 += 1;
                    if e.0 > 1 {
                        e.1 += dur;
                    }
                }
            }
            for ((t, c), k) in run_features {
                let f = features.entry((t, c)).or_default();
                f.0 += k;
                f.1 += 1;
            }
            for seq in cells.values() {
                for w in seq.windows(2) {
                    *bigrams.entry(w.to_vec()).or_default() += 1;
                }
                for w in seq.windows(3) {
                    *trigrams.entry(w.to_vec()).or_default() += 1;
                }
            }
            for ((cell, comp), (times, extra)) in seen {
                if times > 1 {
                    duplicates.push(DuplicateEstimate {
                        run_id: run_id.to_string(),
                        workflow: workflow.to_string(),
                        cell: cell.unwrap_or("(run)").to_string(),
                        component: comp.to_string(),
                        times,
                        extra_ns: extra,
                    });
                }
            }
            let est_total: f64 = est_time.values().sum();
            if est_time.len() >= 2 && est_total > 0.0 {
                if let Some((comp, t)) = est_time
                    .iter()
                    .max_by(|a, b| a.1.total_cmp(b.1).then_with(|| b.0.cmp(a.0)))
                {
                    if *t / est_total > 0.5 {
                        dominated.push(DominatedRun {
                            run_id: run_id.to_string(),
                            workflow: workflow.to_string(),
                            component: comp.to_string(),
                            share: t / est_total,
                            time_ns: *t,
                            estimators: est_time.len() as u64,
                        });
                    }
                }
            }
            let sig = run
                .iter()
                .map(|s| (s.step_type, s.component.as_str(), s.cell.as_deref()))
                .collect();
            let e = signatures.entry((workflow, sig)).or_default();
            e.0 += 1;
            e.1 += total;
        }
        let nruns = runs.len() as u64;
        let all_time: f64 = type_time.values().flatten().sum();
        let duplicate_estimates = duplicates.len() as u64;
        duplicates.sort_by(|a, b| {
            b.extra_ns
                .total_cmp(&a.extra_ns)
                .then_with(|| b.times.cmp(&a.times))
                .then_with(|| a.run_id.cmp(&b.run_id))
                .then_with(|| a.component.cmp(&b.component))
        });
        duplicates.truncate(TOP_N);
        let dominated_runs = dominated.len() as u64;
        dominated.sort_by(|a, b| {
            b.share
                .total_cmp(&a.share)
                .then_with(|| a.run_id.cmp(&b.run_id))
        });
        dominated.truncate(TOP_N);
        let mut repeated: Vec<RepeatedWorkflow> = signatures
            .into_iter()
            .filter(|(_, (n, _))| *n > 1)
            .map(|((w, sig), (n, total))| RepeatedWorkflow {
                workflow: w.to_string(),
                runs: n,
                steps: sig.len() as u64,
                extra_ns: total * (n - 1) as f64 / n as f64,
            })
            .collect();
        repeated.sort_by(|a, b| {
            b.runs
                .cmp(&a.runs)
                .then_with(|| a.workflow.cmp(&b.workflow))
        });
        repeated.truncate(TOP_N);
        let mut workflows: Vec<NameCount> = workflows
            .into_iter()
            .map(|(n, c)| NameCount {
                name: n.to_string(),
                count: c,
            })
            .collect();
        workflows.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
        let mut features: Vec<FeatureUse> = features
            .into_iter()
            .map(|((t, c), (steps, runs))| FeatureUse {
                feature: feature_name(t).to_string(),
                component: c.to_string(),
                steps,
                runs,
            })
            .collect();
        features.sort_by(|a, b| {
            a.feature
                .cmp(&b.feature)
                .then_with(|| b.steps.cmp(&a.steps))
                .then_with(|| a.component.cmp(&b.component))
        });
        let mut pattern_list: Vec<(Vec<String>, u64)> = patterns.into_iter().collect();
        pattern_list.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        WorkflowReport {
            period,
            runs: nruns,
            steps: steps.len() as u64,
            unique_users: users.len() as u64,
            workflows,
            steps_per_run: Quantiles::of(&mut sizes),
            complexity_definition: COMPLEXITY_DEFINITION.to_string(),
            design_size: Quantiles::of(&mut designs),
            cells_per_run: Quantiles::of(&mut cell_counts),
            complexity: COMPLEXITY
                .iter()
                .zip(complexity)
                .map(|((label, _), runs)| ComplexityBucket {
                    label: label.to_string(),
                    runs,
                    share: if nruns > 0 {
                        runs as f64 / nruns as f64
                    } else {
                        0.0
                    },
                })
                .collect(),
            step_patterns: pattern_list
                .into_iter()
                .take(TOP_N)
                .map(|(sequence, count)| SequenceCount { sequence, count })
                .collect(),
            estimator_bigrams: top_sequences(bigrams),
            estimator_trigrams: top_sequences(trigrams),
            run_duration_ns: Quantiles::of(&mut durations),
            step_time: type_time
                .into_iter()
                .map(|(t, mut v)| {
                    let total: f64 = v.iter().sum();
                    let steps = v.len() as u64;
                    StepTime {
                        step_type: t.as_str().to_string(),
                        steps,
                        total_ns: total,
                        share: if all_time > 0.0 {
                            total / all_time
                        } else {
                            0.0
                        },
                        median_ns: Quantiles::of(&mut v).map(|q| q.p50),
                    }
                })
                .collect(),
            features,
            hints: Hints {
                duplicate_estimates,
                duplicates,
                dominated_runs,
                dominated,
                repeated,
            },
        }
    }

    /// The report as a document.
    pub fn to_doc(&self) -> Doc {
        let mut d = Doc::new("Workflow report");
        d.para(format!("Period: {}.", self.period.label()));
        d.h2("Overview");
        d.list(vec![
            format!("Workflow runs: {}; steps: {}; users with runs: {}.", self.runs, self.steps, self.unique_users),
            format!(
                "Steps per run: median {}, 95th percentile {}, maximum {}.",
                opt(self.steps_per_run, |q| num(q.p50, 1)),
                opt(self.steps_per_run, |q| num(q.p95, 1)),
                opt(self.steps_per_run, |q| num(q.max, 0))
            ),
            format!(
                "Run duration (first step start to last step end): median {}, 95th percentile {}, maximum {}.",
                opt(self.run_duration_ns, |q| duration_ns(q.p50)),
                opt(self.run_duration_ns, |q| duration_ns(q.p95)),
                opt(self.run_duration_ns, |q| duration_ns(q.max))
            ),
        ]);
        d.table(
            &["workflow", "runs"],
            self.workflows
                .iter()
                .map(|w| vec![w.name.clone(), w.count.to_string()])
                .collect(),
            "No workflow runs in this period.",
        );
        d.h2("Workflow complexity");
        d.para(self.complexity_definition.clone());
        d.list(vec![
            format!(
                "Design size per run: median {}, 95th percentile {}, max {}.",
                opt(self.design_size, |q| num(q.p50, 0)),
                opt(self.design_size, |q| num(q.p95, 0)),
                opt(self.design_size, |q| num(q.max, 0))
            ),
            format!(
                "Cells per run: median {}, 95th percentile {}, max {}.",
                opt(self.cells_per_run, |q| num(q.p50, 0)),
                opt(self.cells_per_run, |q| num(q.p95, 0)),
                opt(self.cells_per_run, |q| num(q.max, 0))
            ),
        ]);
        d.table(
            &["complexity", "runs", "share"],
            self.complexity
                .iter()
                .map(|c| vec![c.label.clone(), c.runs.to_string(), pct(c.share)])
                .collect(),
            "",
        );
        d.chart("workflow_complexity", "Runs by design size");
        d.h2("Common workflow patterns");
        d.para("A run's shape: its step types in the order they first appear, however many steps of each it ran.");
        d.table(
            &["pattern", "runs"],
            self.step_patterns
                .iter()
                .map(|p| vec![p.sequence.join(" → "), p.count.to_string()])
                .collect(),
            "No workflow runs in this period.",
        );
        d.h2("Popular estimator sequences");
        d.para("Estimator n-grams within one series (cell) of a run, in step order, with their counts.");
        let seq_rows = |v: &[SequenceCount]| -> Vec<Vec<String>> {
            v.iter()
                .map(|s| vec![s.sequence.join(" → "), s.count.to_string()])
                .collect()
        };
        d.h3("Pairs");
        d.table(
            &["sequence", "count"],
            seq_rows(&self.estimator_bigrams),
            "No series ran two or more estimators.",
        );
        d.h3("Triples");
        d.table(
            &["sequence", "count"],
            seq_rows(&self.estimator_trigrams),
            "No series ran three or more estimators.",
        );
        d.h2("Durations by step type");
        d.table(
            &["step type", "steps", "total", "share", "median"],
            self.step_time
                .iter()
                .map(|s| {
                    vec![
                        s.step_type.clone(),
                        s.steps.to_string(),
                        duration_ns(s.total_ns),
                        pct(s.share),
                        opt(s.median_ns, duration_ns),
                    ]
                })
                .collect(),
            "No steps in this period.",
        );
        d.h2("Feature usage");
        d.table(
            &["feature", "component", "steps", "runs"],
            self.features
                .iter()
                .map(|f| {
                    vec![
                        f.feature.clone(),
                        f.component.clone(),
                        f.steps.to_string(),
                        f.runs.to_string(),
                    ]
                })
                .collect(),
            "No steps in this period.",
        );
        d.h2("Optimization recommendations");
        let h = &self.hints;
        let mut items = Vec::new();
        if h.duplicate_estimates > 0 {
            items.push(format!("{} time(s) an estimator ran more than once on the same series of a run; results could be reused.", h.duplicate_estimates));
        }
        for x in &h.duplicates {
            items.push(format!(
                "Run {} ({}): {} ran {} times on series {}; the repeats cost {}.",
                x.run_id,
                x.workflow,
                x.component,
                x.times,
                x.cell,
                duration_ns(x.extra_ns)
            ));
        }
        if h.dominated_runs > 0 {
            items.push(format!(
                "{} run(s) spent more than half of their estimation time in one estimator.",
                h.dominated_runs
            ));
        }
        for x in &h.dominated {
            items.push(format!(
                "Run {} ({}): {} took {} of the estimation time ({}) among {} estimators.",
                x.run_id,
                x.workflow,
                x.component,
                pct(x.share),
                duration_ns(x.time_ns),
                x.estimators
            ));
        }
        for x in &h.repeated {
            items.push(format!("Workflow {} ran {} times with identical steps ({} each); caching its results would save about {}.", x.workflow, x.runs, x.steps, duration_ns(x.extra_ns)));
        }
        if items.is_empty() {
            items.push(if self.runs == 0 {
                "No workflow runs in this period: nothing to optimise.".to_string()
            } else {
                format!("No repeated estimates, dominated runs or repeated identical workflows in {} runs.", self.runs)
            });
        }
        d.list(items);
        d
    }
}
