//! `KeyMap`: an insert-only hash map read without a lock.
//!
//! The recorder keeps one per metric kind, from a `metrics::Key` to the
//! handle of its series, and one from a metric name to what the name was
//! registered as. Reads are what every `counter!` call does: a load of the
//! current table, then a linear probe of `AtomicPtr` slots comparing the
//! caller's precomputed hash and then the key. No lock, no allocation, no
//! read-modify-write.
//!
//! Inserts happen under a mutex (the first use of a key, which registers a
//! metric anyway). When the table would become more than half full, a table
//! twice the size is built, filled and published with one Release store;
//! readers still probing the old table find what it held, and a reader that
//! misses a key inserted concurrently takes the slow path, which re-probes
//! under the lock. Nothing is freed while the map lives (old tables and the
//! entries stay owned by the map until it drops), so a reader never holds a
//! dangling pointer. Memory: the entries, plus at most twice the final
//! table (the old tables sum to less than the current one).

use crate::sync::{lock, AtomicPtr, Mutex, Ordering};
use std::fmt;
use std::ptr;

/// One entry: the hash it was inserted with, its key, its value.
struct Slot<K, V> {
    hash: u64,
    key: K,
    value: V,
}

/// Open addressing with linear probing; `slots.len()` is a power of two.
struct Table<K, V> {
    slots: Box<[AtomicPtr<Slot<K, V>>]>,
    mask: usize,
}

impl<K, V> Table<K, V> {
    fn with_capacity(capacity: usize) -> Box<Table<K, V>> {
        let capacity = capacity.max(8).next_power_of_two();
        Box::new(Table {
            slots: (0..capacity)
                .map(|_| AtomicPtr::new(ptr::null_mut()))
                .collect(),
            mask: capacity - 1,
        })
    }

    /// Stores `slot` in the first empty slot on its probe path. Caller
    /// holds the map's lock and keeps the table less than half full.
    fn place(&self, slot: *mut Slot<K, V>, hash: u64) {
        let mut i = hash as usize & self.mask;
        // Relaxed: only writers, under the map's lock, store into slots.
        while !self.slots[i].load(Ordering::Relaxed).is_null() {
            i = (i + 1) & self.mask;
        }
        // Release: publishes the slot's contents to lock-free readers.
        self.slots[i].store(slot, Ordering::Release);
    }
}

/// What the lock guards: every table ever made and every entry, as
/// pointers from `Box::into_raw`, freed when the map drops.
struct Owned<K, V> {
    tables: Vec<*mut Table<K, V>>,
    entries: Vec<*mut Slot<K, V>>,
}

pub(crate) struct KeyMap<K, V> {
    /// The current table: the last of `owned.tables`.
    table: AtomicPtr<Table<K, V>>,
    owned: Mutex<Owned<K, V>>,
}

// SAFETY: the map owns its tables and entries (freed in `Drop`) and hands
// out only `&K` and `&V`, to any thread: sharing it needs `K` and `V` to be
// `Sync`, and `Send` since the last owner drops them on its thread.
unsafe impl<K: Send + Sync, V: Send + Sync> Sync for KeyMap<K, V> {}
// SAFETY: moving the map moves the ownership of boxed `K`s and `V`s.
unsafe impl<K: Send, V: Send> Send for KeyMap<K, V> {}

impl<K, V> KeyMap<K, V> {
    pub(crate) fn new() -> KeyMap<K, V> {
        let first = Box::into_raw(Table::with_capacity(64));
        KeyMap {
            table: AtomicPtr::new(first),
            owned: Mutex::new(Owned {
                tables: vec![first],
                entries: Vec::new(),
            }),
        }
    }

    /// The value of the entry with `hash` whose key satisfies `eq`.
    /// Lock-free and allocation-free.
    #[inline]
    pub(crate) fn find(&self, hash: u64, eq: impl Fn(&K) -> bool) -> Option<&V> {
        // Acquire: pairs with the Release store publishing a new table, so
        // its slots (filled before) are visible.
        let t = self.table.load(Ordering::Acquire);
        // SAFETY: every pointer stored in `self.table` is one of
        // `owned.tables`, freed only when `self` drops.
        let t = unsafe { &*t };
        let mut i = hash as usize & t.mask;
        // Tables are at most half full: a probe meets an empty slot.
        loop {
            // Acquire: pairs with the Release store in `Table::place`, so
            // the slot's hash, key and value are visible.
            let p = t.slots[i].load(Ordering::Acquire);
            if p.is_null() {
                return None;
            }
            // SAFETY: non-null slot pointers are among `owned.entries`,
            // freed only when `self` drops, and never written after they
            // were published.
            let s = unsafe { &*p };
            if s.hash == hash && eq(&s.key) {
                return Some(&s.value);
            }
            i = (i + 1) & t.mask;
        }
    }

