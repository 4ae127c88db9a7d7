//! The command line as a user meets it: closed pipes, exit codes, plugin paths, `--json`
//! everywhere a read command prints, CSV input, completions and the manual page.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::support::{host_binary, library, profile_dir, workspace_root};

fn host_in(dir: &Path, store: &Path, args: &[&str]) -> Output {
    Command::new(host_binary())
        .args(args)
        .current_dir(dir)
        .env("LRDBENCH_HOME", store)
        .env("LRDBENCH_ANALYTICS", "0")
        .env_remove("LRDBENCH_PLUGIN_PATH")
        .output()
        .expect("host runs")
}

fn host(args: &[&str]) -> Output {
    let store = tempfile::tempdir().unwrap();
    host_in(&workspace_root(), store.path(), args)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

/// A series of 512 numbers with some structure, as a one-column CSV with a header.
fn series_csv(dir: &Path) -> String {
    let mut text = String::from("x\n");
    let mut state = 0.3_f64;
    for i in 0..512 {
        state = (state * 3.9 * (1.0 - state)).clamp(0.01, 0.99);
        text += &format!("{}\n", state + (i % 7) as f64 * 0.01);
    }
    write(dir, "series.csv", &text)
}

#[test]
fn a_closed_standard_output_ends_every_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let csv = series_csv(dir.path());
    let workflow = workspace_root().join("workflows/pipeline.toml");
    let fault = library("lrdbench_fault_plugin");
    let commands: Vec<Vec<&str>> = vec![
        vec!["plugins", "list", "--json"],
        vec!["plugins", "list"],
        vec!["plugins", "inspect", fault.to_str().unwrap()],
        vec!["estimate", &csv, "-e", "dfa,rs"],
        vec!["estimate", &csv, "-e", "dfa", "--json"],
        vec!["validate", workflow.to_str().unwrap()],
        vec!["analytics", "status"],
        vec!["summary"],
        vec!["completions", "bash"],
    ];
    for args in commands {
        let store = tempfile::tempdir().unwrap();
        let mut child = Command::new(host_binary())
            .args(&args)
            .env("LRDBENCH_HOME", store.path())
            .env("LRDBENCH_ANALYTICS", "0")
            .env_remove("LRDBENCH_PLUGIN_PATH")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before the first write: every write fails with EPIPE.
        drop(child.stdout.take());
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(!err.contains("Broken pipe"), "{args:?}: {err}");
    }
}

