//! Finding plugin libraries on disk and loading them through the stable ABI.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use abi_stable::library::{lib_header_from_path, LibraryError};
use abi_stable::std_types::{RResult, RSlice};
use lrdbench_plugin_api::{
    Estimate, Generated, Param, PluginDescriptor, PluginError, PluginModuleRef,
};
use sha2::{Digest, Sha256};

/// Where to look for plugins.
#[derive(Debug, Clone, Default)]
pub struct PluginSources {
    /// Directories searched for libraries named `lrdbench_plugin_*` (the executable's own
    /// directory comes first when the caller adds it).
    pub dirs: Vec<PathBuf>,
    /// Single files, loaded whatever their name.
    pub files: Vec<PathBuf>,
}

/// Why one library could not be loaded. Each variant renders as one line; the full report of
/// abi_stable (often hundreds of lines) is kept in `detail`.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The path does not exist.
    #[error("{}: no such file", path.display())]
    NotFound {
        /// The path given.
        path: PathBuf,
    },
    /// The file could not be opened as a shared library.
    #[error("{}: not a loadable shared library ({reason})", path.display())]
    NotALibrary {
        /// The file.
        path: PathBuf,
        /// The loader's one-line reason.
        reason: String,
    },
    /// A shared library without the lrdbench root module.
    #[error("{}: a shared library, but not an lrdbench plugin (no root module)", path.display())]
    NotAPlugin {
        /// The file.
        path: PathBuf,
    },
    /// Built against an interface this host cannot use.
    #[error("{}: built against an incompatible plugin interface ({summary}); rebuild it against lrdbench-plugin-api {}", path.display(), lrdbench_plugin_api::API_VERSION)]
    Incompatible {
        /// The file.
        path: PathBuf,
        /// One line on what differs.
        summary: String,
        /// abi_stable's full report.
        detail: String,
    },
    /// The plugin loaded but its `describe` call failed.
    #[error("{}: the plugin failed to describe itself: {error}", path.display())]
    Describe {
        /// The file.
        path: PathBuf,
        /// What it returned.
        error: PluginError,
    },
    /// Not a regular file (a directory, FIFO, device, ...), or larger than
    /// [`MAX_LIBRARY_BYTES`]: nothing is read from it.
    #[error("{}: {what}, not a plugin library", path.display())]
    NotRegular {
        /// The path given.
        path: PathBuf,
        /// What it is instead.
        what: String,
    },
    /// The worker that was to describe an isolated plugin failed, or the file changed between
    /// the host's hash and the worker's.
    #[error("{}: {message}", path.display())]
    Isolated {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A process plugin's manifest that cannot be used.
    #[error("{}: {message}", path.display())]
    Manifest {
        /// The manifest.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// Reading the file for its checksum failed.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl LoadError {
    /// The load error for a file at `path` that could not be read.
    pub(crate) fn reading(path: &Path, e: crate::fsutil::ReadError) -> Self {
        let path = path.to_path_buf();
        match e {
            crate::fsutil::ReadError::NotFound => LoadError::NotFound { path },
            crate::fsutil::ReadError::NotRegular(what) => LoadError::NotRegular { path, what },
            crate::fsutil::ReadError::Io(source) => LoadError::Io { path, source },
        }
    }

    /// abi_stable's full report, when there is more to say than the one-line message.
    pub fn detail(&self) -> Option<&str> {
        match self {
            LoadError::Incompatible { detail, .. } => Some(detail),
            _ => None,
        }
    }
}

/// A plugin library that passed every check, with its descriptor and fingerprint.
///
/// A plugin is either loaded into this process, or (for isolated plugins) known only by the
/// description a worker process sent: its code never ran in this process, and each of its
/// calls must go to a worker.
pub struct LoadedPlugin {
    /// The file it was loaded from.
    pub path: PathBuf,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
    /// What the plugin declares about itself.
    pub descriptor: PluginDescriptor,
    module: Option<PluginModuleRef>,
    launch: Option<std::sync::Arc<super::manifest::ProcessLaunch>>,
}

impl fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("path", &self.path)
            .field("name", &self.descriptor.name)
            .field("sha256", &self.sha256)
            .finish()
    }
}

impl LoadedPlugin {
    /// A plugin described by a worker process and never loaded here: every call of it must go
    /// to a worker (an in-process call fails with an `internal` error).
    pub fn described(path: PathBuf, sha256: String, descriptor: PluginDescriptor) -> Self {
        LoadedPlugin {
            path,
            sha256,
            descriptor,
            module: None,
            launch: None,
        }
    }

