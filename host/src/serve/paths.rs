//! Path safety: which files a URL may name. A run is named by its directory's own name, one
//! plain path component under one of the run roots (no `/`, no `..`, no hidden name, nothing
//! percent-decoded into a separator), the run directory must be a real directory (a symbolic
//! link is refused, wherever it points), its canonical path must lie under its root's, and only
//! the files of a run's output listed in [`RUN_FILES`] are ever opened, without following a
//! symbolic link. Nothing else on the disk can be reached through a URL.

use std::fs::File;
use std::io::Read as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

/// The files of a run directory the server hands out, with their content types.
pub const RUN_FILES: [(&str, &str); 8] = [
    ("report.html", "text/html; charset=utf-8"),
    ("leaderboard.md", "text/markdown; charset=utf-8"),
    ("leaderboard.csv", "text/csv; charset=utf-8"),
    ("metrics.csv", "text/csv; charset=utf-8"),
    ("estimates.csv", "text/csv; charset=utf-8"),
    ("metrics.json", "application/json"),
    ("manifest.json", "application/json"),
    ("cells.jsonl", "application/x-ndjson"),
];

/// The largest run file served (a 10^6-cell `cells.jsonl` is about 600 MB; pages never need
/// it whole, scripts read it from the disk).
pub const MAX_FILE_BYTES: u64 = 256 << 20;

/// Whether `name` can be a run's name in a URL: one plain, visible path component.
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+' | '@'))
}

/// The run directory called `name` under one of `roots`: the first root that has it as a real
/// directory (not a symbolic link) with a `manifest.json`, whose canonical path lies inside the
/// root's canonical path. `None` for any other name.
pub fn run_dir(roots: &[PathBuf], name: &str) -> Option<PathBuf> {
    if !is_plain_name(name) {
        return None;
    }
    roots.iter().find_map(|root| {
        let dir = root.join(name);
        let meta = std::fs::symlink_metadata(&dir).ok()?;
        if !meta.file_type().is_dir() {
            return None;
        }
        let (croot, cdir) = (root.canonicalize().ok()?, dir.canonicalize().ok()?);
        (cdir.parent() == Some(croot.as_path()) && dir.join("manifest.json").is_file())
            .then_some(dir)
    })
}

/// The content type of a run file the server hands out, `None` for every other name.
pub fn run_file_type(file: &str) -> Option<&'static str> {
    RUN_FILES
        .iter()
        .find(|(name, _)| *name == file)
        .map(|(_, t)| *t)
}

/// Why a run file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// No such file, or not one the server hands out.
    #[error("not found")]
    NotFound,
    /// The file is a symbolic link or not a regular file.
    #[error("not a regular file")]
    NotRegular,
    /// Larger than [`MAX_FILE_BYTES`].
    #[error("file too large to serve ({0} bytes)")]
    TooLarge(u64),
    /// Any other I/O error.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Reads the listed file `file` of the run directory `dir`, never through a symbolic link
/// (`O_NOFOLLOW`) and only if it is a regular file.
///
/// # Errors
///
/// [`FileError`].
pub fn read_run_file(dir: &Path, file: &str) -> Result<Vec<u8>, FileError> {
    if run_file_type(file).is_none() {
        return Err(FileError::NotFound);
    }
    let path = dir.join(file);
    let mut f = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(&path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(FileError::NotFound),
        // O_NOFOLLOW on a symbolic link fails with ELOOP.
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err(FileError::NotRegular),
        Err(e) => return Err(e.into()),
    };
    let meta = f.metadata()?;
    if !meta.file_type().is_file() {
        return Err(FileError::NotRegular);
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(FileError::TooLarge(meta.len()));
    }
    read_all(&mut f, meta.len())
}

fn read_all(f: &mut File, len: u64) -> Result<Vec<u8>, FileError> {
    let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    f.take(MAX_FILE_BYTES).read_to_end(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn run(root: &Path, name: &str) -> PathBuf {
        let d = root.join(name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("manifest.json"), "{}").unwrap();
        std::fs::write(d.join("report.html"), "<p>ok</p>").unwrap();
        d
    }

    #[test]
    fn names_that_could_leave_the_root_are_refused() {
        for bad in [
            "", ".", "..", "../x", "a/b", "a\\b", ".hidden", "a%2Fb", "a\0b", "é", "a b",
        ] {
            assert!(!is_plain_name(bad), "{bad:?}");
        }
        for good in ["sweep-20261207T101010Z-abc123", "a.b", "x_y+z@1"] {
            assert!(is_plain_name(good), "{good:?}");
        }
    }

    #[test]
    fn a_run_is_found_only_as_a_real_directory_under_its_root() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("runs");
        let outside = tmp.path().join("outside");
        run(&root, "good");
        run(&outside, "secret");
        std::os::unix::fs::symlink(outside.join("secret"), root.join("linked")).unwrap();
        let roots = vec![root.clone()];
        assert_eq!(run_dir(&roots, "good"), Some(root.join("good")));
        assert_eq!(
            run_dir(&roots, "linked"),
            None,
            "a symlinked run is refused"
        );
        assert_eq!(run_dir(&roots, "../outside/secret"), None);
        assert_eq!(run_dir(&roots, ".."), None);
        assert_eq!(run_dir(&roots, "missing"), None);
        // A directory without a manifest is not a run.
        std::fs::create_dir_all(root.join("plain")).unwrap();
        assert_eq!(run_dir(&roots, "plain"), None);
    }

    #[test]
    fn only_listed_regular_files_are_read_and_never_through_a_link() {
        let tmp = tempfile::tempdir().unwrap();
        let d = run(tmp.path(), "r");
        std::fs::write(tmp.path().join("secret.txt"), "secret").unwrap();
        assert_eq!(read_run_file(&d, "report.html").unwrap(), b"<p>ok</p>");
        assert!(matches!(
            read_run_file(&d, "../secret.txt"),
            Err(FileError::NotFound)
        ));
        assert!(matches!(
            read_run_file(&d, "workflow.toml"),
            Err(FileError::NotFound)
        ));
        std::fs::remove_file(d.join("leaderboard.md")).ok();
        std::os::unix::fs::symlink(tmp.path().join("secret.txt"), d.join("leaderboard.md"))
            .unwrap();
        assert!(matches!(
            read_run_file(&d, "leaderboard.md"),
            Err(FileError::NotRegular)
        ));
        std::fs::create_dir(d.join("metrics.csv")).unwrap();
        assert!(matches!(
            read_run_file(&d, "metrics.csv"),
            Err(FileError::NotRegular)
        ));
    }
}
