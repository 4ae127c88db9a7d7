//! The command line: clap definitions and the one fallible step that turns them into
//! [`Settings`]. Like ripgrep's low-level arguments, the types here only parse and validate;
//! the commands themselves live in `commands/`.

pub mod analytics;
pub mod compare;
pub mod estimate;
pub mod generate;
pub mod merge;
pub mod report;
pub mod run;
pub mod serve;
pub mod slurm;

use std::path::{Component, Path, PathBuf};

use clap::{Args, Parser, Subcommand};
use lrdbench_host::settings::{self, Settings, Verbosity};

/// Estimate and benchmark long-range dependence with plugin estimators, and see how they are
/// used, how fast they are, and where they fail.
#[derive(Debug, Parser)]
#[command(name = "lrdbench-host", version, about, propagate_version = true)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The `--help` heading of the options every command takes, kept apart from each command's own.
const GLOBAL: &str = "Global options";

/// Options shared by every command.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Store directory for analytics and configuration [default: $LRDBENCH_HOME or ~/.lrdbench]
    #[arg(long, global = true, value_name = "DIR", help_heading = GLOBAL)]
    pub store: Option<PathBuf>,
    /// Also load plugins named lrdbench_plugin_* from DIR (repeatable; see also
    /// LRDBENCH_PLUGIN_PATH)
    #[arg(long = "plugin-dir", global = true, value_name = "DIR", help_heading = GLOBAL)]
    pub plugin_dirs: Vec<PathBuf>,
    /// Load the plugin library at PATH, whatever its name (repeatable)
    #[arg(long = "plugin", global = true, value_name = "PATH", help_heading = GLOBAL)]
    pub plugins: Vec<PathBuf>,
    /// Print errors only
    #[arg(short, long, global = true, conflicts_with = "verbose", help_heading = GLOBAL)]
    pub quiet: bool,
    /// Print diagnostics too: the store and plugin directories used, each plugin loaded (path,
    /// version, SHA-256) and full load reports of the plugins skipped
    #[arg(short, long, global = true, help_heading = GLOBAL)]
    pub verbose: bool,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List, inspect and create plugins
    #[command(subcommand)]
    Plugins(PluginsCommand),
    /// Estimate H of one series (CSV or plain numbers) with one or more estimators
    Estimate(estimate::EstimateArgs),
    /// Generate series of known truth from a data model (CSV, one column per replicate)
    Generate(generate::GenerateArgs),
    /// Run a TOML workflow (benchmark sweep); prints the run directory last
    Run(run::RunArgs),
    /// Check a workflow file without running it
    Validate(run::ValidateArgs),
    /// Merge the shard runs of a sharded sweep (`run --shard`) into one run directory
    Merge(merge::MergeArgs),
    /// Write (or submit) Slurm batch scripts that run a workflow as a job array of shards and
    /// merge them
    Slurm(slurm::SlurmArgs),
    /// Compare two runs of a workflow cell by cell: paired verdicts (improved, unchanged,
    /// regressed) per estimator row and metric
    Compare(compare::CompareArgs),
    /// Serve plugin calls for an isolating host over stdin/stdout (internal)
    #[command(name = "__worker", hide = true)]
    Worker(WorkerArgs),
    /// See and control what is recorded about plugin calls (on by default, private by default)
    #[command(subcommand)]
    Analytics(analytics::AnalyticsCommand),
    /// Print the analytics summary: calls, users, success and error rates, times, workflows
    Summary(report::SummaryArgs),
    /// Write analytics reports (Markdown, JSON, self-contained HTML with SVG charts)
    Report(report::ReportArgs),
    /// Export the recorded events (sanitized in privacy mode) as JSON Lines and CSV
    Export(report::ExportArgs),
    /// Serve the analytics dashboard, the runs with their live progress, their JSON (/api/…)
    /// and Prometheus metrics (/metrics) over HTTP, read-only, on loopback by default
    Serve(serve::ServeArgs),
    /// Print a shell completion script (e.g. `lrdbench-host completions bash >
    /// ~/.local/share/bash-completion/completions/lrdbench-host`)
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `lrdbench-host man | man -l -`
    Man,
}

