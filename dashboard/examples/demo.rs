//! Writes every report of a synthetic period (four estimators, one of them quadratic, one
//! slowing down, one failing on short series; workflow runs) into the directory given as the
//! first argument: `cargo run -p lrdbench-dashboard --example demo -- /tmp/demo`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use lrdbench_analytics::event::{
    CallEvent, ErrorInfo, EventType, Performance, StepEvent, StepType,
};
use lrdbench_dashboard::{Dashboard, ReportFormat, ReportKind};

const DAY_US: i64 = 86_400_000_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "lrdbench-demo".into()),
    );
    let now = 20_400 * DAY_US;
    let mut calls = Vec::new();
    let mut steps = Vec::new();
    for i in 0..4000u64 {
        let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let n = 128u64 << (h % 8);
        let (name, exp) =
            [("dfa", 1.0), ("rs", 1.05), ("mfdfa", 2.0), ("whittle", 1.1)][(h >> 8) as usize % 4];
        let day = (i % 20) as i64;
        let slow = if name == "rs" && day >= 10 { 1.4 } else { 1.0 };
        let jitter = 1.0 + ((h >> 20) % 100) as f64 / 200.0;
        let fail = name == "whittle" && n < 512 && (h >> 30) % 3 == 0;
        let mut parameters = BTreeMap::new();
        parameters.insert("min_scale".to_string(), format!("{}", 8 << ((h >> 40) % 3)));
        calls.push(CallEvent {
            id: i,
            timestamp_us: now - (20 - day) * DAY_US + i as i64,
            event_type: EventType::EstimatorUsage,
            component: name.into(),
            plugin: None,
            parameters,
            data_length: n,
            success: !fail,
            user_id: format!("u{}", i % 3),
            session_id: format!("s{}", i / 200),
            run_id: Some(format!("run{}", i / 40)),
            workflow: Some("sweep".into()),
            cell: Some(format!("c{}", i / 4)),
            truth_h: Some(0.2 + ((h >> 50) % 8) as f64 / 10.0),
            performance: Some(Performance {
                wall_ns: (20.0 * (n as f64).powf(exp) * jitter * slow) as u64,
                cpu_thread_ns: 0,
                cpu_process_ns: 0,
                cpu_percent: 95.0 + (h % 10) as f64,
                rss_before: 0,
                rss_after: 0,
                heap_peak: 16 * n,
            }),
            error: fail.then(|| ErrorInfo {
                kind: "insufficient_data".into(),
                message: "series too short".into(),
                location: None,
                backtrace: None,
            }),
            machine: None,
        });
    }
    for r in 0..100u64 {
        for (seq, (t, c)) in [
            (StepType::Generate, "fgn"),
            (StepType::Estimate, "dfa"),
            (StepType::Estimate, "rs"),
            (StepType::Estimate, "mfdfa"),
            (StepType::Report, "markdown"),
        ]
        .into_iter()
        .enumerate()
        {
            steps.push(StepEvent {
                id: r * 10 + seq as u64,
                timestamp_us: now - DAY_US + (r * 10 + seq as u64) as i64 * 1000,
                run_id: format!("run{r}"),
                workflow: "sweep".into(),
                seq: seq as u64,
                step_type: t,
                component: c.into(),
                cell: Some(format!("c{r}")),
                duration_ns: if c == "mfdfa" { 9_000_000 } else { 1_000_000 },
                success: true,
                user_id: "u0".into(),
                session_id: "s0".into(),
            });
        }
    }
    let mut kinds = ReportKind::DETAILED.to_vec();
    kinds.push(ReportKind::Comprehensive);
    let written = Dashboard::from_events(calls, steps).at(now).write_reports(
        30,
        &kinds,
        &out,
        &ReportFormat::ALL,
    )?;
    for f in written.files {
        println!("{}", f.display());
    }
    Ok(())
}
