//! `KeyMap`: an insert-only hash map read without a lock.
//!
//! The recorder keeps one per metric kind, from a `metrics::Key` to the
//! handle of its series, and one from a metric name to what the name was
//! registered as. Reads are what every `counter!` call does: a probe of the
//! crate's lock-free [`Table`] (`sync/table.rs`) comparing the caller's
//! precomputed hash and then the key. No lock, no allocation, no
//! read-modify-write.
//!
//! Inserts happen under the table's lock (the first use of a key, which
//! registers a metric anyway); a reader that misses a key inserted
//! concurrently takes the slow path, which re-probes under the lock. The
//! table grows by doubling when it would be more than half full; nothing is
//! ever removed, so every entry and every slot array lives as long as the
//! map. Memory: the entries, plus at most twice the final slot array.

use crate::sync::{Entry, EntryHash, Table};
use std::fmt;

/// One entry: the hash it was inserted with, its key, its value.
struct Slot<K, V> {
    hash: EntryHash,
    key: K,
    value: V,
}

impl<K, V> Entry for Slot<K, V> {
    #[inline(always)]
    fn hash(&self) -> u64 {
        self.hash.get()
    }
}

pub(crate) struct KeyMap<K, V> {
    table: Table<Slot<K, V>>,
}

impl<K, V> KeyMap<K, V> {
    pub(crate) fn new() -> KeyMap<K, V> {
        KeyMap {
            table: Table::with_slots(64),
        }
    }

    /// The value of the entry with `hash` whose key satisfies `eq`.
    /// Lock-free and allocation-free.
    #[inline]
    pub(crate) fn find(&self, hash: u64, eq: impl Fn(&K) -> bool) -> Option<&V> {
        self.table.find(hash, |s| eq(&s.key)).map(|s| &s.value)
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
        let slot: Result<_, ()> = self.table.lock().find_or_insert(
            hash,
            |s| eq(&s.key),
            |_| {
                let (key, value) = make().ok_or(())?;
                let hash = EntryHash::new(hash);
                Ok(Slot { hash, key, value })
            },
        );
        slot.ok().map(|s| &s.value)
    }

    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.table.lock().entries().len()
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
