//! [`Family`]: one metric split into series by a label set.
#![forbid(unsafe_code)]

use super::cell_binding::{CellBinding, FamilyBinding};
use super::labels::{Arity, Dyn, FixedShape, LabelValues, Labels};
use super::map::{Baseline, Refused, Series, SeriesMap};
use super::series_ref::SeriesRef;
use super::static_key::{self, StaticAliases};
use crate::buckets::Precision;
use crate::descriptor::Unit;
use crate::handle::{Core, Counter, FloatGauge, Gauge, Histogram};
use crate::storage::SlotAllocator;
use crate::sync::Reclaim;
use crate::sync::RetiredSlots;
use crate::sync::{lock, Arc, AtomicU8, FrozenArc, Mutex, Ordering};
use std::fmt;
use std::marker::PhantomData;

/// Series per family unless [`Options::max_series`](crate::Options::max_series)
/// says otherwise.
pub const DEFAULT_MAX_SERIES: usize = 1_000;

/// The largest series limit a family accepts (2^20); larger requests are
/// clamped to it, so a family's lookup table stays at most 16 MiB.
pub const MAX_SERIES_LIMIT: usize = 1 << 20;

/// What a family needs to make the metric handle of a new series: the
/// registry's storage and slot allocator, and the histogram settings.
#[derive(Clone)]
pub(crate) struct SeriesCtx {
    pub(crate) core: Arc<Core>,
    pub(crate) slots: Arc<Mutex<SlotAllocator>>,
    pub(crate) precision: Precision,
    pub(crate) unit: Unit,
}

/// A metric that can be a family's series (and is made the same way as a
/// plain metric of its kind): [`Counter`], [`Gauge`], [`FloatGauge`],
/// [`Histogram`].
pub(crate) trait SeriesMetric: Clone + Send + Sync + 'static {
    /// A new metric with cells of its own; `None` when the registry is out
    /// of slots.
    fn make(ctx: &SeriesCtx) -> Option<Self>;
}

impl SeriesMetric for Counter {
    fn make(ctx: &SeriesCtx) -> Option<Counter> {
        let slot = lock(&ctx.slots).counter()?;
        Some(Counter::new(ctx.core.clone(), slot))
    }
}

impl SeriesMetric for Histogram {
    fn make(ctx: &SeriesCtx) -> Option<Histogram> {
        let mut slots = lock(&ctx.slots);
        let slot = slots.histogram()?;
        let invalid = slots.counter()?;
        Some(Histogram::new(
            ctx.core.clone(),
            slot,
            invalid,
            ctx.precision,
            ctx.unit,
        ))
    }
}

impl SeriesMetric for Gauge {
    fn make(_: &SeriesCtx) -> Option<Gauge> {
        Some(Gauge::new())
    }
}

impl SeriesMetric for FloatGauge {
    fn make(_: &SeriesCtx) -> Option<FloatGauge> {
        Some(FloatGauge::new())
    }
}

