//! The charts of a run's `report.html` (estimate against truth, a metric against length),
//! drawn with the dashboard's look ([`super::style`]): one chart module for files and pages.

use plotters::prelude::*;

use super::style::{color, legend_beside, log_ticks, tick, Mark, FONT, LABEL_FONT, TITLE_FONT};
use super::Res;

/// Width of a run chart, legend included.
pub const RUN_WIDTH: u32 = 920;
/// Height of a run chart.
pub const RUN_HEIGHT: u32 = 480;

/// Named series of (x, y) points, one colour each, in order.
pub type Series = [(String, Vec<(f64, f64)>)];

fn legend_entries(series: &Series, mark: Mark) -> Vec<(String, RGBColor, Mark)> {
    series
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.1.is_empty())
        .map(|(i, s)| (s.0.clone(), color(i), mark))
        .collect()
}

/// Estimate against truth, one colour per series of (truth, estimate) points, with the
/// identity line; both axes padded so points on the extremes are drawn whole. `None` without
/// points.
pub fn estimate_vs_truth(series: &Series) -> Res<Option<String>> {
    let pts: Vec<(f64, f64)> = series.iter().flat_map(|s| s.1.iter().copied()).collect();
    if pts.is_empty() {
        return Ok(None);
    }
    let lo = pts
        .iter()
        .map(|p| p.0.min(p.1))
        .fold(f64::INFINITY, f64::min)
        .min(0.0);
    let hi = pts
        .iter()
        .map(|p| p.0.max(p.1))
        .fold(f64::NEG_INFINITY, f64::max)
        .max(1.0);
    let pad = 0.03 * (hi - lo);
    let (lo, hi) = (lo - pad, hi + pad);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (RUN_WIDTH, RUN_HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        let area = legend_beside(&root, &legend_entries(series, Mark::Dot))?;
        let mut chart = ChartBuilder::on(&area)
            .caption("Estimate vs truth", (FONT, TITLE_FONT))
            .margin(10)
            .x_label_area_size(44)
            .y_label_area_size(56)
            .build_cartesian_2d(lo..hi, lo..hi)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_desc("true value")
            .y_desc("estimate")
            .label_style((FONT, LABEL_FONT))
            .x_label_formatter(&|v| tick(*v))
            .y_label_formatter(&|v| tick(*v))
            .draw()?;
        chart.draw_series(LineSeries::new(vec![(lo, lo), (hi, hi)], BLACK.mix(0.4)))?;
        for (i, (_, pts)) in series.iter().enumerate() {
            let c = color(i);
            chart.draw_series(pts.iter().map(|p| Circle::new(*p, 3, c.mix(0.6).filled())))?;
        }
        root.present()?;
    }
    Ok(Some(svg))
}

/// A series per row of (length, value) on a log length axis, the lengths themselves as x
/// ticks (a log axis left to choose its own may have none when there is one length); y on a
/// log axis with [`log_ticks`] when `log_y`, else linear from 0. `None` with fewer than two
/// positive points.
pub fn by_length(title: &str, y_desc: &str, series: &Series, log_y: bool) -> Res<Option<String>> {
    let positive = |p: &&(f64, f64)| p.0 > 0.0 && p.1 > 0.0;
    let all: Vec<(f64, f64)> = series
        .iter()
        .flat_map(|s| s.1.iter().filter(positive).copied())
        .collect();
    if all.len() < 2 {
        return Ok(None);
    }
    let (x0, x1) = all
        .iter()
        .fold((f64::INFINITY, 0f64), |a, p| (a.0.min(p.0), a.1.max(p.0)));
    let (y0, y1) = all
        .iter()
        .fold((f64::INFINITY, 0f64), |a, p| (a.0.min(p.1), a.1.max(p.1)));
    let (x0, x1) = (x0 / 1.3, x1 * 1.3);
    let (y0, y1) = if log_y {
        (y0 / 1.5, y1 * 1.5)
    } else {
        (0.0, y1 * 1.1)
    };
    let mut lengths: Vec<f64> = all.iter().map(|p| p.0).collect();
    lengths.sort_by(f64::total_cmp);
    lengths.dedup();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (RUN_WIDTH, RUN_HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        let area = legend_beside(&root, &legend_entries(series, Mark::Line))?;
        let mut builder = ChartBuilder::on(&area);
        builder
            .caption(title, (FONT, TITLE_FONT))
            .margin(10)
            .x_label_area_size(44)
            .y_label_area_size(64);
        let x = (x0..x1).log_scale().with_key_points(lengths);
        macro_rules! draw {
            ($chart:expr) => {{
                let mut chart = $chart;
                chart
                    .configure_mesh()
                    .light_line_style(WHITE)
                    .x_desc("length (log scale)")
                    .y_desc(y_desc)
                    .label_style((FONT, LABEL_FONT))
                    .x_label_formatter(&|x| tick(*x))
                    .y_label_formatter(&|y| tick(*y))
                    .draw()?;
                for (i, (_, pts)) in series.iter().enumerate() {
                    let c = color(i);
                    let mut pts: Vec<(f64, f64)> = pts.iter().filter(positive).copied().collect();
                    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                    chart.draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))?;
                    chart.draw_series(pts.iter().map(|p| Circle::new(*p, 3, c.filled())))?;
                }
            }};
        }
        if log_y {
            let y = (y0..y1).log_scale().with_key_points(log_ticks(y0, y1));
            draw!(builder.build_cartesian_2d(x, y)?);
        } else {
            draw!(builder.build_cartesian_2d(x, y0..y1)?);
        }
        root.present()?;
    }
    Ok(Some(svg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_length_still_gets_its_x_tick() {
        let series = vec![
            ("dfa".to_string(), vec![(4096.0, 0.02)]),
            ("rs".to_string(), vec![(4096.0, 0.05)]),
        ];
        let svg = by_length("MAE", "MAE", &series, true).unwrap().unwrap();
        assert!(svg.contains("\n4096\n"), "{svg}");
    }

    #[test]
    fn small_times_get_y_ticks_and_the_legend_is_beside_the_plot() {
        let series = vec![
            ("dfa".to_string(), vec![(256.0, 0.004), (65536.0, 0.9)]),
            ("rs".to_string(), vec![(256.0, 0.01), (65536.0, 2.0)]),
        ];
        let svg = by_length("time", "ms", &series, true).unwrap().unwrap();
        assert!(
            svg.contains("\n0.01\n") || svg.contains("\n0.005\n"),
            "{svg}"
        );
        // Legend labels sit right of the plot area (plot width = total − legend width).
        let plot_right =
            RUN_WIDTH - super::super::style::legend_width(&["dfa".into(), "rs".into()]);
        for label in ["\ndfa\n", "\nrs\n"] {
            let Some(at) = svg.find(label) else {
                panic!("{label} not in {svg}");
            };
            let tag = &svg[svg[..at].rfind("<text").unwrap()..at];
            let x: f64 = tag
                .split("x=\"")
                .nth(1)
                .and_then(|t| t.split('"').next())
                .and_then(|t| t.parse().ok())
                .unwrap();
            assert!(x >= f64::from(plot_right), "{label} at x = {x}");
        }
    }
}
