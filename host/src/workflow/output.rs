//! The files of a run directory: `estimates.csv`, `metrics.csv`, `leaderboard.csv`,
//! `leaderboard.md`, `metrics.json`, `manifest.json` and a self-contained `report.html` whose
//! plots are inline SVG (no network fetches).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use lrdbench_dashboard::charts;
use lrdbench_dashboard::render::{escape_html, escape_md};
use serde::{Deserialize, Serialize};

use super::execute::CellRecord;
use super::metrics::{LeaderboardRow, MetricRow};

pub(crate) mod forest;

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
pub(crate) fn write_estimates(
    path: &Path,
    run_id: &str,
    records: &[CellRecord],
) -> std::io::Result<()> {
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
pub(crate) fn write_metrics(
    path: &Path,
    rows: &[MetricRow],
    strata: &[String],
) -> std::io::Result<()> {
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
pub(crate) fn write_leaderboard_csv(path: &Path, rows: &[LeaderboardRow]) -> std::io::Result<()> {
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
pub(crate) fn leaderboard_markdown(
    name: &str,
    rows: &[LeaderboardRow],
    weights: &BTreeMap<String, f64>,
    records: &[CellRecord],
    row_names: &[String],
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
    s += &forest::markdown(&forest::without_truth(records, row_names));
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

fn plot_or_note(title: &str, drawn: lrdbench_dashboard::charts::Res<Option<String>>) -> String {
    match drawn {
        Ok(Some(svg)) => svg,
        Ok(None) => format!("<p>{}: not enough data.</p>", escape_html(title)),
        Err(e) => format!("<p>plot unavailable: {}</p>", escape_html(&e.to_string())),
    }
}

/// Whether a record's series is the user's data (a file or inline values) rather than
/// generated by a model.
fn is_data(r: &CellRecord) -> bool {
    r.series_id.starts_with("file:") || r.series_id.starts_with("inline:")
}

/// Estimate against truth, one colour per estimator row, with the identity line.
pub(crate) fn svg_estimate_vs_truth(records: &[CellRecord], rows: &[String]) -> String {
    let series: Vec<(String, Vec<(f64, f64)>)> = rows
        .iter()
        .map(|row| {
            let pts = records
                .iter()
                .filter(|r| &r.variant == row)
                .filter_map(|r| Some((r.truth_value()?, r.value?)))
                .collect();
            (row.clone(), pts)
        })
        .collect();
    match charts::run::estimate_vs_truth(&series) {
        Ok(Some(svg)) => svg,
        Ok(None) => "<p>No cell has a known truth: see the estimates per series below.</p>".into(),
        Err(e) => format!("<p>plot unavailable: {}</p>", escape_html(&e.to_string())),
    }
}

/// Per source (generated series, the user's data), the metric rows per length: computed once
/// for every chart drawn against length.
fn per_length_metrics(
    records: &[CellRecord],
    rows: &[String],
) -> Vec<(&'static str, Vec<MetricRow>)> {
    let strata = ["length".to_string()];
    [("generated", false), ("data", true)]
        .into_iter()
        .filter(|&(_, data)| records.iter().any(|r| is_data(r) == data))
        .map(|(label, data)| {
            let part = records.iter().filter(|r| is_data(r) == data);
            (label, super::metrics::compute(part, rows, &strata))
        })
        .collect()
}

/// Per estimator row, (length, metric) points: one line per row and source, generated series
/// and the user's data (files, inline values) apart, so a line never joins a model's cells to
/// a file's.
fn by_length_series(
    per_source: &[(&'static str, Vec<MetricRow>)],
    rows: &[String],
    pick: &dyn Fn(&MetricRow) -> Option<f64>,
) -> Vec<(String, Vec<(f64, f64)>)> {
    let both = per_source.len() > 1;
    let mut out = Vec::new();
    for (label, per_length) in per_source {
        for r in rows {
            let pts: Vec<(f64, f64)> = per_length
                .iter()
                .filter(|m| &m.estimator == r)
                .filter_map(|m| {
                    let len: usize = m.stratum.get("length")?.parse().ok()?;
                    Some((len as f64, pick(m)?))
                })
                .collect();
            let name = if both {
                format!("{r} ({label})")
            } else {
                r.clone()
            };
            out.push((name, pts));
        }
    }
    out
}

/// The header of `report.html`: title, provenance, machine.
fn html_head(manifest: &Manifest, failed: usize) -> String {
    let unknown;
    let machine = match &manifest.machine {
        Some(m) => m,
        None => {
            unknown = MachineFacts::unknown();
            &unknown
        }
    };
    format!(
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
    )
}

/// The leaderboard table of `report.html`, with its rule.
fn html_leaderboard(leaderboard: &[LeaderboardRow], weights: &BTreeMap<String, f64>) -> String {
    let mut html = String::from("<h2>Leaderboard</h2>\n<table><tr><th>rank</th><th>estimator</th><th>score</th><th>MAE</th><th>bias</th><th>RMSE</th><th>coverage (n, CI method)</th><th>CI width</th><th>validity</th><th>median time (ms)</th></tr>\n");
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
    html
}

/// The failures of `report.html` by estimator row and kind; empty without failures.
fn html_failures(records: &[CellRecord]) -> String {
    let mut errors: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for r in records.iter().filter(|r| !r.valid) {
        *errors
            .entry((
                r.variant.as_str(),
                r.error_kind.as_deref().unwrap_or_default(),
            ))
            .or_default() += 1;
    }
    if errors.is_empty() {
        return String::new();
    }
    let mut html = String::from(
        "\n<h2>Failures</h2>\n<table><tr><th>count</th><th>estimator</th><th>kind</th></tr>\n",
    );
    for ((est, kind), n) in errors {
        let _ = writeln!(
            html,
            "<tr><td>{n}</td><td>{}</td><td>{}</td></tr>",
            escape_html(est),
            escape_html(kind)
        );
    }
    html += "</table>\n";
    html
}

/// The self-contained HTML report: leaderboard, the estimates per series without a known
/// truth, and plots.
pub(crate) fn report_html(
    manifest: &Manifest,
    leaderboard: &[LeaderboardRow],
    weights: &BTreeMap<String, f64>,
    metrics: &[MetricRow],
    records: &[CellRecord],
    rows: &[String],
) -> String {
    let per_source = per_length_metrics(records, rows);
    let mae = by_length_series(&per_source, rows, &|m| m.mae);
    let runtime = by_length_series(&per_source, rows, &|m| m.runtime_ms);
    let no_truth = forest::without_truth(records, rows);
    // The plots are drawn side by side.
    let ((truth_svg, forest_html), (mae_svg, runtime_svg)) = rayon::join(
        || {
            rayon::join(
                || svg_estimate_vs_truth(records, rows),
                || forest::html(&no_truth),
            )
        },
        || {
            rayon::join(
                || {
                    let t = "Mean absolute error against length";
                    plot_or_note(t, charts::run::by_length(t, "MAE", &mae, false))
                },
                || {
                    let t = "Median time per call against length (log-log)";
                    plot_or_note(t, charts::run::by_length(t, "ms", &runtime, true))
                },
            )
        },
    );
    let failed = records.iter().filter(|r| !r.valid).count();
    let mut html = html_head(manifest, failed);
    html += &html_leaderboard(leaderboard, weights);
    html += &forest_html;
    html += &contamination_table(records);
    html += "<h2>Estimate vs truth</h2>\n";
    html += &truth_svg;
    html += "\n<h2>Error against length</h2>\n";
    html += &mae_svg;
    html += "\n<h2>Runtime against length</h2>\n";
    html += &runtime_svg;
    html += &html_failures(records);
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
mod markdown_tests {
    use std::collections::BTreeMap;

    use super::leaderboard_markdown;

    #[test]
    fn leaderboard_markdown_shows_a_hostile_workflow_name_as_text() {
        let md = leaderboard_markdown(
            "<img src=x onerror=alert(1)>",
            &[],
            &BTreeMap::new(),
            &[],
            &[],
        );
        assert!(!md.contains("<img"), "{md}");
        assert!(
            md.starts_with("# Leaderboard: &lt;img src=x onerror=alert(1)&gt;"),
            "{md}"
        );
    }
}
