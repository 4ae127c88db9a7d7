//! SVG charts, drawn with plotters' SVG backend into strings: they are inlined into the HTML
//! dashboard and written beside the Markdown reports. Text goes into the SVG as text (escaped
//! by the backend), in a generic font family, so no font library is needed to build or view.

use std::collections::BTreeMap;
use std::error::Error;

use plotters::coord::ranged1d::{SegmentValue, SegmentedCoord};
use plotters::coord::types::{RangedCoordf64, RangedCoordusize};
use plotters::coord::Shift;
use plotters::prelude::*;

use lrdbench_analytics::event::EventType;
use lrdbench_analytics::table::CallTable;

use crate::report::performance::PerformanceReport;
use crate::report::reliability::ReliabilityReport;
use crate::report::usage::UsageReport;
use crate::report::workflow::WorkflowReport;
use crate::stats::Proportion;
use crate::util::day_label;

pub mod run;
pub mod style;

use style::{color, legend_beside, Mark, FONT, LABEL_FONT, TITLE_FONT};

/// A chart's result: its SVG, or plotters' error.
pub type Res<T> = Result<T, Box<dyn Error>>;

/// Components shown at most in one chart (the most used ones).
pub const MAX_SERIES: usize = 12;

/// Points drawn at most per component in a scatter chart (an even subsample beyond that).
pub const MAX_POINTS: usize = 1500;

const WIDTH: u32 = 860;

/// A set of charts by key (the file stem of the SVG).
pub type Charts = BTreeMap<String, String>;

/// The reports a chart set is drawn from.
#[derive(Debug, Clone, Copy)]
pub struct ChartInputs<'a> {
    /// Calls of the period (for scatter plots of raw measurements).
    pub calls: &'a CallTable,
    /// Usage report.
    pub usage: Option<&'a UsageReport>,
    /// Performance report.
    pub performance: Option<&'a PerformanceReport>,
    /// Reliability report.
    pub reliability: Option<&'a ReliabilityReport>,
    /// Workflow report.
    pub workflow: Option<&'a WorkflowReport>,
}

/// Draws every chart its inputs allow. A chart that cannot be drawn (no data) is left out, and
/// a drawing failure is returned as its message in the second value rather than failing the
/// whole report.
pub fn draw_all(inputs: ChartInputs<'_>) -> (Charts, Vec<String>) {
    let mut charts = Charts::new();
    let mut errors = Vec::new();
    let mut put = |key: &str, r: Res<Option<String>>| match r {
        Ok(Some(svg)) => {
            charts.insert(key.to_string(), svg);
        }
        Ok(None) => {}
        Err(e) => errors.push(format!("chart {key}: {e}")),
    };
    if let Some(u) = inputs.usage {
        let (l, v): (Vec<String>, Vec<f64>) = u
            .estimators
            .iter()
            .take(25)
            .map(|e| (e.name.clone(), e.calls as f64))
            .unzip();
        put(
            "calls_per_estimator",
            hbar("Calls per estimator", &l, &v, "calls"),
        );
    }
    if let Some(p) = inputs.performance {
        put("time_distribution", time_distribution(p));
        put("time_vs_length", scatter(inputs.calls, p, Measure::Time));
        put("memory_vs_length", scatter(inputs.calls, p, Measure::Heap));
        put("daily_trends", daily_trends(p));
    }
    if let Some(r) = inputs.reliability {
        put("errors_by_kind", errors_by_kind(inputs.calls, r));
        put("reliability_intervals", reliability_intervals(r));
    }
    if let Some(w) = inputs.workflow {
        let (l, v): (Vec<String>, Vec<f64>) = w
            .complexity
            .iter()
            .map(|c| (c.label.clone(), c.runs as f64))
            .unzip();
        let r = if w.runs == 0 {
            Ok(None)
        } else {
            hbar("Workflow complexity", &l, &v, "runs")
        };
        put("workflow_complexity", r);
    }
    (charts, errors)
}

fn height(rows: usize) -> u32 {
    (90 + 26 * rows.max(1)).min(1400) as u32
}

fn label_area(labels: &[String]) -> u32 {
    (labels.iter().map(|l| l.chars().count()).max().unwrap_or(4) as u32 * 8 + 12).clamp(60, 280)
}

fn short(s: &str) -> String {
    if s.chars().count() > 36 {
        let mut t: String = s.chars().take(35).collect();
        t.push('…');
        t
    } else {
        s.to_string()
    }
}

