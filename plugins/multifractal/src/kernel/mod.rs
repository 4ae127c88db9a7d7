//! The multifractal estimators' kernels: pure functions over `&[f64]` with a `Config` each.

pub mod mfdfa;
