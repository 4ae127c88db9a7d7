//! Per-call measurement: wall time, the calling thread's CPU time, RSS before and after, and
//! the exact heap peak of the calling thread.
//!
//! CPU time is the calling thread's (`CLOCK_THREAD_CPUTIME_ID`): in-process calls run on it, and
//! the process's clock would count every other worker thread of a sweep too (a call then showed
//! more than 100% CPU), besides costing a walk over all threads in the kernel per reading. So
//! `cpu_percent` is thread CPU over wall time, at most 100% up to clock granularity, and
//! `cpu_process_ns` of an in-process call is that same thread time (an isolated call's worker
//! process reports its own). Work a plugin hands to threads of its own is not counted.
//!
//! The heap peak comes from jemalloc's per-thread `thread.peak` counter, reset when a probe
//! starts and read when it finishes. It sees the plugin's allocations only when jemalloc is the
//! process's `malloc` (the host sets `tikv-jemallocator` with unprefixed symbols as its global
//! allocator); elsewhere it reads 0. It counts the calling thread only, and jemalloc updates it
//! every 64 KiB of allocation activity and at each read, so a short spike smaller than that may
//! be missed.
//!
//! RSS comes from `/proc/self/statm`, read with `pread` on a file kept open for the process
//! (getrusage only has the lifetime maximum). That read costs a few microseconds, more than the
//! rest of the probe, so it is *sampled*: one process-wide reading is reused while it is younger
//! than [`RSS_SAMPLE_INTERVAL`]. `rss_before` is that sample (at most 1 ms old, so it may miss
//! what other threads did in the last millisecond). `rss_after` is read afresh whenever the
//! call itself could have moved RSS: when it ran for the interval or longer, or when its heap
//! peak reached [`RSS_FRESH_HEAP_BYTES`]; otherwise it is the same sample as `rss_before`. A
//! call shorter than a millisecond that allocated under 64 KiB can add at most a few pages of
//! stack or direct mappings by itself, well below what reports resolve.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::event::{Machine, Performance};

/// How long one RSS reading is reused by later probes.
pub const RSS_SAMPLE_INTERVAL: Duration = Duration::from_millis(1);

/// Heap peak from which a call's `rss_after` is always read afresh.
pub const RSS_FRESH_HEAP_BYTES: u64 = 64 << 10;

/// A measurement in progress.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    wall: Instant,
    thread_cpu_ns: u64,
    rss_before: u64,
}

impl Probe {
    /// Starts measuring on the calling thread: takes the RSS sample, resets its heap peak and
    /// reads the clocks.
    pub fn start() -> Probe {
        // The RSS sample first: when it is stale, its read must not fall inside the call's
        // measured time.
        let rss_before = rss_sampled(Instant::now());
        reset_heap_peak();
        Probe {
            thread_cpu_ns: cpu_ns(libc::CLOCK_THREAD_CPUTIME_ID),
            wall: Instant::now(),
            rss_before,
        }
    }

    /// Finishes: what the call cost since [`Probe::start`]. Must run on the same thread.
    pub fn finish(self) -> Performance {
        let end = Instant::now();
        let wall = end.saturating_duration_since(self.wall);
        let wall_ns = u64::try_from(wall.as_nanos()).unwrap_or(u64::MAX);
        let cpu_thread_ns =
            cpu_ns(libc::CLOCK_THREAD_CPUTIME_ID).saturating_sub(self.thread_cpu_ns);
        let heap_peak = read_heap_peak();
        let rss_after = if wall >= RSS_SAMPLE_INTERVAL || heap_peak >= RSS_FRESH_HEAP_BYTES {
            rss_fresh(end)
        } else {
            rss_sampled(end)
        };
        let cpu_percent = if wall_ns == 0 {
            0.0
        } else {
            100.0 * cpu_thread_ns as f64 / wall_ns as f64
        };
        Performance {
            wall_ns,
            cpu_thread_ns,
            cpu_process_ns: cpu_thread_ns,
            cpu_percent,
            rss_before: self.rss_before,
            rss_after,
            heap_peak,
        }
    }
}

/// CPU time of a clock (`CLOCK_THREAD_CPUTIME_ID` or `CLOCK_PROCESS_CPUTIME_ID`), ns; 0 when
/// the clock is unavailable.
pub fn cpu_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    if rc != 0 {
        return 0;
    }
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

