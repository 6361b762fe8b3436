//! [`Directory`]: where a thread's histogram cells find the [`Group`] and
//! the [`Chunk`] of a bucket.
//!
//! Two levels: a directory slot per group of 256 buckets, a group slot per
//! chunk of 16. Groups and chunks are allocated by the owning thread the
//! first time it records into them and live until the directory is dropped.
//!
//! The slots of the first [`HEAD_GROUPS`] groups sit in the directory
//! itself, which sits in the cells: at the default precision that is every
//! group, so a record goes from the cells straight to its group (one
//! dependent load fewer than through a separately allocated slot array).
//! Finer precisions keep their further groups' slots in a `tail` array.
//!
//! The protocol between the owning writer and readers is described in
//! `histogram_cells.rs` and argued in `docs/design.md`.

use super::chunk::{for_each_installed, install, Chunk, Group, GROUP_BUCKETS};
use crate::buckets::Precision;
use crate::sync::{AtomicPtr, Ordering};
use std::ptr;

/// Groups whose slots a directory holds inline: every group of the default
/// precision's buckets (3,776 buckets, 15 groups of 256).
pub(super) const HEAD_GROUPS: usize = Precision::DEFAULT.bucket_count().div_ceil(GROUP_BUCKETS);

/// Chunks of buckets `0..groups * 256`, in groups of 16 allocated on
/// first use (see the module docs).
pub(super) struct Directory {
    /// The slots of groups `0..HEAD_GROUPS`.
    head: [AtomicPtr<Group>; HEAD_GROUPS],
    /// The slots of the groups from `HEAD_GROUPS` on (empty, and not
    /// allocated, for a directory of at most `HEAD_GROUPS` groups).
    tail: Box<[AtomicPtr<Group>]>,
}

impl Directory {
    /// A directory of `buckets` buckets (rounded up to whole groups).
    pub(super) fn new(buckets: usize) -> Directory {
        let groups = buckets.div_ceil(GROUP_BUCKETS);
        Directory {
            head: std::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
            tail: (HEAD_GROUPS..groups)
                .map(|_| AtomicPtr::new(ptr::null_mut()))
                .collect(),
        }
    }

    /// The slot of group `g`, which the directory has (in its head if
    /// `in_head`: the caller knows). Owner only.
    #[inline(always)]
    fn slot(&self, g: usize, in_head: bool) -> &AtomicPtr<Group> {
        debug_assert!(g < HEAD_GROUPS + self.tail.len());
        debug_assert!(!in_head || g < HEAD_GROUPS);
        if in_head || g < HEAD_GROUPS {
            // SAFETY: `g < HEAD_GROUPS`, checked or known by the caller.
            unsafe { self.head.get_unchecked(g) }
        } else {
            // SAFETY: callers pass groups the directory was made for
            // (indices below its bucket count): `tail` holds every group
            // from `HEAD_GROUPS` on.
            unsafe { self.tail.get_unchecked(g - HEAD_GROUPS) }
        }
    }

    /// The slot of group `g`, if the directory has one; for any thread.
    fn checked_slot(&self, g: usize) -> Option<&AtomicPtr<Group>> {
        match self.head.get(g) {
            Some(s) => Some(s),
            None => self.tail.get(g - HEAD_GROUPS),
        }
    }

    /// The chunk of bucket `index` and its group, allocated if new. Owner
    /// only; `index` is below the bucket count the directory was made for,
    /// and in a group of the head if `in_head`.
    #[inline(always)]
    pub(super) fn chunk_or_grow(&self, index: usize, in_head: bool) -> (&Group, &Chunk) {
        // Relaxed loads: the directory is only ever extended by the owner
        // (this thread, or a predecessor that exited before we started), so
        // program order makes our own allocations visible.
        let group = self.slot(index / GROUP_BUCKETS, in_head);
        let mut g = group.load(Ordering::Relaxed);
        if g.is_null() {
            g = install(group, Group::new);
        }
        // SAFETY: `g` is non-null and was installed by `install`; groups live
        // until `self` is dropped.
        let g = unsafe { &*g };
        let slot = g.chunk_slot(index);
        let mut c = slot.load(Ordering::Relaxed);
        if c.is_null() {
            c = install(slot, Chunk::new);
        }
        // SAFETY: `c` is non-null (installed just above if it was not
        // already) and every non-null chunk pointer comes from `install`'s
        // `Box::into_raw`; chunks are freed only when `self` is dropped.
        (g, unsafe { &*c })
    }

