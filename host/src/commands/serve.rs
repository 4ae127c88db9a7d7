//! `serve`: the live dashboard, the runs and `/metrics` over HTTP, until stopped.

use std::process::ExitCode;

use anyhow::Result;
use lrdbench_host::serve::{ServeOptions, Server};
use lrdbench_host::settings::{Settings, Verbosity};

use crate::cli::serve::ServeArgs;

/// Binds, says where, and answers requests until the process is stopped (Ctrl-C).
pub fn run(settings: &Settings, args: ServeArgs) -> Result<ExitCode> {
    let runs = if args.runs.is_empty() {
        vec![std::path::PathBuf::from("runs")]
    } else {
        args.runs
    };
    if let Some(missing) = runs.iter().find(|d| d.exists() && !d.is_dir()) {
        return Err(super::usage(anyhow::anyhow!(
            "--runs {}: not a directory",
            missing.display()
        )));
    }
    if !args.addr.ip().is_loopback() {
        eprintln!(
            "warning: listening on {}, not loopback: anyone who can reach this address can read the analytics dashboard and the runs (read-only)",
            args.addr
        );
    }
    let server = Server::bind(ServeOptions {
        addr: args.addr,
        runs: runs.clone(),
        store_dir: settings.store_dir.clone(),
        log_requests: settings.verbosity >= Verbosity::Verbose,
    })?;
    let addr = server.local_addr().unwrap_or(args.addr);
    let url = format!("http://{addr}/");
    if settings.verbosity >= Verbosity::Normal {
        let dirs: Vec<String> = runs.iter().map(|d| d.display().to_string()).collect();
        eprintln!(
            "serving the store {} and the runs under {} (read-only; Ctrl-C stops)",
            settings.store_dir.display(),
            dirs.join(", ")
        );
    }
    // The URL alone on standard output, for scripts (`--addr 127.0.0.1:0` picks a free port).
    outln!("{url}");
    if args.open {
        if let Err(e) = std::process::Command::new("xdg-open").arg(&url).spawn() {
            eprintln!("warning: cannot open a browser (xdg-open: {e}); open {url} by hand");
        }
    }
    server.run();
    Ok(ExitCode::SUCCESS)
}
