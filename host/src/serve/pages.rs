//! The HTML pages. The dashboard pages are the report documents themselves
//! ([`lrdbench_dashboard::render`], with the reports' charts), the run pages are drawn from
//! the same [`Progress`] the JSON endpoints return, so the first paint already holds the data
//! and `/static/live.js` only keeps it current. Every string from a run or the store passes
//! through [`escape_html`].

use std::fmt::Write as _;

use lrdbench_dashboard::render::escape_html;
use lrdbench_dashboard::ReportKind;

use super::live::Progress;

/// The Content-Security-Policy of every response: nothing from elsewhere, no inline script,
/// one script from this server, fetches only back to it.
pub const CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; \
img-src 'self' data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; \
frame-ancestors 'none'";

const STYLE: &str =
    "body{font-family:sans-serif;max-width:1100px;margin:1.5em auto;padding:0 1em;color:#222}\
nav a{margin-right:1em}table{border-collapse:collapse;margin:1em 0;font-size:0.9em}\
th,td{border:1px solid #ccc;padding:0.25em 0.5em;text-align:left}th{background:#f3f3f3}\
.muted{color:#666;font-size:0.9em}progress{width:100%;height:1.4em}\
dl{display:grid;grid-template-columns:max-content auto;gap:0.2em 1em}dt{font-weight:bold}";

/// The navigation bar of every page.
pub fn nav() -> String {
    let mut s = String::from("<nav><a href=\"/\">Runs</a><a href=\"/dashboard\">Dashboard</a>");
    for k in ReportKind::DETAILED {
        let _ = write!(s, "<a href=\"/dashboard/{0}\">{0}</a>", k.as_str());
    }
    s.push_str("<a href=\"/metrics\">metrics</a></nav>\n");
    s
}

fn page(title: &str, page: &str, api: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n\
         <title>{}</title><style>{STYLE}</style></head>\n\
         <body data-page=\"{page}\" data-api=\"{}\">\n{}{body}\
         <p class=\"muted\">Read-only; updated <span id=\"updated\">at load</span>.</p>\n\
         <script src=\"/static/live.js\"></script>\n</body></html>\n",
        escape_html(title),
        escape_html(api),
        nav()
    )
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "n/a".to_string(), |v| format!("{v:.digits$}"))
}

fn duration(s: Option<f64>) -> String {
    let Some(s) = s else {
        return "n/a".into();
    };
    let s = s.round() as u64;
    let (h, m, r) = (s / 3600, (s % 3600) / 60, s % 60);
    match (h, m) {
        (0, 0) => format!("{r} s"),
        (0, _) => format!("{m} min {r} s"),
        _ => format!("{h} h {m} min {r} s"),
    }
}

fn rate(p: &Progress) -> String {
    p.rate_per_second
        .map_or_else(|| "n/a".into(), |r| format!("{r:.1} cells/s"))
}

/// The index: every run the server sees, newest first, with its progress.
pub fn index(runs: &[Progress], roots: &[std::path::PathBuf]) -> String {
    let mut body = String::from("<h1>lrdbench runs</h1>\n<p class=\"muted\">Runs under ");
    let roots: Vec<String> = roots
        .iter()
        .map(|r| format!("<code>{}</code>", escape_html(&r.display().to_string())))
        .collect();
    body += &roots.join(", ");
    body += " (<span id=\"runs-count\">";
    let _ = write!(body, "{}", runs.len());
    body += "</span> runs). A run started later appears here by itself.</p>\n\
             <table><thead><tr><th>run</th><th>workflow</th><th>status</th><th>cells</th>\
             <th>failed</th><th>rate</th><th>ETA</th><th>started</th></tr></thead>\n<tbody id=\"runs\">\n";
    for p in runs {
        let _ = writeln!(
            body,
            "<tr><td><a href=\"/runs/{id}\">{id}</a></td><td>{}</td><td>{}</td><td>{} / {}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape_html(&p.workflow),
            escape_html(&p.status),
            p.cells_done,
            p.cells_total,
            p.failed,
            rate(p),
            duration(p.eta_seconds),
            escape_html(&p.started),
            id = escape_html(&p.id),
        );
    }
    body += "</tbody></table>\n";
    page("lrdbench runs", "runs", "/api/runs", &body)
}

