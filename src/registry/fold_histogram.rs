//! [`Histograms`]: how the collector merges one histogram's cells over all
//! threads into a [`HistogramSnapshot`], re-reading only what changed.
//!
//! The collector keeps, per histogram, the last snapshot and every chunk's
//! buckets summed over all threads as that snapshot holds them
//! (`Kept`). A collection:
//!
//! 1. adds up every thread's record count (one word per thread's cells).
//!    Counts only grow, so if the total equals the one read before the last
//!    fold, nothing changed: the last snapshot is handed out again, its
//!    buckets shared, and no chunk is read;
//! 2. otherwise adds up every thread's record counts of the histogram's
//!    groups of 16 chunks (one word per group) and, for the groups whose
//!    total changed, every thread's chunk counts, without copying any
//!    bucket, per chunk: a chunk whose total equals the kept one holds the
//!    same records, and is not read again (nor is any chunk of a group
//!    whose total is unchanged);
//! 3. reads the changed (and new) chunks again, a consistent copy from each
//!    thread (see `storage/histogram_cells.rs`), and notes by how much each
//!    bucket grew;
//! 4. hands the buckets that grew to the new snapshot: its bucket list is
//!    made from the last one's on first read (`snapshot/bucket_list.rs`),
//!    and the classic-bucket counts and native buckets a render kept with
//!    the last snapshot are carried over with them (`snapshot/derived.rs`),
//!    so a text scrape of a histogram that changed neither copies nor
//!    counts its buckets.
//!
//! A scrape after a few records per histogram therefore reads the counts of
//! a group or two and a few chunks, instead of merging every fine bucket.
//! What it costs: the collector keeps one merged copy of every chunk any
//! thread touched (180 bytes per 16 buckets), about what one recording
//! thread holds.
//!
//! Slots become value-ordered bucket indices (`Precision::slot_index`) as
//! they are noted; a `u64` and an `f64` record of one integer below `2^bits`
//! sit in two slots of one bucket, added up there.
#![forbid(unsafe_code)]

use crate::buckets::Precision;
use crate::handle::Histogram;
use crate::snapshot::{BucketList, HistogramSnapshot, Totals};
use crate::storage::{compensated_add, group_of, ChunkSums, Storage, CHUNK_BUCKETS};

/// The histogram fold's scratch space and memory, kept by the collector.
#[derive(Default)]
pub(super) struct Histograms {
    /// Which chunks changed.
    changes: Changes,
    /// By stale chunk: its buckets and sums over all threads now.
    read: Vec<([u64; CHUNK_BUCKETS], ChunkSums)>,
    /// By how much buckets grew: (value-ordered index, added count).
    grown: Vec<(u32, u64)>,
    /// By histogram slot: what the last collection folded.
    last: Vec<Option<Kept>>,
    /// Chunk copies read so far (what tests of the re-reading check).
    #[cfg_attr(not(test), allow(dead_code))]
    chunk_reads: usize,
}

/// The scratch space of finding which chunks changed.
#[derive(Default)]
struct Changes {
    /// Every thread's groups of 16 chunks: (first slot, records), thread
    /// after thread.
    groups: Vec<(u32, u64)>,
    /// By kept group: the records every thread's copy adds up to now.
    group_seen: Vec<u64>,
    /// First slots of the groups whose chunks' counts are read: changed or
    /// new.
    walk: Vec<u32>,
    /// Every thread's chunks of those groups: (first slot, count), thread
    /// after thread.
    counts: Vec<(u32, u64)>,
    /// By kept chunk: the count every thread's copy adds up to now.
    seen: Vec<u64>,
    /// First slots of the chunks to read again: changed or new.
    stale: Vec<u32>,
    /// Groups or chunks some thread allocated since the last fold, with
    /// their records.
    fresh: Vec<(u32, u64)>,
    /// Chunk counts read so far (what tests of the re-reading check).
    #[cfg_attr(not(test), allow(dead_code))]
    counts_read: usize,
}

