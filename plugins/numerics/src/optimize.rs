//! One-dimensional optimisation for likelihood estimators.
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
    let valid = a < b && tol > 0.0;
    if !valid {
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
    for iteration in 0..200 {
        let m = 0.5 * (a + b);
        let tol1 = 1e-12 * x.abs() + tol / 3.0;
        let tol2 = 2.0 * tol1;
        if (x - m).abs() <= tol2 - 0.5 * (b - a) {
            let at_bound = (x - lo0).abs() <= 2.0 * tol || (hi0 - x).abs() <= 2.0 * tol;
            return Ok(Minimum {
                x,
                value: fx,
                evaluations: iteration + 1,
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
    let valid = a < b && tol > 0.0;
    if !valid {
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn brent_finds_interior_and_boundary_minima() {
        let m = brent_min(|x| Ok((x - 2.0).powi(2)), 0.0, 1.0, 1e-9).unwrap();
        assert!(m.at_bound && (m.x - 1.0).abs() < 1e-8);
        let m = brent_min(|x| Ok(x.cos()), 2.0, 4.0, 1e-10).unwrap();
        assert!((m.x - std::f64::consts::PI).abs() < 1e-8 && !m.at_bound);
        assert!(brent_min(Ok, 1.0, 0.0, 1e-9).is_err());
    }

    #[test]
    fn newton_root_reports_one_signed_derivative_as_bound() {
        let r = newton_root(|x| Ok((x + 5.0, 1.0)), 0.0, 1.0, 1e-12).unwrap();
        assert!(r.at_bound && r.x == 0.0);
    }
}
