//! No confident wrong answer without a warning: per estimator and series kind, the share of
//! results whose default interval covers the truth *or* that carry a warning, and the share
//! that warn.
//!
//! Series kinds (truth in parentheses; `arfima_whittle` reports d = H − ½ and is judged
//! against it):
//!
//! - `fgn`: exact fGn at each H of `--h` (H), where warnings are false alarms;
//! - `ar1`: AR(1) with φ = 0.5 (H = 0.5, no long memory);
//! - `arfima02`, `arfima04`: ARFIMA(1, d, 0) with φ = 0.5 and d = 0.2, 0.4 (H = d + ½).
//!
//! ```text
//! cargo build --release --workspace
//! cargo run --release --example misfit -- [--n 512,4096,65536] [--h 0.2,0.5,0.9]
//!     [--reps 200] [--threads 2] [--only rs,dfa] [--seed 1]
//! ```
//!
//! Each cell prints `cover-or-warn / warn`. The goal: cover-or-warn ≥ 0.90 on the short-memory
//! kinds and warn ≤ 0.10 on fGn. With 200 series the binomial SD of a share near 0.9 is 0.021.

mod common;

use common::{catalog, estimators, list_arg, run_series, series_seed};
use lrdbench_numerics::fgn::DaviesHarte;
use lrdbench_plugin_api::Estimate;
use lrdbench_plugin_models::cache::Plans;
use lrdbench_plugin_models::kernel::arfima::{arfima, ArfimaConfig};
use lrdbench_plugin_models::kernel::short::ar1;

/// A kind of series: its label, its true H, and how to make one from a seed.
struct Kind {
    label: String,
    h: f64,
    make: Box<dyn Fn(usize, u64) -> Option<Vec<f64>> + Sync>,
}

fn kinds(hs: &[f64]) -> Vec<Kind> {
    let mut out: Vec<Kind> = hs
        .iter()
        .map(|&h| Kind {
            label: format!("fGn H={h}"),
            h,
            make: Box::new(move |n, seed| DaviesHarte::new(h, n).ok().map(|p| p.sample(seed))),
        })
        .collect();
    out.push(Kind {
        label: "AR(1) φ=.5".into(),
        h: 0.5,
        make: Box::new(|n, seed| ar1(0.5, 1.0, n, seed).ok()),
    });
    for d in [0.2, 0.4] {
        let plans = Plans::new();
        out.push(Kind {
            label: format!("ARFIMA(1,{d},0) φ=.5"),
            h: d + 0.5,
            make: Box::new(move |n, seed| {
                let cfg = ArfimaConfig {
                    d,
                    ar: vec![0.5],
                    ma: vec![],
                    sigma2: 1.0,
                };
                arfima(&cfg, n, seed, &plans).ok()
            }),
        });
    }
    out
}

/// Whether `e`'s interval contains the truth (d = H − ½ for an estimand of d).
fn covers(e: &Estimate, h: f64) -> bool {
    let estimand: &str = &e.estimand;
    let truth = if estimand == "d" { h - 0.5 } else { h };
    e.ci.into_option()
        .is_some_and(|c| c.low <= truth && truth <= c.high)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let ns: Vec<usize> = list_arg(&args, "--n").unwrap_or(vec![512, 4096]);
    let hs: Vec<f64> = list_arg(&args, "--h").unwrap_or(vec![0.2, 0.5, 0.9]);
    let reps = list_arg::<usize>(&args, "--reps").map_or(200, |v| v[0]);
    let threads = list_arg::<usize>(&args, "--threads").map_or(2, |v| v[0]);
    let seed = list_arg::<u64>(&args, "--seed").map_or(1, |v| v[0]);
    let only: Option<Vec<String>> = list_arg(&args, "--only");
    let catalog = catalog();
    let ests = estimators(&catalog, only.as_deref(), &[]);
    let kinds = kinds(&hs);
    println!("cover-or-warn / warn, {reps} series per cell, default parameters (95% intervals)\n");
    let head: Vec<&str> = kinds.iter().map(|k| k.label.as_str()).collect();
    println!("| n | estimator | {} |", head.join(" | "));
    println!("|---|---|{}", "---|".repeat(kinds.len()));
    for &n in &ns {
        let t0 = std::time::Instant::now();
        let cells: Vec<Vec<Vec<Option<Estimate>>>> = kinds
            .iter()
            .enumerate()
            .map(|(k, kind)| {
                run_series(
                    &ests,
                    reps,
                    threads,
                    |r| series_seed(seed, n, k as f64, r),
                    |s| (kind.make)(n, s),
                )
            })
            .collect();
        for (e, (c, _)) in ests.iter().enumerate() {
            let row: Vec<String> = kinds
                .iter()
                .zip(&cells)
                .map(|(kind, cell)| {
                    let ok: Vec<&Estimate> = cell[e].iter().flatten().collect();
                    if ok.is_empty() {
                        return "failed".into();
                    }
                    let (mut good, mut w) = (0, 0);
                    for e in &ok {
                        let warns = !e.warnings.is_empty();
                        good += usize::from(warns || covers(e, kind.h));
                        w += usize::from(warns);
                    }
                    let m = ok.len() as f64;
                    format!("{:.2} / {:.2}", good as f64 / m, w as f64 / m)
                })
                .collect();
            println!("| {n} | {} | {} |", c.name(), row.join(" | "));
        }
        eprintln!("n = {n}: {:.1} s", t0.elapsed().as_secs_f64());
    }
}
