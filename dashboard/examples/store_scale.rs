//! The analytics at sweep scale: builds stores of host-shaped call events (10^5 and 10^6 by
//! default; pass the sizes as arguments, e.g. `100000 1000000 10000000`) and prints, per
//! store, the calls, the store's size on disk and per call, the time to build it, and the wall time,
//! CPU time (user + system: on a loaded machine the wall time measures the load)
//! and peak RSS of `summary --json`, `report all` (Markdown, JSON, HTML) and `export` (JSON
//! Lines and CSV). Each phase runs in a child process of its own, so its peak RSS is its own.
//!
//! `--before EXE` also runs each read phase with `EXE` (this example built from an earlier
//! commit: it takes the same `--phase NAME STORE ARG` arguments) on the same store, phases of
//! the two alternating, and prints its table first: before and after, measured in the same
//! run. `--limit-gb G` runs every read phase under an address-space limit of G GB (a phase
//! that exceeds it is shown as `> G GB`, not allowed to take the machine's memory).
//! `--stores DIR` keeps the stores in `DIR/calls-N` and reuses one already built there.
//!
//! ```text
//! cargo run --release -p lrdbench-dashboard --example store_scale -- 100000 1000000
//! cargo run -p lrdbench-dashboard --example store_scale -- --before /tmp/store_scale.old --limit-gb 6 --stores /tmp/s 100000 1000000 10000000
//! ```

// A measurement program: a failure is the measurement failing, with its message.
#![allow(clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use lrdbench_analytics::event::{
    CallEvent, ErrorInfo, Event, EventType, Performance, PluginRef, StepEvent, StepType,
};
use lrdbench_analytics::{Recorder, RecorderOptions};
use lrdbench_dashboard::ExportFormat;
use lrdbench_dashboard::{Dashboard, ReportFormat, ReportKind};

// As in the host: jemalloc is the process's malloc.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const DAY_US: i64 = 86_400_000_000;
const ESTIMATORS: [&str; 15] = [
    "rs",
    "dfa",
    "dma",
    "aggvar",
    "absmom",
    "varres",
    "higuchi",
    "ghe",
    "periodogram",
    "gph",
    "local_whittle",
    "whittle",
    "wavelet_av",
    "wavelet_whittle",
    "mfdfa",
];
const KINDS: [&str; 3] = ["insufficient_data", "numerical", "non_convergence"];

/// A call as the host records it in a sweep: 15 estimators × 10 H × 6 lengths, a per-cell
/// seed among eight parameters, one session per 100,000 calls, a run per 10,000, 3% failures.
fn call(i: u64, n_calls: u64, now: i64) -> CallEvent {
    let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let est = ESTIMATORS[(i % 15) as usize];
    let hurst = 0.05 + 0.1 * ((i / 15) % 10) as f64;
    let n = 256u64 << ((i / 150) % 6);
    let fail = (h >> 16) % 100 < 3;
    let mut parameters = BTreeMap::new();
    for (k, v) in [
        ("ci", "asymptotic"),
        ("correction", "fgn"),
        ("level", "0.95"),
        ("max_scale", "0"),
        ("min_scale", "2"),
        ("ratio", "1.5"),
        ("replicates", "200"),
    ] {
        parameters.insert(k.to_string(), v.to_string());
    }
    parameters.insert("seed".into(), (h >> 1).to_string());
    let wall = n * (20 + (h >> 40) % 30);
    let run = i / 10_000;
    CallEvent {
        id: 0,
        timestamp_us: now - 20 * DAY_US + (i as i64 * (20 * DAY_US / n_calls as i64)),
        event_type: EventType::EstimatorUsage,
        component: est.to_string(),
        plugin: Some(PluginRef {
            name: "temporal".into(),
            version: "0.1.0".into(),
            sha256: "e52791d11a0a07a58eb4a142b715504d36cf049ca0bfcc3e262d560fd2919134".into(),
        }),
        parameters,
        data_length: n,
        success: !fail,
        user_id: "a1431cb42d3cd834f487fafc13391d256e5a6a79f0368ecda3899db03530fbb3".into(),
        session_id: format!("{:016x}", (i / 100_000).wrapping_mul(0x51_7CC1_B727_220A)),
        run_id: Some(format!("sweep-20261207T172055Z-{run:06x}")),
        workflow: Some("sweep".into()),
        cell: Some(format!(
            "fgn[H={hurst:.2}]={}|clean|{est}",
            (i / 150) % 1000
        )),
        truth_h: Some(hurst),
        performance: Some(Performance {
            wall_ns: wall,
            cpu_thread_ns: wall - wall / 50,
            cpu_process_ns: wall - wall / 50,
            cpu_percent: 98.0,
            rss_before: 80 << 20,
            rss_after: (80 << 20) + 4096 * (h % 3),
            heap_peak: 24 * n,
        }),
        error: fail.then(|| ErrorInfo {
            kind: KINDS[(h >> 20) as usize % KINDS.len()].to_string(),
            message: "series too short for the scales".into(),
            location: None,
            backtrace: None,
        }),
        machine: None,
    }
}

