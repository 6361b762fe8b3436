//! `HistogramCells`: one thread's buckets of one histogram.
//!
//! Buckets are grouped in [`Chunk`]s of 16, each carrying the number and the
//! sum of the values recorded into it. Chunks are
//! reached through a two-level directory (16 chunks per group) and allocated
//! by the owning thread the first time it records into them, so a series that
//! touches a few dozen buckets costs a few hundred bytes per thread, not the
//! 30 KiB a dense array of 3,776 buckets would.
//!
//! # Protocol (see `docs/design.md` for the full argument)
//!
//! The owner records with plain loads and stores (it is the only writer, so
//! no read-modify-write needs a `lock` prefix): update `min`/`max`, bump the
//! bucket, then the chunk's sum, then the chunk's count, the last two with
//! Release stores. A reader loads the count, then the sum, then the buckets,
//! and retries unless the buckets add up to the count: each chunk it reports
//! has bucket counts and a sum that belong to the same observations. The
//! count of a histogram is derived from its buckets, so `count == Σ buckets`
//! holds by construction, and the sum is the sum of those very observations.
//!
//! A chunk is two cache lines read together, so a reader's window is a few
//! nanoseconds: a retry is rare even against a writer recording in a loop,
//! and the writer itself never waits.

use crate::buckets::Precision;
use crate::sync::{spin_hint, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::fmt;
use std::ptr;

/// Buckets per chunk.
pub(crate) const CHUNK_BUCKETS: usize = 16;
/// Chunks per directory group.
const GROUP_CHUNKS: usize = 16;
/// Buckets covered by one directory group.
const GROUP_BUCKETS: usize = CHUNK_BUCKETS * GROUP_CHUNKS;

/// 16 buckets with their record count and sum (152 bytes).
#[repr(C)]
pub(crate) struct Chunk {
    /// Records completed into this chunk: bumped last by each record, so a
    /// reader can tell a finished copy from one that caught a record midway
    /// (see [`Chunk::read`]).
    count: AtomicU64,
    /// Low 64 bits of the sum of the values recorded into this chunk.
    sum_lo: AtomicU64,
    /// High 64 bits of that sum: the sum is an exact `u128`, so even values
    /// near `u64::MAX` add up without overflow.
    sum_hi: AtomicU64,
    buckets: [AtomicU64; CHUNK_BUCKETS],
}

impl Chunk {
    fn new() -> Chunk {
        Chunk {
            count: AtomicU64::new(0),
            sum_lo: AtomicU64::new(0),
            sum_hi: AtomicU64::new(0),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    /// Records `value` into bucket `slot`. Owner only.
    ///
    /// Bucket first, then the sum, then the count; each later store is a
    /// Release, so whoever sees one of them sees the stores before it.
    #[inline(always)]
    fn write(&self, slot: usize, value: u64) {
        // All loads are Relaxed: this thread is the only writer, so it reads
        // back its own latest stores.
        let bucket = &self.buckets[slot];
        bucket.store(
            bucket.load(Ordering::Relaxed).wrapping_add(1),
            Ordering::Relaxed,
        );
        let (lo, carry) = self.sum_lo.load(Ordering::Relaxed).overflowing_add(value);
        if carry {
            let hi = self.sum_hi.load(Ordering::Relaxed);
            // Release: a reader that sees this carry sees the bucket above.
            self.sum_hi.store(hi.wrapping_add(1), Ordering::Release);
        }
        // Release: a reader that sees this sum sees the bucket (and carry).
        self.sum_lo.store(lo, Ordering::Release);
        let count = self.count.load(Ordering::Relaxed);
        // Release: a reader that Acquire-loads this count sees the bucket,
        // the sum, and the min/max stores made before them.
        self.count.store(count.wrapping_add(1), Ordering::Release);
    }

    /// A consistent copy of the buckets; returns the chunk's sum.
    ///
    /// Load the count `c`, then the sum, then the buckets, and accept the
    /// copy only if the buckets add up to `c`: they then hold exactly the
    /// first `c` records, and the sum is theirs (the argument is in
    /// `docs/design.md`). Otherwise a record was caught midway: retry.
    fn read(&self, out: &mut [u64; CHUNK_BUCKETS]) -> u128 {
        let mut attempt = 0;
        loop {
            // Acquire (all three): each pairs with the writer's Release store
            // of the same field, making the stores before it visible to the
            // loads below.
            let count = self.count.load(Ordering::Acquire);
            let hi = self.sum_hi.load(Ordering::Acquire);
            let lo = self.sum_lo.load(Ordering::Acquire);
            let mut seen = 0u64;
            for (o, b) in out.iter_mut().zip(&self.buckets) {
                // Relaxed: validated by the sum below.
                *o = b.load(Ordering::Relaxed);
                seen = seen.wrapping_add(*o);
            }
            if seen == count {
                return u128::from(hi) << 64 | u128::from(lo);
            }
            spin_hint(attempt);
            attempt = attempt.saturating_add(1);
        }
    }
}

/// 16 chunk pointers.
struct Group {
    chunks: [AtomicPtr<Chunk>; GROUP_CHUNKS],
}

/// One thread's cells of one histogram (see the module docs).
pub(crate) struct HistogramCells {
    /// Smallest value recorded, `u64::MAX` until the first record.
    min: AtomicU64,
    /// Largest value recorded.
    max: AtomicU64,
    /// Owner-only cache for [`record_clustered`](Self::record_clustered):
    /// the number of the chunk it last wrote (`usize::MAX`: none) and that
    /// chunk. Relaxed throughout: only the owner reads or writes them.
    hot_index: AtomicUsize,
    hot_chunk: AtomicPtr<Chunk>,
    groups: Box<[AtomicPtr<Group>]>,
}

impl HistogramCells {
    pub(crate) fn new(precision: Precision) -> HistogramCells {
        let groups = precision.bucket_count().div_ceil(GROUP_BUCKETS);
        HistogramCells {
            min: AtomicU64::new(u64::MAX),
            max: AtomicU64::new(0),
            hot_index: AtomicUsize::new(usize::MAX),
            hot_chunk: AtomicPtr::new(ptr::null_mut()),
            groups: (0..groups)
                .map(|_| AtomicPtr::new(ptr::null_mut()))
                .collect(),
        }
    }

    /// Records `value`. Owner only; `precision` must be the one `self` was
    /// made with.
    #[inline(always)]
    pub(super) fn record(&self, precision: Precision, value: u64) {
        let index = precision.index(value);
        self.record_at(self.chunk_or_grow(index), index, value);
    }

    /// As [`record`](Self::record), for values that tend to fall in the
    /// chunk of the previous one (the durations of one timed call site).
    ///
    /// It first tries the chunk this path last wrote: its address is loaded
    /// independently of `value`, so on a hit the bucket's address is known
    /// as soon as the index is, two dependent loads sooner than through the
    /// directory. That latency is what a timer pays after its second clock
    /// read. Spread values would mispredict the check half the time, which
    /// is why plain records do not use it.
    #[inline(always)]
    pub(super) fn record_clustered(&self, precision: Precision, value: u64) {
        let index = precision.index(value);
        let hot = self.hot_chunk.load(Ordering::Relaxed);
        let chunk = if index / CHUNK_BUCKETS == self.hot_index.load(Ordering::Relaxed) {
            // SAFETY: `hot` was stored below together with `hot_index` (same
            // thread, program order) and points to a chunk installed in this
            // directory, which lives until `self` is dropped.
            unsafe { &*hot }
        } else {
            self.chunk_for_hot(index)
        };
        self.record_at(chunk, index, value);
    }

    /// The directory walk of `record_clustered`'s miss, remembered.
    #[cold]
    #[inline(never)]
    fn chunk_for_hot(&self, index: usize) -> &Chunk {
        let chunk = self.chunk_or_grow(index);
        self.hot_chunk
            .store(chunk as *const Chunk as *mut Chunk, Ordering::Relaxed);
        self.hot_index
            .store(index / CHUNK_BUCKETS, Ordering::Relaxed);
        chunk
    }

    #[inline(always)]
    fn record_at(&self, chunk: &Chunk, index: usize, value: u64) {
        // min/max before the chunk: the chunk's Release store then publishes
        // them together with the bucket (readers load them after the chunks).
        if value < self.min.load(Ordering::Relaxed) {
            self.min.store(value, Ordering::Relaxed);
        }
        if value > self.max.load(Ordering::Relaxed) {
            self.max.store(value, Ordering::Relaxed);
        }
        chunk.write(index % CHUNK_BUCKETS, value);
    }

    #[inline(always)]
    fn chunk_or_grow(&self, index: usize) -> &Chunk {
        // Relaxed loads: the directory is only ever extended by the owner
        // (this thread, or a predecessor that exited before we started), so
        // program order makes our own allocations visible.
        debug_assert!(index / GROUP_BUCKETS < self.groups.len());
        // SAFETY: `index` comes from the `Precision` these cells were made
        // with, so it is below `bucket_count()`, and `groups` has
        // `bucket_count().div_ceil(GROUP_BUCKETS)` entries.
        let group = unsafe { self.groups.get_unchecked(index / GROUP_BUCKETS) };
        let mut g = group.load(Ordering::Relaxed);
        if g.is_null() {
            g = install(group, || Group {
                chunks: std::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
            });
        }
        // SAFETY: `g` is non-null and was installed by `install`; groups live
        // until `self` is dropped.
        let slot = unsafe { &(*g).chunks[(index / CHUNK_BUCKETS) % GROUP_CHUNKS] };
        let mut c = slot.load(Ordering::Relaxed);
        if c.is_null() {
            c = install(slot, Chunk::new);
        }
        // SAFETY: `c` is non-null (installed just above if it was not
        // already) and every non-null chunk pointer comes from `install`'s
        // `Box::into_raw`; chunks are freed only when `self` is dropped.
        unsafe { &*c }
    }

    /// Calls `f(first_bucket_index, counts, sum)` with a consistent copy of
    /// every allocated chunk, then returns `(min, max)` as seen after them.
    ///
    /// Every observation counted by `f` has `min <= value <= max`; `min` and
    /// `max` may also reflect observations recorded after their chunk was
    /// read (callers clamp them into the range of the buckets they saw).
    pub(crate) fn read(&self, mut f: impl FnMut(usize, &[u64; CHUNK_BUCKETS], u128)) -> (u64, u64) {
        let mut counts = [0u64; CHUNK_BUCKETS];
        for (gi, group) in self.groups.iter().enumerate() {
            // Acquire: pairs with the Release in `install`.
            let g = group.load(Ordering::Acquire);
            if g.is_null() {
                continue;
            }
            // SAFETY: non-null group pointers stay valid while `self` lives.
            let chunks = unsafe { &(*g).chunks };
            for (ci, slot) in chunks.iter().enumerate() {
                let c = slot.load(Ordering::Acquire);
                if c.is_null() {
                    continue;
                }
                // SAFETY: `c` is non-null, so `install` published it (the
                // Acquire load above pairs with its Release) from a live
                // `Box`; chunks are freed only when `self` is dropped.
                let sum = unsafe { &*c }.read(&mut counts);
                f(gi * GROUP_BUCKETS + ci * CHUNK_BUCKETS, &counts, sum);
            }
        }
        // Relaxed: after the Acquire loads of the chunks' `count` above, these
        // see at least the min/max of every observation those chunks counted.
        (
            self.min.load(Ordering::Relaxed),
            self.max.load(Ordering::Relaxed),
        )
    }

    /// The records completed into these cells so far: the sum of every
    /// chunk's count, without copying any bucket. The collector compares it
    /// with the count it folded last time: counts only grow, so an equal
    /// total means no chunk changed.
    pub(crate) fn count(&self) -> u64 {
        let mut n = 0u64;
        for group in self.groups.iter() {
            // Acquire: pairs with the Release in `install`.
            let g = group.load(Ordering::Acquire);
            if g.is_null() {
                continue;
            }
            // SAFETY: a non-null group pointer was published by `install`
            // (Acquire above) from a live `Box`, and groups are freed only
            // when `self` is dropped, which `&self` rules out.
            for slot in unsafe { &(*g).chunks } {
                let c = slot.load(Ordering::Acquire);
                if c.is_null() {
                    continue;
                }
                // SAFETY: a non-null chunk pointer was published by
                // `install` (Acquire above) from a live `Box`; chunks are
                // freed only when `self` is dropped.
                let chunk = unsafe { &*c };
                // Acquire: pairs with the count's Release store in
                // `Chunk::write`, as in `Chunk::read`; a record that
                // happened-before this load is counted.
                n = n.wrapping_add(chunk.count.load(Ordering::Acquire));
            }
        }
        n
    }

    /// Heap bytes owned by these cells, including `self`.
    pub(crate) fn allocated_bytes(&self) -> usize {
        let mut bytes = std::mem::size_of::<Self>()
            + self.groups.len() * std::mem::size_of::<AtomicPtr<Group>>();
        for group in self.groups.iter() {
            let g = group.load(Ordering::Acquire);
            if g.is_null() {
                continue;
            }
            bytes += std::mem::size_of::<Group>();
            // SAFETY: non-null group pointers stay valid while `self` lives.
            for c in unsafe { &(*g).chunks } {
                if !c.load(Ordering::Acquire).is_null() {
                    bytes += std::mem::size_of::<Chunk>();
                }
            }
        }
        bytes
    }
}

/// Allocates a `T` from `make` and installs it in the empty `slot`.
#[cold]
#[inline(never)]
fn install<T>(slot: &AtomicPtr<T>, make: impl FnOnce() -> T) -> *mut T {
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

impl Drop for HistogramCells {
    fn drop(&mut self) {
        for group in self.groups.iter() {
            // `&mut self`: nobody else can reach the directory now.
            let g = group.load(Ordering::Acquire);
            if g.is_null() {
                continue;
            }
            // SAFETY: installed by `install` from a `Box`, freed exactly once here.
            let g = unsafe { Box::from_raw(g) };
            for c in &g.chunks {
                let c = c.load(Ordering::Acquire);
                if !c.is_null() {
                    // SAFETY: a non-null chunk pointer comes from `install`'s
                    // `Box::into_raw` and sits in exactly one slot of one
                    // group, each visited once here; `&mut self` means no
                    // reader is left.
                    drop(unsafe { Box::from_raw(c) });
                }
            }
        }
    }
}

impl fmt::Debug for HistogramCells {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HistogramCells")
            .field("allocated_bytes", &self.allocated_bytes())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn totals(cells: &HistogramCells) -> (u64, u128, u64, u64) {
        let mut count = 0;
        let mut sum = 0u128;
        let (min, max) = cells.read(|_, counts, s| {
            count += counts.iter().sum::<u64>();
            sum += s;
        });
        (count, sum, min, max)
    }

    #[test]
    fn records_land_in_their_buckets() {
        let p = Precision::DEFAULT;
        let cells = HistogramCells::new(p);
        for v in [0, 5, 5, 1_000, 1_000_000, u64::MAX] {
            cells.record(p, v);
        }
        let mut seen = Vec::new();
        cells.read(|first, counts, _| {
            for (i, &c) in counts.iter().enumerate() {
                if c > 0 {
                    seen.push((first + i, c));
                }
            }
        });
        let mut want = vec![
            (p.index(0), 1),
            (p.index(5), 2),
            (p.index(1_000), 1),
            (p.index(1_000_000), 1),
            (p.index(u64::MAX), 1),
        ];
        want.sort();
        assert_eq!(seen, want);
        let (count, sum, min, max) = totals(&cells);
        assert_eq!(count, 6);
        assert_eq!(sum, 1_001_010 + u128::from(u64::MAX));
        assert_eq!((min, max), (0, u64::MAX));
        // The chunk sum carries into its high word instead of wrapping.
        for _ in 0..3 {
            cells.record(p, u64::MAX);
        }
        let (count, sum, _, _) = totals(&cells);
        assert_eq!(count, 9);
        assert_eq!(sum, 1_001_010 + 4 * u128::from(u64::MAX));
    }

    #[test]
    fn clustered_records_match_plain_records() {
        let p = Precision::DEFAULT;
        let (plain, clustered) = (HistogramCells::new(p), HistogramCells::new(p));
        // Runs within one chunk, jumps between chunks and groups, returns to
        // an earlier chunk, the first and last buckets.
        let mut values = vec![1_000_000, 1_000_100, 1_000_200, 5, 1_000_000, 0, u64::MAX];
        values.extend((0..200u64).map(|i| 900_000 + i * 997));
        values.extend([1_000_000, 40, 40, 2_000_000_000]);
        for &v in &values {
            plain.record(p, v);
            clustered.record_clustered(p, v);
        }
        let copy = |cells: &HistogramCells| {
            let mut chunks = Vec::new();
            let bounds = cells.read(|first, counts, sum| chunks.push((first, *counts, sum)));
            (chunks, bounds)
        };
        assert_eq!(copy(&plain), copy(&clustered));
        assert_eq!(totals(&clustered).0, values.len() as u64);
    }

    #[test]
    fn few_dozen_buckets_cost_well_under_a_kib() {
        let p = Precision::DEFAULT;
        let cells = HistogramCells::new(p);
        // 40 adjacent buckets around 1 ms in nanoseconds.
        let first = p.index(1_000_000);
        for i in first..first + 40 {
            cells.record(p, p.lower_bound(i));
        }
        let bytes = cells.allocated_bytes();
        assert!(bytes < 1024, "{bytes} bytes");
    }
}
