//! Live progress of runs, learned only from what a run already writes: its `manifest.json`
//! (cells in the plan, status, start) and its cell journal `cells.jsonl`, read from where the
//! last look stopped. Nothing in the recording path knows the server exists, so a sweep no one
//! watches pays nothing, and a watched one pays only for the page cache's share of the disk.
//!
//! A [`Tracker`] per run keeps the journal offset, the records read so far (first record of
//! each cell hash, as a resumed run reads them), failures by kind, a minute of (time, cells)
//! samples for the rate and the ETA, and the leaderboard of the records so far, recomputed
//! only when new cells arrived and at most every [`BOARD_EVERY`].

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fs::File;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use crate::workflow::metrics::{self, LeaderboardRow};
use crate::workflow::output::Manifest;
use crate::workflow::record::CellRecord;

/// The least time between two recomputations of a running run's leaderboard.
pub const BOARD_EVERY: Duration = Duration::from_secs(5);

/// The least time between two drawings of a running run's estimate-against-truth chart (the
/// page reloads it as often; a 20,000-cell chart takes tens of milliseconds to draw).
pub const CHART_EVERY: Duration = Duration::from_secs(10);

/// How far back the rate looks.
const RATE_WINDOW: Duration = Duration::from_secs(60);

/// The most journal bytes read in one look (a page poll): a large journal is caught up over
/// several looks instead of holding one request for seconds.
const READ_CHUNK: u64 = 64 << 20;

/// What the pages and `/api/runs/{id}` show of one run.
#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    /// The run's directory name (its id in URLs).
    pub id: String,
    /// The run id of the manifest.
    pub run_id: String,
    /// The workflow's name.
    pub workflow: String,
    /// `running`, `complete` or `interrupted` (the manifest's).
    pub status: String,
    /// Start time (RFC 3339).
    pub started: String,
    /// End time (RFC 3339), when finished.
    pub finished: Option<String>,
    /// Cells in the plan (of this shard, for a shard run).
    pub cells_total: usize,
    /// Cells done (in the journal; the manifest's count once the run is finished).
    pub cells_done: usize,
    /// Cells without a valid estimate.
    pub failed: usize,
    /// Failed cells by error kind.
    pub failures_by_kind: BTreeMap<String, usize>,
    /// Cells per second over the last minute this server watched (since the start of the run
    /// before it has two looks); `None` when nothing can be said.
    pub rate_per_second: Option<f64>,
    /// Seconds left at that rate; `None` when finished or unknown.
    pub eta_seconds: Option<f64>,
    /// Seconds since the journal last changed.
    pub idle_seconds: Option<f64>,
    /// The leaderboard: the run's own (`metrics.json`) once complete, else the records so far
    /// ranked with the workflow's weights (the defaults when its file cannot be read).
    pub leaderboard: serde_json::Value,
    /// Whether [`Progress::leaderboard`] is final.
    pub leaderboard_final: bool,
    /// The run files that exist, for links.
    pub files: Vec<String>,
}

/// The live state of one run directory.
#[derive(Debug)]
pub struct Tracker {
    dir: PathBuf,
    offset: u64,
    partial: Vec<u8>,
    records: Vec<CellRecord>,
    hashes: HashSet<String>,
    failures: BTreeMap<String, usize>,
    samples: VecDeque<(Instant, usize)>,
    board: Option<(usize, Instant, serde_json::Value)>,
    chart: Option<(usize, Instant, std::sync::Arc<String>)>,
    weights: Option<BTreeMap<String, f64>>,
}

impl Tracker {
    /// A tracker of the run directory `dir` that has read nothing yet.
    pub fn new(dir: PathBuf) -> Tracker {
        Tracker {
            dir,
            offset: 0,
            partial: Vec::new(),
            records: Vec::new(),
            hashes: HashSet::new(),
            failures: BTreeMap::new(),
            samples: VecDeque::new(),
            board: None,
            chart: None,
            weights: None,
        }
    }

    /// The records read so far, in journal order.
    pub fn records(&self) -> &[CellRecord] {
        &self.records
    }

