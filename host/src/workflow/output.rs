//! The files of a run directory: `estimates.csv`, `metrics.csv`, `leaderboard.csv`,
//! `leaderboard.md`, `metrics.json`, `manifest.json` and a self-contained `report.html` whose
//! plots are inline SVG (no network fetches).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use lrdbench_dashboard::render::{escape_html, escape_md};
use plotters::prelude::*;
use serde::{Deserialize, Serialize};

use super::execute::CellRecord;
use super::metrics::{LeaderboardRow, MetricRow};

fn opt(v: Option<f64>) -> String {
    v.map(|x| format!("{x}")).unwrap_or_default()
}

/// Fields of one CSV row, formatted into one reused buffer (no allocation per field).
struct Fields<W: std::io::Write> {
    w: csv::Writer<W>,
    buf: String,
}

impl<W: std::io::Write> Fields<W> {
    fn text(&mut self, s: &str) -> csv::Result<()> {
        self.w.write_field(s)
    }

    fn display(&mut self, v: impl std::fmt::Display) -> csv::Result<()> {
        self.buf.clear();
        let _ = write!(self.buf, "{v}");
        self.w.write_field(&self.buf)
    }

    fn opt(&mut self, v: Option<f64>) -> csv::Result<()> {
        match v {
            Some(x) => self.display(x),
            None => self.w.write_field(""),
        }
    }

    fn end(&mut self) -> csv::Result<()> {
        self.w.write_record(None::<&[u8]>)
    }
}

/// Writes `estimates.csv`: one row per cell, in plan order.
///
/// # Errors
///
/// I/O and CSV errors.
pub fn write_estimates(path: &Path, run_id: &str, records: &[CellRecord]) -> std::io::Result<()> {
    let w = csv::WriterBuilder::new()
        .buffer_capacity(1 << 16)
        .from_path(path)?;
    let mut f = Fields {
        w,
        buf: String::new(),
    };
    f.w.write_record([
        "run_id",
        "series_id",
        "model",
        "truth",
        "length",
        "contamination",
        "estimator",
        "variant",
        "params",
        "estimand",
        "value",
        "stderr",
        "ci_low",
        "ci_high",
        "ci_level",
        "ci_method",
        "r_squared",
        "valid",
        "error_kind",
        "error_message",
        "elapsed_ms",
        "warnings",
        "cell_sha256",
    ])?;
    for r in records {
        f.text(run_id)?;
        f.text(&r.series_id)?;
        f.text(&r.origin)?;
        f.buf.clear();
        for (i, (k, v)) in r.truth.iter().enumerate() {
            let sep = if i == 0 { "" } else { ";" };
            let _ = write!(f.buf, "{sep}{k}={v}");
        }
        f.w.write_field(&f.buf)?;
        f.display(r.length)?;
        f.text(&r.contamination)?;
        f.text(&r.estimator)?;
        f.text(&r.variant)?;
        f.text(&r.params)?;
        f.text(&r.estimand)?;
        f.opt(r.value)?;
        f.opt(r.stderr)?;
        f.opt(r.ci_low)?;
        f.opt(r.ci_high)?;
        f.opt(r.ci_level)?;
        f.text(r.ci_method.as_deref().unwrap_or_default())?;
        f.opt(r.r_squared)?;
        f.text(if r.valid { "true" } else { "false" })?;
        f.text(r.error_kind.as_deref().unwrap_or_default())?;
        f.text(r.error_message.as_deref().unwrap_or_default())?;
        f.buf.clear();
        let _ = write!(f.buf, "{:.4}", r.elapsed_ms);
        f.w.write_field(&f.buf)?;
        f.buf.clear();
        for (i, w) in r.warnings.iter().enumerate() {
            f.buf += if i == 0 { "" } else { "; " };
            f.buf += w;
        }
        f.w.write_field(&f.buf)?;
        f.text(&r.hash)?;
        f.end()?;
    }
    f.w.flush()
}

