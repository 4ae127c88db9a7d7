//! The workflow file as written: the TOML schema, parsed with every position kept, so that an
//! error in a later check (an unknown estimator, a misspelt parameter) can still name its line
//! and column. Unknown keys are errors here, not silently ignored.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

/// A parameter table: names and values, with positions.
pub type ParamTable = BTreeMap<Spanned<String>, Spanned<toml::Value>>;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowFile {
    /// `[workflow]`.
    pub workflow: WorkflowSection,
    /// `[[data]]` sources.
    #[serde(default)]
    pub data: Vec<DataSection>,
    /// `[[contamination]]` transforms.
    #[serde(default)]
    pub contamination: Vec<ContaminationSection>,
    /// `[[estimator]]` entries.
    #[serde(default)]
    pub estimator: Vec<EstimatorSection>,
    /// `[metrics]`.
    #[serde(default)]
    pub metrics: MetricsSection,
    /// `[leaderboard]`.
    #[serde(default)]
    pub leaderboard: LeaderboardSection,
    /// `[output]`.
    #[serde(default)]
    pub output: OutputSection,
    /// `[execution]`.
    #[serde(default)]
    pub execution: ExecutionSection,
    /// `[plugins]`.
    #[serde(default)]
    pub plugins: PluginsSection,
}

/// `[plugins]`: where the plugins this workflow needs are, besides the host's own.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginsSection {
    /// Directories searched for `lrdbench_plugin_*` libraries, relative to the workflow file.
    #[serde(default)]
    pub dirs: Vec<Spanned<String>>,
}

/// The `[plugins] dirs` of the workflow file at `path`, resolved against the file's directory.
/// They are read before the plan, because the plan needs the plugins they hold.
///
/// # Errors
///
/// A [`SpecError`] for an unreadable or malformed file, or a directory that does not exist.
pub fn plugin_dirs(path: &Path) -> Result<Vec<PathBuf>, SpecError> {
    // Only a regular file, bounded, as the plan reads it: a FIFO or /dev/zero named as a
    // workflow must not hang before the plan gets to refuse it.
    let text =
        crate::fsutil::read_regular_text(path, super::limits::MAX_WORKFLOW_BYTES).map_err(|e| {
            SpecError {
                path: path.to_path_buf(),
                position: None,
                message: format!("cannot read: {e}"),
            }
        })?;
    let (file, map) = parse(path, &text)?;
    let base = path.parent().unwrap_or(Path::new("."));
    file.plugins
        .dirs
        .iter()
        .map(|d| {
            let dir = base.join(d.get_ref());
            if dir.is_dir() {
                Ok(dir)
            } else {
                Err(map.error_at(
                    d.span(),
                    format!("plugin directory {} does not exist", dir.display()),
                ))
            }
        })
        .collect()
}

/// `[workflow]`: identity of the workflow.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowSection {
    /// Name, used in run ids and reports.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// The seed every series and cell seed derives from.
    #[serde(default)]
    pub seed: u64,
    /// Keep the clean series in the plan beside the contaminated ones.
    #[serde(default = "yes")]
    pub keep_clean: bool,
}

fn yes() -> bool {
    true
}

/// `[[data]]`: exactly one of `model`, `files` or `values`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSection {
    /// Optional label for the source.
    pub name: Option<String>,
    /// Generator grid: the model.
    pub model: Option<Spanned<String>>,
    /// Generator grid: parameters; an array is a list of values to cross (for a list-typed
    /// parameter, an array of arrays).
    #[serde(default)]
    pub params: ParamTable,
    /// Generator grid: lengths.
    pub lengths: Option<Vec<Spanned<i64>>>,
    /// Generator grid: replicates per parameter combination and length.
    pub replicates: Option<Spanned<i64>>,
    /// Files: a path or glob, relative to the workflow file.
    pub files: Option<Spanned<String>>,
    /// Files: the column (name or zero-based index).
    pub column: Option<toml::Value>,
    /// Files and inline values: the true parameters (e.g. `{ H = 0.7 }`).
    #[serde(default)]
    pub truth: BTreeMap<String, f64>,
    /// Files: the truth per file name (overrides `truth`).
    #[serde(default)]
    pub truth_per_file: BTreeMap<String, BTreeMap<String, f64>>,
    /// Inline values.
    pub values: Option<Spanned<Vec<f64>>>,
}

/// The kind of a `[[data]]` source, with the key that names it.
#[derive(Debug, Clone, Copy)]
pub enum DataSource<'a> {
    /// A generator grid: `model`, with `params`, `lengths` and `replicates`.
    Model(&'a Spanned<String>),
    /// Files: a path or glob, with `column`, `truth` and `truth_per_file`.
    Files(&'a Spanned<String>),
    /// Inline values, with `name` and `truth`.
    Inline(&'a Spanned<Vec<f64>>),
}

impl DataSection {
    /// Which kind of source this is; `None` unless exactly one of `model`, `files` and
    /// `values` is given.
    pub fn source(&self) -> Option<DataSource<'_>> {
        match (&self.model, &self.files, &self.values) {
            (Some(m), None, None) => Some(DataSource::Model(m)),
            (None, Some(f), None) => Some(DataSource::Files(f)),
            (None, None, Some(v)) => Some(DataSource::Inline(v)),
            _ => None,
        }
    }
}

/// `[[contamination]]`: a transform and its parameter grid.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContaminationSection {
    /// The transform's name.
    pub name: Spanned<String>,
    /// Parameters; arrays are crossed as in `[[data]]`.
    #[serde(default)]
    pub params: ParamTable,
}

