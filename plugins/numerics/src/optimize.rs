//! One-dimensional optimisation for likelihood estimators, and the normal quantile for their
//! confidence intervals.
//!
//! Whittle-type estimators minimise a smooth function of one parameter on an interval:
//! [`brent_min`] needs only values; [`newton_root`] uses a derivative and its slope (convex
//! objectives such as the local Whittle contrast) and keeps a bracket so it cannot diverge.

use lrdbench_plugin_api::PluginError;

/// The result of a bounded one-dimensional minimisation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Minimum {
    /// The minimiser.
    pub x: f64,
    /// The objective there.
    pub value: f64,
    /// Objective evaluations used.
    pub evaluations: usize,
    /// True when the minimiser lies within the tolerance of an end of the interval.
    pub at_bound: bool,
}

/// Minimises `f` on [a, b] by Brent's method (golden section with parabolic steps) to an
/// absolute tolerance `tol` in x.
///
/// # Reference
///
/// Brent (1973), Algorithms for Minimization without Derivatives, ch. 5 (procedure `localmin`).
///
/// # Errors
///
/// `parameter` for a ≥ b or tol ≤ 0; `numerical` if `f` returns a non-finite value at the
/// start point; `non_convergence` after 200 iterations.
///
/// # Examples
///
/// ```
/// use lrdbench_numerics::optimize::brent_min;
/// let m = brent_min(|x| Ok((x - 0.3) * (x - 0.3) + 1.0), 0.0, 1.0, 1e-10).unwrap();
/// assert!((m.x - 0.3).abs() < 1e-8 && !m.at_bound);
/// ```
pub fn brent_min(
    mut f: impl FnMut(f64) -> Result<f64, PluginError>,
    a: f64,
    b: f64,
    tol: f64,
) -> Result<Minimum, PluginError> {
    if !(a < b) || !(tol > 0.0) {
        return Err(PluginError::parameter(format!(
            "brent_min needs a < b and tol > 0, got [{a}, {b}], {tol}"
        )));
    }
    const C: f64 = 0.381_966_011_250_105_1; // (3 − √5)/2
    let (lo0, hi0) = (a, b);
    let (mut a, mut b) = (a, b);
    let mut x = a + C * (b - a);
    let (mut w, mut v) = (x, x);
    let mut fx = f(x)?;
    if !fx.is_finite() {
        return Err(PluginError::numerical(format!(
            "objective is not finite at {x}: {fx}"
        )));
    }
    let (mut fw, mut fv) = (fx, fx);
    let (mut d, mut e) = (0.0f64, 0.0f64);
    let mut evaluations = 1;
    for _ in 0..200 {
        let m = 0.5 * (a + b);
        let tol1 = 1e-12 * x.abs() + tol / 3.0;
        let tol2 = 2.0 * tol1;
        if (x - m).abs() <= tol2 - 0.5 * (b - a) {
            let at_bound = (x - lo0).abs() <= 2.0 * tol || (hi0 - x).abs() <= 2.0 * tol;
            return Ok(Minimum {
                x,
                value: fx,
                evaluations,
                at_bound,
            });
        }
        let mut golden = true;
        if e.abs() > tol1 {
            let r = (x - w) * (fx - fv);
            let mut q = (x - v) * (fx - fw);
            let mut p = (x - v) * q - (x - w) * r;
            q = 2.0 * (q - r);
            if q > 0.0 {
                p = -p;
            }
            q = q.abs();
            if p.abs() < (0.5 * q * e).abs() && p > q * (a - x) && p < q * (b - x) {
                e = d;
                d = p / q;
                let u = x + d;
                if u - a < tol2 || b - u < tol2 {
                    d = if x < m { tol1 } else { -tol1 };
                }
                golden = false;
            }
        }
        if golden {
            e = if x < m { b - x } else { a - x };
            d = C * e;
        }
        let u = if d.abs() >= tol1 {
            x + d
        } else if d > 0.0 {
            x + tol1
        } else {
            x - tol1
        };
        let mut fu = f(u)?;
        evaluations += 1;
        if !fu.is_finite() {
            // Treat a non-finite value as worse than anything seen: the search moves away.
            fu = f64::INFINITY;
        }
        if fu <= fx {
            if u < x {
                b = x;
            } else {
                a = x;
            }
            v = w;
            fv = fw;
            w = x;
            fw = fx;
            x = u;
            fx = fu;
        } else {
            if u < x {
                a = u;
            } else {
                b = u;
            }
            if fu <= fw || w == x {
                v = w;
                fv = fw;
                w = u;
                fw = fu;
            } else if fu <= fv || v == x || v == w {
                v = u;
                fv = fu;
            }
        }
    }
    Err(PluginError::non_convergence(
        "brent minimisation did not converge in 200 iterations",
    ))
}