/// Writes `metrics.csv`: one row per estimator row × stratum.
///
/// # Errors
///
/// I/O and CSV errors.
pub fn write_metrics(path: &Path, rows: &[MetricRow], strata: &[String]) -> std::io::Result<()> {
    let mut w = csv::Writer::from_path(path)?;
    let mut header = vec!["estimator".to_string()];
    header.extend(strata.iter().cloned());
    header.extend(
        [
            "attempted",
            "valid",
            "validity",
            "with_truth",
            "bias",
            "mae",
            "rmse",
            "with_interval",
            "coverage",
            "nominal_level",
            "ci_width",
            "ci_methods",
            "runtime_ms",
        ]
        .map(String::from),
    );
    w.write_record(&header)?;
    for m in rows {
        let mut rec = vec![m.estimator.clone()];
        rec.extend(
            strata
                .iter()
                .map(|s| m.stratum.get(s).cloned().unwrap_or_else(|| "all".into())),
        );
        rec.extend([
            m.attempted.to_string(),
            m.valid.to_string(),
            format!("{:.6}", m.validity),
            m.with_truth.to_string(),
            opt(m.bias),
            opt(m.mae),
            opt(m.rmse),
            m.with_interval.to_string(),
            opt(m.coverage),
            opt(m.nominal_level),
            opt(m.ci_width),
            m.ci_methods.clone(),
            opt(m.runtime_ms),
        ]);
        w.write_record(&rec)?;
    }
    w.flush()
}

/// Writes `leaderboard.csv`.
///
/// # Errors
///
/// I/O and CSV errors.
pub fn write_leaderboard_csv(path: &Path, rows: &[LeaderboardRow]) -> std::io::Result<()> {
    let mut w = csv::Writer::from_path(path)?;
    w.write_record([
        "rank",
        "estimator",
        "score",
        "mae",
        "bias",
        "rmse",
        "coverage",
        "ci_width",
        "validity",
        "runtime_ms",
        "component_ranks",
    ])?;
    for r in rows {
        let m = &r.metrics;
        w.write_record([
            r.rank.to_string(),
            r.estimator.clone(),
            format!("{:.3}", r.score),
            opt(m.mae),
            opt(m.bias),
            opt(m.rmse),
            opt(m.coverage),
            opt(m.ci_width),
            format!("{:.6}", m.validity),
            opt(m.runtime_ms),
            r.ranks
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(";"),
        ])?;
    }
    w.flush()
}

fn f(v: Option<f64>, digits: usize) -> String {
    v.map(|x| format!("{x:.digits$}"))
        .unwrap_or_else(|| "–".into())
}

/// The leaderboard as a Markdown table, with the ranking rule stated under it.
pub fn leaderboard_markdown(
    name: &str,
    rows: &[LeaderboardRow],
    weights: &BTreeMap<String, f64>,
) -> String {
    // The workflow name is the user's text: Markdown renderers pass raw HTML through.
    let mut s = format!("# Leaderboard: {}\n\n", escape_md(name));
    s += "| rank | estimator | score | MAE | bias | RMSE | coverage (n, CI method) | CI width | validity | median time |\n";
    s += "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    for r in rows {
        let m = &r.metrics;
        let _ = writeln!(
            s,
            "| {} | {} | {:.2} | {} | {} | {} | {} ({}, {}) | {} | {:.1}% ({}/{}) | {} ms |",
            r.rank,
            r.estimator,
            r.score,
            f(m.mae, 4),
            f(m.bias, 4),
            f(m.rmse, 4),
            f(m.coverage, 3),
            m.with_interval,
            m.ci_methods,
            f(m.ci_width, 3),
            100.0 * m.validity,
            m.valid,
            m.attempted,
            f(m.runtime_ms, 3)
        );
    }
    let w: Vec<String> = weights.iter().map(|(k, v)| format!("{k} × {v}")).collect();
    let _ = write!(
        s,
        "\nScore = Σ weight × rank over: {}. Each metric ranks rows best-first (bias by |bias|, coverage by \
         its distance to the nominal level, validity higher-better, the rest lower-better; runtimes within 1.5× of \
         each other, or whose 95% intervals of the median overlap, tie); tied values share the average of their \
         ranks; a row without the metric ranks last. Lower score is better; scores are compared at 6 decimals and \
         equal scores share a rank.\n",
        w.join(", ")
    );
    s
}

