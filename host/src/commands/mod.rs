//! The commands: glue between the parsed command line and the host library.

mod analytics;
mod estimate;
mod generate;
mod plugins;
mod report;
mod run;
mod worker;

use std::process::ExitCode;

use anyhow::Result;
use lrdbench_host::invoke::Invoker;
use lrdbench_host::plugin::{Catalog, LoadError};
use lrdbench_host::settings::{Settings, Verbosity};

use crate::cli::{Cli, Command};

/// Runs the parsed command. `Ok(code)` carries the exit code for commands that finish with
/// partial failures.
pub fn run(cli: Cli) -> Result<ExitCode> {
    let settings = crate::cli::resolve(&cli.global);
    match cli.command {
        Command::Plugins(cmd) => plugins::run(&settings, cmd),
        Command::Estimate(args) => estimate::run(&settings, args, &recording_invoker(&settings)),
        Command::Generate(args) => generate::run(&settings, args, &recording_invoker(&settings)),
        Command::Run(args) => run::run(&settings, args, &recording_invoker(&settings)),
        Command::Validate(args) => run::validate(&settings, args),
        Command::Worker(args) => Ok(worker::run(&args)),
        Command::Analytics(cmd) => analytics::run(&settings, cmd),
        Command::Summary(args) => report::summary(&settings, args),
        Command::Report(args) => report::report(&settings, args),
        Command::Export(args) => report::export(&settings, args),
    }
}

/// Loads the catalog. Failures of explicitly named files (`--plugin`) are errors; failures of
/// discovered files are reported together as warnings.
pub fn load_catalog(settings: &Settings) -> Result<Catalog> {
    let (catalog, errors) = Catalog::load(&settings.plugins);
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

fn is_explicit(settings: &Settings, e: &LoadError) -> bool {
    let path = match e {
        LoadError::NotFound { path }
        | LoadError::NotALibrary { path, .. }
        | LoadError::NotAPlugin { path }
        | LoadError::Incompatible { path, .. }
        | LoadError::Describe { path, .. }
        | LoadError::Io { path, .. } => path,
    };
    settings.plugins.files.iter().any(|f| f == path)
}

/// Adds process isolation to `invoker` when asked for (`all`, or a timeout, which only a
/// process boundary can enforce) or when `config.toml` marks plugins untrusted.
pub fn isolate(
    invoker: Invoker,
    settings: &Settings,
    all: bool,
    timeout: Option<f64>,
) -> Result<Invoker> {
    let request = lrdbench_host::isolate::IsolationRequest {
        all: all || timeout.is_some(),
        timeout_secs: timeout,
        memory_limit: None,
    };
    Ok(
        match lrdbench_host::isolate::supervisor_for(&settings.store_dir, &request)? {
            Some(supervisor) => invoker.with_isolation(supervisor),
            None => invoker,
        },
    )
}

/// An invoker that records into the store's analytics, or, when the store cannot be used,
/// records nothing after one warning.
fn recording_invoker(settings: &Settings) -> Invoker {
    Invoker::recording(lrdbench_analytics::Analytics::open_or_warn(
        &settings.store_dir,
    ))
}
