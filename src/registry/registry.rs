//! [`Registry`]: names metrics, hands out recording handles, and collects.

use super::{name, RegistryError};
use crate::buckets::Precision;
use crate::clock::Clock;
use crate::descriptor::{Descriptor, MetricKind, Unit};
use crate::family::{
    overflow_labels, Baseline, CounterFamily, Eviction, Family, FloatGaugeFamily, GaugeFamily,
    HistogramFamily, SeriesCtx, StateSet, DEFAULT_MAX_SERIES, MAX_SERIES_LIMIT, MAX_STATES,
};
use crate::handle::{Core, Counter, FloatGauge, Gauge, Histogram};
use crate::snapshot::{
    HistogramSnapshot, LabelSet, MetricSnapshot, MetricValue, Publish, Snapshot,
};
use crate::storage::{SlotAllocator, Storage, CHUNK_BUCKETS};
use crate::sync::{lock, Arc, FrozenArc, Mutex, Ordering};
use std::collections::HashMap;
use std::fmt;

/// How to register a metric: name and help, plus an optional unit, for
/// histograms bucket precision, and for families label names and a
/// cardinality limit.
///
/// ```
/// use hotmetrics::{Options, Precision, Registry, Unit};
/// let reg = Registry::new();
/// let sizes = reg
///     .histogram_with(
///         Options::new("payload_size", "Request payload size")
///             .unit(Unit::Bytes)
///             .precision(Precision::new(4).unwrap()),
///     )
///     .unwrap();
/// sizes.record(1500);
///
/// let by_route = reg
///     .counter_family_with(
///         Options::new("requests", "Requests").labels(&["route", "method"]).max_series(50),
///     )
///     .unwrap();
/// by_route.inc(&("search", "GET"));
/// assert_eq!(by_route.max_series(), 50);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    name: String,
    help: String,
    unit: Unit,
    precision: Precision,
    labels: Vec<String>,
    max_series: usize,
    evict_after: u32,
}

impl Options {
    /// Options for a metric called `name` with help text `help`.
    pub fn new(name: impl Into<String>, help: impl Into<String>) -> Options {
        Options {
            name: name.into(),
            help: help.into(),
            unit: Unit::None,
            precision: Precision::DEFAULT,
            labels: Vec::new(),
            max_series: DEFAULT_MAX_SERIES,
            evict_after: 0,
        }
    }

    /// For families: evict a series once its value has not changed for
    /// `collections` consecutive collections (0, the default: never).
    ///
    /// An evicted series leaves the snapshots, so a cumulative exporter
    /// sees its counter disappear (and restart from zero if the label set
    /// comes back): leave eviction off for counters exported cumulatively
    /// unless memory matters more. Its final value is added to the counter
    /// `<name>_evicted`: for a counter family the evicted series' totals,
    /// for a histogram family their observation counts, for a gauge family
    /// the number of series evicted. Dynamic lookups into a family that
    /// evicts also pin an epoch (`crossbeam-epoch`), a few nanoseconds.
    ///
    /// ```
    /// use hotmetrics::{Options, Registry};
    /// let reg = Registry::new();
    /// let fam = reg
    ///     .counter_family_with(Options::new("jobs", "Jobs").labels(&["queue"]).evict_idle_after(2))
    ///     .unwrap();
    /// fam.add(&["q1"], 5);
    /// for _ in 0..6 {
    ///     reg.collect(); // unchanged for 2 collections: evicted, then reclaimed
    /// }
    /// let snap = reg.collect();
    /// assert_eq!(snap.counter_with("jobs", &[("queue", "q1")]), None);
    /// assert_eq!(snap.counter("jobs_evicted"), Some(5));
    /// ```
    pub fn evict_idle_after(mut self, collections: u32) -> Options {
        self.evict_after = collections;
        self
    }

    /// Label names, for families (`*_family_with`): each valid in the
    /// Prometheus data model (`[a-zA-Z_][a-zA-Z0-9_]*`, not starting with
    /// `__`), distinct, and not `overflow` (the overflow series' label).
    pub fn labels<S: AsRef<str>>(mut self, names: &[S]) -> Options {
        self.labels = names.iter().map(|n| n.as_ref().to_owned()).collect();
        self
    }