    /// A process plugin (a program declared by a manifest, `path`), described by one of its
    /// processes: every call goes to a worker started from `launch`.
    pub fn process(
        path: PathBuf,
        sha256: String,
        descriptor: PluginDescriptor,
        launch: super::manifest::ProcessLaunch,
    ) -> Self {
        LoadedPlugin {
            path,
            sha256,
            descriptor,
            module: None,
            launch: Some(std::sync::Arc::new(launch)),
        }
    }

    /// How to start a process plugin's workers; `None` for a library plugin.
    pub fn launch(&self) -> Option<&std::sync::Arc<super::manifest::ProcessLaunch>> {
        self.launch.as_ref()
    }

    /// How its calls run: `in_process`, `worker` (a library in an `lrdbench-host` worker) or
    /// `process` (a process plugin's own program).
    pub fn runs(&self) -> &'static str {
        if self.launch.is_some() {
            "process"
        } else if self.module.is_some() {
            "in_process"
        } else {
            "worker"
        }
    }

    /// Whether the library's code is loaded in this process (false for a plugin known only
    /// through a worker's description).
    pub fn in_process(&self) -> bool {
        self.module.is_some()
    }

    fn module(&self) -> Result<PluginModuleRef, PluginError> {
        self.module.ok_or_else(|| {
            PluginError::internal(format!(
                "{} runs only in worker processes and is not loaded in the host",
                self.path.display()
            ))
        })
    }

    /// Calls estimator `component` on a borrowed series. `params` must already be resolved
    /// against the component's schema (the plugin checks again).
    #[inline]
    pub fn estimate(
        &self,
        component: u32,
        series: &[f64],
        params: &[Param],
    ) -> Result<Estimate, PluginError> {
        match (self.module()?.estimate())(
            component,
            RSlice::from_slice(series),
            RSlice::from_slice(params),
        ) {
            RResult::ROk(e) => Ok(e),
            RResult::RErr(e) => Err(e),
        }
    }

    /// Calls model `component` to generate `length` points from `seed`.
    pub fn generate(
        &self,
        component: u32,
        length: u64,
        seed: u64,
        params: &[Param],
    ) -> Result<Generated, PluginError> {
        match (self.module()?.generate())(component, length, seed, RSlice::from_slice(params)) {
            RResult::ROk(g) => Ok(g),
            RResult::RErr(e) => Err(e),
        }
    }
}

/// Whether `path`'s file name looks like an automatically loaded plugin:
/// `{DLL_PREFIX}lrdbench_plugin_*{DLL_SUFFIX}`.
pub fn is_plugin_file_name(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    name.strip_prefix(std::env::consts::DLL_PREFIX)
        .and_then(|rest| rest.strip_suffix(std::env::consts::DLL_SUFFIX))
        .is_some_and(|stem| stem.starts_with("lrdbench_plugin_"))
}

/// Lists the plugin files of `sources`: matching files of each directory (sorted, so load order
/// is stable) and its process plugin manifests (`DIR/lrdbench-plugin.toml`,
/// `DIR/*/lrdbench-plugin.toml`), then the explicit files. A directory that does not exist is
/// skipped.
pub fn discover(sources: &PluginSources) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in &sources.dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| is_plugin_file_name(p))
            .collect();
        found.sort();
        out.extend(found);
        out.extend(super::manifest::manifests_in(dir));
    }
    out.extend(sources.files.iter().cloned());
    out
}

/// The largest file accepted as a plugin library: 512 MiB, far above any real plugin, so a
/// huge or endless file is refused instead of read into memory.
pub const MAX_LIBRARY_BYTES: u64 = 512 << 20;

/// A library file read once into a sealed in-memory copy, with the SHA-256 of exactly those
/// bytes: what is hashed is what is later loaded.
pub struct LibraryBytes {
    copy: std::fs::File,
    /// SHA-256 of the copy, lowercase hex.
    pub sha256: String,
}

