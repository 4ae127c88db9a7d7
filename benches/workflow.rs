//! The workflow harness: overhead per cell (everything but the plugin's own work), and the
//! speed-up of two threads over one on the sweep at reduced size.
//!
//! Overhead: 2,000 cells whose plugin work is negligible (1,000 white-noise series of 16 points,
//! two rows of `fault_trivial`), so the time per cell is the harness: scheduling, the cell
//! journal, metrics and outputs. Needs `cargo build --release --workspace` first.

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lrdbench_host::invoke::Invoker;
use lrdbench_host::plugin::{Catalog, PluginSources};
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
            |b, &t| {
                b.iter(|| {
                    let options = RunOptions {
                        out_dir: Some(tmp.path().join("runs")),
                        threads: Some(t),
                        resume: None,
                        progress: false,
                    };
                    workflow::run(&plan, &invoker, &options, &stop).expect("run")
                })
            },
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
            b.iter(|| {
                let options = RunOptions {
                    out_dir: Some(tmp.path().join("runs")),
                    threads: Some(t),
                    resume: None,
                    progress: false,
                };
                workflow::run(&plan, &invoker, &options, &stop).expect("run")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, harness);
criterion_main!(benches);
