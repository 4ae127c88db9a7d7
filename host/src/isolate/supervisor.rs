//! The supervisor: pools of persistent workers per plugin library, per-call deadlines, death
//! classification, restart back-off and quarantine.
//!
//! Thread safety: a worker serves one call at a time and is taken out of its pool's idle list
//! for the call, so concurrent callers (the workflow engine's rayon pool) each get their own
//! worker; a pool grows to the number of concurrent calls of its plugin and no further.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::path::PathBuf;
use std::process::{ChildStderr, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use lrdbench_plugin_api::{Estimate, Generated, Param};

use super::protocol::{self, Response, WorkerUsage};
use super::worker::WORKER_COMMAND;
use super::IsolationConfig;
use crate::invoke::{CallError, CallErrorKind};
use crate::plugin::{ComponentHandle, LoadedPlugin};

/// How long a new worker may take to load its plugin and greet.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a worker that closed its output gets to finish dying before it is killed.
const DEATH_GRACE: Duration = Duration::from_secs(2);
/// How much of a worker's standard error is kept for crash messages.
const STDERR_TAIL: usize = 8 << 10;
/// Pipe capacity asked for: a 4,096-point series (32 KiB) fits in one write, and a large one
/// crosses in 1 MiB steps instead of the default 64 KiB.
const PIPE_SIZE: libc::c_int = 1 << 20;
/// What Rust's standard library prints before aborting on a failed allocation.
const ALLOC_FAILURE_MARKER: &str = "memory allocation of";

/// The outcome of an isolated call, with the worker's own measurement of it.
#[derive(Debug, Clone)]
pub struct Isolated<T> {
    /// The result, or the failure (a plugin's typed error, or `crash`, `timeout`,
    /// `out_of_memory`, `panic`, `load`).
    pub result: Result<T, CallError>,
    /// Wall time, CPU time and peak resident memory of the call, measured inside the worker;
    /// `None` when the worker died or was killed before answering.
    pub usage: Option<WorkerUsage>,
    /// Wall time of the whole round trip seen by the supervisor, including the transfer.
    pub round_trip: Duration,
}

/// A component taken out of service, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantineNotice {
    /// `plugin::component`.
    pub component: String,
    /// The one-line message its calls fail with.
    pub message: String,
}

/// Runs plugin calls in worker processes. Share it across threads in an `Arc`; dropping it
/// kills its workers.
#[derive(Debug)]
pub struct Supervisor {
    config: IsolationConfig,
    pools: Mutex<HashMap<String, Arc<Pool>>>,
    notices: Mutex<Vec<QuarantineNotice>>,
}

