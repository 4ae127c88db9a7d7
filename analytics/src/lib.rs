//! The analytics of lrdbench: every plugin call and workflow step, recorded durably into a redb
//! store, privately by default.
//!
//! - [`event`] defines the records. They are the only analytics types that derive `Serialize`:
//!   they are what the store keeps, what exports write and what reports read.
//! - [`Recorder`] writes them: a per-process journal first (so nothing acknowledged is lost
//!   when the process is killed), then batched commits into [`store`] by a background thread.
//! - [`Analytics`] is the library API (the spec's `enable_analytics`, `track_estimator_usage`
//!   and its four decorators as closure wrappers); [`privacy`] sanitizes what is recorded;
//!   [`measure`] measures a call.
//! - [`guard`] turns a panic of the database on a damaged file into an error, [`lock`] bounds
//!   every wait on another process's lock, [`repair`] verifies, salvages and rewrites the
//!   store, and [`space`] counts events a full disk kept from being recorded.
//! - [`read_events`] reads them back, including events still only in the journals of running
//!   or dead processes, while other processes write; [`read_table`] reads the same into the
//!   reports' columnar form ([`table::CallTable`]).
//!
//! # Example: read the last day of events
//!
//! ```no_run
//! use std::path::Path;
//!
//! let day_ago = lrdbench_analytics::now_us() - 86_400_000_000;
//! let events = lrdbench_analytics::read_events(Path::new("/home/me/.lrdbench"), day_ago)?;
//! println!("{} calls, {} steps", events.calls.len(), events.steps.len());
//! # Ok::<(), lrdbench_analytics::StoreError>(())
//! ```
#![deny(missing_docs)]
// Crate internals are `pub(crate)`: `pub` means part of the documented surface.
#![warn(unreachable_pub)]
// Tests may unwrap: a failure there is the test failing, with its message.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod api;
mod codec;
mod compact;
pub mod config;
pub mod event;
pub mod guard;
mod journal;
pub mod lock;
pub mod measure;
pub mod merge;
pub mod privacy;
mod recorder;
pub mod repair;
pub mod space;
pub mod store;
pub mod table;
mod wire;

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

pub use api::{
    flush_all, install_signal_flush, param_hasher, Analytics, AnalyticsError, ParamMemo,
    StepSequences, Usage, Workflow,
};
pub use config::AnalyticsConfig;
pub use journal::{list as list_journals, try_lock as try_lock_journal};
pub use privacy::{sanitize_parameter, scrub_message, ParamView};
pub use recorder::{
    replay_dead_journals, OpenReport, Recorder, RecorderOptions, StorePaths, DEFAULT_MAX_PENDING,
};

/// The record encoder, its checksum, the journal writer and the recorder's batch size, for the
/// recorder benchmark (which times them one by one) and for tests that write journals by hand.
/// Not a supported interface: free to change with the store's format.
#[doc(hidden)]
pub mod testing {
    pub use crate::codec::{crc32, encode};
    pub use crate::journal::JournalWriter;
    pub use crate::recorder::MAX_BATCH;
}
pub use store::{Counts, Events, StoreError};

/// Now, in µs since the Unix epoch (UTC).
pub fn now_us() -> i64 {
    match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_micros()).unwrap_or(i64::MAX),
    }
}

/// Every [`event::CallEvent`] and [`event::StepEvent`] with a timestamp at or after
/// `since_us` (µs since the epoch), each list in id (time) order, from the store under
/// `store_dir` (the directory holding `analytics/`) and from every journal — of running
/// processes as well as dead ones not yet replayed. Safe while other processes record: each
/// event appears exactly once.
///
/// How it stays exactly-once: the journals are opened first (an open file survives its
/// deletion), then one redb snapshot gives the stored events together with how far each
/// journal was stored, and each journal is read from that offset on.
///
/// # Errors
///
/// [`StoreError`] when the store exists but cannot be read (damaged, newer version, held for
/// more than a second by a stopped process, ...), never a panic. A store that does not exist
/// yet is empty.
pub fn read_events(store_dir: &Path, since_us: i64) -> Result<Events, StoreError> {
    let paths = StorePaths::new(store_dir);
    let journals = open_journals(&paths)?;
    let file = paths.dir.join(store::FILE_NAME);
    let (mut events, offsets) = if file.exists() {
        guard::catch(&file, || {
            store::Store::open_read_only(&paths.dir)?.read_since(since_us)
        })?
    } else {
        Default::default()
    };
    // Both lists are in key (id) order here, so membership is a binary search.
    let (stored_calls, stored_steps) = (events.calls.len(), events.steps.len());
    journal_events(journals, &offsets, since_us, |e| {
        let id = store::event_id(&e);
        let stored = match &e {
            event::Event::Call(_) => events.calls[..stored_calls]
                .binary_search_by_key(&id, |c| c.id)
                .is_ok(),
            event::Event::Step(_) => events.steps[..stored_steps]
                .binary_search_by_key(&id, |s| s.id)
                .is_ok(),
        };
        if !stored {
            events.push(e);
        }
    })?;
    events.sort();
    Ok(events)
}

/// The events of a period in the reports' form: the calls as a [`table::CallTable`].
#[derive(Debug, Clone, Default)]
pub struct EventTable {
    /// Plugin and function calls, in (timestamp, id) order.
    pub calls: table::CallTable,
    /// Workflow steps, in (timestamp, id) order.
    pub steps: Vec<event::StepEvent>,
}

