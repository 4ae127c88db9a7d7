//! The standard temporal plugin of lrdbench.
#![deny(missing_docs)]

lrdbench_plugin_api::export_plugin! {
    name: "temporal",
    version: env!("CARGO_PKG_VERSION"),
    estimators: [],
    models: [],
}
