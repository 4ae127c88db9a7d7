//! The plugin author's side: safe traits, builders, and the [`export_plugin!`](crate::export_plugin)
//! macro. Nothing here is `extern "C"` from the author's point of view; the macro writes the
//! boundary, and [`Registry`] runs every call under `catch_unwind`.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::mem::MaybeUninit;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use abi_stable::std_types::{RBox, RCowStr, ROption, RResult, RSlice, RString, RVec};

use crate::abi::{
    CiMethod, ComponentDescriptor, ComponentKind, ErrorKind, Estimate, Family, Generated, Interval,
    NamedValues, Param, ParamKind, ParamSpec, ParamValue, PluginDescriptor, PluginError,
    ScalingFit, TrueValue, API_VERSION,
};
use crate::params;

/// An estimator: a method that reads a series and returns an [`Estimate`].
pub trait Estimator: Send + Sync + 'static {
    /// The component's self-description (see [`component`]).
    fn describe(&self) -> ComponentDescriptor;

    /// Estimates from `series` with parameters already checked against [`Self::describe`]'s schema.
    ///
    /// # Errors
    ///
    /// A typed [`PluginError`]; a panic is caught by the SDK and becomes an `internal` error.
    fn estimate(&self, series: &[f64], params: &Params) -> Result<Estimate, PluginError>;
}

/// A data model: a generator of series with known true parameters.
pub trait Model: Send + Sync + 'static {
    /// The component's self-description (see [`component`]).
    fn describe(&self) -> ComponentDescriptor;

    /// Generates `length` points from `seed`; the same inputs must give the same series.
    ///
    /// # Errors
    ///
    /// A typed [`PluginError`]; a panic is caught by the SDK and becomes an `internal` error.
    fn generate(&self, length: usize, seed: u64, params: &Params)
        -> Result<Generated, PluginError>;
}

/// Resolved parameters: every schema parameter present, of its declared type.
///
/// The getters panic when asked for a name or type the schema does not declare; that is a bug
/// in the plugin, and the SDK reports it as an `internal` error.
#[derive(Debug, Clone)]
pub struct Params {
    values: Vec<Param>,
}

impl Params {
    /// Wraps parameters that were resolved against a schema.
    pub fn from_resolved(values: Vec<Param>) -> Self {
        Params { values }
    }

    /// The parameters, in schema order.
    pub fn as_slice(&self) -> &[Param] {
        &self.values
    }

    fn get(&self, name: &str) -> &ParamValue {
        match self.values.iter().find(|p| p.name == name) {
            Some(p) => &p.value,
            None => panic!("plugin bug: parameter `{name}` is not declared in the schema"),
        }
    }

    /// An `int` parameter.
    pub fn int(&self, name: &str) -> i64 {
        match self.get(name) {
            ParamValue::Int(v) => *v,
            other => panic!(
                "plugin bug: parameter `{name}` is {}, not int",
                other.type_name()
            ),
        }
    }

    /// A non-negative `int` parameter as `usize` (declare `min >= 0` in the schema).
    pub fn usize(&self, name: &str) -> usize {
        let v = self.int(name);
        usize::try_from(v)
            .unwrap_or_else(|_| panic!("plugin bug: parameter `{name}` = {v} is negative"))
    }

    /// A `float` parameter.
    pub fn float(&self, name: &str) -> f64 {
        match self.get(name) {
            ParamValue::Float(v) => *v,
            ParamValue::Int(v) => *v as f64,
            other => panic!(
                "plugin bug: parameter `{name}` is {}, not float",
                other.type_name()
            ),
        }
    }

    /// A `bool` parameter.
    pub fn bool(&self, name: &str) -> bool {
        match self.get(name) {
            ParamValue::Bool(v) => *v,
            other => panic!(
                "plugin bug: parameter `{name}` is {}, not bool",
                other.type_name()
            ),
        }
    }

