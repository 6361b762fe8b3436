//! [`CallbackSink`]: where a labeled callback metric writes its series at
//! collection, checked as they come.
#![forbid(unsafe_code)]

use crate::snapshot::{LabelSet, MetricValue};
use std::marker::PhantomData;

/// Why a callback's series was dropped: the `reason` label of the
/// `hotmetrics_callback_errors` family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dropped {
    /// Not one label value per label name.
    Labels,
    /// A label set given twice in one collection (the first is kept).
    Duplicate,
    /// Past the metric's series limit.
    Limit,
}

impl Dropped {
    pub(crate) const ALL: [Dropped; 3] = [Dropped::Labels, Dropped::Duplicate, Dropped::Limit];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Dropped::Labels => "labels",
            Dropped::Duplicate => "duplicate",
            Dropped::Limit => "limit",
        }
    }
}

/// Where a callback metric registered with label names
/// ([`Registry::counter_family_fn_with`](crate::Registry::counter_family_fn_with)
/// and siblings) writes its series, once per collection.
///
/// Each [`series`](Self::series) call gives one label value per label
/// name, in the order the metric declares them, and the series' value. A
/// series that cannot be kept is dropped, and counted in
/// `hotmetrics_callback_errors{metric="..",reason=".."}`: `reason="labels"`
/// for another number of label values than label names, `"duplicate"` for
/// a label set already given in this collection (the first value is kept),
/// `"limit"` past the metric's [`max_series`](crate::Options::max_series).
pub struct CallbackSink<'a, V> {
    label_names: &'a [String],
    max_series: usize,
    series: &'a mut Vec<(LabelSet, MetricValue)>,
    dropped: &'a mut [u64; 3],
    _value: PhantomData<fn(V)>,
}

impl<'a, V> CallbackSink<'a, V> {
    pub(crate) fn new(
        label_names: &'a [String],
        max_series: usize,
        series: &'a mut Vec<(LabelSet, MetricValue)>,
        dropped: &'a mut [u64; 3],
    ) -> Self {
        CallbackSink {
            label_names,
            max_series,
            series,
            dropped,
            _value: PhantomData,
        }
    }

    /// The metric's label names, in declared order.
    pub fn label_names(&self) -> &[String] {
        self.label_names
    }

    /// Counts a dropped series; `false`.
    fn drop_one(&mut self, why: Dropped) -> bool {
        self.dropped[why as usize] += 1;
        false
    }

    /// Adds series `values` with `value`; `false` if it was dropped (and
    /// counted). Duplicates are found after the callback returns.
    pub(crate) fn push<S: AsRef<str>>(&mut self, values: &[S], value: MetricValue) -> bool {
        if values.len() != self.label_names.len() {
            return self.drop_one(Dropped::Labels);
        }
        if self.series.len() >= self.max_series {
            return self.drop_one(Dropped::Limit);
        }
        let labels = LabelSet::new(
            self.label_names
                .iter()
                .zip(values)
                .map(|(k, v)| (k.as_str(), v.as_ref())),
        );
        self.series.push((labels, value));
        true
    }
}

macro_rules! sink_value {
    ($($ty:ty => $variant:ident),*) => {$(
        impl CallbackSink<'_, $ty> {
            /// Adds the series with label values `values` (one per label
            /// name, in declared order) and value `value`; `false` if it
            /// is dropped (see [`CallbackSink`]).
            pub fn series<S: AsRef<str>>(&mut self, values: &[S], value: $ty) -> bool {
                self.push(values, MetricValue::$variant(value))
            }
        }
    )*};
}

sink_value!(u64 => Counter, i64 => Gauge, f64 => FloatGauge);

impl<V> std::fmt::Debug for CallbackSink<'_, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackSink")
            .field("label_names", &self.label_names)
            .field("series", &self.series.len())
            .finish()
    }
}

/// Drops every series of `series` whose label set came before (keeping
/// the first of each), counting them in `dropped`. Leaves `series` sorted
/// by labels.
pub(crate) fn dedup(series: &mut Vec<(LabelSet, MetricValue)>, dropped: &mut [u64; 3]) {
    // Stable: among equal label sets the first pushed stays first.
    series.sort_by(|a, b| a.0.cmp(&b.0));
    let before = series.len();
    series.dedup_by(|later, first| later.0 == first.0);
    dropped[Dropped::Duplicate as usize] += (before - series.len()) as u64;
}
