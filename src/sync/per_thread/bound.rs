//! [`BoundTable`]: this thread's label sets bound to the parts they record
//! into, so that a lookup by a label set's key goes straight to the parts.
//!
//! A label set of `'static` values has a key of a few words (the values'
//! addresses and lengths) and, on this thread, a few parts of its values to
//! record into: a `FamilyPair`'s counter cell and histogram cells, a
//! `ResponseTracker`'s three counter cells and histogram cells. The shared
//! lookup finds the owner's entry (one probe of a lock-free table) and then
//! each handle's part (the part cache, once per handle). This table maps
//! `(owner, key)` to all the parts' addresses at once: one probe of a table
//! only this thread touches. A binding is one cache line: its tag (the
//! owner and its keys' length), then seven words, the key's and the
//! parts'.
//!
//! It holds what the part cache holds, addresses of parts of the values
//! filed under the token this thread holds, and follows the same rule: it
//! is emptied (freed) before the token is released, and filled only while
//! the token is held. It is allocated on the first fill (a thread that
//! never looks up a `'static` label set has none), doubles while at most
//! half full up to [`MAX_SLOTS`] (moving its bindings over, so that only a
//! key bound for the first time can make it allocate), and past that starts
//! again empty, in place: a cache, bounded whatever the label sets a thread
//! goes through.
//!
//! Open addressing with linear probing; a tag of 0 marks an empty slot
//! (owners are part keys, never 0).

use std::cell::Cell;
use std::ptr;

/// Slots of a table's first allocation (a power of two).
const FIRST_SLOTS: usize = 64;

/// The most slots a thread's table grows to (a power of two): 4 Ki slots
/// (256 KiB) bind 2 Ki label sets at most.
const MAX_SLOTS: usize = 4096;

/// Words of a binding after its owner: its key's, then its parts'.
pub(crate) const BOUND_WORDS: usize = 7;

/// A word of a binding: a key word or a part's address. Which one each
/// word is depends on the owner alone (its key's length comes first), and
/// a word is only ever read as what its owner wrote it as.
#[derive(Clone, Copy)]
union Word {
    key: u64,
    part: *const (),
}

/// One binding: an owner, its key, and the parts the key records into.
/// One cache line each: a probe that ends at its first slot touches one.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Binding {
    /// The owner and its keys' length ([`tag`]); 0 for an empty slot.
    tag: u64,
    words: [Word; BOUND_WORDS],
}

const _: () = assert!(std::mem::size_of::<Binding>() == 64);

const EMPTY: Binding = Binding {
    tag: 0,
    words: [Word { key: 0 }; BOUND_WORDS],
};

/// A thread's bindings (see the module docs); only its thread touches it.
pub(super) struct BoundTable {
    /// The slots (`mask + 1` of them), from `Box::into_raw`; null before
    /// the first fill and after [`clear`](Self::clear).
    slots: Cell<*mut Binding>,
    mask: Cell<usize>,
    /// Slots in use.
    len: Cell<usize>,
}

impl BoundTable {
    pub(super) const fn new() -> BoundTable {
        BoundTable {
            slots: Cell::new(ptr::null_mut()),
            mask: Cell::new(0),
            len: Cell::new(0),
        }
    }

    /// Where the table is now, to probe it after the thread-local access
    /// that reached it has returned (a probe inside it makes the access
    /// too large for the compiler to inline into a record).
    #[inline(always)]
    pub(super) fn view(&self) -> BoundView {
        BoundView {
            slots: self.slots.get(),
            mask: self.mask.get(),
        }
    }

    /// Binds `parts` to `key` for `owner` (replacing what it was bound to).
    /// Allocates only when a key not bound yet finds the table half full.
    pub(super) fn fill<const K: usize, const P: usize>(
        &self,
        owner: u64,
        key: &[u64; K],
        parts: [*const (); P],
    ) {
        const { assert!(K + P <= BOUND_WORDS) };
        let mut words = [Word { key: 0 }; BOUND_WORDS];
        for (w, k) in words.iter_mut().zip(key) {
            *w = Word { key: *k };
        }
        for (w, p) in words[K..].iter_mut().zip(parts) {
            *w = Word { part: p };
        }
        self.put(Binding {
            tag: tag::<K>(owner),
            words,
        });
    }

    /// Files `new` in its slot, over a binding of the same key or in an
    /// empty slot, making room first if that would pass half.
    fn put(&self, new: Binding) {
        let k = key_len(new.tag);
        let key = || new.words[..k].iter().map(key_word);
        if self.slots.get().is_null() {
            self.grow();
        }
        loop {
            let slots = self.slots.get();
            let mask = self.mask.get();
            let mut at = slot_of(new.tag, key());
            let b = loop {
                at &= mask;
                // SAFETY: `slots` is this thread's live allocation of
                // `mask + 1` bindings (`install`) and `at <= mask`; the
                // mutable access is the only one (this thread's, and no
                // other reference into the slots is alive).
                let b = unsafe { &mut *slots.add(at) };
                if b.tag == 0 || (b.tag == new.tag && b.words[..k].iter().map(key_word).eq(key())) {
                    break b;
                }
                at += 1;
            };
            if b.tag == 0 && 2 * (self.len.get() + 1) > mask + 1 {
                self.grow();
                continue;
            }
            self.len.set(self.len.get() + usize::from(b.tag == 0));
            *b = new;
            return;
        }
    }

