//! `lrdbench-host serve`: a read-only HTTP server (tiny_http: small and synchronous, no async
//! runtime) that shows the analytics dashboard of the store, the runs under the run
//! directories with their live progress, the JSON behind every page, and Prometheus metrics.
//!
//! One module per job: [`routes`] turns URLs into routes (and refuses everything that is not
//! GET or HEAD), [`paths`] decides which files a URL can reach, [`live`] follows running
//! workflows through the files they already write (no hook in the call path: a sweep no one
//! watches pays nothing), [`api`] builds the JSON, [`pages`] the HTML, [`prometheus`] the
//! `/metrics` text. This file holds the state shared by the request threads and the loop.
//!
//! **Invariant:** nothing here writes a file or the store; the store is opened read-only
//! through [`lrdbench_dashboard::Dashboard`] and [`lrdbench_analytics::read_events`].

pub mod api;
pub mod live;
pub mod pages;
pub mod paths;
pub mod prometheus;
pub mod routes;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use live::{Progress, Tracker};
use routes::{Route, RouteError};

/// Request threads: a page polls once a second, Prometheus scrapes every few seconds.
pub const THREADS: usize = 4;

/// How long a computed dashboard (every report of a period, with charts) is served before it
/// is recomputed in the background (the stale one is served meanwhile, so a page never waits
/// for the store once the server has computed the period once; `serve` computes the default
/// period at start).
pub const DASHBOARD_TTL: Duration = Duration::from_secs(30);

/// How long a `/metrics` exposition is reused: scrapes closer together read the store once.
pub const METRICS_TTL: Duration = Duration::from_secs(5);

/// What to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The address to listen on.
    pub addr: SocketAddr,
    /// Directories whose subdirectories are runs.
    pub runs: Vec<PathBuf>,
    /// The store directory (holds `analytics/`).
    pub store_dir: PathBuf,
    /// Print one line per request on standard error (method, target, status).
    pub log_requests: bool,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {reason}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        reason: String,
    },
}

