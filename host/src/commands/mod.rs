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
use lrdbench_host::trust::{AllowList, Unlisted};

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
    let (mut catalog, errors) = Catalog::load(&settings.plugins);
    if let Some(list) = AllowList::load(&settings.store_dir)? {
        let (refused, _) = list.apply(&mut catalog, &settings.store_dir.join("config.toml"));
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
/// process boundary can enforce), when `config.toml` marks plugins untrusted, or when the
/// allow-list isolates the plugins it does not list.
pub fn isolate(
    invoker: Invoker,
    settings: &Settings,
    catalog: &Catalog,
    all: bool,
    timeout: Option<f64>,
) -> Result<Invoker> {
    // Plugins missing from an allow-list in "isolate" mode always run in workers.
    let also_untrusted = match AllowList::load(&settings.store_dir)? {
        Some(list) if list.unlisted == Unlisted::Isolate => catalog
            .plugins()
            .iter()
            .filter(|p| !list.allows(p))
            .map(|p| format!("sha256:{}", p.sha256))
            .collect(),
        _ => Vec::new(),
    };
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

/// An invoker that records into the store's analytics, or, when the store cannot be used,
/// records nothing after one warning.
fn recording_invoker(settings: &Settings) -> Invoker {
    Invoker::recording(lrdbench_analytics::Analytics::open_or_warn(
        &settings.store_dir,
    ))
}