/// A chart with one row per label down the y axis and a value axis across.
type CategoryChart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, SegmentedCoord<RangedCoordusize>>>;

/// An SVG chart `pixels` high, drawn by `draw` on a white area.
fn svg_chart(
    pixels: u32,
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Res<()>,
) -> Res<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, pixels)).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
    }
    Ok(svg)
}

/// The row axis of a chart with `n` (≥ 1) labelled rows. plotters' integer ranges include
/// their end, so `0..n` would draw an empty row above the last one.
fn rows_axis(n: usize) -> SegmentedCoord<RangedCoordusize> {
    (0..n.saturating_sub(1)).into_segmented()
}

/// The axes of a [`CategoryChart`] on `root`: the title, one labelled row per entry of
/// `labels` (already shortened) and the value axis `x`.
fn category_axes<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, Shift>,
    title: &str,
    labels: &[String],
    x: std::ops::Range<f64>,
    x_desc: &str,
) -> Res<CategoryChart<'a, 'b>> {
    let n = labels.len();
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FONT, TITLE_FONT))
        .margin(10)
        .margin_right(30)
        .x_label_area_size(34)
        .y_label_area_size(label_area(labels))
        .build_cartesian_2d(x, rows_axis(n))?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_label_formatter(&|v| style::tick(*v))
        .y_labels(n)
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => labels.get(*i).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .x_desc(x_desc)
        .label_style((FONT, LABEL_FONT))
        .draw()?;
    Ok(chart)
}

/// One row of a forest plot: a label, a point estimate and its interval, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct ForestRow {
    /// The row's label (an estimator).
    pub label: String,
    /// The estimate.
    pub value: f64,
    /// Its interval, when it has one.
    pub interval: Option<(f64, f64)>,
}

/// A forest plot: one row per estimate, its interval as a bar and the estimate as a dot, on a
/// shared value axis, with a dashed reference line at `reference` (e.g. H = 0.5, no long
/// memory). Rows without a finite value are left out; `None` when none is left.
pub fn forest(
    title: &str,
    rows: &[ForestRow],
    x_desc: &str,
    reference: Option<f64>,
) -> Res<Option<String>> {
    let rows: Vec<&ForestRow> = rows.iter().filter(|r| r.value.is_finite()).collect();
    if rows.is_empty() {
        return Ok(None);
    }
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for r in &rows {
        let (a, b) = r.interval.unwrap_or((r.value, r.value));
        lo = lo.min(a.min(r.value));
        hi = hi.max(b.max(r.value));
    }
    if let Some(x) = reference {
        lo = lo.min(x);
        hi = hi.max(x);
    }
    let pad = 0.05 * (hi - lo).max(0.1);
    let (lo, hi) = (lo - pad, hi + pad);
    let labels: Vec<String> = rows.iter().map(|r| short(&r.label)).collect();
    let n = rows.len();
    let svg = svg_chart(height(n), |root| {
        let mut chart = category_axes(root, title, &labels, lo..hi, x_desc)?;
        if let Some(x) = reference {
            chart.draw_series(DashedLineSeries::new(
                vec![(x, SegmentValue::Exact(0)), (x, SegmentValue::Exact(n))],
                5,
                4,
                BLACK.mix(0.45).stroke_width(1),
            ))?;
        }
        chart.draw_series(rows.iter().enumerate().filter_map(|(i, r)| {
            let (a, b) = r.interval?;
            Some(PathElement::new(
                vec![
                    (a, SegmentValue::CenterOf(i)),
                    (b, SegmentValue::CenterOf(i)),
                ],
                BLACK.stroke_width(2),
            ))
        }))?;
        chart.draw_series(rows.iter().enumerate().map(|(i, r)| {
            Circle::new((r.value, SegmentValue::CenterOf(i)), 5, color(i).filled())
        }))?;
        Ok(())
    })?;
    Ok(Some(svg))
}

fn hbar(title: &str, labels: &[String], values: &[f64], x_desc: &str) -> Res<Option<String>> {
    if labels.is_empty() {
        return Ok(None);
    }
    let labels: Vec<String> = labels.iter().map(|l| short(l)).collect();
    let n = labels.len();
    let max = values.iter().cloned().fold(0.0, f64::max).max(1.0) * 1.08;
    let svg = svg_chart(height(n), |root| {
        let mut chart = category_axes(root, title, &labels, 0.0..max, x_desc)?;
        chart.draw_series(values.iter().enumerate().map(|(i, v)| {
            let mut r = Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(i)),
                    (*v, SegmentValue::Exact(i + 1)),
                ],
                BLUE.mix(0.6).filled(),
            );
            r.set_margin(3, 3, 0, 0);
            r
        }))?;
        Ok(())
    })?;
    Ok(Some(svg))
}

