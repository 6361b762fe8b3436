//! [`Registry`]: names metrics, hands out recording handles, and collects.

use super::catalog::Catalog;
use super::collect::Collector;
use super::kind::{Kind, Labeling, Make};
use super::options::Options;
use super::scope::Scope;
use super::{name, RegistryError};
use crate::clock::Clock;
use crate::descriptor::{MetricKind, Unit};
use crate::family::{
    Arity, CounterFamily, Family, FloatGaugeFamily, GaugeFamily, HistogramFamily, LabelShape,
    SeriesCtx, StateSet, MAX_STATES,
};
use crate::handle::{Core, Counter, FloatGauge, Gauge, Histogram};
use crate::snapshot::{Publish, Snapshot};
use crate::storage::SlotAllocator;
use crate::sync::{lock, Arc, Mutex};
use std::fmt;

/// A registration's label names or states (`None` when unlabeled).
type LabelNames = crate::sync::FrozenArc<[String]>;

/// The counter family where [`Dyn`](crate::Dyn) families count the label sets they
/// refuse for their number of values, labeled by family name.
pub(crate) const ARITY_ERRORS: &str = "hotmetrics_label_arity_errors";

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
    pub(super) inner: Arc<Inner>,
    /// What this view applies to the metrics registered through it
    /// (`scope.rs`); empty for a registry made by [`new`](Self::new).
    pub(super) scope: Arc<Scope>,
}

pub(super) struct Inner {
    /// What makes a metric's cells: the storage (with the clock and the
    /// on/off switch) and the slot numbers, shared with the families (which
    /// allocate a series' slots on its first use). Lock order: catalog,
    /// then slots.
    pub(super) cells: SeriesCtx,
    /// Registration lock: never taken when recording or reading a snapshot.
    pub(super) catalog: Mutex<Catalog>,
    /// Serialises collections so snapshots are published in order; also
    /// keeps their scratch buffers. Writers never take it.
    collector: Mutex<Collector>,
    published: Publish<Snapshot>,
}

impl Registry {
    /// An empty registry whose timers read [`Clock::new`].
    pub fn new() -> Registry {
        Registry::with_clock(Clock::new())
    }

    /// An empty registry on a clock that reads 0: for unit tests run under
    /// Miri, where `Registry::new` calibrates its clock with `cpuid`
    /// (inline assembly Miri cannot run).
    #[cfg(test)]
    pub(crate) fn on_fixed_clock() -> Registry {
        Registry::with_clock(Clock::from_fn(|| 0))
    }

    /// An empty registry whose timers read `clock`.
    pub fn with_clock(clock: Clock) -> Registry {
        Registry {
            inner: Arc::new(Inner {
                cells: SeriesCtx {
                    core: Core::new(clock),
                    slots: Arc::new(Mutex::new(SlotAllocator::default())),
                    precision: Default::default(),
                    unit: Unit::None,
                },
                catalog: Mutex::new(Catalog::default()),
                collector: Mutex::new(Collector::default()),
                published: Publish::new(Arc::new(Snapshot::default())),
            }),
            scope: Arc::new(Scope::default()),
        }
    }

    /// Registers (or finds) counter `name`.
    pub fn counter(&self, name: &str, help: &str) -> Result<Counter, RegistryError> {
        self.counter_with(Options::new(name, help))
    }

    /// Registers (or finds) a counter described by `options`.
    pub fn counter_with(&self, options: Options) -> Result<Counter, RegistryError> {
        self.register(options)
    }

    /// Registers (or finds) integer gauge `name`.
    pub fn gauge(&self, name: &str, help: &str) -> Result<Gauge, RegistryError> {
        self.gauge_with(Options::new(name, help))
    }

    /// Registers (or finds) an integer gauge described by `options`.
    pub fn gauge_with(&self, options: Options) -> Result<Gauge, RegistryError> {
        self.register(options)
    }

    /// Registers (or finds) float gauge `name`.
    pub fn float_gauge(&self, name: &str, help: &str) -> Result<FloatGauge, RegistryError> {
        self.float_gauge_with(Options::new(name, help))
    }

