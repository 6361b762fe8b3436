//! Section 8: labeled recording. A pre-bound series handle against the
//! plain metric, and a dynamic lookup with 3 labels on every call against
//! `prometheus`' `with_label_values` and a `metrics` `counter!` with labels
//! over a `metrics-util` registry.

use crate::stats::{batch_ns, percentile, sorted};
use hotmetrics::Registry;
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString};
use metrics_util::registry::{AtomicStorage, Registry as MetricsRegistry};
use std::hint::black_box;
use std::sync::Arc;

/// Case names, in report order.
pub const CASES: [&str; 7] = [
    "hotmetrics plain counter inc",
    "hotmetrics pre-bound labeled counter inc",
    "hotmetrics dynamic lookup, 3 labels, 1 label set",
    "hotmetrics dynamic lookup, 3 labels, 64 label sets",
    "hotmetrics dynamic lookup, 3 labels, 64 label sets, family with eviction",
    "prometheus 0.13 with_label_values, 3 labels, 64 label sets",
    "metrics 0.24 counter! with 3 labels (metrics-util registry), 64 label sets",
];

/// A `metrics` recorder over `metrics-util`'s registry with atomic storage.
struct AtomicRecorder(MetricsRegistry<Key, AtomicStorage>);

impl Recorder for AtomicRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<metrics::Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<metrics::Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<metrics::Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.0.get_or_create_counter(key, Arc::clone))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.0.get_or_create_gauge(key, Arc::clone))
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(self.0.get_or_create_histogram(key, Arc::clone))
    }
}

/// 64 label sets: 4 routes × 4 methods × 4 statuses, in a scrambled order.
fn label_sets() -> Vec<[&'static str; 3]> {
    const ROUTES: [&str; 4] = ["search", "checkout", "profile", "cart"];
    const METHODS: [&str; 4] = ["GET", "POST", "PUT", "DELETE"];
    const STATUSES: [&str; 4] = ["200", "404", "500", "503"];
    (0..64usize)
        .map(|i| {
            let j = (i * 37) % 64;
            [ROUTES[j % 4], METHODS[(j / 4) % 4], STATUSES[j / 16]]
        })
        .collect()
}

/// One run: the median ns/op of every case, in [`CASES`] order. Also
/// checks that every case counted every operation.
pub fn sample(batches: usize, batch: u64) -> Vec<f64> {
    let sets = label_sets();
    let reg = Registry::new();
    let plain = reg.counter("plain", "Plain").unwrap();
    let labels = ["route", "method", "status"];
    let fam = reg.counter_family("labeled", "Labeled", &labels).unwrap();
    let evicting = reg
        .counter_family_with(
            hotmetrics::Options::new("labeled_evicting", "Labeled")
                .labels(&labels)
                .evict_idle_after(1_000_000),
        )
        .unwrap();
    let bound = fam.with(&sets[0]);
    let prom = prometheus::IntCounterVec::new(prometheus::Opts::new("labeled", "Labeled"), &labels)
        .unwrap();
    let recorder = AtomicRecorder(MetricsRegistry::atomic());

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
    let prom_total: u64 = sets.iter().map(|s| prom.with_label_values(s).get()).sum();
    assert_eq!(prom_total, n);
    out
}
