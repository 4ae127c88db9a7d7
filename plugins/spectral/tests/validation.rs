//! Validation on exact fGn of known H: accuracy against the peer table, coverage of the
//! asymptotic 95% intervals, and typed errors on bad input.
//!
//! Protocol of docs/peer-measurements.md: exact (Davies–Harte) fGn, n = 4096,
//! H ∈ {0.2, 0.3, 0.5, 0.7, 0.8, 0.9}. We use 100 fixed seeds per H (the peers used 20), so the
//! MAE carries a sampling error of about 0.6·sd/√600 ≈ 2% of itself instead of 5%.

#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is the assertion.

use lrdbench_test_kit as fgn_grid;

use lrdbench_plugin_spectral::lrdbench_registry;

use lrdbench_numerics::fgn::DaviesHarte;
use lrdbench_plugin_api::PluginError;
use lrdbench_plugin_spectral::kernel::{
    gph, local_whittle, periodogram, whittle, Bandwidth, SpectralEstimate,
};

const HS: [f64; 6] = [0.2, 0.3, 0.5, 0.7, 0.8, 0.9];
const N: usize = 4096;
const SEEDS: u64 = 100;

struct Summary {
    mae: f64,
    coverage: f64,
    bias: Vec<f64>,
}

fn run(name: &str, kernel: impl Fn(&[f64]) -> Result<SpectralEstimate, PluginError>) -> Summary {
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
        bias.push(b / SEEDS as f64);
    }
    let s = Summary {
        mae: abs / count as f64,
        coverage: covered as f64 / count as f64,
        bias,
    };
    eprintln!(
        "{name}: MAE {:.4}, coverage {:.3}, bias per H {:?}",
        s.mae,
        s.coverage,
        s.bias
            .iter()
            .map(|b| format!("{b:+.4}"))
            .collect::<Vec<_>>()
    );
    s
}

/// Coverage over 600 intervals: at a true 95% the sampling sd is √(0.95·0.05/600) = 0.009, so
/// [0.90, 0.99] is more than 4 sd either side of 0.95 and a failure means miscalibration.
fn assert_coverage(name: &str, c: f64) {
    assert!((0.90..=0.99).contains(&c), "{name}: coverage {c}");
}

#[test]
fn whittle_beats_peer_mae_with_calibrated_intervals() {
    let s = run("whittle", |x| {
        whittle::whittle(x, &whittle::Config { tolerance: 1e-7 })
    });
    // Peer: lrdbench WhittleMLE, MAE 0.023 (docs/peer-measurements.md §2).
    assert!(s.mae <= 0.023, "MAE {}", s.mae);
    assert_coverage("whittle", s.coverage);
}

#[test]
fn local_whittle_beats_peer_mae_with_calibrated_intervals() {
    let cfg = local_whittle::Config {
        bandwidth: Bandwidth::Exponent(0.65),
    };
    let s = run("local_whittle", |x| local_whittle::local_whittle(x, &cfg));
    // Peer: lrdbench ModifiedLocalWhittle, MAE 0.044 (docs/peer-measurements.md §2).
    assert!(s.mae <= 0.044, "MAE {}", s.mae);
    assert_coverage("local_whittle", s.coverage);
}

#[test]
fn gph_beats_peer_mae() {
    let cfg = gph::Config {
        bandwidth: Bandwidth::Exponent(0.5),
        pool: 3,
    };
    let s = run("gph", |x| gph::gph(x, &cfg));
    // Peer: lrdbench GPH, MAE 0.070 (docs/peer-measurements.md §2), same m = √n = 64. Unpooled
    // (pool 1) this implementation measures 0.073 on these seeds — the textbook variance
    // π²/(24m) gives 0.8·π/√(24·64) ≈ 0.064 + finite-m excess —, so the default pools J = 3
    // ordinates (Robinson 1995), which cuts the variance by Jψ′(J)/ψ′(1) = 0.72: 0.064 here.
    assert!(s.mae <= 0.070, "MAE {}", s.mae);
}

#[test]
fn periodogram_beats_peer_mae() {
    let cfg = periodogram::Config {
        bandwidth: Bandwidth::Fraction(0.1),
    };
    let s = run("periodogram", |x| periodogram::periodogram(x, &cfg));
    // Peer: lrdbench Periodogram (= its GPH core), MAE 0.070 (docs/peer-measurements.md §2).
    assert!(s.mae <= 0.070, "MAE {}", s.mae);
}

/// The default interval is calibrated (see `fgn_grid::assert_calibrated` for the tolerances).
#[test]
fn default_intervals_are_calibrated_on_fgn() {
    fgn_grid::assert_calibrated(lrdbench_registry(), "periodogram");
    fgn_grid::assert_calibrated(lrdbench_registry(), "gph");
    fgn_grid::assert_calibrated(lrdbench_registry(), "local_whittle");
    fgn_grid::assert_calibrated(lrdbench_registry(), "whittle");
}
