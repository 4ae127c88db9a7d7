//! Never waiting on a stopped process: the store's database handle with bounded lock waits, and
//! the store-wide maintenance lock.
//!
//! redb's multi-process mode takes blocking `fcntl` locks: a writable open and every write
//! transaction wait on the *writer byte*, and every read transaction waits while another
//! process rewrites the file header during its commit. A process stopped (`kill -STOP`, Ctrl-Z)
//! inside a write transaction would make every later writer wait forever. `Db` looks at those
//! locks first, without taking them (`F_OFD_GETLK`), gives a holder [`LOCK_WAIT`] to let go,
//! and otherwise fails with [`TransactionError::WouldBlock`] (a [`StoreError::Busy`] to the
//! caller), so a writer falls back to its journal and a reader says what is wrong. Readers open
//! the file read-only (`Db::open_read_only`), which does not take the writer byte at all: a
//! stopped writer only holds them up if it was stopped while rewriting the header, a window of
//! a few page writes.
//!
//! The lock bytes mirror redb 4's locking protocol (`WRITER_BYTE`, the header range); the
//! tests below check them against a real transaction of the redb this build links.
//!
//! [`MaintenanceLock`]: rewriting the store into a fresh file (`analytics repair`, `forget`,
//! `purge`) must not race a process that still has the old file open, whose later commits would
//! go to a file no one reads. Every recorder and reader holds `<store>/analytics/store.lock`
//! shared for as long as it uses the store; a rewrite takes it exclusively, and only when no
//! one holds it.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use redb::{
    CompactionError, ConcurrencyMode, Database, DatabaseError, ReadOnlyDatabase, ReadTransaction,
    ReadableDatabase, TransactionError, WriteTransaction,
};

use crate::store::StoreError;

/// Longest time anything waits for another process's lock before giving up on it.
pub const LOCK_WAIT: Duration = Duration::from_secs(1);

/// Pause between two looks at a lock held by another process.
const POLL: Duration = Duration::from_millis(5);

/// redb's writer byte: held by a process for the length of its write transaction (and while
/// it opens the file writable).
const WRITER_BYTE: u64 = 1 << 62;

/// The first byte of redb's header range, locked exclusively while a commit rewrites it.
const HEADER_BYTE: u64 = 0;

const CACHE_BYTES: usize = 16 << 20;

/// The store's database: writable, or read-only for readers. Its methods have the names and
/// signatures of redb's, with every lock wait bounded by [`LOCK_WAIT`].
pub(crate) struct Db {
    /// Always `Some` but while being dropped.
    kind: Option<Kind>,
    /// A separate handle on the file, only to look at its locks.
    probe: File,
}

enum Kind {
    Rw(Database),
    Ro(ReadOnlyDatabase),
}

fn builder() -> redb::Builder {
    let mut builder = Database::builder();
    builder
        .set_cache_size(CACHE_BYTES)
        .set_concurrency_mode(ConcurrencyMode::MultiWriter);
    builder
}

/// Creates (or opens) a writable database at `path` without waiting on any lock.
pub(crate) fn create_database(path: &Path) -> Result<Database, StoreError> {
    builder()
        .create(path)
        .map_err(|e| StoreError::from_redb(path, e))
}

impl Db {
    /// Opens (creating it whole if missing) the database at `path` for writing, after waiting at
    /// most [`LOCK_WAIT`] for another process's write transaction.
    pub(crate) fn open(path: &Path) -> Result<Db, StoreError> {
        crate::repair::create_whole(path, create_database)?;
        let probe = probe_handle(path)?;
        wait_for(&probe, path, Lock::Writer)?;
        Ok(Db {
            kind: Some(Kind::Rw(create_database(path)?)),
            probe,
        })
    }

    /// Opens the existing database at `path` read-only: no writer lock is taken, so no writer,
    /// stopped or not, holds it up. `Ok(None)` when the file needs the recovery only a writable
    /// open does (a writer was killed and none is left).
    pub(crate) fn open_read_only(path: &Path) -> Result<Option<Db>, StoreError> {
        let probe = probe_handle(path)?;
        wait_for(&probe, path, Lock::Header)?;
        match builder().open_read_only(path) {
            Ok(db) => Ok(Some(Db {
                kind: Some(Kind::Ro(db)),
                probe,
            })),
            Err(DatabaseError::RepairAborted) => Ok(None),
            Err(e) => Err(StoreError::from_redb(path, e)),
        }
    }

