//! The analytics settings in `<store>/config.toml` (section `[analytics]`), and the
//! environment switches that override them.
//!
//! ```toml
//! [analytics]
//! enabled = true
//! privacy = true
//! retention_days = 90
//! notice_shown = true
//! ```
//!
//! Other sections of the file belong to other parts of lrdbench and are kept as they are.

use std::path::{Path, PathBuf};

/// The file name of the settings within the store directory.
pub const FILE_NAME: &str = "config.toml";

/// Default retention, days.
pub const DEFAULT_RETENTION_DAYS: u32 = 90;

/// Analytics settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalyticsConfig {
    /// Whether calls are recorded.
    pub enabled: bool,
    /// Privacy mode (keyed user hashes, redacted parameters, scrubbed messages).
    pub privacy: bool,
    /// Events older than this are deleted.
    pub retention_days: u32,
    /// Whether the first-recording notice was shown.
    pub notice_shown: bool,
}

impl Default for AnalyticsConfig {
    fn default() -> Self {
        AnalyticsConfig {
            enabled: true,
            privacy: true,
            retention_days: DEFAULT_RETENTION_DAYS,
            notice_shown: false,
        }
    }
}

/// A settings file that cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Reading or writing failed.
    #[error("cannot access {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not valid TOML, or a value has the wrong type.
    #[error("{}: {detail}; fix or delete the file", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
}

impl AnalyticsConfig {
    /// Reads the settings of the store `store_dir`; a missing file or section gives the
    /// defaults.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] for an unreadable or invalid file.
    pub fn load(store_dir: &Path) -> Result<AnalyticsConfig, ConfigError> {
        let path = store_dir.join(FILE_NAME);
        let table = read_table(&path)?;
        let mut c = AnalyticsConfig::default();
        let Some(section) = table.get("analytics") else {
            return Ok(c);
        };
        let invalid = |detail: &str| ConfigError::Invalid {
            path: path.clone(),
            detail: detail.to_string(),
        };
        let section = section
            .as_table()
            .ok_or_else(|| invalid("[analytics] must be a table"))?;
        if let Some(v) = section.get("enabled") {
            c.enabled = v
                .as_bool()
                .ok_or_else(|| invalid("analytics.enabled must be true or false"))?;
        }
        if let Some(v) = section.get("privacy") {
            c.privacy = v
                .as_bool()
                .ok_or_else(|| invalid("analytics.privacy must be true or false"))?;
        }
        if let Some(v) = section.get("notice_shown") {
            c.notice_shown = v
                .as_bool()
                .ok_or_else(|| invalid("analytics.notice_shown must be true or false"))?;
        }
        if let Some(v) = section.get("retention_days") {
            c.retention_days = v
                .as_integer()
                .and_then(|d| u32::try_from(d).ok())
                .filter(|d| *d >= 1)
                .ok_or_else(|| {
                    invalid("analytics.retention_days must be a whole number of days, at least 1")
                })?;
        }
        Ok(c)
    }

    /// Writes the settings, keeping the file's other sections.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] when the file cannot be read or written.
    pub fn save(&self, store_dir: &Path) -> Result<(), ConfigError> {
        let path = store_dir.join(FILE_NAME);
        let io = |source| ConfigError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(store_dir).map_err(io)?;
        let mut table = read_table(&path)?;
        let mut section = toml::Table::new();
        section.insert("enabled".into(), self.enabled.into());
        section.insert("privacy".into(), self.privacy.into());
        section.insert(
            "retention_days".into(),
            i64::from(self.retention_days).into(),
        );
        section.insert("notice_shown".into(), self.notice_shown.into());
        table.insert("analytics".into(), toml::Value::Table(section));
        let text = toml::to_string(&table).map_err(|e| ConfigError::Invalid {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        // Written aside and renamed, so a reader never sees half a file.
        let tmp = store_dir.join(format!("{FILE_NAME}.{}.tmp", std::process::id()));
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)
    }
}

/// Reads the file if it is a regular file of at most 1 MiB: a FIFO or device named
/// `config.toml` is an error, never a wait or an endless read.
fn read_bounded(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let mut text = String::new();
    file.take(1 << 20).read_to_string(&mut text)?;
    Ok(text)
}

fn read_table(path: &Path) -> Result<toml::Table, ConfigError> {
    match read_bounded(path) {
        Ok(text) => text
            .parse::<toml::Table>()
            .map_err(|e| ConfigError::Invalid {
                path: path.to_path_buf(),
                detail: e
                    .to_string()
                    .lines()
                    .next()
                    .unwrap_or("invalid TOML")
                    .to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(toml::Table::new()),
        Err(source) => Err(ConfigError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// The environment variable that turns recording off, if one does: `LRDBENCH_ANALYTICS=0`
/// (or `off`, `false`, `no`) or `DO_NOT_TRACK` set to anything but empty or `0`.
pub fn disabled_by_env() -> Option<&'static str> {
    if let Ok(v) = std::env::var("LRDBENCH_ANALYTICS") {
        if matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "0" | "off" | "false" | "no"
        ) {
            return Some("LRDBENCH_ANALYTICS");
        }
    }
    if let Ok(v) = std::env::var("DO_NOT_TRACK") {
        let v = v.trim();
        if !v.is_empty() && v != "0" {
            return Some("DO_NOT_TRACK");
        }
    }
    None
}

/// Whether this process is the one to show the first-use notice of the store in `dir`
/// (`<store>/analytics`): the first to create the marker file `notice-shown` (`O_EXCL`), so
/// that processes started together print it once between them. When the marker cannot be
/// made for another reason, the notice is shown.
pub fn claim_notice(dir: &Path) -> bool {
    let _ = std::fs::create_dir_all(dir);
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dir.join("notice-shown"))
    {
        Ok(_) => true,
        Err(e) => e.kind() != std::io::ErrorKind::AlreadyExists,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_missing_file_gives_defaults() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            AnalyticsConfig::load(dir.path()).unwrap(),
            AnalyticsConfig::default()
        );
    }

    #[test]
    fn config_save_keeps_other_sections() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE_NAME), "[other]\nx = 1\n").unwrap();
        let c = AnalyticsConfig {
            enabled: false,
            privacy: false,
            retention_days: 7,
            notice_shown: true,
        };
        c.save(dir.path()).unwrap();
        assert_eq!(AnalyticsConfig::load(dir.path()).unwrap(), c);
        let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        assert!(text.contains("[other]"), "{text}");
    }

    #[test]
    fn config_bad_retention_is_a_one_line_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(FILE_NAME),
            "[analytics]\nretention_days = -3\n",
        )
        .unwrap();
        let e = AnalyticsConfig::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("retention_days"), "{e}");
        assert!(!e.contains('\n'));
    }
}
