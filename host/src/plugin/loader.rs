//! Finding plugin libraries on disk and loading them through the stable ABI.

use std::fmt;
use std::io::Read;
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
    /// abi_stable's full report, when there is more to say than the one-line message.
    pub fn detail(&self) -> Option<&str> {
        match self {
            LoadError::Incompatible { detail, .. } => Some(detail),
            _ => None,
        }
    }
}

/// A plugin library that passed every check, with its descriptor and fingerprint.
pub struct LoadedPlugin {
    /// The file it was loaded from.
    pub path: PathBuf,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
    /// What the plugin declares about itself.
    pub descriptor: PluginDescriptor,
    module: PluginModuleRef,
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
    /// Calls estimator `component` on a borrowed series. `params` must already be resolved
    /// against the component's schema (the plugin checks again).
    #[inline]
    pub fn estimate(
        &self,
        component: u32,
        series: &[f64],
        params: &[Param],
    ) -> Result<Estimate, PluginError> {
        match (self.module.estimate())(
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
        match (self.module.generate())(component, length, seed, RSlice::from_slice(params)) {
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
/// is stable), then the explicit files. A directory that does not exist is skipped.
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
    }
    out.extend(sources.files.iter().cloned());
    out
}

/// Loads one plugin library and checks it against this host's interface.
///
/// # Errors
///
/// A [`LoadError`] saying, in one line, why the file is not a usable plugin.
pub fn load_plugin(path: &Path) -> Result<LoadedPlugin, LoadError> {
    if !path.exists() {
        return Err(LoadError::NotFound {
            path: path.to_path_buf(),
        });
    }
    let sha256 = sha256_file(path)?;
    let header = lib_header_from_path(path).map_err(|e| classify(path, e))?;
    let module = header
        .init_root_module::<PluginModuleRef>()
        .map_err(|e| classify(path, e))?;
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
        sha256,
        descriptor,
        module,
    })
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

/// SHA-256 of a file, lowercase hex, read in 64 KiB chunks.
pub fn sha256_file(path: &Path) -> Result<String, LoadError> {
    let io = |source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
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
    fn text_file_is_not_a_library() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("liblrdbench_plugin_fake.so");
        std::fs::write(&p, "not an elf").unwrap();
        let e = load_plugin(&p).unwrap_err();
        assert!(matches!(e, LoadError::NotALibrary { .. }), "{e}");
        assert_eq!(e.to_string().lines().count(), 1);
    }
}