impl Supervisor {
    /// A supervisor with no workers yet: they start on the first call of each plugin.
    pub fn new(config: IsolationConfig) -> Self {
        Supervisor {
            config,
            pools: Mutex::new(HashMap::new()),
            notices: Mutex::new(Vec::new()),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &IsolationConfig {
        &self.config
    }

    /// Whether calls of `plugin` go to a worker under this supervisor's scope.
    pub fn isolates(&self, plugin: &LoadedPlugin) -> bool {
        self.config.scope.isolates(plugin)
    }

    /// Every component quarantined so far, in order.
    pub fn quarantined(&self) -> Vec<QuarantineNotice> {
        lock(&self.notices).clone()
    }

    /// The number of live workers across all plugins (idle ones; busy ones are out of the pool).
    pub fn idle_workers(&self) -> usize {
        lock(&self.pools)
            .values()
            .map(|p| lock(&p.idle).len())
            .sum()
    }

    /// Runs an estimator in a worker. `resolved` must come from [`ComponentHandle::resolve`].
    /// The estimate is returned as the plugin produced it: checks (finite value) are the
    /// invoker's.
    pub fn estimate(
        &self,
        handle: &ComponentHandle<'_>,
        series: &[f64],
        resolved: &[Param],
    ) -> Isolated<Estimate> {
        let bytes = protocol::f64_bytes(series);
        self.call(
            handle,
            |buf| protocol::encode_estimate_head(buf, handle.index, resolved, series.len()),
            &bytes,
        )
        .map(|resp| match resp {
            Response::Estimate(e, _) => Ok(e),
            _ => Err(unexpected(handle)),
        })
    }

    /// Runs a model in a worker. `resolved` must come from [`ComponentHandle::resolve`].
    pub fn generate(
        &self,
        handle: &ComponentHandle<'_>,
        length: u64,
        seed: u64,
        resolved: &[Param],
    ) -> Isolated<Generated> {
        self.call(
            handle,
            |buf| protocol::encode_generate_request(buf, handle.index, length, seed, resolved),
            &[],
        )
        .map(|resp| match resp {
            Response::Generated(g, _) => Ok(g),
            _ => Err(unexpected(handle)),
        })
    }

    fn pool(&self, plugin: &LoadedPlugin) -> Arc<Pool> {
        let mut pools = lock(&self.pools);
        pools
            .entry(plugin.sha256.clone())
            .or_insert_with(|| {
                Arc::new(Pool {
                    library: plugin.path.clone(),
                    sha256: plugin.sha256.clone(),
                    idle: Mutex::new(Vec::new()),
                    health: Mutex::new(Health::default()),
                })
            })
            .clone()
    }

    fn call(
        &self,
        handle: &ComponentHandle<'_>,
        encode: impl FnOnce(&mut Vec<u8>),
        tail: &[u8],
    ) -> Isolated<Response> {
        let start = Instant::now();
        let name = handle.qualified_name();
        let pool = self.pool(handle.plugin);
        let fail = |e: CallError| Isolated {
            result: Err(e),
            usage: None,
            round_trip: start.elapsed(),
        };
        if let Some(e) = pool.refusal(handle.index) {
            return fail(e);
        }
        let mut worker = match pool.take_idle() {
            Some(w) => w,
            None => match self.spawn(&pool) {
                Ok(w) => w,
                Err(e) => {
                    let e = self.after_failed_start(&pool, &name, e);
                    return fail(e);
                }
            },
        };
        let mut request = std::mem::take(&mut worker.buf);
        request.clear();
        encode(&mut request);
        let deadline = self.config.timeout.map(|t| Instant::now() + t);
        let exchanged = worker
            .send(&request, deadline)
            .and_then(|()| worker.send(tail, deadline))
            .and_then(|()| worker.receive(&mut request, deadline));
        let outcome = match exchanged {
            Ok(()) => match protocol::decode_response(&request) {
                Ok(resp) => Ok(resp),
                Err(e) => Err(Death::Malformed(e.to_string())),
            },
            Err(IoFail::Timeout) => Err(Death::Timeout),
            Err(IoFail::Closed) => Err(Death::Closed),
        };
        match outcome {
            Ok(resp) => {
                worker.buf = request;
                pool.healthy(handle.index);
                pool.put_idle(worker);
                let (result, usage) = match resp {
                    Response::Error(e, u) => (Err(e), u),
                    Response::Estimate(_, u) | Response::Generated(_, u) => (Ok(resp), Some(u)),
                };
                Isolated {
                    result,
                    usage,
                    round_trip: start.elapsed(),
                }
            }
            Err(death) => {
                let e = self.bury(&pool, handle, worker, death);
                fail(e)
            }
        }
    }

    /// Starts a worker for `pool`, after the back-off its recent deaths call for.
    fn spawn(&self, pool: &Pool) -> Result<Worker, String> {
        let wait = lock(&pool.health)
            .restart_not_before
            .map(|t| t.saturating_duration_since(Instant::now()))
            .unwrap_or_default();
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
        let mut cmd = Command::new(&self.config.program);
        cmd.arg(WORKER_COMMAND)
            .arg(&pool.library)
            .arg("--sha256")
            .arg(&pool.sha256);
        if let Some(limit) = self.config.memory_limit {
            cmd.arg("--memory-limit").arg(limit.to_string());
        }
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // A process group of its own: Ctrl-C at the terminal reaches the host, which stops
        // cleanly and finishes its calls, not the workers in the middle of them.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start worker {}: {e}", self.config.program.display()))?;
        let pid = child.id() as libc::pid_t;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            kill_and_reap(pid);
            return Err("worker started without its pipes".to_string());
        };
        // `child` is dropped without waiting: the worker is reaped by pid with wait4, which
        // also returns its resource use.
        drop(child);
        let mut worker = Worker {
            pid,
            stdin,
            stdout,
            tail: StderrTail::start(stderr),
            buf: Vec::new(),
        };
        for fd in [worker.stdin.as_raw_fd(), worker.stdout.as_raw_fd()] {
            set_nonblocking(fd);
            // SAFETY: F_SETPIPE_SZ on a pipe this process owns; failure leaves the default.
            unsafe { libc::fcntl(fd, libc::F_SETPIPE_SZ, PIPE_SIZE) };
        }
        let mut greeting = Vec::new();
        let deadline = Some(Instant::now() + STARTUP_TIMEOUT);
        let why = match worker.receive(&mut greeting, deadline) {
            Ok(()) => match protocol::decode_greeting(&greeting) {
                Ok(Ok(sha)) if sha == pool.sha256 => return Ok(worker),
                Ok(Ok(sha)) => format!(
                    "the worker loaded {} with SHA-256 {sha}, not the expected {}: the file changed",
                    pool.library.display(),
                    pool.sha256
                ),
                Ok(Err(load)) => format!("the worker could not load the plugin: {load}"),
                Err(e) => format!(
                    "{} did not answer as an lrdbench worker ({e}); is it lrdbench-host?",
                    self.config.program.display()
                ),
            },
            Err(IoFail::Timeout) => format!(
                "the worker did not start within {} s",
                STARTUP_TIMEOUT.as_secs()
            ),
            Err(IoFail::Closed) => {
                let status = worker.reap(DEATH_GRACE);
                let tail = worker.tail.last_line();
                return Err(format!(
                    "the worker died while starting ({}){}",
                    describe_status(status.status),
                    tail.map(|t| format!(": {t}")).unwrap_or_default()
                ));
            }
        };
        kill_and_reap(worker.pid);
        Err(why)
    }

    /// Counts a worker that could not start; after `max_consecutive_crashes` such failures the
    /// whole plugin is refused.
    fn after_failed_start(&self, pool: &Pool, name: &str, why: String) -> CallError {
        let mut health = lock(&pool.health);
        health.note_death(&self.config);
        let limit = self.config.max_consecutive_crashes;
        if limit > 0 && health.deaths_in_a_row >= limit && health.broken.is_none() {
            let message = format!(
                "plugin {} is quarantined: its worker failed to start {} times in a row (last: {why})",
                pool.library.display(),
                health.deaths_in_a_row
            );
            health.broken = Some(message.clone());
            self.announce(QuarantineNotice {
                component: name.to_string(),
                message,
            });
        }
        CallError {
            kind: CallErrorKind::Load,
            message: format!("{name}: {why}"),
        }
    }

    /// Reaps a worker that died or must die, classifies the death, and updates the plugin's
    /// health: back-off for the next start, quarantine of the component when it keeps dying.
    fn bury(
        &self,
        pool: &Pool,
        handle: &ComponentHandle<'_>,
        worker: Worker,
        death: Death,
    ) -> CallError {
        let name = handle.qualified_name();
        let killed_by_us = !matches!(death, Death::Closed);
        let reaped = if killed_by_us {
            kill_and_reap(worker.pid)
        } else {
            worker.reap(DEATH_GRACE)
        };
        let tail = worker.tail.finish();
        let error = match death {
            Death::Timeout => CallError {
                kind: CallErrorKind::Timeout,
                message: format!(
                    "{name} exceeded its time limit of {}; its worker was killed",
                    self.config
                        .timeout
                        .map(format_duration)
                        .unwrap_or_else(|| "none".to_string())
                ),
            },
            Death::Malformed(e) => CallError {
                kind: CallErrorKind::Crash,
                message: format!("{name}: its worker sent a malformed answer ({e}) and was killed"),
            },
            Death::Closed => classify(&name, reaped, &tail, self.config.memory_limit),
        };
        let mut health = lock(&pool.health);
        health.note_death(&self.config);
        if matches!(error.kind, CallErrorKind::Crash | CallErrorKind::Timeout) {
            let limit = self.config.max_consecutive_crashes;
            let comp = health.components.entry(handle.index).or_default();
            comp.crashes_in_a_row += 1;
            if limit > 0 && comp.crashes_in_a_row >= limit && comp.quarantined.is_none() {
                let message = format!(
                    "{name} is quarantined after {} crashes or timeouts in a row (last: {}); its remaining calls are not run",
                    comp.crashes_in_a_row, error.message
                );
                comp.quarantined = Some(message.clone());
                drop(health);
                self.announce(QuarantineNotice {
                    component: name,
                    message,
                });
            }
        }
        error
    }

    fn announce(&self, notice: QuarantineNotice) {
        eprintln!("warning: {}", notice.message);
        lock(&self.notices).push(notice);
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        let pools = std::mem::take(&mut *lock(&self.pools));
        for pool in pools.values() {
            for worker in lock(&pool.idle).drain(..) {
                kill_and_reap(worker.pid);
            }
        }
    }
}

impl<T> Isolated<T> {
    fn map<U>(self, f: impl FnOnce(T) -> Result<U, CallError>) -> Isolated<U> {
        Isolated {
            result: self.result.and_then(f),
            usage: self.usage,
            round_trip: self.round_trip,
        }
    }
}

fn unexpected(handle: &ComponentHandle<'_>) -> CallError {
    CallError {
        kind: CallErrorKind::Plugin(lrdbench_plugin_api::ErrorKind::Internal),
        message: format!(
            "{}: the worker answered with the wrong kind of result",
            handle.qualified_name()
        ),
    }
}

/// The workers and health of one plugin library.
#[derive(Debug)]
struct Pool {
    library: PathBuf,
    sha256: String,
    idle: Mutex<Vec<Worker>>,
    health: Mutex<Health>,
}

impl Pool {
    /// The error a call must fail with at once, if its component or the plugin is out of
    /// service.
    fn refusal(&self, component: u32) -> Option<CallError> {
        let health = lock(&self.health);
        if let Some(message) = &health.broken {
            return Some(CallError {
                kind: CallErrorKind::Load,
                message: message.clone(),
            });
        }
        health
            .components
            .get(&component)
            .and_then(|c| c.quarantined.clone())
            .map(|message| CallError {
                kind: CallErrorKind::Crash,
                message,
            })
    }

