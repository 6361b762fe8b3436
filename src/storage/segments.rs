//! `Segments<T>`: a per-thread array of slots that grows in place.
//!
//! Slots live in segments that never move or shrink until the owner is
//! dropped, so the collector can read a slot while its owner writes it.
//! Segment `s` holds `FIRST << s` slots, so a registry of `n` metrics costs a
//! thread that touched the last of them under `2n` slots and at most
//! `MAX_SEGMENTS` pointers of directory. Segment 0 is inline: a record into
//! one of a registry's first `FIRST` metrics of a kind reads no segment
//! pointer, one dependent load fewer between the thread's shard and the
//! cell. The later segments are allocated on first touch.
//!
//! Segments are made of 128-byte [`Line`]s, aligned to 128 bytes: the slots
//! of one thread never share a cache line (or the adjacent line the x86
//! spatial prefetcher pulls in with it) with another thread's, while the
//! slots of one thread's metrics sit densely, 8 bytes each.

use crate::sync::{AtomicPtr, AtomicU64, Ordering};
use std::fmt;
use std::ptr;

/// Slots per line: 16 × 8 bytes = 128 bytes.
const LINE_SLOTS: usize = 16;
/// Slots in segment 0.
const FIRST_BITS: u32 = 5;
const FIRST: usize = 1 << FIRST_BITS;
/// Segments per thread: room for `FIRST * (2^26 - 1)`, about 2 billion slots.
const MAX_SEGMENTS: usize = 26;

/// A value that can fill a fresh slot.
pub(crate) trait Slot: Send + Sync {
    fn empty() -> Self;
}

impl Slot for AtomicU64 {
    fn empty() -> Self {
        AtomicU64::new(0)
    }
}

impl<X: Send + Sync> Slot for AtomicPtr<X> {
    fn empty() -> Self {
        AtomicPtr::new(ptr::null_mut())
    }
}

/// 16 slots on their own 128-byte line pair.
///
/// 128 rather than 64: Intel's spatial prefetcher fetches cache lines in
/// aligned pairs, so two threads writing neighbouring 64-byte lines still
/// contend (the same reason crossbeam's `CachePadded` uses 128 on x86-64).
///
/// `repr(C)`: the slots start the line, so where a line is exactly its
/// slots (8-byte slots: 16 × 8 = 128), a segment's lines are one array of
/// slots (see `Segments::slot_at`).
#[repr(C, align(128))]
pub(crate) struct Line<T>([T; LINE_SLOTS]);

/// Where a slot lives: computed once at registration, reused on every record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SlotIndex {
    segment: u8,
    /// Slot offset within the segment.
    offset: u32,
}

impl SlotIndex {
    /// The position of slot number `index`, or `None` past the capacity.
    pub(crate) fn new(index: usize) -> Option<SlotIndex> {
        // Shift indices by FIRST so segment s covers [FIRST << s, FIRST << (s+1)):
        // the segment is the position of the highest set bit, less FIRST_BITS.
        let j = index.checked_add(FIRST)?;
        let segment = (usize::BITS - 1 - j.leading_zeros() - FIRST_BITS) as usize;
        if segment >= MAX_SEGMENTS {
            return None;
        }
        Some(SlotIndex {
            segment: segment as u8,
            offset: (j - (FIRST << segment)) as u32,
        })
    }

    /// The slot number this position was made from.
    pub(crate) fn get(self) -> usize {
        (FIRST << self.segment) - FIRST + self.offset as usize
    }
}

/// A growable array of slots written by one thread (see the module docs).
pub(crate) struct Segments<T: Slot> {
    /// Segment 0's slots.
    first: [Line<T>; FIRST / LINE_SLOTS],
    /// Segments 1 and later, allocated on first touch (entry 0 stays null).
    segments: [AtomicPtr<Line<T>>; MAX_SEGMENTS],
}

impl<T: Slot> Segments<T> {
    pub(crate) fn new() -> Self {
        Segments {
            first: std::array::from_fn(|_| Line(std::array::from_fn(|_| T::empty()))),
            segments: std::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
        }
    }

    /// The lines of `segment` (below `MAX_SEGMENTS`): segment 0's inline
    /// ones, or a later segment's pointer loaded with `order` (null until
    /// `grow` installs it).
    #[inline(always)]
    fn line(&self, segment: usize, order: Ordering) -> *mut Line<T> {
        if segment == 0 {
            // Only shared references are made from it: the slots are atomics.
            return self.first.as_ptr().cast_mut();
        }
        debug_assert!(segment < MAX_SEGMENTS);
        // SAFETY: callers pass segments below MAX_SEGMENTS (`SlotIndex::new`
        // makes no other; the walks stop there).
        unsafe { self.segments.get_unchecked(segment) }.load(order)
    }

