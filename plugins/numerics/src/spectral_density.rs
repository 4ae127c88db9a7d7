//! The exact spectral density of fractional Gaussian noise, to about 1e-14 relative, and a
//! Chebyshev plan that evaluates it at many frequencies for one H in a few flops each.
//!
//! # Formula
//!
//! ```text
//! f(λ; H) = (σ²/π) sin(πH) Γ(2H + 1) (1 − cos λ) B(λ, H),     0 < |λ| ≤ π, σ² = 1
//! B(λ, H) = Σ_{k∈ℤ} |λ + 2πk|^{−2H−1} = |λ|^{−2H−1} + R(λ, H)
//! R(λ, H) = Σ_{k≥1} (2πk + λ)^{−2H−1} + (2πk − λ)^{−2H−1}
//! ```
//!
//! ∫_{−π}^{π} f = σ² (Sinai 1976; Beran 1994, eq. 2.17). R is even and analytic in λ for
//! |λ| < 2π: terms k = 1..K are summed directly and the two tails k > K by Euler–Maclaurin
//! (Σ_{k≥a} g(k) = ∫_a^∞ g + g(a)/2 − g′(a)/12 + g‴(a)/720 − g⁽⁵⁾(a)/30240 + g⁽⁷⁾(a)/1209600),
//! the refinement of Paxson's (1997) three-term tail approximation to full double precision.
//! With K = 16 the first omitted term is below 1e-15 of B for every H in (0, 1).

use lrdbench_plugin_api::PluginError;
use std::f64::consts::PI;

/// Terms summed directly before the Euler–Maclaurin tail.
const DIRECT_TERMS: usize = 16;
/// Chebyshev terms of [`FgnCorrection`] (and the degree + 1 of [`FgnCorrectionPolys`]): R is analytic in t = (λ/π)² on [0, 1] with its
/// nearest singularity at t = 4, a Bernstein ellipse of ρ = 7 + √48 ≈ 13.9, so 14 terms leave
/// ρ^{−14} ≈ 1e-16 of R times the bound's constant (measured: below 1e-13; the tests check 1e-12).
pub const CHEB_TERMS: usize = 14;

/// Γ(x) for x ≥ 0.5 by the Lanczos approximation (g = 7, 9 terms; Press et al., Numerical
/// Recipes 3rd ed., §6.1), about 1e-15 relative.
pub(crate) fn gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const P: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    let x = x - 1.0;
    let mut a = P[0];
    let t = x + G + 0.5;
    for (i, p) in P.iter().enumerate().skip(1) {
        a += p / (x + i as f64);
    }
    (2.0 * PI).sqrt() * t.powf(x + 0.5) * (-t).exp() * a
}

/// Σ_{k≥a} (2πk + c)^d for d < −1 and 2πa + c ≥ 2π(a − ½), by Euler–Maclaurin.
fn em_tail(a: usize, c: f64, d: f64) -> f64 {
    let w = 2.0 * PI;
    let u = w * a as f64 + c;
    let g = u.powf(d);
    let integral = -u * g / (w * (d + 1.0));
    // g^{(p)}(a) = w^p d(d−1)…(d−p+1) u^{d−p}; build the falling factorials step by step.
    let r = w / u;
    let d1 = d * r * g;
    let d3 = d1 * (d - 1.0) * (d - 2.0) * r * r;
    let d5 = d3 * (d - 3.0) * (d - 4.0) * r * r;
    let d7 = d5 * (d - 5.0) * (d - 6.0) * r * r;
    integral + 0.5 * g - d1 / 12.0 + d3 / 720.0 - d5 / 30_240.0 + d7 / 1_209_600.0
}

/// R(λ, H) (module formula) for 0 ≤ λ ≤ π and 0 < H < 1, without checks.
pub fn fgn_correction_unchecked(lambda: f64, h: f64) -> f64 {
    let d = -2.0 * h - 1.0;
    let w = 2.0 * PI;
    let mut s = 0.0;
    for k in 1..=DIRECT_TERMS {
        let c = w * k as f64;
        s += (c + lambda).powf(d) + (c - lambda).powf(d);
    }
    s + em_tail(DIRECT_TERMS + 1, lambda, d) + em_tail(DIRECT_TERMS + 1, -lambda, d)
}