    /// Room for more bindings: a table twice the size with every binding
    /// moved over, or at [`MAX_SLOTS`] the same table emptied (a cache
    /// bounded whatever label sets a thread goes through).
    #[cold]
    fn grow(&self) {
        match self.take() {
            None => self.install(vec![EMPTY; FIRST_SLOTS].into_boxed_slice()),
            Some(mut full) if full.len() >= MAX_SLOTS => {
                full.fill(EMPTY);
                self.install(full);
            }
            Some(old) => {
                self.install(vec![EMPTY; old.len() * 2].into_boxed_slice());
                for b in old.iter().filter(|b| b.tag != 0) {
                    self.put(*b);
                }
            }
        }
    }

    /// Makes `slots` (empty) the table.
    fn install(&self, slots: Box<[Binding]>) {
        debug_assert!(slots.len().is_power_of_two());
        self.mask.set(slots.len() - 1);
        self.len.set(0);
        self.slots.set(Box::into_raw(slots).cast());
    }

    /// Empties the table: before the token its parts are in is released.
    pub(super) fn clear(&self) {
        drop(self.take());
    }

    /// The slots, owned again, leaving the table unallocated.
    fn take(&self) -> Option<Box<[Binding]>> {
        let slots = self.slots.replace(ptr::null_mut());
        self.len.set(0);
        if slots.is_null() {
            return None;
        }
        let len = self.mask.get() + 1;
        // SAFETY: `slots` came from `Box::into_raw` of a boxed slice of
        // `mask + 1` bindings (`install`), and was just taken out of the
        // table, so it is owned here once.
        Some(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(slots, len)) })
    }
}

/// The table as [`BoundTable::view`] found it.
#[derive(Clone, Copy)]
pub(super) struct BoundView {
    slots: *const Binding,
    mask: usize,
}

impl BoundView {
    /// The `P` parts bound to the `K`-word `key` by `owner`, if any. An
    /// owner always binds keys of `K` words to `P` parts.
    ///
    /// # Safety
    ///
    /// Called on the thread whose table this is, before anything else
    /// fills or empties it (the view's slots are still the table's).
    #[inline(always)]
    pub(super) unsafe fn find<const K: usize, const P: usize>(
        self,
        owner: u64,
        key: &[u64; K],
    ) -> Option<[*const (); P]> {
        const { assert!(K + P <= BOUND_WORDS) };
        if self.slots.is_null() {
            return None;
        }
        let tag = tag::<K>(owner);
        let mut at = slot_of(tag, key.iter().copied());
        loop {
            at &= self.mask;
            // SAFETY: by our caller's contract `slots` is still the table's
            // live allocation of `mask + 1` bindings, and `at <= mask`.
            let b = unsafe { &*self.slots.add(at) };
            if b.tag == tag && matches(&b.words, key) {
                // SAFETY: the tag's owner wrote `K` key words then `P` parts.
                return Some(std::array::from_fn(|i| unsafe { b.words[K + i].part }));
            }
            if b.tag == 0 {
                // At most half the slots are in use: every probe ends here
                // or at its key.
                return None;
            }
            at += 1;
        }
    }
}

/// The tag of `owner`'s bindings of `K`-word keys: the owner in the low 56
/// bits (part keys are handed out from 1 and stay far below 2^56), the key's
/// length above, so that a binding can be filed again without its owner.
#[inline(always)]
fn tag<const K: usize>(owner: u64) -> u64 {
    debug_assert!(owner != 0 && owner >> 56 == 0, "owner {owner}");
    owner | (K as u64) << 56
}

/// The key length a tag carries.
fn key_len(tag: u64) -> usize {
    (tag >> 56) as usize
}

/// A key word of a binding.
#[inline(always)]
fn key_word(w: &Word) -> u64 {
    // SAFETY: called only on the first words of a binding, which its owner
    // wrote as keys (the tag's key length of them).
    unsafe { w.key }
}

/// Whether a binding's words start with `key`: called once its tag
/// matched, so the first `K` words are key words.
#[inline(always)]
fn matches<const K: usize>(words: &[Word; BOUND_WORDS], key: &[u64; K]) -> bool {
    let mut differ = 0;
    for (w, k) in words.iter().zip(key) {
        differ |= key_word(w) ^ k;
    }
    differ == 0
}