/// A metric split into series by label values: requests per route and
/// method, latency per route and outcome.
///
/// Get one from [`Registry::counter_family`](crate::Registry::counter_family),
/// [`gauge_family`](crate::Registry::gauge_family),
/// [`histogram_family`](crate::Registry::histogram_family) or a
/// [`FamilyBuilder`](crate::FamilyBuilder). `M` is the metric of each
/// series: [`Counter`], [`Gauge`], [`FloatGauge`] or [`Histogram`]. `S`,
/// its [`LabelShape`](crate::LabelShape), says which label sets it takes, so that a label set
/// of the wrong shape does not compile:
///
/// - [`Arity<N>`](crate::Arity), for a family registered with an array of
///   `N` label names: tuples and arrays of `N` values;
/// - a struct deriving [`Labels`](derive@crate::Labels): that struct;
/// - [`Dyn`] (label names known only at run time, registered through
///   [`Options`](crate::Options)): any label set, its number of values
///   checked when it is new (see [`try_get`](Self::try_get)).
///
/// Values are anything [`ToLabelValue`](crate::ToLabelValue): strings,
/// `bool`, enums, integers.
///
/// Two ways to record:
///
/// - **Pre-bound**: [`with`](Self::with) looks the label set up once and
///   returns the series' plain [`Counter`] / [`Histogram`] / [`Gauge`];
///   recording through it costs exactly what an unlabeled metric costs.
/// - **Dynamic**: [`get`](Self::get) (or the shortcuts
///   [`inc`](Self::inc), [`record`](Self::record), …) looks the label set up
///   on every call: a hash of the borrowed values and a probe of a lock-free
///   table; no lock and no allocation once the series exists.
///
/// A family holds at most its limit of series (1,000 by default, see
/// [`Options::max_series`](crate::Options::max_series)). Past it, a new
/// label set records into one **overflow series** labeled
/// `{overflow="true"}`, and every such lookup is counted by the counter
/// `<name>_overflow`: totals stay exact and memory stays bounded. So does
/// a label set with a value longer than
/// [`MAX_LABEL_VALUE_LEN`](crate::MAX_LABEL_VALUE_LEN) (1,024 bytes):
/// refused, counted, never truncated. (A label set with the wrong number of
/// values does not compile for a typed family; a [`Dyn`](crate::Dyn)
/// family refuses it, see [`Family::try_get`].)
///
/// **Eviction** is off by default. With
/// [`Options::evict_idle_after`](crate::Options::evict_idle_after)`(n)`, a
/// series whose value has not changed for `n` collections is removed (its
/// last value is in the snapshot of that collection), its place and cells
/// are recycled, and its final value is added to the counter
/// `<name>_evicted` (see there). A series bound with [`with`](Self::with)
/// is never evicted. A record racing the eviction lands either in the
/// evicted series (and so in `<name>_evicted`) or in a new series for the
/// same labels: never lost, never counted twice, never in another label
/// set's series (`docs/design.md`). A gauge `set` racing the eviction is
/// not lost either: a new series for the label set takes the evicted
/// series' gauge over, and a gauge set after its eviction is back (with
/// that value) in the next snapshot.
///
/// ```
/// use hotmetrics::{Registry, Unit};
///
/// let reg = Registry::new();
/// let latency = reg
///     .histogram_family_builder("request_duration")
///     .help("Latency")
///     .unit(Unit::Nanoseconds)
///     .labels(&["route", "status"])
///     .build()
///     .unwrap();
///
/// // Pre-bound: look up once, record at the plain-histogram cost.
/// let search_ok = latency.with(&("search", 200u16));
/// search_ok.record(1_200);
///
/// // Dynamic: any label value, looked up on each call.
/// let route = String::from("checkout");
/// latency.record(&(route.as_str(), 503u16), 9_000);
///
/// let snap = reg.collect();
/// let h = snap
///     .histogram_with("request_duration", &[("route", "search"), ("status", "200")])
///     .unwrap();
/// assert_eq!(h.count(), 1);
/// assert_eq!(snap.series("request_duration").len(), 2);
/// ```
pub struct Family<M, S = Dyn> {
    pub(super) inner: Arc<Inner<M>>,
    /// `hotmetrics_label_arity_errors`, where a [`Dyn`] family counts the
    /// label sets it refused for their number of values (by metric name).
    pub(super) arity_errors: Option<Arc<Family<Counter, Arity<1>>>>,
    _shape: PhantomData<fn() -> S>,
}

// The fields the collector's side (`evict.rs`) works with are `pub(super)`.
pub(super) struct Inner<M> {
    name: String,
    pub(super) map: SeriesMap<M>,
    pub(super) overflow: M,
    overflowed: Counter,
    pub(super) ctx: SeriesCtx,
    make: fn(&SeriesCtx) -> Option<M>,
    /// Collections without change before a series is evicted; 0: never.
    pub(super) evict_after: u64,
    /// `<name>_evicted`, when evicting.
    pub(super) evicted: Option<Counter>,
    /// Evicted series, and lookup arrays replaced by a compaction, until no
    /// reader can reach them.
    pub(super) reclaim: Reclaim<Retired<M>>,
    /// Reclaimed series taken by the collector before it read the cells.
    pub(super) reclaimed: Mutex<Vec<FrozenArc<Series<M>>>>,
    /// Metric handles of reclaimed series, with what their cells hold, for
    /// new series to reuse.
    pub(super) free: Mutex<Vec<(M, Baseline)>>,
    /// 1 once a refused label set has been logged: one warning per family.
    arity_warned: AtomicU8,
    /// Label sets of `'static` strings, by their addresses
    /// (`static_key.rs`); `None` in a family that evicts, whose series an
    /// alias could outlive.
    aliases: Option<StaticAliases<M>>,
    /// Those label sets bound to each thread's cells (`cell_binding.rs`),
    /// for counter and histogram families; `None` in a family that evicts.
    pub(super) binding: Option<FamilyBinding>,
}

