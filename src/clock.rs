//! The monotonic clock timers read.
//!
//! [`Clock::new`] is `quanta`'s clock: on x86-64 with an invariant TSC it
//! reads the time-stamp counter (`rdtsc`, about 7 ns a read on the machines
//! this crate is measured on, against about 25 ns for `Instant::now()`),
//! calibrated once against the OS monotonic clock at creation; elsewhere it
//! falls back to the OS monotonic clock. Readings are monotonic per clock and
//! converted to nanoseconds with the calibrated ratio; precision is one TSC
//! tick scaled (well under a nanosecond) plus the calibration error (quanta
//! calibrates to within a few parts per million).
//!
//! [`Clock::from_fn`] plugs in any nanosecond source, for tests and
//! simulations.
#![forbid(unsafe_code)]

use std::fmt;
// Not modelled under loom: the clock holds no shared mutable state.
use std::sync::Arc; // shim-exempt: immutable clock source

/// A monotonic clock (see the module docs). Cheap to clone.
#[derive(Clone)]
pub struct Clock {
    source: Source,
}

#[derive(Clone)]
enum Source {
    Quanta(quanta::Clock),
    Custom(Arc<dyn Fn() -> u64 + Send + Sync>),
}

impl Clock {
    /// The fastest calibrated monotonic clock of this machine.
    pub fn new() -> Clock {
        Clock {
            source: Source::Quanta(quanta::Clock::new()),
        }
    }

    /// A clock that reads `nanos()`: any monotonic nanosecond source (a
    /// mock in tests, simulated time).
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use std::sync::Arc;
    /// let now = Arc::new(AtomicU64::new(0));
    /// let clock = {
    ///     let now = now.clone();
    ///     hotmetrics::Clock::from_fn(move || now.load(Ordering::Relaxed))
    /// };
    /// let reg = hotmetrics::Registry::with_clock(clock);
    /// let h = reg.histogram("op", "Op time", hotmetrics::Unit::Nanoseconds).unwrap();
    /// let t = h.start_timer();
    /// now.store(1_500, Ordering::Relaxed);
    /// drop(t);
    /// assert_eq!(reg.collect().histogram("op").unwrap().max(), Some(1_500));
    /// ```
    pub fn from_fn(nanos: impl Fn() -> u64 + Send + Sync + 'static) -> Clock {
        Clock {
            source: Source::Custom(Arc::new(nanos)),
        }
    }

    /// A raw reading, only meaningful to [`nanos_between`](Self::nanos_between)
    /// on the same clock.
    #[inline(always)]
    pub fn raw(&self) -> u64 {
        match &self.source {
            Source::Quanta(c) => c.raw(),
            Source::Custom(f) => f(),
        }
    }

    /// Nanoseconds from raw reading `start` to raw reading `end` (0 if `end`
    /// is not after `start`).
    #[inline(always)]
    pub fn nanos_between(&self, start: u64, end: u64) -> u64 {
        match &self.source {
            Source::Quanta(c) => c.delta_as_nanos(start, end),
            Source::Custom(_) => end.saturating_sub(start),
        }
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.source {
            Source::Quanta(_) => "Clock(quanta)",
            Source::Custom(_) => "Clock(custom)",
        })
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn quanta_agrees_with_instant() {
        let clock = Clock::new();
        let (a, i) = (clock.raw(), Instant::now());
        std::thread::sleep(Duration::from_millis(20));
        let (b, j) = (clock.raw(), Instant::now());
        let ours = clock.nanos_between(a, b) as f64;
        let std = (j - i).as_nanos() as f64;
        assert!(
            (ours - std).abs() / std < 0.01,
            "quanta {ours} ns vs Instant {std} ns"
        );
        assert_eq!(clock.nanos_between(b, a), 0, "never negative");
    }
}
