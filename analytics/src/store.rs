//! The redb store: `<store>/analytics/analytics.redb`, its tables and their invariants.
//!
//! Tables (keys are event ids: `time_us << 12 | tag`, so key order is time order):
//! - `calls`, `steps`: id → the event in [`crate::codec`] form;
//! - `by_error_kind`: (kind, id) → (), one row per failed call (the error counts of
//!   `analytics status`, without decoding every call);
//! - `journals`: journal name → (offset ingested, when, µs): updated in the same transaction as
//!   the events it covers, which is what makes replay exactly-once;
//! - `meta`: `schema_version`, `last_retention_us`.
//!
//! Why so few indexes: every report reads a period of time, which is a key range of `calls`
//! and `steps`; an index per component, user or run would be written with every event (each
//! insert costs about as much as the event's own) and read by nothing on a hot path. Deleting
//! one user's events (`analytics forget`, rare) scans the tables instead. Schema 1 stores also
//! had `by_component`, `by_user` and `by_run`; opening one drops them and moves it to schema 2,
//! so that an older build, which would trust `by_user` to find a user's events, refuses it.
//!
//! Every process opens the file in redb's `MultiWriter` mode: several host processes and a
//! report can have it open at once, write transactions take turns across processes. redb's
//! cache is kept at 16 MiB so that the store's memory stays out of the plugins' measurements.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use redb::{ReadableTable, ReadableTableMetadata, TableDefinition, TableError};

use rayon::prelude::*;

use crate::codec;
use crate::event::{CallEvent, Event, StepEvent};
use crate::table::CallTable;

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: u64 = 2;

/// The file name of the store within `<store>/analytics/`.
pub const FILE_NAME: &str = "analytics.redb";

/// Records decoded per parallel task when reading: enough that a task's overhead vanishes,
/// few enough that every core gets a share of a small period.
const DECODE_CHUNK: usize = 4096;

const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const CALLS: TableDefinition<u64, &[u8]> = TableDefinition::new("calls");
const STEPS: TableDefinition<u64, &[u8]> = TableDefinition::new("steps");
const BY_ERROR_KIND: TableDefinition<(&str, u64), ()> = TableDefinition::new("by_error_kind");
/// Indexes of schema 1, dropped by the migration to schema 2.
const V1_BY_COMPONENT: TableDefinition<(&str, u64), ()> = TableDefinition::new("by_component");
const V1_BY_USER: TableDefinition<(&str, u64), u8> = TableDefinition::new("by_user");
const V1_BY_RUN: TableDefinition<(&str, u64), u8> = TableDefinition::new("by_run");
const JOURNALS: TableDefinition<&str, (u64, i64)> = TableDefinition::new("journals");

/// A failure of the analytics store. Every message says what happened and what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store directory or file cannot be written.
    #[error("analytics store {} is not writable: fix its permissions, choose another store (--store or LRDBENCH_HOME), or turn analytics off (lrdbench-host analytics disable)", path.display())]
    NotWritable {
        /// The path.
        path: PathBuf,
    },
    /// The disk is full.
    #[error("no space left for the analytics store {}: free disk space or delete old events (lrdbench-host analytics purge)", path.display())]
    DiskFull {
        /// The path.
        path: PathBuf,
    },
    /// The store file is damaged.
    #[error("analytics store {} is damaged ({detail}): run `lrdbench-host analytics repair` to keep what is readable", path.display())]
    Corrupt {
        /// The path.
        path: PathBuf,
        /// What redb or the decoder said.
        detail: String,
    },
    /// The store was written by a newer version of lrdbench.
    #[error("analytics store {} was written by a newer lrdbench (schema {found}, this build reads {supported}): upgrade lrdbench, or choose another store (--store or LRDBENCH_HOME)", path.display())]
    NewerVersion {
        /// The path.
        path: PathBuf,
        /// The schema version found.
        found: u64,
        /// The schema version of this build.
        supported: u64,
    },
    /// Another I/O failure. The error is part of the message and deliberately not a `source`:
    /// a chain printer (`{:#}`) would otherwise say it twice.
    #[error("analytics store {}: {error}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        error: io::Error,
    },
    /// Another process holds the store's lock for longer than [`crate::lock::LOCK_WAIT`].
    #[error("analytics store {} is held by another lrdbench process that has not let go for a second (is one stopped, by kill -STOP or Ctrl-Z?): resume or end it, then try again", path.display())]
    Busy {
        /// The path.
        path: PathBuf,
    },
    /// Another failure reported by redb.
    #[error("analytics store {}: {detail}", path.display())]
    Database {
        /// The path.
        path: PathBuf,
        /// What redb said.
        detail: String,
    },
}

