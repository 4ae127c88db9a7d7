//! Failure classification: how a lost worker becomes a call's error — `timeout`, `crash` with
//! the signal's name, `out_of_memory` when the standard library reported a failed allocation,
//! or a malformed answer.
//!
//! Invariant: classification is a pure function of what was observed (the way the worker was
//! lost, its wait status, its stderr tail, the limits); it touches no process and no state.

use std::time::Duration;

use super::child::Reaped;
use crate::call_error::{CallError, CallErrorKind};

/// What Rust's standard library prints before aborting on a failed allocation.
const ALLOC_FAILURE_MARKER: &str = "memory allocation of";

/// How a call's worker was lost.
pub(super) enum Death {
    /// The deadline passed; the worker is killed.
    Timeout,
    /// The worker closed its output: it died, or is dying.
    Closed,
    /// The worker sent something that does not decode; it is killed.
    Malformed(String),
}

/// Turns a worker's death into the call's error: `out_of_memory` when the standard library
/// reported a failed allocation before the abort, `crash` with the signal's name otherwise.
pub(super) fn classify(
    name: &str,
    reaped: Reaped,
    tail: &str,
    memory_limit: Option<u64>,
) -> CallError {
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
pub(super) fn describe_status(status: Option<libc::c_int>) -> String {
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

pub(super) fn format_duration(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
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
}
