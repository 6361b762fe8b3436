//! [`Registry`]: names metrics, hands out recording handles, and collects.

use super::{name, RegistryError};
use crate::buckets::Precision;
use crate::clock::Clock;
use crate::descriptor::{Descriptor, MetricKind, Unit};
use crate::metrics::{Core, Counter, FloatGauge, Gauge, Histogram};
use crate::snapshot::{
    HistogramSnapshot, LabelSet, MetricSnapshot, MetricValue, Publish, Snapshot,
};
use crate::storage::{SlotIndex, Storage, CHUNK_BUCKETS};
use crate::sync::{lock, Arc, Mutex};
use std::collections::HashMap;
use std::fmt;

/// How to register a metric: name and help, plus an optional unit and, for
/// histograms, bucket precision.
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
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    name: String,
    help: String,
    unit: Unit,
    precision: Precision,
}

impl Options {
    /// Options for a metric called `name` with help text `help`.
    pub fn new(name: impl Into<String>, help: impl Into<String>) -> Options {
        Options {
            name: name.into(),
            help: help.into(),
            unit: Unit::None,
            precision: Precision::DEFAULT,
        }
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
    counter_slots: usize,
    histogram_slots: usize,
}

#[derive(Clone)]
struct Entry {
    descriptor: Arc<Descriptor>,
    handle: Handle,
}

#[derive(Clone)]
enum Handle {
    Counter(Counter),
    Gauge(Gauge),
    FloatGauge(FloatGauge),
    Histogram(Histogram),
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
        match self.register(options, MetricKind::Counter)? {
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
        match self.register(options, MetricKind::Gauge)? {
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
        match self.register(options, MetricKind::FloatGauge)? {
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
        match self.register(options, MetricKind::Histogram)? {
            Handle::Histogram(h) => Ok(h),
            _ => unreachable!("register returns the kind asked for"),
        }
    }

    /// Registers `options` as a `kind`, or returns the metric already
    /// registered under that name if it matches.
    ///
    /// A second registration with another help text returns the existing
    /// metric (the first help text is kept); another kind, unit or precision
    /// is an error.
    fn register(&self, options: Options, kind: MetricKind) -> Result<Handle, RegistryError> {
        name::validate(&options.name)?;
        let precision = (kind == MetricKind::Histogram).then_some(options.precision);
        let mut catalog = lock(&self.inner.catalog);
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
            } else {
                Ok(e.handle.clone())
            };
        }
        let core = &self.inner.core;
        let handle = match kind {
            MetricKind::Counter => {
                Handle::Counter(Counter::new(core.clone(), catalog.next_counter_slot()?))
            }
            MetricKind::Gauge => Handle::Gauge(Gauge::new()),
            MetricKind::FloatGauge => Handle::FloatGauge(FloatGauge::new()),
            MetricKind::Histogram => {
                let slot = catalog.next_histogram_slot()?;
                let invalid = catalog.next_counter_slot()?;
                Handle::Histogram(Histogram::new(
                    core.clone(),
                    slot,
                    invalid,
                    options.precision,
                    options.unit,
                ))
            }
            // Only the four typed constructors above call `register`.
            MetricKind::StateSet => unreachable!("state sets are not registered here"),
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
            handle: handle.clone(),
        });
        Ok(handle)
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
            let catalog = lock(&self.inner.catalog);
            (catalog.entries.clone(), catalog.counter_slots)
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

impl Catalog {
    fn next_counter_slot(&mut self) -> Result<SlotIndex, RegistryError> {
        let at = SlotIndex::new(self.counter_slots).ok_or(RegistryError::Full)?;
        self.counter_slots += 1;
        Ok(at)
    }

    fn next_histogram_slot(&mut self) -> Result<SlotIndex, RegistryError> {
        let at = SlotIndex::new(self.histogram_slots).ok_or(RegistryError::Full)?;
        self.histogram_slots += 1;
        Ok(at)
    }
}

impl Collector {
    fn fold(&mut self, storage: &Storage, entries: &[Entry], counter_slots: usize) -> Snapshot {
        self.generation += 1;
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
        let metrics = entries
            .iter()
            .map(|e| MetricSnapshot {
                descriptor: e.descriptor.clone(),
                labels: LabelSet::empty(),
                value: match &e.handle {
                    Handle::Counter(c) => MetricValue::Counter(self.counter_totals[c.slot().get()]),
                    Handle::Gauge(g) => MetricValue::Gauge(g.get()),
                    Handle::FloatGauge(g) => MetricValue::FloatGauge(g.get()),
                    Handle::Histogram(h) => MetricValue::Histogram(self.fold_histogram(storage, h)),
                },
            })
            .collect();
        Snapshot::new(self.generation, metrics)
    }

    fn fold_histogram(&mut self, storage: &Storage, h: &Histogram) -> HistogramSnapshot {
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
        let invalid = self.counter_totals[h.invalid_slot().get()];
        HistogramSnapshot::from_parts(precision, nonzero, sum, min, max, invalid)
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

/// Switches recording off (or back on) in every registry of the process, at
/// any time from any thread. Each registry's own
/// [`Registry::set_enabled`] still applies: a metric records only while both
/// are on. While off, a record costs one relaxed load and a branch.
#[cfg(not(all(loom, feature = "loom")))]
pub fn set_enabled(on: bool) {
    crate::metrics::global::set_enabled(on);
}

/// Whether recording is switched on process-wide (see [`set_enabled`]).
#[cfg(not(all(loom, feature = "loom")))]
pub fn is_enabled() -> bool {
    crate::metrics::global::is_enabled()
}

/// The process-wide registry, created on first use.
///
/// Handles from it can live in `static`s (see [`Registry`]).
#[cfg(not(all(loom, feature = "loom")))]
pub fn global() -> &'static Registry {
    static GLOBAL: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
    GLOBAL.get_or_init(Registry::new)
}
