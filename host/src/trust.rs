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

use serde::Deserialize;

use crate::plugin::{Catalog, LoadedPlugin};

/// The largest `config.toml` read: far above any real one.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// The shape of `<store>/config.toml`. Every key is known: a misspelt trust setting (`alowed`,
/// `[plugin]`) must be an error, never silently ignored.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct ConfigKeys {
    analytics: Option<AnalyticsKeys>,
    plugins: Option<PluginsKeys>,
    isolation: Option<IsolationKeys>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct AnalyticsKeys {
    enabled: Option<toml::Value>,
    privacy: Option<toml::Value>,
    retention_days: Option<toml::Value>,
    notice_shown: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct PluginsKeys {
    allowed: Option<toml::Value>,
    unlisted: Option<toml::Value>,
    untrusted: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct IsolationKeys {
    memory_limit_mb: Option<toml::Value>,
}

/// Checks that `config.toml` holds only known sections and keys; the error names the line.
///
/// # Errors
///
/// One line: `line L, column C: unknown field ...` or the TOML syntax error.
pub fn check_keys(text: &str) -> Result<(), String> {
    match toml::from_str::<ConfigKeys>(text) {
        Ok(_) => Ok(()),
        Err(e) => {
            let at = e.span().map(|span| {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                format!("line {line}, column {column}: ")
            });
            Err(format!(
                "{}{}",
                at.unwrap_or_default(),
                e.message().lines().next().unwrap_or("invalid")
            ))
        }
    }
}

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
        // Bounded, and only a regular file: a FIFO or device here must not hang a command.
        let text = match crate::fsutil::read_regular_text(&path, MAX_CONFIG_BYTES) {
            Ok(t) => t,
            Err(crate::fsutil::ReadError::NotFound) => return Ok(None),
            // Fail closed: a trust setting that cannot be read is an error, never "no list".
            Err(e) => return Err(err(format!("cannot read: {e}"))),
        };
        check_keys(&text).map_err(err)?;
        let table: toml::Table = toml::from_str(&text).map_err(|e| err(e.message().to_string()))?;
        let Some(plugins) = table.get("plugins").and_then(|p| p.as_table()) else {
            return Ok(None);
        };
        let Some(allowed) = plugins.get("allowed") else {
            if plugins.contains_key("unlisted") {
                return Err(err(
                    "[plugins] unlisted has no effect without an `allowed` list of SHA-256 \
                     digests; add one (it may be empty) or remove `unlisted`"
                        .into(),
                ));
            }
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
    fn typos_and_half_settings_fail_closed() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("config.toml");
        let h = "ab".repeat(32);
        for (text, want) in [
            (
                format!("[plugins]\nalowed = [\"{h}\"]\n"),
                "line 2, column 1: unknown field `alowed`",
            ),
            (
                format!("[plugin]\nallowed = [\"{h}\"]\n"),
                "line 1, column 2: unknown field `plugin`",
            ),
            (
                "[plugins]\nunlisted = \"refuse\"\n".to_string(),
                "without an `allowed` list",
            ),
            (
                "[analytics]\nprivcy = false\n".to_string(),
                "line 2, column 1: unknown field `privcy`",
            ),
        ] {
            std::fs::write(&cfg, &text).unwrap();
            let e = AllowList::load(dir.path()).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
            assert!(!e.contains('\n'), "{e}");
        }
        // Unreadable: a directory where the file should be.
        std::fs::remove_file(&cfg).unwrap();
        std::fs::create_dir(&cfg).unwrap();
        let e = AllowList::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("cannot read: a directory"), "{e}");
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
