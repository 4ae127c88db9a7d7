//! The per-process append-only journal: what makes a recorded event survive the process.
//!
//! Each recording process owns one file `<store>/analytics/journal/<session>.jnl`, holds an
//! exclusive `flock` on it for its whole life, and appends one frame per event before the
//! recorded call's result is handed on. The frame is copied into a shared mapping of the file
//! (`MAP_SHARED`, a window of [`WINDOW`] bytes written with zeros beforehand, which reserves
//! its disk blocks, so a full disk is an error at that point, never a `SIGBUS`): a store into
//! a shared file mapping is in the page cache at once, exactly like a `write(2)`, without the
//! system call. On file systems that do not overwrite in place (copy-on-write, network), or
//! where mapping fails, the journal writes each frame with one `pwrite(2)` instead. The page cache keeps the bytes when the process is killed (SIGKILL,
//! a plugin's segfault), so no `fsync` is needed per event; only a power loss can take the
//! unflushed tail. The kernel drops the lock when the process dies, which is how the next
//! process tells a dead journal (lock free) from a live one.
//!
//! Frame: `len: u32 LE`, `crc32(payload): u32 LE`, `payload` ([`crate::codec`]). A frame cut
//! short by a kill, or one failing its checksum, ends the readable part of a journal: the call
//! it belonged to never returned, so nothing acknowledged is lost with it. The reserved space
//! after the last frame reads as zeros, which readers take as the end (no payload is empty); a
//! writer that closes normally truncates it away.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::codec::crc32;

/// The first bytes of every journal.
pub(crate) const MAGIC: &[u8; 8] = b"LRDJNL01";

/// Offset of the first frame.
pub(crate) const START: u64 = MAGIC.len() as u64;

/// The file extension of journals.
pub(crate) const EXTENSION: &str = "jnl";

/// Bytes of journal mapped (and reserved on disk) at a time. A new window is mapped when a
/// frame does not fit, about every 4,000 events: a few system calls then, none per event.
/// It also bounds what the journal adds to the process's RSS.
pub(crate) const WINDOW: usize = 1 << 20;

/// The journal of this process.
#[derive(Debug)]
pub struct JournalWriter {
    file: File,
    path: PathBuf,
    name: String,
    len: u64,
    frame: Vec<u8>,
    /// The mapped window; `None` before the first frame and after a fallback to `pwrite`.
    window: Option<Window>,
    /// Whether mapping is still to be used (false once the file system refused it).
    mapping: bool,
}

/// A shared, writable mapping of `size` bytes of the journal from file offset `start`, whose
/// blocks are reserved.
#[derive(Debug)]
struct Window {
    ptr: *mut u8,
    start: u64,
    size: usize,
}

// SAFETY: the mapping is owned by one `JournalWriter` (no aliasing pointer is handed out) and
// is plain memory: moving it to another thread is as safe as moving a `Vec<u8>`.
unsafe impl Send for Window {}

impl Drop for Window {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`size` are exactly what mmap returned, and nothing refers into the
        // mapping after this.
        unsafe {
            libc::munmap(self.ptr.cast(), self.size);
        }
    }
}

impl JournalWriter {
    /// Creates and locks the journal `name` in `dir`.
    ///
    /// # Errors
    ///
    /// Any I/O error creating, locking or writing the file.
    pub fn create(dir: &Path, name: &str) -> io::Result<JournalWriter> {
        let path = dir.join(format!("{name}.{EXTENSION}"));
        let mut file = OpenOptions::new()
            .create_new(true)
            .read(true)
            .write(true)
            .open(&path)?;
        if !try_lock(&file)? {
            return Err(io::Error::other("journal is locked by another process"));
        }
        file.write_all(MAGIC)?;
        let mapping = mappable(&file);
        Ok(JournalWriter {
            file,
            path,
            name: name.to_string(),
            len: START,
            frame: Vec::with_capacity(512),
            window: None,
            mapping,
        })
    }

