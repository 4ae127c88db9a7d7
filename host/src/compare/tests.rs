//! Known-answer and simulation tests of the comparison. Timings here are synthetic per-cell
//! times fed to the statistics, never wall-clock measurements.

use std::collections::BTreeMap;
use std::path::PathBuf;

use lrdbench_numerics::rng::NormalStream;

use super::stats::{self, Metric, PairedCell, Verdict};
use super::*;

fn cell(index: usize, series: &str, h: f64, length: usize, value: f64, ms: f64) -> CellRecord {
    CellRecord {
        index,
        hash: format!("{index:064x}"),
        series_id: series.to_string(),
        origin: "fgn".into(),
        truth: [("H".to_string(), h)]
            .into_iter()
            .collect::<BTreeMap<_, _>>(),
        length,
        contamination: "clean".into(),
        estimator: "est".into(),
        variant: "est".into(),
        params: String::new(),
        estimand: "H".into(),
        value: Some(value),
        stderr: Some(0.02),
        ci_low: Some(value - 0.04),
        ci_high: Some(value + 0.04),
        ci_level: Some(0.95),
        ci_method: Some("calibrated".into()),
        r_squared: None,
        valid: true,
        error_kind: None,
        error_message: None,
        elapsed_ms: ms,
        warnings: Vec::new(),
    }
}

fn run(id: &str, cells: Vec<CellRecord>) -> Run {
    Run {
        dir: PathBuf::from(id),
        manifest: RunManifest {
            run_id: id.into(),
            status: "complete".into(),
            workflow: "w".into(),
            workflow_sha256: "s".into(),
            seed: 1,
            plugins: Vec::new(),
            cells: cells.len(),
            started: String::new(),
            finished: None,
        },
        cells,
    }
}

/// An estimator's errors on 4 values of H × 5 replicates (20 cells), as an fGn estimator at
/// n = 256 gives them: SD 0.03 and a bias of +0.03, so 84% of the errors are positive and a
/// shift of the estimate by +0.01 raises the MAE by about 0.0075 (+0.01 where the error is
/// positive, −0.01 below −0.01).
fn base_cells(seed: u64) -> Vec<CellRecord> {
    let mut rng = NormalStream::new(seed);
    let mut out = Vec::new();
    for (k, h) in [0.3, 0.5, 0.7, 0.9].into_iter().enumerate() {
        for r in 0..5 {
            let v = h + 0.03 + 0.03 * rng.normal();
            let ms = 2.0 * (1.0 + k as f64) * (0.2 * rng.normal()).exp();
            out.push(cell(out.len(), &format!("fgn[H={h}]/r={r}"), h, 256, v, ms));
        }
    }
    out
}

fn row<'a>(c: &'a Comparison, name: &str) -> &'a RowComparison {
    c.rows.iter().find(|r| r.estimator == name).unwrap()
}

#[test]
fn the_same_results_twice_are_identical() {
    let base = base_cells(7);
    // Same results, other times: still identical (times are not results).
    let mut new = base.clone();
    for c in &mut new {
        c.elapsed_ms *= 1.01;
    }
    let c = compare(&run("a", base), &run("b", new), &Tolerances::default());
    assert!(c.plan.is_empty(), "{:?}", c.plan);
    let r = row(&c, "est");
    assert!(r.identical);
    for m in Metric::PAIRED {
        let ch = r.metric(m).unwrap();
        assert_eq!(ch.verdict, Verdict::Identical, "{m:?}");
        let e = ch.change.unwrap();
        assert_eq!((e.value, e.low, e.high), (0.0, 0.0, 0.0), "{m:?}");
    }
    assert!(super::render::markdown(&c).contains("identical"));
}

/// Welch's unpaired 95% interval of mean(a) − mean(b): what a comparison that ignores the
/// pairing of cells would say.
fn welch(a: &[f64], b: &[f64]) -> (f64, f64) {
    let m = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let var = |v: &[f64]| {
        let mu = m(v);
        v.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / (v.len() - 1) as f64
    };
    let (va, vb) = (var(a) / a.len() as f64, var(b) / b.len() as f64);
    let se = (va + vb).sqrt();
    let df = (va + vb).powi(2) / (va * va / (a.len() - 1) as f64 + vb * vb / (b.len() - 1) as f64);
    let t = lrdbench_dashboard::stats::student_t_quantile(0.975, df).unwrap();
    let d = m(a) - m(b);
    (d - t * se, d + t * se)
}