    /// The most series a family creates (default
    /// [`DEFAULT_MAX_SERIES`](crate::DEFAULT_MAX_SERIES)), clamped to
    /// `1..=`[`MAX_SERIES_LIMIT`](crate::MAX_SERIES_LIMIT); past it, new
    /// label sets record into the overflow series. A family allocates its
    /// lookup table for this many series up front (16 bytes per series).
    pub fn max_series(mut self, limit: usize) -> Options {
        self.max_series = limit.clamp(1, MAX_SERIES_LIMIT);
        self
    }

    /// The unit values are recorded in (default: none).
    pub fn unit(mut self, unit: Unit) -> Options {
        self.unit = unit;
        self
    }

    /// Bucket precision, for histograms (default: [`Precision::DEFAULT`]).
    pub fn precision(mut self, precision: Precision) -> Options {
        self.precision = precision;
        self
    }
}

/// A set of named metrics and the per-thread cells they record into.
///
/// Registration takes a lock and may allocate; recording through the handles
/// it returns never does either (after a thread's first record into a
/// metric), and neither does reading the latest [`snapshot`](Self::snapshot).
/// [`collect`](Self::collect) folds all threads' cells into a new snapshot
/// without pausing any writer.
///
/// Cloning a `Registry` is cheap and gives another handle to the same set.
/// For metrics shared across a program, use [`global()`](crate::global) with
/// `static` handles:
///
/// ```
/// use std::sync::LazyLock;
/// use hotmetrics::Counter;
///
/// static REQUESTS: LazyLock<Counter> = LazyLock::new(|| {
///     hotmetrics::global().counter("doc_requests", "Requests served").unwrap()
/// });
///
/// REQUESTS.inc();
/// assert!(hotmetrics::global().collect().counter("doc_requests").unwrap() >= 1);
/// ```
#[derive(Clone)]
pub struct Registry {
    inner: Arc<Inner>,
}

struct Inner {
    core: Arc<Core>,
    /// Slot numbers, shared with the families (which allocate a series'
    /// slots on its first use). Lock order: catalog, then slots.
    slots: Arc<Mutex<SlotAllocator>>,
    /// Registration lock: never taken when recording or reading a snapshot.
    catalog: Mutex<Catalog>,
    /// Serialises collections so snapshots are published in order; also
    /// keeps their scratch buffers. Writers never take it.
    collector: Mutex<Collector>,
    published: Publish<Snapshot>,
}

#[derive(Default)]
struct Catalog {
    entries: Vec<Entry>,
    by_name: HashMap<String, usize>,
}

#[derive(Clone)]
struct Entry {
    descriptor: Arc<Descriptor>,
    /// A family's label names or a state set's states; `None` for a plain
    /// metric. A re-registration must ask for the same.
    shape: Option<FrozenArc<[String]>>,
    handle: Handle,
}

#[derive(Clone)]
enum Handle {
    Counter(Counter),
    Gauge(Gauge),
    FloatGauge(FloatGauge),
    Histogram(Histogram),
    CounterFamily(CounterFamily),
    GaugeFamily(GaugeFamily),
    FloatGaugeFamily(FloatGaugeFamily),
    HistogramFamily(HistogramFamily),
    StateSet(StateSet),
}

/// What is being registered besides name, kind and unit.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Plain,
    Family,
    States,
}

#[derive(Default)]
struct Collector {
    generation: u64,
    counter_totals: Vec<u64>,
    /// Dense per-bucket sums for the histogram being merged; all zero
    /// between histograms.
    buckets: Vec<u64>,
    /// Which chunks of `buckets` were touched.
    touched: Vec<bool>,
}

impl Registry {
    /// An empty registry whose timers read [`Clock::new`].
    pub fn new() -> Registry {
        Registry::with_clock(Clock::new())
    }

    /// An empty registry whose timers read `clock`.
    pub fn with_clock(clock: Clock) -> Registry {
        Registry {
            inner: Arc::new(Inner {
                core: Core::new(clock),
                slots: Arc::new(Mutex::new(SlotAllocator::default())),
                catalog: Mutex::new(Catalog::default()),
                collector: Mutex::new(Collector::default()),
                published: Publish::new(Arc::new(Snapshot::default())),
            }),
        }
    }

