//! `plugins new`: a new estimator plugin crate that builds and loads as generated.

use std::path::{Path, PathBuf};

/// Why a plugin crate could not be created.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    /// The name is not a valid plugin name.
    #[error(
        "invalid plugin name `{0}`: use lowercase letters, digits and `_`, starting with a letter"
    )]
    InvalidName(String),
    /// The target directory exists already.
    #[error("{}: already exists; choose another name or --dir", .0.display())]
    Exists(PathBuf),
    /// Writing failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file being written.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Creates `<parent>/<name>/` with a `Cargo.toml` and a one-file estimator plugin whose library
/// is `lrdbench_plugin_<name>`. It depends on the interface crate at `api_path`, written as a
/// path relative to the new crate so that the two can move together (a checkout copied or
/// cloned elsewhere still builds), or, without `api_path`, on the published version.
///
/// # Errors
///
/// [`ScaffoldError`] for a bad name, an existing directory, or a failed write.
pub fn scaffold_plugin(
    name: &str,
    parent: &Path,
    api_path: Option<&Path>,
) -> Result<PathBuf, ScaffoldError> {
    let dir = new_plugin_dir(name, parent)?;
    let write = |rel: &str, text: String| {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| ScaffoldError::Io {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        std::fs::write(&path, text).map_err(|source| ScaffoldError::Io { path, source })
    };
    std::fs::create_dir_all(&dir).map_err(|source| ScaffoldError::Io {
        path: dir.clone(),
        source,
    })?;
    let dependency = match api_path {
        Some(api) => {
            let crate_dir = dir.canonicalize().map_err(|source| ScaffoldError::Io {
                path: dir.clone(),
                source,
            })?;
            let relative = relative_path(&crate_dir, api).display().to_string();
            format!("{{ path = \"{}\" }}", relative.replace('\\', "/"))
        }
        None => format!("\"{}\"", lrdbench_plugin_api::API_VERSION),
    };
    write(
        "Cargo.toml",
        format!(
            r#"[package]
name = "lrdbench-plugin-{dash}"
version = "0.1.0"
edition = "2021"

# A standalone crate, not part of any enclosing workspace.
[workspace]

[lib]
name = "lrdbench_plugin_{name}"
crate-type = ["cdylib", "rlib"]

[dependencies]
lrdbench-plugin-api = {dependency}
"#,
            dash = name.replace('_', "-"),
        ),
    )?;
    write(
        "src/lib.rs",
        format!(
            r#"//! The `{name}` lrdbench plugin.

use lrdbench_plugin_api::prelude::*;

/// Aggregated-variance estimate of H: Var(block mean) ~ m^(2H-2).
pub struct {ty};

impl Estimator for {ty} {{
    fn describe(&self) -> ComponentDescriptor {{
        component(ComponentKind::Estimator, "{name}", Family::Temporal, "H")
            .description("aggregated variance over dyadic block sizes")
            .reference("Beran (1994), Statistics for Long-Memory Processes, sec. 4.4")
            .param(param::int("min_block", 4, "smallest block size").bounds(2.0, 1e9).build())
            .build()
    }}

    fn estimate(&self, x: &[f64], params: &Params) -> Result<Estimate, PluginError> {{
        let mut m = params.usize("min_block");
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        while x.len() / m >= 8 {{
            let means: Vec<f64> = x.chunks_exact(m).map(|c| c.iter().sum::<f64>() / m as f64).collect();
            let mu = means.iter().sum::<f64>() / means.len() as f64;
            let var = means.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / (means.len() - 1) as f64;
            if var > 0.0 && var.is_finite() {{
                xs.push((m as f64).ln());
                ys.push(var.ln());
            }}
            m *= 2;
        }}
        if xs.len() < 3 {{
            return Err(PluginError::insufficient_data("need at least 3 block sizes"));
        }}
        let n = xs.len() as f64;
        let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
        let sxy: f64 = xs.iter().zip(&ys).map(|(a, b)| (a - mx) * (b - my)).sum();
        let sxx: f64 = xs.iter().map(|a| (a - mx).powi(2)).sum();
        let slope = sxy / sxx;
        Ok(Estimate::new(1.0 + slope / 2.0, "H"))
    }}
}}

lrdbench_plugin_api::export_plugin! {{
    name: "{name}",
    version: env!("CARGO_PKG_VERSION"),
    estimators: [{ty}],
    models: [],
}}
"#,
            ty = type_name(name),
        ),
    )?;
    Ok(dir)
}

/// The path that leads from directory `from` to `to`, both absolute and free of `..`: up to
/// their common ancestor, then down.
fn relative_path(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut rel = PathBuf::new();
    for _ in common..from.len() {
        rel.push("..");
    }
    for c in &to[common..] {
        rel.push(c);
    }
    rel
}

fn type_name(name: &str) -> String {
    name.split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<String>()
        + "Estimator"
}

/// The Python SDK, copied into every scaffolded Python plugin so it runs where it is put.
const PYTHON_SDK: &str = include_str!("../../sdk/python/lrdbench_plugin.py");

/// Creates `<parent>/<name>/` holding a process plugin in Python: `lrdbench-plugin.toml`,
/// `<name>.py` (an aggregated-variance estimator, standard library only) and a copy of the SDK
/// module `lrdbench_plugin.py`. It loads as generated with `--plugin-dir <parent>` or
/// `--plugin <parent>/<name>/lrdbench-plugin.toml`.
///
/// # Errors
///
/// [`ScaffoldError`] for a bad name, an existing directory, or a failed write.
pub fn scaffold_python_plugin(name: &str, parent: &Path) -> Result<PathBuf, ScaffoldError> {
    let dir = new_plugin_dir(name, parent)?;
    std::fs::create_dir_all(&dir).map_err(|source| ScaffoldError::Io {
        path: dir.clone(),
        source,
    })?;
    let write = |rel: &str, text: &str| {
        let path = dir.join(rel);
        std::fs::write(&path, text).map_err(|source| ScaffoldError::Io { path, source })
    };
    write(
        "lrdbench-plugin.toml",
        &format!(
            r#"# The `{name}` process plugin: lrdbench starts this command and talks to it over its
# standard input and output (docs/process-plugins.md in the lrdbench repository).
command = ["python3", "{name}.py"]
# Hashed with the manifest and the script: edit any of them and the plugin's SHA-256 changes.
files = ["lrdbench_plugin.py"]

[env]
PYTHONDONTWRITEBYTECODE = "1"
"#
        ),
    )?;
    write("lrdbench_plugin.py", PYTHON_SDK)?;
    write(
        &format!("{name}.py"),
        &format!(
            r#""""The `{name}` lrdbench plugin."""

import math

from lrdbench_plugin import Estimate, Fit, Param, Plugin, PluginError

plugin = Plugin("{name}", version="0.1.0")


@plugin.estimator(
    "{name}",
    family="temporal",
    estimand="H",
    description="aggregated variance over dyadic block sizes",
    reference="Beran (1994), Statistics for Long-Memory Processes, sec. 4.4",
    params=[Param("min_block", "int", default=4, min=2, max=1e9, help="smallest block size")],
)
def estimate(x, min_block):
    """Var(block mean) ~ m^(2H-2): H from the slope of log variance on log block size."""
    x = [float(v) for v in x]
    m = min_block
    xs, ys = [], []
    while len(x) // m >= 8:
        k = len(x) // m
        means = [sum(x[i * m:(i + 1) * m]) / m for i in range(k)]
        mu = sum(means) / k
        var = sum((v - mu) ** 2 for v in means) / (k - 1)
        if var > 0:
            xs.append(math.log(m))
            ys.append(math.log(var))
        m *= 2
    if len(xs) < 3:
        raise PluginError("insufficient_data", "need at least 3 block sizes with 8 blocks each")
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((a - mx) ** 2 for a in xs)
    slope = sum((a - mx) * (b - my) for a, b in zip(xs, ys)) / sxx
    fitted = [my + slope * (a - mx) for a in xs]
    ss_res = sum((b - f) ** 2 for b, f in zip(ys, fitted))
    ss_tot = sum((b - my) ** 2 for b in ys)
    return Estimate(
        1.0 + slope / 2.0,
        r_squared=1.0 - ss_res / ss_tot if ss_tot > 0 else None,
        fit=Fit("log m", "log Var", xs, ys, fitted),
    )


if __name__ == "__main__":
    plugin.serve()
"#
        ),
    )?;
    Ok(dir)
}

/// The directory a new plugin `name` gets under `parent`: the name must be a lowercase
/// identifier (it names the crate or module), and the directory must not exist yet.
fn new_plugin_dir(name: &str, parent: &Path) -> Result<PathBuf, ScaffoldError> {
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err(ScaffoldError::InvalidName(name.to_string()));
    }
    let dir = parent.join(name);
    if dir.exists() {
        return Err(ScaffoldError::Exists(dir));
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaffold_rejects_bad_names() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            scaffold_plugin("Bad-Name", dir.path(), Some(dir.path())),
            Err(ScaffoldError::InvalidName(_))
        ));
    }

    #[test]
    fn relative_path_goes_up_to_the_common_ancestor_then_down() {
        assert_eq!(
            relative_path(
                Path::new("/a/b/plugins/mine"),
                Path::new("/a/b/src/plugin-api")
            ),
            PathBuf::from("../../src/plugin-api")
        );
        assert_eq!(
            relative_path(Path::new("/a"), Path::new("/a/api")),
            PathBuf::from("api")
        );
    }

    #[test]
    fn scaffold_manifest_has_no_absolute_path() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let api = root.join("checkout/plugin-api");
        std::fs::create_dir_all(&api).unwrap();
        let created = scaffold_plugin("mine", &root.join("elsewhere"), Some(&api)).unwrap();
        let manifest = std::fs::read_to_string(created.join("Cargo.toml")).unwrap();
        assert!(
            manifest.contains(r#"lrdbench-plugin-api = { path = "../../checkout/plugin-api" }"#),
            "{manifest}"
        );
        assert!(!manifest.contains(root.to_str().unwrap()), "{manifest}");
        let created = scaffold_plugin("other", &root, None).unwrap();
        let manifest = std::fs::read_to_string(created.join("Cargo.toml")).unwrap();
        assert!(
            manifest.contains(&format!(
                "lrdbench-plugin-api = \"{}\"",
                lrdbench_plugin_api::API_VERSION
            )),
            "{manifest}"
        );
    }

    #[test]
    fn scaffold_type_name_is_camel_case() {
        assert_eq!(type_name("my_est2"), "MyEst2Estimator");
    }
}