impl StoreError {
    /// Classifies an I/O error on `path`.
    pub fn io(path: &Path, e: io::Error) -> StoreError {
        let path = path.to_path_buf();
        match e.raw_os_error() {
            Some(libc::ENOSPC) | Some(libc::EDQUOT) => StoreError::DiskFull { path },
            Some(libc::EACCES) | Some(libc::EPERM) | Some(libc::EROFS) => {
                StoreError::NotWritable { path }
            }
            _ => StoreError::Io { path, error: e },
        }
    }

    /// Classifies an error of redb on the store at `path`.
    pub(crate) fn from_redb(path: &Path, e: impl Into<redb::Error>) -> StoreError {
        StoreError::redb(path, e)
    }

    fn redb(path: &Path, e: impl Into<redb::Error>) -> StoreError {
        match e.into() {
            redb::Error::Io(io) => StoreError::io(path, io),
            redb::Error::WouldBlock => StoreError::Busy {
                path: path.to_path_buf(),
            },
            redb::Error::Corrupted(detail) => StoreError::Corrupt {
                path: path.to_path_buf(),
                detail,
            },
            redb::Error::UpgradeRequired(v) => StoreError::Corrupt {
                path: path.to_path_buf(),
                detail: format!("unsupported redb file format {v}"),
            },
            other => StoreError::Database {
                path: path.to_path_buf(),
                detail: other.to_string(),
            },
        }
    }
}

/// Events read from the store (and journals), each list in id (time) order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Events {
    /// Plugin and function calls.
    pub calls: Vec<CallEvent>,
    /// Workflow steps.
    pub steps: Vec<StepEvent>,
}

impl Events {
    /// Adds one event.
    pub fn push(&mut self, e: Event) {
        match e {
            Event::Call(c) => self.calls.push(c),
            Event::Step(s) => self.steps.push(s),
        }
    }

    /// Sorts both lists by id.
    pub fn sort(&mut self) {
        self.calls.sort_by_key(|c| c.id);
        self.steps.sort_by_key(|s| s.id);
    }

    /// The number of events.
    pub fn len(&self) -> usize {
        self.calls.len() + self.steps.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What [`Store::read_table_since`] returns: the calls as columns, the steps, and the journal
/// offsets of the same snapshot.
pub type TableSnapshot = (CallTable, Vec<StepEvent>, HashMap<String, u64>);

/// What one [`Store::scan`] read.
#[derive(Debug, Default)]
pub struct Scan {
    /// The events that decoded, in id order.
    pub events: Vec<Event>,
    /// Records that did not decode (skipped).
    pub undecodable: u64,
    /// Where the next scan starts: `None` once the end of the table was reached.
    pub next: Option<u64>,
    /// Why the database stopped reading (at `next`), when it failed.
    pub failed: Option<StoreError>,
}

/// Counts of what a store holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Call events.
    pub calls: u64,
    /// Step events.
    pub steps: u64,
    /// Call events that failed.
    pub errors: u64,
}

/// An open store.
pub struct Store {
    db: crate::lock::Db,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

/// The smallest event id at or after `time_us`.
pub fn first_id_at(time_us: i64) -> u64 {
    (time_us.max(0) as u64) << 12
}

impl Store {
    /// Opens (creating if needed) the store file `<dir>/analytics.redb` and checks its schema
    /// version.
    ///
    /// # Errors
    ///
    /// [`StoreError`]: not writable, disk full, damaged, newer version, or another failure.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        let path = dir.join(FILE_NAME);
        let db = crate::lock::Db::open(&path)?;
        let store = Store { db, path };
        store.check_version()?;
        Ok(store)
    }

