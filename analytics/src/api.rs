//! The library API: the Rust form of the spec's Python calls, for the host and for programs
//! that embed lrdbench.
//!
//! | spec (Python)                         | here                                        |
//! |---------------------------------------|---------------------------------------------|
//! | `enable_analytics(enable, privacy)`   | [`Analytics::enable_analytics`]             |
//! | `tracker.track_estimator_usage(...)`  | [`Analytics::track_estimator_usage`]        |
//! | `@track_usage(name, data_length=..)`  | [`Analytics::track_usage`]                  |
//! | `@monitor_performance(name)`          | [`Analytics::monitor_performance`]          |
//! | `@track_errors(name)`                 | [`Analytics::track_errors`]                 |
//! | `@track_workflow(step_type)`          | [`Analytics::track_workflow`], [`Workflow`] |
//!
//! Unlike the original, every wrapper records one complete [`CallEvent`] (usage, performance
//! and error linked), wrappers never change what the wrapped function returns, panics are
//! recorded and re-raised, and workflow steps of one run share one run id and a sequence.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

use crate::config::{self, AnalyticsConfig, ConfigError};
use crate::event::{CallEvent, CallView, ErrorInfo, Event, EventType, StepEvent, StepType};
use crate::measure::Probe;
use crate::privacy::{self, Identity};
use crate::recorder::{Recorder, RecorderOptions};
use crate::store::StoreError;

/// Why analytics could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The settings file failed.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// The analytics of one process: settings, identity and recorder. Cheap to clone.
#[derive(Clone)]
pub struct Analytics {
    inner: Arc<Inner>,
}

struct Inner {
    store_dir: PathBuf,
    recorder: Option<Recorder>,
    recording: AtomicBool,
    privacy: AtomicBool,
    raw_user: String,
    hashed_user: String,
    who: Identity,
    /// Keyed pseudonyms of user-chosen names; `None` when not recording.
    pseudonyms: Option<privacy::Pseudonyms>,
    warned: AtomicBool,
    /// Events that could not be written (a full disk); `None` when not recording.
    lost: Option<crate::space::LostEvents>,
    implicit_run: Mutex<Option<Workflow>>,
    /// The machine facts are still to be recorded (on the session's first call event).
    machine_pending: AtomicBool,
}

impl std::fmt::Debug for Analytics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analytics")
            .field("store_dir", &self.inner.store_dir)
            .field("recording", &self.is_recording())
            .field("privacy", &self.privacy())
            .finish()
    }
}

static OPEN: Mutex<Vec<Weak<Inner>>> = Mutex::new(Vec::new());

/// Commits what every open [`Analytics`] of this process has recorded. For a Ctrl-C or
/// SIGTERM handler: events are already safe in the journals, this makes them visible in the
/// store at once.
pub fn flush_all() {
    let open: Vec<Arc<Inner>> = OPEN
        .lock()
        .map(|v| v.iter().filter_map(Weak::upgrade).collect())
        .unwrap_or_default();
    for inner in open {
        if let Some(r) = &inner.recorder {
            r.close();
        }
    }
}

/// Installs a Ctrl-C / SIGTERM handler that runs [`flush_all`] and exits with status 130.
/// Returns `false` when the process already has a handler (only one is possible); that
/// handler should then call [`flush_all`] itself. Nothing is lost either way: unflushed events
/// are in the journal and are stored at the next start.
pub fn install_signal_flush() -> bool {
    ctrlc::try_set_handler(|| {
        flush_all();
        std::process::exit(130);
    })
    .is_ok()
}

