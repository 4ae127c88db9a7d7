//! The cost of the analytics dashboard: `report all` (every report, every format, with charts)
//! over a store of 1,000,000 events — 900,000 calls and 100,000 workflow steps over 20 days —
//! read from redb and the journals, computed and written. The target is under 2 s. Also its
//! two parts alone: reading the period into the reports' columns, and computing every report
//! over them in memory; and, as the same-run baseline for the read, reading the same events
//! as `CallEvent`s (the export path, and the report path before the columnar table).

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use lrdbench_analytics::event::{
    CallEvent, ErrorInfo, Event, EventType, Performance, StepEvent, StepType,
};
use lrdbench_analytics::{Recorder, RecorderOptions};
use lrdbench_dashboard::{Dashboard, ReportFormat, ReportKind, Reports};

// As in the host: jemalloc is the process's malloc.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const CALLS: u64 = 900_000;
const STEPS: u64 = 100_000;
const DAY_US: i64 = 86_400_000_000;
const ESTIMATORS: [&str; 12] = [
    "dfa",
    "rs",
    "higuchi",
    "dma",
    "periodogram",
    "whittle",
    "gph",
    "cwt",
    "wavelet_var",
    "wavelet_whittle",
    "mfdfa",
    "mse",
];
const KINDS: [&str; 4] = [
    "insufficient_data",
    "numerical",
    "non_convergence",
    "parameter",
];

/// A deterministic mix: 12 estimators, lengths 2^8..2^16, 7% failures of four kinds, three
/// parameters, 200 sessions, 5 users, times spread over 20 days before `now`.
fn call(i: u64, now: i64) -> CallEvent {
    let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let n = 256u64 << (h % 9);
    let est = ESTIMATORS[(h >> 8) as usize % ESTIMATORS.len()];
    let fail = (h >> 16) % 100 < 7;
    let mut parameters = BTreeMap::new();
    parameters.insert("min_scale".to_string(), format!("{}", 8 << ((h >> 20) % 3)));
    parameters.insert("order".to_string(), format!("{}", 1 + (h >> 24) % 2));
    parameters.insert("fit".to_string(), "ols".to_string());
    let wall = (n as f64 * (50.0 + (h >> 28) as f64 % 50.0)) as u64;
    CallEvent {
        id: 0,
        timestamp_us: now - 20 * DAY_US + (i as i64 * (20 * DAY_US / CALLS as i64)),
        event_type: EventType::EstimatorUsage,
        component: est.to_string(),
        plugin: None,
        parameters,
        data_length: n,
        success: !fail,
        user_id: format!("user{}", (h >> 32) % 5),
        session_id: format!("session{}", i / (CALLS / 200)),
        run_id: Some(format!("run{}", i / 90)),
        workflow: Some("sweep".into()),
        cell: Some(format!("cell{}", i / 9)),
        truth_h: Some(0.1 + ((h >> 36) % 9) as f64 / 10.0),
        performance: Some(Performance {
            wall_ns: wall,
            cpu_thread_ns: wall,
            cpu_process_ns: wall,
            cpu_percent: 99.0,
            rss_before: 50 << 20,
            rss_after: 50 << 20,
            heap_peak: 24 * n,
        }),
        error: fail.then(|| ErrorInfo {
            kind: KINDS[(h >> 40) as usize % KINDS.len()].to_string(),
            message: "series too short for the scales".into(),
            location: None,
            backtrace: None,
        }),
        machine: None,
    }
}

fn step(i: u64, now: i64) -> StepEvent {
    let run = i / 10;
    let seq = i % 10;
    StepEvent {
        id: 0,
        timestamp_us: now - 20 * DAY_US + (i as i64 * (20 * DAY_US / STEPS as i64)),
        run_id: format!("run{run}"),
        workflow: "sweep".into(),
        seq,
        step_type: match seq {
            0 => StepType::Generate,
            9 => StepType::Report,
            _ => StepType::Estimate,
        },
        component: ESTIMATORS[seq as usize].to_string(),
        cell: Some(format!("cell{run}")),
        duration_ns: 1_000_000 + seq * 1000,
        success: true,
        user_id: "user0".into(),
        session_id: format!("session{}", run / 50),
    }
}

fn report_all(c: &mut Criterion) {
    let now = lrdbench_analytics::now_us();
    let store = tempfile::tempdir().expect("tempdir");
    {
        let (rec, _) =
            Recorder::open(store.path(), &RecorderOptions::default()).expect("recorder opens");
        for i in 0..CALLS {
            rec.record(Event::Call(call(i, now))).expect("recorded");
        }
        for i in 0..STEPS {
            rec.record(Event::Step(step(i, now))).expect("recorded");
        }
        rec.close();
    }
    let out = tempfile::tempdir().expect("tempdir");
    let mut kinds = ReportKind::DETAILED.to_vec();
    kinds.push(ReportKind::Comprehensive);
    let dashboard = Dashboard::open(store.path());
    let w = dashboard.window(30).expect("store reads");
    assert_eq!(w.calls.len() as u64 + w.steps.len() as u64, CALLS + STEPS);
    let mut group = c.benchmark_group("report");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("all_from_store_1M_events", |b| {
        b.iter(|| {
            dashboard
                .write_reports(30, &kinds, out.path(), &ReportFormat::ALL)
                .expect("written")
        })
    });
    group.bench_function("compute_in_memory_1M_events", |b| {
        b.iter(|| {
            black_box(Reports::compute_table(
                &w.calls, &w.steps, w.period, w.now_us,
            ))
        })
    });
    group.bench_function("read_store_1M_events", |b| {
        b.iter(|| black_box(dashboard.window(30).expect("store reads").calls.len()))
    });
    let since = w.period.since_us;
    group.bench_function("baseline_read_as_call_events_1M_events", |b| {
        b.iter(|| {
            black_box(
                lrdbench_analytics::read_events(store.path(), since)
                    .expect("store reads")
                    .calls
                    .len(),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, report_all);
criterion_main!(benches);
