//! [`Histograms`]: how the collector merges one histogram's cells over all
//! threads into a [`HistogramSnapshot`], reusing what it can.
//!
//! - First, without copying any bucket, every thread's chunk counts are
//!   added up (`HistogramCells::count`). If the total equals the count this
//!   histogram had at the last collection, nothing was recorded into it
//!   since: every chunk's count only grows, so an equal total means every
//!   chunk holds the same records, hence the same buckets and sum. The last
//!   snapshot is handed out again; its buckets are shared, not copied.
//! - Otherwise (the total grew, or there is no last snapshot) each thread's
//!   chunks are read (a consistent copy each, see
//!   `storage/histogram_cells.rs`) and added into a dense scratch row that
//!   is all zero between histograms; then the non-empty buckets of the
//!   chunks touched are gathered into a reused buffer and copied once into
//!   the new snapshot's shared bucket list.
//!
//! The scratch row covers the cells' dense window of slots; chunks of the
//! outer directory (negative, very small or very large values) are
//! gathered sparsely. Slots are turned into value-ordered bucket indices
//! (`Precision::slot_index`) when gathered; a `u64` and an `f64` record of
//! one integer below `2^bits` sit in two slots of one bucket, added up
//! there.
//!
//! Nothing is allocated for an unchanged histogram, and one allocation of
//! exactly the non-empty buckets for a changed one (besides the reused
//! scratch space).
#![forbid(unsafe_code)]

use crate::buckets::Precision;
use crate::handle::Histogram;
use crate::snapshot::{HistogramSnapshot, Totals};
use crate::storage::{Storage, CHUNK_BUCKETS};

/// The histogram fold's scratch space and memory, kept by the collector.
#[derive(Default)]
pub(super) struct Histograms {
    /// Dense per-bucket sums of the histogram being merged; all zero
    /// between histograms.
    buckets: Vec<u64>,
    /// Which chunks of `buckets` the current merge wrote.
    touched: Vec<bool>,
    /// Those chunks' numbers, in the order first written.
    touched_list: Vec<u32>,
    /// The non-empty buckets of the histogram being folded.
    nonzero: Vec<(u32, u64)>,
    /// Non-empty buckets of outer chunks read by the current merge, by
    /// value-ordered index (unsorted, repeats allowed).
    outer: Vec<(u32, u64)>,
    /// By histogram slot: what the last collection folded.
    last: Vec<Option<HistogramSnapshot>>,
}

/// What one merge read, besides the buckets.
struct Merged {
    totals: Totals,
    /// Neumaier compensation of `totals.fsum`.
    comp: f64,
}

impl Merged {
    /// Adds `x` to the float sum, compensated.
    fn add_f64(&mut self, x: f64) {
        let sum = self.totals.fsum;
        let total = sum + x;
        if total.is_finite() {
            self.comp += if sum.abs() >= x.abs() {
                (sum - total) + x
            } else {
                (x - total) + sum
            };
        }
        self.totals.fsum = total;
    }
}

impl Histograms {
    /// Histogram `h` merged over all threads, with `invalid` rejected
    /// observations.
    pub(super) fn fold(
        &mut self,
        storage: &Storage,
        h: &Histogram,
        invalid: u64,
    ) -> HistogramSnapshot {
        let slot = h.slot().get();
        if let Some(last) = self.last.get(slot).and_then(Option::as_ref) {
            // Counts only grow: an unchanged total means every chunk holds
            // what it held at the last collection. Checked without copying
            // any bucket.
            let mut count = 0u64;
            storage.for_each_shard(|shard| {
                if let Some(cells) = shard.read_histogram(h.slot()) {
                    count = count.wrapping_add(cells.count());
                }
            });
            if count == last.count {
                return last.with_invalid(invalid);
            }
        }
        let precision = h.precision();
        // Two chunks of slack: a directory after the first starts at a slot
        // that need not be a multiple of the chunk size, so its chunks
        // straddle two of the scratch row's.
        let chunks = precision.window_slots().div_ceil(CHUNK_BUCKETS) + 2;
        if self.buckets.len() < chunks * CHUNK_BUCKETS {
            self.buckets.resize(chunks * CHUNK_BUCKETS, 0);
            self.touched.resize(chunks, false);
        }
        let merged = self.merge(storage, h);
        if self.last.len() <= slot {
            self.last.resize(slot + 1, None);
        }
        self.gather_nonzero(precision);
        let mut totals = merged.totals;
        if totals.fsum.is_finite() {
            totals.fsum += merged.comp;
        }
        let snap = HistogramSnapshot::from_shared(
            precision,
            self.nonzero.as_slice().into(),
            totals,
            invalid,
        );
        self.last[slot] = Some(snap.clone());
        snap
    }

    /// Forgets what the last collection folded for histogram slot `slot`,
    /// whose cells were released: its count no longer only grows.
    pub(super) fn forget(&mut self, slot: usize) {
        if let Some(last) = self.last.get_mut(slot) {
            *last = None;
        }
    }

