//! Regenerates the sampling tables behind every estimator's default interval.
//!
//! For each length n = 2^7 … 2^16 and Hurst index H = 0.05, 0.10, …, 0.95 it simulates exact
//! fGn (Davies–Harte), runs every standard estimator with its default parameters, and records
//! the mean and standard deviation of the estimates. Beyond 2^16 the plugins extrapolate the
//! SD as n^α(H), α fitted here over 2^12 … 2^16; the check "fit over 2^12 … 2^15, predict
//! 2^16" is printed so the extrapolation is validated on every regeneration.
//!
//! ```text
//! cargo build --release --workspace
//! cargo run --release --example calibrate -- [--reps 400] [--threads 2] [--write]
//! ```
//!
//! `--write` rewrites `plugins/<family>/src/calibration.rs` (then rebuild the plugins). The
//! tables depend only on the point estimates, so they can be regenerated from any build whose
//! point estimates are current. Series of 2^15 and 2^16 points use half the replicates.
//!
//! The same pass tabulates, for every estimator that records the local-slope gap
//! (`lrdbench_numerics::misfit`), the gap's mean and SD under fGn, written to
//! `plugins/<family>/src/misfit.rs`. `--misfit` writes only those files (the interval tables
//! stay as they are):
//!
//! ```text
//! cargo run --release --example calibrate -- --misfit --reps 200 --write
//! ```

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use common::{catalog, estimators, list_arg, mean_sd, run_cell};

/// log2 of the shortest and longest tabulated lengths.
const LOG2_N: std::ops::RangeInclusive<u32> = 7..=16;
/// The first log2 n of the SD-slope fit.
const SLOPE_FROM: u32 = 12;

fn h_grid() -> Vec<f64> {
    (1..=19).map(|i| i as f64 * 0.05).collect()
}