    const fn lines_in(segment: usize) -> usize {
        (FIRST << segment) / LINE_SLOTS
    }

    /// The slot at `at`, allocating its segment on first touch.
    ///
    /// Called by the owning thread only (the holder of the owner token this
    /// value is filed under): it is the only thread that ever installs segments here.
    #[inline(always)]
    pub(crate) fn get_or_grow(&self, at: SlotIndex) -> &T {
        // Relaxed: segments are installed by this same thread (or by the
        // thread that held this shard's owner token before it, which
        // happens-before us through the token's release and claim), so
        // program order already makes the segment's contents visible.
        let mut line = self.line(at.segment as usize, Ordering::Relaxed);
        if line.is_null() {
            line = self.grow(at.segment as usize);
        }
        Self::slot_at(line, at)
    }

    /// The slot at `at` if its segment exists; for readers on any thread.
    #[inline]
    pub(crate) fn get(&self, at: SlotIndex) -> Option<&T> {
        // Acquire: pairs with the Release in `grow`, so the slots' initial
        // values are visible before we read them.
        let line = self.line(at.segment as usize, Ordering::Acquire);
        if line.is_null() {
            None
        } else {
            Some(Self::slot_at(line, at))
        }
    }

    #[inline(always)]
    fn slot_at<'a>(line: *mut Line<T>, at: SlotIndex) -> &'a T {
        let offset = at.offset as usize;
        debug_assert!(offset < FIRST << at.segment);
        if std::mem::size_of::<Line<T>>() == LINE_SLOTS * std::mem::size_of::<T>() {
            // SAFETY: as below, the segment's `lines_in(at.segment)` lines
            // are initialised and live, and `offset < FIRST << segment`.
            // Lines without padding (the size checked just above) whose
            // slots start them (`repr(C)`) lie back to back, so slot
            // `offset` of the segment is the `offset`-th `T` from its first
            // line's start, within the same allocation (the inline array or
            // `grow`'s boxed slice, whose whole extent `line` may reach).
            // One address computation instead of a line's and a slot's.
            return unsafe { &*line.cast::<T>().add(offset) };
        }
        // SAFETY: `line` is segment 0's inline lines or a non-null segment
        // pointer installed by `grow`: `lines_in(at.segment)` initialised
        // lines that live until `self` is dropped (the returned borrow is
        // tied to `&self` by the callers). `SlotIndex::new` guarantees
        // `offset < FIRST << segment`, so `offset / LINE_SLOTS` is in bounds.
        unsafe { &(*line.add(offset / LINE_SLOTS)).0[offset % LINE_SLOTS] }
    }

    #[cold]
    #[inline(never)]
    fn grow(&self, segment: usize) -> *mut Line<T> {
        debug_assert!(segment > 0, "segment 0 is inline");
        let lines: Box<[Line<T>]> = (0..Self::lines_in(segment))
            .map(|_| Line(std::array::from_fn(|_| T::empty())))
            .collect();
        let fresh = Box::into_raw(lines) as *mut Line<T>;
        // Release on success: publishes the initialised slots to readers
        // (`get`). A CAS although only the owner installs segments: it costs
        // nothing on this cold path and keeps the structure sound even if
        // that invariant were ever broken (the loser frees its copy).
        match self.segments[segment].compare_exchange(
            ptr::null_mut(),
            fresh,
            Ordering::Release,
            Ordering::Acquire,
        ) {
            Ok(_) => fresh,
            Err(existing) => {
                // SAFETY: `fresh` came from `Box::into_raw` above with this
                // length and was never shared.
                drop(unsafe { Self::boxed(fresh, segment) });
                existing
            }
        }
    }

    /// # Safety
    /// `line` must come from `grow`'s `Box::into_raw` for `segment`, and not
    /// be used afterwards.
    unsafe fn boxed(line: *mut Line<T>, segment: usize) -> Box<[Line<T>]> {
        let slice = ptr::slice_from_raw_parts_mut(line, Self::lines_in(segment));
        // SAFETY: the caller passes `grow`'s pointer from `Box::into_raw` of
        // a boxed slice of exactly `lines_in(segment)` lines (the length
        // `slice` is rebuilt with) and gives up every other use of it, so
        // the box is rebuilt once, as it was allocated.
        unsafe { Box::from_raw(slice) }
    }