#[test]
fn a_shift_of_one_hundredth_is_a_paired_mae_regression_that_an_unpaired_test_misses() {
    // 5 replicates per cell. Over 200 simulated pairs of runs, the paired comparison must call
    // the MAE regressed in nearly all: the paired differences have SD ≈ 0.006, so over 20
    // cells the change of 0.0075 is 4.6 standard errors beyond the 0.001 tolerance (power
    // ≈ 1). Welch's unpaired interval on the same absolute errors has SE ≈ 0.027·√(2/20) ≈
    // 0.0085, so it excludes 0 with probability ≈ 0.15. Thresholds: paired ≥ 195/200; unpaired
    // ≤ 100/200 (far beyond its sampling spread of ±5 around 30).
    let (mut paired, mut unpaired) = (0, 0);
    for trial in 0..200 {
        let base = base_cells(1000 + trial);
        let mut new = base.clone();
        for c in &mut new {
            c.value = c.value.map(|v| v + 0.01);
            c.ci_low = c.ci_low.map(|v| v + 0.01);
            c.ci_high = c.ci_high.map(|v| v + 0.01);
        }
        let abs = |v: &[CellRecord]| -> Vec<f64> {
            v.iter()
                .map(|c| (c.value.unwrap() - c.truth["H"]).abs())
                .collect()
        };
        let (lo, _) = welch(&abs(&new), &abs(&base));
        unpaired += usize::from(lo > 0.0);
        let c = compare(&run("a", base), &run("b", new), &Tolerances::default());
        let r = row(&c, "est");
        assert!(!r.identical);
        if r.metric(Metric::Mae).unwrap().verdict == Verdict::Regressed {
            paired += 1;
        }
        if trial == 0 {
            // The first trial, shown: the bias moved by exactly +0.01 in every cell.
            let b = r.metric(Metric::Bias).unwrap().change.unwrap();
            assert!((b.value - 0.01).abs() < 1e-9, "{b:?}");
        }
    }
    assert!(paired >= 195, "paired detected {paired}/200");
    assert!(unpaired <= 100, "unpaired detected {unpaired}/200");
}

/// Per-cell times of 100 cells: costs spread over two orders of magnitude (as lengths do), each
/// timing with log-normal noise σ = 0.10 (the spread of repeated timings of one call on a
/// shared machine) and, in NEW, a machine-load factor of 1 to 1.05 per cell.
fn timed(seed: u64, slowdown: f64) -> Vec<(f64, f64)> {
    let mut rng = NormalStream::new(seed);
    (0..100)
        .map(|i| {
            let cost = 0.1 * 10f64.powf(2.0 * (i as f64) / 100.0);
            let b = cost * (0.10 * rng.normal()).exp();
            let load = 1.0 + 0.05 * rng.uniform();
            let n = slowdown * load * cost * (0.10 * rng.normal()).exp();
            (b, n)
        })
        .collect()
}

#[test]
fn thirty_percent_slower_regresses_and_three_percent_under_noise_does_not() {
    // 200 simulated pairs of runs each. The log ratio of a cell has SD 0.14, so the median of
    // 100 has SD 0.018 and its order-statistic interval spans about ±0.035: at 1.3× (plus the
    // load, mean 2.5%) the interval's lower end sits near ×1.29, 10 SD above the 1.10
    // tolerance; at 1.03× the median sits near ×1.055 and its lower end near ×1.02, 4 SD
    // below it. Regressed means the whole interval lies above the tolerance.
    let tol = Metric::Runtime.default_tolerance();
    for trial in 0..200 {
        let slow = stats::runtime_ratio(&timed(trial, 1.3)).unwrap();
        assert_eq!(
            stats::verdict_of_ratio(slow, tol),
            Verdict::Regressed,
            "{slow:?}"
        );
        let near = stats::runtime_ratio(&timed(10_000 + trial, 1.03)).unwrap();
        assert_eq!(
            stats::verdict_of_ratio(near, tol),
            Verdict::Unchanged,
            "{near:?}"
        );
    }
}

#[test]
fn runtime_rows_get_their_verdict_through_compare() {
    let base = base_cells(3);
    let mut new = base.clone();
    for c in &mut new {
        c.elapsed_ms *= 1.3;
    }
    let c = compare(&run("a", base), &run("b", new), &Tolerances::default());
    let r = row(&c, "est");
    assert!(r.identical, "times are not results");
    let t = r.metric(Metric::Runtime).unwrap();
    assert_eq!(t.verdict, Verdict::Regressed);
    assert!((t.change.unwrap().value - 1.3).abs() < 1e-9);
    assert_eq!(c.regressions(None).count(), 1);
}

#[test]
fn the_paired_bootstrap_interval_covers_the_true_change() {
    // 40 cells whose errors are all positive (1 + 0.1 N), NEW = BASE + 0.005 + 0.02 N: the
    // true MAE change is 0.005. The percentile bootstrap's nominal level is 0.95; at n = 40 it
    // runs slightly low. Over 1,000 trials the coverage's SE is 0.007, so [0.92, 0.975]
    // allows 3 SE above the nominal level and the known small-sample shortfall below.
    let mut rng = NormalStream::new(99);
    let trials = 1000;
    let mut covered = 0;
    for t in 0..trials {
        let cells: Vec<PairedCell> = (0..40)
            .map(|_| {
                let b = 1.0 + 0.1 * rng.normal();
                PairedCell {
                    error: Some((b, b + 0.005 + 0.02 * rng.normal())),
                    width: None,
                    covered: None,
                    valid: (true, true),
                }
            })
            .collect();
        let [mae, ..] = stats::bootstrap(&cells, 0.95, t);
        let e = mae.unwrap();
        covered += usize::from(e.low <= 0.005 && 0.005 <= e.high);
    }
    let coverage = covered as f64 / trials as f64;
    assert!((0.92..=0.975).contains(&coverage), "coverage {coverage}");
}