/// Per estimator: (log2 n, per H (mean, sd)).
type Table = Vec<(u32, Vec<(f64, f64)>)>;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let reps = list_arg::<usize>(&args, "--reps").map_or(400, |v| v[0]);
    let threads = list_arg::<usize>(&args, "--threads").map_or(2, |v| v[0]);
    let write = args.iter().any(|a| a == "--write");
    let misfit_only = args.iter().any(|a| a == "--misfit");
    let only: Option<Vec<String>> = list_arg(&args, "--only");
    let catalog = catalog();
    let mut ests = estimators(&catalog, only.as_deref(), &[]);
    if misfit_only {
        // Only the estimators that record a local-slope gap: probed on one fGn series long
        // enough for every estimator's default scales.
        let probe = run_cell(&ests, 1 << 12, 0.5, 1, 1, 20_260_001);
        let keep: Vec<bool> = probe
            .iter()
            .map(|res| res.iter().flatten().any(|e| gap_of(e).is_some()))
            .collect();
        let mut keep = keep.into_iter();
        ests.retain(|_| keep.next().unwrap_or(false));
        let names: Vec<&str> = ests.iter().map(|(c, _)| c.name()).collect();
        eprintln!("local-slope gap recorded by: {}", names.join(", "));
    }
    let hs = h_grid();
    let mut tables: BTreeMap<String, (String, Table)> = BTreeMap::new();
    let mut gaps: BTreeMap<String, (String, Table)> = BTreeMap::new();
    for log2n in LOG2_N {
        let n = 1usize << log2n;
        let r = if log2n >= 15 { reps / 2 } else { reps };
        let mut rows: Vec<Vec<(f64, f64)>> = vec![Vec::new(); ests.len()];
        let mut complete = vec![true; ests.len()];
        let mut gap_rows: Vec<Vec<(f64, f64)>> = vec![Vec::new(); ests.len()];
        let mut gap_complete = vec![true; ests.len()];
        let t0 = std::time::Instant::now();
        for &h in &hs {
            let cell = run_cell(&ests, n, h, r, threads, 20_260_001);
            for (e, res) in cell.iter().enumerate() {
                let gap: Vec<f64> = res.iter().flatten().filter_map(gap_of).collect();
                // The same rule for the gap (missing below 4 scales).
                if gap.len() * 100 < r * 99 {
                    gap_complete[e] = false;
                } else {
                    gap_rows[e].push(mean_sd(&gap));
                }
                let vals: Vec<f64> = res.iter().flatten().map(|e| e.value).collect();
                // A length where the estimator fails on more than 1% of fGn series is below
                // its calibrated range.
                if vals.len() * 100 < r * 99 {
                    complete[e] = false;
                    continue;
                }
                rows[e].push(mean_sd(&vals));
            }
        }
        eprintln!("n = 2^{log2n}: {:.1} s", t0.elapsed().as_secs_f64());
        for (e, (c, _)) in ests.iter().enumerate() {
            let entry = tables
                .entry(c.name().to_string())
                .or_insert_with(|| (c.plugin.descriptor.name.to_string(), Vec::new()));
            if complete[e] {
                entry.1.push((log2n, std::mem::take(&mut rows[e])));
            } else {
                // Keep only a contiguous range of lengths, ending at the longest.
                entry.1.clear();
            }
            let entry = gaps
                .entry(c.name().to_string())
                .or_insert_with(|| (c.plugin.descriptor.name.to_string(), Vec::new()));
            if gap_complete[e] {
                entry.1.push((log2n, std::mem::take(&mut gap_rows[e])));
            } else {
                entry.1.clear();
            }
        }
    }
    gaps.retain(|_, (_, t)| !t.is_empty());
    let mut misfit_files: BTreeMap<String, String> = BTreeMap::new();
    for (name, (plugin, table)) in &gaps {
        let alpha = slopes(table, SLOPE_FROM, 16);
        let src = misfit_files
            .entry(plugin.clone())
            .or_insert_with(misfit_header);
        write_table(src, name, table, &hs, &alpha, reps, None);
    }
    for (plugin, src) in &misfit_files {
        emit(&format!("plugins/{plugin}/src/misfit.rs"), src, write);
    }
    if misfit_only {
        return;
    }
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    for (name, (plugin, table)) in &tables {
        let alpha = slopes(table, SLOPE_FROM, 16);
        report_extrapolation(name, table);
        let src = files.entry(plugin.clone()).or_insert_with(header);
        let misfit = gaps
            .contains_key(name)
            .then(|| format!("crate::misfit::{}", name.to_uppercase()));
        write_table(src, name, table, &hs, &alpha, reps, misfit.as_deref());
    }
    for (plugin, src) in &files {
        emit(&format!("plugins/{plugin}/src/calibration.rs"), src, write);
    }
}

/// The local-slope gap H_fine − H_coarse an estimate records, if any.
fn gap_of(e: &lrdbench_plugin_api::Estimate) -> Option<f64> {
    e.diagnostics
        .iter()
        .find(|d| d.name == lrdbench_numerics::misfit::GAP_DIAGNOSTIC)
        .and_then(|d| d.values.get(2).copied())
        .filter(|g| g.is_finite())
}

fn emit(path: &str, src: &str, write: bool) {
    if write {
        std::fs::write(path, src).expect("write the table source");
        eprintln!("wrote {path}");
    } else {
        println!("// {path}\n{src}");
    }
}

/// Per H, the least-squares slope of ln SD against ln n over log2 n in `from..=to`.
fn slopes(table: &Table, from: u32, to: u32) -> Vec<f64> {
    let rows: Vec<_> = table
        .iter()
        .filter(|(l, _)| (from..=to).contains(l))
        .collect();
    let nh = table.first().map_or(0, |r| r.1.len());
    (0..nh)
        .map(|j| {
            let x: Vec<f64> = rows
                .iter()
                .map(|(l, _)| *l as f64 * std::f64::consts::LN_2)
                .collect();
            let y: Vec<f64> = rows.iter().map(|(_, r)| r[j].1.ln()).collect();
            let mx = x.iter().sum::<f64>() / x.len() as f64;
            let my = y.iter().sum::<f64>() / y.len() as f64;
            let sxy: f64 = x.iter().zip(&y).map(|(a, b)| (a - mx) * (b - my)).sum();
            let sxx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
            sxy / sxx
        })
        .collect()
}