impl Analytics {
    /// Opens analytics on the store directory `store_dir` (the directory that holds
    /// `config.toml` and `analytics/`), following its settings and the environment
    /// (`LRDBENCH_ANALYTICS=0`, `DO_NOT_TRACK=1`). When recording is off, nothing is opened or
    /// created. The first time recording starts, prints one notice on standard error.
    ///
    /// # Errors
    ///
    /// [`AnalyticsError`] when recording is on but the store cannot be used; the message says
    /// what to do.
    ///
    /// # Example
    ///
    /// ```
    /// use lrdbench_analytics::Analytics;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let analytics = Analytics::open(dir.path())?;
    /// let h = analytics.track_usage("my_estimator", &[("window", "10")], 1000, || 0.7);
    /// assert_eq!(h, 0.7);
    /// analytics.close();
    /// let events = lrdbench_analytics::read_events(dir.path(), 0)?;
    /// assert_eq!(events.calls[0].component, "my_estimator");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(store_dir: &Path) -> Result<Analytics, AnalyticsError> {
        let mut cfg = AnalyticsConfig::load(store_dir)?;
        let on = cfg.enabled && config::disabled_by_env().is_none();
        let who = Identity::current();
        let raw_user = who.user.clone().unwrap_or_else(|| "unknown".into());
        if !on {
            return Ok(Analytics::build(
                store_dir,
                None,
                &cfg,
                raw_user,
                String::new(),
                who,
            ));
        }
        let paths = crate::StorePaths::new(store_dir);
        let secret = privacy::load_or_create_secret(&paths.dir)
            .map_err(|e| StoreError::io(&paths.dir, e))?;
        let hashed = privacy::hash_user_id(&secret, &raw_user);
        let (recorder, _) = Recorder::open(
            store_dir,
            &RecorderOptions {
                retention_days: cfg.retention_days,
                ..RecorderOptions::default()
            },
        )?;
        // Once per store, however many processes start at once: only the one that creates the
        // marker file prints it.
        if !cfg.notice_shown && config::claim_notice(&paths.dir) {
            eprintln!(
                "note: lrdbench records every plugin call (component, parameters{}, timings, memory, errors) in {}; nothing leaves this machine. Turn it off with `lrdbench-host analytics disable`, LRDBENCH_ANALYTICS=0 or DO_NOT_TRACK=1.",
                if cfg.privacy { " with private values redacted" } else { "" },
                paths.dir.display()
            );
            cfg.notice_shown = true;
            // The notice is shown again next time if this fails; nothing else depends on it.
            let _ = cfg.save(store_dir);
        }
        privacy::restrict_permissions(store_dir);
        // Read here, once, so that the first recorded call does not pay for it.
        crate::measure::machine();
        let pseudonyms = privacy::Pseudonyms::new(&secret);
        Ok(Analytics::build_with(
            store_dir,
            Some(recorder),
            &cfg,
            raw_user,
            hashed,
            who,
            Some(pseudonyms),
        ))
    }

    /// Like [`Analytics::open`], but a store that cannot be used turns recording off for this
    /// process with one warning on standard error instead of failing.
    pub fn open_or_warn(store_dir: &Path) -> Analytics {
        match Analytics::open(store_dir) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("warning: analytics recording is off for this run: {e}");
                Analytics::disabled()
            }
        }
    }

    /// Analytics that records nothing.
    pub fn disabled() -> Analytics {
        let who = Identity::current();
        Analytics::build(
            Path::new(""),
            None,
            &AnalyticsConfig {
                enabled: false,
                ..AnalyticsConfig::default()
            },
            String::new(),
            String::new(),
            who,
        )
    }

    fn build(
        store_dir: &Path,
        recorder: Option<Recorder>,
        cfg: &AnalyticsConfig,
        raw_user: String,
        hashed_user: String,
        who: Identity,
    ) -> Analytics {
        Analytics::build_with(store_dir, recorder, cfg, raw_user, hashed_user, who, None)
    }

    fn build_with(
        store_dir: &Path,
        recorder: Option<Recorder>,
        cfg: &AnalyticsConfig,
        raw_user: String,
        hashed_user: String,
        who: Identity,
        pseudonyms: Option<privacy::Pseudonyms>,
    ) -> Analytics {
        let recording = recorder.is_some();
        let lost = recorder
            .as_ref()
            .map(|r| crate::space::LostEvents::reserve(&r.paths().dir, r.session_id()));
        let inner = Arc::new(Inner {
            store_dir: store_dir.to_path_buf(),
            recording: AtomicBool::new(recorder.is_some()),
            recorder,
            privacy: AtomicBool::new(cfg.privacy),
            raw_user,
            hashed_user,
            who,
            pseudonyms,
            warned: AtomicBool::new(false),
            lost,
            implicit_run: Mutex::new(None),
            machine_pending: AtomicBool::new(recording),
        });
        if inner.recorder.is_some() {
            if let Ok(mut v) = OPEN.lock() {
                v.retain(|w| w.strong_count() > 0);
                v.push(Arc::downgrade(&inner));
            }
        }
        Analytics { inner }
    }

    /// The spec's `enable_analytics(enable, privacy_mode)`: turns recording on or off and sets
    /// privacy mode, for this process and (saved in `config.toml`) for later ones. Turning it
    /// on takes effect in this process only if it was opened with recording on.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] when the settings cannot be saved.
    pub fn enable_analytics(&self, enable: bool, privacy_mode: bool) -> Result<(), ConfigError> {
        self.inner
            .recording
            .store(enable && self.inner.recorder.is_some(), Ordering::Release);
        self.inner.privacy.store(privacy_mode, Ordering::Release);
        if self.inner.store_dir.as_os_str().is_empty() {
            return Ok(());
        }
        let mut cfg = AnalyticsConfig::load(&self.inner.store_dir)?;
        cfg.enabled = enable;
        cfg.privacy = privacy_mode;
        cfg.save(&self.inner.store_dir)
    }

    /// Whether calls are being recorded.
    pub fn is_recording(&self) -> bool {
        self.inner.recording.load(Ordering::Acquire)
    }

    /// Whether privacy mode is on.
    pub fn privacy(&self) -> bool {
        self.inner.privacy.load(Ordering::Acquire)
    }

    /// The user id as recorded: the keyed hash in privacy mode, the login name otherwise.
    pub fn user_id(&self) -> &str {
        if self.privacy() {
            &self.inner.hashed_user
        } else {
            &self.inner.raw_user
        }
    }

    /// This process's session id.
    pub fn session_id(&self) -> &str {
        self.inner
            .recorder
            .as_ref()
            .map(Recorder::session_id)
            .unwrap_or("")
    }

    /// A message as it may be recorded (scrubbed in privacy mode).
    pub fn sanitize_message(&self, message: &str) -> String {
        if self.privacy() {
            privacy::scrub_message(message, &self.inner.who)
        } else {
            message.to_string()
        }
    }

    /// A panic location as it may be recorded.
    pub fn sanitize_location(&self, location: &str) -> String {
        if self.privacy() {
            privacy::scrub_location(location)
        } else {
            location.to_string()
        }
    }

    /// One parameter as it may be recorded.
    pub fn sanitize_parameter(&self, key: &str, value: privacy::ParamView<'_>) -> String {
        privacy::sanitize_parameter(key, value, self.privacy())
    }

    /// Records a complete call event; `id`, `user_id` and `session_id` are filled in, and the
    /// session's first call event also gets the machine facts (`machine`). Returns the event's
    /// id, or `None` when not recording. A failure to record turns recording off for the rest
    /// of the process, with one warning.
    pub fn record_call(&self, event: CallEvent) -> Option<u64> {
        self.record_call_view(&event.view())
    }

    /// Records a call event from borrowed data (how the host records every plugin call):
    /// the same record as [`Analytics::record_call`] of the owned event, without building it.
    /// The id, user and session are filled in, and the machine facts on the session's first
    /// call event.
    pub fn record_call_view(&self, call: &CallView<'_>) -> Option<u64> {
        if !self.is_recording() {
            return None;
        }
        let recorder = self.inner.recorder.as_ref()?;
        let pending = &self.inner.machine_pending;
        let machine = (pending.load(Ordering::Relaxed) && pending.swap(false, Ordering::AcqRel))
            .then(crate::measure::machine);
        // In privacy mode the names a user chose (workflow, run id, data file or inline
        // series names in the cell) are recorded as keyed pseudonyms.
        if let (true, Some(p)) = (self.privacy(), &self.inner.pseudonyms) {
            if call.workflow.is_some() || call.cell.is_some() || call.run_id.is_some() {
                let workflow = call.workflow.map(|w| p.name_shared(w));
                let run_id = call.run_id.map(|r| p.name_shared(r));
                let cell = call.cell.map(|c| p.cell_ref(c));
                let component = (call.event_type == crate::event::EventType::BenchmarkRun)
                    .then(|| p.name(call.component));
                let view = CallView {
                    workflow: workflow.as_deref(),
                    run_id: run_id.as_deref(),
                    cell: cell.as_deref(),
                    component: component.as_deref().unwrap_or(call.component),
                    ..*call
                };
                return self.recorded(recorder.record_call(&view, self.user_id(), machine));
            }
        }
        self.recorded(recorder.record_call(call, self.user_id(), machine))
    }

    /// `name` as recorded: its keyed pseudonym in privacy mode, itself otherwise. For names a
    /// user chose (data files, inline series) that an embedding program records itself.
    pub fn pseudonym(&self, name: &str) -> String {
        match (self.privacy(), &self.inner.pseudonyms) {
            (true, Some(p)) => p.series(name),
            _ => name.to_string(),
        }
    }

    /// Records a workflow step; `id`, `user_id` and `session_id` are filled in.
    pub fn record_step(&self, mut event: StepEvent) -> Option<u64> {
        if !self.is_recording() {
            return None;
        }
        event.user_id = self.user_id().to_string();
        event.session_id = self.session_id().to_string();
        if let (true, Some(p)) = (self.privacy(), &self.inner.pseudonyms) {
            event.workflow = p.name(&event.workflow);
            event.run_id = p.name(&event.run_id);
            event.cell = event.cell.as_deref().map(|c| p.cell(c));
            event.component = p.series(&event.component);
        }
        self.record(Event::Step(event))
    }

    /// Records a workflow step given as borrowed data: the same record as
    /// [`Analytics::record_step`] of the owned event, without its allocations.
    pub fn record_step_view(&self, step: &crate::event::StepView<'_>) -> Option<u64> {
        if !self.is_recording() {
            return None;
        }
        let recorder = self.inner.recorder.as_ref()?;
        if let (true, Some(p)) = (self.privacy(), &self.inner.pseudonyms) {
            // The same pseudonyms as `record_step`: names a user chose never reach the store.
            let (workflow, run_id) = (p.name_shared(step.workflow), p.name_shared(step.run_id));
            let cell = step.cell.map(|c| p.cell_ref(c));
            let component = p.series_ref(step.component);
            let private = crate::event::StepView {
                workflow: &workflow,
                run_id: &run_id,
                cell: cell.as_deref(),
                component: &component,
                ..*step
            };
            return self.recorded(recorder.record_step_view(&private, self.user_id()));
        }
        self.recorded(recorder.record_step_view(step, self.user_id()))
    }

    fn record(&self, event: Event) -> Option<u64> {
        if !self.is_recording() {
            return None;
        }
        let recorder = self.inner.recorder.as_ref()?;
        self.recorded(recorder.record(event))
    }

    /// The id of a recorded event. An event that could not be written is counted (see
    /// [`Analytics::lost_events`]) with one warning; later events are tried as usual, so
    /// recording resumes when space is freed.
    fn recorded(&self, result: Result<u64, StoreError>) -> Option<u64> {
        match result {
            Ok(id) => Some(id),
            // Closed meanwhile by another thread: not a lost event.
            Err(_) if !self.is_recording() => None,
            Err(e) => {
                if let Some(lost) = &self.inner.lost {
                    lost.add();
                }
                if !self.inner.warned.swap(true, Ordering::AcqRel) {
                    eprintln!("warning: analytics: an event could not be recorded ({e}); such events are counted and reported at the end");
                }
                None
            }
        }
    }

    /// How many events this process could not record (a full disk, a file size limit).
    pub fn lost_events(&self) -> u64 {
        self.inner
            .lost
            .as_ref()
            .map_or(0, crate::space::LostEvents::count)
    }

    /// The spec's "Custom Analytics" `track_estimator_usage(...)`: records one call that the
    /// caller timed itself.
    ///
    /// # Example
    ///
    /// ```
    /// use lrdbench_analytics::{Analytics, Usage};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let analytics = Analytics::open(dir.path())?;
    /// analytics.track_estimator_usage(&Usage {
    ///     estimator_name: "custom_estimator",
    ///     parameters: &[("window_size", "20")],
    ///     execution_time_s: 1.5,
    ///     success: true,
    ///     data_length: 1000,
    ///     error_message: None,
    /// });
    /// analytics.close();
    /// let calls = lrdbench_analytics::read_events(dir.path(), 0)?.calls;
    /// assert_eq!(calls[0].parameters["window_size"], "20");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn track_estimator_usage(&self, usage: &Usage<'_>) -> Option<u64> {
        if !self.is_recording() {
            return None;
        }
        let wall_ns = (usage.execution_time_s.max(0.0) * 1e9) as u64;
        let error = usage.error_message.map(|m| ErrorInfo {
            kind: "error".into(),
            message: self.sanitize_message(m),
            location: None,
            backtrace: None,
        });
        self.record_call(CallEvent {
            id: 0,
            timestamp_us: crate::now_us() - (wall_ns / 1000) as i64,
            event_type: EventType::EstimatorUsage,
            component: usage.estimator_name.to_string(),
            plugin: None,
            parameters: sanitized_text_parameters(usage.parameters, self.privacy()),
            data_length: usage.data_length,
            success: usage.success && usage.error_message.is_none(),
            user_id: String::new(),
            session_id: String::new(),
            run_id: None,
            workflow: None,
            cell: None,
            truth_h: None,
            performance: Some(crate::event::Performance {
                wall_ns,
                cpu_thread_ns: 0,
                cpu_process_ns: 0,
                cpu_percent: 0.0,
                rss_before: 0,
                rss_after: 0,
                heap_peak: 0,
            }),
            error,
            machine: None,
        })
    }

    /// The spec's `@track_usage(name, data_length=..)`: runs `f`, recording one call of
    /// `name` with its parameters, data length and cost. A panic in `f` is recorded (kind
    /// `panic`) and re-raised.
    pub fn track_usage<T>(
        &self,
        name: &str,
        parameters: &[(&str, &str)],
        data_length: u64,
        f: impl FnOnce() -> T,
    ) -> T {
        self.wrap(name, parameters, data_length, || Ok::<T, Never>(f()))
            .unwrap_or_else(|never| match never {})
    }

    /// The spec's `@monitor_performance(name)`: runs `f`, recording its wall and CPU time,
    /// RSS and heap peak.
    ///
    /// # Example
    ///
    /// ```
    /// use lrdbench_analytics::Analytics;
    ///
    /// let analytics = Analytics::disabled();
    /// let sum: f64 = analytics.monitor_performance("sum", 3, || [1.0, 2.0, 3.0].iter().sum());
    /// assert_eq!(sum, 6.0);
    /// ```
    pub fn monitor_performance<T>(&self, name: &str, data_length: u64, f: impl FnOnce() -> T) -> T {
        self.track_usage(name, &[], data_length, f)
    }

    /// The spec's `@track_errors(name)`: runs `f`, recording the call and, when it returns
    /// `Err`, the error (kind `error`, the message scrubbed in privacy mode). The result is
    /// returned unchanged.
    ///
    /// # Example
    ///
    /// ```
    /// use lrdbench_analytics::Analytics;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let analytics = Analytics::open(dir.path())?;
    /// let r: Result<f64, String> =
    ///     analytics.track_errors("fragile", &[], 10, || Err("series too short".to_string()));
    /// assert!(r.is_err());
    /// analytics.close();
    /// let calls = lrdbench_analytics::read_events(dir.path(), 0)?.calls;
    /// assert_eq!(calls[0].error.as_ref().unwrap().message, "series too short");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn track_errors<T, E: std::fmt::Display>(
        &self,
        name: &str,
        parameters: &[(&str, &str)],
        data_length: u64,
        f: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        self.wrap(name, parameters, data_length, f)
    }

    /// The spec's `@track_workflow(step_type)`: runs `f` as the next step of this process's
    /// implicit workflow run (one run per [`Analytics`], so nested and repeated steps share
    /// it). Use [`Analytics::workflow`] for named runs.
    ///
    /// # Example
    ///
    /// ```
    /// use lrdbench_analytics::{event::StepType, Analytics};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let analytics = Analytics::open(dir.path())?;
    /// let data = analytics.track_workflow(StepType::Generate, "load", || vec![1.0, 2.0]);
    /// let h = analytics.track_workflow(StepType::Estimate, "dfa", || data.len() as f64);
    /// analytics.close();
    /// let steps = lrdbench_analytics::read_events(dir.path(), 0)?.steps;
    /// assert_eq!((steps[0].seq, steps[1].seq), (0, 1));
    /// assert_eq!(steps[0].run_id, steps[1].run_id);
    /// # let _ = h;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn track_workflow<T>(
        &self,
        step_type: StepType,
        component: &str,
        f: impl FnOnce() -> T,
    ) -> T {
        let run = {
            let mut slot = self
                .inner
                .implicit_run
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            slot.get_or_insert_with(|| self.workflow("custom")).clone()
        };
        run.step(step_type, component, None, f)
    }

    /// Starts a named workflow run whose steps are recorded in sequence.
    pub fn workflow(&self, name: &str) -> Workflow {
        Workflow {
            analytics: self.clone(),
            run_id: format!("{}-{}", self.session_id(), crate::recorder::random_hex(4)),
            name: name.to_string(),
            seq: Arc::new(AtomicU64::new(0)),
        }
    }

    fn wrap<T, E: std::fmt::Display>(
        &self,
        name: &str,
        parameters: &[(&str, &str)],
        data_length: u64,
        f: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        if !self.is_recording() {
            return f();
        }
        let timestamp_us = crate::now_us();
        let probe = Probe::start();
        let out = panic::catch_unwind(AssertUnwindSafe(f));
        let perf = probe.finish();
        let error = match &out {
            Ok(Ok(_)) => None,
            Ok(Err(e)) => Some(ErrorInfo {
                kind: "error".into(),
                message: self.sanitize_message(&e.to_string()),
                location: None,
                backtrace: None,
            }),
            Err(payload) => Some(ErrorInfo {
                kind: "panic".into(),
                message: self.sanitize_message(&panic_text(payload.as_ref())),
                location: None,
                backtrace: None,
            }),
        };
        self.record_call(CallEvent {
            id: 0,
            timestamp_us,
            event_type: EventType::Custom,
            component: name.to_string(),
            plugin: None,
            parameters: sanitized_text_parameters(parameters, self.privacy()),
            data_length,
            success: error.is_none(),
            user_id: String::new(),
            session_id: String::new(),
            run_id: None,
            workflow: None,
            cell: None,
            truth_h: None,
            performance: Some(perf),
            error,
            machine: None,
        });
        match out {
            Ok(r) => r,
            Err(payload) => panic::resume_unwind(payload),
        }
    }

    /// Waits until everything recorded so far is in the store.
    pub fn flush(&self) {
        if let Some(r) = &self.inner.recorder {
            r.flush();
        }
    }

    /// Stores everything and stops recording (later calls are not recorded).
    pub fn close(&self) {
        self.inner.recording.store(false, Ordering::Release);
        if let Some(r) = &self.inner.recorder {
            r.close();
        }
    }

    /// The store directory.
    pub fn store_dir(&self) -> &Path {
        &self.inner.store_dir
    }
}