    /// Calls `f(first_slot_number, slots)` for every allocated segment.
    pub(crate) fn for_each_segment(&self, mut f: impl FnMut(usize, &[T])) {
        for segment in 0..MAX_SEGMENTS {
            // Acquire: as in `get`.
            let line = self.line(segment, Ordering::Acquire);
            if line.is_null() {
                continue;
            }
            let first = (FIRST << segment) - FIRST;
            for i in 0..Self::lines_in(segment) {
                // SAFETY: `line` is segment 0's inline lines, or non-null
                // and so published by `grow` (Acquire above, Release there):
                // `lines_in(segment)` initialised lines, freed only when
                // `self` is dropped, and `i` is below that count.
                let slots = unsafe { &(*line.add(i)).0 };
                f(first + i * LINE_SLOTS, slots);
            }
        }
    }

    /// Bytes allocated for slots (not counting `self`).
    pub(crate) fn allocated_bytes(&self) -> usize {
        self.segments
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.load(Ordering::Acquire).is_null())
            .map(|(s, _)| Self::lines_in(s) * std::mem::size_of::<Line<T>>())
            .sum()
    }
}

impl<T: Slot> Drop for Segments<T> {
    fn drop(&mut self) {
        for (segment, ptr) in self.segments.iter().enumerate() {
            // `&mut self`: no other thread can reach these any more.
            let line = ptr.load(Ordering::Acquire);
            if !line.is_null() {
                // SAFETY: installed by `grow` for this segment, dropped once.
                drop(unsafe { Self::boxed(line, segment) });
            }
        }
    }
}

impl<T: Slot> fmt::Debug for Segments<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Segments")
            .field("allocated_bytes", &self.allocated_bytes())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn slot_index_round_trips_and_is_dense() {
        let mut last = None;
        // 5,000 under Miri (`scripts/miri.sh`): still several segments.
        let n = if cfg!(miri) { 5_000 } else { 100_000 };
        for i in 0..n {
            let at = SlotIndex::new(i).unwrap();
            assert_eq!(at.get(), i);
            if let Some(prev) = last {
                let prev: SlotIndex = prev;
                assert!(
                    (at.segment == prev.segment && at.offset == prev.offset + 1)
                        || (at.segment == prev.segment + 1 && at.offset == 0)
                );
            }
            last = Some(at);
        }
        assert_eq!(
            SlotIndex::new(0),
            Some(SlotIndex {
                segment: 0,
                offset: 0
            })
        );
        assert_eq!(
            SlotIndex::new(32),
            Some(SlotIndex {
                segment: 1,
                offset: 0
            })
        );
        assert!(SlotIndex::new(FIRST * ((1 << MAX_SEGMENTS) - 1)).is_none());
        assert!(SlotIndex::new(usize::MAX).is_none());
    }

    #[test]
    fn every_slot_is_where_the_walk_finds_it() {
        // The owner's address computation (`slot_at`) against the
        // collector's walk, line by line, over segment 0 and three grown ones.
        let s: Segments<AtomicU64> = Segments::new();
        let n = (FIRST << 4) - FIRST;
        for i in 0..n {
            s.get_or_grow(SlotIndex::new(i).unwrap())
                .store(i as u64 + 1, Ordering::Relaxed);
        }
        let mut seen = 0;
        s.for_each_segment(|first, slots| {
            for (i, slot) in slots.iter().enumerate() {
                assert_eq!(slot.load(Ordering::Relaxed), (first + i) as u64 + 1);
                seen += 1;
            }
        });
        assert_eq!(seen, n);
    }

    #[test]
    fn grows_lazily_and_keeps_values() {
        let s: Segments<AtomicU64> = Segments::new();
        assert_eq!(s.allocated_bytes(), 0);
        let at = SlotIndex::new(1000).unwrap();
        assert!(s.get(at).is_none());
        s.get_or_grow(at).store(7, Ordering::Relaxed);
        assert_eq!(s.get(at).unwrap().load(Ordering::Relaxed), 7);
        // 1000 + 32 lies in [1024, 2048): segment 5 of 1024 slots.
        assert_eq!(s.allocated_bytes(), 1024 * 8);
        let mut seen = 0;
        s.for_each_segment(|first, slots| {
            for (i, slot) in slots.iter().enumerate() {
                if slot.load(Ordering::Relaxed) == 7 {
                    assert_eq!(first + i, 1000);
                    seen += 1;
                }
            }
        });
        assert_eq!(seen, 1);
    }
}
