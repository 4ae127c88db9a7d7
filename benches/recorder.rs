//! The cost of recording: per wrapped in-process plugin call (recorded against unrecorded, the
//! budget is 5 µs at the median), its parts (measurement, journal append), sustained ingest
//! into redb (the target is at least 200,000 events/s) and its commit side alone (what the
//! recorder thread does per event), and the bytes per event on disk (printed once).
//!
//! Needs the fault plugin of the bench profile: `cargo build --release --workspace` first.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lrdbench_analytics::event::{CallEvent, Event, EventType, Performance, PluginRef};
use lrdbench_analytics::measure::Probe;
use lrdbench_analytics::recorder::MAX_BATCH;
use lrdbench_analytics::store::Store;
use lrdbench_analytics::{Analytics, Recorder, RecorderOptions, StorePaths};
use lrdbench_host::invoke::{CallContext, Invoker};
use lrdbench_host::plugin::{load_plugin, Catalog};
use lrdbench_plugin_api::ComponentKind;

// As in the host: jemalloc is the process's malloc, so the heap-peak probe does real work.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const OPTIONS: RecorderOptions = RecorderOptions { retention_days: 90 };

/// A call event shaped like the host's: plugin, three parameters, workflow context, metrics.
fn sample_event(i: u64) -> Event {
    let mut parameters = BTreeMap::new();
    parameters.insert("min_scale".to_string(), "16".to_string());
    parameters.insert("max_scale".to_string(), "1024".to_string());
    parameters.insert("order".to_string(), "1".to_string());
    Event::Call(CallEvent {
        id: 0,
        timestamp_us: lrdbench_analytics::now_us(),
        event_type: EventType::EstimatorUsage,
        component: "dfa".into(),
        plugin: Some(PluginRef {
            name: "temporal".into(),
            version: "0.1.0".into(),
            sha256: "5f".repeat(32),
        }),
        parameters,
        data_length: 4096,
        success: i % 10 != 0,
        user_id: "3a".repeat(32),
        session_id: "0123456789abcdef".into(),
        run_id: Some("0123456789abcdef-01234567".into()),
        workflow: Some("benchmark".into()),
        cell: Some(format!("cell-{}", i % 500)),
        truth_h: Some(0.7),
        performance: Some(Performance {
            wall_ns: 1_234_567,
            cpu_thread_ns: 1_200_000,
            cpu_process_ns: 1_250_000,
            cpu_percent: 99.5,
            rss_before: 50 << 20,
            rss_after: 51 << 20,
            heap_peak: 200_000,
        }),
        error: None,
    })
}

fn per_call(c: &mut Criterion) {
    let plugin =
        load_plugin(&support::library("lrdbench_fault_plugin")).expect("fault plugin loads");
    let mut catalog = Catalog::default();
    catalog.add(plugin);
    let handle = catalog
        .components()
        .find(|h| h.name() == "fault_trivial" && h.descriptor.kind == ComponentKind::Estimator)
        .expect("fault_trivial exists");
    let resolved = handle.resolve(&[]).expect("no parameters");
    let series: Vec<f64> = (0..4096).map(f64::from).collect();
    let ctx = CallContext {
        run_id: Some("run".into()),
        workflow: Some("bench".into()),
        cell: Some("cell".into()),
        truth_h: Some(0.7),
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let analytics = Analytics::open(dir.path()).expect("analytics opens");
    let plain = Invoker::unrecorded();
    let recorded = Invoker::recording(analytics.clone());

    let mut group = c.benchmark_group("recorder_per_call");
    group.bench_function("unrecorded", |b| {
        b.iter(|| {
            plain
                .estimate(&handle, black_box(&series), &resolved, &ctx)
                .expect("ok")
                .value
        })
    });
    group.bench_function("recorded", |b| {
        b.iter(|| {
            recorded
                .estimate(&handle, black_box(&series), &resolved, &ctx)
                .expect("ok")
                .value
        })
    });
    group.bench_function("probe_only", |b| {
        b.iter(|| black_box(Probe::start()).finish())
    });
    group.finish();
    analytics.close();
}

fn ingest(c: &mut Criterion) {
    let mut group = c.benchmark_group("recorder_ingest");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(8));
    // record() alone: encode + journal write + hand-off, what a call waits for.
    let dir = tempfile::tempdir().expect("tempdir");
    let (rec, _) = Recorder::open(dir.path(), &OPTIONS).expect("recorder opens");
    group.bench_function("record_call", |b| {
        let mut i = 0u64;
        b.iter(|| {
            i += 1;
            rec.record(sample_event(i)).expect("recorded")
        })
    });
    rec.close();
    // Sustained: record a batch and wait until redb has committed all of it.
    let dir = tempfile::tempdir().expect("tempdir");
    let (rec, _) = Recorder::open(dir.path(), &OPTIONS).expect("recorder opens");
    group.bench_function("sustained_to_redb", |b| {
        b.iter_custom(|iters| {
            let t0 = Instant::now();
            for i in 0..iters {
                rec.record(sample_event(i)).expect("recorded");
            }
            rec.flush();
            t0.elapsed()
        })
    });
    rec.close();
    // The commit side alone (the recorder thread's work): file already encoded records into
    // redb in batches of `MAX_BATCH`, one transaction each, as the recorder thread does.
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&StorePaths::new(dir.path()).dir).expect("store opens");
    let mut next_id = 1u64 << 40;
    group.bench_function("commit_side_to_redb", |b| {
        b.iter_custom(|iters| {
            let records: Vec<Vec<u8>> = (0..iters)
                .map(|i| {
                    let mut e = sample_event(i);
                    if let Event::Call(c) = &mut e {
                        c.id = next_id;
                    }
                    next_id += 1;
                    let mut buf = Vec::new();
                    lrdbench_analytics::codec::encode(&e, &mut buf);
                    buf
                })
                .collect();
            let t0 = Instant::now();
            for chunk in records.chunks(MAX_BATCH) {
                store.ingest(chunk, None).expect("stored");
            }
            t0.elapsed()
        })
    });
    group.finish();
}

/// Not a timing: the store's size per event after 200,000 realistic events, printed once.
fn bytes_per_event(_: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (rec, _) = Recorder::open(dir.path(), &OPTIONS).expect("recorder opens");
    const N: u64 = 200_000;
    let t0 = Instant::now();
    for i in 0..N {
        rec.record(sample_event(i)).expect("recorded");
    }
    rec.close();
    let elapsed = t0.elapsed();
    let file = dir.path().join("analytics").join("analytics.redb");
    let size = std::fs::metadata(&file).expect("store exists").len();
    let mut one = Vec::new();
    lrdbench_analytics::codec::encode(&sample_event(1), &mut one);
    let json = serde_json::to_vec(&sample_event(1)).expect("json").len();
    eprintln!(
        "recorder_bytes_per_event: {N} events, store {size} bytes = {:.0} bytes/event on disk \
         (record {} bytes encoded, {json} as JSON); record+commit of all {N}: {:.0} events/s",
        size as f64 / N as f64,
        one.len(),
        N as f64 / elapsed.as_secs_f64()
    );
}

criterion_group!(benches, per_call, ingest, bytes_per_event);
criterion_main!(benches);
