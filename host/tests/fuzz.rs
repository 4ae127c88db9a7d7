//! Short fuzz runs (proptest) of the parsers that read untrusted text: the workflow TOML loader
//! and the CSV / plain-number reader. Arbitrary input may be rejected, but never panics. (The
//! worker frame decoder has its own fuzz test in `isolate::protocol`.)

use std::path::Path;

use lrdbench_host::data::{parse_series, ColumnSelector};
use lrdbench_host::plugin::Catalog;
use lrdbench_host::workflow::{plan, spec};
use proptest::prelude::*;

const PIPELINE: &str = include_str!("../../workflows/pipeline.toml");
const STRESS: &str = include_str!("../../workflows/stress.toml");

/// Applies byte-level edits (replace, insert, delete) to a valid file, so the fuzzer explores
/// inputs close to real workflows as well as random text.
fn mutate(base: &str, edits: &[(usize, u8, u8)]) -> String {
    let mut bytes = base.as_bytes().to_vec();
    for &(pos, op, byte) in edits {
        if bytes.is_empty() {
            break;
        }
        let i = pos % bytes.len();
        match op % 3 {
            0 => bytes[i] = byte,
            1 => bytes.insert(i, byte),
            _ => {
                bytes.remove(i);
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn check_workflow_text(text: &str) {
    let _ = spec::parse(Path::new("fuzz.toml"), text);
    // Planning against an empty catalog exercises every later check without plugins.
    let dir = std::env::temp_dir().join(format!("lrdbench-fuzz-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("w.toml");
    if std::fs::write(&path, text).is_ok() {
        let catalog = Catalog::default();
        let _ = plan::load(&path, &catalog);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn workflow_loader_never_panics_on_random_text(text in ".{0,400}") {
        check_workflow_text(&text);
    }

    #[test]
    fn workflow_loader_never_panics_on_mutated_workflows(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..12),
        which in any::<bool>(),
    ) {
        check_workflow_text(&mutate(if which { PIPELINE } else { STRESS }, &edits));
    }

    #[test]
    fn series_reader_never_panics(text in "[0-9a-z,;\t .eE+\\-\n\"]{0,300}", column in proptest::option::of(0usize..4)) {
        let selector = column.map(ColumnSelector::Index);
        let _ = parse_series(&text, selector.as_ref(), "fuzz");
        let _ = parse_series(&text, Some(&ColumnSelector::Name("value".into())), "fuzz");
    }

    #[test]
    fn series_reader_reads_what_it_wrote(values in proptest::collection::vec(-1e300f64..1e300, 1..50)) {
        let text = std::iter::once("value".to_string()).chain(values.iter().map(|v| format!("{v:?}"))).collect::<Vec<_>>().join("\n");
        let read = parse_series(&text, None, "fuzz").unwrap();
        prop_assert_eq!(read, values);
    }
}
