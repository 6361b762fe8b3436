//! The collector: folds every thread's cells into a [`Snapshot`].
//!
//! One collection, under the registry's collector lock:
//!
//! 1. every metric's [`Kind::prepare`](super::kind::Kind::prepare) (a
//!    family that evicts takes the series no reader can reach any more,
//!    before any cell is read: `family/evict.rs`);
//! 2. one pass over each thread's dense counter cells, summing every
//!    counter slot;
//! 3. every metric's [`Kind::fold`](super::kind::Kind::fold), in
//!    registration order, reading through [`Fold`]: counters from the
//!    sums of step 2, histograms merged over all threads on demand.
//!
//! Writers are never paused: cells are read with atomic loads while their
//! owners keep recording (`docs/design.md`).
#![forbid(unsafe_code)]

use super::catalog::Entry;
use crate::handle::{Counter, Histogram};
use crate::snapshot::{HistogramSnapshot, MetricSnapshot, Snapshot};
use crate::storage::{Storage, CHUNK_BUCKETS};

/// The collector's state between collections: the generation and scratch
/// buffers reused by every collection.
#[derive(Default)]
pub(crate) struct Collector {
    generation: u64,
    scratch: Scratch,
}

#[derive(Default)]
struct Scratch {
    counter_totals: Vec<u64>,
    /// Dense per-bucket sums for the histogram being merged; all zero
    /// between histograms.
    buckets: Vec<u64>,
    /// Which chunks of `buckets` were touched.
    touched: Vec<bool>,
}

/// What a metric reads its cells through during a collection.
pub(crate) struct Fold<'a> {
    storage: &'a Storage,
    scratch: &'a mut Scratch,
}

impl Collector {
    /// A new snapshot of `entries`, whose counter cells lie below
    /// `counter_slots`.
    pub(crate) fn fold(
        &mut self,
        storage: &Storage,
        entries: &[Entry],
        counter_slots: usize,
    ) -> Snapshot {
        self.generation += 1;
        for e in entries {
            e.metric.prepare();
        }
        self.scratch.sum_counters(storage, counter_slots);
        let mut fold = Fold {
            storage,
            scratch: &mut self.scratch,
        };
        let mut metrics = Vec::with_capacity(entries.len());
        for e in entries {
            e.metric.fold(&mut fold, &mut |labels, value| {
                metrics.push(MetricSnapshot {
                    descriptor: e.descriptor.clone(),
                    labels,
                    value,
                })
            });
        }
        Snapshot::new(self.generation, metrics)
    }
}

impl Scratch {
    /// Every counter slot's total over all threads.
    fn sum_counters(&mut self, storage: &Storage, counter_slots: usize) {
        let totals = &mut self.counter_totals;
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
}

impl Fold<'_> {
    /// The total of counter `c`; `None` if it was registered after this
    /// collection read the slot count.
    pub(crate) fn counter(&self, c: &Counter) -> Option<u64> {
        self.scratch.counter_totals.get(c.slot().get()).copied()
    }

    /// Histogram `h` merged over all threads; `None` if it was registered
    /// after this collection read the slot count.
    pub(crate) fn histogram(&mut self, h: &Histogram) -> Option<HistogramSnapshot> {
        let s = &mut *self.scratch;
        let invalid = s.counter_totals.get(h.invalid_slot().get()).copied()?;
        let precision = h.precision();
        let chunks = precision.bucket_count().div_ceil(CHUNK_BUCKETS);
        if s.buckets.len() < chunks * CHUNK_BUCKETS {
            s.buckets.resize(chunks * CHUNK_BUCKETS, 0);
            s.touched.resize(chunks, false);
        }
        let (buckets, touched) = (&mut s.buckets, &mut s.touched);
        let (mut sum, mut min, mut max) = (0u128, u64::MAX, 0u64);
        self.storage.for_each_shard(|shard| {
            let Some(cells) = shard.read_histogram(h.slot()) else {
                return;
            };
            let (lo, hi) = cells.read(|first, counts, chunk_sum| {
                touched[first / CHUNK_BUCKETS] = true;
                for (b, &c) in buckets[first..first + CHUNK_BUCKETS].iter_mut().zip(counts) {
                    *b = b.wrapping_add(c);
                }
                sum += chunk_sum;
            });
            min = min.min(lo);
            max = max.max(hi);
        });
        let mut nonzero = Vec::new();
        for (chunk, t) in touched.iter_mut().enumerate() {
            if !std::mem::take(t) {
                continue;
            }
            let first = chunk * CHUNK_BUCKETS;
            for (i, b) in buckets[first..first + CHUNK_BUCKETS].iter_mut().enumerate() {
                let c = std::mem::take(b);
                if c > 0 {
                    nonzero.push(((first + i) as u32, c));
                }
            }
        }
        Some(HistogramSnapshot::from_parts(
            precision, nonzero, sum, min, max, invalid,
        ))
    }
}
