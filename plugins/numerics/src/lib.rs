//! Numerical kernels shared by the lrdbench plugins.
#![deny(missing_docs)]
