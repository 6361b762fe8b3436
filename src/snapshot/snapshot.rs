//! [`Snapshot`]: every metric of a registry as of one collection.
#![forbid(unsafe_code)]

use super::HistogramSnapshot;
use crate::descriptor::Descriptor;
use crate::sync::Arc;
use std::fmt;

/// The value of one metric in a [`Snapshot`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum MetricValue {
    /// A counter's total.
    Counter(u64),
    /// An integer gauge's value.
    Gauge(i64),
    /// A float gauge's value.
    FloatGauge(f64),
    /// A histogram's merged state.
    Histogram(HistogramSnapshot),
}

/// One metric of a [`Snapshot`]: what it is and its value.
#[derive(Clone, Debug)]
pub struct MetricSnapshot {
    pub(crate) descriptor: Arc<Descriptor>,
    pub(crate) value: MetricValue,
}

impl MetricSnapshot {
    /// Name, help, unit and kind.
    pub fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }
    /// The metric's name.
    pub fn name(&self) -> &str {
        &self.descriptor.name
    }
    /// The value.
    pub fn value(&self) -> &MetricValue {
        &self.value
    }
}

/// An immutable view of every metric of a registry, as folded by one
/// [`Registry::collect`](crate::Registry::collect). Metrics are ordered by name.
///
/// ```
/// use hotmetrics::{Registry, Unit};
/// let reg = Registry::new();
/// let c = reg.counter("jobs", "Jobs done").unwrap();
/// c.add(5);
/// let first = reg.collect();
/// c.add(2);
/// let second = reg.collect();
/// assert_eq!(second.counter("jobs"), Some(7));
/// assert_eq!(second.delta(&first).counter("jobs"), Some(2));
/// assert!(second.generation() > first.generation());
/// ```
#[derive(Clone, Default)]
pub struct Snapshot {
    pub(crate) generation: u64,
    pub(crate) metrics: Vec<MetricSnapshot>,
}

impl Snapshot {
    /// Builds a snapshot; `metrics` are sorted by name here.
    pub(crate) fn new(generation: u64, mut metrics: Vec<MetricSnapshot>) -> Snapshot {
        metrics.sort_unstable_by(|a, b| a.descriptor.name.cmp(&b.descriptor.name));
        Snapshot {
            generation,
            metrics,
        }
    }

    /// Number of the collection that made this snapshot (0: none yet).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Every metric, ordered by name.
    pub fn metrics(&self) -> &[MetricSnapshot] {
        &self.metrics
    }

    /// Whether the snapshot holds no metric.
    pub fn is_empty(&self) -> bool {
        self.metrics.is_empty()
    }

    /// The metric called `name`.
    pub fn get(&self, name: &str) -> Option<&MetricSnapshot> {
        self.metrics
            .binary_search_by(|m| m.descriptor.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.metrics[i])
    }

    /// The total of counter `name`.
    pub fn counter(&self, name: &str) -> Option<u64> {
        match self.get(name)?.value {
            MetricValue::Counter(v) => Some(v),
            _ => None,
        }
    }

    /// The value of integer gauge `name`.
    pub fn gauge(&self, name: &str) -> Option<i64> {
        match self.get(name)?.value {
            MetricValue::Gauge(v) => Some(v),
            _ => None,
        }
    }

    /// The value of float gauge `name`.
    pub fn float_gauge(&self, name: &str) -> Option<f64> {
        match self.get(name)?.value {
            MetricValue::FloatGauge(v) => Some(v),
            _ => None,
        }
    }

    /// Histogram `name`.
    pub fn histogram(&self, name: &str) -> Option<&HistogramSnapshot> {
        match &self.get(name)?.value {
            MetricValue::Histogram(h) => Some(h),
            _ => None,
        }
    }

    /// What happened between `earlier` and `self`, for interval exporters:
    /// counters and histograms as differences (a metric absent from
    /// `earlier` counts from zero), gauges at their value in `self`.
    pub fn delta(&self, earlier: &Snapshot) -> Snapshot {
        let metrics = self
            .metrics
            .iter()
            .map(|m| {
                let before = earlier
                    .get(&m.descriptor.name)
                    .filter(|e| e.descriptor.kind == m.descriptor.kind);
                let value = match (&m.value, before.map(|b| &b.value)) {
                    (MetricValue::Counter(now), Some(MetricValue::Counter(then))) => {
                        MetricValue::Counter(now.wrapping_sub(*then))
                    }
                    (MetricValue::Histogram(now), Some(MetricValue::Histogram(then))) => {
                        MetricValue::Histogram(now.delta(then))
                    }
                    (v, _) => v.clone(),
                };
                MetricSnapshot {
                    descriptor: m.descriptor.clone(),
                    value,
                }
            })
            .collect();
        Snapshot {
            generation: self.generation,
            metrics,
        }
    }
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("generation", &self.generation)
            .field("metrics", &self.metrics.len())
            .finish()
    }
}

impl fmt::Display for Snapshot {
    /// A plain-text summary, one metric per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for m in &self.metrics {
            let d = &m.descriptor;
            let unit = match d.unit.as_str() {
                "" => String::new(),
                u => format!(" {u}"),
            };
            match &m.value {
                MetricValue::Counter(v) => writeln!(f, "{} counter {v}{unit}", d.name)?,
                MetricValue::Gauge(v) => writeln!(f, "{} gauge {v}{unit}", d.name)?,
                MetricValue::FloatGauge(v) => writeln!(f, "{} gauge {v}{unit}", d.name)?,
                MetricValue::Histogram(h) => {
                    write!(f, "{} histogram count={}", d.name, h.count())?;
                    if let (Some(min), Some(max), Some(mean)) = (h.min(), h.max(), h.mean()) {
                        let q = |q| h.quantile(q).unwrap_or(0);
                        write!(
                            f,
                            " min={min} p50={} p95={} p99={} p999={} max={max} mean={mean:.1}",
                            q(0.5),
                            q(0.95),
                            q(0.99),
                            q(0.999)
                        )?;
                    }
                    if h.invalid() > 0 {
                        write!(f, " invalid={}", h.invalid())?;
                    }
                    writeln!(f, "{unit}")?;
                }
            }
        }
        Ok(())
    }
}