    /// An `enum` parameter declared with [`param::choice_of`], as its typed value.
    pub fn choice<T: Choice>(&self, name: &str) -> T {
        let given = self.str(name);
        match T::CHOICES.iter().find(|(n, _)| *n == given) {
            Some((_, v)) => *v,
            None => panic!("plugin bug: parameter `{name}` = {given:?} is not one of its choices"),
        }
    }

    /// A `string` or `enum` parameter.
    pub fn str(&self, name: &str) -> &str {
        match self.get(name) {
            ParamValue::Str(v) => v.as_str(),
            other => panic!(
                "plugin bug: parameter `{name}` is {}, not string",
                other.type_name()
            ),
        }
    }

    /// A `list` parameter.
    pub fn list(&self, name: &str) -> &[f64] {
        match self.get(name) {
            ParamValue::List(v) => v.as_slice(),
            other => panic!(
                "plugin bug: parameter `{name}` is {}, not list",
                other.type_name()
            ),
        }
    }
}

impl PluginError {
    /// A new error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        PluginError {
            kind,
            message: RString::from(message.into()),
        }
    }
    /// An `invalid_input` error.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }
    /// An `insufficient_data` error.
    pub fn insufficient_data(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InsufficientData, message)
    }
    /// A `parameter` error.
    pub fn parameter(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Parameter, message)
    }
    /// A `numerical` error.
    pub fn numerical(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Numerical, message)
    }
    /// A `non_convergence` error.
    pub fn non_convergence(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NonConvergence, message)
    }
    /// An `internal` error.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }
}

impl std::fmt::Display for PluginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for PluginError {}

/// The estimands the standard components return. [`Estimate::new`] borrows these from the
/// plugin's static data instead of allocating a string on every call.
const STATIC_ESTIMANDS: [&str; 5] = ["H", "d", "beta", "alpha", "D"];

/// `estimand` as an ABI string: a borrow of static data when it is a well-known name, an
/// owned copy otherwise.
fn estimand_str(estimand: &str) -> RCowStr<'static> {
    match STATIC_ESTIMANDS.iter().find(|s| **s == estimand) {
        Some(s) => RCowStr::Borrowed((*s).into()),
        None => RCowStr::Owned(estimand.into()),
    }
}

impl Estimate {
    /// A bare point estimate of `estimand`. Well-known estimands (`H`, `d`, `beta`, `alpha`,
    /// `D`) cost no allocation.
    pub fn new(value: f64, estimand: &str) -> Self {
        Estimate {
            value,
            estimand: estimand_str(estimand),
            stderr: ROption::RNone,
            ci: ROption::RNone,
            r_squared: ROption::RNone,
            fit: ROption::RNone,
            warnings: RVec::new(),
            diagnostics: RVec::new(),
        }
    }
    /// Sets the standard error.
    pub fn with_stderr(mut self, stderr: f64) -> Self {
        self.stderr = ROption::RSome(stderr);
        self
    }
    /// Sets the confidence interval, made by the method's own theory
    /// ([`CiMethod::Asymptotic`]); see [`Estimate::with_ci_method`] for others.
    pub fn with_ci(self, low: f64, high: f64, level: f64) -> Self {
        self.with_ci_method(low, high, level, CiMethod::Asymptotic)
    }
    /// Sets the confidence interval and how it was made.
    pub fn with_ci_method(mut self, low: f64, high: f64, level: f64, method: CiMethod) -> Self {
        self.ci = ROption::RSome(Interval {
            low,
            high,
            level,
            method,
        });
        self
    }
    /// Removes the interval and the standard error (a method that cannot give an honest one).
    pub fn without_ci(mut self) -> Self {
        self.ci = ROption::RNone;
        self.stderr = ROption::RNone;
        self
    }
    /// Sets r² of the scaling fit.
    pub fn with_r_squared(mut self, r2: f64) -> Self {
        self.r_squared = ROption::RSome(r2);
        self
    }
    /// Sets the scaling points and fitted line.
    pub fn with_fit(
        mut self,
        x_label: &str,
        y_label: &str,
        x: Vec<f64>,
        y: Vec<f64>,
        fitted: Vec<f64>,
    ) -> Self {
        self.fit = ROption::RSome(RBox::new(ScalingFit {
            x_label: x_label.into(),
            y_label: y_label.into(),
            x: x.into(),
            y: y.into(),
            fitted: fitted.into(),
        }));
        self
    }
    /// Adds a warning.
    pub fn with_warning(mut self, warning: impl Into<String>) -> Self {
        self.warnings.push(RString::from(warning.into()));
        self
    }
    /// Adds a named diagnostic vector.
    pub fn with_diagnostic(mut self, name: &str, values: Vec<f64>) -> Self {
        self.diagnostics.push(NamedValues {
            name: name.into(),
            values: values.into(),
        });
        self
    }
}

