//! Every chart page, rendered by a real browser: `.ci/screenshots` runs a sweep-like workflow,
//! `stress`, `data` and the no-truth `own-data` workflow, writes every dashboard report, and
//! has headless Chromium screenshot each page (its top, and all its charts stacked) into
//! `target/screenshots/`, the artefact to look at. This test fails — it does not skip — when
//! Chromium is missing and cannot be installed (`.ci/install-chromium`, run by the script when
//! Chromium is missing, installs it as root) or any PNG is blank.

use std::path::Path;
use std::process::Command;

use crate::support::{host_binary, profile_dir, workspace_root};

/// The pages, by file stem; each has `STEM.png` and `STEM.charts.png`.
const PAGES: [&str; 10] = [
    "run-sweep-small",
    "run-stress",
    "run-data",
    "run-own-data",
    "dashboard-usage_report",
    "dashboard-performance_report",
    "dashboard-reliability_report",
    "dashboard-workflow_report",
    "dashboard-comprehensive_report",
    "dashboard-dashboard",
];

/// The share of pixels that are not near-white, and the number of distinct colours.
fn ink(png_path: &Path) -> (f64, usize) {
    let file = std::fs::File::open(png_path).unwrap();
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    assert!(
        channels >= 3,
        "{}: {:?}",
        png_path.display(),
        info.color_type
    );
    let pixels = &buf[..info.buffer_size()];
    let mut colours = std::collections::HashSet::new();
    let (mut total, mut inked) = (0usize, 0usize);
    for px in pixels.chunks_exact(channels) {
        total += 1;
        if u32::from(px[0]) + u32::from(px[1]) + u32::from(px[2]) < 3 * 240 {
            inked += 1;
        }
        if colours.len() < 64 {
            colours.insert((px[0], px[1], px[2]));
        }
    }
    (inked as f64 / total.max(1) as f64, colours.len())
}

#[test]
fn every_chart_page_renders_in_chromium_and_is_not_blank() {
    let out = profile_dir().parent().unwrap().join("screenshots");
    let script = workspace_root().join(".ci/screenshots");
    let o = Command::new("bash")
        .arg(&script)
        .arg(host_binary())
        .arg(&out)
        .output()
        .expect("bash runs");
    assert!(
        o.status.success(),
        ".ci/screenshots failed (Chromium missing? run .ci/install-chromium as root):\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for page in PAGES {
        // The comprehensive report is text and tables only: it has no chart image.
        let shots: &[(&str, f64)] = if page == "dashboard-comprehensive_report" {
            &[("", 0.005)]
        } else {
            &[("", 0.005), (".charts", 0.01)]
        };
        for &(suffix, min_ink) in shots {
            let p = out.join(format!("{page}{suffix}.png"));
            assert!(p.is_file(), "{} is missing", p.display());
            let (share, colours) = ink(&p);
            eprintln!(
                "{}: {:.1}% inked, {colours} colours",
                p.display(),
                100.0 * share
            );
            assert!(
                share >= min_ink && colours >= 3,
                "{} looks blank: {:.2}% inked, {colours} colours",
                p.display(),
                100.0 * share
            );
        }
    }
}
