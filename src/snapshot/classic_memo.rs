//! [`ClassicMemo`]: the classic-bucket counts a render read off a
//! histogram snapshot's buckets, kept with those buckets.
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
//! The first render's limits are the ones kept (a render with other
//! bounds works its own out, as before). One allocation per snapshot and
//! set of limits, on the first render: none on the recording path.
#![forbid(unsafe_code)]

use crate::sync::FrozenArc;
use std::sync::OnceLock;

/// Counts below given limits, shared by every clone of a snapshot.
#[derive(Clone)]
pub(crate) struct ClassicMemo(FrozenArc<OnceLock<Counts>>);

struct Counts {
    limits: Box<[usize]>,
    counts: Box<[u64]>,
}

impl ClassicMemo {
    pub(crate) fn new() -> ClassicMemo {
        ClassicMemo(FrozenArc::new(OnceLock::new()))
    }

    /// The counts kept for exactly these `limits`, if any.
    pub(crate) fn get(&self, limits: &[usize]) -> Option<&[u64]> {
        self.0
            .get()
            .filter(|c| *c.limits == *limits)
            .map(|c| &*c.counts)
    }

    /// Keeps `counts` for `limits` unless counts are kept already.
    pub(crate) fn offer(&self, limits: &[usize], counts: &[u64]) {
        debug_assert_eq!(limits.len(), counts.len());
        if self.0.get().is_none() {
            // A racing render may have set it meanwhile: both computed the
            // same counts from the same buckets, or counts for other
            // limits, which `get` tells apart.
            let _ = self.0.set(Counts {
                limits: limits.into(),
                counts: counts.into(),
            });
        }
    }
}

/// A memo is not part of a snapshot's value: two snapshots of the same
/// buckets are equal whatever either has rendered.
impl PartialEq for ClassicMemo {
    fn eq(&self, _: &ClassicMemo) -> bool {
        true
    }
}

impl Eq for ClassicMemo {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_found_by_their_limits_and_shared_by_clones() {
        let memo = ClassicMemo::new();
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
        assert_eq!(ClassicMemo::new().get(&[1, 5]), None);
    }
}
