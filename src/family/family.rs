//! [`Family`]: one metric split into series by a label set.
#![forbid(unsafe_code)]

use super::labels::Labels;
use super::map::{Baseline, Refused, Series, SeriesMap};
use crate::buckets::Precision;
use crate::descriptor::Unit;
use crate::handle::{Core, Counter, FloatGauge, Gauge, Histogram};
use crate::storage::SlotAllocator;
use crate::sync::{lock, Arc, FrozenArc, Mutex};
use crate::sync::{Guard, Reclaim};
use std::fmt;
use std::time::Duration;

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
/// [`gauge_family`](crate::Registry::gauge_family) or
/// [`histogram_family`](crate::Registry::histogram_family). `M` is the
/// metric of each series: [`Counter`], [`Gauge`] or [`Histogram`].
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
/// `<name>_overflow`: totals stay exact and memory stays bounded. A label
/// set with the wrong number of values goes there too, and so does one
/// with a value longer than [`MAX_LABEL_VALUE_LEN`](crate::MAX_LABEL_VALUE_LEN)
/// (1,024 bytes): refused, counted, never truncated.
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
/// set's series (`docs/design.md`).
///
/// ```
/// use hotmetrics::{Registry, Unit};
///
/// let reg = Registry::new();
/// let latency = reg
///     .histogram_family("request_duration", "Latency", Unit::Nanoseconds, &["route", "outcome"])
///     .unwrap();
///
/// // Pre-bound: look up once, record at the plain-histogram cost.
/// let search_ok = latency.with(&("search", "ok"));
/// search_ok.record(1_200);
///
/// // Dynamic: any label value, looked up on each call.
/// let route = String::from("checkout");
/// latency.record(&(route.as_str(), "error"), 9_000);
///
/// let snap = reg.collect();
/// let h = snap
///     .histogram_with("request_duration", &[("route", "search"), ("outcome", "ok")])
///     .unwrap();
/// assert_eq!(h.count(), 1);
/// assert_eq!(snap.series("request_duration").len(), 2);
/// ```
pub struct Family<M> {
    pub(super) inner: Arc<Inner<M>>,
}

// The fields the collector's side (`evict.rs`) works with are `pub(super)`.
pub(super) struct Inner<M> {
    name: String,
    pub(super) map: SeriesMap<M>,
    pub(super) overflow: M,
    overflowed: Counter,
    ctx: SeriesCtx,
    make: fn(&SeriesCtx) -> Option<M>,
    /// Collections without change before a series is evicted; 0: never.
    pub(super) evict_after: u64,
    /// `<name>_evicted`, when evicting.
    pub(super) evicted: Option<Counter>,
    /// Evicted series until no reader can reach them.
    pub(super) reclaim: Reclaim<FrozenArc<Series<M>>>,
    /// Reclaimed series taken by the collector before it read the cells.
    pub(super) reclaimed: Mutex<Vec<FrozenArc<Series<M>>>>,
    /// Metric handles of reclaimed series, with what their cells hold, for
    /// new series to reuse.
    pub(super) free: Mutex<Vec<(M, Baseline)>>,
}

/// Eviction settings of a new family.
pub(crate) struct Eviction {
    pub(crate) after: u64,
    pub(crate) counter: Option<Counter>,
}

/// A family of [`Counter`]s.
pub type CounterFamily = Family<Counter>;
/// A family of [`Gauge`]s.
pub type GaugeFamily = Family<Gauge>;
/// A family of [`FloatGauge`]s.
pub type FloatGaugeFamily = Family<FloatGauge>;
/// A family of [`Histogram`]s.
pub type HistogramFamily = Family<Histogram>;

impl<M> Clone for Family<M> {
    fn clone(&self) -> Self {
        Family {
            inner: self.inner.clone(),
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
            }),
        })
    }

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
    pub fn get<L: Labels + ?Sized>(&self, labels: &L) -> SeriesRef<'_, M> {
        let inner = &*self.inner;
        let guard = if inner.evict_after != 0 {
            Some(inner.reclaim.pin())
        } else {
            None
        };
        let metric = match inner.map.find(labels) {
            Some(s) => &s.metric,
            None => self.miss(labels),
        };
        SeriesRef {
            metric,
            _guard: guard,
        }
    }

    #[cold]
    #[inline(never)]
    fn miss<L: Labels + ?Sized>(&self, labels: &L) -> &M {
        let inner = &*self.inner;
        if !inner.map.is_full() {
            if let Ok(s) = inner.map.insert(labels, || inner.make_series()) {
                return &s.metric;
            }
        }
        inner.overflowed.inc();
        &inner.overflow
    }

    /// For a family that never evicts (so no guard is needed): the metric
    /// of the series of `labels`, created on first use; `None`, after
    /// counting the lookup in `<name>_overflow`, where [`get`](Self::get)
    /// would give the overflow series. Lock-free for an existing series.
    pub(crate) fn resolve<L: Labels + ?Sized>(&self, labels: &L) -> Option<&M> {
        let inner = &*self.inner;
        debug_assert_eq!(inner.evict_after, 0, "resolve in an evicting family");
        if let Some(s) = inner.map.find(labels) {
            return Some(&s.metric);
        }
        if !inner.map.is_full() {
            if let Ok(s) = inner.map.insert(labels, || inner.make_series()) {
                return Some(&s.metric);
            }
        }
        inner.overflowed.inc();
        None
    }

    /// Whether idle series are evicted (so every lookup needs a guard).
    pub(crate) fn evicts(&self) -> bool {
        self.inner.evict_after != 0
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
    pub fn with<L: Labels + ?Sized>(&self, labels: &L) -> M {
        let inner = &*self.inner;
        if inner.evict_after == 0 {
            return self.get(labels).metric.clone();
        }
        match inner.map.bind(labels, || inner.make_series()) {
            Ok(m) => m,
            Err(Refused::Full | Refused::Invalid) => {
                inner.overflowed.inc();
                inner.overflow.clone()
            }
        }
    }

    /// As [`with`](Self::with), but `None` (after counting the lookup in
    /// `<name>_overflow`) where `with` would return the overflow series.
    #[cfg_attr(not(feature = "metrics-facade"), allow(dead_code))]
    pub(crate) fn try_with<L: Labels + ?Sized>(&self, labels: &L) -> Option<M> {
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

    /// Bytes of the family's lookup table and label strings (the series'
    /// per-thread cells are counted by
    /// [`Registry::cell_bytes`](crate::Registry::cell_bytes)).
    pub fn index_bytes(&self) -> usize {
        self.inner.map.allocated_bytes()
    }

    /// The counter of lookups that found the family full (`<name>_overflow`).
    pub(crate) fn overflowed(&self) -> &Counter {
        &self.inner.overflowed
    }

    /// Number of evicted series whose memory is not reclaimed yet (some
    /// thread may still be in a lookup that found them).
    pub fn pending_evictions(&self) -> usize {
        self.inner.reclaim.pending()
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

/// The series a dynamic lookup found ([`Family::get`]), to record into at
/// once. It derefs to nothing on purpose: a metric handle kept beyond the
/// lookup must come from [`Family::with`], which keeps its series from
/// being evicted.
#[must_use = "a series reference does nothing until recorded into"]
pub struct SeriesRef<'a, M> {
    metric: &'a M,
    _guard: Option<Guard<'a>>,
}

impl<M> fmt::Debug for SeriesRef<'_, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SeriesRef { .. }")
    }
}

