//! [`BucketList`]: a histogram snapshot's non-empty buckets, made from the
//! last snapshot's list and what grew since, on first read.
//!
//! A scrape after a few records per histogram changes a few buckets of
//! lists a thousand long. Copying each list into the new snapshot cost the
//! collection more than everything else about the histogram. A text scrape
//! never reads the list (the classic counts are carried over, see
//! `derived.rs`), so the list is made only when something reads it
//! (quantiles, the bucket iterators, the protobuf and JSON exporters), once
//! per snapshot and shared by its clones. Until then a snapshot holds the
//! list of an earlier one (the base, shared) and the buckets that grew
//! since, summed over the collections in between. When those grow past an
//! eighth of the base, the collector makes a new base, so that the pending
//! increments stay small beside the list.
#![forbid(unsafe_code)]

use crate::sync::FrozenArc;
use std::sync::OnceLock;

/// Non-empty `(bucket index, count)` pairs by increasing index (see the
/// module docs). Clones share everything.
#[derive(Clone, Default)]
pub(crate) struct BucketList(FrozenArc<Pending>);

#[derive(Default)]
struct Pending {
    /// An earlier list, shared with the snapshots it was made for.
    base: FrozenArc<Vec<(u32, u64)>>,
    /// Added to `base`: sorted, distinct indices, non-zero counts. (A
    /// `Vec` as made, not shrunk into a box: the shrink was a reallocation
    /// per changed histogram per collection.)
    grown: Vec<(u32, u64)>,
    /// `base` plus `grown`, made on first read (when `grown` is not empty).
    merged: OnceLock<Vec<(u32, u64)>>,
}

impl BucketList {
    /// The list `buckets` (sorted, distinct, non-zero).
    pub(crate) fn new(buckets: Vec<(u32, u64)>) -> BucketList {
        BucketList(FrozenArc::new(Pending {
            base: FrozenArc::new(buckets),
            ..Pending::default()
        }))
    }

    /// The buckets, made now if this is the first read.
    pub(crate) fn get(&self) -> &[(u32, u64)] {
        let p = &*self.0;
        if p.grown.is_empty() {
            return &p.base;
        }
        p.merged.get_or_init(|| {
            let mut out = Vec::new();
            add_into(&p.base, &p.grown, &mut out);
            out
        })
    }

    /// This list with the sorted, distinct, non-zero increments `grown`
    /// added: the base shared while the pending increments stay small.
    pub(crate) fn with_grown(&self, grown: &[(u32, u64)]) -> BucketList {
        let p = &*self.0;
        let mut pending = Vec::new();
        add_into(&p.grown, grown, &mut pending);
        if pending.len() * 8 <= p.base.len() {
            return BucketList(FrozenArc::new(Pending {
                base: p.base.clone(),
                grown: pending,
                merged: OnceLock::new(),
            }));
        }
        let mut list = Vec::new();
        add_into(&p.base, &pending, &mut list);
        BucketList::new(list)
    }

    /// The first and last bucket index, without making the list.
    pub(crate) fn ends(&self) -> Option<(u32, u32)> {
        let p = &*self.0;
        let (base, grown) = (
            p.base.first().zip(p.base.last()),
            p.grown.first().zip(p.grown.last()),
        );
        let ends = |(&(a, _), &(b, _)): (&(u32, u64), &(u32, u64))| (a, b);
        match (base.map(ends), grown.map(ends)) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (x, y) => x.or(y),
        }
    }

    /// Whether both are the same list, shared (not merely equal).
    #[cfg(test)]
    pub(crate) fn ptr_eq(&self, other: &BucketList) -> bool {
        FrozenArc::ptr_eq(&self.0, &other.0)
    }
}

impl std::fmt::Debug for BucketList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.get()).finish()
    }
}

/// Equal lists, however they are held.
impl PartialEq for BucketList {
    fn eq(&self, other: &BucketList) -> bool {
        self.get() == other.get()
    }
}

impl Eq for BucketList {}

/// `out` := the sorted list `last` with the sorted, distinct `grown` added
/// (a bucket whose count becomes 0 is left out); runs of unchanged buckets
/// are copied whole.
pub(crate) fn add_into(last: &[(u32, u64)], grown: &[(u32, u64)], out: &mut Vec<(u32, u64)>) {
    out.clear();
    out.reserve(last.len() + grown.len());
    let mut rest = last;
    for &(index, added) in grown {
        let at = rest.partition_point(|&(i, _)| i < index);
        out.extend_from_slice(&rest[..at]);
        rest = &rest[at..];
        let before = match rest.first() {
            Some(&(i, n)) if i == index => {
                rest = &rest[1..];
                n
            }
            _ => 0,
        };
        let now = before.wrapping_add(added);
        if now != 0 {
            out.push((index, now));
        }
    }
    out.extend_from_slice(rest);
}

/// Every `every`-th entry of `buckets`: its bucket index and the count of
/// the buckets before it. It lets `HistogramSnapshot::count_below` read a
/// few cache lines instead of every bucket; made on the first call.
pub(crate) fn skip_list(buckets: &[(u32, u64)], every: usize) -> Box<[(u32, u64)]> {
    let mut before = 0u64;
    buckets
        .iter()
        .enumerate()
        .filter_map(|(k, &(index, c))| {
            let skip = (k % every == 0).then_some((index, before));
            before = before.wrapping_add(c);
            skip
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grown_buckets_are_added_into_the_last_list() {
        let mut out = Vec::new();
        let grown = [(0, 4), (5, 2), (7, 1), (12, 6)];
        add_into(&[(2, 1), (5, 3), (9, 1)], &grown, &mut out);
        assert_eq!(out, [(0, 4), (2, 1), (5, 5), (7, 1), (9, 1), (12, 6)]);
        add_into(&[], &[(3, 1)], &mut out);
        assert_eq!(out, [(3, 1)]);
        add_into(&[(3, 1)], &[], &mut out);
        assert_eq!(out, [(3, 1)]);
    }

    #[test]
    fn a_list_with_few_increments_shares_its_base_until_read() {
        let base: Vec<(u32, u64)> = (0..64).map(|i| (i * 2, 1)).collect();
        let list = BucketList::new(base.clone());
        let one = list.with_grown(&[(1, 5), (4, 1)]);
        let two = one.with_grown(&[(4, 2), (200, 1)]);
        assert!(FrozenArc::ptr_eq(&list.0.base, &two.0.base));
        assert_eq!(&*two.0.grown, [(1, 5), (4, 3), (200, 1)]);
        assert_eq!(two.ends(), Some((0, 200)));
        let mut want = base.clone();
        want.insert(1, (1, 5));
        want[3].1 = 4;
        want.push((200, 1));
        assert_eq!(two.get(), want);
        assert_eq!(two, BucketList::new(want));
        // Past an eighth of the base: a new base, nothing pending.
        let many: Vec<(u32, u64)> = (0..9).map(|i| (i * 2 + 1, 1)).collect();
        let rebased = two.with_grown(&many);
        assert!(!FrozenArc::ptr_eq(&list.0.base, &rebased.0.base));
        assert!(rebased.0.grown.is_empty());
        assert_eq!(rebased.get().len(), 64 + 9 + 1);
        assert_eq!(BucketList::default().ends(), None);
    }
}
