//! The collector: folds every thread's cells into a [`Snapshot`].
//!
//! One collection, under the registry's collector lock:
//!
//! 1. every metric's [`Kind::prepare`](super::kind::Kind::prepare) (a
//!    family that evicts takes the series no reader can reach any more,
//!    before any cell is read: `family/evict.rs`);
//! 2. one pass over each thread's dense counter cells, summing every
//!    counter slot;
//! 3. every metric's [`Kind::fold`](super::kind::Kind::fold), in name
//!    order, reading through [`Fold`]: counters from the sums of step 2,
//!    histograms merged over all threads on demand (`fold_histogram.rs`).
//!
//! The snapshot comes out ordered by name, then labels, without sorting
//! every series: the collector keeps the catalog's entries ordered by name
//! (re-ordered only when a metric was registered since the last
//! collection) and sorts only within one metric's series (a family's,
//! usually already in order). A name with several shapes (`catalog.rs`)
//! has its shapes' series merged into one label order, and their overflow
//! series into one.
//!
//! Writers are never paused: cells are read with atomic loads while their
//! owners keep recording (`docs/design.md`).
#![forbid(unsafe_code)]

use super::catalog::Entry;
use super::fold_histogram::Histograms;
use crate::handle::{Counter, Histogram};
use crate::snapshot::{HistogramSnapshot, MetricSnapshot, MetricValue, Snapshot};
use crate::storage::Storage;
use crate::sync::Arc;

/// The collector's state between collections: the generation, the name
/// order of the catalog, and what every collection reuses.
#[derive(Default)]
pub(crate) struct Collector {
    generation: u64,
    /// The catalog's [`removals`](super::catalog::Catalog::removals) as of
    /// the last synchronisation.
    removals: u64,
    /// The catalog's entries as of this collection (see
    /// [`sync_entries`](Self::sync_entries)).
    entries: Vec<Entry>,
    /// Indices into `entries`, ordered by metric name; covers the entries
    /// there were at the last collection (between removals the catalog only
    /// grows, and a name never changes).
    by_name: Vec<usize>,
    /// For each position of `by_name`: whether its metric has the name of
    /// the one before (another shape or sibling of one name), so that a
    /// collection compares no names.
    same_name: Vec<bool>,
    /// Series in the last snapshot: the capacity of the next one.
    last_len: usize,
    /// Names with series in the last snapshot: likewise.
    last_families: usize,
    /// How each metric's series are put in label order.
    series_order: SeriesOrder,
    counter_totals: Vec<u64>,
    histograms: Histograms,
}

/// What a metric reads its cells through during a collection.
pub(crate) struct Fold<'a> {
    storage: &'a Storage,
    counter_totals: &'a [u64],
    histograms: &'a mut Histograms,
}

impl Collector {
    /// Histogram chunk copies and chunk counts the collections so far read.
    #[cfg(test)]
    pub(crate) fn chunk_reads(&self) -> (usize, usize) {
        self.histograms.chunk_reads()
    }

    /// Brings the collector's copy of the catalog's `entries` up to date,
    /// under the catalog's lock: appends the metrics registered since and
    /// takes the new descriptor of one whose help was replaced. An
    /// unchanged entry is not cloned again (no reference count touched).
    /// After `removals` changed (a metric was unregistered), starts over:
    /// the entries' indices and name order no longer hold.
    pub(crate) fn sync_entries(&mut self, entries: &[Entry], removals: u64) {
        if removals != self.removals {
            self.removals = removals;
            self.entries.clear();
            self.by_name.clear();
            self.series_order.by_entry.clear();
        }
        self.entries.truncate(entries.len());
        for (mine, theirs) in self.entries.iter_mut().zip(entries) {
            if !Arc::ptr_eq(&mine.descriptor, &theirs.descriptor) {
                *mine = theirs.clone();
            }
        }
        let known = self.entries.len();
        self.entries.extend_from_slice(&entries[known..]);
    }

    /// A new snapshot of the entries last synchronised, whose counter
    /// cells lie below what `counter_slots` returns (called after phase 1,
    /// so that the series a callback's panic count creates there is read).
    pub(crate) fn fold(
        &mut self,
        storage: &Storage,
        counter_slots: impl FnOnce() -> usize,
    ) -> Snapshot {
        self.generation += 1;
        let entries = std::mem::take(&mut self.entries);
        let snapshot = self.fold_entries(storage, &entries, counter_slots);
        self.entries = entries;
        snapshot
    }