    /// Appends one framed payload, returning the offset after it. Once this returns, the frame
    /// is in the page cache (it survives the process being killed).
    ///
    /// # Errors
    ///
    /// The I/O error of reserving or writing (e.g. a full disk); the journal is then unchanged
    /// in length as far as the caller is concerned, and a partial frame is ignored by readers.
    pub fn append(&mut self, payload: &[u8]) -> io::Result<u64> {
        let len = u32::try_from(payload.len())
            .map_err(|_| io::Error::other("analytics record over 4 GiB"))?;
        let mut header = [0u8; 8];
        header[..4].copy_from_slice(&len.to_le_bytes());
        header[4..].copy_from_slice(&crc32(payload).to_le_bytes());
        let frame_len = 8 + payload.len();
        if self.mapping {
            match self.window_for(frame_len) {
                Ok(dst) => {
                    // SAFETY: `window_for` returned the address of file offset `len` in a
                    // writable mapping whose blocks are reserved and which holds at least
                    // `frame_len` bytes from there; no other reference into it exists.
                    unsafe {
                        std::ptr::copy_nonoverlapping(header.as_ptr(), dst, 8);
                        std::ptr::copy_nonoverlapping(payload.as_ptr(), dst.add(8), payload.len());
                    }
                    self.len += frame_len as u64;
                    return Ok(self.len);
                }
                Err(e) if unsupported(&e) => {
                    self.mapping = false;
                    self.window = None;
                }
                Err(e) => return Err(e),
            }
        }
        self.frame.clear();
        self.frame.extend_from_slice(&header);
        self.frame.extend_from_slice(payload);
        if let Err(e) = self.file.write_all_at(&self.frame, self.len) {
            // A short write leaves a partial frame; truncating it back keeps later frames
            // readable after it.
            let _ = self.file.set_len(self.len);
            return Err(e);
        }
        self.len += frame_len as u64;
        Ok(self.len)
    }

    /// Where the next `frame_len` bytes (from offset `len`) go in the mapped window, mapping a
    /// new window (with its blocks reserved) when the current one is too short.
    fn window_for(&mut self, frame_len: usize) -> io::Result<*mut u8> {
        let end = self.len + frame_len as u64;
        let fits = self
            .window
            .as_ref()
            .is_some_and(|w| end <= w.start + w.size as u64);
        if !fits {
            let page = crate::measure::page_size();
            let start = self.len / page * page;
            let need = (end - start).div_ceil(page) * page;
            let least = usize::try_from(need).map_err(io::Error::other)?;
            let mut size = least.max(WINDOW);
            // Zeros written through the page cache first: they reserve the blocks (a full
            // disk is an error here, never a fault later) and leave the pages dirty, so the
            // stores into the mapping need no file-system work per page. Near a full disk (or
            // a file size limit) the window shrinks, down to the pages this frame needs, so
            // recording goes on in the space there is.
            loop {
                match self.reserve(start + size as u64) {
                    Ok(()) => break,
                    Err(e) if crate::space::is_no_space(&e) && size > least => {
                        size = (size / 4).div_ceil(page as usize) * page as usize;
                        size = size.max(least);
                    }
                    Err(e) => return Err(e),
                }
            }
            let off = libc::off_t::try_from(start).map_err(io::Error::other)?;
            // SAFETY: a fresh shared mapping of a range of our file that now exists on disk.
            let ptr = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    size,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED,
                    self.file.as_raw_fd(),
                    off,
                )
            };
            if ptr == libc::MAP_FAILED {
                return Err(io::Error::last_os_error());
            }
            // Writable page-table entries for the whole window in one call instead of one
            // fault per page (Linux >= 5.14; older kernels refuse it and fault as usual).
            // SAFETY: advice on a mapping we own; it changes no contents.
            unsafe {
                libc::madvise(ptr, size, MADV_POPULATE_WRITE);
            }
            self.window = Some(Window {
                ptr: ptr.cast(),
                start,
                size,
            });
        }
        let w = self
            .window
            .as_ref()
            .ok_or_else(|| io::Error::other("journal window missing"))?;
        // SAFETY: `start <= len < start + size`, so the offset lies inside the mapping.
        Ok(unsafe { w.ptr.add((self.len - w.start) as usize) })
    }

    /// Writes zeros from the end of the last frame up to `end`.
    fn reserve(&self, end: u64) -> io::Result<()> {
        let mut at = self.len;
        while at < end {
            let n = (end - at).min(ZEROS.len() as u64) as usize;
            self.file.write_all_at(&ZEROS[..n], at)?;
            at += n as u64;
        }
        Ok(())
    }

    /// The journal's name (the session id).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes written so far, the end offset of the last frame.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether no frame has been written.
    pub fn is_empty(&self) -> bool {
        self.len == START
    }
}

impl Drop for JournalWriter {
    fn drop(&mut self) {
        self.window = None;
        // The reserved tail reads as the end anyway; a journal left behind (events the store
        // did not take) is just tidier without it.
        let _ = self.file.set_len(self.len);
    }
}

