//! Validation on exact fGn of known H: accuracy against the peer table, coverage of the
//! asymptotic 95% intervals, and the absence of low-H boundary bias at large n.
//!
//! Protocol of docs/peer-measurements.md: exact (Davies–Harte) fGn, n = 4096,
//! H ∈ {0.2, 0.3, 0.5, 0.7, 0.8, 0.9}; 100 fixed seeds per H (the peers used 20), so the MAE
//! carries a sampling error of about 2% of itself.

#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is the assertion.

use lrdbench_test_kit as fgn_grid;

use lrdbench_plugin_wavelet::lrdbench_registry;

use lrdbench_numerics::fgn::DaviesHarte;
use lrdbench_plugin_api::PluginError;
use lrdbench_plugin_wavelet::kernel::{wavelet_av, wavelet_whittle, Correction, WaveletEstimate};

const HS: [f64; 6] = [0.2, 0.3, 0.5, 0.7, 0.8, 0.9];
const N: usize = 4096;
const SEEDS: u64 = 100;

struct Summary {
    mae: f64,
    coverage: f64,
}

fn run(name: &str, kernel: impl Fn(&[f64]) -> Result<WaveletEstimate, PluginError>) -> Summary {
    let (mut abs, mut covered, mut count) = (0.0, 0usize, 0usize);
    let mut bias = Vec::new();
    for h in HS {
        let model = DaviesHarte::new(h, N).unwrap();
        let mut b = 0.0;
        for s in 0..SEEDS {
            let x = model.sample(10_000 * (h * 10.0).round() as u64 + s);
            let e = kernel(&x).unwrap();
            assert!(e.h.is_finite() && e.stderr.is_finite() && e.stderr > 0.0);
            abs += (e.h - h).abs();
            b += e.h - h;
            // 1.959964 = Φ⁻¹(0.975).
            if (e.h - h).abs() <= 1.959_964 * e.stderr {
                covered += 1;
            }
            count += 1;
        }
        bias.push(format!("{:+.4}", b / SEEDS as f64));
    }
    let s = Summary {
        mae: abs / count as f64,
        coverage: covered as f64 / count as f64,
    };
    eprintln!(
        "{name}: MAE {:.4}, coverage {:.3}, bias per H {bias:?}",
        s.mae, s.coverage
    );
    s
}

/// Coverage over 600 intervals: at a true 95% the sampling sd is √(0.95·0.05/600) = 0.009, so
/// [0.90, 0.99] is more than 4 sd either side of 0.95 and a failure means miscalibration.
fn assert_coverage(name: &str, c: f64) {
    assert!((0.90..=0.99).contains(&c), "{name}: coverage {c}");
}

#[test]
fn wavelet_av_beats_peer_mae_with_calibrated_intervals() {
    let s = run("wavelet_av", |x| {
        wavelet_av::wavelet_av(x, &wavelet_av::Config::new(4))
    });
    // Peer: lrdbench WaveletBardet, MAE 0.026 (docs/peer-measurements.md §2).
    assert!(s.mae <= 0.026, "MAE {}", s.mae);
    assert_coverage("wavelet_av", s.coverage);
}

#[test]
fn wavelet_av_without_correction_still_beats_peer_from_octave_3() {
    let cfg = wavelet_av::Config {
        order: 4,
        j_min: 3,
        j_max: usize::MAX,
        correction: Correction::None,
    };
    let s = run("wavelet_av[none, j_min 3]", |x| {
        wavelet_av::wavelet_av(x, &cfg)
    });
    // The plain diagram measures 0.027 here, slightly above WaveletBardet's 0.026: its fine-
    // octave curvature costs −0.04 at H = 0.2. The bound is the original AV peer's 0.057
    // (WaveletAbryVeitch, docs/peer-measurements.md §2), which it beats by half.
    assert!(s.mae <= 0.057, "MAE {}", s.mae);
    assert_coverage("wavelet_av[none]", s.coverage);
}

#[test]
fn wavelet_whittle_beats_peer_mae() {
    let s = run("wavelet_whittle", |x| {
        wavelet_whittle::wavelet_whittle(x, &wavelet_whittle::Config::new(4))
    });
    // Peer: lrdbench WaveletWhittle, MAE 0.032 (docs/peer-measurements.md §2).
    assert!(s.mae <= 0.032, "MAE {}", s.mae);
    assert_coverage("wavelet_whittle", s.coverage);
}

#[test]
fn low_h_is_not_biased_upward_at_large_n() {
    // The peer's symmetric-boundary handling reads H = 0.2 as 0.45 at n = 65536 and 0.61 at
    // 2^20 (docs/peer-measurements.md, quirks). Boundary-free coefficients must not move it up.
    // With the fGn correction the estimate must be unbiased: over 10 seeds the mean's sd is
    // ≈ 0.004/√10, so |bias| < 0.01 is a margin of 8 sd. The plain diagram (j_min = 3) has no
    // boundary bias either, but fGn's fine-octave curvature pulls it down (0.162 measured at
    // n = 65536, where octaves 3–4 dominate the weights); that is asserted as "not above 0.21".
    for n in [65_536usize, 1 << 20] {
        let model = DaviesHarte::new(0.2, n).unwrap();
        let seeds = if n > 100_000 { 2 } else { 10 };
        for (name, correction, j_min) in [
            ("fgn", Correction::FgnExact, 1),
            ("none", Correction::None, 3),
        ] {
            let (mut av, mut ww) = (0.0, 0.0);
            for s in 0..seeds {
                let x = model.sample(77 + s);
                let a = wavelet_av::Config {
                    order: 4,
                    j_min,
                    j_max: usize::MAX,
                    correction,
                };
                let w = wavelet_whittle::Config {
                    order: 4,
                    j_min,
                    j_max: usize::MAX,
                    correction,
                };
                av += wavelet_av::wavelet_av(&x, &a).unwrap().h;
                ww += wavelet_whittle::wavelet_whittle(&x, &w).unwrap().h;
            }
            let (av, ww) = (av / seeds as f64, ww / seeds as f64);
            eprintln!("n = {n}, correction {name}: wavelet_av {av:.4}, wavelet_whittle {ww:.4}");
            if correction == Correction::FgnExact {
                assert!(
                    (av - 0.2).abs() < 0.01,
                    "n={n} {name}: wavelet_av mean {av}"
                );
                assert!(
                    (ww - 0.2).abs() < 0.01,
                    "n={n} {name}: wavelet_whittle mean {ww}"
                );
            } else {
                assert!(av < 0.21 && ww < 0.21, "n={n} {name}: {av}, {ww}");
            }
        }
    }
}

/// The default interval is calibrated (see `fgn_grid::assert_calibrated` for the tolerances).
#[test]
fn default_intervals_are_calibrated_on_fgn() {
    fgn_grid::assert_calibrated(lrdbench_registry(), "wavelet_av");
    fgn_grid::assert_calibrated(lrdbench_registry(), "wavelet_whittle");
}
