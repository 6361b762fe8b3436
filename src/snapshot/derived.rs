//! [`Derived`]: what exporters work out from a histogram snapshot's
//! buckets and totals alone, kept with those buckets: the classic-bucket counts a
//! render read, and one value of the exporter's choosing (the native
//! buckets of the protobuf format).
//!
//! A scrape writes every histogram's classic `le` buckets: the count of
//! observations below each bound's bucket limit (see
//! `export/samples.rs`). Reading them off the fine buckets touches a few
//! cache lines per bound, of a snapshot that is rarely in cache when a
//! scrape walks thousands of histograms. The counts depend only on the
//! buckets and the limits, and a histogram nothing was recorded into keeps
//! its snapshot, buckets and memo alike, from one collection to the next
//! (`registry/fold_histogram.rs`): its next scrape reads back the counts
//! the last one wrote, found by comparing the limits.
//!
//! The same holds for the native buckets a protobuf scrape re-bins every
//! fine bucket into (with the sum and extremes, which an unchanged
//! histogram keeps too): the value is kept under a key (the divisor and the
//! bucket cap) and read back while the histogram is unchanged.
//!
//! A histogram that changed gets a new snapshot, with the counts of the
//! last one carried over: the collector knows by how much which buckets
//! grew, and adds that below each limit (`Derived::carry`).
//!
//! The native buckets are carried over the same way where the exporter's
//! [`Carry`] can tell that a fresh conversion would give the same
//! (`export/native_carry.rs`).
//!
//! The first render's limits (and key) are the ones kept (a render with
//! others works its own out, as before). One allocation per snapshot, on
//! the first render, and one per value kept: none on the recording path.
#![forbid(unsafe_code)]

use super::HistogramSnapshot;
use crate::sync::FrozenArc;
use std::any::Any;
use std::borrow::Cow;
use std::sync::OnceLock;

/// How a kept value is carried over to the next snapshot of a histogram
/// that changed: from the value, that snapshot, and the buckets that grew
/// (index and added count, by increasing index); `None` where the value
/// must be worked out afresh.
pub(crate) type Carry =
    fn(&dyn Any, &HistogramSnapshot, &[(u32, u64)]) -> Option<Box<dyn Any + Send + Sync>>;

/// What is kept, shared by every clone of a snapshot.
#[derive(Clone)]
pub(crate) struct Derived(FrozenArc<Slots>);

#[derive(Default)]
struct Slots {
    /// The snapshot's skip list (`HistogramSnapshot::count_below`).
    skips: OnceLock<Box<[(u32, u64)]>>,
    classic: OnceLock<Counts>,
    value: OnceLock<Kept>,
}

/// The exporter's value, under its key, with how to carry it over.
struct Kept {
    key: (u64, u64),
    value: Box<dyn Any + Send + Sync>,
    carry: Carry,
}

struct Counts {
    /// Shared by the snapshots the counts are carried over to.
    limits: FrozenArc<[usize]>,
    counts: Box<[u64]>,
}

impl Derived {
    pub(crate) fn new() -> Derived {
        Derived(FrozenArc::new(Slots::default()))
    }

    /// The skip list of the snapshot, made by `make` on first use.
    pub(crate) fn skips(&self, make: impl FnOnce() -> Box<[(u32, u64)]>) -> &[(u32, u64)] {
        self.0.skips.get_or_init(make)
    }

    /// The counts kept for exactly these `limits`, if any.
    pub(crate) fn get(&self, limits: &[usize]) -> Option<&[u64]> {
        self.0
            .classic
            .get()
            .filter(|c| *c.limits == *limits)
            .map(|c| &*c.counts)
    }

    /// Keeps `counts` for `limits` unless counts are kept already.
    pub(crate) fn offer(&self, limits: &[usize], counts: &[u64]) {
        debug_assert_eq!(limits.len(), counts.len());
        if self.0.classic.get().is_none() {
            // A racing render may have set it meanwhile: both computed the
            // same counts from the same buckets, or counts for other
            // limits, which `get` tells apart.
            let _ = self.0.classic.set(Counts {
                limits: FrozenArc::from(limits),
                counts: counts.into(),
            });
        }
    }

