//! Loading plugins: listing, inspecting, scaffolding, and every bad-input case of the loader.

use std::process::{Command, Output};

use serde_json::Value;

use crate::support::{host_binary, library, profile_dir, workspace_root};

fn host(args: &[&str]) -> Output {
    let store = tempfile::tempdir().expect("tempdir");
    Command::new(host_binary())
        .args(args)
        .env("LRDBENCH_HOME", store.path())
        .env_remove("LRDBENCH_PLUGIN_PATH")
        .output()
        .expect("host runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn plugins_list_json_has_the_documented_keys_and_real_checksums() {
    let fault = library("lrdbench_fault_plugin");
    let out = host(&[
        "plugins",
        "list",
        "--json",
        "--plugin",
        fault.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).expect("json array");
    let trivial = rows
        .iter()
        .find(|r| r["name"] == "fault_trivial")
        .expect("fault_trivial listed");
    for key in [
        "name", "kind", "family", "estimand", "plugin", "version", "path", "sha256",
    ] {
        assert!(trivial.get(key).is_some(), "missing key {key}");
    }
    assert_eq!(trivial["kind"], "estimator");
    let sha = trivial["sha256"].as_str().unwrap();
    assert_eq!(sha.len(), 64);
    assert_eq!(sha, lrdbench_host::plugin::sha256_file(&fault).unwrap());
}

#[test]
fn plugins_inspect_shows_parameter_schema() {
    let fault = library("lrdbench_fault_plugin");
    let out = host(&["plugins", "inspect", fault.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let err = v["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "fault_error")
        .unwrap();
    assert_eq!(err["params"][0]["name"], "kind");
    assert_eq!(err["params"][0]["type"], "enum");
    assert!(err["params"][0]["choices"].as_array().unwrap().len() >= 6);
}

#[test]
fn load_path_that_does_not_exist_is_one_line_error() {
    let out = host(&["plugins", "list", "--plugin", "/no/such/libplugin.so"]);
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    assert_eq!(e.trim().lines().count(), 1, "{e}");
    assert!(e.contains("no such file"), "{e}");
}

#[test]
fn load_file_that_is_not_a_library_is_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("fake.so");
    std::fs::write(&p, "#!/bin/sh\necho hi\n").unwrap();
    let out = host(&["plugins", "list", "--plugin", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    assert_eq!(e.trim().lines().count(), 1, "{e}");
    assert!(e.contains("not a loadable shared library"), "{e}");
}

#[test]
fn load_library_that_is_not_a_plugin_is_one_line_error() {
    // The host's own dependency output: a real shared library without the root module.
    let libc = [
        "/lib/x86_64-linux-gnu/libm.so.6",
        "/usr/lib/x86_64-linux-gnu/libm.so.6",
        "/lib64/libm.so.6",
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).exists())
    .expect("a system shared library");
    let out = host(&["plugins", "list", "--plugin", libc]);
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    assert_eq!(e.trim().lines().count(), 1, "{e}");
    assert!(e.contains("not an lrdbench plugin"), "{e}");
}

#[test]
fn load_plugin_of_incompatible_interface_is_refused_in_one_line() {
    let old = library("lrdbench_fixture_incompatible");
    let out = host(&["plugins", "list", "--plugin", old.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    assert_eq!(e.trim().lines().count(), 1, "{e}");
    assert!(e.contains("incompatible plugin interface"), "{e}");
}

#[test]
fn plugins_are_found_next_to_the_executable() {
    let out = host(&["plugins", "list", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    // Every automatically loaded component comes from a lrdbench_plugin_* file of the profile dir.
    for r in &rows {
        let path = r["path"].as_str().unwrap();
        assert!(path.contains("lrdbench_plugin_"), "{path}");
        assert!(path.starts_with(profile_dir().to_str().unwrap()), "{path}");
    }
}

#[test]
fn plugins_new_scaffold_builds_and_loads() {
    let dir = tempfile::tempdir().unwrap();
    let out = host(&[
        "plugins",
        "new",
        "my_est",
        "--dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let crate_dir = dir.path().join("my_est");
    // Reuse the workspace's lock file so the scaffold resolves the same dependency versions.
    std::fs::copy(
        workspace_root().join("Cargo.lock"),
        crate_dir.join("Cargo.lock"),
    )
    .unwrap();
    let target = workspace_root().join("target").join("scaffold-test");
    let build = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--quiet", "--manifest-path"])
        .arg(crate_dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .expect("cargo runs");
    assert!(
        build.status.success(),
        "scaffold build failed: {}",
        stderr(&build)
    );
    let lib = target.join("debug").join(format!(
        "{}lrdbench_plugin_my_est{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    let out = host(&[
        "plugins",
        "list",
        "--json",
        "--plugin",
        lib.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(rows
        .iter()
        .any(|r| r["name"] == "my_est" && r["plugin"] == "my_est"));
}

fn host_with_store(store: &std::path::Path, args: &[&str]) -> Output {
    Command::new(host_binary())
        .args(args)
        .env("LRDBENCH_HOME", store)
        .env_remove("LRDBENCH_PLUGIN_PATH")
        .output()
        .expect("host runs")
}

#[test]
fn allow_list_refuses_unlisted_plugin_naming_file_and_hash() {
    let store = tempfile::tempdir().unwrap();
    let fault = library("lrdbench_fault_plugin");
    let other = "0".repeat(64);
    std::fs::write(
        store.path().join("config.toml"),
        format!("[plugins]\nallowed = [\"{other}\"]\n"),
    )
    .unwrap();
    let out = host_with_store(
        store.path(),
        &["plugins", "list", "--plugin", fault.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    let sha = lrdbench_host::plugin::sha256_file(&fault).unwrap();
    assert!(
        e.contains("not on the allow-list")
            && e.contains(&sha)
            && e.contains("lrdbench_fault_plugin"),
        "{e}"
    );
    assert_eq!(e.trim().lines().count(), 1, "{e}");
    // Listing its hash lets it load.
    std::fs::write(
        store.path().join("config.toml"),
        format!("[plugins]\nallowed = [\"{sha}\"]\n"),
    )
    .unwrap();
    let out = host_with_store(
        store.path(),
        &["plugins", "list", "--plugin", fault.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn allow_list_in_isolate_mode_contains_an_unlisted_segfault() {
    let store = tempfile::tempdir().unwrap();
    let fault = library("lrdbench_fault_plugin");
    std::fs::write(
        store.path().join("config.toml"),
        format!(
            "[plugins]\nallowed = [\"{}\"]\nunlisted = \"isolate\"\n",
            "0".repeat(64)
        ),
    )
    .unwrap();
    let data = store.path().join("x.txt");
    std::fs::write(&data, "1 2 3 4 5 6 7 8\n").unwrap();
    let out = host_with_store(
        store.path(),
        &[
            "--plugin",
            fault.to_str().unwrap(),
            "estimate",
            data.to_str().unwrap(),
            "-e",
            "fault_segfault",
            "--json",
        ],
    );
    // Isolated: the host survives and reports a crash instead of dying by SIGSEGV.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["estimates"][0]["error"]["kind"], "crash", "{v}");
}

#[cfg(unix)]
#[test]
fn store_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let store = tempfile::tempdir().unwrap();
    let fault = library("lrdbench_fault_plugin");
    let data = store.path().join("x.txt");
    std::fs::write(&data, "1 2 3 4\n").unwrap();
    let out = host_with_store(
        store.path(),
        &[
            "--plugin",
            fault.to_str().unwrap(),
            "estimate",
            data.to_str().unwrap(),
            "-e",
            "fault_trivial",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(store.path()), 0o700);
    let analytics = store.path().join("analytics");
    assert_eq!(mode(&analytics), 0o700);
    for e in std::fs::read_dir(&analytics).unwrap().flatten() {
        if e.file_type().unwrap().is_file() {
            assert_eq!(mode(&e.path()), 0o600, "{}", e.path().display());
        }
    }
}