/// Slots a family's aliases start with (the table grows as they come).
const ALIAS_SLOTS: usize = 16;

/// What a family retires until no reader can reach it.
pub(super) enum Retired<M> {
    /// An evicted series.
    Series(FrozenArc<Series<M>>),
    /// A slot array of the series table that a compaction replaced.
    Slots(RetiredSlots<Series<M>>),
}

/// Eviction settings of a new family.
pub(crate) struct Eviction {
    pub(crate) after: u64,
    pub(crate) counter: Option<Counter>,
}

/// A family of [`Counter`]s.
pub type CounterFamily<S = Dyn> = Family<Counter, S>;
/// A family of [`Gauge`]s.
pub type GaugeFamily<S = Dyn> = Family<Gauge, S>;
/// A family of [`FloatGauge`]s.
pub type FloatGaugeFamily<S = Dyn> = Family<FloatGauge, S>;
/// A family of [`Histogram`]s.
pub type HistogramFamily<S = Dyn> = Family<Histogram, S>;

impl<M, S> Clone for Family<M, S> {
    fn clone(&self) -> Self {
        Family {
            inner: self.inner.clone(),
            arity_errors: self.arity_errors.clone(),
            _shape: PhantomData,
        }
    }
}

impl<M: Clone> Family<M> {
    pub(crate) fn new(
        name: String,
        names: FrozenArc<[String]>,
        limit: usize,
        overflowed: Counter,
        eviction: Eviction,
        ctx: SeriesCtx,
    ) -> Option<Family<M>>
    where
        M: SeriesMetric,
    {
        let overflow = M::make(&ctx)?;
        // What never evicts binds its `'static` label sets to each thread's
        // cells (`cell_binding.rs`), as it keeps aliases.
        let binding = (eviction.after == 0)
            .then(|| CellBinding::new(&ctx, &[]))
            .flatten();
        Some(Family {
            inner: Arc::new(Inner {
                name,
                map: SeriesMap::new(names, limit),
                overflow,
                overflowed,
                ctx,
                make: M::make,
                evict_after: eviction.after,
                evicted: eviction.counter,
                reclaim: Reclaim::new(),
                reclaimed: Mutex::new(Vec::new()),
                free: Mutex::new(Vec::new()),
                arity_warned: AtomicU8::new(0),
                aliases: (eviction.after == 0).then(|| StaticAliases::new(limit, ALIAS_SLOTS)),
                binding,
            }),
            arity_errors: None,
            _shape: PhantomData,
        })
    }
}

impl<M, S> Family<M, S> {
    /// The same family typed `T`; a [`Dyn`] view counts its arity errors
    /// in `arity_errors`. The registry has checked that `T` fits the
    /// family's label names.
    pub(crate) fn retype<T>(
        self,
        arity_errors: Option<Arc<Family<Counter, Arity<1>>>>,
    ) -> Family<M, T> {
        Family {
            inner: self.inner,
            arity_errors,
            _shape: PhantomData,
        }
    }

    /// The series of `labels`, created on first use; the overflow series
    /// once the family is full. `None` for a label set with another number
    /// of values than the family has names (only a [`Dyn`] family can be
    /// given one), after counting it in `hotmetrics_label_arity_errors`.
    #[inline]
    pub(super) fn lookup<L: LabelValues + ?Sized>(&self, labels: &L) -> Option<SeriesRef<'_, M>>
    where
        M: Clone,
    {
        let inner = &*self.inner;
        let guard = if inner.evict_after != 0 {
            Some(inner.reclaim.pin())
        } else {
            None
        };
        let metric = match inner.find(labels) {
            Some(m) => m,
            None => self.miss(labels)?,
        };
        Some(SeriesRef::new(metric, guard))
    }