fn time_distribution(p: &PerformanceReport) -> Res<Option<String>> {
    let rows: Vec<(String, crate::stats::Quantiles)> = p
        .components
        .iter()
        .filter_map(|c| c.wall_ns.map(|q| (short(&c.component), q)))
        .take(25)
        .collect();
    if rows.is_empty() {
        return Ok(None);
    }
    let labels: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    let lo = rows
        .iter()
        .map(|r| r.1.p50)
        .fold(f64::INFINITY, f64::min)
        .max(1.0)
        / 2.0;
    let hi = rows.iter().map(|r| r.1.max).fold(1.0, f64::max) * 2.0;
    let n = rows.len();
    let svg = svg_chart(height(n), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(
                "Wall time per call (median, p95 bar, p99 whisker)",
                (FONT, TITLE_FONT),
            )
            .margin(10)
            .x_label_area_size(34)
            .y_label_area_size(label_area(&labels))
            .build_cartesian_2d((lo..hi).log_scale(), rows_axis(n))?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n)
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => labels.get(*i).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .x_label_formatter(&|v| crate::util::duration_ns(*v))
            .x_desc("wall time per call")
            .label_style((FONT, LABEL_FONT))
            .draw()?;
        chart.draw_series(rows.iter().enumerate().map(|(i, (_, q))| {
            let mut r = Rectangle::new(
                [
                    (q.p50.max(lo), SegmentValue::Exact(i)),
                    (q.p95.max(lo), SegmentValue::Exact(i + 1)),
                ],
                BLUE.mix(0.35).filled(),
            );
            r.set_margin(6, 6, 0, 0);
            r
        }))?;
        chart.draw_series(rows.iter().enumerate().map(|(i, (_, q))| {
            PathElement::new(
                vec![
                    (q.p95.max(lo), SegmentValue::CenterOf(i)),
                    (q.p99.max(lo), SegmentValue::CenterOf(i)),
                ],
                BLACK,
            )
        }))?;
        chart.draw_series(rows.iter().enumerate().map(|(i, (_, q))| {
            Circle::new((q.p50.max(lo), SegmentValue::CenterOf(i)), 4, BLUE.filled())
        }))?;
        Ok(())
    })?;
    Ok(Some(svg))
}

#[derive(Clone, Copy, PartialEq)]
enum Measure {
    Time,
    Heap,
}

