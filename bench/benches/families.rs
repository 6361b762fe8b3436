//! Labeled recording: a pre-bound series handle against the plain metric
//! (the target is equal cost), and a dynamic lookup with 3 labels on every
//! call against `prometheus`' `with_label_values` and a `metrics`
//! `counter!` with 3 labels over a `metrics-util` registry, in one run.
//!
//! `hotmetrics_*_evicting` cases use a family with idle eviction on, whose
//! dynamic lookups also pin a `crossbeam-epoch` epoch.
//!
//! `cargo bench -p hotmetrics-bench --bench families` (about a minute).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hotmetrics::{Registry, Unit};
use hotmetrics_bench::labeled::{label_sets, AtomicRecorder, LABELS};
use std::hint::black_box;
use std::time::Duration;

fn prebound(c: &mut Criterion) {
    let reg = Registry::new();
    let plain = reg.counter("plain", "Plain").unwrap();
    let fam = reg.counter_family("labeled", "Labeled", &LABELS).unwrap();
    let bound = fam.with(&("search", "GET", "200"));
    let plain_h = reg
        .histogram("plain_h", "Plain", Unit::Nanoseconds)
        .unwrap();
    let fam_h = reg
        .histogram_family("labeled_h", "Labeled", Unit::Nanoseconds, &["route"])
        .unwrap();
    let bound_h = fam_h.with(&["search"]);

    let mut g = c.benchmark_group("prebound");
    g.throughput(Throughput::Elements(1));
    g.bench_function("plain_counter", |b| b.iter(|| black_box(&plain).inc()));
    g.bench_function("prebound_counter", |b| b.iter(|| black_box(&bound).inc()));
    let mut v = 0u64;
    g.bench_function("plain_histogram", |b| {
        b.iter(|| {
            v = (v + 7919) & 0xffff;
            black_box(&plain_h).record(black_box(v + 1_000))
        })
    });
    g.bench_function("prebound_histogram", |b| {
        b.iter(|| {
            v = (v + 7919) & 0xffff;
            black_box(&bound_h).record(black_box(v + 1_000))
        })
    });
    g.finish();
    black_box(reg.collect());
}

fn dynamic(c: &mut Criterion) {
    let sets = label_sets();
    let one = ["search", "GET", "200"];

    let reg = Registry::new();
    let fam = reg.counter_family("requests", "Requests", &LABELS).unwrap();
    let evicting = reg
        .counter_family_builder("requests_evicting")
        .help("Requests")
        .labels(&LABELS)
        .evict_idle_after(1_000)
        .build()
        .unwrap();
    let prom =
        prometheus::IntCounterVec::new(prometheus::Opts::new("requests", "Requests"), &LABELS)
            .unwrap();
    let recorder = AtomicRecorder::new();
    let owned: Vec<(String, String, String)> = sets
        .iter()
        .map(|s| (s[0].to_string(), s[1].to_string(), s[2].to_string()))
        .collect();

    let mut g = c.benchmark_group("dynamic_3_labels");
    g.throughput(Throughput::Elements(1));
    // One label set, every call.
    g.bench_function("hotmetrics_one_set", |b| {
        b.iter(|| fam.inc(black_box(&one)))
    });
    // The same in a family that evicts: each lookup also pins an epoch.
    g.bench_function("hotmetrics_one_set_evicting", |b| {
        b.iter(|| evicting.inc(black_box(&one)))
    });
    g.bench_function("prometheus_one_set", |b| {
        b.iter(|| prom.with_label_values(black_box(&one)).inc())
    });
    g.bench_function("metrics_one_set", |b| {
        metrics::with_local_recorder(&recorder, || {
            b.iter(|| {
                metrics::counter!("requests", "route" => "search", "method" => "GET", "status" => "200")
                    .increment(1)
            })
        })
    });
    // 64 label sets in turn.
    let mut i = 0usize;
    g.bench_function("hotmetrics_64_sets", |b| {
        b.iter(|| {
            i = (i + 1) & 63;
            fam.inc(black_box(&sets[i]))
        })
    });
    g.bench_function("hotmetrics_64_sets_owned_strings", |b| {
        b.iter(|| {
            i = (i + 1) & 63;
            fam.inc(black_box(&owned[i]))
        })
    });
    g.bench_function("prometheus_64_sets", |b| {
        b.iter(|| {
            i = (i + 1) & 63;
            prom.with_label_values(black_box(&sets[i])).inc()
        })
    });
    g.bench_function("metrics_64_sets", |b| {
        metrics::with_local_recorder(&recorder, || {
            b.iter(|| {
                i = (i + 1) & 63;
                let [route, method, status] = *black_box(&sets[i]);
                metrics::counter!("requests", "route" => route, "method" => method, "status" => status)
                    .increment(1)
            })
        })
    });
    g.finish();
    black_box(reg.collect());
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = prebound, dynamic
}
criterion_main!(benches);
