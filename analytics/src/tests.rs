//! Tests of the recorder, the store and `read_events` together, within one process.

use std::collections::BTreeMap;

use crate::event::{CallEvent, Event, EventType, StepEvent, StepType};
use crate::journal::JournalWriter;
use crate::{codec, read_events, Recorder, RecorderOptions};

const OPTIONS: RecorderOptions = RecorderOptions {
    retention_days: 90,
    max_pending: crate::recorder::DEFAULT_MAX_PENDING,
};

fn call(component: &str, seq: u64) -> Event {
    let mut parameters = BTreeMap::new();
    parameters.insert("seq".to_string(), seq.to_string());
    Event::Call(CallEvent {
        id: 0,
        timestamp_us: crate::now_us(),
        event_type: EventType::Custom,
        component: component.into(),
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

fn seqs(events: &crate::Events) -> Vec<u64> {
    let mut v: Vec<u64> = events.calls.iter().map(|c| c.data_length).collect();
    v.sort_unstable();
    v
}

#[test]
fn recorder_events_are_readable_before_and_after_commit() {
    let dir = tempfile::tempdir().unwrap();
    let (rec, _) = Recorder::open(dir.path(), &OPTIONS).unwrap();
    for i in 0..100 {
        rec.record(call("x", i)).unwrap();
    }
    // Straight away: some or all are only in the journal.
    assert_eq!(
        seqs(&read_events(dir.path(), 0).unwrap()),
        (0..100).collect::<Vec<_>>()
    );
    rec.flush();
    assert_eq!(
        seqs(&read_events(dir.path(), 0).unwrap()),
        (0..100).collect::<Vec<_>>()
    );
    rec.close();
    assert!(crate::journal::list(&rec.paths().journals)
        .unwrap()
        .is_empty());
    assert_eq!(
        seqs(&read_events(dir.path(), 0).unwrap()),
        (0..100).collect::<Vec<_>>()
    );
}

#[test]
fn a_full_queue_spills_to_the_journal_and_loses_nothing() {
    // Two threads record as fast as they can against a queue of 16. The first batch waits
    // `BATCH_INTERVAL` for its deadline, so the queue fills within microseconds and later events are
    // kept by the journal alone until the recorder thread reads them back. The queue never
    // holds more than 16 events, and every event reaches the store once, in order.
    let dir = tempfile::tempdir().unwrap();
    let options = RecorderOptions {
        max_pending: 16,
        ..OPTIONS
    };
    let (rec, _) = Recorder::open(dir.path(), &options).unwrap();
    let (most, ids) = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2u64)
            .map(|t| {
                let rec = rec.clone();
                scope.spawn(move || {
                    let mut most = 0;
                    let ids: Vec<u64> = (0..3000u64)
                        .map(|i| {
                            let id = rec.record(call("x", t * 3000 + i)).unwrap();
                            most = most.max(rec.pending_len());
                            id
                        })
                        .collect();
                    (most, ids)
                })
            })
            .collect();
        let mut most = 0;
        let mut ids = Vec::new();
        for w in workers {
            let (m, i) = w.join().unwrap();
            most = most.max(m);
            ids.extend(i);
        }
        (most, ids)
    });
    assert_eq!(
        most, 16,
        "the queue must fill (and spill) but never pass 16"
    );
    rec.close();
    assert!(crate::journal::list(&rec.paths().journals)
        .unwrap()
        .is_empty());
    let events = read_events(dir.path(), 0).unwrap();
    assert_eq!(seqs(&events), (0..6000).collect::<Vec<_>>());
    let mut stored: Vec<u64> = events.calls.iter().map(|c| c.id).collect();
    stored.sort_unstable();
    let mut recorded = ids;
    recorded.sort_unstable();
    assert_eq!(stored, recorded, "each event stored once, under its id");
}

