//! Cells bound to a key on the calling thread: a few counter cells and one
//! histogram's cells that one label set records into, found again with one
//! probe of the thread's bindings (`sync/per_thread/bound.rs`) instead of
//! a shared lookup and then one part-cache look-up per handle.
//!
//! [`bind_cells`] is safe: an [`OwnedCell`] or [`OwnedHistogram`] is proof
//! that the calling thread holds the token of the shard the cells are in.
//! [`with_bound_cells`] is `unsafe` only for what the storage cannot see:
//! that the histogram cells bound are not released while their owner still
//! looks them up.

use super::histogram_cells::HistogramCells;
use super::owned::{OwnedCell, OwnedHistogram};
use crate::sync::{bind, bound, AtomicU64, PartKey};
use std::ptr;

/// Binds this thread's `counters` (`C` of them, each present or not) and
/// histogram `cells` (if any) to the `K`-word `key` under `owner`, for
/// [`with_bound_cells`] to find all at once. `P` is `C + 1`; an owner
/// always binds with the same `K` and `C`.
#[inline]
pub(crate) fn bind_cells<const K: usize, const C: usize, const P: usize>(
    owner: PartKey,
    key: &[u64; K],
    counters: [Option<OwnedCell<'_>>; C],
    cells: Option<OwnedHistogram<'_>>,
) {
    const { assert!(P == C + 1) };
    let parts: [*const (); P] = std::array::from_fn(|i| match (counters.get(i), cells) {
        (Some(Some(c)), _) => (c.cell() as *const AtomicU64).cast(),
        (None, Some(h)) => (h.cells() as *const HistogramCells).cast(),
        _ => ptr::null(),
    });
    // SAFETY: an `OwnedCell` or `OwnedHistogram` is made only from the shard
    // the calling thread reached under the token it holds (in a `with_*`
    // call or under a hold) and lives no longer than that: each part is the
    // address of cells in a value of the token the thread holds now, or
    // null.
    unsafe { bind(owner, key, parts) }
}

/// Runs `f` with the counter cells and histogram cells this thread bound to
/// `key` under `owner` with [`bind_cells`], if it did.
///
/// # Safety
///
/// `owner` is bound with `bind_cells::<K, C, P>` only, and no histogram
/// cells bound under it are released (`Storage::release_histogram`) while
/// calls with `owner` still come. (Counter cells live as long as their
/// shard.)
#[inline(always)]
pub(crate) unsafe fn with_bound_cells<const K: usize, const C: usize, const P: usize, R>(
    owner: PartKey,
    key: &[u64; K],
    f: impl FnOnce([Option<OwnedCell<'_>>; C], Option<OwnedHistogram<'_>>) -> R,
) -> Option<R> {
    const { assert!(P == C + 1) };
    let parts: [*const (); P] = bound(owner, key)?;
    let counters = std::array::from_fn(|i| {
        // SAFETY: `bind_cells` stored a counter cell (an `AtomicU64`) or
        // null in each of the first `C` parts, while this thread held the
        // token it still holds (`bound`'s hit); counter cells are freed
        // only with their shard, which outlives every handle.
        (!parts[i].is_null()).then(|| OwnedCell::new(unsafe { &*parts[i].cast::<AtomicU64>() }))
    });
    // SAFETY: the last part is the `HistogramCells` `bind_cells` stored (or
    // null), in a value of the token this thread still holds, and by our
    // caller's contract not released since.
    let cells = (!parts[C].is_null())
        .then(|| OwnedHistogram::new(unsafe { &*parts[C].cast::<HistogramCells>() }));
    Some(f(counters, cells))
}