/// Reduces λ to |λ| in [0, π] using 2π-periodicity and evenness.
fn reduce(lambda: f64) -> f64 {
    let r = lambda.rem_euclid(2.0 * PI);
    if r > PI {
        2.0 * PI - r
    } else {
        r
    }
}

fn check(lambda: f64, h: f64) -> Result<f64, PluginError> {
    if !(h > 0.0 && h < 1.0) {
        return Err(PluginError::parameter(format!(
            "fgn spectral density needs 0 < H < 1, got {h}"
        )));
    }
    if !lambda.is_finite() {
        return Err(PluginError::parameter(format!(
            "frequency must be finite, got {lambda}"
        )));
    }
    let l = reduce(lambda);
    if l == 0.0 {
        return Err(PluginError::parameter(
            "the fgn spectral density is not defined at frequency 0 (mod 2π)",
        ));
    }
    Ok(l)
}

/// B(λ, H) = Σ_k |λ + 2πk|^{−2H−1} (module formula).
///
/// # Errors
///
/// `parameter` unless 0 < H < 1 and λ is finite and not a multiple of 2π.
pub fn fgn_sum(lambda: f64, h: f64) -> Result<f64, PluginError> {
    let l = check(lambda, h)?;
    Ok(l.powf(-2.0 * h - 1.0) + fgn_correction_unchecked(l, h))
}

/// The spectral density f(λ; H) of unit-variance fractional Gaussian noise.
///
/// # Formula
///
/// See the module documentation.
///
/// # Reference
///
/// Sinai (1976), Theory Probab. Appl. 21; Beran (1994), Statistics for Long-Memory Processes,
/// eq. 2.17; tail summation refines Paxson (1997), Comput. Commun. Rev. 27(5).
///
/// # Complexity
///
/// O(1): 34 powers and a short Euler–Maclaurin tail.
///
/// # Accuracy
///
/// About 1e-14 relative for 0 < H < 1 and every λ (checked against a brute-force sum of
/// 4·10⁶ terms in the tests).
///
/// # Errors
///
/// `parameter` unless 0 < H < 1 and λ is finite and not a multiple of 2π.
///
/// # Examples
///
/// ```
/// use lrdbench_numerics::spectral_density::fgn_spectral_density;
/// // H = 1/2 is white noise of unit variance: f = 1/(2π) at every frequency.
/// let f = fgn_spectral_density(1.234, 0.5).unwrap();
/// assert!((f - 1.0 / (2.0 * std::f64::consts::PI)).abs() < 1e-13);
/// ```
pub fn fgn_spectral_density(lambda: f64, h: f64) -> Result<f64, PluginError> {
    let l = check(lambda, h)?;
    let b = l.powf(-2.0 * h - 1.0) + fgn_correction_unchecked(l, h);
    let one_minus_cos = 2.0 * (0.5 * l).sin().powi(2);
    Ok((PI * h).sin() * gamma(2.0 * h + 1.0) / PI * one_minus_cos * b)
}

/// A Chebyshev expansion of R(·, H) for one H, in x = 2(λ/π)² − 1: building it costs 14 exact
/// evaluations, and each later evaluation is 14 multiply–adds (plain ones: without a compile-time
/// FMA target `mul_add` is a library call, ten times slower). The Whittle likelihood
/// evaluates R at every Fourier frequency for each trial H, which this makes cheap.
#[derive(Debug, Clone)]
pub struct FgnCorrection {
    coeffs: [f64; CHEB_TERMS],
}

