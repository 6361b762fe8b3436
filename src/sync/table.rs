//! `Table<E>`: a hash table of shared entries, read without a lock.
//!
//! Open addressing with linear probing over a power-of-two array of
//! `AtomicPtr<E>` slots. A family's series map (`family/map.rs`) and the
//! `metrics` facade's key maps (`facade/key_map.rs`) are both this table;
//! each adds its own key type, hashing and policy on top.
//!
//! - **Lookups take no lock**: a hash, a few Acquire loads and the caller's
//!   key comparison. No allocation, no read-modify-write.
//! - **Writes are serialised by one mutex** ([`Table::lock`]). An entry is
//!   built in full, then published by one Release store into a slot; a
//!   reader that loads the pointer (Acquire) sees the entry complete. An
//!   insert re-probes under the lock ([`Writer::find_or_insert`]), so two
//!   racing inserts of one key make one entry, not two.
//! - **The table is never more than half full of live entries**: an insert
//!   that would pass half makes an array twice the size, fills it and
//!   publishes it with one Release store. Readers still probing the old
//!   array find what it held; the old arrays stay allocated until the table
//!   drops (together they are smaller than the current one). A table sized
//!   for a bound its owner enforces (a family's cardinality limit) never
//!   grows.
//! - **A removed entry leaves a tombstone**: probes go on past it, an insert
//!   may reuse it. The entry's memory is the caller's to keep alive until no
//!   reader can reach it ([`Writer::remove`] is `unsafe` for that reason).
//!   A probe visits each slot at most once, so it ends even when tombstones
//!   have used up every empty slot.
//! - **Tombstones are compacted away** once they take more than an eighth
//!   of the slots ([`Writer::needs_compaction`]): [`Writer::compact`]
//!   fills a fresh array of the same size with the live entries and
//!   publishes it as a growth does; lookups never wait. The array it
//!   replaces is handed to the caller, to keep until no lookup can still be
//!   probing it (a family retires it with its evicted series). So a miss
//!   probes as far in a churned table as in a fresh one at most 5/8 full,
//!   however many entries came and went.
//!
//! Entries are owned as [`FrozenArc`]s by the table (under its lock), so
//! a reference a lookup returns stays valid while the table lives, unless
//! the entry is removed.

use crate::sync::{lock, AtomicPtr, AtomicU64, FrozenArc, Mutex, MutexGuard, Ordering};
use std::fmt;
use std::ptr::{self, NonNull};

/// An entry of a [`Table`]: it knows the hash it is filed under.
pub(crate) trait Entry {
    /// The hash the entry was inserted with; never changes.
    fn hash(&self) -> u64;
}

/// An entry's hash, fixed when the entry is built.
///
/// An atomic only so that loom sees the entry's initialisation: a reader
/// reaching an entry whose creation it is not ordered after fails the model
/// (the owner's own fields may be plain data loom cannot see). A Relaxed
/// load compiles to the plain load a `u64` field would.
pub(crate) struct EntryHash(AtomicU64);

impl EntryHash {
    pub(crate) fn new(hash: u64) -> EntryHash {
        EntryHash(AtomicU64::new(hash))
    }

    #[inline(always)]
    pub(crate) fn get(&self) -> u64 {
        // Relaxed: written once before the entry was published, and made
        // visible by the Acquire load of the slot that led to the entry.
        self.0.load(Ordering::Relaxed)
    }
}

impl fmt::Debug for EntryHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.get())
    }
}

/// One slot array; `slots.len()` is a power of two.
struct Slots<E> {
    slots: Box<[AtomicPtr<E>]>,
    mask: usize,
}

impl<E> Slots<E> {
    fn new(len: usize) -> Slots<E> {
        debug_assert!(len.is_power_of_two());
        Slots {
            slots: (0..len).map(|_| AtomicPtr::new(ptr::null_mut())).collect(),
            mask: len - 1,
        }
    }

