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
//! on the thread of a measured call. The in-memory queue is only a copy of the journal's tail,
//! so it is bounded ([`RecorderOptions::max_pending`]): when calls outpace commits, the events
//! past a full queue are kept by the journal alone, and the recorder thread reads them back
//! from it, in order, 8 MiB at a time.
//!
//! Opening a recorder replays the journals of dead processes (their lock is free) from the
//! offset the store recorded for them, then deletes them. A clean [`Recorder::close`] ingests
//! everything and deletes its own journal.

use std::fs::File;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::codec;
use crate::codec::Who;
use crate::event::{CallView, Event, Machine, StepView};
use crate::journal::{self, JournalWriter};
use crate::lock::MaintenanceLock;
use crate::store::{first_id_at, Store, StoreError};

/// Most events per redb commit.
pub const MAX_BATCH: usize = 50_000;

/// Longest time an event waits in memory before its batch is committed. Every commit costs
/// redb's fixed work (its header, two `fdatasync`s, the branch pages rewritten) whatever the
/// batch holds: in a cheap sweep, commits every 50 ms were a quarter of the recorder thread's
/// time. Nothing waits on a commit (readers take the journals' tails as well, and a kill loses
/// nothing the journal holds), so the interval only bounds how stale the store file alone is.
pub(crate) const BATCH_INTERVAL: Duration = Duration::from_millis(250);

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

/// Default of [`RecorderOptions::max_pending`]: four full batches, about 60 MB of records.
pub const DEFAULT_MAX_PENDING: usize = 4 * MAX_BATCH;

/// Bytes of journal the recorder thread reads at a time when it takes spilled events back
/// from the file (about 25,000 events).
const SPILL_READ: usize = 8 << 20;

/// Options of [`Recorder::open`].
#[derive(Debug, Clone)]
pub struct RecorderOptions {
    /// Events older than this many days are deleted (checked at most once a day, at open).
    pub retention_days: u32,
    /// Most events queued in memory for the recorder thread. Past it, events are written to
    /// the journal only, and the thread reads them back from there, so memory stays bounded
    /// when calls come faster than commits (a slow disk) and no caller ever waits.
    pub max_pending: usize,
}

impl Default for RecorderOptions {
    fn default() -> Self {
        RecorderOptions {
            retention_days: 90,
            max_pending: DEFAULT_MAX_PENDING,
        }
    }
}

/// What the recorder thread is told. Events do not travel here: they wait in
/// [`Pending`], and `Wake` says there is something to take.
enum Msg {
    Wake,
    /// The queue reached [`RecorderOptions::max_pending`] and events now spill to the
    /// journal only: take them now.
    Full,
    Flush(mpsc::Sender<()>),
    Stop,
}

/// Encoded events one after another in one buffer: recording an event appends its bytes
/// instead of allocating a buffer of its own, and the buffers change hands between the callers
/// and the recorder thread with their capacity kept.
#[derive(Default)]
struct Records {
    bytes: Vec<u8>,
    /// End of each record in `bytes`.
    ends: Vec<usize>,
}

impl Records {
    fn len(&self) -> usize {
        self.ends.len()
    }

    fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }

    /// Appends one record.
    fn push(&mut self, record: &[u8]) {
        self.bytes.extend_from_slice(record);
        self.ends.push(self.bytes.len());
    }

    /// Moves `other`'s records after these, leaving `other` empty with its capacity.
    fn append(&mut self, other: &mut Records) {
        if self.is_empty() {
            std::mem::swap(self, other);
            return;
        }
        let base = self.bytes.len();
        self.bytes.extend_from_slice(&other.bytes);
        self.ends.extend(other.ends.iter().map(|e| base + e));
        other.clear();
    }

    fn slices(&self) -> Vec<&[u8]> {
        let mut start = 0;
        self.ends
            .iter()
            .map(|&end| {
                let r = &self.bytes[start..end];
                start = end;
                r
            })
            .collect()
    }
}

/// Events appended to the journal and not yet taken by the recorder thread, in journal order.
#[derive(Default)]
struct Pending {
    records: Records,
    /// Journal offset just past the last record.
    offset: u64,
    /// Where the journal-only events start, once the queue was full: the events from there to
    /// `offset` are read back from the journal (they all come after `records`).
    spill_from: Option<u64>,
}

