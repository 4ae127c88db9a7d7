//! The commands: glue between the parsed command line and the host library.

/// `println!` that returns a closed standard output as an error instead of panicking, so that
/// `lrdbench-host … | head` ends quietly (see [`is_broken_pipe`]).
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?
    }};
}

/// `print!` with the error handling of [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*)?
    }};
}

mod analytics;
mod compare;
mod estimate;
mod generate;
mod merge;
mod plugins;
mod report;
mod run;
mod serve;
mod slurm;
mod worker;

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use clap::CommandFactory;
use lrdbench_host::invoke::Invoker;
use lrdbench_host::isolate::describe_in_worker;
use lrdbench_host::plugin::{Catalog, LoadError, LoadPolicy};
use lrdbench_host::settings::{Settings, Verbosity};
use lrdbench_host::trust::AllowList;

use crate::cli::{Cli, Command};

/// A mistake in what the user asked for (unknown estimator or parameter, missing column, a
/// plugin directory that does not exist): exit code 2, like clap's own usage errors.
#[derive(Debug)]
pub struct UsageError(pub anyhow::Error);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for UsageError {}

/// Marks `e` as a usage error.
pub fn usage(e: impl Into<anyhow::Error>) -> anyhow::Error {
    anyhow::Error::new(UsageError(e.into()))
}

/// The exit code `e` calls for: 2 for a [`UsageError`], else 1.
pub fn exit_code_of(e: &anyhow::Error) -> u8 {
    if e.chain().any(|c| c.is::<UsageError>()) {
        2
    } else {
        1
    }
}

/// Whether `e` comes from writing to a standard output whose reader has gone (`| head`):
/// every Unix tool then stops quietly.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Runs the parsed command. `Ok(code)` carries the exit code for commands that finish with
/// partial failures.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "lrdbench-host", &mut script);
            std::io::stdout().lock().write_all(&script)?;
            return Ok(ExitCode::SUCCESS);
        }
        Command::Man => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut page)?;
            std::io::stdout().lock().write_all(&page)?;
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    let settings = crate::cli::resolve(&cli.global).map_err(usage)?;
    if settings.verbosity >= Verbosity::Verbose {
        eprintln!("store: {}", settings.store_dir.display());
        for d in &settings.plugins.dirs {
            eprintln!("plugin directory: {}", d.display());
        }
    }
    match cli.command {
        Command::Plugins(cmd) => plugins::run(&settings, cmd),
        Command::Estimate(args) => recording(&settings, |i| estimate::run(&settings, args, i)),
        Command::Generate(args) => recording(&settings, |i| generate::run(&settings, args, i)),
        Command::Run(args) => recording(&settings, |i| run::run(&settings, args, i)),
        Command::Validate(args) => run::validate(&settings, args),
        Command::Merge(args) => merge::run(&settings, args),
        Command::Slurm(args) => slurm::run(&settings, args),
        Command::Compare(args) => compare::run(&settings, args),
        Command::Worker(args) => Ok(worker::run(&args)),
        Command::Analytics(cmd) => analytics::run(&settings, cmd),
        Command::Summary(args) => report::summary(&settings, args),
        Command::Report(args) => report::report(&settings, args),
        Command::Export(args) => report::export(&settings, args),
        Command::Serve(args) => serve::run(&settings, args),
        Command::Completions { .. } | Command::Man => unreachable!("handled above"),
    }
}

/// Loads the catalog under the store's trust settings: every library is read once and hashed,
/// then refused, described by a worker (isolated: `isolate_all`, untrusted, or unlisted in
/// "isolate" mode) or loaded in-process from those very bytes. Refused and isolated libraries
/// never run code in this process. Failures of explicitly named files (`--plugin`) are errors;
/// failures of discovered files are reported together as warnings.
pub fn load_catalog(settings: &Settings, isolate_all: bool) -> Result<Catalog> {
    let allow = AllowList::load(&settings.store_dir)?;
    let stored = lrdbench_host::isolate::store_settings(&settings.store_dir)?;
    let program = std::env::current_exe().ok();
    let cache = settings.store_dir.join("plugins").join("described");
    let describe = |path: &Path, sha: &str| {
        // A description depends only on the library's bytes: keep it by SHA-256 in the
        // (owner-only) store, so later commands start no worker for it.
        let cached = cache.join(format!("{sha}.bin"));
        if let Ok(bytes) = lrdbench_host::fsutil::read_regular(&cached, 16 << 20) {
            if let Ok(d) = lrdbench_host::isolate::decode_descriptor(&bytes) {
                return Ok(d);
            }
        }
        let d = match &program {
            Some(program) => describe_in_worker(program, path, sha, stored.memory_limit)?,
            None => return Err("cannot find the running executable to start a worker".into()),
        };
        save_description(&cache, &cached, &d);
        Ok(d)
    };
    let policy = LoadPolicy {
        allow,
        untrusted: stored.untrusted.clone(),
        isolate_all,
        config: settings.store_dir.join("config.toml"),
        describe: Some(&describe),
    };
    let (catalog, errors, refused) = Catalog::load_with(&settings.plugins, &policy);
    let explicit: Vec<String> = refused
        .iter()
        .filter(|r| settings.plugins.files.iter().any(|f| f == &r.path))
        .map(|r| r.to_string())
        .collect();
    if let Some(first) = explicit.first() {
        anyhow::bail!("refusing plugin {first}");
    }
    for r in &refused {
        if settings.verbosity >= Verbosity::Normal {
            eprintln!("warning: refusing plugin {r}");
        }
    }
    let explicit: Vec<&LoadError> = errors.iter().filter(|e| is_explicit(settings, e)).collect();
    for e in &errors {
        if settings.verbosity >= Verbosity::Normal && !explicit.iter().any(|x| std::ptr::eq(*x, e))
        {
            eprintln!("warning: skipping plugin {e}");
        }
        if settings.verbosity >= Verbosity::Verbose {
            if let Some(detail) = e.detail() {
                eprintln!("{detail}");
            }
        }
    }
    if settings.verbosity >= Verbosity::Verbose {
        for p in catalog.plugins() {
            eprintln!(
                "loaded plugin {} {} from {} (sha256 {})",
                p.descriptor.name,
                p.descriptor.version,
                p.path.display(),
                p.sha256
            );
        }
    }
    match explicit.len() {
        0 => Ok(catalog),
        1 => anyhow::bail!("cannot load plugin {}", explicit[0]),
        _ => anyhow::bail!(
            "cannot load {} plugins:\n  {}",
            explicit.len(),
            explicit
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n  ")
        ),
    }
}