    /// Registers (or finds) counter `name`.
    pub fn counter(&self, name: &str, help: &str) -> Result<Counter, RegistryError> {
        self.counter_with(Options::new(name, help))
    }

    /// Registers (or finds) a counter described by `options`.
    pub fn counter_with(&self, options: Options) -> Result<Counter, RegistryError> {
        match self.register(options, MetricKind::Counter, Shape::Plain)? {
            Handle::Counter(c) => Ok(c),
            _ => unreachable!("register returns the kind asked for"),
        }
    }

    /// Registers (or finds) integer gauge `name`.
    pub fn gauge(&self, name: &str, help: &str) -> Result<Gauge, RegistryError> {
        self.gauge_with(Options::new(name, help))
    }

    /// Registers (or finds) an integer gauge described by `options`.
    pub fn gauge_with(&self, options: Options) -> Result<Gauge, RegistryError> {
        match self.register(options, MetricKind::Gauge, Shape::Plain)? {
            Handle::Gauge(g) => Ok(g),
            _ => unreachable!("register returns the kind asked for"),
        }
    }

    /// Registers (or finds) float gauge `name`.
    pub fn float_gauge(&self, name: &str, help: &str) -> Result<FloatGauge, RegistryError> {
        self.float_gauge_with(Options::new(name, help))
    }

    /// Registers (or finds) a float gauge described by `options`.
    pub fn float_gauge_with(&self, options: Options) -> Result<FloatGauge, RegistryError> {
        match self.register(options, MetricKind::FloatGauge, Shape::Plain)? {
            Handle::FloatGauge(g) => Ok(g),
            _ => unreachable!("register returns the kind asked for"),
        }
    }

    /// Registers (or finds) histogram `name`, recording in `unit`, with the
    /// default precision (≤ 0.78 % relative error).
    pub fn histogram(
        &self,
        name: &str,
        help: &str,
        unit: Unit,
    ) -> Result<Histogram, RegistryError> {
        self.histogram_with(Options::new(name, help).unit(unit))
    }

    /// Registers (or finds) a histogram described by `options`.
    pub fn histogram_with(&self, options: Options) -> Result<Histogram, RegistryError> {
        match self.register(options, MetricKind::Histogram, Shape::Plain)? {
            Handle::Histogram(h) => Ok(h),
            _ => unreachable!("register returns the kind asked for"),
        }
    }

    /// Registers (or finds) counter family `name`, one series per value of
    /// the label names `labels` (see [`Family`]).
    ///
    /// ```
    /// let reg = hotmetrics::Registry::new();
    /// let requests = reg.counter_family("http_requests", "Requests", &["route", "status"]).unwrap();
    /// requests.inc(&("search", "200"));
    /// requests.add(&["search", "200"], 2);
    /// let snap = reg.collect();
    /// assert_eq!(snap.counter_with("http_requests", &[("route", "search"), ("status", "200")]), Some(3));
    /// assert!(reg.counter_family("http_requests", "Requests", &["route"]).is_err()); // other labels
    /// ```
    pub fn counter_family<S: AsRef<str>>(
        &self,
        name: &str,
        help: &str,
        labels: &[S],
    ) -> Result<CounterFamily, RegistryError> {
        self.counter_family_with(Options::new(name, help).labels(labels))
    }

    /// Registers (or finds) a counter family described by `options`
    /// (label names from [`Options::labels`]).
    pub fn counter_family_with(&self, options: Options) -> Result<CounterFamily, RegistryError> {
        match self.register(options, MetricKind::Counter, Shape::Family)? {
            Handle::CounterFamily(f) => Ok(f),
            _ => unreachable!("register returns the kind asked for"),
        }
    }

    /// Registers (or finds) gauge family `name` with label names `labels`.
    pub fn gauge_family<S: AsRef<str>>(
        &self,
        name: &str,
        help: &str,
        labels: &[S],
    ) -> Result<GaugeFamily, RegistryError> {
        self.gauge_family_with(Options::new(name, help).labels(labels))
    }

    /// Registers (or finds) a gauge family described by `options`.
    pub fn gauge_family_with(&self, options: Options) -> Result<GaugeFamily, RegistryError> {
        match self.register(options, MetricKind::Gauge, Shape::Family)? {
            Handle::GaugeFamily(f) => Ok(f),
            _ => unreachable!("register returns the kind asked for"),
        }
    }

