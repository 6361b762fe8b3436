//! The collector's side of a family: folding its series into a snapshot,
//! and the whole eviction lifecycle of a series.
//!
//! ```text
//!   live ──idle for N collections──► unlinked ──retired──► reclaimable ──► recycled
//!  (in the table)   (collect)       (tombstone; readers    (no reader     (its metric, with
//!                                    may still hold it)     can reach it)  what its cells hold,
//!                                                                          serves a new series)
//! ```
//!
//! The collector drives every step, under the registry's collector lock, in
//! two phases per collection:
//!
//! 1. [`Family::prepare`], for every family, **before any cell is read**:
//!    takes the evicted series that no reader can reach any more (the
//!    family's `Reclaim` says when). No thread can
//!    record into them from then on, so the cells read in phase 2 hold
//!    their final values.
//! 2. [`Family::collect`]: reports every live series (its value minus its
//!    baseline), the overflow series once anything went there, then
//!    evicts the series idle for `evict_after` collections (unlinked and
//!    retired: still in this snapshot, their last appearance) and settles
//!    the series taken in phase 1: their final values go to
//!    `<name>_evicted`, their metrics, with what their cells hold, to the
//!    free list for a new series to reuse.
//!
//! A record racing an eviction lands either in the evicted series (and so
//! in its final value) or in a new series for the same label set: the
//! unlinked series stays recordable until its reclamation, and its final
//! value is read only after it (loom model `eviction_vs_record`).
#![forbid(unsafe_code)]

use super::family::{Family, Retired};
use super::map::{Baseline, Series};
use crate::snapshot::{LabelSet, MetricValue};
use crate::sync::{lock, FrozenArc, Ordering};

/// How the collector reaches a series' cells (the registry's fold).
pub(crate) trait CellAccess<M> {
    /// A metric's absolute value, the total of its cells; `None` for a
    /// metric registered after the collection started.
    fn read(&mut self, metric: &M) -> Option<MetricValue>;

    /// Frees what the cells of `metric` allocated as they were recorded
    /// into (a histogram's bucket chunks), so that a recycled metric holds
    /// only what its next series touches, and returns the metric to
    /// recycle: the same cells under a new name, which no thread's cache
    /// of the freed cells answers to. Called only for the metric of a
    /// reclaimed series: no thread can record into it, and it goes back
    /// into use only through the family's lock.
    fn release(&mut self, metric: &M) -> M;
}

impl<M: Clone> Family<M> {
    /// Phase 1 (see the module docs): takes the evicted series that no
    /// reader can reach any more. Call for every family before reading any
    /// cell of the collection.
    pub(crate) fn prepare(&self) {
        let inner = &*self.inner;
        if inner.evict_after != 0 {
            let mut reclaimed = lock(&inner.reclaimed);
            for r in inner.reclaim.take_ready() {
                match r {
                    Retired::Series(s) => reclaimed.push(s),
                    // No lookup can be probing it any more: freed here.
                    Retired::Slots(old) => drop(old),
                }
            }
        }
    }

    /// Phase 2 (see the module docs): pushes one value per series, then
    /// the overflow series if `overflowed` (the overflowed-lookups count)
    /// is non-zero; then evicts idle series and settles reclaimed ones.
    ///
    /// `cells` reads a metric's absolute value, the total of its cells.
    pub(crate) fn collect(
        &self,
        cells: &mut dyn CellAccess<M>,
        overflowed: Option<u64>,
        push: &mut dyn FnMut(LabelSet, MetricValue),
    ) {
        let inner = &*self.inner;
        if inner.evict_after != 0 {
            // Gauges evicted earlier that were set since: live again, and
            // in this snapshot.
            inner.map.relink(|s| {
                let last = s.last.load(Ordering::Relaxed);
                cells.read(&s.metric).is_some_and(|v| activity(&v) != last)
            });
        }
        let mut idle = Vec::new();
        for s in inner.map.series() {
            let Some(v) = cells.read(&s.metric) else {
                continue;
            };
            let v = minus(v, &s.baseline);
            if inner.evict_after != 0 && is_idle(&s, &v, inner.evict_after) {
                idle.push((s.clone(), is_last_value(&v)));
            }
            push(s.labels.clone(), v);
        }
        if overflowed.is_some_and(|n| n > 0) {
            if let Some(v) = cells.read(&inner.overflow) {
                push(overflow_labels(), v);
            }
        }
        if inner.evict_after == 0 {
            return;
        }
        for (s, keep) in &idle {
            self.evict(s, *keep);
        }
        if let Some(old) = inner.map.compact() {
            inner.reclaim.retire(Retired::Slots(old));
        }
        self.settle_reclaimed(cells);
    }

