//! Labeled metric families, state sets, and request telemetry built on them.
//!
//! A [`Family`] splits one metric into series by label values. Each series
//! is an ordinary [`Counter`](crate::Counter), [`Gauge`](crate::Gauge) or
//! [`Histogram`](crate::Histogram) with its own slots in the registry's
//! per-thread storage, found through a lock-free table (`map.rs`) and
//! bounded by a per-family cardinality limit.

#[allow(clippy::module_inception)]
mod family;
mod labels;
mod map;
mod response;
mod state_set;

pub(crate) use family::{overflow_labels, Eviction, SeriesCtx};
pub use family::{
    CounterFamily, Family, FloatGaugeFamily, GaugeFamily, HistogramFamily, SeriesRef,
    DEFAULT_MAX_SERIES, MAX_SERIES_LIMIT,
};
pub use labels::{LabelValue, Labels};
pub(crate) use map::Baseline;
pub use response::{
    default_classifier, CacheStatus, ErrorCategory, Outcome, ResponseOutcome, ResponseTracker,
};
pub use state_set::{StateSet, MAX_STATES};