    /// Registers (or finds) float gauge family `name` with label names
    /// `labels`: one [`FloatGauge`] per label set.
    ///
    /// ```
    /// let reg = hotmetrics::Registry::new();
    /// let load = reg.float_gauge_family("pool_load", "Busy fraction", &["pool"]).unwrap();
    /// load.set(&["db"], 0.25);
    /// load.add(&["db"], 0.5);
    /// assert_eq!(reg.collect().float_gauge_with("pool_load", &[("pool", "db")]), Some(0.75));
    /// ```
    pub fn float_gauge_family<S: AsRef<str>>(
        &self,
        name: &str,
        help: &str,
        labels: &[S],
    ) -> Result<FloatGaugeFamily, RegistryError> {
        self.float_gauge_family_with(Options::new(name, help).labels(labels))
    }

    /// Registers (or finds) a float gauge family described by `options`.
    pub fn float_gauge_family_with(
        &self,
        options: Options,
    ) -> Result<FloatGaugeFamily, RegistryError> {
        match self.register(options, MetricKind::FloatGauge, Shape::Family)? {
            Handle::FloatGaugeFamily(f) => Ok(f),
            _ => unreachable!("register returns the kind asked for"),
        }
    }

    /// Registers (or finds) histogram family `name`, recording in `unit`,
    /// with label names `labels` (`le` and `quantile` are reserved for histograms).
    pub fn histogram_family<S: AsRef<str>>(
        &self,
        name: &str,
        help: &str,
        unit: Unit,
        labels: &[S],
    ) -> Result<HistogramFamily, RegistryError> {
        self.histogram_family_with(Options::new(name, help).unit(unit).labels(labels))
    }

    /// Registers (or finds) a histogram family described by `options`.
    pub fn histogram_family_with(
        &self,
        options: Options,
    ) -> Result<HistogramFamily, RegistryError> {
        match self.register(options, MetricKind::Histogram, Shape::Family)? {
            Handle::HistogramFamily(f) => Ok(f),
            _ => unreachable!("register returns the kind asked for"),
        }
    }

    /// Registers (or finds) state set `name` with the given states (1 to
    /// 64 distinct, non-empty names; see [`StateSet`]).
    pub fn state_set<S: AsRef<str>>(
        &self,
        name: &str,
        help: &str,
        states: &[S],
    ) -> Result<StateSet, RegistryError> {
        let options = Options::new(name, help).labels(states);
        match self.register(options, MetricKind::StateSet, Shape::States)? {
            Handle::StateSet(s) => Ok(s),
            _ => unreachable!("register returns the kind asked for"),
        }
    }

    /// Registers `options` as a `kind` of `shape`, or returns the metric
    /// already registered under that name if it matches.
    ///
    /// A second registration with another help text returns the existing
    /// metric (the first help text is kept); another kind, unit, precision,
    /// label names or states is an error.
    fn register(
        &self,
        options: Options,
        kind: MetricKind,
        shape: Shape,
    ) -> Result<Handle, RegistryError> {
        name::validate(&options.name)?;
        let names: Option<FrozenArc<[String]>> = match shape {
            Shape::Plain => None,
            Shape::Family => {
                name::validate_labels(&options.name, &options.labels, kind)?;
                Some(options.labels.clone().into())
            }
            Shape::States => {
                name::validate_states(&options.name, &options.labels, MAX_STATES)?;
                Some(options.labels.clone().into())
            }
        };
        let mut catalog = lock(&self.inner.catalog);
        self.register_locked(&mut catalog, options, kind, shape, names)
    }

