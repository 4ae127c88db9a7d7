//! Shared by the `coverage` and `calibrate` examples: the standard plugins loaded from the
//! profile directory, and default-parameter estimates of every estimator on exact fGn.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use lrdbench_host::plugin::{load_plugin, Catalog, ComponentHandle};
use lrdbench_numerics::bootstrap::stream_seed;
use lrdbench_numerics::fgn::DaviesHarte;
use lrdbench_plugin_api::{ComponentKind, Estimate, Param};

/// The standard estimator plugins, by library name.
pub const PLUGINS: [&str; 5] = [
    "lrdbench_plugin_temporal",
    "lrdbench_plugin_geometric",
    "lrdbench_plugin_spectral",
    "lrdbench_plugin_wavelet",
    "lrdbench_plugin_multifractal",
];

/// `target/<profile>`: the example runs from `target/<profile>/examples/`.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    exe.parent()
        .and_then(Path::parent)
        .expect("profile dir")
        .to_path_buf()
}

/// Loads the standard estimator plugins of this build profile.
pub fn catalog() -> Catalog {
    let mut catalog = Catalog::default();
    for lib in PLUGINS {
        let p = profile_dir().join(format!(
            "{}{lib}{}",
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_SUFFIX
        ));
        let plugin = load_plugin(&p).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run `cargo build --workspace` with the same profile first",
                p.display()
            )
        });
        catalog.add(plugin);
    }
    catalog
}

/// Every estimator of the catalog, optionally only those named in `only`, with its
/// parameters resolved from `given` (defaults otherwise).
pub fn estimators<'a>(
    catalog: &'a Catalog,
    only: Option<&[String]>,
    given: &[Param],
) -> Vec<(ComponentHandle<'a>, Vec<Param>)> {
    catalog
        .components()
        .filter(|c| c.descriptor.kind == ComponentKind::Estimator)
        .filter(|c| only.is_none_or(|o| o.iter().any(|n| n == c.name())))
        .map(|c| {
            let p = c.resolve(given).expect("default parameters resolve");
            (c, p)
        })
        .collect()
}

/// The seed of replicate `r` of the cell (`n`, `h`): independent of the thread that runs it.
pub fn series_seed(base: u64, n: usize, h: f64, r: usize) -> u64 {
    stream_seed(
        stream_seed(base, n as u64) ^ (h * 1e6).round() as u64,
        r as u64,
    )
}

/// Runs every estimator on `reps` exact fGn series of length `n` and Hurst index `h`, on
/// `threads` threads; `out[e][r]` is estimator e's result on replicate r (None on error).
pub fn run_cell(
    ests: &[(ComponentHandle<'_>, Vec<Param>)],
    n: usize,
    h: f64,
    reps: usize,
    threads: usize,
    base_seed: u64,
) -> Vec<Vec<Option<Estimate>>> {
    let plan = DaviesHarte::new(h, n).expect("fGn plan");
    let mut out: Vec<Vec<Option<Estimate>>> = vec![vec![None; reps]; ests.len()];
    let results: Vec<Vec<(usize, usize, Option<Estimate>)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let plan = &plan;
                s.spawn(move || {
                    let mut local = Vec::new();
                    for r in (t..reps).step_by(threads) {
                        let x = plan.sample(series_seed(base_seed, n, h, r));
                        for (e, (c, p)) in ests.iter().enumerate() {
                            local.push((e, r, c.estimate(&x, p).ok()));
                        }
                    }
                    local
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("worker"))
            .collect()
    });
    for (e, r, v) in results.into_iter().flatten() {
        out[e][r] = v;
    }
    out
}

/// Mean and sample standard deviation.
pub fn mean_sd(v: &[f64]) -> (f64, f64) {
    let m = v.len() as f64;
    let mean = v.iter().sum::<f64>() / m;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (m - 1.0);
    (mean, var.sqrt())
}

/// A comma-separated list argument `--name a,b,c`.
pub fn list_arg<T: std::str::FromStr>(args: &[String], name: &str) -> Option<Vec<T>> {
    let i = args.iter().position(|a| a == name)?;
    let v = args.get(i + 1).expect("a value after the flag");
    Some(
        v.split(',')
            .map(|s| s.trim().parse().ok().expect("a valid list element"))
            .collect(),
    )
}

/// Runs every estimator on `reps` series made by `make(seed of replicate r)`, on `threads`
/// threads; `out[e][r]` is estimator e's result on replicate r (None on error or when the
/// series could not be made).
pub fn run_series(
    ests: &[(ComponentHandle<'_>, Vec<Param>)],
    reps: usize,
    threads: usize,
    seed_of: impl Fn(usize) -> u64 + Sync,
    make: impl Fn(u64) -> Option<Vec<f64>> + Sync,
) -> Vec<Vec<Option<Estimate>>> {
    let mut out: Vec<Vec<Option<Estimate>>> = vec![vec![None; reps]; ests.len()];
    let results: Vec<Vec<(usize, usize, Option<Estimate>)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (make, seed_of) = (&make, &seed_of);
                s.spawn(move || {
                    let mut local = Vec::new();
                    for r in (t..reps).step_by(threads) {
                        let Some(x) = make(seed_of(r)) else { continue };
                        for (e, (c, p)) in ests.iter().enumerate() {
                            local.push((e, r, c.estimate(&x, p).ok()));
                        }
                    }
                    local
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("worker"))
            .collect()
    });
    for (e, r, v) in results.into_iter().flatten() {
        out[e][r] = v;
    }
    out
}
