//! Keeping a damaged or half-made store from stopping anything.
//!
//! - [`create_whole`]: a new store file appears under its name only once it is a complete,
//!   empty database, so a process killed while creating it leaves no file that later opens
//!   fail on.
//! - [`verify`] reads every event of the store and says what it could not read; [`repair`]
//!   copies what is readable into a fresh store, which replaces the damaged file in one rename
//!   (the damaged file is kept aside), then stores the journals that waited for it.
//! - [`rewrite`] replaces the store with a fresh copy of the events that a filter keeps: what
//!   `analytics forget` and `purge` use so that no byte of a deleted event stays in the file.
//!
//! Salvage and rewrite use only the store's event API ([`Store::scan`] to read,
//! [`Store::ingest`] to write), so they do not depend on how the store lays records out.

use std::path::{Path, PathBuf};

use crate::event::Event;
use crate::journal;
use crate::lock::MaintenanceLock;
use crate::recorder::StorePaths;
use crate::store::{self, Counts, Store, StoreError};

/// Records read per [`Store::scan`] and written per commit.
const CHUNK: usize = 20_000;

/// What reading a whole store found.
#[derive(Debug, Default)]
pub struct Salvage {
    /// Calls read.
    pub calls: u64,
    /// Steps read.
    pub steps: u64,
    /// Records that were read but did not decode (skipped).
    pub undecodable: u64,
    /// Ranges of event ids the database could not read past (a damaged page), as
    /// `(from, resumed_at)`; `resumed_at` is `u64::MAX` when nothing after `from` was readable.
    pub unreadable: Vec<(u64, u64)>,
    /// What the store's own counts say it holds, when those are readable.
    pub expected: Option<Counts>,
    /// Why the file could not be opened at all, when it could not.
    pub unopenable: Option<String>,
}

impl Salvage {
    /// Whether everything the store holds was read.
    pub fn is_clean(&self) -> bool {
        self.undecodable == 0
            && self.unreadable.is_empty()
            && self.unopenable.is_none()
            && self
                .expected
                .is_some_and(|c| c.calls == self.calls && c.steps == self.steps)
    }

    /// Events the store holds that were not read: from its own counts when readable (otherwise
    /// only the undecodable records are known).
    pub fn dropped(&self) -> Option<u64> {
        let c = self.expected?;
        Some((c.calls + c.steps).saturating_sub(self.calls + self.steps))
    }

    /// One line saying what could not be read, or `None` when everything was.
    pub fn problems(&self) -> Option<String> {
        if let Some(why) = &self.unopenable {
            return Some(format!(
                "the file cannot be opened ({why}): none of its events are readable"
            ));
        }
        if self.is_clean() {
            return None;
        }
        let mut parts = Vec::new();
        match self.dropped() {
            Some(n) => parts.push(format!("{n} of its events are unreadable")),
            None => parts.push("its event counts are unreadable".to_string()),
        }
        if self.undecodable > 0 {
            parts.push(format!("{} records did not decode", self.undecodable));
        }
        for (from, to) in &self.unreadable {
            let at = |id: u64| format_time((id >> 12) as i64);
            if *to == u64::MAX {
                parts.push(format!(
                    "nothing recorded from {} on could be read",
                    at(*from)
                ));
            } else {
                parts.push(format!(
                    "events recorded from {} to {} could not be read",
                    at(*from),
                    at(*to)
                ));
            }
        }
        Some(parts.join("; "))
    }
}