    fn register_locked(
        &self,
        catalog: &mut Catalog,
        options: Options,
        kind: MetricKind,
        shape: Shape,
        names: Option<FrozenArc<[String]>>,
    ) -> Result<Handle, RegistryError> {
        let precision = (kind == MetricKind::Histogram).then_some(options.precision);
        if let Some(&i) = catalog.by_name.get(&options.name) {
            let e = &catalog.entries[i];
            let d = &e.descriptor;
            return if d.kind != kind {
                Err(RegistryError::KindMismatch {
                    name: options.name,
                    existing: d.kind,
                    requested: kind,
                })
            } else if d.unit != options.unit {
                Err(RegistryError::Conflict {
                    name: options.name,
                    what: "unit",
                })
            } else if d.precision != precision {
                Err(RegistryError::Conflict {
                    name: options.name,
                    what: "precision",
                })
            } else if e.shape != names {
                Err(RegistryError::Conflict {
                    name: options.name,
                    what: match (&e.shape, kind) {
                        (None, _) => "shape (it is an unlabeled metric)",
                        (Some(_), MetricKind::StateSet) => "list of states",
                        (Some(_), _) => "label names",
                    },
                })
            } else {
                Ok(e.handle.clone())
            };
        }
        let core = &self.inner.core;
        let full = || RegistryError::Full;
        let handle = match (shape, kind) {
            (Shape::Plain, MetricKind::Counter) => {
                let slot = lock(&self.inner.slots).counter().ok_or_else(full)?;
                Handle::Counter(Counter::new(core.clone(), slot))
            }
            (Shape::Plain, MetricKind::Gauge) => Handle::Gauge(Gauge::new()),
            (Shape::Plain, MetricKind::FloatGauge) => Handle::FloatGauge(FloatGauge::new()),
            (Shape::Plain, MetricKind::Histogram) => {
                let mut slots = lock(&self.inner.slots);
                let slot = slots.histogram().ok_or_else(full)?;
                let invalid = slots.counter().ok_or_else(full)?;
                Handle::Histogram(Histogram::new(
                    core.clone(),
                    slot,
                    invalid,
                    options.precision,
                    options.unit,
                ))
            }
            (Shape::States, _) => {
                Handle::StateSet(StateSet::new(names.clone().unwrap_or_default()))
            }
            (Shape::Family, _) => {
                // The family's overflowed-lookups counter, a plain counter
                // registered beside it.
                let overflowed = Options::new(
                    format!("{}_overflow", options.name),
                    format!(
                        "Lookups of `{}` that found its series limit reached (recorded into its overflow=\"true\" series)",
                        options.name
                    ),
                );
                let overflowed = match self.register_locked(
                    catalog,
                    overflowed,
                    MetricKind::Counter,
                    Shape::Plain,
                    None,
                )? {
                    Handle::Counter(c) => c,
                    _ => unreachable!("register returns the kind asked for"),
                };
                let eviction = Eviction {
                    after: u64::from(options.evict_after),
                    counter: if options.evict_after == 0 {
                        None
                    } else {
                        let evicted = Options::new(
                            format!("{}_evicted", options.name),
                            format!(
                                "Final values of evicted `{}` series (for a gauge family: how many were evicted)",
                                options.name
                            ),
                        );
                        match self.register_locked(
                            catalog,
                            evicted,
                            MetricKind::Counter,
                            Shape::Plain,
                            None,
                        )? {
                            Handle::Counter(c) => Some(c),
                            _ => unreachable!("register returns the kind asked for"),
                        }
                    },
                };
                let ctx = SeriesCtx {
                    core: core.clone(),
                    slots: self.inner.slots.clone(),
                    precision: options.precision,
                    unit: options.unit,
                };
                let (name, names) = (options.name.clone(), names.clone().unwrap_or_default());
                let limit = options.max_series;
                match kind {
                    MetricKind::Counter => Handle::CounterFamily(
                        Family::new(
                            name,
                            names,
                            limit,
                            overflowed,
                            eviction,
                            ctx,
                            SeriesCtx::counter,
                        )
                        .ok_or_else(full)?,
                    ),
                    MetricKind::Gauge => Handle::GaugeFamily(
                        Family::new(
                            name,
                            names,
                            limit,
                            overflowed,
                            eviction,
                            ctx,
                            SeriesCtx::gauge,
                        )
                        .ok_or_else(full)?,
                    ),
                    MetricKind::FloatGauge => Handle::FloatGaugeFamily(
                        Family::new(
                            name,
                            names,
                            limit,
                            overflowed,
                            eviction,
                            ctx,
                            SeriesCtx::float_gauge,
                        )
                        .ok_or_else(full)?,
                    ),
                    MetricKind::Histogram => Handle::HistogramFamily(
                        Family::new(
                            name,
                            names,
                            limit,
                            overflowed,
                            eviction,
                            ctx,
                            SeriesCtx::histogram,
                        )
                        .ok_or_else(full)?,
                    ),
                    MetricKind::StateSet => {
                        unreachable!("state sets are registered with Shape::States")
                    }
                }
            }
            (Shape::Plain, MetricKind::StateSet) => {
                unreachable!("state sets are registered with Shape::States")
            }
        };
        let descriptor = Arc::new(Descriptor {
            name: options.name,
            help: options.help,
            unit: options.unit,
            kind,
            precision,
        });
        let index = catalog.entries.len();
        catalog.by_name.insert(descriptor.name.clone(), index);
        catalog.entries.push(Entry {
            descriptor,
            shape: names,
            handle: handle.clone(),
        });
        Ok(handle)
    }

