//! The workflow harness: overhead per cell (everything but the plugin's own work), and the
//! speed-up of two threads over one on the sweep at reduced size.
//!
//! Overhead: 2,000 cells whose plugin work is small (1,000 white-noise series of 16 points, two
//! rows of `fault_trivial`). `workflow_overhead/trivial_cells/T` is the whole run on T threads:
//! scheduling, the cell journal, metrics, every output and the plugin calls;
//! `workflow_overhead/plugin_calls/T` is the same 1,000 model and 2,000 estimator calls made
//! directly on the plugins, on T threads. The harness overhead per cell is the difference
//! divided by 2,000. Both use an invoker that records nothing; `trivial_cells_recorded/T` is
//! the run with every call recorded into a fresh analytics store, for the recording's share.
//! Needs the plugins built with `cargo build --release` first.

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lrdbench_host::invoke::Invoker;
use lrdbench_host::plugin::{Catalog, PluginSources};
use lrdbench_host::workflow::plan::{Plan, SeriesSource};
use lrdbench_host::workflow::{self, RunOptions};

const CELLS: usize = 2000;

fn catalog() -> Catalog {
    let dir = support::profile_dir();
    let (catalog, errors) = Catalog::load(&PluginSources {
        dirs: vec![dir],
        files: vec![support::library("lrdbench_fault_plugin")],
    });
    assert!(errors.is_empty(), "{errors:?}");
    catalog
}

fn overhead_workflow(dir: &std::path::Path) -> std::path::PathBuf {
    // 1,000 white-noise series of 16 points × 2 rows of `fault_trivial`: the plugins' own work
    // (a 16-point generation per two cells, a first-value read per cell) is negligible, so the
    // time per cell is the harness.
    let text = format!(
        "[workflow]\nname = \"overhead\"\n[[data]]\nmodel = \"white_noise\"\nlengths = [16]\nreplicates = {}\n\
         [[estimator]]\nname = \"fault_trivial\"\n[estimator.variants]\nagain = {{}}\n",
        CELLS / 2
    );
    let path = dir.join("overhead.toml");
    std::fs::write(&path, text).expect("write workflow");
    path
}

/// The plugin calls of `plan` alone, straight on the plugins, split over `threads` threads:
/// every series generated once and every cell's estimator called on it (the plugins' own work,
/// including the ABI crossing). Returns the number of valid estimates.
fn plugin_calls(plan: &Plan<'_>, threads: usize) -> usize {
    let rows = plan.estimators.len();
    let per_thread = plan.series.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = plan
            .series
            .chunks(per_thread)
            .enumerate()
            .map(|(chunk, series)| {
                scope.spawn(move || {
                    let mut valid = 0;
                    for (k, s) in series.iter().enumerate() {
                        let SeriesSource::Model { handle, params } = &s.source else {
                            unreachable!("the overhead workflow generates its series")
                        };
                        let g = handle
                            .generate(s.length as u64, s.seed, params)
                            .expect("generate");
                        let first = (chunk * per_thread + k) * rows;
                        for c in &plan.cells[first..first + rows] {
                            let e = &plan.estimators[c.estimator];
                            valid += usize::from(e.handle.estimate(&g.values, &e.params).is_ok());
                        }
                    }
                    valid
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("worker")).sum()
    })
}

fn reduced_sweep(dir: &std::path::Path) -> std::path::PathBuf {
    let src = support::workspace_root().join("workflows/sweep.toml");
    let text = std::fs::read_to_string(src).expect("sweep.toml");
    let text = text
        .replace(
            "lengths = [512, 2048, 8192, 65536]",
            "lengths = [1024, 4096]",
        )
        .replace("replicates = 10", "replicates = 2");
    let path = dir.join("sweep_small.toml");
    std::fs::write(&path, text).expect("write workflow");
    path
}

fn harness(c: &mut Criterion) {
    let catalog = catalog();
    let tmp = tempfile::tempdir().expect("tempdir");
    let invoker = Invoker::unrecorded();
    let stop = AtomicBool::new(false);
    // One whole run into `tmp/runs` with `threads` workers, as `lrdbench-host run` does it.
    let run_plan = |plan: &workflow::plan::Plan, invoker: &Invoker, threads: usize| {
        let options = RunOptions {
            out_dir: Some(tmp.path().join("runs")),
            threads: Some(threads),
            resume: None,
            progress: false,
        };
        workflow::run(plan, invoker, &options, &stop).expect("run")
    };

    let wf = overhead_workflow(tmp.path());
    let plan = workflow::plan::load(&wf, &catalog).expect("plan");
    let mut group = c.benchmark_group("workflow_overhead");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(CELLS as u64));
    for threads in [1usize, 2] {
        group.bench_with_input(
            BenchmarkId::new("trivial_cells", threads),
            &threads,
            |b, &t| b.iter(|| run_plan(&plan, &invoker, t)),
        );
        assert!(
            plan.cells
                .iter()
                .enumerate()
                .all(|(i, c)| c.series == i / plan.estimators.len()),
            "cells are series-major"
        );
        group.bench_with_input(
            BenchmarkId::new("plugin_calls", threads),
            &threads,
            |b, _| b.iter(|| assert_eq!(plugin_calls(&plan, threads), CELLS)),
        );
    }
    let store = tmp.path().join("store");
    let recorded =
        Invoker::recording(lrdbench_analytics::Analytics::open(&store).expect("analytics store"));
    assert!(
        recorded.analytics().is_some_and(|a| a.is_recording()),
        "recording is off (LRDBENCH_ANALYTICS=0 or DO_NOT_TRACK=1 in the environment?)"
    );
    for threads in [1usize, 2] {
        group.bench_with_input(
            BenchmarkId::new("trivial_cells_recorded", threads),
            &threads,
            |b, &t| b.iter(|| run_plan(&plan, &recorded, t)),
        );
    }
    group.finish();

    let wf = reduced_sweep(tmp.path());
    let plan = workflow::plan::load(&wf, &catalog).expect("plan");
    let mut group = c.benchmark_group("sweep_reduced");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    for threads in [1usize, 2] {
        group.bench_with_input(BenchmarkId::new("threads", threads), &threads, |b, &t| {
            b.iter(|| run_plan(&plan, &invoker, t))
        });
    }
    group.finish();
}

criterion_group!(benches, harness);
criterion_main!(benches);
