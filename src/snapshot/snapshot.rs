//! [`Snapshot`]: every metric of a registry as of one collection.
#![forbid(unsafe_code)]

use super::{HistogramSnapshot, LabelSet};
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
    /// A state set: every state's name, in declared order, and whether it
    /// is set.
    StateSet(Vec<(String, bool)>),
    /// An info metric: its facts are the series' labels (exported with the
    /// value 1).
    Info,
}

/// One metric of a [`Snapshot`]: what it is and its value.
#[derive(Clone, Debug)]
pub struct MetricSnapshot {
    pub(crate) descriptor: Arc<Descriptor>,
    pub(crate) labels: LabelSet,
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
    /// The series' labels (empty for a plain metric).
    pub fn labels(&self) -> &LabelSet {
        &self.labels
    }
    /// The value.
    pub fn value(&self) -> &MetricValue {
        &self.value
    }
    /// Whether the exporters leave this series out: a family's internal
    /// counter ([`Descriptor::is_internal`]) that has counted nothing yet.
    pub(crate) fn is_unwritten(&self) -> bool {
        self.descriptor.internal && matches!(self.value, MetricValue::Counter(0))
    }
}

/// An immutable view of every metric of a registry, as folded by one
/// [`Registry::collect`](crate::Registry::collect).
///
/// Each entry is one series: a metric name plus a [`LabelSet`] (empty for a
/// plain metric). Entries are ordered by name, then labels, so the series of
/// one family are contiguous ([`Snapshot::families`]).
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
    /// Where each name's series end in `metrics`, ascending: the collector
    /// knows where its names change, so [`families`](Self::families)
    /// compares no names (a render would otherwise read every next
    /// series' descriptor first).
    family_ends: Vec<u32>,
}

impl Snapshot {
    /// Builds a snapshot; `metrics` are sorted by name, then labels, here.
    #[cfg(test)]
    pub(crate) fn new(generation: u64, mut metrics: Vec<MetricSnapshot>) -> Snapshot {
        metrics.sort_unstable_by(|a, b| {
            (a.descriptor.name.as_str(), &a.labels).cmp(&(b.descriptor.name.as_str(), &b.labels))
        });
        let family_ends = metrics
            .windows(2)
            .enumerate()
            .filter(|(_, w)| w[0].descriptor.name != w[1].descriptor.name)
            .map(|(i, _)| i as u32 + 1)
            .chain((!metrics.is_empty()).then_some(metrics.len() as u32))
            .collect();
        Snapshot::from_sorted(generation, metrics, family_ends)
    }

    /// Builds a snapshot from `metrics` already ordered by name, then
    /// labels (the collector folds them in that order), with the end of
    /// each name's series in `family_ends`.
    pub(crate) fn from_sorted(
        generation: u64,
        metrics: Vec<MetricSnapshot>,
        family_ends: Vec<u32>,
    ) -> Snapshot {
        debug_assert!(metrics.windows(2).all(|w| {
            (w[0].descriptor.name.as_str(), &w[0].labels)
                <= (w[1].descriptor.name.as_str(), &w[1].labels)
        }));
        debug_assert!({
            let mut start = 0;
            family_ends.iter().all(|&end| {
                let family = &metrics[start..end as usize];
                start = end as usize;
                let name = &family[0].descriptor.name;
                family.iter().all(|m| &m.descriptor.name == name)
                    && !matches!(metrics.get(start), Some(m) if &m.descriptor.name == name)
            }) && start == metrics.len()
        });
        Snapshot {
            generation,
            metrics,
            family_ends,
        }
    }

    /// Number of the collection that made this snapshot (0: none yet).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Every series, ordered by name, then labels.
    pub fn metrics(&self) -> &[MetricSnapshot] {
        &self.metrics
    }

