//! The workers of one plugin library: its idle workers and its health.
//!
//! Invariants: a worker serves one call at a time and is out of the idle list during the call,
//! so concurrent callers each get their own worker and a pool grows to the number of concurrent
//! calls of its plugin and no further; a worker found dead in the idle list is reaped and
//! skipped, never handed to a call.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::child::{kill_and_reap, Worker};
use super::health::Health;
use super::lock;
use crate::plugin::ProcessLaunch;

/// The workers and health of one plugin library.
#[derive(Debug)]
pub(super) struct Pool {
    pub(super) library: PathBuf,
    pub(super) sha256: String,
    /// How to start a process plugin's workers; `None` for a library (an `lrdbench-host`
    /// worker loads it).
    pub(super) launch: Option<Arc<ProcessLaunch>>,
    pub(super) idle: Mutex<Vec<Worker>>,
    pub(super) health: Mutex<Health>,
}

impl Pool {
    /// An empty pool for the library (or process plugin manifest) at `library` with digest
    /// `sha256`.
    pub(super) fn new(
        library: PathBuf,
        sha256: String,
        launch: Option<Arc<ProcessLaunch>>,
    ) -> Pool {
        Pool {
            library,
            sha256,
            launch,
            idle: Mutex::new(Vec::new()),
            health: Mutex::new(Health::default()),
        }
    }

    /// An idle worker that is still alive. One that died while idle (killed from outside) is
    /// reaped and skipped: no call was running, so it counts against nobody.
    pub(super) fn take_idle(&self) -> Option<Worker> {
        loop {
            let worker = lock(&self.idle).pop()?;
            if worker.is_alive() {
                return Some(worker);
            }
            kill_and_reap(worker.pid);
        }
    }

    /// Returns a worker that answered its call to the idle list.
    pub(super) fn put_idle(&self, worker: Worker) {
        lock(&self.idle).push(worker);
    }
}