    /// A read transaction, after waiting at most [`LOCK_WAIT`] for a commit's header rewrite.
    pub(crate) fn begin_read(&self) -> Result<ReadTransaction, TransactionError> {
        if !wait(&self.probe, Lock::Header) {
            return Err(TransactionError::WouldBlock);
        }
        match &self.kind {
            Some(Kind::Rw(db)) => db.begin_read(),
            Some(Kind::Ro(db)) => db.begin_read(),
            None => Err(closed()),
        }
    }

    /// A write transaction, after waiting at most [`LOCK_WAIT`] for the one in progress (in
    /// this process or another). Fails on a read-only handle.
    pub(crate) fn begin_write(&self) -> Result<WriteTransaction, TransactionError> {
        let Some(Kind::Rw(db)) = &self.kind else {
            return Err(TransactionError::Storage(redb::StorageError::Io(
                io::Error::other("the store was opened read-only"),
            )));
        };
        let deadline = Instant::now() + LOCK_WAIT;
        loop {
            match db.try_begin_write() {
                Err(TransactionError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(POLL)
                }
                other => return other,
            }
        }
    }

    /// redb's compaction (a no-op on a read-only handle).
    pub(crate) fn compact(&mut self) -> Result<bool, CompactionError> {
        match &mut self.kind {
            Some(Kind::Rw(db)) => db.compact(),
            _ => Ok(false),
        }
    }
}

fn closed() -> TransactionError {
    TransactionError::Storage(redb::StorageError::DatabaseClosed)
}

impl Drop for Db {
    fn drop(&mut self) {
        // Closing a damaged file can panic in redb too: caught like any other store work.
        if let Some(kind) = self.kind.take() {
            let _ = crate::guard::catch(Path::new(""), move || {
                drop(kind);
                Ok(())
            });
        }
    }
}

fn probe_handle(path: &Path) -> Result<File, StoreError> {
    OpenOptions::new()
        .read(true)
        .open(path)
        .map_err(|e| StoreError::io(path, e))
}

#[derive(Clone, Copy)]
enum Lock {
    /// Any hold of the writer byte.
    Writer,
    /// An exclusive hold of the header (a shared one does not stop a reader).
    Header,
}

/// Waits at most [`LOCK_WAIT`] until `lock` is free; `Busy` otherwise.
fn wait_for(probe: &File, path: &Path, lock: Lock) -> Result<(), StoreError> {
    if wait(probe, lock) {
        Ok(())
    } else {
        Err(StoreError::Busy {
            path: path.to_path_buf(),
        })
    }
}

/// Whether `lock` became (or was) free within [`LOCK_WAIT`]. A lock that cannot be looked at
/// counts as free: redb will then wait on it as it always did.
fn wait(probe: &File, lock: Lock) -> bool {
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        match held_elsewhere(probe, lock) {
            Ok(false) | Err(_) => return true,
            Ok(true) if Instant::now() >= deadline => return false,
            Ok(true) => std::thread::sleep(POLL),
        }
    }
}

