//! Analytics end to end: plugin calls recorded with typed errors and heap peaks, nothing lost
//! when the host is killed, two writers at once, privacy canaries, and the off switches.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use lrdbench_analytics::read_events;

use crate::support::{host_binary, library};

/// The host with a clean environment: store `store`, analytics on, a fixed user name.
fn host_cmd(store: &Path) -> Command {
    let mut c = Command::new(host_binary());
    c.env("LRDBENCH_HOME", store)
        .env_remove("LRDBENCH_ANALYTICS")
        .env_remove("DO_NOT_TRACK")
        .env_remove("LRDBENCH_PLUGIN_PATH")
        .env("USER", "tester");
    c
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("host runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A series file of `n` points (a deterministic sine with noise-like jitter).
fn series_file(dir: &Path, n: usize) -> std::path::PathBuf {
    let p = dir.join("series.txt");
    let body: Vec<String> = (0..n)
        .map(|i| format!("{}", ((i * 7919) % 1000) as f64 / 1000.0 - 0.5))
        .collect();
    std::fs::write(&p, body.join("\n")).unwrap();
    p
}

/// A pseudo-random number from the clock, for kill timings (no seed to reproduce: every
/// moment must be safe).
fn jitter(max: u64) -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    (t.wrapping_mul(6364136223846793005) >> 20) % max
}

#[test]
fn analytics_plugin_calls_are_recorded_with_typed_errors_and_heap_peak() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let series = series_file(dir.path(), 2048);
    let fault = library("lrdbench_fault_plugin");
    let out = run(host_cmd(&store).args([
        "--plugin",
        fault.to_str().unwrap(),
        "estimate",
        "-e",
        "fault_alloc,fault_panic,fault_nan",
        "-p",
        "mib=32",
        series.to_str().unwrap(),
    ]));
    assert!(
        text(&out.stderr).contains("note: lrdbench records"),
        "first recording prints the notice: {}",
        text(&out.stderr)
    );
    let events = read_events(&store, 0).unwrap();
    let by: HashMap<&str, &lrdbench_analytics::event::CallEvent> = events
        .calls
        .iter()
        .map(|c| (c.component.as_str(), c))
        .collect();
    assert_eq!(events.calls.len(), 3, "{:?}", events.calls);

    let alloc = by["fault_alloc"];
    assert!(alloc.success);
    assert_eq!(alloc.data_length, 2048);
    assert_eq!(alloc.parameters["mib"], "32");
    let plugin = alloc.plugin.as_ref().unwrap();
    assert_eq!(plugin.name, "fault");
    assert_eq!(
        plugin.sha256,
        lrdbench_host::plugin::sha256_file(&fault).unwrap()
    );
    let perf = alloc.performance.unwrap();
    // The plugin allocates and touches 32 MiB on the calling thread; jemalloc's peak counts
    // it exactly, plus at most the small bookkeeping of the call (well under 1 MiB).
    assert!(
        perf.heap_peak >= 32 << 20 && perf.heap_peak < 33 << 20,
        "heap peak {}",
        perf.heap_peak
    );
    assert!(perf.wall_ns > 0 && perf.cpu_thread_ns > 0);
    assert!(perf.rss_before > 0 && perf.rss_after > 0);

    let panic = by["fault_panic"];
    assert!(!panic.success);
    let err = panic.error.as_ref().unwrap();
    assert_eq!(err.kind, "panic");
    assert!(err.location.as_deref().unwrap().starts_with("src/lib.rs:"));
    assert!(err.message.contains("asked to panic"), "{}", err.message);

    let nan = by["fault_nan"];
    assert_eq!(nan.error.as_ref().unwrap().kind, "numerical");
    // User ids are keyed hashes in privacy mode, never the name.
    assert_eq!(alloc.user_id.len(), 64);
    assert_ne!(alloc.user_id, "tester");
    assert!(!alloc.session_id.is_empty());

    // The second run does not repeat the notice.
    let out = run(host_cmd(&store).args([
        "--plugin",
        fault.to_str().unwrap(),
        "estimate",
        "-e",
        "fault_nan",
        series.to_str().unwrap(),
    ]));
    assert!(!text(&out.stderr).contains("note: lrdbench records"));
    assert_eq!(read_events(&store, 0).unwrap().calls.len(), 4);
}

