//! [`CellBinding`]: label sets of `'static` values bound, on each thread,
//! to that thread's cells of the series they record into: what a
//! `FamilyPair<Counter, Histogram>` and a `ResponseTracker` record through.
//!
//! A label set of `'static` values has a key of a few words
//! (`static_key.rs`). The shared lookup by that key probes the owner's
//! alias table, reaches the entry's handles, and each handle then finds
//! this thread's cells through the part cache: a chain of dependent loads,
//! one more per handle. The first time a thread records a label set its
//! owner has an entry for, the owner binds the key to all those cells at
//! once in a table of the thread's own (`storage/bound_cells.rs`); from
//! then on a record is one probe of that table and the writes, as through
//! `local()` handles.
//!
//! Only label sets with an entry are bound: one a family refused goes to
//! the overflow series through the shared path every time, so every such
//! lookup is still counted in `<name>_overflow`. Only owners whose
//! families all record into one registry have a binding (one switch to
//! read, one shard to bind from).

use super::family::Family;
use crate::buckets::Precision;
use crate::descriptor::Unit;
use crate::handle::{Core, Counter, Histogram};
use crate::storage::{bind_cells, with_bound_cells, OwnedCell, OwnedHistogram};
use crate::sync::{Arc, PartKey};

/// What an owner records through on a bound label set of `K` key words: up
/// to `C` counters and one histogram (`P` is `C + 1`, the parts a binding
/// holds). Built for series whose cells are never released while it lives.
/// A clone binds under the same name: it stands for the same series.
#[derive(Clone)]
pub(crate) struct CellBinding<const K: usize, const C: usize, const P: usize> {
    /// Unique to this binding: no other owner's binding is ever matched.
    owner: PartKey,
    /// The registry every series bound records into: its switch, and its
    /// storage to bind from.
    core: Arc<Core>,
    /// The histograms' settings (their family's).
    precision: Precision,
    unit: Unit,
}

impl<const K: usize, const C: usize, const P: usize> CellBinding<K, C, P> {
    /// A binding for series of `histograms` and of counter families that
    /// record into `counter_cores`; `None` unless they all record into the
    /// registry `histograms` does. (Generic over the family's metric so
    /// that a `FamilyPair` of any members can hold one: only a counter and
    /// histogram pair records through it.)
    pub(crate) fn new<M, S>(
        histograms: &Family<M, S>,
        counter_cores: &[&Arc<Core>],
    ) -> Option<Self> {
        let ctx = &histograms.inner.ctx;
        if !counter_cores.iter().all(|c| Arc::ptr_eq(c, &ctx.core)) {
            return None;
        }
        Some(CellBinding {
            owner: PartKey::new(),
            core: ctx.core.clone(),
            precision: ctx.precision,
            unit: ctx.unit,
        })
    }

    /// The histograms' unit.
    pub(crate) fn unit(&self) -> Unit {
        self.unit
    }

    /// Adds one to each counter and records `value` into the histogram this
    /// thread bound `key` to; false (nothing recorded) if it bound none.
    #[inline(always)]
    pub(crate) fn record(&self, key: &[u64; K], value: u64) -> bool {
        // SAFETY: `owner` is this binding's own, bound only by
        // `bind_and_record` with `bind_cells::<K, C, P>`, whose callers
        // guarantee that no histogram they bind is released while this
        // binding lives; every call with `owner` comes through `&self`.
        let bound = unsafe {
            with_bound_cells::<K, C, P, _>(
                self.owner,
                key,
                #[inline(always)]
                |counters, cells| self.write(counters, cells, value),
            )
        };
        bound.is_some()
    }

    /// Binds `key` to this thread's cells of `counters` (those present) and
    /// `histogram`, and records as [`record`](Self::record) does.
    ///
    /// # Safety
    ///
    /// Every series given records into this binding's registry, and
    /// `histogram`'s cells are never released while the binding lives: it
    /// is not a series of a family that evicts.
    #[cold]
    #[inline(never)]
    pub(crate) unsafe fn bind_and_record(
        &self,
        key: &[u64; K],
        counters: [Option<&Counter>; C],
        histogram: &Histogram,
        value: u64,
    ) {
        self.core.storage.with_shard(|shard| {
            // The cells of one registry are in its shard; those of this
            // thread's, reached under the token it holds for this call.
            let cells = shard.histogram(histogram.slot(), self.precision);
            let counters = counters.map(|c| c.map(|c| shard.counter(c.slot())));
            bind_cells::<K, C, P>(self.owner, key, counters, cells);
            self.write(counters, cells, value);
        });
    }

    /// What `Counter::inc` and `Histogram::record` write while the registry
    /// records.
    #[inline(always)]
    fn write(&self, counters: [Option<OwnedCell<'_>>; C], cells: OwnedHistogram<'_>, value: u64) {
        if self.core.enabled() {
            counters.into_iter().flatten().for_each(|c| c.add(1));
            cells.record(self.precision, value);
        }
    }
}
