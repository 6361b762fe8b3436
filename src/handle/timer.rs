//! Latency timers on a [`Histogram`]: a guard ([`Timer`], or
//! [`OwnedTimer`] to start on a temporary handle), a closure form
//! ([`Histogram::time`]) and a future wrapper ([`TimedFuture`]).
//!
//! All three read the registry's [`Clock`](crate::Clock) twice and record the
//! elapsed time in the histogram's unit (nanoseconds are converted when the
//! unit is coarser). While recording is switched off they do not read the
//! clock at all.

use super::Histogram;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

impl Histogram {
    /// Starts a timer that records the elapsed time when dropped: at the end
    /// of the scope, on early `return` or `?`, and during a panic's unwind.
    ///
    /// ```
    /// use hotmetrics::{Registry, Unit};
    /// let reg = Registry::new();
    /// let h = reg.histogram("step_duration", "Step latency", Unit::Nanoseconds).unwrap();
    /// {
    ///     let _t = h.start_timer();
    ///     // work
    /// }
    /// let t = h.start_timer();
    /// let elapsed = t.stop(); // records now, returns the duration
    /// assert!(elapsed.is_some());
    /// h.start_timer().discard(); // records nothing
    /// assert_eq!(reg.collect().histogram("step_duration").unwrap().count(), 2);
    /// ```
    #[inline]
    pub fn start_timer(&self) -> Timer<'_> {
        Timer {
            histogram: self,
            start: self.start_raw(),
        }
    }

    /// Like [`start_timer`](Self::start_timer), but the timer owns the
    /// handle: it can be started on a temporary, such as the series handle
    /// [`Family::with`](crate::Family::with) returns, kept past the
    /// handle's scope, or sent to another thread.
    ///
    /// It takes `self`, so no reference count is touched: the handle a
    /// lookup returned moves into the timer (clone a handle you keep).
    ///
    /// ```
    /// use hotmetrics::{Registry, Unit};
    /// let reg = Registry::new();
    /// let latency = reg
    ///     .histogram_family("item_duration", "Item latency", Unit::Nanoseconds, &["route"])
    ///     .unwrap();
    /// {
    ///     // `latency.with(..).start_timer()` would borrow a temporary (E0716).
    ///     let _t = latency.with(&("/item/:id",)).start_timer_owned();
    ///     // work
    /// }
    /// let snap = reg.collect();
    /// assert_eq!(snap.histogram_with("item_duration", &[("route", "/item/:id")]).unwrap().count(), 1);
    /// ```
    #[inline]
    pub fn start_timer_owned(self) -> OwnedTimer {
        let start = self.start_raw();
        OwnedTimer {
            histogram: self,
            start,
        }
    }

    /// A raw clock reading to time from, or `None` (and no clock read) while
    /// recording is off.
    #[inline(always)]
    pub(crate) fn start_raw(&self) -> Option<u64> {
        self.core.enabled().then(|| self.core.clock.raw())
    }

    /// Runs `f`, records how long it took (also if it panics), and returns
    /// its value.
    ///
    /// ```
    /// use hotmetrics::{Registry, Unit};
    /// let reg = Registry::new();
    /// let h = reg.histogram("parse_duration", "Parse latency", Unit::Nanoseconds).unwrap();
    /// let n: u32 = h.time(|| "42".parse().unwrap());
    /// assert_eq!(n, 42);
    /// assert_eq!(reg.collect().histogram("parse_duration").unwrap().count(), 1);
    /// ```
    #[inline]
    pub fn time<T>(&self, f: impl FnOnce() -> T) -> T {
        let _timer = self.start_timer();
        f()
    }

    /// Wraps `future` so that the wall time from its **first poll** to
    /// completion is recorded: time spent waiting to be first polled is not
    /// counted (see [`time_future_from_now`](Self::time_future_from_now) for
    /// that). If the future is dropped before completing (cancelled, or a
    /// panic in `poll`), the time until the drop is recorded.
    ///
    /// ```
    /// use hotmetrics::{Registry, Unit};
    /// let reg = Registry::new();
    /// let h = reg.histogram("fetch_duration", "Fetch latency", Unit::Nanoseconds).unwrap();
    /// let fut = h.time_future(async { 7 });
    /// # let v = futures_lite_block_on(fut);
    /// # fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     use std::task::{Context, Poll, Waker};
    /// #     let mut f = std::pin::pin!(f);
    /// #     let mut cx = Context::from_waker(Waker::noop());
    /// #     loop { if let Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
    /// # }
    /// assert_eq!(v, 7);
    /// assert_eq!(reg.collect().histogram("fetch_duration").unwrap().count(), 1);
    /// ```
    pub fn time_future<F: Future>(&self, future: F) -> TimedFuture<F> {
        TimedFuture {
            future,
            histogram: self.clone(),
            start: None,
            started: false,
        }
    }

    /// Like [`time_future`](Self::time_future), but the clock starts now,
    /// so time spent queued before the first poll is included.
    pub fn time_future_from_now<F: Future>(&self, future: F) -> TimedFuture<F> {
        TimedFuture {
            future,
            histogram: self.clone(),
            start: self.core.enabled().then(|| self.core.clock.raw()),
            started: true,
        }
    }

    /// Records the time since raw clock reading `start`; returns it in
    /// nanoseconds (the `Duration` is made only by callers that want it).
    ///
    /// Out of line so that callers inline only the on/off check: inlined,
    /// this body made a disabled timer pay for a stack frame and register
    /// saves (3 ns instead of one load and a branch).
    #[inline(never)]
    pub(crate) fn record_since(&self, start: u64) -> u64 {
        let clock = &self.core.clock;
        let nanos = clock.nanos_between(start, clock.raw());
        self.record_clustered(self.unit().nanos_to_unit(nanos));
        nanos
    }
}

