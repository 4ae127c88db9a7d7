//! Process plugins: a program in any language, declared by a manifest `lrdbench-plugin.toml`,
//! that speaks the worker protocol (`docs/process-plugins.md`) on its standard input and
//! output. Its calls always run in worker processes started from the manifest's command.
//!
//! The plugin's fingerprint covers the manifest and every file it names (`files`, and each
//! word of `command` that is a file of the working directory), so the allow-list pins the
//! code as well as the declaration, and any edit of the script changes the hash.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::loader::{hex, LoadError, MAX_LIBRARY_BYTES};

/// The file name of a process plugin's manifest.
pub const MANIFEST_NAME: &str = "lrdbench-plugin.toml";

/// The largest manifest accepted, bytes.
const MAX_MANIFEST_BYTES: u64 = 64 << 10;

/// What the manifest says, as written.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestFile {
    /// Program and arguments, e.g. `["python3", "my_estimators.py"]`.
    command: Vec<String>,
    /// Extra environment variables.
    #[serde(default)]
    env: BTreeMap<String, String>,
    /// Working directory, relative to the manifest's directory (default: that directory).
    workdir: Option<PathBuf>,
    /// Further files the plugin runs (modules it imports), hashed with the manifest.
    #[serde(default)]
    files: Vec<PathBuf>,
}

/// How to start one worker of a process plugin: resolved from its manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessLaunch {
    /// The manifest file.
    pub manifest: PathBuf,
    /// The program: a name looked up on `PATH`, or a path (relative ones resolved against
    /// the working directory).
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Environment variables set for it, over the host's own.
    pub env: Vec<(String, String)>,
    /// The directory it runs in.
    pub workdir: PathBuf,
    /// The files hashed with the manifest (absolute or relative to the working directory).
    pub files: Vec<PathBuf>,
}

/// Whether `path` names a process plugin's manifest rather than a library: a file called
/// [`MANIFEST_NAME`], or any `.toml` file given by name.
pub fn is_manifest(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "toml")
}

/// The manifests of one plugin directory: `DIR/lrdbench-plugin.toml` and
/// `DIR/*/lrdbench-plugin.toml`, sorted.
pub fn manifests_in(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let own = dir.join(MANIFEST_NAME);
    if own.is_file() {
        out.push(own);
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.path().join(MANIFEST_NAME))
            .filter(|p| p.is_file())
            .collect();
        found.sort();
        out.extend(found);
    }
    out
}

/// Reads a manifest and fingerprints it with the files it names.
///
/// # Errors
///
/// [`LoadError::Manifest`] for a manifest that does not parse or names a missing file, and the
/// errors of reading a file.
pub fn read_manifest(path: &Path) -> Result<(ProcessLaunch, String), LoadError> {
    let bad = |message: String| LoadError::Manifest {
        path: path.to_path_buf(),
        message,
    };
    let bytes = read_bounded(path, MAX_MANIFEST_BYTES)?;
    let text = std::str::from_utf8(&bytes).map_err(|_| bad("not UTF-8 text".into()))?;
    let file: ManifestFile = toml::from_str(text).map_err(|e| {
        bad(e
            .to_string()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect::<Vec<_>>()
            .join(" "))
    })?;
    let Some((program, args)) = file.command.split_first() else {
        return Err(bad(
            "`command` is empty: give the program and its arguments".into(),
        ));
    };
    let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let base = if base.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        base
    };
    let workdir = match &file.workdir {
        Some(w) => base.join(w),
        None => base,
    };
    if !workdir.is_dir() {
        return Err(bad(format!(
            "working directory {} does not exist",
            workdir.display()
        )));
    }
    let program_path = PathBuf::from(program);
    let program = if program.contains('/') && program_path.is_relative() {
        workdir.join(program_path)
    } else {
        program_path
    };
    // Every word of the command that names a file of the working directory is code the
    // plugin runs (the script): it is hashed like the files listed.
    let mut files: Vec<PathBuf> = Vec::new();
    if program.starts_with(&workdir) && program.is_file() {
        files.push(program.clone());
    }
    for a in args {
        let p = workdir.join(a);
        if !a.starts_with('-') && p.is_file() && !files.contains(&p) {
            files.push(p);
        }
    }
    for f in &file.files {
        let p = workdir.join(f);
        if !p.is_file() {
            return Err(bad(format!(
                "`files` names {}, which is not a file",
                p.display()
            )));
        }
        if !files.contains(&p) {
            files.push(p);
        }
    }
    let mut hasher = Sha256::new();
    hasher.update(b"lrdbench process plugin 1\0");
    hash_part(&mut hasher, MANIFEST_NAME, &bytes);
    for f in &files {
        let content = read_bounded(f, MAX_LIBRARY_BYTES)?;
        let name = f
            .strip_prefix(&workdir)
            .unwrap_or(f)
            .to_string_lossy()
            .into_owned();
        hash_part(&mut hasher, &name, &content);
    }
    let launch = ProcessLaunch {
        manifest: path.to_path_buf(),
        program,
        args: args.to_vec(),
        env: file.env.into_iter().collect(),
        workdir,
        files,
    };
    Ok((launch, hex(&hasher.finalize())))
}

/// Name and length before the bytes, so no two different sets of files hash alike.
fn hash_part(hasher: &mut Sha256, name: &str, bytes: &[u8]) {
    hasher.update((name.len() as u64).to_le_bytes());
    hasher.update(name.as_bytes());
    hasher.update((bytes.len() as u64).to_le_bytes());
    hasher.update(bytes);
}

fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, LoadError> {
    crate::fsutil::read_regular(path, limit).map_err(|e| LoadError::reading(path, e))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn manifest_hash_covers_the_script_and_listed_files() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join(MANIFEST_NAME);
        std::fs::write(
            &m,
            "command = [\"python3\", \"est.py\"]\nfiles = [\"lib.py\"]\n[env]\nA = \"1\"\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("est.py"), "x = 1\n").unwrap();
        std::fs::write(dir.path().join("lib.py"), "y = 1\n").unwrap();
        let (launch, h1) = read_manifest(&m).unwrap();
        assert_eq!(launch.program, PathBuf::from("python3"));
        assert_eq!(launch.args, vec!["est.py".to_string()]);
        assert_eq!(launch.env, vec![("A".to_string(), "1".to_string())]);
        assert_eq!(launch.files.len(), 2);
        std::fs::write(dir.path().join("est.py"), "x = 2\n").unwrap();
        let (_, h2) = read_manifest(&m).unwrap();
        assert_ne!(h1, h2, "editing the script changes the hash");
        std::fs::write(dir.path().join("lib.py"), "y = 2\n").unwrap();
        let (_, h3) = read_manifest(&m).unwrap();
        assert_ne!(h2, h3, "editing a listed file changes the hash");
    }

    #[test]
    fn bad_manifests_are_one_line_errors() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join(MANIFEST_NAME);
        for (text, needle) in [
            ("command = []\n", "empty"),
            (
                "command = [\"x\"]\nfiles = [\"missing.py\"]\n",
                "not a file",
            ),
            ("command = [\"x\"]\ncomand = 1\n", "unknown field"),
            ("command = [\"x\"]\nworkdir = \"nope\"\n", "does not exist"),
        ] {
            std::fs::write(&m, text).unwrap();
            let e = read_manifest(&m).unwrap_err().to_string();
            assert!(e.contains(needle), "{text:?}: {e}");
            assert_eq!(e.lines().count(), 1, "{e}");
        }
    }
}