impl Generated {
    /// A series with no declared truth yet.
    pub fn new(values: Vec<f64>) -> Self {
        Generated {
            values: values.into(),
            truth: RVec::new(),
            warnings: RVec::new(),
        }
    }
    /// Declares a true parameter value.
    pub fn with_truth(mut self, name: &str, value: f64) -> Self {
        self.truth.push(TrueValue {
            name: name.into(),
            value,
        });
        self
    }
    /// Adds a warning.
    pub fn with_warning(mut self, warning: impl Into<String>) -> Self {
        self.warnings.push(RString::from(warning.into()));
        self
    }
}

/// Starts the description of an estimator: `estimator(name, family, estimand)`, then chain
/// `.description(..)`, `.reference(..)`, `.param(..)` and finish with `.build()`.
///
/// # Example
///
/// ```
/// use lrdbench_plugin_api::prelude::*;
/// let d = estimator("lag1", Family::Temporal, "H")
///     .param(param::float("clip", 0.99, "largest |rho| used").bounds(0.0, 1.0))
///     .build();
/// assert_eq!(d.kind, ComponentKind::Estimator);
/// assert_eq!(d.params.len(), 1);
/// ```
pub fn estimator(name: &str, family: Family, estimand: &str) -> ComponentBuilder {
    component(ComponentKind::Estimator, name, family, estimand)
}

/// Starts the description of a data model: `model(name, family, truth)`, then as
/// [`estimator`].
pub fn model(name: &str, family: Family, truth: &str) -> ComponentBuilder {
    component(ComponentKind::Model, name, family, truth)
}

/// Starts a component description of either kind: `component(kind, name, family, estimand)`
/// (see [`estimator`] and [`model`], which name the kind).
pub fn component(
    kind: ComponentKind,
    name: &str,
    family: Family,
    estimand: &str,
) -> ComponentBuilder {
    ComponentBuilder(ComponentDescriptor {
        name: name.into(),
        kind,
        family,
        estimand: estimand.into(),
        description: RString::new(),
        reference: RString::new(),
        params: RVec::new(),
    })
}

/// Builder returned by [`component`].
#[derive(Debug, Clone)]
pub struct ComponentBuilder(ComponentDescriptor);

impl ComponentBuilder {
    /// One-line description.
    pub fn description(mut self, text: &str) -> Self {
        self.0.description = text.into();
        self
    }
    /// Literature reference.
    pub fn reference(mut self, text: &str) -> Self {
        self.0.reference = text.into();
        self
    }
    /// Adds a parameter (see [`param`]): a [`ParamSpec`] or a builder, no `.build()` needed.
    pub fn param(mut self, spec: impl Into<ParamSpec>) -> Self {
        self.0.params.push(spec.into());
        self
    }
    /// The finished descriptor.
    pub fn build(self) -> ComponentDescriptor {
        self.0
    }
}

/// Builders for [`ParamSpec`]: `param::int("order", 1, "help").bounds(1.0, 3.0).build()`.
pub mod param {
    use super::*;

    /// Builder for one parameter.
    #[derive(Debug, Clone)]
    pub struct SpecBuilder(ParamSpec);