/// Best effort: a description that cannot be cached is asked of a worker again next time.
fn save_description(dir: &Path, path: &Path, d: &lrdbench_plugin_api::PluginDescriptor) {
    let mut framed = Vec::new();
    lrdbench_host::isolate::encode_descriptor(&mut framed, d);
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
    // The frame's 4-byte length prefix is dropped: the file is the payload.
    if std::fs::write(&tmp, &framed[4..]).is_ok() && std::fs::rename(&tmp, path).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

fn is_explicit(settings: &Settings, e: &LoadError) -> bool {
    let path = match e {
        LoadError::NotFound { path }
        | LoadError::NotALibrary { path, .. }
        | LoadError::NotAPlugin { path }
        | LoadError::Incompatible { path, .. }
        | LoadError::Describe { path, .. }
        | LoadError::NotRegular { path, .. }
        | LoadError::Isolated { path, .. }
        | LoadError::Manifest { path, .. }
        | LoadError::Io { path, .. } => path,
    };
    settings.plugins.files.iter().any(|f| f == path)
}

/// Adds process isolation to `invoker` when asked for (`all`, or a timeout, which only a
/// process boundary can enforce), when `config.toml` marks plugins untrusted, or when the
/// allow-list isolates the plugins it does not list.
pub fn isolate(
    invoker: Invoker,
    settings: &Settings,
    catalog: &Catalog,
    all: bool,
    timeout: Option<f64>,
) -> Result<Invoker> {
    // Plugins the trust settings placed in workers (untrusted, or missing from an allow-list
    // in "isolate" mode) have no code in this process: their calls must go to workers.
    let also_untrusted = catalog
        .plugins()
        .iter()
        .filter(|p| !p.in_process())
        .map(|p| format!("sha256:{}", p.sha256))
        .collect();
    let request = lrdbench_host::isolate::IsolationRequest {
        all: all || timeout.is_some(),
        timeout_secs: timeout,
        memory_limit: None,
        also_untrusted,
    };
    Ok(
        match lrdbench_host::isolate::supervisor_for(&settings.store_dir, &request)? {
            Some(supervisor) => invoker.with_isolation(supervisor),
            None => invoker,
        },
    )
}

/// Runs a command that records its calls. When some of its events could not be written (no
/// space left for the journal), says how many at the end and exits with [`LOST_EVENTS`]
/// instead of 0.
fn recording(
    settings: &Settings,
    command: impl FnOnce(&Invoker) -> Result<ExitCode>,
) -> Result<ExitCode> {
    let invoker = recording_invoker(settings);
    let out = command(&invoker);
    match invoker.analytics() {
        Some(analytics) => with_lost_events(analytics, out),
        None => out,
    }
}

/// `out`, or, when `analytics` could not record some events, the same after a warning that
/// counts them, with [`LOST_EVENTS`] in place of success.
pub fn with_lost_events(
    analytics: &lrdbench_analytics::Analytics,
    out: Result<ExitCode>,
) -> Result<ExitCode> {
    let lost = analytics.lost_events();
    if lost == 0 {
        return out;
    }
    eprintln!(
        "warning: {lost} analytics event(s) of this run could not be recorded (no space left for the journal); the command's own results are complete, and `lrdbench-host analytics status` counts the loss"
    );
    match out {
        Ok(code) if code == ExitCode::SUCCESS => Ok(ExitCode::from(LOST_EVENTS)),
        other => other,
    }
}

/// Exit code of a command that succeeded but could not record all of its analytics events.
pub const LOST_EVENTS: u8 = 4;

/// An invoker that records into the store's analytics, or, when the store cannot be used,
/// records nothing after one warning.
fn recording_invoker(settings: &Settings) -> Invoker {
    Invoker::recording(lrdbench_analytics::Analytics::open_or_warn(
        &settings.store_dir,
    ))
}
