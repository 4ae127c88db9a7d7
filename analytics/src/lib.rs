//! The analytics of lrdbench: every plugin call and workflow step, recorded durably into a redb
//! store, privately by default.
//!
//! - [`event`] defines the records. They are the only analytics types that derive `Serialize`:
//!   they are what the store keeps, what exports write and what reports read.
//! - [`recorder`] writes them: a per-process journal first (so nothing acknowledged is lost
//!   when the process is killed), then batched commits into [`store`] by a background thread.
//! - [`Analytics`] is the library API (the spec's `enable_analytics`, `track_estimator_usage`
//!   and its four decorators as closure wrappers); [`privacy`] sanitizes what is recorded;
//!   [`measure`] measures a call.
//! - [`read_events`] reads them back, including events still only in the journals of running
//!   or dead processes, while other processes write.
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
// Tests may unwrap: a failure there is the test failing, with its message.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod api;
pub mod codec;
pub mod config;
pub mod event;
pub mod journal;
pub mod measure;
pub mod privacy;
pub mod recorder;
pub mod store;

use std::collections::HashSet;
use std::fs::File;
use std::path::Path;

pub use api::{
    flush_all, install_signal_flush, param_hasher, Analytics, AnalyticsError, ParamMemo,
    StepSequences, Usage, Workflow,
};
pub use config::AnalyticsConfig;
pub use privacy::{sanitize_parameter, scrub_message, ParamView};
pub use recorder::{Recorder, RecorderOptions, StorePaths};
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
/// [`StoreError`] when the store exists but cannot be read (damaged, newer version, ...). A
/// store that does not exist yet is empty.
pub fn read_events(store_dir: &Path, since_us: i64) -> Result<Events, StoreError> {
    let paths = StorePaths::new(store_dir);
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
    let (mut events, offsets) = if paths.dir.join(store::FILE_NAME).exists() {
        store::Store::open(&paths.dir)?.read_since(since_us)?
    } else {
        Default::default()
    };
    let stored: HashSet<u64> = events
        .calls
        .iter()
        .map(|c| c.id)
        .chain(events.steps.iter().map(|s| s.id))
        .collect();
    for (name, path, mut file) in journals {
        let from = offsets.get(&name).copied().unwrap_or(journal::START);
        let frames = match journal::read_from(&mut file, from) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::Other => continue,
            Err(e) => return Err(StoreError::io(&path, e)),
        };
        for (payload, _) in frames {
            let Ok(e) = codec::decode(&payload) else {
                continue;
            };
            // The id check guards the one window the offsets cannot: a journal ingested and
            // its table row pruned between our open and our snapshot.
            if store::event_timestamp(&e) >= since_us && !stored.contains(&store::event_id(&e)) {
                events.push(e);
            }
        }
    }
    events.sort();
    Ok(events)
}

#[cfg(test)]
mod tests;