    /// The estimate-against-truth chart of the records so far ([`super::api::truth_chart`]),
    /// redrawn only when cells arrived and at most every [`CHART_EVERY`].
    pub fn truth_chart(&mut self) -> std::sync::Arc<String> {
        // A journal that cannot be read shows the cells read so far.
        let _ = self.catch_up();
        let n = self.records.len();
        if let Some((seen, at, svg)) = &self.chart {
            if !stale(*seen, n, *at, CHART_EVERY) {
                return svg.clone();
            }
        }
        let svg = std::sync::Arc::new(super::api::truth_chart(&self.records));
        self.chart = Some((n, Instant::now(), svg.clone()));
        svg
    }

    /// Reads what the journal gained since the last look. A journal that shrank (rewritten)
    /// is read again from its start.
    ///
    /// # Errors
    ///
    /// An I/O error reading the journal (a missing journal is an empty one).
    pub fn catch_up(&mut self) -> std::io::Result<()> {
        let path = self.dir.join("cells.jsonl");
        let mut f = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let len = f.metadata()?.len();
        if len < self.offset {
            *self = Tracker::new(std::mem::take(&mut self.dir));
        }
        if len > self.offset {
            f.seek(SeekFrom::Start(self.offset))?;
            let mut buf = std::mem::take(&mut self.partial);
            let got = f.take(READ_CHUNK).read_to_end(&mut buf)?;
            self.offset += got as u64;
            let complete = buf.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            for line in buf[..complete].split(|&b| b == b'\n') {
                self.add_line(line);
            }
            self.partial = buf[complete..].to_vec();
        }
        let now = Instant::now();
        self.samples.push_back((now, self.records.len()));
        while self
            .samples
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) > RATE_WINDOW)
            && self.samples.len() > 2
        {
            self.samples.pop_front();
        }
        Ok(())
    }

    fn add_line(&mut self, line: &[u8]) {
        // A line that does not parse is a torn write of a killed run, which a resumed run
        // skips too.
        let Ok(r) = serde_json::from_slice::<CellRecord>(line) else {
            return;
        };
        if !self.hashes.insert(r.hash.clone()) {
            return;
        }
        if !r.valid {
            let kind = r.error_kind.clone().unwrap_or_else(|| "unknown".into());
            *self.failures.entry(kind).or_default() += 1;
        }
        self.records.push(r);
    }

    /// The run's progress as of now, the manifest read afresh. `None` when the directory has
    /// no readable manifest (any more).
    pub fn progress(&mut self, id: &str) -> Option<Progress> {
        let man: Manifest =
            serde_json::from_slice(&super::paths::read_run_file(&self.dir, "manifest.json").ok()?)
                .ok()?;
        // A journal that cannot be read shows the cells read so far.
        let _ = self.catch_up();
        let finished = man.status != "running";
        let done = if finished {
            man.cells_done.max(self.records.len())
        } else {
            self.records.len()
        };
        let rate = self.rate(&man);
        let eta = match rate {
            Some(r) if !finished && r > 0.0 => Some(man.cells.saturating_sub(done) as f64 / r),
            _ => None,
        };
        let idle = std::fs::metadata(self.dir.join("cells.jsonl"))
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .map(|d| d.as_secs_f64());
        let (leaderboard, leaderboard_final) = self.leaderboard(&man);
        let files = super::paths::RUN_FILES
            .iter()
            .map(|(name, _)| *name)
            .filter(|name| self.dir.join(name).is_file())
            .map(String::from)
            .collect();
        Some(Progress {
            id: id.to_string(),
            run_id: man.run_id,
            workflow: man.workflow,
            status: man.status,
            started: man.started,
            finished: man.finished,
            cells_total: man.cells,
            cells_done: done,
            failed: self.failures.values().sum(),
            failures_by_kind: self.failures.clone(),
            rate_per_second: rate,
            eta_seconds: eta,
            idle_seconds: idle,
            leaderboard,
            leaderboard_final,
            files,
        })
    }

    /// Cells per second: over the samples of the last minute when they span at least a
    /// second, else since the run's start.
    fn rate(&self, man: &Manifest) -> Option<f64> {
        if let (Some(first), Some(last)) = (self.samples.front(), self.samples.back()) {
            let dt = last.0.duration_since(first.0).as_secs_f64();
            if dt >= 1.0 {
                return Some(last.1.saturating_sub(first.1) as f64 / dt);
            }
        }
        let started = humantime::parse_rfc3339(&man.started).ok()?;
        let dt = SystemTime::now()
            .duration_since(started)
            .ok()?
            .as_secs_f64();
        (dt >= 1.0 && man.status == "running").then(|| self.records.len() as f64 / dt)
    }

    /// The final leaderboard from `metrics.json` when the run wrote it, else the records so
    /// far ranked (cached; see [`BOARD_EVERY`]).
    fn leaderboard(&mut self, man: &Manifest) -> (serde_json::Value, bool) {
        if man.status == "complete" {
            if let Some(board) = super::paths::read_run_file(&self.dir, "metrics.json")
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .and_then(|mut v| v.get_mut("leaderboard").map(serde_json::Value::take))
            {
                return (board, true);
            }
        }
        let n = self.records.len();
        if let Some((seen, at, board)) = &self.board {
            if !stale(*seen, n, *at, BOARD_EVERY) {
                return (board.clone(), false);
            }
        }
        let weights = self
            .weights
            .get_or_insert_with(|| workflow_weights(man))
            .clone();
        let board = serde_json::to_value(live_leaderboard(&self.records, &weights))
            .unwrap_or(serde_json::Value::Null);
        self.board = Some((n, Instant::now(), board.clone()));
        (board, false)
    }
}

