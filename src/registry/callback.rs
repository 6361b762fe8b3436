//! [`Callback`]: a metric whose value a callback computes at collection,
//! for values that already live elsewhere (a queue's length, a pool's
//! size, the process's memory).
//!
//! The callback runs in collection phase 1 ([`Kind::prepare`]), on the
//! collecting thread, once per collection. A callback that panics gives no
//! value that time (the metric is missing from that snapshot) and adds one
//! to the registry's own counter family `hotmetrics_callback_panics`,
//! label `metric`, in the same snapshot: the panic is caught, so the
//! collection and every other metric go on.
#![forbid(unsafe_code)]

use super::collect::Fold;
use super::kind::{Kind, Labeling, Push};
use super::options::Options;
use super::{name, Registry, RegistryError};
use crate::descriptor::MetricKind;
use crate::family::CounterFamily;
use crate::snapshot::{LabelSet, MetricValue};
use crate::sync::{lock, Arc, FrozenArc, Mutex};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The counter family counting callbacks that panicked, by metric.
pub(crate) const PANICS: &str = "hotmetrics_callback_panics";

/// The registration of [`PANICS`] (label `metric`).
pub(crate) fn panics_options() -> Options {
    Options::new(
        PANICS,
        "Collections in which a metric's callback panicked (the metric had no value)",
    )
    .labels(&["metric"])
}

/// A value a callback can compute, and the kind it is exported as.
pub(crate) trait CallbackValue: Send + Sync + 'static {
    /// The kind of metric.
    const KIND: MetricKind;
    /// As a snapshot value.
    fn into_value(self) -> MetricValue;
}

impl CallbackValue for u64 {
    const KIND: MetricKind = MetricKind::Counter;
    fn into_value(self) -> MetricValue {
        MetricValue::Counter(self)
    }
}

impl CallbackValue for i64 {
    const KIND: MetricKind = MetricKind::Gauge;
    fn into_value(self) -> MetricValue {
        MetricValue::Gauge(self)
    }
}

impl CallbackValue for f64 {
    const KIND: MetricKind = MetricKind::FloatGauge;
    fn into_value(self) -> MetricValue {
        MetricValue::FloatGauge(self)
    }
}

/// What a callback metric calls: its value, or `None` for none this time.
pub(crate) type Read<V> = dyn Fn() -> Option<V> + Send + Sync;

/// A metric computed by a callback at collection.
pub(crate) struct Callback<V> {
    inner: Arc<Inner<V>>,
}

struct Inner<V> {
    name: String,
    read: Box<Read<V>>,
    panics: CounterFamily,
    /// The value phase 1 computed, taken by phase 2.
    value: Mutex<Option<MetricValue>>,
}

impl<V> Clone for Callback<V> {
    fn clone(&self) -> Self {
        Callback {
            inner: self.inner.clone(),
        }
    }
}

impl<V: CallbackValue> Callback<V> {
    /// Metric `name` computed by `read`; a panic in `read` is counted in
    /// `panics` (the [`PANICS`] family).
    pub(crate) fn new(name: String, read: Box<Read<V>>, panics: CounterFamily) -> Self {
        Callback {
            inner: Arc::new(Inner {
                name,
                read,
                panics,
                value: Mutex::new(None),
            }),
        }
    }
}

impl<V: CallbackValue> Kind for Callback<V> {
    const KIND: MetricKind = V::KIND;
    const LABELING: Labeling = Labeling::Unlabeled;
    const COMPUTED: bool = true;

    fn prepare(&self) {
        let inner = &*self.inner;
        // The callback is the user's code: a panic in it must not take the
        // collection (and the collector's lock) down with it. Nothing of
        // ours is left half-updated by an unwind out of `read`.
        let value = match catch_unwind(AssertUnwindSafe(|| (inner.read)())) {
            Ok(v) => v.map(V::into_value),
            Err(_) => {
                inner.panics.inc(&[inner.name.as_str()]);
                None
            }
        };
        *lock(&inner.value) = value;
    }

    fn fold(&self, _: &mut Fold<'_>, push: &mut Push<'_>) {
        if let Some(v) = lock(&self.inner.value).take() {
            push(LabelSet::empty(), v);
        }
    }
}

/// Metrics computed at collection.
impl Registry {
    /// Registers counter `name`, whose total `read` computes at each
    /// [`collect`](Registry::collect), for a count kept elsewhere (it must
    /// not go down). See [`float_gauge_fn`](Self::float_gauge_fn).
    pub fn counter_fn(
        &self,
        name: &str,
        help: &str,
        read: impl Fn() -> u64 + Send + Sync + 'static,
    ) -> Result<(), RegistryError> {
        self.counter_fn_with(Options::new(name, help), read)
    }

