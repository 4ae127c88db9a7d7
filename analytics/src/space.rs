//! A full disk: events that could not be written are counted, never silently dropped.
//!
//! Each recording process reserves, when it starts, one small file
//! `<store>/analytics/lost/<session>.count` (8 bytes, written then). An event whose journal
//! append fails (no space, a file size limit, a quota) adds one to the count, which is written
//! over those same 8 bytes: overwriting reserved bytes needs no new space, so the count is kept
//! on a full disk too. A process that lost nothing deletes its file at the end; `analytics
//! status` sums the files that remain, and `analytics purge` deletes them.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Whether `e` means "no space for this write": a full disk, a quota, or a file size limit.
pub fn is_no_space(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOSPC | libc::EDQUOT | libc::EFBIG)
    )
}

/// The directory of the counts of the store in `dir` (`<store>/analytics`).
fn lost_dir(dir: &Path) -> PathBuf {
    dir.join("lost")
}

/// This process's count of events that could not be recorded.
#[derive(Debug)]
pub struct LostEvents {
    count: AtomicU64,
    /// The reserved file, when it could be made.
    file: Option<(File, PathBuf)>,
}

impl LostEvents {
    /// Reserves the count file of session `session` of the store in `dir`. Without it (the
    /// disk is already full) the count is still kept in memory and reported by the process.
    pub fn reserve(dir: &Path, session: &str) -> LostEvents {
        let file = (|| {
            let lost = lost_dir(dir);
            std::os::unix::fs::DirBuilderExt::mode(
                std::fs::DirBuilder::new().recursive(true),
                0o700,
            )
            .create(&lost)?;
            let path = lost.join(format!("{session}.count"));
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)?;
            file.write_all_at(&0u64.to_le_bytes(), 0)?;
            Ok::<_, io::Error>((file, path))
        })()
        .ok();
        LostEvents {
            count: AtomicU64::new(0),
            file,
        }
    }

    /// Counts one more event that could not be recorded.
    pub fn add(&self) {
        let n = self.count.fetch_add(1, Ordering::AcqRel) + 1;
        if let Some((file, _)) = &self.file {
            // The reserved bytes: needs no space. A later, larger count overwrites a failure.
            let _ = file.write_all_at(&n.to_le_bytes(), 0);
        }
    }

    /// Events not recorded so far.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Acquire)
    }
}

impl Drop for LostEvents {
    fn drop(&mut self) {
        if self.count() == 0 {
            if let Some((_, path)) = &self.file {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

/// Events that processes of the store in `dir` could not record, summed over the count files
/// that remain (until `analytics purge` deletes them).
pub fn lost_total(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(lost_dir(dir)) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| {
            let mut b = [0u8; 8];
            File::open(e.path()).ok()?.read_exact_at(&mut b, 0).ok()?;
            Some(u64::from_le_bytes(b))
        })
        .sum()
}

/// Deletes the count files of the store in `dir` (`analytics purge`).
pub fn forget_lost(dir: &Path) {
    let _ = std::fs::remove_dir_all(lost_dir(dir));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_events_are_summed_across_processes_and_a_clean_process_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let a = LostEvents::reserve(dir.path(), "a");
        let b = LostEvents::reserve(dir.path(), "b");
        let clean = LostEvents::reserve(dir.path(), "c");
        for _ in 0..3 {
            a.add();
        }
        b.add();
        assert_eq!(lost_total(dir.path()), 4);
        drop((a, b, clean));
        assert_eq!(lost_total(dir.path()), 4);
        assert_eq!(std::fs::read_dir(lost_dir(dir.path())).unwrap().count(), 2);
        forget_lost(dir.path());
        assert_eq!(lost_total(dir.path()), 0);
    }
}
