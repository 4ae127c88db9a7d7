//! Fault-injection estimators, for tests of how the host contains failing plugins.
//!
//! The library name does not match `lrdbench_plugin_*`, so the host never loads it by
//! itself: pass it with `--plugin PATH`.
#![deny(missing_docs)]
// Crate internals are `pub(crate)`: `pub` means part of the documented surface.
#![warn(unreachable_pub)]

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

/// Dies by a real SIGSEGV: a volatile write through a null pointer. In-process this ends the
/// host; only an isolated worker survives it.
pub struct Segfault;

impl Estimator for Segfault {
    fn describe(&self) -> ComponentDescriptor {
        component(
            ComponentKind::Estimator,
            "fault_segfault",
            Family::Other,
            "H",
        )
        .description("dies by a segmentation fault (SIGSEGV)")
        .reference("none")
        .build()
    }
    fn estimate(&self, _series: &[f64], _params: &Params) -> Result<Estimate, PluginError> {
        segfault()
    }
}

/// Writes through a null pointer. The volatile write keeps the compiler from proving the store
/// dead (a plain null write is undefined behaviour it may delete), so the CPU really faults.
fn segfault() -> ! {
    let target = std::hint::black_box(std::ptr::null_mut::<u64>());
    // SAFETY: this is the deliberate fault the estimator exists to produce; the write never
    // completes, because the kernel delivers SIGSEGV on the access.
    unsafe { std::ptr::write_volatile(target, 0xdead_beef) };
    // A platform that maps page zero would let the write through; abort rather than return.
    std::process::abort()
}

/// Dies by SIGABRT through `std::process::abort`, which no `catch_unwind` can stop.
pub struct Abort;

impl Estimator for Abort {
    fn describe(&self) -> ComponentDescriptor {
        component(ComponentKind::Estimator, "fault_abort", Family::Other, "H")
            .description("aborts the process (SIGABRT)")
            .reference("none")
            .build()
    }
    fn estimate(&self, _series: &[f64], _params: &Params) -> Result<Estimate, PluginError> {
        std::process::abort()
    }
}

/// Never returns: sleeps in a loop forever, so only a timeout ends the call.
pub struct Hang;

