//! Core recording cost: counters and histograms through shared and local
//! handles, against an `AtomicU64` baseline, a per-thread single-writer limit
//! and the `Mutex<Vec<f64>>` design; the percentile read of both histogram
//! designs; 1/2/4-thread throughput on one metric; and recording while another
//! thread collects in a loop.
//!
//! Run with `cargo bench --bench core`.

use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion, Throughput,
};
use hotmetrics::{Precision, Registry, Unit};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Number of precomputed observations cycled through by the recording loops.
const VALUES: usize = 1024;
const MASK: usize = VALUES - 1;
/// Samples in the percentile-read comparison.
const READ_SAMPLES: usize = 10_000;
/// The `Mutex<Vec<f64>>` contender is cleared (capacity kept) once it holds
/// this many samples, standing in for a periodic drain; otherwise it would
/// grow by gigabytes over a run.
const DRAIN_AT: usize = 1 << 16;
/// Thread counts of the throughput group (the bench machine has 2 cores, so
/// 4 is oversubscribed).
const THREADS: [usize; 3] = [1, 2, 4];

/// xorshift64*: cheap, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `n` log-normal-ish latencies in nanoseconds: median ~50 µs, sigma 1
/// (from an Irwin–Hall approximation of the normal), spanning several
/// octaves so the bucket index and the chunk touched vary.
fn latencies(n: usize, seed: u64) -> Vec<u64> {
    let mut rng = Rng(seed);
    (0..n)
        .map(|_| {
            let z: f64 = (0..12).map(|_| rng.unit()).sum::<f64>() - 6.0;
            (50_000.0 * z.exp()) as u64
        })
        .collect()
}

fn values() -> [u64; VALUES] {
    latencies(VALUES, 0x9e37_79b9_7f4a_7c15).try_into().unwrap()
}

/// A counter cell on its own 128-byte line, as hotmetrics lays out cells.
#[repr(align(128))]
struct Padded<T>(T);

/// The per-thread limit of a log-linear histogram: plain (non-atomic)
/// bucket counts and sum, same index math as hotmetrics.
struct PlainHistogram {
    counts: Vec<u64>,
    sum: u64,
}

impl PlainHistogram {
    fn new() -> Self {
        PlainHistogram {
            counts: vec![0; Precision::DEFAULT.bucket_count()],
            sum: 0,
        }
    }

    #[inline(always)]
    fn record(&mut self, v: u64) {
        self.counts[Precision::DEFAULT.index(v)] += 1;
        self.sum = self.sum.wrapping_add(v);
    }
}

/// The design being replaced: every observation pushed under one lock.
struct MutexHistogram(Mutex<Vec<f64>>);

impl MutexHistogram {
    fn new() -> Self {
        MutexHistogram(Mutex::new(Vec::with_capacity(DRAIN_AT)))
    }

    #[inline(always)]
    fn record(&self, v: u64) {
        let mut g = self.0.lock().unwrap();
        if g.len() == DRAIN_AT {
            g.clear();
        }
        g.push(v as f64);
    }

    /// p99 as that design computes it: sort a copy, index the rank.
    fn p99(&self) -> f64 {
        let mut copy = self.0.lock().unwrap().clone();
        copy.sort_unstable_by(f64::total_cmp);
        let rank = ((0.99 * copy.len() as f64).ceil() as usize).clamp(1, copy.len());
        copy[rank - 1]
    }
}

fn configure<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    g
}

fn single_thread_counter(c: &mut Criterion) {
    let reg = Registry::new();
    let counter = reg.counter("bench_counter", "Bench counter").unwrap();
    let mut g = configure(c, "counter_1t");
    g.throughput(Throughput::Elements(1));

    g.bench_function("hotmetrics_shared", |b| b.iter(|| counter.inc()));
    let local = counter.local();
    g.bench_function("hotmetrics_local", |b| b.iter(|| local.inc()));

    // Atomic operations are never merged or hoisted by the compiler, so the
    // baselines need no `black_box`; they have the same shape as the cases
    // above (a reference to a cell taken outside the loop).
    let shared = Padded(AtomicU64::new(0));
    let shared = &shared.0;
    g.bench_function("atomic_fetch_add", |b| {
        b.iter(|| shared.fetch_add(1, Relaxed))
    });
    let owned = Padded(AtomicU64::new(0));
    let owned = &owned.0;
    g.bench_function("limit_load_store", |b| {
        b.iter(|| owned.store(owned.load(Relaxed).wrapping_add(1), Relaxed))
    });
    g.finish();
    black_box(reg.collect());
}

