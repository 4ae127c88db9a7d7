//! Raw I/O with one worker process: its non-blocking pipes, deadline-bounded frame reads and
//! writes, liveness checks, and reaping with resource use.
//!
//! Invariants: the pipes are non-blocking, so every wait is a `poll` bounded by the call's
//! deadline (a hung worker can never hang the host); a worker's pid is always an unreaped
//! child of this process until [`kill_and_reap`] or [`Worker::reap`] returns, so signals sent
//! to it cannot reach a reused pid.

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::process::{ChildStdin, ChildStdout};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::protocol;
use super::stderr_tail::StderrTail;

/// Pipe capacity asked for: a 4,096-point series (32 KiB) fits in one write, and a large one
/// crosses in 1 MiB steps instead of the default 64 KiB.
pub(super) const PIPE_SIZE: libc::c_int = 1 << 20;

/// Why a read or write with a worker stopped.
pub(super) enum IoFail {
    /// The deadline passed.
    Timeout,
    /// The worker closed its end (it died, or is dying).
    Closed,
}

/// The exit status and resource use of a reaped worker.
#[derive(Debug, Clone, Copy)]
pub(super) struct Reaped {
    /// The raw wait status, `None` if the worker could not be reaped.
    pub(super) status: Option<libc::c_int>,
    /// Its peak resident set size, bytes.
    pub(super) max_rss: u64,
}

#[derive(Debug)]
pub(super) struct Worker {
    pub(super) pid: libc::pid_t,
    pub(super) stdin: ChildStdin,
    pub(super) stdout: ChildStdout,
    pub(super) tail: Arc<StderrTail>,
    /// Reused frame buffer, so a call does not allocate a new one.
    pub(super) buf: Vec<u8>,
}

impl Worker {
    pub(super) fn send(&mut self, bytes: &[u8], deadline: Option<Instant>) -> Result<(), IoFail> {
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
    pub(super) fn receive(
        &mut self,
        buf: &mut Vec<u8>,
        deadline: Option<Instant>,
    ) -> Result<(), IoFail> {
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

    pub(super) fn is_alive(&self) -> bool {
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
    pub(super) fn reap(&self, grace: Duration) -> Reaped {
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
pub(super) fn wait_fd(
    fd: RawFd,
    events: libc::c_short,
    deadline: Option<Instant>,
) -> Result<(), IoFail> {
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

pub(super) fn set_nonblocking(fd: RawFd) {
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

pub(super) fn kill_and_reap(pid: libc::pid_t) -> Reaped {
    // SAFETY: `pid` is an unreaped child of this process, so the signal cannot reach another.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    wait4(pid, 0).unwrap_or(Reaped {
        status: None,
        max_rss: 0,
    })
}
