//! End-to-end tests: they drive the built `lrdbench-host` binary and load the real plugin
//! libraries. One module per topic.

#[path = "../support/mod.rs"]
mod support;

mod analytics;
mod cli;
mod compare;
mod damage;
mod generate;
mod honesty;
mod hostile;
mod isolation;
mod plugins;
mod process_plugins;
mod report;
mod screenshots;
mod shard;
mod store_accidents;
mod trust;
mod workflow;
