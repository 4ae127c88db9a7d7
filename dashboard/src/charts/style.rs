//! The look every chart shares — the dashboard's pages and a run's `report.html` alike: one
//! palette, one tick format, one font size, legends beside the plot (never over the data), and
//! log-axis ticks that reach the smallest values.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::Res;

/// Axis label and legend font size: readable at 100% zoom.
pub const LABEL_FONT: u32 = 14;

/// Title font size.
pub const TITLE_FONT: u32 = 18;

/// The font family (generic, so no font library is needed to build or view).
pub const FONT: &str = "sans-serif";

/// Twenty colours far apart to the eye (mostly Kelly's list of maximum contrast), so that a
/// sweep's nineteen estimator rows each get their own: every pair is at least 80 apart in the
/// "redmean" weighted RGB distance.
pub const PALETTE: [RGBColor; 20] = [
    RGBColor(0x00, 0x67, 0xA5),
    RGBColor(0xF3, 0x84, 0x00),
    RGBColor(0x00, 0x88, 0x56),
    RGBColor(0xBE, 0x00, 0x32),
    RGBColor(0x87, 0x56, 0x92),
    RGBColor(0x88, 0x2D, 0x17),
    RGBColor(0xE6, 0x8F, 0xAC),
    RGBColor(0x84, 0x84, 0x82),
    RGBColor(0x8D, 0xB6, 0x00),
    RGBColor(0x20, 0x20, 0xFF),
    RGBColor(0x00, 0xA0, 0xA0),
    RGBColor(0xA1, 0xCA, 0xF1),
    RGBColor(0xB3, 0x44, 0x6C),
    RGBColor(0xC2, 0xB2, 0x80),
    RGBColor(0x2B, 0x3D, 0x26),
    RGBColor(0xF9, 0x93, 0x79),
    RGBColor(0x00, 0x00, 0x00),
    RGBColor(0xDC, 0xD3, 0x00),
    RGBColor(0xE2, 0x58, 0x22),
    RGBColor(0x00, 0x00, 0x80),
];

/// The `i`-th colour of [`PALETTE`], cycling.
pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// A tick label: at most three significant digits, no trailing zeros, no exponent, so that a
/// log axis reads 0.3 and 2000, not 0.30000000000000004.
pub fn tick(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return "0".into();
    }
    let magnitude = v.abs().log10().floor() as i32;
    let decimals = (2 - magnitude).max(0) as usize;
    let text = format!("{v:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// Ticks for a log axis over `[lo, hi]`: 1, 2 and 5 times every power of ten inside it,
/// thinned to 1 and 5, then to the powers alone, until at most 12 remain; both ends of a range
/// narrower than one step get their own tick. So a time axis from 0.003 ms to 40 ms is labelled
/// below 0.1 ms too.
pub fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    if !(lo > 0.0 && hi > lo && lo.is_finite() && hi.is_finite()) {
        return Vec::new();
    }
    let first = lo.log10().floor() as i32;
    let last = hi.log10().ceil() as i32;
    for mantissas in [&[1.0, 2.0, 5.0][..], &[1.0, 5.0][..], &[1.0][..]] {
        let mut out = Vec::new();
        for e in first..=last {
            for m in mantissas {
                let v = m * 10f64.powi(e);
                if v >= lo && v <= hi {
                    out.push(v);
                }
            }
        }
        if out.len() <= 12 {
            if out.len() < 2 {
                out = vec![lo, hi];
            }
            return out;
        }
    }
    // Many decades: every other power of ten.
    (first..=last)
        .step_by(2)
        .map(|e| 10f64.powi(e))
        .filter(|v| *v >= lo && *v <= hi)
        .collect()
}

/// How a legend entry is marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// A dot (scatter series).
    Dot,
    /// A short line (line series).
    Line,
    /// A filled square (bars).
    Square,
}

/// The width of a legend of these labels beside a plot, in pixels.
pub fn legend_width(labels: &[String]) -> u32 {
    let chars = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0) as u32;
    (chars * LABEL_FONT * 6 / 10 + 40).clamp(80, 260)
}

/// Splits `root` into the plot area (left) and a legend (right) listing `entries`, drawn
/// there; returns the plot area. A legend never covers data this way.
pub fn legend_beside<'a>(
    root: &DrawingArea<SVGBackend<'a>, Shift>,
    entries: &[(String, RGBColor, Mark)],
) -> Res<DrawingArea<SVGBackend<'a>, Shift>> {
    if entries.is_empty() {
        return Ok(root.clone());
    }
    let labels: Vec<String> = entries.iter().map(|e| e.0.clone()).collect();
    let (w, _) = root.dim_in_pixel();
    let (plot, side) = root.split_horizontally(w.saturating_sub(legend_width(&labels)));
    let line = LABEL_FONT as i32 + 6;
    for (i, (label, c, mark)) in entries.iter().enumerate() {
        let y = 40 + i as i32 * line;
        match mark {
            Mark::Dot => side.draw(&Circle::new((12, y), 5, c.filled()))?,
            Mark::Line => side.draw(&PathElement::new(vec![(4, y), (22, y)], c.stroke_width(3)))?,
            Mark::Square => side.draw(&Rectangle::new([(6, y - 6), (18, y + 6)], c.filled()))?,
        }
        side.draw(&Text::new(
            label.clone(),
            (28, y - LABEL_FONT as i32 / 2 - 1),
            (FONT, LABEL_FONT),
        ))?;
    }
    Ok(plot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_are_short_and_exact_looking() {
        assert_eq!(tick(0.30000000000000004), "0.3");
        assert_eq!(tick(0.020000000000000004), "0.02");
        assert_eq!(tick(2000.0000000000002), "2000");
        assert_eq!(tick(65536.0), "65536");
        assert_eq!(tick(0.00012345), "0.000123");
        assert_eq!(tick(1.5), "1.5");
    }

    #[test]
    fn log_ticks_reach_below_a_tenth() {
        let t = log_ticks(0.003, 40.0);
        assert!(t.contains(&0.005) || t.contains(&0.01), "{t:?}");
        assert!(t.len() <= 12 && t.len() >= 4, "{t:?}");
        assert!(t.iter().all(|v| *v >= 0.003 && *v <= 40.0));
        // A narrow range still gets two ticks.
        assert_eq!(log_ticks(0.031, 0.034).len(), 2);
    }

    #[test]
    fn the_palette_tells_nineteen_series_apart() {
        // The "redmean" approximation of perceived colour difference; 80 keeps pairs such as
        // two oranges or two purples apart at a glance.
        let distance = |a: &RGBColor, b: &RGBColor| {
            let r = (f64::from(a.0) + f64::from(b.0)) / 2.0;
            let (dr, dg, db) = (
                f64::from(a.0) - f64::from(b.0),
                f64::from(a.1) - f64::from(b.1),
                f64::from(a.2) - f64::from(b.2),
            );
            ((2.0 + r / 256.0) * dr * dr + 4.0 * dg * dg + (2.0 + (255.0 - r) / 256.0) * db * db)
                .sqrt()
        };
        for (i, a) in PALETTE.iter().enumerate() {
            for b in &PALETTE[i + 1..] {
                assert!(distance(a, b) >= 80.0, "{a:?} and {b:?} are too close");
            }
        }
        assert!(PALETTE.len() >= 19);
    }
}