    /// Replaces the help text of the `kind` metric `name`, for the
    /// snapshots collected from now on; `false` (and no change) if there is
    /// no such metric.
    #[cfg_attr(not(feature = "metrics-facade"), allow(dead_code))]
    pub(crate) fn set_help(&self, name: &str, kind: MetricKind, help: &str) -> bool {
        let mut catalog = lock(&self.inner.catalog);
        let Some(&i) = catalog.by_name.get(name) else {
            return false;
        };
        let e = &mut catalog.entries[i];
        if e.descriptor.kind != kind {
            return false;
        }
        if e.descriptor.help != help {
            let mut d = (*e.descriptor).clone();
            d.help = help.to_owned();
            e.descriptor = Arc::new(d);
        }
        true
    }

    /// Number of registered metrics.
    pub fn len(&self) -> usize {
        lock(&self.inner.catalog).entries.len()
    }

    /// Whether no metric is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Folds every thread's cells into a new [`Snapshot`], publishes it for
    /// [`snapshot`](Self::snapshot), and returns it.
    ///
    /// Writers are never paused: each is read with atomic loads while it
    /// keeps recording. Every record that happened-before this call (for
    /// example in a thread since joined, or exited) is included. Concurrent
    /// calls are serialised, so published snapshots only move forward.
    pub fn collect(&self) -> Arc<Snapshot> {
        let mut collector = lock(&self.inner.collector);
        let (entries, counter_slots) = {
            let entries = lock(&self.inner.catalog).entries.clone();
            // Read after the entries: every series they can reach has a
            // slot below this count (slots are allocated before a series is
            // published). Cells of later series are ignored by this fold.
            let counter_slots = lock(&self.inner.slots).counters();
            (entries, counter_slots)
        };
        let snapshot = Arc::new(collector.fold(&self.inner.core.storage, &entries, counter_slots));
        self.inner.published.store(snapshot.clone());
        snapshot
    }

    /// The latest published snapshot (empty before the first
    /// [`collect`](Self::collect)). Lock-free.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.inner.published.load()
    }

    /// Heap bytes held by all threads' cells (the per-thread cost of
    /// recording; registration metadata not included).
    pub fn cell_bytes(&self) -> usize {
        self.inner.core.storage.allocated_bytes()
    }

    /// Switches recording into this registry's metrics on or off, from any
    /// thread at any time. While off, every record call costs one relaxed
    /// load and a branch, and timers do not read the clock. Metrics recorded
    /// before stay in the snapshots.
    ///
    /// ```
    /// let reg = hotmetrics::Registry::new();
    /// let c = reg.counter("n", "n").unwrap();
    /// reg.set_enabled(false);
    /// c.inc();
    /// reg.set_enabled(true);
    /// c.inc();
    /// assert_eq!(reg.collect().counter("n"), Some(1));
    /// ```
    pub fn set_enabled(&self, on: bool) {
        self.inner.core.set_enabled(on);
    }

    /// Whether this registry's own switch is on (the process-wide
    /// [`set_enabled`](crate::set_enabled) is separate).
    pub fn is_enabled(&self) -> bool {
        self.inner.core.registry_enabled()
    }

    /// The clock this registry's timers read.
    pub fn clock(&self) -> &Clock {
        &self.inner.core.clock
    }
}

