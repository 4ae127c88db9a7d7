//! What recording costs a real sweep, and how a sweep scales from one thread to two: whole
//! workflow runs (`workflow::run`, as `lrdbench-host run` does them: plan, cells, cell journal,
//! metrics, every output), in this process, with the plugins of this build profile.
//!
//! - `overhead`: the cheap workflow (fGn, H 0.1…0.9, n = 256, aggvar and absmom; 5,051
//!   replicates = 90,918 cells, 136,377 plugin calls) on one thread, analytics off (an invoker
//!   that records nothing, as `LRDBENCH_ANALYTICS=0`) and on (a fresh store per run, opened
//!   and closed inside the timing, so the store commit of every event is counted). Runs
//!   alternate off/on so that a change in the machine's load hits both alike.
//! - `scaling`: 20,000-cell sweeps on 1 and 2 threads with analytics on: the cheap estimators,
//!   and DFA at n = 4,096 (≥ 50 µs a call; the per-cell time is printed).
//!
//! Each run prints wall time and the process's CPU time (user + sys, every thread, from
//! `getrusage`): on a shared machine the wall time also holds the time spent waiting for a
//! core, so the CPU ratio is the steadier figure, and the closing line gives both medians.
//!
//! ```text
//! cargo run --example sweep_overhead -- overhead 5051 3
//! cargo run --example sweep_overhead -- scaling 3
//! ```
//!
//! Arguments: `overhead [REPLICATES] [REPEATS]`, `scaling [REPEATS]`; no argument runs both
//! with the defaults (5,051 replicates, 3 repeats).

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use lrdbench_host::invoke::Invoker;
use lrdbench_host::plugin::{Catalog, PluginSources};
use lrdbench_host::workflow::{self, RunOptions};

// As in the host: jemalloc is the process's malloc (the heap-peak probe reads it).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// User + system CPU time of the whole process so far, seconds.
fn cpu_s() -> f64 {
    // SAFETY: rusage is plain integers, for which all-zero bytes are a valid value.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is a valid, writable rusage.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// A workflow of fGn series (9 H values, one length) and the given estimator rows.
fn workflow(dir: &Path, name: &str, length: usize, replicates: usize, rows: &[&str]) -> PathBuf {
    let mut text = format!(
        "[workflow]\nname = \"{name}\"\nseed = 1\n\n[[data]]\nmodel = \"fgn\"\n\
         params = {{ H = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9] }}\n\
         lengths = [{length}]\nreplicates = {replicates}\n"
    );
    for row in rows {
        text.push_str(&format!("\n[[estimator]]\nname = \"{row}\"\n"));
    }
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).expect("write workflow");
    path
}