    /// Registers (or finds) a float gauge described by `options`.
    pub fn float_gauge_with(&self, options: Options) -> Result<FloatGauge, RegistryError> {
        self.register(options)
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
        self.register(options)
    }

    /// Registers (or finds) counter family `name`, one series per value of
    /// the label names `labels` (see [`Family`](crate::Family)). The family
    /// is typed by the number of names: it takes tuples and arrays of that
    /// many values (strings, integers, `bool`, enums), and another number
    /// does not compile.
    ///
    /// ```
    /// let reg = hotmetrics::Registry::new();
    /// let requests = reg.counter_family("http_requests", "Requests", &["route", "status"]).unwrap();
    /// requests.inc(&("search", 200u16));
    /// requests.add(&["search", "200"], 2);
    /// let snap = reg.collect();
    /// assert_eq!(snap.counter_with("http_requests", &[("route", "search"), ("status", "200")]), Some(3));
    /// assert!(reg.counter_family("http_requests", "Requests", &["route"]).is_err()); // other labels
    /// ```
    pub fn counter_family<S: AsRef<str>, const N: usize>(
        &self,
        name: &str,
        help: &str,
        labels: &[S; N],
    ) -> Result<CounterFamily<Arity<N>>, RegistryError> {
        self.family(Options::new(name, help).labels(labels))
    }

    /// Registers (or finds) a counter family described by `options`, its
    /// label names ([`Options::labels`]) known only at run time: a [`Dyn`](crate::Dyn)
    /// family, which checks the number of values of each new label set
    /// ([`Family::try_get`](crate::Family::try_get)). For a typed family
    /// with options, use [`counter_family_builder`](Self::counter_family_builder).
    pub fn counter_family_with(&self, options: Options) -> Result<CounterFamily, RegistryError> {
        self.family(options)
    }

    /// Registers (or finds) gauge family `name` with label names `labels`
    /// (typed by their number, as [`counter_family`](Self::counter_family)).
    pub fn gauge_family<S: AsRef<str>, const N: usize>(
        &self,
        name: &str,
        help: &str,
        labels: &[S; N],
    ) -> Result<GaugeFamily<Arity<N>>, RegistryError> {
        self.family(Options::new(name, help).labels(labels))
    }

    /// Registers (or finds) a gauge family described by `options` (a
    /// [`Dyn`](crate::Dyn) family, as [`counter_family_with`](Self::counter_family_with)).
    pub fn gauge_family_with(&self, options: Options) -> Result<GaugeFamily, RegistryError> {
        self.family(options)
    }

    /// Registers (or finds) float gauge family `name` with label names
    /// `labels`: one [`FloatGauge`] per label set (typed by their number,
    /// as [`counter_family`](Self::counter_family)).
    ///
    /// ```
    /// let reg = hotmetrics::Registry::new();
    /// let load = reg.float_gauge_family("pool_load", "Busy fraction", &["pool"]).unwrap();
    /// load.set(&["db"], 0.25);
    /// load.add(&["db"], 0.5);
    /// assert_eq!(reg.collect().float_gauge_with("pool_load", &[("pool", "db")]), Some(0.75));
    /// ```
    pub fn float_gauge_family<S: AsRef<str>, const N: usize>(
        &self,
        name: &str,
        help: &str,
        labels: &[S; N],
    ) -> Result<FloatGaugeFamily<Arity<N>>, RegistryError> {
        self.family(Options::new(name, help).labels(labels))
    }

    /// Registers (or finds) a float gauge family described by `options` (a
    /// [`Dyn`](crate::Dyn) family, as [`counter_family_with`](Self::counter_family_with)).
    pub fn float_gauge_family_with(
        &self,
        options: Options,
    ) -> Result<FloatGaugeFamily, RegistryError> {
        self.family(options)
    }

    /// Registers (or finds) histogram family `name`, recording in `unit`,
    /// with label names `labels` (`le` and `quantile` are reserved for
    /// histograms), typed by their number as
    /// [`counter_family`](Self::counter_family). The
    /// [`histogram_family_builder`](Self::histogram_family_builder) names
    /// each argument.
    pub fn histogram_family<S: AsRef<str>, const N: usize>(
        &self,
        name: &str,
        help: &str,
        unit: Unit,
        labels: &[S; N],
    ) -> Result<HistogramFamily<Arity<N>>, RegistryError> {
        self.family(Options::new(name, help).unit(unit).labels(labels))
    }

