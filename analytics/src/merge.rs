//! Importing the events of other stores (`lrdbench-host analytics merge`), so the reports of
//! one store cover a sweep whose shards recorded into stores of their own.
//!
//! Events keep their ids, and the store skips an event it already holds under the same id,
//! so merging the same store twice adds nothing. Only the public store API is used: events
//! are read like a report reads them ([`crate::read_events`], journals included) and written
//! with [`Store::ingest`].
//!
//! Privacy: user ids are HMAC-SHA-256 under the recording store's secret
//! (`<store>/analytics/secret`). Events are imported unchanged only from a store with the
//! same secret — shards of one user sharing the store directory, or stores given a copy of
//! the same secret — so the same user keeps one id. A store with another secret (or none) is
//! refused unless re-keying is asked for: its user ids are then replaced by the HMAC, under
//! this store's secret, of `foreign:` and the id as recorded, which keeps its users apart from
//! each other and unlinkable to their ids in the other store (a foreign id can never be
//! matched to a user here, since the name behind it is unknown). Pseudonyms of series and
//! cells stay as recorded: opaque either way.

use std::path::{Path, PathBuf};

use crate::event::Event;
use crate::recorder::StorePaths;
use crate::store::{Store, StoreError};
use crate::{codec, privacy};

/// Why a store cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// The source store was keyed with another secret.
    #[error("{} hashes user ids with another secret than {}: give both stores the same `analytics/secret`, or merge with --rekey to hash its ids again under this store's secret", from.display(), into.display())]
    OtherSecret {
        /// The source store directory.
        from: PathBuf,
        /// The target store directory.
        into: PathBuf,
    },
    /// The source has no analytics store at all.
    #[error("{}: no analytics store here (no analytics/ directory)", .0.display())]
    NoStore(PathBuf),
    /// A store or secret error.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An I/O error on a secret.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// What a merge did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MergeStats {
    /// Events read from the source.
    pub read: u64,
    /// Events the target did not hold before.
    pub added: u64,
    /// Whether user ids were re-keyed.
    pub rekeyed: bool,
}

fn secret_of(store_dir: &Path) -> Result<Option<Vec<u8>>, MergeError> {
    let path = StorePaths::new(store_dir).dir.join("secret");
    match std::fs::read(&path) {
        Ok(bytes) if bytes.len() == privacy::SECRET_LEN => Ok(Some(bytes)),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(MergeError::Io { path, source }),
    }
}

/// Events per write transaction.
const BATCH: usize = 4096;

/// Imports every event of the store under `from` into the store under `into` (both store
/// directories, the ones holding `analytics/`). With `rekey`, a store keyed with another
/// secret is re-keyed (see the module documentation); without, it is refused.
///
/// # Errors
///
/// [`MergeError`]: another secret without `rekey`, no store at `from`, or a store error
/// (nothing of a failed batch is stored; batches before it are, and a new merge completes
/// the rest without duplicates).
pub fn merge_store(from: &Path, into: &Path, rekey: bool) -> Result<MergeStats, MergeError> {
    let from_paths = StorePaths::new(from);
    if !from_paths.dir.is_dir() {
        return Err(MergeError::NoStore(from.to_path_buf()));
    }
    let into_paths = StorePaths::new(into);
    let target_secret =
        privacy::load_or_create_secret(&into_paths.dir).map_err(|source| MergeError::Io {
            path: into_paths.dir.join("secret"),
            source,
        })?;
    let same = secret_of(from)?.is_some_and(|s| s == target_secret);
    if !same && !rekey {
        return Err(MergeError::OtherSecret {
            from: from.to_path_buf(),
            into: into.to_path_buf(),
        });
    }
    let events = crate::read_events(from, i64::MIN)?;
    let target = Store::open(&into_paths.dir)?;
    let before = target.counts()?;
    let fix = |user: &mut String| {
        if !same && !user.is_empty() {
            *user = privacy::hash_user_id(&target_secret, &format!("foreign:{user}"));
        }
    };
    let mut stats = MergeStats {
        read: events.len() as u64,
        added: 0,
        rekeyed: !same,
    };
    let mut batch: Vec<Vec<u8>> = Vec::with_capacity(BATCH);
    let all = events
        .calls
        .into_iter()
        .map(|mut c| {
            fix(&mut c.user_id);
            Event::Call(c)
        })
        .chain(events.steps.into_iter().map(|mut s| {
            fix(&mut s.user_id);
            Event::Step(s)
        }));
    for e in all {
        let mut bytes = Vec::new();
        codec::encode(&e, &mut bytes);
        batch.push(bytes);
        if batch.len() == BATCH {
            target.ingest(&batch, None)?;
            batch.clear();
        }
    }
    if !batch.is_empty() {
        target.ingest(&batch, None)?;
    }
    let after = target.counts()?;
    stats.added = (after.calls + after.steps).saturating_sub(before.calls + before.steps);
    Ok(stats)
}