/// The estimate step of call `i`'s cell.
fn step(i: u64, c: &CallEvent) -> StepEvent {
    StepEvent {
        id: 0,
        timestamp_us: c.timestamp_us,
        run_id: c.run_id.clone().unwrap_or_default(),
        workflow: "sweep".into(),
        seq: i % 10_000,
        step_type: StepType::Estimate,
        component: c.component.clone(),
        cell: c.cell.clone(),
        duration_ns: c.performance.map_or(0, |p| p.wall_ns),
        success: c.success,
        user_id: c.user_id.clone(),
        session_id: c.session_id.clone(),
    }
}

fn rusage() -> libc::rusage {
    // SAFETY: rusage is plain integers, for which all-zero bytes are a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    usage
}

fn peak_rss_mb() -> f64 {
    rusage().ru_maxrss as f64 / 1024.0
}

/// This process's CPU time so far (user + system), s: on a loaded machine the wall time
/// measures the load, this the work.
fn cpu_s() -> f64 {
    let u = rusage();
    let s = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    s(u.ru_utime) + s(u.ru_stime)
}

fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// One phase, in this (child) process; prints `seconds peak_rss_mb`.
fn phase(name: &str, store: &Path, arg: &str) {
    let t = Instant::now();
    match name {
        "build" => {
            let n: u64 = arg.parse().expect("a call count");
            let now = lrdbench_analytics::now_us();
            let (rec, _) = Recorder::open(store, &RecorderOptions::default()).expect("opens");
            for i in 0..n {
                let c = call(i, n, now);
                if i % 2 == 0 {
                    rec.record(Event::Step(step(i, &c))).expect("recorded");
                }
                rec.record(Event::Call(c)).expect("recorded");
            }
            rec.close();
        }
        "summary" => {
            let s = Dashboard::open(store)
                .get_analytics_summary(30)
                .expect("summary");
            let json = serde_json::to_string_pretty(&s).expect("json");
            std::hint::black_box(json);
        }
        "report" => {
            let mut kinds = ReportKind::DETAILED.to_vec();
            kinds.push(ReportKind::Comprehensive);
            Dashboard::open(store)
                .write_reports(30, &kinds, Path::new(arg), &ReportFormat::ALL)
                .expect("reports");
        }
        "export" => {
            Dashboard::open(store)
                .export_all_data(
                    30,
                    Path::new(arg),
                    &[ExportFormat::JsonLines, ExportFormat::Csv],
                )
                .expect("export");
        }
        other => panic!("unknown phase {other}"),
    }
    println!(
        "{:.3} {:.0} {:.3}",
        t.elapsed().as_secs_f64(),
        peak_rss_mb(),
        cpu_s()
    );
}

/// A phase's wall time, peak RSS and CPU time (user + system; `NaN` from an earlier build
/// that does not print it), or `None` when it ran out of the address-space limit.
type Measured = Option<(f64, f64, f64)>;

fn run_child(exe: &Path, name: &str, store: &Path, arg: &str, limit_gb: Option<f64>) -> Measured {
    let mut cmd = match limit_gb {
        Some(gb) => {
            let mut c = Command::new("prlimit");
            c.arg(format!("--as={}", (gb * 1e9) as u64)).arg(exe);
            c
        }
        None => Command::new(exe),
    };
    let out = cmd
        .args(["--phase", name, store.to_str().expect("utf-8 path"), arg])
        .output()
        .expect("child runs");
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        if limit_gb.is_some() && name != "build" {
            eprintln!(
                "{name} with {}: failed under the limit: {}",
                exe.display(),
                err.lines().last().unwrap_or("")
            );
            return None;
        }
        panic!("{name}: {err}");
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut it = text.split_whitespace();
    let secs = it.next().and_then(|s| s.parse().ok()).expect("seconds");
    let rss = it.next().and_then(|s| s.parse().ok()).expect("rss");
    let cpu = it.next().and_then(|s| s.parse().ok()).unwrap_or(f64::NAN);
    Some((secs, rss, cpu))
}