/// The run manifest: provenance of every input and the machine.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// The run id.
    pub run_id: String,
    /// `running`, `complete` or `interrupted`.
    pub status: String,
    /// The workflow's name.
    pub workflow: String,
    /// Path of the workflow file.
    pub workflow_path: String,
    /// SHA-256 of the workflow file.
    pub workflow_sha256: String,
    /// The workflow seed.
    pub seed: u64,
    /// Version of the host.
    pub host_version: String,
    /// Every plugin used.
    pub plugins: Vec<PluginProvenance>,
    /// The machine (absent while the run is in progress: the facts are read beside the cells).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub machine: Option<MachineFacts>,
    /// Cells in the plan.
    pub cells: usize,
    /// Cells done.
    pub cells_done: usize,
    /// Worker threads.
    pub threads: usize,
    /// Start time (RFC 3339, UTC).
    pub started: String,
    /// End time (RFC 3339, UTC), when finished.
    pub finished: Option<String>,
    /// The shard of a sharded sweep this run is (absent for a whole run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<super::shard::ShardInfo>,
}

/// One plugin in the manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PluginProvenance {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Library file.
    pub path: String,
    /// SHA-256 of the library file.
    pub sha256: String,
}

/// Machine facts, read once per run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MachineFacts {
    /// CPU model.
    pub cpu: String,
    /// Logical cores.
    pub cores: usize,
    /// Total memory, bytes.
    pub memory_bytes: u64,
    /// Operating system.
    pub os: String,
}

impl MachineFacts {
    /// The facts of a machine that could not be read.
    pub fn unknown() -> MachineFacts {
        MachineFacts {
            cpu: "unknown".into(),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_bytes: 0,
            os: std::env::consts::OS.to_string(),
        }
    }

    /// The facts analytics reads once per process with sysinfo (a few hundred microseconds
    /// of /proc reads: at most once per process, on the run's own thread, never per call).
    pub fn read() -> MachineFacts {
        let m = lrdbench_analytics::measure::machine();
        MachineFacts {
            cpu: m.cpu.clone(),
            cores: usize::try_from(m.cores).unwrap_or(usize::MAX),
            memory_bytes: m.memory_bytes,
            os: m.os.clone(),
        }
    }
}