    /// An idle worker that is still alive. One that died while idle (killed from outside) is
    /// reaped and skipped: no call was running, so it counts against nobody.
    fn take_idle(&self) -> Option<Worker> {
        loop {
            let worker = lock(&self.idle).pop()?;
            if worker.is_alive() {
                return Some(worker);
            }
            kill_and_reap(worker.pid);
        }
    }

    fn put_idle(&self, worker: Worker) {
        lock(&self.idle).push(worker);
    }

    /// A call was answered: the worker is sound, and so is the component.
    fn healthy(&self, component: u32) {
        let mut health = lock(&self.health);
        health.deaths_in_a_row = 0;
        health.restart_not_before = None;
        if let Some(c) = health.components.get_mut(&component) {
            c.crashes_in_a_row = 0;
        }
    }
}

#[derive(Debug, Default)]
struct Health {
    /// Worker deaths in a row across the plugin, for the restart back-off.
    deaths_in_a_row: u32,
    restart_not_before: Option<Instant>,
    /// Set when workers of this plugin cannot even start.
    broken: Option<String>,
    components: HashMap<u32, ComponentHealth>,
}

impl Health {
    fn note_death(&mut self, config: &IsolationConfig) {
        self.deaths_in_a_row = self.deaths_in_a_row.saturating_add(1);
        let doublings = self.deaths_in_a_row.saturating_sub(1).min(30);
        let wait = config
            .backoff_initial
            .saturating_mul(1u32 << doublings)
            .min(config.backoff_max);
        self.restart_not_before = Some(Instant::now() + wait);
    }
}

#[derive(Debug, Default)]
struct ComponentHealth {
    crashes_in_a_row: u32,
    quarantined: Option<String>,
}

/// How a call's worker was lost.
enum Death {
    /// The deadline passed; the worker is killed.
    Timeout,
    /// The worker closed its output: it died, or is dying.
    Closed,
    /// The worker sent something that does not decode; it is killed.
    Malformed(String),
}

enum IoFail {
    Timeout,
    Closed,
}

/// The exit status and resource use of a reaped worker.
#[derive(Debug, Clone, Copy)]
struct Reaped {
    /// The raw wait status, `None` if the worker could not be reaped.
    status: Option<libc::c_int>,
    /// Its peak resident set size, bytes.
    max_rss: u64,
}

#[derive(Debug)]
struct Worker {
    pid: libc::pid_t,
    stdin: ChildStdin,
    stdout: ChildStdout,
    tail: Arc<StderrTail>,
    /// Reused frame buffer, so a call does not allocate a new one.
    buf: Vec<u8>,
}

impl Worker {
    fn send(&mut self, bytes: &[u8], deadline: Option<Instant>) -> Result<(), IoFail> {
        let fd = self.stdin.as_raw_fd();
        let mut done = 0;
        while done < bytes.len() {
            // The pipe is non-blocking: a full pipe is `WouldBlock`, and the wait is `poll`'s.
            match self.stdin.write(&bytes[done..]) {
                Ok(0) => return Err(IoFail::Closed),
                Ok(n) => done += n,
                Err(e) => match e.kind() {
                    io::ErrorKind::WouldBlock => wait_fd(fd, libc::POLLOUT, deadline)?,
                    io::ErrorKind::Interrupted => {}
                    _ => return Err(IoFail::Closed),
                },
            }
        }
        Ok(())
    }

