//! The lrdbench analytics dashboard.
#![deny(missing_docs)]

pub mod stats;
