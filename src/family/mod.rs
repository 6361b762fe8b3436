//! Labeled metric families and state sets.
//!
//! A [`Family`] splits one metric into series by label values. Each series
//! is an ordinary [`Counter`](crate::Counter), [`Gauge`](crate::Gauge) or
//! [`Histogram`](crate::Histogram) with its own slots in the registry's
//! per-thread storage, found through a lock-free table (`map.rs`) and
//! bounded by a per-family cardinality limit. A [`FamilyPair`] looks a
//! label set up in two families at once (`group.rs`).
//!
//! A family is typed by the label sets it takes (`labels.rs`: [`Labels`],
//! [`LabelShape`]); the recording shortcuts and [`SeriesRef`] are in
//! `series_ref.rs`, the checked form of a [`Dyn`] family (label names known
//! only at run time) in `checked.rs`.

mod cell_binding;
mod checked;
mod evict;
#[allow(clippy::module_inception)]
mod family;
mod group;
mod label_hash;
mod label_words;
mod labels;
mod map;
mod series_ref;
mod state_set;
mod static_key;

pub(crate) use cell_binding::CellBinding;
pub use checked::LabelError;
pub(crate) use evict::CellAccess;
pub use family::{
    CounterFamily, Family, FloatGaugeFamily, GaugeFamily, HistogramFamily, DEFAULT_MAX_SERIES,
    MAX_SERIES_LIMIT,
};
pub(crate) use family::{Eviction, SeriesCtx, SeriesMetric};
pub(crate) use group::LabelIndex;
pub use group::{FamilyPair, PairError};
pub use labels::{
    Arity, Dyn, FixedShape, LabelShape, LabelValue, LabelValues, Labels, StaticStr, ToLabelValue,
    ValueBuf,
};
pub use series_ref::SeriesRef;
pub use state_set::{StateSet, MAX_STATES};
pub(crate) use static_key::key_words;