/// Twenty colours far apart to the eye (mostly Kelly's list of maximum contrast), so that a
/// sweep's nineteen estimator rows each get their own: every pair is at least 80 apart in the
/// "redmean" weighted RGB distance.
const PALETTE: [RGBColor; 20] = [
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

fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// A tick label: at most three significant digits, no trailing zeros, no exponent, so that a
/// log axis reads 0.3 and 2000, not 0.30000000000000004.
fn tick(v: f64) -> String {
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

/// Axis label font size: readable at 100% zoom.
const LABEL_FONT: u32 = 14;

fn plot_error(e: impl std::fmt::Display) -> String {
    format!("<p>plot unavailable: {e}</p>")
}

/// Estimate against truth, one colour per estimator row, with the identity line.
pub fn svg_estimate_vs_truth(records: &[CellRecord], rows: &[String]) -> String {
    let pts: Vec<(usize, f64, f64)> = records
        .iter()
        .filter_map(|r| {
            Some((
                rows.iter().position(|x| x == &r.variant)?,
                r.truth_value()?,
                r.value?,
            ))
        })
        .collect();
    if pts.is_empty() {
        return "<p>No cell has a known truth.</p>".into();
    }
    let lo = pts
        .iter()
        .map(|p| p.1.min(p.2))
        .fold(f64::INFINITY, f64::min)
        .min(0.0);
    let hi = pts
        .iter()
        .map(|p| p.1.max(p.2))
        .fold(f64::NEG_INFINITY, f64::max)
        .max(1.0);
    // A margin so that points on the extremes are drawn whole, not cut by the frame.
    let pad = 0.03 * (hi - lo);
    let (lo, hi) = (lo - pad, hi + pad);
    let mut svg = String::new();
    let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut svg, (720, 480)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("Estimate vs truth", ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(lo..hi, lo..hi)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_desc("true value")
            .y_desc("estimate")
            .label_style(("sans-serif", LABEL_FONT))
            .x_label_formatter(&|v| tick(*v))
            .y_label_formatter(&|v| tick(*v))
            .draw()?;
        chart.draw_series(LineSeries::new(vec![(lo, lo), (hi, hi)], BLACK.mix(0.4)))?;
        for (i, name) in rows.iter().enumerate() {
            let c = color(i);
            chart
                .draw_series(
                    pts.iter()
                        .filter(|p| p.0 == i)
                        .map(|p| Circle::new((p.1, p.2), 3, c.mix(0.6).filled())),
                )?
                .label(name.as_str())
                .legend(move |(x, y)| Circle::new((x, y), 4, c.filled()));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
        Ok(())
    })();
    match drawn {
        Ok(()) => svg,
        Err(e) => plot_error(e),
    }
}

/// A per-estimator series of (length, value) on log axes.
fn svg_by_length(
    title: &str,
    y_desc: &str,
    series: &[(String, Vec<(f64, f64)>)],
    log_y: bool,
) -> String {
    let all: Vec<(f64, f64)> = series
        .iter()
        .flat_map(|s| s.1.iter().copied())
        .filter(|p| p.0 > 0.0 && p.1 > 0.0)
        .collect();
    if all.len() < 2 {
        return format!("<p>{title}: not enough data.</p>");
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
    let mut svg = String::new();
    let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut svg, (720, 480)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut builder = ChartBuilder::on(&root);
        builder
            .caption(title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60);
        macro_rules! draw {
            ($chart:expr) => {{
                let mut chart = $chart;
                chart
                    .configure_mesh()
                    .light_line_style(WHITE)
                    .x_desc("length (log scale)")
                    .y_desc(y_desc)
                    .label_style(("sans-serif", LABEL_FONT))
                    .x_label_formatter(&|x| tick(*x))
                    .y_label_formatter(&|y| tick(*y))
                    .draw()?;
                for (i, (name, pts)) in series.iter().enumerate() {
                    let c = color(i);
                    let mut pts: Vec<(f64, f64)> = pts
                        .iter()
                        .copied()
                        .filter(|p| p.0 > 0.0 && p.1 > 0.0)
                        .collect();
                    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                    chart
                        .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))?
                        .label(name.as_str())
                        .legend(move |(x, y)| {
                            PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2))
                        });
                    chart.draw_series(pts.iter().map(|p| Circle::new(*p, 3, c.filled())))?;
                }
                chart
                    .configure_series_labels()
                    .position(SeriesLabelPosition::UpperRight)
                    .background_style(WHITE.mix(0.8))
                    .border_style(BLACK)
                    .draw()?;
            }};
        }
        // The lengths themselves are the x ticks: a log axis left to choose its own may have
        // none between n/1.3 and 1.3 n when the workflow has one length.
        let mut lengths: Vec<f64> = all.iter().map(|p| p.0).collect();
        lengths.sort_by(f64::total_cmp);
        lengths.dedup();
        let x = (x0..x1).log_scale().with_key_points(lengths);
        if log_y {
            draw!(builder.build_cartesian_2d(x, (y0..y1).log_scale())?);
        } else {
            draw!(builder.build_cartesian_2d(x, y0..y1)?);
        }
        root.present()?;
        Ok(())
    })();
    match drawn {
        Ok(()) => svg,
        Err(e) => plot_error(e),
    }
}

