//! `/metrics`: the store and the runs in the Prometheus text exposition format (version
//! 0.0.4). Names follow Prometheus conventions: a `lrdbench_` prefix, base units (`_seconds`,
//! `_bytes`), `_total` on counters. Label values are the privacy-mode forms: component and
//! plugin names with paths, the home directory, the login and host names scrubbed (as exports
//! scrub them), error kinds from their fixed vocabulary, and runs by a hash of their id, never
//! the workflow's name. No user id is ever a label.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use lrdbench_analytics::event::{CallEvent, EventType};
use lrdbench_analytics::privacy::{scrub_message, Identity};
use sha2::{Digest, Sha256};

use super::live::Progress;

/// Upper bounds of the call-duration buckets, seconds: 10 µs to 10 min, roughly ×4 apart, so
/// a 256-point estimate and a bootstrap of a 2^20 series both land inside the range.
pub const DURATION_BUCKETS: [f64; 12] = [
    1e-5, 5e-5, 2.5e-4, 1e-3, 5e-3, 0.025, 0.1, 0.5, 2.5, 10.0, 60.0, 600.0,
];

/// Upper bounds of the peak-memory buckets, bytes: 4 KiB to 16 GiB, ×4 apart.
pub const MEMORY_BUCKETS: [f64; 12] = [
    4096.0,
    16384.0,
    65536.0,
    262_144.0,
    1_048_576.0,
    4_194_304.0,
    16_777_216.0,
    67_108_864.0,
    268_435_456.0,
    1_073_741_824.0,
    4_294_967_296.0,
    17_179_869_184.0,
];

/// A histogram's cumulative buckets, sum and count.
#[derive(Debug, Clone, Default)]
struct Histogram {
    buckets: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, bounds: &[f64], v: f64) {
        if self.buckets.is_empty() {
            self.buckets = vec![0; bounds.len()];
        }
        for (b, &le) in self.buckets.iter_mut().zip(bounds) {
            if v <= le {
                *b += 1;
            }
        }
        self.sum += v;
        self.count += 1;
    }
}

/// Escapes a label value: backslash, double quote and newline.
pub fn escape_label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
    out
}

/// A run's label: the first 12 hex digits of the SHA-256 of its run id.
pub fn run_label(run_id: &str) -> String {
    let d = Sha256::digest(run_id.as_bytes());
    crate::plugin::hex(&d[..6])
}

fn event_type_label(t: EventType) -> &'static str {
    lrdbench_dashboard::event_type_name(t)
}