/// What the collector keeps of one histogram: its last snapshot, and its
/// chunks summed over all threads as that snapshot holds them. The chunks
/// are kept column by column, by increasing first slot, so that finding
/// the changed ones reads only `firsts` and `counts`.
struct Kept {
    snap: HistogramSnapshot,
    /// Every thread's record count added up, as read before the chunks
    /// `snap` holds were last walked: each record it counts is in them.
    records: u64,
    /// Each group's first slot, and its records added up over the threads
    /// as read before its chunks were last walked.
    groups: Vec<u32>,
    group_records: Vec<u64>,
    /// Each chunk's first slot: what names it in every thread's cells.
    firsts: Vec<u32>,
    /// Each chunk's records: the sum of its buckets.
    counts: Vec<u64>,
    buckets: Vec<[u64; CHUNK_BUCKETS]>,
    /// Each chunk's sums, the float ones as a Neumaier pair.
    sums: Vec<ChunkSums>,
    /// The sum of the chunks' `u64` sums.
    int_sum: u128,
    /// Whether some chunk's float sums were ever non-zero: then the float
    /// sum is added up over the chunks, else it is 0.
    floats: bool,
}

impl Kept {
    fn new(precision: Precision) -> Kept {
        Kept {
            snap: HistogramSnapshot::from_shared(
                precision,
                BucketList::default(),
                0,
                Totals::integers(0, u64::MAX, 0),
                0,
            ),
            records: 0,
            groups: Vec::new(),
            group_records: Vec::new(),
            firsts: Vec::new(),
            counts: Vec::new(),
            buckets: Vec::new(),
            sums: Vec::new(),
            int_sum: 0,
            floats: false,
        }
    }

    /// Adds empty chunks at the sorted, distinct first slots of `fresh`.
    fn insert(&mut self, fresh: &[(u32, u64)]) {
        for &(first, _) in fresh {
            let at = self.firsts.partition_point(|&f| f < first);
            self.firsts.insert(at, first);
            self.counts.insert(at, 0);
            self.buckets.insert(at, [0; CHUNK_BUCKETS]);
            self.sums.insert(at, ChunkSums::default());
        }
    }

    /// The sums over the kept chunks, with the extremes of `extremes`.
    fn totals(&self, extremes: Totals) -> Totals {
        let mut t = Totals {
            sum: self.int_sum,
            fsum: 0.0,
            ..extremes
        };
        if self.floats {
            let mut comp = 0.0;
            for s in &self.sums {
                add_compensated(&mut t.fsum, &mut comp, s.float);
                add_compensated(&mut t.fsum, &mut comp, s.comp);
            }
            if t.fsum.is_finite() {
                t.fsum += comp;
            }
        }
        t
    }
}

/// Adds `x` to the Neumaier pair (`sum`, `comp`): `comp` collects what
/// rounding takes from `sum`.
fn add_compensated(sum: &mut f64, comp: &mut f64, x: f64) {
    let (total, err) = compensated_add(*sum, x);
    if let Some(err) = err {
        *comp += err;
    }
    *sum = total;
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
        if self.last.len() <= slot {
            self.last.resize_with(slot + 1, || None);
        }
        let precision = h.precision();
        let kept = self.last[slot].get_or_insert_with(|| Kept::new(precision));
        if !self.changes.mark_stale(storage, h, kept) {
            return kept.snap.with_invalid(invalid);
        }
        let stale = &self.changes.stale;
        let mut extremes = Totals::integers(0, u64::MAX, 0);
        self.chunk_reads += reread(storage, h, stale, &mut self.read, &mut extremes);
        let grown = &mut self.grown;
        grown.clear();
        kept.update(precision, stale, &self.read, grown);
        add_up_by_key(grown);
        let count = grown
            .iter()
            .fold(kept.snap.count(), |a, &(_, n)| a.wrapping_add(n));
        let totals = kept.totals(extremes);
        let buckets = kept.snap.buckets.with_grown(grown);
        let snap = HistogramSnapshot::from_shared(precision, buckets, count, totals, invalid);
        snap.carry_derived(&kept.snap, grown);
        kept.snap = snap.clone();
        snap
    }

    /// Forgets what the last collection folded for histogram slot `slot`,
    /// whose cells were released: its counts no longer only grow.
    pub(super) fn forget(&mut self, slot: usize) {
        if let Some(last) = self.last.get_mut(slot) {
            *last = None;
        }
    }

    /// Chunk copies and chunk counts read so far.
    #[cfg(test)]
    pub(super) fn chunk_reads(&self) -> (usize, usize) {
        (self.chunk_reads, self.changes.counts_read)
    }
}