    fn fold_entries(
        &mut self,
        storage: &Storage,
        entries: &[Entry],
        counter_slots: impl FnOnce() -> usize,
    ) -> Snapshot {
        for e in entries {
            e.metric.prepare();
        }
        sum_counters(&mut self.counter_totals, storage, counter_slots());
        self.order_by_name(entries);
        let mut fold = Fold {
            storage,
            counter_totals: &self.counter_totals,
            histograms: &mut self.histograms,
        };
        let mut metrics = Vec::with_capacity(self.last_len);
        let mut family_ends = Vec::with_capacity(self.last_families);
        self.series_order
            .by_entry
            .resize_with(entries.len(), Vec::new);
        // Where the current name's series start, and how many entries
        // (shapes) it has so far.
        let (mut name_start, mut shapes) = (0, 0);
        for (k, &i) in self.by_name.iter().enumerate() {
            let e = &entries[i];
            let start = metrics.len();
            e.metric.fold(&mut fold, &mut |labels, value| {
                metrics.push(MetricSnapshot {
                    descriptor: e.descriptor.clone(),
                    labels: e.const_labels.concat(&labels),
                    value,
                })
            });
            self.series_order.sort(&mut metrics, start, i);
            if self.same_name[k] {
                shapes += 1;
            } else {
                (name_start, shapes) = (start, 1);
            }
            let last_shape = !self.same_name.get(k + 1).copied().unwrap_or(false);
            if shapes > 1 && last_shape {
                merge_shapes(&mut metrics, name_start);
            }
            if last_shape && metrics.len() > name_start {
                family_ends.push(metrics.len() as u32);
            }
        }
        self.last_len = metrics.len();
        self.last_families = family_ends.len();
        Snapshot::from_sorted(self.generation, metrics, family_ends)
    }

    /// Brings [`by_name`](Self::by_name) up to date with `entries`.
    fn order_by_name(&mut self, entries: &[Entry]) {
        if self.by_name.len() == entries.len() {
            return;
        }
        self.by_name.clear();
        self.by_name.extend(0..entries.len());
        // Siblings (one name, other constant labels: `catalog.rs`) by
        // their constant labels, so that their series come out in order.
        self.by_name.sort_unstable_by(|&a, &b| {
            let (a, b) = (&entries[a], &entries[b]);
            (&a.descriptor.name, &a.const_labels).cmp(&(&b.descriptor.name, &b.const_labels))
        });
        let name = |k: usize| &entries[self.by_name[k]].descriptor.name;
        let same_name = (0..self.by_name.len()).map(|k| k > 0 && name(k - 1) == name(k));
        self.same_name.clear();
        self.same_name.extend(same_name);
    }
}

/// Puts each metric's series in label order without sorting them on every
/// collection: a family pushes its series in the order its map keeps them,
/// which changes only when a series is added or removed, so the order that
/// sorted them last time is tried first (one comparison per series) and a
/// sort runs only when it no longer fits.
#[derive(Default)]
struct SeriesOrder {
    /// By catalog entry: the permutation that sorted its series at the
    /// last collection (empty when they came in order).
    by_entry: Vec<Vec<u32>>,
    /// The series being reordered.
    scratch: Vec<Option<MetricSnapshot>>,
}

impl SeriesOrder {
    /// Orders `metrics[start..]`, the series of entry `entry`, by labels.
    fn sort(&mut self, metrics: &mut Vec<MetricSnapshot>, start: usize, entry: usize) {
        let series = &metrics[start..];
        let order = &mut self.by_entry[entry];
        if is_sorted(series.iter()) {
            order.clear();
            return;
        }
        let fits =
            order.len() == series.len() && is_sorted(order.iter().map(|&k| &series[k as usize]));
        if !fits {
            order.clear();
            order.extend(0..series.len() as u32);
            order.sort_unstable_by(|&a, &b| {
                series[a as usize].labels.cmp(&series[b as usize].labels)
            });
        }
        self.scratch.clear();
        self.scratch.extend(metrics.drain(start..).map(Some));
        let scratch = &mut self.scratch;
        metrics.extend(order.iter().filter_map(|&k| scratch[k as usize].take()));
    }
}

/// Whether `series` are in label order.
fn is_sorted<'a>(mut series: impl Iterator<Item = &'a MetricSnapshot>) -> bool {
    let Some(mut prev) = series.next() else {
        return true;
    };
    series.all(|s| {
        let ordered = prev.labels <= s.labels;
        prev = s;
        ordered
    })
}

