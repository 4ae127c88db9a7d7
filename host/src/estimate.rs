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
}