    /// Reads one frame's payload into `buf`.
    fn receive(&mut self, buf: &mut Vec<u8>, deadline: Option<Instant>) -> Result<(), IoFail> {
        let mut header = [0u8; 4];
        self.read_exact(&mut header, deadline)?;
        // An oversized length is a malformed frame; it surfaces as a decode error of the empty
        // payload rather than an allocation of whatever the worker claimed.
        let len = protocol::frame_len(header).unwrap_or(0);
        buf.clear();
        buf.resize(len, 0);
        self.read_exact(buf, deadline)
    }

    fn read_exact(&mut self, mut buf: &mut [u8], deadline: Option<Instant>) -> Result<(), IoFail> {
        let fd = self.stdout.as_raw_fd();
        while !buf.is_empty() {
            // Non-blocking, as in `send`: an empty pipe is `WouldBlock`.
            match self.stdout.read(buf) {
                Ok(0) => return Err(IoFail::Closed),
                Ok(n) => buf = &mut buf[n..],
                Err(e) => match e.kind() {
                    io::ErrorKind::WouldBlock => wait_fd(fd, libc::POLLIN, deadline)?,
                    io::ErrorKind::Interrupted => {}
                    _ => return Err(IoFail::Closed),
                },
            }
        }
        Ok(())
    }

