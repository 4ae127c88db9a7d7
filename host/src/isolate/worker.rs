//! The worker side: the host binary re-executed as `lrdbench-host __worker LIBRARY`, serving
//! plugin calls over its standard input and output until the supervisor closes them.
//!
//! Before loading the plugin the worker moves the protocol onto private descriptors and points
//! descriptors 0 and 1 at `/dev/null` and standard error, so a plugin that prints cannot corrupt
//! a frame. It applies the memory limit to itself (`RLIMIT_AS`), disables core dumps, and
//! watches its parent: if the host dies while a plugin call hangs, the worker exits by itself.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

use lrdbench_plugin_api::ErrorKind;

use super::protocol::{self, RequestHead, Response, WorkerUsage};
use crate::call_error::{CallError, CallErrorKind};
use crate::plugin::{load_verified, LoadedPlugin};

/// The hidden subcommand name under which the host binary serves as a worker.
pub const WORKER_COMMAND: &str = "__worker";

/// Exit status of a worker whose plugin failed to load.
pub const EXIT_LOAD_FAILED: i32 = 3;
/// Exit status of a worker that lost its parent.
pub const EXIT_ORPHANED: i32 = 4;
/// Exit status of a worker that could not set itself up (descriptors, limits).
pub const EXIT_SETUP_FAILED: i32 = 5;

/// How a worker was started.
#[derive(Debug, Clone, Default)]
pub struct WorkerOptions {
    /// Address-space limit, bytes.
    pub memory_limit: Option<u64>,
    /// The SHA-256 the supervisor checked; a library with other bytes is refused before any of
    /// its code runs.
    pub expect_sha256: Option<String>,
    /// Send the plugin's descriptor after the greeting and exit, serving no call.
    pub describe: bool,
}

/// Serves calls of the plugin at `library` until standard input closes. Returns the process
/// exit status: 0 after a clean shutdown.
pub fn serve(library: &Path, options: &WorkerOptions) -> i32 {
    let memory_limit = options.memory_limit;
    let (input, output) = match take_protocol_fds() {
        Ok(fds) => fds,
        Err(e) => {
            eprintln!("lrdbench worker: cannot set up descriptors: {e}");
            return EXIT_SETUP_FAILED;
        }
    };
    let (mut input, mut output) = (File::from(input), File::from(output));
    if let Err(e) = limit_self(memory_limit) {
        eprintln!("lrdbench worker: cannot set resource limits: {e}");
        return EXIT_SETUP_FAILED;
    }
    watch_parent();

    let mut out = Vec::new();
    let plugin = match load_verified(library, options.expect_sha256.as_deref()) {
        Ok(p) => {
            protocol::encode_greeting(&mut out, Ok(&p.sha256));
            if options.describe {
                protocol::encode_descriptor(&mut out, &p.descriptor);
                let _ = output.write_all(&out);
                return 0;
            }
            p
        }
        Err(e) => {
            protocol::encode_greeting(&mut out, Err(&e.to_string()));
            let _ = output.write_all(&out);
            return EXIT_LOAD_FAILED;
        }
    };
    if output.write_all(&out).is_err() {
        return 0;
    }
    let mut meter = Meter::new();
    let mut payload = RequestBuf { words: Vec::new() };
    let mut scratch = Vec::new();
    loop {
        let mut header = [0u8; 4];
        match input.read_exact(&mut header) {
            Ok(()) => {}
            // The supervisor closed our input: a clean shutdown.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return 0,
            Err(_) => return 0,
        }
        let resp = match read_payload(&mut input, header, &mut payload) {
            Ok(bytes) => handle(&plugin, bytes, &mut scratch, &mut meter),
            Err(PayloadError::Io) => return 0,
            Err(PayloadError::Fail(e)) => Response::Error(e, None),
        };
        out.clear();
        protocol::encode_response(&mut out, &resp);
        if output.write_all(&out).is_err() {
            return 0;
        }
        // Off the critical path: the supervisor already has the answer. Returning freed memory
        // to the system lets the next call's peak show memory it touches anew.
        meter.trim();
    }
}

enum PayloadError {
    Io,
    Fail(CallError),
}