enum Never {}

impl std::fmt::Display for Never {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {}
    }
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_string()
    }
}

/// A call timed by the caller, for [`Analytics::track_estimator_usage`].
#[derive(Debug, Clone, Copy)]
pub struct Usage<'a> {
    /// The estimator.
    pub estimator_name: &'a str,
    /// Parameters as text (sanitized before recording).
    pub parameters: &'a [(&'a str, &'a str)],
    /// How long it took, seconds.
    pub execution_time_s: f64,
    /// Whether it succeeded.
    pub success: bool,
    /// Length of the series.
    pub data_length: u64,
    /// The error, when it failed (scrubbed before recording).
    pub error_message: Option<&'a str>,
}

/// A workflow run: steps recorded with one run id and increasing sequence numbers. Cheap to
/// clone; clones share the sequence.
#[derive(Clone, Debug)]
pub struct Workflow {
    analytics: Analytics,
    run_id: String,
    name: String,
    seq: Arc<AtomicU64>,
}

impl Workflow {
    /// The run id.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Runs `f` as the next step, recording its type, component, cell, duration and (no
    /// panic) success.
    pub fn step<T>(
        &self,
        step_type: StepType,
        component: &str,
        cell: Option<&str>,
        f: impl FnOnce() -> T,
    ) -> T {
        let seq = self.seq.fetch_add(1, Ordering::AcqRel);
        let timestamp_us = crate::now_us();
        let t0 = Instant::now();
        let out = panic::catch_unwind(AssertUnwindSafe(f));
        self.analytics.record_step(StepEvent {
            id: 0,
            timestamp_us,
            run_id: self.run_id.clone(),
            workflow: self.name.clone(),
            seq,
            step_type,
            component: component.to_string(),
            cell: cell.map(str::to_string),
            duration_ns: u64::try_from(t0.elapsed().as_nanos()).unwrap_or(u64::MAX),
            success: out.is_ok(),
            user_id: String::new(),
            session_id: String::new(),
        });
        match out {
            Ok(v) => v,
            Err(p) => panic::resume_unwind(p),
        }
    }
}