/// Finds the root of an increasing function g on [a, b] by Newton's method safeguarded by
/// bisection. `g` returns (g(x), g′(x)). When g has one sign on the whole interval the nearer
/// end is returned with `at_bound` set (the minimiser of a convex objective whose derivative
/// is g then lies at that end).
///
/// # Errors
///
/// `parameter` for a ≥ b; `numerical` if g is not finite at an end; `non_convergence` after
/// 100 iterations.
///
/// # Examples
///
/// ```
/// use lrdbench_numerics::optimize::newton_root;
/// let r = newton_root(|x| Ok((x * x * x - 2.0, 3.0 * x * x)), 0.0, 2.0, 1e-14).unwrap();
/// assert!((r.x - 2f64.cbrt()).abs() < 1e-12);
/// ```
pub fn newton_root(
    mut g: impl FnMut(f64) -> Result<(f64, f64), PluginError>,
    a: f64,
    b: f64,
    tol: f64,
) -> Result<Minimum, PluginError> {
    if !(a < b) || !(tol > 0.0) {
        return Err(PluginError::parameter(format!(
            "newton_root needs a < b and tol > 0, got [{a}, {b}], {tol}"
        )));
    }
    let (ga, _) = g(a)?;
    let (gb, _) = g(b)?;
    if !(ga.is_finite() && gb.is_finite()) {
        return Err(PluginError::numerical(
            "derivative is not finite at an end of the interval",
        ));
    }
    if ga >= 0.0 || gb <= 0.0 {
        let x = if ga >= 0.0 { a } else { b };
        return Ok(Minimum {
            x,
            value: if ga >= 0.0 { ga } else { gb },
            evaluations: 2,
            at_bound: true,
        });
    }
    let (mut lo, mut hi) = (a, b);
    let mut x = 0.5 * (a + b);
    let mut evaluations = 2;
    for _ in 0..100 {
        let (gx, dg) = g(x)?;
        evaluations += 1;
        if gx == 0.0 {
            break;
        }
        if gx < 0.0 {
            lo = x;
        } else {
            hi = x;
        }
        let newton = x - gx / dg;
        let next = if dg > 0.0 && newton > lo && newton < hi {
            newton
        } else {
            0.5 * (lo + hi)
        };
        let step = (next - x).abs();
        x = next;
        if step < tol || hi - lo < tol {
            break;
        }
        if evaluations >= 100 {
            return Err(PluginError::non_convergence(
                "newton iteration did not converge in 100 steps",
            ));
        }
    }
    Ok(Minimum {
        x,
        value: 0.0,
        evaluations,
        at_bound: false,
    })
}

