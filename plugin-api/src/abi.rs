//! Every type that crosses the plugin boundary, and the root module that a plugin exports.
//!
//! Only `#[repr(C)]`/`#[repr(u8)]` types deriving [`StableAbi`] live here. The root module
//! [`PluginModule`] is a prefix type: fields may only ever be appended after the field marked
//! `last_prefix_field`, so an old plugin keeps loading in a newer host. Changing or removing any
//! existing item is a breaking change and needs a new minor version of this crate (0.x), which
//! the host then refuses to load against.

use abi_stable::{
    declare_root_module_statics,
    library::RootModule,
    package_version_strings,
    sabi_types::VersionStrings,
    std_types::{RBox, RCowStr, ROption, RResult, RSlice, RString, RVec},
    StableAbi,
};

/// What a component is: something that estimates from a series, or something that generates one.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ComponentKind {
    /// Takes a series and returns an [`Estimate`].
    Estimator,
    /// Takes a length, a seed and parameters and returns a [`Generated`] series of known truth.
    Model,
}

/// The family of methods a component belongs to, used to group reports.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// Time-domain scaling methods (R/S, DFA, aggregated variance, ...).
    Temporal,
    /// Fractal-geometry methods (Higuchi, generalised Hurst exponent).
    Geometric,
    /// Frequency-domain methods (periodogram, GPH, Whittle).
    Spectral,
    /// Wavelet-domain methods.
    Wavelet,
    /// Multifractal methods (MFDFA).
    Multifractal,
    /// Anything else, including data models.
    Other,
}

/// The type of a parameter, as declared in a component's schema.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParamKind {
    /// A signed 64-bit integer.
    Int,
    /// A 64-bit float (integers are accepted and widened).
    Float,
    /// `true` or `false`.
    Bool,
    /// Free text.
    Str,
    /// One of the schema's `choices`.
    Enum,
    /// A list of numbers.
    List,
}

/// A parameter value as it crosses the boundary.
#[repr(u8)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub enum ParamValue {
    /// An integer value.
    Int(i64),
    /// A float value.
    Float(f64),
    /// A boolean value.
    Bool(bool),
    /// A string value (also used for enum choices).
    Str(RString),
    /// A list of numbers.
    List(RVec<f64>),
}

/// One parameter of a component's schema.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct ParamSpec {
    /// The name users type.
    pub name: RString,
    /// The declared type.
    pub kind: ParamKind,
    /// The default; a parameter without one is required.
    pub default: ROption<ParamValue>,
    /// Inclusive lower bound for numbers (each element for lists).
    pub min: ROption<f64>,
    /// Inclusive upper bound for numbers (each element for lists).
    pub max: ROption<f64>,
    /// The allowed values of an [`ParamKind::Enum`] parameter.
    pub choices: RVec<RString>,
    /// One line of help.
    pub help: RString,
}

/// The self-description of one estimator or model.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct ComponentDescriptor {
    /// The name users type, e.g. `dfa`.
    pub name: RString,
    /// Estimator or model.
    pub kind: ComponentKind,
    /// The family of the method.
    pub family: Family,
    /// What an estimator returns (`H`, `d`, `beta`, ...), or what a model's truth is named.
    pub estimand: RString,
    /// A one-line description.
    pub description: RString,
    /// A literature reference.
    pub reference: RString,
    /// The parameter schema.
    pub params: RVec<ParamSpec>,
}

/// What a plugin library declares about itself.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct PluginDescriptor {
    /// The plugin's name, e.g. `temporal`.
    pub name: RString,
    /// The plugin's version (semver).
    pub version: RString,
    /// The version of this interface crate the plugin was built against.
    pub api_version: RString,
    /// Its components, addressed by index in calls.
    pub components: RVec<ComponentDescriptor>,
}

/// A named parameter value passed to a call.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct Param {
    /// Parameter name, as in the schema.
    pub name: RString,
    /// Its value.
    pub value: ParamValue,
}

/// The typed kinds of error a plugin may return. The host adds its own kinds (panic, crash,
/// timeout, ...) on its side of the boundary.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    /// The series is unusable (NaN, infinite, constant, ...).
    InvalidInput,
    /// The series is too short for the method or its parameters.
    InsufficientData,
    /// A parameter is unknown, of the wrong type or out of range.
    Parameter,
    /// A numerical failure (singular fit, non-finite result, ...).
    Numerical,
    /// An iterative method did not converge.
    NonConvergence,
    /// A bug in the plugin, including a caught panic.
    Internal,
}

/// A typed error returned by a plugin.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct PluginError {
    /// The kind of failure.
    pub kind: ErrorKind,
    /// A human-readable, one-line message.
    pub message: RString,
}