impl FgnCorrection {
    /// The expansion for `h`.
    ///
    /// # Errors
    ///
    /// `parameter` unless 0 < H < 1.
    pub fn new(h: f64) -> Result<Self, PluginError> {
        if !(h > 0.0 && h < 1.0) {
            return Err(PluginError::parameter(format!(
                "fgn spectral density needs 0 < H < 1, got {h}"
            )));
        }
        let n = CHEB_TERMS;
        let mut values = [0.0; CHEB_TERMS];
        for (k, v) in values.iter_mut().enumerate() {
            let x = (PI * (k as f64 + 0.5) / n as f64).cos();
            let lambda = PI * ((x + 1.0) / 2.0).sqrt();
            *v = fgn_correction_unchecked(lambda, h);
        }
        let mut coeffs = [0.0; CHEB_TERMS];
        for (j, c) in coeffs.iter_mut().enumerate() {
            let s: f64 = values
                .iter()
                .enumerate()
                .map(|(k, v)| v * (PI * j as f64 * (k as f64 + 0.5) / n as f64).cos())
                .sum();
            *c = 2.0 * s / n as f64;
        }
        coeffs[0] *= 0.5;
        Ok(FgnCorrection { coeffs })
    }

    /// The abscissa x = 2(λ/π)² − 1 of frequency λ in [0, π].
    pub fn abscissa(lambda: f64) -> f64 {
        let t = lambda / PI;
        2.0 * t * t - 1.0
    }

    /// R(λ, H) at abscissa x = [`Self::abscissa`]\(λ), by Clenshaw's recurrence.
    #[inline]
    pub fn at_abscissa(&self, x: f64) -> f64 {
        let (mut b1, mut b2) = (0.0, 0.0);
        let x2 = 2.0 * x;
        for &c in self.coeffs[1..].iter().rev() {
            let b0 = x2 * b1 + (c - b2);
            b2 = b1;
            b1 = b0;
        }
        x * b1 + (self.coeffs[0] - b2)
    }
}

/// A value and its first two derivatives in one variable (second-order forward-mode
/// differentiation), for R and its derivatives in d = −2H − 1.
#[derive(Debug, Clone, Copy)]
struct Jet {
    v: f64,
    d1: f64,
    d2: f64,
}

impl Jet {
    fn constant(v: f64) -> Self {
        Jet {
            v,
            d1: 0.0,
            d2: 0.0,
        }
    }

    /// u^d as a function of d, given ln u and u^d.
    fn power(ln_u: f64, value: f64) -> Self {
        Jet {
            v: value,
            d1: ln_u * value,
            d2: ln_u * ln_u * value,
        }
    }

    fn add(self, o: Jet) -> Jet {
        Jet {
            v: self.v + o.v,
            d1: self.d1 + o.d1,
            d2: self.d2 + o.d2,
        }
    }

    fn scale(self, c: f64) -> Jet {
        Jet {
            v: c * self.v,
            d1: c * self.d1,
            d2: c * self.d2,
        }
    }

    fn mul(self, o: Jet) -> Jet {
        Jet {
            v: self.v * o.v,
            d1: self.d1 * o.v + self.v * o.d1,
            d2: self.d2 * o.v + 2.0 * self.d1 * o.d1 + self.v * o.d2,
        }
    }

    /// The variable d itself shifted by `c`: d + c.
    fn shifted_var(d: f64, c: f64) -> Jet {
        Jet {
            v: d + c,
            d1: 1.0,
            d2: 0.0,
        }
    }
}

