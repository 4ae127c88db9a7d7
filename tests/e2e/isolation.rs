//! Process isolation end to end: crashing, hanging and memory-hungry estimators in `estimate`
//! and in workflows, a host killed mid-run, and what in-process mode still catches.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use lrdbench_analytics::event::EventType;
use lrdbench_analytics::read_events;

use crate::support::{host_binary, library};

/// The host with a clean environment recording into `store`.
fn host_cmd(store: &Path) -> Command {
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

/// A series file of `n` points: a logistic map in its chaotic regime, centred.
fn series_file(dir: &Path, n: usize) -> PathBuf {
    let mut x = 0.3f64;
    let body: Vec<String> = (0..n)
        .map(|_| {
            x = 3.99 * x * (1.0 - x);
            format!("{}", x - 0.5)
        })
        .collect();
    let p = dir.join("series.txt");
    std::fs::write(&p, body.join("\n")).unwrap();
    p
}

/// A private copy of the fault plugin, so the workers of one test can be told apart from
/// every other test's by their command line.
fn private_fault_plugin(dir: &Path) -> PathBuf {
    let src = library("lrdbench_fault_plugin");
    let dst = dir.join(src.file_name().unwrap());
    std::fs::copy(&src, &dst).unwrap();
    dst
}

/// Pids of live processes whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // A zombie (state Z) has already exited; only running workers count.
        let zombie = stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
        if !zombie && String::from_utf8_lossy(&cmdline).contains(needle) {
            out.push(pid);
        }
    }
    out
}

/// Waits until no live process mentions `needle`, polling for up to 30 s, and returns the
/// ones still alive then. A worker exits within its 100 ms parent-watch period on an idle
/// machine; a fixed short sleep before looking fails under load, while a worker that never
/// exits is still caught (30 s is orders of magnitude past that period).
fn processes_outliving(needle: &str) -> Vec<u32> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = processes_mentioning(needle);
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The number of complete lines of `cells.jsonl` in the (single) run directory under `runs`:
/// the cells the run has journaled as done so far.
fn cells_done(runs: &Path) -> usize {
    std::fs::read_dir(runs)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("cells.jsonl")).ok())
        .map(|t| t.matches('\n').count())
        .max()
        .unwrap_or(0)
}

/// The `error.kind` of each estimator in `estimate --json` output.
fn kinds_by_estimator(out: &Output) -> BTreeMap<String, serde_json::Value> {
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        )
    });
    let rows = doc["estimates"].as_array().cloned().unwrap_or_default();
    rows.into_iter()
        .map(|r| (r["estimator"].as_str().unwrap().to_string(), r))
        .collect()
}

#[test]
fn isolation_estimate_contains_segfault_hang_and_panic() {
    let dir = tempfile::tempdir().unwrap();
    let series = series_file(dir.path(), 4096);
    let fault = private_fault_plugin(dir.path());
    let out = host_cmd(&dir.path().join("store"))
        .args(["--plugin", fault.to_str().unwrap(), "estimate"])
        .arg(&series)
        .args([
            "--estimator",
            "dfa,fault_segfault,fault_hang,fault_panic",
            "--isolate",
            "--timeout",
            "2",
            "--json",
        ])
        .output()
        .unwrap();
    // Exit status 1 (some estimators failed), not death by a signal (`code()` is None then).
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let rows = kinds_by_estimator(&out);
    assert!(
        rows["dfa"]["value"].as_f64().unwrap().is_finite(),
        "{rows:?}"
    );
    assert!(rows["dfa"]["error"].is_null());
    let seg = &rows["fault_segfault"]["error"];
    assert_eq!(seg["kind"], "crash", "{seg}");
    assert!(
        seg["message"].as_str().unwrap().contains("SIGSEGV"),
        "{seg}"
    );
    assert_eq!(rows["fault_hang"]["error"]["kind"], "timeout");
    let panic = &rows["fault_panic"]["error"];
    assert!(is_panic_kind(&panic["kind"]), "{panic}");
    assert!(
        panic["message"]
            .as_str()
            .unwrap()
            .contains("fault_panic was asked to panic"),
        "{panic}"
    );
    let left = processes_outliving(fault.to_str().unwrap());
    assert!(left.is_empty(), "workers {left:?} outlived the host");
}