    /// Opens the existing store file `<dir>/analytics.redb` for reading only: no writer, even
    /// a stopped one, holds it up (see [`crate::lock`]). Falls back to [`Store::open`] when the
    /// file needs recovery or a schema migration, which only a writer does.
    ///
    /// # Errors
    ///
    /// As [`Store::open`].
    pub fn open_read_only(dir: &Path) -> Result<Store, StoreError> {
        let path = dir.join(FILE_NAME);
        let Some(db) = crate::lock::Db::open_read_only(&path)? else {
            return Store::open(dir);
        };
        let store = Store { db, path };
        match store.schema_version()? {
            Some(v) if v > SCHEMA_VERSION => Err(StoreError::NewerVersion {
                path: store.path.clone(),
                found: v,
                supported: SCHEMA_VERSION,
            }),
            Some(SCHEMA_VERSION) => Ok(store),
            _ => Store::open(dir),
        }
    }

    fn schema_version(&self) -> Result<Option<u64>, StoreError> {
        let read = self.db.begin_read().map_err(|e| self.err(e))?;
        match read.open_table(META) {
            Ok(t) => Ok(t
                .get("schema_version")
                .map_err(|e| self.err(e))?
                .map(|v| v.value())),
            Err(TableError::TableDoesNotExist(_)) => Ok(None),
            Err(e) => Err(self.err(e)),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, e: impl Into<redb::Error>) -> StoreError {
        StoreError::redb(&self.path, e)
    }

    fn check_version(&self) -> Result<(), StoreError> {
        let read = self.db.begin_read().map_err(|e| self.err(e))?;
        let found = match read.open_table(META) {
            Ok(t) => t
                .get("schema_version")
                .map_err(|e| self.err(e))?
                .map(|v| v.value()),
            Err(TableError::TableDoesNotExist(_)) => None,
            Err(e) => return Err(self.err(e)),
        };
        drop(read);
        match found {
            Some(v) if v > SCHEMA_VERSION => Err(StoreError::NewerVersion {
                path: self.path.clone(),
                found: v,
                supported: SCHEMA_VERSION,
            }),
            Some(SCHEMA_VERSION) => Ok(()),
            _ => {
                let tx = self.db.begin_write().map_err(|e| self.err(e))?;
                {
                    let mut meta = tx.open_table(META).map_err(|e| self.err(e))?;
                    let current = meta
                        .get("schema_version")
                        .map_err(|e| self.err(e))?
                        .map(|g| g.value());
                    // Another process may have created or migrated the store meanwhile.
                    if current != Some(SCHEMA_VERSION) {
                        if current.is_some_and(|v| v > SCHEMA_VERSION) {
                            return Err(StoreError::NewerVersion {
                                path: self.path.clone(),
                                found: current.unwrap_or_default(),
                                supported: SCHEMA_VERSION,
                            });
                        }
                        // Schema 1 → 2: the extra indexes go; events and journal offsets stay
                        // as they are (the record format is unchanged).
                        tx.delete_table(V1_BY_COMPONENT).map_err(|e| self.err(e))?;
                        tx.delete_table(V1_BY_USER).map_err(|e| self.err(e))?;
                        tx.delete_table(V1_BY_RUN).map_err(|e| self.err(e))?;
                        meta.insert("schema_version", SCHEMA_VERSION)
                            .map_err(|e| self.err(e))?;
                    }
                    // Create every table, so readers never meet a missing one.
                    tx.open_table(CALLS).map_err(|e| self.err(e))?;
                    tx.open_table(STEPS).map_err(|e| self.err(e))?;
                    tx.open_table(BY_ERROR_KIND).map_err(|e| self.err(e))?;
                    tx.open_table(JOURNALS).map_err(|e| self.err(e))?;
                }
                tx.commit().map_err(|e| self.err(e))
            }
        }
    }

    /// Writes `records` (events in [`codec`] form) in one transaction, and, when given,
    /// records that journal `name` is ingested up to `offset` in the same transaction.
    ///
    /// An id already taken by a different event (two processes in the same microsecond with
    /// the same tag) moves the new event to the next free id; an identical event already
    /// stored is skipped, so a replay can never duplicate.
    ///
    /// # Errors
    ///
    /// [`StoreError`] from redb or a record that does not decode; nothing of the batch is
    /// stored then.
    pub fn ingest<R: AsRef<[u8]>>(
        &self,
        records: &[R],
        journal: Option<(&str, u64)>,
    ) -> Result<(), StoreError> {
        let corrupt = |e: codec::DecodeError| StoreError::Corrupt {
            path: self.path.clone(),
            detail: e.to_string(),
        };
        let tx = self.db.begin_write().map_err(|e| self.err(e))?;
        {
            let mut calls = tx.open_table(CALLS).map_err(|e| self.err(e))?;
            let mut steps = tx.open_table(STEPS).map_err(|e| self.err(e))?;
            let mut by_kind = tx.open_table(BY_ERROR_KIND).map_err(|e| self.err(e))?;
            for bytes in records {
                let bytes = bytes.as_ref();
                let peek = codec::peek(bytes).map_err(corrupt)?;
                let table = if peek.is_step { &mut steps } else { &mut calls };
                let mut id = peek.id;
                let mut owned: Option<Vec<u8>> = None;
                loop {
                    let current: &[u8] = owned.as_deref().unwrap_or(bytes);
                    let previous = table
                        .insert(id, current)
                        .map_err(|e| self.err(e))?
                        .map(|g| g.value().to_vec());
                    match previous {
                        None => break,
                        // The same event again: a replay of what is already stored.
                        Some(old) if old == current => break,
                        Some(old) => {
                            // Put the other event back and move this one to the next id.
                            table.insert(id, old.as_slice()).map_err(|e| self.err(e))?;
                            id += 1;
                            let mut moved = codec::decode(bytes).map_err(corrupt)?;
                            set_id(&mut moved, id);
                            let mut buf = Vec::with_capacity(current.len());
                            codec::encode(&moved, &mut buf);
                            owned = Some(buf);
                        }
                    }
                }
                if let Some(kind) = peek.error_kind {
                    by_kind.insert((kind, id), ()).map_err(|e| self.err(e))?;
                }
            }
            if let Some((name, offset)) = journal {
                let mut j = tx.open_table(JOURNALS).map_err(|e| self.err(e))?;
                j.insert(name, (offset, crate::now_us()))
                    .map_err(|e| self.err(e))?;
            }
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// How far journal `name` has been ingested.
    ///
    /// # Errors
    ///
    /// [`StoreError`] from redb.
    pub fn journal_offset(&self, name: &str) -> Result<Option<u64>, StoreError> {
        let read = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = read.open_table(JOURNALS).map_err(|e| self.err(e))?;
        let v = t.get(name).map_err(|e| self.err(e))?.map(|g| g.value().0);
        Ok(v)
    }

    /// Every event with `timestamp_us >= since_us`, and the journal offsets of the same
    /// snapshot.
    ///
    /// # Errors
    ///
    /// [`StoreError`] from redb, or a record that does not decode.
    pub fn read_since(&self, since_us: i64) -> Result<(Events, HashMap<String, u64>), StoreError> {
        let read = self.db.begin_read().map_err(|e| self.err(e))?;
        let events = Events {
            calls: self.read_table(&read, CALLS, since_us, codec::decode_call_record)?,
            steps: self.read_table(&read, STEPS, since_us, codec::decode_step_record)?,
        };
        Ok((events, self.journal_offsets(&read)?))
    }

    /// As [`Store::read_since`], with the calls as a [`CallTable`] (the reports' form). The
    /// calls are decoded on this thread while the steps are decoded on the others.
    ///
    /// # Errors
    ///
    /// [`StoreError`] from redb, or a record that does not decode.
    pub fn read_table_since(&self, since_us: i64) -> Result<TableSnapshot, StoreError> {
        let read = self.db.begin_read().map_err(|e| self.err(e))?;
        let (calls, steps) = rayon::join(
            || self.read_call_table(&read, since_us),
            || self.read_table(&read, STEPS, since_us, codec::decode_step_record),
        );
        let (calls, steps) = (calls?, steps?);
        Ok((calls, steps, self.journal_offsets(&read)?))
    }

    fn read_call_table(
        &self,
        read: &redb::ReadTransaction,
        since_us: i64,
    ) -> Result<CallTable, StoreError> {
        let t = read.open_table(CALLS).map_err(|e| self.err(e))?;
        let lo = first_id_at(since_us);
        let mut range = t.range(lo..).map_err(|e| self.err(e))?;
        let (first, last) = match (range.next(), range.next_back()) {
            (Some(a), Some(b)) => (
                a.map_err(|e| self.err(e))?.0.value(),
                b.map_err(|e| self.err(e))?.0.value(),
            ),
            (Some(a), None) => {
                let k = a.map_err(|e| self.err(e))?.0.value();
                (k, k)
            }
            _ => return Ok(CallTable::default()),
        };
        drop(range);
        // Key ranges of about equal width (ids follow time), decoded side by side, each into
        // its own table; redb's iteration, the larger part of the cost, is shared out too.
        let parts = (2 * rayon::current_num_threads()).max(1) as u64;
        let width = (last - first) / parts + 1;
        let bounds: Vec<(u64, u64)> = (0..parts)
            .map(|i| (first + i * width, first.saturating_add((i + 1) * width)))
            .filter(|(a, _)| *a <= last)
            .collect();
        let tables: Vec<CallTable> = bounds
            .into_par_iter()
            .map(|(a, b)| self.read_call_range(&t, a..b, since_us))
            .collect::<Result<_, _>>()?;
        let mut tables = tables.into_iter();
        let mut table = tables.next().unwrap_or_default();
        for part in tables {
            table.append(part);
        }
        Ok(table)
    }

    fn read_call_range(
        &self,
        t: &redb::ReadOnlyTable<u64, &[u8]>,
        keys: std::ops::Range<u64>,
        since_us: i64,
    ) -> Result<CallTable, StoreError> {
        let corrupt = |e: codec::DecodeError| StoreError::Corrupt {
            path: self.path.clone(),
            detail: e.to_string(),
        };
        let mut table = CallTable::default();
        for row in t.range(keys).map_err(|e| self.err(e))? {
            let (_, v) = row.map_err(|e| self.err(e))?;
            let v = v.value();
            // Ids follow the time of recording, which is at or after the event's own time, so
            // the range can start a little early.
            if codec::timestamp(v).map_err(corrupt)? >= since_us {
                codec::decode_call_into(v, &mut table).map_err(corrupt)?;
            }
        }
        Ok(table)
    }

    fn journal_offsets(
        &self,
        read: &redb::ReadTransaction,
    ) -> Result<HashMap<String, u64>, StoreError> {
        let mut offsets = HashMap::new();
        let t = read.open_table(JOURNALS).map_err(|e| self.err(e))?;
        for row in t.iter().map_err(|e| self.err(e))? {
            let (k, v) = row.map_err(|e| self.err(e))?;
            offsets.insert(k.value().to_string(), v.value().0);
        }
        Ok(offsets)
    }

    /// The records of `def` with `timestamp_us >= since_us`, decoded by `decode`, in key order.
    ///
    /// redb's iterator runs on this thread and only copies the values into one buffer (after
    /// a look at each record's timestamp); decoding, the costly part (every string is
    /// allocated), then runs on every core.
    fn read_table<T: Send>(
        &self,
        read: &redb::ReadTransaction,
        def: TableDefinition<u64, &[u8]>,
        since_us: i64,
        decode: fn(&[u8]) -> Result<T, codec::DecodeError>,
    ) -> Result<Vec<T>, StoreError> {
        let corrupt = |e: codec::DecodeError| StoreError::Corrupt {
            path: self.path.clone(),
            detail: e.to_string(),
        };
        let t = read.open_table(def).map_err(|e| self.err(e))?;
        let mut bytes = Vec::new();
        let mut ends: Vec<usize> = Vec::new();
        for row in t.range(first_id_at(since_us)..).map_err(|e| self.err(e))? {
            let (_, v) = row.map_err(|e| self.err(e))?;
            let v = v.value();
            // Ids follow the time of recording, which is at or after the event's own time, so
            // the range can start a little early.
            if codec::timestamp(v).map_err(corrupt)? >= since_us {
                bytes.extend_from_slice(v);
                ends.push(bytes.len());
            }
        }
        let decoded: Vec<Result<T, codec::DecodeError>> = (0..ends.len())
            .into_par_iter()
            .with_min_len(DECODE_CHUNK)
            .map(|i| {
                let start = if i == 0 { 0 } else { ends[i - 1] };
                decode(&bytes[start..ends[i]])
            })
            .collect();
        drop(bytes);
        decoded
            .into_iter()
            .collect::<Result<_, _>>()
            .map_err(corrupt)
    }

    /// Reads on from event id `from`, in id order, at most `max` records of the calls (or, with
    /// `steps`, the steps), for salvaging a damaged store: a record that does not decode is
    /// counted and skipped, and a failure of the database itself (an error, or a panic on a
    /// garbled page) ends the scan with what was read before it.
    pub fn scan(&self, steps: bool, from: u64, max: usize) -> Scan {
        let mut scan = Scan::default();
        let mut last: Option<u64> = None;
        let def = if steps { STEPS } else { CALLS };
        let read = crate::guard::catch(&self.path, || {
            let read = self.db.begin_read().map_err(|e| self.err(e))?;
            let t = read.open_table(def).map_err(|e| self.err(e))?;
            for row in t.range(from..).map_err(|e| self.err(e))? {
                if scan.events.len() as u64 + scan.undecodable >= max as u64 {
                    return Ok(false);
                }
                let (k, v) = row.map_err(|e| self.err(e))?;
                last = Some(k.value());
                match codec::decode(v.value()) {
                    Ok(e) => scan.events.push(e),
                    Err(_) => scan.undecodable += 1,
                }
            }
            Ok(true)
        });
        let after_last = last.map_or(from, |k| k.saturating_add(1));
        match read {
            Ok(true) => {}
            Ok(false) => scan.next = Some(after_last),
            Err(e) => {
                scan.next = Some(after_last);
                scan.failed = Some(e);
            }
        }
        scan
    }

    /// How many events the store holds.
    ///
    /// # Errors
    ///
    /// [`StoreError`] from redb.
    pub fn counts(&self) -> Result<Counts, StoreError> {
        let read = self.db.begin_read().map_err(|e| self.err(e))?;
        let calls = read.open_table(CALLS).map_err(|e| self.err(e))?;
        let steps = read.open_table(STEPS).map_err(|e| self.err(e))?;
        let kinds = read.open_table(BY_ERROR_KIND).map_err(|e| self.err(e))?;
        Ok(Counts {
            calls: calls.len().map_err(|e| self.err(e))?,
            steps: steps.len().map_err(|e| self.err(e))?,
            errors: kinds.len().map_err(|e| self.err(e))?,
        })
    }

    /// Deletes every event whose user id is one of `user_ids`; returns how many.
    ///
    /// # Errors
    ///
    /// [`StoreError`] from redb.
    pub fn forget_users(&self, user_ids: &[&str]) -> Result<u64, StoreError> {
        let tx = self.db.begin_write().map_err(|e| self.err(e))?;
        let mut ids = Vec::new();
        {
            // No index by user (see the module docs): one pass over both tables, reading only
            // as far as each record's user id.
            for (def, is_step) in [(CALLS, 0u8), (STEPS, 1u8)] {
                let t = tx.open_table(def).map_err(|e| self.err(e))?;
                for row in t.iter().map_err(|e| self.err(e))? {
                    let (k, v) = row.map_err(|e| self.err(e))?;
                    let user = codec::user_id(v.value()).map_err(|e| StoreError::Corrupt {
                        path: self.path.clone(),
                        detail: e.to_string(),
                    })?;
                    if user_ids.contains(&user) {
                        ids.push((k.value(), is_step));
                    }
                }
            }
        }
        let n = ids.len() as u64;
        self.delete_ids(&tx, &ids)?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(n)
    }

    /// Deletes every event with an id below `before_id` (retention); returns how many.
    ///
    /// # Errors
    ///
    /// [`StoreError`] from redb.
    pub fn delete_before(&self, before_id: u64) -> Result<u64, StoreError> {
        let tx = self.db.begin_write().map_err(|e| self.err(e))?;
        let mut ids = Vec::new();
        {
            for (def, is_step) in [(CALLS, 0u8), (STEPS, 1u8)] {
                let t = tx.open_table(def).map_err(|e| self.err(e))?;
                for row in t.range(..before_id).map_err(|e| self.err(e))? {
                    let (k, _) = row.map_err(|e| self.err(e))?;
                    ids.push((k.value(), is_step));
                }
            }
        }
        let n = ids.len() as u64;
        self.delete_ids(&tx, &ids)?;
        {
            let mut meta = tx.open_table(META).map_err(|e| self.err(e))?;
            meta.insert("last_retention_us", crate::now_us() as u64)
                .map_err(|e| self.err(e))?;
            // Rows of journals untouched since the cutoff: their files are long gone (a live
            // process updates its row with every batch), and readers only need rows of
            // journals that still exist.
            let cutoff_us = (before_id >> 12) as i64;
            let mut journals = tx.open_table(JOURNALS).map_err(|e| self.err(e))?;
            journals
                .retain(|_, (_, updated_us)| updated_us >= cutoff_us)
                .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(n)
    }

    /// When retention last ran, µs since the epoch (0 if never).
    ///
    /// # Errors
    ///
    /// [`StoreError`] from redb.
    pub fn last_retention_us(&self) -> Result<i64, StoreError> {
        let read = self.db.begin_read().map_err(|e| self.err(e))?;
        let meta = read.open_table(META).map_err(|e| self.err(e))?;
        let v = meta
            .get("last_retention_us")
            .map_err(|e| self.err(e))?
            .map(|g| g.value())
            .unwrap_or(0);
        Ok(v as i64)
    }

    /// Deletes every event; returns how many.
    ///
    /// # Errors
    ///
    /// [`StoreError`] from redb.
    pub fn purge(&self) -> Result<u64, StoreError> {
        let counts = self.counts()?;
        let tx = self.db.begin_write().map_err(|e| self.err(e))?;
        {
            for def in [CALLS, STEPS] {
                let mut t = tx.open_table(def).map_err(|e| self.err(e))?;
                t.retain(|_, _| false).map_err(|e| self.err(e))?;
            }
            let mut t = tx.open_table(BY_ERROR_KIND).map_err(|e| self.err(e))?;
            t.retain(|_, _| false).map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(counts.calls + counts.steps)
    }

    /// Compacts the file when at least a quarter of it is free space; returns whether it did.
    /// Compaction needs the file to itself, so while another process has it open this is a
    /// no-op.
    pub fn compact_if_worth_it(&mut self) -> bool {
        let Ok(read) = self.db.begin_read() else {
            return false;
        };
        let mut stored = 0u64;
        for def in [CALLS, STEPS] {
            if let Ok(t) = read.open_table(def) {
                if let Ok(s) = t.stats() {
                    stored += s.stored_bytes() + s.metadata_bytes();
                }
            }
        }
        drop(read);
        let file_len = std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0);
        if file_len < (4 << 20) || stored * 4 > file_len * 3 {
            return false;
        }
        matches!(self.db.compact(), Ok(true))
    }

    fn delete_ids(&self, tx: &redb::WriteTransaction, ids: &[(u64, u8)]) -> Result<(), StoreError> {
        let mut calls = tx.open_table(CALLS).map_err(|e| self.err(e))?;
        let mut steps = tx.open_table(STEPS).map_err(|e| self.err(e))?;
        let mut by_kind = tx.open_table(BY_ERROR_KIND).map_err(|e| self.err(e))?;
        for &(id, is_step) in ids {
            if is_step == 1 {
                steps.remove(id).map_err(|e| self.err(e))?;
                continue;
            }
            let removed = calls
                .remove(id)
                .map_err(|e| self.err(e))?
                .map(|g| g.value().to_vec());
            let Some(bytes) = removed else { continue };
            if let Ok(Event::Call(CallEvent {
                error: Some(err), ..
            })) = codec::decode(&bytes)
            {
                by_kind
                    .remove((err.kind.as_str(), id))
                    .map_err(|e| self.err(e))?;
            }
        }
        Ok(())
    }
}

/// The id of an event.
pub fn event_id(e: &Event) -> u64 {
    match e {
        Event::Call(c) => c.id,
        Event::Step(s) => s.id,
    }
}

/// The timestamp of an event.
pub fn event_timestamp(e: &Event) -> i64 {
    match e {
        Event::Call(c) => c.timestamp_us,
        Event::Step(s) => s.timestamp_us,
    }
}

fn set_id(e: &mut Event, id: u64) {
    match e {
        Event::Call(c) => c.id = id,
        Event::Step(s) => s.id = id,
    }
}
