//! [`Chunk`]: 16 buckets with their count and sums, and the [`Group`] of
//! 16 chunks a thread's histogram cells are made of (reached through a
//! `Directory`, `directory.rs`).
//!
//! The protocol between the owning writer and readers is described in
//! `histogram_cells.rs` and argued in `docs/design.md`.

use super::record_count::RecordCount;
use crate::sync::{spin_hint, AtomicPtr, AtomicU64, Ordering};
use std::ptr;

/// Buckets per chunk.
pub(crate) const CHUNK_BUCKETS: usize = 16;
/// Chunks per directory group.
const GROUP_CHUNKS: usize = 16;
/// Buckets covered by one directory group.
pub(crate) const GROUP_BUCKETS: usize = CHUNK_BUCKETS * GROUP_CHUNKS;

/// What a consistent copy of a chunk adds up to, besides its buckets.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct ChunkSums {
    /// Exact sum of the `u64` records.
    pub(crate) int: u128,
    /// Sum of the `f64` records, as a Neumaier pair: `float + comp` is
    /// the sum, `comp` holding the low-order bits `float` lost.
    pub(crate) float: f64,
    pub(crate) comp: f64,
}

/// `sum + x`, and what rounding took from it, exactly (Neumaier: the
/// larger operand minus the total, plus the smaller); `None` when the total
/// is not finite, which makes the compensation meaningless (the sum is the
/// infinity, or NaN for `inf + -inf`). A chunk's `f64` sum and the
/// collector's sums over chunks both add up this way.
#[inline(always)]
pub(crate) fn compensated_add(sum: f64, x: f64) -> (f64, Option<f64>) {
    let total = sum + x;
    let err = total.is_finite().then(|| {
        if sum.abs() >= x.abs() {
            (sum - total) + x
        } else {
            (x - total) + sum
        }
    });
    (total, err)
}

/// 16 buckets with their record count and sums (168 bytes).
#[repr(C)]
pub(crate) struct Chunk {
    /// Records completed into this chunk: bumped last by each record, so a
    /// reader can tell a finished copy from one that caught a record midway
    /// (see [`Chunk::read`]).
    pub(super) count: AtomicU64,
    /// Low 64 bits of the sum of the `u64` values recorded into this chunk.
    sum_lo: AtomicU64,
    /// High 64 bits of that sum: the sum is an exact `u128`, so even values
    /// near `u64::MAX` add up without overflow.
    sum_hi: AtomicU64,
    /// Bits of the running sum of the `f64` values recorded into this chunk.
    fsum: AtomicU64,
    /// Bits of its Neumaier compensation: what rounding took from `fsum`.
    fcomp: AtomicU64,
    buckets: [AtomicU64; CHUNK_BUCKETS],
}