/// How a confidence interval was made, so every interval says what it is. An estimate without
/// an interval has method `none` (see [`CiMethod::name_of`]).
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CiMethod {
    /// The method's own large-sample theory (e.g. the Whittle or GPH standard error).
    Asymptotic,
    /// The scaling regression's t-interval, which treats correlated log-log points as
    /// independent: it undercovers, and is only shown when asked for (`ci = asymptotic`).
    Regression,
    /// Inverted from the estimator's sampling mean and SD under exact fGn, tabulated by
    /// simulation for its default configuration.
    Calibrated,
    /// Generalised least squares with the covariance of the log-statistics.
    Gls,
    /// The parametric fGn bootstrap.
    Bootstrap,
}

impl CiMethod {
    /// The lowercase name used in tables, JSON and CSV.
    pub fn as_str(self) -> &'static str {
        match self {
            CiMethod::Asymptotic => "asymptotic",
            CiMethod::Regression => "regression",
            CiMethod::Calibrated => "calibrated",
            CiMethod::Gls => "gls",
            CiMethod::Bootstrap => "bootstrap",
        }
    }

    /// The name of an optional interval's method: `none` when there is no interval.
    pub fn name_of(ci: Option<&Interval>) -> &'static str {
        ci.map_or("none", |c| c.method.as_str())
    }
}

/// A confidence interval.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq)]
pub struct Interval {
    /// Lower end.
    pub low: f64,
    /// Upper end.
    pub high: f64,
    /// Nominal coverage, e.g. 0.95.
    pub level: f64,
    /// How it was made.
    pub method: CiMethod,
}

/// The points of a scaling fit and the fitted line, for plots and diagnostics.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq, Default)]
pub struct ScalingFit {
    /// What x is, e.g. `log2(scale)`.
    pub x_label: RString,
    /// What y is, e.g. `log2(F(s))`.
    pub y_label: RString,
    /// Abscissae of the points used by the fit.
    pub x: RVec<f64>,
    /// Ordinates of the points used by the fit.
    pub y: RVec<f64>,
    /// The fitted line evaluated at `x`.
    pub fitted: RVec<f64>,
}

/// A named vector of numbers, for diagnostics that have no fixed slot (e.g. `h(q)`).
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct NamedValues {
    /// What the numbers are.
    pub name: RString,
    /// The numbers.
    pub values: RVec<f64>,
}

/// The result of an estimator call.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct Estimate {
    /// The point estimate.
    pub value: f64,
    /// What was estimated (`H`, `d`, ...). Borrowed when it is static data of the plugin
    /// (libraries are never unloaded, so such a borrow outlives every estimate), which spares
    /// the call an allocation; owned otherwise.
    pub estimand: RCowStr<'static>,
    /// Standard error of `value`, when known.
    pub stderr: ROption<f64>,
    /// Confidence interval, when known.
    pub ci: ROption<Interval>,
    /// Coefficient of determination of the scaling fit, when there is one.
    pub r_squared: ROption<f64>,
    /// The scaling points and fitted line, when there is a fit. Boxed: it is large and
    /// optional, and every byte of `Estimate` is copied on each call's return path.
    pub fit: ROption<RBox<ScalingFit>>,
    /// Warnings about this estimate (outside (0, 1), few scales, clipped bandwidth, ...).
    pub warnings: RVec<RString>,
    /// Further named diagnostics.
    pub diagnostics: RVec<NamedValues>,
}

/// A true parameter value of a generated series (e.g. `H = 0.7`).
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct TrueValue {
    /// Name of the parameter (`H`, `d`, ...).
    pub name: RString,
    /// Its true value.
    pub value: f64,
}

/// The result of a model call.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct Generated {
    /// The series.
    pub values: RVec<f64>,
    /// The true parameters of the process that generated it.
    pub truth: RVec<TrueValue>,
    /// Warnings (e.g. a fallback from the fast exact method).
    pub warnings: RVec<RString>,
}

/// The root module every plugin library exports.
///
/// Append-only: new fields go after `generate`, each new one becoming the new
/// `last_prefix_field` only if every later host requires it. Hosts reading a field an older
/// plugin lacks get `None` from the generated accessor.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModuleRef)))]
#[sabi(missing_field(panic))]
pub struct PluginModule {
    /// Describes the plugin and its components.
    pub describe: extern "C" fn() -> RResult<PluginDescriptor, PluginError>,
    /// Runs estimator `component` (an index into the descriptor's components) on a borrowed
    /// series with resolved parameters.
    pub estimate: extern "C" fn(
        component: u32,
        series: RSlice<'_, f64>,
        params: RSlice<'_, Param>,
    ) -> RResult<Estimate, PluginError>,
    /// Runs model `component` to generate a series.
    #[sabi(last_prefix_field)]
    pub generate: extern "C" fn(
        component: u32,
        length: u64,
        seed: u64,
        params: RSlice<'_, Param>,
    ) -> RResult<Generated, PluginError>,
}

impl RootModule for PluginModuleRef {
    declare_root_module_statics! {PluginModuleRef}
    const BASE_NAME: &'static str = "lrdbench_plugin";
    const NAME: &'static str = "lrdbench_plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

/// The version of this interface crate, recorded in every descriptor.
pub const API_VERSION: &str = env!("CARGO_PKG_VERSION");