/// [`em_tail`] with its first two derivatives in d, given u = 2πa + c, ln u and u^d.
fn em_tail_jet(u: f64, ln_u: f64, u_pow_d: f64, d: f64) -> Jet {
    let w = 2.0 * PI;
    let g = Jet::power(ln_u, u_pow_d);
    // ∫_a^∞ (2πk + c)^d dk = −u^{d+1}/(2π(d + 1)); 1/(d + 1) and its derivatives in closed form.
    let inv = 1.0 / (d + 1.0);
    let recip = Jet {
        v: inv,
        d1: -inv * inv,
        d2: 2.0 * inv * inv * inv,
    };
    let integral = g.mul(recip).scale(-u / w);
    let r = w / u;
    let d1 = Jet::shifted_var(d, 0.0).mul(g).scale(r);
    let d3 = d1
        .mul(Jet::shifted_var(d, -1.0))
        .mul(Jet::shifted_var(d, -2.0))
        .scale(r * r);
    let d5 = d3
        .mul(Jet::shifted_var(d, -3.0))
        .mul(Jet::shifted_var(d, -4.0))
        .scale(r * r);
    let d7 = d5
        .mul(Jet::shifted_var(d, -5.0))
        .mul(Jet::shifted_var(d, -6.0))
        .scale(r * r);
    integral
        .add(g.scale(0.5))
        .add(d1.scale(-1.0 / 12.0))
        .add(d3.scale(1.0 / 720.0))
        .add(d5.scale(-1.0 / 30_240.0))
        .add(d7.scale(1.0 / 1_209_600.0))
}

/// Logarithms of the bases 2πk ± λ of R's terms at one λ: k = 1..=16 summed directly, then the
/// two Euler–Maclaurin tail bases at k = 17.
#[derive(Debug, Clone, Copy)]
struct TermLogs {
    direct: [[f64; 2]; DIRECT_TERMS],
    tail: [[f64; 2]; 2],
}

impl TermLogs {
    fn new(lambda: f64) -> Self {
        let w = 2.0 * PI;
        let mut direct = [[0.0; 2]; DIRECT_TERMS];
        for (k, pair) in direct.iter_mut().enumerate() {
            let c = w * (k + 1) as f64;
            *pair = [(c + lambda).ln(), (c - lambda).ln()];
        }
        let u = w * (DIRECT_TERMS + 1) as f64;
        let tail = [
            [u + lambda, (u + lambda).ln()],
            [u - lambda, (u - lambda).ln()],
        ];
        TermLogs { direct, tail }
    }

    /// (R, ∂R/∂H, ∂²R/∂H²) at this λ: the module's sum, each power as exp(d ln u).
    fn correction(&self, h: f64) -> [f64; 3] {
        let d = -2.0 * h - 1.0;
        let mut s = Jet::constant(0.0);
        for pair in &self.direct {
            for &ln_u in pair {
                s = s.add(Jet::power(ln_u, (d * ln_u).exp()));
            }
        }
        for &[u, ln_u] in &self.tail {
            s = s.add(em_tail_jet(u, ln_u, (d * ln_u).exp(), d));
        }
        // ∂/∂H = −2 ∂/∂d.
        [s.v, -2.0 * s.d1, 4.0 * s.d2]
    }
}

/// (R(λ, H), ∂R/∂H, ∂²R/∂H²) for 0 ≤ λ ≤ π and 0 < H < 1, without checks: the same sum and
/// Euler–Maclaurin tail as [`fgn_correction_unchecked`], differentiated term by term
/// (∂(u^d)/∂d = u^d ln u, and the tail's polynomial coefficients in d by the product rule).
pub fn fgn_correction_derivatives_unchecked(lambda: f64, h: f64) -> [f64; 3] {
    TermLogs::new(lambda).correction(h)
}

/// Builds, for any H, polynomial approximations of R(·, H), ∂R/∂H and ∂²R/∂H² on [0, π]
/// ([`FgnCorrectionPolys`]). Everything that does not depend on H — the Chebyshev nodes, the
/// logarithms of the 34 bases 2πk ± λ at each node and the Chebyshev-to-power-basis
/// matrices — is computed once here, so a build costs 14·34 `exp` and two small matrix
/// products: about a microsecond, against 14 `powf`-based evaluations for each of three
/// [`FgnCorrection`]s.
#[derive(Debug, Clone)]
pub struct FgnCorrectionBuilder {
    nodes: [TermLogs; CHEB_TERMS],
    /// cos(πj(k + ½)/K): the discrete cosine transform from node values to Chebyshev
    /// coefficients.
    cosines: [[f64; CHEB_TERMS]; CHEB_TERMS],
    /// Power-basis coefficients of the Chebyshev polynomials: `chebyshev[j][i]` is the
    /// coefficient of x^i in T_j(x).
    chebyshev: [[f64; CHEB_TERMS]; CHEB_TERMS],
}