#[test]
fn recorder_ids_are_unique_and_increasing() {
    let dir = tempfile::tempdir().unwrap();
    let (rec, _) = Recorder::open(dir.path(), &OPTIONS).unwrap();
    let ids: Vec<u64> = (0..1000)
        .map(|i| rec.record(call("x", i)).unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    rec.close();
}

#[test]
fn recorder_replays_a_dead_journal_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    // A first recorder stores 10 events, then "dies" with 5 more only in a journal.
    let (rec, _) = Recorder::open(dir.path(), &OPTIONS).unwrap();
    for i in 0..10 {
        rec.record(call("x", i)).unwrap();
    }
    rec.close();
    let paths = crate::StorePaths::new(dir.path());
    {
        let mut w = JournalWriter::create(&paths.journals, "dead").unwrap();
        for i in 10..15 {
            let mut e = call("x", i);
            if let Event::Call(c) = &mut e {
                c.id = 1_000 + i;
            }
            let mut buf = Vec::new();
            codec::encode(&e, &mut buf);
            w.append(&buf).unwrap();
        }
        // A torn last frame, as a kill in the middle of a write leaves.
        std::fs::OpenOptions::new()
            .append(true)
            .open(w.path())
            .and_then(|mut f| std::io::Write::write_all(&mut f, &[9, 0, 0, 0, 1]))
            .unwrap();
    }
    // The dead journal is visible to readers before any replay.
    assert_eq!(
        seqs(&read_events(dir.path(), 0).unwrap()),
        (0..15).collect::<Vec<_>>()
    );
    let (rec2, report) = Recorder::open(dir.path(), &OPTIONS).unwrap();
    assert_eq!(report.replayed, 5);
    rec2.close();
    let (rec3, report) = Recorder::open(dir.path(), &OPTIONS).unwrap();
    assert_eq!(report.replayed, 0);
    rec3.close();
    assert_eq!(
        seqs(&read_events(dir.path(), 0).unwrap()),
        (0..15).collect::<Vec<_>>()
    );
}

#[test]
fn read_events_filters_by_time_and_keeps_steps() {
    let dir = tempfile::tempdir().unwrap();
    let (rec, _) = Recorder::open(dir.path(), &OPTIONS).unwrap();
    let mut old = call("old", 1);
    if let Event::Call(c) = &mut old {
        c.timestamp_us = 1_000;
    }
    rec.record(old).unwrap();
    let t = crate::now_us();
    rec.record(call("new", 2)).unwrap();
    rec.record(Event::Step(StepEvent {
        id: 0,
        timestamp_us: t + 1,
        run_id: "r".into(),
        workflow: "w".into(),
        seq: 0,
        step_type: StepType::Estimate,
        component: "dfa".into(),
        cell: None,
        duration_ns: 5,
        success: true,
        user_id: "u".into(),
        session_id: "s".into(),
    }))
    .unwrap();
    rec.close();
    let events = read_events(dir.path(), t).unwrap();
    assert_eq!(events.calls.len(), 1);
    assert_eq!(events.calls[0].component, "new");
    assert_eq!(events.steps.len(), 1);
    assert_eq!(read_events(dir.path(), 0).unwrap().calls.len(), 2);
}

#[test]
fn store_from_a_newer_version_is_refused_with_one_line_and_events_wait() {
    let dir = tempfile::tempdir().unwrap();
    let paths = crate::StorePaths::new(dir.path());
    std::fs::create_dir_all(&paths.dir).unwrap();
    {
        let db = redb::Database::create(paths.dir.join(crate::store::FILE_NAME)).unwrap();
        let tx = db.begin_write().unwrap();
        {
            let mut t = tx
                .open_table(redb::TableDefinition::<&str, u64>::new("meta"))
                .unwrap();
            t.insert("schema_version", 99).unwrap();
        }
        tx.commit().unwrap();
    }
    let err = crate::store::Store::open(&paths.dir).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("newer lrdbench"), "{msg}");
    assert!(!msg.contains('\n'));
    assert_events_wait_in_the_journal(dir.path());
}

/// A recorder on a store it cannot use still records: its events stay in its journal.
fn assert_events_wait_in_the_journal(store_dir: &std::path::Path) {
    let (rec, _) = Recorder::open(store_dir, &OPTIONS).unwrap();
    rec.record(call("kept", 1)).unwrap();
    rec.close();
    let paths = crate::StorePaths::new(store_dir);
    let journals = crate::journal::list(&paths.journals).unwrap();
    assert_eq!(journals.len(), 1);
    let mut f = std::fs::File::open(&journals[0].1).unwrap();
    assert_eq!(crate::journal::read_from(&mut f, 0).unwrap().len(), 1);
}

