//! Arguments of `serve`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

/// Arguments of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; anything but loopback prints a warning (the pages show the
    /// store's and the runs' contents to whoever can reach it)
    #[arg(long, default_value = "127.0.0.1:8787", value_name = "IP:PORT")]
    pub addr: SocketAddr,
    /// A directory whose subdirectories are runs (repeatable) [default: ./runs, where `run`
    /// writes unless the workflow says otherwise]
    #[arg(long = "runs", value_name = "DIR")]
    pub runs: Vec<PathBuf>,
    /// Open the index page in the desktop's browser (xdg-open)
    #[arg(long)]
    pub open: bool,
}
