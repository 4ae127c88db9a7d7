//! Reading files that a user or an attacker named: only regular files, never more than a
//! stated size. A FIFO is opened without blocking and refused (a blocking open would wait for a
//! writer for ever), a device such as `/dev/zero` is refused before anything is read, and a file
//! that grows past the limit while being read is refused rather than read until memory runs out.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Nothing at the path.
    #[error("no such file")]
    NotFound,
    /// Not a regular file, or too large; says what it is.
    #[error("{0}")]
    NotRegular(String),
    /// Any other I/O error.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// What kind of file `meta` describes, in words.
pub fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

/// Opens `path` for reading if it is a regular file (symbolic links are followed to their
/// target, which must be a regular file too).
///
/// # Errors
///
/// [`ReadError::NotFound`], [`ReadError::NotRegular`] naming what it is, or the I/O error.
pub fn open_regular(path: &Path) -> Result<File, ReadError> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ReadError::NotFound,
            _ => ReadError::Io(e),
        })?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular(kind_of(&meta).to_string()));
    }
    // Regular files ignore O_NONBLOCK for reads, but clear it so nothing downstream sees it.
    // SAFETY: fcntl on a descriptor owned by `file`.
    unsafe {
        use std::os::fd::AsRawFd;
        let fd = file.as_raw_fd();
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
    Ok(file)
}

/// Reads a regular file of at most `max` bytes.
///
/// # Errors
///
/// As [`open_regular`], and [`ReadError::NotRegular`] for a file larger than `max`.
pub fn read_regular(path: &Path, max: u64) -> Result<Vec<u8>, ReadError> {
    let file = open_regular(path)?;
    let len = file.metadata()?.len();
    if len > max {
        return Err(ReadError::NotRegular(format!(
            "a file of {len} bytes, larger than the limit of {max}"
        )));
    }
    let mut out = Vec::with_capacity(len as usize);
    file.take(max + 1).read_to_end(&mut out)?;
    if out.len() as u64 > max {
        return Err(ReadError::NotRegular(format!(
            "a file that grew past the limit of {max} bytes while read"
        )));
    }
    Ok(out)
}

/// Reads a regular UTF-8 text file of at most `max` bytes.
///
/// # Errors
///
/// As [`read_regular`], and an I/O error of kind `InvalidData` for text that is not UTF-8.
pub fn read_regular_text(path: &Path, max: u64) -> Result<String, ReadError> {
    let bytes = read_regular(path, max)?;
    String::from_utf8(bytes).map_err(|_| {
        ReadError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "not UTF-8 text",
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_are_read_and_others_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.txt");
        std::fs::write(&f, "hello").unwrap();
        assert_eq!(read_regular(&f, 5).unwrap(), b"hello");
        assert!(matches!(read_regular(&f, 4), Err(ReadError::NotRegular(_))));
        assert!(matches!(
            read_regular(&dir.path().join("none"), 9),
            Err(ReadError::NotFound)
        ));
        let e = read_regular(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert_eq!(e.to_string(), "a character device");
        let e = read_regular(dir.path(), 9).unwrap_err();
        assert_eq!(e.to_string(), "a directory");
    }
}
