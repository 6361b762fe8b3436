//! `RecordCount`: a single-writer count of completed records.
#![forbid(unsafe_code)]

use crate::sync::{AtomicU64, Ordering};

/// How many records the owning thread has completed into some cells (a
/// histogram's, or a group of its chunks), so that a collector can tell from
/// this one word that nothing in them changed.
///
/// The owner bumps it after writing a record, with a plain load and a
/// Release store (it is the only writer); a reader Acquire-loads it. A
/// reader that sees `n` here then sees, in the cells, every record the
/// first `n` bumps counted.
pub(super) struct RecordCount(AtomicU64);

impl RecordCount {
    pub(super) fn new() -> RecordCount {
        RecordCount(AtomicU64::new(0))
    }

    /// Counts the record just written. Owner only.
    #[inline(always)]
    pub(super) fn bump(&self) {
        let records = self.0.load(Ordering::Relaxed);
        // Release, after the record's own stores: pairs with `get`.
        self.0.store(records.wrapping_add(1), Ordering::Release);
    }

    /// The records completed so far. It only grows (wrapping after 2^64).
    #[inline]
    pub(super) fn get(&self) -> u64 {
        // Acquire: pairs with the Release in `bump`.
        self.0.load(Ordering::Acquire)
    }
}