/// A reusable, 8-aligned request buffer: the series of a request then lies in place as
/// `f64`s. It grows (zero-filled) only when a request is larger than any before.
struct RequestBuf {
    words: Vec<u64>,
}

impl RequestBuf {
    /// A byte view of the first `len` bytes, growing the buffer if needed; `None` when the
    /// memory cannot be had.
    fn bytes_mut(&mut self, len: usize) -> Option<&mut [u8]> {
        let words = len.div_ceil(8);
        if self.words.len() < words {
            self.words
                .try_reserve_exact(words - self.words.len())
                .ok()?;
            self.words.resize(words, 0);
        }
        // SAFETY: the words hold at least `len` initialised bytes, u8 has alignment 1 and no
        // invalid values, and the byte view borrows `self` mutably, so nothing aliases it.
        Some(unsafe { std::slice::from_raw_parts_mut(self.words.as_mut_ptr().cast::<u8>(), len) })
    }
}

/// Reads one payload into `buf`. A payload too large to allocate under the memory limit is
/// drained and answered with `out_of_memory`: the worker's own marker of an exhausted limit.
fn read_payload<'a>(
    input: &mut File,
    header: [u8; 4],
    buf: &'a mut RequestBuf,
) -> Result<&'a [u8], PayloadError> {
    let len = protocol::frame_len(header)
        .map_err(|e| PayloadError::Fail(internal(format!("malformed request frame: {e}"))))?;
    match buf.bytes_mut(len) {
        Some(bytes) => {
            input.read_exact(bytes).map_err(|_| PayloadError::Io)?;
            Ok(bytes)
        }
        None => {
            let mut sink = [0u8; 1 << 16];
            let mut left = len;
            while left > 0 {
                let n = left.min(sink.len());
                input
                    .read_exact(&mut sink[..n])
                    .map_err(|_| PayloadError::Io)?;
                left -= n;
            }
            Err(PayloadError::Fail(CallError {
                kind: CallErrorKind::OutOfMemory,
                message: format!("the worker could not allocate {len} bytes for the request"),
            }))
        }
    }
}

fn handle(
    plugin: &LoadedPlugin,
    payload: &[u8],
    scratch: &mut Vec<f64>,
    meter: &mut Meter,
) -> Response {
    let (head, start) = match protocol::decode_request_head(payload) {
        Ok(h) => h,
        Err(e) => return Response::Error(internal(format!("malformed request: {e}")), None),
    };
    match head {
        RequestHead::Estimate {
            component, params, ..
        } => {
            let series = protocol::series_view(&payload[start..], scratch);
            let (out, usage) = meter.measure(|| plugin.estimate(component, series, &params));
            match out {
                Ok(Ok(e)) => Response::Estimate(e, usage),
                Ok(Err(e)) => Response::Error(e.into(), Some(usage)),
                Err(msg) => Response::Error(panicked(msg), Some(usage)),
            }
        }
        RequestHead::Generate {
            component,
            length,
            seed,
            params,
        } => {
            let (out, usage) = meter.measure(|| plugin.generate(component, length, seed, &params));
            match out {
                Ok(Ok(g)) => Response::Generated(g, usage),
                Ok(Err(e)) => Response::Error(e.into(), Some(usage)),
                Err(msg) => Response::Error(panicked(msg), Some(usage)),
            }
        }
    }
}

fn internal(message: String) -> CallError {
    CallError {
        kind: CallErrorKind::Plugin(ErrorKind::Internal),
        message,
    }
}

fn panicked(message: String) -> CallError {
    CallError {
        kind: CallErrorKind::Panic,
        message,
    }
}

/// Per-call measurement from the worker's own accounting: the kernel's resident high-water mark
/// is reset before each call (`/proc/self/clear_refs`), so `getrusage`'s `ru_maxrss` afterwards
/// is the call's peak; the heap peak is jemalloc's per-thread counter (the worker is the host
/// binary, whose malloc is jemalloc, so the plugin allocates from it too); CPU time is the
/// calling thread's clock.
struct Meter {
    clear_refs: Option<File>,
}

impl Meter {
    fn new() -> Self {
        Meter {
            clear_refs: std::fs::OpenOptions::new()
                .write(true)
                .open("/proc/self/clear_refs")
                .ok(),
        }
    }

