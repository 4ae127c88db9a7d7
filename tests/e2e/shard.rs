//! Sharded sweeps: shards run in any order, one interrupted and resumed, merge into exactly the
//! outputs of a single-machine run (but for timings); missing, duplicated and foreign shards are
//! errors that name them, or with `--partial` a report of what is missing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::host_binary;

fn host(store: &Path, args: &[&str]) -> Output {
    host_env(store, args, &[])
}

fn host_env(store: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(host_binary());
    c.args(args)
        .env("LRDBENCH_HOME", store)
        .env("LRDBENCH_ANALYTICS", "0")
        .env_remove("LRDBENCH_PLUGIN_PATH");
    for k in [
        "SLURM_ARRAY_TASK_ID",
        "SLURM_ARRAY_TASK_COUNT",
        "SLURM_ARRAY_TASK_MIN",
    ] {
        c.env_remove(k);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("host runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn ok(out: &Output) -> PathBuf {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
    PathBuf::from(text(&out.stdout).lines().last().expect("a line").trim())
}

/// 18 series × 2 contamination variants × 5 estimators = 180 cells of a few milliseconds.
/// The leaderboard weighs no timing, so its ranks are comparable across machines.
const WORKFLOW: &str = r#"
[workflow]
name = "sharded"
seed = 7
keep_clean = true

[[data]]
model = "fgn"
params = { H = [0.3, 0.6, 0.9] }
lengths = [256, 1024]
replicates = 3

[[contamination]]
name = "white_noise"
params = { snr = 4.0 }

[[estimator]]
name = "dfa"

[[estimator]]
name = "rs"

[[estimator]]
name = "higuchi"

[[estimator]]
name = "whittle"

[[estimator]]
name = "local_whittle"

[metrics]
compute = ["bias", "mae", "rmse", "coverage", "ci_width", "validity", "runtime"]
strata = ["length", "h_band"]

[leaderboard]
weights = { mae = 0.5, coverage = 0.25, validity = 0.25 }

[output]
formats = ["csv", "md", "json", "html"]

[execution]
threads = 2
"#;

/// A CSV file without its timing and run-id columns, rows as read.
fn table(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let headers = r.headers().unwrap().clone();
    let timing = |h: &str| h == "run_id" || h.contains("runtime") || h.contains("elapsed");
    let keep: Vec<usize> = (0..headers.len())
        .filter(|&i| !timing(&headers[i]))
        .collect();
    let mut rows = vec![keep.iter().map(|&i| headers[i].to_string()).collect()];
    for rec in r.records() {
        let rec = rec.unwrap();
        rows.push(keep.iter().map(|&i| rec[i].to_string()).collect());
    }
    rows
}

fn same_outputs(single: &Path, merged: &Path) {
    for f in ["estimates.csv", "metrics.csv", "leaderboard.csv"] {
        let (a, b) = (table(&single.join(f)), table(&merged.join(f)));
        assert!(a.len() > 1, "{f} has rows");
        assert_eq!(a, b, "{f} differs between the single run and the merge");
    }
}

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap()
}

/// The run directories under `out`, by shard index.
fn shard_dirs(out: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<(u64, PathBuf)> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("manifest.json").exists())
        .map(|p| (manifest(&p)["shard"]["index"].as_u64().unwrap(), p))
        .collect();
    dirs.sort();
    dirs.into_iter().map(|(_, p)| p).collect()
}

/// Makes a finished shard look killed part-way: a third of its journal kept and a torn line.
fn interrupt(dir: &Path) {
    let cells = std::fs::read_to_string(dir.join("cells.jsonl")).unwrap();
    let lines: Vec<&str> = cells.lines().collect();
    let mut kept = lines[..lines.len() / 3].join("\n");
    kept.push('\n');
    kept.push_str(&lines[lines.len() / 3][..20]);
    std::fs::write(dir.join("cells.jsonl"), kept).unwrap();
    let mut m = manifest(dir);
    m["status"] = "interrupted".into();
    std::fs::write(dir.join("manifest.json"), m.to_string()).unwrap();
}

