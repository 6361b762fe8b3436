//! Labeled recording's fixtures: the label sets every contender visits, and
//! the `metrics` recorder the `counter!` contender records through.

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString};
use metrics_util::registry::{AtomicStorage, Registry as MetricsRegistry};
use std::sync::Arc;

/// The label names of every labeled contender.
pub const LABELS: [&str; 3] = ["route", "method", "status"];

/// 64 label sets of 3 labels (4 routes × 4 methods × 4 statuses), in a
/// fixed scrambled order so that lookups are not all for one series.
pub fn label_sets() -> Vec<[&'static str; 3]> {
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

/// A `metrics` recorder over `metrics-util`'s registry with atomic storage:
/// what a `metrics` exporter does when a `counter!` call site asks for its
/// handle (a hash of the key, a sharded map lookup).
#[derive(Debug)]
pub struct AtomicRecorder(MetricsRegistry<Key, AtomicStorage>);

impl AtomicRecorder {
    /// An empty registry.
    pub fn new() -> AtomicRecorder {
        AtomicRecorder(MetricsRegistry::atomic())
    }
}

impl AtomicRecorder {
    /// Drops every histogram's values, as a periodic drain would.
    pub fn clear_histograms(&self) {
        self.0.visit_histograms(|_, h| h.clear());
    }
}

impl Default for AtomicRecorder {
    fn default() -> Self {
        Self::new()
    }
}

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