/// The state every request thread shares.
pub struct State {
    /// The options.
    pub options: ServeOptions,
    trackers: Mutex<HashMap<PathBuf, Arc<Mutex<Tracker>>>>,
    dashboards: Mutex<HashMap<u32, (Instant, Arc<api::Computed>)>>,
    refreshing: Mutex<std::collections::HashSet<u32>>,
    /// Held while a dashboard is computed: a request that arrives meanwhile waits for that
    /// computation instead of starting a second one (each holds the period's events in memory).
    computing: Mutex<()>,
    metrics: Mutex<Option<(Instant, Arc<String>)>>,
    /// Host header values accepted (`None`: any), against DNS rebinding on loopback.
    hosts: Option<Vec<String>>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Every critical section leaves its data whole: a panicked request poisons nothing.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl State {
    /// The state of a server with `options`.
    pub fn new(options: ServeOptions) -> State {
        let port = options.addr.port();
        let hosts = options.addr.ip().is_loopback().then(|| {
            ["127.0.0.1", "localhost", "[::1]"]
                .iter()
                .flat_map(|h| [format!("{h}:{port}"), (*h).to_string()])
                .collect()
        });
        State {
            options,
            trackers: Mutex::new(HashMap::new()),
            dashboards: Mutex::new(HashMap::new()),
            refreshing: Mutex::new(std::collections::HashSet::new()),
            computing: Mutex::new(()),
            metrics: Mutex::new(None),
            hosts,
        }
    }

    fn tracker(&self, dir: PathBuf) -> Arc<Mutex<Tracker>> {
        lock(&self.trackers)
            .entry(dir.clone())
            .or_insert_with(|| Arc::new(Mutex::new(Tracker::new(dir))))
            .clone()
    }

    /// The progress of the run called `id`, `None` when no run has that name.
    pub fn run(&self, id: &str) -> Option<Progress> {
        let dir = paths::run_dir(&self.options.runs, id)?;
        let t = self.tracker(dir);
        let mut t = lock(&t);
        t.progress(id)
    }

    /// Every run under the run directories, newest first (by start time), without their
    /// leaderboards (`/api/runs/{id}` has them).
    pub fn runs(&self) -> Vec<Progress> {
        let mut names: Vec<String> = Vec::new();
        for root in &self.options.runs {
            let Ok(entries) = std::fs::read_dir(root) else {
                continue;
            };
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if paths::is_plain_name(&name) && !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        let mut out: Vec<Progress> = names
            .iter()
            .filter_map(|n| self.run(n))
            .map(|mut p| {
                p.leaderboard = serde_json::Value::Null;
                p
            })
            .collect();
        out.sort_by(|a, b| b.started.cmp(&a.started).then_with(|| a.id.cmp(&b.id)));
        out
    }

    /// Every report of the last `days` days with its charts, computed at most once per
    /// [`DASHBOARD_TTL`].
    ///
    /// # Errors
    ///
    /// The store cannot be read.
    pub fn dashboard(self: &Arc<Self>, days: u32) -> Result<Arc<api::Computed>, String> {
        let cached = lock(&self.dashboards).get(&days).cloned();
        match cached {
            Some((at, c)) if at.elapsed() < DASHBOARD_TTL => Ok(c),
            Some((_, c)) => {
                // Stale: served as it is while one background thread recomputes it.
                if lock(&self.refreshing).insert(days) {
                    let state = Arc::clone(self);
                    std::thread::spawn(move || {
                        let _ = state.compute_dashboard(days);
                        lock(&state.refreshing).remove(&days);
                    });
                }
                Ok(c)
            }
            None => {
                let _one_at_a_time = lock(&self.computing);
                // Computed by the request this one waited for.
                if let Some((_, c)) = lock(&self.dashboards).get(&days) {
                    return Ok(c.clone());
                }
                self.compute(days)
            }
        }
    }

    fn compute_dashboard(&self, days: u32) -> Result<Arc<api::Computed>, String> {
        let _one_at_a_time = lock(&self.computing);
        self.compute(days)
    }

    fn compute(&self, days: u32) -> Result<Arc<api::Computed>, String> {
        let c = Arc::new(api::Computed::compute(&self.options.store_dir, days)?);
        lock(&self.dashboards).insert(days, (Instant::now(), c.clone()));
        Ok(c)
    }

    /// The summary of the last `days` days: the cached dashboard's when there is one, else
    /// computed alone (as `summary --json` does, without the reports).
    ///
    /// # Errors
    ///
    /// The store cannot be read.
    pub fn summary(&self, days: u32) -> Result<lrdbench_dashboard::Summary, String> {
        if let Some((at, c)) = lock(&self.dashboards).get(&days) {
            if at.elapsed() < DASHBOARD_TTL {
                return Ok(c.reports.summary.clone());
            }
        }
        lrdbench_dashboard::Dashboard::open(&self.options.store_dir)
            .comprehensive_summary(days)
            .map_err(|e| e.to_string())
    }

    /// The `/metrics` exposition, rendered at most once per [`METRICS_TTL`].
    ///
    /// # Errors
    ///
    /// The store cannot be read.
    pub fn metrics(&self) -> Result<Arc<String>, String> {
        if let Some((at, text)) = &*lock(&self.metrics) {
            if at.elapsed() < METRICS_TTL {
                return Ok(text.clone());
            }
        }
        let dir = &self.options.store_dir;
        let events = lrdbench_analytics::read_events(dir, 0).map_err(|e| e.to_string())?;
        let lost =
            lrdbench_analytics::space::lost_total(&lrdbench_analytics::StorePaths::new(dir).dir);
        let text = Arc::new(prometheus::render(&events.calls, &self.runs(), lost));
        *lock(&self.metrics) = Some((Instant::now(), text.clone()));
        Ok(text)
    }

    fn host_allowed(&self, host: Option<&str>) -> bool {
        match (&self.hosts, host) {
            (None, _) => true,
            (Some(ok), Some(h)) => ok.iter().any(|o| o.eq_ignore_ascii_case(h)),
            (Some(_), None) => false,
        }
    }
}

/// A response before it is sent.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Content type.
    pub content_type: &'static str,
    /// Body.
    pub body: Vec<u8>,
}

impl Reply {
    fn ok(content_type: &'static str, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status: 200,
            content_type,
            body: body.into(),
        }
    }

    fn error(status: u16, message: &str) -> Reply {
        Reply {
            status,
            content_type: "text/plain; charset=utf-8",
            body: format!("{message}\n").into_bytes(),
        }
    }
}

const HTML: &str = "text/html; charset=utf-8";
const JSON: &str = "application/json";