impl Changes {
    /// Lists in `stale` the first slots of the chunks of `kept` whose total
    /// count changed, and of the chunks no fold has seen yet (which it adds to
    /// `kept`), by increasing first slot; whether there are any.
    fn mark_stale(&mut self, storage: &Storage, h: &Histogram, kept: &mut Kept) -> bool {
        // Every thread's record count first (one word each): it only grows,
        // and each record it counts was counted by its group and its chunk
        // before (see `HistogramCells::records`), so an unchanged total
        // means the kept chunks hold every record.
        let mut records = 0u64;
        storage.for_each_shard(|shard| {
            if let Some(cells) = shard.read_histogram(h.slot()) {
                records = records.wrapping_add(cells.records());
            }
        });
        if records == kept.records {
            return false;
        }
        kept.records = records;
        // Then every thread's group counts, by the same argument: a group
        // whose total is unchanged keeps its chunks.
        let groups = &mut self.groups;
        groups.clear();
        storage.for_each_shard(|shard| {
            if let Some(cells) = shard.read_histogram(h.slot()) {
                cells.for_each_group(|first, n| groups.push((first as u32, n)));
            }
        });
        self.mark_walked(kept);
        // The chunk counts of the changed groups, from every thread.
        let Changes {
            walk,
            counts,
            seen,
            stale,
            fresh,
            counts_read,
            ..
        } = self;
        counts.clear();
        storage.for_each_shard(|shard| {
            if let Some(cells) = shard.read_histogram(h.slot()) {
                let wanted = sorted_member(walk);
                cells.for_each_count(wanted, |first, count| counts.push((first as u32, count)));
            }
        });
        *counts_read += counts.len();
        seen.clear();
        seen.resize(kept.firsts.len(), 0);
        fresh.clear();
        add_by_first(&kept.firsts, counts, seen, fresh);
        // Only the kept chunks of the walked groups are compared: the others
        // keep their counts.
        stale.clear();
        let precision = h.precision();
        for &g in walk.iter() {
            let mut k = kept.firsts.partition_point(|&f| f < g);
            while let Some(&first) = kept.firsts.get(k) {
                if group_of(precision, first as usize) != g as usize {
                    break;
                }
                if seen[k] != kept.counts[k] {
                    stale.push(first);
                }
                k += 1;
            }
        }
        if !fresh.is_empty() {
            add_up_by_key(fresh);
            kept.insert(fresh);
            stale.extend(fresh.iter().map(|&(f, _)| f));
            stale.sort_unstable();
        }
        !stale.is_empty()
    }

    /// Lists in `walk` the first slots of the groups whose records changed
    /// since the last fold, or that no fold has seen yet, by increasing first
    /// slot, and keeps their records in `kept`.
    fn mark_walked(&mut self, kept: &mut Kept) {
        let Changes {
            groups,
            group_seen,
            walk,
            fresh,
            ..
        } = self;
        group_seen.clear();
        group_seen.resize(kept.groups.len(), 0);
        fresh.clear();
        add_by_first(&kept.groups, groups, group_seen, fresh);
        walk.clear();
        let now = kept.group_records.iter_mut().zip(group_seen.iter());
        for (&first, (was, &now)) in kept.groups.iter().zip(now) {
            if *was != now {
                walk.push(first);
                *was = now;
            }
        }
        if !fresh.is_empty() {
            add_up_by_key(fresh);
            for &(first, n) in fresh.iter() {
                let at = kept.groups.partition_point(|&f| f < first);
                kept.groups.insert(at, first);
                kept.group_records.insert(at, n);
            }
            walk.extend(fresh.iter().map(|&(f, _)| f));
            walk.sort_unstable();
        }
    }
}

