//! The cost of recording: per wrapped in-process plugin call (recorded against unrecorded, the
//! budget is 5 µs at the median), the probe and the recording step apart, each piece of them
//! on its own (`recorder_parts`: clocks, RSS, heap peak, sanitizing, encoding, CRC, the
//! journal write), sustained ingest into redb (the target is at least 200,000 events/s) and
//! its commit side alone (what the recorder thread does per event), and the bytes per event
//! on disk (printed once).
//!
//! Needs the fault plugin of the bench profile: `cargo build --release --workspace` first.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lrdbench_analytics::event::{CallEvent, Event, EventType, Performance, PluginRef};
use lrdbench_analytics::measure::{self, Probe};
use lrdbench_analytics::store::Store;
use lrdbench_analytics::testing::JournalWriter;
use lrdbench_analytics::testing::MAX_BATCH;
use lrdbench_analytics::{
    sanitize_parameter, Analytics, ParamView, Recorder, RecorderOptions, StorePaths,
};
use lrdbench_host::invoke::{CallContext, Invoker, Measured};
use lrdbench_host::plugin::{load_plugin, Catalog};
use lrdbench_plugin_api::{ComponentKind, Param, ParamValue};

// As in the host: jemalloc is the process's malloc, so the heap-peak probe does real work.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const OPTIONS: RecorderOptions = RecorderOptions {
    retention_days: 90,
    max_pending: lrdbench_analytics::DEFAULT_MAX_PENDING,
};

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
        success: !i.is_multiple_of(10),
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
        machine: None,
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
    group.finish();
    // The same two calls timed by the calling thread's CPU clock instead of the wall clock.
    // On a shared machine the wall time of a recorded call also holds the time this thread
    // waits for a core while the recorder thread (or anything else) uses it; the thread's
    // own CPU time is what recording costs the caller, and on a quiet machine it equals the
    // wall time. Both are reported, neither replaces the other.
    let mut group = c.benchmark_group("recorder_per_call_thread_cpu");
    let thread_cpu = || measure::cpu_ns(libc::CLOCK_THREAD_CPUTIME_ID);
    for (name, invoker) in [("unrecorded", &plain), ("recorded", &recorded)] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let t0 = thread_cpu();
                for _ in 0..iters {
                    black_box(invoker.estimate(&handle, black_box(&series), &resolved, &ctx)).ok();
                }
                Duration::from_nanos(thread_cpu() - t0)
            })
        });
    }
    group.finish();
    let mut group = c.benchmark_group("recorder_per_call");
    group.bench_function("probe_only", |b| {
        b.iter(|| black_box(Probe::start()).finish())
    });
    // What recording adds after the probe: sanitize, build and record the event.
    let measured = |perf| Measured {
        event_type: EventType::EstimatorUsage,
        started_us: lrdbench_analytics::now_us(),
        data_length: 4096,
        performance: Some(perf),
        error: None,
    };
    let perf = Probe::start().finish();
    group.bench_function("record_only", |b| {
        b.iter(|| recorded.record(&handle, &resolved, &ctx, measured(perf)))
    });
    // The same with a typical parameter set (sanitized once, then copied from the memo).
    let three = [
        Param {
            name: "min_scale".into(),
            value: ParamValue::Int(16),
        },
        Param {
            name: "max_scale".into(),
            value: ParamValue::Int(1024),
        },
        Param {
            name: "detrend".into(),
            value: ParamValue::Str("linear".into()),
        },
    ];
    group.bench_function("record_only_3_params", |b| {
        b.iter(|| recorded.record(&handle, &three, &ctx, measured(perf)))
    });
    group.finish();
    analytics.close();
}

/// Each piece of a recorded call on its own, to find where the time goes.
fn parts(c: &mut Criterion) {
    let mut group = c.benchmark_group("recorder_parts");
    group.bench_function("clock_monotonic_instant", |b| b.iter(Instant::now));
    group.bench_function("clock_realtime_now_us", |b| {
        b.iter(lrdbench_analytics::now_us)
    });
    group.bench_function("clock_thread_cputime", |b| {
        b.iter(|| measure::cpu_ns(libc::CLOCK_THREAD_CPUTIME_ID))
    });
    group.bench_function("clock_process_cputime", |b| {
        b.iter(|| measure::cpu_ns(libc::CLOCK_PROCESS_CPUTIME_ID))
    });
    group.bench_function("rss_statm_pread", |b| b.iter(measure::rss_bytes));
    group.bench_function("rss_sampled", |b| {
        b.iter(|| measure::rss_sampled(Instant::now()))
    });
    group.bench_function("heap_peak_reset", |b| b.iter(measure::reset_heap_peak));
    group.bench_function("heap_peak_read", |b| b.iter(measure::read_heap_peak));

    let ev = sample_event(1);
    group.bench_function("encode", |b| {
        let mut buf = Vec::with_capacity(512);
        b.iter(|| {
            buf.clear();
            lrdbench_analytics::testing::encode(black_box(&ev), &mut buf);
            buf.len()
        })
    });
    let mut bytes = Vec::new();
    lrdbench_analytics::testing::encode(&ev, &mut bytes);
    group.bench_function("crc32", |b| {
        b.iter(|| lrdbench_analytics::testing::crc32(black_box(&bytes)))
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let mut journal = JournalWriter::create(dir.path(), "bench").expect("journal");
    group.bench_function("journal_append", |b| {
        b.iter(|| journal.append(black_box(&bytes)).expect("written"))
    });
    drop(journal);
    group.bench_function("sanitize_3_params", |b| {
        b.iter(|| {
            [
                ("min_scale", ParamView::Int(16)),
                ("max_scale", ParamView::Int(1024)),
                ("detrend", ParamView::Text("linear")),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), sanitize_parameter(k, *v, true)))
            .collect::<BTreeMap<_, _>>()
        })
    });
    group.bench_function("build_event", |b| b.iter(|| sample_event(black_box(1))));
    group.bench_function("clone_event", |b| b.iter(|| black_box(&ev).clone()));
    // Recorder::record of a ready event (its clone included): id, encode, journal append,
    // and the hand-off to the recorder thread, which wakes for each event.
    let dir = tempfile::tempdir().expect("tempdir");
    let (rec, _) = Recorder::open(dir.path(), &OPTIONS).expect("recorder opens");
    group.bench_function("recorder_record", |b| {
        b.iter(|| rec.record(ev.clone()).expect("recorded"))
    });
    rec.close();
    group.finish();
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
                    lrdbench_analytics::testing::encode(&e, &mut buf);
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
    lrdbench_analytics::testing::encode(&sample_event(1), &mut one);
    let json = serde_json::to_vec(&sample_event(1)).expect("json").len();
    eprintln!(
        "recorder_bytes_per_event: {N} events, store {size} bytes = {:.0} bytes/event on disk \
         (record {} bytes encoded, {json} as JSON); record+commit of all {N}: {:.0} events/s",
        size as f64 / N as f64,
        one.len(),
        N as f64 / elapsed.as_secs_f64()
    );
}

criterion_group!(benches, per_call, parts, ingest, bytes_per_event);
criterion_main!(benches);