#[test]
fn mcnemar_matches_the_binomial_tail() {
    // 0 against 5 discordant: 2 × (1/2)^5; 1 against 9: 2 × (1 + 10)/2^10.
    assert!((stats::mcnemar_exact(0, 5) - 0.0625).abs() < 1e-12);
    assert!((stats::mcnemar_exact(9, 1) - 22.0 / 1024.0).abs() < 1e-12);
    assert_eq!(stats::mcnemar_exact(0, 0), 1.0);
    assert_eq!(stats::mcnemar_exact(3, 3), 1.0);
}

#[test]
fn lost_validity_is_a_regression() {
    let base = base_cells(5);
    let mut new = base.clone();
    for c in new.iter_mut().take(8) {
        c.valid = false;
        c.value = None;
        c.error_kind = Some("numerical".into());
    }
    let c = compare(&run("a", base), &run("b", new), &Tolerances::default());
    let v = row(&c, "est").metric(Metric::Validity).unwrap();
    assert_eq!(v.verdict, Verdict::Regressed, "{v:?}");
    assert!(v.p_value.unwrap() < 0.01);
}

#[test]
fn the_plan_difference_names_unmatched_cells_plugins_and_parameters() {
    let mut base = run("a", base_cells(1));
    let mut new = run("b", base_cells(1));
    new.cells.pop();
    for c in &mut new.cells {
        c.params = "shift=0.01".into();
    }
    base.manifest.plugins = vec![PluginInfo {
        name: "p".into(),
        version: "1".into(),
        sha256: "aa".repeat(32),
    }];
    new.manifest.plugins = vec![PluginInfo {
        name: "p".into(),
        version: "1".into(),
        sha256: "bb".repeat(32),
    }];
    let c = compare(&base, &new, &Tolerances::default());
    assert_eq!(c.plan.only_in_base.get("est"), Some(&1));
    assert_eq!(c.plan.matched, 19);
    assert_eq!(c.plan.plugins.len(), 1, "{:?}", c.plan.plugins);
    assert_eq!(c.plan.parameters, vec!["est:  → shift=0.01".to_string()]);
    assert!(!row(&c, "est").identical, "an unmatched cell is a change");
}

#[test]
fn tolerances_and_fail_on_parse_or_say_what_is_wrong() {
    let t = Tolerances::parse("mae=0.002, runtime=1.25").unwrap();
    assert_eq!(t.of(Metric::Mae), 0.002);
    assert_eq!(t.of(Metric::Runtime), 1.25);
    assert_eq!(t.of(Metric::Rmse), Metric::Rmse.default_tolerance());
    for bad in ["mae", "speed=2", "mae=x", "runtime=0.9", "mae=-1"] {
        assert!(Tolerances::parse(bad).is_err(), "{bad}");
    }
    let f = parse_fail_on("accuracy,runtime").unwrap();
    assert!(f.contains(&Metric::Mae) && f.contains(&Metric::Runtime));
    assert!(!f.contains(&Metric::Coverage));
    assert!(parse_fail_on("speed").is_err());
}

#[test]
fn latest_and_previous_are_the_newest_complete_runs() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, workflow: &str, status: &str, finished: &str| {
        let d = dir.path().join(name);
        std::fs::create_dir(&d).unwrap();
        let m = serde_json::json!({
            "run_id": name, "status": status, "workflow": workflow,
            "started": "2026-01-01T00:00:00Z", "finished": finished,
        });
        std::fs::write(d.join("manifest.json"), m.to_string()).unwrap();
    };
    write("r1", "w", "complete", "2026-01-01T00:00:01Z");
    write("r2", "w", "complete", "2026-01-01T00:00:02Z");
    write("r3", "w", "interrupted", "2026-01-01T00:00:03Z");
    write("x1", "other", "complete", "2026-01-01T00:00:04Z");
    let latest = locate::resolve("latest", dir.path(), Some("w")).unwrap();
    let previous = locate::resolve("previous", dir.path(), Some("w")).unwrap();
    assert!(latest.ends_with("r2") && previous.ends_with("r1"));
    let e = locate::resolve("latest", dir.path(), None).unwrap_err();
    assert!(e.to_string().contains("several workflows"), "{e}");
    let e = locate::resolve("previous", dir.path(), Some("other")).unwrap_err();
    assert!(e.to_string().contains("1 complete run(s)"), "{e}");
    let prev = locate::previous_of(dir.path(), "w", &dir.path().join("r2")).unwrap();
    assert!(prev.ends_with("r1"));
}
