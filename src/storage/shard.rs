//! `Shard`: everything one thread records into one registry.

use super::histogram_cells::HistogramCells;
use super::segments::{Segments, SlotIndex};
use crate::buckets::Precision;
use crate::sync::{AtomicPtr, AtomicU64, Ordering};
use std::fmt;
use std::ptr;

/// One thread's cells for every metric of a registry: counters densely, 8
/// bytes each, and a pointer per histogram to its lazily created cells.
pub(crate) struct Shard {
    counters: Segments<AtomicU64>,
    histograms: Segments<AtomicPtr<HistogramCells>>,
}

impl Shard {
    pub(crate) fn new() -> Shard {
        Shard {
            counters: Segments::new(),
            histograms: Segments::new(),
        }
    }

    /// The cell of counter slot `at`, for the owner to write: reached only
    /// through [`Owned`](super::Owned).
    #[inline(always)]
    pub(super) fn counter_cell(&self, at: SlotIndex) -> &AtomicU64 {
        self.counters.get_or_grow(at)
    }

    /// The cells of histogram slot `at`, created on first use, for the
    /// owner to write: reached only through [`Owned`](super::Owned).
    #[inline(always)]
    pub(super) fn histogram_cells(&self, at: SlotIndex, precision: Precision) -> &HistogramCells {
        let slot = self.histograms.get_or_grow(at);
        // Relaxed: only the owner installs cells (see `Segments::get_or_grow`).
        let cells = slot.load(Ordering::Relaxed);
        let cells = if cells.is_null() {
            install_cells(slot, precision)
        } else {
            cells
        };
        // SAFETY: non-null cell pointers come from `install_cells` and live
        // until this shard is dropped, or until `release_histogram`, whose
        // caller makes sure that no thread records into slot `at` then.
        unsafe { &*cells }
    }

    /// Calls `f(counter_slot, value)` for every allocated counter cell.
    pub(crate) fn read_counters(&self, mut f: impl FnMut(usize, u64)) {
        self.counters.for_each_segment(|first, cells| {
            for (i, c) in cells.iter().enumerate() {
                // Relaxed: see `OwnedCell::add`.
                f(first + i, c.load(Ordering::Relaxed));
            }
        });
    }

    /// This thread's cells of histogram slot `at`, if it ever recorded there.
    pub(crate) fn read_histogram(&self, at: SlotIndex) -> Option<&HistogramCells> {
        // Acquire: pairs with the Release in `install_cells`.
        let cells = self.histograms.get(at)?.load(Ordering::Acquire);
        // SAFETY: dereferenced only when non-null; a non-null cell pointer
        // was published by `install_cells` (the Acquire above pairs with its
        // Release) from a live `Box`, freed when this shard is dropped or by
        // `release_histogram`, which the collector (the only caller of both)
        // never runs during a read of the same slot.
        (!cells.is_null()).then(|| unsafe { &*cells })
    }

    /// Frees this thread's cells of histogram slot `at` (the next record
    /// there makes fresh ones, as a first touch does).
    ///
    /// # Safety
    ///
    /// No thread may record into slot `at`, nor read its cells here, during
    /// this call; a thread that records there later must be ordered after
    /// it (happens-before), so that it finds the slot empty. (For a family:
    /// the slot's series was reclaimed, and its metric goes back into use
    /// only through the family's lock and the table's Release publication.)
    pub(crate) unsafe fn release_histogram(&self, at: SlotIndex) {
        let Some(slot) = self.histograms.get(at) else {
            return;
        };
        // Acquire: pairs with the Release in `install_cells`, for the drop.
        let cells = slot.swap(ptr::null_mut(), Ordering::Acquire);
        if !cells.is_null() {
            // SAFETY: from `install_cells`' `Box::into_raw`, and unlinked
            // just above, so freed once; by this method's contract nobody is
            // using the cells.
            drop(unsafe { Box::from_raw(cells) });
        }
    }

    /// Heap bytes owned by this shard, including itself.
    pub(crate) fn allocated_bytes(&self) -> usize {
        let mut bytes = std::mem::size_of::<Self>()
            + self.counters.allocated_bytes()
            + self.histograms.allocated_bytes();
        self.histograms.for_each_segment(|_, slots| {
            for s in slots {
                let cells = s.load(Ordering::Acquire);
                if !cells.is_null() {
                    // SAFETY: `cells` is non-null, so `install_cells`
                    // published it (Acquire above, Release there) from a
                    // live `Box`, freed when this shard is dropped or by
                    // `release_histogram`, which `Storage` keeps from
                    // running during this call (its `walk` lock).
                    bytes += unsafe { &*cells }.allocated_bytes();
                }
            }
        });
        bytes
    }
}

#[cold]
#[inline(never)]
fn install_cells(slot: &AtomicPtr<HistogramCells>, precision: Precision) -> *mut HistogramCells {
    let fresh = Box::into_raw(Box::new(HistogramCells::new(precision)));
    // Release: publishes the new cells to readers. CAS for robustness, as in
    // `Segments::grow`.
    match slot.compare_exchange(ptr::null_mut(), fresh, Ordering::Release, Ordering::Acquire) {
        Ok(_) => fresh,
        Err(existing) => {
            // SAFETY: `fresh` came from `Box::into_raw` above, never shared.
            drop(unsafe { Box::from_raw(fresh) });
            existing
        }
    }
}

impl Drop for Shard {
    fn drop(&mut self) {
        self.histograms.for_each_segment(|_, slots| {
            for s in slots {
                let cells = s.load(Ordering::Acquire);
                if !cells.is_null() {
                    // SAFETY: from `install_cells`, freed once, while no other
                    // thread can reach this shard (`&mut self`).
                    drop(unsafe { Box::from_raw(cells) });
                }
            }
        });
    }
}

impl fmt::Debug for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shard")
            .field("allocated_bytes", &self.allocated_bytes())
            .finish()
    }
}