/// The self-contained HTML report: leaderboard and plots.
pub fn report_html(
    manifest: &Manifest,
    leaderboard: &[LeaderboardRow],
    weights: &BTreeMap<String, f64>,
    metrics: &[MetricRow],
    records: &[CellRecord],
    rows: &[String],
) -> String {
    // Metrics per row × length, in one pass over the records.
    let per_length = super::metrics::compute(records, rows, &["length".to_string()]);
    let by_length = |pick: &dyn Fn(&MetricRow) -> Option<f64>| -> Vec<(String, Vec<(f64, f64)>)> {
        rows.iter()
            .map(|r| {
                let pts = per_length
                    .iter()
                    .filter(|m| &m.estimator == r)
                    .filter_map(|m| {
                        let len: usize = m.stratum.get("length")?.parse().ok()?;
                        Some((len as f64, pick(m)?))
                    })
                    .collect();
                (r.clone(), pts)
            })
            .collect()
    };
    let mae = by_length(&|m| m.mae);
    let runtime = by_length(&|m| m.runtime_ms);
    // The three plots are drawn side by side.
    let (truth_svg, (mae_svg, runtime_svg)) = rayon::join(
        || svg_estimate_vs_truth(records, rows),
        || {
            rayon::join(
                || svg_by_length("Mean absolute error against length", "MAE", &mae, false),
                || {
                    svg_by_length(
                        "Median time per call against length (log-log)",
                        "ms",
                        &runtime,
                        true,
                    )
                },
            )
        },
    );
    let failed = records.iter().filter(|r| !r.valid).count();
    let unknown;
    let machine = match &manifest.machine {
        Some(m) => m,
        None => {
            unknown = MachineFacts::unknown();
            &unknown
        }
    };
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>lrdbench run {id}</title>\n<style>\
         body{{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}}\
         table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}\
         td:nth-child(2),th:nth-child(2){{text-align:left}}th{{background:#f3f3f3}}.muted{{color:#666}}\
         </style></head><body>\n<h1>{name}</h1>\n<p class=\"muted\">run {id} · {status} · {done}/{cells} cells · \
         {failed} failed · workflow sha256 {sha} · seed {seed}</p>\n<p class=\"muted\">{cpu}, {cores} cores, {os}</p>\n",
        id = escape_html(&manifest.run_id),
        name = escape_html(&manifest.workflow),
        status = manifest.status,
        done = manifest.cells_done,
        cells = manifest.cells,
        sha = &manifest.workflow_sha256[..16.min(manifest.workflow_sha256.len())],
        seed = manifest.seed,
        cpu = escape_html(&machine.cpu),
        cores = machine.cores,
        os = escape_html(&machine.os),
    );
    html += "<h2>Leaderboard</h2>\n<table><tr><th>rank</th><th>estimator</th><th>score</th><th>MAE</th><th>bias</th><th>RMSE</th><th>coverage (n, CI method)</th><th>CI width</th><th>validity</th><th>median time (ms)</th></tr>\n";
    for r in leaderboard {
        let m = &r.metrics;
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{:.2}</td><td>{}</td><td>{}</td><td>{}</td><td>{} ({}, {})</td><td>{}</td><td>{:.1}% ({}/{})</td><td>{}</td></tr>",
            r.rank,
            escape_html(&r.estimator),
            r.score,
            f(m.mae, 4),
            f(m.bias, 4),
            f(m.rmse, 4),
            f(m.coverage, 3),
            m.with_interval,
            escape_html(&m.ci_methods),
            f(m.ci_width, 3),
            100.0 * m.validity,
            m.valid,
            m.attempted,
            f(m.runtime_ms, 3)
        );
    }
    html += "</table>\n";
    let w: Vec<String> = weights.iter().map(|(k, v)| format!("{k} × {v}")).collect();
    let _ = writeln!(
        html,
        "<p class=\"muted\">Score = Σ weight × rank ({}); ties share average ranks; lower is better. \
         Bias, MAE and RMSE are over valid cells with known truth; coverage over valid cells with an interval; \
         validity over attempted cells.</p>",
        w.join(", ")
    );
    html += &contamination_table(records);
    html += "<h2>Estimate vs truth</h2>\n";
    html += &truth_svg;
    html += "\n<h2>Error against length</h2>\n";
    html += &mae_svg;
    html += "\n<h2>Runtime against length</h2>\n";
    html += &runtime_svg;
    let errors: BTreeMap<(String, String), usize> =
        records
            .iter()
            .filter(|r| !r.valid)
            .fold(BTreeMap::new(), |mut m, r| {
                *m.entry((r.variant.clone(), r.error_kind.clone().unwrap_or_default()))
                    .or_default() += 1;
                m
            });
    if !errors.is_empty() {
        html +=
            "\n<h2>Failures</h2>\n<table><tr><th>count</th><th>estimator</th><th>kind</th></tr>\n";
        for ((est, kind), n) in errors {
            let _ = writeln!(
                html,
                "<tr><td>{n}</td><td>{}</td><td>{}</td></tr>",
                escape_html(&est),
                escape_html(&kind)
            );
        }
        html += "</table>\n";
    }
    let _ = writeln!(
        html,
        "<p class=\"muted\">{} metric rows in metrics.csv; every cell in estimates.csv.</p>",
        metrics.len()
    );
    html += "</body></html>\n";
    html
}

