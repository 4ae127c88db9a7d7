//! Coverage of every estimator's default interval on exact fGn.
//!
//! For each length n and Hurst index H, simulates `--reps` exact fGn series (Davies–Harte),
//! runs every standard estimator with its default parameters (a 95% interval), and prints per
//! estimator: the fraction of intervals that contain H, the mean width divided by
//! 3.92 × the empirical SD of the estimates (1 for an interval of the right width), the bias,
//! the empirical SD, the fraction of results carrying a warning, and the interval's method.
//!
//! ```text
//! cargo build --release --workspace
//! cargo run --release --example coverage -- [--n 512,4096,65536] [--h 0.2,0.5,0.9]
//!     [--reps 200] [--threads 2] [--only rs,dfa] [--seed 1] [--level 0.95]
//! ```
//!
//! With 200 series, the binomial SD of a coverage of 0.95 is 0.015.

mod common;

use common::{catalog, estimators, list_arg, mean_sd, run_cell};
use lrdbench_plugin_api::{Param, ParamValue};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let ns: Vec<usize> = list_arg(&args, "--n").unwrap_or(vec![512, 4096, 65536]);
    let hs: Vec<f64> = list_arg(&args, "--h").unwrap_or(vec![0.2, 0.5, 0.9]);
    let reps = list_arg::<usize>(&args, "--reps").map_or(200, |v| v[0]);
    let threads = list_arg::<usize>(&args, "--threads").map_or(2, |v| v[0]);
    let seed = list_arg::<u64>(&args, "--seed").map_or(1, |v| v[0]);
    let only: Option<Vec<String>> = list_arg(&args, "--only");
    let level = list_arg::<f64>(&args, "--level").map_or(0.95, |v| v[0]);
    let z = lrdbench_numerics::scaling::normal_quantile(0.5 + level / 2.0);
    let catalog = catalog();
    let given = [Param {
        name: "level".into(),
        value: ParamValue::Float(level),
    }];
    let ests = estimators(&catalog, only.as_deref(), &given);
    println!(
        "| n | H | estimator | coverage ({level}) | width/({:.2} SD) | bias | SD | warned | method |",
        2.0 * z
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for &n in &ns {
        for &h in &hs {
            let t0 = std::time::Instant::now();
            let cell = run_cell(&ests, n, h, reps, threads, seed);
            for (e, (c, _)) in ests.iter().enumerate() {
                let ok: Vec<_> = cell[e].iter().flatten().collect();
                if ok.len() < 2 {
                    println!("| {n} | {h} | {} | failed | | | | | |", c.name());
                    continue;
                }
                let vals: Vec<f64> = ok.iter().map(|e| e.value).collect();
                let (mean, sd) = mean_sd(&vals);
                let with_ci: Vec<_> = ok.iter().filter_map(|e| e.ci.into_option()).collect();
                let covered = with_ci.iter().filter(|c| c.low <= h && h <= c.high).count();
                let width = with_ci.iter().map(|c| c.high - c.low).sum::<f64>()
                    / with_ci.len().max(1) as f64;
                let warned = ok.iter().filter(|e| !e.warnings.is_empty()).count();
                let method = ci_method(ok[0]);
                println!(
                    "| {n} | {h} | {} | {:.3} | {:.2} | {:+.4} | {:.4} | {:.2} | {method} |",
                    c.name(),
                    covered as f64 / ok.len() as f64,
                    width / (2.0 * z * sd),
                    mean - h,
                    sd,
                    warned as f64 / ok.len() as f64,
                );
            }
            eprintln!("n = {n}, H = {h}: {:.1} s", t0.elapsed().as_secs_f64());
        }
    }
}

fn ci_method(e: &lrdbench_plugin_api::Estimate) -> &'static str {
    lrdbench_plugin_api::CiMethod::name_of(e.ci.into_option().as_ref())
}
