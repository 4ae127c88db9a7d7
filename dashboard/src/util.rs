//! Small helpers shared by the reports: UTC days, length buckets, H bands and number formats.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;

use serde::Serialize;

pub(crate) use lrdbench_analytics::table::FxHasher;

/// A hash map with [`FxHasher`].
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;
/// A hash set with [`FxHasher`].
pub(crate) type FastSet<K> = HashSet<K, BuildHasherDefault<FxHasher>>;

/// Microseconds in a day.
pub(crate) const DAY_US: i64 = 86_400_000_000;

/// The analysis period of a report: the `days` days up to `until_us`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    /// Length in days.
    pub days: u32,
    /// Start, µs since the Unix epoch (inclusive).
    pub since_us: i64,
    /// End, µs since the Unix epoch (exclusive).
    pub until_us: i64,
}

impl Period {
    /// The `days` days that end at `until_us`.
    pub fn ending_at(until_us: i64, days: u32) -> Period {
        Period {
            days,
            since_us: until_us.saturating_sub(i64::from(days).saturating_mul(DAY_US)),
            until_us,
        }
    }

    /// Whether a timestamp lies inside the period.
    pub fn contains(&self, ts_us: i64) -> bool {
        ts_us >= self.since_us && ts_us < self.until_us
    }

    /// "YYYY-MM-DD HH:MM UTC – YYYY-MM-DD HH:MM UTC".
    pub fn label(&self) -> String {
        format!(
            "{} – {} ({} days)",
            timestamp_label(self.since_us),
            timestamp_label(self.until_us),
            self.days
        )
    }
}

/// The UTC day number (days since 1970-01-01) of a timestamp.
pub(crate) fn day_of(ts_us: i64) -> i64 {
    ts_us.div_euclid(DAY_US)
}

/// `YYYY-MM-DD` of a UTC day number, by Howard Hinnant's `civil_from_days` algorithm
/// (proleptic Gregorian calendar).
pub(crate) fn day_label(day: i64) -> String {
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DD HH:MM UTC` of a timestamp.
pub(crate) fn timestamp_label(ts_us: i64) -> String {
    let secs = ts_us.rem_euclid(DAY_US) / 1_000_000;
    format!(
        "{} {:02}:{:02} UTC",
        day_label(day_of(ts_us)),
        secs / 3600,
        (secs / 60) % 60
    )
}

/// The log2 bucket of a length: `k` such that 2^k ≤ n < 2^(k+1); `None` for n = 0.
pub(crate) fn length_bucket(n: u64) -> Option<u32> {
    (n > 0).then(|| 63 - n.leading_zeros())
}

/// The label of a log2 length bucket, e.g. `1024–2047 (2^10)`; `0` for the empty bucket.
pub(crate) fn length_bucket_label(bucket: Option<u32>) -> String {
    match bucket {
        None => "0".to_string(),
        Some(k) if k >= 63 => format!("≥2^{k}"),
        Some(0) => "1 (2^0)".to_string(),
        Some(k) => format!("{}–{} (2^{k})", 1u64 << k, (1u64 << (k + 1)) - 1),
    }
}

/// The H bands every report stratifies by — the run's metrics (`metrics.csv`, the leaderboards'
/// strata) and the dashboard's reliability strata — so a run and the dashboard group cells the
/// same way: `[0, 0.2)`, `[0.2, 0.4)`, … `[0.8, 1]`; an H outside `[0, 1]` falls in the nearest
/// band.
pub(crate) const H_BANDS: [&str; 5] = ["0.0-0.2", "0.2-0.4", "0.4-0.6", "0.6-0.8", "0.8-1.0"];

/// The band of a true H (see `H_BANDS`); `None` for NaN or an infinite H. The small offset
/// keeps grid values such as 0.6 (0.59999…) in the band they name.
pub fn h_band(h: f64) -> Option<&'static str> {
    if !h.is_finite() {
        return None;
    }
    let i = (h * 5.0 + 1e-9).floor().clamp(0.0, 4.0) as usize;
    Some(H_BANDS[i])
}

/// A rate as a percentage with one decimal, e.g. `30.0%`.
pub(crate) fn pct(rate: f64) -> String {
    if rate.is_finite() {
        format!("{:.1}%", 100.0 * rate)
    } else {
        "n/a".to_string()
    }
}

/// A duration in nanoseconds, in the most readable unit.
pub(crate) fn duration_ns(ns: f64) -> String {
    if !ns.is_finite() {
        return "n/a".to_string();
    }
    if ns < 1e3 {
        format!("{ns:.0} ns")
    } else if ns < 1e6 {
        format!("{:.2} µs", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.2} s", ns / 1e9)
    }
}

/// A byte count in the most readable binary unit.
pub(crate) fn bytes(b: f64) -> String {
    if !b.is_finite() {
        return "n/a".to_string();
    }
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{v:.0} B")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

/// A finite number with `digits` decimals, or `n/a`.
pub(crate) fn num(v: f64, digits: usize) -> String {
    if v.is_finite() {
        format!("{v:.digits$}")
    } else {
        "n/a".to_string()
    }
}

/// An optional value formatted, or `n/a`.
pub(crate) fn opt<T>(v: Option<T>, f: impl FnOnce(T) -> String) -> String {
    v.map(f).unwrap_or_else(|| "n/a".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_label_known_dates() {
        // 1970-01-01 is day 0; 2000-03-01 is day 11017; 2026-11-27 is day 20784 (date -d).
        assert_eq!(day_label(0), "1970-01-01");
        assert_eq!(day_label(11_017), "2000-03-01");
        assert_eq!(day_label(20_784), "2026-11-27");
        assert_eq!(day_label(-1), "1969-12-31");
        assert_eq!(
            timestamp_label(20_784 * DAY_US + 3_723_000_000),
            "2026-11-27 01:02 UTC"
        );
    }

    #[test]
    fn length_bucket_is_floor_log2() {
        assert_eq!(length_bucket(0), None);
        assert_eq!(length_bucket(1), Some(0));
        assert_eq!(length_bucket(1023), Some(9));
        assert_eq!(length_bucket(1024), Some(10));
        assert_eq!(length_bucket_label(Some(10)), "1024–2047 (2^10)");
    }

    #[test]
    fn h_band_edges_belong_to_upper_band() {
        assert_eq!(h_band(0.19), Some("0.0-0.2"));
        assert_eq!(h_band(0.2), Some("0.2-0.4"));
        assert_eq!(h_band(0.6), Some("0.6-0.8"));
        assert_eq!(h_band(0.3 + 0.3), Some("0.6-0.8"));
        assert_eq!(h_band(1.0), Some("0.8-1.0"));
        assert_eq!(h_band(1.3), Some("0.8-1.0"));
        assert_eq!(h_band(-0.1), Some("0.0-0.2"));
        assert_eq!(h_band(f64::NAN), None);
    }

    #[test]
    fn formats_never_print_nan() {
        assert_eq!(pct(f64::NAN), "n/a");
        assert_eq!(duration_ns(1.5e6), "1.50 ms");
        assert_eq!(bytes(2048.0), "2.0 KiB");
        assert_eq!(num(f64::INFINITY, 2), "n/a");
    }
}