    fn is_alive(&self) -> bool {
        // SAFETY: signal 0 only checks that the process exists; the pid is our unreaped child,
        // so it cannot have been reused.
        let exists = unsafe { libc::kill(self.pid, 0) } == 0;
        // A zombie still "exists"; WNOHANG would reap it, which the caller then does again
        // harmlessly (ECHILD). Check the pipe too: a dead worker has closed its input end.
        exists && {
            let mut p = libc::pollfd {
                fd: self.stdin.as_raw_fd(),
                events: 0,
                revents: 0,
            };
            // SAFETY: polls one descriptor this worker owns, without waiting.
            unsafe { libc::poll(&mut p, 1, 0) };
            p.revents & (libc::POLLERR | libc::POLLHUP) == 0
        }
    }

    /// Waits up to `grace` for the worker to exit, then kills it; returns how it ended.
    fn reap(&self, grace: Duration) -> Reaped {
        let until = Instant::now() + grace;
        loop {
            if let Some(r) = wait4(self.pid, libc::WNOHANG) {
                return r;
            }
            if Instant::now() >= until {
                return kill_and_reap(self.pid);
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// Waits until `fd` is ready for `events`, or the deadline passes.
fn wait_fd(fd: RawFd, events: libc::c_short, deadline: Option<Instant>) -> Result<(), IoFail> {
    loop {
        let timeout_ms = match deadline {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(IoFail::Timeout);
                }
                // Round up so a sub-millisecond remainder does not spin.
                left.as_millis().saturating_add(1).min(i32::MAX as u128) as libc::c_int
            }
        };
        let mut p = libc::pollfd {
            fd,
            events,
            revents: 0,
        };
        // SAFETY: polls one descriptor this process owns.
        let r = unsafe { libc::poll(&mut p, 1, timeout_ms) };
        if r > 0 {
            return Ok(());
        }
        if r < 0 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return Err(IoFail::Closed);
        }
    }
}

fn set_nonblocking(fd: RawFd) {
    // SAFETY: reads and sets the status flags of a descriptor this process owns.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
        }
    }
}

