//! [`CellBinding`]: label sets of `'static` values bound, on each thread,
//! to that thread's cells of the series they record into: what a
//! `FamilyPair<Counter, Histogram>`, a `ResponseTracker` and a counter or
//! histogram family that does not evict record through.
//!
//! A label set of `'static` values has a key of a few words
//! (`static_key.rs`). The shared lookup by that key probes the owner's
//! alias table, reaches the entry's handles, and each handle then finds
//! this thread's cells through the part cache: a chain of dependent loads,
//! one more per handle. The first time a thread records a label set its
//! owner has an entry for, the owner binds the key to all those cells at
//! once in a table of the thread's own (`storage/bound_cells.rs`); from
//! then on a record is one probe of that table and the writes, as through
//! `local()` handles.
//!
//! Only label sets with an entry are bound: one a family refused goes to
//! the overflow series through the shared path every time, so every such
//! lookup is still counted in `<name>_overflow`. Only owners whose
//! families all record into one registry have a binding (one switch to
//! read, one shard to bind from).

use super::family::{Family, SeriesCtx};
use super::labels::{LabelShape, LabelValues, Labels};
use super::static_key::{key_words, KEY_VALUES};
use crate::buckets::Precision;
use crate::descriptor::Unit;
use crate::handle::{Core, Counter, Histogram};
use crate::storage::{bind_cells, with_bound_cells, OwnedCell, OwnedHistogram};
use crate::sync::{Arc, PartKey};

/// What a bound histogram records: an integer in its unit, or a float
/// that is not NaN ([`NotNan`]; a NaN goes to the series' `invalid` count
/// through its handle).
pub(crate) trait BoundValue: Copy {
    fn record_into(self, cells: OwnedHistogram<'_>, precision: Precision);
}

impl BoundValue for u64 {
    #[inline(always)]
    fn record_into(self, cells: OwnedHistogram<'_>, precision: Precision) {
        cells.record(precision, self);
    }
}

/// A float that is not NaN, which a bound histogram records as
/// `Histogram::record_f64` does.
#[derive(Clone, Copy)]
pub(crate) struct NotNan(f64);

impl NotNan {
    /// `value`, unless it is NaN.
    #[inline(always)]
    pub(crate) fn new(value: f64) -> Option<NotNan> {
        (!value.is_nan()).then_some(NotNan(value))
    }
}

impl BoundValue for NotNan {
    #[inline(always)]
    fn record_into(self, cells: OwnedHistogram<'_>, precision: Precision) {
        cells.record_f64(precision, self.0);
    }
}

/// What an owner records through on a bound label set of `K` key words: up
/// to `C` counters and up to one histogram (`P` is `C + 1`, the parts a
/// binding holds). Built for series whose cells are never released while it
/// lives.
/// A clone binds under the same name: it stands for the same series.
#[derive(Clone)]
pub(crate) struct CellBinding<const K: usize, const C: usize, const P: usize> {
    /// Unique to this binding: no other owner's binding is ever matched.
    owner: PartKey,
    /// The registry every series bound records into: its switch, and its
    /// storage to bind from.
    core: Arc<Core>,
    /// The histograms' settings (their family's).
    precision: Precision,
    unit: Unit,
}

impl<const K: usize, const C: usize, const P: usize> CellBinding<K, C, P> {
    /// A binding for series of a family made with `ctx` and of counter
    /// families that record into `counter_cores`; `None` unless they all
    /// record into the registry `ctx` names.
    pub(crate) fn new(ctx: &SeriesCtx, counter_cores: &[&Arc<Core>]) -> Option<Self> {
        if !counter_cores.iter().all(|c| Arc::ptr_eq(c, &ctx.core)) {
            return None;
        }
        Some(CellBinding {
            owner: PartKey::new(),
            core: ctx.core.clone(),
            precision: ctx.precision,
            unit: ctx.unit,
        })
    }

    /// As [`new`](Self::new), for the series of `histograms`.
    pub(crate) fn of<M, S>(
        histograms: &Family<M, S>,
        counter_cores: &[&Arc<Core>],
    ) -> Option<Self> {
        Self::new(&histograms.inner.ctx, counter_cores)
    }

    /// The histograms' unit.
    pub(crate) fn unit(&self) -> Unit {
        self.unit
    }