    fn spec(name: &str, kind: ParamKind, default: ROption<ParamValue>, help: &str) -> SpecBuilder {
        SpecBuilder(ParamSpec {
            name: name.into(),
            kind,
            default,
            min: ROption::RNone,
            max: ROption::RNone,
            choices: RVec::new(),
            help: help.into(),
        })
    }

    /// An integer with a default.
    pub fn int(name: &str, default: i64, help: &str) -> SpecBuilder {
        spec(
            name,
            ParamKind::Int,
            ROption::RSome(ParamValue::Int(default)),
            help,
        )
    }
    /// A float with a default.
    pub fn float(name: &str, default: f64, help: &str) -> SpecBuilder {
        spec(
            name,
            ParamKind::Float,
            ROption::RSome(ParamValue::Float(default)),
            help,
        )
    }
    /// A bool with a default.
    pub fn bool(name: &str, default: bool, help: &str) -> SpecBuilder {
        spec(
            name,
            ParamKind::Bool,
            ROption::RSome(ParamValue::Bool(default)),
            help,
        )
    }
    /// A string with a default.
    pub fn string(name: &str, default: &str, help: &str) -> SpecBuilder {
        spec(
            name,
            ParamKind::Str,
            ROption::RSome(ParamValue::Str(default.into())),
            help,
        )
    }
    /// One of `choices`, with a default.
    pub fn choice(name: &str, default: &str, choices: &[&str], help: &str) -> SpecBuilder {
        let mut b = spec(
            name,
            ParamKind::Enum,
            ROption::RSome(ParamValue::Str(default.into())),
            help,
        );
        b.0.choices = choices.iter().map(|c| RString::from(*c)).collect();
        b
    }
    /// One of the values of the choice type `T`, with a default; read it back as a `T` with
    /// [`Params::choice`](super::Params::choice), so the estimator matches on an enum rather
    /// than on strings.
    pub fn choice_of<T: Choice>(name: &str, default: T, help: &str) -> SpecBuilder {
        let names: Vec<&str> = T::CHOICES.iter().map(|(n, _)| *n).collect();
        choice(name, default.name(), &names, help)
    }
    /// A list of numbers with a default.
    pub fn list(name: &str, default: &[f64], help: &str) -> SpecBuilder {
        spec(
            name,
            ParamKind::List,
            ROption::RSome(ParamValue::List(default.to_vec().into())),
            help,
        )
    }
    /// A required parameter of `kind` (no default).
    pub fn required(name: &str, kind: ParamKind, help: &str) -> SpecBuilder {
        spec(name, kind, ROption::RNone, help)
    }

    impl SpecBuilder {
        /// Inclusive bounds.
        pub fn bounds(mut self, min: f64, max: f64) -> Self {
            self.0.min = ROption::RSome(min);
            self.0.max = ROption::RSome(max);
            self
        }
        /// Inclusive lower bound only.
        pub fn min(mut self, min: f64) -> Self {
            self.0.min = ROption::RSome(min);
            self
        }
        /// Inclusive upper bound only.
        pub fn max(mut self, max: f64) -> Self {
            self.0.max = ROption::RSome(max);
            self
        }
        /// The finished spec.
        pub fn build(self) -> ParamSpec {
            self.0
        }
    }

    impl From<SpecBuilder> for ParamSpec {
        fn from(b: SpecBuilder) -> ParamSpec {
            b.0
        }
    }
}

