//! Parameter checking against a component's schema, shared by the host (which checks workflows
//! and command lines before any call) and the SDK (which checks again inside the plugin, so a
//! plugin is safe whoever calls it).

use std::fmt;

use abi_stable::std_types::{RSlice, RString, RVec};

use crate::abi::{ErrorKind, Param, ParamKind, ParamSpec, ParamValue, PluginError};

/// Why a set of parameters does not fit a schema.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamError {
    /// A name the schema does not declare.
    Unknown {
        /// The name given.
        name: String,
        /// The names the schema declares.
        valid: Vec<String>,
    },
    /// A value of the wrong type.
    WrongType {
        /// Parameter name.
        name: String,
        /// The declared type.
        expected: ParamKind,
        /// What was given, rendered.
        given: String,
    },
    /// A number outside the declared bounds.
    OutOfBounds {
        /// Parameter name.
        name: String,
        /// The offending value.
        value: f64,
        /// Inclusive lower bound.
        min: Option<f64>,
        /// Inclusive upper bound.
        max: Option<f64>,
    },
    /// An enum value that is not one of the choices.
    NotAChoice {
        /// Parameter name.
        name: String,
        /// The value given.
        given: String,
        /// The allowed choices.
        choices: Vec<String>,
    },
    /// A required parameter (no default) was not given.
    Missing {
        /// Parameter name.
        name: String,
    },
    /// The same parameter was given twice.
    Duplicate {
        /// Parameter name.
        name: String,
    },
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamError::Unknown { name, valid } => {
                if valid.is_empty() {
                    write!(
                        f,
                        "unknown parameter `{name}`: this component takes no parameters"
                    )
                } else {
                    write!(
                        f,
                        "unknown parameter `{name}` (valid: {})",
                        valid.join(", ")
                    )
                }
            }
            ParamError::WrongType {
                name,
                expected,
                given,
            } => {
                write!(
                    f,
                    "parameter `{name}` must be of type {expected}, got {given}"
                )
            }
            ParamError::OutOfBounds {
                name,
                value,
                min,
                max,
            } => {
                let range = match (min, max) {
                    (Some(lo), Some(hi)) => format!("between {lo} and {hi}"),
                    (Some(lo), None) => format!("at least {lo}"),
                    (None, Some(hi)) => format!("at most {hi}"),
                    (None, None) => "finite".to_string(),
                };
                write!(
                    f,
                    "parameter `{name}` = {value} is out of range: must be {range}"
                )
            }
            ParamError::NotAChoice {
                name,
                given,
                choices,
            } => {
                write!(
                    f,
                    "parameter `{name}` = `{given}` is not one of: {}",
                    choices.join(", ")
                )
            }
            ParamError::Missing { name } => write!(f, "required parameter `{name}` is missing"),
            ParamError::Duplicate { name } => write!(f, "parameter `{name}` is given twice"),
        }
    }
}

impl std::error::Error for ParamError {}

impl From<ParamError> for PluginError {
    fn from(e: ParamError) -> Self {
        PluginError {
            kind: ErrorKind::Parameter,
            message: RString::from(e.to_string()),
        }
    }
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Int(v) => write!(f, "{v}"),
            ParamValue::Float(v) => write!(f, "{v}"),
            ParamValue::Bool(v) => write!(f, "{v}"),
            ParamValue::Str(v) => write!(f, "{v}"),
            ParamValue::List(v) => {
                f.write_str("[")?;
                for (i, x) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{x}")?;
                }
                f.write_str("]")
            }
        }
    }
}