/// Adds each `(first slot, count)` of `counts` (thread after thread, each
/// by increasing first slot) to `seen` where the sorted `firsts` has that
/// first slot; appends the others to `fresh`.
fn add_by_first(
    firsts: &[u32],
    counts: &[(u32, u64)],
    seen: &mut [u64],
    fresh: &mut Vec<(u32, u64)>,
) {
    // One merge per thread (a thread's run starts where the first slot goes
    // down, or at the start): a search for its first count, then steps.
    let (mut k, mut last) = (0, u32::MAX);
    for &(first, count) in counts {
        if first < last {
            k = firsts.partition_point(|&f| f < first);
        }
        last = first;
        while k < firsts.len() && firsts[k] < first {
            k += 1;
        }
        if firsts.get(k) == Some(&first) {
            seen[k] = seen[k].wrapping_add(count);
        } else {
            fresh.push((first, count));
        }
    }
}

/// Sorts `pairs` by key, adding up the values of equal keys into one pair.
fn add_up_by_key(pairs: &mut Vec<(u32, u64)>) {
    // Usually already so (a scrape's few grown buckets, one thread's
    // chunks): a look costs less than the sort's set-up.
    if pairs.windows(2).all(|w| w[0].0 < w[1].0) {
        return;
    }
    pairs.sort_unstable_by_key(|&(k, _)| k);
    pairs.dedup_by(|next, kept| {
        let same = next.0 == kept.0;
        if same {
            kept.1 = kept.1.wrapping_add(next.1);
        }
        same
    });
}

/// Whether a key is in the sorted `keys`, for keys asked by increasing
/// value.
fn sorted_member(keys: &[u32]) -> impl FnMut(usize) -> bool + '_ {
    let mut at = 0;
    move |key| {
        while at < keys.len() && (keys[at] as usize) < key {
            at += 1;
        }
        keys.get(at).is_some_and(|&k| k as usize == key)
    }
}

/// Reads the chunks of `kept` at the sorted first slots `stale` again from
/// every thread into `read` (one merged copy each), and widens `t`'s
/// extremes to every thread's; returns the number of chunk copies read.
fn reread(
    storage: &Storage,
    h: &Histogram,
    stale: &[u32],
    read: &mut Vec<([u64; CHUNK_BUCKETS], ChunkSums)>,
    t: &mut Totals,
) -> usize {
    read.clear();
    read.resize(stale.len(), ([0; CHUNK_BUCKETS], ChunkSums::default()));
    let mut copy = [0u64; CHUNK_BUCKETS];
    let mut reads = 0;
    storage.for_each_shard(|shard| {
        let Some(cells) = shard.read_histogram(h.slot()) else {
            return;
        };
        for (&first, (buckets, sums)) in stale.iter().zip(read.iter_mut()) {
            let Some(s) = cells.read_chunk(first as usize, &mut copy) else {
                continue;
            };
            reads += 1;
            for (b, &n) in buckets.iter_mut().zip(&copy) {
                *b = b.wrapping_add(n);
            }
            sums.int = sums.int.wrapping_add(s.int);
            add_compensated(&mut sums.float, &mut sums.comp, s.float);
            add_compensated(&mut sums.float, &mut sums.comp, s.comp);
        }
        // After this fold's (or an earlier one's) reads of the chunks'
        // counts: see `HistogramCells::extremes`.
        let e = cells.extremes();
        (t.min, t.max) = (t.min.min(e.min), t.max.max(e.max));
        (t.fmin, t.fmax) = (t.fmin.min(e.fmin), t.fmax.max(e.fmax));
    });
    reads
}

