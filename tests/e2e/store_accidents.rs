//! Accidents around the analytics store, each written as it happens: a writer stopped with
//! SIGSTOP in the middle of its work, a disk that fills up (a file size limit), a user who asks
//! to be forgotten, processes started together, two plugins with one name.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use lrdbench_analytics::read_events;

use crate::support::{host_binary, library, run_within};

fn host(store: &Path) -> Command {
    let mut c = Command::new(host_binary());
    c.env("LRDBENCH_HOME", store)
        .env_remove("LRDBENCH_ANALYTICS")
        .env_remove("DO_NOT_TRACK")
        .env_remove("LRDBENCH_PLUGIN_PATH")
        .env("USER", "tester");
    c
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn series_file(dir: &Path) -> PathBuf {
    let p = dir.join("series.txt");
    let body: Vec<String> = (0..1024)
        .map(|i| format!("{}", ((i * 7919) % 1000) as f64 / 1000.0 - 0.5))
        .collect();
    std::fs::write(&p, body.join("\n")).unwrap();
    p
}

/// The ids a `selftest` printed (each once its event was safe in the journal).
fn printed_ids(stdout: &[u8]) -> Vec<u64> {
    text(stdout)
        .lines()
        .filter_map(|l| l.split(' ').next()?.parse().ok())
        .collect()
}

/// Whether some process holds redb's writer byte of `file` (is inside a write transaction).
fn writer_byte_held(file: &Path) -> bool {
    let f = std::fs::File::open(file).unwrap();
    // SAFETY: a plain-data struct; all zeros is valid.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_WRLCK as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = 1 << 62;
    fl.l_len = 1;
    // SAFETY: F_OFD_GETLK on an open descriptor, writing only into `fl`.
    let rc = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_OFD_GETLK, &mut fl) };
    assert_eq!(rc, 0);
    i32::from(fl.l_type) != libc::F_UNLCK
}

fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(pid as libc::pid_t, sig);
    }
}

