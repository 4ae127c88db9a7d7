//! A comparison as Markdown (short enough to paste into a pull request), JSON (serde of
//! [`Comparison`]) and self-contained HTML with inline SVG charts (plotters, like the run
//! report: paired differences of absolute error against H and n, time ratio by length).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use lrdbench_dashboard::render::{escape_html, escape_md};
use plotters::prelude::*;

use super::stats::{Estimate, Metric, Verdict};
use super::{Comparison, MetricChange, RowComparison};

/// A signed change at 4 decimals, or a ratio at 2.
fn change_text(m: &MetricChange) -> String {
    let Some(e) = m.change else {
        return "–".into();
    };
    if m.metric == Metric::Runtime {
        format!("×{:.2} [{:.2}, {:.2}]", e.value, e.low, e.high)
    } else {
        format!("{:+.4} [{:+.4}, {:+.4}]", e.value, e.low, e.high)
    }
}

fn mark(v: Verdict) -> &'static str {
    match v {
        Verdict::Identical => "=",
        Verdict::Improved => "✅",
        Verdict::Unchanged => "·",
        Verdict::Regressed => "❌",
        Verdict::NotApplicable => "",
    }
}

/// The plan difference as lines (empty when the plans match).
fn plan_lines(c: &Comparison) -> Vec<String> {
    let p = &c.plan;
    let mut out = Vec::new();
    if let Some((b, n)) = p.seeds {
        out.push(format!(
            "workflow seed {b} → {n}: the series differ, so pairing removes no noise"
        ));
    }
    let counts = |m: &BTreeMap<String, usize>| {
        m.iter()
            .map(|(k, v)| format!("{k} ({v})"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !p.only_in_base.is_empty() {
        out.push(format!("cells only in BASE: {}", counts(&p.only_in_base)));
    }
    if !p.only_in_new.is_empty() {
        out.push(format!("cells only in NEW: {}", counts(&p.only_in_new)));
    }
    for l in &p.plugins {
        out.push(format!("plugin {l}"));
    }
    for l in &p.parameters {
        out.push(format!("parameters of {l}"));
    }
    out
}

/// The one-line overall verdict of a row: identical, or its regressions, else its
/// improvements, else unchanged.
pub fn row_summary(r: &RowComparison) -> String {
    let list = |v: Verdict| -> Vec<String> {
        r.metrics
            .iter()
            .filter(|m| m.verdict == v)
            .map(|m| format!("{} {}", m.metric.as_str(), change_text(m)))
            .collect()
    };
    let runtime = r.metric(Metric::Runtime).map(|m| m.verdict);
    let mut s = if r.identical {
        "identical".to_string()
    } else {
        String::new()
    };
    let reg = list(Verdict::Regressed);
    let imp = list(Verdict::Improved);
    if !reg.is_empty() {
        if !s.is_empty() {
            s += "; ";
        }
        let _ = write!(s, "regressed: {}", reg.join(", "));
    }
    if !imp.is_empty() {
        if !s.is_empty() {
            s += "; ";
        }
        let _ = write!(s, "improved: {}", imp.join(", "));
    }
    if s.is_empty() {
        s = "unchanged".into();
    } else if r.identical && runtime == Some(Verdict::Unchanged) {
        s += " (runtime unchanged)";
    }
    s
}

const TABLE: [Metric; 7] = Metric::ALL;

/// Markdown: header, plan difference, one table row per estimator row, the rule.
pub fn markdown(c: &Comparison) -> String {
    let mut s = format!(
        "## lrdbench compare: `{}`\n\nBASE `{}` → NEW `{}` · {} matched cells\n\n",
        escape_md(&c.new.workflow),
        escape_md(&c.base.run_id),
        escape_md(&c.new.run_id),
        c.plan.matched
    );
    let plan = plan_lines(c);
    if plan.is_empty() {
        s += "Plan: unchanged (same cells, plugins and parameters).\n\n";
    } else {
        s += "Plan changes:\n";
        for l in plan {
            let _ = writeln!(s, "- {}", escape_md(&l));
        }
        s += "\n";
    }
    let regressed: Vec<&RowComparison> = c
        .rows
        .iter()
        .filter(|r| r.regressions().next().is_some())
        .collect();
    let identical: Vec<&str> = c
        .rows
        .iter()
        .filter(|r| r.identical)
        .map(|r| r.estimator.as_str())
        .collect();
    let _ = writeln!(
        s,
        "**{} regressed**, {} identical, {} rows in all.\n",
        regressed.len(),
        identical.len(),
        c.rows.len()
    );
    s += "| estimator | cells | MAE Δ | \\|bias\\| Δ | RMSE Δ | coverage Δ | CI width Δ | validity Δ | time ratio |\n";
    s += "|---|---:|---|---|---|---|---|---|---|\n";
    for r in &c.rows {
        let _ = write!(s, "| {} | {} |", escape_md(&r.estimator), r.matched);
        for m in TABLE {
            let Some(ch) = r.metric(m) else {
                s += " – |";
                continue;
            };
            if ch.verdict == Verdict::Identical {
                s += " identical |";
            } else if ch.verdict == Verdict::NotApplicable {
                s += " – |";
            } else {
                let _ = write!(s, " {} {} |", mark(ch.verdict), change_text(ch));
            }
        }
        s += "\n";
    }
    let _ = write!(
        s,
        "\n✅ improved · ❌ regressed · unchanged otherwise. Coverage is compared by distance to the \
         nominal level. <details><summary>Method</summary>\n\n{}\n</details>\n",
        c.method
    );
    s
}

/// JSON: the whole comparison.
///
/// # Errors
///
/// Serialization errors (none in practice: every field is plain data).
pub fn json(c: &Comparison) -> serde_json::Result<String> {
    serde_json::to_string_pretty(c)
}

fn plot_error(e: impl std::fmt::Display) -> String {
    format!("<p>plot unavailable: {}</p>", escape_html(&e.to_string()))
}

/// A scatter of `(x, y)` with a reference line at `y = reference`, optionally on a log x axis.
fn scatter(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    pts: &[(f64, f64)],
    log_x: bool,
    reference: f64,
) -> String {
    if pts.is_empty() {
        return format!("<p>{}: no cell to plot.</p>", escape_html(title));
    }
    // An even subsample beyond the dashboard's per-chart limit keeps the page small.
    let step = pts.len().div_ceil(lrdbench_dashboard::charts::MAX_POINTS);
    let thinned: Vec<(f64, f64)> = pts.iter().step_by(step.max(1)).copied().collect();
    let pts = thinned.as_slice();
    let (x0, x1) = pts.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |a, p| {
        (a.0.min(p.0), a.1.max(p.0))
    });
    let (y0, y1) = pts
        .iter()
        .fold((reference, reference), |a, p| (a.0.min(p.1), a.1.max(p.1)));
    let ypad = ((y1 - y0) * 0.05).max(1e-6);
    let (y0, y1) = (y0 - ypad, y1 + ypad);
    let mut svg = String::new();
    let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut svg, (560, 360)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut b = ChartBuilder::on(&root);
        b.caption(title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60);
        let color = RGBColor(0x00, 0x67, 0xA5);
        macro_rules! draw {
            ($chart:expr, $xs:expr) => {{
                let mut chart = $chart;
                chart
                    .configure_mesh()
                    .light_line_style(WHITE)
                    .x_desc(x_desc)
                    .y_desc(y_desc)
                    .label_style(("sans-serif", 13))
                    .draw()?;
                chart.draw_series(LineSeries::new($xs, BLACK.mix(0.4)))?;
                chart.draw_series(
                    pts.iter()
                        .map(|p| Circle::new(*p, 3, color.mix(0.5).filled())),
                )?;
            }};
        }
        if log_x {
            let (a, z) = (x0 / 1.3, x1 * 1.3);
            let mut keys: Vec<f64> = pts.iter().map(|p| p.0).collect();
            keys.sort_by(f64::total_cmp);
            keys.dedup();
            draw!(
                b.build_cartesian_2d((a..z).log_scale().with_key_points(keys), y0..y1)?,
                vec![(a, reference), (z, reference)]
            );
        } else {
            let pad = ((x1 - x0) * 0.05).max(0.01);
            let (a, z) = (x0 - pad, x1 + pad);
            draw!(
                b.build_cartesian_2d(a..z, y0..y1)?,
                vec![(a, reference), (z, reference)]
            );
        }
        root.present()?;
        Ok(())
    })();
    match drawn {
        Ok(()) => svg,
        Err(e) => plot_error(e),
    }
}