#[test]
fn store_damaged_file_is_refused_with_one_line_and_events_wait() {
    let dir = tempfile::tempdir().unwrap();
    let paths = crate::StorePaths::new(dir.path());
    std::fs::create_dir_all(&paths.dir).unwrap();
    std::fs::write(paths.dir.join(crate::store::FILE_NAME), vec![0x5a; 100_000]).unwrap();
    let err = crate::store::Store::open(&paths.dir).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("analytics store"), "{msg}");
    assert!(!msg.contains('\n'));
    assert_events_wait_in_the_journal(dir.path());
}

#[test]
fn store_not_writable_is_refused_with_one_line() {
    // Root ignores permissions, so a file where the directory should be stands in for them.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("analytics"), b"not a directory").unwrap();
    let err = Recorder::open(dir.path(), &OPTIONS).unwrap_err();
    assert!(!err.to_string().contains('\n'));
}

// As in the host: jemalloc is this test binary's malloc, so heap peaks are real.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[test]
fn probe_heap_peak_counts_a_freed_allocation_exactly() {
    let p = crate::measure::Probe::start();
    let v = vec![1u8; 8 << 20];
    std::hint::black_box(&v);
    drop(v);
    let perf = p.finish();
    // 8 MiB allocated and freed within the probe: the peak sees it although nothing is live at
    // the end; the probe's own bookkeeping adds a few hundred bytes at most.
    assert!(
        perf.heap_peak >= 8 << 20 && perf.heap_peak < (8 << 20) + (64 << 10),
        "{}",
        perf.heap_peak
    );
}

#[test]
fn wrappers_record_panics_and_re_raise_them() {
    let dir = tempfile::tempdir().unwrap();
    let a = crate::Analytics::open(dir.path()).unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        a.track_usage("boom", &[], 1, || panic!("kaboom at /home/someone/x.rs"))
    }));
    assert!(r.is_err());
    let ok: Result<u8, String> = a.track_errors("fine", &[], 1, || Ok(3));
    assert_eq!(ok, Ok(3));
    a.close();
    let calls = read_events(dir.path(), 0).unwrap().calls;
    assert_eq!(calls.len(), 2);
    let e = calls[0].error.as_ref().unwrap();
    assert_eq!(e.kind, "panic");
    assert!(!e.message.contains("/home"), "{}", e.message);
    assert!(calls[1].success);
}

#[test]
fn enable_analytics_off_stops_recording_and_is_saved() {
    let dir = tempfile::tempdir().unwrap();
    let a = crate::Analytics::open(dir.path()).unwrap();
    a.track_usage("one", &[], 1, || ());
    a.enable_analytics(false, true).unwrap();
    a.track_usage("two", &[], 1, || ());
    a.close();
    assert_eq!(read_events(dir.path(), 0).unwrap().calls.len(), 1);
    assert!(!crate::AnalyticsConfig::load(dir.path()).unwrap().enabled);
    let again = crate::Analytics::open(dir.path()).unwrap();
    assert!(!again.is_recording());
}

#[test]
fn machine_facts_are_recorded_once_per_session_on_its_first_call() {
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let a = crate::Analytics::open(dir.path()).unwrap();
        for i in 0..3 {
            a.track_usage("f", &[], i, || ());
        }
        a.close();
    }
    let calls = read_events(dir.path(), 0).unwrap().calls;
    assert_eq!(calls.len(), 6);
    let with: Vec<_> = calls.iter().filter(|c| c.machine.is_some()).collect();
    assert_eq!(with.len(), 2, "one per session");
    assert_ne!(with[0].session_id, with[1].session_id);
    for c in with {
        let first = calls
            .iter()
            .filter(|o| o.session_id == c.session_id)
            .map(|o| o.id)
            .min();
        assert_eq!(
            first,
            Some(c.id),
            "the facts ride on the session's first call"
        );
        assert_eq!(c.machine.as_ref(), Some(crate::measure::machine()));
    }
}