    /// The series grouped by metric name: each item is one metric's
    /// descriptor and all its series (one, unlabeled, for a plain metric).
    /// Exporters write one `# HELP`/`# TYPE` block per item.
    pub fn families(&self) -> impl Iterator<Item = (&Descriptor, &[MetricSnapshot])> + '_ {
        let mut start = 0;
        self.family_ends.iter().map(move |&end| {
            let family = &self.metrics[start..end as usize];
            start = end as usize;
            (&*family[0].descriptor, family)
        })
    }

    /// Every series of metric `name` (empty if there is none).
    pub fn series(&self, name: &str) -> &[MetricSnapshot] {
        let start = self
            .metrics
            .partition_point(|m| m.descriptor.name.as_str() < name);
        let len = self.metrics[start..]
            .iter()
            .take_while(|m| m.descriptor.name == name)
            .count();
        &self.metrics[start..start + len]
    }

    /// The series of metric `name` whose labels are exactly `labels`, in
    /// the family's declared order.
    pub fn get_with(&self, name: &str, labels: &[(&str, &str)]) -> Option<&MetricSnapshot> {
        self.series(name).iter().find(|m| m.labels.matches(labels))
    }

    /// The total of counter `name` with exactly `labels`.
    pub fn counter_with(&self, name: &str, labels: &[(&str, &str)]) -> Option<u64> {
        match self.get_with(name, labels)?.value {
            MetricValue::Counter(v) => Some(v),
            _ => None,
        }
    }

    /// The value of integer gauge `name` with exactly `labels`.
    pub fn gauge_with(&self, name: &str, labels: &[(&str, &str)]) -> Option<i64> {
        match self.get_with(name, labels)?.value {
            MetricValue::Gauge(v) => Some(v),
            _ => None,
        }
    }

    /// The value of float gauge `name` with exactly `labels`.
    pub fn float_gauge_with(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        match self.get_with(name, labels)?.value {
            MetricValue::FloatGauge(v) => Some(v),
            _ => None,
        }
    }

    /// Histogram `name` with exactly `labels`.
    pub fn histogram_with(
        &self,
        name: &str,
        labels: &[(&str, &str)],
    ) -> Option<&HistogramSnapshot> {
        match &self.get_with(name, labels)?.value {
            MetricValue::Histogram(h) => Some(h),
            _ => None,
        }
    }

    /// Whether the snapshot holds no metric.
    pub fn is_empty(&self) -> bool {
        self.metrics.is_empty()
    }

    /// The unlabeled metric called `name` (for a labeled family, see
    /// [`Snapshot::get_with`] and [`Snapshot::series`]).
    pub fn get(&self, name: &str) -> Option<&MetricSnapshot> {
        self.series(name).first().filter(|m| m.labels.is_empty())
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

    /// The states of state set `name`, in declared order, with whether
    /// each is set.
    pub fn state_set(&self, name: &str) -> Option<&[(String, bool)]> {
        match &self.get(name)?.value {
            MetricValue::StateSet(s) => Some(s),
            _ => None,
        }
    }

    /// The labels of info metric `name` (see
    /// [`Registry::info`](crate::Registry::info)).
    pub fn info(&self, name: &str) -> Option<&LabelSet> {
        let m = self.series(name).first()?;
        matches!(m.value, MetricValue::Info).then_some(&m.labels)
    }

    /// What happened between `earlier` and `self`, for interval exporters:
    /// counters and histograms as differences (a metric absent from
    /// `earlier` counts from zero, and so does one that went down: a series
    /// evicted and created again restarts at zero), gauges at their value
    /// in `self`.
    pub fn delta(&self, earlier: &Snapshot) -> Snapshot {
        let metrics = self
            .metrics
            .iter()
            .map(|m| {
                let before = earlier
                    .series(&m.descriptor.name)
                    .iter()
                    .find(|e| e.labels == m.labels)
                    .filter(|e| e.descriptor.kind == m.descriptor.kind);
                let value = match (&m.value, before.map(|b| &b.value)) {
                    // A counter that went down was reset (its series evicted
                    // and created again): count from zero, as Prometheus does.
                    (MetricValue::Counter(now), Some(MetricValue::Counter(then))) => {
                        MetricValue::Counter(if now >= then { now - then } else { *now })
                    }
                    (MetricValue::Histogram(now), Some(MetricValue::Histogram(then))) => {
                        MetricValue::Histogram(now.delta(then))
                    }
                    (v, _) => v.clone(),
                };
                MetricSnapshot {
                    descriptor: m.descriptor.clone(),
                    labels: m.labels.clone(),
                    value,
                }
            })
            .collect();
        Snapshot {
            generation: self.generation,
            metrics,
            family_ends: self.family_ends.clone(),
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
    /// A plain-text summary, one series per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for m in &self.metrics {
            let d = &m.descriptor;
            let unit = match d.unit.as_str() {
                "" => String::new(),
                u => format!(" {u}"),
            };
            let (name, labels) = (&d.name, &m.labels);
            match &m.value {
                MetricValue::Counter(v) => writeln!(f, "{name}{labels} counter {v}{unit}")?,
                MetricValue::Gauge(v) => writeln!(f, "{name}{labels} gauge {v}{unit}")?,
                MetricValue::FloatGauge(v) => writeln!(f, "{name}{labels} gauge {v}{unit}")?,
                MetricValue::Info => writeln!(f, "{name}{labels} info")?,
                MetricValue::StateSet(states) => {
                    write!(f, "{name}{labels} stateset")?;
                    for (state, on) in states {
                        write!(f, " {state}={}", u8::from(*on))?;
                    }
                    writeln!(f)?;
                }
                MetricValue::Histogram(h) => {
                    write!(f, "{name}{labels} histogram count={}", h.count())?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::descriptor::{MetricKind, Unit};

    fn series(name: &str, labels: &[(&str, &str)], value: MetricValue) -> MetricSnapshot {
        let kind = match value {
            MetricValue::Counter(_) => MetricKind::Counter,
            MetricValue::StateSet(_) => MetricKind::StateSet,
            _ => MetricKind::Gauge,
        };
        MetricSnapshot {
            descriptor: Arc::new(Descriptor {
                name: name.into(),
                help: String::new(),
                unit: Unit::None,
                kind,
                precision: None,
                buckets: None,
                internal: false,
                text: Default::default(),
            }),
            labels: LabelSet::new(labels.iter().copied()),
            value,
        }
    }

    #[test]
    fn series_group_by_name_and_sort_by_labels() {
        let snap = Snapshot::new(
            1,
            vec![
                series("req", &[("route", "b")], MetricValue::Counter(2)),
                series("alone", &[], MetricValue::Gauge(-1)),
                series("req", &[("route", "a")], MetricValue::Counter(1)),
                series(
                    "zz",
                    &[],
                    MetricValue::StateSet(vec![("open".into(), true)]),
                ),
            ],
        );
        let families: Vec<_> = snap
            .families()
            .map(|(d, s)| (d.name().to_string(), s.len()))
            .collect();
        assert_eq!(
            families,
            [("alone".into(), 1), ("req".into(), 2), ("zz".into(), 1)]
        );
        assert_eq!(snap.series("req")[0].labels().get("route"), Some("a"));
        assert_eq!(snap.counter_with("req", &[("route", "b")]), Some(2));
        assert_eq!(snap.counter_with("req", &[("route", "c")]), None);
        assert_eq!(
            snap.counter("req"),
            None,
            "a labeled family has no plain series"
        );
        assert_eq!(snap.gauge("alone"), Some(-1));
        assert!(snap.series("nope").is_empty());
        assert!(snap.to_string().contains("req{route=\"b\"} counter 2"));
        assert!(snap.to_string().contains("zz stateset open=1"));

        let later = Snapshot::new(
            2,
            vec![
                series("req", &[("route", "a")], MetricValue::Counter(5)),
                series("req", &[("route", "new")], MetricValue::Counter(3)),
            ],
        );
        let d = later.delta(&snap);
        assert_eq!(d.counter_with("req", &[("route", "a")]), Some(4));
        // A reset (the series was evicted and came back) counts from zero.
        let reset = Snapshot::new(
            3,
            vec![series("req", &[("route", "a")], MetricValue::Counter(2))],
        );
        assert_eq!(
            reset.delta(&later).counter_with("req", &[("route", "a")]),
            Some(2)
        );
        assert_eq!(d.counter_with("req", &[("route", "new")]), Some(3));
    }
}