const MADV_POPULATE_WRITE: libc::c_int = 23;

static ZEROS: [u8; 64 << 10] = [0; 64 << 10];

/// Whether frames may go through a mapping of `file`: only on file systems that overwrite
/// blocks in place (ext4, XFS, tmpfs), where space reserved by writing once stays reserved. On
/// copy-on-write or network file systems a full disk at writeback would end a store into the
/// mapping with `SIGBUS`; those get one `pwrite` per frame.
fn mappable(file: &File) -> bool {
    const EXT4: i64 = 0xEF53;
    const XFS: i64 = 0x5846_5342;
    const TMPFS: i64 = 0x0102_1994;
    // SAFETY: `st` is a writable statfs for the duration of the call.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: fstatfs on our open descriptor, writing into `st`.
    if unsafe { libc::fstatfs(file.as_raw_fd(), &mut st) } != 0 {
        return false;
    }
    matches!(st.f_type as i64, EXT4 | XFS | TMPFS)
}

/// Errors that mean "this file system cannot map or reserve": fall back to `pwrite`.
fn unsupported(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EOPNOTSUPP | libc::ENOSYS | libc::ENODEV | libc::EACCES | libc::EINVAL)
    )
}

/// Tries to take the exclusive lock of a journal without waiting. `Ok(false)`: a live process
/// holds it.
///
/// # Errors
///
/// An I/O error other than "would block".
pub fn try_lock(file: &File) -> io::Result<bool> {
    // SAFETY: flock on a valid, open file descriptor has no memory-safety preconditions.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
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

/// The journals in `dir`, by name (session id) and path.
///
/// # Errors
///
/// An I/O error listing the directory; a missing directory is an empty list.
pub fn list(dir: &Path) -> io::Result<Vec<(String, PathBuf)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some(EXTENSION) {
            continue;
        }
        // Only regular files (a link is followed once): a directory, a FIFO (opening it would
        // block) or a link loop named like a journal is skipped, never waited on.
        match std::fs::metadata(&path) {
            Ok(m) if m.is_file() => {}
            Ok(_) | Err(_) => {
                eprintln!(
                    "warning: skipping {}: not a regular file, so not an analytics journal",
                    path.display()
                );
                continue;
            }
        }
        if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
            out.push((stem.to_string(), path));
        }
    }
    out.sort();
    Ok(out)
}

/// The complete frames of a journal from `offset` on: each payload with the offset after it.
/// Reading stops at the first incomplete or damaged frame.
///
/// # Errors
///
/// An I/O error reading the file; a file without the journal magic is an error too.
#[cfg(test)]
pub(crate) fn read_from(file: &mut File, offset: u64) -> io::Result<Vec<(Vec<u8>, u64)>> {
    Ok(match read_body(file, offset)? {
        Some((bytes, offset)) => frames(&bytes, offset),
        None => Vec::new(),
    })
}

/// The bytes of a journal from `offset` (at least the first frame's) to its end, with the
/// offset they start at; `None` for a journal killed before its magic was written, which
/// holds no events.
fn read_body(file: &mut File, offset: u64) -> io::Result<Option<(Vec<u8>, u64)>> {
    let mut magic = [0u8; 8];
    file.seek(SeekFrom::Start(0))?;
    match file.read_exact(&mut magic) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    if &magic != MAGIC {
        return Err(io::Error::other("not an analytics journal"));
    }
    let offset = offset.max(START);
    file.seek(SeekFrom::Start(offset))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(Some((bytes, offset)))
}

/// The frames of a dead journal read with [`read_resync`].
#[derive(Debug, Default)]
pub(crate) struct Salvage {
    /// Each payload with the file offset just past it.
    pub frames: Vec<(Vec<u8>, u64)>,
    /// Bytes that were neither a valid frame nor the zero-filled or torn tail: damage.
    pub damaged_bytes: u64,
}

/// [`read_from`] for a journal whose writer is dead, resynchronising after damage: where a
/// frame fails its length or checksum, the scan moves on byte by byte to the next position
/// where a whole frame with a matching CRC-32 starts, so one flipped bit loses one event, not
/// every later one. The torn or zero-filled tail a kill leaves (anything after the last whole
/// frame) is not damage.
///
/// # Errors
///
/// As [`read_from`].
pub(crate) fn read_resync(file: &mut File, offset: u64) -> io::Result<Salvage> {
    Ok(match read_body(file, offset)? {
        Some((bytes, offset)) => resync_frames(&bytes, offset),
        None => Salvage::default(),
    })
}