    /// Adds every thread's chunks of `h` into the scratch row.
    fn merge(&mut self, storage: &Storage, h: &Histogram) -> Merged {
        let (buckets, touched, list, outer) = (
            &mut self.buckets,
            &mut self.touched,
            &mut self.touched_list,
            &mut self.outer,
        );
        let precision = h.precision();
        let window = precision.window_slots();
        let mut m = Merged {
            totals: Totals::integers(0, u64::MAX, 0),
            comp: 0.0,
        };
        storage.for_each_shard(|shard| {
            let Some(cells) = shard.read_histogram(h.slot()) else {
                return;
            };
            let e = cells.read(|first, counts, sums| {
                m.totals.sum += sums.int;
                m.add_f64(sums.float);
                m.add_f64(sums.comp);
                if first >= window {
                    let nonzero = counts.iter().enumerate().filter(|&(_, &c)| c > 0);
                    outer.extend(nonzero.map(|(i, &c)| ((first + i - window) as u32, c)));
                    return;
                }
                for chunk in [first / CHUNK_BUCKETS, first.div_ceil(CHUNK_BUCKETS)] {
                    if !std::mem::replace(&mut touched[chunk], true) {
                        list.push(chunk as u32);
                    }
                }
                for (b, &c) in buckets[first..first + CHUNK_BUCKETS].iter_mut().zip(counts) {
                    *b = b.wrapping_add(c);
                }
            });
            let t = &mut m.totals;
            (t.min, t.max) = (t.min.min(e.min), t.max.max(e.max));
            (t.fmin, t.fmax) = (t.fmin.min(e.fmin), t.fmax.max(e.fmax));
        });
        m
    }

    /// Moves the non-empty buckets the last merge wrote, by increasing
    /// value-ordered index, into `nonzero` (zeroing the scratch row).
    fn gather_nonzero(&mut self, precision: Precision) {
        self.nonzero.clear();
        // Threads touch chunks in increasing order each, but the list is
        // in the order first written over all threads.
        self.touched_list.sort_unstable();
        for chunk in self.touched_list.drain(..) {
            self.touched[chunk as usize] = false;
            let first = chunk as usize * CHUNK_BUCKETS;
            for (i, b) in self.buckets[first..first + CHUNK_BUCKETS]
                .iter_mut()
                .enumerate()
            {
                let c = std::mem::take(b);
                if c > 0 {
                    let index = precision.slot_index(first + i);
                    self.nonzero.push((index as u32, c));
                }
            }
        }
        self.nonzero.append(&mut self.outer);
        // Slots are in value order but for the small integers and the
        // fractions below them, and the outer buckets come last: sort, and
        // add up the buckets reached through two slots.
        self.nonzero.sort_unstable_by_key(|&(i, _)| i);
        self.nonzero.dedup_by(|next, kept| {
            let same = next.0 == kept.0;
            if same {
                kept.1 = kept.1.wrapping_add(next.1);
            }
            same
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::sync::FrozenArc;
    use crate::{Registry, Unit};

    #[test]
    fn an_unchanged_histogram_shares_its_buckets_and_a_changed_one_is_folded_again() {
        // A fixed clock: quanta's calibration runs `cpuid`, which Miri
        // (`scripts/miri.sh`) cannot run, and nothing here is timed.
        let reg = Registry::with_clock(crate::Clock::from_fn(|| 0));
        let h = reg.histogram("lat", "l", Unit::None).unwrap();
        h.record(5);
        h.record(700);
        let (a, b) = (reg.collect(), reg.collect());
        let (ha, hb) = (a.histogram("lat").unwrap(), b.histogram("lat").unwrap());
        assert_eq!(ha, hb);
        assert!(FrozenArc::ptr_eq(&ha.buckets, &hb.buckets));

        // Only a rejected observation: same buckets, new invalid count.
        h.record_f64(f64::NAN);
        let c = reg.collect();
        let hc = c.histogram("lat").unwrap();
        assert_eq!((hc.count(), hc.invalid()), (2, 1));
        assert!(FrozenArc::ptr_eq(&ha.buckets, &hc.buckets));

        // A record from another thread is folded in.
        std::thread::scope(|s| {
            s.spawn(|| h.record(9));
        });
        let d = reg.collect();
        let hd = d.histogram("lat").unwrap();
        assert_eq!((hd.count(), hd.sum(), hd.invalid()), (3, 714, 1));
        assert_eq!((hd.min(), hd.max()), (Some(5), Some(700)));
        assert_eq!(hd.buckets().count(), 3);
        assert_eq!(ha.count(), 2, "an earlier snapshot is unchanged");
    }

    #[test]
    fn classic_counts_are_kept_while_a_histogram_is_unchanged() {
        let reg = Registry::with_clock(crate::Clock::from_fn(|| 0));
        let h = reg.histogram("h", "h", Unit::Nanoseconds).unwrap();
        for v in [10, 100, 1000] {
            h.record(v);
        }
        let first = reg.collect();
        let s1 = first.histogram("h").unwrap();
        let limits = [s1.limit_for(50.0), s1.limit_for(500.0), s1.limit_for(5e3)];
        let mut out = Vec::new();
        s1.counts_below(&limits, &mut out);
        assert_eq!(out, [1, 2, 3]);
        // Nothing recorded since: the next snapshot has the counts already.
        let second = reg.collect();
        let s2 = second.histogram("h").unwrap();
        assert_eq!(s2.kept_counts(&limits), Some(&[1, 2, 3][..]));
        // A record later: a new snapshot, counted afresh.
        h.record(20);
        let third = reg.collect();
        let s3 = third.histogram("h").unwrap();
        assert_eq!(s3.kept_counts(&limits), None);
        out.clear();
        s3.counts_below(&limits, &mut out);
        assert_eq!(out, [2, 3, 4]);
        assert_eq!(s3.kept_counts(&limits), Some(&[2, 3, 4][..]));
    }
}
