//! hotmetrics against peer crates, one operation, single thread (the
//! criterion form of the validation report's peer section):
//!
//! - `compare_counter/*`: `Counter::inc` and `LocalCounter::inc` against
//!   prometheus `IntCounter`, prometheus-client `Counter`, and a `metrics`
//!   counter over `metrics-util`'s `AtomicStorage`.
//! - `compare_histogram/*`: `Histogram::record` and `LocalHistogram::record`
//!   (`u64` nanoseconds, and `record_f64` of the same values in seconds, as
//!   the peers take them) against prometheus and prometheus-client
//!   histograms (default buckets), a `metrics` histogram over
//!   `AtomicStorage`, `hdrhistogram` behind a `Mutex`, the `Mutex<Vec<f64>>`
//!   design hotmetrics replaces, and the limit: a plain per-thread array of
//!   bucket counts plus a sum, with hotmetrics' index.
//!
//! `cargo bench -p hotmetrics-bench --bench compare` (about half a minute).

use criterion::{criterion_group, criterion_main, Criterion};
use hotmetrics::{Precision, Registry, Unit};
use hotmetrics_bench::workload::value_of;
use std::hint::black_box;
use std::sync::Mutex;
use std::time::Duration;

/// Values spread over many buckets, 1 µs to ~1 ms, as latencies are.
fn values() -> impl FnMut() -> u64 {
    let values: Vec<u64> = (0..1024u64).map(value_of).collect();
    let mut i = 0usize;
    move || {
        i = (i + 1) & 1023;
        values[i]
    }
}

/// Values past this many are dropped, as a periodic drain would.
const DRAIN_EVERY: usize = 1 << 20;

fn counters(c: &mut Criterion) {
    let reg = Registry::new();
    let counter = reg.counter("bench_counter", "Counter cost").unwrap();
    let local = counter.local();
    let prom = prometheus::IntCounter::new("bench_counter", "Counter cost").unwrap();
    let pc: prometheus_client::metrics::counter::Counter = Default::default();
    let mreg = metrics_util::registry::Registry::atomic();
    let m = metrics::Counter::from_arc(
        mreg.get_or_create_counter(&metrics::Key::from_name("bench_counter"), |a| a.clone()),
    );

    let mut g = c.benchmark_group("compare_counter");
    g.bench_function("hotmetrics_shared", |b| {
        b.iter(|| black_box(&counter).inc())
    });
    g.bench_function("hotmetrics_local", |b| b.iter(|| black_box(&local).inc()));
    g.bench_function("prometheus", |b| b.iter(|| black_box(&prom).inc()));
    g.bench_function("prometheus_client", |b| {
        b.iter(|| {
            black_box(&pc).inc();
        })
    });
    g.bench_function("metrics_atomic_storage", |b| {
        b.iter(|| black_box(&m).increment(1))
    });
    g.finish();
}

fn histograms(c: &mut Criterion) {
    let reg = Registry::new();
    let h = reg
        .histogram("bench_histogram", "Histogram cost", Unit::Nanoseconds)
        .unwrap();
    let local = h.local();
    let secs = reg
        .histogram("bench_histogram_f64", "Histogram cost", Unit::Seconds)
        .unwrap();
    let secs_local = secs.local();
    let mut plain = vec![0u64; Precision::DEFAULT.bucket_count()];
    let mut plain_sum = 0u64;
    let prom = prometheus::Histogram::with_opts(prometheus::HistogramOpts::new(
        "bench_histogram",
        "Histogram cost",
    ))
    .unwrap();
    let pc = prometheus_client::metrics::histogram::Histogram::new(
        prometheus::DEFAULT_BUCKETS.iter().copied(),
    );
    let mreg = metrics_util::registry::Registry::atomic();
    let bucket =
        mreg.get_or_create_histogram(&metrics::Key::from_name("bench_histogram"), |a| a.clone());
    let m = metrics::Histogram::from_arc(bucket.clone());
    let hdr =
        Mutex::new(hdrhistogram::Histogram::<u64>::new_with_max(3_600_000_000_000, 3).unwrap());
    let vec: Mutex<Vec<f64>> = Mutex::new(Vec::new());

    let mut g = c.benchmark_group("compare_histogram");
    let mut next = values();
    g.bench_function("hotmetrics_shared", |b| {
        b.iter(|| h.record(black_box(next())))
    });
    g.bench_function("hotmetrics_local", |b| {
        b.iter(|| local.record(black_box(next())))
    });
    g.bench_function("hotmetrics_shared_f64", |b| {
        b.iter(|| secs.record_f64(black_box(next()) as f64 * 1e-9))
    });
    g.bench_function("hotmetrics_local_f64", |b| {
        b.iter(|| secs_local.record_f64(black_box(next()) as f64 * 1e-9))
    });
    g.bench_function("limit_plain_array", |b| {
        b.iter(|| {
            let v = black_box(next());
            plain[Precision::DEFAULT.index(v)] += 1;
            plain_sum = plain_sum.wrapping_add(v);
            // Keep the stores in the loop, as the atomic cases have them.
            black_box(&mut plain);
        })
    });
    g.bench_function("prometheus", |b| {
        b.iter(|| prom.observe(black_box(next()) as f64 * 1e-9))
    });
    g.bench_function("prometheus_client", |b| {
        b.iter(|| pc.observe(black_box(next()) as f64 * 1e-9))
    });
    let mut n = 0usize;
    g.bench_function("metrics_atomic_storage", |b| {
        b.iter(|| {
            n += 1;
            if n % DRAIN_EVERY == 0 {
                bucket.clear();
            }
            m.record(black_box(next()) as f64 * 1e-9)
        })
    });
    g.bench_function("hdrhistogram_mutex", |b| {
        b.iter(|| hdr.lock().unwrap().saturating_record(black_box(next())))
    });
    g.bench_function("mutex_vec_f64", |b| {
        b.iter(|| {
            let v = black_box(next()) as f64 * 1e-9;
            let mut g = vec.lock().unwrap();
            if g.len() >= DRAIN_EVERY {
                g.clear();
            }
            g.push(v);
        })
    });
    g.finish();
    black_box(plain_sum);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    targets = counters, histograms
}
criterion_main!(benches);