/// A parameter whose value is one of a fixed set of names, read as a typed value.
///
/// # Example
///
/// ```
/// use lrdbench_plugin_api::prelude::*;
/// use lrdbench_plugin_api::{Param, ParamValue};
///
/// #[derive(Debug, Clone, Copy, PartialEq)]
/// enum Window {
///     Hann,
///     Box,
/// }
///
/// impl Choice for Window {
///     const CHOICES: &'static [(&'static str, Self)] = &[("hann", Window::Hann), ("box", Window::Box)];
/// }
///
/// let d = estimator("e", Family::Spectral, "H")
///     .param(param::choice_of("window", Window::Hann, "taper"))
///     .build();
/// assert_eq!(d.params[0].choices.len(), 2);
/// let p = Params::from_resolved(vec![Param { name: "window".into(), value: ParamValue::Str("box".into()) }]);
/// assert_eq!(p.choice::<Window>("window"), Window::Box);
/// ```
pub trait Choice: Copy + PartialEq + 'static {
    /// Every value with its name, as the schema lists them.
    const CHOICES: &'static [(&'static str, Self)];

    /// The name of `self` in [`Choice::CHOICES`].
    ///
    /// # Panics
    ///
    /// If `self` is missing from [`Choice::CHOICES`] (a bug in the implementation).
    fn name(self) -> &'static str {
        match Self::CHOICES.iter().find(|(_, v)| *v == self) {
            Some((n, _)) => n,
            None => panic!("plugin bug: a value of a Choice type is missing from its CHOICES"),
        }
    }
}

/// The components of one plugin, as the export macro builds them. Each entry point of the
/// boundary goes through a method here, under `catch_unwind`.
pub struct Registry {
    name: &'static str,
    version: &'static str,
    estimators: Vec<Box<dyn Estimator>>,
    models: Vec<Box<dyn Model>>,
    descriptors: Vec<ComponentDescriptor>,
    /// Per component, the parameters resolved from the schema's defaults alone (`None` when a
    /// parameter is required), so a call that gives no parameters neither resolves nor
    /// allocates them again.
    defaults: Vec<Option<Params>>,
}

impl Registry {
    /// Collects the components. Component indices follow this order: estimators, then models.
    pub fn new(
        name: &'static str,
        version: &'static str,
        estimators: Vec<Box<dyn Estimator>>,
        models: Vec<Box<dyn Model>>,
    ) -> Self {
        let descriptors: Vec<ComponentDescriptor> = estimators
            .iter()
            .map(|e| e.describe())
            .chain(models.iter().map(|m| m.describe()))
            .collect();
        let defaults = descriptors
            .iter()
            .map(|d| {
                params::resolve(&d.params, &[])
                    .ok()
                    .map(Params::from_resolved)
            })
            .collect();
        Registry {
            name,
            version,
            estimators,
            models,
            descriptors,
            defaults,
        }
    }

    /// Calls `f` with the parameters of component `idx` resolved from `given`: the cached
    /// defaults when nothing is given, a fresh resolution otherwise.
    fn with_params<T>(
        &self,
        idx: usize,
        given: RSlice<'_, Param>,
        f: impl FnOnce(&Params) -> Result<T, PluginError>,
    ) -> Result<T, PluginError> {
        match &self.defaults[idx] {
            Some(defaults) if given.is_empty() => f(defaults),
            _ => {
                let resolved = params::resolve(&self.descriptors[idx].params, given.as_slice())?;
                f(&Params::from_resolved(resolved))
            }
        }
    }

    /// The plugin descriptor (the `describe` entry point).
    pub fn describe(&self) -> RResult<PluginDescriptor, PluginError> {
        guarded(|| {
            Ok(PluginDescriptor {
                name: self.name.into(),
                version: self.version.into(),
                api_version: API_VERSION.into(),
                components: self.descriptors.iter().cloned().collect(),
            })
        })
    }

    /// Runs an estimator (the `estimate` entry point).
    pub fn estimate(
        &self,
        component: u32,
        series: RSlice<'_, f64>,
        params: RSlice<'_, Param>,
    ) -> RResult<Estimate, PluginError> {
        guarded(|| {
            let idx = component as usize;
            let est = self.estimators.get(idx).ok_or_else(|| {
                PluginError::internal(format!("no estimator at index {component}"))
            })?;
            self.with_params(idx, params, |p| est.estimate(series.as_slice(), p))
        })
    }