/// Where a binding's probe starts: one multiply of the key's words folded
/// together (the keys are addresses a program chose, not input).
#[inline(always)]
fn slot_of(tag: u64, key: impl Iterator<Item = u64>) -> usize {
    let (mut x, mut y) = (
        0x243f_6a88_85a3_08d3_u64,
        tag.wrapping_mul(0x9e37_79b9_7f4a_7c15),
    );
    for (i, k) in key.enumerate() {
        let k = k.rotate_left(32 * (i as u32 / 2 % 2));
        if i % 2 == 0 {
            x ^= k;
        } else {
            y ^= k;
        }
    }
    let p = u128::from(x) * u128::from(y | 1);
    (p as u64 ^ (p >> 64) as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find<const K: usize, const P: usize>(
        t: &BoundTable,
        owner: u64,
        key: &[u64; K],
    ) -> Option<[*const (); P]> {
        // SAFETY: this thread's table, probed right away.
        unsafe { t.view().find(owner, key) }
    }

    /// Two distinct addresses (never dereferenced).
    fn parts(n: usize) -> [*const (); 2] {
        let at = |n: usize| ptr::null::<u8>().wrapping_add(n).cast::<()>();
        [at(n), at(n + 1)]
    }

    trait Repeat {
        fn repeat4(self) -> [*const (); 4];
    }

    impl Repeat for [*const (); 2] {
        fn repeat4(self) -> [*const (); 4] {
            [self[0], self[1], self[0], self[1]]
        }
    }

    #[test]
    fn finds_what_was_bound_by_owner_and_key() {
        let t = BoundTable::new();
        assert_eq!(find::<4, 2>(&t, 1, &[1, 2, 3, 0]), None);
        t.fill(1, &[1, 2, 3, 0], parts(10));
        t.fill(2, &[1, 2, 3, 0], parts(20));
        assert_eq!(find(&t, 1, &[1, 2, 3, 0]), Some(parts(10)));
        assert_eq!(find(&t, 2, &[1, 2, 3, 0]), Some(parts(20)));
        assert_eq!(find::<4, 2>(&t, 1, &[1, 2, 4, 0]), None);
        t.fill(1, &[1, 2, 3, 0], parts(30));
        assert_eq!(find(&t, 1, &[1, 2, 3, 0]), Some(parts(30)));
        assert_eq!(t.len.get(), 2);
        t.clear();
        assert_eq!(find::<4, 2>(&t, 1, &[1, 2, 3, 0]), None);
    }

    #[test]
    fn keys_of_each_length_and_their_parts_come_back() {
        let t = BoundTable::new();
        t.fill(3, &[1, 2, 3], parts(8).repeat4());
        t.fill(4, &[1, 2, 3, 4, 5, 6], [parts(6)[0]]);
        assert_eq!(find::<3, 4>(&t, 3, &[1, 2, 3]), Some(parts(8).repeat4()));
        assert_eq!(
            find::<6, 1>(&t, 4, &[1, 2, 3, 4, 5, 6]),
            Some([parts(6)[0]])
        );
        assert_eq!(find::<3, 4>(&t, 3, &[1, 2, 4]), None);
        t.clear();
    }

    /// Growing keeps every binding; at the largest size the table starts
    /// again empty, in the same allocation.
    #[test]
    fn grows_keeping_bindings_then_starts_again_in_place() {
        let t = BoundTable::new();
        for k in 1..=(FIRST_SLOTS / 2) as u64 {
            t.fill(7, &[k, 0, 0, 0], parts(k as usize * 2));
        }
        assert_eq!(t.mask.get() + 1, FIRST_SLOTS, "half full, not grown");
        t.fill(7, &[u64::MAX, 0, 0, 0], parts(4));
        assert_eq!(t.mask.get() + 1, 2 * FIRST_SLOTS);
        for k in 1..=(FIRST_SLOTS / 2) as u64 {
            assert_eq!(find(&t, 7, &[k, 0, 0, 0]), Some(parts(k as usize * 2)));
        }
        assert_eq!(find(&t, 7, &[u64::MAX, 0, 0, 0]), Some(parts(4)));
        // Binding again what is bound neither grows nor adds.
        t.fill(7, &[1, 0, 0, 0], parts(6));
        assert_eq!(
            (t.len.get(), find(&t, 7, &[1, 0, 0, 0])),
            (33, Some(parts(6)))
        );
        if !cfg!(miri) {
            let mut restarts = 0;
            for k in 1..=(2 * MAX_SLOTS) as u64 {
                let before = (t.slots.get(), t.len.get());
                t.fill(8, &[k, 0, 0, 0], parts(k as usize));
                if t.len.get() < before.1 {
                    restarts += 1;
                    assert_eq!(t.slots.get(), before.0, "emptied in place");
                }
                assert!(t.mask.get() < MAX_SLOTS && 2 * t.len.get() <= t.mask.get() + 1);
                assert_eq!(find(&t, 8, &[k, 0, 0, 0]), Some(parts(k as usize)));
            }
            assert!(restarts >= 2, "{restarts} restarts");
        }
        t.clear();
    }
}