fn estimate_cell(m: &MetricChange) -> String {
    match (m.verdict, m.change) {
        (Verdict::Identical, _) => "identical".into(),
        (_, None) => "–".into(),
        (v, Some(Estimate { .. })) => format!(
            "<span class=\"{}\">{} {}</span>",
            v.as_str(),
            mark(v),
            escape_html(&change_text(m))
        ),
    }
}

/// Self-contained HTML: the Markdown's content as tables, then the charts.
pub fn html(c: &Comparison) -> String {
    let mut h = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>lrdbench compare {w}</title>\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n\
         <style>body{{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}}\
         table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}\
         td:first-child,th:first-child{{text-align:left}}th{{background:#f3f3f3}}.muted{{color:#666}}\
         .regressed{{color:#b00020;font-weight:bold}}.improved{{color:#087f23}}\
         .charts{{display:flex;flex-wrap:wrap;gap:8px}}</style></head><body>\n\
         <h1>Compare: {w}</h1>\n<p class=\"muted\">BASE {b} ({bd}) → NEW {n} ({nd}) · {m} matched cells</p>\n",
        w = escape_html(&c.new.workflow),
        b = escape_html(&c.base.run_id),
        n = escape_html(&c.new.run_id),
        bd = escape_html(&c.base.dir),
        nd = escape_html(&c.new.dir),
        m = c.plan.matched,
    );
    h += "<h2>Plan</h2>\n";
    let plan = plan_lines(c);
    if plan.is_empty() {
        h += "<p>Unchanged: same cells, plugins and parameters.</p>\n";
    } else {
        h += "<ul>\n";
        for l in plan {
            let _ = writeln!(h, "<li>{}</li>", escape_html(&l));
        }
        h += "</ul>\n";
    }
    h += "<h2>Rows</h2>\n<table><tr><th>estimator</th><th>cells</th>";
    for m in TABLE {
        let _ = write!(h, "<th>{} Δ</th>", m.as_str());
    }
    h += "<th>verdict</th></tr>\n";
    for r in &c.rows {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td>",
            escape_html(&r.estimator),
            r.matched
        );
        for m in TABLE {
            match r.metric(m) {
                Some(ch) => {
                    let _ = write!(h, "<td>{}</td>", estimate_cell(ch));
                }
                None => h += "<td>–</td>",
            }
        }
        let _ = writeln!(h, "<td>{}</td></tr>", escape_html(&row_summary(r)));
    }
    h += "</table>\n";
    let _ = writeln!(h, "<p class=\"muted\">{}</p>", escape_html(&c.method));
    h += "\n<h2>Paired differences of absolute error (NEW − BASE)</h2>\n";
    let mut any = false;
    for r in c.rows.iter().filter(|r| !r.identical) {
        let by_h: Vec<(f64, f64)> = r
            .points
            .iter()
            .filter_map(|p| Some((p.h?, p.abs_error_change?)))
            .collect();
        let by_n: Vec<(f64, f64)> = r
            .points
            .iter()
            .filter_map(|p| Some((p.length as f64, p.abs_error_change?)))
            .collect();
        if by_n.is_empty() {
            continue;
        }
        any = true;
        let _ = writeln!(
            h,
            "<h3>{}</h3>\n<div class=\"charts\">",
            escape_html(&r.estimator)
        );
        h += &scatter(
            &format!("{}: |error| change against H", r.estimator),
            "true H",
            "NEW − BASE",
            &by_h,
            false,
            0.0,
        );
        h += &scatter(
            &format!("{}: |error| change against n", r.estimator),
            "length (log scale)",
            "NEW − BASE",
            &by_n,
            true,
            0.0,
        );
        h += "</div>\n";
    }
    if !any {
        h += "<p>No row's absolute errors changed: nothing to plot.</p>\n";
    }
    h += "<h2>Runtime ratio by length (NEW / BASE, per cell)</h2>\n<div class=\"charts\">\n";
    for r in &c.rows {
        let pts: Vec<(f64, f64)> = r
            .points
            .iter()
            .filter_map(|p| Some((p.length as f64, p.time_ratio?)))
            .collect();
        if !pts.is_empty() {
            h += &scatter(
                &format!("{}: time ratio against n", r.estimator),
                "length (log scale)",
                "NEW / BASE",
                &pts,
                true,
                1.0,
            );
        }
    }
    h += "</div>\n";
    h += "</body></html>\n";
    h
}

/// One line per regression (in `metrics`, all when `None`): what `run` prints when it ends and
/// what `compare --format html --out DIR` prints to the terminal.
pub fn regression_lines(
    c: &Comparison,
    metrics: Option<&std::collections::BTreeSet<Metric>>,
) -> Vec<String> {
    c.regressions(metrics)
        .map(|(r, m)| {
            format!(
                "regression against {}: {} {} {} (tolerance {}; {})",
                c.base.run_id,
                r.estimator,
                m.metric.as_str(),
                change_text(m),
                m.tolerance,
                m.test
            )
        })
        .collect()
}
