//! [`StaticKey`] and [`StaticAliases`]: a label set of `'static` strings
//! found by the strings' addresses.
//!
//! A `&'static str` keeps the same bytes at the same address for the whole
//! program, so two such strings with the same address and length are the
//! same string. A label set whose values all are ([`LabelValues::static_at`]:
//! [`StaticStr`](super::labels::StaticStr), derived enums, `bool`) is
//! identified by its values' addresses and lengths: a few words, hashed
//! and compared without reading a byte of the values, where a lookup by
//! content reads, hashes and compares every value (`label_hash.rs`,
//! `label_words.rs`).
//!
//! The aliases map such a key to the entry the content lookup found for it
//! the first time. They only add a way in: one label set may have several
//! keys (the same text at two addresses: two literals the compiler did
//! not merge), each an alias of the one entry. An alias is never removed,
//! so only what never removes an entry keeps aliases: the indexes of a
//! `FamilyPair` and a `ResponseTracker` (`LabelIndex`), and families that
//! do not evict. The aliases are bounded: past their limit a key is not
//! added, and its lookups take the content path, as any other label set
//! does (a flag keeps them off the table's lock).
//!
//! Which label sets have a key is decided by their types alone
//! (`static_at` of a `&str` tuple is `None` whatever the strings), so for
//! every other label set the compiler drops this path entirely.
#![forbid(unsafe_code)]

use super::labels::LabelValues;
use crate::sync::{AtomicU8, Entry, EntryHash, Ordering, RandomState, Table};
use std::hash::BuildHasher;

/// Aliases kept per entry of an owner's limit: room for each label set's
/// literals to be found at a few addresses (copies the compiler did not
/// merge), while a program that keeps making `'static` strings (leaking
/// them) cannot grow the aliases without bound.
const ALIASES_PER_ENTRY: usize = 4;

/// Values of a label set a [`StaticKey`] can hold.
pub(crate) const KEY_VALUES: usize = 4;

/// A label set of at most [`KEY_VALUES`] `'static` strings, as one word per
/// value: its address in the low 48 bits, its length (below 2^16) above,
/// and zeros past the last value (no string's address is zero).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct StaticKey([u64; KEY_VALUES]);

impl StaticKey {
    /// The key of `labels`, when every value is a `'static` string (and
    /// there are few enough of them, each shorter than 64 KiB at an address
    /// below 2^48, as every user-space address of today's 64-bit targets).
    #[inline(always)]
    fn of<L: LabelValues + ?Sized>(labels: &L) -> Option<StaticKey> {
        let count = labels.label_count();
        if count > KEY_VALUES || count == 0 {
            return None;
        }
        let mut key = [0; KEY_VALUES];
        let mut high = 0;
        for (i, word) in key.iter_mut().enumerate().take(count) {
            let v = labels.static_at(i)?;
            let (addr, len) = (v.as_ptr() as usize as u64, v.len() as u64);
            high |= addr >> 48 | len >> 16;
            *word = addr | len << 48;
        }
        (high == 0).then_some(StaticKey(key))
    }

    /// The key's hash under `seeds`: two independent multiplies.
    #[inline(always)]
    fn hash(&self, seeds: &[u64; 2]) -> u64 {
        let [a, b, c, d] = self.0;
        let x = folded_multiply(a ^ seeds[0], b ^ seeds[1]);
        let y = folded_multiply(c ^ seeds[1], d ^ seeds[0]);
        x ^ y.rotate_left(32)
    }
}

/// The words of `labels`' key, when they are `'static` strings (what a
/// thread binds them under, `bound_pair.rs`).
#[inline(always)]
pub(crate) fn key_words<L: LabelValues + ?Sized>(labels: &L) -> Option<[u64; KEY_VALUES]> {
    StaticKey::of(labels).map(|k| k.0)
}