impl SeriesRef<'_, Counter> {
    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.metric.inc();
    }
    /// Adds `n`.
    #[inline]
    pub fn add(&self, n: u64) {
        self.metric.add(n);
    }
}

impl SeriesRef<'_, Histogram> {
    /// As [`Histogram::record`].
    #[inline]
    pub fn record(&self, value: u64) {
        self.metric.record(value);
    }
    /// As [`Histogram::record_duration`].
    #[inline]
    pub fn record_duration(&self, d: Duration) {
        self.metric.record_duration(d);
    }
    /// As [`Histogram::record_f64`].
    #[inline]
    pub fn record_f64(&self, value: f64) {
        self.metric.record_f64(value);
    }
}

impl SeriesRef<'_, Gauge> {
    /// As [`Gauge::set`].
    #[inline]
    pub fn set(&self, v: i64) {
        self.metric.set(v);
    }
    /// As [`Gauge::add`].
    #[inline]
    pub fn add(&self, n: i64) {
        self.metric.add(n);
    }
    /// As [`Gauge::get`].
    #[inline]
    pub fn get(&self) -> i64 {
        self.metric.get()
    }
}

impl SeriesRef<'_, FloatGauge> {
    /// As [`FloatGauge::set`].
    #[inline]
    pub fn set(&self, v: f64) {
        self.metric.set(v);
    }
    /// As [`FloatGauge::add`].
    #[inline]
    pub fn add(&self, d: f64) {
        self.metric.add(d);
    }
    /// As [`FloatGauge::get`].
    #[inline]
    pub fn get(&self) -> f64 {
        self.metric.get()
    }
}

impl Family<Counter> {
    /// Adds one to the series of `labels`.
    #[inline]
    pub fn inc<L: Labels + ?Sized>(&self, labels: &L) {
        self.get(labels).inc();
    }

    /// Adds `n` to the series of `labels`.
    #[inline]
    pub fn add<L: Labels + ?Sized>(&self, labels: &L, n: u64) {
        self.get(labels).add(n);
    }
}

impl Family<Histogram> {
    /// Records `value` into the series of `labels`.
    #[inline]
    pub fn record<L: Labels + ?Sized>(&self, labels: &L, value: u64) {
        self.get(labels).record(value);
    }

    /// Records a duration into the series of `labels` (see
    /// [`Histogram::record_duration`]).
    #[inline]
    pub fn record_duration<L: Labels + ?Sized>(&self, labels: &L, d: Duration) {
        self.get(labels).record_duration(d);
    }

    /// Records a float into the series of `labels` (see
    /// [`Histogram::record_f64`]).
    #[inline]
    pub fn record_f64<L: Labels + ?Sized>(&self, labels: &L, value: f64) {
        self.get(labels).record_f64(value);
    }
}

impl Family<Gauge> {
    /// Sets the series of `labels` to `v`.
    #[inline]
    pub fn set<L: Labels + ?Sized>(&self, labels: &L, v: i64) {
        self.get(labels).set(v);
    }

    /// Adds `n` to the series of `labels`.
    #[inline]
    pub fn add<L: Labels + ?Sized>(&self, labels: &L, n: i64) {
        self.get(labels).add(n);
    }
}

impl Family<FloatGauge> {
    /// Sets the series of `labels` to `v`.
    #[inline]
    pub fn set<L: Labels + ?Sized>(&self, labels: &L, v: f64) {
        self.get(labels).set(v);
    }

    /// Adds `d` to the series of `labels`.
    #[inline]
    pub fn add<L: Labels + ?Sized>(&self, labels: &L, d: f64) {
        self.get(labels).add(d);
    }
}

impl<M> fmt::Debug for Family<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Family")
            .field("name", &self.inner.name)
            .field("map", &self.inner.map)
            .finish()
    }
}
