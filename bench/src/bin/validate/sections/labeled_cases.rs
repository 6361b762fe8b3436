//! The labeled-series section's cases, measured once per run: a pre-bound
//! series handle against the plain metric, and a dynamic lookup with 3
//! labels on every call (by `&str`, and by `StaticStr`, which a family
//! binds to the thread's cells) against `prometheus`' `with_label_values`
//! and a `metrics` `counter!` with labels over a `metrics-util` registry.

use crate::harness::batch_ns;
use crate::stats::{percentile, sorted};
use hotmetrics::{Registry, StaticStr};
use hotmetrics_bench::labeled::{label_sets, AtomicRecorder, LABELS};
use std::hint::black_box;

/// Case names, in report order.
pub const CASES: [&str; 8] = [
    "hotmetrics plain counter inc",
    "hotmetrics pre-bound labeled counter inc",
    "hotmetrics dynamic lookup, 3 labels, 1 label set",
    "hotmetrics dynamic lookup, 3 labels, 64 label sets",
    "hotmetrics dynamic lookup, 3 labels, 64 label sets, family with eviction",
    "hotmetrics dynamic lookup by StaticStr, 3 labels, 64 label sets",
    concat!(
        hotmetrics_bench::peer!("prometheus", prometheus),
        " with_label_values, 3 labels, 64 label sets"
    ),
    concat!(
        hotmetrics_bench::peer!("metrics", metrics),
        " counter! with 3 labels (metrics-util registry), 64 label sets"
    ),
];

/// One run: the median ns/op of every case, in [`CASES`] order. Also
/// checks that every case counted every operation.
pub fn sample(batches: usize, batch: u64) -> Vec<f64> {
    let sets = label_sets();
    let reg = Registry::new();
    let plain = reg.counter("plain", "Plain").unwrap();
    let fam = reg.counter_family("labeled", "Labeled", &LABELS).unwrap();
    let evicting = reg
        .counter_family_builder("labeled_evicting")
        .help("Labeled")
        .labels(&LABELS)
        .evict_idle_after(1_000_000)
        .build()
        .unwrap();
    let by_address = (reg.counter_family("labeled_static", "Labeled", &LABELS)).unwrap();
    let static_sets: Vec<[StaticStr; 3]> = sets.iter().map(|s| s.map(StaticStr)).collect();
    let bound = fam.with(&sets[0]);
    let prom = prometheus::IntCounterVec::new(prometheus::Opts::new("labeled", "Labeled"), &LABELS)
        .unwrap();
    let recorder = AtomicRecorder::new();

    let med = |v: Vec<f64>| percentile(&sorted(&v), 0.5);
    let one = sets[0];
    let mut out = Vec::with_capacity(CASES.len());
    out.push(med(batch_ns!(batches, batch, |_| black_box(&plain).inc())));
    out.push(med(batch_ns!(batches, batch, |_| black_box(&bound).inc())));
    out.push(med(batch_ns!(batches, batch, |_| fam.inc(black_box(&one)))));
    out.push(med(batch_ns!(batches, batch, |i| {
        fam.inc(black_box(&sets[(i & 63) as usize]))
    })));
    out.push(med(batch_ns!(batches, batch, |i| {
        evicting.inc(black_box(&sets[(i & 63) as usize]))
    })));
    out.push(med(batch_ns!(batches, batch, |i| {
        by_address.inc(black_box(&static_sets[(i & 63) as usize]))
    })));
    out.push(med(batch_ns!(batches, batch, |i| {
        prom.with_label_values(black_box(&sets[(i & 63) as usize]))
            .inc()
    })));
    out.push(metrics::with_local_recorder(&recorder, || {
        med(batch_ns!(batches, batch, |i| {
            let [route, method, status] = *black_box(&sets[(i & 63) as usize]);
            metrics::counter!("labeled", "route" => route, "method" => method, "status" => status)
                .increment(1)
        }))
    }));

    // Every operation counted, in every implementation.
    let n = batches as u64 * batch;
    let snap = reg.collect();
    assert_eq!(
        snap.counter_with(
            "labeled",
            &[("route", one[0]), ("method", one[1]), ("status", one[2])]
        ),
        Some(2 * n + n.div_ceil(64))
    );
    let static_total: u64 = (snap.series("labeled_static").iter())
        .map(|s| match s.value() {
            hotmetrics::MetricValue::Counter(v) => *v,
            v => panic!("not a counter: {v:?}"),
        })
        .sum();
    assert_eq!(static_total, n);
    let prom_total: u64 = sets.iter().map(|s| prom.with_label_values(s).get()).sum();
    assert_eq!(prom_total, n);
    out
}
