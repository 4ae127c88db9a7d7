//! The analytics at sweep scale: builds stores of host-shaped call events (10^5 and 10^6 by
//! default; pass the sizes as arguments, e.g. `100000 1000000 10000000`) and prints, per
//! store, the calls, the store's size on disk and per call, the time to build it, and the time
//! and peak RSS of `summary --json`, `report all` (Markdown, JSON, HTML) and `export` (JSON
//! Lines and CSV). Each phase runs in a child process of its own, so its peak RSS is its own.
//!
//! ```text
//! cargo run --release --example store_scale -- 100000 1000000
//! ```

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

fn peak_rss_mb() -> f64 {
    // SAFETY: rusage is plain integers, for which all-zero bytes are a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    usage.ru_maxrss as f64 / 1024.0
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
    println!("{:.3} {:.0}", t.elapsed().as_secs_f64(), peak_rss_mb());
}

fn run_child(name: &str, store: &Path, arg: &str) -> (f64, f64) {
    let exe = std::env::current_exe().expect("own path");
    let out = Command::new(exe)
        .args(["--phase", name, store.to_str().expect("utf-8 path"), arg])
        .output()
        .expect("child runs");
    assert!(
        out.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut it = text.split_whitespace();
    let secs = it.next().and_then(|s| s.parse().ok()).expect("seconds");
    let rss = it.next().and_then(|s| s.parse().ok()).expect("rss");
    (secs, rss)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--phase") {
        phase(&args[1], Path::new(&args[2]), &args[3]);
        return;
    }
    let sizes: Vec<u64> = if args.is_empty() {
        vec![100_000, 1_000_000]
    } else {
        args.iter()
            .map(|a| a.parse().expect("a call count"))
            .collect()
    };
    println!(
        "| calls | store size | bytes/call | build | `summary --json` | `report all` (md,json,html) | `export` (json,csv) |"
    );
    println!("|---|---|---|---|---|---|---|");
    for n in sizes {
        let tmp = tempfile::tempdir().expect("tempdir");
        let store = tmp.path().join("store");
        let (build, build_rss) = run_child("build", &store, &n.to_string());
        let bytes = dir_bytes(&store.join("analytics"));
        let (summary, summary_rss) = run_child("summary", &store, "-");
        let reports = tmp.path().join("reports");
        let (report, report_rss) = run_child("report", &store, reports.to_str().expect("utf-8"));
        let exports = tmp.path().join("exports");
        let (export, export_rss) = run_child("export", &store, exports.to_str().expect("utf-8"));
        println!(
            "| {n} | {:.1} MB | {:.0} | {build:.2} s [{build_rss:.0} MB] | {summary:.2} s [{summary_rss:.0} MB] | {report:.2} s [{report_rss:.0} MB] | {export:.2} s [{export_rss:.0} MB] |",
            bytes as f64 / 1e6,
            bytes as f64 / n as f64,
        );
    }
}
