//! Fault-injection estimators, for tests of how the host contains failing plugins.
//!
//! The library name does not match `lrdbench_plugin_*`, so the host never loads it by
//! itself: pass it with `--plugin PATH`.
#![deny(missing_docs)]

use lrdbench_plugin_api::prelude::*;

/// Returns the first value of the series as the estimate: the cheapest possible call, used to
/// measure the cost of the boundary itself.
pub struct Trivial;

impl Estimator for Trivial {
    fn describe(&self) -> ComponentDescriptor {
        component(
            ComponentKind::Estimator,
            "fault_trivial",
            Family::Other,
            "H",
        )
        .description("returns the first value; measures the call overhead")
        .reference("none")
        .build()
    }
    fn estimate(&self, series: &[f64], _params: &Params) -> Result<Estimate, PluginError> {
        trivial(series).map(|v| Estimate::new(v, "H"))
    }
}

/// The kernel of [`Trivial`], callable directly for comparison.
///
/// # Errors
///
/// `insufficient_data` on an empty series.
pub fn trivial(series: &[f64]) -> Result<f64, PluginError> {
    series
        .first()
        .copied()
        .ok_or_else(|| PluginError::insufficient_data("empty series"))
}

/// Panics with a recognisable message.
pub struct Panic;

impl Estimator for Panic {
    fn describe(&self) -> ComponentDescriptor {
        component(ComponentKind::Estimator, "fault_panic", Family::Other, "H")
            .description("panics on every call")
            .reference("none")
            .build()
    }
    fn estimate(&self, _series: &[f64], _params: &Params) -> Result<Estimate, PluginError> {
        panic!("fault_panic was asked to panic")
    }
}

/// Returns NaN as an estimate, which the host must turn into a `numerical` error.
pub struct Nan;

impl Estimator for Nan {
    fn describe(&self) -> ComponentDescriptor {
        component(ComponentKind::Estimator, "fault_nan", Family::Other, "H")
            .description("returns NaN as the estimate")
            .reference("none")
            .build()
    }
    fn estimate(&self, _series: &[f64], _params: &Params) -> Result<Estimate, PluginError> {
        Ok(Estimate::new(f64::NAN, "H"))
    }
}

/// Returns the typed error named by its `kind` parameter.
pub struct TypedError;

impl Estimator for TypedError {
    fn describe(&self) -> ComponentDescriptor {
        let kinds: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        component(ComponentKind::Estimator, "fault_error", Family::Other, "H")
            .description("returns the typed error named by `kind`")
            .reference("none")
            .param(param::choice("kind", "numerical", &kinds, "the error kind to return").build())
            .build()
    }
    fn estimate(&self, _series: &[f64], params: &Params) -> Result<Estimate, PluginError> {
        let kind = ErrorKind::parse(params.str("kind")).unwrap_or(ErrorKind::Internal);
        Err(PluginError::new(
            kind,
            format!("fault_error returns {kind} as asked"),
        ))
    }
}

lrdbench_plugin_api::export_plugin! {
    name: "fault",
    version: env!("CARGO_PKG_VERSION"),
    estimators: [Trivial, Panic, Nan, TypedError],
    models: [],
}
