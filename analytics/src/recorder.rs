//! The recorder: journal first, then a background thread that batches events into redb.
//!
//! [`Recorder::record`] assigns the event its id, encodes it, appends it to this process's
//! journal (see [`journal`]) and queues it in memory; it returns once the append is done, so
//! an event whose `record` returned survives the process being killed. The recorder thread
//! is woken once per batch, not per event (a wake is a system call and a context switch,
//! which cost more than the rest of recording): by the first event of a batch, by the
//! [`MAX_BATCH`]th, and by flush and close. It commits batches (up to [`MAX_BATCH`] events or
//! [`BATCH_INTERVAL`] after the first pending one) together with the journal offset they
//! reach, in one redb transaction. A call never waits on a disk commit, and commits never run
//! on the thread of a measured call.
//!
//! Opening a recorder replays the journals of dead processes (their lock is free) from the
//! offset the store recorded for them, then deletes them. A clean [`Recorder::close`] ingests
//! everything and deletes its own journal.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::codec;
use crate::event::Event;
use crate::journal::{self, JournalWriter};
use crate::store::{first_id_at, Store, StoreError};

/// Most events per redb commit.
pub const MAX_BATCH: usize = 50_000;

/// Longest time an event waits in memory before its batch is committed.
pub const BATCH_INTERVAL: Duration = Duration::from_millis(50);

/// Pending events beyond which a store that keeps failing is given up for this process (the
/// journal keeps them for the next start).
const MAX_PENDING: usize = 200_000;

/// Where a store's files live.
#[derive(Debug, Clone)]
pub struct StorePaths {
    /// `<store>/analytics`.
    pub dir: PathBuf,
    /// `<store>/analytics/journal`.
    pub journals: PathBuf,
}

impl StorePaths {
    /// The paths under the store directory `store_dir` (`--store`, `LRDBENCH_HOME`, or
    /// `~/.lrdbench`).
    pub fn new(store_dir: &Path) -> StorePaths {
        let dir = store_dir.join("analytics");
        let journals = dir.join("journal");
        StorePaths { dir, journals }
    }
}

/// Options of [`Recorder::open`].
#[derive(Debug, Clone)]
pub struct RecorderOptions {
    /// Events older than this many days are deleted (checked at most once a day, at open).
    pub retention_days: u32,
}

/// What the recorder thread is told. Events do not travel here: they wait in
/// [`Pending`], and `Wake` says there is something to take.
enum Msg {
    Wake,
    Flush(mpsc::Sender<()>),
    Stop,
}

/// Events appended to the journal and not yet taken by the recorder thread, in journal order.
#[derive(Default)]
struct Pending {
    records: Vec<Vec<u8>>,
    /// Kept only so that they are freed on the recorder thread, not the caller's.
    events: Vec<Event>,
    /// Journal offset just past the last record.
    offset: u64,
}

struct JournalState {
    writer: JournalWriter,
    buf: Vec<u8>,
    last_time_us: i64,
    pending: Pending,
}

fn lock(journal: &Mutex<JournalState>) -> std::sync::MutexGuard<'_, JournalState> {
    // A poisoned lock only means another thread panicked between two plain writes; the state
    // (a file and buffers) is still consistent.
    journal.lock().unwrap_or_else(|p| p.into_inner())
}

struct Inner {
    journal: Arc<Mutex<JournalState>>,
    sender: mpsc::Sender<Msg>,
    worker: Mutex<Option<JoinHandle<bool>>>,
    tag: u64,
    session_id: String,
    paths: StorePaths,
    closed: AtomicBool,
}

/// Records events durably (journal) and stores them (redb) in the background. Cheap to clone;
/// all clones share one journal and one recorder thread.
#[derive(Clone)]
pub struct Recorder {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("session_id", &self.inner.session_id)
            .field("dir", &self.inner.paths.dir)
            .finish()
    }
}

/// What an open found and did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpenReport {
    /// Events replayed from journals of dead processes.
    pub replayed: u64,
    /// Events deleted by retention.
    pub expired: u64,
}