/// A time in µs since the epoch, as `YYYY-MM-DD HH:MM:SS UTC`.
fn format_time(us: i64) -> String {
    let secs = us.div_euclid(1_000_000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Reads every event of `src`, handing them to `sink` a chunk at a time (calls, then steps), and
/// says what could not be read. A damaged page is skipped by looking for the first id past it
/// from which the database reads again.
fn salvage_into(
    src: &Store,
    mut sink: impl FnMut(Vec<Event>) -> Result<(), StoreError>,
) -> Result<Salvage, StoreError> {
    let mut out = Salvage {
        expected: crate::guard::catch(src.path(), || src.counts()).ok(),
        ..Salvage::default()
    };
    for steps in [false, true] {
        let mut at = 0u64;
        loop {
            let scan = src.scan(steps, at, CHUNK);
            out.undecodable += scan.undecodable;
            let n = scan.events.len() as u64;
            if steps {
                out.steps += n;
            } else {
                out.calls += n;
            }
            if !scan.events.is_empty() {
                sink(scan.events)?;
            }
            let Some(next) = scan.next else { break };
            if scan.failed.is_none() {
                at = next;
                continue;
            }
            match resume_after(src, steps, next) {
                Some(resume) => {
                    out.unreadable.push((next, resume));
                    at = resume;
                }
                None => {
                    out.unreadable.push((next, u64::MAX));
                    break;
                }
            }
        }
    }
    Ok(out)
}

/// The smallest id past `bad` (found by doubling, then bisecting) from which `src` reads again,
/// or `None` when nothing past it is readable.
fn resume_after(src: &Store, steps: bool, bad: u64) -> Option<u64> {
    let reads = |from: u64| src.scan(steps, from, 1).failed.is_none();
    let mut step = 1u64;
    let mut ok = loop {
        let at = bad.checked_add(step)?;
        if reads(at) {
            break at;
        }
        step = step.checked_mul(2)?;
    };
    let mut fails = bad + step / 2;
    if step == 1 {
        return Some(ok);
    }
    while ok - fails > 1 {
        let mid = fails + (ok - fails) / 2;
        if reads(mid) {
            ok = mid;
        } else {
            fails = mid;
        }
    }
    Some(ok)
}

/// Opens the store file in `dir` for salvage, whatever state it is in.
fn open_for_salvage(dir: &Path) -> Result<Store, String> {
    let file = dir.join(store::FILE_NAME);
    crate::guard::catch(&file, || Store::open_read_only(dir))
        .or_else(|_| crate::guard::catch(&file, || Store::open(dir)))
        .map_err(|e| match e {
            StoreError::Corrupt { detail, .. } => detail,
            other => other.to_string(),
        })
}

/// Reads every event of the store under `store_dir` and says what could not be read. Changes
/// nothing.
///
/// # Errors
///
/// [`StoreError`] when the store is missing.
pub fn verify(store_dir: &Path) -> Result<Salvage, StoreError> {
    let paths = StorePaths::new(store_dir);
    let file = paths.dir.join(store::FILE_NAME);
    if !file.exists() {
        return Err(StoreError::io(
            &file,
            std::io::Error::from(std::io::ErrorKind::NotFound),
        ));
    }
    match open_for_salvage(&paths.dir) {
        Ok(src) => salvage_into(&src, |_| Ok(())),
        Err(why) => Ok(Salvage {
            unopenable: Some(why),
            ..Salvage::default()
        }),
    }
}

/// What [`repair`] did.
#[derive(Debug)]
pub struct Repaired {
    /// What was read from the damaged store (and copied into the fresh one).
    pub salvage: Salvage,
    /// Where the damaged file is kept.
    pub aside: PathBuf,
    /// Events then stored from journals that had waited for a usable store.
    pub replayed: u64,
}

/// Replaces the store under `store_dir` with a fresh one holding every event that can be read
/// from it: the fresh file is built beside it and renamed over it in one step, the damaged file
/// is kept as `analytics.redb.damaged-<time>`, and the journals of dead processes are then
/// stored. Refused while another process uses the store.
///
/// # Errors
///
/// [`StoreError::Busy`] while another process uses the store; I/O errors making the new file.
pub fn repair(store_dir: &Path) -> Result<Repaired, StoreError> {
    let paths = StorePaths::new(store_dir);
    let file = paths.dir.join(store::FILE_NAME);
    let _lock = MaintenanceLock::exclusive(&paths.dir)?
        .ok_or_else(|| StoreError::Busy { path: file.clone() })?;
    // The damaged file itself is kept aside (a second name for it, which it keeps once the
    // fresh file takes its place); salvage reads a copy, which opening may change.
    let aside = paths.dir.join(format!(
        "{}.damaged-{}",
        store::FILE_NAME,
        crate::now_us() / 1_000_000
    ));
    let salvage_dir = paths.dir.join(format!(".salvage-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&salvage_dir);
    std::fs::create_dir_all(&salvage_dir).map_err(|e| StoreError::io(&salvage_dir, e))?;
    let copy = salvage_dir.join(store::FILE_NAME);
    std::fs::copy(&file, &copy).map_err(|e| StoreError::io(&file, e))?;
    std::fs::hard_link(&file, &aside).map_err(|e| StoreError::io(&aside, e))?;
    let src = open_for_salvage(&salvage_dir);
    let offsets = |src: &Store| -> Vec<(String, u64)> {
        journal::list(&paths.journals)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(name, _)| {
                let off = crate::guard::catch(src.path(), || src.journal_offset(&name)).ok()??;
                Some((name, off))
            })
            .collect()
    };
    let result = rewrite_with(&paths, |fresh| match &src {
        Ok(src) => {
            let salvage = salvage_into(src, |events| insert(fresh, &events))?;
            for (name, off) in offsets(src) {
                fresh.ingest::<&[u8]>(&[], Some((name.as_str(), off)))?;
            }
            Ok(salvage)
        }
        Err(why) => Ok(Salvage {
            unopenable: Some(why.clone()),
            ..Salvage::default()
        }),
    });
    drop(src);
    let salvage = match result {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_file(&aside);
            let _ = std::fs::remove_dir_all(&salvage_dir);
            return Err(e);
        }
    };
    let _ = std::fs::remove_dir_all(&salvage_dir);
    let replayed = {
        let fresh = Store::open(&paths.dir)?;
        crate::recorder::replay_dead_journals(&fresh, &paths.journals)?
    };
    Ok(Repaired {
        salvage,
        aside,
        replayed,
    })
}

fn insert(fresh: &Store, events: &[Event]) -> Result<(), StoreError> {
    let mut records = Vec::with_capacity(events.len());
    for e in events {
        let mut buf = Vec::new();
        crate::codec::encode(e, &mut buf);
        records.push(buf);
    }
    fresh.ingest(&records, None)
}

/// Builds a fresh store with `fill` beside the store in `paths` and renames it over the store
/// file in one step (readers see the old file or the new one, never a mix). The caller holds
/// the maintenance lock exclusively.
fn rewrite_with<T>(
    paths: &StorePaths,
    fill: impl FnOnce(&Store) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let file = paths.dir.join(store::FILE_NAME);
    let tmp_dir = paths.dir.join(format!(".rewrite-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp_dir);
    let made = (|| {
        let fresh = Store::open(&tmp_dir)?;
        let out = fill(&fresh)?;
        drop(fresh);
        let new = tmp_dir.join(store::FILE_NAME);
        std::fs::File::open(&new)
            .and_then(|f| f.sync_all())
            .map_err(|e| StoreError::io(&new, e))?;
        std::fs::rename(&new, &file).map_err(|e| StoreError::io(&file, e))?;
        if let Ok(d) = std::fs::File::open(&paths.dir) {
            let _ = d.sync_all();
        }
        Ok(out)
    })();
    let _ = std::fs::remove_dir_all(&tmp_dir);
    made
}

/// Replaces the store under `store_dir` with a fresh, empty file (`analytics purge`): no byte
/// of the old one stays in the store. The caller holds the maintenance lock exclusively.
///
/// # Errors
///
/// [`StoreError`] when the new file cannot be made; the store is then unchanged.
pub fn replace_with_empty(store_dir: &Path, _lock: &MaintenanceLock) -> Result<(), StoreError> {
    rewrite_with(&StorePaths::new(store_dir), |_| Ok(()))
}

/// What [`rewrite`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rewritten {
    /// Events kept.
    pub kept: u64,
    /// Events left out.
    pub removed: u64,
}

/// Replaces the store under `store_dir` with a fresh file holding only the events that `keep`
/// accepts, so that no byte of the others stays in it. The caller holds the maintenance lock
/// exclusively (see [`MaintenanceLock::exclusive`]) and has stored the dead journals.
///
/// # Errors
///
/// [`StoreError`] when the store cannot be read in full (a damaged store is repaired first) or
/// the new file cannot be written; the store is then unchanged.
pub fn rewrite(
    store_dir: &Path,
    _lock: &MaintenanceLock,
    keep: impl Fn(&Event) -> bool,
) -> Result<Rewritten, StoreError> {
    let paths = StorePaths::new(store_dir);
    let src = Store::open(&paths.dir)?;
    let names: Vec<String> = journal::list(&paths.journals)
        .map_err(|e| StoreError::io(&paths.journals, e))?
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let mut done = Rewritten::default();
    rewrite_with(&paths, |fresh| {
        let salvage = salvage_into(&src, |events| {
            let before = events.len() as u64;
            let kept: Vec<Event> = events.into_iter().filter(|e| keep(e)).collect();
            done.kept += kept.len() as u64;
            done.removed += before - kept.len() as u64;
            insert(fresh, &kept)
        })?;
        if let Some(problems) = salvage.problems() {
            return Err(StoreError::Corrupt {
                path: src.path().to_path_buf(),
                detail: problems,
            });
        }
        for name in &names {
            if let Some(off) = src.journal_offset(name)? {
                fresh.ingest::<&[u8]>(&[], Some((name.as_str(), off)))?;
            }
        }
        Ok(())
    })?;
    Ok(done)
}

/// Creates the store file at `path` if it does not exist: the database is built under a
/// temporary name beside it, closed, and linked into place (without replacing a file another
/// process made meanwhile).
///
/// # Errors
///
/// As `build`, or an I/O error linking the file.
pub fn create_whole<T>(
    path: &Path,
    build: impl FnOnce(&Path) -> Result<T, StoreError>,
) -> Result<(), StoreError> {
    if path.exists() {
        return Ok(());
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}.new", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let made = build(&tmp);
    let result = match made {
        Ok(db) => {
            drop(db);
            match std::fs::hard_link(&tmp, path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
                Err(e) => Err(StoreError::io(path, e)),
            }
        }
        Err(e) => Err(e),
    };
    let _ = std::fs::remove_file(&tmp);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_store_appears_whole_and_no_temporary_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("analytics.redb");
        create_whole(&path, |p| {
            std::fs::write(p, b"whole").map_err(|e| StoreError::io(p, e))
        })
        .unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"whole");
        // Existing: untouched.
        create_whole(&path, |p| {
            std::fs::write(p, b"other").map_err(|e| StoreError::io(p, e))
        })
        .unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"whole");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