    /// The value for `hash`/`eq` if an entry has it (checked under the
    /// lock), else the one `make` returns, inserted under its key. `make`
    /// runs under the map's lock; `None` from it inserts nothing.
    pub(crate) fn get_or_insert(
        &self,
        hash: u64,
        eq: impl Fn(&K) -> bool,
        make: impl FnOnce() -> Option<(K, V)>,
    ) -> Option<&V> {
        let mut owned = lock(&self.owned);
        if let Some(v) = self.find(hash, &eq) {
            return Some(v);
        }
        let (key, value) = make()?;
        let p = Box::into_raw(Box::new(Slot { hash, key, value }));
        owned.entries.push(p);
        // Relaxed: `self.table` is only stored under this lock.
        let t = self.table.load(Ordering::Relaxed);
        // SAFETY: as in `find`.
        let capacity = unsafe { &*t }.slots.len();
        if owned.entries.len() * 2 > capacity {
            let bigger = Table::with_capacity(capacity * 2);
            for &e in &owned.entries {
                // SAFETY: as in `find`; only the hash is read.
                bigger.place(e, unsafe { &*e }.hash);
            }
            let bigger = Box::into_raw(bigger);
            owned.tables.push(bigger);
            // Release: publishes the new table's slots (stored above).
            self.table.store(bigger, Ordering::Release);
        } else {
            // SAFETY: as in `find`.
            unsafe { &*t }.place(p, hash);
        }
        // SAFETY: `p` was just pushed to `owned.entries`, freed only when
        // `self` drops.
        Some(&unsafe { &*p }.value)
    }

    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        lock(&self.owned).entries.len()
    }
}

impl<K, V> Drop for KeyMap<K, V> {
    fn drop(&mut self) {
        let owned = match self.owned.get_mut() {
            Ok(o) => o,
            Err(poisoned) => poisoned.into_inner(),
        };
        for &e in &owned.entries {
            // SAFETY: from `Box::into_raw`, freed once, here; `&mut self`
            // means no reader holds a reference any more.
            drop(unsafe { Box::from_raw(e) });
        }
        for &t in &owned.tables {
            // SAFETY: as above.
            drop(unsafe { Box::from_raw(t) });
        }
    }
}

impl<K, V> fmt::Debug for KeyMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyMap").field("len", &self.len()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::KeyMap;

    fn hash(k: u32) -> u64 {
        // Few distinct hashes: long probe chains and equal hashes with
        // different keys.
        u64::from(k % 7)
    }

    #[test]
    fn finds_every_inserted_key_across_growth() {
        let m: KeyMap<u32, String> = KeyMap::new();
        assert!(m.find(hash(1), |k| *k == 1).is_none());
        for k in 0..1_000u32 {
            let v = m.get_or_insert(hash(k), |x| *x == k, || Some((k, k.to_string())));
            assert_eq!(v.map(String::as_str), Some(k.to_string().as_str()));
            // A second insert finds the first value; `make` is not called.
            let again = m.get_or_insert(hash(k), |x| *x == k, || unreachable!());
            assert_eq!(again.unwrap(), &k.to_string());
        }
        assert_eq!(m.len(), 1_000);
        for k in 0..1_000u32 {
            assert_eq!(m.find(hash(k), |x| *x == k).unwrap(), &k.to_string());
        }
        assert!(m.find(hash(5_000), |x| *x == 5_000).is_none());
        // `make` returning None inserts nothing.
        assert!(m.get_or_insert(1, |x| *x == 9_999, || None).is_none());
        assert_eq!(m.len(), 1_000);
    }

    #[test]
    fn concurrent_readers_and_writers_agree() {
        let m: KeyMap<u32, u32> = KeyMap::new();
        std::thread::scope(|s| {
            for t in 0..2u32 {
                let m = &m;
                s.spawn(move || {
                    for k in 0..2_000u32 {
                        let v = m.get_or_insert(hash(k), |x| *x == k, || Some((k, k * 3)));
                        assert_eq!(v, Some(&(k * 3)));
                        // An earlier key, maybe inserted by the other thread.
                        let j = (k * 7 + t) % (k + 1);
                        if let Some(v) = m.find(hash(j), |x| *x == j) {
                            assert_eq!(*v, j * 3);
                        }
                    }
                });
            }
        });
        assert_eq!(m.len(), 2_000);
    }
}
