//! `plugins list | inspect | new`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use lrdbench_host::plugin::{LoadedPlugin, PluginSources};
use lrdbench_host::scaffold::scaffold_plugin;
use lrdbench_host::settings::Settings;
use lrdbench_plugin_api::{ParamSpec, ParamValue};
use serde_json::{json, Value};

use crate::cli::PluginsCommand;

pub fn run(settings: &Settings, cmd: PluginsCommand) -> Result<ExitCode> {
    match cmd {
        PluginsCommand::List { json } => list(settings, json),
        PluginsCommand::Inspect { path, json } => {
            inspect(settings, &crate::cli::loadable(&path), json)
        }
        PluginsCommand::New { name, dir, lang } if lang == "python" => new_python(&name, &dir),
        PluginsCommand::New { name, dir, .. } => new(&name, &dir),
    }
}

fn list(settings: &Settings, as_json: bool) -> Result<ExitCode> {
    let catalog = super::load_catalog(settings, false)?;
    if as_json {
        let rows: Vec<Value> = catalog
            .components()
            .map(|c| {
                json!({
                    "name": c.name(),
                    "kind": c.descriptor.kind.as_str(),
                    "family": c.descriptor.family.as_str(),
                    "estimand": c.descriptor.estimand.as_str(),
                    "plugin": c.plugin.descriptor.name.as_str(),
                    "version": c.plugin.descriptor.version.as_str(),
                    "path": c.plugin.path.display().to_string(),
                    "sha256": c.plugin.sha256,
                    "runs": c.plugin.runs(),
                })
            })
            .collect();
        outln!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        // The first 12 hex digits of the SHA-256 identify a library at a glance (as short git
        // hashes do); `--json` and `plugins inspect` give all 64.
        outln!(
            "{:<18} {:<10} {:<13} {:<9} {:<14} {:<8} {:<12} {:<10}",
            "NAME",
            "KIND",
            "FAMILY",
            "ESTIMAND",
            "PLUGIN",
            "VERSION",
            "SHA-256",
            "RUNS"
        );
        for c in catalog.components() {
            outln!(
                "{:<18} {:<10} {:<13} {:<9} {:<14} {:<8} {:<12} {:<10}",
                c.name(),
                c.descriptor.kind.as_str(),
                c.descriptor.family.as_str(),
                c.descriptor.estimand.as_str(),
                c.plugin.descriptor.name.as_str(),
                c.plugin.descriptor.version.as_str(),
                c.plugin.sha256.get(..12).unwrap_or(&c.plugin.sha256),
                c.plugin.runs()
            );
        }
        if catalog.plugins().is_empty() {
            eprintln!(
                "no plugins found; build them with `cargo build --workspace` or pass --plugin-dir"
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn param_json(p: &ParamSpec) -> Value {
    json!({
        "name": p.name.as_str(),
        "type": p.kind.as_str(),
        "default": p.default.as_ref().into_option().map(param_value_json),
        "min": p.min.into_option(),
        "max": p.max.into_option(),
        "choices": p.choices.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        "help": p.help.as_str(),
    })
}

fn param_value_json(v: &ParamValue) -> Value {
    match v {
        ParamValue::Int(i) => json!(i),
        ParamValue::Float(x) => json!(x),
        ParamValue::Bool(b) => json!(b),
        ParamValue::Str(s) => json!(s.as_str()),
        ParamValue::List(xs) => json!(xs.as_slice()),
    }
}

fn inspect(settings: &Settings, path: &Path, as_json: bool) -> Result<ExitCode> {
    // Under the same trust settings as any other load: an untrusted or unlisted library is
    // described by a worker, a refused one is not opened at all.
    let mut only = settings.clone();
    only.plugins = PluginSources {
        dirs: Vec::new(),
        files: vec![path.to_path_buf()],
    };
    let catalog = super::load_catalog(&only, false)?;
    let plugin: &LoadedPlugin = catalog
        .plugins()
        .first()
        .ok_or_else(|| anyhow::anyhow!("cannot load plugin {}", path.display()))?;
    let d = &plugin.descriptor;
    if as_json {
        let comps: Vec<Value> = d
            .components
            .iter()
            .map(|c| {
                json!({
                    "name": c.name.as_str(),
                    "kind": c.kind.as_str(),
                    "family": c.family.as_str(),
                    "estimand": c.estimand.as_str(),
                    "description": c.description.as_str(),
                    "reference": c.reference.as_str(),
                    "params": c.params.iter().map(param_json).collect::<Vec<_>>(),
                })
            })
            .collect();
        let out = json!({
            "plugin": d.name.as_str(),
            "version": d.version.as_str(),
            "api_version": d.api_version.as_str(),
            "path": plugin.path.display().to_string(),
            "sha256": plugin.sha256,
            "runs": plugin.runs(),
            "components": comps,
        });
        outln!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "plugin {} {} (interface {})",
        d.name,
        d.version,
        d.api_version
    );
    outln!("path   {}", plugin.path.display());
    outln!("runs   {}", plugin.runs());
    outln!("sha256 {}", plugin.sha256);
    for c in d.components.iter() {
        outln!(
            "\n{} ({}, {}, estimates {})",
            c.name,
            c.kind,
            c.family,
            c.estimand
        );
        outln!("  {}", c.description);
        outln!("  reference: {}", c.reference);
        for p in c.params.iter() {
            let default = p
                .default
                .as_ref()
                .into_option()
                .map(|v| v.to_string())
                .unwrap_or_else(|| "required".into());
            let mut bounds = String::new();
            if let Some(lo) = p.min.into_option() {
                bounds += &format!(" min={lo}");
            }
            if let Some(hi) = p.max.into_option() {
                bounds += &format!(" max={hi}");
            }
            if !p.choices.is_empty() {
                bounds += &format!(
                    " choices={}",
                    p.choices
                        .iter()
                        .map(|c| c.as_str())
                        .collect::<Vec<_>>()
                        .join("|")
                );
            }
            outln!(
                "  --param {}=<{}> default={default}{bounds}  {}",
                p.name,
                p.kind,
                p.help
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn new_python(name: &str, dir: &Path) -> Result<ExitCode> {
    let created = lrdbench_host::scaffold::scaffold_python_plugin(name, dir)
        .context("cannot create plugin")?;
    eprintln!(
        "created {}: load it with --plugin {}/lrdbench-plugin.toml (or --plugin-dir {})",
        created.display(),
        created.display(),
        dir.display()
    );
    outln!("{}", created.display());
    Ok(ExitCode::SUCCESS)
}

fn new(name: &str, dir: &Path) -> Result<ExitCode> {
    // The interface crate of the source tree this host was built from, when it is still there;
    // the scaffold refers to it by a path relative to the new crate, else by version.
    let api = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../plugin-api");
    let api = api.canonicalize().ok();
    let created =
        scaffold_plugin(name, dir, api.as_deref()).context("cannot create plugin crate")?;
    eprintln!(
        "created {}: build it with `cargo build --release --manifest-path {}/Cargo.toml`, then load it with --plugin-dir {}/target/release",
        created.display(),
        created.display(),
        created.display()
    );
    outln!("{}", created.display());
    Ok(ExitCode::SUCCESS)
}