    /// Adds `n` to each counter and records `value` into the histogram this
    /// thread bound `key` to; false (nothing recorded) if it bound none.
    #[inline(always)]
    pub(crate) fn record<V: BoundValue>(&self, key: &[u64; K], n: u64, value: V) -> bool {
        // SAFETY: `owner` is this binding's own, bound only by
        // `bind_and_record` with `bind_cells::<K, C, P>`, whose callers
        // guarantee that no histogram they bind is released while this
        // binding lives; every call with `owner` comes through `&self`.
        let bound = unsafe {
            with_bound_cells::<K, C, P, _>(
                self.owner,
                key,
                #[inline(always)]
                |counters, cells| self.write(counters, cells, n, value),
            )
        };
        bound.is_some()
    }

    /// Binds `key` to this thread's cells of `counters` and `histogram`
    /// (those present), and records as [`record`](Self::record) does.
    ///
    /// # Safety
    ///
    /// Every series given records into this binding's registry, and
    /// `histogram`'s cells are never released while the binding lives: it
    /// is not a series of a family that evicts.
    #[cold]
    #[inline(never)]
    pub(crate) unsafe fn bind_and_record<V: BoundValue>(
        &self,
        key: &[u64; K],
        counters: [Option<&Counter>; C],
        histogram: Option<&Histogram>,
        n: u64,
        value: V,
    ) {
        self.core.storage.with_shard(|shard| {
            // The cells of one registry are in its shard; those of this
            // thread's, reached under the token it holds for this call.
            let cells = histogram.map(|h| shard.histogram(h.slot(), self.precision));
            let counters = counters.map(|c| c.map(|c| shard.counter(c.slot())));
            bind_cells::<K, C, P>(self.owner, key, counters, cells);
            self.write(counters, cells, n, value);
        });
    }

    /// What `Counter::add` and `Histogram::record` (or `record_f64`) write
    /// while the registry records.
    #[inline(always)]
    fn write<V: BoundValue>(
        &self,
        counters: [Option<OwnedCell<'_>>; C],
        cells: Option<OwnedHistogram<'_>>,
        n: u64,
        value: V,
    ) {
        if self.core.enabled() {
            counters.into_iter().flatten().for_each(|c| c.add(n));
            if let Some(cells) = cells {
                value.record_into(cells, self.precision);
            }
        }
    }
}

/// A family's own binding: one counter or one histogram per label set.
pub(crate) type FamilyBinding = CellBinding<KEY_VALUES, 1, 2>;

/// The series a family binds for one label set: its counter or its
/// histogram, in a [`FamilyBinding`]'s two parts.
pub(crate) trait BoundSeries: Clone {
    fn parts(&self) -> ([Option<&Counter>; 1], Option<&Histogram>);
}

impl BoundSeries for Counter {
    fn parts(&self) -> ([Option<&Counter>; 1], Option<&Histogram>) {
        ([Some(self)], None)
    }
}

impl BoundSeries for Histogram {
    fn parts(&self) -> ([Option<&Counter>; 1], Option<&Histogram>) {
        ([None], Some(self))
    }
}

impl<M, S: LabelShape> Family<M, S> {
    /// Adds `n` to this thread's bound counter cell of `labels`, or records
    /// `value` (an integer, or a float that is not NaN) into its bound
    /// histogram cells, binding them first once the family has a series of
    /// its own for them; false (nothing recorded) for a label set of other
    /// than `'static` values, one the family refuses, or a family that
    /// evicts (which binds nothing).
    #[inline(always)]
    pub(super) fn record_bound<L, V>(&self, labels: &L, n: u64, value: V) -> bool
    where
        L: Labels<S> + ?Sized,
        V: BoundValue,
        M: BoundSeries,
    {
        let (Some(binding), Some(key)) = (&self.inner.binding, key_words(labels)) else {
            return false;
        };
        binding.record(&key, n, value) || self.bind_and_record(binding, labels, &key, n, value)
    }

    #[cold]
    #[inline(never)]
    fn bind_and_record<L: LabelValues + ?Sized, V: BoundValue>(
        &self,
        binding: &FamilyBinding,
        labels: &L,
        key: &[u64; KEY_VALUES],
        n: u64,
        value: V,
    ) -> bool
    where
        M: BoundSeries,
    {
        let Some(series) = self.inner.find(labels) else {
            return false;
        };
        let (counters, histogram) = series.parts();
        // SAFETY: a series of this family (never its overflow series: the
        // lookup by `'static` values never finds that), which records into
        // its registry and, the family not evicting (it has a binding only
        // then), keeps its cells while the family lives.
        unsafe { binding.bind_and_record(key, counters, histogram, n, value) };
        true
    }
}

impl<S> Family<Histogram, S> {
    /// The family's histograms' unit.
    pub(super) fn unit_of_series(&self) -> Unit {
        self.inner.ctx.unit
    }
}
