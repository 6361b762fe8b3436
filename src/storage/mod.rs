//! Per-thread storage: single-writer atomic cells, read by the collector.
//!
//! Each registry owns one [`Storage`]: a [`PerThread`](crate::sync::PerThread) set of [`Shard`]s.
//! A thread's shard holds its cells of every metric of the registry, densely
//! (8 bytes per counter) in segments that never move, and lazily allocated
//! histogram chunks. This layer knows slots and buckets, not names.

mod bound_cells;
mod chunk;
mod directory;
mod histogram_cells;
mod owned;
mod record_count;
mod segments;
mod shard;
mod slots;

pub(crate) use bound_cells::{bind_cells, with_bound_cells};
#[cfg(test)]
pub(crate) use chunk::GROUP_BUCKETS;
pub(crate) use chunk::{compensated_add, ChunkSums, CHUNK_BUCKETS};
pub(crate) use histogram_cells::group_of;
pub(crate) use owned::{Owned, OwnedCell, OwnedHistogram};
pub(crate) use segments::SlotIndex;
pub(crate) use shard::Shard;
pub(crate) use slots::SlotAllocator;

use crate::buckets::Precision;
use crate::sync::{lock, Hold, Mutex, PartKey, PerThread};
use std::fmt;

/// All threads' cells of one registry.
// repr(C), shards first: see `handle::registry_core::Core`.
#[repr(C)]
pub(crate) struct Storage {
    shards: PerThread<Shard>,
    /// Held by whatever walks every shard's histogram cells outside the
    /// collector ([`allocated_bytes`](Self::allocated_bytes)) and by
    /// [`release_histogram`](Self::release_histogram), which frees some.
    walk: Mutex<()>,
}

impl Storage {
    pub(crate) fn new() -> Storage {
        Storage {
            shards: PerThread::new(),
            walk: Mutex::new(()),
        }
    }

    /// Runs `f` with the calling thread's shard, created on its first
    /// record: the write capability, which cannot leave the call.
    #[inline(always)]
    pub(crate) fn with_shard<R>(&self, f: impl FnOnce(Owned<'_>) -> R) -> R {
        // `Shard::new` is called only on the out-of-line first use: inlined,
        // the 1-KiB `Shard` built on the stack would give every record a
        // large stack frame and register spills.
        self.shards.with(
            Shard::new,
            #[inline(always)]
            |shard| f(Owned::new(shard)),
        )
    }

    /// Runs `f` with the calling thread's cells of histogram slot `at`,
    /// found through the thread's part cache under `key` (one look-up) once
    /// the first call has found them in the shard.
    ///
    /// # Safety
    ///
    /// `key` is used with slot `at` only, and no call with `key` comes once
    /// [`release_histogram`](Self::release_histogram) has freed slot `at`
    /// (a recycled histogram records under a new key).
    #[inline(always)]
    pub(crate) unsafe fn with_histogram<R>(
        &self,
        key: PartKey,
        at: &SlotIndex,
        precision: &Precision,
        f: impl FnOnce(OwnedHistogram<'_>) -> R,
    ) -> R {
        // SAFETY: the cells live in the shard until it is dropped or
        // `release_histogram` frees them, which by our contract comes after
        // the last call with `key`; one key names one slot's cells.
        unsafe {
            self.shards.with_part(
                key,
                Shard::new,
                // References: two words, where the values would be three.
                (at, precision),
                |shard, (at, precision)| shard.histogram_cells(*at, *precision),
                #[inline(always)]
                |cells| f(OwnedHistogram::new(cells)),
            )
        }
    }

    /// Runs `f` with the calling thread's cell of counter slot `at`, as
    /// [`with_histogram`](Self::with_histogram) finds cells. `key` is used
    /// with slot `at` only.
    #[inline(always)]
    pub(crate) fn with_counter<R>(
        &self,
        key: PartKey,
        at: &SlotIndex,
        f: impl FnOnce(OwnedCell<'_>) -> R,
    ) -> R {
        // SAFETY: a counter cell lives in its shard's segments until the
        // shard is dropped (counter cells are never freed earlier); one key
        // names one slot's cell.
        unsafe {
            self.shards.with_part(
                key,
                Shard::new,
                at,
                |shard, at| shard.counter_cell(*at),
                #[inline(always)]
                |cell| f(OwnedCell::new(cell)),
            )
        }
    }

    /// The calling thread's shard, kept this thread's while the [`Hold`]
    /// lives (for handles bound to this thread: `local()`).
    pub(crate) fn hold_shard(&self) -> (Hold, Owned<'_>) {
        let (hold, shard) = self.shards.hold(Shard::new);
        (hold, Owned::new(shard))
    }

    /// Where the per-thread store's id sits: what a record on a shared
    /// handle reads of `self`.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn lookup_address(&self) -> usize {
        self.shards.id_address()
    }

    /// Every shard, including those of threads that have exited.
    pub(crate) fn for_each_shard(&self, f: impl FnMut(&Shard)) {
        self.shards.for_each(f);
    }

    /// Frees every thread's cells of histogram slot `at`: a recycled
    /// histogram then holds only the chunks its new series touches.
    ///
    /// # Safety
    ///
    /// As [`Shard::release_histogram`]: nothing records into or reads slot
    /// `at` meanwhile, and what records there later is ordered after this.
    pub(crate) unsafe fn release_histogram(&self, at: SlotIndex) {
        let _walk = lock(&self.walk);
        // SAFETY: our caller's contract, for every shard.
        self.for_each_shard(|s| unsafe { s.release_histogram(at) });
    }

    /// Heap bytes held by all shards.
    pub(crate) fn allocated_bytes(&self) -> usize {
        let _walk = lock(&self.walk);
        let mut bytes = 0;
        self.for_each_shard(|s| bytes += s.allocated_bytes());
        bytes
    }
}

impl fmt::Debug for Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Storage")
            .field("allocated_bytes", &self.allocated_bytes())
            .finish()
    }
}
