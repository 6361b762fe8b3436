//! [`FamilyPair`]: two families bound to one label set by one lookup, and
//! the crate-private [`LabelIndex`] it is built on.
//!
//! Recording a counter and a histogram by the same dynamic label values
//! through two families hashes the values twice and probes two tables. A
//! `LabelIndex` maps a label set to the series of *each* member family at
//! once: one hash, one probe, then the members' plain handles. It is only
//! an index: the members stay ordinary registered families, so the
//! collector, the exporters and the cardinality limits see nothing new.
//!
//! An index entry holds handles to the members' series for as long as the
//! index lives, so its members must not evict: a pair over an evicting
//! family is refused when it is made ([`PairError::Evicting`]).
//!
//! A label set of `'static` strings ([`StaticStr`](super::labels::StaticStr),
//! derived enums) is found by the strings' addresses instead of their bytes
//! (`static_key.rs`): after its first lookup, an alias of its entry.

use super::cell_binding::CellBinding;
use super::family::Family;
use super::labels::{FixedShape, LabelValues, Labels};
use super::map::{Baseline, SeriesMap};
use super::static_key::{self, StaticAliases, KEY_VALUES};
use crate::handle::{Counter, Histogram};
use crate::sync::{Arc, FrozenArc};
use std::error::Error;
use std::fmt;
use std::time::Duration;

/// Slots an index starts with (it grows past half full).
const INITIAL_SLOTS: usize = 64;

/// A lock-free map from a label set to an entry of handles, one per member
/// family (crate-private: [`FamilyPair`] and the `ResponseTracker` use it).
///
/// A lookup is one hash of the borrowed values and one probe of a
/// lock-free table: no lock, no allocation. Entries are never removed, so
/// a found entry lives as long as the index.
pub(crate) struct LabelIndex<E> {
    map: SeriesMap<E>,
    /// Label sets of `'static` strings, by their addresses.
    aliases: StaticAliases<E>,
}

impl<E> LabelIndex<E> {
    /// An index over label sets named `names`, holding at most `limit`
    /// entries (past it, lookups miss and callers take their slow path).
    pub(crate) fn new(names: FrozenArc<[String]>, limit: usize) -> LabelIndex<E> {
        // Small to start with, growing as label sets come: an index's limit
        // (a member's, or several of them) is usually far above what it
        // holds, and a lookup into a small array stays in cache.
        let slots = limit.saturating_mul(2).min(INITIAL_SLOTS);
        LabelIndex {
            map: SeriesMap::with_slots(names, limit.max(1), slots),
            aliases: StaticAliases::new(limit, slots),
        }
    }

    /// The entry of `labels`, if one was inserted.
    #[inline]
    pub(crate) fn find<L: LabelValues + ?Sized>(&self, labels: &L) -> Option<&E>
    where
        E: Clone,
    {
        let by_content = || self.map.find(labels).map(|s| &s.metric);
        static_key::find(Some(&self.aliases), labels, by_content)
    }

    /// Inserts `entry` for `labels` (or finds the one a racing thread
    /// inserted first); `None` when the index is full or `labels` has the
    /// wrong number of values. Takes the index's lock and allocates: for a
    /// label set's first use.
    ///
    /// A label set of `'static` strings is made an alias of its entry at
    /// once, so that its next lookup allocates nothing.
    #[cold]
    pub(crate) fn insert<L: LabelValues + ?Sized>(&self, labels: &L, entry: E) -> Option<&E>
    where
        E: Clone,
    {
        if self.map.is_full() {
            return None;
        }
        let s = self.map.insert(labels, || Some((entry, Baseline::Zero)));
        let found = &s.ok()?.metric;
        Some(static_key::inserted(Some(&self.aliases), labels, found))
    }

    /// Bytes of the index's tables and label strings.
    pub(crate) fn allocated_bytes(&self) -> usize {
        self.map.allocated_bytes() + self.aliases.allocated_bytes()
    }
}

/// Why two families cannot be made a [`FamilyPair`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PairError {
    /// The two families have different label names (or orders).
    LabelNames {
        /// The first family's name.
        first: String,
        /// The second family's name.
        second: String,
    },
    /// A family evicts idle series
    /// ([`Options::evict_idle_after`](crate::Options::evict_idle_after)),
    /// which a pair, keeping handles to its series, cannot follow.
    Evicting {
        /// The evicting family's name.
        name: String,
    },
}

