//! The names users type and reports print for the boundary enums, in one place.

use std::fmt;

use crate::abi::{ComponentKind, ErrorKind, Family, ParamKind};

macro_rules! named_enum {
    ($ty:ty, $($variant:ident => $name:literal),+ $(,)?) => {
        impl $ty {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$ty] = &[$(<$ty>::$variant),+];

            /// The lowercase name used in the CLI, TOML, JSON and reports.
            pub fn as_str(self) -> &'static str {
                match self { $(<$ty>::$variant => $name),+ }
            }

            /// Parses a name produced by [`Self::as_str`].
            pub fn parse(name: &str) -> Option<Self> {
                match name { $($name => Some(<$ty>::$variant),)+ _ => None }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named_enum!(ComponentKind, Estimator => "estimator", Model => "model");
named_enum!(
    Family,
    Temporal => "temporal",
    Geometric => "geometric",
    Spectral => "spectral",
    Wavelet => "wavelet",
    Multifractal => "multifractal",
    Other => "other",
);
named_enum!(
    ParamKind,
    Int => "int",
    Float => "float",
    Bool => "bool",
    Str => "string",
    Enum => "enum",
    List => "list",
);
named_enum!(
    ErrorKind,
    InvalidInput => "invalid_input",
    InsufficientData => "insufficient_data",
    Parameter => "parameter",
    Numerical => "numerical",
    NonConvergence => "non_convergence",
    Internal => "internal",
);