impl Chunk {
    pub(super) fn new() -> Chunk {
        Chunk {
            count: AtomicU64::new(0),
            sum_lo: AtomicU64::new(0),
            sum_hi: AtomicU64::new(0),
            fsum: AtomicU64::new(0),
            fcomp: AtomicU64::new(0),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    /// Bumps bucket `slot`. Owner only; all loads are Relaxed: this thread
    /// is the only writer, so it reads back its own latest stores.
    #[inline(always)]
    fn bump(&self, slot: usize) {
        let bucket = &self.buckets[slot];
        bucket.store(
            bucket.load(Ordering::Relaxed).wrapping_add(1),
            Ordering::Relaxed,
        );
    }

    /// Counts the record just written.
    #[inline(always)]
    fn publish(&self) {
        let count = self.count.load(Ordering::Relaxed);
        // Release: a reader that Acquire-loads this count sees the bucket,
        // the sums, and the min/max stores made before them.
        self.count.store(count.wrapping_add(1), Ordering::Release);
    }

    /// Records `value` into bucket `slot`. Owner only.
    ///
    /// Bucket first, then the sum, then the count; each later store is a
    /// Release, so whoever sees one of them sees the stores before it.
    #[inline(always)]
    pub(super) fn write(&self, slot: usize, value: u64) {
        self.bump(slot);
        let (lo, carry) = self.sum_lo.load(Ordering::Relaxed).overflowing_add(value);
        if carry {
            let hi = self.sum_hi.load(Ordering::Relaxed);
            // Release: a reader that sees this carry sees the bucket above.
            self.sum_hi.store(hi.wrapping_add(1), Ordering::Release);
        }
        // Release: a reader that sees this sum sees the bucket (and carry).
        self.sum_lo.store(lo, Ordering::Release);
        self.publish();
    }

    /// Records the non-NaN `value` into bucket `slot`. Owner only.
    ///
    /// The same order as [`write`](Self::write): bucket, compensation,
    /// sum, count. The sum is Neumaier's compensated sum: each addition's
    /// rounding error is kept in `fcomp`, so the chunk's sum is exact to
    /// f64 rounding for values of any mix of magnitudes.
    #[inline(always)]
    pub(super) fn write_f64(&self, slot: usize, value: f64) {
        self.bump(slot);
        let sum = f64::from_bits(self.fsum.load(Ordering::Relaxed));
        let (total, err) = compensated_add(sum, value);
        if let Some(err) = err {
            let comp = f64::from_bits(self.fcomp.load(Ordering::Relaxed)) + err;
            // Release: a reader that sees this sees the bucket above.
            self.fcomp.store(comp.to_bits(), Ordering::Release);
        }
        // (An infinite total makes the compensation meaningless: the sum
        // is the infinity, or NaN for `inf + -inf`, whatever `fcomp` holds.)
        // Release: a reader that sees this sum sees the compensation.
        self.fsum.store(total.to_bits(), Ordering::Release);
        self.publish();
    }

    /// A consistent copy of the buckets; returns the chunk's sums.
    ///
    /// Load the count `c`, then the sums, then the buckets, and accept the
    /// copy only if the buckets add up to `c`: they then hold exactly the
    /// first `c` records, and the sums are theirs (the argument is in
    /// `docs/design.md`). Otherwise a record was caught midway: retry.
    pub(super) fn read(&self, out: &mut [u64; CHUNK_BUCKETS]) -> ChunkSums {
        let mut attempt = 0;
        loop {
            // Acquire (all five): each pairs with the writer's Release store
            // of the same field, making the stores before it visible to the
            // loads below. Each field is loaded in the reverse of the
            // writer's order of stores.
            let count = self.count.load(Ordering::Acquire);
            let fsum = self.fsum.load(Ordering::Acquire);
            let fcomp = self.fcomp.load(Ordering::Acquire);
            let hi = self.sum_hi.load(Ordering::Acquire);
            let lo = self.sum_lo.load(Ordering::Acquire);
            let mut seen = 0u64;
            for (o, b) in out.iter_mut().zip(&self.buckets) {
                // Relaxed: validated by the sum below.
                *o = b.load(Ordering::Relaxed);
                seen = seen.wrapping_add(*o);
            }
            if seen == count {
                return ChunkSums {
                    int: u128::from(hi) << 64 | u128::from(lo),
                    float: f64::from_bits(fsum),
                    comp: f64::from_bits(fcomp),
                };
            }
            spin_hint(attempt);
            attempt = attempt.saturating_add(1);
        }
    }
}

/// 16 chunk pointers, and the number of records completed into them.
///
/// `repr(C)`, the count first: a record writes it right after reading the
/// pointer, in the group's first line for the first seven chunks.
#[repr(C)]
pub(super) struct Group {
    /// Records completed into this group's chunks: bumped by every record
    /// after its chunk's count, so that a collector can tell from this one
    /// word that none of the 16 chunks changed (see [`records`](Self::records)).
    records: RecordCount,
    chunks: [AtomicPtr<Chunk>; GROUP_CHUNKS],
}

impl Group {
    pub(super) fn new() -> Group {
        Group {
            records: RecordCount::new(),
            chunks: std::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
        }
    }

    /// The slot of the chunk of bucket `index` (any bucket of the
    /// directory: the group is the one of `index`).
    #[inline(always)]
    pub(super) fn chunk_slot(&self, index: usize) -> &AtomicPtr<Chunk> {
        &self.chunks[(index / CHUNK_BUCKETS) % GROUP_CHUNKS]
    }

    /// Counts the record just written into one of this group's chunks.
    /// Owner only.
    #[inline(always)]
    pub(super) fn count_record(&self) {
        // After the chunk's count: a reader that sees this count then sees
        // every record it counts in its chunk's count.
        self.records.bump();
    }

    /// The records completed into this group's chunks so far. It only grows,
    /// and every record it counts is counted by its chunk's count as a count
    /// or a copy read after this call sees it: a collector that read the
    /// chunks after reading `n` here has every record of the group while
    /// this still reads `n`.
    #[inline]
    pub(super) fn records(&self) -> u64 {
        self.records.get()
    }

    /// Calls `f(first_bucket_index, chunk)` for every allocated chunk of
    /// this group, by increasing index (relative to the group's first).
    pub(super) fn for_each(&self, f: impl FnMut(usize, &Chunk)) {
        for_each_installed(&self.chunks, CHUNK_BUCKETS, f);
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        for c in &self.chunks {
            // `&mut self`: nobody else can reach the group now.
            let c = c.load(Ordering::Acquire);
            if !c.is_null() {
                // SAFETY: a non-null chunk pointer comes from `install`'s
                // `Box::into_raw` and sits in exactly one slot of one group,
                // each visited once here; `&mut self` means no reader is
                // left.
                drop(unsafe { Box::from_raw(c) });
            }
        }
    }
}

/// Calls `f(i * stride, item)` for every installed (non-null) item of
/// `slots`, a directory's groups or a group's chunks, by increasing `i`.
pub(super) fn for_each_installed<T>(
    slots: &[AtomicPtr<T>],
    stride: usize,
    mut f: impl FnMut(usize, &T),
) {
    for (i, slot) in slots.iter().enumerate() {
        // Acquire: pairs with the Release in `install`.
        let item = slot.load(Ordering::Acquire);
        if item.is_null() {
            continue;
        }
        // SAFETY: a non-null pointer in a group or chunk slot was published
        // by `install` (Acquire above) from a live `Box`, and both are freed
        // only by `Directory::drop`. `slots` is borrowed from the directory
        // or from one of its groups, so the directory outlives this call.
        f(i * stride, unsafe { &*item });
    }
}

/// Allocates a `T` from `make` and installs it in the empty `slot`.
#[cold]
#[inline(never)]
pub(super) fn install<T>(slot: &AtomicPtr<T>, make: impl FnOnce() -> T) -> *mut T {
    let fresh = Box::into_raw(Box::new(make()));
    // Release on success: publishes the zeroed contents to readers. A CAS,
    // although only the owner installs, so that a broken invariant would
    // leak nothing and corrupt nothing (cold path, no cost that matters).
    match slot.compare_exchange(ptr::null_mut(), fresh, Ordering::Release, Ordering::Acquire) {
        Ok(_) => fresh,
        Err(existing) => {
            // SAFETY: `fresh` came from `Box::into_raw` above and was never shared.
            drop(unsafe { Box::from_raw(fresh) });
            existing
        }
    }
}
