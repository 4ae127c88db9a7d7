//! Hostile and unlucky inputs, each written as the accident: a run killed in its first
//! milliseconds, FIFOs and devices where files belong, absurd numbers, symlink loops.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{host_binary, run_within};

fn host(store: &Path) -> Command {
    let mut c = Command::new(host_binary());
    c.env("LRDBENCH_HOME", store)
        .env("LRDBENCH_ANALYTICS", "0")
        .env_remove("LRDBENCH_PLUGIN_PATH");
    c
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn small_workflow(dir: &Path, extra: &str) -> PathBuf {
    let wf = dir.join("small.toml");
    std::fs::write(
        &wf,
        format!(
            "[workflow]\nname = \"small\"\nseed = 7\n\n[[data]]\nmodel = \"fgn\"\n\
             params = {{ H = [0.3, 0.7] }}\nlengths = [512]\nreplicates = 2\n\n\
             [[estimator]]\nname = \"dfa\"\n\n[[estimator]]\nname = \"rs\"\n{extra}"
        ),
    )
    .unwrap();
    wf
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

#[test]
fn hostile_run_killed_in_its_first_milliseconds_never_leaves_a_dir_without_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let wf = small_workflow(dir.path(), "");
    let runs = dir.path().join("runs");
    // Kills spread over the first 60 ms, where the run directory is being made.
    for round in 0..12u64 {
        let mut child = host(&store)
            .args(["run"])
            .arg(&wf)
            .args(["--out", runs.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(5 * round));
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
        let _ = child.wait();
    }
    let visible: Vec<PathBuf> = std::fs::read_dir(&runs)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    for run_dir in &visible {
        let m = std::fs::read_to_string(run_dir.join("manifest.json"))
            .unwrap_or_else(|e| panic!("{} has no manifest: {e}", run_dir.display()));
        serde_json::from_str::<serde_json::Value>(&m).expect("manifest is whole JSON");
        let out = host(&store)
            .arg("run")
            .arg(&wf)
            .args(["--resume", run_dir.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
}

#[test]
fn hostile_resume_of_a_directory_without_manifest_starts_afresh() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let wf = small_workflow(dir.path(), "");
    // What an older build left when killed before its manifest existed.
    let run_dir = dir.path().join("runs").join("small-early");
    std::fs::create_dir_all(&run_dir).unwrap();
    let out = host(&store)
        .arg("run")
        .arg(&wf)
        .args(["--resume", run_dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let m = std::fs::read_to_string(run_dir.join("manifest.json")).unwrap();
    assert!(m.contains("\"complete\""), "{m}");
    let rows = std::fs::read_to_string(run_dir.join("estimates.csv")).unwrap();
    assert_eq!(rows.lines().count(), 1 + 4 * 2, "{rows}");
}

#[test]
fn hostile_absurd_numbers_are_range_errors_not_panics_or_aborts() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let data = dir.path().join("x.txt");
    std::fs::write(&data, "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n").unwrap();
    for t in ["1e300", "1e19", "inf", "-1"] {
        let mut c = host(&store);
        c.arg("estimate")
            .arg(&data)
            .args(["-e", "dfa", &format!("--timeout={t}")]);
        let out = run_within(c, Duration::from_secs(60));
        // A bad option value is a usage error (exit 2), as the README says.
        assert_eq!(
            out.status.code(),
            Some(2),
            "--timeout {t}: {}",
            text(&out.stderr)
        );
        let e = text(&out.stderr);
        assert!(
            e.contains("timeout must be") && !e.contains("panicked"),
            "{e}"
        );
    }
    let cases = [
        (
            "replicates = 1000000000000",
            "replicates must be between 1 and",
        ),
        ("lengths = [1099511627776]", "lengths must be between 1 and"),
        (
            "[execution]\nthreads = 1000000",
            "threads must be at most 1024",
        ),
        ("[execution]\ntimeout = 1e300", "timeout must be"),
    ];
    for (extra, want) in cases {
        // `replicates`/`lengths` belong to the [[data]] table: a second grid carries them.
        let extra = if extra.starts_with('[') {
            extra.to_string()
        } else {
            let mut e = format!("\n[[data]]\nmodel = \"fgn\"\nlengths = [64]\n{extra}\n");
            if extra.starts_with("lengths") {
                e = format!("\n[[data]]\nmodel = \"fgn\"\n{extra}\n");
            }
            e
        };
        let wf = small_workflow(dir.path(), &extra);
        let mut c = host(&store);
        c.arg("validate").arg(&wf);
        let out = run_within(c, Duration::from_secs(60));
        assert_eq!(out.status.code(), Some(1), "{extra}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains(want),
            "{extra}: {}",
            text(&out.stderr)
        );
    }
    // The plan size limit, and --max-cells raising it.
    let wf = small_workflow(dir.path(), "");
    let mut c = host(&store);
    c.arg("validate").arg(&wf).args(["--max-cells", "5"]);
    let out = run_within(c, Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("--max-cells"),
        "{}",
        text(&out.stderr)
    );
    let mut c = host(&store);
    c.arg("validate").arg(&wf).args(["--max-cells", "8"]);
    let out = run_within(c, Duration::from_secs(60));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut c = host(&store);
    c.arg("run").arg(&wf).args(["--threads", "1000000"]);
    let out = run_within(c, Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[test]
fn hostile_glob_does_not_follow_directory_symlink_loops() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("a.csv"), "value\n0.1\n0.2\n0.3\n").unwrap();
    // Two loops: followed, they make an exponential walk.
    std::os::unix::fs::symlink("..", data.join("up")).unwrap();
    std::os::unix::fs::symlink(".", data.join("here")).unwrap();
    let wf = dir.path().join("files.toml");
    std::fs::write(
        &wf,
        "[workflow]\nname = \"files\"\n\n[[data]]\nfiles = \"data/**/*.csv\"\n\n\
         [[estimator]]\nname = \"dfa\"\n",
    )
    .unwrap();
    let mut c = host(&store);
    c.arg("validate").arg(&wf);
    let out = run_within(c, Duration::from_secs(60));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("1 series"),
        "one file, one series: {}",
        text(&out.stdout)
    );
}

#[test]
fn hostile_fifo_and_devices_as_plugin_workflow_or_data_are_errors_not_hangs() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let fifo = dir.path().join("liblrdbench_plugin_fifo.so");
    mkfifo(&fifo);
    let limit = Duration::from_secs(60);
    let mut c = host(&store);
    c.args(["--plugin", fifo.to_str().unwrap(), "plugins", "list"]);
    let out = run_within(c, limit);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("a FIFO"),
        "{}",
        text(&out.stderr)
    );
    let mut c = host(&store);
    c.args(["--plugin", "/dev/zero", "plugins", "list"]);
    let out = run_within(c, limit);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("character device"),
        "{}",
        text(&out.stderr)
    );
    for wf in [fifo.to_str().unwrap(), "/dev/zero"] {
        let mut c = host(&store);
        c.args(["validate", wf]);
        let out = run_within(c, limit);
        assert_eq!(out.status.code(), Some(1), "{wf}");
        assert!(
            text(&out.stderr).contains("not a regular file")
                || text(&out.stderr).contains("a FIFO")
                || text(&out.stderr).contains("character device"),
            "{wf}: {}",
            text(&out.stderr)
        );
    }
    for data in [fifo.to_str().unwrap(), "/dev/zero"] {
        let mut c = host(&store);
        c.args(["estimate", data, "-e", "dfa"]);
        let out = run_within(c, limit);
        assert_eq!(out.status.code(), Some(1), "{data}");
        let e = text(&out.stderr);
        assert!(
            e.contains("a FIFO") || e.contains("character device"),
            "{data}: {e}"
        );
    }
}

#[test]
fn hostile_secret_that_is_empty_or_a_link_to_dev_zero_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let data = dir.path().join("x.txt");
    let values: Vec<String> = (0..512u64)
        .map(|i| ((i * 7919) % 101).to_string())
        .collect();
    std::fs::write(&data, values.join("\n")).unwrap();
    std::fs::create_dir_all(store.join("analytics")).unwrap();
    let secret = store.join("analytics").join("secret");
    for make in [0, 1] {
        let _ = std::fs::remove_file(&secret);
        if make == 0 {
            std::fs::write(&secret, "").unwrap();
        } else {
            std::os::unix::fs::symlink("/dev/zero", &secret).unwrap();
        }
        let mut c = host(&store);
        c.env_remove("LRDBENCH_ANALYTICS")
            .arg("estimate")
            .arg(&data)
            .args(["-e", "dfa"]);
        let out = run_within(c, Duration::from_secs(60));
        let e = text(&out.stderr);
        assert!(out.status.success(), "the estimate itself works: {e}");
        assert!(
            e.contains("not a 32-byte secret") && e.contains("remove it"),
            "{e}"
        );
    }
}
