//! Damaged analytics files, written as the accident: flipped journal bits, journals that are
//! not files.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lrdbench_analytics::event::{CallEvent, Event, EventType};
use lrdbench_analytics::{read_events, testing as codec};

use crate::support::host_binary;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn call(seq: u64) -> Event {
    let mut parameters = BTreeMap::new();
    parameters.insert("seq".to_string(), seq.to_string());
    Event::Call(CallEvent {
        id: (lrdbench_analytics::now_us() as u64) << 12 | seq,
        timestamp_us: lrdbench_analytics::now_us(),
        event_type: EventType::Custom,
        component: "damage".into(),
        plugin: None,
        parameters,
        data_length: seq,
        success: true,
        user_id: "u".into(),
        session_id: "s".into(),
        run_id: None,
        workflow: None,
        cell: None,
        truth_h: None,
        performance: None,
        error: None,
        machine: None,
    })
}

/// Writes a dead journal of `n` events and returns the file offset of each frame.
fn dead_journal(path: &Path, n: u64) -> Vec<usize> {
    let mut bytes = b"LRDJNL01".to_vec();
    let mut starts = Vec::new();
    for seq in 0..n {
        let mut payload = Vec::new();
        codec::encode(&call(seq), &mut payload);
        starts.push(bytes.len());
        bytes.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&codec::crc32(&payload).to_le_bytes());
        bytes.extend_from_slice(&payload);
    }
    std::fs::write(path, bytes).unwrap();
    starts
}

fn replay(store: &Path) -> std::process::Output {
    let mut child = Command::new(host_binary())
        .args(["analytics", "selftest", "--events", "1"])
        .env("LRDBENCH_HOME", store)
        .env_remove("LRDBENCH_ANALYTICS")
        .env_remove("DO_NOT_TRACK")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("replay hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn damage_flipped_journal_bit_loses_one_event_and_the_journal_is_kept_aside() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let jdir = store.join("analytics").join("journal");
    std::fs::create_dir_all(&jdir).unwrap();
    let path = jdir.join("deadbeef.jnl");
    let starts = dead_journal(&path, 2000);
    let mut bytes = std::fs::read(&path).unwrap();
    // One bit of frame 100's payload, and one of frame 1500's length.
    bytes[starts[100] + 20] ^= 0x10;
    bytes[starts[1500] + 2] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    // Not journals, though named like them: skipped with a warning, never waited on.
    std::fs::create_dir(jdir.join("adir.jnl")).unwrap();
    std::os::unix::fs::symlink("loop.jnl", jdir.join("loop.jnl")).unwrap();
    let fifo = std::ffi::CString::new(jdir.join("fifo.jnl").to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);

    let out = replay(&store);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let e = text(&out.stderr);
    assert!(e.contains("had damaged frames"), "{e}");
    assert!(e.contains("adir.jnl") && e.contains("fifo.jnl"), "{e}");
    let events = read_events(&store, 0).unwrap();
    let mut seqs: Vec<u64> = events
        .calls
        .iter()
        .filter(|c| c.component == "damage")
        .map(|c| c.data_length)
        .collect();
    seqs.sort_unstable();
    let want: Vec<u64> = (0..2000).filter(|s| *s != 100 && *s != 1500).collect();
    assert_eq!(seqs, want, "every frame but the two damaged ones is stored");
    assert!(
        !path.exists(),
        "the damaged journal is out of the replay path"
    );
    assert!(
        jdir.join("deadbeef.jnl.damaged").exists(),
        "the damaged journal is kept aside"
    );
    // A second replay stores nothing twice.
    let out = replay(&store);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let again = read_events(&store, 0).unwrap();
    assert_eq!(
        again
            .calls
            .iter()
            .filter(|c| c.component == "damage")
            .count(),
        1998
    );
}

/// The host with analytics on in store `store` and a fixed user.
fn host(store: &Path) -> Command {
    let mut c = Command::new(host_binary());
    c.env("LRDBENCH_HOME", store)
        .env_remove("LRDBENCH_ANALYTICS")
        .env_remove("DO_NOT_TRACK")
        .env_remove("LRDBENCH_PLUGIN_PATH")
        .env("USER", "tester");
    c
}

/// Runs `args` with a deadline: a hang is a failure, not a stuck test. Output is read while
/// the command runs (a full pipe must not look like a hang).
fn run_within(store: &Path, args: &[&str]) -> std::process::Output {
    let child = host(store)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output().unwrap()));
    match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(out) => out,
        Err(_) => {
            // SAFETY: kill(2) on our own child.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            let out = rx.recv().unwrap();
            panic!("{args:?} hung: {}", text(&out.stderr));
        }
    }
}