    /// [`counter_fn`](Self::counter_fn) described by `options` (name, help
    /// and unit: a counter in [`Unit::Microseconds`](crate::Unit) exports
    /// its total in seconds).
    pub fn counter_fn_with(
        &self,
        options: Options,
        read: impl Fn() -> u64 + Send + Sync + 'static,
    ) -> Result<(), RegistryError> {
        self.register_callback(options, Box::new(move || Some(read())))
    }

    /// Registers integer gauge `name`, whose value `read` computes at each
    /// [`collect`](Registry::collect). See
    /// [`float_gauge_fn`](Self::float_gauge_fn).
    pub fn gauge_fn(
        &self,
        name: &str,
        help: &str,
        read: impl Fn() -> i64 + Send + Sync + 'static,
    ) -> Result<(), RegistryError> {
        self.gauge_fn_with(Options::new(name, help), read)
    }

    /// [`gauge_fn`](Self::gauge_fn) described by `options`.
    pub fn gauge_fn_with(
        &self,
        options: Options,
        read: impl Fn() -> i64 + Send + Sync + 'static,
    ) -> Result<(), RegistryError> {
        self.register_callback(options, Box::new(move || Some(read())))
    }

    /// Registers float gauge `name`, whose value `read` computes at each
    /// [`collect`](Registry::collect): for values that already live
    /// elsewhere, read when scraped instead of copied into a gauge.
    ///
    /// The callback runs on the collecting thread, once per collection,
    /// under the collector's lock (keep it short; it must not collect this
    /// registry). The name follows the rules of every registration (valid,
    /// no collision with another metric's exported names); a name already
    /// registered is refused ([`Conflict::Callback`](crate::Conflict) when
    /// of the same kind): a callback is never merged with or replaced by
    /// another. [`unregister`](Registry::unregister) removes it and drops
    /// the callback.
    ///
    /// A callback that panics gives no value in that collection (the
    /// metric is left out) and is counted in the counter family
    /// `hotmetrics_callback_panics`, label `metric`, in the same snapshot;
    /// the collection and every other metric go on.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// let reg = hotmetrics::Registry::new();
    /// let queue = Arc::new(Mutex::new(vec![1, 2, 3]));
    /// let q = queue.clone();
    /// reg.gauge_fn("queue_length", "Items waiting", move || q.lock().unwrap().len() as i64)
    ///     .unwrap();
    /// reg.float_gauge_fn("load_ratio", "Busy fraction", || 0.25).unwrap();
    /// queue.lock().unwrap().push(4);
    /// let snap = reg.collect();
    /// assert_eq!(snap.gauge("queue_length"), Some(4));
    /// assert_eq!(snap.float_gauge("load_ratio"), Some(0.25));
    /// ```
    pub fn float_gauge_fn(
        &self,
        name: &str,
        help: &str,
        read: impl Fn() -> f64 + Send + Sync + 'static,
    ) -> Result<(), RegistryError> {
        self.float_gauge_fn_with(Options::new(name, help), read)
    }

    /// [`float_gauge_fn`](Self::float_gauge_fn) described by `options`.
    pub fn float_gauge_fn_with(
        &self,
        options: Options,
        read: impl Fn() -> f64 + Send + Sync + 'static,
    ) -> Result<(), RegistryError> {
        self.register_callback(options, Box::new(move || Some(read())))
    }

    /// Registers `options` as a metric computed by `read` (`None`: no
    /// value this collection), with the family counting its panics.
    pub(super) fn register_callback<V: CallbackValue>(
        &self,
        options: Options,
        read: Box<Read<V>>,
    ) -> Result<(), RegistryError> {
        let options = self.scope.apply(options);
        name::validate(&options.name)?;
        self.scope.check(&options, V::KIND, Labeling::Unlabeled)?;
        let cells = &self.inner.cells;
        let mut catalog = lock(&self.inner.catalog);
        let panic_options = panics_options();
        let labels = Some(FrozenArc::from(panic_options.labels.clone()));
        let panics =
            catalog.register::<CounterFamily>(cells, &panic_options, labels, Some(PANICS))?;
        let name = options.name.clone();
        catalog.register_made(cells, &options, None, None, |_| {
            Ok(Callback::<V>::new(name, read, panics))
        })?;
        Ok(())
    }
}
