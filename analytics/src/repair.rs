//! Keeping a damaged or half-made store from stopping anything.
//!
//! - [`create_whole`]: a new store file appears under its name only once it is a complete,
//!   empty database, so a process killed while creating it leaves no file that later opens
//!   fail on.

use std::path::Path;

use crate::store::StoreError;

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