    /// Keeps for `snap`, whose buckets are `earlier`'s plus the
    /// observations `added` (bucket index and count, by increasing index),
    /// the counts `earlier` kept (for the same limits) plus `added`, and
    /// the value `earlier` kept, carried over by its [`Carry`].
    pub(crate) fn carry(&self, earlier: &Derived, added: &[(u32, u64)], snap: &HistogramSnapshot) {
        if let Some(kept) = earlier.0.value.get() {
            if let Some(value) = (kept.carry)(&*kept.value, snap, added) {
                let (key, carry) = (kept.key, kept.carry);
                let _ = self.0.value.set(Kept { key, value, carry });
            }
        }
        let Some(kept) = earlier.0.classic.get() else {
            return;
        };
        // The limits do not decrease: one walk along `added`.
        let (mut below, mut rest) = (0u64, added);
        let counts = kept.limits.iter().zip(&kept.counts).map(|(&limit, &n)| {
            while let Some((&(index, c), tail)) = rest.split_first() {
                if index as usize >= limit {
                    break;
                }
                below = below.wrapping_add(c);
                rest = tail;
            }
            n.wrapping_add(below)
        });
        let counts = Counts {
            limits: FrozenArc::clone(&kept.limits),
            counts: counts.collect(),
        };
        // (Nothing renders `self` before the collector hands it out.)
        let _ = self.0.classic.set(counts);
    }

    /// The value kept for `key` if it is a `T`; otherwise `make`'s,
    /// kept (a clone, with how to `carry` it over) if nothing is kept yet.
    pub(crate) fn value<T: Any + Send + Sync + Clone>(
        &self,
        key: (u64, u64),
        make: impl FnOnce() -> T,
        carry: Carry,
    ) -> Cow<'_, T> {
        if let Some(kept) = self.0.value.get() {
            if let Some(v) = kept.value.downcast_ref::<T>().filter(|_| kept.key == key) {
                return Cow::Borrowed(v);
            }
            return Cow::Owned(make());
        }
        let v = make();
        // (A racing render may have kept its own first: same buckets.)
        let value = Box::new(v.clone());
        let _ = self.0.value.set(Kept { key, value, carry });
        Cow::Owned(v)
    }
}

/// What is kept is not part of a snapshot's value: two snapshots of the
/// same buckets are equal whatever either has rendered.
impl PartialEq for Derived {
    fn eq(&self, _: &Derived) -> bool {
        true
    }
}

impl Eq for Derived {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_found_by_their_limits_and_shared_by_clones() {
        let memo = Derived::new();
        assert_eq!(memo.get(&[1, 5]), None);
        memo.offer(&[1, 5], &[3, 7]);
        let clone = memo.clone();
        assert_eq!(clone.get(&[1, 5]), Some(&[3, 7][..]));
        // Other limits: not these counts, and the first ones stay.
        assert_eq!(clone.get(&[1, 6]), None);
        assert_eq!(clone.get(&[1]), None);
        clone.offer(&[1, 6], &[3, 9]);
        assert_eq!(memo.get(&[1, 6]), None);
        assert_eq!(memo.get(&[1, 5]), Some(&[3, 7][..]));
        // A new memo starts empty.
        assert_eq!(Derived::new().get(&[1, 5]), None);
    }

    #[test]
    fn a_value_is_kept_under_its_key_and_type() {
        let memo = Derived::new();
        let mut made = 0;
        let mut make = |v: u32| {
            made += 1;
            v
        };
        let none: Carry = |_, _, _| None;
        assert_eq!(*memo.value((1, 2), || make(7), none), 7);
        assert_eq!(*memo.clone().value((1, 2), || make(8), none), 7);
        // Another key or another type: made each time, the first kept.
        assert_eq!(*memo.value((1, 3), || make(9), none), 9);
        assert_eq!(*memo.value((1, 2), || 5u64, none), 5);
        assert_eq!(*memo.value((1, 2), || make(10), none), 7);
        assert_eq!(made, 2);
    }
}
