//! [`Counter`] and its thread-bound [`LocalCounter`].

use super::registry_core::Core;
use crate::storage::{OwnedCell, SlotIndex};
use crate::sync::{Arc, Hold, PartKey};
use std::fmt;
use std::marker::PhantomData;

/// A monotonically increasing `u64`, recorded without locks or shared writes.
///
/// Each thread adds into its own cell; the registry's collector sums the
/// cells. Cloning is cheap (one reference count) and every clone records into
/// the same metric. Obtain one from [`Registry::counter`](crate::Registry::counter).
///
/// ```
/// let reg = hotmetrics::Registry::new();
/// let requests = reg.counter("requests", "Requests served").unwrap();
/// requests.inc();
/// requests.add(2);
/// assert_eq!(reg.collect().counter("requests"), Some(3));
/// ```
#[derive(Clone)]
pub struct Counter {
    core: Arc<Core>,
    slot: SlotIndex,
    /// What each thread caches its cell of `slot` under (clones share
    /// it). A counter's cells are never freed before its registry, so a
    /// recycled counter keeps its key.
    key: PartKey,
}

impl Counter {
    pub(crate) fn new(core: Arc<Core>, slot: SlotIndex) -> Counter {
        Counter {
            core,
            slot,
            key: PartKey::new(),
        }
    }

    pub(crate) fn slot(&self) -> SlotIndex {
        self.slot
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    /// Adds `n` (wrapping at `u64::MAX`). Does nothing while recording is
    /// switched off.
    #[inline]
    pub fn add(&self, n: u64) {
        if self.core.enabled() {
            (self.core.storage).with_counter(self.key, &self.slot, move |cell| cell.add(n));
        }
    }

    /// Adds `n` even while recording is switched off: for tallies the
    /// collector keeps (an evicted series' final value must not be lost).
    pub(crate) fn add_always(&self, n: u64) {
        let slot = self.slot;
        self.core
            .storage
            .with_shard(move |shard| shard.counter(slot).add(n));
    }

    /// A handle bound to this thread's cell: skips the per-thread lookup.
    ///
    /// It is `!Send`, so it can only ever write from the thread that made it,
    /// and needs no flush: the collector reads the same cell.
    ///
    /// ```
    /// let reg = hotmetrics::Registry::new();
    /// let c = reg.counter("loops", "Loop iterations").unwrap();
    /// let local = c.local();
    /// for _ in 0..10 { local.inc(); }
    /// assert_eq!(reg.collect().counter("loops"), Some(10));
    /// ```
    pub fn local(&self) -> LocalCounter<'_> {
        let (hold, shard) = self.core.storage.hold_shard();
        LocalCounter {
            core: &self.core,
            cell: shard.counter(self.slot),
            _hold: hold,
            _not_send: PhantomData,
        }
    }
}

impl fmt::Debug for Counter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Counter")
            .field("slot", &self.slot.get())
            .finish()
    }
}

/// A [`Counter`] handle bound to the current thread's cell (see
/// [`Counter::local`]).
pub struct LocalCounter<'a> {
    core: &'a Core,
    cell: OwnedCell<'a>,
    /// Keeps the cell this thread's while the handle lives, also if it is
    /// used by a thread-local destructor after the thread's exit guard ran.
    _hold: Hold,
    /// `!Send` and `!Sync`: the cell must only be written by its thread.
    _not_send: PhantomData<*const ()>,
}

impl LocalCounter<'_> {
    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    /// Adds `n` (wrapping at `u64::MAX`). Does nothing while recording is
    /// switched off.
    #[inline]
    pub fn add(&self, n: u64) {
        if self.core.enabled() {
            self.cell.add(n);
        }
    }
}

impl fmt::Debug for LocalCounter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LocalCounter { .. }")
    }
}
