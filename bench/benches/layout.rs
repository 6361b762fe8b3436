//! The bucket-layout decision of `docs/design.md` ("Bucket layout"), and
//! the cost of recording `f64` beside `u64`:
//!
//! - `layout/*`: the same 4,096 log-normal values indexed and counted
//!   through the log-linear index (`u64` by leading-zero count, `f64` by
//!   its bits) and the exponential one (a table of the top mantissa bits
//!   and one comparison), in one run.
//! - `record/*`: `Histogram::record(u64)` and `Histogram::record_f64` of
//!   the same values (nanoseconds, and seconds as `f64`).
//!
//! `cargo bench -p hotmetrics-bench --bench layout -- --warm-up-time 1
//! --measurement-time 3` (about half a minute).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hotmetrics::{Precision, Registry, Unit};
use hotmetrics_bench::layout::{log_linear_f64, log_linear_u64, log_normal, Exponential};
use std::hint::black_box;

const N: usize = 4096;

fn layout(c: &mut Criterion) {
    let p = Precision::DEFAULT;
    let exp = Exponential::new(u32::from(p.bits()));
    let floats = log_normal(N);
    let ints: Vec<u64> = floats.iter().map(|&x| x as u64).collect();
    let mut counts = vec![0u64; 2048 << 10];
    let mut g = c.benchmark_group("layout");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("log_linear_u64", |b| {
        b.iter(|| {
            for &v in black_box(&ints) {
                counts[log_linear_u64(p, v)] += 1;
            }
        })
    });
    g.bench_function("exponential_u64", |b| {
        b.iter(|| {
            for &v in black_box(&ints) {
                counts[exp.index_u64(v)] += 1;
            }
        })
    });
    g.bench_function("log_linear_f64", |b| {
        b.iter(|| {
            for &x in black_box(&floats) {
                counts[log_linear_f64(p, x)] += 1;
            }
        })
    });
    g.bench_function("exponential_f64", |b| {
        b.iter(|| {
            for &x in black_box(&floats) {
                counts[exp.index_f64(x)] += 1;
            }
        })
    });
    g.finish();
    black_box(&counts);
}

fn record(c: &mut Criterion) {
    let reg = Registry::new();
    let h = reg
        .histogram("bench_record", "Record cost", Unit::Nanoseconds)
        .unwrap();
    let secs = reg
        .histogram("bench_record_f64", "Record cost", Unit::Seconds)
        .unwrap();
    let floats = log_normal(N);
    let ints: Vec<u64> = floats.iter().map(|&x| x as u64).collect();
    let seconds: Vec<f64> = floats.iter().map(|&x| x * 1e-9).collect();
    let mut g = c.benchmark_group("record");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("u64", |b| {
        b.iter(|| {
            for &v in black_box(&ints) {
                h.record(v);
            }
        })
    });
    g.bench_function("f64_nanoseconds", |b| {
        b.iter(|| {
            for &x in black_box(&floats) {
                h.record_f64(x);
            }
        })
    });
    g.bench_function("f64_seconds", |b| {
        b.iter(|| {
            for &x in black_box(&seconds) {
                secs.record_f64(x);
            }
        })
    });
    g.finish();
}

criterion_group!(benches, layout, record);
criterion_main!(benches);