fn wait4(pid: libc::pid_t, options: libc::c_int) -> Option<Reaped> {
    let mut status: libc::c_int = 0;
    // SAFETY: wait4 writes into the two structs it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: as above; `pid` is a child of this process.
        let r = unsafe { libc::wait4(pid, &mut status, options, &mut ru) };
        if r == pid {
            return Some(Reaped {
                status: Some(status),
                max_rss: (ru.ru_maxrss.max(0) as u64) * 1024,
            });
        }
        if r == 0 {
            return None;
        }
        if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            // ECHILD: already reaped (or never ours); nothing more to learn.
            return Some(Reaped {
                status: None,
                max_rss: 0,
            });
        }
    }
}

fn kill_and_reap(pid: libc::pid_t) -> Reaped {
    // SAFETY: `pid` is an unreaped child of this process, so the signal cannot reach another.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    wait4(pid, 0).unwrap_or(Reaped {
        status: None,
        max_rss: 0,
    })
}

/// Turns a worker's death into the call's error: `out_of_memory` when the standard library
/// reported a failed allocation before the abort, `crash` with the signal's name otherwise.
fn classify(name: &str, reaped: Reaped, tail: &str, memory_limit: Option<u64>) -> CallError {
    let last = tail.lines().rev().find(|l| !l.trim().is_empty());
    let alloc_failed = tail.contains(ALLOC_FAILURE_MARKER);
    let status = describe_status(reaped.status);
    if alloc_failed {
        let limit = memory_limit
            .map(|l| format!("its memory limit of {}", format_bytes(l)))
            .unwrap_or_else(|| "the memory available".to_string());
        return CallError {
            kind: CallErrorKind::OutOfMemory,
            message: format!(
                "{name} ran out of memory: an allocation failed under {limit} (worker peak RSS {}; {status})",
                format_bytes(reaped.max_rss)
            ),
        };
    }
    CallError {
        kind: CallErrorKind::Crash,
        message: format!(
            "{name} crashed: its worker {status}{}",
            last.map(|l| format!("; last output: {}", l.trim()))
                .unwrap_or_default()
        ),
    }
}

/// "died by signal SIGSEGV (segmentation fault)", "exited with status 3".
fn describe_status(status: Option<libc::c_int>) -> String {
    let Some(status) = status else {
        return "disappeared (its exit status is unknown)".to_string();
    };
    if libc::WIFSIGNALED(status) {
        let sig = libc::WTERMSIG(status);
        format!("died by signal {}", signal_name(sig))
    } else if libc::WIFEXITED(status) {
        format!("exited with status {}", libc::WEXITSTATUS(status))
    } else {
        format!("ended with wait status {status}")
    }
}

/// The conventional name and meaning of a signal.
pub(crate) fn signal_name(sig: libc::c_int) -> String {
    let known = match sig {
        libc::SIGSEGV => Some(("SIGSEGV", "segmentation fault")),
        libc::SIGABRT => Some(("SIGABRT", "aborted")),
        libc::SIGBUS => Some(("SIGBUS", "bus error")),
        libc::SIGILL => Some(("SIGILL", "illegal instruction")),
        libc::SIGFPE => Some(("SIGFPE", "arithmetic exception")),
        libc::SIGKILL => Some(("SIGKILL", "killed")),
        libc::SIGTERM => Some(("SIGTERM", "terminated")),
        libc::SIGTRAP => Some(("SIGTRAP", "trace trap")),
        libc::SIGSYS => Some(("SIGSYS", "bad system call")),
        libc::SIGXCPU => Some(("SIGXCPU", "CPU time limit exceeded")),
        libc::SIGPIPE => Some(("SIGPIPE", "broken pipe")),
        libc::SIGINT => Some(("SIGINT", "interrupted")),
        _ => None,
    };
    match known {
        Some((name, meaning)) => format!("{name} ({meaning})"),
        None => format!("{sig}"),
    }
}

fn format_bytes(b: u64) -> String {
    format!("{:.0} MiB", b as f64 / (1u64 << 20) as f64)
}

