//! Where a plugin library may run, decided before any of its code runs.
//!
//! The decision uses only what can be known without loading the library: its path, its file
//! name and the SHA-256 of its bytes (read once; those very bytes are what is loaded later).
//! A refused library is never opened by the dynamic loader; an isolated one (unlisted in
//! "isolate" mode, listed as untrusted, or every library under `--isolate`) is described by a
//! worker process, which loads it in its own address space, so its constructors and code never
//! run in the host. When the untrusted list names plugins by their declared name, which only
//! the library itself can tell, each otherwise trusted library is first described in a worker,
//! and loaded into the host only if its name is not listed.

use std::path::{Path, PathBuf};

use lrdbench_plugin_api::PluginDescriptor;

use super::loader::{LibraryBytes, LoadError};
use crate::trust::{AllowList, PluginList, Refused, Unlisted};

/// Where one library goes.
#[derive(Debug)]
pub enum Placement {
    /// Loaded into the host process.
    InProcess,
    /// Described by a worker; every call runs in a worker.
    Isolated(PluginDescriptor),
    /// Not loaded anywhere.
    Refused(Refused),
}

/// Describes a library in a worker process: `(path, sha256) -> descriptor`.
pub type Describer<'a> = dyn Fn(&Path, &str) -> Result<PluginDescriptor, String> + Sync + 'a;

/// The trust settings that decide each library's [`Placement`].
pub struct LoadPolicy<'a> {
    /// The SHA-256 allow-list of `config.toml`, if any.
    pub allow: Option<AllowList>,
    /// `[plugins] untrusted` of `config.toml`, and anything else to isolate.
    pub untrusted: PluginList,
    /// Isolate every library (`--isolate`, `isolation = "process"`, a timeout).
    pub isolate_all: bool,
    /// The config file, named in refusals.
    pub config: PathBuf,
    /// How isolated libraries are described; without one, a library that must be isolated
    /// fails to load (it is never loaded in-process instead).
    pub describe: Option<&'a Describer<'a>>,
}

impl std::fmt::Debug for LoadPolicy<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadPolicy")
            .field("allow", &self.allow)
            .field("untrusted", &self.untrusted)
            .field("isolate_all", &self.isolate_all)
            .finish()
    }
}

impl LoadPolicy<'_> {
    /// Every library in-process: the behaviour of a program that embeds the host and sets no
    /// trust policy.
    pub fn trust_all() -> LoadPolicy<'static> {
        LoadPolicy {
            allow: None,
            untrusted: PluginList::default(),
            isolate_all: false,
            config: PathBuf::new(),
            describe: None,
        }
    }

    /// Where the library at `path` with the bytes `lib` goes.
    ///
    /// # Errors
    ///
    /// [`LoadError::Isolated`] when it must be isolated and cannot be described.
    pub fn place(&self, path: &Path, lib: &LibraryBytes) -> Result<Placement, LoadError> {
        let isolate = match &self.allow {
            Some(list) if !list.hashes.contains(&lib.sha256) => match list.unlisted {
                Unlisted::Refuse => {
                    return Ok(Placement::Refused(Refused {
                        path: path.to_path_buf(),
                        sha256: lib.sha256.clone(),
                        config: self.config.clone(),
                    }))
                }
                Unlisted::Isolate => true,
            },
            _ => false,
        };
        if isolate || self.isolate_all || self.untrusted.matches_file(path, &lib.sha256) {
            return self.describe(path, &lib.sha256).map(Placement::Isolated);
        }
        if self.untrusted.has_plugin_names() {
            let descriptor = self.describe(path, &lib.sha256)?;
            if self.untrusted.matches_name(descriptor.name.as_str()) {
                return Ok(Placement::Isolated(descriptor));
            }
        }
        Ok(Placement::InProcess)
    }

    /// Whether a process plugin (manifest `path`, fingerprint `sha256`) is refused by the
    /// allow-list. A process plugin that is not refused always runs isolated, whatever the
    /// other settings say: it has no code that could run in this process.
    pub fn refuses(&self, path: &Path, sha256: &str) -> Option<Refused> {
        match &self.allow {
            Some(list)
                if !list.hashes.iter().any(|h| h == sha256)
                    && list.unlisted == Unlisted::Refuse =>
            {
                Some(Refused {
                    path: path.to_path_buf(),
                    sha256: sha256.to_string(),
                    config: self.config.clone(),
                })
            }
            _ => None,
        }
    }

    fn describe(&self, path: &Path, sha256: &str) -> Result<PluginDescriptor, LoadError> {
        let describe = self.describe.ok_or_else(|| LoadError::Isolated {
            path: path.to_path_buf(),
            message: "must run isolated, and no worker program is available to describe it".into(),
        })?;
        describe(path, sha256).map_err(|message| LoadError::Isolated {
            path: path.to_path_buf(),
            message,
        })
    }
}