    fn measure<T>(&mut self, f: impl FnOnce() -> T) -> (Result<T, String>, WorkerUsage) {
        if let Some(file) = &mut self.clear_refs {
            // "5" resets the resident high-water mark to the current resident size. Without
            // it (no /proc) the peak is the worker's lifetime peak, an upper bound.
            let _ = file.write_all(b"5");
        }
        let rss_before = max_rss_bytes();
        lrdbench_analytics::measure::reset_heap_peak();
        let cpu_before = thread_cpu_ns();
        let start = Instant::now();
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| {
            p.downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic with a non-string payload".to_string())
        });
        let wall = start.elapsed();
        let usage = WorkerUsage {
            wall_ns: duration_ns(wall),
            cpu_ns: thread_cpu_ns().saturating_sub(cpu_before),
            rss_before,
            peak_rss: max_rss_bytes().max(rss_before),
            heap_peak: lrdbench_analytics::measure::read_heap_peak(),
        };
        (out, usage)
    }

    /// Returns the memory freed by the last call to the kernel, so the next call's resident
    /// peak starts from what is live: the worker's malloc is jemalloc (glibc's `malloc_trim`
    /// would not reach it), whose kept pages a later call could reuse unseen.
    fn trim(&mut self) {
        lrdbench_analytics::measure::release_free_memory();
    }
}

fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The process's resident high-water mark, bytes.
fn max_rss_bytes() -> u64 {
    // SAFETY: getrusage writes into the zeroed struct it is given.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru
    };
    // Linux reports ru_maxrss in KiB.
    (ru.ru_maxrss.max(0) as u64) * 1024
}

fn thread_cpu_ns() -> u64 {
    // SAFETY: clock_gettime writes into the struct it is given.
    let ts = unsafe {
        let mut ts: libc::timespec = std::mem::zeroed();
        libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts);
        ts
    };
    (ts.tv_sec.max(0) as u64) * 1_000_000_000 + ts.tv_nsec.max(0) as u64
}

/// Moves the protocol off descriptors 0 and 1: returns private copies of them, then points 0 at
/// `/dev/null` and 1 at standard error, where anything a plugin prints is harmless.
fn take_protocol_fds() -> io::Result<(OwnedFd, OwnedFd)> {
    // Close-on-exec copies at descriptors ≥ 3 (F_DUPFD_CLOEXEC), owned from here on.
    let input = io::stdin().as_fd().try_clone_to_owned()?;
    let output = io::stdout().as_fd().try_clone_to_owned()?;
    let null = File::open("/dev/null")?;
    // SAFETY: dup2 onto the standard descriptors, which this process owns; the originals
    // live on in `input` and `output`.
    unsafe {
        if libc::dup2(null.as_raw_fd(), 0) < 0 || libc::dup2(2, 1) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok((input, output))
}

fn limit_self(memory_limit: Option<u64>) -> io::Result<()> {
    let set = |resource, value: u64| -> io::Result<()> {
        let lim = libc::rlimit {
            rlim_cur: value as libc::rlim_t,
            rlim_max: value as libc::rlim_t,
        };
        // SAFETY: setrlimit reads the struct it is given.
        if unsafe { libc::setrlimit(resource, &lim) } != 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    };
    // A crashing plugin must not leave a core file of the worker's whole memory behind.
    set(libc::RLIMIT_CORE, 0)?;
    if let Some(bytes) = memory_limit {
        set(libc::RLIMIT_AS, bytes)?;
    }
    Ok(())
}

/// Exits when the parent dies. The worker's input reaching end of file covers an idle worker;
/// this covers one stuck in a plugin call when the host is killed.
fn watch_parent() {
    // SAFETY: getppid has no preconditions.
    let parent = unsafe { libc::getppid() };
    let spawned = std::thread::Builder::new()
        .name("parent-watch".to_string())
        .stack_size(64 << 10)
        .spawn(move || loop {
            std::thread::sleep(Duration::from_millis(100));
            // SAFETY: as above.
            if unsafe { libc::getppid() } != parent {
                // SAFETY: _exit ends the process without running anything of the plugin's.
                unsafe { libc::_exit(EXIT_ORPHANED) };
            }
        });
    if let Err(e) = spawned {
        eprintln!("lrdbench worker: cannot watch the parent process: {e}");
    }
}