/// Overwrites 4 KiB page `page` of `file` with pseudo-random bytes from `seed`.
fn garble_page(file: &Path, page: u64, seed: u64) {
    let mut bytes = std::fs::read(file).unwrap();
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let at = (page * 4096) as usize;
    for b in &mut bytes[at..(at + 4096).min(at + 4096)] {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    std::fs::write(file, bytes).unwrap();
}

/// A command's outcome on a damaged store is working output or one clear error line, never a
/// panic (exit 101) or a backtrace.
fn assert_no_panic(args: &[&str], out: &std::process::Output) {
    let err = text(&out.stderr);
    assert_ne!(out.status.code(), Some(101), "{args:?} panicked: {err}");
    assert!(
        out.status.code().is_some(),
        "{args:?} died of a signal: {err}"
    );
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{args:?} printed a panic: {err}"
    );
    // `analytics verify` reports damage on standard output, with exit 1.
    let verify_found_damage =
        args == ["analytics", "verify"] && text(&out.stdout).contains("the store is damaged");
    if !out.status.success() && !verify_found_damage {
        assert!(
            err.lines().filter(|l| l.starts_with("error:")).count() == 1,
            "{args:?} failed without one error line: {err}"
        );
    }
}

fn selftest_calls(store: &Path) -> usize {
    read_events(store, 0)
        .unwrap()
        .calls
        .iter()
        .filter(|c| c.component == "canary-store")
        .count()
}