/// The process's resident set size now, bytes, read from `/proc/self/statm`; 0 when `/proc` is
/// unavailable.
pub fn rss_bytes() -> u64 {
    static STATM: OnceLock<Option<File>> = OnceLock::new();
    let Some(f) = STATM
        .get_or_init(|| File::open("/proc/self/statm").ok())
        .as_ref()
    else {
        return 0;
    };
    // `pread` at offset 0 re-renders the file on each call, without the cost of an open; the
    // file is shared by threads since `pread` keeps no position.
    let mut buf = [0u8; 128];
    let Ok(n) = f.read_at(&mut buf, 0) else {
        return 0;
    };
    // statm: size resident shared text lib data dt, in pages.
    let resident = buf[..n]
        .split(|b| *b == b' ')
        .nth(1)
        .and_then(|s| std::str::from_utf8(s).ok())
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(0);
    resident * page_size()
}

/// An RSS sample: its value and when it was taken, ns after [`epoch`] (0: never). The time is
/// stored after the value (release) and loaded before it (acquire), so a value is never older
/// than the time it is read with.
struct RssSample {
    value: AtomicU64,
    at: AtomicU64,
}

/// The process-wide sample every probe shares.
static RSS: RssSample = RssSample::new();

impl RssSample {
    const fn new() -> RssSample {
        RssSample {
            value: AtomicU64::new(0),
            at: AtomicU64::new(0),
        }
    }

    fn sampled(&self, now: Instant) -> u64 {
        let at = self.at.load(Ordering::Acquire);
        if at != 0 && since_epoch_ns(now).saturating_sub(at) < RSS_SAMPLE_INTERVAL.as_nanos() as u64
        {
            return self.value.load(Ordering::Relaxed);
        }
        self.fresh(now)
    }

    fn fresh(&self, now: Instant) -> u64 {
        let rss = rss_bytes();
        self.value.store(rss, Ordering::Relaxed);
        self.at.store(since_epoch_ns(now), Ordering::Release);
        rss
    }
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn since_epoch_ns(now: Instant) -> u64 {
    // +1 so that 0 always means "never sampled".
    u64::try_from(now.saturating_duration_since(epoch()).as_nanos()).unwrap_or(u64::MAX - 1) + 1
}

/// The process's RSS sample when it is younger than [`RSS_SAMPLE_INTERVAL`] at `now`, else a
/// fresh reading (which becomes the sample).
pub fn rss_sampled(now: Instant) -> u64 {
    RSS.sampled(now)
}

/// A fresh RSS reading, kept as the process's sample taken at `now`.
pub fn rss_fresh(now: Instant) -> u64 {
    RSS.fresh(now)
}

/// The system's page size, bytes (read once).
pub(crate) fn page_size() -> u64 {
    static PAGE: OnceLock<u64> = OnceLock::new();
    *PAGE.get_or_init(|| {
        // SAFETY: sysconf has no preconditions.
        let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if p > 0 {
            p as u64
        } else {
            4096
        }
    })
}

/// The machine's facts, read once per process with sysinfo (tens of microseconds) and kept.
pub fn machine() -> &'static Machine {
    static MACHINE: OnceLock<Machine> = OnceLock::new();
    MACHINE.get_or_init(|| {
        use sysinfo::{CpuRefreshKind, MemoryRefreshKind, RefreshKind, System};
        let os = System::long_os_version().unwrap_or_else(|_| std::env::consts::OS.to_string());
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        match System::new_with_specifics(
            RefreshKind::nothing()
                .with_cpu(CpuRefreshKind::nothing())
                .with_memory(MemoryRefreshKind::nothing().with_ram()),
        ) {
            Ok(sys) => Machine {
                cpu: sys
                    .cpus()
                    .first()
                    .map(|c| c.brand().trim().to_string())
                    .unwrap_or_else(|| "unknown".into()),
                cores: sys.cpus().len().max(1) as u64,
                memory_bytes: sys.total_memory(),
                os,
            },
            Err(_) => Machine {
                cpu: "unknown".into(),
                cores: cores as u64,
                memory_bytes: 0,
                os,
            },
        }
    })
}

/// A jemalloc control name resolved once to its numeric path (a "MIB"): reading or writing by
/// MIB skips the name lookup, which cost as much as the control itself.
struct Mib {
    path: [usize; 3],
    len: usize,
}

impl Mib {
    /// The MIB of `name`, or `None` when this jemalloc lacks the control.
    fn resolve(name: &std::ffi::CStr) -> Option<Mib> {
        let mut mib = Mib {
            path: [0; 3],
            len: 3,
        };
        // SAFETY: `path` has room for `len` components, and jemalloc writes at most that many
        // and the number written back into `len`.
        let rc = unsafe {
            tikv_jemalloc_sys::mallctlnametomib(name.as_ptr(), mib.path.as_mut_ptr(), &mut mib.len)
        };
        (rc == 0).then_some(mib)
    }
}