/// What [`read_events`] reads, with the same exactly-once guarantee, with the calls as a
/// [`table::CallTable`] and both lists in (timestamp, id) order: the fast path of reports,
/// which never build a [`event::CallEvent`] per stored call.
///
/// # Errors
///
/// As [`read_events`].
pub fn read_table(store_dir: &Path, since_us: i64) -> Result<EventTable, StoreError> {
    let paths = StorePaths::new(store_dir);
    let journals = open_journals(&paths)?;
    let file = paths.dir.join(store::FILE_NAME);
    let (mut calls, mut steps, offsets) = if file.exists() {
        guard::catch(&file, || {
            store::Store::open_read_only(&paths.dir)?.read_table_since(since_us)
        })?
    } else {
        Default::default()
    };
    let (stored_calls, stored_steps) = (calls.len(), steps.len());
    journal_events(journals, &offsets, since_us, |e| match e {
        event::Event::Call(c) => {
            if calls.id[..stored_calls].binary_search(&c.id).is_err() {
                calls.push(&c);
            }
        }
        event::Event::Step(s) => {
            if steps[..stored_steps]
                .binary_search_by_key(&s.id, |x| x.id)
                .is_err()
            {
                steps.push(s);
            }
        }
    })?;
    calls.sort_by_time();
    steps.sort_by_key(|s| (s.timestamp_us, s.id));
    Ok(EventTable { calls, steps })
}

/// What [`visit_events`] hands on: the events of the period, one at a time.
pub trait EventVisitor {
    /// One call.
    fn call(&mut self, call: event::CallEvent);
    /// One step.
    fn step(&mut self, step: event::StepEvent);
}

/// Every event of [`read_events`] (the same ones, exactly once), handed to `visitor` one at
/// a time instead of collected: the stored calls in id order, then the calls still only in
/// journals, then the steps likewise (only when `steps`). Memory stays at one decoding batch
/// plus the journals' unstored tail, whatever the size of the period. Returns how many stored
/// records did not decode (skipped).
///
/// # Errors
///
/// As [`read_events`].
pub fn visit_events(
    store_dir: &Path,
    since_us: i64,
    steps: bool,
    visitor: &mut dyn EventVisitor,
) -> Result<u64, StoreError> {
    let paths = StorePaths::new(store_dir);
    let journals = open_journals(&paths)?;
    let file = paths.dir.join(store::FILE_NAME);
    if !file.exists() {
        let mut tail = Vec::new();
        journal_events(journals, &HashMap::new(), since_us, |e| tail.push(e))?;
        tail.sort_by_key(store::event_id);
        for e in tail {
            match e {
                event::Event::Call(c) => visitor.call(c),
                event::Event::Step(s) if steps => visitor.step(s),
                event::Event::Step(_) => {}
            }
        }
        return Ok(0);
    }
    guard::catch(&file, || {
        let store = store::Store::open_read_only(&paths.dir)?;
        let snap = store.snapshot()?;
        // The journals' events past the snapshot's offsets: few (what is not yet ingested),
        // held while the stored ones stream by; one stored already is dropped by its id.
        let mut tail_calls = Vec::new();
        let mut tail_steps = Vec::new();
        journal_events(journals, &snap.journal_offsets()?, since_us, |e| match e {
            event::Event::Call(c) => tail_calls.push(c),
            event::Event::Step(s) => tail_steps.push(s),
        })?;
        tail_calls.sort_by_key(|c| c.id);
        tail_steps.sort_by_key(|s| s.id);
        let mut stored_calls = vec![false; tail_calls.len()];
        let mut skipped = snap.visit_calls(since_us, |c| {
            if let Ok(i) = tail_calls.binary_search_by_key(&c.id, |t| t.id) {
                stored_calls[i] = true;
            }
            visitor.call(c);
        })?;
        for (c, stored) in tail_calls.into_iter().zip(stored_calls) {
            if !stored {
                visitor.call(c);
            }
        }
        if steps {
            let mut stored_steps = vec![false; tail_steps.len()];
            skipped += snap.visit_steps(since_us, |s| {
                if let Ok(i) = tail_steps.binary_search_by_key(&s.id, |t| t.id) {
                    stored_steps[i] = true;
                }
                visitor.step(s);
            })?;
            for (s, stored) in tail_steps.into_iter().zip(stored_steps) {
                if !stored {
                    visitor.step(s);
                }
            }
        }
        Ok(skipped)
    })
}

/// Opens every journal, before the store's snapshot is taken (an open file survives its
/// deletion by an ingesting process).
fn open_journals(paths: &StorePaths) -> Result<Vec<(String, PathBuf, File)>, StoreError> {
    let mut journals = Vec::new();
    for (name, path) in
        journal::list(&paths.journals).map_err(|e| StoreError::io(&paths.journals, e))?
    {
        match File::open(&path) {
            Ok(f) => journals.push((name, path, f)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::io(&path, e)),
        }
    }
    Ok(journals)
}

/// Hands `f` every event of `journals` past the offset the snapshot stored for it, with a
/// timestamp at or after `since_us`. The caller drops those whose id it already has: that
/// guards the one window the offsets cannot, a journal ingested and its table row pruned
/// between our open and our snapshot.
fn journal_events(
    journals: Vec<(String, PathBuf, File)>,
    offsets: &HashMap<String, u64>,
    since_us: i64,
    mut f: impl FnMut(event::Event),
) -> Result<(), StoreError> {
    for (name, path, mut file) in journals {
        let from = offsets.get(&name).copied().unwrap_or(journal::START);
        let frames = match journal::read_resync(&mut file, from) {
            Ok(s) => s.frames,
            Err(e) if e.kind() == std::io::ErrorKind::Other => continue,
            Err(e) => return Err(StoreError::io(&path, e)),
        };
        for (payload, _) in frames {
            let Ok(e) = codec::decode(&payload) else {
                continue;
            };
            if store::event_timestamp(&e) >= since_us {
                f(e);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
