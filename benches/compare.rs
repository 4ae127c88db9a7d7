//! The cost of `compare` on two 20,000-cell runs (10 estimator rows × 2,000 series: 4 values
//! of H × 5 lengths × 100 replicates), read from their run directories, compared (paired
//! bootstrap of every row, since half the rows changed), and rendered as Markdown and JSON;
//! and, apart, the HTML with its charts. The target is under 1 s for the first.
//!
//! The two run directories are written once to `target/compare-bench/{base,new}`, so the
//! command itself can be timed on them too:
//! `lrdbench-host compare target/compare-bench/base target/compare-bench/new`.

use std::hint::black_box;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use lrdbench_host::compare::{self, render, Tolerances};
use lrdbench_host::workflow::record::CellRecord;

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const ROWS: usize = 10;
const LENGTHS: [usize; 5] = [256, 1024, 4096, 16384, 65536];
const HS: [f64; 4] = [0.3, 0.5, 0.7, 0.9];
const REPLICATES: usize = 100;

/// A deterministic pseudo-normal draw from a cell's index (sum of four uniforms, centred).
fn noise(i: u64) -> f64 {
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut s = 0.0;
    for _ in 0..4 {
        x ^= x >> 29;
        x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        s += (x >> 11) as f64 / (1u64 << 53) as f64;
    }
    (s - 2.0) * 1.7
}

fn write_run(dir: &Path, id: &str, changed: bool) {
    std::fs::create_dir_all(dir).unwrap();
    let mut f = std::io::BufWriter::new(std::fs::File::create(dir.join("cells.jsonl")).unwrap());
    let mut index = 0usize;
    for &h in &HS {
        for &n in &LENGTHS {
            for r in 0..REPLICATES {
                for row in 0..ROWS {
                    let i = index as u64;
                    let sd = 0.5 / (n as f64).sqrt();
                    let mut value = h + 0.01 + sd * noise(i);
                    // Half the rows changed: a shift and a slow-down.
                    let slower = if changed && row % 2 == 0 {
                        value += 0.002 + 0.1 * sd * noise(i + 7);
                        1.2
                    } else {
                        1.0
                    };
                    let ms = n as f64 * 1e-4 * slower * (0.1 * noise(i + 13)).exp();
                    let rec = CellRecord {
                        index,
                        hash: format!("{i:064x}"),
                        series_id: format!("fgn[H={h}]/n={n}/r={r}"),
                        origin: "fgn".into(),
                        truth: [("H".to_string(), h)].into_iter().collect(),
                        length: n,
                        contamination: "clean".into(),
                        estimator: format!("est{row}"),
                        variant: format!("est{row}"),
                        params: "order=1".into(),
                        estimand: "H".into(),
                        value: Some(value),
                        stderr: Some(sd),
                        ci_low: Some(value - 1.96 * sd),
                        ci_high: Some(value + 1.96 * sd),
                        ci_level: Some(0.95),
                        ci_method: Some("calibrated".into()),
                        r_squared: None,
                        valid: true,
                        error_kind: None,
                        error_message: None,
                        elapsed_ms: ms,
                        warnings: Vec::new(),
                    };
                    serde_json::to_writer(&mut f, &rec).unwrap();
                    f.write_all(b"\n").unwrap();
                    index += 1;
                }
            }
        }
    }
    f.flush().unwrap();
    let manifest = serde_json::json!({
        "run_id": id, "status": "complete", "workflow": "bench", "workflow_sha256": "x",
        "seed": 1, "plugins": [], "cells": index, "cells_done": index,
        "started": "2026-01-01T00:00:00Z", "finished": "2026-01-01T00:01:00Z",
    });
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
}

fn runs() -> (PathBuf, PathBuf) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/compare-bench");
    let (base, new) = (root.join("base"), root.join("new"));
    write_run(&base, "base", false);
    write_run(&new, "new", true);
    (base, new)
}

fn bench(c: &mut Criterion) {
    let (base, new) = runs();
    let mut g = c.benchmark_group("compare");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.bench_function("load_compare_md_json/20000", |b| {
        b.iter(|| {
            let (x, y) = (compare::load(&base).unwrap(), compare::load(&new).unwrap());
            assert_eq!(x.cells.len(), 20_000);
            let c = compare::compare(&x, &y, &Tolerances::default());
            black_box((render::markdown(&c), render::json(&c).unwrap()))
        })
    });
    let (x, y) = (compare::load(&base).unwrap(), compare::load(&new).unwrap());
    g.bench_function("load/20000", |b| {
        b.iter(|| black_box((compare::load(&base).unwrap(), compare::load(&new).unwrap())))
    });
    g.bench_function("compare/20000", |b| {
        b.iter(|| black_box(compare::compare(&x, &y, &Tolerances::default())))
    });
    let cmp = compare::compare(&x, &y, &Tolerances::default());
    g.bench_function("html/20000", |b| b.iter(|| black_box(render::html(&cmp))));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