impl Collector {
    fn fold(&mut self, storage: &Storage, entries: &[Entry], counter_slots: usize) -> Snapshot {
        self.generation += 1;
        // Evicted series that no reader can reach any more, taken before
        // any cell is read: the cells read below then hold their final
        // values.
        for e in entries {
            match &e.handle {
                Handle::CounterFamily(f) => f.prepare(),
                Handle::GaugeFamily(f) => f.prepare(),
                Handle::FloatGaugeFamily(f) => f.prepare(),
                Handle::HistogramFamily(f) => f.prepare(),
                _ => {}
            }
        }
        // Counters: one pass over each thread's dense cells.
        let totals = &mut self.counter_totals;
        totals.clear();
        totals.resize(counter_slots, 0);
        storage.for_each_shard(|shard| {
            shard.read_counters(|slot, v| {
                // Cells past `counter_slots` belong to metrics registered
                // after this collection started.
                if let Some(t) = totals.get_mut(slot) {
                    *t = t.wrapping_add(v);
                }
            })
        });
        let mut metrics = Vec::with_capacity(entries.len());
        for e in entries {
            let mut push = |labels: LabelSet, value: MetricValue| {
                metrics.push(MetricSnapshot {
                    descriptor: e.descriptor.clone(),
                    labels,
                    value,
                })
            };
            match &e.handle {
                Handle::Counter(c) => {
                    if let Some(v) = self.counter(c) {
                        push(LabelSet::empty(), MetricValue::Counter(v));
                    }
                }
                Handle::Gauge(g) => push(LabelSet::empty(), MetricValue::Gauge(g.get())),
                Handle::FloatGauge(g) => push(LabelSet::empty(), MetricValue::FloatGauge(g.get())),
                Handle::Histogram(h) => {
                    if let Some(h) = self.fold_histogram(storage, h) {
                        push(LabelSet::empty(), MetricValue::Histogram(h));
                    }
                }
                Handle::StateSet(s) => push(LabelSet::empty(), MetricValue::StateSet(s.read())),
                Handle::CounterFamily(f) => self.fold_family(f, &mut push, |c, c2| {
                    c.counter(c2).map(MetricValue::Counter)
                }),
                Handle::GaugeFamily(f) => {
                    self.fold_family(f, &mut push, |_, g| Some(MetricValue::Gauge(g.get())))
                }
                Handle::FloatGaugeFamily(f) => {
                    self.fold_family(f, &mut push, |_, g| Some(MetricValue::FloatGauge(g.get())))
                }
                Handle::HistogramFamily(f) => self.fold_family(f, &mut push, |c, h| {
                    c.fold_histogram(storage, h).map(MetricValue::Histogram)
                }),
            }
        }
        Snapshot::new(self.generation, metrics)
    }

    /// The total of counter `c`; `None` if it was registered after this
    /// collection read the slot count.
    fn counter(&self, c: &Counter) -> Option<u64> {
        self.counter_totals.get(c.slot().get()).copied()
    }

    /// One series per label set of `family`, then its overflow series if
    /// anything was recorded into it; then, for a family that evicts, the
    /// idle series are evicted and the reclaimed ones accounted for.
    ///
    /// `value` gives a metric's absolute value (its cells' totals); a
    /// series reports that minus its baseline (non-zero when its metric was
    /// recycled from an evicted series).
    fn fold_family<M>(
        &mut self,
        family: &Family<M>,
        push: &mut impl FnMut(LabelSet, MetricValue),
        mut value: impl FnMut(&mut Self, &M) -> Option<MetricValue>,
    ) where
        M: Clone,
    {
        let (series, overflow, overflowed) = family.parts();
        let evict_after = family.evict_after();
        let mut idle = Vec::new();
        for s in &series {
            let Some(v) = value(self, &s.metric) else {
                continue;
            };
            let v = minus(v, &s.baseline);
            if evict_after != 0 {
                // Relaxed: only the collector touches these, under its lock.
                let a = activity(&v);
                if a == s.last.load(Ordering::Relaxed) {
                    let n = s.idle.load(Ordering::Relaxed) + 1;
                    s.idle.store(n, Ordering::Relaxed);
                    if n >= evict_after {
                        idle.push(s.clone());
                    }
                } else {
                    s.last.store(a, Ordering::Relaxed);
                    s.idle.store(0, Ordering::Relaxed);
                }
            }
            push(s.labels.clone(), v);
        }
        if self.counter(overflowed).is_some_and(|n| n > 0) {
            if let Some(v) = value(self, overflow) {
                push(overflow_labels(), v);
            }
        }
        if evict_after == 0 {
            return;
        }
        // Evicted now: their values are in this snapshot, their last
        // appearance. A record racing the eviction is in their final value.
        for s in &idle {
            family.evict(s);
        }
        // Evicted earlier and unreachable since: their final values (read
        // after `prepare`, so complete) go to `<name>_evicted`, their
        // metrics to the free list with what their cells hold.
        for s in family.take_reclaimed() {
            let Some(abs) = value(self, &s.metric) else {
                continue;
            };
            let n = match minus(abs.clone(), &s.baseline) {
                MetricValue::Counter(v) => v,
                MetricValue::Histogram(h) => h.count(),
                _ => 1,
            };
            family.add_evicted(n);
            match abs {
                MetricValue::Counter(v) => family.recycle(s.metric.clone(), Baseline::Counter(v)),
                MetricValue::Histogram(h) => {
                    family.recycle(s.metric.clone(), Baseline::Histogram(Box::new(h)))
                }
                // A gauge is one shared cell holding its last value: not
                // recycled, a new series gets a new gauge.
                _ => {}
            }
        }
    }

