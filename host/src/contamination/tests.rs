//! Each contamination against what its definition says it adds.
#![allow(clippy::unwrap_used)]

use super::*;

fn base(n: usize) -> Vec<f64> {
    let mut x = vec![0.0; n];
    NormalStream::new(99).fill_normal(&mut x);
    x
}

fn p(name: &str, value: ParamValue) -> Param {
    Param {
        name: name.into(),
        value,
    }
}

/// Applies `name` with `given` to `x` and returns (contaminated, added = new − old, std).
fn run(name: &str, given: &[Param], x: &[f64], seed: u64) -> (Vec<f64>, Vec<f64>, f64) {
    let resolved = resolve(name, given).unwrap();
    let mut y = x.to_vec();
    apply(name, &resolved, &mut y, seed).unwrap();
    let added = y.iter().zip(x).map(|(a, b)| a - b).collect();
    (y, added, std_dev(x))
}

#[test]
fn catalog_has_every_documented_contamination_with_valid_defaults() {
    let want = [
        "trend",
        "outliers",
        "level_shift",
        "step",
        "heavy_tail_noise",
        "periodic",
        "white_noise",
        "missing",
    ];
    assert_eq!(names(), want);
    for c in catalog() {
        assert!(resolve(c.name, &[]).is_ok(), "{}", c.name);
        let mut x = base(100);
        apply(c.name, &resolve(c.name, &[]).unwrap(), &mut x, 1).unwrap();
    }
}

#[test]
fn trend_adds_strength_times_std_times_power() {
    let x = base(1001);
    let (_, added, sd) = run(
        "trend",
        &[
            p("order", ParamValue::Int(2)),
            p("strength", ParamValue::Float(3.0)),
        ],
        &x,
        1,
    );
    for (t, a) in added.iter().enumerate() {
        let want = 3.0 * sd * (t as f64 / 1000.0).powi(2);
        assert!((a - want).abs() < 1e-12, "t={t}");
    }
}

#[test]
fn outliers_hit_at_the_rate_with_the_amplitude() {
    let n = 100_000;
    let x = base(n);
    let given = [
        p("rate", ParamValue::Float(0.05)),
        p("amplitude", ParamValue::Float(4.0)),
    ];
    let (_, added, sd) = run("outliers", &given, &x, 3);
    let hits: Vec<f64> = added.into_iter().filter(|a| a.abs() > 1e-9).collect();
    // Binomial(1e5, 0.05): standard error 69 points; 5 of those.
    assert!((hits.len() as f64 - 5000.0).abs() < 345.0, "{}", hits.len());
    assert!(hits.iter().all(|a| (a.abs() - 4.0 * sd).abs() < 1e-9));
    let up = hits.iter().filter(|a| **a > 0.0).count() as f64 / hits.len() as f64;
    assert!((up - 0.5).abs() < 0.04, "{up}");
    let given = [
        p("rate", ParamValue::Float(0.05)),
        p("sign", ParamValue::Str("negative".into())),
    ];
    let (_, added, _) = run("outliers", &given, &x, 3);
    assert!(added.iter().all(|a| *a <= 1e-12));
}

#[test]
fn level_shift_is_piecewise_constant_with_count_jumps() {
    let x = base(5000);
    let given = [
        p("count", ParamValue::Int(3)),
        p("size", ParamValue::Float(2.0)),
    ];
    let (_, added, sd) = run("level_shift", &given, &x, 5);
    let jumps: Vec<f64> = std::iter::once(added[0])
        .chain(added.windows(2).map(|w| w[1] - w[0]))
        .filter(|d| d.abs() > 1e-9)
        .collect();
    assert!(!jumps.is_empty() && jumps.len() <= 3, "{jumps:?}");
    // Each jump is a sum of ±2·std shifts that landed on the same point.
    for j in jumps {
        let k = j / (2.0 * sd);
        assert!((k - k.round()).abs() < 1e-9 && k.round() != 0.0, "{k}");
    }
}

#[test]
fn step_adds_size_from_position_on() {
    let x = base(1000);
    let given = [
        p("position", ParamValue::Float(0.25)),
        p("size", ParamValue::Float(-1.5)),
    ];
    let (_, added, sd) = run("step", &given, &x, 0);
    assert!(added[..250].iter().all(|a| a.abs() < 1e-12));
    assert!(added[250..].iter().all(|a| (a + 1.5 * sd).abs() < 1e-12));
}

#[test]
fn heavy_tail_noise_has_student_t_quantiles() {
    let n = 200_000;
    let x = base(n);
    let given = [
        p("df", ParamValue::Float(3.0)),
        p("scale", ParamValue::Float(0.5)),
    ];
    let (_, added, sd) = run("heavy_tail_noise", &given, &x, 7);
    let mut z: Vec<f64> = added.iter().map(|a| (a / (0.5 * sd)).abs()).collect();
    z.sort_by(f64::total_cmp);
    // Median of |T_3| is the 0.75 quantile of t_3, 0.764892 (tables); its standard error at
    // n = 2e5 is about 0.003; 0.015 is 5 of those.
    let median = z[n / 2];
    assert!((median - 0.764_892).abs() < 0.015, "{median}");
}

