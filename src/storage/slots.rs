//! `SlotAllocator`: hands out counter and histogram slot numbers.
#![forbid(unsafe_code)]

use super::SlotIndex;

/// The next free counter and histogram slot of one registry.
///
/// Shared (behind a mutex) by the registry's catalog and by every labeled
/// family, which allocate a series' slots when the series is first used.
/// Slots are never given back: a registry's series are bounded by the
/// families' cardinality limits, not by this allocator.
#[derive(Debug, Default)]
pub(crate) struct SlotAllocator {
    counters: usize,
    histograms: usize,
}

impl SlotAllocator {
    /// A fresh counter slot, or `None` once the storage is full.
    pub(crate) fn counter(&mut self) -> Option<SlotIndex> {
        let at = SlotIndex::new(self.counters)?;
        self.counters += 1;
        Some(at)
    }

    /// A fresh histogram slot, or `None` once the storage is full.
    pub(crate) fn histogram(&mut self) -> Option<SlotIndex> {
        let at = SlotIndex::new(self.histograms)?;
        self.histograms += 1;
        Some(at)
    }

    /// Number of counter slots handed out so far.
    pub(crate) fn counters(&self) -> usize {
        self.counters
    }
}
