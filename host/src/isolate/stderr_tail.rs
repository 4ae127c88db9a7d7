//! The tail of a worker's standard error, kept for crash messages.
//!
//! Invariants: at most `STDERR_TAIL` bytes are held per worker (older bytes are dropped); the
//! reader thread ends when the worker's stderr closes, and never blocks the call path —
//! [`StderrTail::finish`] waits at most 500 ms for it.

use std::io::Read;
use std::process::ChildStderr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::lock;

/// How much of a worker's standard error is kept for crash messages.
const STDERR_TAIL: usize = 8 << 10;

/// The last bytes a worker wrote to standard error, collected by a thread that ends when the
/// worker does.
#[derive(Debug, Default)]
pub(super) struct StderrTail {
    bytes: Mutex<Vec<u8>>,
    closed: AtomicBool,
}

impl StderrTail {
    pub(super) fn start(mut stderr: ChildStderr) -> Arc<StderrTail> {
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
    pub(super) fn finish(&self) -> String {
        let until = Instant::now() + Duration::from_millis(500);
        while !self.closed.load(Ordering::Acquire) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(1));
        }
        String::from_utf8_lossy(&lock(&self.bytes)).into_owned()
    }

    pub(super) fn last_line(&self) -> Option<String> {
        let text = self.finish();
        text.lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .map(|l| l.trim().to_string())
    }
}
