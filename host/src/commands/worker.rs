//! `lrdbench-host __worker LIBRARY`: the hidden worker mode of process isolation.

use std::process::ExitCode;

use lrdbench_host::isolate::worker;

use crate::cli::WorkerArgs;

/// Serves plugin calls until the supervisor closes standard input; the exit status tells the
/// supervisor why the worker stopped.
pub fn run(args: &WorkerArgs) -> ExitCode {
    let options = worker::WorkerOptions {
        memory_limit: args.memory_limit,
        expect_sha256: args.sha256.clone(),
        describe: args.describe,
    };
    let code = worker::serve(&args.library, &options);
    ExitCode::from(u8::try_from(code).unwrap_or(u8::MAX))
}
