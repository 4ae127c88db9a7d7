//! The standard geometric plugin of lrdbench.
#![deny(missing_docs)]

lrdbench_plugin_api::export_plugin! {
    name: "geometric",
    version: env!("CARGO_PKG_VERSION"),
    estimators: [],
    models: [],
}