#[test]
fn merged_shards_equal_a_single_run_for_1_3_and_7_shards() {
    let tmp = tempfile::tempdir().unwrap();
    let wf = tmp.path().join("sharded.toml");
    std::fs::write(&wf, WORKFLOW).unwrap();
    let wfs = wf.to_str().unwrap();
    let single = ok(&host(
        tmp.path(),
        &[
            "run",
            wfs,
            "--out",
            tmp.path().join("single").to_str().unwrap(),
        ],
    ));
    let total = manifest(&single)["cells"].as_u64().unwrap();
    assert_eq!(total, 180);

    for n in [1usize, 3, 7] {
        let out = tmp.path().join(format!("shards{n}"));
        let outs = out.to_str().unwrap();
        // Scrambled order: odd indices descending, then even ones ascending.
        let mut order: Vec<usize> = (0..n).filter(|i| i % 2 == 1).rev().collect();
        order.extend((0..n).filter(|i| i % 2 == 0));
        for &i in &order {
            ok(&host(
                tmp.path(),
                &["run", wfs, "--shard", &format!("{i}/{n}"), "--out", outs],
            ));
        }
        let dirs = shard_dirs(&out);
        assert_eq!(dirs.len(), n);
        let cells: Vec<u64> = dirs
            .iter()
            .map(|d| manifest(d)["cells"].as_u64().unwrap())
            .collect();
        assert_eq!(
            cells.iter().sum::<u64>(),
            total,
            "shards cover the plan once"
        );
        // Balanced by expected cost (n log2 n without a cost table): dealing out longest
        // first to the least-loaded shard leaves loads at most one largest unit apart (a
        // whole series of 10 cells with 3 shards, one cell with 7: fewer than 4 series per
        // shard).
        let loads: Vec<f64> = dirs
            .iter()
            .map(|d| {
                let journal = std::fs::read_to_string(d.join("cells.jsonl")).unwrap();
                journal
                    .lines()
                    .map(|l| {
                        let r: serde_json::Value = serde_json::from_str(l).unwrap();
                        let n = r["length"].as_f64().unwrap();
                        n * n.log2()
                    })
                    .sum()
            })
            .collect();
        let lo = loads.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = loads.iter().copied().fold(0.0, f64::max);
        assert!(
            hi - lo <= 1024.0 * 10.0,
            "shard loads {loads:?} ({cells:?} cells)"
        );

        // One shard killed part-way: the merge refuses and says how to resume it.
        let victim = &dirs[n / 2];
        interrupt(victim);
        let merged = tmp.path().join(format!("merged{n}"));
        let refused = host(
            tmp.path(),
            &["merge", outs, "--out", merged.to_str().unwrap()],
        );
        assert!(!refused.status.success());
        let err = text(&refused.stderr);
        assert!(
            err.contains(&format!("shard {}/{n}", n / 2)) && err.contains("incomplete"),
            "{err}"
        );
        assert!(!merged.exists(), "nothing written on error");
        // Running the shard again resumes it in place.
        let resumed = host(
            tmp.path(),
            &[
                "run",
                wfs,
                "--shard",
                &format!("{}/{n}", n / 2),
                "--out",
                outs,
            ],
        );
        assert_eq!(&ok(&resumed), victim);
        assert!(
            text(&resumed.stderr).contains("resumed"),
            "{}",
            text(&resumed.stderr)
        );
        assert_eq!(shard_dirs(&out).len(), n);

        // Merge the shard directories given in scrambled order.
        let mut args: Vec<String> = vec!["merge".into()];
        args.extend(
            order
                .iter()
                .map(|&i| dirs[i].to_string_lossy().into_owned()),
        );
        args.extend(["--out".into(), merged.to_string_lossy().into_owned()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let merged_dir = ok(&host(tmp.path(), &args));
        assert_eq!(merged_dir, merged);
        same_outputs(&single, &merged);
        let m = manifest(&merged);
        assert_eq!(m["status"], "complete");
        assert_eq!(m["cells"].as_u64(), Some(total));
        assert_eq!(m["merged"]["count"].as_u64(), Some(n as u64));
        assert_eq!(m["merged"]["shards"].as_array().unwrap().len(), n);
        assert_eq!(m["merged"]["missing_cells"].as_u64(), Some(0));
        assert!(m.get("shard").is_none(), "the merge is a whole run");
    }
}

#[test]
fn missing_duplicated_and_foreign_shards_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let wf = tmp.path().join("sharded.toml");
    std::fs::write(&wf, WORKFLOW).unwrap();
    let wfs = wf.to_str().unwrap();
    let out = tmp.path().join("shards");
    let outs = out.to_str().unwrap();
    for i in [0, 2] {
        ok(&host(
            tmp.path(),
            &["run", wfs, "--shard", &format!("{i}/3"), "--out", outs],
        ));
    }
    let dirs = shard_dirs(&out);
    let merged = tmp.path().join("merged");
    let ms = merged.to_str().unwrap();

    let missing = host(tmp.path(), &["merge", outs, "--out", ms]);
    assert!(!missing.status.success());
    assert!(
        text(&missing.stderr).contains("missing shard(s) 1 of 3"),
        "{}",
        text(&missing.stderr)
    );
    assert!(!merged.exists());

    let d0 = dirs[0].to_str().unwrap();
    let twice = host(tmp.path(), &["merge", d0, d0, "--out", ms]);
    assert!(
        text(&twice.stderr).contains("shard 0/3 appears twice"),
        "{}",
        text(&twice.stderr)
    );

    // The same shard index of another sweep (another seed) does not belong.
    let other = tmp.path().join("other.toml");
    std::fs::write(&other, WORKFLOW.replace("seed = 7", "seed = 8")).unwrap();
    let other_out = tmp.path().join("other");
    let foreign = ok(&host(
        tmp.path(),
        &[
            "run",
            other.to_str().unwrap(),
            "--shard",
            "1/3",
            "--out",
            other_out.to_str().unwrap(),
        ],
    ));
    let mixed = host(
        tmp.path(),
        &["merge", outs, foreign.to_str().unwrap(), "--out", ms],
    );
    assert!(
        text(&mixed.stderr).contains("shards of different sweeps (the workflow file differs)"),
        "{}",
        text(&mixed.stderr)
    );

    // A whole run is not a shard.
    let whole = ok(&host(
        tmp.path(),
        &[
            "run",
            wfs,
            "--out",
            tmp.path().join("whole").to_str().unwrap(),
        ],
    ));
    let not_shard = host(tmp.path(), &["merge", whole.to_str().unwrap(), "--out", ms]);
    assert!(
        text(&not_shard.stderr).contains("a whole run, not a shard"),
        "{}",
        text(&not_shard.stderr)
    );

    // --partial merges what is there and says what fraction is missing.
    let partial = host(tmp.path(), &["merge", outs, "--out", ms, "--partial"]);
    assert_eq!(partial.status.code(), Some(3), "{}", text(&partial.stderr));
    let m = manifest(&merged);
    assert_eq!(m["status"], "partial");
    let missing_cells = m["merged"]["missing_cells"].as_u64().unwrap();
    let present: u64 = dirs
        .iter()
        .map(|d| manifest(d)["cells"].as_u64().unwrap())
        .sum();
    assert_eq!(missing_cells + present, 180);
    assert_eq!(m["merged"]["missing_shards"], serde_json::json!([1]));
    let fraction = m["merged"]["missing_fraction"].as_f64().unwrap();
    assert!((fraction - missing_cells as f64 / 180.0).abs() < 1e-12);
    let html = std::fs::read_to_string(merged.join("report.html")).unwrap();
    assert!(
        html.contains("Partial merge:"),
        "the report says it is partial"
    );
    assert_eq!(
        table(&merged.join("estimates.csv")).len() as u64,
        present + 1
    );
}

#[test]
fn shard_slurm_reads_the_array_task_environment() {
    let tmp = tempfile::tempdir().unwrap();
    let wf = tmp.path().join("sharded.toml");
    std::fs::write(&wf, WORKFLOW).unwrap();
    let out = tmp.path().join("shards");
    let dir = ok(&host_env(
        tmp.path(),
        &[
            "run",
            wf.to_str().unwrap(),
            "--shard",
            "slurm",
            "--out",
            out.to_str().unwrap(),
        ],
        &[
            ("SLURM_ARRAY_TASK_ID", "2"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ],
    ));
    let m = manifest(&dir);
    assert_eq!(m["shard"]["index"], 2);
    assert_eq!(m["shard"]["count"], 4);
    assert_eq!(m["shard"]["plan_cells"], 180);
    let outside = host(
        tmp.path(),
        &["run", wf.to_str().unwrap(), "--shard", "slurm"],
    );
    assert_eq!(outside.status.code(), Some(2));
    assert!(
        text(&outside.stderr).contains("SLURM_ARRAY_TASK_ID is not set"),
        "{}",
        text(&outside.stderr)
    );
}

#[test]
fn slurm_writes_plain_scripts_with_visible_command_lines() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("sharded.toml"), WORKFLOW).unwrap();
    let out = Command::new(host_binary())
        .current_dir(tmp.path())
        .args([
            "slurm",
            "sharded.toml",
            "--shards",
            "4",
            "--partition",
            "short",
            "--time",
            "0:10:00",
            "--cpus-per-task",
            "2",
            "--mem",
            "2G",
        ])
        .env("LRDBENCH_HOME", tmp.path())
        .env("LRDBENCH_ANALYTICS", "0")
        .env_remove("LRDBENCH_PLUGIN_PATH")
        .output()
        .unwrap();
    let dir = tmp.path().join(ok(&out));
    let array = std::fs::read_to_string(dir.join("shards.sbatch")).unwrap();
    for line in [
        "#SBATCH --array=0-3",
        "#SBATCH --partition=short",
        "#SBATCH --time=0:10:00",
        "#SBATCH --cpus-per-task=2",
        "#SBATCH --mem=2G",
        "\"$LRDBENCH\" run sharded.toml --shard slurm",
    ] {
        assert!(array.contains(line), "{line} in\n{array}");
    }
    let merge = std::fs::read_to_string(dir.join("merge.sbatch")).unwrap();
    assert!(merge.contains("\"$LRDBENCH\" merge sweep-sharded/shards --out sweep-sharded/merged"));
    let submit = std::fs::read_to_string(dir.join("submit.sh")).unwrap();
    assert!(submit.contains("--dependency=afterok:\"$array\" --kill-on-invalid-dep=yes"));
    // Nothing of this machine but the binary, which $LRDBENCH overrides.
    let exe = host_binary().canonicalize().unwrap();
    for script in [&array, &merge, &submit] {
        let without_exe = script.replace(&exe.display().to_string(), "");
        assert!(
            !without_exe.contains(&*tmp.path().to_string_lossy()),
            "{script}"
        );
        assert!(
            !without_exe.contains("/home/") && !without_exe.contains("/root"),
            "{script}"
        );
    }
    assert!(array.contains(&format!("LRDBENCH=\"${{LRDBENCH:-{}}}\"", exe.display())));
}