/// Puts the series of one name's shapes, `metrics[start..]` (each shape's
/// already in label order), in label order, and merges series that have
/// the same labels: the overflow series (`overflow="true"`) of every
/// family shape. Their values add up (a state set keeps the first).
fn merge_shapes(metrics: &mut Vec<MetricSnapshot>, start: usize) {
    // Stable and run-aware: a few sorted runs are merged, not re-sorted.
    metrics[start..].sort_by(|a, b| a.labels.cmp(&b.labels));
    let mut write = start;
    for read in start..metrics.len() {
        if write > start && metrics[write - 1].labels == metrics[read].labels {
            let value = metrics[read].value.clone();
            add_value(&mut metrics[write - 1].value, &value);
        } else {
            metrics.swap(write, read);
            write += 1;
        }
    }
    metrics.truncate(write);
}

/// Adds `more` to `into` (values of one kind of metric).
fn add_value(into: &mut MetricValue, more: &MetricValue) {
    match (into, more) {
        (MetricValue::Counter(a), MetricValue::Counter(b)) => *a = a.wrapping_add(*b),
        (MetricValue::Gauge(a), MetricValue::Gauge(b)) => *a = a.wrapping_add(*b),
        (MetricValue::FloatGauge(a), MetricValue::FloatGauge(b)) => *a += *b,
        (MetricValue::Histogram(a), MetricValue::Histogram(b)) => *a = a.merged(b),
        _ => {}
    }
}

/// Every counter slot's total over all threads, into `totals`.
fn sum_counters(totals: &mut Vec<u64>, storage: &Storage, counter_slots: usize) {
    totals.clear();
    totals.resize(counter_slots, 0);
    storage.for_each_shard(|shard| {
        shard.read_counters(|slot, v| {
            // Cells past `counter_slots` belong to metrics registered
            // after this collection started.
            if let Some(t) = totals.get_mut(slot) {
                *t = t.wrapping_add(v);
            }
        })
    });
}

impl Fold<'_> {
    /// The total of counter `c`; `None` if it was registered after this
    /// collection read the slot count.
    pub(crate) fn counter(&self, c: &Counter) -> Option<u64> {
        self.counter_totals.get(c.slot().get()).copied()
    }

    /// Histogram `h` merged over all threads; `None` if it was registered
    /// after this collection read the slot count.
    pub(crate) fn histogram(&mut self, h: &Histogram) -> Option<HistogramSnapshot> {
        let invalid = self.counter_totals.get(h.invalid_slot().get()).copied()?;
        Some(self.histograms.fold(self.storage, h, invalid))
    }

    /// The storage the cells are read from.
    pub(crate) fn storage(&self) -> &Storage {
        self.storage
    }

    /// Forgets what the last collection folded for histogram `h`, whose
    /// cells were released (`Storage::release_histogram`).
    pub(crate) fn forget_histogram(&mut self, h: &Histogram) {
        self.histograms.forget(h.slot().get());
    }
}

#[cfg(test)]
mod tests {
    use crate::{Clock, Counter, CounterFamily, Gauge, Options, Registry};

    /// A registry on a fixed clock: `Registry::new` calibrates quanta's
    /// clock, which runs `cpuid` (inline assembly Miri cannot run), and
    /// these tests (run under Miri by `scripts/miri.sh`) time nothing.
    fn registry() -> Registry {
        Registry::with_clock(Clock::from_fn(|| 0))
    }

    fn routes(reg: &Registry) -> Vec<(String, u64)> {
        let snap = reg.collect();
        let names: Vec<&str> = snap.metrics().iter().map(|m| m.name()).collect();
        assert!(names.windows(2).all(|w| w[0] <= w[1]), "{names:?}");
        snap.series("req")
            .iter()
            .map(|m| {
                let route = m.labels().get("route").unwrap();
                let n = snap.counter_with("req", &[("route", route)]).unwrap();
                (route.to_string(), n)
            })
            .collect()
    }

    #[test]
    fn series_come_out_in_name_then_label_order_as_the_set_changes() {
        let reg = registry();
        reg.counter("zeta", "z").unwrap().inc();
        let f = reg.counter_family("req", "r", &["route"]).unwrap();
        reg.counter("alpha", "a").unwrap().inc();
        for r in ["m", "c", "x", "a"] {
            f.with(&[r]).inc();
        }
        let sorted = |v: &[&str]| v.iter().map(|r| (r.to_string(), 1)).collect::<Vec<_>>();
        assert_eq!(routes(&reg), sorted(&["a", "c", "m", "x"]));
        // The same set again: the last order is reused.
        assert_eq!(routes(&reg), sorted(&["a", "c", "m", "x"]));
        // A new series, and a metric registered between collections.
        f.with(&["b"]).inc();
        reg.counter("mid", "m").unwrap();
        assert_eq!(routes(&reg), sorted(&["a", "b", "c", "m", "x"]));
        assert_eq!(routes(&reg), sorted(&["a", "b", "c", "m", "x"]));
    }

