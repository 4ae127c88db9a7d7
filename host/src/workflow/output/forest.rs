//! Estimates side by side for series without a known truth (a user's own data): per series
//! and contamination, every estimator's Ĥ with its interval (a forest plot in `report.html`, a
//! table in `leaderboard.md`) and whether they agree, by the same pairwise test `estimate`
//! prints ([`crate::estimate::agreement_of`], its one home). Without truth there is no error to
//! rank by, so this is what a run on one's own data has to show.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use lrdbench_dashboard::charts::{forest, ForestRow};
use lrdbench_dashboard::render::{escape_html, escape_md};

use crate::estimate::{agreement_of, Agreement};
use crate::workflow::execute::CellRecord;

/// Series shown at most in `report.html` (the rest are in `leaderboard.md` and
/// `estimates.csv`).
pub(crate) const MAX_PLOTTED_SERIES: usize = 24;

/// One estimator's estimate of H on one series.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    /// The estimator row.
    pub row: String,
    /// Ĥ (an estimate of d as d + ½).
    pub h: f64,
    /// Its interval on the H scale, when it has one.
    pub interval: Option<(f64, f64)>,
    /// Nominal level of the interval.
    pub level: Option<f64>,
    /// How the interval was made.
    pub ci_method: String,
    /// Its standard error (its own, or from the interval's width and level).
    pub se: Option<f64>,
}

/// The estimates of one series under one contamination.
#[derive(Debug, Clone)]
pub(crate) struct SeriesEstimates {
    /// The series id (`file:NAME`, `inline:LABEL`, or a generated series' id).
    pub series: String,
    /// `clean` or the contamination variant.
    pub contamination: String,
    /// The length the estimators saw.
    pub length: usize,
    /// One entry per valid estimate of H or d, in row order.
    pub entries: Vec<Entry>,
    /// Whether the estimates agree.
    pub agreement: Agreement,
}

/// The estimates of H of every series whose truth is unknown, grouped by series and
/// contamination, in the order of `rows`.
pub(crate) fn without_truth(records: &[CellRecord], rows: &[String]) -> Vec<SeriesEstimates> {
    let mut groups: BTreeMap<(&str, &str), (usize, Vec<Entry>)> = BTreeMap::new();
    for r in records {
        if r.truth_value().is_some() {
            continue;
        }
        let g = groups
            .entry((r.series_id.as_str(), r.contamination.as_str()))
            .or_insert((r.length, Vec::new()));
        if let Some(e) = entry(r) {
            g.1.push(e);
        }
    }
    groups
        .into_iter()
        .map(|((series, contamination), (length, mut entries))| {
            entries.sort_by_key(|e| rows.iter().position(|x| *x == e.row));
            let triples: Vec<(&str, f64, f64)> = entries
                .iter()
                .filter_map(|e| Some((e.row.as_str(), e.h, e.se?)))
                .collect();
            SeriesEstimates {
                series: series.to_string(),
                contamination: contamination.to_string(),
                length,
                agreement: agreement_of(&triples),
                entries,
            }
        })
        .collect()
}

fn entry(r: &CellRecord) -> Option<Entry> {
    let shift = match r.estimand.as_str() {
        "H" => 0.0,
        "d" => 0.5,
        _ => return None,
    };
    let v = r.value? + shift;
    let interval = match (r.ci_low, r.ci_high) {
        (Some(a), Some(b)) if a.is_finite() && b.is_finite() => Some((a + shift, b + shift)),
        _ => None,
    };
    let se = r
        .stderr
        .or_else(|| {
            let (a, b) = interval?;
            let level = r.ci_level?;
            Some((b - a) / (2.0 * lrdbench_numerics::scaling::normal_quantile(0.5 + 0.5 * level)))
        })
        .filter(|s| s.is_finite() && *s > 0.0);
    Some(Entry {
        row: r.variant.clone(),
        h: v,
        interval,
        level: r.ci_level,
        ci_method: r.ci_method.clone().unwrap_or_else(|| "none".into()),
        se,
    })
}

fn verdict(a: &Agreement) -> String {
    if a.pairs == 0 {
        "fewer than two estimates with a standard error: nothing to compare".into()
    } else if a.consistent {
        format!(
            "the {} estimates agree (no pair of {} differs; |z| ≤ {:.2})",
            a.compared.len(),
            a.pairs,
            a.critical_z
        )
    } else {
        let pairs: Vec<String> = a
            .disagreeing
            .iter()
            .take(6)
            .map(|d| format!("{} vs {} ({:+.3}, z = {:.1})", d.a, d.b, d.difference, d.z))
            .collect();
        format!(
            "{} of {} pairs differ: {}{}",
            a.disagreeing.len(),
            a.pairs,
            pairs.join(", "),
            if a.disagreeing.len() > 6 { ", …" } else { "" }
        )
    }
}

fn interval_text(e: &Entry) -> String {
    match (e.interval, e.level) {
        (Some((a, b)), Some(l)) => format!("{a:.3} – {b:.3} ({:.0}%, {})", 100.0 * l, e.ci_method),
        (Some((a, b)), None) => format!("{a:.3} – {b:.3} ({})", e.ci_method),
        _ => "–".into(),
    }
}