impl Recorder {
    /// Opens the store under `store_dir`, replays dead processes' journals, applies retention
    /// when due, and starts this process's journal and recorder thread.
    ///
    /// # Errors
    ///
    /// [`StoreError`] with a message saying what to do.
    pub fn open(
        store_dir: &Path,
        options: &RecorderOptions,
    ) -> Result<(Recorder, OpenReport), StoreError> {
        let paths = StorePaths::new(store_dir);
        std::fs::create_dir_all(&paths.journals).map_err(|e| StoreError::io(&paths.journals, e))?;
        let mut store = Store::open(&paths.dir)?;
        let mut report = OpenReport {
            replayed: replay_dead_journals(&store, &paths.journals)?,
            ..OpenReport::default()
        };
        let now = crate::now_us();
        const DAY_US: i64 = 86_400_000_000;
        if now - store.last_retention_us()? >= DAY_US {
            let cutoff = now - i64::from(options.retention_days) * DAY_US;
            report.expired = store.delete_before(first_id_at(cutoff))?;
            if report.expired > 0 {
                store.compact_if_worth_it();
            }
        }
        let session_id = random_hex(8);
        let writer = JournalWriter::create(&paths.journals, &session_id)
            .map_err(|e| StoreError::io(&paths.journals, e))?;
        let journal_name = session_id.clone();
        let journal = Arc::new(Mutex::new(JournalState {
            writer,
            buf: Vec::with_capacity(512),
            last_time_us: 0,
            pending: Pending::default(),
        }));
        let (sender, receiver) = mpsc::channel();
        let shared = Arc::clone(&journal);
        let worker = std::thread::Builder::new()
            .name("lrdbench-recorder".into())
            .spawn(move || run_worker(store, journal_name, shared, receiver))
            .map_err(|e| StoreError::io(&paths.dir, e))?;
        let tag = u64::from_str_radix(&random_hex(2), 16).unwrap_or(0) & 0xfff;
        let inner = Inner {
            journal,
            sender,
            worker: Mutex::new(Some(worker)),
            tag,
            session_id,
            paths,
            closed: AtomicBool::new(false),
        };
        Ok((
            Recorder {
                inner: Arc::new(inner),
            },
            report,
        ))
    }

    /// This process's session id (also its journal's name).
    pub fn session_id(&self) -> &str {
        &self.inner.session_id
    }

    /// The store's paths.
    pub fn paths(&self) -> &StorePaths {
        &self.inner.paths
    }

    /// Records one event: gives it a fresh time-ordered id (the `id` field is overwritten),
    /// writes it to the journal, and queues it for the store. Returns the id once the event is
    /// in the journal.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the journal cannot be written (disk full, ...) or the recorder is
    /// closed.
    pub fn record(&self, mut event: Event) -> Result<u64, StoreError> {
        let inner = &*self.inner;
        if inner.closed.load(Ordering::Acquire) {
            return Err(StoreError::Database {
                path: inner.paths.dir.clone(),
                detail: "the recorder is closed".into(),
            });
        }
        let mut j = lock(&inner.journal);
        let now = crate::now_us();
        let t = now.max(j.last_time_us + 1);
        j.last_time_us = t;
        let id = (t.max(0) as u64) << 12 | inner.tag;
        match &mut event {
            Event::Call(c) => c.id = id,
            Event::Step(s) => s.id = id,
        }
        let JournalState {
            writer,
            buf,
            pending,
            ..
        } = &mut *j;
        buf.clear();
        codec::encode(&event, buf);
        let bytes = buf.clone();
        let offset = writer
            .append(&bytes)
            .map_err(|e| StoreError::io(writer.path(), e))?;
        // Queued under the lock, so the recorder thread takes events in journal order: the
        // offset it commits always covers a prefix of the journal.
        pending.records.push(bytes);
        pending.events.push(event);
        pending.offset = offset;
        let queued = pending.records.len();
        if queued == 1 || queued == MAX_BATCH {
            let _ = inner.sender.send(Msg::Wake);
        }
        Ok(id)
    }

    /// Waits until every event recorded so far is committed to the store.
    pub fn flush(&self) {
        let (tx, rx) = mpsc::channel();
        if self.inner.sender.send(Msg::Flush(tx)).is_ok() {
            let _ = rx.recv();
        }
    }