/// Wall and CPU seconds of one whole run (opening and closing analytics included when on).
fn run_once(
    catalog: &Catalog,
    wf: &Path,
    threads: usize,
    analytics: bool,
    scratch: &Path,
) -> (f64, f64, usize, f64) {
    let plan = workflow::plan::load(wf, catalog).expect("plan");
    let _ = std::fs::remove_dir_all(scratch);
    std::fs::create_dir_all(scratch).expect("scratch");
    let options = RunOptions {
        out_dir: Some(scratch.join("runs")),
        threads: Some(threads),
        resume: None,
        progress: false,
    };
    let stop = AtomicBool::new(false);
    let (cpu0, t0) = (cpu_s(), Instant::now());
    let cells = if analytics {
        let a = lrdbench_analytics::Analytics::open(&scratch.join("store")).expect("store");
        assert!(
            a.is_recording(),
            "recording is off (LRDBENCH_ANALYTICS=0 or DO_NOT_TRACK=1 in the environment?)"
        );
        let invoker = Invoker::recording(a.clone());
        let report = workflow::run(&plan, &invoker, &options, &stop).expect("run");
        drop(invoker);
        // Every event committed to the store, the journal deleted: the whole recording cost.
        a.close();
        (report.stats.ran, report.stats.elapsed)
    } else {
        let report = workflow::run(&plan, &Invoker::unrecorded(), &options, &stop).expect("run");
        (report.stats.ran, report.stats.elapsed)
    };
    let (cells, cells_time) = cells;
    (
        t0.elapsed().as_secs_f64(),
        cpu_s() - cpu0,
        cells,
        cells_time.as_secs_f64(),
    )
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn overhead(catalog: &Catalog, tmp: &Path, replicates: usize, repeats: usize) {
    let wf = workflow(tmp, "cheap", 256, replicates, &["aggvar", "absmom"]);
    let (mut off, mut on) = (Vec::new(), Vec::new());
    for r in 0..repeats {
        for analytics in [false, true] {
            let (wall, cpu, cells, exec) =
                run_once(catalog, &wf, 1, analytics, &tmp.join("scratch"));
            println!(
                "overhead  repeat {r}  analytics {:3}  {cells} cells  wall {wall:6.2} s (cells {exec:6.2} s)  cpu {cpu:6.2} s",
                if analytics { "on" } else { "off" }
            );
            if analytics { &mut on } else { &mut off }.push((wall, cpu));
        }
    }
    let m = |v: &[(f64, f64)], f: fn(&(f64, f64)) -> f64| median(v.iter().map(f).collect());
    let (off_wall, off_cpu) = (m(&off, |x| x.0), m(&off, |x| x.1));
    let (on_wall, on_cpu) = (m(&on, |x| x.0), m(&on, |x| x.1));
    println!(
        "overhead  medians: off wall {off_wall:.2} s cpu {off_cpu:.2} s | on wall {on_wall:.2} s cpu {on_cpu:.2} s | on/off wall {:.2}x cpu {:.2}x",
        on_wall / off_wall,
        on_cpu / off_cpu
    );
}

fn scaling(catalog: &Catalog, tmp: &Path, repeats: usize) {
    // 9 H × 1,112 replicates × 2 rows = 20,016 cells; 9 × 2,223 × 1 row = 20,007 cells.
    let sweeps = [
        (
            "cheap",
            workflow(tmp, "cheap20k", 256, 1112, &["aggvar", "absmom"]),
        ),
        ("dfa_n4096", workflow(tmp, "dfa20k", 4096, 2223, &["dfa"])),
    ];
    for (label, wf) in &sweeps {
        let (mut one, mut two) = (Vec::new(), Vec::new());
        for r in 0..repeats {
            for threads in [1usize, 2] {
                let (wall, cpu, cells, exec) =
                    run_once(catalog, wf, threads, true, &tmp.join("scratch"));
                println!(
                    "scaling  {label:9}  repeat {r}  threads {threads}  {cells} cells  wall {wall:6.2} s (cells {exec:6.2} s)  cpu {cpu:6.2} s  ({:.1} µs/cell on the clock)",
                    wall * 1e6 * threads as f64 / cells as f64
                );
                if threads == 1 { &mut one } else { &mut two }.push((wall, cpu));
            }
        }
        let w1 = median(one.iter().map(|x| x.0).collect());
        let w2 = median(two.iter().map(|x| x.0).collect());
        let c1 = median(one.iter().map(|x| x.1).collect());
        let c2 = median(two.iter().map(|x| x.1).collect());
        println!(
            "scaling  {label:9}  medians: 1 thread wall {w1:.2} s cpu {c1:.2} s | 2 threads wall {w2:.2} s cpu {c2:.2} s | speed-up {:.2}x (cpu 2/1 {:.2})",
            w1 / w2,
            c2 / c1
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize, default: usize| {
        args.get(i)
            .map(|s| s.parse().expect("a number"))
            .unwrap_or(default)
    };
    let (catalog, errors) = Catalog::load(&PluginSources {
        dirs: vec![support::profile_dir()],
        files: vec![],
    });
    assert!(errors.is_empty(), "{errors:?}");
    let tmp = tempfile::tempdir().expect("tempdir");
    match args.first().map(String::as_str) {
        Some("overhead") => overhead(&catalog, tmp.path(), num(1, 5051), num(2, 3)),
        Some("scaling") => scaling(&catalog, tmp.path(), num(1, 3)),
        None => {
            overhead(&catalog, tmp.path(), 5051, 3);
            scaling(&catalog, tmp.path(), 3);
        }
        Some(other) => {
            eprintln!("unknown mode {other}: use `overhead [REPLICATES] [REPEATS]` or `scaling [REPEATS]`");
            std::process::exit(2);
        }
    }
}