/// Benchmarks `record(value)` with values cycled from `vals`. The index lives
/// in the `move` closure, so it stays in a register.
fn bench_values(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    vals: &[u64; VALUES],
    mut record: impl FnMut(u64),
) {
    g.bench_function(name, |b| {
        let record = &mut record;
        let mut i = 0usize;
        b.iter(move || {
            i = (i + 1) & MASK;
            record(black_box(vals[i]))
        })
    });
}

fn single_thread_histogram(c: &mut Criterion) {
    let spread = values();
    let one = [50_000u64; VALUES];
    let reg = Registry::new();
    let hist = reg
        .histogram("bench_hist", "Bench histogram", Unit::Nanoseconds)
        .unwrap();
    let local = hist.local();
    let mut plain = PlainHistogram::new();
    let mutex = MutexHistogram::new();
    let mut g = configure(c, "histogram_1t");
    g.throughput(Throughput::Elements(1));

    // What every case below also pays: fetch the next value.
    bench_values(&mut g, "loop_overhead", &spread, |v| {
        black_box(v);
    });
    bench_values(&mut g, "hotmetrics_shared", &spread, |v| hist.record(v));
    bench_values(&mut g, "hotmetrics_local", &spread, |v| local.record(v));
    bench_values(&mut g, "limit_plain_array", &spread, |v| {
        plain.record(v);
        // Keep the stores in the loop, as the atomic cases have them.
        black_box(&mut plain);
    });
    bench_values(&mut g, "mutex_vec_f64", &spread, |v| mutex.record(v));
    // The same with one repeated value: one bucket, one chunk.
    bench_values(&mut g, "hotmetrics_shared_one_value", &one, |v| {
        hist.record(v)
    });
    bench_values(&mut g, "hotmetrics_local_one_value", &one, |v| {
        local.record(v)
    });
    bench_values(&mut g, "limit_plain_array_one_value", &one, |v| {
        plain.record(v);
        black_box(&mut plain);
    });
    g.finish();
    black_box(reg.collect());
    black_box(plain.counts[0]);
}

fn percentile_read(c: &mut Criterion) {
    let samples = latencies(READ_SAMPLES, 0x0123_4567_89ab_cdef);
    let reg = Registry::new();
    let hist = reg
        .histogram("read_hist", "Read histogram", Unit::Nanoseconds)
        .unwrap();
    let mutex = MutexHistogram(Mutex::new(Vec::with_capacity(READ_SAMPLES)));
    for &v in &samples {
        hist.record(v);
        mutex.0.lock().unwrap().push(v as f64);
    }
    let hot_p99 = reg
        .collect()
        .histogram("read_hist")
        .unwrap()
        .quantile(0.99)
        .unwrap();
    eprintln!(
        "p99 of {READ_SAMPLES} samples: mutex_vec_f64 (exact) = {}, hotmetrics = {hot_p99}",
        mutex.p99()
    );

    let mut g = configure(c, "p99_read_10k");
    g.bench_function("mutex_vec_f64_clone_sort", |b| b.iter(|| mutex.p99()));
    g.bench_function("hotmetrics_collect_quantile", |b| {
        b.iter(|| reg.collect().histogram("read_hist").unwrap().quantile(0.99))
    });
    g.finish();
}

/// Runs `threads` threads, each building its operation with `setup(t)`,
/// calling it once untimed (first-touch allocation, thread id), waiting on a
/// common barrier, then calling it `iters` times. Returns the longest
/// per-thread time, so spawn and join are not counted.
fn parallel<S, W>(threads: usize, iters: u64, setup: &S) -> Duration
where
    S: Fn(usize) -> W + Sync,
    W: FnMut(),
{
    let barrier = Barrier::new(threads);
    thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let barrier = &barrier;
                s.spawn(move || {
                    let mut op = setup(t);
                    op();
                    barrier.wait();
                    let start = Instant::now();
                    for _ in 0..iters {
                        op();
                    }
                    start.elapsed()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .max()
            .unwrap()
    })
}

