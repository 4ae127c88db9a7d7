//! Shared by the end-to-end tests and the benchmarks: where the built binary and plugin
//! libraries are.
//!
//! `cargo test` does not build the cdylib files of workspace members, so the test command is
//! `cargo build --workspace && cargo test --workspace` (see the README); these helpers fail
//! with that advice when the files are missing.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The directory of the running test or bench executable's profile (`target/debug` or
/// `target/release`), where cargo puts the binary and the plugin libraries.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/<profile>/deps/<test-binary>
    exe.parent()
        .and_then(Path::parent)
        .expect("profile dir")
        .to_path_buf()
}

/// Path of a workspace library by its crate library name, e.g. `lrdbench_fault_plugin`.
pub fn library(lib_name: &str) -> PathBuf {
    let p = profile_dir().join(format!(
        "{}{lib_name}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    assert!(
        p.exists(),
        "{} is missing: run `cargo build --workspace` (with the same profile) first",
        p.display()
    );
    p
}

/// Path of the built `lrdbench-host` binary.
pub fn host_binary() -> PathBuf {
    let p = profile_dir().join(format!("lrdbench-host{}", std::env::consts::EXE_SUFFIX));
    assert!(
        p.exists(),
        "{} is missing: run `cargo build --workspace` first",
        p.display()
    );
    p
}

/// Runs `cmd` with a deadline: a hang is a failure, not a stuck test.
pub fn run_within(
    mut cmd: std::process::Command,
    limit: std::time::Duration,
) -> std::process::Output {
    let mut child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("host runs");
    let start = std::time::Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "command hung for {} s: {}",
                limit.as_secs(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}
