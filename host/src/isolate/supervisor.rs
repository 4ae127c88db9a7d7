//! The supervisor: runs one call in a worker from the plugin's pool (`pool`), starting the
//! worker when none is idle, and on a lost worker has the loss classified (`classify`) and
//! updates the plugin's health (`health`).
//!
//! Invariants: every call returns (a deadline bounds each exchange, and a lost worker is killed
//! and reaped before the call returns its error); dropping the supervisor kills its idle
//! workers; each quarantine is announced once, on standard error and in
//! [`Supervisor::quarantined`].

use std::collections::HashMap;
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lrdbench_plugin_api::{Estimate, Generated, Param};

use super::child::{kill_and_reap, set_nonblocking, IoFail, Worker, PIPE_SIZE};
use super::classify::{classify, describe_status, format_duration, Death};
use super::pool::Pool;
use super::process;
use super::protocol::{self, Response, WorkerUsage};
use super::stderr_tail::StderrTail;
use super::worker::WORKER_COMMAND;
use super::{lock, IsolationConfig};
use crate::call_error::{CallError, CallErrorKind};
use crate::plugin::{ComponentHandle, LoadedPlugin};

/// How long a new worker may take to load its plugin and greet.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a worker that closed its output gets to finish dying before it is killed.
const DEATH_GRACE: Duration = Duration::from_secs(2);
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
    /// Set while a caller (a workflow run) decides quarantine itself, in its own order.
    caller_quarantines: AtomicBool,
}

impl Supervisor {
    /// A supervisor with no workers yet: they start on the first call of each plugin.
    pub fn new(config: IsolationConfig) -> Self {
        Supervisor {
            config,
            pools: Mutex::new(HashMap::new()),
            notices: Mutex::new(Vec::new()),
            caller_quarantines: AtomicBool::new(false),
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

    /// With `true`, crashes and timeouts no longer quarantine a component here: the caller
    /// decides, in an order of its own that does not depend on timing, and reports its
    /// decisions with [`Supervisor::report_quarantine`]. Workers are still killed, classified
    /// and restarted after the back-off, and a plugin whose workers cannot start is still
    /// refused.
    pub fn set_caller_quarantines(&self, on: bool) {
        self.caller_quarantines.store(on, Ordering::SeqCst);
    }

    /// Announces a quarantine decided by the caller: printed as a warning and listed by
    /// [`Supervisor::quarantined`].
    pub fn report_quarantine(&self, notice: QuarantineNotice) {
        self.announce(notice);
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
                Arc::new(Pool::new(
                    plugin.path.clone(),
                    plugin.sha256.clone(),
                    plugin.launch().cloned(),
                ))
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
        if let Some(e) = lock(&pool.health).refusal(handle.index) {
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
                lock(&pool.health).answered(handle.index);
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
        let mut cmd = match &pool.launch {
            Some(launch) => process::command(launch, self.config.memory_limit),
            None => {
                let mut cmd = Command::new(&self.config.program);
                cmd.arg(WORKER_COMMAND)
                    .arg(&pool.library)
                    .arg("--sha256")
                    .arg(&pool.sha256);
                if let Some(limit) = self.config.memory_limit {
                    cmd.arg("--memory-limit").arg(limit.to_string());
                }
                // A process group of its own: Ctrl-C at the terminal reaches the host, which
                // stops cleanly and finishes its calls, not the workers in the middle of them.
                std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
                cmd
            }
        };
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let program = match &pool.launch {
            Some(launch) => process::program_name(launch),
            None => self.config.program.display().to_string(),
        };
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start worker {program}: {e}"))?;
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
                // A process plugin names itself in its greeting as it likes; its descriptor
                // follows, already known from loading, and is read past.
                Ok(Ok(_)) if pool.launch.is_some() => {
                    match worker.receive(&mut greeting, deadline) {
                        Ok(()) => match protocol::decode_descriptor(&greeting) {
                            Ok(_) => return Ok(worker),
                            Err(e) => format!("the plugin sent a malformed description ({e})"),
                        },
                        Err(IoFail::Timeout) => format!(
                            "the plugin did not describe itself within {} s",
                            STARTUP_TIMEOUT.as_secs()
                        ),
                        Err(IoFail::Closed) => return Err(died_while_starting(&worker)),
                    }
                }
                Ok(Ok(sha)) if sha == pool.sha256 => return Ok(worker),
                Ok(Ok(sha)) => format!(
                    "the worker loaded {} with SHA-256 {sha}, not the expected {}: the file changed",
                    pool.library.display(),
                    pool.sha256
                ),
                Ok(Err(load)) => format!("the worker could not load the plugin: {load}"),
                Err(e) if pool.launch.is_some() => format!(
                    "`{program}` does not speak the lrdbench process protocol ({e})"
                ),
                Err(e) => format!(
                    "{program} did not answer as an lrdbench worker ({e}); is it lrdbench-host?"
                ),
            },
            Err(IoFail::Timeout) => format!(
                "the worker did not start within {} s",
                STARTUP_TIMEOUT.as_secs()
            ),
            Err(IoFail::Closed) => return Err(died_while_starting(&worker)),
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
        let counted = matches!(error.kind, CallErrorKind::Crash | CallErrorKind::Timeout);
        if counted && !self.caller_quarantines.load(Ordering::SeqCst) {
            let quarantined = health.component_failed(
                handle.index,
                self.config.max_consecutive_crashes,
                |count| format!(
                    "{name} is quarantined after {count} crashes or timeouts in a row (last: {}); its remaining calls are not run",
                    error.message
                ),
            );
            drop(health);
            if let Some(message) = quarantined {
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

/// Why a worker that closed its pipes while starting failed: how it ended and the last line
/// it wrote to stderr.
fn died_while_starting(worker: &Worker) -> String {
    let status = worker.reap(DEATH_GRACE);
    let tail = worker.tail.last_line();
    format!(
        "the worker died while starting ({}){}",
        describe_status(status.status),
        tail.map(|t| format!(": {t}")).unwrap_or_default()
    )
}
