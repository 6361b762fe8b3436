//! One record, single-threaded, against the obvious alternatives:
//!
//! - `counter/*`: `Counter::inc` and `LocalCounter::inc` against a relaxed
//!   `AtomicU64::fetch_add` (a `lock`-prefixed instruction on x86) and a
//!   `Mutex<u64>`.
//! - `histogram/*`: `Histogram::record` and `LocalHistogram::record`
//!   against a `Mutex<Vec<u64>>` of buckets.
//!
//! `cargo bench --bench core` (about half a minute).

use criterion::{criterion_group, criterion_main, Criterion};
use hotmetrics::{Registry, Unit};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

fn counters(c: &mut Criterion) {
    let reg = Registry::new();
    let counter = reg.counter("bench_counter", "Counter cost").unwrap();
    let atomic = AtomicU64::new(0);
    let mutex = Mutex::new(0u64);
    let mut g = c.benchmark_group("counter");
    g.bench_function("inc", |b| b.iter(|| black_box(&counter).inc()));
    let local = counter.local();
    g.bench_function("local_inc", |b| b.iter(|| black_box(&local).inc()));
    g.bench_function("atomic_fetch_add", |b| {
        b.iter(|| black_box(&atomic).fetch_add(1, Ordering::Relaxed))
    });
    g.bench_function("mutex", |b| {
        b.iter(|| *black_box(&mutex).lock().unwrap() += 1)
    });
    g.finish();
}

fn histograms(c: &mut Criterion) {
    let reg = Registry::new();
    let h = reg
        .histogram("bench_histogram", "Histogram cost", Unit::Nanoseconds)
        .unwrap();
    let buckets = Mutex::new(vec![0u64; 64]);
    // Values spread over several buckets, as latencies are.
    let values: Vec<u64> = (0..1024u64).map(|i| 1_000 + i * i * 37).collect();
    let mut g = c.benchmark_group("histogram");
    let mut i = 0usize;
    let mut next = move || {
        i = (i + 1) & 1023;
        values[i]
    };
    g.bench_function("record", |b| b.iter(|| h.record(black_box(next()))));
    let local = h.local();
    g.bench_function("local_record", |b| {
        b.iter(|| local.record(black_box(next())))
    });
    g.bench_function("mutex_buckets", |b| {
        b.iter(|| {
            let v = black_box(next());
            buckets.lock().unwrap()[63 - v.leading_zeros() as usize] += 1;
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = counters, histograms
}
criterion_main!(benches);