/// The entry of `labels`, if it has one. For a label set of `'static`
/// strings, when there are `aliases` to look in: by its key's alias, or
/// else the one `by_content` finds (the lookup by the values' bytes), which
/// the key is then made an alias of. For any other label set (known from
/// its type alone): what `by_content` finds.
#[inline(always)]
pub(crate) fn find<'a, E: Clone, L: LabelValues + ?Sized>(
    aliases: Option<&'a StaticAliases<E>>,
    labels: &L,
    by_content: impl FnOnce() -> Option<&'a E>,
) -> Option<&'a E> {
    if let (Some(key), Some(aliases)) = (StaticKey::of(labels), aliases) {
        return match aliases.find(&key) {
            Some(e) => Some(e),
            None => Some(aliases.alias(key, by_content()?)),
        };
    }
    by_content()
}

/// `entry`, just inserted for `labels`, made the alias of their key too
/// when they are `'static` strings and there are `aliases` (so that the
/// next lookup allocates nothing).
#[inline]
pub(crate) fn inserted<'a, E: Clone, L: LabelValues + ?Sized>(
    aliases: Option<&'a StaticAliases<E>>,
    labels: &L,
    entry: &'a E,
) -> &'a E {
    match (StaticKey::of(labels), aliases) {
        (Some(key), Some(aliases)) => aliases.alias(key, entry),
        _ => entry,
    }
}

/// The high and low halves of `x * y`, XORed.
#[inline(always)]
fn folded_multiply(x: u64, y: u64) -> u64 {
    let p = u128::from(x) * u128::from(y);
    (p as u64) ^ (p >> 64) as u64
}

/// One alias: a key and its own handle to the entry it stands for.
struct Alias<E> {
    hash: EntryHash,
    key: StaticKey,
    entry: E,
}

impl<E> Entry for Alias<E> {
    #[inline(always)]
    fn hash(&self) -> u64 {
        self.hash.get()
    }
}

/// Keys of label sets of `'static` strings, each mapped to an entry (see
/// the module docs). Lookups take no lock; adding an alias takes the
/// table's lock and allocates, once per key.
pub(crate) struct StaticAliases<E> {
    table: Table<Alias<E>>,
    seeds: [u64; 2],
    limit: usize,
    /// Non-zero once `limit` aliases exist: a key past them goes straight
    /// to the content path, without taking the table's lock on every
    /// lookup.
    full: AtomicU8,
}

impl<E> StaticAliases<E> {
    /// Aliases for an owner of at most `entries` entries (at most
    /// [`ALIASES_PER_ENTRY`] each), in a table of `slots` slots to start
    /// with.
    pub(crate) fn new(entries: usize, slots: usize) -> StaticAliases<E> {
        let state = RandomState::default();
        StaticAliases {
            table: Table::with_slots(slots),
            seeds: [state.hash_one(0u64) | 1, state.hash_one(1u64) | 1],
            limit: entries.saturating_mul(ALIASES_PER_ENTRY),
            full: AtomicU8::new(0),
        }
    }

    /// The entry `key` is an alias of, if it is one. Lock-free,
    /// allocation-free.
    #[inline(always)]
    fn find(&self, key: &StaticKey) -> Option<&E> {
        let hash = key.hash(&self.seeds);
        self.table.find(hash, |a| a.key == *key).map(|a| &a.entry)
    }

    /// Makes `key` an alias of `entry` if it can be; the aliased entry, or
    /// `entry` itself past the limit.
    #[cold]
    #[inline(never)]
    fn alias<'a>(&'a self, key: StaticKey, entry: &'a E) -> &'a E
    where
        E: Clone,
    {
        self.add(key, entry).unwrap_or(entry)
    }

    /// Makes `key` an alias of `entry` (a clone of it), unless it already
    /// is one or the aliases are at their limit; returns the aliased entry
    /// when there is one.
    #[cold]
    fn add(&self, key: StaticKey, entry: &E) -> Option<&E>
    where
        E: Clone,
    {
        // Relaxed: the flag publishes nothing; a stale 0 only sends this
        // call to the lock, under which the count is checked.
        if self.full.load(Ordering::Relaxed) != 0 {
            return None;
        }
        let hash = key.hash(&self.seeds);
        let mut writer = self.table.lock();
        let limit = self.limit;
        let found = writer.find_or_insert(
            hash,
            |a| a.key == key,
            |len| {
                (len < limit)
                    .then(|| Alias {
                        hash: EntryHash::new(hash),
                        key,
                        entry: entry.clone(),
                    })
                    .ok_or(())
            },
        );
        if found.is_err() {
            self.full.store(1, Ordering::Relaxed);
        }
        found.ok().map(|a| &a.entry)
    }