impl fmt::Display for PairError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PairError::LabelNames { first, second } => write!(
                f,
                "families {first:?} and {second:?} have different label names"
            ),
            PairError::Evicting { name } => write!(
                f,
                "family {name:?} evicts idle series, so it cannot be part of a pair"
            ),
        }
    }
}

impl Error for PairError {}

/// Two families with the same label names, looked up together: one hash
/// and one probe find the series of a label set in both.
///
/// Typical use is a request counter and a latency histogram by the same
/// dynamic labels. Each member stays an ordinary family: exported as
/// before, with its own cardinality limit and overflow series (a label
/// set one member refuses records into that member's overflow series and
/// counts in its `<name>_overflow`, on every lookup, as the family alone
/// would). The members are typed by the same [`FixedShape`], so a label
/// set with the wrong number of values does not compile.
///
/// Members must not evict ([`PairError::Evicting`]). Pre-bound handles
/// ([`with`](Self::with), or [`Family::with`]) remain the fastest way to
/// record a label set known up front.
///
/// ```
/// use hotmetrics::{FamilyPair, Registry, Unit};
///
/// let reg = Registry::new();
/// let names = ["route", "method", "status"];
/// let requests = reg.counter_family("requests", "Requests", &names).unwrap();
/// let latency = reg
///     .histogram_family("request_duration", "Latency", Unit::Nanoseconds, &names)
///     .unwrap();
/// let pair = FamilyPair::new(&requests, &latency).unwrap();
///
/// let route = String::from("search");
/// pair.inc_and_record(&(route.as_str(), "GET", "200"), 1_250);
/// let (count, histogram) = pair.get(&("search", "GET", "200"));
/// count.inc();
/// histogram.record(900);
///
/// let snap = reg.collect();
/// let labels = [("route", "search"), ("method", "GET"), ("status", "200")];
/// assert_eq!(snap.counter_with("requests", &labels), Some(2));
/// assert_eq!(snap.histogram_with("request_duration", &labels).unwrap().count(), 2);
/// ```
pub struct FamilyPair<A, B, S> {
    inner: Arc<PairInner<A, B, S>>,
}

struct PairInner<A, B, S> {
    first: Family<A, S>,
    second: Family<B, S>,
    index: LabelIndex<(A, B)>,
    /// For a `FamilyPair<Counter, Histogram>` within one registry: label
    /// sets of `'static` values bound to each thread's cells
    /// (`cell_binding.rs`).
    binding: Option<CellBinding<KEY_VALUES, 1, 2>>,
}

impl<A, B, S> Clone for FamilyPair<A, B, S> {
    fn clone(&self) -> Self {
        FamilyPair {
            inner: self.inner.clone(),
        }
    }
}

impl<A: Clone, B: Clone, S: FixedShape> FamilyPair<A, B, S> {
    /// Binds `first` and `second`, which must have the same label names
    /// and not evict. Both are typed by the same [`FixedShape`].
    pub fn new(
        first: &Family<A, S>,
        second: &Family<B, S>,
    ) -> Result<FamilyPair<A, B, S>, PairError> {
        if first.label_names() != second.label_names() {
            return Err(PairError::LabelNames {
                first: first.name().to_string(),
                second: second.name().to_string(),
            });
        }
        if let Some(f) = [first.name(), second.name()]
            .into_iter()
            .zip([first.evicts(), second.evicts()])
            .find(|(_, evicts)| *evicts)
        {
            return Err(PairError::Evicting {
                name: f.0.to_string(),
            });
        }
        // An entry exists only for a label set with a series in both
        // members, so the smaller limit bounds the entries.
        let limit = first.max_series().min(second.max_series());
        Ok(FamilyPair {
            inner: Arc::new(PairInner {
                index: LabelIndex::new(first.inner.map.names().clone(), limit),
                first: first.clone(),
                second: second.clone(),
                binding: CellBinding::of(second, &[&first.inner.ctx.core]),
            }),
        })
    }