fn scatter(calls: &CallTable, p: &PerformanceReport, m: Measure) -> Res<Option<String>> {
    let shown: Vec<&str> = p
        .components
        .iter()
        .take(MAX_SERIES)
        .map(|c| c.component.as_str())
        .collect();
    // The shown components by symbol, so the pass over the calls compares integers.
    let mut index: Vec<Option<usize>> = vec![None; calls.strings.len()];
    for (i, name) in shown.iter().enumerate() {
        if let Some(sym) = calls.strings.lookup(name) {
            index[sym as usize] = Some(i);
        }
    }
    let mut points: Vec<Vec<(f64, f64)>> = vec![Vec::new(); shown.len()];
    for r in 0..calls.len() {
        if calls.event_type[r] == EventType::BenchmarkRun || calls.data_length[r] == 0 {
            continue;
        }
        let (Some(i), true) = (index[calls.component[r] as usize], calls.measured[r]) else {
            continue;
        };
        let y = match m {
            Measure::Time => calls.wall_ns[r] as f64,
            Measure::Heap => calls.heap_peak[r] as f64,
        };
        if y > 0.0 {
            points[i].push((calls.data_length[r] as f64, y));
        }
    }
    for v in &mut points {
        if v.len() > MAX_POINTS {
            let step = v.len() as f64 / MAX_POINTS as f64;
            *v = (0..MAX_POINTS)
                .map(|k| v[(k as f64 * step) as usize])
                .collect();
        }
    }
    let all: Vec<&(f64, f64)> = points.iter().flatten().collect();
    if all.is_empty() {
        return Ok(None);
    }
    let (xmin, xmax) = bounds(all.iter().map(|p| p.0));
    let (ymin, ymax) = bounds(all.iter().map(|p| p.1));
    let (title, ydesc) = match m {
        Measure::Time => ("Wall time against length (log–log)", "wall time"),
        Measure::Heap => ("Heap peak against length (log–log)", "heap peak"),
    };
    let entries: Vec<(String, RGBColor, Mark)> = shown
        .iter()
        .enumerate()
        .filter(|(i, _)| !points[*i].is_empty())
        .map(|(i, name)| (short(name), color(i), Mark::Dot))
        .collect();
    let svg = svg_chart(520, |root| {
        let area = legend_beside(root, &entries)?;
        let mut chart = ChartBuilder::on(&area)
            .caption(title, (FONT, TITLE_FONT))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(80)
            .build_cartesian_2d((xmin..xmax).log_scale(), (ymin..ymax).log_scale())?;
        chart
            .configure_mesh()
            .x_desc("series length")
            .y_desc(ydesc)
            .y_label_formatter(&|v| match m {
                Measure::Time => crate::util::duration_ns(*v),
                Measure::Heap => crate::util::bytes(*v),
            })
            .label_style((FONT, LABEL_FONT))
            .draw()?;
        for (i, name) in shown.iter().enumerate() {
            if points[i].is_empty() {
                continue;
            }
            let color = color(i);
            chart.draw_series(
                points[i]
                    .iter()
                    .map(|&(x, y)| Circle::new((x, y), 2, color.mix(0.5).filled())),
            )?;
            if m == Measure::Time {
                if let Some(fit) = p
                    .components
                    .iter()
                    .find(|c| c.component == *name)
                    .and_then(|c| c.scaling)
                {
                    let (a, b) = (
                        points[i].iter().map(|p| p.0).fold(f64::INFINITY, f64::min),
                        points[i].iter().map(|p| p.0).fold(0.0, f64::max),
                    );
                    let line = [a, b].map(|x| (x, (fit.intercept + fit.exponent * x.ln()).exp()));
                    chart.draw_series(LineSeries::new(line, color.stroke_width(2)))?;
                }
            }
        }
        Ok(())
    })?;
    Ok(Some(svg))
}

fn bounds(v: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, 0.0_f64);
    for x in v {
        lo = lo.min(x);
        hi = hi.max(x);
    }
    let lo = if lo.is_finite() && lo > 0.0 {
        lo / 1.5
    } else {
        1.0
    };
    (lo, (hi * 1.5).max(lo * 10.0))
}

fn daily_trends(p: &PerformanceReport) -> Res<Option<String>> {
    if p.daily.is_empty() {
        return Ok(None);
    }
    let shown: Vec<&str> = p
        .components
        .iter()
        .take(MAX_SERIES)
        .map(|c| c.component.as_str())
        .collect();
    let mut series: BTreeMap<usize, Vec<(i64, f64)>> = BTreeMap::new();
    let mut days: Vec<i64> = Vec::new();
    for d in &p.daily {
        let Some(i) = shown.iter().position(|c| *c == d.component) else {
            continue;
        };
        let day = day_number(&d.day);
        days.push(day);
        series
            .entry(i)
            .or_default()
            .push((day, d.median_wall_ns.max(1.0)));
    }
    let (Some(&d0), Some(&d1)) = (days.iter().min(), days.iter().max()) else {
        return Ok(None);
    };
    let (ymin, ymax) = bounds(series.values().flatten().map(|p| p.1));
    let entries: Vec<(String, RGBColor, Mark)> = series
        .keys()
        .map(|&i| (short(shown[i]), color(i), Mark::Line))
        .collect();
    let svg = svg_chart(460, |root| {
        let area = legend_beside(root, &entries)?;
        let mut chart = ChartBuilder::on(&area)
            .caption("Median wall time per sample, per day", (FONT, TITLE_FONT))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(80)
            .build_cartesian_2d(d0 - 1..d1 + 1, (ymin..ymax).log_scale())?;
        chart
            .configure_mesh()
            .x_labels(8)
            .x_label_formatter(&|d| day_label(*d))
            .y_label_formatter(&|v| crate::util::duration_ns(*v))
            .x_desc("day (UTC)")
            .y_desc("time per sample")
            .label_style((FONT, LABEL_FONT))
            .draw()?;
        for (i, pts) in &series {
            let color = color(*i);
            chart.draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))?;
            chart.draw_series(
                pts.iter()
                    .map(|&(x, y)| Circle::new((x, y), 3, color.filled())),
            )?;
        }
        Ok(())
    })?;
    Ok(Some(svg))
}