/// Prints, per H, the SD at 2^16 predicted from the fit over 2^12 … 2^15 over the measured one.
fn report_extrapolation(name: &str, table: &Table) {
    let Some((16, last)) = table.last() else {
        return;
    };
    let Some((15, prev)) = table.iter().find(|(l, _)| *l == 15) else {
        return;
    };
    let alpha = slopes(table, SLOPE_FROM, 15);
    let ratios: Vec<String> = (0..last.len())
        .step_by(2)
        .map(|j| {
            let predicted = prev[j].1 * 2f64.powf(alpha[j]);
            format!("{:.2}", predicted / last[j].1)
        })
        .collect();
    eprintln!(
        "{name}: SD(2^16) predicted/measured at H = 0.05, 0.15, …: {}",
        ratios.join(" ")
    );
}

fn header() -> String {
    "//! Sampling tables of this plugin's estimators under exact fGn, for their default
//! intervals (see `lrdbench_numerics::calibration`).
//!
//! Generated by `cargo run --release --example calibrate -- --write` at the workspace root;
//! do not edit by hand.
// Measured values that may happen to lie near a mathematical constant.
#![allow(clippy::approx_constant)]

use lrdbench_numerics::calibration::Calibration;
"
    .to_string()
}

fn misfit_header() -> String {
    "//! Null tables of this plugin's local-slope gap H_fine − H_coarse under exact fGn, for the
//! misfit test of `lrdbench_numerics::misfit` (mean and SD in the layout of
//! `lrdbench_numerics::calibration`).
//!
//! Generated by `cargo run --release --example calibrate -- --misfit --write` at the workspace
//! root; do not edit by hand.
// Measured values that may happen to lie near a mathematical constant.
#![allow(clippy::approx_constant)]

use lrdbench_numerics::calibration::Calibration;
"
    .to_string()
}

fn write_table(
    src: &mut String,
    name: &str,
    table: &Table,
    hs: &[f64],
    alpha: &[f64],
    reps: usize,
    misfit: Option<&str>,
) {
    let fmt = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.5}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let konst = name.to_uppercase();
    let _ = writeln!(src);
    let _ = writeln!(
        src,
        "/// `{name}` with default parameters: {reps} series per cell (half from 2^15 points)."
    );
    let _ = writeln!(src, "#[rustfmt::skip]");
    let _ = writeln!(
        src,
        "pub(crate) static {konst}: Calibration = Calibration {{"
    );
    let _ = writeln!(src, "    log2_n_min: {},", table[0].0);
    let _ = writeln!(src, "    h: &[{}],", fmt(hs));
    let _ = writeln!(src, "    mean: &[");
    for (_, row) in table {
        let m: Vec<f64> = row.iter().map(|r| r.0).collect();
        let _ = writeln!(src, "        {},", fmt(&m));
    }
    let _ = writeln!(src, "    ],");
    let _ = writeln!(src, "    sd: &[");
    for (_, row) in table {
        let s: Vec<f64> = row.iter().map(|r| r.1).collect();
        let _ = writeln!(src, "        {},", fmt(&s));
    }
    let _ = writeln!(src, "    ],");
    let _ = writeln!(src, "    sd_slope: &[{}],", fmt(alpha));
    match misfit {
        Some(path) => writeln!(src, "    misfit: Some(&{path}),"),
        None => writeln!(src, "    misfit: None,"),
    }
    .expect("write to a String");
    let _ = writeln!(src, "}};");
}