#[test]
fn periodic_adds_the_sinusoid() {
    let x = base(300);
    let given = [
        p("period", ParamValue::Float(50.0)),
        p("amplitude", ParamValue::Float(2.0)),
        p("phase", ParamValue::Float(0.3)),
    ];
    let (_, added, sd) = run("periodic", &given, &x, 0);
    for (t, a) in added.iter().enumerate() {
        let want = 2.0 * sd * (2.0 * PI * t as f64 / 50.0 + 0.3).sin();
        assert!((a - want).abs() < 1e-12);
    }
}

#[test]
fn white_noise_has_the_requested_snr() {
    let n = 200_000;
    let x = base(n);
    let (_, added, sd) = run("white_noise", &[p("snr", ParamValue::Float(4.0))], &x, 9);
    let var = added.iter().map(|a| a * a).sum::<f64>() / n as f64;
    // Sample variance of 2e5 normals: relative standard error sqrt(2/n) = 0.3%; 2% bound.
    assert!((var / (sd * sd / 4.0) - 1.0).abs() < 0.02, "{var}");
}

#[test]
fn missing_nan_marks_the_rate_and_fills_are_defined() {
    let n = 100_000;
    let x = base(n);
    let (y, _, _) = run("missing", &[p("rate", ParamValue::Float(0.1))], &x, 11);
    let gaps = y.iter().filter(|v| v.is_nan()).count() as f64;
    // Binomial standard error 95 points; 5 of those.
    assert!((gaps - 10_000.0).abs() < 475.0, "{gaps}");
    let observed = y
        .iter()
        .zip(&x)
        .filter(|(a, _)| !a.is_nan())
        .all(|(a, b)| a == b);
    assert!(observed);

    let mut v = [f64::NAN, 1.0, f64::NAN, f64::NAN, 4.0, f64::NAN];
    fill_linear(&mut v).unwrap();
    assert_eq!(v, [1.0, 1.0, 2.0, 3.0, 4.0, 4.0]);
    let mut v = [f64::NAN, 1.0, f64::NAN, 4.0, f64::NAN];
    fill_previous(&mut v).unwrap();
    assert_eq!(v, [1.0, 1.0, 1.0, 4.0, 4.0]);
    assert!(fill_linear(&mut [f64::NAN, f64::NAN]).is_err());

    let given = [
        p("rate", ParamValue::Float(0.3)),
        p("fill", ParamValue::Str("linear".into())),
    ];
    let (y, _, _) = run("missing", &given, &x, 11);
    assert!(y.iter().all(|v| v.is_finite()));
    let all = [
        p("rate", ParamValue::Float(1.0)),
        p("fill", ParamValue::Str("previous".into())),
    ];
    let mut z = x.clone();
    let e = apply("missing", &resolve("missing", &all).unwrap(), &mut z, 1).unwrap_err();
    assert!(e.to_string().contains("every point is missing"), "{e}");
}

#[test]
fn same_seed_same_result_other_seed_other_result() {
    let x = base(2000);
    for name in [
        "outliers",
        "level_shift",
        "heavy_tail_noise",
        "white_noise",
        "missing",
    ] {
        let r = resolve(name, &[]).unwrap();
        let (mut a, mut b, mut c) = (x.clone(), x.clone(), x.clone());
        apply(name, &r, &mut a, 1).unwrap();
        apply(name, &r, &mut b, 1).unwrap();
        apply(name, &r, &mut c, 2).unwrap();
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&a), bits(&b), "{name}");
        assert_ne!(bits(&a), bits(&c), "{name}");
    }
}

#[test]
fn bad_input_errors_are_one_line_and_name_the_valid_choices() {
    let e = resolve("trendy", &[]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "unknown contamination `trendy` (valid: trend, outliers, level_shift, step, \
         heavy_tail_noise, periodic, white_noise, missing)"
    );
    let e = resolve("trend", &[p("order", ParamValue::Int(7))]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "contamination `trend`: parameter `order` = 7 is out of range: must be between 1 and 3"
    );
    let e = resolve("outliers", &[p("amp", ParamValue::Float(1.0))]).unwrap_err();
    assert!(
        e.to_string().contains("valid: rate, amplitude, sign"),
        "{e}"
    );
    let mut flat = vec![1.0; 10];
    let e = apply("trend", &resolve("trend", &[]).unwrap(), &mut flat, 1).unwrap_err();
    assert!(e.to_string().contains("no spread"), "{e}");
    let e = apply("trend", &[], &mut [], 1).unwrap_err();
    assert!(e.to_string().contains("empty"), "{e}");
}
