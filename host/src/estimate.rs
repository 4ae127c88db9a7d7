//! Running several estimators on one series: the library side of `lrdbench-host estimate`.

use std::time::Instant;

use lrdbench_plugin_api::{ComponentKind, Estimate, Param, ParamValue};

use crate::invoke::{CallContext, CallError, Invoker};
use crate::plugin::{Catalog, ComponentHandle, LookupError};

/// A `NAME=VALUE` parameter as typed on the command line, before the schema gives it a type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawParam {
    /// Parameter name.
    pub name: String,
    /// Its text.
    pub value: String,
}

impl RawParam {
    /// Parses `NAME=VALUE`.
    ///
    /// # Errors
    ///
    /// A message when there is no `=` or the name is empty.
    pub fn parse(text: &str) -> Result<RawParam, String> {
        match text.split_once('=') {
            Some((n, v)) if !n.trim().is_empty() => Ok(RawParam {
                name: n.trim().to_string(),
                value: v.trim().to_string(),
            }),
            _ => Err(format!("`{text}` is not of the form NAME=VALUE")),
        }
    }
}

/// Why an estimation request is malformed (as opposed to an estimator failing).
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// An unknown or ambiguous estimator.
    #[error(transparent)]
    Lookup(#[from] LookupError),
    /// No estimator given.
    #[error("no estimator given (use --estimator NAME[,NAME...] or all)")]
    NoEstimator,
    /// A parameter no selected estimator declares.
    #[error("parameter `{name}` is not declared by {} (their parameters: {valid})", estimators.join(", "))]
    UndeclaredParam {
        /// The parameter.
        name: String,
        /// The selected estimators.
        estimators: Vec<String>,
        /// Their parameters.
        valid: String,
    },
    /// A parameter value that does not fit an estimator's schema.
    #[error("{estimator}: {message}")]
    BadParam {
        /// The estimator.
        estimator: String,
        /// What is wrong.
        message: String,
    },
}

/// One estimator's outcome.
#[derive(Debug, Clone)]
pub struct EstimateRow {
    /// The estimator's name as typed (bare or qualified).
    pub estimator: String,
    /// What it estimates.
    pub estimand: String,
    /// The estimate, or the typed failure.
    pub outcome: Result<Estimate, CallError>,
    /// Wall time of the call, milliseconds.
    pub elapsed_ms: f64,
}

/// The estimators named by `names` (`all` selects every loaded estimator).
///
/// # Errors
///
/// [`RequestError`] for unknown or ambiguous names, or none at all.
pub fn select<'c>(
    catalog: &'c Catalog,
    names: &[String],
) -> Result<Vec<ComponentHandle<'c>>, RequestError> {
    if names.iter().any(|n| n == "all") {
        let all: Vec<_> = catalog
            .components()
            .filter(|c| c.descriptor.kind == ComponentKind::Estimator)
            .collect();
        return if all.is_empty() {
            Err(RequestError::NoEstimator)
        } else {
            Ok(all)
        };
    }
    if names.is_empty() {
        return Err(RequestError::NoEstimator);
    }
    names
        .iter()
        .map(|n| {
            catalog
                .find(n, ComponentKind::Estimator)
                .map_err(RequestError::from)
        })
        .collect()
}

