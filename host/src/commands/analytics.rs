//! `analytics status|enable|disable|forget|purge` (and the hidden `selftest`).

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use lrdbench_analytics::config::{self, AnalyticsConfig};
use lrdbench_analytics::event::{CallEvent, ErrorInfo, EventType};
use lrdbench_analytics::store::Store;
use lrdbench_analytics::{journal, privacy, recorder, Analytics, StorePaths};
use lrdbench_host::settings::Settings;

use crate::cli::analytics::{AnalyticsCommand, SelftestArgs};

/// Runs one `analytics` subcommand.
pub fn run(settings: &Settings, cmd: AnalyticsCommand) -> Result<ExitCode> {
    let store_dir = settings.store_dir.as_path();
    match cmd {
        AnalyticsCommand::Status { json } => status(store_dir, json),
        AnalyticsCommand::Enable(args) => {
            let mut cfg = AnalyticsConfig::load(store_dir)?;
            cfg.enabled = true;
            if args.privacy {
                cfg.privacy = true;
            } else if args.no_privacy {
                cfg.privacy = false;
            }
            cfg.save(store_dir)?;
            outln!(
                "analytics recording on, privacy mode {}",
                if cfg.privacy { "on" } else { "off" }
            );
            if let Some(var) = config::disabled_by_env() {
                eprintln!(
                    "note: {var} is set in this environment, so nothing is recorded while it is"
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        AnalyticsCommand::Disable => {
            let mut cfg = AnalyticsConfig::load(store_dir)?;
            cfg.enabled = false;
            cfg.save(store_dir)?;
            outln!("analytics recording off");
            Ok(ExitCode::SUCCESS)
        }
        AnalyticsCommand::Forget { user } => forget(store_dir, &user),
        AnalyticsCommand::Purge { yes } => purge(store_dir, yes),
        AnalyticsCommand::Selftest(args) => selftest(store_dir, &args),
    }
}

fn status(store_dir: &Path, as_json: bool) -> Result<ExitCode> {
    let cfg = AnalyticsConfig::load(store_dir)?;
    let paths = StorePaths::new(store_dir);
    let env_off = config::disabled_by_env();
    let recording = match (cfg.enabled, env_off) {
        (_, Some(var)) => format!("off ({var} is set)"),
        (false, None) => "off (lrdbench-host analytics disable)".to_string(),
        (true, None) => "on".to_string(),
    };
    let file = paths.dir.join(lrdbench_analytics::store::FILE_NAME);
    let journals = journal::list(&paths.journals)?;
    let journal_bytes: u64 = journals
        .iter()
        .filter_map(|(_, p)| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    if as_json {
        let counts = if file.exists() {
            Some(Store::open(&paths.dir)?.counts()?)
        } else {
            None
        };
        let v = serde_json::json!({
            "recording": cfg.enabled && env_off.is_none(),
            "disabled_by": match (cfg.enabled, env_off) {
                (_, Some(var)) => Some(var.to_string()),
                (false, None) => Some("config".to_string()),
                (true, None) => None,
            },
            "privacy": cfg.privacy,
            "retention_days": cfg.retention_days,
            "store": file.display().to_string(),
            "calls": counts.as_ref().map_or(0, |c| c.calls),
            "failed_calls": counts.as_ref().map_or(0, |c| c.errors),
            "workflow_steps": counts.as_ref().map_or(0, |c| c.steps),
            "unreadable_records": counts.as_ref().map_or(0, |c| c.unreadable),
            "store_bytes": std::fs::metadata(&file).map_or(0, |m| m.len()),
            "journal_bytes": journal_bytes,
            "journals": journals.len(),
        });
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    outln!("recording: {recording}");
    outln!("privacy mode: {}", if cfg.privacy { "on" } else { "off" });
    outln!("retention: {} days", cfg.retention_days);
    outln!("store: {}", file.display());
    if file.exists() {
        let store = Store::open(&paths.dir)?;
        let c = store.counts()?;
        outln!(
            "events: {} calls ({} failed), {} workflow steps",
            c.calls,
            c.errors,
            c.steps
        );
        if c.unreadable > 0 {
            outln!(
                "unreadable records: {} (kept aside in the store, left out of reports)",
                c.unreadable
            );
        }
        let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
        outln!(
            "size: {} (+ {} in {} journal{})",
            human_bytes(size),
            human_bytes(journal_bytes),
            journals.len(),
            if journals.len() == 1 { "" } else { "s" }
        );
    } else {
        outln!("events: none recorded yet");
    }
    Ok(ExitCode::SUCCESS)
}

fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GiB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

/// Opens the store after storing the journals of dead processes, so that deletions also reach
/// events not yet stored. Returns the store and how many live processes are still recording.
fn open_settled(store_dir: &Path) -> Result<Option<(Store, usize)>> {
    let paths = StorePaths::new(store_dir);
    if !paths
        .dir
        .join(lrdbench_analytics::store::FILE_NAME)
        .exists()
        && journal::list(&paths.journals)?.is_empty()
    {
        return Ok(None);
    }
    let store = Store::open(&paths.dir)?;
    recorder::replay_dead_journals(&store, &paths.journals)?;
    let live = journal::list(&paths.journals)?.len();
    Ok(Some((store, live)))
}

fn forget(store_dir: &Path, user: &str) -> Result<ExitCode> {
    let Some((store, live)) = open_settled(store_dir)? else {
        outln!("deleted 0 events (nothing recorded)");
        return Ok(ExitCode::SUCCESS);
    };
    let paths = StorePaths::new(store_dir);
    let secret = privacy::load_or_create_secret(&paths.dir).with_context(|| {
        format!(
            "cannot read the analytics secret in {}",
            paths.dir.display()
        )
    })?;
    let hashed = privacy::hash_user_id(&secret, user);
    let n = store.forget_users(&[user, hashed.as_str()])?;
    outln!("deleted {n} events of user {user}");
    if live > 0 {
        eprintln!("note: {live} running lrdbench process(es) are still recording; run this again once they finish");
    }
    Ok(ExitCode::SUCCESS)
}

fn purge(store_dir: &Path, yes: bool) -> Result<ExitCode> {
    let paths = StorePaths::new(store_dir);
    let file = paths.dir.join(lrdbench_analytics::store::FILE_NAME);
    if !yes {
        if !std::io::stdin().is_terminal() {
            bail!("purge deletes every recorded event: confirm with --yes");
        }
        eprint!(
            "delete every recorded event in {}? [y/N] ",
            paths.dir.display()
        );
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            outln!("nothing deleted");
            return Ok(ExitCode::SUCCESS);
        }
    }
    // Journals of dead processes go first, or the next start would bring their events back.
    for (_, path) in journal::list(&paths.journals)? {
        if let Ok(f) = std::fs::File::options().read(true).write(true).open(&path) {
            if journal::try_lock(&f).unwrap_or(false) {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
    if !file.exists() {
        outln!("deleted 0 events (nothing recorded)");
        return Ok(ExitCode::SUCCESS);
    }
    match Store::open(&paths.dir) {
        Ok(mut store) => {
            let n = store.purge()?;
            store.compact_if_worth_it();
            outln!("deleted {n} events");
        }
        Err(lrdbench_analytics::StoreError::Corrupt { .. }) => {
            std::fs::remove_file(&file)
                .with_context(|| format!("cannot delete {}", file.display()))?;
            outln!("deleted the damaged store {}", file.display());
        }
        Err(e) => return Err(e.into()),
    }
    let live = journal::list(&paths.journals)?.len();
    if live > 0 {
        eprintln!(
            "note: {live} running lrdbench process(es) are still recording; their events are kept"
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn selftest(store_dir: &Path, args: &SelftestArgs) -> Result<ExitCode> {
    let analytics = Analytics::open(store_dir)?;
    if !analytics.is_recording() {
        bail!("analytics recording is off");
    }
    let mut params: Vec<(&str, &str)> = Vec::new();
    for p in &args.params {
        let Some((k, v)) = p.split_once('=') else {
            bail!("--param {p}: expected KEY=VALUE");
        };
        params.push((k, v));
    }
    let mut out = std::io::stdout().lock();
    for seq in 0..args.events {
        let error = args.fail.as_deref().map(|m| ErrorInfo {
            kind: "internal".into(),
            message: analytics.sanitize_message(m),
            location: None,
            backtrace: None,
        });
        let event = CallEvent {
            id: 0,
            timestamp_us: lrdbench_analytics::now_us(),
            event_type: EventType::Custom,
            component: args.component.clone(),
            plugin: None,
            parameters: lrdbench_analytics::api::parameters_from_text(&analytics, &params),
            data_length: seq,
            success: error.is_none(),
            user_id: String::new(),
            session_id: String::new(),
            run_id: None,
            workflow: None,
            cell: None,
            truth_h: None,
            performance: None,
            error,
            machine: None,
        };
        let Some(id) = analytics.record_call(event) else {
            bail!("recording stopped");
        };
        // Printed only once `record_call` returned: the event is in the journal.
        writeln!(out, "{id} {seq}")?;
        out.flush()?;
        if args.interval_us > 0 {
            std::thread::sleep(std::time::Duration::from_micros(args.interval_us));
        }
    }
    analytics.close();
    Ok(ExitCode::SUCCESS)
}
