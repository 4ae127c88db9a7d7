//! `slurm`: the batch scripts that run a workflow as a Slurm job array of shards and merge
//! them in a job that depends on the array.
//!
//! The scripts are plain and meant to be read and edited: every lrdbench command line is
//! visible, paths are those the user gave (relative ones are relative to the directory the
//! scripts are submitted from), and the only absolute path is the lrdbench-host to run, which
//! `$LRDBENCH` overrides.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{bail, Context, Result};
use lrdbench_host::settings::{Settings, Verbosity};
use lrdbench_host::workflow::{self, plan::Plan};

use crate::cli::slurm::SlurmArgs;

/// A word for a POSIX shell: as it is when it needs no quoting, else in single quotes.
fn sh(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

fn shp(path: &Path) -> String {
    sh(&path.to_string_lossy())
}

/// The sweep directory's default name: `sweep-<workflow name>`, in safe characters.
fn default_dir(plan: &Plan<'_>) -> PathBuf {
    let name: String = plan
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    PathBuf::from(format!("sweep-{name}"))
}

/// The `#SBATCH` lines both scripts share.
fn resources(args: &SlurmArgs) -> String {
    let mut s = String::new();
    if let Some(p) = &args.partition {
        s += &format!("#SBATCH --partition={}\n", sh(p));
    }
    if let Some(t) = &args.time {
        s += &format!("#SBATCH --time={}\n", sh(t));
    }
    if let Some(m) = &args.mem {
        s += &format!("#SBATCH --mem={}\n", sh(m));
    }
    s
}

/// The scripts: (job array of shards, merge job, submit script).
fn scripts(
    args: &SlurmArgs,
    plan: &Plan<'_>,
    dir: &Path,
    lrdbench: &Path,
    costs: Option<&Path>,
) -> (String, String, String) {
    let n = args.shards;
    let job = sh(&default_dir(plan)
        .to_string_lossy()
        .replacen("sweep-", "lrdbench-", 1));
    let exe = format!(
        "LRDBENCH=\"${{LRDBENCH:-{}}}\"\n",
        lrdbench.display().to_string().replace('"', "\\\"")
    );
    let shards_dir = dir.join("shards");
    let logs = dir.join("logs");
    let costs_arg = costs.map_or(String::new(), |c| {
        format!(" \\\n    --shard-costs {}", shp(c))
    });
    let array = format!(
        "#!/bin/bash\n\
         # Shards of the sweep {name}: array task I runs shard I of {n} of {file}.\n\
         # Written by `lrdbench-host slurm`; edit freely. Submit from the directory it was\n\
         # written in (relative paths are relative to it), e.g. with {submit}.\n\
         # A shard that stops (time limit, node failure) resumes where it stopped when run\n\
         # again (`scontrol requeue` or a new submission).\n\
         #SBATCH --job-name={job}\n\
         #SBATCH --array=0-{last}\n\
         #SBATCH --cpus-per-task={cpus}\n\
         {res}\
         #SBATCH --output={logs}/shard-%a.out\n\
         set -euo pipefail\n\
         {exe}\
         \"$LRDBENCH\" run {file} --shard slurm \\\n    --out {shards} \\\n    --threads \"${{SLURM_CPUS_PER_TASK:-{cpus}}}\"{costs_arg}\n",
        name = plan.name.replace('\n', " "),
        file = shp(&args.file),
        submit = shp(&dir.join("submit.sh")),
        last = n - 1,
        cpus = args.cpus_per_task,
        res = resources(args),
        logs = shp(&logs),
        shards = shp(&shards_dir),
    );
    let merge = format!(
        "#!/bin/bash\n\
         # Merge of the {n} shards of the sweep {name} into one run directory, identical\n\
         # (but for timings) to a run of {file} on one machine. Runs after the array job\n\
         # (submit.sh adds --dependency=afterok:<array job>).\n\
         #SBATCH --job-name={job}-merge\n\
         #SBATCH --cpus-per-task={cpus}\n\
         {res}\
         #SBATCH --output={logs}/merge.out\n\
         set -euo pipefail\n\
         {exe}\
         \"$LRDBENCH\" merge {shards} --out {merged} --workflow {file} \\\n    --threads \"${{SLURM_CPUS_PER_TASK:-{cpus}}}\"\n",
        name = plan.name.replace('\n', " "),
        file = shp(&args.file),
        cpus = args.cpus_per_task,
        res = resources(args),
        logs = shp(&logs),
        shards = shp(&shards_dir),
        merged = shp(&dir.join("merged")),
    );
    let submit = format!(
        "#!/bin/bash\n\
         # Submits the shard array, then the merge job once every shard has succeeded (a\n\
         # failed shard cancels the merge instead of leaving it pending). Prints both job ids.\n\
         set -euo pipefail\n\
         array=$(sbatch --parsable {array})\n\
         array=${{array%%;*}}\n\
         merge=$(sbatch --parsable --dependency=afterok:\"$array\" --kill-on-invalid-dep=yes {merge})\n\
         merge=${{merge%%;*}}\n\
         echo \"shards job $array\"\n\
         echo \"merge job $merge\"\n",
        array = shp(&dir.join("shards.sbatch")),
        merge = shp(&dir.join("merge.sbatch")),
    );
    (array, merge, submit)
}

fn write_script(path: &Path, text: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("making {} executable", path.display()))
}