/// Arguments of the hidden worker mode: the host binary re-executed by an isolating supervisor.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The plugin library to serve
    pub library: PathBuf,
    /// Address-space limit of the worker, bytes
    #[arg(long, value_name = "BYTES")]
    pub memory_limit: Option<u64>,
    /// Refuse the library unless its SHA-256 is this (checked before it is loaded)
    #[arg(long, value_name = "HEX")]
    pub sha256: Option<String>,
    /// Send the plugin's description and exit
    #[arg(long)]
    pub describe: bool,
}

/// `plugins` subcommands.
#[derive(Debug, Subcommand)]
pub enum PluginsCommand {
    /// List every loaded component
    List {
        /// Print JSON: an array of objects with name, kind, family, estimand, plugin, version,
        /// path, sha256
        #[arg(long)]
        json: bool,
    },
    /// Show one plugin library's components and parameter schemas
    Inspect {
        /// The plugin library
        path: PathBuf,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Create a new estimator plugin crate that builds and loads as generated
    New {
        /// Plugin name (lowercase letters, digits, `_`)
        name: String,
        /// Directory to create the crate in
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// Language: `rust` (a cdylib crate) or `python` (a process plugin: manifest, script
        /// and the SDK module)
        #[arg(long, default_value = "rust", value_parser = ["rust", "python"])]
        lang: String,
    },
}

/// Parses a time limit: seconds in the range a workflow's `timeout` accepts
/// ([`lrdbench_host::workflow::limits::check_timeout`]), so a bad `--timeout` is a usage error
/// with the same message (`--timeout 0` would fail every call at once; `1e300` overflows a
/// duration).
pub fn positive_seconds(text: &str) -> Result<f64, String> {
    let t = text.parse::<f64>().map_err(|e| e.to_string())?;
    lrdbench_host::workflow::limits::check_timeout(t).map(|_| t)
}

/// Parses the command line; clap exits with code 2 on a usage error.
pub fn parse() -> Cli {
    Cli::parse()
}

/// A path `dlopen` opens as the file it names: a bare file name (`fault.so`) would be searched
/// for on the library path instead, so it becomes `./fault.so`.
pub fn loadable(path: &Path) -> PathBuf {
    let mut parts = path.components();
    match (parts.next(), parts.next()) {
        (Some(Component::Normal(_)), None) => Path::new(".").join(path),
        _ => path.to_path_buf(),
    }
}

/// Resolves the global options and the environment into [`Settings`].
///
/// # Errors
///
/// A `--plugin-dir` that is not a directory: a typo there would otherwise silently load fewer
/// plugins.
pub fn resolve(global: &GlobalArgs) -> anyhow::Result<Settings> {
    if let Some(missing) = global.plugin_dirs.iter().find(|d| !d.is_dir()) {
        anyhow::bail!("--plugin-dir {}: no such directory", missing.display());
    }
    let store_dir = global
        .store
        .clone()
        .or_else(|| std::env::var_os("LRDBENCH_HOME").map(PathBuf::from))
        .unwrap_or_else(settings::default_store_dir);
    let mut dirs: Vec<PathBuf> = settings::executable_dir().into_iter().collect();
    dirs.extend(global.plugin_dirs.iter().cloned());
    dirs.extend(settings::plugin_path_from_env());
    let verbosity = if global.quiet {
        Verbosity::Quiet
    } else if global.verbose {
        Verbosity::Verbose
    } else {
        Verbosity::Normal
    };
    Ok(Settings {
        store_dir,
        plugins: lrdbench_host::plugin::PluginSources {
            dirs,
            files: global.plugins.iter().map(|p| loadable(p)).collect(),
        },
        verbosity,
    })
}
