//! Numerical kernels shared by the lrdbench plugins, so that no kernel is copied between
//! plugin crates: least-squares fits, scale ladders, FFT plans, the fGn autocovariance and
//! spectral density, exact fGn generation, DWT filter banks and bootstrap resampling.
//!
//! Everything here is a pure function over `&[f64]` (or a plan object reused across calls):
//! no I/O, no logging, no global state; randomness only from an explicit seed.
//!
//! # Example
//!
//! ```
//! use lrdbench_numerics::regression::ols;
//! let fit = ols(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.0]).unwrap();
//! assert!((fit.slope - 2.0).abs() < 1e-15);
//! ```
#![deny(missing_docs)]
// Crate internals are `pub(crate)`: `pub` means part of the documented surface.
#![warn(unreachable_pub)]

pub mod bootstrap;
pub mod calibration;
pub mod cpu;
pub mod dwt;
pub mod fft;
pub mod fgn;
pub mod fluctuation;
pub mod gof;
pub mod ladder;
pub mod lanes;
pub mod misfit;
pub mod optimize;
pub mod prefix;
pub mod regression;
pub mod rng;
pub mod scaling;
pub mod special;
pub mod spectral_density;
pub mod validate;
pub mod vmath;
