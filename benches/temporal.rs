//! Speed of the temporal estimators (point estimate with the
//! default parameters, through each plugin's registry, i.e. the call the host makes minus the
//! ABI hop) at n = 4096, 65536 and 2^20, and of a 200-replicate bootstrap interval for `dfa`.
//!
//! Peer times (lrdbench 2.0) at the same n are in `docs/peer-measurements.md`, section 3a.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/registry.rs"]
mod registry;

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use lrdbench_plugin_api::{Param, ParamValue};
use registry::{index, run};

fn estimators(c: &mut Criterion) {
    let reg = lrdbench_plugin_temporal::lrdbench_registry();
    registry::bench_point_estimates(c, reg, &["rs", "dfa", "dma", "aggvar", "absmom", "varres"]);
}

fn bootstrap(c: &mut Criterion) {
    let reg = lrdbench_plugin_temporal::lrdbench_registry();
    let idx = index(reg, "dfa");
    let x = lrdbench_numerics::fgn::fgn(0.7, 4096, 2).expect("fgn");
    let params = [
        Param {
            name: "ci".into(),
            value: ParamValue::Str("bootstrap".into()),
        },
        Param {
            name: "replicates".into(),
            value: ParamValue::Int(200),
        },
    ];
    let mut g = c.benchmark_group("dfa_bootstrap_200");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_secs(2));
    g.bench_function("4096", |b| b.iter(|| black_box(run(reg, idx, &x, &params))));
    g.finish();
}

/// What the calibrated default interval costs over the regression interval it replaces: `dfa`
/// and `aggvar` at n = 4,096 with `ci = auto` (table look-up and belt inversion) and
/// `ci = asymptotic` (the regression t-interval, the interval before calibration), both with
/// the parameters given, so both pay the same resolution.
fn interval_cost(c: &mut Criterion) {
    let reg = lrdbench_plugin_temporal::lrdbench_registry();
    let x = lrdbench_numerics::fgn::fgn(0.7, 4096, 3).expect("fgn");
    let mut g = c.benchmark_group("interval_cost_4096");
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for name in ["dfa", "aggvar"] {
        let idx = index(reg, name);
        for ci in ["auto", "asymptotic"] {
            let params = [Param {
                name: "ci".into(),
                value: ParamValue::Str(ci.into()),
            }];
            g.bench_function(format!("{name}/{ci}"), |b| {
                b.iter(|| black_box(run(reg, idx, &x, &params)))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, estimators, bootstrap, interval_cost);
criterion_main!(benches);