    /// Runs a model (the `generate` entry point).
    pub fn generate(
        &self,
        component: u32,
        length: u64,
        seed: u64,
        params: RSlice<'_, Param>,
    ) -> RResult<Generated, PluginError> {
        guarded(|| {
            let idx = (component as usize)
                .checked_sub(self.estimators.len())
                .filter(|i| *i < self.models.len())
                .ok_or_else(|| PluginError::internal(format!("no model at index {component}")))?;
            let length = usize::try_from(length).map_err(|_| {
                PluginError::parameter(format!("length {length} does not fit in memory"))
            })?;
            self.with_params(self.estimators.len() + idx, params, |p| {
                self.models[idx].generate(length, seed, p)
            })
        })
    }
}

thread_local! {
    static IN_GUARD: Cell<u32> = const { Cell::new(0) };
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

/// Installs, once, a panic hook that remembers where a panic inside a guarded call happened and
/// keeps it off standard error; panics elsewhere go to the previous hook unchanged.
fn install_panic_hook() {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let guarded = IN_GUARD.with(|g| g.get() > 0);
            if guarded {
                let location = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(location));
            } else {
                previous(info);
            }
        }));
    });
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_string()
    }
}

/// Runs `f`, turning a panic into an `internal` error that carries the panic message and
/// location. This is what keeps a panic from ever reaching the boundary, where it would abort
/// the host.
pub fn guarded<T>(f: impl FnOnce() -> Result<T, PluginError>) -> RResult<T, PluginError> {
    install_panic_hook();
    // The closure's result is written into `out` instead of being returned through
    // `catch_unwind`, and converted to the ABI's `RResult` only once, straight into this
    // function's return value: an `Estimate` is a few hundred bytes, and each layer it passes
    // through by value is one more copy on the hot path of every call.
    let mut out = MaybeUninit::<Result<T, PluginError>>::uninit();
    // One thread-local lookup for both updates: in a cdylib each lookup is a call into the
    // dynamic linker's TLS resolver.
    let caught = IN_GUARD.with(|g| {
        g.set(g.get() + 1);
        let slot = out.as_mut_ptr();
        let caught = panic::catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: `slot` points to `out`, valid for writes and not otherwise accessed
            // until the guard returns.
            unsafe { slot.write(f()) };
        }));
        g.set(g.get() - 1);
        caught
    });
    match caught {
        // SAFETY: the closure returned normally, so it wrote `out`.
        Ok(()) => match unsafe { out.assume_init() } {
            Ok(v) => RResult::ROk(v),
            Err(e) => RResult::RErr(e),
        },
        Err(payload) => {
            let location = LAST_PANIC
                .with(|p| p.borrow_mut().take())
                .unwrap_or_default();
            RResult::RErr(PluginError::internal(format!(
                "panicked{location}: {}",
                panic_message(&*payload)
            )))
        }
    }
}

