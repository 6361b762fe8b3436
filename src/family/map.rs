//! `SeriesMap`: the series of one family, found without a lock.
//!
//! An open-addressing table of `AtomicPtr<Series>` with linear probing,
//! sized once for the family's cardinality limit (at least twice the limit,
//! so it is never more than half full and a probe always reaches an empty
//! slot). Series are only ever added, under the map's mutex, and live as
//! long as the map, so:
//!
//! - a lookup is a hash, a few Acquire loads and string comparisons: no
//!   lock, no allocation, no read-modify-write, no reclamation protocol;
//! - two threads inserting the same label set serialise on the mutex, and
//!   the second finds the first one's series when it re-probes under it: a
//!   label set never gets two series (loom model `same_label_set_one_series`).
//!
//! The table never grows: the cardinality limit bounds it, and a label set
//! past the limit is not inserted (the family records it into its overflow
//! series instead).

use super::labels::{hash_labels, key_matches, Labels};
use crate::snapshot::LabelSet;
use crate::sync::{lock, AtomicPtr, AtomicU64, AtomicU8, FrozenArc, Mutex, Ordering};
use std::fmt;
use std::ptr;

/// The table's hasher: seeded per family in production, so label values
/// chosen by an adversary cannot be aimed at one probe chain in advance.
/// Under loom a fixed seed keeps every execution of a model identical, as
/// loom requires.
#[cfg(not(all(loom, feature = "loom")))]
type Hasher = foldhash::fast::RandomState;
#[cfg(all(loom, feature = "loom"))]
type Hasher = foldhash::fast::FixedState;

/// One series: its label set and the metric handle its records go to.
pub(crate) struct Series<M> {
    /// The label values' hash. An atomic only so that loom sees the
    /// series' initialisation: a reader reaching a series whose creation it
    /// is not ordered after fails the model. A Relaxed load compiles to the
    /// plain load a `u64` field would.
    hash: AtomicU64,
    /// The label values, each followed by `0xff` (a byte UTF-8 never
    /// contains), in one allocation: a lookup compares against it with one
    /// pointer to follow, not one per value.
    key: Box<[u8]>,
    pub(crate) labels: LabelSet,
    pub(crate) metric: M,
}

/// Why a label set got no series of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The family holds as many series as its limit allows.
    Full,
    /// The label set has another number of values than the family has
    /// names, or the registry ran out of slots.
    Invalid,
}

pub(crate) struct SeriesMap<M> {
    /// Pointers into the `FrozenArc`s owned by `owned`; null when empty.
    table: Box<[AtomicPtr<Series<M>>]>,
    mask: usize,
    hasher: Hasher,
    names: FrozenArc<[String]>,
    limit: usize,
    /// Non-zero once `limit` series exist: a lookup that misses then goes
    /// straight to the overflow series without taking the lock.
    full: AtomicU8,
    /// Every series, in insertion order; the insertion lock.
    owned: Mutex<Vec<FrozenArc<Series<M>>>>,
}

impl<M> SeriesMap<M> {
    pub(crate) fn new(names: FrozenArc<[String]>, limit: usize) -> SeriesMap<M> {
        // At most half full: short probes, and always an empty slot to stop at.
        let capacity = (limit.saturating_mul(2)).max(4).next_power_of_two();
        SeriesMap {
            table: (0..capacity)
                .map(|_| AtomicPtr::new(ptr::null_mut()))
                .collect(),
            mask: capacity - 1,
            hasher: Hasher::default(),
            names,
            limit,
            full: AtomicU8::new(0),
            owned: Mutex::new(Vec::new()),
        }
    }

    /// The series of `labels`, if it exists. Lock-free, allocation-free.
    #[inline]
    pub(crate) fn find<L: Labels + ?Sized>(&self, labels: &L) -> Option<&Series<M>> {
        self.find_hashed(hash_labels(&self.hasher, labels), labels)
    }

    #[inline]
    fn find_hashed<L: Labels + ?Sized>(&self, hash: u64, labels: &L) -> Option<&Series<M>> {
        let mut i = hash as usize & self.mask;
        loop {
            debug_assert!(i < self.table.len());
            // Acquire: pairs with the Release store in `insert`, so the
            // series' labels and metric handle are visible before we use them.
            let p = self.table[i].load(Ordering::Acquire);
            if p.is_null() {
                return None;
            }
            // SAFETY: non-null pointers come from `FrozenArc::as_ptr` of a
            // series held in `owned`, which never removes one while `self`
            // lives; the returned borrow is tied to `&self`.
            let s = unsafe { &*p };
            // Relaxed: written once before the series was published, and
            // made visible by the Acquire load above.
            if s.hash.load(Ordering::Relaxed) == hash && key_matches(labels, &s.key) {
                return Some(s);
            }
            // The table is at most half full (`new`), so the probe ends.
            i = (i + 1) & self.mask;
        }
    }

    /// Whether a lookup that misses should give up without the lock.
    #[inline]
    pub(crate) fn is_full(&self) -> bool {
        // Relaxed: the flag publishes nothing; a stale `false` only sends the
        // caller to `insert`, which re-checks under the lock.
        self.full.load(Ordering::Relaxed) != 0
    }