/// Answers one request: the whole server but the socket, for tests.
pub fn respond(state: &Arc<State>, method: &str, target: &str, host: Option<&str>) -> Reply {
    if !state.host_allowed(host) {
        return Reply::error(421, "this server answers only to its loopback name");
    }
    let route = match routes::route(method, target) {
        Ok(r) => r,
        Err(RouteError::Method) => return Reply::error(405, &RouteError::Method.to_string()),
        Err(RouteError::NotFound) => return Reply::error(404, "not found"),
        Err(e @ RouteError::Bad(_)) => return Reply::error(400, &e.to_string()),
    };
    let json = |v: serde_json::Result<String>| match v {
        Ok(s) => Reply::ok(JSON, s),
        Err(e) => Reply::error(500, &e.to_string()),
    };
    match route {
        Route::Index => Reply::ok(HTML, pages::index(&state.runs(), &state.options.runs)),
        Route::Script => Reply::ok("text/javascript; charset=utf-8", LIVE_JS),
        Route::Run(id) => match state.run(&id) {
            Some(p) => Reply::ok(HTML, pages::run(&p)),
            None => Reply::error(404, "no such run"),
        },
        Route::RunFile(id, file) => {
            let Some(dir) = paths::run_dir(&state.options.runs, &id) else {
                return Reply::error(404, "no such run");
            };
            match paths::read_run_file(&dir, &file) {
                Ok(bytes) => Reply::ok(paths::run_file_type(&file).unwrap_or(JSON), bytes),
                Err(paths::FileError::NotFound) => Reply::error(404, "not found"),
                Err(paths::FileError::NotRegular) => Reply::error(403, "not a regular file"),
                Err(e) => Reply::error(500, &e.to_string()),
            }
        }
        Route::RunChart(id) => {
            let Some(dir) = paths::run_dir(&state.options.runs, &id) else {
                return Reply::error(404, "no such run");
            };
            let t = state.tracker(dir);
            let svg = lock(&t).truth_chart();
            Reply::ok("image/svg+xml", svg.as_bytes())
        }
        Route::ApiRuns => json(serde_json::to_string_pretty(&state.runs())),
        Route::ApiRun(id) => match state.run(&id) {
            Some(p) => json(serde_json::to_string_pretty(&p)),
            None => Reply::error(404, "no such run"),
        },
        Route::ApiSummary { days } => match state.summary(days) {
            Ok(summary) => json(serde_json::to_string_pretty(&summary)),
            Err(e) => Reply::error(503, &format!("cannot read the analytics store: {e}")),
        },
        Route::ApiReport { kind, days } => match state.dashboard(days) {
            Ok(c) => json(c.reports.json(kind)),
            Err(e) => Reply::error(503, &format!("cannot read the analytics store: {e}")),
        },
        Route::Dashboard { kind, days } => match state.dashboard(days) {
            Ok(c) => Reply::ok(HTML, c.page(kind)),
            Err(e) => Reply::error(503, &format!("cannot read the analytics store: {e}")),
        },
        Route::Metrics => match state.metrics() {
            Ok(text) => Reply::ok("text/plain; version=0.0.4; charset=utf-8", text.as_bytes()),
            Err(e) => Reply::error(503, &format!("cannot read the analytics store: {e}")),
        },
    }
}

/// The pages' script.
pub const LIVE_JS: &str = include_str!("live.js");

fn header(name: &str, value: &str) -> Option<tiny_http::Header> {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).ok()
}

fn handle(state: &Arc<State>, request: tiny_http::Request) {
    let method = request.method().as_str().to_string();
    let host = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Host"))
        .map(|h| h.value.as_str().to_string());
    let reply = respond(state, &method, request.url(), host.as_deref());
    if state.options.log_requests {
        eprintln!("{method} {} {}", request.url(), reply.status);
    }
    let mut response = tiny_http::Response::from_data(if method == "HEAD" {
        Vec::new()
    } else {
        reply.body
    })
    .with_status_code(reply.status);
    for (name, value) in [
        ("Content-Type", reply.content_type),
        ("Content-Security-Policy", pages::CSP),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("Cache-Control", "no-store"),
        ("X-Frame-Options", "DENY"),
    ] {
        if let Some(h) = header(name, value) {
            response.add_header(h);
        }
    }
    if reply.status == 405 {
        if let Some(h) = header("Allow", "GET, HEAD") {
            response.add_header(h);
        }
    }
    // A client that went away is not the server's error.
    let _ = request.respond(response);
}

/// A bound server, not yet answering.
pub struct Server {
    http: Arc<tiny_http::Server>,
    state: Arc<State>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("state", &self.state)
            .finish()
    }
}

impl Server {
    /// Binds the address of `options`.
    ///
    /// # Errors
    ///
    /// [`ServeError::Bind`].
    pub fn bind(mut options: ServeOptions) -> Result<Server, ServeError> {
        let addr = options.addr;
        let http = tiny_http::Server::http(addr).map_err(|e| ServeError::Bind {
            addr,
            reason: e.to_string(),
        })?;
        // The port the system chose for port 0 is the one the Host check must accept.
        if let Some(bound) = http.server_addr().to_ip() {
            options.addr = bound;
        }
        Ok(Server {
            http: Arc::new(http),
            state: Arc::new(State::new(options)),
        })
    }

    /// The address bound (with the port the system chose for port 0).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.http.server_addr().to_ip()
    }

    /// Answers requests on [`THREADS`] threads until the process ends. The dashboard of the
    /// default period is computed at once in the background, so the first page of it paints
    /// from memory.
    pub fn run(self) {
        let warm = Arc::clone(&self.state);
        std::thread::spawn(move || {
            if let Ok(c) = warm.dashboard(routes::DEFAULT_DAYS) {
                // A store that cannot be read says so on the page that needs it.
                let _ = c.regressions();
            }
        });
        let workers: Vec<_> = (0..THREADS)
            .map(|_| {
                let (http, state) = (self.http.clone(), self.state.clone());
                std::thread::spawn(move || {
                    for request in http.incoming_requests() {
                        handle(&state, request);
                    }
                })
            })
            .collect();
        for w in workers {
            let _ = w.join();
        }
    }
}

#[cfg(test)]
mod tests;