/// Exports a plugin: its name, version, estimators and models (`models:` may be left out when
/// the plugin has none). Expands to the root module that the host loads; every entry point
/// runs under [`guarded`].
///
/// ```text
/// lrdbench_plugin_api::export_plugin! {
///     name: "my_plugin",
///     version: env!("CARGO_PKG_VERSION"),
///     estimators: [MyEstimator],
///     models: [],
/// }
/// ```
#[macro_export]
macro_rules! export_plugin {
    (
        name: $name:expr,
        version: $version:expr,
        estimators: [$($est:expr),* $(,)?] $(,)?
    ) => {
        $crate::export_plugin! {
            name: $name,
            version: $version,
            estimators: [$($est),*],
            models: [],
        }
    };
    (
        name: $name:expr,
        version: $version:expr,
        estimators: [$($est:expr),* $(,)?],
        models: [$($model:expr),* $(,)?] $(,)?
    ) => {
        /// The plugin's components, built on first use.
        pub fn lrdbench_registry() -> &'static $crate::sdk::Registry {
            static REGISTRY: ::std::sync::OnceLock<$crate::sdk::Registry> = ::std::sync::OnceLock::new();
            REGISTRY.get_or_init(|| {
                $crate::sdk::Registry::new(
                    $name,
                    $version,
                    ::std::vec![$(::std::boxed::Box::new($est) as ::std::boxed::Box<dyn $crate::sdk::Estimator>),*],
                    ::std::vec![$(::std::boxed::Box::new($model) as ::std::boxed::Box<dyn $crate::sdk::Model>),*],
                )
            })
        }

        mod lrdbench_export {
            use $crate::abi_stable::std_types::{RResult, RSlice};
            use $crate::abi::{Estimate, Generated, Param, PluginDescriptor, PluginError};

            extern "C" fn describe() -> RResult<PluginDescriptor, PluginError> {
                super::lrdbench_registry().describe()
            }
            extern "C" fn estimate(c: u32, s: RSlice<'_, f64>, p: RSlice<'_, Param>) -> RResult<Estimate, PluginError> {
                super::lrdbench_registry().estimate(c, s, p)
            }
            extern "C" fn generate(c: u32, n: u64, seed: u64, p: RSlice<'_, Param>) -> RResult<Generated, PluginError> {
                super::lrdbench_registry().generate(c, n, seed, p)
            }

            fn lrdbench_root_module() -> $crate::abi::PluginModuleRef {
                use $crate::abi_stable::prefix_type::PrefixTypeTrait;
                $crate::abi::PluginModule { describe, estimate, generate }.leak_into_prefix()
            }

            extern "C" fn erased_root_module() -> $crate::abi_stable::library::RootModuleResult {
                $crate::abi_stable::library::__call_root_module_loader(lrdbench_root_module)
            }

            /// The library header abi_stable's loader looks for. This is what
            /// `#[abi_stable::export_root_module]` expands to, written out with `$crate` paths so
            /// that plugin crates need not depend on abi_stable themselves; the symbol name is
            /// checked against abi_stable's own constant by a test of the interface crate.
            #[export_name = "_1as_0lib_1header_0root_bmodule_bloader"]
            pub static LIB_HEADER: $crate::abi_stable::library::LibHeader = unsafe {
                $crate::abi_stable::library::LibHeader::from_constructor::<$crate::abi::PluginModuleRef>(
                    erased_root_module,
                    $crate::abi_stable::library::CheckTypeLayout::Yes,
                )
            };
        }
    };
}