/// Resolves command-line parameters for each selected estimator: each applies to the
/// estimators that declare it, and one that none declares is an error.
///
/// # Errors
///
/// [`RequestError::UndeclaredParam`] or [`RequestError::BadParam`].
pub fn resolve_params(
    handles: &[ComponentHandle<'_>],
    raw: &[RawParam],
) -> Result<Vec<Vec<Param>>, RequestError> {
    for p in raw {
        if !handles.iter().any(|h| {
            h.descriptor
                .params
                .iter()
                .any(|s| s.name == p.name.as_str())
        }) {
            let mut valid: Vec<String> = handles
                .iter()
                .flat_map(|h| h.descriptor.params.iter().map(|s| s.name.to_string()))
                .collect();
            valid.sort();
            valid.dedup();
            return Err(RequestError::UndeclaredParam {
                name: p.name.clone(),
                estimators: handles.iter().map(|h| h.name().to_string()).collect(),
                valid: if valid.is_empty() {
                    "none".into()
                } else {
                    valid.join(", ")
                },
            });
        }
    }
    handles
        .iter()
        .map(|h| {
            let given: Vec<Param> = raw
                .iter()
                .filter_map(|p| {
                    let spec = h
                        .descriptor
                        .params
                        .iter()
                        .find(|s| s.name == p.name.as_str())?;
                    Some(
                        ParamValue::parse_as(spec.kind, &p.value)
                            .map(|value| Param {
                                name: p.name.as_str().into(),
                                value,
                            })
                            .map_err(|message| format!("parameter `{}`: {message}", p.name)),
                    )
                })
                .collect::<Result<_, _>>()
                .map_err(|message| RequestError::BadParam {
                    estimator: h.name().to_string(),
                    message,
                })?;
            h.resolve(&given).map_err(|e| RequestError::BadParam {
                estimator: h.name().to_string(),
                message: e.to_string(),
            })
        })
        .collect()
}

/// Runs each estimator on `series`, in order; one failure does not stop the others.
pub fn run_all(
    invoker: &Invoker,
    handles: &[ComponentHandle<'_>],
    params: &[Vec<Param>],
    series: &[f64],
    ctx: &CallContext,
) -> Vec<EstimateRow> {
    let mut rows = Vec::with_capacity(handles.len());
    let _: Result<(), std::convert::Infallible> =
        run_each(invoker, handles, params, series, ctx, |row| {
            rows.push(row.clone());
            Ok(())
        });
    rows
}

/// As [`run_all`], handing each row to `done` as soon as its call returns, so that what has
/// been computed is out before a later estimator can crash an in-process host. An error from
/// `done` stops before the next call.
///
/// # Errors
///
/// The first error of `done`.
pub fn run_each<E>(
    invoker: &Invoker,
    handles: &[ComponentHandle<'_>],
    params: &[Vec<Param>],
    series: &[f64],
    ctx: &CallContext,
    mut done: impl FnMut(&EstimateRow) -> Result<(), E>,
) -> Result<(), E> {
    for (h, p) in handles.iter().zip(params) {
        let start = Instant::now();
        let outcome = invoker.estimate(h, series, p, ctx);
        done(&EstimateRow {
            estimator: h.name().to_string(),
            estimand: h.descriptor.estimand.to_string(),
            outcome,
            elapsed_ms: start.elapsed().as_secs_f64() * 1e3,
        })?;
    }
    Ok(())
}

/// Family-wise level of [`agreement`].
pub const AGREEMENT_LEVEL: f64 = 0.05;

/// One pair of estimates that [`agreement`] finds inconsistent.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Disagreement {
    /// First estimator (row order).
    pub a: String,
    /// Second estimator.
    pub b: String,
    /// H of `a` minus H of `b`.
    pub difference: f64,
    /// |difference| / √(se_a² + se_b²).
    pub z: f64,
}

/// Whether the estimates of H on one series are mutually consistent.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Agreement {
    /// How consistency is decided (one line).
    pub method: &'static str,
    /// Estimators compared: those with an estimate of H (or of d, as d + ½) and a standard
    /// error (or an interval to derive it from).
    pub compared: Vec<String>,
    /// Pairs tested.
    pub pairs: usize,
    /// The family-wise level.
    pub level: f64,
    /// The Bonferroni critical value z_{1 − level/(2·pairs)}.
    pub critical_z: f64,
    /// Whether no pair differs.
    pub consistent: bool,
    /// The pairs that differ, largest z first.
    pub disagreeing: Vec<Disagreement>,
}

/// The standard error of an estimate: its own, or the half-width of its interval over the
/// normal quantile of its level.
fn stderr_of(e: &Estimate) -> Option<f64> {
    let se = e.stderr.into_option().or_else(|| {
        e.ci.into_option().map(|c| {
            (c.high - c.low)
                / (2.0 * lrdbench_numerics::scaling::normal_quantile(0.5 + 0.5 * c.level))
        })
    })?;
    (se.is_finite() && se > 0.0).then_some(se)
}

/// Tests the estimates of H in `rows` for consistency, pair by pair.
///
/// Each pair (a, b) is tested with z = |Ĥ_a − Ĥ_b| / √(se_a² + se_b²) against the Bonferroni
/// critical value for all pairs at family-wise level [`AGREEMENT_LEVEL`]. Estimators on one
/// series are correlated, and the variance of a difference is se_a² + se_b² − 2ρ se_a se_b:
/// for the non-negative correlation of estimators of one quantity from one series, the
/// denominator is an upper bound, so the test is conservative (it flags a pair only when the
/// difference is significant whatever that correlation). It is only as honest as the
/// standard errors it is given. Estimands other than H and d are left out.
pub fn agreement(rows: &[EstimateRow]) -> Agreement {
    let est: Vec<(&str, f64, f64)> = rows
        .iter()
        .filter_map(|r| {
            let e = r.outcome.as_ref().ok()?;
            let h = match e.estimand.as_str() {
                "H" => e.value,
                "d" => e.value + 0.5,
                _ => return None,
            };
            Some((r.estimator.as_str(), h, stderr_of(e)?))
        })
        .collect();
    agreement_of(&est)
}

/// [`agreement`] over (estimator, Ĥ, standard error) triples: the one home of the test, used
/// by `estimate` and by a workflow's per-series comparison (`workflow::output`).
pub fn agreement_of(est: &[(&str, f64, f64)]) -> Agreement {
    let k = est.len();
    let pairs = k * k.saturating_sub(1) / 2;
    let critical_z = if pairs == 0 {
        f64::NAN
    } else {
        lrdbench_numerics::scaling::normal_quantile(1.0 - AGREEMENT_LEVEL / (2.0 * pairs as f64))
    };
    let mut disagreeing = Vec::new();
    for i in 0..k {
        for j in i + 1..k {
            let (a, ha, sa) = est[i];
            let (b, hb, sb) = est[j];
            let z = (ha - hb).abs() / (sa * sa + sb * sb).sqrt();
            if z > critical_z {
                disagreeing.push(Disagreement {
                    a: a.to_string(),
                    b: b.to_string(),
                    difference: ha - hb,
                    z,
                });
            }
        }
    }
    disagreeing.sort_by(|x, y| y.z.total_cmp(&x.z));
    Agreement {
        method: "pairwise z-tests of H (d as d + 1/2) with variance se_a^2 + se_b^2 \
                 (conservative for non-negatively correlated estimators), Bonferroni at \
                 family-wise 5%",
        compared: est.iter().map(|e| e.0.to_string()).collect(),
        pairs,
        level: AGREEMENT_LEVEL,
        critical_z,
        consistent: disagreeing.is_empty(),
        disagreeing,
    }
}

impl Agreement {
    /// The one-line verdict printed under the estimate table.
    pub fn line(&self) -> String {
        if self.pairs == 0 {
            return "agreement: fewer than two estimates of H with a standard error; nothing to compare".into();
        }
        if self.consistent {
            return format!(
                "agreement: the {} estimates of H are mutually consistent (no pair of {} differs; \
                 |z| ≤ {:.2}, Bonferroni at family-wise 5%)",
                self.compared.len(),
                self.pairs,
                self.critical_z
            );
        }
        let shown: Vec<String> = self
            .disagreeing
            .iter()
            .take(6)
            .map(|d| format!("{} vs {} ({:+.3}, z = {:.1})", d.a, d.b, d.difference, d.z))
            .collect();
        let more = self.disagreeing.len().saturating_sub(shown.len());
        format!(
            "agreement: INCONSISTENT: {} of {} pairs differ beyond |z| = {:.2} (Bonferroni, \
             family-wise 5%): {}{}",
            self.disagreeing.len(),
            self.pairs,
            self.critical_z,
            shown.join(", "),
            if more > 0 {
                format!(", and {more} more")
            } else {
                String::new()
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_param_parses_name_value() {
        assert_eq!(
            RawParam::parse("order=2").unwrap(),
            RawParam {
                name: "order".into(),
                value: "2".into()
            }
        );
        assert!(RawParam::parse("order").is_err());
        assert!(RawParam::parse("=2").is_err());
    }

    fn row(name: &str, estimand: &str, value: f64, se: f64) -> EstimateRow {
        EstimateRow {
            estimator: name.into(),
            estimand: estimand.into(),
            outcome: Ok(Estimate::new(value, estimand).with_stderr(se)),
            elapsed_ms: 0.0,
        }
    }

    #[test]
    fn agreement_flags_only_the_differing_pairs() {
        // Three pairs: critical z = Φ⁻¹(1 − 0.05/6) = 2.394. a vs c: |0.7 − 0.9|/√(2·0.01²)
        // = 14.1; b (d = 0.21, H = 0.71) agrees with a (z = 0.71).
        let rows = vec![
            row("a", "H", 0.7, 0.01),
            row("b", "d", 0.21, 0.01),
            row("c", "H", 0.9, 0.01),
            row("other", "alpha", 3.0, 0.01),
        ];
        let g = agreement(&rows);
        assert_eq!(g.compared, vec!["a", "b", "c"]);
        assert_eq!(g.pairs, 3);
        assert!((g.critical_z - 2.393_98).abs() < 1e-4, "{}", g.critical_z);
        assert!(!g.consistent);
        let pairs: Vec<(&str, &str)> = g
            .disagreeing
            .iter()
            .map(|d| (d.a.as_str(), d.b.as_str()))
            .collect();
        assert_eq!(pairs, vec![("a", "c"), ("b", "c")]);
        assert!(g.line().contains("a vs c"), "{}", g.line());
        let one = agreement(&rows[..1]);
        assert!(one.consistent && one.pairs == 0);
    }

    #[test]
    fn agreement_false_alarm_rate_is_at_most_its_level_for_independent_estimates() {
        // Five estimators, independent N(0.7, se_i²) with their true SDs (the worst case of the
        // non-negative correlations the test assumes, together with ρ = 0): the family-wise
        // rate must be at most 5%. 4,000 trials: an observed rate above 6.1% (5% + 3.2 SD of
        // Binomial(4000, 0.05)) would fail; Bonferroni makes it about 4.5%.
        let mut rng = lrdbench_numerics::rng::NormalStream::new(3);
        let ses = [0.01, 0.02, 0.015, 0.03, 0.012];
        let mut alarms = 0;
        for _ in 0..4000 {
            let rows: Vec<EstimateRow> = ses
                .iter()
                .enumerate()
                .map(|(i, &se)| row(&format!("e{i}"), "H", 0.7 + se * rng.normal(), se))
                .collect();
            alarms += usize::from(!agreement(&rows).consistent);
        }
        assert!(alarms <= 244, "{alarms} of 4000");
    }
}
