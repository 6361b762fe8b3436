//! The handles behind the `metrics::Counter`, `Gauge` and `Histogram` the
//! recorder returns, and what each `metrics` kind registers as.
#![forbid(unsafe_code)]

use super::naming::Kind;
use crate::descriptor::MetricKind;
use crate::family::Family;
use crate::handle::{Counter, FloatGauge, Histogram};
use crate::registry::{Options, Registry, RegistryError};
use crate::sync::{AtomicU64, Ordering};
use metrics::{CounterFn, GaugeFn, HistogramFn};

/// A `metrics` counter: a hotmetrics [`Counter`] (of a plain metric or
/// bound to a family's series).
pub(crate) struct CounterHandle {
    counter: Counter,
    /// Byte multiples become bytes: each increment times this.
    scale: u64,
    /// The largest value given to `absolute` so far.
    absolute: AtomicU64,
}

impl CounterFn for CounterHandle {
    #[inline]
    fn increment(&self, value: u64) {
        self.counter.add(value.saturating_mul(self.scale));
    }

    /// Raises the counter to `value` if `value` is larger than every
    /// earlier `absolute`: the counter holds the sum of the increments and
    /// the largest absolute value (exactly the absolute value when only
    /// `absolute` is used, the usual case: mirroring a count kept
    /// elsewhere).
    fn absolute(&self, value: u64) {
        let value = value.saturating_mul(self.scale);
        // Relaxed: the maximum is the only data; the read-modify-write makes
        // concurrent calls add exactly the growth of the maximum between
        // them.
        let before = self.absolute.fetch_max(value, Ordering::Relaxed);
        if value > before {
            self.counter.add(value - before);
        }
    }
}

/// A `metrics` gauge: a [`FloatGauge`].
pub(crate) struct GaugeHandle {
    gauge: FloatGauge,
    scale: f64,
}

impl GaugeFn for GaugeHandle {
    #[inline]
    fn increment(&self, value: f64) {
        self.gauge.add(value * self.scale);
    }

    #[inline]
    fn decrement(&self, value: f64) {
        self.gauge.sub(value * self.scale);
    }

    #[inline]
    fn set(&self, value: f64) {
        self.gauge.set(value * self.scale);
    }
}

/// A `metrics` histogram: a [`Histogram`] fed `value × scale`, as it is.
pub(crate) struct HistogramHandle {
    histogram: Histogram,
    scale: f64,
}

impl HistogramFn for HistogramHandle {
    /// Recorded without rounding; NaN is counted as invalid (see
    /// [`Histogram::record_f64`]).
    #[inline]
    fn record(&self, value: f64) {
        self.histogram.record_f64(value * self.scale);
    }
}

/// What one `metrics` kind registers as in a [`Registry`], and the handle
/// recording into it.
pub(crate) trait FacadeKind: 'static {
    /// The hotmetrics metric of a plain metric or of a family's series.
    type Metric: Clone + Send + Sync + 'static;
    /// What `metrics` handles point at.
    type Handle: Send + Sync + 'static;
    /// Which `metrics` kind.
    const KIND: Kind;
    /// The registry's kind.
    const METRIC_KIND: MetricKind;
    /// A handle recording `value × scale` into `metric`.
    fn handle(metric: Self::Metric, scale: f64) -> Self::Handle;
    /// Registers (or finds) a plain metric, as a shape of its name (see
    /// `Registry::register_shape`).
    fn plain(registry: &Registry, options: Options) -> Result<Self::Metric, RegistryError>;
    /// Registers (or finds) a family, as a shape of its name.
    fn family(registry: &Registry, options: Options)
        -> Result<Family<Self::Metric>, RegistryError>;
}

/// `metrics::counter!`.
pub(crate) struct CounterKind;
/// `metrics::gauge!`.
pub(crate) struct GaugeKind;
/// `metrics::histogram!`.
pub(crate) struct HistogramKind;

impl FacadeKind for CounterKind {
    type Metric = Counter;
    type Handle = CounterHandle;
    const KIND: Kind = Kind::Counter;
    const METRIC_KIND: MetricKind = MetricKind::Counter;

    fn handle(counter: Counter, scale: f64) -> CounterHandle {
        CounterHandle {
            counter,
            // Scales of counters are whole (1 or a power of 1024).
            scale: scale as u64,
            absolute: AtomicU64::new(0),
        }
    }

    fn plain(registry: &Registry, options: Options) -> Result<Counter, RegistryError> {
        registry.register_shape::<Counter>(options)
    }

    fn family(registry: &Registry, options: Options) -> Result<Family<Counter>, RegistryError> {
        registry.register_shape::<Family<Counter>>(options)
    }
}

impl FacadeKind for GaugeKind {
    type Metric = FloatGauge;
    type Handle = GaugeHandle;
    const KIND: Kind = Kind::Gauge;
    const METRIC_KIND: MetricKind = MetricKind::FloatGauge;

    fn handle(gauge: FloatGauge, scale: f64) -> GaugeHandle {
        GaugeHandle { gauge, scale }
    }

    fn plain(registry: &Registry, options: Options) -> Result<FloatGauge, RegistryError> {
        registry.register_shape::<FloatGauge>(options)
    }

    fn family(registry: &Registry, options: Options) -> Result<Family<FloatGauge>, RegistryError> {
        registry.register_shape::<Family<FloatGauge>>(options)
    }
}

impl FacadeKind for HistogramKind {
    type Metric = Histogram;
    type Handle = HistogramHandle;
    const KIND: Kind = Kind::Histogram;
    const METRIC_KIND: MetricKind = MetricKind::Histogram;

    fn handle(histogram: Histogram, scale: f64) -> HistogramHandle {
        HistogramHandle { histogram, scale }
    }

    fn plain(registry: &Registry, options: Options) -> Result<Histogram, RegistryError> {
        registry.register_shape::<Histogram>(options)
    }

    fn family(registry: &Registry, options: Options) -> Result<Family<Histogram>, RegistryError> {
        registry.register_shape::<Family<Histogram>>(options)
    }
}