/// One run: progress, failures by kind, the leaderboard so far (final once complete), the
/// estimate-against-truth chart and the run's files.
pub fn run(p: &Progress) -> String {
    let id = escape_html(&p.id);
    let mut body = format!(
        "<h1>{}</h1>\n<p class=\"muted\">run {}</p>\n\
         <progress id=\"bar\" max=\"{}\" value=\"{}\"></progress>\n<dl>\
         <dt>status</dt><dd id=\"status\">{}</dd>\
         <dt>cells</dt><dd><span id=\"done\">{}</span> / <span id=\"total\">{}</span></dd>\
         <dt>failed</dt><dd id=\"failed\">{}</dd>\
         <dt>rate</dt><dd id=\"rate\">{}</dd>\
         <dt>ETA</dt><dd id=\"eta\">{}</dd></dl>\n",
        escape_html(&p.workflow),
        escape_html(&p.run_id),
        p.cells_total.max(1),
        p.cells_done,
        escape_html(&p.status),
        p.cells_done,
        p.cells_total,
        p.failed,
        rate(p),
        duration(p.eta_seconds),
    );
    body += "<h2>Failures by kind</h2>\n<table><thead><tr><th>kind</th><th>cells</th></tr></thead><tbody id=\"failures\">\n";
    for (k, n) in &p.failures_by_kind {
        let _ = writeln!(body, "<tr><td>{}</td><td>{n}</td></tr>", escape_html(k));
    }
    let _ = write!(
        body,
        "</tbody></table>\n<h2>Leaderboard</h2>\n<p class=\"muted\" id=\"board-state\">{}</p>\n\
         <table><thead><tr><th>rank</th><th>estimator</th><th>score</th><th>MAE</th><th>bias</th>\
         <th>RMSE</th><th>coverage</th><th>validity</th><th>median time (ms)</th></tr></thead>\
         <tbody id=\"board\">\n",
        if p.leaderboard_final {
            "final"
        } else {
            "so far (updates as cells finish)"
        }
    );
    for r in p.leaderboard.as_array().into_iter().flatten() {
        let m = &r["metrics"];
        let f = |k: &str, d: usize| opt(m[k].as_f64(), d);
        let _ = writeln!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            r["rank"].as_u64().unwrap_or(0),
            escape_html(r["estimator"].as_str().unwrap_or("")),
            opt(r["score"].as_f64(), 2),
            f("mae", 4),
            f("bias", 4),
            f("rmse", 4),
            f("coverage", 3),
            m["validity"]
                .as_f64()
                .map_or_else(|| "n/a".into(), |v| format!("{:.1}%", 100.0 * v)),
            f("runtime_ms", 3),
        );
    }
    let _ = write!(
        body,
        "</tbody></table>\n<h2>Estimate vs truth</h2>\n\
         <img id=\"chart\" alt=\"estimate against truth\" src=\"/runs/{id}/charts/truth.svg\">\n\
         <h2>Files</h2>\n<ul id=\"files\">\n"
    );
    for f in &p.files {
        let _ = writeln!(body, "<li><a href=\"/runs/{id}/{f}\">{f}</a></li>");
    }
    body += "</ul>\n";
    page(
        &format!("{} · lrdbench", p.workflow),
        "run",
        &format!("/api/runs/{}", p.id),
        &body,
    )
}

/// A page of the dashboard: the reports' own HTML (their CSS, their charts), with the
/// navigation bar in front.
pub fn dashboard(title: &str, fragments: &[String]) -> String {
    let mut with_nav = Vec::with_capacity(fragments.len() + 1);
    with_nav.push(nav());
    with_nav.extend_from_slice(fragments);
    lrdbench_dashboard::render::html_page(title, &with_nav)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn hostile() -> Progress {
        let evil = "<script>alert(1)</script>\"'&";
        Progress {
            id: "r1".into(),
            run_id: evil.into(),
            workflow: evil.into(),
            status: "running".into(),
            started: evil.into(),
            finished: None,
            cells_total: 10,
            cells_done: 3,
            failed: 1,
            failures_by_kind: [(evil.to_string(), 1)].into_iter().collect(),
            rate_per_second: Some(2.0),
            eta_seconds: Some(3.5),
            idle_seconds: None,
            leaderboard: serde_json::json!([{"rank": 1, "estimator": evil, "score": 1.0,
                "metrics": {"mae": 0.1, "validity": 1.0}}]),
            leaderboard_final: false,
            files: vec!["manifest.json".into()],
        }
    }

    #[test]
    fn every_run_string_is_escaped_and_the_page_carries_its_policy() {
        for html in [run(&hostile()), index(&[hostile()], &["<b>".into()])] {
            assert!(!html.contains("<script>alert"), "{html}");
            assert!(!html.contains("<b>"), "{html}");
            assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;"));
            assert!(html.contains("http-equiv=\"Content-Security-Policy\""));
            assert!(html.contains("script-src 'self'"));
            // The one script is the server's file, never inline.
            assert_eq!(html.matches("<script").count(), 1);
            assert!(html.contains("<script src=\"/static/live.js\"></script>"));
        }
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(duration(Some(3.4)), "3 s");
        assert_eq!(duration(Some(125.0)), "2 min 5 s");
        assert_eq!(duration(Some(3725.0)), "1 h 2 min 5 s");
        assert_eq!(duration(None), "n/a");
    }
}