fn cell(m: Measured, limit_gb: Option<f64>) -> String {
    match m {
        Some((secs, rss, cpu)) => format!("{secs:.2} s, CPU {cpu:.2} s [{rss:.0} MB]"),
        None => format!("> {} GB", limit_gb.unwrap_or(0.0)),
    }
}

/// One store's line: calls, bytes, its build, the earlier build's reads and this one's.
type Row = (u64, u64, Measured, Option<Reads>, Reads);

/// The read phases of one store with one executable.
struct Reads {
    summary: Measured,
    report: Measured,
    export: Measured,
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--phase") {
        phase(&args[1], Path::new(&args[2]), &args[3]);
        return;
    }
    let mut option = |name: &str| -> Option<String> {
        let i = args.iter().position(|a| a == name)?;
        let v = args.get(i + 1).cloned().expect("a value after the option");
        args.drain(i..=i + 1);
        Some(v)
    };
    let before = option("--before").map(std::path::PathBuf::from);
    let limit_gb: Option<f64> = option("--limit-gb").map(|g| g.parse().expect("GB"));
    let stores = option("--stores").map(std::path::PathBuf::from);
    let sizes: Vec<u64> = if args.is_empty() {
        vec![100_000, 1_000_000]
    } else {
        args.iter()
            .map(|a| a.parse().expect("a call count"))
            .collect()
    };
    let after = std::env::current_exe().expect("own path");
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = stores.unwrap_or_else(|| tmp.path().to_path_buf());
    let mut rows: Vec<Row> = Vec::new();
    for n in sizes {
        let store = root.join(format!("calls-{n}"));
        let built = store.join("built");
        let build = if built.is_file() {
            None
        } else {
            let _ = std::fs::remove_dir_all(&store);
            let b = run_child(&after, "build", &store, &n.to_string(), None);
            std::fs::write(&built, "").expect("marker");
            b
        };
        let bytes = dir_bytes(&store.join("analytics"));
        let out = tmp.path().join(format!("out-{n}"));
        let reads = |exe: &Path, tag: &str, phase: &str| {
            let dir = out.join(format!("{tag}-{phase}"));
            let m = run_child(exe, phase, &store, dir.to_str().expect("utf-8"), limit_gb);
            let _ = std::fs::remove_dir_all(&dir);
            m
        };
        // Before and after alternate phase by phase, so the machine's load falls on both.
        let mut b = Reads {
            summary: None,
            report: None,
            export: None,
        };
        let mut a = Reads {
            summary: None,
            report: None,
            export: None,
        };
        for phase in ["summary", "report", "export"] {
            let mb = before
                .as_deref()
                .and_then(|exe| reads(exe, "before", phase));
            let ma = reads(&after, "after", phase);
            match phase {
                "summary" => (b.summary, a.summary) = (mb, ma),
                "report" => (b.report, a.report) = (mb, ma),
                _ => (b.export, a.export) = (mb, ma),
            }
        }
        rows.push((n, bytes, build, before.is_some().then_some(b), a));
    }
    let header = "| calls | store size | bytes/call | build | `summary --json` | `report all` (md,json,html) | `export` (json,csv) |\n|---|---|---|---|---|---|---|";
    let print = |title: &str, pick: &dyn Fn(&Row) -> Option<&Reads>| {
        println!("\n{title}\n\n{header}");
        for row in &rows {
            let Some(r) = pick(row) else { continue };
            let (n, bytes, build) = (row.0, row.1, row.2);
            println!(
                "| {n} | {:.1} MB | {:.0} | {} | {} | {} | {} |",
                bytes as f64 / 1e6,
                bytes as f64 / n as f64,
                build.map_or("(kept)".to_string(), |b| cell(Some(b), None)),
                cell(r.summary, limit_gb),
                cell(r.report, limit_gb),
                cell(r.export, limit_gb),
            );
        }
    };
    if before.is_some() {
        print("Before:", &|r| r.3.as_ref());
    }
    print("After:", &|r| Some(&r.4));
}