    #[cold]
    #[inline(never)]
    fn miss<L: LabelValues + ?Sized>(&self, labels: &L) -> Option<&M>
    where
        M: Clone,
    {
        let inner = &*self.inner;
        if labels.label_count() != inner.map.names().len() {
            self.count_arity_error(labels.label_count());
            return None;
        }
        if !inner.map.is_full() {
            if let Ok(s) = inner.map.insert(labels, || inner.make_series()) {
                return Some(inner.inserted(labels, &s.metric));
            }
        }
        inner.overflowed.inc();
        Some(&inner.overflow)
    }

    /// Counts a refused label set in `hotmetrics_label_arity_errors`, and
    /// says so once per family through the `log` facade.
    #[cold]
    fn count_arity_error(&self, given: usize) {
        if let Some(errors) = &self.arity_errors {
            errors.inc(&[self.name()]);
        }
        // Relaxed: the flag only keeps the warning to one; nothing is
        // published through it.
        if self.inner.arity_warned.swap(1, Ordering::Relaxed) == 0 {
            log::warn!(
                "metric {:?} takes {} label values, {given} given: the label set is not \
                 recorded; such refusals are counted in \
                 hotmetrics_label_arity_errors_total{{metric={:?}}}",
                self.name(),
                self.label_names().len(),
                self.name(),
            );
        }
    }

    /// A handle to the series of `labels` (a label set of the family's
    /// number of values), bound so that it is never evicted.
    pub(super) fn bind<L: LabelValues + ?Sized>(&self, labels: &L) -> M
    where
        M: Clone,
    {
        let inner = &*self.inner;
        if inner.evict_after == 0 {
            if let Some(s) = inner.map.find(labels) {
                return s.metric.clone();
            }
            if inner.map.is_full() {
                inner.overflowed.inc();
                return inner.overflow.clone();
            }
        }
        match inner.map.bind(labels, || inner.make_series()) {
            Ok(m) => m,
            Err(Refused::Full | Refused::Invalid) => {
                inner.overflowed.inc();
                inner.overflow.clone()
            }
        }
    }

    /// For a family that never evicts (so no guard is needed): the metric
    /// of the series of `labels`, created on first use; `None`, after
    /// counting the lookup in `<name>_overflow`, where [`get`](Self::get)
    /// would give the overflow series. Lock-free for an existing series.
    pub(crate) fn resolve<L: LabelValues + ?Sized>(&self, labels: &L) -> Option<&M>
    where
        M: Clone,
    {
        let inner = &*self.inner;
        debug_assert_eq!(inner.evict_after, 0, "resolve in an evicting family");
        if let Some(m) = inner.find(labels) {
            return Some(m);
        }
        if !inner.map.is_full() {
            if let Ok(s) = inner.map.insert(labels, || inner.make_series()) {
                return Some(inner.inserted(labels, &s.metric));
            }
        }
        inner.overflowed.inc();
        None
    }

    /// The registry the family's series record into.
    pub(crate) fn core(&self) -> &Arc<Core> {
        &self.inner.ctx.core
    }

    /// Whether idle series are evicted (so every lookup needs a guard).
    pub(crate) fn evicts(&self) -> bool {
        self.inner.evict_after != 0
    }

    /// As [`with`](Self::with), but `None` (after counting the lookup in
    /// `<name>_overflow`) where `with` would return the overflow series.
    #[cfg_attr(not(feature = "metrics-facade"), allow(dead_code))]
    pub(crate) fn with_or_none<L: LabelValues + ?Sized>(&self, labels: &L) -> Option<M>
    where
        M: Clone,
    {
        let inner = &*self.inner;
        if inner.evict_after == 0 {
            // As in `get`: lock-free for an existing series, and for a
            // new label set once the family is full.
            if let Some(s) = inner.map.find(labels) {
                return Some(s.metric.clone());
            }
            if inner.map.is_full() {
                inner.overflowed.inc();
                return None;
            }
        }
        match inner.map.bind(labels, || inner.make_series()) {
            Ok(m) => Some(m),
            Err(Refused::Full | Refused::Invalid) => {
                inner.overflowed.inc();
                None
            }
        }
    }

    /// The overflow series' metric.
    pub(crate) fn overflow(&self) -> &M {
        &self.inner.overflow
    }

    /// The metric name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The label names, in declared order.
    pub fn label_names(&self) -> &[String] {
        self.inner.map.names()
    }

    /// Number of series (not counting the overflow series).
    pub fn len(&self) -> usize {
        self.inner.map.len()
    }