    /// Histogram `h` merged over all threads; `None` if it was registered
    /// after this collection read the slot count.
    fn fold_histogram(&mut self, storage: &Storage, h: &Histogram) -> Option<HistogramSnapshot> {
        let invalid = self.counter_totals.get(h.invalid_slot().get()).copied()?;
        let precision = h.precision();
        let chunks = precision.bucket_count().div_ceil(CHUNK_BUCKETS);
        if self.buckets.len() < chunks * CHUNK_BUCKETS {
            self.buckets.resize(chunks * CHUNK_BUCKETS, 0);
            self.touched.resize(chunks, false);
        }
        let (buckets, touched) = (&mut self.buckets, &mut self.touched);
        let (mut sum, mut min, mut max) = (0u128, u64::MAX, 0u64);
        storage.for_each_shard(|shard| {
            let Some(cells) = shard.read_histogram(h.slot()) else {
                return;
            };
            let (lo, hi) = cells.read(|first, counts, chunk_sum| {
                touched[first / CHUNK_BUCKETS] = true;
                for (b, &c) in buckets[first..first + CHUNK_BUCKETS].iter_mut().zip(counts) {
                    *b = b.wrapping_add(c);
                }
                sum += chunk_sum;
            });
            min = min.min(lo);
            max = max.max(hi);
        });
        let mut nonzero = Vec::new();
        for (chunk, t) in touched.iter_mut().enumerate() {
            if !std::mem::take(t) {
                continue;
            }
            let first = chunk * CHUNK_BUCKETS;
            for (i, b) in buckets[first..first + CHUNK_BUCKETS].iter_mut().enumerate() {
                let c = std::mem::take(b);
                if c > 0 {
                    nonzero.push(((first + i) as u32, c));
                }
            }
        }
        Some(HistogramSnapshot::from_parts(
            precision, nonzero, sum, min, max, invalid,
        ))
    }
}

/// `v` minus what the metric's cells already held when its series got them.
fn minus(v: MetricValue, baseline: &Baseline) -> MetricValue {
    match (v, baseline) {
        (MetricValue::Counter(v), Baseline::Counter(b)) => MetricValue::Counter(v.wrapping_sub(*b)),
        (MetricValue::Histogram(h), Baseline::Histogram(b)) => MetricValue::Histogram(h.delta(b)),
        (v, _) => v,
    }
}

/// A figure that changes whenever a series is recorded into (for idleness).
fn activity(v: &MetricValue) -> u64 {
    match v {
        MetricValue::Counter(v) => *v,
        MetricValue::Histogram(h) => h.count().wrapping_add(h.invalid()),
        MetricValue::Gauge(g) => *g as u64,
        MetricValue::FloatGauge(g) => g.to_bits(),
        _ => 0,
    }
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new()
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("metrics", &self.len())
            .finish()
    }
}

/// The process-wide registry, created on first use.
///
/// Handles from it can live in `static`s (see [`Registry`]).
#[cfg(not(all(loom, feature = "loom")))]
pub fn global() -> &'static Registry {
    static GLOBAL: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
    GLOBAL.get_or_init(Registry::new)
}