#[test]
fn damage_garbled_store_pages_never_panic_and_repair_keeps_what_is_readable() {
    const EVENTS: usize = 3000;
    let dir = tempfile::tempdir().unwrap();
    let pristine_store = dir.path().join("pristine");
    let out = run_within(
        &pristine_store,
        &[
            "analytics",
            "selftest",
            "--events",
            &EVENTS.to_string(),
            "--component",
            "canary-store",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let file_of = |store: &Path| store.join("analytics").join("analytics.redb");
    let pages = std::fs::metadata(file_of(&pristine_store)).unwrap().len() / 4096;
    assert!(pages > 8, "a store of {pages} pages");
    let series = dir.path().join("series.txt");
    let body: Vec<String> = (0..1024)
        .map(|i| format!("{}", ((i * 7919) % 1000) as f64 / 1000.0 - 0.5))
        .collect();
    std::fs::write(&series, body.join("\n")).unwrap();
    let series = series.to_str().unwrap().to_string();

    // The header page, and pages spread over the file (several seeds each).
    let mut cases: Vec<(u64, u64)> = vec![(0, 1)];
    for (i, frac) in [0.2, 0.35, 0.5, 0.65, 0.8, 0.95].iter().enumerate() {
        cases.push((((pages as f64 * frac) as u64).max(1), 7 + i as u64));
    }
    let mut damaged_cases = 0;
    for (page, seed) in cases {
        let store = dir.path().join(format!("store-{page}-{seed}"));
        std::fs::create_dir_all(store.join("analytics")).unwrap();
        for name in ["analytics.redb", "secret"] {
            let from = pristine_store.join("analytics").join(name);
            if from.exists() {
                std::fs::copy(&from, store.join("analytics").join(name)).unwrap();
            }
        }
        let _ = std::fs::copy(
            pristine_store.join("config.toml"),
            store.join("config.toml"),
        );
        garble_page(&file_of(&store), page, seed);
        let report_dir = store.join("report-out");
        let export_dir = store.join("export-out");
        let commands: Vec<Vec<&str>> = vec![
            vec!["summary"],
            vec!["summary", "--json"],
            vec!["report", "--out", report_dir.to_str().unwrap()],
            vec!["export", "--out", export_dir.to_str().unwrap()],
            vec!["analytics", "status"],
            vec!["analytics", "status", "--json"],
            vec!["analytics", "verify"],
        ];
        for args in &commands {
            let out = run_within(&store, args);
            assert_no_panic(args, &out);
        }
        let verify = run_within(&store, &["analytics", "verify"]);
        let damaged = !verify.status.success();
        damaged_cases += usize::from(damaged);
        // Recording commands work on a damaged store, and keep their events.
        let estimate = ["estimate", "-e", "dfa", series.as_str()];
        let out = run_within(&store, &estimate);
        assert_no_panic(&estimate, &out);
        assert!(
            out.status.success(),
            "page {page}: estimate fails on a damaged store: {}",
            text(&out.stderr)
        );
        assert!(text(&out.stdout).contains("dfa"), "{}", text(&out.stdout));

        let out = run_within(&store, &["analytics", "repair"]);
        assert_no_panic(&["analytics", "repair"], &out);
        assert!(out.status.success(), "page {page}: {}", text(&out.stderr));
        let said = text(&out.stdout);
        let number_after = |marker: &str| -> Option<usize> {
            said.split(marker)
                .nth(1)
                .and_then(|s| s.split(' ').next())
                .and_then(|n| n.parse().ok())
        };
        let kept =
            number_after("kept ").unwrap_or_else(|| panic!("repair says what it kept: {said}"));
        let kept_steps = number_after(" calls and ").unwrap_or(0);
        let replayed = number_after("stored ").unwrap_or(0);
        assert!(said.contains("dropped: "), "{said}");
        assert!(
            std::fs::read_dir(store.join("analytics"))
                .unwrap()
                .flatten()
                .any(|e| e
                    .file_name()
                    .to_string_lossy()
                    .starts_with("analytics.redb.damaged-")),
            "the damaged file is kept aside"
        );
        // What repair said it kept is there, with the estimate made while the store was
        // damaged (from its journal), and the store is whole again.
        let after = run_within(&store, &["analytics", "verify"]);
        assert!(
            after.status.success(),
            "page {page}: {}",
            text(&after.stdout)
        );
        let events = read_events(&store, 0).unwrap();
        assert_eq!(
            events.calls.len() + events.steps.len(),
            kept + kept_steps + replayed,
            "page {page}: what repair said it kept and stored is there: {said}"
        );
        assert_eq!(
            events.calls.iter().filter(|c| c.component == "dfa").count(),
            1,
            "page {page}: the estimate's call (made on the damaged store) is kept"
        );
        let canaries = selftest_calls(&store);
        if !damaged {
            assert_eq!(
                canaries, EVENTS,
                "page {page}: an intact store loses nothing"
            );
        } else if let Some(n) = said
            .split("dropped: ")
            .nth(1)
            .and_then(|s| s.split(" of its events").next())
            .and_then(|n| n.parse::<usize>().ok())
        {
            assert_eq!(
                canaries + n,
                EVENTS,
                "page {page}: kept and dropped add up: {said}"
            );
        }
        // Every command works again.
        for args in &commands {
            let out = run_within(&store, args);
            assert!(
                out.status.success(),
                "{args:?} after repair: {}",
                text(&out.stderr)
            );
        }
    }
    assert!(
        damaged_cases >= 2,
        "only {damaged_cases} garbled pages were damage that verify saw"
    );
}