    #[test]
    fn families_are_the_names_with_series_whatever_registered_them() {
        let reg = registry();
        reg.counter("a", "").unwrap().inc();
        let _unused = reg.counter_family("b", "", &["route"]).unwrap();
        let shape = |labels: &[&str]| Options::new("jobs", "").labels(labels);
        let plain: Counter = reg.register_shape(Options::new("jobs", "")).unwrap();
        let by_queue: CounterFamily = reg.register_shape(shape(&["queue"])).unwrap();
        plain.inc();
        by_queue.inc(&["q"]);
        for region in ["eu", "us"] {
            let scoped = reg.with_const_labels(&[("region", region)]).unwrap();
            scoped.counter("req", "").unwrap().inc();
        }
        reg.histogram("z", "", crate::Unit::None).unwrap().record(1);
        for _ in 0..2 {
            let snap = reg.collect();
            let families: Vec<(&str, usize)> = snap
                .families()
                .map(|(d, series)| {
                    assert!(series.iter().all(|m| m.descriptor().name() == d.name()));
                    (d.name(), series.len())
                })
                .collect();
            // Grouped by name over the series themselves (the families'
            // own overflow tallies, `b_overflow` and `jobs_overflow`, are
            // names of their own).
            let mut by_name: Vec<(&str, usize)> = Vec::new();
            for m in snap.metrics() {
                match by_name.last_mut() {
                    Some((name, n)) if *name == m.descriptor().name() => *n += 1,
                    _ => by_name.push((m.descriptor().name(), 1)),
                }
            }
            assert_eq!(families, by_name);
            let names: Vec<&str> = families.iter().map(|f| f.0).collect();
            assert_eq!(
                names,
                ["a", "b_overflow", "jobs", "jobs_overflow", "req", "z"]
            );
            assert_eq!((families[2].1, families[4].1), (2, 2));
        }
    }

    #[test]
    fn shapes_of_one_name_are_one_metric_with_one_overflow_series() {
        let reg = registry();
        let family = |labels: &[&str]| Options::new("jobs", "Jobs").labels(labels).max_series(1);
        let by_queue: CounterFamily = reg.register_shape(family(&["queue"])).unwrap();
        let plain: Counter = reg.register_shape(Options::new("jobs", "")).unwrap();
        let by_both: CounterFamily = reg.register_shape(family(&["queue", "retry"])).unwrap();
        // The same shape again is the same metric.
        let again: CounterFamily = reg.register_shape(family(&["queue"])).unwrap();
        // Refused: the same label names in another order, another kind,
        // and a shape through the public (strict) registration.
        assert!(reg
            .register_shape::<CounterFamily>(family(&["retry", "queue"]))
            .is_err());
        assert!(reg
            .register_shape::<Gauge>(Options::new("jobs", ""))
            .is_err());
        assert!(reg.counter_family("jobs", "Jobs", &["x"]).is_err());
        // It finds an existing shape, though.
        let public = reg
            .counter_family("jobs", "Jobs", &["queue", "retry"])
            .unwrap();
        public.inc(&["a", "1"]);

        plain.inc();
        by_queue.inc(&["a"]);
        again.inc(&["a"]);
        by_queue.inc(&["b"]); // past the limit
        by_both.inc(&["a", "1"]);
        by_both.inc(&["b", "2"]); // past the limit
        let snap = reg.collect();
        let series: Vec<(String, u64)> = snap
            .series("jobs")
            .iter()
            .map(|m| {
                (
                    m.labels().to_string(),
                    snap.counter_with("jobs", &pairs(m)).unwrap(),
                )
            })
            .collect();
        let want = [
            ("", 1),
            ("{overflow=\"true\"}", 2),
            ("{queue=\"a\"}", 2),
            ("{queue=\"a\",retry=\"1\"}", 2),
        ];
        let want: Vec<(String, u64)> = want.iter().map(|&(l, n)| (l.to_owned(), n)).collect();
        assert_eq!(series, want);
        assert_eq!(snap.counter("jobs_overflow"), Some(2));
        assert_eq!(reg.collect().series("jobs").len(), 4);
    }

