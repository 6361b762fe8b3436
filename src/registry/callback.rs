//! [`Callback`]: a metric whose series a callback computes at collection,
//! for values that already live elsewhere (a queue's length, a pool's
//! size per pool, the process's memory).
//!
//! The callback runs in collection phase 1 ([`Kind::prepare`]), on the
//! collecting thread, once per collection, and writes its series into a
//! [`CallbackSink`]. A callback that panics gives no series that time (the
//! metric is missing from that snapshot) and adds one to the registry's
//! own counter family `hotmetrics_callback_errors`, labels `metric` and
//! `reason="panic"`, in the same snapshot: the panic is caught, so the
//! collection and every other metric go on. Series the sink drops are
//! counted there too, by reason.
#![forbid(unsafe_code)]

use super::callback_sink::{dedup, CallbackSink, Dropped};
use super::collect::Fold;
use super::kind::{Kind, Labeling, Push};
use super::options::Options;
use super::{name, Registry, RegistryError};
use crate::descriptor::MetricKind;
use crate::family::CounterFamily;
use crate::snapshot::{LabelSet, MetricValue};
use crate::sync::{lock, Arc, FrozenArc, Mutex};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The counter family counting callbacks that panicked and series they
/// gave that were dropped, by metric and reason.
pub(crate) const ERRORS: &str = "hotmetrics_callback_errors";

/// The registration of [`ERRORS`] (labels `metric`, `reason`).
fn errors_options() -> Options {
    Options::new(
        ERRORS,
        "Callback metrics' failures at collection: reason=\"panic\" (the callback panicked; the metric had no value), or a series dropped (\"labels\": wrong number of label values, \"duplicate\", \"limit\": past max_series)",
    )
    .labels(&["metric", "reason"])
}

/// A value a callback can compute, and the kind it is exported as.
pub(crate) trait CallbackValue: Send + Sync + 'static {
    /// The kind of metric.
    const KIND: MetricKind;
    /// As a snapshot value.
    fn into_value(self) -> MetricValue;
}

macro_rules! callback_value {
    ($($ty:ty => $kind:ident),*) => {$(
        impl CallbackValue for $ty {
            const KIND: MetricKind = MetricKind::$kind;
            fn into_value(self) -> MetricValue {
                MetricValue::$kind(self)
            }
        }
    )*};
}

callback_value!(u64 => Counter, i64 => Gauge, f64 => FloatGauge);

/// What a callback metric calls at each collection.
pub(crate) type Collect<V> = dyn Fn(&mut CallbackSink<'_, V>) + Send + Sync;

/// An unlabeled metric's callback from one computing its value (`None`:
/// no value this collection).
pub(crate) fn unlabeled<V: CallbackValue>(
    read: impl Fn() -> Option<V> + Send + Sync + 'static,
) -> Box<Collect<V>> {
    Box::new(move |out: &mut CallbackSink<'_, V>| {
        if let Some(v) = read() {
            out.push::<&str>(&[], v.into_value());
        }
    })
}

/// A metric computed by a callback at collection.
pub(crate) struct Callback<V> {
    inner: Arc<Inner<V>>,
}

struct Inner<V> {
    name: String,
    /// Label names (empty: one unlabeled series).
    label_names: Vec<String>,
    max_series: usize,
    collect: Box<Collect<V>>,
    errors: CounterFamily,
    /// The series phase 1 computed, taken by phase 2.
    series: Mutex<Vec<(LabelSet, MetricValue)>>,
}

impl<V> Clone for Callback<V> {
    fn clone(&self) -> Self {
        Callback {
            inner: self.inner.clone(),
        }
    }
}

impl<V: CallbackValue> Kind for Callback<V> {
    const KIND: MetricKind = V::KIND;
    // Labeled or not, a callback is matched by `COMPUTED` before labels.
    const LABELING: Labeling = Labeling::Unlabeled;
    const COMPUTED: bool = true;

    fn prepare(&self) {
        let inner = &*self.inner;
        let mut series = Vec::new();
        let mut dropped = [0; 3];
        let mut sink = CallbackSink::new(
            &inner.label_names,
            inner.max_series,
            &mut series,
            &mut dropped,
        );
        // The callback is the user's code: a panic in it must not take the
        // collection (and the collector's lock) down with it. Nothing of
        // ours is left half-updated by an unwind out of it.
        if catch_unwind(AssertUnwindSafe(|| (inner.collect)(&mut sink))).is_err() {
            inner.errors.inc(&[inner.name.as_str(), "panic"]);
            series.clear();
        }
        dedup(&mut series, &mut dropped);
        for why in Dropped::ALL {
            let n = dropped[why as usize];
            if n > 0 {
                inner.errors.add(&[inner.name.as_str(), why.as_str()], n);
            }
        }
        *lock(&inner.series) = series;
    }

