//! [`PairBinding`]: a `FamilyPair<Counter, Histogram>`'s label sets of
//! `'static` values bound, on each thread, to that thread's cells of both
//! series.
//!
//! A label set of `'static` values has a key of a few words
//! (`static_key.rs`). The shared lookup by that key probes the pair's
//! alias table, reaches the entry's two handles, and each handle then finds
//! this thread's cells through the part cache: a chain of dependent loads.
//! The first time a thread records a label set the pair has an entry for,
//! it binds the key to both cells in a table of its own
//! (`Storage::bind_pair`); from then on a record is one probe of that
//! table and the two writes, as through `local()` handles.
//!
//! Only label sets with an entry are bound: one a member refused goes to
//! the overflow series through the shared path every time, so every such
//! lookup is still counted in `<name>_overflow`.

use super::family::Family;
use crate::buckets::Precision;
use crate::descriptor::Unit;
use crate::handle::{Core, Counter, Histogram};
use crate::storage::{OwnedCell, OwnedHistogram, Storage};
use crate::sync::{Arc, BoundKey, PartKey};

/// What a pair records through on a bound label set: the name its bindings
/// are made under, and what the members' handles would read on each record
/// (their registries' switches and the histograms' settings).
pub(super) struct PairBinding {
    /// Unique to this pair: no other owner's binding is ever matched.
    owner: PartKey,
    counter_core: Arc<Core>,
    histogram_core: Arc<Core>,
    precision: Precision,
    unit: Unit,
}

impl PairBinding {
    /// The binding of a pair of `first` and `second` (used only when they
    /// are a counter and a histogram family).
    pub(super) fn new<A, B, S>(first: &Family<A, S>, second: &Family<B, S>) -> Self {
        let ctx = &second.inner.ctx;
        PairBinding {
            owner: PartKey::new(),
            counter_core: first.inner.ctx.core.clone(),
            histogram_core: ctx.core.clone(),
            precision: ctx.precision,
            unit: ctx.unit,
        }
    }

    /// The members' histograms' unit.
    pub(super) fn unit(&self) -> Unit {
        self.unit
    }

    /// Adds one to the counter and records `value` into the histogram this
    /// thread bound `key` to; false (nothing recorded) if it bound none.
    #[inline(always)]
    pub(super) fn record(&self, key: &BoundKey, value: u64) -> bool {
        // SAFETY: `owner` is this pair's own, bound only by `bind_and_record`
        // with `bind_pair`. The cells bound are those of series in the
        // pair's index, whose entries keep a handle to each for as long as
        // the pair lives, and its members do not evict (refused by
        // `FamilyPair::new`): histogram cells are released only for an
        // evicting family's reclaimed series, so none bound here is while
        // the pair, through whose `&self` every call with `owner` comes,
        // lives.
        let bound = unsafe {
            Storage::with_bound_pair(
                self.owner,
                key,
                #[inline(always)]
                |cell, cells| self.write(cell, cells, value),
            )
        };
        bound.is_some()
    }

    /// Binds `key` to this thread's cells of `counter` and `histogram`
    /// (the series of the pair's entry for it), and records as
    /// [`record`](Self::record) does.
    #[cold]
    #[inline(never)]
    pub(super) fn bind_and_record(
        &self,
        key: &BoundKey,
        counter: &Counter,
        histogram: &Histogram,
        value: u64,
    ) {
        counter.with_cell(|cell| {
            histogram.with_cells(|cells| {
                Storage::bind_pair(self.owner, key, cell, cells);
                self.write(cell, cells, value);
            })
        });
    }

    /// What `Counter::inc` and `Histogram::record` write, each while its
    /// registry records.
    #[inline(always)]
    fn write(&self, cell: OwnedCell<'_>, cells: OwnedHistogram<'_>, value: u64) {
        if self.counter_core.enabled() {
            cell.add(1);
        }
        if self.histogram_core.enabled() {
            cells.record(self.precision, value);
        }
    }
}
