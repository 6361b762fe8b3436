//! The cheapest each record path has been seen to run: for every case, the
//! minimum over many short runs of the mean ns per operation.
//!
//! Criterion reports a central estimate, which on a shared machine moves with
//! whatever else runs (±40 % between runs here). The minimum of many short
//! runs is what the code costs when it has a core to itself, so two builds
//! can be compared on a busy machine by running their binaries alternately:
//!
//! ```text
//! cargo build --release -p hotmetrics-bench --bin record_floor
//! cp target/release/record_floor /tmp/floor-new
//! git checkout <older commit> && cargo build --release -p hotmetrics-bench --bin record_floor
//! for i in 1 2 3; do target/release/record_floor; /tmp/floor-new; done
//! ```
//!
//! It is not a substitute for `benches/`: it has no warm-up statistics and
//! no confidence interval, only a floor.

use hotmetrics::{Precision, Registry, Unit};
use std::hint::black_box;
use std::time::Instant;

/// Runs `f(n)` `runs` times; returns the smallest mean ns per operation.
fn floor_ns(runs: usize, n: usize, mut f: impl FnMut(usize)) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..runs {
        let t = Instant::now();
        f(n);
        best = best.min(t.elapsed().as_nanos() as f64 / n as f64);
    }
    best
}

/// The CPU's time-stamp counter (the OS clock where there is none).
#[cfg(target_arch = "x86_64")]
fn tsc() -> u64 {
    // SAFETY: `rdtsc` exists on every x86-64 CPU, has no preconditions and
    // touches no memory.
    unsafe { std::arch::x86_64::_rdtsc() }
}

#[cfg(not(target_arch = "x86_64"))]
fn tsc() -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// Longer than a function should be because it is the table of cases, one
/// entry (name and measured loop) per case, read top to bottom.
fn main() {
    let (runs, n) = (300, 200_000);
    let reg = Registry::new();
    let hist = reg
        .histogram("floor_hist", "Record floor", Unit::Nanoseconds)
        .unwrap();
    let counter = reg.counter("floor_counter", "Record floor").unwrap();
    // 1,024 values spread over 20–220 µs (about 14 bucket chunks), from a
    // fixed xorshift sequence.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let values: Vec<u64> = (0..1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            20_000 + x % 200_000
        })
        .collect();
    let value = |i: usize| black_box(values[i & 1023]);
    let mut plain = vec![0u64; Precision::DEFAULT.bucket_count()];
    let mut plain_sum = (plain.clone(), 0u64);
    let clock = quanta::Clock::new();
    hist.record(1); // first touch: cells allocated before timing

    let local = hist.local();
    let local_counter = counter.local();
    let pc_counter: prometheus_client::metrics::counter::Counter = Default::default();
    let atomic = std::sync::atomic::AtomicU64::new(0);
    let cases: [(&str, f64); 14] = [
        (
            "loop overhead",
            floor_ns(runs, n, |n| {
                (0..n).for_each(|i| {
                    value(i);
                })
            }),
        ),
        (
            "plain array (limit)",
            floor_ns(runs, n, |n| {
                for i in 0..n {
                    plain[Precision::DEFAULT.index(value(i))] += 1;
                    black_box(&mut plain);
                }
            }),
        ),
        (
            // As `benches/core.rs` defines the limit: the array and the
            // running sum a histogram reports, both kept in memory.
            "plain array + sum (limit)",
            floor_ns(runs, n, |n| {
                for i in 0..n {
                    let v = value(i);
                    plain_sum.0[Precision::DEFAULT.index(v)] += 1;
                    plain_sum.1 = plain_sum.1.wrapping_add(v);
                    black_box(&mut plain_sum);
                }
            }),
        ),
        (
            "histogram shared",
            floor_ns(runs, n, |n| (0..n).for_each(|i| hist.record(value(i)))),
        ),
        (
            "histogram local",
            floor_ns(runs, n, |n| (0..n).for_each(|i| local.record(value(i)))),
        ),
        (
            "histogram local, one value",
            floor_ns(runs, n, |n| {
                (0..n).for_each(|_| local.record(black_box(50_000)))
            }),
        ),
        (
            "counter shared",
            floor_ns(runs, n, |n| (0..n).for_each(|_| counter.inc())),
        ),
        (
            "counter local",
            floor_ns(runs, n, |n| (0..n).for_each(|_| local_counter.inc())),
        ),
        (
            // What the shared-atomic peers' `inc` is (prometheus-client's
            // and fastmetrics' counters, `prometheus`'s `IntCounter`).
            "counter fetch_add",
            floor_ns(runs, n, |n| {
                (0..n).for_each(|_| {
                    black_box(&atomic).fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                })
            }),
        ),
        (
            "counter prometheus-client",
            floor_ns(runs, n, |n| {
                (0..n).for_each(|_| {
                    black_box(&pc_counter).inc();
                })
            }),
        ),
        (
            "timer start+stop+record",
            floor_ns(runs, n, |n| (0..n).for_each(|_| drop(hist.start_timer()))),
        ),
        (
            "quanta raw pair",
            floor_ns(runs, n, |n| {
                for _ in 0..n {
                    let start = clock.raw();
                    black_box(clock.delta_as_nanos(start, clock.raw()));
                }
            }),
        ),
        (
            // The least any timer can cost: the two reads, then one
            // increment of a plain array at the delta's bucket.
            "quanta pair + array record",
            floor_ns(runs, n, |n| {
                for _ in 0..n {
                    let start = clock.raw();
                    let nanos = clock.delta_as_nanos(start, clock.raw());
                    plain[Precision::DEFAULT.index(nanos)] += 1;
                    black_box(&mut plain);
                }
            }),
        ),
        (
            // The same with the counter read inline and the ticks
            // bucketed unscaled: below what any calibrated clock can do.
            "rdtsc pair + array record",
            floor_ns(runs, n, |n| {
                for _ in 0..n {
                    let start = tsc();
                    let ticks = tsc().wrapping_sub(start);
                    plain[Precision::DEFAULT.index(ticks)] += 1;
                    black_box(&mut plain);
                }
            }),
        ),
    ];
    for (name, ns) in cases {
        println!("{name:<28} {ns:6.2} ns/op");
    }
    black_box(reg.collect());
}
