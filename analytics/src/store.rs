//! The redb store: `<store>/analytics/analytics.redb`, its tables and their invariants.
//!
//! Tables (keys are event ids: `time_us << 12 | tag`, so key order is time order):
//! - `call_records`, `step_records`: id → the event in `crate::compact` form (about 50 and
//!   20 bytes; the strings they share live once in `strings`);
//! - `strings`: symbol → dictionary entry (`crate::compact::Dict`), append-only: an entry
//!   is blanked by `analytics forget` and everything goes with `purge`, and either bumps
//!   `meta.dict_epoch` so that every writer reloads its cached copy;
//! - `by_error_kind`: (kind, id) → (), one row per failed call (the error counts of
//!   `analytics status`, without decoding every call);
//! - `unreadable`: key → bytes of a record that could not be decoded when it was ingested or
//!   migrated: kept (nothing is thrown away) and counted, never fatal;
//! - `journals`: journal name → (offset ingested, when, µs): updated in the same transaction as
//!   the events it covers, which is what makes replay exactly-once;
//! - `meta`: `schema_version`, `last_retention_us`, `dict_epoch`.
//!
//! Why so few indexes: every report reads a period of time, which is a key range of the
//! record tables; an index per component, user or run would be written with every event and
//! read by nothing on a hot path. Deleting one user's events (`analytics forget`, rare) scans
//! the tables instead, comparing one symbol per record.
//!
//! Schema history, migrated on open in one transaction (so a kill leaves the old store
//! whole): schema 1 had `by_component`, `by_user` and `by_run` indexes (dropped); schemas 1
//! and 2 kept each event in its journal form (`crate::codec`, ~500 bytes a call) in tables
//! `calls` and `steps`, which are converted record by record into the compact tables (a record
//! that does not decode goes to `unreadable`). A newer build's store is refused, and this
//! build's store is refused by older builds (its schema version is newer than theirs).
//!
//! A record that does not decode when read (a flipped byte) is skipped and counted
//! ([`Events::skipped`], [`CallTable::skipped`]): one bad record never stops a report.
//!
//! Every process opens the file in redb's `MultiWriter` mode: several host processes and a
//! report can have it open at once, write transactions take turns across processes. redb's
//! cache is kept at 16 MiB so that the store's memory stays out of the plugins' measurements.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use redb::{ReadableTable, ReadableTableMetadata, TableDefinition, TableError, TableHandle};

use rayon::prelude::*;

use std::sync::{Mutex, PoisonError};

use crate::codec::{self, RecordRef};
use crate::compact::{self, Dict};
use crate::event::{CallEvent, Event, StepEvent};
use crate::table::{CallRow, CallTable};
use crate::wire::DecodeError;

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: u64 = 3;

/// The file name of the store within `<store>/analytics/`.
pub const FILE_NAME: &str = "analytics.redb";

/// Records decoded per parallel task when reading: enough that a task's overhead vanishes,
/// few enough that every core gets a share of a small period.
const DECODE_CHUNK: usize = 4096;

/// Decodes a batch of records on every core: `bytes` holds the records one after another and
/// `rows` each one's id and end offset. A record that does not decode is `None`.
fn decode_batch<T: Send>(
    bytes: &[u8],
    rows: &[(u64, usize)],
    dict: &[Box<[u8]>],
    decode: Decoder<T>,
) -> Vec<Option<T>> {
    (0..rows.len())
        .into_par_iter()
        .with_min_len(DECODE_CHUNK)
        .map(|i| {
            let start = if i == 0 { 0 } else { rows[i - 1].1 };
            let (id, end) = rows[i];
            decode(id, &bytes[start..end], dict).ok()
        })
        .collect()
}

const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const CALLS: TableDefinition<u64, &[u8]> = TableDefinition::new("call_records");
const STEPS: TableDefinition<u64, &[u8]> = TableDefinition::new("step_records");
const STRINGS: TableDefinition<u32, &[u8]> = TableDefinition::new("strings");
const UNREADABLE: TableDefinition<u64, &[u8]> = TableDefinition::new("unreadable");
/// The record tables of schemas 1 and 2 (journal-form records), converted on open.
const V2_CALLS: TableDefinition<u64, &[u8]> = TableDefinition::new("calls");
const V2_STEPS: TableDefinition<u64, &[u8]> = TableDefinition::new("steps");
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
    /// Stored records of the period that could not be decoded, skipped.
    pub skipped: u64,
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
    /// Records kept aside because they could not be decoded.
    pub unreadable: u64,
}