/// The symbol [`export_plugin!`](crate::export_plugin) exports; must equal abi_stable's.
pub const ROOT_MODULE_SYMBOL: &str = "_1as_0lib_1header_0root_bmodule_bloader";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_module_symbol_matches_abi_stable() {
        assert_eq!(
            ROOT_MODULE_SYMBOL,
            abi_stable::library::ROOT_MODULE_LOADER_NAME
        );
    }

    #[test]
    fn well_known_estimands_are_borrowed_and_others_owned() {
        let e = Estimate::new(0.7, "H");
        assert!(matches!(e.estimand, RCowStr::Borrowed(_)));
        assert_eq!(e.estimand.as_str(), "H");
        let e = Estimate::new(0.7, &String::from("d"));
        assert!(matches!(e.estimand, RCowStr::Borrowed(_)));
        let e = Estimate::new(0.7, "gamma");
        assert!(matches!(e.estimand, RCowStr::Owned(_)));
        assert_eq!(e.estimand.as_str(), "gamma");
    }

    /// Echoes its resolved parameters as diagnostics, to compare the cached-defaults path with
    /// a full resolution.
    struct Echo;

    impl Estimator for Echo {
        fn describe(&self) -> ComponentDescriptor {
            component(ComponentKind::Estimator, "echo", Family::Other, "H")
                .param(param::int("order", 2, "an int").bounds(1.0, 3.0).build())
                .param(param::choice("ci", "a", &["a", "b"], "a choice").build())
                .build()
        }
        fn estimate(&self, _series: &[f64], params: &Params) -> Result<Estimate, PluginError> {
            Ok(Estimate::new(params.float("order"), "H").with_warning(params.str("ci")))
        }
    }

    struct Needs;

    impl Estimator for Needs {
        fn describe(&self) -> ComponentDescriptor {
            component(ComponentKind::Estimator, "needs", Family::Other, "H")
                .param(param::required("q", ParamKind::Float, "required").build())
                .build()
        }
        fn estimate(&self, _series: &[f64], params: &Params) -> Result<Estimate, PluginError> {
            Ok(Estimate::new(params.float("q"), "H"))
        }
    }

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Taper {
        Hann,
        Flat,
    }

    impl Choice for Taper {
        const CHOICES: &'static [(&'static str, Self)] =
            &[("hann", Taper::Hann), ("flat", Taper::Flat)];
    }

    /// Reports its typed choice as the estimate: 1 for `hann`, 2 for `flat`.
    struct Tapered;

    impl Estimator for Tapered {
        fn describe(&self) -> ComponentDescriptor {
            estimator("tapered", Family::Other, "H")
                .param(param::choice_of("taper", Taper::Flat, "a typed choice"))
                .build()
        }
        fn estimate(&self, _series: &[f64], params: &Params) -> Result<Estimate, PluginError> {
            let v = match params.choice::<Taper>("taper") {
                Taper::Hann => 1.0,
                Taper::Flat => 2.0,
            };
            Ok(Estimate::new(v, "H"))
        }
    }

    #[test]
    fn typed_choices_declare_their_names_and_read_back_as_values() {
        let d = Tapered.describe();
        assert_eq!(d.kind, ComponentKind::Estimator);
        let names: Vec<&str> = d.params[0].choices.iter().map(|c| c.as_str()).collect();
        assert_eq!(names, ["hann", "flat"]);
        let r = Registry::new("t", "0", vec![Box::new(Tapered)], vec![]);
        let x: &[f64] = &[1.0];
        let none: &[Param] = &[];
        assert_eq!(r.estimate(0, x.into(), none.into()).unwrap().value, 2.0);
        let hann = [Param {
            name: "taper".into(),
            value: ParamValue::Str("hann".into()),
        }];
        assert_eq!(
            r.estimate(0, x.into(), (&hann[..]).into()).unwrap().value,
            1.0
        );
        let bad = [Param {
            name: "taper".into(),
            value: ParamValue::Str("cosine".into()),
        }];
        let err = r.estimate(0, x.into(), (&bad[..]).into()).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Parameter);
        assert_eq!(
            model("m", Family::Other, "H").build().kind,
            ComponentKind::Model
        );
    }

    #[test]
    fn calls_without_parameters_use_the_defaults_and_still_check_required_ones() {
        let r = Registry::new("t", "0", vec![Box::new(Echo), Box::new(Needs)], vec![]);
        let none: &[Param] = &[];
        let e = r.estimate(0, (&[1.0][..]).into(), none.into()).unwrap();
        assert_eq!(e.value, 2.0);
        assert_eq!(e.warnings.as_slice(), &[RString::from("a")]);
        let given = [Param {
            name: "ci".into(),
            value: ParamValue::Str("b".into()),
        }];
        let e = r
            .estimate(0, (&[1.0][..]).into(), (&given[..]).into())
            .unwrap();
        assert_eq!((e.value, e.warnings[0].as_str()), (2.0, "b"));
        let err = r.estimate(1, (&[1.0][..]).into(), none.into()).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Parameter);
        assert!(err.message.contains("`q` is missing"), "{}", err.message);
    }

    #[test]
    fn guarded_turns_panic_into_internal_error_with_location() {
        let out: RResult<(), PluginError> = guarded(|| panic!("boom {}", 42));
        let e = out.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Internal);
        assert!(e.message.contains("boom 42"), "{}", e.message);
        assert!(e.message.contains("sdk.rs"), "{}", e.message);
    }
}