/// Waits until process `pid` is in the stopped state.
fn wait_stopped(pid: u32) {
    let stat = format!("/proc/{pid}/stat");
    for _ in 0..2000 {
        let s = std::fs::read_to_string(&stat).unwrap_or_default();
        // The state follows the parenthesised command name.
        if s.rsplit(')')
            .next()
            .is_some_and(|r| r.trim_start().starts_with('T'))
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!("process {pid} did not stop");
}

#[test]
fn stopped_writer_holds_up_no_writer_reader_or_estimate() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let series = series_file(dir.path());
    let mut first = host(&store);
    first.args(["analytics", "selftest", "--events", "1"]);
    assert!(run_within(first, Duration::from_secs(60)).status.success());
    let file = store.join("analytics").join("analytics.redb");

    // A writer recording as fast as it can: its recorder thread is inside a write transaction
    // much of the time, so stops often land there.
    let mut writer = host(&store)
        .args([
            "analytics",
            "selftest",
            "--events",
            "100000000",
            "--component",
            "long-writer",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = writer.id();
    let mut lines = BufReader::new(writer.stdout.take().unwrap()).lines();
    lines.next().unwrap().unwrap();
    // Keep its pipe drained, so it never blocks on a full pipe instead of a stop.
    let drain = std::thread::spawn(move || for _ in lines {});

    let mut acknowledged = Vec::new();
    let (mut rounds, mut held_rounds, mut busy_reads, mut command_rounds) = (0u64, 0, 0, 0);
    while held_rounds < 3 && rounds < 400 {
        rounds += 1;
        signal(pid, libc::SIGCONT);
        std::thread::sleep(Duration::from_millis(5 + (rounds * 37) % 50));
        signal(pid, libc::SIGSTOP);
        wait_stopped(pid);
        let held = writer_byte_held(&file);
        if !held && rounds > 1 {
            continue;
        }
        held_rounds += usize::from(held);
        command_rounds += 1;
        // Another writer: records, and finishes, while the stopped one holds the lock.
        let mut w = host(&store);
        w.args([
            "analytics",
            "selftest",
            "--events",
            "5",
            "--component",
            "short-writer",
        ]);
        let out = run_within(w, Duration::from_secs(60));
        assert!(out.status.success(), "{}", text(&out.stderr));
        acknowledged.extend(printed_ids(&out.stdout));
        // An estimate: its result, whatever the store's state.
        let mut e = host(&store);
        e.args(["estimate", "-e", "dfa"]).arg(&series);
        let out = run_within(e, Duration::from_secs(60));
        assert!(out.status.success(), "{}", text(&out.stderr));
        // A reader: never waits on the writer lock (it opens the file read-only). Only a stop
        // inside a commit's header rewrite (a few page writes) can hold it up, and then for
        // one second, with a line saying so.
        let mut r = host(&store);
        r.args(["summary", "--json"]);
        let out = run_within(r, Duration::from_secs(60));
        if !out.status.success() {
            let err = text(&out.stderr);
            assert!(err.contains("is held by another lrdbench process"), "{err}");
            busy_reads += 1;
        }
    }
    signal(pid, libc::SIGCONT);
    signal(pid, libc::SIGKILL);
    let _ = writer.wait();
    drain.join().unwrap();
    assert!(
        held_rounds >= 1,
        "no stop landed inside a write transaction in {rounds} rounds"
    );
    assert!(busy_reads < held_rounds.max(1) + 1);
    // Every event the short writers acknowledged is stored by a later process.
    let mut later = host(&store);
    later.args(["analytics", "selftest", "--events", "1"]);
    assert!(run_within(later, Duration::from_secs(60)).status.success());
    let stored: HashSet<u64> = read_events(&store, 0)
        .unwrap()
        .calls
        .iter()
        .filter(|c| c.component == "short-writer")
        .map(|c| c.id)
        .collect();
    assert_eq!(acknowledged.len(), 5 * command_rounds);
    for id in &acknowledged {
        assert!(stored.contains(id), "acknowledged event {id} was lost");
    }
}

/// `cmd` runs with a file size limit of `bytes` (SIGXFSZ ignored, so a write past it fails with
/// EFBIG, as on a full disk).
fn with_file_size_limit(cmd: &mut Command, bytes: u64) {
    // SAFETY: between fork and exec only async-signal-safe calls are made (setrlimit, signal).
    unsafe {
        cmd.pre_exec(move || {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let lim = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[test]
fn disk_full_lost_events_are_counted_reported_and_change_the_exit_status() {
    const EVENTS: usize = 5000;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let mut first = host(&store);
    first.args(["analytics", "selftest", "--events", "1"]);
    assert!(run_within(first, Duration::from_secs(60)).status.success());

    // Room for a few hundred events of journal, not for 5,000.
    let mut c = host(&store);
    c.args([
        "analytics",
        "selftest",
        "--events",
        &EVENTS.to_string(),
        "--component",
        "full-disk",
    ]);
    with_file_size_limit(&mut c, 96 << 10);
    let out = run_within(c, Duration::from_secs(120));
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    let acknowledged = printed_ids(&out.stdout);
    let lost = EVENTS - acknowledged.len();
    assert!(
        lost > 0 && !acknowledged.is_empty(),
        "{} of {EVENTS} recorded",
        acknowledged.len()
    );
    assert!(
        err.contains(&format!("warning: {lost} analytics event(s)")),
        "the loss is reported with its count: {err}"
    );
    // `analytics status` keeps the count.
    let mut s = host(&store);
    s.args(["analytics", "status", "--json"]);
    let out = run_within(s, Duration::from_secs(60));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["lost_events"], lost as u64, "{v}");

    // (A real `estimate` cannot run under a file size limit: the plugin loader copies each
    // library into a sealed memfd, which the limit also bounds. It reports the loss through the
    // same `commands::with_lost_events` as `selftest`.)

    // With space again, every acknowledged event is stored: lost means not acknowledged.
    let mut later = host(&store);
    later.args(["analytics", "selftest", "--events", "1"]);
    assert!(run_within(later, Duration::from_secs(60)).status.success());
    let stored: HashSet<u64> = read_events(&store, 0)
        .unwrap()
        .calls
        .iter()
        .filter(|c| c.component == "full-disk")
        .map(|c| c.id)
        .collect();
    assert_eq!(stored.len(), acknowledged.len());
    for id in &acknowledged {
        assert!(stored.contains(id), "acknowledged event {id} was lost");
    }
}

/// Occurrences of `needle` in the bytes of every file under `dir`.
fn occurrences(dir: &Path, needle: &[u8]) -> usize {
    let mut n = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let t = entry.file_type().unwrap();
            if t.is_dir() {
                stack.push(entry.path());
            } else if t.is_file() {
                let bytes = std::fs::read(entry.path()).unwrap();
                n += bytes.windows(needle.len()).filter(|w| *w == needle).count();
            }
        }
    }
    n
}

#[test]
fn forget_and_purge_leave_no_byte_of_the_removed_events_in_any_store_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let analytics = store.join("analytics");
    // Names as given (privacy off), the worst case for a canary.
    let mut c = host(&store);
    c.args(["analytics", "enable", "--no-privacy"]);
    assert!(run_within(c, Duration::from_secs(60)).status.success());
    let wf = dir.path().join("wf.toml");
    std::fs::write(
        &wf,
        "[workflow]\nname = \"alice-canary-wf-qxzk\"\nseed = 3\n\n[[data]]\nmodel = \"fgn\"\n\
         params = { H = [0.7] }\nlengths = [256]\nreplicates = 2\n\n[[estimator]]\nname = \"dfa\"\n",
    )
    .unwrap();
    let mut c = host(&store);
    c.env("USER", "alice")
        .args(["run", "--out"])
        .arg(dir.path().join("runs"))
        .arg(&wf);
    let out = run_within(c, Duration::from_secs(120));
    assert!(out.status.success(), "{}", text(&out.stderr));
    for (user, component) in [
        ("alice", "alice-canary-sel-qxzk"),
        ("bob", "bob-keeps-4c2d"),
    ] {
        let mut c = host(&store);
        c.env("USER", user).args([
            "analytics",
            "selftest",
            "--events",
            "300",
            "--component",
            component,
        ]);
        assert!(run_within(c, Duration::from_secs(60)).status.success());
    }
    // Alice's events also in a dead journal not yet stored: a writer killed mid-run.
    let mut killed = host(&store)
        .env("USER", "alice")
        .args([
            "analytics",
            "selftest",
            "--events",
            "100000000",
            "--interval-us",
            "200",
            "--component",
            "alice-canary-jnl-qxzk",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(killed.stdout.take().unwrap()).lines();
    for _ in 0..50 {
        lines.next().unwrap().unwrap();
    }
    killed.kill().unwrap();
    killed.wait().unwrap();

    for canary in [
        "alice-canary-wf-qxzk",
        "alice-canary-sel-qxzk",
        "alice-canary-jnl-qxzk",
    ] {
        assert!(
            occurrences(&analytics, canary.as_bytes()) > 0,
            "{canary} is recorded before"
        );
    }
    let mut f = host(&store);
    f.args(["analytics", "forget", "--user", "alice"]);
    let out = run_within(f, Duration::from_secs(60));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("rewritten"),
        "{}",
        text(&out.stdout)
    );
    for canary in [
        "alice-canary-wf-qxzk",
        "alice-canary-sel-qxzk",
        "alice-canary-jnl-qxzk",
        "alice",
    ] {
        assert_eq!(
            occurrences(&analytics, canary.as_bytes()),
            0,
            "{canary} is still in a file of the store after forget"
        );
    }
    let events = read_events(&store, 0).unwrap();
    assert_eq!(
        events
            .calls
            .iter()
            .filter(|c| c.component == "bob-keeps-4c2d")
            .count(),
        300,
        "another user's events are kept"
    );
    assert!(events.calls.iter().all(|c| c.user_id != "alice"));
    assert!(events.steps.iter().all(|s| s.user_id != "alice"));

    let mut p = host(&store);
    p.args(["analytics", "purge", "--yes"]);
    let out = run_within(p, Duration::from_secs(60));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        occurrences(&analytics, b"bob-keeps-4c2d"),
        0,
        "purge leaves bytes"
    );
    assert!(read_events(&store, 0).unwrap().is_empty());
}

#[test]
fn first_use_notice_is_printed_once_per_store_by_processes_started_together() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let children: Vec<_> = (0..6)
        .map(|_| {
            host(&store)
                .args(["analytics", "selftest", "--events", "3"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut notices = 0;
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        notices += text(&out.stderr).matches("note: lrdbench records").count();
    }
    assert_eq!(notices, 1, "the notice is shown once per store");
    let mut again = host(&store);
    again.args(["analytics", "selftest", "--events", "1"]);
    let out = run_within(again, Duration::from_secs(60));
    assert!(!text(&out.stderr).contains("note: lrdbench records"));
}

#[test]
fn two_plugins_named_alike_are_addressed_by_hash_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let series = series_file(dir.path());
    let original = library("lrdbench_plugin_temporal");
    // The same plugin name in a different library: one byte appended after the ELF image.
    let twin = dir.path().join("libtwin_temporal.so");
    let mut bytes = std::fs::read(&original).unwrap();
    bytes.push(0);
    std::fs::write(&twin, bytes).unwrap();
    let mut c = host(&store);
    c.env("LRDBENCH_ANALYTICS", "0")
        .arg("--plugin")
        .arg(&original)
        .arg("--plugin")
        .arg(&twin)
        .args(["estimate", "-e", "temporal::dfa"])
        .arg(&series);
    let out = run_within(c, Duration::from_secs(60));
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("provided by several plugins"), "{err}");
    let names: Vec<&str> = err
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| w.starts_with("temporal@") && w.ends_with("::dfa"))
        .collect();
    assert_eq!(names.len(), 2, "both are named by hash: {err}");
    for name in names {
        let mut c = host(&store);
        c.env("LRDBENCH_ANALYTICS", "0")
            .arg("--plugin")
            .arg(&original)
            .arg("--plugin")
            .arg(&twin)
            .args(["estimate", "-e", name])
            .arg(&series);
        let out = run_within(c, Duration::from_secs(60));
        assert!(out.status.success(), "{name}: {}", text(&out.stderr));
        assert!(text(&out.stdout).contains("dfa"), "{}", text(&out.stdout));
    }
}
