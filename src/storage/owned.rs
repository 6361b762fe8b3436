//! The owner's write capability: the only way to write a shard's cells.
//!
//! Every cell has one writer, the thread that owns the shard (the
//! single-writer protocol of `docs/design.md`: a plain load and store, no
//! read-modify-write). The types here make that a property of the types
//! rather than of doc comments: an [`Owned`] shard is handed out only by
//! [`Storage::with_shard`](super::Storage::with_shard) (for one call) and
//! [`Storage::hold_shard`](super::Storage::hold_shard) (with a hold on the
//! thread's owner token), which look up the calling thread's own shard
//! ([`Storage::with_counter`](super::Storage::with_counter) and
//! [`Storage::with_histogram`](super::Storage::with_histogram) look up a
//! metric's cells in it), and it and the cells it gives ([`OwnedCell`],
//! [`OwnedHistogram`]) are `!Send` and `!Sync`, so they never reach another
//! thread. The collector's side of a [`Shard`] only reads.
//!
//! All of it is a reference plus a zero-sized marker: nothing is added to
//! the recording path.
#![forbid(unsafe_code)]

use super::histogram_cells::HistogramCells;
use super::segments::SlotIndex;
use super::shard::Shard;
use crate::buckets::Precision;
use crate::sync::{AtomicU64, Ordering};
use std::marker::PhantomData;

/// `!Send + !Sync`: a capability stays on the thread it was made for.
type OwnerOnly = PhantomData<*const ()>;

/// The calling thread's shard, writable.
#[derive(Clone, Copy)]
pub(crate) struct Owned<'a> {
    shard: &'a Shard,
    _owner: OwnerOnly,
}

/// A counter cell of the calling thread's shard.
#[derive(Clone, Copy)]
pub(crate) struct OwnedCell<'a> {
    cell: &'a AtomicU64,
    _owner: OwnerOnly,
}

/// A histogram's cells in the calling thread's shard.
#[derive(Clone, Copy)]
pub(crate) struct OwnedHistogram<'a> {
    cells: &'a HistogramCells,
    _owner: OwnerOnly,
}

impl<'a> Owned<'a> {
    /// Wraps the shard of the calling thread. Only
    /// [`Storage`](super::Storage) calls it, with the shard its per-thread
    /// store gave the calling thread.
    #[inline(always)]
    pub(super) fn new(shard: &'a Shard) -> Owned<'a> {
        Owned {
            shard,
            _owner: PhantomData,
        }
    }

    /// This thread's cell of counter slot `at`.
    #[inline(always)]
    pub(crate) fn counter(self, at: SlotIndex) -> OwnedCell<'a> {
        OwnedCell {
            cell: self.shard.counter_cell(at),
            _owner: PhantomData,
        }
    }

    /// This thread's cells of histogram slot `at` (created on first use).
    #[inline(always)]
    pub(crate) fn histogram(self, at: SlotIndex, precision: Precision) -> OwnedHistogram<'a> {
        OwnedHistogram::new(self.shard.histogram_cells(at, precision))
    }
}

impl<'a> OwnedCell<'a> {
    /// Wraps a counter cell of the calling thread's shard (as
    /// [`OwnedHistogram::new`]).
    #[inline(always)]
    pub(super) fn new(cell: &'a AtomicU64) -> OwnedCell<'a> {
        OwnedCell {
            cell,
            _owner: PhantomData,
        }
    }

    /// The cell itself, to bind it (`bound_cells.rs`).
    #[inline(always)]
    pub(super) fn cell(self) -> &'a AtomicU64 {
        self.cell
    }

    /// Adds `n` (wrapping).
    ///
    /// A plain load and store, not `fetch_add`: with a single writer no
    /// update can slip in between, so the `lock`-prefixed read-modify-write
    /// (and the full barrier it implies on x86) buys nothing. Relaxed is
    /// enough: readers only need to see some recent value, and synchronise
    /// with the writer through whatever made them read (a join, a channel,
    /// the collector lock).
    #[inline(always)]
    pub(crate) fn add(self, n: u64) {
        let cell = self.cell;
        cell.store(
            cell.load(Ordering::Relaxed).wrapping_add(n),
            Ordering::Relaxed,
        );
    }
}

impl<'a> OwnedHistogram<'a> {
    /// Wraps cells of the calling thread's shard. Only [`Owned`] and
    /// [`Storage::with_histogram`](super::Storage::with_histogram) call it,
    /// with cells they found in the shard the per-thread store gave the
    /// calling thread.
    #[inline(always)]
    pub(super) fn new(cells: &'a HistogramCells) -> OwnedHistogram<'a> {
        OwnedHistogram {
            cells,
            _owner: PhantomData,
        }
    }

    /// The cells themselves, to bind them (`bound_cells.rs`).
    #[inline(always)]
    pub(super) fn cells(self) -> &'a HistogramCells {
        self.cells
    }

    /// Records `value`; `precision` is the one the cells were made with.
    #[inline(always)]
    pub(crate) fn record(self, precision: Precision, value: u64) {
        self.cells.record(precision, value);
    }

    /// Records the non-NaN `value`; `precision` as for [`record`](Self::record).
    #[inline(always)]
    pub(crate) fn record_f64(self, precision: Precision, value: f64) {
        self.cells.record_f64(precision, value);
    }

    /// As [`record`](Self::record), through the cells' last-chunk cache.
    #[inline(always)]
    pub(crate) fn record_clustered(self, precision: Precision, value: u64) {
        self.cells.record_clustered(precision, value);
    }
}

/// Compile-time check that the capabilities are neither `Send` nor `Sync`:
/// were one of them `Send` (or `Sync`), both impls below would apply to it
/// and the call in `_check` would be ambiguous, a compile error.
#[allow(dead_code)]
mod not_send {
    use super::{Owned, OwnedCell, OwnedHistogram};

    trait AmbiguousIfSend<A> {
        fn check() {}
    }
    impl<T: ?Sized> AmbiguousIfSend<()> for T {}
    impl<T: ?Sized + Send> AmbiguousIfSend<u8> for T {}

    trait AmbiguousIfSync<A> {
        fn check() {}
    }
    impl<T: ?Sized> AmbiguousIfSync<()> for T {}
    impl<T: ?Sized + Sync> AmbiguousIfSync<u8> for T {}

    fn _check() {
        <Owned<'static> as AmbiguousIfSend<_>>::check();
        <OwnedCell<'static> as AmbiguousIfSend<_>>::check();
        <OwnedHistogram<'static> as AmbiguousIfSend<_>>::check();
        <Owned<'static> as AmbiguousIfSync<_>>::check();
        <OwnedCell<'static> as AmbiguousIfSync<_>>::check();
        <OwnedHistogram<'static> as AmbiguousIfSync<_>>::check();
    }
}