/// Per-run step sequence numbers, for recorders of steps that arrive from several places
/// (the host's workflow engine reports steps by run id).
#[derive(Debug, Default)]
pub struct StepSequences {
    next: Mutex<HashMap<String, u64>>,
}

impl StepSequences {
    /// The next sequence number of run `run_id`, from 0.
    pub fn next(&self, run_id: &str) -> u64 {
        let mut m = self.next.lock().unwrap_or_else(|p| p.into_inner());
        // A known run (every step but its first) takes no allocation.
        if let Some(n) = m.get_mut(run_id) {
            let v = *n;
            *n += 1;
            return v;
        }
        let n = m.entry(run_id.to_string()).or_insert(0);
        let v = *n;
        *n += 1;
        v
    }
}

/// Parameters from `(key, value)` text pairs, sanitized for `analytics`.
pub fn parameters_from_text(
    analytics: &Analytics,
    params: &[(&str, &str)],
) -> BTreeMap<String, String> {
    sanitized_text_parameters(params, analytics.privacy())
}

/// Sanitized parameter sets by the raw set they came from, so that a call repeating a
/// parameter set (the common case: a workflow calls each variant many times) copies the
/// sanitized map instead of sanitizing again. Sanitizing is a pure function of the raw set and
/// the privacy mode, so a memo is exact; keep one per thread (no lock on the call path).
///
/// The key `K` holds the raw set and the privacy mode, is found by a 64-bit hash and compared
/// in full. Holds at most [`ParamMemo::CAPACITY`] sets; when full it starts over, which bounds
/// its memory under parameter grids without any bookkeeping per hit.
///
/// `V` is what is kept per set: the sanitized map, or any form made from it (the host keeps
/// its [`crate::codec::EncodedParameters`]); hits return a clone of it.
#[derive(Debug)]
pub struct ParamMemo<K, V = BTreeMap<String, String>> {
    sets: HashMap<u64, (K, V)>,
}