/// Splits `bytes` (starting at file offset `base`) into frames, skipping damaged stretches
/// (see [`read_resync`]).
pub(crate) fn resync_frames(bytes: &[u8], base: u64) -> Salvage {
    let mut out = Salvage::default();
    let mut pos = 0usize;
    let mut bad_from: Option<usize> = None;
    while pos < bytes.len() {
        match frame_at(bytes, pos) {
            Some(end) => {
                if let Some(from) = bad_from.take() {
                    out.damaged_bytes += (pos - from) as u64;
                }
                out.frames
                    .push((bytes[pos + 8..end].to_vec(), base + end as u64));
                pos = end;
            }
            None => {
                // The zero-filled reserve is the end.
                if bytes[pos..].iter().all(|b| *b == 0) {
                    break;
                }
                bad_from.get_or_insert(pos);
                pos += 1;
            }
        }
    }
    // What follows the last whole frame is the tail a kill leaves (a frame cut short, a
    // header without its payload), not damage: only stretches with whole frames after them
    // count.
    out
}

/// The end of the frame starting at `pos`, if a whole frame with a matching checksum is there.
fn frame_at(bytes: &[u8], pos: usize) -> Option<usize> {
    let head = bytes.get(pos..pos + 8)?;
    let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
    let crc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
    let end = pos.checked_add(8)?.checked_add(len)?;
    if len == 0 || end > bytes.len() {
        return None;
    }
    (crc32(&bytes[pos + 8..end]) == crc).then_some(end)
}

/// Moves a journal with damaged frames aside (`<name>.jnl.damaged`), out of every later
/// replay, instead of deleting what could not be read.
pub(crate) fn keep_aside(path: &Path) -> PathBuf {
    let mut aside = path.as_os_str().to_owned();
    aside.push(".damaged");
    let aside = PathBuf::from(aside);
    if std::fs::rename(path, &aside).is_err() {
        let _ = std::fs::remove_file(path);
    }
    aside
}

/// Splits `bytes` (which start at file offset `base`) into complete, checksummed frames.
#[cfg(test)]
pub(crate) fn frames(bytes: &[u8], base: u64) -> Vec<(Vec<u8>, u64)> {
    frame_slices(bytes, base)
        .into_iter()
        .map(|(payload, end)| (payload.to_vec(), end))
        .collect()
}