/// Accuracy and validity of each estimator row under each contamination variant, when the
/// run has more than one: the point of a robustness workflow. Empty otherwise.
fn contamination_table(records: &[CellRecord]) -> String {
    // (row, contamination) → (attempted, valid, Σ|error|, cells with truth)
    let mut cells: BTreeMap<(&str, &str), (usize, usize, f64, usize)> = BTreeMap::new();
    for r in records {
        let e = cells
            .entry((r.variant.as_str(), r.contamination.as_str()))
            .or_default();
        e.0 += 1;
        if r.valid {
            e.1 += 1;
            if let (Some(v), Some(t)) = (r.value, r.truth_value()) {
                e.2 += (v - t).abs();
                e.3 += 1;
            }
        }
    }
    let mut variants: Vec<&str> = cells.keys().map(|k| k.1).collect();
    variants.sort_unstable();
    variants.dedup();
    if variants.len() < 2 {
        return String::new();
    }
    // `clean` first, as the baseline the others are read against.
    variants.sort_by_key(|v| (*v != "clean", *v));
    let mut rows: Vec<&str> = cells.keys().map(|k| k.0).collect();
    rows.dedup();
    let mut html = String::from(
        "<h2>By contamination</h2>\n<p class=\"muted\">MAE over valid cells with known truth, and \
         valid/attempted cells, per estimator row and contamination variant.</p>\n<table><tr><th>estimator</th>",
    );
    for v in &variants {
        let _ = write!(html, "<th>{}</th>", escape_html(v));
    }
    html += "</tr>\n";
    for row in rows {
        let _ = write!(html, "<tr><td>{}</td>", escape_html(row));
        for v in &variants {
            match cells.get(&(row, *v)) {
                Some(&(attempted, valid, sum, k)) => {
                    let mae = (k > 0).then(|| sum / k as f64);
                    let _ = write!(html, "<td>{} ({valid}/{attempted})</td>", f(mae, 3));
                }
                None => html += "<td>–</td>",
            }
        }
        html += "</tr>\n";
    }
    html += "</table>\n";
    html
}

#[cfg(test)]
mod chart_tests {
    use super::{svg_by_length, tick, PALETTE};

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
    fn the_palette_tells_nineteen_series_apart() {
        // The "redmean" approximation of perceived colour difference; 80 keeps pairs such as
        // two oranges or two purples apart at a glance.
        let distance = |a: &plotters::style::RGBColor, b: &plotters::style::RGBColor| {
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

    #[test]
    fn a_single_length_still_gets_its_x_tick() {
        let series = vec![
            ("dfa".to_string(), vec![(4096.0, 0.02)]),
            ("rs".to_string(), vec![(4096.0, 0.05)]),
        ];
        let svg = svg_by_length("MAE", "MAE", &series, true);
        assert!(svg.contains("\n4096\n"), "{svg}");
    }
}

#[cfg(test)]
mod markdown_tests {
    use std::collections::BTreeMap;

    use super::leaderboard_markdown;

    #[test]
    fn leaderboard_markdown_shows_a_hostile_workflow_name_as_text() {
        let md = leaderboard_markdown("<img src=x onerror=alert(1)>", &[], &BTreeMap::new());
        assert!(!md.contains("<img"), "{md}");
        assert!(
            md.starts_with("# Leaderboard: &lt;img src=x onerror=alert(1)&gt;"),
            "{md}"
        );
    }
}
