//! [`Options`]: what a registration asks for besides the metric's kind.
#![forbid(unsafe_code)]

use crate::buckets::Precision;
use crate::descriptor::{BucketsError, ClassicBuckets, Unit};
use crate::family::{DEFAULT_MAX_SERIES, MAX_SERIES_LIMIT};
use crate::snapshot::LabelSet;

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
    pub(super) name: String,
    pub(super) help: String,
    pub(super) unit: Unit,
    pub(super) precision: Precision,
    /// Classic bucket bounds, for histograms; an error is reported by the
    /// registration.
    pub(super) buckets: Option<Result<ClassicBuckets, BucketsError>>,
    /// Label names for a family, states for a state set.
    pub(super) labels: Vec<String>,
    pub(super) max_series: usize,
    pub(super) evict_after: u32,
    /// Labels on every series, from the registry view registering it
    /// ([`Registry::with_const_labels`](crate::Registry::with_const_labels)).
    pub(super) const_labels: LabelSet,
}

impl Options {
    /// Options for a metric called `name` with help text `help`.
    pub fn new(name: impl Into<String>, help: impl Into<String>) -> Options {
        Options {
            name: name.into(),
            help: help.into(),
            unit: Unit::None,
            precision: Precision::DEFAULT,
            buckets: None,
            labels: Vec::new(),
            max_series: DEFAULT_MAX_SERIES,
            evict_after: 0,
            const_labels: LabelSet::empty(),
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

    /// The `le` bounds of this histogram's classic buckets in the
    /// Prometheus and OpenMetrics text, in the **exported** unit (seconds
    /// for a histogram recorded in nanoseconds); `+Inf` is always added.
    /// Finite, strictly increasing and at least one, or the registration
    /// fails with [`RegistryError::InvalidBuckets`](crate::RegistryError::InvalidBuckets).
    /// Default: [`ClassicBuckets::default_for`] the unit. Ignored by other
    /// kinds of metric. `le` is inclusive (see [`ClassicBuckets`]).
    ///
    /// A histogram registered again with other bounds is refused
    /// ([`Conflict::Buckets`](crate::Conflict::Buckets)); registered again
    /// without any, it is found as it is. An exporter's
    /// [`TextOptions::buckets_for`](crate::export::TextOptions::buckets_for)
    /// or `summary_for` this metric overrides the bounds; its
    /// [`TextOptions::buckets`](crate::export::TextOptions::buckets) for
    /// every histogram does not.
    ///
    /// ```
    /// use hotmetrics::{Options, Registry, RegistryError, Unit};
    /// let reg = Registry::new();
    /// let h = reg
    ///     .histogram_with(
    ///         Options::new("lookup_duration", "Cache lookups")
    ///             .unit(Unit::Nanoseconds)
    ///             .buckets(&[100e-9, 1e-6, 10e-6]),
    ///     )
    ///     .unwrap();
    /// h.record(1_000); // exactly 1 µs: on a bound (`le` is inclusive)
    /// let text = hotmetrics::export::prometheus::render(&reg.collect());
    /// assert!(text.contains("lookup_duration_seconds_bucket{le=\"0.00001\"} 1\n"));
    ///
    /// let bad = reg.histogram_with(Options::new("sizes", "Sizes").buckets(&[10.0, 1.0]));
    /// assert!(matches!(bad, Err(RegistryError::InvalidBuckets { .. })));
    /// ```
    pub fn buckets(mut self, le: &[f64]) -> Options {
        self.buckets = Some(ClassicBuckets::new(le));
        self
    }
}
