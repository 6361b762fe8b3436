//! The scrape render: the Prometheus protobuf format (native and classic
//! buckets) beside Prometheus text, on the same snapshot, in one criterion
//! run.
//!
//! Data: 1,000 counters and 100 histograms, each histogram holding the
//! same 1,000 observations (100 µs to 2.3 s, log-spread, in nanoseconds),
//! written with the 11 Prometheus default `le` bounds plus `+Inf`, into a
//! buffer reused across iterations.
//!
//! - `render_1k/*`: one snapshot (already collected) rendered again and
//!   again: after the first render, the classic counts and native buckets
//!   are read back from the snapshot (the best case).
//! - `scrape_1k_changed/*`: what a scrape costs when every histogram
//!   changed since the last one (the worst case): one more observation in
//!   each histogram, a collection, a render. The protobuf case re-bins
//!   every histogram's fine buckets into native buckets (at most 160).
//!
//! `cargo bench -p hotmetrics --features protobuf --bench render`.

use criterion::{criterion_group, criterion_main, Criterion};
use hotmetrics::export::{prometheus, protobuf, TextOptions};
use hotmetrics::{Registry, Snapshot, Unit};
use std::borrow::Borrow;
use std::hint::black_box;
use std::time::Duration;

fn data() -> Registry {
    let reg = Registry::new();
    for i in 0..1_000 {
        reg.counter(&format!("render_counter_{i}"), "A counter")
            .unwrap()
            .add(i);
    }
    for i in 0..100 {
        let h = reg
            .histogram(&format!("render_latency_{i}"), "Latency", Unit::Nanoseconds)
            .unwrap();
        for k in 0..1_000u32 {
            // 100 µs * 2^(k / 70): up to about 2.3 s.
            h.record((1e5 * (f64::from(k) / 70.0).exp2()) as u64);
        }
    }
    reg
}

/// Renders whatever `snapshot` gives in the Prometheus text and protobuf
/// formats, as a group `name` of `c`.
fn formats<S: Borrow<Snapshot>>(c: &mut Criterion, name: &str, mut snapshot: impl FnMut() -> S) {
    let opts = TextOptions::new();
    let mut g = c.benchmark_group(name);
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    let mut text = String::new();
    g.bench_function("prometheus_text", |b| {
        b.iter(|| {
            text.clear();
            prometheus::render_into(black_box(snapshot().borrow()), &mut text, &opts);
            black_box(text.len())
        })
    });
    let mut bytes = Vec::new();
    g.bench_function("protobuf_native_and_classic", |b| {
        b.iter(|| {
            bytes.clear();
            protobuf::render_into(black_box(snapshot().borrow()), &mut bytes, &opts);
            black_box(bytes.len())
        })
    });
    g.finish();
}

fn render(c: &mut Criterion) {
    let snap = data().collect();
    formats(c, "render_1k", || &*snap);
}

fn scrape_changed(c: &mut Criterion) {
    let reg = data();
    let hists: Vec<_> = (0..100)
        .map(|i| {
            reg.histogram(&format!("render_latency_{i}"), "Latency", Unit::Nanoseconds)
                .unwrap()
        })
        .collect();
    formats(c, "scrape_1k_changed", || {
        hists.iter().for_each(|h| h.record(1_000_000));
        reg.collect()
    });
}

criterion_group!(benches, render, scrape_changed);
criterion_main!(benches);
