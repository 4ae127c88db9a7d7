//! The record of one finished cell: what `cells.jsonl`, `estimates.csv`, the metrics and the
//! reports are made from. A leaf of the workflow modules.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The outcome of one cell, as written to `cells.jsonl` and `estimates.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellRecord {
    /// Position of the cell in the plan.
    pub index: usize,
    /// SHA-256 of the cell's specification.
    pub hash: String,
    /// The series.
    pub series_id: String,
    /// Model, file or inline label of the series.
    pub origin: String,
    /// True parameters of the series (H, d, ...), when known.
    pub truth: BTreeMap<String, f64>,
    /// Length of the series the estimator saw.
    pub length: usize,
    /// `clean` or the contamination variant.
    pub contamination: String,
    /// The estimator's name.
    pub estimator: String,
    /// The estimator row (`dfa` or `dfa/order2`).
    pub variant: String,
    /// The parameters used, `a=1,b=2`.
    pub params: String,
    /// What the estimator estimates.
    pub estimand: String,
    /// The estimate, when valid.
    pub value: Option<f64>,
    /// Its standard error.
    pub stderr: Option<f64>,
    /// Lower end of its interval.
    pub ci_low: Option<f64>,
    /// Upper end of its interval.
    pub ci_high: Option<f64>,
    /// Nominal level of its interval.
    pub ci_level: Option<f64>,
    /// How the interval was made (`calibrated`, `asymptotic`, `bootstrap`, …; `none` for a
    /// valid estimate without one).
    #[serde(default)]
    pub ci_method: Option<String>,
    /// r² of the scaling fit.
    pub r_squared: Option<f64>,
    /// Whether the cell produced a usable estimate.
    pub valid: bool,
    /// The typed error kind when it did not.
    pub error_kind: Option<String>,
    /// The error message when it did not.
    pub error_message: Option<String>,
    /// Wall time of the estimator call, milliseconds: as the worker measured it for an isolated
    /// or process plugin (without the pipe and the worker's start-up), as the host did otherwise.
    pub elapsed_ms: f64,
    /// Warnings of the estimate.
    pub warnings: Vec<String>,
}

impl CellRecord {
    /// The true value of this cell's estimand, when the series' truth gives it (`d` is
    /// derived from `H` as `H − 1/2` when only `H` is known, and vice versa).
    pub fn truth_value(&self) -> Option<f64> {
        let t = &self.truth;
        t.get(&self.estimand)
            .copied()
            .or_else(|| match self.estimand.as_str() {
                "d" => t.get("H").map(|h| h - 0.5),
                "H" => t.get("d").map(|d| d + 0.5),
                _ => None,
            })
    }
}