/// When a round SIGKILLs its `analytics selftest` child.
#[derive(Clone, Copy, Debug)]
enum KillAt {
    /// A wall-clock delay after spawn: lands anywhere in start-up (store open, replay of the
    /// dead journals, journal creation) or later, depending on how fast the machine is; the
    /// round asserts nothing about how far the child got.
    AfterSpawn(Duration),
    /// Once the child has acknowledged this many events, plus a delay: anchored on the
    /// child's own progress, so a slow start under load cannot make the round vacuous.
    AfterAcks(usize, Duration),
}

/// Spawns `analytics selftest`, collects the ids it acknowledges, and SIGKILLs it at `at`.
/// Returns the acknowledged (id, seq) pairs.
fn killed_selftest(store: &Path, component: &str, at: KillAt) -> Vec<(u64, u64)> {
    let mut child = host_cmd(store)
        .args([
            "analytics",
            "selftest",
            "--events",
            "10000000",
            "--interval-us",
            "10",
            "--component",
            component,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (ack_tx, ack_rx) = std::sync::mpsc::channel::<()>();
    let reader = std::thread::spawn(move || {
        let mut acked = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let mut it = line.split(' ');
            if let (Some(Ok(id)), Some(Ok(seq))) =
                (it.next().map(str::parse), it.next().map(str::parse))
            {
                acked.push((id, seq));
                // The receiver stops listening once it has seen enough; later sends fail.
                let _ = ack_tx.send(());
            }
        }
        acked
    });
    let delay = match at {
        KillAt::AfterSpawn(d) => d,
        KillAt::AfterAcks(n, d) => {
            for k in 0..n {
                // Err: the reader hit end of output, i.e. the child exited without
                // acknowledging `n` events (with 10^7 to write, it only does so on an error).
                if ack_rx.recv().is_err() {
                    let status = child.wait().unwrap();
                    panic!("{at:?}: the child exited ({status}) after acknowledging {k} events");
                }
            }
            d
        }
    };
    std::thread::sleep(delay);
    child.kill().unwrap(); // SIGKILL on Unix.
    child.wait().unwrap();
    reader.join().unwrap()
}

#[test]
fn analytics_sigkill_at_random_moments_loses_no_acknowledged_event() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let mut acked = Vec::new();
    let mut least = 0;
    for round in 0..8 {
        // Even rounds: 30 to 330 ms after spawn, from the middle of the first open (or of the
        // replay of the previous round's journal) on. Odd rounds: after 1 to 2000
        // acknowledgements plus 0 to 300 ms, deep into batching and commits (a batch is
        // committed `BATCH_INTERVAL`, 250 ms, after its first event). Measuring those from the child's own
        // acknowledgements rather than from spawn keeps them meaningful when the machine is
        // loaded and start-up takes longer than the whole wall-clock window.
        let at = if round % 2 == 0 {
            KillAt::AfterSpawn(Duration::from_millis(30 + jitter(300)))
        } else {
            let n = 1 + jitter(2000) as usize;
            least += n;
            KillAt::AfterAcks(n, Duration::from_millis(jitter(300)))
        };
        let got = killed_selftest(&store, "kill", at);
        if let KillAt::AfterAcks(n, _) = at {
            assert!(got.len() >= n, "{at:?}: only {} acknowledged", got.len());
        }
        acked.extend(got);
    }
    // Not vacuous: the anchored rounds alone acknowledged `least` events, whatever the load.
    assert!(acked.len() >= least);
    let check = |when: &str| {
        let events = read_events(&store, 0).unwrap();
        let mut count: HashMap<u64, usize> = HashMap::new();
        for c in &events.calls {
            *count.entry(c.id).or_default() += 1;
        }
        assert!(
            count.values().all(|n| *n == 1),
            "{when}: an event is stored twice"
        );
        for (id, _) in &acked {
            assert_eq!(
                count.get(id),
                Some(&1),
                "{when}: acknowledged event {id} missing"
            );
        }
    };
    // Before any replay: read straight from the dead journals and the store.
    check("before replay");
    // A new process replays the dead journals into the store.
    let out = run(host_cmd(&store).args(["analytics", "selftest", "--events", "1"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    check("after replay");
    let journals = std::fs::read_dir(store.join("analytics/journal"))
        .unwrap()
        .count();
    assert_eq!(journals, 0, "replayed journals are deleted");
}

#[test]
fn analytics_two_concurrent_writers_keep_every_event() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    const N: u64 = 20_000;
    let spawn = |component: &str| {
        host_cmd(&store)
            .args([
                "analytics",
                "selftest",
                "--events",
                &N.to_string(),
                "--component",
                component,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let a = spawn("writer_a");
    let b = spawn("writer_b");
    // Reports read while both write: every read succeeds and never shows an event twice.
    let t0 = Instant::now();
    let mut reads = 0;
    while t0.elapsed() < Duration::from_millis(800) {
        let events = read_events(&store, 0).unwrap();
        let ids: HashSet<u64> = events.calls.iter().map(|c| c.id).collect();
        assert_eq!(ids.len(), events.calls.len());
        reads += 1;
    }
    assert!(reads > 0);
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let events = read_events(&store, 0).unwrap();
    for component in ["writer_a", "writer_b"] {
        let mut seqs: Vec<u64> = events
            .calls
            .iter()
            .filter(|c| c.component == component)
            .map(|c| c.data_length)
            .collect();
        seqs.sort_unstable();
        assert_eq!(seqs, (0..N).collect::<Vec<_>>(), "{component}");
    }
}

/// Every file under `dir`, searched for `needle` byte for byte.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap();
                if bytes.windows(needle.len()).any(|w| w == needle) {
                    hits.push(p.display().to_string());
                }
            }
        }
    }
    hits
}

fn canary_run(store: &Path, home: &Path, extra: &[&str]) -> Output {
    let mut cmd = host_cmd(store);
    cmd.env("USER", "canaryuserQXZ")
        .env("HOME", home)
        .args(["analytics", "selftest", "--events", "3"])
        .args([
            "--param",
            "token=canarytokenQXZ",
            "--param",
            "source=/srv/canarypathQXZ/series.csv",
            "--param",
            "window=16",
            "--fail",
        ])
        .arg(format!(
            "cannot read /srv/canarypathQXZ/series.csv or {}/notes.txt for canaryuserQXZ",
            home.display()
        ))
        .args(extra);
    run(&mut cmd)
}

#[test]
fn analytics_canaries_never_reach_the_store_files_in_privacy_mode() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let home = dir.path().join("home-canaryhomeQXZ");
    std::fs::create_dir_all(&home).unwrap();
    let out = canary_run(&store, &home, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // A run killed before it could store anything leaves its events in a journal: search
    // that too.
    let mut child = host_cmd(&store)
        .env("USER", "canaryuserQXZ")
        .env("HOME", &home)
        .args([
            "analytics",
            "selftest",
            "--events",
            "100000000",
            "--param",
            "token=canarytokenQXZ",
            "--fail",
            "at /srv/canarypathQXZ/x",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        std::fs::read_dir(store.join("analytics/journal"))
            .unwrap()
            .count()
            > 0,
        "the killed run's journal is there to search"
    );
    assert_eq!(files_containing(&store, b"QXZ"), Vec::<String>::new());
    let events = read_events(&store, 0).unwrap();
    assert!(events.calls.len() >= 4);
    let e = &events.calls[0];
    assert_eq!(e.parameters["window"], "16");
    assert_eq!(e.parameters["token"], "[redacted]");

    // The same run with privacy off does keep them: the search above can fail.
    let open = dir.path().join("open");
    let out = run(host_cmd(&open).args(["analytics", "enable", "--no-privacy"]));
    assert!(out.status.success());
    let out = canary_run(&open, &home, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!files_containing(&open, b"canarytokenQXZ").is_empty());
}

#[test]
fn analytics_off_switches_record_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let series = series_file(dir.path(), 512);
    let fault = library("lrdbench_fault_plugin");
    for (var, value) in [("DO_NOT_TRACK", "1"), ("LRDBENCH_ANALYTICS", "0")] {
        let store = dir.path().join(var);
        let out = run(host_cmd(&store).env(var, value).args([
            "--plugin",
            fault.to_str().unwrap(),
            "estimate",
            "-e",
            "fault_nan",
            series.to_str().unwrap(),
        ]));
        assert!(!text(&out.stderr).contains("note: lrdbench records"));
        assert!(!store.join("analytics").exists(), "{var}: nothing created");
        let out = run(host_cmd(&store)
            .env(var, value)
            .args(["analytics", "status"]));
        assert!(text(&out.stdout).contains(&format!("recording: off ({var} is set)")));
    }
    let store = dir.path().join("disabled");
    assert!(run(host_cmd(&store).args(["analytics", "disable"]))
        .status
        .success());
    let out = run(host_cmd(&store).args(["analytics", "selftest", "--events", "1"]));
    assert!(!out.status.success());
    assert!(!store.join("analytics").exists());
}

#[test]
fn analytics_unusable_store_warns_once_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let series = series_file(dir.path(), 512);
    let fault = library("lrdbench_fault_plugin");
    // A file where the store's analytics directory should be: unusable even for root.
    let store = dir.path().join("store");
    std::fs::create_dir_all(&store).unwrap();
    std::fs::write(store.join("analytics"), b"not a directory").unwrap();
    let out = run(host_cmd(&store).args([
        "--plugin",
        fault.to_str().unwrap(),
        "estimate",
        "-e",
        "fault_alloc",
        "-p",
        "mib=1",
        series.to_str().unwrap(),
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("analytics recording is off"))
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
}

#[test]
fn analytics_forget_and_purge_delete_what_they_say() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    for user in ["alice", "bob"] {
        let out = run(host_cmd(&store).env("USER", user).args([
            "analytics",
            "selftest",
            "--events",
            "5",
        ]));
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let out = run(host_cmd(&store).args(["analytics", "forget", "--user", "alice"]));
    assert!(
        text(&out.stdout).starts_with("deleted 5 events of user alice;"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(read_events(&store, 0).unwrap().calls.len(), 5);
    let out = run(host_cmd(&store)
        .args(["analytics", "purge"])
        .stdin(Stdio::null()));
    assert!(
        !out.status.success(),
        "purge without --yes refuses when it cannot ask"
    );
    let out = run(host_cmd(&store).args(["analytics", "purge", "--yes"]));
    assert_eq!(text(&out.stdout).trim(), "deleted 5 events");
    assert!(read_events(&store, 0).unwrap().calls.is_empty());
    let out = run(host_cmd(&store).args(["analytics", "status"]));
    assert!(
        text(&out.stdout).contains("events: 0 calls"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn analytics_user_chosen_names_are_pseudonyms_and_model_labels_join_estimates() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let data = dir.path().join("CanaryFileQX9.csv");
    let values: Vec<String> = (0..600u64)
        .map(|i| (((i * 7919) % 101) as f64 / 10.0).to_string())
        .collect();
    std::fs::write(&data, format!("value\n{}\n", values.join("\n"))).unwrap();
    let inline: Vec<String> = values[..300].to_vec();
    let wf = dir.path().join("canary.toml");
    std::fs::write(
        &wf,
        format!(
            "[workflow]\nname = \"CanaryFlowQX9\"\nseed = 3\n\n\
             [[data]]\nmodel = \"fgn\"\nparams = {{ H = [0.7] }}\nlengths = [512]\n\n\
             [[data]]\nfiles = \"CanaryFileQX9.csv\"\n\n\
             [[data]]\nname = \"CanaryInlineQX9\"\nvalues = [{}]\n\n\
             [[estimator]]\nname = \"dfa\"\n\n[output]\ndir = \"{}\"\n",
            inline.join(", "),
            dir.path().join("runs").display()
        ),
    )
    .unwrap();
    let out = run(host_cmd(&store).arg("run").arg(&wf));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let run_dir = std::path::PathBuf::from(text(&out.stdout).lines().last().unwrap().trim());
    // Nothing the user named reaches any file of the store.
    assert_eq!(files_containing(&store, b"QX9"), Vec::<String>::new());
    // Exports keep generated-series labels whole: they join to estimates.csv.
    let export = dir.path().join("export");
    let out = run(host_cmd(&store)
        .args(["export", "--out"])
        .arg(&export)
        .args(["--format", "csv"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(files_containing(&export, b"QX9"), Vec::<String>::new());
    let mut exported = String::new();
    for e in std::fs::read_dir(&export).unwrap() {
        exported += &std::fs::read_to_string(e.unwrap().path()).unwrap();
    }
    let mut r = csv::Reader::from_path(run_dir.join("estimates.csv")).unwrap();
    let h = r.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let (s, c, v) = (col("series_id"), col("contamination"), col("variant"));
    let mut generated = 0;
    let mut named = 0;
    for rec in r.records() {
        let rec = rec.unwrap();
        let key = format!("{}|{}|{}", &rec[s], &rec[c], &rec[v]);
        if rec[s].starts_with("fgn") {
            generated += 1;
            assert!(exported.contains(&key), "{key} not in the export");
        } else {
            named += 1;
            assert!(!exported.contains(&key), "{key} is a user's name");
        }
    }
    assert_eq!((generated, named), (1, 2));
    // Stable pseudonyms: the workflow groups under one name across runs.
    let out = run(host_cmd(&store).arg("run").arg(&wf));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let events = read_events(&store, 0).unwrap();
    let mut workflows: Vec<&str> = events
        .calls
        .iter()
        .filter_map(|c| c.workflow.as_deref())
        .collect();
    workflows.sort_unstable();
    workflows.dedup();
    assert_eq!(workflows.len(), 1, "{workflows:?}");
    assert!(workflows[0].starts_with("h-"), "{workflows:?}");
}