    /// Bytes of the aliases' table and entries.
    pub(crate) fn allocated_bytes(&self) -> usize {
        let writer = self.table.lock();
        writer.slot_bytes() + writer.entries().len() * std::mem::size_of::<Alias<E>>()
    }

    /// The number of aliases.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.table.lock().entries().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::family::labels::StaticStr;

    #[test]
    fn only_static_label_sets_have_keys() {
        let (a, bc) = ("a", "bc");
        let key = StaticKey::of(&[a, bc].map(StaticStr)).expect("static strings");
        let word = |v: &str| v.as_ptr() as u64 | (v.len() as u64) << 48;
        assert_eq!(key.0, [word(a), word(bc), 0, 0]);
        assert_eq!(Some(key), StaticKey::of(&(StaticStr(a), StaticStr(bc))));
        assert_eq!(
            StaticKey::of(&["a", "bc"]),
            None,
            "`&str` may not be 'static"
        );
        assert_eq!(StaticKey::of(&(StaticStr("a"), "bc")), None);
        assert_eq!(StaticKey::of(&(StaticStr("a"), 7u8)), None);
        assert!(StaticKey::of(&(true, StaticStr("x"))).is_some());
        assert!(StaticKey::of(&[StaticStr("a"); KEY_VALUES]).is_some());
        assert_eq!(StaticKey::of(&[StaticStr("a"); KEY_VALUES + 1]), None);
        let none: [StaticStr; 0] = [];
        assert_eq!(StaticKey::of(&none), None);
        static LONG: [u8; 1 << 16] = [b'x'; 1 << 16];
        let long: &'static str = std::str::from_utf8(&LONG).unwrap();
        assert_eq!(StaticKey::of(&[StaticStr(long)]), None);
        assert!(StaticKey::of(&[StaticStr(&long[1..])]).is_some());
    }

    #[test]
    fn a_key_is_its_addresses_and_lengths() {
        let text: &'static str = "abcabc";
        let (one, two) = (&text[..3], &text[3..]);
        assert_eq!(one, two);
        let key = |v: &'static str| StaticKey::of(&[StaticStr(v)]).unwrap();
        // The same bytes at two addresses: two keys (of one label set).
        assert_ne!(key(one), key(two));
        // A prefix at the same address: another string, another key.
        assert_ne!(key(one), key(&text[..2]));
        assert_eq!(key(one), key(&text[..3]));
    }

    #[test]
    fn aliases_map_keys_to_entries_up_to_their_limit() {
        let aliases = StaticAliases::<u32>::new(1, 2);
        assert_eq!(aliases.limit, ALIASES_PER_ENTRY);
        let aliases = StaticAliases::<u32> {
            limit: 3,
            ..aliases
        };
        let text: &'static str = "0123456789";
        let keys: Vec<StaticKey> = (0..5)
            .map(|i| StaticKey::of(&(StaticStr(&text[i..i + 1]), StaticStr("x"))).unwrap())
            .collect();
        assert_eq!(aliases.find(&keys[0]), None);
        assert_eq!(aliases.add(keys[0], &10), Some(&10));
        assert_eq!(
            aliases.add(keys[0], &99),
            Some(&10),
            "an alias is added once"
        );
        assert_eq!(aliases.add(keys[1], &11), Some(&11));
        assert_eq!(aliases.add(keys[2], &12), Some(&12));
        assert_eq!(aliases.full.load(Ordering::Relaxed), 0);
        assert_eq!(aliases.add(keys[3], &13), None, "past the limit");
        assert_ne!(aliases.full.load(Ordering::Relaxed), 0, "no lock past it");
        assert_eq!(aliases.len(), 3);
        for (i, key) in keys.iter().enumerate() {
            let want = [Some(10), Some(11), Some(12), None, None][i];
            assert_eq!(aliases.find(key).copied(), want, "key {i}");
        }
        assert!(aliases.allocated_bytes() > 3 * std::mem::size_of::<u32>());
    }
}
