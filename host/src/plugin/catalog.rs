//! The index of every loaded component by name.
//!
//! Name clashes: a component is always reachable as `plugin::name`. Its bare `name` works when
//! exactly one loaded plugin has a component of that kind and name; otherwise the bare name is
//! an error that names every candidate and its file. The same library found twice (same
//! SHA-256, e.g. through the executable's directory and `--plugin-dir`) is loaded once. Two
//! different libraries with the same plugin name are told apart by a prefix of their SHA-256:
//! `plugin@3fa9c1::name` (the ambiguity error lists the names to use).

use lrdbench_plugin_api::{
    params, ComponentDescriptor, ComponentKind, Estimate, Generated, Param, ParamError, PluginError,
};

use super::loader::{
    discover, load_bytes, read_library, LibraryBytes, LoadError, LoadedPlugin, PluginSources,
};
use super::manifest::{is_manifest, read_manifest, ProcessLaunch};
use super::policy::{LoadPolicy, Placement};
use crate::trust::Refused;

/// All loaded plugins and their components.
#[derive(Debug, Default)]
pub struct Catalog {
    plugins: Vec<LoadedPlugin>,
}

/// A component found in the catalog: where it lives and how to call it.
#[derive(Debug, Clone, Copy)]
pub struct ComponentHandle<'a> {
    /// The plugin that provides it.
    pub plugin: &'a LoadedPlugin,
    /// Its index within the plugin (the ABI's component number).
    pub index: u32,
    /// Its self-description.
    pub descriptor: &'a ComponentDescriptor,
}

impl<'a> ComponentHandle<'a> {
    /// The bare name, e.g. `dfa`.
    pub fn name(&self) -> &'a str {
        self.descriptor.name.as_str()
    }

    /// The qualified name, e.g. `temporal::dfa`.
    pub fn qualified_name(&self) -> String {
        format!("{}::{}", self.plugin.descriptor.name, self.descriptor.name)
    }

    /// Checks parameters against the schema and fills defaults.
    ///
    /// # Errors
    ///
    /// A [`ParamError`] naming the parameter and the valid alternatives.
    pub fn resolve(&self, given: &[Param]) -> Result<Vec<Param>, ParamError> {
        params::resolve(&self.descriptor.params, given)
    }

    /// Calls the estimator with resolved parameters.
    pub fn estimate(&self, series: &[f64], resolved: &[Param]) -> Result<Estimate, PluginError> {
        self.plugin.estimate(self.index, series, resolved)
    }

    /// Calls the model with resolved parameters.
    pub fn generate(
        &self,
        length: u64,
        seed: u64,
        resolved: &[Param],
    ) -> Result<Generated, PluginError> {
        self.plugin.generate(self.index, length, seed, resolved)
    }
}

/// A component name that could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// No loaded plugin has it.
    #[error("unknown {kind} `{name}` (valid: {})", if valid.is_empty() { "none loaded".to_string() } else { valid.join(", ") })]
    Unknown {
        /// The name asked for.
        name: String,
        /// Estimator or model.
        kind: ComponentKind,
        /// The names that exist.
        valid: Vec<String>,
    },
    /// Several plugins have it.
    #[error("{kind} `{name}` is provided by several plugins: {}; use one of these names", candidates.join(", "))]
    Ambiguous {
        /// The name asked for.
        name: String,
        /// Estimator or model.
        kind: ComponentKind,
        /// `plugin::name (file)` for each candidate, or `plugin@sha256-prefix::name (file)`
        /// where plugin names repeat.
        candidates: Vec<String>,
    },
}

impl Catalog {
    /// Discovers and loads every plugin of `sources`, all in-process. Returns the catalog of
    /// those that loaded and the errors of those that did not, all of them, so a caller can
    /// report them together.
    pub fn load(sources: &PluginSources) -> (Catalog, Vec<LoadError>) {
        let (catalog, errors, _) = Catalog::load_with(sources, &LoadPolicy::trust_all());
        (catalog, errors)
    }