/// Records the time since it was started into a [`Histogram`] when dropped
/// (see [`Histogram::start_timer`]).
#[must_use = "a timer records when dropped; bind it (`let _t = ...`) to time a scope"]
pub struct Timer<'a> {
    histogram: &'a Histogram,
    /// Raw clock reading; `None` if recording was off when it started.
    start: Option<u64>,
}

impl Timer<'_> {
    /// Records now and returns the elapsed time (`None` if recording was
    /// switched off when the timer started).
    pub fn stop(mut self) -> Option<Duration> {
        self.start
            .take()
            .map(|s| Duration::from_nanos(self.histogram.record_since(s)))
    }

    /// Drops the timer without recording.
    pub fn discard(mut self) {
        self.start = None;
    }

    /// Time elapsed so far, without recording.
    pub fn elapsed(&self) -> Option<Duration> {
        let clock = &self.histogram.core.clock;
        self.start
            .map(|s| Duration::from_nanos(clock.nanos_between(s, clock.raw())))
    }
}

impl Drop for Timer<'_> {
    #[inline]
    fn drop(&mut self) {
        if let Some(start) = self.start.take() {
            self.histogram.record_since(start);
        }
    }
}

impl fmt::Debug for Timer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer")
            .field("running", &self.start.is_some())
            .finish()
    }
}

/// A [`Timer`] that owns its [`Histogram`] handle instead of borrowing it
/// (see [`Histogram::start_timer_owned`]): `'static`, `Send`, and it can be
/// started on a temporary.
#[must_use = "a timer records when dropped; bind it (`let _t = ...`) to time a scope"]
pub struct OwnedTimer {
    histogram: Histogram,
    /// Raw clock reading; `None` if recording was off when it started.
    start: Option<u64>,
}

impl OwnedTimer {
    /// Records now and returns the elapsed time (`None` if recording was
    /// switched off when the timer started).
    pub fn stop(mut self) -> Option<Duration> {
        self.start
            .take()
            .map(|s| Duration::from_nanos(self.histogram.record_since(s)))
    }

    /// Drops the timer without recording.
    pub fn discard(mut self) {
        self.start = None;
    }

    /// Time elapsed so far, without recording.
    pub fn elapsed(&self) -> Option<Duration> {
        let clock = &self.histogram.core.clock;
        self.start
            .map(|s| Duration::from_nanos(clock.nanos_between(s, clock.raw())))
    }
}

impl Drop for OwnedTimer {
    #[inline]
    fn drop(&mut self) {
        if let Some(start) = self.start.take() {
            self.histogram.record_since(start);
        }
    }
}

impl fmt::Debug for OwnedTimer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedTimer")
            .field("running", &self.start.is_some())
            .finish()
    }
}

pin_project_lite::pin_project! {
    /// A future that records its run time into a [`Histogram`]
    /// (see [`Histogram::time_future`]).
    #[must_use = "futures do nothing unless polled"]
    pub struct TimedFuture<F> {
        #[pin]
        future: F,
        histogram: Histogram,
        start: Option<u64>,
        started: bool,
    }

    impl<F> PinnedDrop for TimedFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            // Dropped before completion: record the time until now.
            if let Some(start) = this.start.take() {
                this.histogram.record_since(start);
            }
        }
    }
}

impl<F: Future> Future for TimedFuture<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        if !*this.started {
            // First poll of a future timed from its first poll.
            *this.started = true;
            if this.histogram.core.enabled() {
                *this.start = Some(this.histogram.core.clock.raw());
            }
        }
        let out = this.future.poll(cx);
        if out.is_ready() {
            if let Some(start) = this.start.take() {
                this.histogram.record_since(start);
            }
        }
        out
    }
}

impl<F> fmt::Debug for TimedFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimedFuture")
            .field("running", &self.start.is_some())
            .finish()
    }
}