/// Series keyed by their label pairs, rendered in order.
type Labelled<T> = BTreeMap<Vec<(&'static str, String)>, T>;

/// The exposition of `calls` (every call of the store), the runs the server sees, and the
/// events the store's processes could not record.
pub fn render(calls: &[CallEvent], runs: &[Progress], lost_events: u64) -> String {
    let who = Identity::current();
    // Scrubbing is a few regular passes over the text: once per distinct name.
    let mut scrubbed: BTreeMap<String, String> = BTreeMap::new();
    let mut name = |s: &str| -> String {
        if let Some(v) = scrubbed.get(s) {
            return v.clone();
        }
        let v = scrub_message(s, &who);
        scrubbed.insert(s.to_string(), v.clone());
        v
    };
    let mut total: Labelled<u64> = BTreeMap::new();
    let mut failed: Labelled<u64> = BTreeMap::new();
    let mut duration: Labelled<Histogram> = BTreeMap::new();
    let mut memory: Labelled<Histogram> = BTreeMap::new();
    for c in calls {
        let component = name(&c.component);
        let plugin = c.plugin.as_ref().map_or(String::new(), |p| name(&p.name));
        let base = vec![("component", component), ("plugin", plugin)];
        let mut typed = base.clone();
        typed.push(("type", event_type_label(c.event_type).to_string()));
        *total.entry(typed).or_default() += 1;
        if let Some(e) = &c.error {
            let mut k = base.clone();
            k.push(("kind", escape_kind(&e.kind)));
            *failed.entry(k).or_default() += 1;
        }
        if let Some(p) = &c.performance {
            duration
                .entry(base.clone())
                .or_default()
                .observe(&DURATION_BUCKETS, p.wall_ns as f64 / 1e9);
            memory
                .entry(base)
                .or_default()
                .observe(&MEMORY_BUCKETS, p.heap_peak as f64);
        }
    }
    let mut out = String::with_capacity(4096 + 256 * (total.len() + 14 * duration.len()));
    counter(
        &mut out,
        "lrdbench_calls_total",
        "Plugin and function calls recorded in the analytics store.",
        &total,
    );
    counter(
        &mut out,
        "lrdbench_call_failures_total",
        "Calls that failed, by error kind.",
        &failed,
    );
    histogram(
        &mut out,
        "lrdbench_call_duration_seconds",
        "Wall time of measured calls.",
        &DURATION_BUCKETS,
        &duration,
    );
    histogram(
        &mut out,
        "lrdbench_call_peak_memory_bytes",
        "Peak heap bytes a measured call allocated above its starting level.",
        &MEMORY_BUCKETS,
        &memory,
    );
    let running = runs.iter().filter(|r| r.status == "running").count();
    let _ = writeln!(
        out,
        "# HELP lrdbench_runs_in_progress Runs whose manifest says running.\n\
         # TYPE lrdbench_runs_in_progress gauge\nlrdbench_runs_in_progress {running}"
    );
    let _ = writeln!(
        out,
        "# HELP lrdbench_run_cells_done Cells done, per run (label: hash of the run id).\n\
         # TYPE lrdbench_run_cells_done gauge"
    );
    for r in runs {
        let _ = writeln!(
            out,
            "lrdbench_run_cells_done{{run=\"{}\",status=\"{}\"}} {}",
            run_label(&r.run_id),
            escape_label(&r.status),
            r.cells_done
        );
    }
    let _ = writeln!(
        out,
        "# HELP lrdbench_run_cells Cells in the plan, per run.\n# TYPE lrdbench_run_cells gauge"
    );
    for r in runs {
        let _ = writeln!(
            out,
            "lrdbench_run_cells{{run=\"{}\",status=\"{}\"}} {}",
            run_label(&r.run_id),
            escape_label(&r.status),
            r.cells_total
        );
    }
    let _ = writeln!(
        out,
        "# HELP lrdbench_events_dropped_total Analytics events that could not be recorded (no space for the journal).\n\
         # TYPE lrdbench_events_dropped_total counter\nlrdbench_events_dropped_total {lost_events}"
    );
    out
}

/// An error kind as a label value: the fixed vocabulary passes, anything else is `other`.
fn escape_kind(kind: &str) -> String {
    if !kind.is_empty()
        && kind.len() <= 32
        && kind
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
    {
        kind.to_string()
    } else {
        "other".to_string()
    }
}

fn labels(pairs: &[(&'static str, String)], extra: Option<(&str, &str)>) -> String {
    let mut parts: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
        .collect();
    if let Some((k, v)) = extra {
        parts.push(format!("{k}=\"{v}\""));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

fn counter(out: &mut String, name: &str, help: &str, series: &Labelled<u64>) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
    for (k, v) in series {
        let _ = writeln!(out, "{name}{} {v}", labels(k, None));
    }
}

/// A float the way Prometheus writes bucket bounds (`1e-05`, `0.5`, `600`, `+Inf`).
fn le(v: f64) -> String {
    if v.is_infinite() {
        "+Inf".into()
    } else {
        format!("{v}")
    }
}

fn histogram(
    out: &mut String,
    name: &str,
    help: &str,
    bounds: &[f64],
    series: &Labelled<Histogram>,
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
    for (k, h) in series {
        for (b, &bound) in h.buckets.iter().zip(bounds) {
            let _ = writeln!(
                out,
                "{name}_bucket{} {b}",
                labels(k, Some(("le", &le(bound))))
            );
        }
        let _ = writeln!(
            out,
            "{name}_bucket{} {}",
            labels(k, Some(("le", "+Inf"))),
            h.count
        );
        let _ = writeln!(out, "{name}_sum{} {}", labels(k, None), h.sum);
        let _ = writeln!(out, "{name}_count{} {}", labels(k, None), h.count);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use lrdbench_analytics::event::{ErrorInfo, Performance, PluginRef};

    fn call(component: &str, wall_ns: u64, heap: u64, error: Option<&str>) -> CallEvent {
        CallEvent {
            id: 1,
            timestamp_us: 0,
            event_type: EventType::EstimatorUsage,
            component: component.into(),
            plugin: Some(PluginRef {
                name: "temporal".into(),
                version: "0.1.0".into(),
                sha256: "ab".into(),
            }),
            parameters: BTreeMap::new(),
            data_length: 256,
            success: error.is_none(),
            user_id: "u-secret-user".into(),
            session_id: "s".into(),
            run_id: None,
            workflow: Some("my-private-workflow".into()),
            cell: None,
            truth_h: None,
            performance: Some(Performance {
                wall_ns,
                cpu_thread_ns: 0,
                cpu_process_ns: 0,
                cpu_percent: 0.0,
                rss_before: 0,
                rss_after: 0,
                heap_peak: heap,
            }),
            error: error.map(|k| ErrorInfo {
                kind: k.into(),
                message: "m".into(),
                location: None,
                backtrace: None,
            }),
            machine: None,
        }
    }

    #[test]
    fn counters_and_histograms_count_every_call_once() {
        let calls = vec![
            call("dfa", 2_000_000, 10_000, None),
            call("dfa", 20_000_000, 100_000, Some("numerical")),
            call("rs", 50_000, 0, None),
        ];
        let text = render(&calls, &[], 7);
        assert!(text.contains(
            "lrdbench_calls_total{component=\"dfa\",plugin=\"temporal\",type=\"estimator_usage\"} 2"
        ));
        assert!(text.contains(
            "lrdbench_call_failures_total{component=\"dfa\",plugin=\"temporal\",kind=\"numerical\"} 1"
        ));
        // 2 ms and 20 ms: one in the 5 ms bucket, both in the 25 ms one.
        assert!(text.contains(
            "lrdbench_call_duration_seconds_bucket{component=\"dfa\",plugin=\"temporal\",le=\"0.005\"} 1"
        ));
        assert!(text.contains(
            "lrdbench_call_duration_seconds_bucket{component=\"dfa\",plugin=\"temporal\",le=\"0.025\"} 2"
        ));
        assert!(text.contains(
            "lrdbench_call_duration_seconds_count{component=\"dfa\",plugin=\"temporal\"} 2"
        ));
        assert!(text.contains("lrdbench_events_dropped_total 7"));
        assert!(text.contains("lrdbench_runs_in_progress 0"));
        // No user id, no workflow name.
        assert!(!text.contains("secret-user"));
        assert!(!text.contains("my-private-workflow"));
    }

    #[test]
    fn label_values_are_escaped_and_kinds_kept_to_their_vocabulary() {
        let calls = vec![call("evil\"}\nx{", 1, 1, Some("bad kind\"\n"))];
        let text = render(&calls, &[], 0);
        assert!(text.contains("component=\"evil\\\"}\\nx{\""), "{text}");
        assert!(text.contains("kind=\"other\""), "{text}");
        for line in text.lines() {
            assert!(
                line.starts_with("# ") || line.starts_with("lrdbench_"),
                "a label broke out of its line: {line:?}"
            );
        }
    }
}
