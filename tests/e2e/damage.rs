//! Damaged analytics files, written as the accident: flipped journal bits, journals that are
//! not files.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lrdbench_analytics::event::{CallEvent, Event, EventType};
use lrdbench_analytics::{codec, read_events};

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