impl ParamValue {
    /// A short name of the value's own type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            ParamValue::Int(_) => "int",
            ParamValue::Float(_) => "float",
            ParamValue::Bool(_) => "bool",
            ParamValue::Str(_) => "string",
            ParamValue::List(_) => "list",
        }
    }

    /// Parses command-line text (`--param NAME=VALUE`) as a value of `kind`.
    ///
    /// Lists are comma-separated numbers, optionally in brackets: `1,2,3` or `[1, 2, 3]`.
    pub fn parse_as(kind: ParamKind, text: &str) -> Result<ParamValue, String> {
        let t = text.trim();
        let bad = || format!("`{t}` is not a valid {kind}");
        Ok(match kind {
            ParamKind::Int => ParamValue::Int(t.parse().map_err(|_| bad())?),
            ParamKind::Float => ParamValue::Float(t.parse().map_err(|_| bad())?),
            ParamKind::Bool => ParamValue::Bool(match t {
                "true" | "yes" | "1" | "on" => true,
                "false" | "no" | "0" | "off" => false,
                _ => return Err(bad()),
            }),
            ParamKind::Str | ParamKind::Enum => ParamValue::Str(RString::from(t)),
            ParamKind::List => {
                let inner = t.trim_start_matches('[').trim_end_matches(']');
                let mut out = RVec::new();
                for part in inner.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    out.push(part.parse::<f64>().map_err(|_| bad())?);
                }
                ParamValue::List(out)
            }
        })
    }
}

/// Checks `given` against `schema` and returns every parameter of the schema, in schema order,
/// with defaults filled in and values converted to their declared type (ints widen to floats,
/// integral floats narrow to ints).
///
/// # Errors
///
/// The first [`ParamError`] found: unknown or duplicate names, wrong types, values out of
/// bounds, enum values outside the choices, missing required parameters.
pub fn resolve(schema: &[ParamSpec], given: &[Param]) -> Result<Vec<Param>, ParamError> {
    for (i, p) in given.iter().enumerate() {
        if !schema.iter().any(|s| s.name == p.name) {
            return Err(ParamError::Unknown {
                name: p.name.to_string(),
                valid: schema.iter().map(|s| s.name.to_string()).collect(),
            });
        }
        if given[..i].iter().any(|q| q.name == p.name) {
            return Err(ParamError::Duplicate {
                name: p.name.to_string(),
            });
        }
    }
    schema
        .iter()
        .map(|spec| {
            let value = match given.iter().find(|p| p.name == spec.name) {
                Some(p) => coerce(spec, &p.value)?,
                None => match &spec.default {
                    abi_stable::std_types::ROption::RSome(v) => v.clone(),
                    abi_stable::std_types::ROption::RNone => {
                        return Err(ParamError::Missing {
                            name: spec.name.to_string(),
                        })
                    }
                },
            };
            Ok(Param {
                name: spec.name.clone(),
                value,
            })
        })
        .collect()
}

/// [`resolve`] for borrowed ABI slices.
pub fn resolve_slice(
    schema: RSlice<'_, ParamSpec>,
    given: RSlice<'_, Param>,
) -> Result<Vec<Param>, ParamError> {
    resolve(schema.as_slice(), given.as_slice())
}

