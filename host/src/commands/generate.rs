//! `generate`: series from a data model through the invoker (so the calls are recorded),
//! contaminated on request, written as CSV with one column per replicate.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use lrdbench_host::contamination;
use lrdbench_host::estimate::RawParam;
use lrdbench_host::invoke::{CallContext, Invoker};
use lrdbench_host::settings::{Settings, Verbosity};
use lrdbench_plugin_api::{ComponentKind, Param, ParamError, ParamSpec, ParamValue};

use crate::cli::generate::GenerateArgs;

/// One `--contaminate` argument, parsed and resolved against its schema.
struct Contamination {
    name: String,
    resolved: Vec<Param>,
}

pub fn run(settings: &Settings, args: GenerateArgs, invoker: &Invoker) -> Result<ExitCode> {
    // Everything the user typed is checked before the first call.
    let contaminations: Vec<Contamination> = args
        .contaminate
        .iter()
        .map(|c| parse_contamination(c))
        .collect::<Result<_>>()?;
    let catalog = super::load_catalog(settings, false)?;
    let invoker = &super::isolate(invoker.clone(), settings, &catalog, false, None)?;
    let handle = catalog.find(&args.model, ComponentKind::Model)?;
    let given = parse_params(
        &args.params,
        &handle.descriptor.params,
        &format!("model `{}`: ", args.model),
    )?;
    let resolved = handle
        .resolve(&given)
        .map_err(|e| anyhow::anyhow!("model `{}`: {e}", args.model))?;
    let (r, n) = (args.replicates, args.length);
    let cells = r.checked_mul(n).filter(|c| *c <= (isize::MAX as u64) / 8);
    if cells.is_none() {
        bail!("{r} replicates of length {n} do not fit in memory");
    }

    let ctx = CallContext::default();
    let bar = terminal_bar(r, "generating", settings, args.out.is_none());
    let mut columns: Vec<Vec<f64>> = Vec::with_capacity(r as usize);
    let mut seeds = Vec::with_capacity(r as usize);
    for i in 0..r {
        let seed = args.seed.wrapping_add(i);
        let g = invoker
            .generate(&handle, n, seed, &resolved, &ctx)
            .map_err(|e| anyhow::anyhow!("model `{}` failed: {}", args.model, e.message));
        bar.inc(1);
        let g = g.inspect_err(|_| bar.finish_and_clear())?;
        if i == 0 && settings.verbosity >= Verbosity::Normal {
            let truth: Vec<String> = g
                .truth
                .iter()
                .map(|t| format!("{} = {}", t.name, t.value))
                .collect();
            if !truth.is_empty() {
                bar.suspend(|| eprintln!("{}: true {}", handle.name(), truth.join(", ")));
            }
        }
        if settings.verbosity >= Verbosity::Normal {
            for w in g.warnings.iter() {
                bar.suspend(|| eprintln!("warning: {} (seed {seed}): {w}", handle.name()));
            }
        }
        let mut x = g.values.into_vec();
        for (k, c) in contaminations.iter().enumerate() {
            // Each position in the chain gets its own seed, so a contamination listed twice
            // draws afresh.
            let cseed = seed.wrapping_add((k as u64) << 32);
            contamination::apply(&c.name, &c.resolved, &mut x, cseed)?;
        }
        columns.push(x);
        seeds.push(seed);
    }
    bar.finish_and_clear();

    match &args.out {
        Some(path) => {
            let file =
                File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
            write_csv(BufWriter::new(file), &columns, &seeds)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        None => {
            let stdout = io::stdout();
            match write_csv(BufWriter::new(stdout.lock()), &columns, &seeds) {
                Ok(()) => {}
                // A closed pipe (`| head`) is the reader's choice, not an error.
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
                Err(e) => return Err(e).context("cannot write to standard output"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A progress bar on standard error for `total` steps, drawn only for a person watching: at
/// normal verbosity, with standard error a terminal and, when standard output carries the
/// command's output (`stdout_is_output`), standard output a terminal too. Otherwise (a pipe, a
/// file, `--json`, `-q`) it is hidden and costs nothing.
pub(crate) fn terminal_bar(
    total: u64,
    what: &str,
    settings: &Settings,
    stdout_is_output: bool,
) -> ProgressBar {
    let shown = settings.verbosity >= Verbosity::Normal
        && io::stderr().is_terminal()
        && (!stdout_is_output || io::stdout().is_terminal());
    if !shown {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} {prefix} {pos}/{len} [{elapsed}] {wide_msg}")
    {
        bar.set_style(style);
    }
    bar.set_prefix(what.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// Writes the header (`value`, or `seed_<S>` per replicate) and one row per time point, each
/// value in Rust's shortest round-trip form (`NaN` for a gap).
fn write_csv(mut w: impl Write, columns: &[Vec<f64>], seeds: &[u64]) -> io::Result<()> {
    if columns.len() == 1 {
        writeln!(w, "value")?;
    } else {
        let header: Vec<String> = seeds.iter().map(|s| format!("seed_{s}")).collect();
        writeln!(w, "{}", header.join(","))?;
    }
    let n = columns.first().map_or(0, Vec::len);
    for t in 0..n {
        for (j, c) in columns.iter().enumerate() {
            if j > 0 {
                w.write_all(b",")?;
            }
            write!(w, "{}", c[t])?;
        }
        w.write_all(b"\n")?;
    }
    w.flush()
}

/// Parses `NAME=VALUE` texts by the kinds the schema declares; unknown names are reported with
/// the valid ones.
fn parse_params(texts: &[String], schema: &[ParamSpec], context: &str) -> Result<Vec<Param>> {
    texts
        .iter()
        .map(|text| {
            let raw = RawParam::parse(text).map_err(|e| anyhow::anyhow!("{context}{e}"))?;
            let Some(spec) = schema.iter().find(|s| s.name.as_str() == raw.name) else {
                let e = ParamError::Unknown {
                    name: raw.name.clone(),
                    valid: schema.iter().map(|s| s.name.to_string()).collect(),
                };
                bail!("{context}{e}");
            };
            let value = ParamValue::parse_as(spec.kind, &raw.value)
                .map_err(|e| anyhow::anyhow!("{context}parameter `{}`: {e}", raw.name))?;
            Ok(Param {
                name: raw.name.as_str().into(),
                value,
            })
        })
        .collect()
}

/// Parses `NAME[:PARAM=VALUE,...]` and resolves it against the contamination's schema.
fn parse_contamination(text: &str) -> Result<Contamination> {
    let (name, rest) = match text.split_once(':') {
        Some((n, r)) => (n.trim(), r.trim()),
        None => (text.trim(), ""),
    };
    let desc = contamination::find(name)?;
    let texts: Vec<String> = rest
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    let given = parse_params(&texts, &desc.params, &format!("contamination `{name}`: "))?;
    let resolved = contamination::resolve(name, &given)?;
    Ok(Contamination {
        name: name.to_string(),
        resolved,
    })
}
