//! Labeled metric families and state sets.
//!
//! A [`Family`] splits one metric into series by label values. Each series
//! is an ordinary [`Counter`](crate::Counter), [`Gauge`](crate::Gauge) or
//! [`Histogram`](crate::Histogram) with its own slots in the registry's
//! per-thread storage, found through a lock-free table (`map.rs`) and
//! bounded by a per-family cardinality limit. A [`FamilyPair`] looks a
//! label set up in two families at once (`group.rs`).

mod evict;
#[allow(clippy::module_inception)]
mod family;
mod group;
mod labels;
mod map;
mod state_set;

pub(crate) use evict::CellAccess;
pub use family::{
    CounterFamily, Family, FloatGaugeFamily, GaugeFamily, HistogramFamily, SeriesRef,
    DEFAULT_MAX_SERIES, MAX_SERIES_LIMIT,
};
pub(crate) use family::{Eviction, SeriesCtx, SeriesMetric};
pub(crate) use group::LabelIndex;
pub use group::{FamilyPair, PairError};
pub use labels::{LabelValue, Labels};
pub use state_set::{StateSet, MAX_STATES};
