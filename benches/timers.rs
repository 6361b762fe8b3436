//! What timing costs:
//!
//! - `track_latency/*`: a function doing 1 ms of busy work, plain and
//!   annotated with `#[track_latency]`; the overhead is the difference.
//! - `timer/*`: a timer started, stopped and recorded (`drop(start_timer())`)
//!   against the bare clock reads it is made of: a pair of
//!   `Instant::now()` and a pair of `quanta::Clock::raw()`.
//! - `disabled/*`: recording and timing with the registry switched off,
//!   against an empty `black_box` call (and recording switched on, for
//!   scale).
//!
//! `cargo bench --bench timers` (about a minute).

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use hotmetrics::{track_latency, Precision, Registry, Unit};
use std::hint::black_box;
use std::time::{Duration, Instant};

const WORK: Duration = Duration::from_millis(1);

/// Spins for `WORK` of wall time; returns how many times it looked at the
/// clock.
#[inline(never)]
fn busy_work() -> u64 {
    let start = Instant::now();
    let mut spins = 0u64;
    while start.elapsed() < WORK {
        spins += 1;
    }
    spins
}

#[inline(never)]
fn work_plain() -> u64 {
    busy_work()
}

#[track_latency(name = "bench_work_duration", help = "1 ms of busy work")]
#[inline(never)]
fn work_tracked() -> u64 {
    busy_work()
}

fn track_latency_overhead(c: &mut Criterion) {
    let mut g = c.benchmark_group("track_latency");
    // ~2000 iterations of 1 ms fit the measurement time only when every
    // sample runs the same number of them.
    g.sampling_mode(SamplingMode::Flat).sample_size(40);
    g.bench_function("plain_1ms", |b| b.iter(|| black_box(work_plain())));
    g.bench_function("tracked_1ms", |b| b.iter(|| black_box(work_tracked())));
    g.finish();
    // Absent when a filter skipped the tracked bench.
    let snap = hotmetrics::global().collect();
    if let Some(h) = snap.histogram("bench_work_duration") {
        eprintln!(
            "  bench_work_duration: {} calls recorded, p50 {:?} ns",
            h.count(),
            h.quantile(0.5)
        );
    }
}

fn timer_vs_clock_reads(c: &mut Criterion) {
    let reg = Registry::new();
    let h = reg
        .histogram("timer_bench", "Timer cost", Unit::Nanoseconds)
        .unwrap();
    let clock = quanta::Clock::new();
    let mut g = c.benchmark_group("timer");
    g.bench_function("start_stop_record", |b| {
        b.iter(|| drop(black_box(&h).start_timer()))
    });
    g.bench_function("instant_now_pair", |b| {
        b.iter(|| {
            let start = Instant::now();
            black_box(Instant::now().duration_since(start))
        })
    });
    g.bench_function("quanta_raw_pair", |b| {
        b.iter(|| {
            let start = clock.raw();
            black_box((start, clock.raw()))
        })
    });
    // The least any timer can cost: the two reads, then one increment of a
    // plain array at the bucket of the scaled delta (no shared state, no
    // thread lookup, no sum, min or max).
    let mut buckets = vec![0u64; Precision::DEFAULT.bucket_count()];
    g.bench_function("quanta_pair_plain_array_record", |b| {
        b.iter(|| {
            let start = clock.raw();
            let nanos = clock.delta_as_nanos(start, clock.raw());
            buckets[Precision::DEFAULT.index(nanos)] += 1;
            black_box(&mut buckets);
        })
    });
    g.finish();
}

fn disabled_path(c: &mut Criterion) {
    let reg = Registry::new();
    let h = reg
        .histogram("disabled_bench", "Disabled cost", Unit::Nanoseconds)
        .unwrap();
    let v = 1_234u64;
    let mut g = c.benchmark_group("disabled");
    // `black_box(&h)`: the handle and its switch are loaded on every call,
    // as they are behind a `static`, instead of hoisted out of the loop.
    g.bench_function("record_on", |b| {
        b.iter(|| black_box(&h).record(black_box(v)))
    });
    reg.set_enabled(false);
    g.bench_function("record_off", |b| {
        b.iter(|| black_box(&h).record(black_box(v)))
    });
    g.bench_function("timer_off", |b| {
        b.iter(|| drop(black_box(&h).start_timer()))
    });
    g.bench_function("empty_black_box", |b| b.iter(|| black_box(v)));
    g.finish();
    reg.set_enabled(true);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = track_latency_overhead, timer_vs_clock_reads, disabled_path
}
criterion_main!(benches);
