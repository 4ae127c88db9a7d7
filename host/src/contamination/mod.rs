//! Contaminations: named, deterministic transforms of a series (trends, outliers, shifts, heavy
//! tails, periodic components, added noise, gaps) that the host applies between generation and
//! estimation, to see how estimators cope with imperfect data.
//!
//! They live in the host, not in plugins: each is a few lines of arithmetic that must behave the
//! same for every workflow, and the host is the one place that sees both the generated series
//! and the estimator calls. Their schemas are ordinary [`ParamSpec`]s, checked by
//! [`lrdbench_plugin_api::params::resolve`], so they validate exactly like plugin parameters.
//!
//! Scales are relative to the series: "× std" means the standard deviation of the series as it
//! was before the contamination was applied. Random choices come from the portable ChaCha8
//! stream of [`lrdbench_numerics::rng`], on a stream number of their own, so the same seed
//! gives the same contamination everywhere and it never correlates with the model's draws.
//!
//! # Gaps (`missing`)
//!
//! With `fill = "nan"` (the default) missing points are NaN, and every standard estimator
//! rejects a series with NaN as `invalid_input`: gaps are never silently skipped. With
//! `fill = "linear"` each gap is filled by linear interpolation between the nearest observed
//! neighbours (a gap at either end takes the nearest observed value); with `fill = "previous"`
//! the last observed value is carried forward (a leading gap takes the first observed value).
//! Both fills change the series' correlations, which is what a robustness study measures.
//!
//! # Example
//!
//! ```
//! use lrdbench_host::contamination;
//! use lrdbench_plugin_api::{Param, ParamValue};
//!
//! let resolved = contamination::resolve(
//!     "outliers",
//!     &[Param { name: "rate".into(), value: ParamValue::Float(0.1) }],
//! ).unwrap();
//! let mut x: Vec<f64> = (0..1000).map(|i| (i as f64 * 0.1).sin()).collect();
//! contamination::apply("outliers", &resolved, &mut x, 42).unwrap();
//! ```

use std::f64::consts::PI;

use lrdbench_numerics::rng::NormalStream;
use lrdbench_plugin_api::params::{self, ParamError};
use lrdbench_plugin_api::sdk::param;
use lrdbench_plugin_api::{Param, ParamSpec, ParamValue};

/// A contamination's name, purpose and parameter schema.
#[derive(Debug, Clone)]
pub struct ContaminationDescriptor {
    /// The name users type, e.g. `outliers`.
    pub name: &'static str,
    /// One line on what it does.
    pub description: &'static str,
    /// The parameter schema.
    pub params: Vec<ParamSpec>,
}

/// Why a contamination could not be applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ContaminationError {
    /// No contamination has this name.
    #[error("unknown contamination `{name}` (valid: {})", valid.join(", "))]
    Unknown {
        /// The name given.
        name: String,
        /// The valid names.
        valid: Vec<String>,
    },
    /// A parameter does not fit the schema.
    #[error("contamination `{name}`: {error}")]
    Param {
        /// The contamination.
        name: String,
        /// What is wrong.
        error: ParamError,
    },
    /// The series cannot take this contamination (empty, constant, all missing).
    #[error("contamination `{name}`: {message}")]
    InvalidInput {
        /// The contamination.
        name: String,
        /// What is wrong.
        message: String,
    },
}