fn peak_reset_mib() -> Option<&'static Mib> {
    static MIB: OnceLock<Option<Mib>> = OnceLock::new();
    MIB.get_or_init(|| Mib::resolve(c"thread.peak.reset"))
        .as_ref()
}

fn peak_read_mib() -> Option<&'static Mib> {
    static MIB: OnceLock<Option<Mib>> = OnceLock::new();
    MIB.get_or_init(|| Mib::resolve(c"thread.peak.read"))
        .as_ref()
}

/// Resets the calling thread's jemalloc heap peak.
pub fn reset_heap_peak() {
    let Some(mib) = peak_reset_mib() else { return };
    // SAFETY: "thread.peak.reset" takes no input and gives no output; all pointers null is its
    // documented calling form, and `mib` is its resolved path.
    unsafe {
        tikv_jemalloc_sys::mallctlbymib(
            mib.path.as_ptr(),
            mib.len,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        );
    }
}

/// Returns the free pages jemalloc keeps (dirty and muzzy extents of every arena) to the
/// kernel. A worker calls it between calls: pages kept from one call would otherwise be reused
/// by the next without raising the resident set, hiding that call's peak.
pub fn release_free_memory() {
    // MALLCTL_ARENAS_ALL (4096) addresses every arena at once.
    // SAFETY: "arena.4096.purge" takes no input and gives no output; all pointers null is its
    // documented calling form, and the name is NUL-terminated. Without jemalloc as the process
    // allocator it is an unknown name and returns an error code, which is ignored.
    unsafe {
        tikv_jemalloc_sys::mallctl(
            c"arena.4096.purge".as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        );
    }
}

/// The calling thread's jemalloc heap peak since the last reset, bytes (0 without jemalloc
/// statistics).
pub fn read_heap_peak() -> u64 {
    let Some(mib) = peak_read_mib() else { return 0 };
    let mut value: u64 = 0;
    let mut len = std::mem::size_of::<u64>();
    // SAFETY: "thread.peak.read" writes one uint64_t into `value`, whose size `len` gives;
    // `mib` is its resolved path.
    let rc = unsafe {
        tikv_jemalloc_sys::mallctlbymib(
            mib.path.as_ptr(),
            mib.len,
            (&mut value as *mut u64).cast(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    if rc == 0 {
        value
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_cpu_time_of_a_busy_loop_is_positive_and_bounded_by_wall_time() {
        let p = Probe::start();
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let perf = p.finish();
        assert!(perf.wall_ns > 0);
        assert!(perf.cpu_thread_ns > 0);
        // CPU clocks tick at a coarser granularity than the monotonic clock; allow one 10 ms
        // scheduler tick of slack.
        assert!(perf.cpu_thread_ns <= perf.wall_ns + 10_000_000);
    }

    #[test]
    fn rss_is_read_from_proc() {
        assert!(rss_bytes() > 0);
    }

    #[test]
    fn rss_after_is_read_afresh_after_a_call_that_grows_memory() {
        let p = Probe::start();
        // 64 MiB written (not calloc'd), so its pages are resident when the call returns.
        let v = vec![1u8; 64 << 20];
        std::hint::black_box(&v);
        let perf = p.finish();
        drop(v);
        // Other tests of this binary may free memory meanwhile, but not 32 MiB of it: a stale
        // sample would show no growth at all.
        assert!(
            perf.rss_after >= perf.rss_before + (32 << 20),
            "before {} after {}",
            perf.rss_before,
            perf.rss_after
        );
    }

    #[test]
    fn rss_sample_is_reused_within_the_interval_and_renewed_after_it() {
        // A sample of its own, so that probes of other tests cannot renew it meanwhile.
        let sample = RssSample::new();
        let t0 = Instant::now();
        let first = sample.sampled(t0);
        assert!(first > 0);
        assert_eq!(sample.at.load(Ordering::Acquire), since_epoch_ns(t0));
        // A planted value within the interval is returned as is, not re-read.
        sample.value.store(12_345, Ordering::Relaxed);
        assert_eq!(sample.sampled(t0 + RSS_SAMPLE_INTERVAL / 2), 12_345);
        // At the interval it is stale: read again and stamped with the new time.
        let later = t0 + RSS_SAMPLE_INTERVAL;
        assert_ne!(sample.sampled(later), 12_345);
        assert_eq!(sample.at.load(Ordering::Acquire), since_epoch_ns(later));
    }

    #[test]
    fn machine_facts_are_plausible() {
        let m = machine();
        assert!(m.cores >= 1);
        assert!(!m.cpu.is_empty() && !m.os.is_empty());
        assert!(m.memory_bytes > 0, "sysinfo reads total memory on Linux");
    }
}