fn coerce(spec: &ParamSpec, value: &ParamValue) -> Result<ParamValue, ParamError> {
    let name = spec.name.to_string();
    let wrong = || ParamError::WrongType {
        name: name.clone(),
        expected: spec.kind,
        given: format!("{} `{value}`", value.type_name()),
    };
    let check_bounds = |x: f64| -> Result<(), ParamError> {
        let below = spec.min.into_option().is_some_and(|lo| x < lo);
        let above = spec.max.into_option().is_some_and(|hi| x > hi);
        if below || above || x.is_nan() {
            Err(ParamError::OutOfBounds {
                name: name.clone(),
                value: x,
                min: spec.min.into_option(),
                max: spec.max.into_option(),
            })
        } else {
            Ok(())
        }
    };
    let v = match (spec.kind, value) {
        (ParamKind::Int, ParamValue::Int(i)) => ParamValue::Int(*i),
        (ParamKind::Int, ParamValue::Float(x)) if x.fract() == 0.0 && x.abs() < 9.0e15 => {
            ParamValue::Int(*x as i64)
        }
        (ParamKind::Float, ParamValue::Float(x)) => ParamValue::Float(*x),
        (ParamKind::Float, ParamValue::Int(i)) => ParamValue::Float(*i as f64),
        (ParamKind::Bool, ParamValue::Bool(b)) => ParamValue::Bool(*b),
        (ParamKind::Str, ParamValue::Str(s)) => ParamValue::Str(s.clone()),
        (ParamKind::Enum, ParamValue::Str(s)) => {
            if !spec.choices.iter().any(|c| c == s) {
                return Err(ParamError::NotAChoice {
                    name,
                    given: s.to_string(),
                    choices: spec.choices.iter().map(|c| c.to_string()).collect(),
                });
            }
            ParamValue::Str(s.clone())
        }
        (ParamKind::List, ParamValue::List(xs)) => ParamValue::List(xs.clone()),
        (ParamKind::List, ParamValue::Float(x)) => ParamValue::List(RVec::from(vec![*x])),
        (ParamKind::List, ParamValue::Int(i)) => ParamValue::List(RVec::from(vec![*i as f64])),
        _ => return Err(wrong()),
    };
    match &v {
        ParamValue::Int(i) => check_bounds(*i as f64)?,
        ParamValue::Float(x) => check_bounds(*x)?,
        ParamValue::List(xs) => xs.iter().try_for_each(|x| check_bounds(*x))?,
        _ => {}
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdk::param;

    fn schema() -> Vec<ParamSpec> {
        vec![
            param::int("order", 1, "detrending order")
                .bounds(1.0, 3.0)
                .build(),
            param::float("alpha", 0.5, "exponent").build(),
            param::choice("ci", "regression", &["regression", "bootstrap"], "interval").build(),
        ]
    }

    fn p(name: &str, value: ParamValue) -> Param {
        Param {
            name: name.into(),
            value,
        }
    }

    #[test]
    fn resolve_fills_defaults_in_schema_order() {
        let r = resolve(&schema(), &[p("alpha", ParamValue::Int(2))]).unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].value, ParamValue::Int(1));
        assert_eq!(r[1].value, ParamValue::Float(2.0));
    }

    #[test]
    fn resolve_unknown_name_lists_valid_ones() {
        let e = resolve(&schema(), &[p("ordr", ParamValue::Int(2))]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown parameter `ordr` (valid: order, alpha, ci)"
        );
    }

    #[test]
    fn resolve_out_of_bounds_names_the_range() {
        let e = resolve(&schema(), &[p("order", ParamValue::Int(7))]).unwrap_err();
        assert!(e.to_string().contains("between 1 and 3"), "{e}");
    }

    #[test]
    fn resolve_wrong_type_is_rejected() {
        let e = resolve(&schema(), &[p("order", ParamValue::Str("two".into()))]).unwrap_err();
        assert!(matches!(e, ParamError::WrongType { .. }), "{e}");
        let e = resolve(&schema(), &[p("order", ParamValue::Float(1.5))]).unwrap_err();
        assert!(matches!(e, ParamError::WrongType { .. }), "{e}");
    }

    #[test]
    fn resolve_enum_outside_choices_is_rejected() {
        let e = resolve(&schema(), &[p("ci", ParamValue::Str("magic".into()))]).unwrap_err();
        assert!(e.to_string().contains("regression, bootstrap"), "{e}");
    }

    #[test]
    fn parse_as_reads_lists_and_bools() {
        assert_eq!(
            ParamValue::parse_as(ParamKind::List, "[1, 2.5,3]").unwrap(),
            ParamValue::List(RVec::from(vec![1.0, 2.5, 3.0]))
        );
        assert_eq!(
            ParamValue::parse_as(ParamKind::Bool, "yes").unwrap(),
            ParamValue::Bool(true)
        );
        assert!(ParamValue::parse_as(ParamKind::Int, "2.5").is_err());
    }
}