/// The complete, checksummed frames of `bytes` (which start at file offset `base`) as payloads
/// borrowed from `bytes`, each with the file offset just past it.
pub(crate) fn frame_slices(bytes: &[u8], base: u64) -> Vec<(&[u8], u64)> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while bytes.len() - pos >= 8 {
        let mut len4 = [0u8; 4];
        len4.copy_from_slice(&bytes[pos..pos + 4]);
        let mut crc4 = [0u8; 4];
        crc4.copy_from_slice(&bytes[pos + 4..pos + 8]);
        let len = u32::from_le_bytes(len4) as usize;
        let end = pos + 8 + len;
        // No payload is empty: a zero length is the zero-filled tail a crash can leave, whose
        // checksum (crc32 of nothing is 0) would otherwise pass.
        if len == 0 || end > bytes.len() {
            break;
        }
        let payload = &bytes[pos + 8..end];
        if crc32(payload) != u32::from_le_bytes(crc4) {
            break;
        }
        out.push((payload, base + end as u64));
        pos = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_frames_read_back_in_order_with_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = JournalWriter::create(dir.path(), "s1").unwrap();
        let a = w.append(b"alpha").unwrap();
        let b = w.append(b"beta").unwrap();
        let mut f = File::open(w.path()).unwrap();
        let all = read_from(&mut f, 0).unwrap();
        assert_eq!(all, vec![(b"alpha".to_vec(), a), (b"beta".to_vec(), b)]);
        let rest = read_from(&mut f, a).unwrap();
        assert_eq!(rest, vec![(b"beta".to_vec(), b)]);
    }

    #[test]
    fn journal_frames_across_windows_read_back_and_the_reserve_is_trimmed() {
        // Both ways of writing: the mapped windows, and the pwrite fallback.
        for mapping in [true, false] {
            let dir = tempfile::tempdir().unwrap();
            let mut w = JournalWriter::create(dir.path(), "s1").unwrap();
            w.mapping = mapping;
            // Frames of many sizes, one larger than a window, crossing several windows.
            let mut written = Vec::new();
            for i in 0..2_000u32 {
                let n = if i == 700 {
                    WINDOW + 12_345
                } else {
                    1 + (i as usize * 7919) % 1500
                };
                let payload: Vec<u8> = (0..n).map(|k| (k as u32 ^ i) as u8 | 1).collect();
                let end = w.append(&payload).unwrap();
                written.push((payload, end));
            }
            let path = w.path().to_path_buf();
            // Readable while the writer lives, reserved zeros and all.
            let mut f = File::open(&path).unwrap();
            assert_eq!(read_from(&mut f, 0).unwrap(), written, "mapping {mapping}");
            let len = w.len();
            drop(w);
            assert_eq!(std::fs::metadata(&path).unwrap().len(), len);
            let mut f = File::open(&path).unwrap();
            assert_eq!(read_from(&mut f, 0).unwrap(), written, "mapping {mapping}");
        }
    }

    #[test]
    fn journal_truncated_tail_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = JournalWriter::create(dir.path(), "s1").unwrap();
        let a = w.append(b"alpha").unwrap();
        let b = w.append(b"beta-gamma").unwrap();
        let path = w.path().to_path_buf();
        drop(w);
        let full = std::fs::read(&path).unwrap();
        for cut in a..b {
            std::fs::write(&path, &full[..cut as usize]).unwrap();
            let mut f = File::open(&path).unwrap();
            assert_eq!(read_from(&mut f, 0).unwrap().len(), 1, "cut at {cut}");
        }
    }

    #[test]
    fn journal_zero_filled_tail_is_not_read_as_frames() {
        assert!(frames(&[0u8; 64], 8).is_empty());
    }

    #[test]
    fn journal_damaged_frame_ends_the_readable_part() {
        let mut bytes = Vec::new();
        for p in [&b"one"[..], b"two"] {
            bytes.extend_from_slice(&(p.len() as u32).to_le_bytes());
            bytes.extend_from_slice(&crc32(p).to_le_bytes());
            bytes.extend_from_slice(p);
        }
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        assert_eq!(frames(&bytes, 8).len(), 1);
    }

    #[test]
    fn journal_resync_skips_a_flipped_frame_and_keeps_every_later_one() {
        let mut bytes = Vec::new();
        let payloads: Vec<Vec<u8>> = (0..200u32)
            .map(|i| format!("event number {i}").into_bytes())
            .collect();
        let mut starts = Vec::new();
        for p in &payloads {
            starts.push(bytes.len());
            bytes.extend_from_slice(&(p.len() as u32).to_le_bytes());
            bytes.extend_from_slice(&crc32(p).to_le_bytes());
            bytes.extend_from_slice(p);
        }
        bytes.extend_from_slice(&[0u8; 4096]);
        // Clean: everything, no damage, the zero reserve is the end.
        let clean = resync_frames(&bytes, 8);
        assert_eq!(clean.frames.len(), 200);
        assert_eq!(clean.damaged_bytes, 0);
        // A flipped payload bit in frame 100, and a flipped length bit in frame 150.
        bytes[starts[100] + 10] ^= 0x04;
        bytes[starts[150] + 1] ^= 0x80;
        let s = resync_frames(&bytes, 8);
        assert_eq!(s.frames.len(), 198);
        assert!(s.damaged_bytes > 0);
        let got: Vec<&[u8]> = s.frames.iter().map(|(p, _)| p.as_slice()).collect();
        let want: Vec<&[u8]> = payloads
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 100 && *i != 150)
            .map(|(_, p)| p.as_slice())
            .collect();
        assert_eq!(got, want);
        // A torn last frame is the normal end, not damage.
        let mut torn = Vec::new();
        torn.extend_from_slice(&bytes[..starts[1]]);
        torn.extend_from_slice(&bytes[starts[1]..starts[1] + 12]);
        let t = resync_frames(&torn, 8);
        assert_eq!((t.frames.len(), t.damaged_bytes), (1, 0));
    }

    #[test]
    fn journal_lock_is_exclusive_while_the_writer_lives() {
        let dir = tempfile::tempdir().unwrap();
        let w = JournalWriter::create(dir.path(), "s1").unwrap();
        let f = File::open(w.path()).unwrap();
        assert!(!try_lock(&f).unwrap());
        drop(w);
        assert!(try_lock(&f).unwrap());
    }
}
