//! The proof that the running CPU executes AVX2 and FMA instructions, shared by every crate
//! that has a hand-written or `#[target_feature]` route.
//!
//! A function compiled with `#[target_feature(enable = "avx2,fma")]` is undefined behaviour on a
//! CPU without those features, so calling it is `unsafe`. Rather than pass a `bool` around (a
//! caller can write `true` anywhere), every such route takes an [`Avx2Fma`] value, which only
//! [`Avx2Fma::detect`] creates, after a successful run-time check. The check runs once per
//! process; setting the environment variable `LRDBENCH_PORTABLE` to `1` before it runs makes
//! it report no AVX2 or FMA, so that every kernel takes its portable route (CI runs the kernel
//! tests once this way, so both routes stay tested).
//!
//! # Example
//!
//! ```
//! use lrdbench_numerics::cpu::Avx2Fma;
//! match Avx2Fma::detect() {
//!     Some(_proof) => println!("the AVX2 and FMA routes run"),
//!     None => println!("the portable routes run"),
//! }
//! ```

use std::sync::OnceLock;

/// The environment variable that forces the portable routes when set to `1`.
pub const PORTABLE_ENV: &str = "LRDBENCH_PORTABLE";

/// Zero-sized proof that the CPU executes AVX2 and FMA instructions.
///
/// It has no public constructor besides [`Avx2Fma::detect`], so holding one means the run-time
/// check succeeded: a function that takes it as a parameter may rely on both features.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Avx2Fma {
    _private: (),
}

impl Avx2Fma {
    /// The proof, if the CPU has AVX2 and FMA and `LRDBENCH_PORTABLE` is not `1`.
    ///
    /// The answer is computed on the first call and cached for the life of the process (the
    /// environment is read once), so it costs one atomic load afterwards.
    #[inline]
    pub fn detect() -> Option<Avx2Fma> {
        static DETECTED: OnceLock<bool> = OnceLock::new();
        let present = *DETECTED.get_or_init(|| !portable_forced() && cpu_has_avx2_fma());
        present.then_some(Avx2Fma { _private: () })
    }
}

/// Whether `LRDBENCH_PORTABLE=1` asks for the portable routes.
fn portable_forced() -> bool {
    std::env::var_os(PORTABLE_ENV).is_some_and(|v| v == "1")
}

#[cfg(target_arch = "x86_64")]
fn cpu_has_avx2_fma() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

#[cfg(not(target_arch = "x86_64"))]
fn cpu_has_avx2_fma() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_agrees_with_the_cpu_and_the_environment() {
        // The proof exists exactly when the CPU has both features and the portable routes are
        // not forced; repeated calls give the cached answer.
        let expected = !portable_forced() && cpu_has_avx2_fma();
        assert_eq!(Avx2Fma::detect().is_some(), expected);
        assert_eq!(Avx2Fma::detect(), Avx2Fma::detect());
    }
}