    fn fold(&self, _: &mut Fold<'_>, push: &mut Push<'_>) {
        for (labels, value) in lock(&self.inner.series).drain(..) {
            push(labels, value);
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
        self.register_callback(options, false, unlabeled(move || Some(read())))
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
        self.register_callback(options, false, unlabeled(move || Some(read())))
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
    /// `hotmetrics_callback_errors`, labels `metric` and `reason="panic"`,
    /// in the same snapshot; the collection and every other metric go on.
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
        self.register_callback(options, false, unlabeled(move || Some(read())))
    }

    /// Registers counter family `name`, label names from
    /// [`Options::labels`], whose series `collect` writes at each
    /// [`collect`](Registry::collect): for counts kept elsewhere by key.
    /// See [`float_gauge_family_fn_with`](Self::float_gauge_family_fn_with).
    pub fn counter_family_fn_with(
        &self,
        options: Options,
        collect: impl Fn(&mut CallbackSink<'_, u64>) + Send + Sync + 'static,
    ) -> Result<(), RegistryError> {
        self.register_callback(options, true, Box::new(collect))
    }

    /// Registers integer gauge family `name`, label names from
    /// [`Options::labels`], whose series `collect` writes at each
    /// [`collect`](Registry::collect). See
    /// [`float_gauge_family_fn_with`](Self::float_gauge_family_fn_with).
    pub fn gauge_family_fn_with(
        &self,
        options: Options,
        collect: impl Fn(&mut CallbackSink<'_, i64>) + Send + Sync + 'static,
    ) -> Result<(), RegistryError> {
        self.register_callback(options, true, Box::new(collect))
    }

    /// Registers float gauge family `name`, label names from
    /// [`Options::labels`] (validated as for any family), whose series
    /// `collect` writes into a [`CallbackSink`] at each
    /// [`collect`](Registry::collect): for values that live elsewhere by
    /// key (connections per pool, entries per cache).
    ///
    /// As for [`float_gauge_fn`](Self::float_gauge_fn), the callback runs
    /// on the collecting thread and a panic is caught and counted. Series
    /// the sink cannot keep (wrong number of label values, a label set
    /// given twice, more than [`Options::max_series`]) are dropped and
    /// counted in `hotmetrics_callback_errors`, by reason.
    ///
    /// ```
    /// use hotmetrics::{Options, Registry};
    /// use std::collections::BTreeMap;
    /// use std::sync::{Arc, Mutex};
    /// let reg = Registry::new();
    /// let load: Arc<Mutex<BTreeMap<String, f64>>> = Default::default();
    /// let l = load.clone();
    /// reg.float_gauge_family_fn_with(
    ///     Options::new("pool_load", "Busy fraction per pool").labels(&["pool"]),
    ///     move |out| {
    ///         for (pool, v) in l.lock().unwrap().iter() {
    ///             out.series(&[pool], *v);
    ///         }
    ///     },
    /// )
    /// .unwrap();
    /// load.lock().unwrap().insert("db".into(), 0.5);
    /// assert_eq!(reg.collect().float_gauge_with("pool_load", &[("pool", "db")]), Some(0.5));
    /// ```
    pub fn float_gauge_family_fn_with(
        &self,
        options: Options,
        collect: impl Fn(&mut CallbackSink<'_, f64>) + Send + Sync + 'static,
    ) -> Result<(), RegistryError> {
        self.register_callback(options, true, Box::new(collect))
    }

    /// Registers `options` as a metric computed by `collect` (labeled: a
    /// family with label names from the options), with the family
    /// counting its failures.
    pub(super) fn register_callback<V: CallbackValue>(
        &self,
        options: Options,
        labeled: bool,
        collect: Box<Collect<V>>,
    ) -> Result<(), RegistryError> {
        let options = self.scope.apply(options);
        name::validate(&options.name)?;
        let (labeling, labels) = if labeled {
            name::validate_labels(&options.name, &options.labels, V::KIND)?;
            let labels: FrozenArc<[String]> = options.labels.clone().into();
            (Labeling::LabelNames, Some(labels))
        } else {
            (Labeling::Unlabeled, None)
        };
        self.scope.check(&options, V::KIND, labeling)?;
        let cells = &self.inner.cells;
        let mut catalog = lock(&self.inner.catalog);
        let errors_options = errors_options();
        let error_labels = Some(FrozenArc::from(errors_options.labels.clone()));
        let errors = catalog.register::<CounterFamily>(
            cells,
            &errors_options,
            error_labels,
            Some(ERRORS),
        )?;
        let callback = Callback::<V> {
            inner: Arc::new(Inner {
                name: options.name.clone(),
                label_names: if labeled {
                    options.labels.clone()
                } else {
                    Vec::new()
                },
                max_series: options.max_series,
                collect,
                errors,
                series: Mutex::new(Vec::new()),
            }),
        };
        catalog.register_made(cells, &options, labels, None, |_| Ok(callback))?;
        Ok(())
    }
}