/// An open store.
pub struct Store {
    db: crate::lock::Db,
    path: PathBuf,
    /// The writer's copy of the `strings` table (synchronised at the start of every write
    /// transaction, see [`Store::sync_dict`]).
    dict: Mutex<Dict>,
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
        let store = Store {
            db,
            path,
            dict: Mutex::new(Dict::new(u64::MAX)),
        };
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
        let store = Store {
            db,
            path,
            dict: Mutex::new(Dict::new(u64::MAX)),
        };
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
            _ => self.upgrade(),
        }
    }

    /// Creates or migrates the store to [`SCHEMA_VERSION`], in one transaction.
    fn upgrade(&self) -> Result<(), StoreError> {
        let tx = self.db.begin_write().map_err(|e| self.err(e))?;
        let mut dict = self.dict.lock().unwrap_or_else(PoisonError::into_inner);
        let result = self.upgrade_in(&tx, &mut dict);
        let result = result.and_then(|()| tx.commit().map_err(|e| self.err(e)));
        match result {
            Ok(()) => dict.commit(),
            Err(_) => *dict = Dict::new(u64::MAX),
        }
        result
    }

    fn upgrade_in(&self, tx: &redb::WriteTransaction, dict: &mut Dict) -> Result<(), StoreError> {
        let current = {
            let meta = tx.open_table(META).map_err(|e| self.err(e))?;
            let v = meta.get("schema_version").map_err(|e| self.err(e))?;
            v.map(|g| g.value())
        };
        // Another process may have created or migrated the store meanwhile.
        if current == Some(SCHEMA_VERSION) {
            return Ok(());
        }
        if let Some(v) = current.filter(|&v| v > SCHEMA_VERSION) {
            return Err(StoreError::NewerVersion {
                path: self.path.clone(),
                found: v,
                supported: SCHEMA_VERSION,
            });
        }
        // Schema 1 → 2: the extra indexes go.
        tx.delete_table(V1_BY_COMPONENT).map_err(|e| self.err(e))?;
        tx.delete_table(V1_BY_USER).map_err(|e| self.err(e))?;
        tx.delete_table(V1_BY_RUN).map_err(|e| self.err(e))?;
        // Create every table, so readers never meet a missing one.
        tx.open_table(CALLS).map_err(|e| self.err(e))?;
        tx.open_table(STEPS).map_err(|e| self.err(e))?;
        tx.open_table(STRINGS).map_err(|e| self.err(e))?;
        tx.open_table(UNREADABLE).map_err(|e| self.err(e))?;
        tx.open_table(BY_ERROR_KIND).map_err(|e| self.err(e))?;
        tx.open_table(JOURNALS).map_err(|e| self.err(e))?;
        self.sync_dict(tx, dict)?;
        // Schema 2 → 3: every record from its journal form into the compact one, under the
        // same key. The error-kind index and journal offsets are keyed by id and stay valid.
        let old: Vec<String> = tx
            .list_tables()
            .map_err(|e| self.err(e))?
            .map(|h| h.name().to_string())
            .collect();
        for (def, new) in [(V2_CALLS, CALLS), (V2_STEPS, STEPS)] {
            if !old.iter().any(|n| n == def.name()) {
                continue;
            }
            let from = tx.open_table(def).map_err(|e| self.err(e))?;
            let mut to = tx.open_table(new).map_err(|e| self.err(e))?;
            let mut aside = tx.open_table(UNREADABLE).map_err(|e| self.err(e))?;
            let mut buf = Vec::new();
            for row in from.iter().map_err(|e| self.err(e))? {
                let (k, v) = row.map_err(|e| self.err(e))?;
                let (key, bytes) = (k.value(), v.value());
                match codec::read(bytes) {
                    Ok(rec) => {
                        buf.clear();
                        compact::encode(&rec, key, dict, &mut buf);
                        to.insert(key, buf.as_slice()).map_err(|e| self.err(e))?;
                    }
                    Err(_) => {
                        aside.insert(key, bytes).map_err(|e| self.err(e))?;
                    }
                }
            }
            drop(from);
            tx.delete_table(def).map_err(|e| self.err(e))?;
        }
        self.write_pending(tx, dict)?;
        let mut meta = tx.open_table(META).map_err(|e| self.err(e))?;
        meta.insert("schema_version", SCHEMA_VERSION)
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Brings the writer's dictionary up to the `strings` table of `tx`: the entries other
    /// processes added since, or all of them when the epoch changed (a forget or purge).
    fn sync_dict(&self, tx: &redb::WriteTransaction, dict: &mut Dict) -> Result<(), StoreError> {
        let epoch = {
            let meta = tx.open_table(META).map_err(|e| self.err(e))?;
            let v = meta.get("dict_epoch").map_err(|e| self.err(e))?;
            v.map_or(0, |g| g.value())
        };
        let strings = tx.open_table(STRINGS).map_err(|e| self.err(e))?;
        let len = strings.len().map_err(|e| self.err(e))? as usize;
        if epoch != dict.epoch || len < dict.len() {
            *dict = Dict::new(epoch);
        }
        if len > dict.len() {
            let from = u32::try_from(dict.len()).unwrap_or(u32::MAX);
            for row in strings.range(from..).map_err(|e| self.err(e))? {
                let (_, v) = row.map_err(|e| self.err(e))?;
                dict.load(v.value());
            }
        }
        Ok(())
    }

    /// Writes the dictionary entries made in this transaction.
    fn write_pending(&self, tx: &redb::WriteTransaction, dict: &Dict) -> Result<(), StoreError> {
        let mut strings = tx.open_table(STRINGS).map_err(|e| self.err(e))?;
        for (sym, entry) in dict.pending() {
            strings.insert(sym, entry).map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    /// The whole dictionary as of `read` (what decoding needs).
    fn read_dict(&self, read: &redb::ReadTransaction) -> Result<Vec<Box<[u8]>>, StoreError> {
        let t = read.open_table(STRINGS).map_err(|e| self.err(e))?;
        let mut entries = Vec::with_capacity(t.len().map_err(|e| self.err(e))? as usize);
        for row in t.iter().map_err(|e| self.err(e))? {
            let (_, v) = row.map_err(|e| self.err(e))?;
            entries.push(v.value().into());
        }
        Ok(entries)
    }

    /// Runs `f` in a write transaction with the synchronised dictionary, and commits; the
    /// dictionary keeps the entries `f` made only when the commit succeeds.
    fn write<T>(
        &self,
        f: impl FnOnce(&redb::WriteTransaction, &mut Dict) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let tx = self.db.begin_write().map_err(|e| self.err(e))?;
        let mut dict = self.dict.lock().unwrap_or_else(PoisonError::into_inner);
        let result = self.sync_dict(&tx, &mut dict).and_then(|()| {
            let v = f(&tx, &mut dict)?;
            self.write_pending(&tx, &dict)?;
            Ok(v)
        });
        let result = result.and_then(|v| tx.commit().map_err(|e| self.err(e)).map(|()| v));
        match result {
            Ok(_) => dict.commit(),
            Err(_) => dict.rollback(),
        }
        result
    }

    /// Writes `records` (events in `codec` form, as the journals hold them) in one
    /// transaction, converted to the store's `compact` form, and, when given, records that
    /// journal `name` is ingested up to `offset` in the same transaction.
    ///
    /// An id already taken by a different event (two processes in the same microsecond with
    /// the same tag) moves the new event to the next free id; an identical event already
    /// stored is skipped, so a replay can never duplicate. A record that does not decode is
    /// kept in `unreadable` (and counted by [`Store::counts`]) instead of failing the batch.
    ///
    /// # Errors
    ///
    /// [`StoreError`] from redb; nothing of the batch is stored then.
    pub fn ingest<R: AsRef<[u8]>>(
        &self,
        records: &[R],
        journal: Option<(&str, u64)>,
    ) -> Result<(), StoreError> {
        self.write(|tx, dict| {
            let mut calls = tx.open_table(CALLS).map_err(|e| self.err(e))?;
            let mut steps = tx.open_table(STEPS).map_err(|e| self.err(e))?;
            let mut by_kind = tx.open_table(BY_ERROR_KIND).map_err(|e| self.err(e))?;
            let mut aside = tx.open_table(UNREADABLE).map_err(|e| self.err(e))?;
            let mut buf = Vec::with_capacity(256);
            for bytes in records {
                let bytes = bytes.as_ref();
                let rec = match codec::read(bytes) {
                    Ok(rec) => rec,
                    Err(_) => {
                        let last = aside.last().map_err(|e| self.err(e))?;
                        let key = last.map_or(0, |(k, _)| k.value().saturating_add(1));
                        aside.insert(key, bytes).map_err(|e| self.err(e))?;
                        continue;
                    }
                };
                let table = match rec {
                    RecordRef::Step(_) => &mut steps,
                    RecordRef::Call(_) => &mut calls,
                };
                let mut id = rec.id();
                loop {
                    buf.clear();
                    compact::encode(&rec, id, dict, &mut buf);
                    let previous = table
                        .insert(id, buf.as_slice())
                        .map_err(|e| self.err(e))?
                        .map(|g| g.value().to_vec());
                    match previous {
                        None => break,
                        // The same event again: a replay of what is already stored.
                        Some(old) if old == buf => break,
                        Some(old) => {
                            // Put the other event back and move this one to the next id.
                            table.insert(id, old.as_slice()).map_err(|e| self.err(e))?;
                            id += 1;
                        }
                    }
                }
                if let RecordRef::Call(codec::CallRef { error: Some(e), .. }) = rec {
                    by_kind.insert((e.kind, id), ()).map_err(|e| self.err(e))?;
                }
            }
            if let Some((name, offset)) = journal {
                let mut j = tx.open_table(JOURNALS).map_err(|e| self.err(e))?;
                j.insert(name, (offset, crate::now_us()))
                    .map_err(|e| self.err(e))?;
            }
            Ok(())
        })
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
    /// snapshot. Records that do not decode are skipped and counted in [`Events::skipped`].
    ///
    /// # Errors
    ///
    /// [`StoreError`] from redb.
    pub fn read_since(&self, since_us: i64) -> Result<(Events, HashMap<String, u64>), StoreError> {
        let read = self.db.begin_read().map_err(|e| self.err(e))?;
        let dict = self.read_dict(&read)?;
        let (calls, bad_calls) = self.read_records(&read, CALLS, since_us, &dict, as_call)?;
        let (steps, bad_steps) = self.read_records(&read, STEPS, since_us, &dict, as_step)?;
        let events = Events {
            calls,
            steps,
            skipped: bad_calls + bad_steps,
        };
        Ok((events, self.journal_offsets(&read)?))
    }

    /// As [`Store::read_since`], with the calls as a [`CallTable`] (the reports' form; its
    /// [`CallTable::skipped`] counts the undecodable call and step records). The calls are
    /// decoded on this thread while the steps are decoded on the others.
    ///
    /// # Errors
    ///
    /// [`StoreError`] from redb.
    pub fn read_table_since(&self, since_us: i64) -> Result<TableSnapshot, StoreError> {
        let read = self.db.begin_read().map_err(|e| self.err(e))?;
        let dict = self.read_dict(&read)?;
        let (calls, steps) = rayon::join(
            || self.read_call_table(&read, since_us, &dict),
            || self.read_records(&read, STEPS, since_us, &dict, as_step),
        );
        let (mut calls, (steps, bad_steps)) = (calls?, steps?);
        calls.skipped += bad_steps;
        Ok((calls, steps, self.journal_offsets(&read)?))
    }

    fn read_call_table(
        &self,
        read: &redb::ReadTransaction,
        since_us: i64,
        dict: &[Box<[u8]>],
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
            .map(|(a, b)| self.read_call_range(&t, a..b, since_us, dict))
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
        dict: &[Box<[u8]>],
    ) -> Result<CallTable, StoreError> {
        let mut table = CallTable::default();
        for row in t.range(keys).map_err(|e| self.err(e))? {
            let (k, v) = row.map_err(|e| self.err(e))?;
            let (id, v) = (k.value(), v.value());
            // Ids follow the time of recording, which is at or after the event's own time, so
            // the range can start a little early.
            match compact::head(id, v) {
                Ok(h) if h.timestamp_us < since_us => continue,
                Ok(_) => {}
                Err(_) => {
                    table.skipped += 1;
                    continue;
                }
            }
            match compact::read(id, v, dict) {
                Ok(compact::Record::Call(c)) => push_call(&mut table, &c),
                _ => table.skipped += 1,
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

    /// The records of `def` with `timestamp_us >= since_us`, decoded by `decode`, in key
    /// order, and how many did not decode (skipped).
    ///
    /// redb's iterator runs on this thread and only copies the values into one buffer (after
    /// a look at each record's timestamp); decoding, the costly part (every string is
    /// allocated), then runs on every core.
    fn read_records<T: Send>(
        &self,
        read: &redb::ReadTransaction,
        def: TableDefinition<u64, &[u8]>,
        since_us: i64,
        dict: &[Box<[u8]>],
        decode: Decoder<T>,
    ) -> Result<(Vec<T>, u64), StoreError> {
        let t = read.open_table(def).map_err(|e| self.err(e))?;
        let mut bytes = Vec::new();
        let mut rows: Vec<(u64, usize)> = Vec::new();
        let mut skipped = 0u64;
        for row in t.range(first_id_at(since_us)..).map_err(|e| self.err(e))? {
            let (k, v) = row.map_err(|e| self.err(e))?;
            let (id, v) = (k.value(), v.value());
            // Ids follow the time of recording, which is at or after the event's own time, so
            // the range can start a little early.
            match compact::head(id, v) {
                Ok(h) if h.timestamp_us < since_us => {}
                Ok(_) => {
                    bytes.extend_from_slice(v);
                    rows.push((id, bytes.len()));
                }
                Err(_) => skipped += 1,
            }
        }
        let decoded = decode_batch(&bytes, &rows, dict, decode);
        drop(bytes);
        let mut out = Vec::with_capacity(decoded.len());
        for d in decoded {
            match d {
                Some(v) => out.push(v),
                None => skipped += 1,
            }
        }
        Ok((out, skipped))
    }

    /// A read snapshot, for visiting the stored records one batch at a time
    /// ([`Snapshot::visit_calls`], [`Snapshot::visit_steps`]) without holding them all.
    ///
    /// # Errors
    ///
    /// [`StoreError`] from redb.
    pub fn snapshot(&self) -> Result<Snapshot<'_>, StoreError> {
        let read = self.db.begin_read().map_err(|e| self.err(e))?;
        let dict = self.read_dict(&read)?;
        Ok(Snapshot {
            store: self,
            read,
            dict,
        })
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
            let dict = self.read_dict(&read)?;
            let t = read.open_table(def).map_err(|e| self.err(e))?;
            for row in t.range(from..).map_err(|e| self.err(e))? {
                if scan.events.len() as u64 + scan.undecodable >= max as u64 {
                    return Ok(false);
                }
                let (k, v) = row.map_err(|e| self.err(e))?;
                last = Some(k.value());
                match compact::decode(k.value(), v.value(), &dict) {
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
        let len = |def: TableDefinition<u64, &[u8]>| -> Result<u64, StoreError> {
            let t = read.open_table(def).map_err(|e| self.err(e))?;
            t.len().map_err(|e| self.err(e))
        };
        let kinds = read.open_table(BY_ERROR_KIND).map_err(|e| self.err(e))?;
        Ok(Counts {
            calls: len(CALLS)?,
            steps: len(STEPS)?,
            errors: kinds.len().map_err(|e| self.err(e))?,
            unreadable: len(UNREADABLE)?,
        })
    }

    /// Deletes every event whose user id is one of `user_ids`; returns how many. The user ids
    /// leave the dictionary too.
    ///
    /// # Errors
    ///
    /// [`StoreError`] from redb.
    pub fn forget_users(&self, user_ids: &[&str]) -> Result<u64, StoreError> {
        let n = self.write(|tx, dict| {
            let syms: Vec<u32> = user_ids.iter().filter_map(|u| dict.user(u)).collect();
            if syms.is_empty() {
                return Ok(0);
            }
            let mut ids = Vec::new();
            // No index by user (see the module docs): one pass over both tables, reading only
            // each record's head.
            for (def, is_step) in [(CALLS, 0u8), (STEPS, 1u8)] {
                let t = tx.open_table(def).map_err(|e| self.err(e))?;
                for row in t.iter().map_err(|e| self.err(e))? {
                    let (k, v) = row.map_err(|e| self.err(e))?;
                    if let Ok(h) = compact::head(k.value(), v.value()) {
                        if syms.contains(&h.user) {
                            ids.push((k.value(), is_step));
                        }
                    }
                }
            }
            self.delete_ids(tx, &ids, dict.entries())?;
            // Blank the user ids' entries; the new epoch makes every writer reload.
            let mut strings = tx.open_table(STRINGS).map_err(|e| self.err(e))?;
            for &sym in &syms {
                strings.insert(sym, &[][..]).map_err(|e| self.err(e))?;
            }
            let mut meta = tx.open_table(META).map_err(|e| self.err(e))?;
            meta.insert("dict_epoch", dict.epoch.wrapping_add(1))
                .map_err(|e| self.err(e))?;
            Ok(ids.len() as u64)
        })?;
        Ok(n)
    }

    /// Deletes every event with an id below `before_id` (retention); returns how many.
    ///
    /// # Errors
    ///
    /// [`StoreError`] from redb.
    pub fn delete_before(&self, before_id: u64) -> Result<u64, StoreError> {
        self.write(|tx, dict| {
            let mut ids = Vec::new();
            for (def, is_step) in [(CALLS, 0u8), (STEPS, 1u8)] {
                let t = tx.open_table(def).map_err(|e| self.err(e))?;
                for row in t.range(..before_id).map_err(|e| self.err(e))? {
                    let (k, _) = row.map_err(|e| self.err(e))?;
                    ids.push((k.value(), is_step));
                }
            }
            let n = ids.len() as u64;
            self.delete_ids(tx, &ids, dict.entries())?;
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
            Ok(n)
        })
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

    /// Deletes every event (and the records kept aside as unreadable, and the dictionary);
    /// returns how many events.
    ///
    /// # Errors
    ///
    /// [`StoreError`] from redb.
    pub fn purge(&self) -> Result<u64, StoreError> {
        let counts = self.counts()?;
        self.write(|tx, dict| {
            for def in [CALLS, STEPS, UNREADABLE] {
                let mut t = tx.open_table(def).map_err(|e| self.err(e))?;
                t.retain(|_, _| false).map_err(|e| self.err(e))?;
            }
            let mut t = tx.open_table(BY_ERROR_KIND).map_err(|e| self.err(e))?;
            t.retain(|_, _| false).map_err(|e| self.err(e))?;
            let mut t = tx.open_table(STRINGS).map_err(|e| self.err(e))?;
            t.retain(|_, _| false).map_err(|e| self.err(e))?;
            let mut meta = tx.open_table(META).map_err(|e| self.err(e))?;
            meta.insert("dict_epoch", dict.epoch.wrapping_add(1))
                .map_err(|e| self.err(e))?;
            // Nothing is pending, and the entries are gone: start afresh after the commit.
            *dict = Dict::new(u64::MAX);
            Ok(())
        })?;
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
        for def in [CALLS, STEPS, UNREADABLE] {
            if let Ok(t) = read.open_table(def) {
                if let Ok(s) = t.stats() {
                    stored += s.stored_bytes() + s.metadata_bytes();
                }
            }
        }
        if let Ok(t) = read.open_table(STRINGS) {
            if let Ok(s) = t.stats() {
                stored += s.stored_bytes() + s.metadata_bytes();
            }
        }
        drop(read);
        let file_len = std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0);
        if file_len < (4 << 20) || stored * 4 > file_len * 3 {
            return false;
        }
        matches!(self.db.compact(), Ok(true))
    }

    fn delete_ids(
        &self,
        tx: &redb::WriteTransaction,
        ids: &[(u64, u8)],
        dict: &[Box<[u8]>],
    ) -> Result<(), StoreError> {
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
            if let Ok(CallEvent {
                error: Some(err), ..
            }) = as_call(id, &bytes, dict)
            {
                by_kind
                    .remove((err.kind.as_str(), id))
                    .map_err(|e| self.err(e))?;
            }
        }
        Ok(())
    }
}

/// How many records a [`Snapshot`] visit decodes at once (side by side on every core): the
/// most it holds at any time.
const VISIT_BATCH: usize = 16_384;

/// One read snapshot of a [`Store`]: its records visited in key order, a batch at a time, so
/// that reading a period costs memory by the batch, not by the period.
pub struct Snapshot<'s> {
    store: &'s Store,
    read: redb::ReadTransaction,
    dict: Vec<Box<[u8]>>,
}

impl Snapshot<'_> {
    /// How far each journal was stored, as of this snapshot.
    ///
    /// # Errors
    ///
    /// [`StoreError`] from redb.
    pub fn journal_offsets(&self) -> Result<HashMap<String, u64>, StoreError> {
        self.store.journal_offsets(&self.read)
    }

    /// Hands `f` every stored call with `timestamp_us >= since_us`, in key (id) order; returns
    /// how many records did not decode (skipped).
    ///
    /// # Errors
    ///
    /// [`StoreError`] from redb.
    pub fn visit_calls(&self, since_us: i64, f: impl FnMut(CallEvent)) -> Result<u64, StoreError> {
        self.visit(CALLS, since_us, as_call, f)
    }

    /// As [`Snapshot::visit_calls`], for the steps.
    ///
    /// # Errors
    ///
    /// [`StoreError`] from redb.
    pub fn visit_steps(&self, since_us: i64, f: impl FnMut(StepEvent)) -> Result<u64, StoreError> {
        self.visit(STEPS, since_us, as_step, f)
    }

    fn visit<T: Send>(
        &self,
        def: TableDefinition<u64, &[u8]>,
        since_us: i64,
        decode: Decoder<T>,
        mut f: impl FnMut(T),
    ) -> Result<u64, StoreError> {
        let err = |e: redb::StorageError| self.store.err(e);
        let t = self.read.open_table(def).map_err(|e| self.store.err(e))?;
        let mut bytes = Vec::new();
        let mut rows: Vec<(u64, usize)> = Vec::with_capacity(VISIT_BATCH);
        let mut skipped = 0u64;
        let dict = &self.dict;
        let mut flush = |bytes: &mut Vec<u8>, rows: &mut Vec<(u64, usize)>, skipped: &mut u64| {
            let decoded = decode_batch(bytes, rows, dict, decode);
            for d in decoded {
                match d {
                    Some(v) => f(v),
                    None => *skipped += 1,
                }
            }
            bytes.clear();
            rows.clear();
        };
        for row in t.range(first_id_at(since_us)..).map_err(err)? {
            let (k, v) = row.map_err(err)?;
            let (id, v) = (k.value(), v.value());
            // Ids follow the time of recording, which is at or after the event's own time, so
            // the range can start a little early.
            match compact::head(id, v) {
                Ok(h) if h.timestamp_us < since_us => {}
                Ok(_) => {
                    bytes.extend_from_slice(v);
                    rows.push((id, bytes.len()));
                    if rows.len() == VISIT_BATCH {
                        flush(&mut bytes, &mut rows, &mut skipped);
                    }
                }
                Err(_) => skipped += 1,
            }
        }
        flush(&mut bytes, &mut rows, &mut skipped);
        Ok(skipped)
    }
}

/// A decoder of one stored record (key, bytes, dictionary).
type Decoder<T> = fn(u64, &[u8], &[Box<[u8]>]) -> Result<T, DecodeError>;

/// Appends a decoded call to `table`, borrowing its strings (no owned event per call).
fn push_call(table: &mut CallTable, c: &compact::CallRec<'_>) {
    table.begin_params();
    for (k, v) in c.parameters.pairs() {
        table.push_param(k, v);
    }
    let params = table.end_params();
    table.push_row(
        &CallRow {
            id: c.id,
            timestamp_us: c.timestamp_us,
            event_type: c.event_type,
            component: c.component,
            data_length: c.data_length,
            success: c.success,
            user: c.user_id,
            session: c.session_id,
            truth_h: c.truth_h,
            perf: c
                .performance
                .map(|p| (p.wall_ns, p.heap_peak, p.cpu_percent)),
            error: c.error.as_ref().map(|e| (e.0, e.1.as_str())),
        },
        params,
    );
}

/// Decodes a stored record that must be a call.
fn as_call(id: u64, bytes: &[u8], dict: &[Box<[u8]>]) -> Result<CallEvent, DecodeError> {
    match compact::decode(id, bytes, dict)? {
        Event::Call(c) => Ok(c),
        Event::Step(_) => Err(DecodeError("a step in the calls table")),
    }
}

/// Decodes a stored record that must be a step.
fn as_step(id: u64, bytes: &[u8], dict: &[Box<[u8]>]) -> Result<StepEvent, DecodeError> {
    match compact::decode(id, bytes, dict)? {
        Event::Step(s) => Ok(s),
        Event::Call(_) => Err(DecodeError("a call in the steps table")),
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