struct JournalState {
    writer: JournalWriter,
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
    max_pending: usize,
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
        // A store that cannot be used (damaged, held by a stopped process, ...) does not stop
        // recording: the events stay in this process's journal, and a later process stores
        // them once the store is usable again.
        let (store, report) = match open_store(&paths, options) {
            Ok((store, lock, report)) => (Some((store, lock)), report),
            Err(e) => {
                eprintln!(
                    "warning: analytics: {e}; this run's events are kept in its journal and stored once the store is usable"
                );
                (None, OpenReport::default())
            }
        };
        let session_id = random_hex(8);
        let writer = JournalWriter::create(&paths.journals, &session_id)
            .map_err(|e| StoreError::io(&paths.journals, e))?;
        let journal_name = session_id.clone();
        let journal = Arc::new(Mutex::new(JournalState {
            writer,
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
            max_pending: options.max_pending.max(1),
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
        self.append(|id, out| {
            match &mut event {
                Event::Call(c) => c.id = id,
                Event::Step(s) => s.id = id,
            }
            codec::encode(&event, out);
        })
    }

    /// Records one call event from borrowed data, as [`Recorder::record`] records an owned
    /// one; `user_id` and `machine` complete it (the session is this recorder's).
    ///
    /// # Errors
    ///
    /// As [`Recorder::record`].
    pub fn record_call(
        &self,
        call: &CallView<'_>,
        user_id: &str,
        machine: Option<&Machine>,
    ) -> Result<u64, StoreError> {
        self.append(|id, out| {
            let who = Who {
                id,
                user_id,
                session_id: &self.inner.session_id,
                machine,
            };
            codec::encode_call_view(call, &who, out);
        })
    }

    /// Records one workflow step from borrowed data, as [`Recorder::record`] records an owned
    /// one; `user_id` completes it (the session is this recorder's).
    ///
    /// # Errors
    ///
    /// As [`Recorder::record`].
    pub fn record_step_view(&self, step: &StepView<'_>, user_id: &str) -> Result<u64, StoreError> {
        self.append(|id, out| {
            let who = Who {
                id,
                user_id,
                session_id: &self.inner.session_id,
                machine: None,
            };
            codec::encode_step_view(step, &who, out);
        })
    }

    /// Gives the next event its id, has `encode` append its bytes to the pending records,
    /// writes them to the journal and queues them, all under the journal lock.
    fn append(&self, encode: impl FnOnce(u64, &mut Vec<u8>)) -> Result<u64, StoreError> {
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
        let JournalState {
            writer, pending, ..
        } = &mut *j;
        // Encoded in place at the end of the pending records: no buffer of its own, no copy
        // but the journal's.
        let records = &mut pending.records;
        let start = records.bytes.len();
        let frame_at = writer.len();
        encode(id, &mut records.bytes);
        let offset = match writer.append(&records.bytes[start..]) {
            Ok(offset) => offset,
            Err(e) => {
                records.bytes.truncate(start);
                return Err(StoreError::io(writer.path(), e));
            }
        };
        // Queued under the lock, so the recorder thread takes events in journal order: the
        // offset it commits always covers a prefix of the journal.
        pending.offset = offset;
        if pending.spill_from.is_none() && records.len() < inner.max_pending {
            records.ends.push(records.bytes.len());
            let queued = records.len();
            if queued == 1 || queued == MAX_BATCH {
                let _ = inner.sender.send(Msg::Wake);
            }
        } else {
            // Full: the event is kept by the journal alone, and so is every later one until
            // the recorder thread takes the queue, so that it reads them back in order.
            records.bytes.truncate(start);
            if pending.spill_from.is_none() {
                pending.spill_from = Some(frame_at);
                let _ = inner.sender.send(Msg::Full);
            }
        }
        Ok(id)
    }

    /// Events queued for the recorder thread right now.
    #[cfg(test)]
    pub(crate) fn pending_len(&self) -> usize {
        lock(&self.inner.journal).pending.records.len()
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

/// The recorder thread's state: the batch being built and how far into the journal it reaches.
struct Worker {
    /// `None` when the store could not be opened: every event then stays in the journal.
    store: Option<Store>,
    /// Held while the store is open, so that no rewrite replaces the file under it.
    _lock: Option<MaintenanceLock>,
    /// This process's journal: its name (the store's key for its offset) and path.
    journal: String,
    path: PathBuf,
    /// A read handle on the journal, opened at the first spill.
    reader: Option<File>,
    batch: Records,
    /// The buffers handed back to the callers in exchange for theirs, capacity kept.
    spare: Records,
    /// Journal offset just past the last event in `batch` (or committed).
    offset: u64,
    warned: bool,
    /// Set at `Stop`: a commit that fails now leaves its events to the journal.
    closing: bool,
    /// Set when the store kept failing (or the journal could not be read back): the events
    /// from here on stay in the journal for the next start.
    given_up: bool,
}

impl Worker {
    fn warn(&mut self, what: &dyn std::fmt::Display) {
        if !self.warned {
            eprintln!(
                "warning: analytics: {what}; recorded events stay in the journal and are stored at the next start"
            );
            self.warned = true;
        }
    }

    /// Commits the batch with the journal offset it reaches; on failure keeps it for the next
    /// try, up to [`MAX_PENDING`] events.
    fn commit(&mut self) {
        if self.batch.is_empty() || self.given_up {
            self.batch.clear();
            return;
        }
        let Some(store) = &self.store else {
            self.given_up = true;
            self.batch.clear();
            return;
        };
        let committed = crate::guard::catch(store.path(), || {
            store.ingest(&self.batch.slices(), Some((&self.journal, self.offset)))
        });
        match committed {
            Ok(()) => self.batch.clear(),
            // Another process holds the writer lock: the batch waits for the next try (the
            // last one, at close, leaves it to the journal).
            Err(StoreError::Busy { .. }) if !self.closing => {
                if self.batch.len() > MAX_PENDING {
                    self.given_up = true;
                    self.batch.clear();
                }
            }
            Err(e) => {
                self.warn(&e);
                // A damaged store will not heal within this run.
                if matches!(e, StoreError::Corrupt { .. }) || self.batch.len() > MAX_PENDING {
                    self.given_up = true;
                    self.batch.clear();
                }
            }
        }
    }

    /// Moves the queued records onto the batch, leaving the empty spare (with its capacity) to
    /// the callers in their place, so that neither side allocates in the steady state; then
    /// reads back from the journal the events that spilled past a full queue, committing
    /// whole batches as it goes.
    fn take(&mut self, shared: &Mutex<JournalState>) {
        let spill = {
            let mut j = lock(shared);
            if j.pending.records.is_empty() && j.pending.spill_from.is_none() {
                return;
            }
            let spill = j
                .pending
                .spill_from
                .take()
                .map(|from| from..j.pending.offset);
            self.offset = spill.as_ref().map_or(j.pending.offset, |s| s.start);
            std::mem::swap(&mut j.pending.records, &mut self.spare);
            spill
        };
        self.batch.append(&mut self.spare);
        if let Some(range) = spill {
            self.read_back(range);
        }
    }

    /// Appends the journal's events in `range` to the batch, [`SPILL_READ`] bytes at a time
    /// (more when one frame is longer), committing whole batches as it goes.
    fn read_back(&mut self, range: Range<u64>) {
        let mut at = range.start;
        let mut bytes = Vec::new();
        while at < range.end && !self.given_up {
            let mut len = (range.end - at).min(SPILL_READ as u64);
            let read = loop {
                if let Err(e) = self.read_at(at, len, &mut bytes) {
                    break Err(e);
                }
                let frames = journal::frame_slices(&bytes, at);
                if !frames.is_empty() || len == range.end - at {
                    break Ok(frames);
                }
                len = (2 * len).min(range.end - at);
            };
            match read {
                Ok(frames) if !frames.is_empty() => {
                    for (payload, end) in frames {
                        self.batch.push(payload);
                        self.offset = end;
                        at = end;
                    }
                }
                Ok(_) => {
                    let what = format!("journal {} ends early", self.path.display());
                    self.warn(&what);
                    self.given_up = true;
                }
                Err(e) => {
                    let what = format!("reading {}: {e}", self.path.display());
                    self.warn(&what);
                    self.given_up = true;
                }
            }
            if self.batch.len() >= MAX_BATCH {
                self.commit();
            }
        }
        if self.given_up {
            self.batch.clear();
        }
    }

    /// Reads `len` bytes of the journal from offset `at` into `bytes`.
    fn read_at(&mut self, at: u64, len: u64, bytes: &mut Vec<u8>) -> std::io::Result<()> {
        use std::io::{Read, Seek, SeekFrom};
        let file = match &mut self.reader {
            Some(file) => file,
            reader => reader.insert(File::open(&self.path)?),
        };
        bytes.resize(len as usize, 0);
        file.seek(SeekFrom::Start(at))?;
        file.read_exact(bytes)
    }
}

/// The recorder thread. Returns whether every event it received reached the store.
fn run_worker(
    store: Option<(Store, MaintenanceLock)>,
    journal: String,
    shared: Arc<Mutex<JournalState>>,
    rx: mpsc::Receiver<Msg>,
) -> bool {
    let path = lock(&shared).writer.path().to_path_buf();
    let given_up = store.is_none();
    let (store, store_lock) = store.map_or((None, None), |(s, l)| (Some(s), Some(l)));
    let mut w = Worker {
        store,
        _lock: store_lock,
        journal,
        path,
        reader: None,
        batch: Records::default(),
        spare: Records::default(),
        offset: 0,
        warned: false,
        closing: false,
        given_up,
    };
    let mut deadline: Option<Instant> = None;
    let next_deadline =
        |batch: &Records| (!batch.is_empty()).then(|| Instant::now() + BATCH_INTERVAL);
    loop {
        let msg = match deadline {
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(d) => rx.recv_timeout(d.saturating_duration_since(Instant::now())),
        };
        match msg {
            // The first event of a batch: only start the clock. Its events stay pending, so
            // the callers recording the rest of the batch find a queue that is not empty and
            // send no more wakes; taking them now would make every next event a first one,
            // and each wake a system call on the caller's thread.
            Ok(Msg::Wake) if deadline.is_none() => {
                deadline = Some(Instant::now() + BATCH_INTERVAL);
            }
            // The MAX_BATCH-th event of a batch (or a wake that raced with a take), or a full
            // queue spilling to the journal.
            Ok(Msg::Wake | Msg::Full) => {
                w.take(&shared);
                if w.batch.len() >= MAX_BATCH {
                    w.commit();
                }
                deadline = next_deadline(&w.batch);
            }
            Ok(Msg::Flush(ack)) => {
                w.take(&shared);
                w.commit();
                deadline = next_deadline(&w.batch);
                let _ = ack.send(());
            }
            Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => {
                w.closing = true;
                w.take(&shared);
                w.commit();
                return w.batch.is_empty() && !w.given_up;
            }
            Err(RecvTimeoutError::Timeout) => {
                w.take(&shared);
                w.commit();
                deadline = next_deadline(&w.batch);
            }
        }
    }
}

/// Opens the store for a recorder: takes the maintenance lock (shared), replays dead
/// processes' journals and applies retention when due. A panic of the database on a damaged
/// file is an error here.
fn open_store(
    paths: &StorePaths,
    options: &RecorderOptions,
) -> Result<(Store, MaintenanceLock, OpenReport), StoreError> {
    let lock = MaintenanceLock::shared(&paths.dir)?;
    let file = paths.dir.join(crate::store::FILE_NAME);
    let (store, report) = crate::guard::catch(&file, || {
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
        Ok((store, report))
    })?;
    Ok((store, lock, report))
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
        // Resynchronising past damaged frames; a damaged journal is kept aside, not deleted.
        let (frames, damaged) = match journal::read_resync(&mut file, from) {
            Ok(s) => (s.frames, s.damaged_bytes > 0),
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
        if damaged {
            let aside = journal::keep_aside(&path);
            eprintln!(
                "warning: analytics journal {} had damaged frames; every readable event was \
                 stored, and the file is kept as {}",
                path.display(),
                aside.display()
            );
        } else {
            let _ = std::fs::remove_file(&path);
        }
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