#[test]
fn usage_errors_exit_2_and_runtime_errors_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let csv = series_csv(dir.path());
    let bad = write(dir.path(), "bad.csv", "x\n1\nabc\n");
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (
            vec!["estimate", &csv, "-e", "nosuch"],
            2,
            "unknown estimator",
        ),
        (
            vec!["estimate", &csv, "-e", "dfa", "-p", "nope=1"],
            2,
            "nope",
        ),
        (
            vec!["estimate", &csv, "-e", "dfa", "-p", "order=abc"],
            2,
            "parameter `order`: `abc` is not a valid int",
        ),
        (
            vec!["estimate", &csv, "-e", "dfa", "--column", "y"],
            2,
            "no column `y`",
        ),
        (
            vec!["estimate", &csv, "-e", "dfa", "--timeout", "0"],
            2,
            "above 0",
        ),
        (
            vec!["estimate", &csv, "-e", "dfa", "--timeout=-1"],
            2,
            "above 0",
        ),
        (
            vec!["estimate", &bad, "-e", "dfa"],
            1,
            "`abc` is not a number",
        ),
        (
            vec!["--plugin-dir", "/no/such/dir", "plugins", "list"],
            2,
            "no such directory",
        ),
    ];
    for (args, code, message) in cases {
        let out = host(&args);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn bare_plugin_file_names_load_from_the_current_directory() {
    let store = tempfile::tempdir().unwrap();
    let name = library("lrdbench_fault_plugin")
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let out = host_in(
        &profile_dir(),
        store.path(),
        &["--plugin", &name, "plugins", "list", "--json"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("fault_trivial"));
    let out = host_in(&profile_dir(), store.path(), &["plugins", "inspect", &name]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("plugin fault "),
        "{}",
        stdout(&out)
    );
}

#[test]
fn plugins_list_shows_a_sha256_column() {
    let fault = library("lrdbench_fault_plugin");
    let out = host(&["--plugin", fault.to_str().unwrap(), "plugins", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.lines().next().unwrap().contains("SHA-256"), "{text}");
    let sha = lrdbench_host::plugin::sha256_file(&fault).unwrap();
    let row = text
        .lines()
        .find(|l| l.starts_with("fault_trivial"))
        .unwrap();
    assert!(row.contains(&sha[..12]), "{row}");
}

#[test]
fn read_commands_print_json() {
    let workflow = workspace_root().join("workflows/pipeline.toml");
    let workflow = workflow.to_str().unwrap();
    let out = host(&["analytics", "status", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["recording"], false, "LRDBENCH_ANALYTICS=0 is set: {v}");
    assert_eq!(v["disabled_by"], "LRDBENCH_ANALYTICS");
    assert_eq!(v["calls"], 0);

    let out = host(&["validate", workflow, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["workflow"], "pipeline");
    let cells = v["cells"].as_u64().unwrap();
    let estimators = v["estimators"].as_array().unwrap().len() as u64;
    let series = v["series"].as_u64().unwrap();
    let variants = v["contaminations"].as_array().unwrap().len() as u64;
    assert_eq!(cells, estimators * series * variants, "{v}");

    let out = host(&["run", workflow, "--dry-run", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["cells"].as_u64(), Some(cells));
    assert!(v["forecast"]["threads"].as_u64().unwrap() >= 1, "{v}");
}

#[test]
fn csv_input_hints_and_missing_value_policies() {
    let dir = tempfile::tempdir().unwrap();
    let mut dated = String::from("# daily means\ndate,value\n");
    let mut gappy = String::from("x\n");
    let mut state = 0.3_f64;
    for i in 0..600 {
        state = (state * 3.9 * (1.0 - state)).clamp(0.01, 0.99);
        dated += &format!("2010-01-{:02},{state}\n", i % 28 + 1);
        gappy += &if i == 100 || i == 101 {
            "NA\n".to_string()
        } else {
            format!("{state}\n")
        };
    }
    let dated = write(dir.path(), "dated.csv", &dated);
    let gappy = write(dir.path(), "gappy.csv", &gappy);

    let out = host(&["estimate", &dated, "-e", "dfa"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("numeric columns: `value` (choose one with --column"),
        "{}",
        stderr(&out)
    );
    let out = host(&[
        "estimate", &dated, "-e", "dfa", "--column", "value", "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));

    // Line 102 of the file is its 101st value (line 1 is the header).
    let out = host(&["estimate", &gappy, "-e", "dfa"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("gappy.csv:102: column x: missing value (2 in all"),
        "{}",
        stderr(&out)
    );
    for policy in ["drop", "interpolate"] {
        let out = host(&[
            "estimate",
            &gappy,
            "-e",
            "dfa",
            "--missing",
            policy,
            "--json",
        ]);
        assert!(out.status.success(), "{policy}: {}", stderr(&out));
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        let rows = &doc["estimates"];
        assert!(rows[0]["value"].is_f64(), "{policy}: {doc:?}");
    }
    let out = host(&["estimate", &gappy, "-e", "dfa", "--missing", "drop"]);
    assert!(stdout(&out).starts_with("n = 598\n"), "{}", stdout(&out));
}

#[test]
fn estimate_prints_each_result_before_a_later_estimator_crashes_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let csv = series_csv(dir.path());
    let fault = library("lrdbench_fault_plugin");
    let out = host(&[
        "--plugin",
        fault.to_str().unwrap(),
        "estimate",
        &csv,
        "-e",
        "fault_trivial,fault_segfault",
    ]);
    assert_ne!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.lines().any(|l| l.starts_with("fault_trivial")),
        "the finished row is out before the crash: {text}"
    );
}

#[test]
fn completions_man_page_verbose_and_grouped_help() {
    for shell in ["bash", "zsh", "fish"] {
        let out = host(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        assert!(script.contains("lrdbench-host"), "{shell}");
        assert!(
            script.contains("estimate") && script.contains("plugin-dir"),
            "{shell}"
        );
    }
    let out = host(&["man"]);
    assert!(out.status.success());
    assert!(stdout(&out).starts_with(".ie") || stdout(&out).contains(".TH lrdbench-host"));

    let fault = library("lrdbench_fault_plugin");
    let out = host(&["-v", "--plugin", fault.to_str().unwrap(), "plugins", "list"]);
    assert!(out.status.success());
    let sha = lrdbench_host::plugin::sha256_file(&fault).unwrap();
    assert!(
        stderr(&out).contains(&format!(
            "loaded plugin fault 0.1.0 from {}",
            fault.display()
        )) && stderr(&out).contains(&sha),
        "{}",
        stderr(&out)
    );

    let out = host(&["estimate", "--help"]);
    let help = stdout(&out);
    let global = help.find("Global options:").expect("a global heading");
    assert!(help[global..].contains("--plugin-dir"), "{help}");
    assert!(!help[..global].contains("--plugin-dir"), "{help}");
}

#[test]
fn a_workflow_names_its_plugin_directories_relative_to_itself() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("my-plugins");
    std::fs::create_dir(&plugins).unwrap();
    // Discovery loads files named lrdbench_plugin_*: the fault library under such a name.
    std::fs::copy(
        library("lrdbench_fault_plugin"),
        plugins.join(format!(
            "{}lrdbench_plugin_faulty{}",
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_SUFFIX
        )),
    )
    .unwrap();
    let workflow = write(
        dir.path(),
        "w.toml",
        "[workflow]\nname = \"w\"\n[plugins]\ndirs = [\"my-plugins\"]\n\
         [[data]]\nvalues = [0.1, 0.5, 0.2, 0.9, 0.4, 0.3, 0.8, 0.7]\n\
         [[estimator]]\nname = \"fault_trivial\"\n",
    );
    // From another directory: the path is the workflow's, not the caller's.
    let store = tempfile::tempdir().unwrap();
    let out = host_in(
        store.path(),
        store.path(),
        &["validate", &workflow, "--json"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["estimators"][0], "fault_trivial");

    let missing = write(
        dir.path(),
        "m.toml",
        "[workflow]\nname = \"m\"\n[plugins]\ndirs = [\"nowhere\"]\n",
    );
    let out = host(&["validate", &missing]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("m.toml:4"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("nowhere does not exist"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_terminal_leaderboard_says_how_many_rows_it_leaves_out() {
    let dir = tempfile::tempdir().unwrap();
    let values: Vec<String> = (0..1024)
        .map(|i| format!("{}", ((i * 7919) % 1013) as f64 / 1013.0))
        .collect();
    let estimators: String = ["dfa", "rs", "aggvar", "higuchi", "periodogram", "varres"]
        .iter()
        .map(|e| format!("[[estimator]]\nname = \"{e}\"\n"))
        .collect();
    let workflow = write(
        dir.path(),
        "six.toml",
        &format!(
            "[workflow]\nname = \"six\"\n[[data]]\nvalues = [{}]\ntruth = {{ H = 0.5 }}\n{estimators}\
             [output]\ndir = \"{}\"\n",
            values.join(", "),
            dir.path().join("runs").display()
        ),
    );
    let out = host(&["run", &workflow]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("… 1 more row(s) in "),
        "{}",
        stderr(&out)
    );
}