#[test]
fn memoized_parameters_follow_the_privacy_mode() {
    let dir = tempfile::tempdir().unwrap();
    let a = crate::Analytics::open(dir.path()).unwrap();
    let params = [("input", "/home/someone/data.csv"), ("window", "10")];
    a.track_usage("f", &params, 1, || ());
    a.track_usage("f", &params, 1, || ());
    // Privacy off (this process only; the settings file is restored below).
    a.enable_analytics(true, false).unwrap();
    a.track_usage("f", &params, 1, || ());
    a.enable_analytics(true, true).unwrap();
    a.track_usage("f", &params, 1, || ());
    a.close();
    let calls = read_events(dir.path(), 0).unwrap().calls;
    let inputs: Vec<&str> = calls
        .iter()
        .map(|c| c.parameters["input"].as_str())
        .collect();
    assert_eq!(
        inputs,
        [
            crate::privacy::REDACTED,
            crate::privacy::REDACTED,
            "/home/someone/data.csv",
            crate::privacy::REDACTED
        ]
    );
    assert!(calls.iter().all(|c| c.parameters["window"] == "10"));
}

#[test]
fn read_table_holds_exactly_the_events_read_events_returns() {
    let dir = tempfile::tempdir().unwrap();
    let (rec, _) = Recorder::open(dir.path(), &OPTIONS).unwrap();
    for i in 0..50 {
        rec.record(call(if i % 3 == 0 { "a" } else { "b" }, i))
            .unwrap();
    }
    rec.flush();
    // These stay in the journal only (or reach the store meanwhile): either way, once each.
    for i in 50..80 {
        rec.record(call("c", i)).unwrap();
    }
    let events = read_events(dir.path(), 0).unwrap();
    let table = crate::read_table(dir.path(), 0).unwrap();
    let mut calls = events.calls.clone();
    calls.sort_by_key(|c| (c.timestamp_us, c.id));
    assert_eq!(table.calls.len(), 80);
    assert_eq!(
        table.calls.id,
        calls.iter().map(|c| c.id).collect::<Vec<_>>()
    );
    let names: Vec<&str> = table
        .calls
        .component
        .iter()
        .map(|&s| table.calls.str(s))
        .collect();
    let expected: Vec<&str> = calls.iter().map(|c| c.component.as_str()).collect();
    assert_eq!(names, expected);
    assert_eq!(
        table.calls.data_length,
        calls.iter().map(|c| c.data_length).collect::<Vec<_>>()
    );
    for (i, c) in calls.iter().enumerate() {
        let (k, v) = table.calls.param_set(table.calls.params[i])[0];
        assert_eq!(table.calls.str(k), "seq");
        assert_eq!(table.calls.str(v), c.parameters["seq"]);
    }
    assert_eq!(table.steps, events.steps);
    rec.close();
}

#[test]
fn store_forget_deletes_one_users_calls_and_steps_by_scanning() {
    let dir = tempfile::tempdir().unwrap();
    let (rec, _) = Recorder::open(dir.path(), &OPTIONS).unwrap();
    for i in 0..20 {
        let Event::Call(mut c) = call("x", i) else {
            unreachable!()
        };
        c.user_id = if i % 4 == 0 { "gone" } else { "kept" }.into();
        if i % 8 == 0 {
            c.success = false;
            c.error = Some(crate::event::ErrorInfo {
                kind: "numerical".into(),
                message: "m".into(),
                location: None,
                backtrace: None,
            });
        }
        rec.record(Event::Call(c)).unwrap();
    }
    rec.close();
    let store = crate::store::Store::open(&crate::StorePaths::new(dir.path()).dir).unwrap();
    assert_eq!(store.counts().unwrap().errors, 3);
    assert_eq!(store.forget_users(&["gone"]).unwrap(), 5);
    let left = read_events(dir.path(), 0).unwrap();
    assert_eq!(left.calls.len(), 15);
    assert!(left.calls.iter().all(|c| c.user_id == "kept"));
    // The failed calls were all of the forgotten user: their index rows went with them.
    assert_eq!(store.counts().unwrap().errors, 0);
}

