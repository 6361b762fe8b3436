//! [`BoundTable`]: this thread's label sets bound to the parts they record
//! into, so that a lookup by a label set's key goes straight to the parts.
//!
//! A `FamilyPair` looked up by `'static` label values has a key of a few
//! words (the values' addresses and lengths) and, on this thread, two
//! parts of its value: a counter's cell and a histogram's cells. The
//! shared lookup finds the pair's entry (one probe of a lock-free table)
//! and then each handle's part (the part cache, once per handle). This
//! table maps `(owner, key)` to both parts' addresses at once: one probe of
//! a table only this thread touches.
//!
//! It holds what the part cache holds, addresses of parts of the values
//! filed under the token this thread holds, and follows the same rule: it
//! is emptied (freed) before the token is released, and filled only while
//! the token is held. It is allocated on the first fill (a thread that
//! never looks up a `'static` label set has none), doubles while at most
//! half full up to [`MAX_SLOTS`], and past that starts again empty: a
//! cache, bounded whatever the label sets a thread goes through.
//!
//! Open addressing with linear probing; an owner of 0 marks an empty slot
//! (owners are part keys, never 0).

use std::cell::Cell;
use std::ptr;

/// Slots of a table's first allocation (a power of two).
const FIRST_SLOTS: usize = 64;

/// The most slots a thread's table grows to (a power of two): 4 Ki slots
/// (256 KiB) bind 2 Ki label sets at most.
const MAX_SLOTS: usize = 4096;

/// The words of a bound key (a `StaticKey`'s).
pub(crate) type BoundKey = [u64; 4];

/// One binding: an owner's key and the two parts it records into. One
/// cache line each: a probe that ends at its first slot touches one line.
#[derive(Clone, Copy)]
#[repr(align(64))]
struct Binding {
    owner: u64,
    key: BoundKey,
    parts: [*const (); 2],
}

const EMPTY: Binding = Binding {
    owner: 0,
    key: [0; 4],
    parts: [ptr::null(); 2],
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

    /// The parts bound to `key` by `owner`, if any.
    #[inline(always)]
    pub(super) fn find(&self, owner: u64, key: &BoundKey) -> Option<[*const (); 2]> {
        let slots = self.slots.get();
        if slots.is_null() {
            return None;
        }
        let mask = self.mask.get();
        let mut at = slot_of(owner, key);
        loop {
            at &= mask;
            // SAFETY: `slots` is this thread's live allocation of `mask + 1`
            // bindings (freed only by `clear`, which is not called while
            // this borrow lives: it ends in this iteration), and
            // `at <= mask`.
            let b = unsafe { &*slots.add(at) };
            if b.owner == owner && b.key == *key {
                return Some(b.parts);
            }
            if b.owner == 0 {
                // At most half the slots are in use: every probe ends here
                // or at its key.
                return None;
            }
            at += 1;
        }
    }

    /// Binds `parts` to `key` for `owner` (replacing what it was bound to).
    pub(super) fn fill(&self, owner: u64, key: &BoundKey, parts: [*const (); 2]) {
        debug_assert_ne!(owner, 0, "owners are part keys, never 0");
        if self.slots.get().is_null() || 2 * (self.len.get() + 1) > self.mask.get() + 1 {
            self.grow();
        }
        let slots = self.slots.get();
        let mask = self.mask.get();
        let mut at = slot_of(owner, key);
        loop {
            at &= mask;
            // SAFETY: as in `find`; the mutable access is the only one (this
            // thread's, and no reference into the slots is alive).
            let b = unsafe { &mut *slots.add(at) };
            if b.owner == 0 || (b.owner == owner && b.key == *key) {
                self.len.set(self.len.get() + usize::from(b.owner == 0));
                *b = Binding {
                    owner,
                    key: *key,
                    parts,
                };
                return;
            }
            at += 1;
        }
    }

    /// A table with room for one more binding: the first, twice the size
    /// with every binding moved over, or (at [`MAX_SLOTS`]) an empty one.
    #[cold]
    fn grow(&self) {
        let old = self.take();
        let slots = match &old {
            None => FIRST_SLOTS,
            Some(old) if old.len() < MAX_SLOTS => old.len() * 2,
            Some(old) => old.len(),
        };
        let fresh: Box<[Binding]> = vec![EMPTY; slots].into_boxed_slice();
        self.mask.set(slots - 1);
        self.len.set(0);
        self.slots.set(Box::into_raw(fresh).cast());
        if let Some(old) = old.filter(|old| old.len() < MAX_SLOTS) {
            for b in old.iter().filter(|b| b.owner != 0) {
                self.fill(b.owner, &b.key, b.parts);
            }
        }
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
        // `mask + 1` bindings, and was just taken out of the table, so it is
        // owned here once.
        Some(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(slots, len)) })
    }
}

/// Where a binding's probe starts: one multiply of the key's words folded
/// together (the keys are addresses a program chose, not input).
#[inline(always)]
fn slot_of(owner: u64, key: &BoundKey) -> usize {
    let x = key[0] ^ key[2].rotate_left(32) ^ 0x243f_6a88_85a3_08d3;
    let y = key[1] ^ key[3].rotate_left(32) ^ owner.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let p = u128::from(x) * u128::from(y | 1);
    (p as u64 ^ (p >> 64) as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two distinct addresses (never dereferenced).
    fn parts(n: usize) -> [*const (); 2] {
        let at = |n: usize| ptr::null::<u8>().wrapping_add(n).cast::<()>();
        [at(n), at(n + 1)]
    }

    #[test]
    fn finds_what_was_bound_by_owner_and_key() {
        let t = BoundTable::new();
        assert_eq!(t.find(1, &[1, 2, 3, 0]), None);
        t.fill(1, &[1, 2, 3, 0], parts(10));
        t.fill(2, &[1, 2, 3, 0], parts(20));
        assert_eq!(t.find(1, &[1, 2, 3, 0]), Some(parts(10)));
        assert_eq!(t.find(2, &[1, 2, 3, 0]), Some(parts(20)));
        assert_eq!(t.find(1, &[1, 2, 4, 0]), None);
        t.fill(1, &[1, 2, 3, 0], parts(30));
        assert_eq!(t.find(1, &[1, 2, 3, 0]), Some(parts(30)));
        assert_eq!(t.len.get(), 2);
        t.clear();
        assert_eq!(t.find(1, &[1, 2, 3, 0]), None);
    }

    #[test]
    fn grows_keeping_bindings_then_starts_again_at_the_bound() {
        let t = BoundTable::new();
        let keys = if cfg!(miri) { 100 } else { MAX_SLOTS / 2 };
        for k in 1..=keys as u64 {
            t.fill(7, &[k, 0, 0, 0], parts(k as usize * 2));
        }
        assert!(t.mask.get() < MAX_SLOTS);
        for k in 1..=keys as u64 {
            assert_eq!(t.find(7, &[k, 0, 0, 0]), Some(parts(k as usize * 2)));
        }
        if !cfg!(miri) {
            // One more than half of the largest table: it starts again.
            t.fill(7, &[u64::MAX, 0, 0, 0], parts(4));
            assert_eq!(t.mask.get() + 1, MAX_SLOTS);
            assert_eq!(t.len.get(), 1);
            assert_eq!(t.find(7, &[1, 0, 0, 0]), None);
            assert_eq!(t.find(7, &[u64::MAX, 0, 0, 0]), Some(parts(4)));
        }
        t.clear();
    }
}