impl Default for FgnCorrectionBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl FgnCorrectionBuilder {
    /// The H-independent tables (about 500 logarithms and cosines).
    pub fn new() -> Self {
        let n = CHEB_TERMS as f64;
        let nodes = std::array::from_fn(|k| {
            let x = (PI * (k as f64 + 0.5) / n).cos();
            TermLogs::new(PI * ((x + 1.0) / 2.0).sqrt())
        });
        let cosines = std::array::from_fn(|j| {
            std::array::from_fn(|k| (PI * j as f64 * (k as f64 + 0.5) / n).cos())
        });
        let mut chebyshev = [[0.0; CHEB_TERMS]; CHEB_TERMS];
        chebyshev[0][0] = 1.0;
        chebyshev[1][1] = 1.0;
        for j in 2..CHEB_TERMS {
            for i in 0..CHEB_TERMS {
                let up = if i > 0 {
                    2.0 * chebyshev[j - 1][i - 1]
                } else {
                    0.0
                };
                chebyshev[j][i] = up - chebyshev[j - 2][i];
            }
        }
        FgnCorrectionBuilder {
            nodes,
            cosines,
            chebyshev,
        }
    }

    /// The polynomials for `h`.
    ///
    /// # Errors
    ///
    /// `parameter` unless 0 < H < 1.
    pub fn build(&self, h: f64) -> Result<FgnCorrectionPolys, PluginError> {
        self.build_truncated(h, [CHEB_TERMS; 3])
    }

    /// The polynomials for `h`, each component's Chebyshev series cut to `terms[c]` terms
    /// (at most [`CHEB_TERMS`]) before the change to the power basis, whose coefficients of
    /// degree `terms[c]` and above are then zero. Cutting a component's series at K terms
    /// leaves about 13.9^{−K} of it, somewhat more for ∂R/∂H near λ = 0 and H = 1 (the tests
    /// measure 5e-12 for ∂R/∂H at K = 12 and 2e-7 for ∂²R/∂H² at K = 7).
    ///
    /// # Errors
    ///
    /// `parameter` unless 0 < H < 1.
    pub fn build_truncated(
        &self,
        h: f64,
        terms: [usize; 3],
    ) -> Result<FgnCorrectionPolys, PluginError> {
        if !(h > 0.0 && h < 1.0) {
            return Err(PluginError::parameter(format!(
                "fgn spectral density needs 0 < H < 1, got {h}"
            )));
        }
        let values: [[f64; 3]; CHEB_TERMS] = std::array::from_fn(|k| self.nodes[k].correction(h));
        let mut coeffs = [[0.0; CHEB_TERMS]; 3];
        for (component, out) in coeffs.iter_mut().enumerate() {
            // Chebyshev coefficients first: their rounding errors stay of the size of the values
            // (|T_j| ≤ 1) whatever the power-basis coefficients of T_j, so the conversion below
            // adds only errors of the (geometrically decaying) coefficients' own size.
            let mut cheb = [0.0; CHEB_TERMS];
            for (j, c) in cheb.iter_mut().enumerate() {
                let s: f64 = values
                    .iter()
                    .zip(&self.cosines[j])
                    .map(|(v, cs)| v[component] * cs)
                    .sum();
                *c = 2.0 * s / CHEB_TERMS as f64;
            }
            cheb[0] *= 0.5;
            let kept = terms[component].min(CHEB_TERMS);
            for (c, t) in cheb[..kept].iter().zip(&self.chebyshev) {
                for (o, ti) in out.iter_mut().zip(t) {
                    *o += c * ti;
                }
            }
        }
        Ok(FgnCorrectionPolys { coeffs })
    }
}