/// The day number of a `YYYY-MM-DD` label (inverse of `day_label`, Hinnant's
/// `days_from_civil`); 0 for a malformed label.
fn day_number(s: &str) -> i64 {
    let mut it = s.split('-').map(|p| p.parse::<i64>().unwrap_or(0));
    let (y, m, d) = (
        it.next().unwrap_or(1970),
        it.next().unwrap_or(1),
        it.next().unwrap_or(1),
    );
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn errors_by_kind(calls: &CallTable, r: &ReliabilityReport) -> Res<Option<String>> {
    let failing: Vec<&str> = {
        let mut v: Vec<(&str, u64)> = r
            .components
            .iter()
            .filter(|c| c.error_rate.count > 0)
            .map(|c| (c.component.as_str(), c.error_rate.count))
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        v.into_iter().take(25).map(|x| x.0).collect()
    };
    if failing.is_empty() {
        return Ok(None);
    }
    let kinds: Vec<&str> = r.errors_by_kind.iter().map(|k| k.kind.as_str()).collect();
    let mut counts = vec![vec![0.0_f64; kinds.len()]; failing.len()];
    for m in &r.failure_modes {
        if let (Some(i), Some(j)) = (
            failing.iter().position(|c| *c == m.component),
            kinds.iter().position(|k| *k == m.kind),
        ) {
            counts[i][j] += m.rate.count as f64;
        }
    }
    let _ = calls;
    let labels: Vec<String> = failing.iter().map(|s| short(s)).collect();
    let n = labels.len();
    let max = counts
        .iter()
        .map(|r| r.iter().sum::<f64>())
        .fold(1.0, f64::max)
        * 1.08;
    let entries: Vec<(String, RGBColor, Mark)> = kinds
        .iter()
        .enumerate()
        .map(|(j, k)| (short(k), color(j), Mark::Square))
        .collect();
    let svg = svg_chart(height(n).max(60 + 20 * kinds.len() as u32), |root| {
        let area = legend_beside(root, &entries)?;
        let mut chart = category_axes(
            &area,
            "Failures per component by kind",
            &labels,
            0.0..max,
            "failures",
        )?;
        for j in 0..kinds.len() {
            let color = color(j);
            let counts = &counts;
            chart.draw_series((0..n).filter(|i| counts[*i][j] > 0.0).map(move |i| {
                let before: f64 = counts[i][..j].iter().sum();
                let mut r = Rectangle::new(
                    [
                        (before, SegmentValue::Exact(i)),
                        (before + counts[i][j], SegmentValue::Exact(i + 1)),
                    ],
                    color.filled(),
                );
                r.set_margin(3, 3, 0, 0);
                r
            }))?;
        }
        Ok(())
    })?;
    Ok(Some(svg))
}

fn reliability_intervals(r: &ReliabilityReport) -> Res<Option<String>> {
    let rows: Vec<(&str, Proportion)> = r
        .components
        .iter()
        .filter_map(|c| Some((c.component.as_str(), c.component_failure_rate?)))
        .take(25)
        .collect();
    if rows.is_empty() {
        return Ok(None);
    }
    let labels: Vec<String> = rows.iter().map(|c| short(c.0)).collect();
    let n = rows.len();
    let svg = svg_chart(height(n), |root| {
        let mut chart = category_axes(
            root,
            "Own failure rate with Wilson 95% interval",
            &labels,
            0.0..100.0,
            "own failures over usable calls, %",
        )?;
        chart.draw_series(rows.iter().enumerate().map(|(i, (_, p))| {
            PathElement::new(
                vec![
                    (100.0 * p.ci95.low, SegmentValue::CenterOf(i)),
                    (100.0 * p.ci95.high, SegmentValue::CenterOf(i)),
                ],
                BLACK.stroke_width(2),
            )
        }))?;
        chart.draw_series(rows.iter().enumerate().map(|(i, (_, p))| {
            Circle::new((100.0 * p.rate, SegmentValue::CenterOf(i)), 4, RED.filled())
        }))?;
        Ok(())
    })?;
    Ok(Some(svg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_number_inverts_day_label() {
        for d in [-400, -1, 0, 11_017, 20_784, 60_000] {
            assert_eq!(day_number(&day_label(d)), d);
        }
    }
}