    /// Stores `entry` in the first empty slot or tombstone on the probe path
    /// of `hash`; whether it was a tombstone. The caller holds the table's
    /// lock and has made sure that fewer than half the slots hold live
    /// entries, so there is one.
    fn place(&self, entry: *mut E, hash: u64) -> bool {
        let mut i = hash as usize & self.mask;
        loop {
            // Relaxed: only writers, under the table's lock, store into slots.
            let q = self.slots[i].load(Ordering::Relaxed);
            if q.is_null() || q == tombstone() {
                break;
            }
            i = (i + 1) & self.mask;
        }
        // Relaxed: as above.
        let reused = self.slots[i].load(Ordering::Relaxed) == tombstone();
        // Release: publishes the entry's contents to lock-free readers.
        self.slots[i].store(entry, Ordering::Release);
        reused
    }

    /// A new array of `len` slots holding `entries` and no tombstone, not
    /// yet published.
    fn filled(len: usize, entries: &[FrozenArc<E>]) -> Slots<E>
    where
        E: Entry,
    {
        let fresh = Slots::new(len);
        for e in entries {
            fresh.place(FrozenArc::as_ptr(e).cast_mut(), e.hash());
        }
        fresh
    }
}

/// A slot array that [`Writer::compact`] replaced: lookups that loaded it
/// before may still be probing it, so it must outlive them. Dropping it
/// frees the array.
pub(crate) struct RetiredSlots<E>(#[allow(dead_code)] FrozenArc<Slots<E>>);

/// Marks a slot whose entry was removed: never a valid entry address (an
/// allocation never starts at its own alignment).
fn tombstone<E>() -> *mut E {
    NonNull::dangling().as_ptr()
}

/// A lock-free hash table of `E`s (see the module docs).
pub(crate) struct Table<E> {
    /// The array every table starts with; the current one until the first
    /// growth. Inline, so that a table that never grows costs a lookup no
    /// pointer chase.
    first: Slots<E>,
    /// Null until the table first grows; then the current array, the last
    /// of `inner.grown`.
    grown: AtomicPtr<Slots<E>>,
    inner: Mutex<Inner<E>>,
}

/// What the table's lock guards.
struct Inner<E> {
    /// Every live entry, in insertion order but for removals.
    entries: Vec<FrozenArc<E>>,
    /// Every array made by growing or compacting, the current one last;
    /// kept while the table lives (readers may still be probing any of
    /// them), but for those a compaction replaced and handed out.
    grown: Vec<FrozenArc<Slots<E>>>,
    /// Tombstones in the current array.
    tombstones: usize,
}

impl<E: Entry> Table<E> {
    /// A table of `slots` slots (rounded up to a power of two, at least 4):
    /// it holds `slots / 2` entries before it grows.
    pub(crate) fn with_slots(slots: usize) -> Table<E> {
        Table {
            first: Slots::new(slots.max(4).next_power_of_two()),
            grown: AtomicPtr::new(ptr::null_mut()),
            inner: Mutex::new(Inner {
                entries: Vec::new(),
                grown: Vec::new(),
                tombstones: 0,
            }),
        }
    }

    /// The current slot array.
    #[inline(always)]
    fn array(&self) -> &Slots<E> {
        // Acquire: pairs with the Release store in `Writer::grow`, so the
        // slots filled before the array was published are visible.
        let grown = self.grown.load(Ordering::Acquire);
        if grown.is_null() {
            return &self.first;
        }
        // SAFETY: a non-null `grown` comes from `FrozenArc::as_ptr` of an
        // array that `inner.grown` holds (it was pushed there before the
        // store). `inner.grown` drops its arrays only with the table, which
        // `&self` keeps alive for the returned borrow, but for one that
        // `Writer::compact` replaced: its caller keeps that one alive until
        // every lookup that may have loaded it (as this one) has ended.
        unsafe { &*grown }
    }

    /// The entry filed under `hash` for which `eq` holds, if any.
    /// Lock-free and allocation-free.
    #[inline]
    pub(crate) fn find(&self, hash: u64, eq: impl Fn(&E) -> bool) -> Option<&E> {
        let array = self.array();
        let mut i = hash as usize & array.mask;
        for _ in 0..array.slots.len() {
            // Acquire: pairs with the Release store in `Slots::place`, so
            // the entry's contents are visible before `eq` reads them.
            let p = array.slots[i].load(Ordering::Acquire);
            if p.is_null() {
                return None;
            }
            if p != tombstone() {
                // SAFETY: a slot other than null and the tombstone holds a
                // `FrozenArc::as_ptr` of an entry `inner.entries` held when
                // it was stored. While the entry is in `inner.entries` it
                // lives as long as the table; once removed, the caller of
                // `Writer::remove` keeps it alive until every lookup that
                // could still load it (as this one just did) is over.
                let e = unsafe { &*p };
                if e.hash() == hash && eq(e) {
                    return Some(e);
                }
            }
            i = (i + 1) & array.mask;
        }
        None
    }

    /// How many slots a lookup of `hash` that finds nothing visits (for
    /// tests of the probe length).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn miss_probes(&self, hash: u64) -> usize {
        let array = self.array();
        let mut i = hash as usize & array.mask;
        for n in 0..array.slots.len() {
            if array.slots[i].load(Ordering::Acquire).is_null() {
                return n + 1;
            }
            i = (i + 1) & array.mask;
        }
        array.slots.len()
    }

    /// Takes the table's lock, for inserting, removing or listing entries.
    pub(crate) fn lock(&self) -> Writer<'_, E> {
        Writer {
            table: self,
            inner: lock(&self.inner),
        }
    }
}