fn recording(store: &Path, args: &[&str]) -> Output {
    Command::new(host_binary())
        .args(args)
        .env("LRDBENCH_HOME", store)
        .env_remove("LRDBENCH_ANALYTICS")
        .env_remove("DO_NOT_TRACK")
        .env_remove("LRDBENCH_PLUGIN_PATH")
        .output()
        .expect("host runs")
}

fn calls(store: &Path) -> u64 {
    let out = recording(store, &["analytics", "status", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["calls"].as_u64().unwrap()
}

fn user_ids(store: &Path) -> std::collections::BTreeSet<String> {
    let x = store.join("x");
    let _ = std::fs::remove_dir_all(&x);
    ok(&recording(
        store,
        &["export", "--out", x.to_str().unwrap(), "--format", "json"],
    ));
    std::fs::read_to_string(x.join("usage.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["user_id"].to_string())
        .collect()
}

#[test]
fn analytics_stores_merge_idempotently_and_foreign_secrets_are_rekeyed_or_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    let selftest = |store: &Path, n: &str| {
        ok(&recording(store, &["analytics", "selftest", "--events", n]));
    };
    selftest(&a, "3");
    // c shares a's secret (shards of one user with a copied secret); b has its own.
    std::fs::create_dir_all(c.join("analytics")).unwrap();
    std::fs::copy(a.join("analytics/secret"), c.join("analytics/secret")).unwrap();
    selftest(&b, "4");
    selftest(&c, "5");
    let a_s = a.to_str().unwrap();

    let refused = recording(&a, &["analytics", "merge", b.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("another secret"),
        "{}",
        text(&refused.stderr)
    );
    assert_eq!(calls(&a), 3, "nothing imported when refused");

    let same = ok_text(&recording(
        &a,
        &["analytics", "merge", c.to_str().unwrap(), "--into", a_s],
    ));
    assert!(same.contains("5 events read, 5 new"), "{same}");
    assert_eq!(calls(&a), 8);
    assert_eq!(user_ids(&a).len(), 1, "one user, one id under one secret");

    let rekeyed = ok_text(&recording(
        &a,
        &["analytics", "merge", b.to_str().unwrap(), "--rekey"],
    ));
    assert!(rekeyed.contains("4 new, user ids re-keyed"), "{rekeyed}");
    assert_eq!(calls(&a), 12);
    // The foreign id is neither b's own nor linkable to a's id of the same user.
    let ids = user_ids(&a);
    assert_eq!(ids.len(), 2);
    assert!(ids.is_disjoint(&user_ids(&b)));

    // Merging again adds nothing.
    for store in [&c, &b] {
        let again = ok_text(&recording(
            &a,
            &["analytics", "merge", store.to_str().unwrap(), "--rekey"],
        ));
        assert!(again.contains(" 0 new"), "{again}");
    }
    assert_eq!(calls(&a), 12);
}

fn ok_text(out: &Output) -> String {
    ok(out);
    text(&out.stdout)
}