impl<K, V> Default for ParamMemo<K, V> {
    fn default() -> Self {
        ParamMemo {
            sets: HashMap::new(),
        }
    }
}

impl<K, V: Clone> ParamMemo<K, V> {
    /// Most parameter sets kept.
    pub const CAPACITY: usize = 1024;

    /// The value kept for the set hashed `hash`, when `same` confirms the stored key is this
    /// set; otherwise `make()` gives the key and the value, which are kept.
    pub fn get_or_make(
        &mut self,
        hash: u64,
        same: impl FnOnce(&K) -> bool,
        make: impl FnOnce() -> (K, V),
    ) -> V {
        if let Some((key, map)) = self.sets.get(&hash) {
            if same(key) {
                return map.clone();
            }
        }
        let (key, map) = make();
        if self.sets.len() >= Self::CAPACITY {
            self.sets.clear();
        }
        self.sets.insert(hash, (key, map.clone()));
        map
    }
}

/// A hasher for [`ParamMemo`] keys (SipHash with fixed keys: the same set always hashes the
/// same within the process).
pub fn param_hasher() -> impl Hasher {
    std::collections::hash_map::DefaultHasher::new()
}

type TextKey = (bool, Vec<(String, String)>);

thread_local! {
    static TEXT_MEMO: RefCell<ParamMemo<TextKey>> = RefCell::new(ParamMemo::default());
}

fn sanitized_text_parameters(params: &[(&str, &str)], privacy: bool) -> BTreeMap<String, String> {
    if params.is_empty() {
        return BTreeMap::new();
    }
    let mut h = param_hasher();
    privacy.hash(&mut h);
    params.hash(&mut h);
    TEXT_MEMO.with(|memo| {
        memo.borrow_mut().get_or_make(
            h.finish(),
            |(p, raw)| {
                *p == privacy
                    && raw.len() == params.len()
                    && raw
                        .iter()
                        .zip(params)
                        .all(|(a, b)| a.0 == b.0 && a.1 == b.1)
            },
            || {
                let raw = params
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                let map = privacy::sanitize_text_parameters(params.iter().copied(), privacy);
                ((privacy, raw), map)
            },
        )
    })
}