/// Whether a lock that conflicts with taking `lock` is held by another open file description
/// (another process, or another handle of this one).
fn held_elsewhere(probe: &File, lock: Lock) -> io::Result<bool> {
    let (kind, start) = match lock {
        Lock::Writer => (libc::F_WRLCK, WRITER_BYTE),
        Lock::Header => (libc::F_RDLCK, HEADER_BYTE),
    };
    // SAFETY: a plain-data struct, all zeros is a valid value.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = kind as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = start as libc::off_t;
    fl.l_len = 1;
    // SAFETY: F_OFD_GETLK on an open descriptor, writing only into `fl`.
    let rc = unsafe { libc::fcntl(probe.as_raw_fd(), libc::F_OFD_GETLK, &mut fl) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(i32::from(fl.l_type) != libc::F_UNLCK)
}

/// The store-wide lock: held shared by every process that uses the store, exclusively by one
/// that replaces its file.
#[derive(Debug)]
pub struct MaintenanceLock {
    _file: File,
}

/// The lock file of the store in `dir` (`<store>/analytics`).
pub fn maintenance_path(dir: &Path) -> PathBuf {
    dir.join("store.lock")
}

impl MaintenanceLock {
    /// Takes the lock shared, waiting at most [`LOCK_WAIT`] for a rewrite in progress.
    ///
    /// # Errors
    ///
    /// [`StoreError::Busy`] when a rewrite holds it longer; an I/O error opening the file.
    pub fn shared(dir: &Path) -> Result<MaintenanceLock, StoreError> {
        let path = maintenance_path(dir);
        let file = open_lock_file(&path)?;
        let deadline = Instant::now() + LOCK_WAIT;
        loop {
            if flock(&file, libc::LOCK_SH).map_err(|e| StoreError::io(&path, e))? {
                return Ok(MaintenanceLock { _file: file });
            }
            if Instant::now() >= deadline {
                return Err(StoreError::Busy { path });
            }
            std::thread::sleep(POLL);
        }
    }

    /// Takes the lock exclusively if no other process uses the store; `Ok(None)` otherwise.
    ///
    /// # Errors
    ///
    /// An I/O error opening the file.
    pub fn exclusive(dir: &Path) -> Result<Option<MaintenanceLock>, StoreError> {
        let path = maintenance_path(dir);
        let file = open_lock_file(&path)?;
        Ok(flock(&file, libc::LOCK_EX)
            .map_err(|e| StoreError::io(&path, e))?
            .then_some(MaintenanceLock { _file: file }))
    }
}

fn open_lock_file(path: &Path) -> Result<File, StoreError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
    }
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| StoreError::io(path, e))
}

/// `flock(op | LOCK_NB)`: whether it was taken.
fn flock(file: &File, op: libc::c_int) -> io::Result<bool> {
    // SAFETY: flock on a valid, open descriptor.
    let rc = unsafe { libc::flock(file.as_raw_fd(), op | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    if e.kind() == io::ErrorKind::WouldBlock {
        Ok(false)
    } else {
        Err(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use redb::TableDefinition;

    const T: TableDefinition<u64, u64> = TableDefinition::new("t");

    #[test]
    fn the_probed_bytes_are_the_ones_redb_locks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.redb");
        let db = Db::open(&path).unwrap();
        let probe = probe_handle(&path).unwrap();
        assert!(!held_elsewhere(&probe, Lock::Writer).unwrap());
        let tx = db.begin_write().unwrap();
        tx.open_table(T).unwrap().insert(1, 1).unwrap();
        // A write transaction in progress holds the writer byte.
        assert!(held_elsewhere(&probe, Lock::Writer).unwrap());
        // A second writer gives up after LOCK_WAIT instead of waiting for it.
        let other = Db::open_read_only(&path).unwrap().unwrap();
        assert!(other.begin_write().is_err());
        let t0 = Instant::now();
        assert!(matches!(Db::open(&path), Err(StoreError::Busy { .. })));
        assert!(t0.elapsed() < LOCK_WAIT * 3);
        tx.commit().unwrap();
        assert!(!held_elsewhere(&probe, Lock::Writer).unwrap());
        // Readers never needed it.
        let r = other.begin_read().unwrap();
        assert_eq!(r.open_table(T).unwrap().get(1).unwrap().unwrap().value(), 1);
    }

    #[test]
    fn a_rewrite_waits_for_no_one_and_users_wait_at_most_lock_wait() {
        let dir = tempfile::tempdir().unwrap();
        let user = MaintenanceLock::shared(dir.path()).unwrap();
        assert!(MaintenanceLock::exclusive(dir.path()).unwrap().is_none());
        drop(user);
        let rewrite = MaintenanceLock::exclusive(dir.path()).unwrap().unwrap();
        let t0 = Instant::now();
        assert!(matches!(
            MaintenanceLock::shared(dir.path()),
            Err(StoreError::Busy { .. })
        ));
        assert!(t0.elapsed() >= LOCK_WAIT);
        drop(rewrite);
        MaintenanceLock::shared(dir.path()).unwrap();
    }
}
