//! URLs to routes: a pure function of the method and the request target, so every way a URL
//! could try to leave the run directories is tested without a socket. Each path segment is
//! percent-decoded on its own, so an encoded slash (`%2F`) or dot-dot (`%2e%2e`) becomes a
//! segment that no run name matches ([`super::paths::is_plain_name`]).

use lrdbench_dashboard::ReportKind;

/// Longest request target accepted.
pub const MAX_URL: usize = 2048;

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/`: the runs, with live progress, and links to the dashboard.
    Index,
    /// `/static/live.js`: the pages' one script.
    Script,
    /// `/dashboard` (every report) or `/dashboard/{kind}`, over `days`.
    Dashboard {
        /// One report, or all of them.
        kind: Option<ReportKind>,
        /// Days analysed.
        days: u32,
    },
    /// `/runs/{id}`: one run, live.
    Run(String),
    /// `/runs/{id}/{file}`: one of the run's output files.
    RunFile(String, String),
    /// `/runs/{id}/charts/truth.svg`: estimate against truth of the cells so far.
    RunChart(String),
    /// `/api/runs`.
    ApiRuns,
    /// `/api/runs/{id}`.
    ApiRun(String),
    /// `/api/summary`: what `summary --json` prints.
    ApiSummary {
        /// Days analysed.
        days: u32,
    },
    /// `/api/reports/{kind}`: what `report` writes as `<kind>_report.json`.
    ApiReport {
        /// The report.
        kind: ReportKind,
        /// Days analysed.
        days: u32,
    },
    /// `/metrics`: Prometheus.
    Metrics,
}

/// Why a request has no route.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// Not GET or HEAD: nothing here changes anything.
    #[error("method not allowed: the server is read-only (GET and HEAD only)")]
    Method,
    /// No such page.
    #[error("not found")]
    NotFound,
    /// A malformed query or URL.
    #[error("bad request: {0}")]
    Bad(String),
}

/// The days of a report when the query gives none (as `summary` and `report`).
pub const DEFAULT_DAYS: u32 = 30;

/// The route of a request.
///
/// # Errors
///
/// [`RouteError`].
pub fn route(method: &str, target: &str) -> Result<Route, RouteError> {
    if method != "GET" && method != "HEAD" {
        return Err(RouteError::Method);
    }
    if target.len() > MAX_URL {
        return Err(RouteError::Bad("URL too long".into()));
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let days = days_of(query)?;
    let raw: Vec<&str> = path.split('/').skip(1).collect();
    let mut seg = Vec::with_capacity(raw.len());
    for s in &raw {
        seg.push(percent_decode(s).ok_or(RouteError::NotFound)?);
    }
    if seg.last().is_some_and(String::is_empty) && seg.len() > 1 {
        seg.pop();
    }
    let s: Vec<&str> = seg.iter().map(String::as_str).collect();
    let run = |id: &str| -> Result<String, RouteError> {
        if super::paths::is_plain_name(id) {
            Ok(id.to_string())
        } else {
            Err(RouteError::NotFound)
        }
    };
    Ok(match s.as_slice() {
        [""] => Route::Index,
        ["static", "live.js"] => Route::Script,
        ["dashboard"] => Route::Dashboard { kind: None, days },
        ["dashboard", k] => Route::Dashboard {
            kind: Some(kind_of(k)?),
            days,
        },
        ["runs", id] => Route::Run(run(id)?),
        ["runs", id, "charts", "truth.svg"] => Route::RunChart(run(id)?),
        ["runs", id, file] if super::paths::run_file_type(file).is_some() => {
            Route::RunFile(run(id)?, (*file).to_string())
        }
        ["api", "runs"] => Route::ApiRuns,
        ["api", "runs", id] => Route::ApiRun(run(id)?),
        ["api", "summary"] => Route::ApiSummary { days },
        ["api", "reports", k] => Route::ApiReport {
            kind: kind_of(k)?,
            days,
        },
        ["metrics"] => Route::Metrics,
        _ => return Err(RouteError::NotFound),
    })
}

fn kind_of(k: &str) -> Result<ReportKind, RouteError> {
    let k = k.strip_suffix(".html").unwrap_or(k);
    let k = k.strip_suffix("_report").unwrap_or(k);
    ReportKind::DETAILED
        .into_iter()
        .chain([ReportKind::Comprehensive])
        .find(|r| r.as_str() == k)
        .ok_or(RouteError::NotFound)
}

/// `days=N` of the query (1 to 36500, as the commands take), or [`DEFAULT_DAYS`].
fn days_of(query: &str) -> Result<u32, RouteError> {
    let mut days = DEFAULT_DAYS;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if k == "days" {
            days = v
                .parse::<u32>()
                .ok()
                .filter(|d| (1..=36500).contains(d))
                .ok_or_else(|| {
                    RouteError::Bad("days must be a whole number from 1 to 36500".into())
                })?;
        }
    }
    Ok(days)
}

/// Decodes `%XX` escapes; `None` for a malformed escape or bytes that are not UTF-8.
pub fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn pages_and_endpoints_route() {
        assert_eq!(route("GET", "/"), Ok(Route::Index));
        assert_eq!(route("HEAD", "/metrics"), Ok(Route::Metrics));
        assert_eq!(route("GET", "/api/runs/"), Ok(Route::ApiRuns));
        assert_eq!(
            route("GET", "/api/summary?days=7"),
            Ok(Route::ApiSummary { days: 7 })
        );
        assert_eq!(
            route("GET", "/dashboard/reliability?days=90"),
            Ok(Route::Dashboard {
                kind: Some(ReportKind::Reliability),
                days: 90
            })
        );
        assert_eq!(
            route("GET", "/api/reports/usage"),
            Ok(Route::ApiReport {
                kind: ReportKind::Usage,
                days: DEFAULT_DAYS
            })
        );
        assert_eq!(
            route("GET", "/runs/sweep-1/report.html"),
            Ok(Route::RunFile("sweep-1".into(), "report.html".into()))
        );
        assert_eq!(
            route("GET", "/runs/sweep-1/charts/truth.svg"),
            Ok(Route::RunChart("sweep-1".into()))
        );
    }

    #[test]
    fn nothing_but_get_and_head_is_served() {
        for m in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
            assert_eq!(route(m, "/"), Err(RouteError::Method), "{m}");
        }
    }

    #[test]
    fn dot_dot_encoded_slashes_and_unlisted_files_find_nothing() {
        for bad in [
            "/runs/..",
            "/runs/../etc/passwd",
            "/runs/%2e%2e/manifest.json",
            "/runs/%2E%2E%2Fsecret/manifest.json",
            "/runs/a%2Fb",
            "/runs/a%2fb/report.html",
            "/runs/.hidden",
            "/runs/x/../../etc/passwd",
            "/runs/x/workflow.toml",
            "/runs/x/%2e%2e%2fsecret.txt",
            "/runs/x/charts/../report.html",
            "/api/runs/..%2F..",
            "/runs/%ZZ",
            "/runs/%c3%28",
            "/runs/a%00b",
            "//etc/passwd",
        ] {
            assert_eq!(route("GET", bad), Err(RouteError::NotFound), "{bad}");
        }
    }

    #[test]
    fn bad_days_are_a_bad_request() {
        for q in ["days=0", "days=-1", "days=x", "days=36501", "days="] {
            assert!(
                matches!(
                    route("GET", &format!("/api/summary?{q}")),
                    Err(RouteError::Bad(_))
                ),
                "{q}"
            );
        }
    }
}
