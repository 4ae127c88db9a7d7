//! Whose failure a failed call is: the component's ("the estimator failed") or the input's
//! ("the input was unusable"). Decided from the error's typed kind alone, never from its
//! message, so every report splits every rate the same way.

use serde::Serialize;

/// Kinds that say the input (the series or the parameters the caller chose) could not be
/// used: a series with NaN (as a `missing` contamination with `fill = "nan"` makes on
/// purpose), a constant series, one too short for the method, an invalid parameter value.
/// These are the data's failures and never count against a component's reliability.
pub(crate) const INPUT_KINDS: [&str; 3] = ["invalid_input", "insufficient_data", "parameter"];

/// Kinds that say the component itself failed on an input it accepted: returned by the plugin
/// (`numerical`, `non_convergence`, `internal`) or added by the host (`panic`, `crash`,
/// `timeout`, `out_of_memory`, `load`). A kind this build does not know is counted here too:
/// only a kind known to be the input's is taken off a component's record.
#[cfg(test)]
pub(crate) const COMPONENT_KINDS: [&str; 8] = [
    "numerical",
    "non_convergence",
    "internal",
    "panic",
    "crash",
    "timeout",
    "out_of_memory",
    "load",
];

/// Which side of the split a failure falls on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The input was unusable.
    Input,
    /// The component failed.
    Component,
}

impl Side {
    /// The side of an error kind; a failure without a recorded kind is the component's.
    pub fn of(kind: Option<&str>) -> Side {
        match kind {
            Some(k) if INPUT_KINDS.contains(&k) => Side::Input,
            _ => Side::Component,
        }
    }

    /// `input` or `component`.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Input => "input",
            Side::Component => "component",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_one_side() {
        for k in INPUT_KINDS {
            assert_eq!(Side::of(Some(k)), Side::Input);
            assert!(!COMPONENT_KINDS.contains(&k));
        }
        for k in COMPONENT_KINDS {
            assert_eq!(Side::of(Some(k)), Side::Component);
        }
        assert_eq!(Side::of(None), Side::Component);
        assert_eq!(Side::of(Some("something_new")), Side::Component);
    }
}