/// Whether something drawn from `seen` records at `at` must be redone now that there are
/// `now` records: when cells arrived and either `every` has passed or it shows fewer than half
/// of them (so the first cells show at once, and a view never lags far behind the run).
fn stale(seen: usize, now: usize, at: Instant, every: Duration) -> bool {
    now != seen && (at.elapsed() >= every || seen < now / 2 + now % 2)
}

/// The leaderboard of the records so far: the overall metrics of each estimator row (rows in
/// the order their first cell finished), ranked as the run's own leaderboard will be.
pub fn live_leaderboard(
    records: &[CellRecord],
    weights: &BTreeMap<String, f64>,
) -> Vec<LeaderboardRow> {
    let mut rows: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    for r in records {
        if seen.insert(r.variant.as_str()) {
            rows.push(r.variant.clone());
        }
    }
    let overall = metrics::compute(records, &rows, &[]);
    metrics::leaderboard(&overall, weights)
}

/// The leaderboard weights of the run's workflow file, when it is still there unchanged (its
/// SHA-256 is the manifest's); the defaults otherwise.
fn workflow_weights(man: &Manifest) -> BTreeMap<String, f64> {
    let path = Path::new(&man.workflow_path);
    let from_file = || -> Option<BTreeMap<String, f64>> {
        let text = crate::fsutil::read_regular_text(path, 1 << 20).ok()?;
        let sha = crate::plugin::hex(&<sha2::Sha256 as sha2::Digest>::digest(text.as_bytes()));
        if sha != man.workflow_sha256 {
            return None;
        }
        let (file, _) = crate::workflow::spec::parse(path, &text).ok()?;
        Some(
            file.leaderboard
                .weights?
                .into_iter()
                .map(|(k, v)| (k.into_inner(), v.into_inner()))
                .collect(),
        )
    };
    from_file().unwrap_or_else(metrics::default_weights)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use std::io::Write as _;

    fn record(i: usize, variant: &str, valid: bool) -> CellRecord {
        CellRecord {
            index: i,
            hash: format!("h{i}"),
            series_id: format!("s{i}"),
            origin: "fgn".into(),
            truth: [("H".to_string(), 0.7)].into_iter().collect(),
            length: 256,
            contamination: "clean".into(),
            estimator: variant.into(),
            variant: variant.into(),
            params: String::new(),
            estimand: "H".into(),
            value: valid.then_some(0.7 + 0.01 * i as f64),
            stderr: None,
            ci_low: None,
            ci_high: None,
            ci_level: None,
            ci_method: None,
            r_squared: None,
            valid,
            error_kind: (!valid).then(|| "numerical".into()),
            error_message: None,
            elapsed_ms: 1.0,
            warnings: vec![],
        }
    }

    fn manifest(dir: &Path, status: &str, cells: usize) {
        let m = serde_json::json!({
            "run_id": "r1", "status": status, "workflow": "w", "workflow_path": "/nonexistent.toml",
            "workflow_sha256": "00", "seed": 1, "host_version": "0", "plugins": [], "cells": cells,
            "cells_done": 0, "threads": 1, "started": "2026-01-01T00:00:00Z", "finished": null
        });
        std::fs::write(dir.join("manifest.json"), m.to_string()).unwrap();
    }

    #[test]
    fn the_journal_is_read_incrementally_torn_lines_wait_and_duplicates_count_once() {
        let tmp = tempfile::tempdir().unwrap();
        manifest(tmp.path(), "running", 10);
        let mut t = Tracker::new(tmp.path().to_path_buf());
        let p = t.progress("r1").unwrap();
        assert_eq!((p.cells_done, p.cells_total), (0, 10));
        let journal = tmp.path().join("cells.jsonl");
        let mut f = std::fs::File::create(&journal).unwrap();
        let line = |r: &CellRecord| serde_json::to_string(r).unwrap();
        writeln!(f, "{}", line(&record(0, "a", true))).unwrap();
        writeln!(f, "{}", line(&record(1, "b", false))).unwrap();
        // Half a line: not counted until its end arrives.
        let third = line(&record(2, "a", true));
        write!(f, "{}", &third[..10]).unwrap();
        f.flush().unwrap();
        let p = t.progress("r1").unwrap();
        assert_eq!(p.cells_done, 2);
        assert_eq!(p.failed, 1);
        assert_eq!(p.failures_by_kind.get("numerical"), Some(&1));
        writeln!(f, "{}", &third[10..]).unwrap();
        // The same cell again (a resumed run): counted once.
        writeln!(f, "{}", line(&record(0, "a", true))).unwrap();
        f.flush().unwrap();
        let p = t.progress("r1").unwrap();
        assert_eq!(p.cells_done, 3);
        assert!(!p.leaderboard_final);
        let board = p.leaderboard.as_array().unwrap();
        assert_eq!(board.len(), 2, "{board:?}");
        // Rewritten shorter: read again from the start.
        std::fs::write(&journal, format!("{}\n", line(&record(5, "c", true)))).unwrap();
        assert_eq!(t.progress("r1").unwrap().cells_done, 1);
    }

    #[test]
    fn views_are_redone_when_cells_arrived_and_time_passed_or_they_lag_by_half() {
        let now = Instant::now();
        let long_ago = now - Duration::from_secs(60);
        assert!(!stale(10, 10, long_ago, BOARD_EVERY), "no new cells");
        assert!(
            stale(10, 11, long_ago, BOARD_EVERY),
            "new cells, time passed"
        );
        assert!(
            !stale(10, 19, now, BOARD_EVERY),
            "recent and shows over half"
        );
        assert!(
            stale(9, 19, now, BOARD_EVERY),
            "recent but shows under half"
        );
        assert!(
            stale(0, 1, now, BOARD_EVERY),
            "the first cells show at once"
        );
    }

    #[test]
    fn a_complete_run_shows_its_own_leaderboard() {
        let tmp = tempfile::tempdir().unwrap();
        manifest(tmp.path(), "complete", 1);
        std::fs::write(
            tmp.path().join("metrics.json"),
            r#"{"metrics":[],"leaderboard":[{"rank":1,"estimator":"x"}]}"#,
        )
        .unwrap();
        let p = Tracker::new(tmp.path().to_path_buf())
            .progress("r1")
            .unwrap();
        assert!(p.leaderboard_final);
        assert_eq!(p.leaderboard[0]["estimator"], "x");
        assert_eq!(p.eta_seconds, None);
        assert!(p.files.contains(&"metrics.json".to_string()));
    }

    #[test]
    fn the_live_leaderboard_ranks_as_the_run_will() {
        let records: Vec<CellRecord> = (0..20)
            .map(|i| record(i, if i % 2 == 0 { "a" } else { "b" }, i % 5 != 1))
            .collect();
        let weights = metrics::default_weights();
        let live = live_leaderboard(&records, &weights);
        let rows = vec!["a".to_string(), "b".to_string()];
        let overall = metrics::compute(&records, &rows, &[]);
        let want = metrics::leaderboard(&overall, &weights);
        let names = |b: &[LeaderboardRow]| {
            b.iter()
                .map(|r| (r.rank, r.estimator.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&live), names(&want));
    }
}