    /// The group of bucket `index`, whose chunk is installed. Owner only;
    /// `index` as for [`chunk_or_grow`](Self::chunk_or_grow).
    #[inline(always)]
    pub(super) fn group_of_installed(&self, index: usize) -> &Group {
        // Relaxed: installed by the owner (see `chunk_or_grow`).
        let g = self
            .slot(index / GROUP_BUCKETS, false)
            .load(Ordering::Relaxed);
        debug_assert!(!g.is_null());
        // SAFETY: the caller's chunk of `index` is installed, so its group
        // is (groups are installed before their chunks and live until
        // `self` is dropped).
        unsafe { &*g }
    }

    /// The chunk of bucket `index`, if allocated; for readers on any
    /// thread.
    pub(super) fn get(&self, index: usize) -> Option<&Chunk> {
        // Acquire (both): pairs with the Release in `install`.
        let g = self
            .checked_slot(index / GROUP_BUCKETS)?
            .load(Ordering::Acquire);
        if g.is_null() {
            return None;
        }
        // SAFETY: a non-null group pointer was published by `install`
        // (Acquire above) from a live `Box`; groups are freed only when
        // `self` is dropped, which `&self` rules out.
        let c = unsafe { &*g }.chunk_slot(index).load(Ordering::Acquire);
        // SAFETY: likewise for a non-null chunk pointer.
        (!c.is_null()).then(|| unsafe { &*c })
    }

    /// Calls `f(first_bucket_index, group)` for every allocated group, by
    /// increasing index.
    pub(super) fn for_each_group(&self, mut f: impl FnMut(usize, &Group)) {
        for_each_installed(&self.head, GROUP_BUCKETS, &mut f);
        let tail_first = HEAD_GROUPS * GROUP_BUCKETS;
        for_each_installed(&self.tail, GROUP_BUCKETS, |at, g| f(tail_first + at, g));
    }

    /// Calls `f(first_bucket_index, chunk)` for every allocated chunk, by
    /// increasing index.
    pub(super) fn for_each(&self, mut f: impl FnMut(usize, &Chunk)) {
        self.for_each_group(|first, group| group.for_each(|at, chunk| f(first + at, chunk)));
    }

    /// Heap bytes owned by this directory (not counting `self`).
    pub(super) fn allocated_bytes(&self) -> usize {
        let mut bytes = std::mem::size_of_val(&*self.tail);
        self.for_each_group(|_, _| bytes += std::mem::size_of::<Group>());
        self.for_each(|_, _| bytes += std::mem::size_of::<Chunk>());
        bytes
    }
}

impl Drop for Directory {
    fn drop(&mut self) {
        for group in self.head.iter().chain(self.tail.iter()) {
            // `&mut self`: nobody else can reach the directory now.
            let g = group.load(Ordering::Acquire);
            if g.is_null() {
                continue;
            }
            // SAFETY: installed by `install` from a `Box`, freed exactly once
            // here (with its chunks, by `Group`'s drop).
            drop(unsafe { Box::from_raw(g) });
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn head_and_tail_hold_every_group_of_every_precision() {
        for bits in 0..=Precision::MAX.bits() {
            let p = Precision::new(bits).unwrap();
            let buckets = p.bucket_count();
            let dir = Directory::new(buckets);
            let groups = buckets.div_ceil(GROUP_BUCKETS);
            assert_eq!(dir.tail.len(), groups.saturating_sub(HEAD_GROUPS), "{bits}");
            // One bucket in every group, the last bucket included.
            let mut wanted: Vec<usize> = (0..groups).map(|g| g * GROUP_BUCKETS + 5).collect();
            wanted.push(buckets - 1);
            for &i in &wanted {
                let (g, c) = dir.chunk_or_grow(i, false);
                assert!(std::ptr::eq(g, dir.group_of_installed(i)));
                assert!(std::ptr::eq(c, dir.get(i).unwrap()), "{bits} {i}");
            }
            let mut seen = Vec::new();
            dir.for_each_group(|first, _| seen.push(first / GROUP_BUCKETS));
            assert_eq!(seen, (0..groups).collect::<Vec<_>>(), "{bits}");
            assert!(dir.get(groups * GROUP_BUCKETS).is_none());
        }
    }
}