    /// Shapes registered through views with constant labels: each view's
    /// shapes, the siblings of the other view's, all one family.
    #[test]
    fn shapes_and_constant_labels_make_one_family() {
        let reg = registry();
        let a = reg.with_const_labels(&[("svc", "a")]).unwrap();
        let b = reg.with_const_labels(&[("svc", "b")]).unwrap();
        let family = |labels: &[&str]| Options::new("jobs", "Jobs").labels(labels);
        let a_plain: Counter = a.register_shape(Options::new("jobs", "")).unwrap();
        let a_queue: CounterFamily = a.register_shape(family(&["queue"])).unwrap();
        let b_queue: CounterFamily = b.register_shape(family(&["queue"])).unwrap();
        let b_plain: Counter = b.register_shape(Options::new("jobs", "")).unwrap();
        // The same shape through the same view is the same metric.
        let again: Counter = a.register_shape(Options::new("jobs", "")).unwrap();
        // Other constant label names than the family has: refused.
        let other = reg.with_const_labels(&[("region", "eu")]).unwrap();
        assert!(other
            .register_shape::<Counter>(Options::new("jobs", ""))
            .is_err());
        a_plain.inc();
        again.inc();
        a_queue.inc(&["x"]);
        b_queue.add(&["x"], 5);
        b_plain.add(7);
        let snap = reg.collect();
        let series: Vec<String> = (snap.series("jobs").iter())
            .map(|m| {
                format!(
                    "{} {}",
                    m.labels(),
                    snap.counter_with("jobs", &pairs(m)).unwrap()
                )
            })
            .collect();
        assert_eq!(
            series,
            [
                "{svc=\"a\"} 2",
                "{svc=\"a\",queue=\"x\"} 1",
                "{svc=\"b\"} 7",
                "{svc=\"b\",queue=\"x\"} 5",
            ]
        );
        // One family: every series shares the first registration's
        // descriptor.
        let first = snap.series("jobs")[0].descriptor();
        assert!((snap.series("jobs").iter()).all(|m| std::ptr::eq(m.descriptor(), first)));
    }

    fn pairs(m: &crate::MetricSnapshot) -> Vec<(&str, &str)> {
        m.labels().iter().collect()
    }

    #[test]
    fn at_most_max_shapes_shapes_per_name() {
        let reg = registry();
        let mut kept = 0;
        for i in 0..2 * super::super::catalog::MAX_SHAPES {
            let options = Options::new("many", "").labels(&[format!("k{i}")]);
            kept += usize::from(reg.register_shape::<CounterFamily>(options).is_ok());
        }
        assert_eq!(kept, super::super::catalog::MAX_SHAPES);
    }

    #[test]
    fn a_collection_reads_again_only_the_chunks_recorded_into() {
        let reg = registry();
        let h = reg.histogram("lat", "l", crate::Unit::None).unwrap();
        // One bucket per octave from 2^7 on: each in a chunk of its own.
        let values = (7..40).map(|k| 1u64 << k);
        values.clone().for_each(|v| h.record(v));
        let reads = || reg.chunk_reads().0;
        let counts_read = || reg.chunk_reads().1;
        let chunks = reg.collect().histogram("lat").unwrap().buckets().count();
        let after_first = reads();
        assert_eq!(chunks, 33);
        assert_eq!(after_first, chunks);
        assert_eq!(counts_read(), chunks);
        // Nothing recorded: not even a chunk's count is read.
        reg.collect();
        assert_eq!((reads(), counts_read()), (chunks, chunks));
        // Another thread records twice into a new chunk, once into a kept one.
        std::thread::scope(|s| {
            s.spawn(|| [3, 3, 1 << 20].into_iter().for_each(|v| h.record(v)));
        });
        let snap = reg.collect();
        let second = snap.histogram("lat").unwrap();
        assert_eq!(
            reads() - after_first,
            3,
            "the new chunk from one thread, the kept one from both"
        );
        // Of the first thread, only the chunks of the two groups recorded
        // into have their counts read.
        let p = h.precision();
        let group = |v: u64| p.index(v) / crate::storage::GROUP_BUCKETS;
        let in_groups = values
            .clone()
            .filter(|&v| [group(3), group(1 << 20)].contains(&group(v)));
        let walked = chunks + in_groups.count() + 2;
        assert_eq!(
            counts_read(),
            walked,
            "the counts of both threads' groups recorded into"
        );
        assert_eq!(second.count(), 36);
        assert_eq!(second.sum(), values.sum::<u64>() as u128 + 6 + (1 << 20));
        assert_eq!((second.min(), second.max()), (Some(3), Some(1 << 39)));
        // Nothing since: nothing is read.
        reg.collect();
        assert_eq!(reads() - after_first, 3);
        assert_eq!(counts_read(), walked);
    }
}