#[test]
fn store_of_schema_one_is_migrated_and_keeps_its_events() {
    let dir = tempfile::tempdir().unwrap();
    let (rec, _) = Recorder::open(dir.path(), &OPTIONS).unwrap();
    for i in 0..10 {
        rec.record(call("x", i)).unwrap();
    }
    rec.close();
    let file = crate::StorePaths::new(dir.path())
        .dir
        .join(crate::store::FILE_NAME);
    let by_user = redb::TableDefinition::<(&str, u64), u8>::new("by_user");
    let meta = redb::TableDefinition::<&str, u64>::new("meta");
    {
        // Make it look as schema 1 left it: version 1 and its per-user index.
        let db = redb::Database::builder()
            .set_concurrency_mode(redb::ConcurrencyMode::MultiWriter)
            .create(&file)
            .unwrap();
        let tx = db.begin_write().unwrap();
        tx.open_table(meta)
            .unwrap()
            .insert("schema_version", 1)
            .unwrap();
        tx.open_table(by_user).unwrap().insert(("u", 1), 0).unwrap();
        tx.commit().unwrap();
    }
    let (rec, _) = Recorder::open(dir.path(), &OPTIONS).unwrap();
    rec.close();
    assert_eq!(read_events(dir.path(), 0).unwrap().calls.len(), 10);
    let db = redb::Database::builder()
        .set_concurrency_mode(redb::ConcurrencyMode::MultiWriter)
        .create(&file)
        .unwrap();
    let read = redb::ReadableDatabase::begin_read(&db).unwrap();
    let version = read
        .open_table(meta)
        .unwrap()
        .get("schema_version")
        .unwrap()
        .unwrap()
        .value();
    assert_eq!(version, crate::store::SCHEMA_VERSION);
    assert!(matches!(
        read.open_table(by_user),
        Err(redb::TableError::TableDoesNotExist(_))
    ));
}

#[test]
fn store_io_errors_say_their_cause_once() {
    use std::error::Error as _;
    let e = crate::store::StoreError::io(
        std::path::Path::new("s/analytics.redb"),
        std::io::Error::new(std::io::ErrorKind::InvalidData, "Not a redb database"),
    );
    // The cause is in the message and not also a source, so a chain printer
    // (`anyhow`'s `{:#}`) does not repeat it.
    assert!(e.source().is_none());
    assert_eq!(e.to_string().matches("Not a redb database").count(), 1);
}

/// Events of every shape a report reads, with ids as the store keys them.
fn varied_events() -> (Vec<CallEvent>, Vec<StepEvent>) {
    let base = 1_765_000_000_000_000i64;
    let mut calls = Vec::new();
    let mut steps = Vec::new();
    for i in 0..300u64 {
        let Event::Call(mut c) = call(["rs", "dfa", "gph"][i as usize % 3], i) else {
            unreachable!()
        };
        c.id = ((base as u64 + i * 1000) << 12) | 7;
        c.timestamp_us = base + i as i64 * 1000 - 3;
        c.event_type = EventType::EstimatorUsage;
        c.plugin = Some(crate::event::PluginRef {
            name: "temporal".into(),
            version: "0.1.0".into(),
            sha256: "ab".repeat(32),
        });
        c.parameters.insert(
            "seed".into(),
            (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 3).to_string(),
        );
        c.user_id = if i % 2 == 0 { "alice" } else { "bob" }.into();
        c.session_id = format!("{:016x}", i / 100);
        c.run_id = Some(format!("sweep-{}", i / 50));
        c.workflow = (i % 7 != 0).then(|| "sweep".into());
        c.cell = Some(format!("fgn[H=0.{:02}]={}|clean", i % 10, i));
        c.truth_h = Some(0.05 + 0.1 * (i % 10) as f64);
        c.performance = (i % 5 != 0).then_some(crate::event::Performance {
            wall_ns: 1000 + i * 17,
            cpu_thread_ns: 900 + i,
            cpu_process_ns: 950 + i,
            cpu_percent: 91.3 + i as f64 / 7.0,
            rss_before: 80 << 20,
            rss_after: (80 << 20) + 4096 * i,
            heap_peak: 24 * i,
        });
        if i % 11 == 0 {
            c.success = false;
            c.error = Some(crate::event::ErrorInfo {
                kind: ["numerical", "panic"][i as usize % 2].into(),
                message: format!("failed at {i}"),
                location: (i % 2 == 1).then(|| "src/lib.rs:10".into()),
                backtrace: None,
            });
        }
        if i == 0 {
            c.machine = Some(crate::event::Machine {
                cpu: "cpu".into(),
                cores: 2,
                memory_bytes: 1 << 33,
                os: "Linux".into(),
            });
        }
        if i % 3 == 0 {
            steps.push(StepEvent {
                id: c.id + 1,
                timestamp_us: c.timestamp_us,
                run_id: c.run_id.clone().unwrap(),
                workflow: "sweep".into(),
                seq: i,
                step_type: StepType::Estimate,
                component: c.component.clone(),
                cell: (i % 2 == 0).then(|| c.cell.clone().unwrap()),
                duration_ns: 5000 + i,
                success: c.success,
                user_id: c.user_id.clone(),
                session_id: c.session_id.clone(),
            });
        }
        calls.push(c);
    }
    (calls, steps)
}