fn format_duration(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

/// The last bytes a worker wrote to standard error, collected by a thread that ends when the
/// worker does.
#[derive(Debug, Default)]
struct StderrTail {
    bytes: Mutex<Vec<u8>>,
    closed: AtomicBool,
}

impl StderrTail {
    fn start(mut stderr: ChildStderr) -> Arc<StderrTail> {
        let tail = Arc::new(StderrTail::default());
        let t = tail.clone();
        let spawned = std::thread::Builder::new()
            .name("worker-stderr".to_string())
            .stack_size(64 << 10)
            .spawn(move || {
                let mut chunk = [0u8; 4096];
                while let Ok(n) = stderr.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    let mut bytes = lock(&t.bytes);
                    bytes.extend_from_slice(&chunk[..n]);
                    if bytes.len() > STDERR_TAIL {
                        let cut = bytes.len() - STDERR_TAIL;
                        bytes.drain(..cut);
                    }
                }
                t.closed.store(true, Ordering::Release);
            });
        if spawned.is_err() {
            // Without the reader the tail stays empty: crash messages lose the last line, and
            // a worker that fills its stderr pipe would block, which the call's timeout covers.
            tail.closed.store(true, Ordering::Release);
        }
        tail
    }

    /// The tail, once the dead worker's stderr reached its end (or after a short wait, when
    /// something else keeps the pipe open).
    fn finish(&self) -> String {
        let until = Instant::now() + Duration::from_millis(500);
        while !self.closed.load(Ordering::Acquire) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(1));
        }
        String::from_utf8_lossy(&lock(&self.bytes)).into_owned()
    }

    fn last_line(&self) -> Option<String> {
        let text = self.finish();
        text.lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .map(|l| l.trim().to_string())
    }
}

/// Locks a mutex, recovering the data of a poisoned one: every critical section here leaves
/// the data consistent at each step, so a panic elsewhere does not invalidate it.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn signalled(sig: libc::c_int) -> Reaped {
        // The wait status of a process killed by `sig` is the signal number in the low bits.
        Reaped {
            status: Some(sig),
            max_rss: 300 << 20,
        }
    }

    #[test]
    fn classify_segfault_names_the_signal() {
        let e = classify("fault::fault_segfault", signalled(libc::SIGSEGV), "", None);
        assert_eq!(e.kind, CallErrorKind::Crash);
        assert!(e.message.contains("SIGSEGV"), "{}", e.message);
    }

    #[test]
    fn classify_abort_after_alloc_failure_is_out_of_memory() {
        let tail = "memory allocation of 67108864 bytes failed\n";
        let e = classify("p::e", signalled(libc::SIGABRT), tail, Some(512 << 20));
        assert_eq!(e.kind, CallErrorKind::OutOfMemory);
        assert!(e.message.contains("512 MiB"), "{}", e.message);
    }

    #[test]
    fn classify_plain_abort_is_crash_with_last_line() {
        let e = classify(
            "p::e",
            signalled(libc::SIGABRT),
            "noise\nbad state\n\n",
            None,
        );
        assert_eq!(e.kind, CallErrorKind::Crash);
        assert!(e.message.contains("SIGABRT"), "{}", e.message);
        assert!(
            e.message.ends_with("last output: bad state"),
            "{}",
            e.message
        );
    }

    #[test]
    fn classify_exit_status_is_crash() {
        // An exit status of 7 is encoded as 7 << 8 in the wait status.
        let reaped = Reaped {
            status: Some(7 << 8),
            max_rss: 0,
        };
        let e = classify("p::e", reaped, "", None);
        assert_eq!(e.kind, CallErrorKind::Crash);
        assert!(e.message.contains("exited with status 7"), "{}", e.message);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let mut config = IsolationConfig::new(PathBuf::from("x"));
        config.backoff_initial = Duration::from_secs(1);
        config.backoff_max = Duration::from_secs(5);
        let mut h = Health::default();
        let mut waits = Vec::new();
        for _ in 0..5 {
            let before = Instant::now();
            h.note_death(&config);
            let wait = h.restart_not_before.unwrap() - before;
            waits.push(wait.as_secs_f64().round() as u64);
        }
        assert_eq!(waits, vec![1, 2, 4, 5, 5]);
    }
}