/// `[[estimator]]`: an estimator, its parameters and named variants.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EstimatorSection {
    /// The estimator's name (bare or `plugin::name`).
    pub name: Spanned<String>,
    /// Its parameters (shared by every variant unless a variant overrides them).
    #[serde(default)]
    pub params: ParamTable,
    /// Named alternative parameter sets, each a separate row (`dfa/order2`).
    #[serde(default)]
    pub variants: BTreeMap<Spanned<String>, ParamTable>,
    /// Whether the base parameter set is a row too when variants exist.
    #[serde(default = "yes")]
    pub include_base: bool,
}

/// `[metrics]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSection {
    /// Which metrics (default: all).
    pub compute: Option<Vec<Spanned<String>>>,
    /// Strata to aggregate over besides the estimator (default: length, h_band, contamination).
    pub strata: Option<Vec<Spanned<String>>>,
}

/// `[leaderboard]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaderboardSection {
    /// Metric weights (default: mae 0.4, coverage 0.2, validity 0.2, runtime 0.2).
    pub weights: Option<BTreeMap<Spanned<String>, Spanned<f64>>>,
}

/// `[output]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSection {
    /// Output directory, relative to the current directory (default `runs`).
    pub dir: Option<String>,
    /// Formats to write (default all: csv, md, json, html).
    pub formats: Option<Vec<Spanned<String>>>,
}

/// `[execution]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecutionSection {
    /// Worker threads (0 or absent: one per core).
    pub threads: Option<usize>,
    /// Per-call time limit in seconds (enforced in process isolation).
    pub timeout: Option<f64>,
    /// `in_process` (default) or `process`.
    pub isolation: Option<Spanned<String>>,
    /// Resume the latest interrupted run of the same workflow in the output directory.
    #[serde(default)]
    pub resume: bool,
}

/// A problem in a workflow file, located when possible.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line and column, when known.
    pub position: Option<(usize, usize)>,
    /// What is wrong, one line.
    pub message: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, col)) => {
                write!(f, "{}:{line}:{col}: {}", self.path.display(), self.message)
            }
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

impl std::error::Error for SpecError {}

/// Maps byte offsets of a source text to 1-based line and column.
#[derive(Debug, Clone)]
pub struct SourceMap {
    path: PathBuf,
    line_starts: Vec<usize>,
}

impl SourceMap {
    /// Indexes `text`, read from `path`.
    pub fn new(path: &Path, text: &str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        SourceMap {
            path: path.to_path_buf(),
            line_starts,
        }
    }

    /// Line and column of byte `offset`.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        (line, offset - self.line_starts[line - 1] + 1)
    }

    /// An error at the start of `span`.
    pub fn error_at(&self, span: std::ops::Range<usize>, message: impl Into<String>) -> SpecError {
        SpecError {
            path: self.path.clone(),
            position: Some(self.position(span.start)),
            message: message.into(),
        }
    }

    /// An error with no position.
    pub fn error(&self, message: impl Into<String>) -> SpecError {
        SpecError {
            path: self.path.clone(),
            position: None,
            message: message.into(),
        }
    }
}

/// Parses a workflow file's text.
///
/// # Errors
///
/// A [`SpecError`] with the line and column of malformed TOML, unknown keys, or wrong types.
pub fn parse(path: &Path, text: &str) -> Result<(WorkflowFile, SourceMap), SpecError> {
    let map = SourceMap::new(path, text);
    match toml::from_str::<WorkflowFile>(text) {
        Ok(file) => Ok((file, map)),
        Err(e) => {
            // toml's message can span several lines with a source excerpt; keep its first
            // sentence and put the position in front.
            let message = e
                .message()
                .lines()
                .next()
                .unwrap_or("invalid TOML")
                .trim()
                .to_string();
            Err(match e.span() {
                Some(span) => map.error_at(span, message),
                None => map.error(message),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_minimal_workflow() {
        let text = "[workflow]\nname = \"w\"\n\n[[data]]\nvalues = [1.0, 2.0]\n\n[[estimator]]\nname = \"dfa\"\n";
        let (f, _) = parse(Path::new("w.toml"), text).unwrap();
        assert_eq!(f.workflow.name, "w");
        assert!(f.workflow.keep_clean);
        assert_eq!(f.estimator[0].name.get_ref(), "dfa");
    }

    #[test]
    fn parse_malformed_toml_names_the_line() {
        let e = parse(
            Path::new("w.toml"),
            "[workflow]\nname = \"w\"\nseed = = 3\n",
        )
        .unwrap_err();
        assert_eq!(e.position.map(|p| p.0), Some(3), "{e}");
        assert_eq!(e.to_string().lines().count(), 1);
    }

    #[test]
    fn parse_unknown_key_is_an_error_with_position() {
        let e = parse(Path::new("w.toml"), "[workflow]\nname = \"w\"\nsede = 3\n").unwrap_err();
        assert!(e.message.contains("sede"), "{e}");
        assert_eq!(e.position.map(|p| p.0), Some(3), "{e}");
    }

    #[test]
    fn source_map_positions() {
        let m = SourceMap::new(Path::new("x"), "ab\ncd\n");
        assert_eq!(m.position(0), (1, 1));
        assert_eq!(m.position(3), (2, 1));
        assert_eq!(m.position(4), (2, 2));
    }
}
