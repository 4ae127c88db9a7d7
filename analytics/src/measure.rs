//! Per-call measurement: wall time, thread and process CPU time, RSS before and after, and the
//! exact heap peak of the calling thread (DESIGN.md decision 3).
//!
//! The heap peak comes from jemalloc's per-thread `thread.peak` counter, reset when a probe
//! starts and read when it finishes. It sees the plugin's allocations only when jemalloc is the
//! process's `malloc` (the host sets `tikv-jemallocator` with unprefixed symbols as its global
//! allocator); elsewhere it reads 0. It counts the calling thread only, and jemalloc updates it
//! every 64 KiB of allocation activity and at each read, so a short spike smaller than that may
//! be missed.
//!
//! RSS comes from `/proc/self/statm`, read with `pread` on a file kept open per thread: the
//! cheapest source of the current RSS (getrusage only has the lifetime maximum).

use std::cell::RefCell;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::time::Instant;

use crate::event::Performance;

/// A measurement in progress.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    wall: Instant,
    thread_cpu_ns: u64,
    process_cpu_ns: u64,
    rss_before: u64,
}

impl Probe {
    /// Starts measuring on the calling thread: resets its heap peak and reads the clocks and
    /// RSS.
    pub fn start() -> Probe {
        let rss_before = rss_bytes();
        reset_heap_peak();
        Probe {
            thread_cpu_ns: cpu_ns(libc::CLOCK_THREAD_CPUTIME_ID),
            process_cpu_ns: cpu_ns(libc::CLOCK_PROCESS_CPUTIME_ID),
            wall: Instant::now(),
            rss_before,
        }
    }

    /// Finishes: what the call cost since [`Probe::start`]. Must run on the same thread.
    pub fn finish(self) -> Performance {
        let wall_ns = u64::try_from(self.wall.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let cpu_process_ns =
            cpu_ns(libc::CLOCK_PROCESS_CPUTIME_ID).saturating_sub(self.process_cpu_ns);
        let cpu_thread_ns =
            cpu_ns(libc::CLOCK_THREAD_CPUTIME_ID).saturating_sub(self.thread_cpu_ns);
        let heap_peak = read_heap_peak();
        let rss_after = rss_bytes();
        let cpu_percent = if wall_ns == 0 {
            0.0
        } else {
            100.0 * cpu_process_ns as f64 / wall_ns as f64
        };
        Performance {
            wall_ns,
            cpu_thread_ns,
            cpu_process_ns,
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

thread_local! {
    static STATM: RefCell<Option<File>> = const { RefCell::new(None) };
}

/// The process's resident set size, bytes; 0 when `/proc` is unavailable.
pub fn rss_bytes() -> u64 {
    STATM.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = File::open("/proc/self/statm").ok();
        }
        let Some(f) = slot.as_ref() else { return 0 };
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
    })
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as u64
    } else {
        4096
    }
}

/// Resets the calling thread's jemalloc heap peak.
pub fn reset_heap_peak() {
    // SAFETY: "thread.peak.reset" takes no input and gives no output; all pointers null is its
    // documented calling form.
    unsafe {
        tikv_jemalloc_sys::mallctl(
            c"thread.peak.reset".as_ptr(),
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
    let mut value: u64 = 0;
    let mut len = std::mem::size_of::<u64>();
    // SAFETY: "thread.peak.read" writes one uint64_t into `value`, whose size `len` gives.
    let rc = unsafe {
        tikv_jemalloc_sys::mallctl(
            c"thread.peak.read".as_ptr(),
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
}
