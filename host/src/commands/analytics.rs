//! `analytics status|enable|disable|forget|purge|verify|repair` (and the hidden `selftest`).
//!
//! Every use of the store goes through [`guard::catch`]: a damaged file is a one-line error,
//! never a panic.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use lrdbench_analytics::config::{self, AnalyticsConfig};
use lrdbench_analytics::event::{CallEvent, ErrorInfo, EventType};
use lrdbench_analytics::lock::MaintenanceLock;
use lrdbench_analytics::store::Store;
use lrdbench_analytics::{
    guard, list_journals, privacy, repair, replay_dead_journals, try_lock_journal, Analytics,
    StorePaths,
};
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
        AnalyticsCommand::Merge(args) => super::merge::analytics_merge(store_dir, &args),
        AnalyticsCommand::Verify => verify(store_dir),
        AnalyticsCommand::Repair => repair_store(store_dir),
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
    let journals = list_journals(&paths.journals)?;
    let journal_bytes: u64 = journals
        .iter()
        .filter_map(|(_, p)| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let counts = || guard::catch(&file, || Store::open_read_only(&paths.dir)?.counts());
    if as_json {
        let counts = if file.exists() { Some(counts()?) } else { None };
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
            "lost_events": lrdbench_analytics::space::lost_total(&paths.dir),
        });
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    outln!("recording: {recording}");
    outln!("privacy mode: {}", if cfg.privacy { "on" } else { "off" });
    outln!("retention: {} days", cfg.retention_days);
    outln!("store: {}", file.display());
    if file.exists() {
        let c = counts()?;
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
    let lost = lrdbench_analytics::space::lost_total(&paths.dir);
    if lost > 0 {
        outln!(
            "lost: {lost} events could not be recorded (no space left); purge resets this count"
        );
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

/// Whether anything was ever recorded in the store under `paths`.
fn anything_recorded(paths: &StorePaths) -> Result<bool> {
    Ok(paths
        .dir
        .join(lrdbench_analytics::store::FILE_NAME)
        .exists()
        || !list_journals(&paths.journals)?.is_empty())
}

/// Opens the store after storing the journals of dead processes, so that deletions also reach
/// events not yet stored. Returns the store and how many live processes are still recording.
fn open_settled(paths: &StorePaths) -> Result<(Store, usize)> {
    let file = paths.dir.join(lrdbench_analytics::store::FILE_NAME);
    let store = guard::catch(&file, || {
        let store = Store::open(&paths.dir)?;
        replay_dead_journals(&store, &paths.journals)?;
        Ok(store)
    })?;
    let live = list_journals(&paths.journals)?.len();
    Ok((store, live))
}

/// Deletes the damaged files kept aside (`analytics.redb.damaged-*`, `*.jnl.damaged`), which may
/// hold deleted events and cannot be filtered; returns how many.
fn remove_kept_aside(paths: &StorePaths) -> usize {
    let mut n = 0;
    for dir in [&paths.dir, &paths.journals] {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            let aside = name.starts_with(&format!(
                "{}.damaged-",
                lrdbench_analytics::store::FILE_NAME
            )) || name.ends_with(".jnl.damaged");
            if aside && std::fs::remove_file(entry.path()).is_ok() {
                n += 1;
            }
        }
    }
    n
}

fn forget(store_dir: &Path, user: &str) -> Result<ExitCode> {
    let paths = StorePaths::new(store_dir);
    if !anything_recorded(&paths)? {
        outln!("deleted 0 events (nothing recorded)");
        return Ok(ExitCode::SUCCESS);
    }
    let file = paths.dir.join(lrdbench_analytics::store::FILE_NAME);
    let secret = privacy::load_or_create_secret(&paths.dir).with_context(|| {
        format!(
            "cannot read the analytics secret in {}",
            paths.dir.display()
        )
    })?;
    let hashed = privacy::hash_user_id(&secret, user);
    let ids = [user, hashed.as_str()];
    // Taken before the journals are replayed, so that no process starts using the store
    // between the replay and the rewrite.
    let lock = MaintenanceLock::exclusive(&paths.dir)?;
    let (store, live) = open_settled(&paths)?;
    match lock {
        Some(lock) => {
            drop(store);
            let done = guard::catch(&file, || {
                repair::rewrite(store_dir, &lock, |e| !ids.contains(&event_user(e)))
            })?;
            let aside = remove_kept_aside(&paths);
            outln!(
                "deleted {} events of user {user}; the store was rewritten without them",
                done.removed
            );
            if aside > 0 {
                outln!("deleted {aside} damaged file(s) kept aside, which could hold them");
            }
        }
        None => {
            let n = guard::catch(&file, || store.forget_users(&ids))?;
            outln!("deleted {n} events of user {user}");
            eprintln!(
                "note: another lrdbench process has the store open, so the deleted events' bytes stay in its file until this runs again while none has"
            );
        }
    }
    if live > 0 {
        eprintln!("note: {live} running lrdbench process(es) are still recording; run this again once they finish");
    }
    Ok(ExitCode::SUCCESS)
}

fn event_user(e: &lrdbench_analytics::event::Event) -> &str {
    match e {
        lrdbench_analytics::event::Event::Call(c) => &c.user_id,
        lrdbench_analytics::event::Event::Step(s) => &s.user_id,
    }
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
    let lock = MaintenanceLock::exclusive(&paths.dir)?;
    // Journals of dead processes go first, or the next start would bring their events back.
    for (_, path) in list_journals(&paths.journals)? {
        if let Ok(f) = std::fs::File::options().read(true).write(true).open(&path) {
            if try_lock_journal(&f).unwrap_or(false) {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
    let aside = remove_kept_aside(&paths);
    if aside > 0 {
        outln!("deleted {aside} damaged file(s) kept aside");
    }
    lrdbench_analytics::space::forget_lost(&paths.dir);
    if !file.exists() {
        outln!("deleted 0 events (nothing recorded)");
        return Ok(ExitCode::SUCCESS);
    }
    let counted = guard::catch(&file, || Store::open_read_only(&paths.dir)?.counts());
    match lock {
        Some(lock) => {
            // A fresh, empty file takes the store's place: no byte of the old one stays.
            repair::replace_with_empty(store_dir, &lock)?;
            match counted {
                Ok(c) => outln!("deleted {} events", c.calls + c.steps),
                Err(_) => outln!("deleted the damaged store {}", file.display()),
            }
        }
        None => {
            let n = guard::catch(&file, || {
                let mut store = Store::open(&paths.dir)?;
                let n = store.purge()?;
                store.compact_if_worth_it();
                Ok(n)
            })?;
            outln!("deleted {n} events");
            eprintln!(
                "note: another lrdbench process has the store open, so the deleted events' bytes stay in its file until this runs again while none has"
            );
        }
    }
    let live = list_journals(&paths.journals)?.len();
    if live > 0 {
        eprintln!(
            "note: {live} running lrdbench process(es) are still recording; their events are kept"
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn verify(store_dir: &Path) -> Result<ExitCode> {
    let paths = StorePaths::new(store_dir);
    let file = paths.dir.join(lrdbench_analytics::store::FILE_NAME);
    if !file.exists() {
        outln!("no store yet ({}): nothing to verify", file.display());
        return Ok(ExitCode::SUCCESS);
    }
    let s = repair::verify(store_dir)?;
    outln!("read {} calls and {} workflow steps", s.calls, s.steps);
    match s.problems() {
        None => {
            outln!("the store is whole");
            Ok(ExitCode::SUCCESS)
        }
        Some(problems) => {
            outln!("the store is damaged: {problems}");
            outln!("run `lrdbench-host analytics repair` to keep what is readable");
            Ok(ExitCode::from(1))
        }
    }
}

fn repair_store(store_dir: &Path) -> Result<ExitCode> {
    let paths = StorePaths::new(store_dir);
    let file = paths.dir.join(lrdbench_analytics::store::FILE_NAME);
    if !file.exists() {
        outln!("no store yet ({}): nothing to repair", file.display());
        return Ok(ExitCode::SUCCESS);
    }
    let r = repair::repair(store_dir).map_err(|e| match e {
        lrdbench_analytics::StoreError::Busy { .. } => anyhow::anyhow!(
            "another lrdbench process has the store {} open: repair once none is running",
            file.display()
        ),
        e => e.into(),
    })?;
    let s = &r.salvage;
    outln!(
        "kept {} calls and {} workflow steps in a fresh store",
        s.calls,
        s.steps
    );
    match s.problems() {
        Some(problems) => outln!("dropped: {problems}"),
        None => outln!("dropped: nothing (every event was readable)"),
    }
    if r.replayed > 0 {
        outln!("stored {} events that waited in journals", r.replayed);
    }
    outln!("the damaged file is kept as {}", r.aside.display());
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
        // An event that could not be written (no space) is counted, not printed.
        let Some(id) = analytics.record_call(event) else {
            continue;
        };
        // Printed only once `record_call` returned: the event is in the journal.
        writeln!(out, "{id} {seq}")?;
        out.flush()?;
        if args.interval_us > 0 {
            std::thread::sleep(std::time::Duration::from_micros(args.interval_us));
        }
    }
    analytics.close();
    super::with_lost_events(&analytics, Ok(ExitCode::SUCCESS))
}