#[test]
fn isolation_in_process_panic_is_still_caught() {
    let dir = tempfile::tempdir().unwrap();
    let series = series_file(dir.path(), 512);
    let out = host_cmd(&dir.path().join("store"))
        .args([
            "--plugin",
            library("lrdbench_fault_plugin").to_str().unwrap(),
        ])
        .arg("estimate")
        .arg(&series)
        .args(["--estimator", "fault_trivial,fault_panic", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let rows = kinds_by_estimator(&out);
    assert!(rows["fault_trivial"]["error"].is_null());
    let panic = &rows["fault_panic"]["error"];
    assert!(is_panic_kind(&panic["kind"]), "{panic}");
    assert!(
        panic["message"]
            .as_str()
            .unwrap()
            .contains("fault_panic was asked to panic"),
        "{panic}"
    );
}

/// A panic the SDK caught arrives as an `internal` error carrying the panic message; the
/// invoker reports it under the host's own kind `panic` (DESIGN decision 7). Either is a
/// caught panic; anything else (a crash, a missing error) is not.
fn is_panic_kind(kind: &serde_json::Value) -> bool {
    kind == "panic" || kind == "internal"
}

/// Every fault estimator of the plugin next to real ones, two series each, in process mode.
const EVERY_FAULT: &str = r#"
[workflow]
name = "faults"
seed = 7

[[data]]
model = "fgn"
params = { H = [0.7] }
lengths = [1024]
replicates = 2

[[estimator]]
name = "dfa"

[[estimator]]
name = "periodogram"

[[estimator]]
name = "fault_trivial"

[[estimator]]
name = "fault_nan"

[[estimator]]
name = "fault_error"
params = { kind = "non_convergence" }

[[estimator]]
name = "fault_panic"

[[estimator]]
name = "fault_segfault"

[[estimator]]
name = "fault_abort"

[[estimator]]
name = "fault_hang"

[[estimator]]
name = "fault_oom"

[[estimator]]
name = "fault_slow"
params = { seconds = 0.05 }

[execution]
threads = 2
isolation = "process"
timeout = 4
"#;

#[test]
fn isolation_workflow_with_every_fault_completes_and_records_each_call_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    std::fs::create_dir_all(&store).unwrap();
    // fault_oom must meet a limit, not the machine: 512 MiB per worker, reached in well under
    // the 4 s timeout even on a loaded machine (touching 512 MiB takes about 0.3 s idle).
    std::fs::write(
        store.join("config.toml"),
        "[isolation]\nmemory_limit_mb = 512\n",
    )
    .unwrap();
    let wf = dir.path().join("faults.toml");
    std::fs::write(&wf, EVERY_FAULT).unwrap();
    let fault = private_fault_plugin(dir.path());
    let out = host_cmd(&store)
        .args(["--plugin", fault.to_str().unwrap(), "run"])
        .arg(&wf)
        .args(["--out", dir.path().join("runs").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some(),
        "the host died by a signal: {}",
        text(&out.stderr)
    );
    let run_dir = PathBuf::from(text(&out.stdout).lines().last().unwrap().trim());
    let mut r = csv::Reader::from_path(run_dir.join("estimates.csv")).unwrap();
    let headers = r.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (est_col, valid_col, kind_col) = (col("estimator"), col("valid"), col("error_kind"));
    let mut kinds: HashMap<String, Vec<String>> = HashMap::new();
    for rec in r.records() {
        let rec = rec.unwrap();
        let kind = if &rec[valid_col] == "true" {
            "ok".to_string()
        } else {
            rec[kind_col].to_string()
        };
        kinds
            .entry(rec[est_col].to_string())
            .or_default()
            .push(kind);
    }
    let expected = [
        ("dfa", "ok"),
        ("periodogram", "ok"),
        ("fault_trivial", "ok"),
        ("fault_slow", "ok"),
        ("fault_nan", "numerical"),
        ("fault_error", "non_convergence"),
        ("fault_panic", "internal"),
        ("fault_segfault", "crash"),
        ("fault_abort", "crash"),
        ("fault_hang", "timeout"),
        ("fault_oom", "out_of_memory"),
    ];
    let same = |got: &str, want: &str| {
        got == want || (want == "internal" && is_panic_kind(&serde_json::json!(got)))
    };
    for (estimator, kind) in expected {
        let got = kinds.get(estimator).cloned().unwrap_or_default();
        assert!(
            got.len() == 2 && got.iter().all(|k| same(k, kind)),
            "{estimator}: {kinds:?}\n{}",
            text(&out.stderr)
        );
    }
    // One usage event per attempted estimator call, with the same error kind as the cell.
    let events = read_events(&store, 0).unwrap();
    let calls: Vec<_> = events
        .calls
        .iter()
        .filter(|c| c.event_type == EventType::EstimatorUsage)
        .collect();
    assert_eq!(calls.len(), 2 * expected.len(), "{calls:?}");
    for (estimator, kind) in expected {
        let mine: Vec<_> = calls.iter().filter(|c| c.component == estimator).collect();
        assert_eq!(mine.len(), 2, "{estimator}");
        for c in mine {
            let got = c.error.as_ref().map_or("ok", |e| e.kind.as_str());
            assert!(same(got, kind), "{estimator}: {c:?}");
            assert_eq!(c.data_length, 1024);
        }
    }
}

/// A workflow of slow cells, long enough to be killed in the middle.
fn slow_workflow(dir: &Path) -> PathBuf {
    let mut body = String::from(
        "[workflow]\nname = \"slow\"\n[[data]]\nvalues = [0.25, 2.0, 3.0, 4.0, 5.0, 6.0]\n\
         truth = { H = 0.5 }\n[[estimator]]\nname = \"fault_slow\"\nparams = { seconds = 0.06 }\n\
         [estimator.variants]\n",
    );
    for i in 0..16 {
        body.push_str(&format!(
            "v{i:02} = {{ seconds = {} }}\n",
            0.06 + 0.001 * i as f64
        ));
    }
    body.push_str("[execution]\nthreads = 2\nisolation = \"process\"\ntimeout = 5\n");
    let p = dir.join("slow.toml");
    std::fs::write(&p, body).unwrap();
    p
}

/// A pseudo-random delay from the clock: every moment must be safe, so no seed is needed to
/// reproduce a failure, only the moment printed with it.
fn jitter_ms(max: u64) -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    (t.wrapping_mul(6364136223846793005) >> 20) % max
}

#[test]
fn isolation_sigkill_of_host_keeps_events_leaves_no_worker_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let fault = private_fault_plugin(dir.path());
    let wf = slow_workflow(dir.path());
    let reference = {
        let runs = dir.path().join("reference");
        let out = host_cmd(&dir.path().join("store-ref"))
            .args(["--plugin", fault.to_str().unwrap(), "run"])
            .arg(&wf)
            .args(["--out", runs.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        estimate_rows(&PathBuf::from(
            text(&out.stdout).lines().last().unwrap().trim(),
        ))
    };
    assert_eq!(reference.len(), 17);
    let mut resumed = 0;
    for round in 0..20 {
        let store = dir.path().join(format!("store{round}"));
        let runs = dir.path().join(format!("runs{round}"));
        let mut child = host_cmd(&store)
            .args(["--plugin", fault.to_str().unwrap(), "run"])
            .arg(&wf)
            .args(["--out", runs.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // One round in four: in the first 150 ms after spawn, while the run directory and its
        // manifest are being made (a directory killed that early must still resume). The others: once the run has journaled 1
        // to 8 of its 16 cells, plus 0 to 100 ms, measured from the run's own progress so
        // that a slow start under load still leaves them killing a run in the middle.
        let when = if round % 4 == 0 {
            let after = jitter_ms(150);
            std::thread::sleep(Duration::from_millis(after));
            format!("round {round}, killed {after} ms after spawn")
        } else {
            let k = 1 + jitter_ms(8) as usize;
            while cells_done(&runs) < k {
                if let Some(status) = child.try_wait().unwrap() {
                    panic!("round {round}: the run exited ({status}) before {k} cells were done");
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            let after = jitter_ms(100);
            std::thread::sleep(Duration::from_millis(after));
            format!("round {round}, killed {after} ms after {k} cells were done")
        };
        child.kill().unwrap();
        child.wait().unwrap();

        // The workers notice their parent is gone within their 100 ms watch period.
        let left = processes_outliving(fault.to_str().unwrap());
        assert!(
            left.is_empty(),
            "{when}: workers {left:?} outlived the host"
        );

        // Every cell the run journaled as done has its usage event in the store.
        let events = read_events(&store, 0).unwrap_or_else(|e| panic!("{when}: {e}"));
        let recorded: Vec<&str> = events
            .calls
            .iter()
            .filter_map(|c| c.cell.as_deref())
            .collect();
        let Some(run_dir) = std::fs::read_dir(&runs)
            .ok()
            .and_then(|mut d| d.next())
            .and_then(|e| e.ok())
            .map(|e| e.path())
        else {
            // Killed before the run directory existed: nothing ran, nothing to check.
            continue;
        };
        let journal = std::fs::read_to_string(run_dir.join("cells.jsonl")).unwrap_or_default();
        for line in journal.lines() {
            // A torn last line is a cell whose record was being written: not yet done.
            let Ok(cell) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            let key = format!(
                "{}|{}|{}",
                cell["series_id"].as_str().unwrap(),
                cell["contamination"].as_str().unwrap(),
                cell["variant"].as_str().unwrap()
            );
            // Privacy mode records inline series names as keyed pseudonyms.
            let secret = std::fs::read(store.join("analytics/secret")).unwrap();
            let key = lrdbench_analytics::privacy::Pseudonyms::new(&secret).cell(&key);
            assert!(
                recorded.contains(&key.as_str()),
                "{when}: cell {key} is done but has no event"
            );
        }
        let mut ids: Vec<u64> = events.calls.iter().map(|c| c.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(
            ids.len(),
            events.calls.len(),
            "{when}: an event is stored twice"
        );

        // Resuming finishes the run with the results of an uninterrupted one.
        let manifest = std::fs::read_to_string(run_dir.join("manifest.json")).unwrap_or_default();
        if !manifest.contains("\"complete\"") {
            let out = host_cmd(&store)
                .args(["--plugin", fault.to_str().unwrap(), "run"])
                .arg(&wf)
                .args(["--resume", run_dir.to_str().unwrap()])
                .output()
                .unwrap();
            assert!(out.status.success(), "{when}: {}", text(&out.stderr));
            resumed += 1;
        }
        assert_eq!(estimate_rows(&run_dir), reference, "{when}");
    }
    // 15 rounds kill with at least 8 cells (4 x 60 ms on 2 threads) still to run.
    assert!(
        resumed >= 4,
        "only {resumed} of 20 kills interrupted the run"
    );
}

/// The rows of a run's `estimates.csv` that must not depend on interruptions: variant,
/// value, validity and error kind, sorted.
fn estimate_rows(run_dir: &Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(run_dir.join("estimates.csv")).unwrap();
    let headers = r.headers().unwrap().clone();
    let keep: Vec<usize> = ["variant", "value", "valid", "error_kind"]
        .iter()
        .map(|k| headers.iter().position(|h| h == *k).unwrap())
        .collect();
    let mut rows: Vec<Vec<String>> = r
        .records()
        .map(|rec| {
            let rec = rec.unwrap();
            keep.iter().map(|&i| rec[i].to_string()).collect()
        })
        .collect();
    rows.sort();
    rows
}

/// A hanging and a crashing estimator beside a real one, ten series each: enough cells for a
/// quarantine after three failures to leave seven cells unrun.
const QUARANTINE_WORKFLOW: &str = r#"
[workflow]
name = "quarantine"
seed = 11

[[data]]
model = "fgn"
params = { H = [0.7] }
lengths = [512]
replicates = 10

[[estimator]]
name = "dfa"

[[estimator]]
name = "fault_hang"

[[estimator]]
name = "fault_segfault"

[execution]
isolation = "process"
timeout = 1
"#;

/// The rows of `estimates.csv` that must not depend on the thread count: everything but the
/// run id and the elapsed time, in file order (plan order).
fn outcome_rows(run_dir: &Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(run_dir.join("estimates.csv")).unwrap();
    let headers = r.headers().unwrap().clone();
    let keep: Vec<usize> = headers
        .iter()
        .enumerate()
        .filter(|(_, h)| !matches!(*h, "run_id" | "elapsed_ms"))
        .map(|(i, _)| i)
        .collect();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            keep.iter().map(|&i| rec[i].to_string()).collect()
        })
        .collect()
}

#[test]
fn isolation_quarantine_does_not_depend_on_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    std::fs::create_dir_all(&store).unwrap();
    let wf = dir.path().join("quarantine.toml");
    std::fs::write(&wf, QUARANTINE_WORKFLOW).unwrap();
    let fault = private_fault_plugin(dir.path());
    let run = |threads: &str| {
        let out = host_cmd(&store)
            .args(["--plugin", fault.to_str().unwrap(), "run"])
            .arg(&wf)
            .args(["--threads", threads, "--out"])
            .arg(dir.path().join(format!("runs-{threads}")))
            .output()
            .unwrap();
        // Exit status 1: the run completed with failed cells.
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        let run_dir = PathBuf::from(text(&out.stdout).lines().last().unwrap().trim());
        (outcome_rows(&run_dir), text(&out.stderr))
    };
    let (one, one_err) = run("1");
    let (two, two_err) = run("2");
    let (four, _) = run("4");
    // The rule itself, on the one-thread run: per faulty estimator, three failures, then seven
    // quarantined cells that say so.
    let headers = {
        let p = std::fs::read_dir(dir.path().join("runs-1")).unwrap();
        let run_dir = p.flatten().next().unwrap().path();
        let mut r = csv::Reader::from_path(run_dir.join("estimates.csv")).unwrap();
        r.headers().unwrap().clone()
    };
    let col = |name: &str| {
        headers
            .iter()
            .filter(|h| !matches!(*h, "run_id" | "elapsed_ms"))
            .position(|h| h == name)
            .unwrap()
    };
    let (est, kind, msg) = (col("estimator"), col("error_kind"), col("error_message"));
    for (name, failure) in [("fault_hang", "timeout"), ("fault_segfault", "crash")] {
        let rows: Vec<_> = one.iter().filter(|r| r[est] == name).collect();
        assert_eq!(rows.len(), 10, "{name}");
        let failed = rows
            .iter()
            .filter(|r| r[kind] == failure && !r[msg].contains("quarantined"))
            .count();
        let quarantined = rows
            .iter()
            .filter(|r| r[kind] == "crash" && r[msg].contains("is quarantined after 3"))
            .count();
        assert_eq!((failed, quarantined), (3, 7), "{name}: {rows:?}");
    }
    assert!(one
        .iter()
        .filter(|r| r[est] == "dfa")
        .all(|r| r[kind].is_empty()));
    // And the same records, cell for cell, with two and four threads.
    assert_eq!(one, two, "1 thread:\n{one_err}\n2 threads:\n{two_err}");
    assert_eq!(one, four);
    // One warning per quarantined estimator, whatever the thread count.
    for err in [&one_err, &two_err] {
        assert_eq!(err.matches("is quarantined after").count(), 2, "{err}");
    }
}