    /// Commits everything, stops the recorder thread and, when every event reached the store,
    /// deletes this process's journal. Later `record` calls fail. Idempotent.
    pub fn close(&self) {
        let inner = &*self.inner;
        if inner.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let _ = inner.sender.send(Msg::Stop);
        let worker = inner
            .worker
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let all_stored = worker.map(|w| w.join().unwrap_or(false)).unwrap_or(false);
        if all_stored {
            let j = lock(&inner.journal);
            // Deleted while the lock is still held, so no other process replays it meanwhile.
            let _ = std::fs::remove_file(j.writer.path());
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if !self.closed.swap(true, Ordering::AcqRel) {
            let _ = self.sender.send(Msg::Stop);
            if let Some(w) = self.worker.get_mut().ok().and_then(Option::take) {
                if w.join().unwrap_or(false) {
                    let _ = std::fs::remove_file(lock(&self.journal).writer.path());
                }
            }
        }
    }
}

/// The recorder thread. Returns whether every event it received reached the store.
fn run_worker(
    store: Store,
    journal: String,
    shared: Arc<Mutex<JournalState>>,
    rx: mpsc::Receiver<Msg>,
) -> bool {
    let mut batch: Vec<Vec<u8>> = Vec::new();
    let mut offset = 0u64;
    let mut deadline: Option<Instant> = None;
    let mut warned = false;
    let mut given_up = false;
    let mut commit = |batch: &mut Vec<Vec<u8>>, offset: u64, given_up: &mut bool| {
        if batch.is_empty() || *given_up {
            batch.clear();
            return;
        }
        match store.ingest(batch, Some((&journal, offset))) {
            Ok(()) => batch.clear(),
            Err(e) => {
                if !warned {
                    eprintln!(
                        "warning: analytics: {e}; recorded events stay in the journal and are stored at the next start"
                    );
                    warned = true;
                }
                if batch.len() > MAX_PENDING {
                    *given_up = true;
                    batch.clear();
                }
            }
        }
    };
    let next_deadline =
        |batch: &Vec<Vec<u8>>| (!batch.is_empty()).then(|| Instant::now() + BATCH_INTERVAL);
    loop {
        let msg = match deadline {
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(d) => rx.recv_timeout(d.saturating_duration_since(Instant::now())),
        };
        take_pending(&shared, &mut batch, &mut offset);
        match msg {
            Ok(Msg::Wake) => {
                if batch.len() >= MAX_BATCH {
                    commit(&mut batch, offset, &mut given_up);
                    deadline = next_deadline(&batch);
                } else if deadline.is_none() {
                    deadline = next_deadline(&batch);
                }
            }
            Ok(Msg::Flush(ack)) => {
                commit(&mut batch, offset, &mut given_up);
                deadline = next_deadline(&batch);
                let _ = ack.send(());
            }
            Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => {
                commit(&mut batch, offset, &mut given_up);
                return batch.is_empty() && !given_up;
            }
            Err(RecvTimeoutError::Timeout) => {
                commit(&mut batch, offset, &mut given_up);
                deadline = next_deadline(&batch);
            }
        }
    }
}

/// Moves the queued records onto `batch` and frees their events, here rather than on the
/// callers' threads.
fn take_pending(shared: &Mutex<JournalState>, batch: &mut Vec<Vec<u8>>, offset: &mut u64) {
    let taken = std::mem::take(&mut lock(shared).pending);
    if taken.records.is_empty() {
        return;
    }
    *offset = taken.offset;
    if batch.is_empty() {
        *batch = taken.records;
    } else {
        batch.extend(taken.records);
    }
}

/// Replays every journal whose process is dead into `store`, then deletes it. Returns how many
/// events were stored.
///
/// # Errors
///
/// [`StoreError`] when the store cannot be written; journals stay for the next attempt.
pub fn replay_dead_journals(store: &Store, dir: &Path) -> Result<u64, StoreError> {
    let mut replayed = 0u64;
    for (name, path) in journal::list(dir).map_err(|e| StoreError::io(dir, e))? {
        let mut file = match File::options().read(true).write(true).open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(StoreError::io(&path, e)),
        };
        if !journal::try_lock(&file).map_err(|e| StoreError::io(&path, e))? {
            continue;
        }
        let from = store.journal_offset(&name)?.unwrap_or(journal::START);
        let frames = match journal::read_from(&mut file, from) {
            Ok(f) => f,
            // Not a journal of ours: leave it alone.
            Err(_) => continue,
        };
        for chunk in frames.chunks(MAX_BATCH) {
            // Only records that decode in full are stored: a damaged frame that passed its
            // CRC must not make the store unreadable.
            let batch: Vec<&[u8]> = chunk
                .iter()
                .map(|(payload, _)| payload.as_slice())
                .filter(|p| codec::decode(p).is_ok())
                .collect();
            let end = chunk.last().map(|(_, end)| *end).unwrap_or(from);
            store.ingest(&batch, Some((&name, end)))?;
            replayed += batch.len() as u64;
        }
        let _ = std::fs::remove_file(&path);
    }
    Ok(replayed)
}

/// `n` random bytes from the OS.
pub(crate) fn random_bytes(n: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; n];
    let ok = File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
        .is_ok();
    if !ok {
        // Without /dev/urandom, fall back to time and pid: unique enough for session names,
        // and the secret is then only as strong as that (the OS always has it on Linux).
        let seed = (crate::now_us() as u64) ^ (u64::from(std::process::id()) << 32);
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (seed.rotate_left(8 * i as u32) & 0xff) as u8;
        }
    }
    bytes
}

/// `n` random bytes from the OS, as lowercase hex.
pub(crate) fn random_hex(n: usize) -> String {
    random_bytes(n).iter().map(|b| format!("{b:02x}")).collect()
}