/// The standard normal quantile Φ⁻¹(p), 0 < p < 1, by Acklam's rational approximation refined
/// by one Halley step on erfc: about 1e-15 relative.
///
/// # Errors
///
/// `parameter` unless 0 < p < 1.
///
/// # Examples
///
/// ```
/// use lrdbench_numerics::optimize::normal_quantile;
/// assert!((normal_quantile(0.975).unwrap() - 1.959_963_984_540_054).abs() < 1e-12);
/// ```
pub fn normal_quantile(p: f64) -> Result<f64, PluginError> {
    if !(p > 0.0 && p < 1.0) {
        return Err(PluginError::parameter(format!(
            "a normal quantile needs 0 < p < 1, got {p}"
        )));
    }
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const P_LOW: f64 = 0.024_25;
    let tail = |q: f64| {
        let r = (-2.0 * q.ln()).sqrt();
        (((((C[0] * r + C[1]) * r + C[2]) * r + C[3]) * r + C[4]) * r + C[5])
            / ((((D[0] * r + D[1]) * r + D[2]) * r + D[3]) * r + 1.0)
    };
    let mut x = if p < P_LOW {
        tail(p)
    } else if p > 1.0 - P_LOW {
        -tail(1.0 - p)
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    };
    // One Halley step: e = Φ(x) − p, u = e √(2π) e^{x²/2}.
    let e = 0.5 * erfc(-x / std::f64::consts::SQRT_2) - p;
    let u = e * (2.0 * std::f64::consts::PI).sqrt() * (0.5 * x * x).exp();
    x -= u / (1.0 + 0.5 * x * u);
    Ok(x)
}

/// erfc(x) to about 1e-16 relative for x ≥ 0 (and by reflection below), by the continued
/// fraction for large x and the Maclaurin series of erf for small x.
fn erfc(x: f64) -> f64 {
    if x < 0.0 {
        return 2.0 - erfc(-x);
    }
    if x < 2.0 {
        // erf(x) = 2/√π Σ (−1)^k x^{2k+1} / (k! (2k+1)); 60 terms reach 1e-17 at x = 2.
        let mut term = x;
        let mut sum = x;
        let x2 = x * x;
        for k in 1..60 {
            term *= -x2 / k as f64;
            sum += term / (2 * k + 1) as f64;
        }
        1.0 - 2.0 / std::f64::consts::PI.sqrt() * sum
    } else {
        // Lentz evaluation of erfc(x) = e^{−x²}/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + …)))).
        let mut f = x;
        let mut c = x;
        let mut d = 0.0;
        for k in 1..200 {
            let a = k as f64 * 0.5;
            d = x + a * d;
            d = 1.0 / d;
            c = x + a / c;
            let delta = c * d;
            f *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        (-x * x).exp() / (std::f64::consts::PI.sqrt() * f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantile_matches_tables() {
        // Abramowitz & Stegun Table 26.5 / standard values to 15 digits.
        for (p, z) in [
            (0.5, 0.0),
            (0.975, 1.959_963_984_540_054),
            (0.95, 1.644_853_626_951_472_2),
            (0.995, 2.575_829_303_548_900_4),
            (0.001, -3.090_232_306_167_813_6),
            (1e-10, -6.361_340_902_404_056),
        ] {
            let q = normal_quantile(p).unwrap();
            assert!(
                (q - z).abs() <= 1e-12 * z.abs().max(1.0),
                "p={p}: {q} vs {z}"
            );
        }
        assert!(normal_quantile(0.0).is_err() && normal_quantile(1.0).is_err());
    }

    #[test]
    fn erfc_matches_known_values() {
        // erfc(0.5) = 0.4795001221869535, erfc(3) = 2.209049699858544e-5 (A&S Table 7.1).
        assert!((erfc(0.5) - 0.479_500_122_186_953_5).abs() < 1e-15);
        assert!(((erfc(3.0) - 2.209_049_699_858_544e-5) / 2.209e-5).abs() < 1e-13);
    }

    #[test]
    fn brent_finds_interior_and_boundary_minima() {
        let m = brent_min(|x| Ok((x - 2.0).powi(2)), 0.0, 1.0, 1e-9).unwrap();
        assert!(m.at_bound && (m.x - 1.0).abs() < 1e-8);
        let m = brent_min(|x| Ok(x.cos()), 2.0, 4.0, 1e-10).unwrap();
        assert!((m.x - std::f64::consts::PI).abs() < 1e-8 && !m.at_bound);
        assert!(brent_min(|x| Ok(x), 1.0, 0.0, 1e-9).is_err());
    }

    #[test]
    fn newton_root_reports_one_signed_derivative_as_bound() {
        let r = newton_root(|x| Ok((x + 5.0, 1.0)), 0.0, 1.0, 1e-12).unwrap();
        assert!(r.at_bound && r.x == 0.0);
    }
}
