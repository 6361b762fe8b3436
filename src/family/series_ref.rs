//! [`SeriesRef`], what a dynamic lookup finds, and the shortcuts that
//! record through one (`family.inc(&labels)`, `family.record(&labels, v)`).
#![forbid(unsafe_code)]

use super::cell_binding::NotNan;
use super::family::Family;
use super::labels::{LabelShape, Labels};
use crate::handle::{Counter, FloatGauge, Gauge, Histogram};
use crate::sync::Guard;
use std::fmt;
use std::time::Duration;

/// The series a dynamic lookup found ([`Family::get`]), to record into at
/// once. It derefs to nothing on purpose: a metric handle kept beyond the
/// lookup must come from [`Family::with`], which keeps its series from
/// being evicted.
#[must_use = "a series reference does nothing until recorded into"]
pub struct SeriesRef<'a, M> {
    metric: &'a M,
    _guard: Option<Guard<'a>>,
}

impl<'a, M> SeriesRef<'a, M> {
    #[inline(always)]
    pub(super) fn new(metric: &'a M, guard: Option<Guard<'a>>) -> SeriesRef<'a, M> {
        SeriesRef {
            metric,
            _guard: guard,
        }
    }
}

impl<M> fmt::Debug for SeriesRef<'_, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SeriesRef { .. }")
    }
}

impl SeriesRef<'_, Counter> {
    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.metric.inc();
    }
    /// Adds `n`.
    #[inline]
    pub fn add(&self, n: u64) {
        self.metric.add(n);
    }
}

impl SeriesRef<'_, Histogram> {
    /// As [`Histogram::record`].
    #[inline]
    pub fn record(&self, value: u64) {
        self.metric.record(value);
    }
    /// As [`Histogram::record_duration`].
    #[inline]
    pub fn record_duration(&self, d: Duration) {
        self.metric.record_duration(d);
    }
    /// As [`Histogram::record_f64`].
    #[inline]
    pub fn record_f64(&self, value: f64) {
        self.metric.record_f64(value);
    }
}

impl SeriesRef<'_, Gauge> {
    /// As [`Gauge::set`].
    #[inline]
    pub fn set(&self, v: i64) {
        self.metric.set(v);
    }
    /// As [`Gauge::add`].
    #[inline]
    pub fn add(&self, n: i64) {
        self.metric.add(n);
    }
    /// As [`Gauge::get`].
    #[inline]
    pub fn get(&self) -> i64 {
        self.metric.get()
    }
}

impl SeriesRef<'_, FloatGauge> {
    /// As [`FloatGauge::set`].
    #[inline]
    pub fn set(&self, v: f64) {
        self.metric.set(v);
    }
    /// As [`FloatGauge::add`].
    #[inline]
    pub fn add(&self, d: f64) {
        self.metric.add(d);
    }
    /// As [`FloatGauge::get`].
    #[inline]
    pub fn get(&self) -> f64 {
        self.metric.get()
    }
}

// The shortcuts below look the label set up on every call, as
// `Family::get`. In a `Dyn` family, a label set with another number of
// values than the family has names records nothing and is counted in
// `hotmetrics_label_arity_errors{metric="<name>"}` (use `try_get` for a
// `Result` instead).

impl<S: LabelShape> Family<Counter, S> {
    /// Adds one to the series of `labels`.
    #[inline]
    pub fn inc<L: Labels<S> + ?Sized>(&self, labels: &L) {
        self.add(labels, 1);
    }

    /// Adds `n` to the series of `labels`.
    #[inline]
    pub fn add<L: Labels<S> + ?Sized>(&self, labels: &L, n: u64) {
        if self.record_bound(labels, n, 0_u64) {
            return;
        }
        if let Some(series) = self.lookup(labels) {
            series.add(n);
        }
    }
}

impl<S: LabelShape> Family<Histogram, S> {
    /// Records `value` into the series of `labels`.
    #[inline]
    pub fn record<L: Labels<S> + ?Sized>(&self, labels: &L, value: u64) {
        if self.record_bound(labels, 0, value) {
            return;
        }
        if let Some(series) = self.lookup(labels) {
            series.record(value);
        }
    }

    /// Records a duration into the series of `labels` (see
    /// [`Histogram::record_duration`]).
    #[inline]
    pub fn record_duration<L: Labels<S> + ?Sized>(&self, labels: &L, d: Duration) {
        self.record(labels, self.unit_of_series().from_duration(d));
    }

    /// Records a float into the series of `labels` (see
    /// [`Histogram::record_f64`]).
    #[inline]
    pub fn record_f64<L: Labels<S> + ?Sized>(&self, labels: &L, value: f64) {
        // A NaN is counted in the series' `invalid`, through its handle.
        if NotNan::new(value).is_some_and(|v| self.record_bound(labels, 0, v)) {
            return;
        }
        if let Some(series) = self.lookup(labels) {
            series.record_f64(value);
        }
    }
}

impl<S: LabelShape> Family<Gauge, S> {
    /// Sets the series of `labels` to `v`.
    #[inline]
    pub fn set<L: Labels<S> + ?Sized>(&self, labels: &L, v: i64) {
        if let Some(series) = self.lookup(labels) {
            series.set(v);
        }
    }

    /// Adds `n` to the series of `labels`.
    #[inline]
    pub fn add<L: Labels<S> + ?Sized>(&self, labels: &L, n: i64) {
        if let Some(series) = self.lookup(labels) {
            series.add(n);
        }
    }
}

impl<S: LabelShape> Family<FloatGauge, S> {
    /// Sets the series of `labels` to `v`.
    #[inline]
    pub fn set<L: Labels<S> + ?Sized>(&self, labels: &L, v: f64) {
        if let Some(series) = self.lookup(labels) {
            series.set(v);
        }
    }

    /// Adds `d` to the series of `labels`.
    #[inline]
    pub fn add<L: Labels<S> + ?Sized>(&self, labels: &L, d: f64) {
        if let Some(series) = self.lookup(labels) {
            series.add(d);
        }
    }
}
