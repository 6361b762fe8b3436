//! `HistogramCells`: one thread's buckets of one histogram.
//!
//! Buckets are grouped in [`Chunk`]s of 16, each carrying the number and the
//! sums of the values recorded into it (an exact `u128` for `u64` records,
//! a compensated pair for `f64` ones). Chunks are
//! reached through a two-level directory (16 chunks per group) and allocated
//! by the owning thread the first time it records into them, so a series that
//! touches a few dozen buckets costs a few hundred bytes per thread, not the
//! 30 KiB a dense array of 3,776 buckets would.
//!
//! # Protocol (see `docs/design.md` for the full argument)
//!
//! The owner records with plain loads and stores (it is the only writer, so
//! no read-modify-write needs a `lock` prefix): update `min`/`max`, bump the
//! bucket, then the chunk's sum (for `f64`: its compensation, then the
//! sum), then the chunk's count, then the record counts of the chunk's group
//! and of the cells, all but the bucket with Release stores. A reader loads
//! the count, then the sum, then the buckets, and retries unless the buckets
//! add up to the count: each chunk it reports has bucket counts and a sum
//! that belong to the same observations. The count of a histogram is
//! derived from its buckets, so `count == Σ buckets` holds by construction,
//! and the sum is the sum of those very observations.
//!
//! A collector tells from the cells' record count whether anything changed,
//! and from a group's whether any of its 16 chunks did, one word each: a
//! record a count counts is counted by the counts stored before it (see
//! [`HistogramCells::records`] and [`HistogramCells::for_each_group`]).
//!
//! A chunk is two cache lines read together, so a reader's window is a few
//! nanoseconds: a retry is rare even against a writer recording in a loop,
//! and the writer itself never waits.

use super::chunk::{install, Chunk, ChunkSums, Group, CHUNK_BUCKETS, GROUP_BUCKETS};
use super::directory::Directory;
use super::record_count::RecordCount;
use crate::buckets::{from_ordered, ordered, Precision};
use crate::sync::{AtomicPtr, AtomicU32, AtomicU64, Ordering};
use std::fmt;
use std::ptr;

/// The extremes a reader saw: of the `u64` records (`min > max` if none)
/// and of the `f64` ones (likewise).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Extremes {
    pub(crate) min: u64,
    pub(crate) max: u64,
    pub(crate) fmin: f64,
    pub(crate) fmax: f64,
}

/// One thread's cells of one histogram (see the module docs).
///
/// `repr(C)`: what every record touches (the extremes of `u64` records,
/// the record count, the clustered-record cache, then the window
/// directory, whose group slots sit inline) comes first.
#[repr(C)]
pub(crate) struct HistogramCells {
    /// Smallest `u64` value recorded, `u64::MAX` until the first record.
    min: AtomicU64,
    /// Largest `u64` value recorded.
    max: AtomicU64,
    /// Records completed into these cells: bumped by every record after its
    /// group's count, so that a collector can tell that nothing changed
    /// from this one word instead of every group's (see
    /// [`records`](Self::records)).
    records: RecordCount,
    /// Owner-only cache for [`record_clustered`](Self::record_clustered):
    /// the number of the chunk it last wrote (`u32::MAX`: none) and that
    /// chunk. Relaxed throughout: only the owner reads or writes them.
    hot_index: AtomicU32,
    /// The precision the cells were made with (where each directory starts).
    precision: Precision,
    hot_chunk: AtomicPtr<Chunk>,
    /// The slots of the `u64` layout (`Precision::bucket_count`), where
    /// every `u64` and the `f64` values of `[2^p, 2^64)` fall; their groups'
    /// slots inline (all of them at the default precision).
    window: Directory,
    /// Smallest and largest `f64` recorded, as [`ordered`] keys
    /// (`u64::MAX` and `0` until the first).
    fmin: AtomicU64,
    fmax: AtomicU64,
    /// The slots of the fractions, from `bucket_count()` to
    /// `window_slots()`: allocated by the first `f64` there, so that a
    /// histogram of `u64` records costs no more than before.
    fractions: AtomicPtr<Directory>,
    /// Every other slot, from `window_slots()` on: allocated by the first
    /// record outside the window.
    outer: AtomicPtr<Directory>,
}