/// R(·, H), ∂R/∂H and ∂²R/∂H² for one H as polynomials of degree 13 in the abscissa
/// x = 2(λ/π)² − 1 ([`FgnCorrection::abscissa`]): the same interpolants as
/// [`FgnCorrection`] (R is analytic in x with its nearest singularity at x = 7, so the
/// Chebyshev coefficients decay like 13.9^{−j}), in the power basis, where three Horner
/// recurrences cost 13 multiply–adds each. The power basis is well conditioned here: T_j's
/// coefficients grow like (1 + √2)^j, far slower than 13.9^j, so Σ|a_i| stays near |R|.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FgnCorrectionPolys {
    /// Power-basis coefficients, lowest degree first: R, ∂R/∂H, ∂²R/∂H².
    pub coeffs: [[f64; CHEB_TERMS]; 3],
}

impl FgnCorrectionPolys {
    /// (R, ∂R/∂H, ∂²R/∂H²) at abscissa x, by Horner's rule.
    #[inline]
    pub fn at_abscissa(&self, x: f64) -> [f64; 3] {
        let [c0, c1, c2] = &self.coeffs;
        let (mut r0, mut r1, mut r2) = (c0[CHEB_TERMS - 1], c1[CHEB_TERMS - 1], c2[CHEB_TERMS - 1]);
        for i in (0..CHEB_TERMS - 1).rev() {
            r0 = r0 * x + c0[i];
            r1 = r1 * x + c1[i];
            r2 = r2 * x + c2[i];
        }
        [r0, r1, r2]
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// B(λ, H) by brute force: 2·10⁶ terms on each side, the remainder by the midpoint-rule
    /// integral Σ_{k>K} g(k) ≈ ∫_{K+½}^∞ g, whose error ≈ g″(K)/24 ~ 1e-20 here. Nothing is
    /// shared with the Euler–Maclaurin path but the summand.
    fn brute(lambda: f64, h: f64) -> f64 {
        let d = -2.0 * h - 1.0;
        let w = 2.0 * PI;
        let k_max = 2_000_000usize;
        let mut s = lambda.abs().powf(d);
        // Sum small terms first to keep the rounding error of 4·10⁶ additions near 1e-16.
        for k in (1..=k_max).rev() {
            let c = w * k as f64;
            s += (c + lambda).powf(d) + (c - lambda).powf(d);
        }
        let tail = |c: f64| {
            let u = w * (k_max as f64 + 0.5) + c;
            -u.powf(d + 1.0) / (w * (d + 1.0))
        };
        s + tail(lambda) + tail(-lambda)
    }

    #[test]
    fn fgn_sum_matches_brute_force_to_1e9_relative() {
        for h in [0.05, 0.2, 0.5, 0.7, 0.95] {
            for lambda in [1e-4, 0.01, 0.5, 1.7, 3.0, PI] {
                let fast = fgn_sum(lambda, h).unwrap();
                let slow = brute(lambda, h);
                assert!(
                    ((fast - slow) / slow).abs() < 1e-9,
                    "H={h} λ={lambda}: {fast} vs {slow}"
                );
            }
        }
    }

    #[test]
    fn fgn_density_half_is_white_noise() {
        // Identity Σ_k (λ + 2πk)^{−2} = 1/(4 sin²(λ/2)) makes f = 1/(2π) exactly at H = ½.
        for lambda in [0.001, 0.3, 2.0, PI, -1.0, 7.0] {
            let f = fgn_spectral_density(lambda, 0.5).unwrap();
            assert!((f * 2.0 * PI - 1.0).abs() < 1e-13, "λ={lambda}: {f}");
        }
    }

    #[test]
    fn fgn_density_integrates_to_unit_variance() {
        // ∫_{−π}^{π} f = 1. For H ≤ ½ the integrand is bounded; Gauss–Legendre in the variable
        // λ = π s² (which smooths the λ^{1−2H} cusp at 0) on 64 × 8 panels is accurate to 1e-10.
        for h in [0.2, 0.35, 0.5] {
            let nodes = [
                (-0.960_289_856_497_536_3, 0.101_228_536_290_376_26),
                (-0.796_666_477_413_626_7, 0.222_381_034_453_374_47),
                (-0.525_532_409_916_329, 0.313_706_645_877_887_3),
                (-0.183_434_642_495_649_8, 0.362_683_783_378_362),
                (0.183_434_642_495_649_8, 0.362_683_783_378_362),
                (0.525_532_409_916_329, 0.313_706_645_877_887_3),
                (0.796_666_477_413_626_7, 0.222_381_034_453_374_47),
                (0.960_289_856_497_536_3, 0.101_228_536_290_376_26),
            ];
            let panels = 64;
            let mut total = 0.0;
            for p in 0..panels {
                let (a, b) = (p as f64 / panels as f64, (p + 1) as f64 / panels as f64);
                for (x, w) in nodes {
                    let s = 0.5 * (a + b) + 0.5 * (b - a) * x;
                    let lambda = PI * s * s;
                    let jac = 2.0 * PI * s;
                    total += 0.5 * (b - a) * w * jac * fgn_spectral_density(lambda, h).unwrap();
                }
            }
            assert!((2.0 * total - 1.0).abs() < 1e-9, "H={h}: {}", 2.0 * total);
        }
    }

    #[test]
    fn chebyshev_correction_matches_exact_to_1e12_relative() {
        for h in [0.01, 0.2, 0.5, 0.8, 0.99] {
            let plan = FgnCorrection::new(h).unwrap();
            for i in 0..=200 {
                let lambda = PI * i as f64 / 200.0;
                let exact = fgn_correction_unchecked(lambda, h);
                let fast = plan.at_abscissa(FgnCorrection::abscissa(lambda));
                assert!(
                    ((fast - exact) / exact).abs() < 1e-12,
                    "H={h} λ={lambda}: {fast} vs {exact}"
                );
            }
        }
    }

    /// ∂R/∂H and ∂²R/∂H² by five-point central differences of the direct sum: truncation
    /// δ⁴R⁽⁵⁾/30 and δ⁴R⁽⁶⁾/90, rounding ~ε|R|/δ and ~ε|R|/δ².
    fn difference_derivatives(lambda: f64, h: f64, delta: f64) -> [f64; 2] {
        let r = |e: f64| fgn_correction_unchecked(lambda, h + e);
        let (m2, m1, z, p1, p2) = (r(-2.0 * delta), r(-delta), r(0.0), r(delta), r(2.0 * delta));
        let first = (m2 - 8.0 * m1 + 8.0 * p1 - p2) / (12.0 * delta);
        let second = (-m2 + 16.0 * m1 - 30.0 * z + 16.0 * p1 - p2) / (12.0 * delta * delta);
        [first, second]
    }

    #[test]
    fn correction_derivatives_match_differences_of_the_direct_sum() {
        for h in [0.01, 0.2, 0.5, 0.8, 0.99] {
            // R ~ 1/(2H) near H = 0, whose derivatives scale like 1/H^k: δ = min(2e-3, H/100)
            // keeps the truncation near 4(δ/H)⁴ ≈ 4e-8 relative (measured: 1.6e-6 at H/40,
            // falling 16-fold when δ halves); rounding is ~1e-12 and ~1e-8 of R.
            let delta = 2e-3_f64.min(h / 100.0).min((1.0 - h) / 100.0);
            for lambda in [0.0, 1e-3, 0.7, 2.0, PI] {
                let [v, d1, d2] = fgn_correction_derivatives_unchecked(lambda, h);
                let direct = fgn_correction_unchecked(lambda, h);
                // exp(d ln u) instead of powf: a few ulp per term.
                assert!(((v - direct) / direct).abs() < 1e-14, "H={h} λ={lambda}: R");
                let [f1, f2] = difference_derivatives(lambda, h, delta);
                assert!(
                    ((d1 - f1) / f1).abs() < 1e-7,
                    "H={h} λ={lambda}: {d1} vs {f1}"
                );
                assert!(
                    ((d2 - f2) / f2).abs() < 1e-5,
                    "H={h} λ={lambda}: {d2} vs {f2}"
                );
            }
        }
    }

    #[test]
    fn correction_polys_match_direct_sum_to_1e12_relative() {
        // The bound that matters for the Whittle likelihood: the interpolant's error relative to
        // each exact component over the whole band, at every H of the search interval's edges
        // and inside. The interpolation error is ~13.9^{−14} ≈ 1e-16 of R; what is measured
        // (below 1e-13) is rounding in the nodes' sums and in Horner's rule.
        let builder = FgnCorrectionBuilder::new();
        let mut worst = [0.0f64; 3];
        for h in [0.0005, 0.01, 0.2, 0.5, 0.7, 0.8, 0.99, 0.9995] {
            let polys = builder.build(h).unwrap();
            for i in 0..=400 {
                let lambda = PI * i as f64 / 400.0;
                let exact = fgn_correction_derivatives_unchecked(lambda, h);
                let fast = polys.at_abscissa(FgnCorrection::abscissa(lambda));
                for c in 0..3 {
                    let rel = ((fast[c] - exact[c]) / exact[c]).abs();
                    worst[c] = worst[c].max(rel);
                    assert!(
                        rel < 1e-12,
                        "H={h} λ={lambda} component {c}: {fast:?} vs {exact:?}"
                    );
                }
            }
        }
        eprintln!("worst relative errors of R, R_H, R_HH: {worst:?}");
        // Truncated series: 13.9^{−K} of each component at most λ, more where the weights
        // ln(2πk ± λ) of ∂R/∂H sharpen it (λ = 0, H → 1). Measured worst over H and λ:
        // ∂R/∂H 5e-12 at K = 12, ∂²R/∂H² 2e-7 at K = 7; bounds with a margin.
        let mut worst = [0.0f64; 3];
        for h in [0.0005, 0.3, 0.7, 0.9995] {
            let polys = builder.build_truncated(h, [14, 12, 7]).unwrap();
            assert!(polys.coeffs[1][12..].iter().all(|&c| c == 0.0));
            assert!(polys.coeffs[2][7..].iter().all(|&c| c == 0.0));
            for i in 0..=100 {
                let lambda = PI * i as f64 / 100.0;
                let exact = fgn_correction_derivatives_unchecked(lambda, h);
                let fast = polys.at_abscissa(FgnCorrection::abscissa(lambda));
                for (c, bound) in [1e-12, 2e-11, 1e-6].into_iter().enumerate() {
                    let rel = ((fast[c] - exact[c]) / exact[c]).abs();
                    worst[c] = worst[c].max(rel);
                    assert!(rel < bound, "H={h} λ={lambda} component {c}: {rel:e}");
                }
            }
        }
        eprintln!("truncated [14, 12, 7]: worst relative errors {worst:?}");
    }

    #[test]
    fn gamma_matches_known_values() {
        // Γ(1) = Γ(2) = 1, Γ(3) = 2, Γ(3/2) = √π/2, Γ(5/2) = 3√π/4.
        let sp = PI.sqrt();
        for (x, want) in [
            (1.0, 1.0),
            (2.0, 1.0),
            (3.0, 2.0),
            (1.5, sp / 2.0),
            (2.5, 0.75 * sp),
        ] {
            assert!(((gamma(x) - want) / want).abs() < 1e-14, "Γ({x})");
        }
    }

    #[test]
    fn density_rejects_bad_arguments() {
        assert!(fgn_spectral_density(1.0, 0.0).is_err());
        assert!(fgn_spectral_density(1.0, 1.0).is_err());
        assert!(fgn_spectral_density(0.0, 0.7).is_err());
        assert!(fgn_spectral_density(f64::NAN, 0.7).is_err());
        assert!(FgnCorrection::new(1.5).is_err());
    }
}
