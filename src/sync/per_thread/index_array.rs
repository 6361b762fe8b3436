//! `IndexArray<S>`: slots indexed by a small integer, in buckets that are
//! allocated on first use and never move until the array is dropped.
//!
//! Bucket `b` holds the `2^b` indices `2^b - 1 .. 2^(b+1) - 1`, so an array
//! whose largest index is `n` holds fewer than `2n + 2` slots, and any
//! thread can find or add a bucket with one atomic pointer.

use crate::sync::{AtomicPtr, AtomicUsize, Ordering};
use std::fmt;
use std::ptr;

/// One bucket per bit of an index: room for every `usize` index but the
/// last (`index + 1` must not overflow).
const BUCKETS: usize = usize::BITS as usize;

/// A value that fills a fresh slot.
pub(super) trait Empty: Send + Sync {
    fn empty() -> Self;
}

impl Empty for AtomicUsize {
    fn empty() -> Self {
        AtomicUsize::new(0)
    }
}

impl<T: Send + Sync> Empty for AtomicPtr<T> {
    fn empty() -> Self {
        AtomicPtr::new(ptr::null_mut())
    }
}

/// Grow-only slots by index (see the module docs).
pub(super) struct IndexArray<S: Empty> {
    buckets: [AtomicPtr<S>; BUCKETS],
}

/// The bucket holding `index`, and the offset within it.
#[inline(always)]
fn locate(index: usize) -> (usize, usize) {
    // `index + 1` has its highest set bit at position `b` exactly when
    // `2^b - 1 <= index < 2^(b+1) - 1`: that position is the bucket.
    let n = index + 1;
    let bucket = (usize::BITS - 1 - n.leading_zeros()) as usize;
    (bucket, n - (1 << bucket))
}

impl<S: Empty> IndexArray<S> {
    pub(super) fn new() -> Self {
        IndexArray {
            buckets: std::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
        }
    }

    /// The slot at `index`, if its bucket exists.
    #[inline]
    pub(super) fn get(&self, index: usize) -> Option<&S> {
        let (bucket, offset) = locate(index);
        // Acquire: pairs with the Release in `grow`, so the slots' initial
        // values happen-before anything done with them here.
        let first = self.buckets[bucket].load(Ordering::Acquire);
        if first.is_null() {
            return None;
        }
        // SAFETY: a non-null bucket pointer was installed by `grow` (the
        // Acquire above pairs with its Release) and points at `2^bucket`
        // initialised slots, freed only when `self` is dropped (the borrow
        // is tied to `&self`); `locate` gives `offset < 2^bucket`.
        Some(unsafe { &*first.add(offset) })
    }

    /// The slot at `index`, allocating its bucket on first use.
    #[inline]
    pub(super) fn get_or_grow(&self, index: usize) -> &S {
        match self.get(index) {
            Some(slot) => slot,
            None => self.grow(index),
        }
    }

    #[cold]
    #[inline(never)]
    fn grow(&self, index: usize) -> &S {
        let (bucket, offset) = locate(index);
        let fresh: Box<[S]> = (0..1usize << bucket).map(|_| S::empty()).collect();
        let fresh = Box::into_raw(fresh) as *mut S;
        // Release on success: publishes the initialised slots to `get`.
        // Acquire on failure: another thread installed the bucket first, and
        // its slots' initialisation must happen-before our use of them.
        let first = match self.buckets[bucket].compare_exchange(
            ptr::null_mut(),
            fresh,
            Ordering::Release,
            Ordering::Acquire,
        ) {
            Ok(_) => fresh,
            Err(existing) => {
                // SAFETY: `fresh` came from `Box::into_raw` above, with the
                // length `boxed` rebuilds for `bucket`, and was never shared.
                drop(unsafe { Self::boxed(fresh, bucket) });
                existing
            }
        };
        // SAFETY: `first` is the bucket now installed (ours, or the winner's
        // seen through the Acquire of the failed CAS): `2^bucket`
        // initialised slots that live as long as `self`; `offset < 2^bucket`.
        unsafe { &*first.add(offset) }
    }

    /// Calls `f` on every slot of every allocated bucket.
    pub(super) fn for_each(&self, mut f: impl FnMut(&S)) {
        for (bucket, ptr) in self.buckets.iter().enumerate() {
            // Acquire: as in `get`.
            let first = ptr.load(Ordering::Acquire);
            if first.is_null() {
                continue;
            }
            // SAFETY: as in `get`: `grow` published `2^bucket` initialised
            // slots here, which live as long as `self`.
            let slots = unsafe { std::slice::from_raw_parts(first, 1 << bucket) };
            slots.iter().for_each(&mut f);
        }
    }

    /// # Safety
    /// `first` must come from `grow`'s `Box::into_raw` for `bucket`, and not
    /// be used afterwards.
    unsafe fn boxed(first: *mut S, bucket: usize) -> Box<[S]> {
        let slice = ptr::slice_from_raw_parts_mut(first, 1 << bucket);
        // SAFETY: the caller passes a pointer from `Box::into_raw` of a
        // boxed slice of exactly `2^bucket` slots (the length rebuilt here)
        // and gives up every other use of it: the box is rebuilt once, as it
        // was allocated.
        unsafe { Box::from_raw(slice) }
    }
}

impl<S: Empty> Drop for IndexArray<S> {
    fn drop(&mut self) {
        for (bucket, ptr) in self.buckets.iter().enumerate() {
            // `&mut self`: no other thread reaches the buckets any more.
            let first = ptr.load(Ordering::Relaxed);
            if !first.is_null() {
                // SAFETY: installed by `grow` for this bucket, freed once.
                drop(unsafe { Self::boxed(first, bucket) });
            }
        }
    }
}

impl<S: Empty> fmt::Debug for IndexArray<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IndexArray { .. }")
    }
}

#[cfg(all(test, not(all(loom, feature = "loom"))))]
mod tests {
    use super::*;

    #[test]
    fn locate_is_dense_and_in_bounds() {
        let mut next = (0, 0);
        for index in 0..10_000 {
            let (bucket, offset) = locate(index);
            assert_eq!((bucket, offset), next, "index {index}");
            assert!(offset < 1 << bucket);
            next = if offset + 1 == 1 << bucket {
                (bucket + 1, 0)
            } else {
                (bucket, offset + 1)
            };
        }
        assert_eq!(locate(usize::MAX - 1).0, BUCKETS - 1);
    }

    #[test]
    fn slots_keep_their_values() {
        let a: IndexArray<AtomicUsize> = IndexArray::new();
        assert!(a.get(5).is_none());
        a.get_or_grow(5).store(7, Ordering::Relaxed);
        assert_eq!(a.get(5).unwrap().load(Ordering::Relaxed), 7);
        // Index 5 lives in bucket 2 (indices 3..7), 4 slots.
        let mut slots = 0;
        a.for_each(|_| slots += 1);
        assert_eq!(slots, 4);
    }
}