impl Estimator for Hang {
    fn describe(&self) -> ComponentDescriptor {
        component(ComponentKind::Estimator, "fault_hang", Family::Other, "H")
            .description("never returns")
            .reference("none")
            .build()
    }
    fn estimate(&self, _series: &[f64], _params: &Params) -> Result<Estimate, PluginError> {
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
}

/// Allocates, and touches, far more memory than the machine has: under a worker's memory limit
/// the allocation fails and the standard library aborts the process, as an ordinary plugin that
/// never expects allocation failure would. Never run it in-process without a limit: it would
/// bring the machine's own out-of-memory killer into play.
pub struct Oom;

/// The size of each allocation of [`Oom`]: large enough to reach any limit in a few steps,
/// small enough that the failing request is near the limit rather than absurd.
const OOM_CHUNK: usize = 64 << 20;

impl Estimator for Oom {
    fn describe(&self) -> ComponentDescriptor {
        component(ComponentKind::Estimator, "fault_oom", Family::Other, "H")
            .description("allocates and touches far more memory than the machine has")
            .reference("none")
            .build()
    }
    fn estimate(&self, _series: &[f64], _params: &Params) -> Result<Estimate, PluginError> {
        let target = physical_memory().saturating_mul(4).max(1 << 40);
        let mut held: Vec<Vec<u8>> = Vec::new();
        let mut total = 0usize;
        while total < target {
            // `vec![1; n]` writes every byte, so every page is really backed, not just reserved.
            held.push(std::hint::black_box(vec![1u8; OOM_CHUNK]));
            total += OOM_CHUNK;
        }
        // Unreachable on any real machine: 4 times its memory (at least 1 TiB) was held.
        Err(PluginError::internal(format!(
            "fault_oom held {} bytes without failing",
            std::hint::black_box(held).len() * OOM_CHUNK
        )))
    }
}

/// Physical memory in bytes, or 0 when the system does not say.
#[cfg(unix)]
fn physical_memory() -> usize {
    // SAFETY: sysconf only reads system constants.
    let (pages, size) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    if pages > 0 && size > 0 {
        (pages as usize).saturating_mul(size as usize)
    } else {
        0
    }
}

/// Physical memory in bytes: unknown (0) off Unix.
#[cfg(not(unix))]
fn physical_memory() -> usize {
    0
}

/// Sleeps `seconds`, then answers like [`Trivial`]: a slow but well-behaved estimator, for
/// timeouts that must not fire and for interrupting a run mid-call.
pub struct Slow;

impl Estimator for Slow {
    fn describe(&self) -> ComponentDescriptor {
        component(ComponentKind::Estimator, "fault_slow", Family::Other, "H")
            .description("sleeps `seconds`, then returns the first value")
            .reference("none")
            .param(
                param::float("seconds", 1.0, "how long to sleep")
                    .bounds(0.0, 86_400.0)
                    .build(),
            )
            .build()
    }
    fn estimate(&self, series: &[f64], params: &Params) -> Result<Estimate, PluginError> {
        std::thread::sleep(std::time::Duration::from_secs_f64(params.float("seconds")));
        trivial(series).map(|v| Estimate::new(v, "H"))
    }
}

/// Allocates and touches `mib` MiB, frees it, then answers like [`Trivial`]: a call of known
/// peak memory, to check the host's per-call memory accounting.
pub struct Alloc;

impl Estimator for Alloc {
    fn describe(&self) -> ComponentDescriptor {
        component(ComponentKind::Estimator, "fault_alloc", Family::Other, "H")
            .description("allocates and touches `mib` MiB, then returns the first value")
            .reference("none")
            .param(
                param::int("mib", 64, "how many MiB to allocate and touch")
                    .bounds(0.0, 1_048_576.0)
                    .build(),
            )
            .build()
    }
    fn estimate(&self, series: &[f64], params: &Params) -> Result<Estimate, PluginError> {
        let block = std::hint::black_box(vec![1u8; params.usize("mib") << 20]);
        drop(block);
        trivial(series).map(|v| Estimate::new(v, "H"))
    }
}

/// A real but plain estimate of H (from the lag-one autocorrelation, which for fGn is
/// 2^(2H−1) − 1), moved by `shift` after sleeping `sleep_ms`: the same estimator made worse or
/// slower on purpose, for tests of `compare`.
pub struct Shift;

impl Estimator for Shift {
    fn describe(&self) -> ComponentDescriptor {
        component(ComponentKind::Estimator, "fault_shift", Family::Other, "H")
            .description("lag-one autocorrelation estimate of H, plus `shift`, after `sleep_ms`")
            .reference("none")
            .param(
                param::float("shift", 0.0, "added to the estimate")
                    .bounds(-1.0, 1.0)
                    .build(),
            )
            .param(
                param::float("sleep_ms", 0.0, "milliseconds to sleep first")
                    .bounds(0.0, 60_000.0)
                    .build(),
            )
            .build()
    }
    fn estimate(&self, series: &[f64], params: &Params) -> Result<Estimate, PluginError> {
        let sleep = params.float("sleep_ms");
        if sleep > 0.0 {
            std::thread::sleep(std::time::Duration::from_secs_f64(sleep / 1000.0));
        }
        lag_one_hurst(series).map(|h| Estimate::new(h + params.float("shift"), "H"))
    }
}

/// H from the lag-one sample autocorrelation ρ of fGn: H = (1 + log2(1 + ρ)) / 2.
///
/// # Errors
///
/// `insufficient_data` below 3 points; `numerical` for a constant series.
pub fn lag_one_hurst(series: &[f64]) -> Result<f64, PluginError> {
    if series.len() < 3 {
        return Err(PluginError::insufficient_data("fault_shift needs 3 points"));
    }
    let mean = series.iter().sum::<f64>() / series.len() as f64;
    let c0: f64 = series.iter().map(|x| (x - mean).powi(2)).sum();
    if c0 <= 0.0 {
        return Err(PluginError::new(ErrorKind::Numerical, "constant series"));
    }
    let c1: f64 = series
        .windows(2)
        .map(|w| (w[0] - mean) * (w[1] - mean))
        .sum();
    // ρ in (−1, 1) keeps the logarithm finite.
    let rho = (c1 / c0).clamp(-0.999, 0.999);
    Ok(0.5 * (1.0 + (1.0 + rho).log2()))
}

lrdbench_plugin_api::export_plugin! {
    name: "fault",
    version: env!("CARGO_PKG_VERSION"),
    estimators: [Trivial, Panic, Nan, TypedError, Segfault, Abort, Hang, Oom, Slow, Alloc, Shift],
    models: [],
}