/// Reads a library file once, refusing anything but a regular file of at most
/// [`MAX_LIBRARY_BYTES`] (a FIFO is opened without blocking and refused, a device such as
/// `/dev/zero` is refused before any read). The bytes stream into a sealed anonymous memory
/// file as they are hashed, never through the heap.
///
/// # Errors
///
/// [`LoadError::NotFound`], [`LoadError::NotRegular`] or [`LoadError::Io`].
pub fn read_library(path: &Path) -> Result<LibraryBytes, LoadError> {
    use std::io::Read;
    let io = |source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = crate::fsutil::open_regular(path).map_err(|e| LoadError::reading(path, e))?;
    let mut copy = anonymous_file().map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    let mut reader = file.take(MAX_LIBRARY_BYTES + 1);
    loop {
        let n = reader.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        if total > MAX_LIBRARY_BYTES {
            return Err(LoadError::NotRegular {
                path: path.to_path_buf(),
                what: format!("a file larger than the limit of {MAX_LIBRARY_BYTES} bytes"),
            });
        }
        hasher.update(&buf[..n]);
        copy.write_all(&buf[..n]).map_err(io)?;
    }
    seal(&copy).map_err(io)?;
    Ok(LibraryBytes {
        copy,
        sha256: hex(&hasher.finalize()),
    })
}

/// Loads one plugin library and checks it against this host's interface. The file is read
/// once and hashed, and those very bytes are what the dynamic loader maps (through a sealed
/// in-memory file), so the file cannot be swapped between the check and the load.
///
/// # Errors
///
/// A [`LoadError`] saying, in one line, why the file is not a usable plugin.
pub fn load_plugin(path: &Path) -> Result<LoadedPlugin, LoadError> {
    load_verified(path, None)
}

/// [`load_plugin`], refusing before any of the library's code runs when its SHA-256 is not
/// `expected` (a worker told which library its supervisor checked).
///
/// # Errors
///
/// As [`load_plugin`], and [`LoadError::Isolated`] on a hash mismatch.
pub fn load_verified(path: &Path, expected: Option<&str>) -> Result<LoadedPlugin, LoadError> {
    let lib = read_library(path)?;
    if let Some(want) = expected {
        if !want.eq_ignore_ascii_case(&lib.sha256) {
            return Err(LoadError::Isolated {
                path: path.to_path_buf(),
                message: format!(
                    "the file changed: its SHA-256 is {}, not the expected {want}",
                    lib.sha256
                ),
            });
        }
    }
    load_bytes(path, lib)
}

/// Loads a library from bytes already read and hashed by [`read_library`].
///
/// # Errors
///
/// As [`load_plugin`].
pub fn load_bytes(path: &Path, lib: LibraryBytes) -> Result<LoadedPlugin, LoadError> {
    // The same bytes are loaded once per process: a second catalog reuses the module, as
    // loading the same path twice did (libraries are never unloaded).
    static LOADED: std::sync::Mutex<Vec<(String, PluginModuleRef)>> =
        std::sync::Mutex::new(Vec::new());
    let known = LOADED
        .lock()
        .ok()
        .and_then(|v| v.iter().find(|(h, _)| *h == lib.sha256).map(|(_, m)| *m));
    let module = match known {
        Some(m) => m,
        None => {
            let sealed = loadable_path(lib.copy);
            let header = lib_header_from_path(&sealed).map_err(|e| classify(path, e))?;
            let module = header
                .init_root_module::<PluginModuleRef>()
                .map_err(|e| classify(path, e))?;
            if let Ok(mut v) = LOADED.lock() {
                v.push((lib.sha256.clone(), module));
            }
            module
        }
    };
    let descriptor = match (module.describe())() {
        RResult::ROk(d) => d,
        RResult::RErr(error) => {
            return Err(LoadError::Describe {
                path: path.to_path_buf(),
                error,
            })
        }
    };
    Ok(LoadedPlugin {
        path: path.to_path_buf(),
        sha256: lib.sha256,
        descriptor,
        module: Some(module),
        launch: None,
    })
}