/// Every contamination, in a fixed order (the order also fixes each one's random stream).
pub fn catalog() -> Vec<ContaminationDescriptor> {
    vec![
        ContaminationDescriptor {
            name: "trend",
            description: "adds strength x std x u^order, u = t/(n-1) from 0 to 1",
            params: vec![
                param::int("order", 1, "polynomial order")
                    .bounds(1.0, 3.0)
                    .build(),
                param::float("strength", 1.0, "rise over the series, x std")
                    .min(0.0)
                    .build(),
            ],
        },
        ContaminationDescriptor {
            name: "outliers",
            description: "adds +-amplitude x std to each point with probability rate",
            params: vec![
                param::float("rate", 0.01, "probability of an outlier at each point")
                    .bounds(0.0, 1.0)
                    .build(),
                param::float("amplitude", 5.0, "outlier size, x std")
                    .min(0.0)
                    .build(),
                param::choice(
                    "sign",
                    "both",
                    &["both", "positive", "negative"],
                    "direction",
                )
                .build(),
            ],
        },
        ContaminationDescriptor {
            name: "level_shift",
            description: "adds `count` shifts of +-size x std at seed-chosen positions",
            params: vec![
                param::int("count", 1, "number of shifts")
                    .bounds(1.0, 100.0)
                    .build(),
                param::float("size", 1.0, "shift size, x std")
                    .min(0.0)
                    .build(),
            ],
        },
        ContaminationDescriptor {
            name: "step",
            description: "adds size x std to every point from position x n on",
            params: vec![
                param::float("position", 0.5, "where the step starts, as a fraction of n")
                    .bounds(0.0, 1.0)
                    .build(),
                param::float("size", 1.0, "step size, x std (negative steps down)").build(),
            ],
        },
        ContaminationDescriptor {
            name: "heavy_tail_noise",
            description: "adds scale x std x Student-t(df) noise",
            params: vec![
                param::float("df", 3.0, "degrees of freedom")
                    .min(0.1)
                    .build(),
                param::float("scale", 0.5, "scale of the t draws, x std")
                    .min(0.0)
                    .build(),
            ],
        },
        ContaminationDescriptor {
            name: "periodic",
            description: "adds amplitude x std x sin(2 pi t / period + phase)",
            params: vec![
                param::float("period", 64.0, "period in samples")
                    .min(2.0)
                    .build(),
                param::float("amplitude", 1.0, "amplitude, x std")
                    .min(0.0)
                    .build(),
                param::float("phase", 0.0, "phase in radians").build(),
            ],
        },
        ContaminationDescriptor {
            name: "white_noise",
            description: "adds Gaussian noise at a signal-to-noise power ratio snr",
            params: vec![param::float(
                "snr",
                4.0,
                "variance of the series / variance of the noise",
            )
            .min(1e-6)
            .build()],
        },
        ContaminationDescriptor {
            name: "missing",
            description: "removes each point with probability rate: NaN, or filled",
            params: vec![
                param::float("rate", 0.02, "probability that a point is missing")
                    .bounds(0.0, 1.0)
                    .build(),
                param::choice(
                    "fill",
                    "nan",
                    &["nan", "linear", "previous"],
                    "nan leaves gaps (estimators reject them); linear or previous fills them",
                )
                .build(),
            ],
        },
    ]
}

/// The names of every contamination.
pub fn names() -> Vec<String> {
    catalog().iter().map(|c| c.name.to_string()).collect()
}

/// The parameter schema of `name`, or `None` for an unknown name.
pub fn schema(name: &str) -> Option<Vec<ParamSpec>> {
    catalog()
        .into_iter()
        .find(|c| c.name == name)
        .map(|c| c.params)
}

/// The descriptor of `name`.
///
/// # Errors
///
/// [`ContaminationError::Unknown`] with the valid names.
pub fn find(name: &str) -> Result<ContaminationDescriptor, ContaminationError> {
    catalog()
        .into_iter()
        .find(|c| c.name == name)
        .ok_or_else(|| ContaminationError::Unknown {
            name: name.to_string(),
            valid: names(),
        })
}

/// Checks `given` against the schema of `name` and fills defaults.
///
/// # Errors
///
/// Unknown contamination, or a parameter error naming the valid range or names.
pub fn resolve(name: &str, given: &[Param]) -> Result<Vec<Param>, ContaminationError> {
    let d = find(name)?;
    params::resolve(&d.params, given).map_err(|error| ContaminationError::Param {
        name: name.to_string(),
        error,
    })
}

/// Resolved parameter values by name (the schema guarantees presence and type).
struct Values<'a>(&'a [Param]);

impl Values<'_> {
    fn get(&self, name: &str) -> Option<&ParamValue> {
        self.0.iter().find(|p| p.name == name).map(|p| &p.value)
    }
    fn float(&self, name: &str, fallback: f64) -> f64 {
        match self.get(name) {
            Some(ParamValue::Float(v)) => *v,
            Some(ParamValue::Int(v)) => *v as f64,
            _ => fallback,
        }
    }
    fn int(&self, name: &str, fallback: i64) -> i64 {
        match self.get(name) {
            Some(ParamValue::Int(v)) => *v,
            _ => fallback,
        }
    }
    fn str<'b>(&'b self, name: &str, fallback: &'b str) -> &'b str {
        match self.get(name) {
            Some(ParamValue::Str(v)) => v.as_str(),
            _ => fallback,
        }
    }
}