    /// Discovers the plugins of `sources` and places each as `policy` says before any of its
    /// code runs: loaded in-process (from the very bytes that were hashed), described by a
    /// worker (isolated), or refused. Returns the catalog, the load errors and the refusals.
    pub fn load_with(
        sources: &PluginSources,
        policy: &LoadPolicy<'_>,
    ) -> (Catalog, Vec<LoadError>, Vec<Refused>) {
        let mut catalog = Catalog::default();
        let mut errors = Vec::new();
        let mut refused = Vec::new();
        let mut libs: Vec<(std::path::PathBuf, LibraryBytes)> = Vec::new();
        let mut processes: Vec<(std::path::PathBuf, ProcessLaunch, String)> = Vec::new();
        for path in discover(sources) {
            if is_manifest(&path) {
                match read_manifest(&path) {
                    Ok((_, sha)) if processes.iter().any(|(_, _, s)| *s == sha) => {}
                    Ok((launch, sha)) => match policy.refuses(&path, &sha) {
                        Some(r) => refused.push(r),
                        None => processes.push((path, launch, sha)),
                    },
                    Err(e) => errors.push(e),
                }
                continue;
            }
            match read_library(&path) {
                // The same library found twice (same bytes) is placed and loaded once.
                Ok(lib) if libs.iter().any(|(_, l)| l.sha256 == lib.sha256) => {}
                Ok(lib) => libs.push((path, lib)),
                Err(e) => errors.push(e),
            }
        }
        // Placing may start a worker per library (and describing a process plugin starts its
        // program): side by side, not in turn.
        let (placements, described): (Vec<Result<Placement, LoadError>>, Vec<_>) =
            std::thread::scope(|scope| {
                let handles: Vec<_> = libs
                    .iter()
                    .map(|(path, lib)| scope.spawn(move || policy.place(path, lib)))
                    .collect();
                let process_handles: Vec<_> = processes
                    .iter()
                    .map(|(_, launch, _)| {
                        scope.spawn(move || crate::isolate::describe_process(launch))
                    })
                    .collect();
                let placements = handles
                    .into_iter()
                    .zip(&libs)
                    .map(|(h, (path, _))| {
                        h.join().unwrap_or_else(|_| {
                            Err(LoadError::Isolated {
                                path: path.clone(),
                                message: "placing the library panicked".into(),
                            })
                        })
                    })
                    .collect();
                let described = process_handles
                    .into_iter()
                    .map(|h| {
                        h.join()
                            .unwrap_or_else(|_| Err("describing the plugin panicked".into()))
                    })
                    .collect();
                (placements, described)
            });
        for ((path, lib), placement) in libs.into_iter().zip(placements) {
            match placement {
                Ok(Placement::InProcess) => match load_bytes(&path, lib) {
                    Ok(p) => catalog.add(p),
                    Err(e) => errors.push(e),
                },
                Ok(Placement::Isolated(descriptor)) => {
                    catalog.add(LoadedPlugin::described(path, lib.sha256, descriptor));
                }
                Ok(Placement::Refused(r)) => refused.push(r),
                Err(e) => errors.push(e),
            }
        }
        for ((path, launch, sha), described) in processes.into_iter().zip(described) {
            match described {
                Ok(descriptor) => {
                    catalog.add(LoadedPlugin::process(path, sha, descriptor, launch));
                }
                Err(message) => errors.push(LoadError::Isolated { path, message }),
            }
        }
        (catalog, errors, refused)
    }

    /// Adds a loaded plugin, unless the same library (by SHA-256) is already in.
    pub fn add(&mut self, plugin: LoadedPlugin) {
        if !self.plugins.iter().any(|p| p.sha256 == plugin.sha256) {
            self.plugins.push(plugin);
        }
    }

    /// Keeps only the plugins for which `keep` is true.
    pub fn retain(&mut self, keep: impl FnMut(&LoadedPlugin) -> bool) {
        self.plugins.retain(keep);
    }

    /// The loaded plugins, in load order.
    pub fn plugins(&self) -> &[LoadedPlugin] {
        &self.plugins
    }

    /// Every component of every plugin, in load order.
    pub fn components(&self) -> impl Iterator<Item = ComponentHandle<'_>> {
        self.plugins.iter().flat_map(|plugin| {
            plugin
                .descriptor
                .components
                .iter()
                .enumerate()
                .map(move |(i, descriptor)| ComponentHandle {
                    plugin,
                    index: i as u32,
                    descriptor,
                })
        })
    }

    /// The sorted, distinct bare names of the components of `kind`.
    pub fn names(&self, kind: ComponentKind) -> Vec<String> {
        let mut names: Vec<String> = self
            .components()
            .filter(|c| c.descriptor.kind == kind)
            .map(|c| c.name().to_string())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Finds a component of `kind` by bare or qualified (`plugin::name`) name.
    ///
    /// # Errors
    ///
    /// [`LookupError::Unknown`] with the valid names, or [`LookupError::Ambiguous`] with the
    /// candidates.
    pub fn find(
        &self,
        name: &str,
        kind: ComponentKind,
    ) -> Result<ComponentHandle<'_>, LookupError> {
        let (plugin_name, bare) = match name.split_once("::") {
            Some((p, n)) => (Some(p), n),
            None => (None, name),
        };
        // `plugin@hexprefix`: the plugin whose SHA-256 starts with the prefix.
        let (plugin_name, sha_prefix) = match plugin_name.and_then(|p| p.split_once('@')) {
            Some((p, h)) => (Some(p), Some(h.to_ascii_lowercase())),
            None => (plugin_name, None),
        };
        let matches: Vec<ComponentHandle<'_>> = self
            .components()
            .filter(|c| c.descriptor.kind == kind && c.name() == bare)
            .filter(|c| plugin_name.is_none_or(|p| c.plugin.descriptor.name == p))
            .filter(|c| {
                sha_prefix
                    .as_deref()
                    .is_none_or(|h| !h.is_empty() && c.plugin.sha256.starts_with(h))
            })
            .collect();
        match matches.len() {
            1 => Ok(matches[0]),
            0 => Err(LookupError::Unknown {
                name: name.to_string(),
                kind,
                valid: self.names(kind),
            }),
            _ => Err(LookupError::Ambiguous {
                name: name.to_string(),
                kind,
                candidates: matches
                    .iter()
                    .map(|c| {
                        let plugin = &c.plugin.descriptor.name;
                        let repeated = matches
                            .iter()
                            .filter(|o| &o.plugin.descriptor.name == plugin)
                            .count()
                            > 1;
                        let qualified = if repeated {
                            format!(
                                "{plugin}@{}::{}",
                                &c.plugin.sha256[..c.plugin.sha256.len().min(12)],
                                c.name()
                            )
                        } else {
                            c.qualified_name()
                        };
                        format!("{qualified} ({})", c.plugin.path.display())
                    })
                    .collect(),
            }),
        }
    }
}
