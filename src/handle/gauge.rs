//! [`Gauge`] (`i64`) and [`FloatGauge`] (`f64`).

use crate::sync::{Arc, AtomicI64, AtomicU64, Ordering};
use crossbeam_utils::CachePadded;
use std::fmt;

/// A value that goes up and down: queue depth, open connections.
///
/// Unlike counters, a gauge is one shared cell (on its own cache line), not
/// per-thread cells: `set` must give a single last value, which a sum of
/// per-thread parts cannot express. Gauges are written far less often than
/// counters; `inc`/`dec`/`add` are one `fetch_add`.
///
/// ```
/// let reg = hotmetrics::Registry::new();
/// let open = reg.gauge("open_connections", "Connections open now").unwrap();
/// open.inc();
/// open.add(4);
/// open.dec();
/// assert_eq!(open.get(), 4);
/// open.set(-2);
/// assert_eq!(reg.collect().gauge("open_connections"), Some(-2));
/// ```
#[derive(Clone)]
pub struct Gauge {
    cell: Arc<CachePadded<AtomicI64>>,
}

// Relaxed throughout: a gauge is a single atomic location whose readers want
// its latest value, and no other data is published through it.
impl Gauge {
    pub(crate) fn new() -> Gauge {
        Gauge {
            cell: Arc::new(CachePadded::new(AtomicI64::new(0))),
        }
    }

    /// Sets the value.
    #[inline]
    pub fn set(&self, v: i64) {
        self.cell.store(v, Ordering::Relaxed);
    }
    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }
    /// Subtracts one.
    #[inline]
    pub fn dec(&self) {
        self.add(-1);
    }
    /// Adds `n` (wrapping).
    #[inline]
    pub fn add(&self, n: i64) {
        self.cell.fetch_add(n, Ordering::Relaxed);
    }
    /// Subtracts `n` (wrapping).
    #[inline]
    pub fn sub(&self, n: i64) {
        self.cell.fetch_sub(n, Ordering::Relaxed);
    }
    /// The current value.
    #[inline]
    pub fn get(&self) -> i64 {
        self.cell.load(Ordering::Relaxed)
    }
}

impl fmt::Debug for Gauge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gauge").field("value", &self.get()).finish()
    }
}

/// A gauge holding an `f64`: a ratio, a temperature, a load average.
///
/// ```
/// let reg = hotmetrics::Registry::new();
/// let ratio = reg.float_gauge("cache_fill_ratio", "Fraction of cache in use").unwrap();
/// ratio.set(0.25);
/// ratio.add(0.5);
/// assert_eq!(ratio.get(), 0.75);
/// ```
#[derive(Clone)]
pub struct FloatGauge {
    /// The value's bits (`f64::to_bits`).
    cell: Arc<CachePadded<AtomicU64>>,
}

impl FloatGauge {
    pub(crate) fn new() -> FloatGauge {
        FloatGauge {
            cell: Arc::new(CachePadded::new(AtomicU64::new(0f64.to_bits()))),
        }
    }

    /// Sets the value.
    #[inline]
    pub fn set(&self, v: f64) {
        self.cell.store(v.to_bits(), Ordering::Relaxed);
    }
    /// Adds `d` (a compare-and-swap loop; NaN propagates as in `f64`).
    #[inline]
    pub fn add(&self, d: f64) {
        // Relaxed: see `Gauge`. The CAS makes concurrent adds compose.
        let _ = self
            .cell
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + d).to_bits())
            });
    }
    /// Subtracts `d`.
    #[inline]
    pub fn sub(&self, d: f64) {
        self.add(-d);
    }
    /// The current value.
    #[inline]
    pub fn get(&self) -> f64 {
        f64::from_bits(self.cell.load(Ordering::Relaxed))
    }
}

impl fmt::Debug for FloatGauge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FloatGauge")
            .field("value", &self.get())
            .finish()
    }
}
