//! `analytics` subcommands: see and control what is recorded about plugin calls.

use clap::{Args, Subcommand};

/// `analytics` subcommands.
#[derive(Debug, Subcommand)]
pub enum AnalyticsCommand {
    /// Show whether recording is on, privacy mode, the store's path, event counts and size
    Status {
        /// Print a JSON object (recording, disabled_by, privacy, retention_days, store,
        /// calls, failed_calls, workflow_steps, store_bytes, journal_bytes, journals,
        /// lost_events)
        #[arg(long)]
        json: bool,
    },
    /// Turn recording on (privacy mode stays as it was unless --privacy or --no-privacy)
    Enable(EnableArgs),
    /// Turn recording off (LRDBENCH_ANALYTICS=0 or DO_NOT_TRACK=1 also do, per process)
    Disable,
    /// Delete every recorded event of one user
    Forget {
        /// The user's login name (or the recorded id itself)
        #[arg(long, value_name = "ID")]
        user: String,
    },
    /// Delete every recorded event
    Purge {
        /// Do not ask for confirmation
        #[arg(long)]
        yes: bool,
    },
    /// Import the events of other stores into one (idempotent: a store merged twice adds
    /// nothing), e.g. the stores of a sweep's shards
    Merge(MergeStoresArgs),
    /// Read every recorded event and say what cannot be read (exit 1 when something cannot)
    Verify,
    /// Replace a damaged store with a fresh one holding every event that can still be read;
    /// the damaged file is kept aside as analytics.redb.damaged-TIME
    Repair,
    /// Record test events, printing each id once it is safe in the journal (internal: used by
    /// the durability tests)
    #[command(hide = true)]
    Selftest(SelftestArgs),
}

/// Arguments of `analytics enable`.
#[derive(Debug, Args)]
pub struct EnableArgs {
    /// Privacy mode: keyed user hashes, private parameters redacted, paths scrubbed (default)
    #[arg(long, conflicts_with = "no_privacy")]
    pub privacy: bool,
    /// Keep user names and parameters as given (series values are never recorded)
    #[arg(long)]
    pub no_privacy: bool,
}

/// Arguments of the hidden `analytics selftest`.
#[derive(Debug, Args)]
pub struct SelftestArgs {
    /// How many events to record
    #[arg(long, default_value_t = 100)]
    pub events: u64,
    /// Component name of the events
    #[arg(long, default_value = "selftest")]
    pub component: String,
    /// A parameter KEY=VALUE to record with each event (repeatable)
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Record each event as failed with this message
    #[arg(long, value_name = "MESSAGE")]
    pub fail: Option<String>,
    /// Pause between events, microseconds
    #[arg(long, default_value_t = 0)]
    pub interval_us: u64,
}

/// Arguments of `analytics merge`.
#[derive(Debug, Args)]
pub struct MergeStoresArgs {
    /// Store directories to import from (each holding `analytics/`)
    #[arg(required = true, value_name = "STORE")]
    pub stores: Vec<std::path::PathBuf>,
    /// The store to import into [default: the store in use (--store, LRDBENCH_HOME or
    /// ~/.lrdbench)]
    #[arg(long, value_name = "STORE")]
    pub into: Option<std::path::PathBuf>,
    /// Import a store keyed with another secret by hashing its user ids again under the
    /// target's secret (they then stay apart from, and unlinkable to, the target's own ids)
    #[arg(long)]
    pub rekey: bool,
}
