//! The standard spectral plugin of lrdbench.
#![deny(missing_docs)]

lrdbench_plugin_api::export_plugin! {
    name: "spectral",
    version: env!("CARGO_PKG_VERSION"),
    estimators: [],
    models: [],
}