impl HistogramCells {
    pub(crate) fn new(precision: Precision) -> HistogramCells {
        HistogramCells {
            min: AtomicU64::new(u64::MAX),
            max: AtomicU64::new(0),
            records: RecordCount::new(),
            window: Directory::new(precision.bucket_count()),
            hot_index: AtomicU32::new(u32::MAX),
            precision,
            hot_chunk: AtomicPtr::new(ptr::null_mut()),
            fmin: AtomicU64::new(u64::MAX),
            fmax: AtomicU64::new(0),
            fractions: AtomicPtr::new(ptr::null_mut()),
            outer: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Records `value`. Owner only; `precision` must be the one `self` was
    /// made with.
    #[inline(always)]
    pub(super) fn record(&self, precision: Precision, value: u64) {
        let index = precision.index(value);
        // At the default precision (a branch `index` took already) every
        // group's slot is in the directory's head.
        let in_head = precision == Precision::DEFAULT;
        let (group, chunk) = self.window.chunk_or_grow(index, in_head);
        self.record_at(group, chunk, index, value);
    }

    /// Records the non-NaN `value`. Owner only; `precision` must be the
    /// one `self` was made with.
    #[inline(always)]
    pub(super) fn record_f64(&self, precision: Precision, value: f64) {
        debug_assert!(!value.is_nan());
        let slot = precision.float_slot(value);
        let (ints, window) = (precision.bucket_count(), precision.window_slots());
        // The bucket's number in its directory: the others start at slots
        // `ints` and `window`, which need not be multiples of the chunk size.
        let ((group, chunk), at) = if slot < ints {
            (self.window.chunk_or_grow(slot, false), slot)
        } else if slot < window {
            let at = slot - ints;
            (
                self.lazy(&self.fractions, window - ints)
                    .chunk_or_grow(at, false),
                at,
            )
        } else {
            (self.outer_chunk(precision, slot - window), slot - window)
        };
        // As in `record_at`: the extremes before the chunk.
        let key = ordered(value);
        if key < self.fmin.load(Ordering::Relaxed) {
            self.fmin.store(key, Ordering::Relaxed);
        }
        if key > self.fmax.load(Ordering::Relaxed) {
            self.fmax.store(key, Ordering::Relaxed);
        }
        chunk.write_f64(at % CHUNK_BUCKETS, value);
        self.count_record(group);
    }

    /// The chunk of outer slot `index` (value-ordered index), the outer
    /// directory allocated on first use.
    #[cold]
    #[inline(never)]
    fn outer_chunk(&self, precision: Precision, index: usize) -> (&Group, &Chunk) {
        self.lazy(&self.outer, precision.float_bucket_count())
            .chunk_or_grow(index, false)
    }

    /// The directory of `buckets` buckets in `dir`, allocated on first use.
    /// Owner only.
    #[inline(always)]
    fn lazy<'a>(&'a self, dir: &'a AtomicPtr<Directory>, buckets: usize) -> &'a Directory {
        // Relaxed: only the owner installs the directory (see `chunk_or_grow`).
        let mut d = dir.load(Ordering::Relaxed);
        if d.is_null() {
            d = install(dir, || Directory::new(buckets));
        }
        // SAFETY: non-null, installed by `install` from a `Box` and freed
        // only when `self` is dropped.
        unsafe { &*d }
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
        // (Chunk numbers are far below `u32::MAX`.)
        let chunk = if index / CHUNK_BUCKETS == self.hot_index.load(Ordering::Relaxed) as usize {
            // SAFETY: `hot` was stored below together with `hot_index` (same
            // thread, program order) and points to a chunk installed in this
            // directory, which lives until `self` is dropped.
            unsafe { &*hot }
        } else {
            self.chunk_for_hot(index)
        };
        // Needed only after the chunk is written: no delay to the bucket.
        let group = self.window.group_of_installed(index);
        self.record_at(group, chunk, index, value);
    }

    /// The directory walk of `record_clustered`'s miss, remembered.
    #[cold]
    #[inline(never)]
    fn chunk_for_hot(&self, index: usize) -> &Chunk {
        let (_, chunk) = self.window.chunk_or_grow(index, false);
        self.hot_chunk
            .store(chunk as *const Chunk as *mut Chunk, Ordering::Relaxed);
        self.hot_index
            .store((index / CHUNK_BUCKETS) as u32, Ordering::Relaxed);
        chunk
    }

    #[inline(always)]
    fn record_at(&self, group: &Group, chunk: &Chunk, index: usize, value: u64) {
        // min/max before the chunk: the chunk's Release store then publishes
        // them together with the bucket (readers load them after the chunks).
        if value < self.min.load(Ordering::Relaxed) {
            self.min.store(value, Ordering::Relaxed);
        }
        if value > self.max.load(Ordering::Relaxed) {
            self.max.store(value, Ordering::Relaxed);
        }
        chunk.write(index % CHUNK_BUCKETS, value);
        self.count_record(group);
    }

    /// Counts the record just written into a chunk of `group`, in the
    /// group and then in the cells. Owner only.
    #[inline(always)]
    fn count_record(&self, group: &Group) {
        group.count_record();
        // After the group's count: a reader that sees this count then sees
        // every record it counts in its group's count (and so in its
        // chunk's).
        self.records.bump();
    }

    /// The records completed into these cells so far. It only grows, and
    /// every record it counts is counted by its group's count as a
    /// [`for_each_group`](Self::for_each_group) made after this call reads
    /// it: a collector that folded the groups after reading `n` here has
    /// folded every record of these cells while this still reads `n`.
    #[inline]
    pub(crate) fn records(&self) -> u64 {
        self.records.get()
    }

    /// The directories with their first slots: the window, then the
    /// fractions' and the outer one if allocated.
    fn directories(&self) -> impl Iterator<Item = (usize, &Directory)> {
        let precision = self.precision;
        let lazy = [
            (precision.bucket_count(), &self.fractions),
            (precision.window_slots(), &self.outer),
        ];
        let lazy = lazy.into_iter().filter_map(|(first, dir)| {
            // Acquire: pairs with the Release in `install`.
            let d = dir.load(Ordering::Acquire);
            // SAFETY: a non-null pointer was published by `install` from a
            // live `Box`, freed only when `self` is dropped.
            (!d.is_null()).then(|| (first, unsafe { &*d }))
        });
        std::iter::once((0, &self.window)).chain(lazy)
    }

    /// Calls `f(first_slot, counts, sums)` with a consistent copy of every
    /// allocated chunk (slots as in `Precision::slot_index`: the window's,
    /// then the outer directory's from `window_slots()` on), then returns
    /// the extremes as seen after them.
    ///
    /// Every observation counted by `f` lies within the extremes; they may
    /// also reflect observations recorded after their chunk was read
    /// (callers clamp them into the range of the buckets they saw).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn read(
        &self,
        mut f: impl FnMut(usize, &[u64; CHUNK_BUCKETS], ChunkSums),
    ) -> Extremes {
        let mut counts = [0u64; CHUNK_BUCKETS];
        for (base, dir) in self.directories() {
            dir.for_each(|first, chunk| {
                let sums = chunk.read(&mut counts);
                f(base + first, &counts, sums);
            });
        }
        self.extremes()
    }

    /// The extremes recorded so far. Every observation counted by a
    /// chunk copy or a chunk count read before this call lies within them
    /// (they may also reflect observations recorded since: callers clamp
    /// them into the range of the buckets they saw).
    pub(crate) fn extremes(&self) -> Extremes {
        // Relaxed: after the Acquire loads of the chunks' `count` (here or
        // in an earlier collection, ordered before this one by the
        // collector's lock), these see at least the extremes of every
        // observation those chunks counted; the extremes only ever widen.
        Extremes {
            min: self.min.load(Ordering::Relaxed),
            max: self.max.load(Ordering::Relaxed),
            fmin: match self.fmin.load(Ordering::Relaxed) {
                u64::MAX => f64::INFINITY,
                key => from_ordered(key),
            },
            fmax: match self.fmax.load(Ordering::Relaxed) {
                0 => f64::NEG_INFINITY,
                key => from_ordered(key),
            },
        }
    }

    /// Calls `f(first_slot, records)` for every allocated group of 256
    /// slots (within its directory), by increasing first slot: the records
    /// completed into its chunks so far. It only grows, and every record it
    /// counts is counted by its chunk's count as a
    /// [`for_each_count`](Self::for_each_count) or a chunk copy made after
    /// this call reads it: a collector that read the group's chunks after
    /// reading `n` here has every record of the group while this still reads
    /// `n`.
    pub(crate) fn for_each_group(&self, mut f: impl FnMut(usize, u64)) {
        for (base, dir) in self.directories() {
            dir.for_each_group(|first, group| f(base + first, group.records()));
        }
    }

    /// Calls `f(first_slot, count)` for every allocated chunk of the groups
    /// whose first slot `wanted` accepts (asked by increasing first slot),
    /// by increasing first slot, without copying any bucket: the records
    /// completed into it so far. Counts only grow, so a chunk whose count
    /// equals the one a collector folded last time holds the same records.
    pub(crate) fn for_each_count(
        &self,
        mut wanted: impl FnMut(usize) -> bool,
        mut f: impl FnMut(usize, u64),
    ) {
        for (base, dir) in self.directories() {
            dir.for_each_group(|first, group| {
                if wanted(base + first) {
                    group.for_each(|at, chunk| {
                        // Acquire: pairs with the count's Release store in
                        // `Chunk::write`, as in `Chunk::read`; a record that
                        // happened-before this load is counted.
                        f(base + first + at, chunk.count.load(Ordering::Acquire));
                    });
                }
            });
        }
    }

    /// A consistent copy of the chunk whose first slot is `first` (as
    /// [`read`](Self::read) and [`for_each_count`](Self::for_each_count)
    /// name it) into `out`, with its sums; `None` if it is not allocated.
    ///
    /// First slots name chunks uniquely: each directory's chunks start at
    /// its first slot plus multiples of the chunk size, and lie below the
    /// next directory's first slot.
    pub(crate) fn read_chunk(
        &self,
        first: usize,
        out: &mut [u64; CHUNK_BUCKETS],
    ) -> Option<ChunkSums> {
        let (base, dir) = self.directories().take_while(|&(b, _)| b <= first).last()?;
        dir.get(first - base).map(|chunk| chunk.read(out))
    }

    /// Heap bytes owned by these cells, including `self`.
    pub(crate) fn allocated_bytes(&self) -> usize {
        let lazy = self.directories().skip(1);
        let lazy: usize = lazy
            .map(|(_, d)| std::mem::size_of::<Directory>() + d.allocated_bytes())
            .sum();
        std::mem::size_of::<Self>() + self.window.allocated_bytes() + lazy
    }
}

/// The first slot of the group (as [`HistogramCells::for_each_group`]
/// names it) of the chunk whose first slot is `first`, in cells of
/// `precision`.
pub(crate) fn group_of(precision: Precision, first: usize) -> usize {
    let bases = [precision.window_slots(), precision.bucket_count()];
    let base = bases.into_iter().find(|&b| b <= first).unwrap_or(0);
    base + (first - base) / GROUP_BUCKETS * GROUP_BUCKETS
}

impl Drop for HistogramCells {
    fn drop(&mut self) {
        for dir in [&self.fractions, &self.outer] {
            // `&mut self`: nobody else can reach the directories now.
            let d = dir.load(Ordering::Acquire);
            if !d.is_null() {
                // SAFETY: installed by `install` from a `Box`, freed exactly
                // once here.
                drop(unsafe { Box::from_raw(d) });
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
        let e = cells.read(|_, counts, s| {
            count += counts.iter().sum::<u64>();
            sum += s.int;
        });
        (count, sum, e.min, e.max)
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
        // 208 B of cells (with the group slots), one 136 B group and four
        // 168 B chunks (40 buckets straddle four): 1,016 B. (Before f64
        // support: 904 B; before the record count: 1,008 B.)
        let bytes = cells.allocated_bytes();
        assert!(bytes < 1024, "{bytes} bytes");
    }

    #[test]
    fn f64_records_keep_their_sum_and_extremes() {
        for bits in 0..=10 {
            f64_records_at(Precision::new(bits).unwrap());
        }
    }

    fn f64_records_at(p: Precision) {
        let cells = HistogramCells::new(p);
        // In the window, below it, negative, infinite, zero, and a u64.
        let values = [0.25, 1e-300, -3.5, 1e300, -1e300, 0.0, 2.5e9];
        for v in values {
            cells.record_f64(p, v);
        }
        cells.record(p, 7);
        let (mut floats, mut int, mut seen) = (Vec::new(), 0u128, Vec::new());
        let e = cells.read(|first, counts, s| {
            if s.float != 0.0 {
                floats.push(s.float + s.comp);
            }
            int += s.int;
            for (i, &c) in counts.iter().enumerate() {
                for _ in 0..c {
                    seen.push(p.slot_index(first + i));
                }
            }
        });
        let mut want: Vec<usize> = values.iter().map(|&v| p.float_index(v).unwrap()).collect();
        want.push(p.float_index(7.0).unwrap());
        want.sort_unstable();
        seen.sort_unstable();
        assert_eq!(seen, want);
        // Each non-zero value has a chunk of its own.
        floats.sort_by(f64::total_cmp);
        assert_eq!(floats, [-1e300, -3.5, 1e-300, 0.25, 2.5e9, 1e300]);
        assert_eq!(int, 7);
        assert_eq!((e.min, e.max, e.fmin, e.fmax), (7, 7, -1e300, 1e300));
        assert_eq!(count(&cells), 8);
        each_chunk_reads_alone(&cells);
        // Infinities saturate the sum, and nothing panics.
        cells.record_f64(p, f64::INFINITY);
        cells.record_f64(p, f64::NEG_INFINITY);
        assert_eq!(count(&cells), 10);
    }

    fn count(cells: &HistogramCells) -> u64 {
        let mut n = 0;
        cells.for_each_count(|_| true, |_, c| n += c);
        n
    }

    /// Every chunk `read` copies is found alone by its first slot, with
    /// the same buckets, sums and count; a slot no chunk starts at finds
    /// nothing.
    fn each_chunk_reads_alone(cells: &HistogramCells) {
        let (mut all, mut counts) = (Vec::new(), Vec::new());
        cells.read(|first, c, s| all.push((first, *c, s)));
        cells.for_each_count(|_| true, |first, n| counts.push((first, n)));
        assert_eq!(all.len(), counts.len());
        let mut copy = [0; CHUNK_BUCKETS];
        for ((first, buckets, sums), (at, n)) in all.into_iter().zip(counts) {
            assert_eq!(first, at);
            assert_eq!(n, buckets.iter().sum::<u64>());
            assert_eq!(cells.read_chunk(first, &mut copy), Some(sums));
            assert_eq!(copy, buckets);
            assert_eq!(
                cells.read_chunk(first + CHUNK_BUCKETS * 1000, &mut copy),
                None
            );
        }
    }

    #[test]
    fn compensated_sum_keeps_small_values_beside_large_ones() {
        let p = Precision::DEFAULT;
        let cells = HistogramCells::new(p);
        // All in one chunk: 2^53 then many 1.0s, each lost by a plain sum.
        let big = 9_007_199_254_740_992.0;
        cells.record_f64(p, big);
        for _ in 0..1000 {
            cells.record_f64(p, big + 2.0);
        }
        for _ in 0..1000 {
            cells.record_f64(p, 1.0);
        }
        let mut total = 0.0;
        cells.read(|_, _, s| total += s.float + s.comp);
        assert_eq!(total, 1001.0 * big + 2000.0 + 1000.0);
    }

    #[test]
    fn an_outer_value_allocates_the_outer_directory_once() {
        let p = Precision::DEFAULT;
        let cells = HistogramCells::new(p);
        cells.record(p, 1_000_000);
        let before = cells.allocated_bytes();
        cells.record_f64(p, -1.0);
        let after = cells.allocated_bytes();
        assert!(after > before);
        cells.record_f64(p, -1.0);
        assert_eq!(cells.allocated_bytes(), after);
    }
}
