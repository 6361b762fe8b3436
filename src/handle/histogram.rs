//! [`Histogram`] and its thread-bound [`LocalHistogram`].

use super::registry_core::Core;
use crate::buckets::Precision;
use crate::descriptor::Unit;
use crate::storage::{OwnedCell, OwnedHistogram, SlotIndex};
use crate::sync::{Arc, Hold, PartKey};
use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

/// A distribution of `u64` or `f64` observations in a declared [`Unit`],
/// kept in log-linear buckets with bounded relative error (see
/// [`Precision`]).
///
/// Each thread records into its own lazily allocated bucket chunks; the
/// collector merges them. Quantiles, min, max, mean and sum come from the
/// [`HistogramSnapshot`](crate::HistogramSnapshot).
///
/// ```
/// use hotmetrics::{Registry, Unit};
/// let reg = Registry::new();
/// let latency = reg.histogram("request_duration", "Request latency", Unit::Nanoseconds).unwrap();
/// for v in 1..=1000 { latency.record(v * 1_000); }
/// latency.record_f64(f64::NAN); // counted as invalid, not recorded
/// let snap = reg.collect();
/// let h = snap.histogram("request_duration").unwrap();
/// assert_eq!(h.count(), 1000);
/// assert_eq!(h.invalid(), 1);
/// let p99 = h.quantile(0.99).unwrap() as f64;
/// assert!((p99 - 990_000.0).abs() / 990_000.0 <= 0.0079);
/// ```
#[derive(Clone)]
pub struct Histogram {
    pub(crate) core: Arc<Core>,
    slot: SlotIndex,
    /// What each thread caches its cells of `slot` under: new with every
    /// histogram (clones share it), and again when a family recycles the
    /// slot's cells ([`renamed`](Self::renamed)).
    key: PartKey,
    /// Counter slot for rejected `f64` observations.
    invalid: SlotIndex,
    precision: Precision,
    unit: Unit,
}

impl Histogram {
    pub(crate) fn new(
        core: Arc<Core>,
        slot: SlotIndex,
        invalid: SlotIndex,
        precision: Precision,
        unit: Unit,
    ) -> Histogram {
        Histogram {
            core,
            slot,
            key: PartKey::new(),
            invalid,
            precision,
            unit,
        }
    }

    pub(crate) fn slot(&self) -> SlotIndex {
        self.slot
    }

    pub(crate) fn invalid_slot(&self) -> SlotIndex {
        self.invalid
    }

    /// The same histogram under a new key: what a family recycles once the
    /// slot's cells were released (see `Storage::with_histogram`).
    pub(crate) fn renamed(&self) -> Histogram {
        Histogram {
            key: PartKey::new(),
            ..self.clone()
        }
    }

    /// Runs `f` with this thread's cells of the histogram.
    #[inline(always)]
    fn with_cells(&self, f: impl FnOnce(OwnedHistogram<'_>)) {
        // SAFETY: `key` names this histogram's slot only (made with it, and
        // shared only by clones of it). Its cells are released only for a
        // family's reclaimed series, which nothing records into any more;
        // the family recycles the histogram `renamed`.
        unsafe {
            (self.core.storage).with_histogram(self.key, &self.slot, &self.precision, f);
        }
    }

    /// Records one observation of `value` (in the histogram's unit). Does
    /// nothing while recording is switched off.
    #[inline(always)]
    pub fn record(&self, value: u64) {
        if self.core.enabled() {
            let precision = self.precision;
            self.with_cells(
                #[inline(always)]
                move |cells| cells.record(precision, value),
            );
        }
    }

    /// As [`record`](Self::record), through the cells' last-chunk cache:
    /// for timers, whose consecutive durations mostly share a chunk.
    #[inline(always)]
    pub(crate) fn record_clustered(&self, value: u64) {
        if self.core.enabled() {
            let precision = self.precision;
            self.with_cells(move |cells| cells.record_clustered(precision, value));
        }
    }

    /// Records `value` as it is, without rounding: negative values, zero,
    /// subnormals, any finite value, and the infinities (in the outermost
    /// buckets). NaN is not recorded but counted in
    /// [`invalid`](crate::HistogramSnapshot::invalid). Does nothing while
    /// recording is switched off.
    ///
    /// ```
    /// use hotmetrics::{Registry, Unit};
    /// let reg = Registry::new();
    /// let h = reg.histogram("request_latency", "Latency", Unit::Seconds).unwrap();
    /// for v in [0.004, 0.25, 1.7, 3.2] {
    ///     h.record_f64(v);
    /// }
    /// let snap = reg.collect();
    /// let h = snap.histogram("request_latency").unwrap();
    /// assert_eq!(h.sum_f64(), 5.154);
    /// assert_eq!(h.min_f64(), Some(0.004));
    /// ```
    #[inline]
    pub fn record_f64(&self, value: f64) {
        if !self.core.enabled() {
            return;
        }
        if value.is_nan() {
            let invalid = self.invalid;
            self.core
                .storage
                .with_shard(move |shard| shard.counter(invalid).add(1));
        } else {
            let precision = self.precision;
            self.with_cells(
                #[inline(always)]
                move |cells| cells.record_f64(precision, value),
            );
        }
    }

    /// Records a duration, converted to the histogram's unit (nanoseconds if
    /// the unit is not a time unit).
    #[inline]
    pub fn record_duration(&self, d: Duration) {
        self.record(self.unit.from_duration(d));
    }

    /// The unit observations are recorded in.
    pub fn unit(&self) -> Unit {
        self.unit
    }

    /// The bucket precision.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// A handle bound to this thread's cells: skips the per-thread lookup.
    /// `!Send`; the collector sees its records without any flush.
    pub fn local(&self) -> LocalHistogram<'_> {
        let (hold, shard) = self.core.storage.hold_shard();
        LocalHistogram {
            core: &self.core,
            cells: shard.histogram(self.slot, self.precision),
            invalid: shard.counter(self.invalid),
            precision: self.precision,
            unit: self.unit,
            _hold: hold,
            _not_send: PhantomData,
        }
    }
}

impl fmt::Debug for Histogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Histogram")
            .field("slot", &self.slot.get())
            .field("precision", &self.precision)
            .field("unit", &self.unit)
            .finish()
    }
}

/// A [`Histogram`] handle bound to the current thread's cells (see
/// [`Histogram::local`]).
pub struct LocalHistogram<'a> {
    core: &'a Core,
    cells: OwnedHistogram<'a>,
    invalid: OwnedCell<'a>,
    precision: Precision,
    unit: Unit,
    /// Keeps the cells this thread's while the handle lives, also if it is
    /// used by a thread-local destructor after the thread's exit guard ran.
    _hold: Hold,
    /// `!Send` and `!Sync`: the cells must only be written by their thread.
    _not_send: PhantomData<*const ()>,
}

impl LocalHistogram<'_> {
    /// Records one observation of `value`. Does nothing while recording is
    /// switched off.
    #[inline(always)]
    pub fn record(&self, value: u64) {
        if self.core.enabled() {
            self.cells.record(self.precision, value);
        }
    }

    /// As [`Histogram::record_f64`].
    #[inline]
    pub fn record_f64(&self, value: f64) {
        if !self.core.enabled() {
            return;
        }
        if value.is_nan() {
            self.invalid.add(1);
        } else {
            self.cells.record_f64(self.precision, value);
        }
    }

    /// As [`Histogram::record_duration`].
    #[inline]
    pub fn record_duration(&self, d: Duration) {
        self.record(self.unit.from_duration(d));
    }
}

impl fmt::Debug for LocalHistogram<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LocalHistogram { .. }")
    }
}
