//! White-box models of the table (`table.rs`): lookups racing an insert,
//! a growth, a removal and a compaction; two inserts of one key racing each
//! other.

use super::{Entry, EntryHash, Table};
use crate::sync::{run_model, Arc, AtomicU64, FrozenArc, Ordering};
use loom::thread;

/// A test entry whose value is a function of its key, so that a reader
/// can tell a complete entry from a partly visible one.
struct Item {
    hash: EntryHash,
    key: u64,
    value: AtomicU64,
}

impl Entry for Item {
    fn hash(&self) -> u64 {
        self.hash.get()
    }
}

fn find(t: &Table<Item>, key: u64, hash: u64) -> Option<&Item> {
    let found = t.find(hash, |e| e.key == key);
    if let Some(e) = found {
        // Relaxed: the entry's contents were published with the slot.
        assert_eq!(e.value.load(Ordering::Relaxed), key * 10, "partial entry");
    }
    found
}

/// What a caller does: a lock-free lookup, then the slow path.
fn get_or_insert(t: &Table<Item>, key: u64, hash: u64) -> &Item {
    if let Some(e) = find(t, key, hash) {
        return e;
    }
    let made = t.lock().find_or_insert(
        hash,
        |e| e.key == key,
        |_| {
            Ok::<_, ()>(Item {
                hash: EntryHash::new(hash),
                key,
                value: AtomicU64::new(key * 10),
            })
        },
    );
    made.unwrap()
}

// Each model runs the writer on the main thread and the reader in a
// spawned one: loom 0.7 misses the interleavings where a store races
// another thread's earlier load if the storing thread loaded the same
// atomic just before (as every insert does, probing), unless the
// reader's load comes last in the first execution explored.

/// Lookups racing the insert of their key see nothing or the whole
/// entry (Release on the slot store, Acquire on the slot load).
#[test]
fn lookup_vs_insert() {
    run_model("table lookup_vs_insert", || {
        let t = Arc::new(Table::with_slots(4));
        let reader = {
            let t = t.clone();
            thread::spawn(move || {
                find(&t, 1, 7);
            })
        };
        get_or_insert(&t, 1, 7);
        reader.join().unwrap();
        assert!(find(&t, 1, 7).is_some(), "inserted entry lost");
    });
}

/// Two threads insert the same new key: one entry is made, and both get
/// it (the insert re-probes under the lock).
#[test]
fn racing_inserts_make_one_entry() {
    run_model("table racing_inserts_make_one_entry", || {
        let t = Arc::new(Table::with_slots(4));
        let other = {
            let t = t.clone();
            thread::spawn(move || get_or_insert(&t, 1, 7) as *const Item as usize)
        };
        let mine = get_or_insert(&t, 1, 7) as *const Item as usize;
        assert_eq!(other.join().unwrap(), mine, "two entries for one key");
        assert_eq!(t.lock().entries().len(), 1);
    });
}

/// An insert that grows the table (4 slots hold 2 entries) races
/// lookups: the entries from before are always found, through the old
/// array or the new one, and the new one is whole when seen.
#[test]
fn lookups_during_growth() {
    run_model("table lookups_during_growth", || {
        let t = Arc::new(Table::with_slots(4));
        get_or_insert(&t, 1, 1);
        get_or_insert(&t, 2, 1);
        let reader = {
            let t = t.clone();
            thread::spawn(move || {
                assert!(find(&t, 2, 1).is_some(), "entry lost in a growth");
                find(&t, 3, 1);
            })
        };
        get_or_insert(&t, 3, 1);
        reader.join().unwrap();
        for key in 1..=3 {
            assert!(find(&t, key, 1).is_some(), "entry {key} lost");
        }
        assert_eq!(
            t.lock().slot_bytes(),
            (4 + 8) * std::mem::size_of::<usize>()
        );
    });
}

/// Two entries share a probe chain; removing the first races a lookup
/// of the second, which must still find it (the removal leaves a
/// tombstone, not an empty slot). A re-insert reuses the tombstone.
#[test]
fn removal_keeps_the_probe_chain() {
    run_model("table removal_keeps_the_probe_chain", || {
        let t = Arc::new(Table::with_slots(4));
        get_or_insert(&t, 1, 5);
        get_or_insert(&t, 2, 5);
        let first = t.lock().entries()[0].clone();
        let reader = {
            let t = t.clone();
            thread::spawn(move || {
                find(&t, 1, 5);
                assert!(find(&t, 2, 5).is_some(), "probe chain cut by a removal");
            })
        };
        // SAFETY: the removed entry is kept alive (`removed`, dropped
        // last) until the reader has been joined and the table, with
        // every reference a lookup returned, is gone.
        let removed: FrozenArc<Item> = unsafe { t.lock().remove(&first) }.unwrap();
        assert_eq!(removed.key, 1);
        reader.join().unwrap();
        assert!(find(&t, 1, 5).is_none(), "removed entry still found");
        get_or_insert(&t, 3, 5);
        assert_eq!(t.lock().entries().len(), 2);
        assert_eq!(t.lock().slot_bytes(), 4 * std::mem::size_of::<usize>());
        drop(t);
        drop(removed);
    });
}

/// Removes `key` (hash 5) from the table; the removed entry is kept
/// alive by the caller's `keep`, dropped after every lookup.
fn remove(t: &Table<Item>, key: u64, keep: &mut Vec<FrozenArc<Item>>) {
    let mut w = t.lock();
    let e = (w.entries().iter()).find(|e| e.key == key).unwrap().clone();
    // SAFETY: the removed entry goes to `keep`, which the model drops
    // only after the reader has been joined and the table is gone.
    keep.push(unsafe { w.remove(&e) }.unwrap());
}

/// Entries 2 and 3 share a probe chain after a tombstone; the table was
/// compacted once (off its inline array) and a removal left a new
/// tombstone. A second compaction races lookups: entry 2 is always
/// found, through the array replaced or the new one, which is whole
/// when seen (Release on publication); the removed entries are never
/// found. The replaced array is handed back and kept until the reader
/// is done (a family's `Reclaim` does that).
#[test]
fn lookups_during_compaction() {
    run_model("table lookups_during_compaction", || {
        let t = Arc::new(Table::with_slots(4));
        let mut keep = Vec::new();
        get_or_insert(&t, 1, 5);
        get_or_insert(&t, 2, 5);
        remove(&t, 1, &mut keep);
        // SAFETY: no reader exists yet; the inline array is never freed.
        assert!(
            unsafe { t.lock().compact() }.is_none(),
            "inline array handed out"
        );
        get_or_insert(&t, 3, 5);
        remove(&t, 3, &mut keep);
        assert!(t.lock().needs_compaction());
        let reader = {
            let t = t.clone();
            thread::spawn(move || {
                assert!(find(&t, 2, 5).is_some(), "entry lost in a compaction");
                assert!(find(&t, 3, 5).is_none(), "removed entry found");
            })
        };
        // SAFETY: `old` is kept until the reader has been joined.
        let old = unsafe { t.lock().compact() };
        assert!(old.is_some(), "the replaced array was not handed back");
        reader.join().unwrap();
        drop(old);
        assert!(find(&t, 2, 5).is_some(), "entry lost after a compaction");
        assert_eq!(t.lock().tombstones(), 0);
        assert_eq!(t.lock().slot_bytes(), 8 * std::mem::size_of::<usize>());
        drop(t);
        drop(keep);
    });
}