/// The random stream of the contamination at `index` in [`catalog`]: "CONT" in the high bits,
/// away from the low stream numbers models use.
fn stream(index: usize) -> u64 {
    0x434F_4E54_0000_0000 | index as u64
}

/// Sample standard deviation (two-pass), over the finite points.
fn std_dev(x: &[f64]) -> f64 {
    let finite = x.iter().filter(|v| v.is_finite());
    let n = finite.clone().count();
    if n < 2 {
        return 0.0;
    }
    let mean = finite.clone().sum::<f64>() / n as f64;
    (finite.map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
}

/// Applies contamination `name` with `resolved` parameters (from [`resolve`]) to `series`, in
/// place, deterministically from `seed`.
///
/// # Errors
///
/// Unknown name; invalid parameters (they are checked again here); an empty series, a
/// constant series for the scale-relative contaminations, or a `missing` fill that leaves no
/// observed point.
pub fn apply(
    name: &str,
    resolved: &[Param],
    series: &mut [f64],
    seed: u64,
) -> Result<(), ContaminationError> {
    let resolved = resolve(name, resolved)?;
    let v = Values(&resolved);
    let index = catalog()
        .iter()
        .position(|c| c.name == name)
        .unwrap_or_default();
    let invalid = |message: &str| ContaminationError::InvalidInput {
        name: name.to_string(),
        message: message.to_string(),
    };
    let n = series.len();
    if n == 0 {
        return Err(invalid("the series is empty"));
    }
    let sd = std_dev(series);
    let needs_scale = !matches!(name, "missing");
    if needs_scale && !(sd > 0.0 && sd.is_finite()) {
        return Err(invalid(
            "the series has no spread (std = 0 or not finite): scales are relative to its std",
        ));
    }
    let mut rng = NormalStream::with_stream(seed, stream(index));
    match name {
        "trend" => trend(series, &v, sd),
        "outliers" => outliers(series, &v, sd, &mut rng),
        "level_shift" => level_shift(series, &v, sd, &mut rng),
        "step" => step(series, &v, sd),
        "heavy_tail_noise" => heavy_tail_noise(series, &v, sd, &mut rng),
        "periodic" => periodic(series, &v, sd),
        "white_noise" => white_noise(series, &v, sd, &mut rng),
        "missing" => missing(series, &v, &mut rng).map_err(invalid)?,
        _ => {
            return Err(ContaminationError::Unknown {
                name: name.to_string(),
                valid: names(),
            })
        }
    }
    Ok(())
}

/// `trend`: a polynomial rise of `strength` × std over the series.
fn trend(series: &mut [f64], v: &Values<'_>, sd: f64) {
    let n = series.len();
    let order = v.int("order", 1) as i32;
    let a = v.float("strength", 1.0) * sd;
    let denom = (n.max(2) - 1) as f64;
    for (t, x) in series.iter_mut().enumerate() {
        *x += a * (t as f64 / denom).powi(order);
    }
}

/// `outliers`: ±`amplitude` × std at each point with probability `rate`.
fn outliers(series: &mut [f64], v: &Values<'_>, sd: f64, rng: &mut NormalStream) {
    let rate = v.float("rate", 0.01);
    let a = v.float("amplitude", 5.0) * sd;
    let sign = v.str("sign", "both");
    for x in series.iter_mut() {
        // Two draws per point whatever happens, so positions do not depend on `sign`.
        let hit = rng.uniform() < rate;
        let up = rng.uniform() < 0.5;
        if hit {
            let s = match sign {
                "positive" => 1.0,
                "negative" => -1.0,
                _ if up => 1.0,
                _ => -1.0,
            };
            *x += s * a;
        }
    }
}

/// `level_shift`: `count` shifts of ±`size` × std at seed-chosen positions.
fn level_shift(series: &mut [f64], v: &Values<'_>, sd: f64, rng: &mut NormalStream) {
    let n = series.len();
    let count = v.int("count", 1).max(1) as usize;
    let size = v.float("size", 1.0) * sd;
    let mut delta = vec![0.0; n + 1];
    for _ in 0..count {
        let at = ((rng.uniform() * n as f64) as usize).min(n - 1);
        let s = if rng.uniform() < 0.5 { size } else { -size };
        delta[at] += s;
    }
    let mut level = 0.0;
    for (x, d) in series.iter_mut().zip(&delta) {
        level += d;
        *x += level;
    }
}

/// `step`: `size` × std added from `position` × n on.
fn step(series: &mut [f64], v: &Values<'_>, sd: f64) {
    let n = series.len();
    let at = ((v.float("position", 0.5) * n as f64).round() as usize).min(n);
    let size = v.float("size", 1.0) * sd;
    series[at..].iter_mut().for_each(|x| *x += size);
}

/// `heavy_tail_noise`: `scale` × std × Student-t(`df`) noise.
fn heavy_tail_noise(series: &mut [f64], v: &Values<'_>, sd: f64, rng: &mut NormalStream) {
    let df = v.float("df", 3.0);
    let scale = v.float("scale", 0.5) * sd;
    for x in series.iter_mut() {
        *x += scale * rng.student_t(df);
    }
}

/// `periodic`: a sine of `amplitude` × std, `period` and `phase`.
fn periodic(series: &mut [f64], v: &Values<'_>, sd: f64) {
    let period = v.float("period", 64.0);
    let amp = v.float("amplitude", 1.0) * sd;
    let phase = v.float("phase", 0.0);
    for (t, x) in series.iter_mut().enumerate() {
        *x += amp * (2.0 * PI * t as f64 / period + phase).sin();
    }
}

/// `white_noise`: Gaussian noise at the signal-to-noise ratio `snr`.
fn white_noise(series: &mut [f64], v: &Values<'_>, sd: f64, rng: &mut NormalStream) {
    let noise_sd = sd / v.float("snr", 4.0).sqrt();
    for x in series.iter_mut() {
        *x += noise_sd * rng.normal();
    }
}

/// `missing`: each point NaN with probability `rate`, then filled as `fill` says.
fn missing(series: &mut [f64], v: &Values<'_>, rng: &mut NormalStream) -> Result<(), &'static str> {
    let rate = v.float("rate", 0.02);
    for x in series.iter_mut() {
        if rng.uniform() < rate {
            *x = f64::NAN;
        }
    }
    match v.str("fill", "nan") {
        "linear" => fill_linear(series)?,
        "previous" => fill_previous(series)?,
        _ => {}
    }
    Ok(())
}

const ALL_MISSING: &str = "every point is missing: nothing to fill from";

/// Fills NaN runs by linear interpolation between the observed neighbours; ends take the
/// nearest observed value.
pub fn fill_linear(x: &mut [f64]) -> Result<(), &'static str> {
    let observed: Vec<usize> = (0..x.len()).filter(|&i| !x[i].is_nan()).collect();
    let (first, last) = match (observed.first(), observed.last()) {
        (Some(&f), Some(&l)) => (f, l),
        _ => return Err(ALL_MISSING),
    };
    let (head, tail) = (x[first], x[last]);
    x[..first].iter_mut().for_each(|v| *v = head);
    x[last + 1..].iter_mut().for_each(|v| *v = tail);
    for w in observed.windows(2) {
        let (a, b) = (w[0], w[1]);
        if b > a + 1 {
            let (ya, yb) = (x[a], x[b]);
            let span = (b - a) as f64;
            for (j, v) in x[a + 1..b].iter_mut().enumerate() {
                *v = ya + (yb - ya) * (j + 1) as f64 / span;
            }
        }
    }
    Ok(())
}

/// Carries the last observed value forward over NaN; a leading gap takes the first observed
/// value.
pub fn fill_previous(x: &mut [f64]) -> Result<(), &'static str> {
    let first = x.iter().position(|v| !v.is_nan()).ok_or(ALL_MISSING)?;
    let mut last = x[first];
    for v in x.iter_mut() {
        if v.is_nan() {
            *v = last;
        } else {
            last = *v;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