/// The table, locked for writing (see [`Table::lock`]).
pub(crate) struct Writer<'t, E> {
    table: &'t Table<E>,
    inner: MutexGuard<'t, Inner<E>>,
}

impl<'t, E: Entry> Writer<'t, E> {
    /// As [`Table::find`]; under the lock it sees every insert and removal.
    #[inline]
    fn find(&self, hash: u64, eq: impl Fn(&E) -> bool) -> Option<&'t E> {
        self.table.find(hash, eq)
    }

    /// Every live entry.
    pub(crate) fn entries(&self) -> &[FrozenArc<E>] {
        &self.inner.entries
    }

    /// The entry filed under `hash` for which `eq` holds, or else the one
    /// `make` builds (given the number of live entries), inserted. The
    /// lookup is repeated under the lock: an entry that a racing writer
    /// inserted after the caller's lock-free lookup missed is found, not
    /// made twice. An `Err` from `make` is returned and inserts nothing.
    pub(crate) fn find_or_insert<X>(
        &mut self,
        hash: u64,
        eq: impl Fn(&E) -> bool,
        make: impl FnOnce(usize) -> Result<E, X>,
    ) -> Result<&'t E, X> {
        if let Some(e) = self.find(hash, eq) {
            return Ok(e);
        }
        let entry = make(self.inner.entries.len())?;
        debug_assert_eq!(entry.hash(), hash, "an entry filed under another hash");
        Ok(self.insert(entry))
    }

    /// Files `entry` under its hash and publishes it to lookups, growing
    /// the table first if it would be more than half full.
    fn insert(&mut self, entry: E) -> &'t E {
        let hash = entry.hash();
        let entry = FrozenArc::new(entry);
        let p = FrozenArc::as_ptr(&entry).cast_mut();
        self.inner.entries.push(entry);
        let array = self.table.array();
        if self.inner.entries.len() * 2 > array.slots.len() {
            // The new array holds every entry, this one included.
            self.grow(array.slots.len() * 2);
        } else if array.place(p, hash) {
            self.inner.tombstones -= 1;
        }
        // SAFETY: `p` is the `FrozenArc::as_ptr` of the entry just pushed to
        // `inner.entries`, which keeps it alive as long as the table (`'t`)
        // unless it is removed, whose caller then keeps it alive until no
        // reference handed out before the removal is used.
        unsafe { &*p }
    }

    /// Publishes an array of `len` slots holding every live entry.
    #[cold]
    fn grow(&mut self, len: usize) {
        let bigger = Slots::filled(len, &self.inner.entries);
        self.publish(bigger);
    }

    /// Makes `array` (filled, with no tombstone) the current one.
    fn publish(&mut self, array: Slots<E>) {
        let array = FrozenArc::new(array);
        let p = FrozenArc::as_ptr(&array).cast_mut();
        self.inner.grown.push(array);
        self.inner.tombstones = 0;
        // Release: publishes the new array's slots, filled before.
        self.table.grown.store(p, Ordering::Release);
    }

    /// Whether tombstones take more than an eighth of the current array's
    /// slots (see the module docs).
    pub(crate) fn needs_compaction(&self) -> bool {
        self.inner.tombstones * 8 > self.table.array().slots.len()
    }

    /// Tombstones in the current array.
    #[cfg(test)]
    pub(crate) fn tombstones(&self) -> usize {
        self.inner.tombstones
    }

    /// Replaces the current array with one of the same size holding the
    /// live entries and no tombstone, published with one Release store;
    /// returns the array replaced, `None` for the table's first (inline)
    /// array, which lives as long as the table anyway.
    ///
    /// # Safety
    ///
    /// Lookups that began before this call may still be probing the old
    /// array. The caller must keep the returned value alive until every
    /// lookup that may have loaded the array before this call has ended
    /// (for a family: until its epoch-based `Reclaim` says so).
    #[cold]
    pub(crate) unsafe fn compact(&mut self) -> Option<RetiredSlots<E>> {
        let len = self.table.array().slots.len();
        let fresh = Slots::filled(len, &self.inner.entries);
        // Relaxed: only writers, under this lock, store `grown`.
        let current_is_first = self.table.grown.load(Ordering::Relaxed).is_null();
        // The current array is the last of `inner.grown` unless it is the
        // first one.
        let old = if current_is_first {
            None
        } else {
            self.inner.grown.pop().map(RetiredSlots)
        };
        self.publish(fresh);
        old
    }

    /// Unlinks `entry` from lookups (it leaves a tombstone) and hands the
    /// table's reference to it back; `None` if it is not in the table.
    ///
    /// # Safety
    ///
    /// Lookups that ran before this call may still hold references to the
    /// entry. The caller must keep the returned `FrozenArc` (or another
    /// one of the entry) alive until every lookup that may have loaded the
    /// entry's pointer before the unlink has ended and no reference that a
    /// lookup or [`insert`](Self::insert) returned for it is used any more
    /// (for a family: until its epoch-based `Reclaim` says so).
    pub(crate) unsafe fn remove(&mut self, entry: &FrozenArc<E>) -> Option<FrozenArc<E>> {
        let at = (self.inner.entries.iter()).position(|e| FrozenArc::ptr_eq(e, entry))?;
        let p = FrozenArc::as_ptr(entry).cast_mut();
        let array = self.table.array();
        let mut i = entry.hash() as usize & array.mask;
        for _ in 0..array.slots.len() {
            // Relaxed: only writers, under this lock, store into slots.
            if array.slots[i].load(Ordering::Relaxed) == p {
                // Release: a reader that sees the tombstone skips it; no
                // data is published through it, but Release keeps the
                // unlink ordered before whatever the caller does next
                // (retiring the entry).
                array.slots[i].store(tombstone(), Ordering::Release);
                self.inner.tombstones += 1;
                return Some(self.inner.entries.swap_remove(at));
            }
            i = (i + 1) & array.mask;
        }
        debug_assert!(false, "a live entry is missing from the table");
        None
    }

    /// Bytes of the slot arrays (not of the entries).
    pub(crate) fn slot_bytes(&self) -> usize {
        let grown: usize = self.inner.grown.iter().map(|a| a.slots.len()).sum();
        (self.table.first.slots.len() + grown) * std::mem::size_of::<AtomicPtr<E>>()
    }
}

impl<E> fmt::Debug for Table<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Table { .. }")
    }
}

#[cfg(all(test, loom, feature = "loom"))]
mod loom_model;