#[test]
fn store_of_schema_two_is_migrated_record_by_record_and_reads_identically() {
    let (calls, steps) = varied_events();
    let dir = tempfile::tempdir().unwrap();
    let store_dir = crate::StorePaths::new(dir.path()).dir;
    std::fs::create_dir_all(&store_dir).unwrap();
    let file = store_dir.join(crate::store::FILE_NAME);
    let meta = redb::TableDefinition::<&str, u64>::new("meta");
    let old_calls = redb::TableDefinition::<u64, &[u8]>::new("calls");
    let old_steps = redb::TableDefinition::<u64, &[u8]>::new("steps");
    let by_kind = redb::TableDefinition::<(&str, u64), ()>::new("by_error_kind");
    let mut bad = Vec::new();
    {
        // A store as schema 2 wrote it: every event in its journal form, keyed by id, with
        // one damaged record among them.
        let db = redb::Database::builder()
            .set_concurrency_mode(redb::ConcurrencyMode::MultiWriter)
            .create(&file)
            .unwrap();
        let tx = db.begin_write().unwrap();
        tx.open_table(meta)
            .unwrap()
            .insert("schema_version", 2)
            .unwrap();
        {
            let mut t = tx.open_table(old_calls).unwrap();
            let mut k = tx.open_table(by_kind).unwrap();
            for c in &calls {
                let mut buf = Vec::new();
                codec::encode(&Event::Call(c.clone()), &mut buf);
                t.insert(c.id, buf.as_slice()).unwrap();
                if let Some(e) = &c.error {
                    k.insert((e.kind.as_str(), c.id), ()).unwrap();
                }
                if bad.is_empty() {
                    bad = buf;
                }
            }
            // Invalid UTF-8 in the component: the record that used to stop every report.
            let at = bad.windows(2).position(|w| w == b"rs").unwrap();
            bad[at] = 0xff;
            t.insert(7, bad.as_slice()).unwrap();
        }
        {
            let mut t = tx.open_table(old_steps).unwrap();
            for s in &steps {
                let mut buf = Vec::new();
                codec::encode(&Event::Step(s.clone()), &mut buf);
                t.insert(s.id, buf.as_slice()).unwrap();
            }
        }
        tx.commit().unwrap();
    }
    let store = crate::store::Store::open(&store_dir).unwrap();
    let (events, _) = store.read_since(0).unwrap();
    assert_eq!(events.calls, calls);
    assert_eq!(events.steps, steps);
    assert_eq!(events.skipped, 0);
    let counts = store.counts().unwrap();
    assert_eq!(counts.calls, 300);
    assert_eq!(counts.steps, 100);
    assert_eq!(counts.errors, 28);
    // The damaged record is kept aside, not lost, and counted.
    assert_eq!(counts.unreadable, 1);
    drop(store);
    // The old tables are gone and a second open migrates nothing again.
    let store = crate::store::Store::open(&store_dir).unwrap();
    assert_eq!(store.read_since(0).unwrap().0.calls, calls);
    // A store written by this build from the same journal records reads the same.
    let fresh = tempfile::tempdir().unwrap();
    let fresh_store = crate::store::Store::open(fresh.path()).unwrap();
    let records: Vec<Vec<u8>> = calls
        .iter()
        .cloned()
        .map(Event::Call)
        .chain(steps.iter().cloned().map(Event::Step))
        .map(|e| {
            let mut buf = Vec::new();
            codec::encode(&e, &mut buf);
            buf
        })
        .collect();
    fresh_store.ingest(&records[..150], None).unwrap();
    fresh_store.ingest(&records[100..], None).unwrap();
    let (again, _) = fresh_store.read_since(0).unwrap();
    assert_eq!(again.calls, calls);
    assert_eq!(again.steps, steps);
    assert_eq!(fresh_store.counts().unwrap().errors, 28);
    let (table, table_steps, _) = fresh_store.read_table_since(0).unwrap();
    assert_eq!(table.len(), 300);
    assert_eq!(table_steps, steps);
    let direct = crate::table::CallTable::from_events(&calls);
    let rows = |t: &crate::table::CallTable| -> Vec<String> {
        (0..t.len())
            .map(|i| {
                let params: Vec<(&str, &str)> = t
                    .param_set(t.params[i])
                    .iter()
                    .map(|&(k, v)| (t.str(k), t.str(v)))
                    .collect();
                let error = t.error[i].map(|e| (t.str(e.kind), t.str(e.message)));
                format!(
                    "{} {} {} {:?} {} {} {} {:?} {} {} {} {:?} {:?}",
                    t.id[i],
                    t.timestamp_us[i],
                    t.str(t.component[i]),
                    params,
                    t.data_length[i],
                    t.str(t.user[i]),
                    t.str(t.session[i]),
                    t.truth_h[i],
                    t.wall_ns[i],
                    t.heap_peak[i],
                    t.cpu_percent[i],
                    t.success[i],
                    error
                )
            })
            .collect()
    };
    assert_eq!(rows(&table), rows(&direct));
}

