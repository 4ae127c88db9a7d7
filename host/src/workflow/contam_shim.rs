//! Temporary stand-in until the contamination catalog lands.
use lrdbench_plugin_api::{Param, ParamSpec};

pub fn schema(_name: &str) -> Option<Vec<ParamSpec>> {
    None
}
pub fn names() -> Vec<String> {
    Vec::new()
}
pub fn apply(_name: &str, _p: &[Param], _v: &mut [f64], _seed: u64) -> Result<(), String> {
    Err("no contaminations".into())
}