    /// Registers (or finds) a histogram family described by `options` (a
    /// [`Dyn`](crate::Dyn) family, as [`counter_family_with`](Self::counter_family_with)).
    pub fn histogram_family_with(
        &self,
        options: Options,
    ) -> Result<HistogramFamily, RegistryError> {
        self.family(options)
    }

    /// Registers (or finds) family `options` typed `S`. A [`Dyn`](crate::Dyn) family
    /// also gets the registry's `hotmetrics_label_arity_errors`, where it
    /// counts the label sets it refuses without a `Result` to say so.
    pub(super) fn family<M, S: LabelShape>(
        &self,
        options: Options,
    ) -> Result<Family<M, S>, RegistryError>
    where
        Family<M>: Make,
    {
        let family: Family<M> = self.register(options)?;
        let errors = match S::ARITY {
            Some(_) => None,
            None => Some(Arc::new(
                self.family::<Counter, Arity<1>>(
                    Options::new(
                        ARITY_ERRORS,
                        "Label sets refused by a family for their number of values, by family",
                    )
                    .labels(&["metric"]),
                )?,
            )),
        };
        Ok(family.retype(errors))
    }

    /// Registers (or finds) state set `name` with the given states (1 to
    /// 64 distinct, non-empty names; see [`StateSet`]). The name is also
    /// the label name of the set's samples, so it may not contain a colon.
    pub fn state_set<S: AsRef<str>>(
        &self,
        name: &str,
        help: &str,
        states: &[S],
    ) -> Result<StateSet, RegistryError> {
        self.register(Options::new(name, help).labels(states))
    }

    /// Registers `options` as a `K`, or returns the metric already
    /// registered under that name if it matches.
    ///
    /// A second registration with another help text returns the existing
    /// metric (the first help text is kept); another kind, unit, precision,
    /// label names or states is an error.
    pub(super) fn register<K: Make>(&self, options: Options) -> Result<K, RegistryError> {
        let (options, labels) = self.prepare::<K>(options)?;
        lock(&self.inner.catalog).register::<K>(&self.inner.cells, &options, labels, None)
    }

