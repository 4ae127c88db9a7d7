//! The `lrdbench-host` binary: parse → resolve → run → exit code.
//!
//! Exit codes: 0 success; 1 a runtime error, or a command that finished with failures (an
//! estimator that failed, a plugin that would not load); 2 a usage error (from clap, or an
//! unknown estimator, parameter, column or plugin directory); 3 a partial merge (`merge
//! --partial` with shards or cells missing); 4 a command that succeeded but could not record
//! all of its analytics events (no space); 130 when stopped by Ctrl-C. A
//! closed standard output (`| head`) ends the program quietly with 0.

mod cli;
mod commands;

use std::process::ExitCode;

// jemalloc is the process's malloc (unprefixed symbols), so plugin libraries allocate from it
// too and its per-thread peak counter measures their heap use (see `lrdbench_analytics::measure`).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) if commands::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(commands::exit_code_of(&e))
        }
    }
}