/// Runs `sbatch --parsable ARGS` and returns the job id.
fn sbatch(args: &[&str]) -> Result<String> {
    let out = Command::new("sbatch")
        .arg("--parsable")
        .args(args)
        .output()
        .context("cannot run sbatch (is Slurm installed and on PATH?)")?;
    if !out.status.success() {
        bail!(
            "sbatch {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let id = text
        .trim()
        .split(';')
        .next()
        .unwrap_or_default()
        .to_string();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        bail!("sbatch printed no job id: `{}`", text.trim());
    }
    Ok(id)
}

pub fn run(settings: &Settings, args: SlurmArgs) -> Result<ExitCode> {
    let with_plugins = &super::run::with_workflow_plugins(settings, &args.file)?;
    let catalog = super::load_catalog(with_plugins, super::run::workflow_isolates(&args.file))?;
    let limits = workflow::limits::PlanLimits {
        max_cells: u64::MAX,
    };
    let plan = workflow::plan::load_with(&args.file, &catalog, &limits)?;
    let dir = args.dir.clone().unwrap_or_else(|| default_dir(&plan));
    if dir.join("shards").exists() || dir.join("merged").exists() {
        return Err(super::usage(anyhow::anyhow!(
            "{} already holds a sweep (shards/ or merged/): choose another --dir or remove it",
            dir.display()
        )));
    }
    std::fs::create_dir_all(dir.join("logs"))
        .with_context(|| format!("creating {}", dir.join("logs").display()))?;
    let lrdbench = match &args.lrdbench {
        Some(p) => p.clone(),
        None => std::env::current_exe().context("cannot find the running lrdbench-host")?,
    };

    // The forecast's cost table, frozen into a file all shards read: the store changes while
    // they run, and every shard must split the plan the same way.
    let since = lrdbench_analytics::now_us() - 90 * 86_400_000_000;
    let costs = match lrdbench_analytics::read_events(&settings.store_dir, since) {
        Ok(events) => workflow::forecast::cost_table(&plan, &events.calls),
        Err(_) => Default::default(),
    };
    let costs_path = if costs.is_empty() {
        None
    } else {
        let p = dir.join("costs.json");
        let table = workflow::shard::CostTable { seconds: costs };
        std::fs::write(&p, serde_json::to_string_pretty(&table)?)
            .with_context(|| format!("writing {}", p.display()))?;
        Some(p)
    };

    let (array, merge, submit) = scripts(&args, &plan, &dir, &lrdbench, costs_path.as_deref());
    write_script(&dir.join("shards.sbatch"), &array)?;
    write_script(&dir.join("merge.sbatch"), &merge)?;
    write_script(&dir.join("submit.sh"), &submit)?;
    let quiet = settings.verbosity == Verbosity::Quiet;
    if !quiet {
        eprintln!(
            "{} cells in {} shards, balanced by {}; scripts in {}",
            plan.cells.len(),
            args.shards,
            if costs_path.is_some() {
                "the forecast's cost table (costs.json)"
            } else {
                "series length (no estimator timed in the analytics store yet)"
            },
            dir.display()
        );
    }
    if !args.submit {
        if !quiet {
            eprintln!("submit with: {}", shp(&dir.join("submit.sh")));
        }
        outln!("{}", dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    let array_path = dir.join("shards.sbatch");
    let merge_path = dir.join("merge.sbatch");
    let array_id = sbatch(&[&array_path.to_string_lossy()])?;
    let dependency = format!("--dependency=afterok:{array_id}");
    let merge_id = sbatch(&[
        &dependency,
        "--kill-on-invalid-dep=yes",
        &merge_path.to_string_lossy(),
    ])?;
    outln!("shards job {array_id}");
    outln!("merge job {merge_id}");
    if !quiet {
        eprintln!(
            "merged run when done: {} (follow with `squeue -j {array_id},{merge_id}`)",
            dir.join("merged").display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