    /// [`register`](Self::register), except that a name registered with
    /// other label names gets this shape beside the ones it has, as one
    /// family in the exposition whose series have different label names
    /// (what the Prometheus data model allows). Kind, unit and precision
    /// must still match. For `#[track_latency]` sites and the `metrics`
    /// facade, whose label sets are not declared up front.
    #[cfg_attr(
        any(loom, not(any(feature = "metrics-facade", feature = "macros"))),
        allow(dead_code)
    )]
    pub(crate) fn register_shape<K: Make>(&self, options: Options) -> Result<K, RegistryError> {
        let (options, labels) = self.prepare::<K>(options)?;
        lock(&self.inner.catalog).register_shape::<K>(&self.inner.cells, &options, labels)
    }

    /// The options with this view's prefix and constant labels applied,
    /// and their names checked; the label names or states.
    fn prepare<K: Kind>(
        &self,
        options: Options,
    ) -> Result<(Options, Option<LabelNames>), RegistryError> {
        let options = self.scope.apply(options);
        name::validate(&options.name)?;
        self.scope.check(&options, K::KIND, K::LABELING)?;
        let labels = match K::LABELING {
            Labeling::Unlabeled => None,
            Labeling::LabelNames => {
                name::validate_labels(&options.name, &options.labels, K::KIND)?;
                Some(options.labels.clone().into())
            }
            Labeling::States => {
                name::validate_states(&options.name, &options.labels, MAX_STATES)?;
                Some(options.labels.clone().into())
            }
            Labeling::Pairs => {
                let names: Vec<String> = options.labels.iter().step_by(2).cloned().collect();
                name::validate_info_labels(&options.name, &names)?;
                Some(options.labels.clone().into())
            }
        };
        Ok((options, labels))
    }

    /// Replaces the help text of the `kind` metric `name`, for the
    /// snapshots collected from now on; `false` (and no change) if there is
    /// no such metric.
    #[cfg_attr(not(feature = "metrics-facade"), allow(dead_code))]
    pub(crate) fn set_help(&self, name: &str, kind: MetricKind, help: &str) -> bool {
        let name = self.scope.name(name);
        lock(&self.inner.catalog).set_help(&name, kind, help)
    }

    /// Removes metric `name` from the registry; `false` if there is no such
    /// metric. A family goes with its internal counters (`<name>_overflow`,
    /// `<name>_evicted`), which cannot be removed on their own (`false`).
    ///
    /// The metric is missing from the next [`collect`](Self::collect) on,
    /// and its name (with every name its exposition used) is free: a new
    /// registration makes a new metric, of any kind, starting from zero.
    /// Handles to the removed metric keep working, without panicking, but
    /// record into cells no collection reads: nothing they record is seen
    /// again. Their cells are not reused, so registering and removing
    /// metrics in a loop grows memory. Handles cached elsewhere (the
    /// `metrics` facade, `#[track_latency]`) are not told: remove only
    /// metrics you registered yourself.
    ///
    /// ```
    /// let reg = hotmetrics::Registry::new();
    /// let old = reg.counter("jobs", "Jobs").unwrap();
    /// old.inc();
    /// assert!(reg.unregister("jobs"));
    /// old.inc(); // recorded into nothing visible
    /// assert_eq!(reg.collect().counter("jobs"), None);
    /// reg.gauge("jobs", "Jobs queued").unwrap().set(4); // the name is free
    /// assert_eq!(reg.collect().gauge("jobs"), Some(4));
    /// ```
    pub fn unregister(&self, name: &str) -> bool {
        let name = self.scope.name(name);
        lock(&self.inner.catalog).unregister(&name, &self.scope.labels)
    }

    /// Number of registered metrics.
    pub fn len(&self) -> usize {
        lock(&self.inner.catalog).entries().len()
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
        {
            let catalog = lock(&self.inner.catalog);
            collector.sync_entries(catalog.entries(), catalog.removals());
        }
        // Read after the entries and after collection phase 1 (where a
        // callback's panic count may create a series): every series they
        // can reach has a slot below this count (slots are allocated before
        // a series is published). Cells of later series are ignored.
        let slots = &self.inner.cells.slots;
        let snapshot =
            Arc::new(collector.fold(&self.inner.cells.core.storage, || lock(slots).counters()));
        self.inner.published.store(snapshot.clone());
        snapshot
    }

    /// Histogram chunk copies and chunk counts every collection so far
    /// read.
    #[cfg(test)]
    pub(crate) fn chunk_reads(&self) -> (usize, usize) {
        lock(&self.inner.collector).chunk_reads()
    }

    /// The latest published snapshot (empty before the first
    /// [`collect`](Self::collect)). Lock-free.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.inner.published.load()
    }

    /// Heap bytes held by all threads' cells (the per-thread cost of
    /// recording; registration metadata not included).
    pub fn cell_bytes(&self) -> usize {
        self.inner.cells.core.storage.allocated_bytes()
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
        self.inner.cells.core.set_enabled(on);
    }

    /// Whether this registry's own switch is on (the process-wide
    /// [`set_enabled`](crate::set_enabled) is separate).
    pub fn is_enabled(&self) -> bool {
        self.inner.cells.core.registry_enabled()
    }

    /// The clock this registry's timers read.
    pub fn clock(&self) -> &Clock {
        &self.inner.cells.core.clock
    }
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new()
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Registry");
        d.field("metrics", &self.len());
        if !self.scope.prefix.is_empty() {
            d.field("prefix", &self.scope.prefix);
        }
        if !self.scope.labels.is_empty() {
            d.field("const_labels", &self.scope.labels);
        }
        d.finish()
    }
}

crate::sync::cfg_not_loom! {
    /// The process-wide registry, created on first use.
    ///
    /// Handles from it can live in `static`s (see [`Registry`]).
    pub fn global() -> &'static Registry {
        static GLOBAL: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
        GLOBAL.get_or_init(Registry::new)
    }
}
