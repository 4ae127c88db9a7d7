//! Trust, written as the attack: a library whose ELF constructor writes a marker file the moment
//! any process loads it. A refused, untrusted or isolated library must never be loaded by the
//! host process (only a worker may run it), and a misspelt or unreadable trust setting must
//! fail closed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::host_binary;

/// Builds `liblrdbench_plugin_evil.so` with `cc`: its constructor creates
/// `$LRDBENCH_TEST_MARKER_DIR/ran-<pid>` in whatever process loads it.
fn evil_library(dir: &Path) -> PathBuf {
    let src = dir.join("evil.c");
    std::fs::write(
        &src,
        r#"
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
__attribute__((constructor)) static void mark(void) {
    const char *d = getenv("LRDBENCH_TEST_MARKER_DIR");
    char path[4096];
    if (!d) return;
    snprintf(path, sizeof path, "%s/ran-%d", d, (int)getpid());
    FILE *f = fopen(path, "w");
    if (f) fclose(f);
}
"#,
    )
    .unwrap();
    let lib = dir.join(format!(
        "{}lrdbench_plugin_evil{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    let status = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&lib)
        .arg(&src)
        .status()
        .expect("cc runs");
    assert!(status.success(), "cc failed");
    lib
}

struct Attack {
    _tmp: tempfile::TempDir,
    store: PathBuf,
    markers: PathBuf,
    lib: PathBuf,
    data: PathBuf,
}

impl Attack {
    fn new(config: &str) -> Attack {
        let tmp = tempfile::tempdir().unwrap();
        let store = tmp.path().join("store");
        let markers = tmp.path().join("markers");
        let libdir = tmp.path().join("lib");
        for d in [&store, &markers, &libdir] {
            std::fs::create_dir_all(d).unwrap();
        }
        let lib = evil_library(&libdir);
        if !config.is_empty() {
            std::fs::write(store.join("config.toml"), config).unwrap();
        }
        let data = tmp.path().join("x.txt");
        std::fs::write(&data, "1 2 3 4 5 6 7 8 9 10 11 12\n").unwrap();
        Attack {
            _tmp: tmp,
            store,
            markers,
            lib,
            data,
        }
    }

    /// Runs the host; returns its output and its pid.
    fn run(&self, args: &[&str]) -> (Output, u32) {
        let child = Command::new(host_binary())
            .args(args)
            .env("LRDBENCH_HOME", &self.store)
            .env("LRDBENCH_TEST_MARKER_DIR", &self.markers)
            .env_remove("LRDBENCH_PLUGIN_PATH")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("host runs");
        let pid = child.id();
        (child.wait_with_output().unwrap(), pid)
    }

    fn ran_in(&self, pid: u32) -> bool {
        self.markers.join(format!("ran-{pid}")).exists()
    }

    fn ran_anywhere(&self) -> bool {
        std::fs::read_dir(&self.markers).unwrap().next().is_some()
    }

    fn lib(&self) -> &str {
        self.lib.to_str().unwrap()
    }

    fn libdir(&self) -> &str {
        self.lib.parent().unwrap().to_str().unwrap()
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn trust_control_an_unconfigured_host_does_run_the_constructor() {
    // Proves the marker works: with no trust settings the library is loaded in the host (and
    // refused afterwards as "not an lrdbench plugin").
    let a = Attack::new("");
    let (out, pid) = a.run(&["--plugin", a.lib(), "plugins", "list"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not an lrdbench plugin"),
        "{}",
        stderr(&out)
    );
    assert!(
        a.ran_in(pid),
        "the control must load the library in the host"
    );
}

#[test]
fn trust_refused_library_is_never_loaded_by_anyone() {
    let config = format!("[plugins]\nallowed = [\"{}\"]\n", "0".repeat(64));
    let a = Attack::new(&config);
    // Named explicitly: an error, before the library is opened.
    let (out, _) = a.run(&["--plugin", a.lib(), "plugins", "list"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("refusing plugin"), "{}", stderr(&out));
    // Discovered in a plugin directory: a warning, and the rest works.
    let (out, _) = a.run(&["--plugin-dir", a.libdir(), "plugins", "list"]);
    assert!(stderr(&out).contains("refusing plugin"), "{}", stderr(&out));
    let (out, _) = a.run(&["--plugin", a.lib(), "plugins", "inspect", a.lib()]);
    assert!(!out.status.success());
    assert!(!a.ran_anywhere(), "a refused library ran its constructor");
}

#[test]
fn trust_untrusted_and_unlisted_isolate_libraries_never_load_in_the_host() {
    let lib_name = format!(
        "{}lrdbench_plugin_evil{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    for config in [
        format!("[plugins]\nuntrusted = [\"{lib_name}\"]\n"),
        // By declared name: only a worker can learn it.
        "[plugins]\nuntrusted = [\"evil\"]\n".to_string(),
        format!(
            "[plugins]\nallowed = [\"{}\"]\nunlisted = \"isolate\"\n",
            "0".repeat(64)
        ),
    ] {
        let a = Attack::new(&config);
        for args in [
            vec!["--plugin", a.lib(), "plugins", "list"],
            vec!["--plugin-dir", a.libdir(), "plugins", "list"],
            vec!["--plugin", a.lib(), "plugins", "inspect", a.lib()],
        ] {
            let (out, pid) = a.run(&args);
            assert!(
                !a.ran_in(pid),
                "{config}: {args:?} loaded the library in the host: {}",
                stderr(&out)
            );
        }
    }
}

#[test]
fn trust_isolate_flag_loads_nothing_in_the_host() {
    let a = Attack::new("");
    let data = a.data.to_str().unwrap().to_string();
    let (out, pid) = a.run(&[
        "--plugin-dir",
        a.libdir(),
        "estimate",
        &data,
        "-e",
        "dfa",
        "--isolate",
    ]);
    assert!(!a.ran_in(pid), "--isolate loaded the library in the host");
    // The worker did run it (it is the sandbox), and the real estimators still work.
    assert!(a.ran_anywhere(), "no worker described the library");
    assert!(
        stderr(&out).contains("not an lrdbench plugin"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn trust_config_typos_are_errors_naming_the_line_and_load_nothing() {
    let h = "0".repeat(64);
    for (config, want) in [
        (format!("[plugins]\nalowed = [\"{h}\"]\n"), "line 2"),
        (format!("[plugin]\nallowed = [\"{h}\"]\n"), "line 1"),
        (
            "[plugins]\nunlisted = \"refuse\"\n".to_string(),
            "without an `allowed` list",
        ),
    ] {
        let a = Attack::new(&config);
        let (out, _) = a.run(&["--plugin-dir", a.libdir(), "plugins", "list"]);
        assert_eq!(out.status.code(), Some(1), "{config}");
        let e = stderr(&out);
        assert!(
            e.contains(want) && e.contains("config.toml"),
            "{config}: {e}"
        );
        assert!(!a.ran_anywhere(), "{config}: a library was loaded");
    }
    // A trust setting that cannot be read fails closed.
    let a = Attack::new("");
    std::fs::create_dir(a.store.join("config.toml")).unwrap();
    let (out, _) = a.run(&["--plugin-dir", a.libdir(), "plugins", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("cannot read"), "{}", stderr(&out));
    assert!(!a.ran_anywhere());
}
