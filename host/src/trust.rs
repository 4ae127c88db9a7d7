//! What `<store>/config.toml` says about plugins, read in one place: the optional allow-list
//! of plugin libraries by SHA-256 ([`AllowList`]), the plugins that always run isolated and the
//! default worker memory limit ([`store_settings`]).
//!
//! ```toml
//! [plugins]
//! allowed = ["9f2c…64 hex digits…", "sha256:0a1b…"]
//! unlisted = "refuse"   # or "isolate": run them in worker processes instead
//! untrusted = ["fault", "sha256:0123abcd..."]   # always isolated
//!
//! [isolation]
//! memory_limit_mb = 2048   # per worker, when a command sets none
//! ```
//!
//! With no `allowed` key every plugin loads as before. A refusal names the file and its hash.
//! The `[analytics]` section's values are read by `lrdbench_analytics::config`; this module
//! only checks its key names (see [`check_keys`]). It is a leaf: it knows no loaded plugin, so
//! the loader ([`crate::plugin`]) and isolation ([`crate::isolate`]) can both depend on it.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::fsutil::{read_regular_text, ReadError};

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

/// The text of `config.toml` at `path`, `None` when there is none. Bounded, and only a regular
/// file: a FIFO or device here must not hang a command.
fn read_config_text(path: &Path) -> Result<Option<String>, ReadError> {
    match read_regular_text(path, MAX_CONFIG_BYTES) {
        Ok(t) => Ok(Some(t)),
        Err(ReadError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
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
        // Fail closed: a trust setting that cannot be read is an error, never "no list".
        let text = match read_config_text(&path) {
            Ok(Some(t)) => t,
            Ok(None) => return Ok(None),
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
}

/// A list of plugins named by plugin name (`fault`), library file name
/// (`liblrdbench_fault_plugin.so`), full path, or `sha256:HEX`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PluginList(pub Vec<String>);

impl PluginList {
    /// Whether an entry names this file by SHA-256, file name or path: what can be known
    /// without loading it.
    pub fn matches_file(&self, path: &Path, sha256: &str) -> bool {
        let file_name = path.file_name().and_then(|n| n.to_str());
        self.0.iter().any(|entry| {
            let entry = entry.trim();
            match entry.strip_prefix("sha256:") {
                Some(hash) => hash.eq_ignore_ascii_case(sha256),
                None => Some(entry) == file_name || Path::new(entry) == path,
            }
        })
    }

    /// Whether an entry may be a plugin's declared name (neither a hash, a path nor a library
    /// file name), which only the library itself can tell.
    pub fn has_plugin_names(&self) -> bool {
        self.0.iter().any(|entry| {
            let entry = entry.trim();
            !entry.starts_with("sha256:")
                && !entry.contains('/')
                && !entry.ends_with(std::env::consts::DLL_SUFFIX)
        })
    }

    /// Whether an entry is the plugin name `name`.
    pub fn matches_name(&self, name: &str) -> bool {
        self.0.iter().any(|entry| entry.trim() == name)
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Why `config.toml` could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML, or `plugins.untrusted` is not a list of strings.
    #[error("{}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// The isolation settings of a store's `config.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreIsolationSettings {
    /// Plugins that always run isolated (`[plugins] untrusted`).
    pub untrusted: PluginList,
    /// Default per-worker memory limit, bytes (`[isolation] memory_limit_mb`).
    pub memory_limit: Option<u64>,
}

/// Reads the isolation settings of `<store>/config.toml`:
///
/// ```toml
/// [plugins]
/// untrusted = ["fault", "sha256:0123abcd..."]   # always isolated
///
/// [isolation]
/// memory_limit_mb = 2048                        # per worker, when a command sets none
/// ```
///
/// A missing file, or missing keys, give the defaults (nobody untrusted, no limit); other keys
/// are left to their owners.
///
/// # Errors
///
/// An unreadable file, invalid TOML, or values of the wrong type.
pub fn store_settings(store_dir: &Path) -> Result<StoreIsolationSettings, ConfigError> {
    let path = store_dir.join("config.toml");
    let text = match read_config_text(&path) {
        Ok(Some(t)) => t,
        Ok(None) => return Ok(StoreIsolationSettings::default()),
        Err(ReadError::Io(source)) => return Err(ConfigError::Io { path, source }),
        Err(e) => {
            return Err(ConfigError::Invalid {
                path,
                message: format!("cannot read: {e}"),
            })
        }
    };
    parse_store_settings(&text).map_err(|message| ConfigError::Invalid { path, message })
}

/// The plugins `<store>/config.toml` marks as untrusted (see [`store_settings`]).
///
/// # Errors
///
/// As [`store_settings`].
pub fn untrusted_plugins(store_dir: &Path) -> Result<PluginList, ConfigError> {
    store_settings(store_dir).map(|s| s.untrusted)
}

fn parse_store_settings(text: &str) -> Result<StoreIsolationSettings, String> {
    let table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
    let memory_limit = match table
        .get("isolation")
        .and_then(|t| t.get("memory_limit_mb"))
    {
        None => None,
        Some(v) => match v.as_integer() {
            Some(mb) if mb > 0 => Some((mb as u64).saturating_mul(1 << 20)),
            _ => {
                return Err(format!(
                    "`isolation.memory_limit_mb` must be a positive integer, got {v}"
                ))
            }
        },
    };
    Ok(StoreIsolationSettings {
        untrusted: parse_untrusted(&table)?,
        memory_limit,
    })
}

fn parse_untrusted(table: &toml::Table) -> Result<PluginList, String> {
    let Some(plugins) = table.get("plugins") else {
        return Ok(PluginList::default());
    };
    let Some(untrusted) = plugins.get("untrusted") else {
        return Ok(PluginList::default());
    };
    let list = untrusted
        .as_array()
        .ok_or("`plugins.untrusted` must be a list of strings")?;
    list.iter()
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("`plugins.untrusted` holds a non-string value: {v}"))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(PluginList)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse_untrusted_text(text: &str) -> Result<PluginList, String> {
        parse_store_settings(text).map(|s| s.untrusted)
    }

    #[test]
    fn store_memory_limit_is_read_in_mib() {
        let s = parse_store_settings("[isolation]\nmemory_limit_mb = 512\n").unwrap();
        assert_eq!(s.memory_limit, Some(512 << 20));
        assert!(parse_store_settings("[isolation]\nmemory_limit_mb = -1\n").is_err());
        assert!(parse_store_settings("[isolation]\nmemory_limit_mb = \"1G\"\n").is_err());
    }

    #[test]
    fn untrusted_list_is_read_from_plugins_table() {
        let list = parse_untrusted_text(
            "[privacy]\nmode = \"on\"\n[plugins]\nuntrusted = [\"fault\", \"sha256:ab\"]\n",
        )
        .unwrap();
        assert_eq!(list.0, vec!["fault".to_string(), "sha256:ab".to_string()]);
    }

    #[test]
    fn untrusted_list_absent_is_empty() {
        assert!(parse_untrusted_text("").unwrap().is_empty());
        assert!(parse_untrusted_text("[plugins]\nallow = []\n")
            .unwrap()
            .is_empty());
    }

    #[test]
    fn untrusted_list_of_numbers_is_rejected() {
        let e = parse_untrusted_text("[plugins]\nuntrusted = [1]\n").unwrap_err();
        assert!(e.contains("non-string"), "{e}");
        let e = parse_untrusted_text("[plugins]\nuntrusted = \"fault\"\n").unwrap_err();
        assert!(e.contains("list of strings"), "{e}");
    }

    #[test]
    fn untrusted_missing_file_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert!(untrusted_plugins(dir.path()).unwrap().is_empty());
        std::fs::write(dir.path().join("config.toml"), "not toml [").unwrap();
        let e = untrusted_plugins(dir.path()).unwrap_err();
        assert!(e.to_string().contains("config.toml"), "{e}");
    }

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