fn multi_thread(c: &mut Criterion) {
    let vals = values();
    let vals = &vals;
    let reg = Registry::new();
    let counter = reg.counter("mt_counter", "Multi-thread counter").unwrap();
    let hist = reg
        .histogram("mt_hist", "Multi-thread histogram", Unit::Nanoseconds)
        .unwrap();
    let shared = Padded(AtomicU64::new(0));
    let mutex = MutexHistogram::new();
    let (counter, hist, shared, mutex) = (&counter, &hist, &shared, &mutex);

    let mut g = configure(c, "same_metric_mt");
    for threads in THREADS {
        // Time reported is per op per thread; elements/s is the total rate.
        g.throughput(Throughput::Elements(threads as u64));
        g.bench_with_input(
            BenchmarkId::new("hotmetrics_counter_shared", threads),
            &threads,
            |b, &n| b.iter_custom(|iters| parallel(n, iters, &|_| move || counter.inc())),
        );
        // Control: each thread owns its own padded cell (nothing shared), so
        // this shows how far the machine itself scales.
        g.bench_with_input(
            BenchmarkId::new("limit_per_thread_cell", threads),
            &threads,
            |b, &n| {
                b.iter_custom(|iters| {
                    parallel(n, iters, &|_| {
                        let cell = Box::new(Padded(AtomicU64::new(0)));
                        move || cell.0.store(cell.0.load(Relaxed).wrapping_add(1), Relaxed)
                    })
                })
            },
        );
        g.bench_with_input(
            BenchmarkId::new("atomic_fetch_add", threads),
            &threads,
            |b, &n| {
                b.iter_custom(|iters| {
                    parallel(n, iters, &|_| {
                        move || {
                            shared.0.fetch_add(1, Relaxed);
                        }
                    })
                })
            },
        );
        g.bench_with_input(
            BenchmarkId::new("hotmetrics_histogram_shared", threads),
            &threads,
            |b, &n| {
                b.iter_custom(|iters| {
                    parallel(n, iters, &|t| {
                        let mut i = t * 257;
                        move || {
                            i = (i + 1) & MASK;
                            hist.record(black_box(vals[i]))
                        }
                    })
                })
            },
        );
        g.bench_with_input(
            BenchmarkId::new("mutex_vec_f64", threads),
            &threads,
            |b, &n| {
                b.iter_custom(|iters| {
                    parallel(n, iters, &|t| {
                        let mut i = t * 257;
                        move || {
                            i = (i + 1) & MASK;
                            mutex.record(black_box(vals[i]))
                        }
                    })
                })
            },
        );
    }
    g.finish();
    black_box(reg.collect());
}

/// How the collector thread runs during a `collector` case.
#[derive(Clone, Copy)]
enum Collecting {
    /// No collector thread.
    Idle,
    /// `reg.collect()` back to back.
    Loop,
    /// `reg.collect()` then a 1 ms sleep.
    EveryMs,
}

fn with_collector(c: &mut Criterion) {
    let vals = values();
    let reg = Registry::new();
    let counter = reg
        .counter("col_counter", "Counter under collection")
        .unwrap();
    let hist = reg
        .histogram("col_hist", "Histogram under collection", Unit::Nanoseconds)
        .unwrap();
    let mut g = configure(c, "collector");
    g.throughput(Throughput::Elements(1));

    for (mode, tag) in [
        (Collecting::Idle, "idle"),
        (Collecting::Loop, "collect_loop"),
        (Collecting::EveryMs, "collect_every_1ms"),
    ] {
        let stop = AtomicBool::new(false);
        let collections = AtomicU64::new(0);
        let started = Instant::now();
        thread::scope(|s| {
            if !matches!(mode, Collecting::Idle) {
                s.spawn(|| {
                    while !stop.load(Relaxed) {
                        black_box(reg.collect());
                        collections.fetch_add(1, Relaxed);
                        if matches!(mode, Collecting::EveryMs) {
                            thread::sleep(Duration::from_millis(1));
                        }
                    }
                });
            }
            g.bench_function(BenchmarkId::new("hotmetrics_counter_shared", tag), |b| {
                b.iter(|| counter.inc())
            });
            bench_values(
                &mut g,
                &format!("hotmetrics_histogram_shared/{tag}"),
                &vals,
                |v| hist.record(v),
            );
            stop.store(true, Relaxed);
        });
        if !matches!(mode, Collecting::Idle) {
            let n = collections.load(Relaxed);
            let secs = started.elapsed().as_secs_f64();
            eprintln!(
                "collector thread ({tag}): {n} collections in {secs:.1} s ({:.0}/s)",
                n as f64 / secs
            );
        }
    }
    g.finish();
}

criterion_group!(
    benches,
    single_thread_counter,
    single_thread_histogram,
    percentile_read,
    multi_thread,
    with_collector
);
criterion_main!(benches);
