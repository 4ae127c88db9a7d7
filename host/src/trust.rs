//! The optional allow-list of plugin libraries, by SHA-256, in `<store>/config.toml`:
//!
//! ```toml
//! [plugins]
//! allowed = ["9f2c…64 hex digits…", "sha256:0a1b…"]
//! unlisted = "refuse"   # or "isolate": run them in worker processes instead
//! ```
//!
//! With no `allowed` key every plugin loads as before. A refusal names the file and its hash.

use std::path::{Path, PathBuf};

use crate::plugin::{Catalog, LoadedPlugin};

/// What happens to a plugin that is not on the allow-list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unlisted {
    /// It is not loaded.
    Refuse,
    /// It is loaded, and every call of it runs in an isolated worker.
    Isolate,
}

/// The allow-list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowList {
    /// Allowed SHA-256 digests, lowercase hex.
    pub hashes: Vec<String>,
    /// What happens to the others.
    pub unlisted: Unlisted,
}

/// A plugin the allow-list refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: not on the allow-list of {} (sha256 {sha256}); add the hash to [plugins] allowed to trust it", path.display(), config.display())]
pub struct Refused {
    /// The library.
    pub path: PathBuf,
    /// Its SHA-256.
    pub sha256: String,
    /// The config file holding the list.
    pub config: PathBuf,
}

/// Why the allow-list could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct TrustConfigError {
    /// The config file.
    pub path: PathBuf,
    /// What is wrong.
    pub message: String,
}

impl AllowList {
    /// Reads the allow-list from `<store_dir>/config.toml`; `None` when there is none.
    ///
    /// # Errors
    ///
    /// An unreadable file, invalid TOML, or values of the wrong shape.
    pub fn load(store_dir: &Path) -> Result<Option<AllowList>, TrustConfigError> {
        let path = store_dir.join("config.toml");
        let err = |message: String| TrustConfigError {
            path: path.clone(),
            message,
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(err(format!("cannot read: {e}"))),
        };
        let table: toml::Table = toml::from_str(&text).map_err(|e| err(e.message().to_string()))?;
        let Some(plugins) = table.get("plugins").and_then(|p| p.as_table()) else {
            return Ok(None);
        };
        let Some(allowed) = plugins.get("allowed") else {
            return Ok(None);
        };
        let hashes = allowed
            .as_array()
            .ok_or_else(|| err("[plugins] allowed must be a list of SHA-256 digests".into()))?
            .iter()
            .map(|v| {
                let s = v
                    .as_str()
                    .ok_or_else(|| err("[plugins] allowed must be a list of strings".into()))?;
                let hex = s.trim().trim_start_matches("sha256:").to_ascii_lowercase();
                if hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
                    Ok(hex)
                } else {
                    Err(err(format!(
                        "[plugins] allowed: `{s}` is not a SHA-256 digest (64 hex digits)"
                    )))
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let unlisted = match plugins.get("unlisted").map(|v| v.as_str()) {
            None | Some(Some("refuse")) => Unlisted::Refuse,
            Some(Some("isolate")) => Unlisted::Isolate,
            _ => {
                return Err(err(
                    "[plugins] unlisted must be \"refuse\" or \"isolate\"".into()
                ))
            }
        };
        Ok(Some(AllowList { hashes, unlisted }))
    }

    /// Whether `plugin` is on the list.
    pub fn allows(&self, plugin: &LoadedPlugin) -> bool {
        self.hashes.contains(&plugin.sha256)
    }

    /// Applies the list to a loaded catalog: with [`Unlisted::Refuse`], removes every unlisted
    /// plugin and returns the refusals; with [`Unlisted::Isolate`], returns the `sha256:`
    /// entries of the unlisted plugins, to be isolated.
    pub fn apply(&self, catalog: &mut Catalog, config: &Path) -> (Vec<Refused>, Vec<String>) {
        let unlisted: Vec<(PathBuf, String)> = catalog
            .plugins()
            .iter()
            .filter(|p| !self.allows(p))
            .map(|p| (p.path.clone(), p.sha256.clone()))
            .collect();
        match self.unlisted {
            Unlisted::Refuse => {
                catalog.retain(|p| self.allows(p));
                let refused = unlisted
                    .into_iter()
                    .map(|(path, sha256)| Refused {
                        path,
                        sha256,
                        config: config.to_path_buf(),
                    })
                    .collect();
                (refused, Vec::new())
            }
            Unlisted::Isolate => (
                Vec::new(),
                unlisted
                    .into_iter()
                    .map(|(_, h)| format!("sha256:{h}"))
                    .collect(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_list_absent_means_none() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(AllowList::load(dir.path()).unwrap(), None);
        std::fs::write(
            dir.path().join("config.toml"),
            "[plugins]\nuntrusted = [\"x\"]\n",
        )
        .unwrap();
        assert_eq!(AllowList::load(dir.path()).unwrap(), None);
    }

    #[test]
    fn allow_list_reads_hashes_and_mode() {
        let dir = tempfile::tempdir().unwrap();
        let h = "AB".repeat(32);
        std::fs::write(
            dir.path().join("config.toml"),
            format!("[plugins]\nallowed = [\"sha256:{h}\"]\nunlisted = \"isolate\"\n"),
        )
        .unwrap();
        let list = AllowList::load(dir.path()).unwrap().unwrap();
        assert_eq!(list.hashes, vec!["ab".repeat(32)]);
        assert_eq!(list.unlisted, Unlisted::Isolate);
    }

    #[test]
    fn allow_list_rejects_malformed_digest() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.toml"),
            "[plugins]\nallowed = [\"abc\"]\n",
        )
        .unwrap();
        let e = AllowList::load(dir.path()).unwrap_err();
        assert!(e.to_string().contains("not a SHA-256 digest"), "{e}");
    }
}