    /// Unlinks `series` (unless a handle to it was bound) and retires it;
    /// with `keep`, it stays a ghost of its label set until reclaimed.
    fn evict(&self, series: &FrozenArc<Series<M>>, keep: bool) {
        if let Some(s) = self.inner.map.evict(series, keep) {
            self.inner.reclaim.retire(Retired::Series(s));
        }
    }

    /// The series taken by [`prepare`](Self::prepare): their final values
    /// (complete, since no thread can record into them any more) go to
    /// `<name>_evicted`, their metrics to the free list: a counter with its
    /// total as baseline, a histogram with its cells released (only its
    /// `invalid` tally, a counter, stays as baseline).
    fn settle_reclaimed(&self, cells: &mut dyn CellAccess<M>) {
        let inner = &*self.inner;
        let reclaimed = std::mem::take(&mut *lock(&inner.reclaimed));
        for s in reclaimed {
            // Its final value was checked by `relink` in this collection,
            // after `prepare` took it: a ghost left now is unchanged.
            inner.map.forget(&s);
            let Some(abs) = cells.read(&s.metric) else {
                continue;
            };
            let n = match minus(abs.clone(), &s.baseline) {
                MetricValue::Counter(v) => v,
                MetricValue::Histogram(h) => h.count(),
                // A gauge family counts the series evicted.
                _ => 1,
            };
            if let Some(c) = &inner.evicted {
                c.add_always(n);
            }
            let recycled = match abs {
                MetricValue::Counter(v) => (s.metric.clone(), Baseline::Counter(v)),
                MetricValue::Histogram(h) => {
                    (cells.release(&s.metric), Baseline::Invalid(h.invalid()))
                }
                // A gauge is one shared cell holding its last value: not
                // recycled, a new series gets a new gauge.
                _ => continue,
            };
            lock(&inner.free).push(recycled);
        }
    }
}

/// Whether `series`, now reporting `v`, has been unchanged for `after`
/// collections in a row (updating its bookkeeping).
fn is_idle<M>(series: &Series<M>, v: &MetricValue, after: u64) -> bool {
    // Relaxed: only the collector touches these, under its lock.
    let a = activity(v);
    if a == series.last.load(Ordering::Relaxed) {
        let n = series.idle.load(Ordering::Relaxed) + 1;
        series.idle.store(n, Ordering::Relaxed);
        n >= after
    } else {
        series.last.store(a, Ordering::Relaxed);
        series.idle.store(0, Ordering::Relaxed);
        false
    }
}

/// Whether `v` is a last-value metric (a gauge): one cell that a series
/// for the same label set takes over instead of starting afresh.
fn is_last_value(v: &MetricValue) -> bool {
    matches!(v, MetricValue::Gauge(_) | MetricValue::FloatGauge(_))
}

/// `v` minus what the metric's cells already held when its series got them.
fn minus(v: MetricValue, baseline: &Baseline) -> MetricValue {
    match (v, baseline) {
        (MetricValue::Counter(v), Baseline::Counter(b)) => MetricValue::Counter(v.wrapping_sub(*b)),
        (MetricValue::Histogram(h), Baseline::Invalid(n)) => {
            MetricValue::Histogram(h.with_invalid(h.invalid().wrapping_sub(*n)))
        }
        (v, _) => v,
    }
}

/// A figure that changes whenever a series is recorded into (for idleness).
fn activity(v: &MetricValue) -> u64 {
    match v {
        MetricValue::Counter(v) => *v,
        MetricValue::Histogram(h) => h.count().wrapping_add(h.invalid()),
        MetricValue::Gauge(g) => *g as u64,
        MetricValue::FloatGauge(g) => g.to_bits(),
        _ => 0,
    }
}

/// The label set of a family's overflow series.
fn overflow_labels() -> LabelSet {
    LabelSet::new([("overflow", "true")])
}