impl Kept {
    /// Keeps the merged copies `read` of the chunks at the sorted first
    /// slots `stale`, and appends by how much each bucket grew to `grown`
    /// (unsorted).
    fn update(
        &mut self,
        precision: Precision,
        stale: &[u32],
        read: &[([u64; CHUNK_BUCKETS], ChunkSums)],
        grown: &mut Vec<(u32, u64)>,
    ) {
        let mut k = 0;
        for (&first, (now, sums)) in stale.iter().zip(read) {
            while self.firsts[k] < first {
                k += 1;
            }
            for (i, (&now, was)) in now.iter().zip(&mut self.buckets[k]).enumerate() {
                if now != *was {
                    let index = precision.slot_index(first as usize + i) as u32;
                    grown.push((index, now.wrapping_sub(*was)));
                    *was = now;
                }
            }
            self.counts[k] = now.iter().fold(0u64, |a, &n| a.wrapping_add(n));
            let was = std::mem::replace(&mut self.sums[k], *sums);
            self.int_sum = self.int_sum.wrapping_sub(was.int).wrapping_add(sums.int);
            self.floats |= sums.float != 0.0 || sums.comp != 0.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::add_up_by_key;
    use crate::{Registry, Unit};

    #[test]
    fn pairs_are_added_up_by_key_sorted_or_not() {
        for (mut pairs, want) in [
            (
                vec![(5, 1), (2, 2), (5, 3), (1, 4)],
                vec![(1, 4), (2, 2), (5, 4)],
            ),
            (vec![(1, 1), (3, 2), (3, 3)], vec![(1, 1), (3, 5)]),
            (vec![(1, 1), (3, 2)], vec![(1, 1), (3, 2)]),
        ] {
            add_up_by_key(&mut pairs);
            assert_eq!(pairs, want);
        }
    }

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
        assert!(ha.buckets.ptr_eq(&hb.buckets));

        // Only a rejected observation: same buckets, new invalid count.
        h.record_f64(f64::NAN);
        let c = reg.collect();
        let hc = c.histogram("lat").unwrap();
        assert_eq!((hc.count(), hc.invalid()), (2, 1));
        assert!(ha.buckets.ptr_eq(&hc.buckets));

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
    fn a_record_has_only_the_chunk_counts_of_its_group_read() {
        use crate::storage::GROUP_BUCKETS;
        let reg = Registry::with_clock(crate::Clock::from_fn(|| 0));
        let h = reg.histogram("lat", "l", Unit::None).unwrap();
        let p = h.precision();
        // One bucket per octave from 2^4 on: a chunk each, in several groups.
        let values: Vec<u64> = (4..44).map(|k| 1u64 << k).collect();
        values.iter().for_each(|&v| h.record(v));
        reg.collect();
        let group = |v: u64| p.index(v) / GROUP_BUCKETS;
        let groups = values.iter().map(|&v| group(v)).max().unwrap() + 1;
        assert!(groups >= 6, "{groups} groups");
        let counts_read = || reg.chunk_reads().1;
        let before = counts_read();
        // One more record into the chunk of 2^20: only the chunks of its
        // group have their counts read.
        h.record(1 << 20);
        let snap = reg.collect();
        let in_group = values
            .iter()
            .filter(|&&v| group(v) == group(1 << 20))
            .count();
        assert!(
            in_group < values.len() / 3,
            "{in_group} chunks in the group"
        );
        assert_eq!(counts_read() - before, in_group);
        let s = snap.histogram("lat").unwrap();
        assert_eq!(s.count(), values.len() as u64 + 1);
        assert_eq!(s.sum(), values.iter().sum::<u64>() as u128 + (1 << 20));
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
        // Records since: the counts are carried over with what grew.
        h.record(20);
        h.record(1_000_000);
        let third = reg.collect();
        let s3 = third.histogram("h").unwrap();
        assert_eq!(s3.kept_counts(&limits), Some(&[2, 3, 4][..]));
        out.clear();
        s3.counts_below(&limits, &mut out);
        assert_eq!(out, [2, 3, 4]);
        // A render with other limits counts afresh.
        let other = [s3.limit_for(15.0)];
        assert_eq!(s3.kept_counts(&other), None);
        out.clear();
        s3.counts_below(&other, &mut out);
        assert_eq!(out, [1]);
    }
}