    /// Whether no series has been created yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most series this family creates.
    pub fn max_series(&self) -> usize {
        self.inner.map.limit()
    }

    /// Bytes of the family's lookup tables and label strings (the series'
    /// per-thread cells are counted by
    /// [`Registry::cell_bytes`](crate::Registry::cell_bytes)).
    pub fn index_bytes(&self) -> usize {
        let aliases = self.inner.aliases.as_ref();
        self.inner.map.allocated_bytes() + aliases.map_or(0, |a| a.allocated_bytes())
    }

    /// The counter of lookups that found the family full (`<name>_overflow`).
    pub(crate) fn overflowed(&self) -> &Counter {
        &self.inner.overflowed
    }

    /// Number of evicted series (and of lookup arrays replaced by a
    /// compaction of the family's table) whose memory is not reclaimed yet:
    /// some thread may still be in a lookup that reached them.
    pub fn pending_evictions(&self) -> usize {
        self.inner.reclaim.pending()
    }
}

impl<M: Clone, S: FixedShape> Family<M, S> {
    /// The series of `labels`, created on first use; the overflow series
    /// once the family is full.
    ///
    /// Finding an existing series takes no lock and allocates nothing. The
    /// first use of a label set takes the family's insertion lock and
    /// allocates its label strings.
    ///
    /// The returned [`SeriesRef`] records into the series; it is meant to
    /// be used at once (in a family that evicts, it holds the epoch guard
    /// that keeps the series from being reclaimed under it).
    ///
    /// ```
    /// let reg = hotmetrics::Registry::new();
    /// let hits = reg.counter_family("cache_hits", "Hits", &["cache"]).unwrap();
    /// hits.get(&["users"]).add(3);
    /// assert_eq!(reg.collect().counter_with("cache_hits", &[("cache", "users")]), Some(3));
    /// ```
    #[inline]
    pub fn get<L: Labels<S> + ?Sized>(&self, labels: &L) -> SeriesRef<'_, M> {
        match self.lookup(labels) {
            Some(series) => series,
            // Unreachable: a label set of a fixed shape has the family's
            // number of values (the registry checked the names' count).
            None => SeriesRef::new(&self.inner.overflow, None),
        }
    }

    /// A handle to the series of `labels` (see [`get`](Self::get)), to keep
    /// and record into at the cost of an unlabeled metric.
    ///
    /// ```
    /// let reg = hotmetrics::Registry::new();
    /// let requests = reg.counter_family("requests", "Requests", &["route"]).unwrap();
    /// let search = requests.with(&["search"]); // a plain `Counter`
    /// for _ in 0..10 { search.inc(); }
    /// assert_eq!(reg.collect().counter_with("requests", &[("route", "search")]), Some(10));
    /// ```
    ///
    /// In a family that evicts, the series of a handle obtained here is
    /// never evicted (binding takes the family's insertion lock).
    pub fn with<L: Labels<S> + ?Sized>(&self, labels: &L) -> M {
        self.bind(labels)
    }
}

impl<M: Clone> Inner<M> {
    /// The metric of the series of `labels`, if it exists: for a label set
    /// of `'static` strings in a family that never evicts, by the strings'
    /// addresses (after its first lookup); else by their bytes.
    #[inline(always)]
    pub(super) fn find<L: LabelValues + ?Sized>(&self, labels: &L) -> Option<&M> {
        let by_content = || self.map.find(labels).map(|s| &s.metric);
        static_key::find(self.aliases.as_ref(), labels, by_content)
    }

    /// `metric`, just inserted for `labels` (see [`static_key::inserted`]).
    #[inline]
    fn inserted<'a, L: LabelValues + ?Sized>(&'a self, labels: &L, metric: &'a M) -> &'a M {
        static_key::inserted(self.aliases.as_ref(), labels, metric)
    }
}

impl<M> Inner<M> {
    /// A recycled metric if there is one, else a fresh one.
    fn make_series(&self) -> Option<(M, Baseline)> {
        if let Some(recycled) = lock(&self.free).pop() {
            return Some(recycled);
        }
        (self.make)(&self.ctx).map(|m| (m, Baseline::Zero))
    }
}

impl<M, S> fmt::Debug for Family<M, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Family")
            .field("name", &self.inner.name)
            .field("map", &self.inner.map)
            .finish()
    }
}