/// An anonymous memory file that can be sealed.
#[cfg(target_os = "linux")]
fn anonymous_file() -> std::io::Result<std::fs::File> {
    use std::os::fd::FromRawFd;
    // SAFETY: a NUL-terminated name and valid flags; the result is checked.
    let fd = unsafe {
        libc::memfd_create(
            c"lrdbench-plugin".as_ptr(),
            libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` was just created and is owned by nothing else.
    Ok(unsafe { std::fs::File::from_raw_fd(fd) })
}

/// Seals the copy against any change: its bytes stay the ones that were hashed.
#[cfg(target_os = "linux")]
fn seal(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let seals = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE | libc::F_SEAL_SEAL;
    // SAFETY: fcntl on a descriptor `file` owns.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_ADD_SEALS, seals) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// The `/proc/self/fd/N` path the dynamic loader opens. The descriptor is deliberately never
/// closed: the dynamic loader recognises libraries by the name they were opened under, so a
/// reused descriptor number would make a later load return the earlier library; libraries are
/// never unloaded anyway.
#[cfg(target_os = "linux")]
fn loadable_path(file: std::fs::File) -> PathBuf {
    use std::os::fd::IntoRawFd;
    PathBuf::from(format!("/proc/self/fd/{}", file.into_raw_fd()))
}

/// Elsewhere: an unlinked-on-exit temporary file (no sealing is available).
#[cfg(not(target_os = "linux"))]
fn anonymous_file() -> std::io::Result<std::fs::File> {
    Err(std::io::Error::other(
        "loading plugins needs Linux (memfd_create)",
    ))
}

#[cfg(not(target_os = "linux"))]
fn seal(_: &std::fs::File) -> std::io::Result<()> {
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn loadable_path(_: std::fs::File) -> PathBuf {
    PathBuf::new()
}

fn classify(path: &Path, err: LibraryError) -> LoadError {
    let path = path.to_path_buf();
    match err {
        LibraryError::OpenError { err, .. } => {
            let full = err.to_string();
            let reason = full.rsplit(": ").next().unwrap_or(&full).trim().to_string();
            LoadError::NotALibrary { path, reason }
        }
        LibraryError::GetSymbolError { .. } => LoadError::NotAPlugin { path },
        LibraryError::IncompatibleVersionNumber {
            expected_version,
            actual_version,
            ..
        } => LoadError::Incompatible {
            path,
            summary: format!(
                "interface version {actual_version}, this host needs {expected_version}"
            ),
            detail: String::new(),
        },
        other => {
            let detail = other.to_string();
            let summary = match &other {
                LibraryError::AbiInstability(_) => {
                    "the layout of the interface types differs".to_string()
                }
                LibraryError::InvalidAbiHeader(_) => {
                    "built with an incompatible abi_stable".to_string()
                }
                _ => detail
                    .lines()
                    .next()
                    .unwrap_or("unknown")
                    .chars()
                    .take(120)
                    .collect(),
            };
            LoadError::Incompatible {
                path,
                summary,
                detail,
            }
        }
    }
}

/// SHA-256 of a file, lowercase hex (a regular file of at most [`MAX_LIBRARY_BYTES`]).
///
/// # Errors
///
/// As [`read_library`].
pub fn sha256_file(path: &Path) -> Result<String, LoadError> {
    read_library(path).map(|l| l.sha256)
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_file_names_are_recognised() {
        let good = format!(
            "{}lrdbench_plugin_x{}",
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_SUFFIX
        );
        assert!(is_plugin_file_name(Path::new(&good)));
        let fault = format!(
            "{}lrdbench_fault_plugin{}",
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_SUFFIX
        );
        assert!(!is_plugin_file_name(Path::new(&fault)));
        assert!(!is_plugin_file_name(Path::new("lrdbench_plugin_x.txt")));
    }

    #[test]
    fn hex_matches_known_digest() {
        // SHA-256 of the empty input, from FIPS 180-2 test vectors.
        assert_eq!(
            hex(&Sha256::digest(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn missing_file_is_not_found() {
        let e = load_plugin(Path::new("/nonexistent/libx.so")).unwrap_err();
        assert!(matches!(e, LoadError::NotFound { .. }));
        assert_eq!(e.to_string(), "/nonexistent/libx.so: no such file");
    }

    #[test]
    fn fifo_and_devices_are_refused_without_reading() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("liblrdbench_plugin_fifo.so");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // Nobody writes to the FIFO: a blocking open or read would hang this test.
        let e = load_plugin(&fifo).unwrap_err();
        assert!(matches!(e, LoadError::NotRegular { .. }), "{e}");
        let e = load_plugin(Path::new("/dev/zero")).unwrap_err();
        assert!(matches!(e, LoadError::NotRegular { .. }), "{e}");
        let e = load_plugin(dir.path()).unwrap_err();
        assert!(matches!(e, LoadError::NotRegular { .. }), "{e}");
    }

    #[test]
    fn text_file_is_not_a_library() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("liblrdbench_plugin_fake.so");
        std::fs::write(&p, "not an elf").unwrap();
        let e = load_plugin(&p).unwrap_err();
        assert!(matches!(e, LoadError::NotALibrary { .. }), "{e}");
        assert_eq!(e.to_string().lines().count(), 1);
    }
}
