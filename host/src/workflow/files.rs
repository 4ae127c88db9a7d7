//! Expanding a `files` pattern of a workflow without following directory symbolic links.
//!
//! The pattern's literal leading directories are the base; below it the walk reads directory
//! entries without following links to directories (a `data/up -> ..` link would otherwise make
//! a cycle, and two such links an exponential walk), to at most
//! [`MAX_GLOB_DEPTH`] levels and
//! [`MAX_GLOB_ENTRIES`] entries. A link to a file is followed.
//! Every match must be a regular file.

use std::path::{Component, Path, PathBuf};

use super::limits::{MAX_GLOB_DEPTH, MAX_GLOB_ENTRIES};

fn has_magic(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// The files matching `pattern`, sorted.
///
/// # Errors
///
/// A one-line message: a bad pattern, a match that is not a regular file, or a walk beyond
/// the limits.
pub(crate) fn expand(pattern: &Path) -> Result<Vec<PathBuf>, String> {
    let text = pattern.to_string_lossy().to_string();
    let compiled = glob::Pattern::new(&text).map_err(|e| format!("bad file pattern: {e}"))?;
    let mut base = PathBuf::new();
    let mut magic = false;
    for c in pattern.components() {
        if let Component::Normal(s) = c {
            if has_magic(&s.to_string_lossy()) {
                magic = true;
                break;
            }
        }
        base.push(c);
    }
    if !magic {
        return match std::fs::metadata(pattern) {
            Ok(m) if m.is_file() => Ok(vec![pattern.to_path_buf()]),
            Ok(m) => Err(format!(
                "{} is {}, not a regular file",
                pattern.display(),
                crate::fsutil::kind_of(&m)
            )),
            Err(_) => Ok(Vec::new()),
        };
    }
    let options = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: false,
    };
    let start = if base.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        base.clone()
    };
    let mut out = Vec::new();
    let mut seen = 0usize;
    let mut stack = vec![(start, 0usize)];
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            seen += 1;
            if seen > MAX_GLOB_ENTRIES {
                return Err(format!(
                    "`{text}` visits more than {MAX_GLOB_ENTRIES} directory entries; narrow it"
                ));
            }
            let path = if base.as_os_str().is_empty() {
                entry
                    .path()
                    .strip_prefix(".")
                    .map(Path::to_path_buf)
                    .unwrap_or(entry.path())
            } else {
                entry.path()
            };
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                if depth + 1 < MAX_GLOB_DEPTH {
                    stack.push((entry.path(), depth + 1));
                }
                continue;
            }
            if !compiled.matches_path_with(&path, options) {
                continue;
            }
            // A link is followed only to what it points at now, and only to a file.
            match std::fs::metadata(&path) {
                Ok(m) if m.is_file() => out.push(path),
                Ok(m) if m.is_dir() => {}
                Ok(m) => {
                    return Err(format!(
                        "{} is {}, not a regular file",
                        path.display(),
                        crate::fsutil::kind_of(&m)
                    ))
                }
                Err(_) => {}
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_links_are_not_followed_and_files_match() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir_all(data.join("sub")).unwrap();
        std::fs::write(data.join("a.csv"), "1\n").unwrap();
        std::fs::write(data.join("sub/b.csv"), "1\n").unwrap();
        std::os::unix::fs::symlink("..", data.join("up")).unwrap();
        std::os::unix::fs::symlink("..", data.join("sub/up2")).unwrap();
        std::os::unix::fs::symlink("a.csv", data.join("link.csv")).unwrap();
        let found = expand(&data.join("**/*.csv")).unwrap();
        let names: Vec<String> = found
            .iter()
            .map(|p| p.strip_prefix(&data).unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["a.csv", "link.csv", "sub/b.csv"]);
        assert_eq!(expand(&data.join("*.csv")).unwrap().len(), 2);
        let c = std::ffi::CString::new(data.join("f.csv").to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = expand(&data.join("*.csv")).unwrap_err();
        assert!(e.contains("a FIFO, not a regular file"), "{e}");
    }
}