    /// The series of `labels` in both members (each created on first use;
    /// a member's overflow series where it refuses the label set).
    ///
    /// Finding a label set seen before is one hash of the borrowed values
    /// and one probe of a lock-free table: no lock, no allocation.
    #[inline]
    pub fn get<L: Labels<S> + ?Sized>(&self, labels: &L) -> (&A, &B) {
        match self.inner.index.find(labels) {
            Some((a, b)) => (a, b),
            None => self.miss(labels),
        }
    }

    /// A label set not in the index: each member resolves it on its own;
    /// when both give it a series of its own, the pair is indexed.
    #[cold]
    #[inline(never)]
    fn miss<L: LabelValues + ?Sized>(&self, labels: &L) -> (&A, &B) {
        let inner = &*self.inner;
        let a = inner.first.resolve(labels);
        let b = inner.second.resolve(labels);
        if let (Some(a), Some(b)) = (a, b) {
            if let Some((a, b)) = inner.index.insert(labels, (a.clone(), b.clone())) {
                return (a, b);
            }
        }
        (
            a.unwrap_or_else(|| inner.first.overflow()),
            b.unwrap_or_else(|| inner.second.overflow()),
        )
    }

    /// Handles to the series of `labels` in both members (see
    /// [`get`](Self::get)), to keep.
    pub fn with<L: Labels<S> + ?Sized>(&self, labels: &L) -> (A, B) {
        let (a, b) = self.get(labels);
        (a.clone(), b.clone())
    }

    /// The first member.
    pub fn first(&self) -> &Family<A, S> {
        &self.inner.first
    }

    /// The second member.
    pub fn second(&self) -> &Family<B, S> {
        &self.inner.second
    }

    /// Bytes of the pair's own index (the members' tables are counted by
    /// their [`Family::index_bytes`]).
    pub fn index_bytes(&self) -> usize {
        self.inner.index.allocated_bytes()
    }
}

impl<S: FixedShape> FamilyPair<Counter, Histogram, S> {
    /// Adds one to the counter and records `value` into the histogram of
    /// `labels`, with one lookup.
    #[inline]
    pub fn inc_and_record<L: Labels<S> + ?Sized>(&self, labels: &L, value: u64) {
        if let (Some(key), Some(binding)) = (static_key::key_words(labels), &self.inner.binding) {
            if !binding.record(&key, 1, value) {
                self.bind_and_record(binding, labels, &key, value);
            }
            return;
        }
        let (c, h) = self.get(labels);
        c.inc();
        h.record(value);
    }

    /// Adds one to the counter and records `d` into the histogram of
    /// `labels` (see [`Histogram::record_duration`]), with one lookup.
    #[inline]
    pub fn inc_and_record_duration<L: Labels<S> + ?Sized>(&self, labels: &L, d: Duration) {
        let unit = self.inner.second.unit_of_series();
        self.inc_and_record(labels, unit.from_duration(d));
    }

    /// A label set of `'static` values this thread has not bound: bound to
    /// its series' cells once the pair has an entry for it (the first
    /// lookup makes one), recorded to the overflow series through the
    /// shared path while a member refuses it.
    #[cold]
    #[inline(never)]
    fn bind_and_record<L: LabelValues + ?Sized>(
        &self,
        binding: &CellBinding<KEY_VALUES, 1, 2>,
        labels: &L,
        key: &[u64; KEY_VALUES],
        value: u64,
    ) {
        let (c, h) = match self.inner.index.find(labels) {
            Some(entry) => entry,
            None => {
                let (c, h) = self.miss(labels);
                c.inc();
                h.record(value);
                return;
            }
        };
        // SAFETY: `c` and `h` are series of the members, which record into
        // the binding's registry (it exists only then) and do not evict
        // (`new` refuses a member that does), so `h`'s cells are never
        // released; the entry keeps both handles as long as the pair lives.
        unsafe { binding.bind_and_record(key, [Some(c)], Some(h), 1, value) };
    }
}

impl<A: Clone, B: Clone, S> fmt::Debug for FamilyPair<A, B, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FamilyPair")
            .field("first", &self.inner.first.name())
            .field("second", &self.inner.second.name())
            .finish()
    }
}