const RULE: &str = "Agreement: pairwise z-tests of Ĥ (d as d + ½) with variance se_a² + se_b² \
(conservative for estimators that are positively correlated), Bonferroni at a family-wise 5% — \
the test `estimate` prints.";

/// The Markdown section of `leaderboard.md`; empty when every series has a known truth.
pub(crate) fn markdown(groups: &[SeriesEstimates]) -> String {
    if groups.is_empty() {
        return String::new();
    }
    let mut s = String::from(
        "\n## Estimates per series (no known truth)\n\nWithout a known truth no error can be \
         measured, so the ranking above cannot rank by accuracy; these are the estimates of H \
         side by side.\n",
    );
    let _ = writeln!(s, "{RULE}\n");
    for g in groups {
        let _ = writeln!(
            s,
            "### {} · {} · n = {}\n\n| estimator | Ĥ | interval (level, method) |\n|---|---:|---|",
            escape_md(&g.series),
            escape_md(&g.contamination),
            g.length
        );
        for e in &g.entries {
            let _ = writeln!(
                s,
                "| {} | {:.3} | {} |",
                escape_md(&e.row),
                e.h,
                interval_text(e)
            );
        }
        let _ = writeln!(s, "\nAgreement: {}.\n", escape_md(&verdict(&g.agreement)));
    }
    s
}

/// The HTML section of `report.html`, forest plots included; empty when every series has a
/// known truth.
pub(crate) fn html(groups: &[SeriesEstimates]) -> String {
    if groups.is_empty() {
        return String::new();
    }
    let mut h = String::from("<h2>Estimates per series (no known truth)</h2>\n");
    let _ = writeln!(
        h,
        "<p class=\"muted\">Without a known truth no error can be measured: each series' estimates \
         of H side by side, with their intervals (dashed line: H = 0.5, no long memory). {}</p>",
        escape_html(RULE)
    );
    for g in groups.iter().take(MAX_PLOTTED_SERIES) {
        let title = format!("{} · {} · n = {}", g.series, g.contamination, g.length);
        let rows: Vec<ForestRow> = g
            .entries
            .iter()
            .map(|e| ForestRow {
                label: e.row.clone(),
                value: e.h,
                interval: e.interval,
            })
            .collect();
        match forest(&title, &rows, "H", Some(0.5)) {
            Ok(Some(svg)) => h += &svg,
            Ok(None) => {
                let _ = writeln!(h, "<p>{}: no valid estimate.</p>", escape_html(&title));
            }
            Err(e) => {
                let _ = writeln!(
                    h,
                    "<p>plot unavailable: {}</p>",
                    escape_html(&e.to_string())
                );
            }
        }
        let _ = writeln!(
            h,
            "\n<p>Agreement: {}.</p>",
            escape_html(&verdict(&g.agreement))
        );
    }
    if groups.len() > MAX_PLOTTED_SERIES {
        let _ = writeln!(
            h,
            "<p class=\"muted\">{} more series in leaderboard.md and estimates.csv.</p>",
            groups.len() - MAX_PLOTTED_SERIES
        );
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(series: &str, row: &str, h: f64, se: f64) -> CellRecord {
        CellRecord {
            index: 0,
            hash: String::new(),
            series_id: series.into(),
            origin: series.into(),
            truth: BTreeMap::new(),
            length: 1000,
            contamination: "clean".into(),
            estimator: row.into(),
            variant: row.into(),
            params: String::new(),
            estimand: "H".into(),
            value: Some(h),
            stderr: Some(se),
            ci_low: Some(h - 1.96 * se),
            ci_high: Some(h + 1.96 * se),
            ci_level: Some(0.95),
            ci_method: Some("calibrated".into()),
            r_squared: None,
            valid: true,
            error_kind: None,
            error_message: None,
            elapsed_ms: 1.0,
            warnings: vec![],
        }
    }

    #[test]
    fn series_without_truth_are_compared_and_series_with_truth_are_not() {
        let rows = vec!["dfa".to_string(), "whittle".to_string(), "rs".to_string()];
        let mut known = rec("fgn[H=0.7]", "dfa", 0.7, 0.02);
        known.truth.insert("H".into(), 0.7);
        let records = vec![
            rec("file:a.csv", "whittle", 0.71, 0.02),
            rec("file:a.csv", "dfa", 0.70, 0.03),
            // rs is far off: 0.2 apart with se 0.02 each is z = 7.1.
            rec("file:a.csv", "rs", 0.91, 0.02),
            rec("file:b.csv", "dfa", 0.40, 0.03),
            known,
        ];
        let g = without_truth(&records, &rows);
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].series, "file:a.csv");
        let order: Vec<&str> = g[0].entries.iter().map(|e| e.row.as_str()).collect();
        assert_eq!(order, ["dfa", "whittle", "rs"]);
        assert!(!g[0].agreement.consistent);
        assert_eq!(g[0].agreement.disagreeing.len(), 2);
        assert_eq!(g[1].agreement.pairs, 0);
        let md = markdown(&g);
        assert!(md.contains("| rs | 0.910 |"), "{md}");
        assert!(md.contains("2 of 3 pairs differ"), "{md}");
        let html = html(&g);
        assert_eq!(html.matches("<svg").count(), 2);
        assert!(markdown(&without_truth(&records[4..], &rows)).is_empty());
    }
}