    /// The series of `labels`, created with `make` if it does not exist and
    /// the limit allows it. Takes the insertion lock (the first use of a
    /// label set, which allocates anyway).
    #[cold]
    #[inline(never)]
    pub(crate) fn insert<L: Labels + ?Sized>(
        &self,
        labels: &L,
        make: impl FnOnce() -> Option<M>,
    ) -> Result<&Series<M>, Refused> {
        if labels.label_count() != self.names.len() {
            return Err(Refused::Invalid);
        }
        let hash = hash_labels(&self.hasher, labels);
        let mut owned = lock(&self.owned);
        // Re-probe under the lock: another thread may have inserted this
        // label set since our lock-free lookup missed.
        if let Some(s) = self.find_hashed(hash, labels) {
            return Ok(s);
        }
        if owned.len() >= self.limit {
            return Err(Refused::Full);
        }
        let metric = make().ok_or(Refused::Invalid)?;
        let mut key = Vec::new();
        for i in 0..labels.label_count() {
            key.extend_from_slice(labels.label_value(i).as_bytes());
            key.push(0xff);
        }
        let labels = LabelSet::new(
            self.names
                .iter()
                .enumerate()
                .map(|(i, n)| (n.as_str(), labels.label_value(i))),
        );
        let series = FrozenArc::new(Series {
            hash: AtomicU64::new(hash),
            key: key.into(),
            labels,
            metric,
        });
        let p = FrozenArc::as_ptr(&series).cast_mut();
        let mut i = hash as usize & self.mask;
        // Relaxed: only inserters write the table, and they hold the lock.
        while !self.table[i].load(Ordering::Relaxed).is_null() {
            i = (i + 1) & self.mask;
        }
        owned.push(series);
        // Release: publishes the series' contents to lock-free readers.
        self.table[i].store(p, Ordering::Release);
        if owned.len() >= self.limit {
            // Relaxed: see `is_full`.
            self.full.store(1, Ordering::Relaxed);
        }
        // SAFETY: `p` points into the `FrozenArc` just pushed to `owned`,
        // which keeps it alive and in place while `self` lives.
        Ok(unsafe { &*p })
    }

    /// Every series, in insertion order (for the collector).
    pub(crate) fn series(&self) -> Vec<FrozenArc<Series<M>>> {
        lock(&self.owned).clone()
    }

    /// Number of series.
    pub(crate) fn len(&self) -> usize {
        lock(&self.owned).len()
    }

    pub(crate) fn names(&self) -> &FrozenArc<[String]> {
        &self.names
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes of the table and of the series' label sets (not their cells).
    pub(crate) fn allocated_bytes(&self) -> usize {
        let series: usize = lock(&self.owned)
            .iter()
            .map(|s| {
                std::mem::size_of::<Series<M>>()
                    + 2 * std::mem::size_of::<usize>()
                    + s.key.len()
                    + s.labels
                        .pairs()
                        .iter()
                        .map(|(k, v)| std::mem::size_of::<(String, String)>() + k.len() + v.len())
                        .sum::<usize>()
            })
            .sum();
        self.table.len() * std::mem::size_of::<AtomicPtr<Series<M>>>() + series
    }
}

impl<M> fmt::Debug for SeriesMap<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeriesMap")
            .field("names", &self.names)
            .field("limit", &self.limit)
            .field("series", &self.len())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn map(limit: usize) -> SeriesMap<u32> {
        SeriesMap::new(vec!["a".to_string(), "b".into()].into(), limit)
    }

    #[test]
    fn finds_what_was_inserted_and_stops_at_the_limit() {
        let m = map(3);
        assert!(m.find(&("x", "y")).is_none());
        let s = m.insert(&("x", "y"), || Some(1)).unwrap();
        assert!(s.labels.matches(&[("a", "x"), ("b", "y")]));
        assert_eq!(m.find(&("x", "y")).unwrap().metric, 1);
        // Same label set again: the existing series, `make` not called.
        assert_eq!(m.insert(&("x", "y"), || Some(9)).unwrap().metric, 1);
        m.insert(&("x", "z"), || Some(2)).unwrap();
        assert!(!m.is_full());
        m.insert(&("z", "z"), || Some(3)).unwrap();
        assert!(m.is_full());
        assert_eq!(m.insert(&("q", "q"), || Some(4)).err(), Some(Refused::Full));
        assert_eq!(m.insert(&("q",), || Some(4)).err(), Some(Refused::Invalid));
        assert_eq!(m.insert(&("q", "r"), || None).err(), Some(Refused::Full));
        assert_eq!(m.len(), 3);
        for (labels, v) in [(("x", "y"), 1), (("x", "z"), 2), (("z", "z"), 3)] {
            assert_eq!(m.find(&labels).unwrap().metric, v);
        }
        let order: Vec<u32> = m.series().iter().map(|s| s.metric).collect();
        assert_eq!(order, [1, 2, 3]);
    }

    #[test]
    fn many_colliding_probes_stay_correct() {
        let m = map(500);
        for i in 0..500 {
            let v = i.to_string();
            m.insert(&[v.as_str(), "k"], || Some(i)).unwrap();
        }
        for i in 0..500 {
            let v = i.to_string();
            assert_eq!(m.find(&[v.as_str(), "k"]).unwrap().metric, i);
            assert!(m.find(&[v.as_str(), "j"]).is_none());
        }
    }
}