#[test]
fn a_damaged_stored_record_is_skipped_and_counted_never_fatal() {
    use redb::ReadableTable as _;
    let dir = tempfile::tempdir().unwrap();
    let (rec, _) = Recorder::open(dir.path(), &OPTIONS).unwrap();
    for i in 0..20 {
        rec.record(call("x", i)).unwrap();
    }
    rec.close();
    let file = crate::StorePaths::new(dir.path())
        .dir
        .join(crate::store::FILE_NAME);
    {
        let records = redb::TableDefinition::<u64, &[u8]>::new("call_records");
        let db = redb::Database::builder()
            .set_concurrency_mode(redb::ConcurrencyMode::MultiWriter)
            .create(&file)
            .unwrap();
        let tx = db.begin_write().unwrap();
        {
            let mut t = tx.open_table(records).unwrap();
            let keys: Vec<(u64, Vec<u8>)> = t
                .iter()
                .unwrap()
                .take(2)
                .map(|r| {
                    let (k, v) = r.unwrap();
                    (k.value(), v.value().to_vec())
                })
                .collect();
            // One with a bad tag, one cut short.
            let mut a = keys[0].1.clone();
            a[0] = 0;
            t.insert(keys[0].0, a.as_slice()).unwrap();
            let b = &keys[1].1[..keys[1].1.len() - 1];
            t.insert(keys[1].0, b).unwrap();
        }
        tx.commit().unwrap();
    }
    let events = read_events(dir.path(), 0).unwrap();
    assert_eq!(events.calls.len(), 18);
    assert_eq!(events.skipped, 2);
    let table = crate::read_table(dir.path(), 0).unwrap();
    assert_eq!(table.calls.len(), 18);
    assert_eq!(table.calls.skipped, 2);
}
