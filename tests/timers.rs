//! Timers (guard, closure, future) and the on/off switch.
// `Waker::noop` (1.85) is newer than the crate's MSRV; the tests need a
// current toolchain anyway.
#![allow(clippy::incompatible_msrv)]

use hotmetrics::{Clock, Registry, Unit};
use hotmetrics_testkit::block_on;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// A clock that returns a settable time and counts how often it is read.
#[derive(Clone, Default)]
struct TestClock {
    now: Arc<AtomicU64>,
    reads: Arc<AtomicU64>,
}

impl TestClock {
    fn clock(&self) -> Clock {
        let this = self.clone();
        Clock::from_fn(move || {
            this.reads.fetch_add(1, Ordering::Relaxed);
            this.now.load(Ordering::Relaxed)
        })
    }
    fn advance(&self, nanos: u64) {
        self.now.fetch_add(nanos, Ordering::Relaxed);
    }
    fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }
}

/// A future that is pending `n` times, advancing the test clock each time.
struct Steps {
    left: u32,
    clock: TestClock,
}

impl Future for Steps {
    type Output = u32;
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        if self.left == 0 {
            return Poll::Ready(7);
        }
        self.left -= 1;
        self.clock.advance(1_000);
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[test]
fn real_sleep_is_measured_within_clock_precision() {
    let reg = Registry::new();
    let h = reg.histogram("sleep", "s", Unit::Nanoseconds).unwrap();
    let sleep = Duration::from_millis(20);
    let i = Instant::now();
    let t = h.start_timer();
    std::thread::sleep(sleep);
    let ours = t.stop().unwrap();
    let std = i.elapsed();
    assert!(ours >= sleep, "{ours:?} < {sleep:?}");
    // Ours is nested inside the Instant pair, so it is at most that long
    // (plus calibration error of a few ppm and the reads' own cost).
    let slack = std.as_nanos() / 100 + 2_000;
    assert!(
        ours.as_nanos() <= std.as_nanos() + slack,
        "{ours:?} vs {std:?}"
    );
    let recorded = reg.collect().histogram("sleep").unwrap().max().unwrap();
    let err = (recorded as f64 - ours.as_nanos() as f64).abs() / ours.as_nanos() as f64;
    assert!(
        err <= h.precision().relative_error(),
        "{recorded} vs {ours:?}"
    );
}

#[test]
fn guard_closure_stop_discard_with_a_test_clock() {
    let tc = TestClock::default();
    let reg = Registry::with_clock(tc.clock());
    let h = reg.histogram("op", "op", Unit::Nanoseconds).unwrap();
    {
        let _t = h.start_timer();
        tc.advance(100);
    }
    let v = h.time(|| {
        tc.advance(50);
        "done"
    });
    assert_eq!(v, "done");
    let t = h.start_timer();
    tc.advance(30);
    assert_eq!(t.elapsed(), Some(Duration::from_nanos(30)));
    assert_eq!(t.stop(), Some(Duration::from_nanos(30)));
    let t = h.start_timer();
    tc.advance(1_000_000);
    t.discard();
    let snap = reg.collect();
    let hist = snap.histogram("op").unwrap();
    assert_eq!(hist.count(), 3);
    assert_eq!(hist.sum(), 180);
    assert_eq!((hist.min(), hist.max()), (Some(30), Some(100)));
}

#[test]
fn coarser_units_are_converted() {
    let tc = TestClock::default();
    let reg = Registry::with_clock(tc.clock());
    let h = reg.histogram("op_us", "op", Unit::Microseconds).unwrap();
    h.time(|| tc.advance(2_500_000));
    assert_eq!(reg.collect().histogram("op_us").unwrap().max(), Some(2_500));
}

fn fails(h: &hotmetrics::Histogram, tc: &TestClock) -> Result<u32, String> {
    let _t = h.start_timer();
    tc.advance(10);
    let n: u32 = "x".parse().map_err(|_| "bad".to_string())?;
    tc.advance(1_000);
    Ok(n)
}

#[test]
fn guard_records_on_early_return_and_panic() {
    let tc = TestClock::default();
    let reg = Registry::with_clock(tc.clock());
    let h = reg.histogram("op", "op", Unit::Nanoseconds).unwrap();
    assert!(fails(&h, &tc).is_err());
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        h.time(|| {
            tc.advance(40);
            panic!("boom");
        })
    }));
    assert!(caught.is_err());
    let snap = reg.collect();
    let hist = snap.histogram("op").unwrap();
    assert_eq!(hist.count(), 2);
    assert_eq!((hist.min(), hist.max()), (Some(10), Some(40)));
}

#[test]
fn futures_from_first_poll_or_from_creation() {
    let tc = TestClock::default();
    let reg = Registry::with_clock(tc.clock());
    let h = reg.histogram("fut", "f", Unit::Nanoseconds).unwrap();
    let g = reg.histogram("fut_queued", "f", Unit::Nanoseconds).unwrap();

    let first_poll = h.time_future(Steps {
        left: 3,
        clock: tc.clone(),
    });
    let from_now = g.time_future_from_now(Steps {
        left: 3,
        clock: tc.clone(),
    });
    tc.advance(500); // queued before the first poll
    assert_eq!(block_on(first_poll), 7);
    assert_eq!(block_on(from_now), 7);
    let snap = reg.collect();
    assert_eq!(snap.histogram("fut").unwrap().max(), Some(3_000));
    // from creation: the 500 ns queued + its own 3 µs + the 3 µs the other
    // future advanced the shared clock while this one waited.
    assert_eq!(snap.histogram("fut_queued").unwrap().max(), Some(6_500));

    // Dropped before completion: the time until the drop is recorded.
    let mut cancelled = Box::pin(h.time_future(Steps {
        left: 5,
        clock: tc.clone(),
    }));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(cancelled.as_mut().poll(&mut cx).is_pending());
    drop(cancelled);
    assert_eq!(reg.collect().histogram("fut").unwrap().count(), 2);
}

#[test]
fn switched_off_records_nothing_and_reads_no_clock() {
    let tc = TestClock::default();
    let reg = Registry::with_clock(tc.clock());
    let h = reg.histogram("op", "op", Unit::Nanoseconds).unwrap();
    let c = reg.counter("n", "n").unwrap();
    assert!(reg.is_enabled());
    reg.set_enabled(false);
    assert!(!reg.is_enabled());
    let reads = tc.reads();
    {
        let _t = h.start_timer();
        tc.advance(10);
    }
    h.time(|| tc.advance(10));
    assert!(h.start_timer().stop().is_none());
    block_on(h.time_future(async {}));
    block_on(h.time_future_from_now(async {}));
    h.record(5);
    h.record_f64(f64::NAN);
    h.local().record(5);
    c.inc();
    c.local().add(3);
    assert_eq!(tc.reads(), reads, "the clock was read while switched off");
    let snap = reg.collect();
    assert_eq!(snap.histogram("op").unwrap().count(), 0);
    assert_eq!(snap.histogram("op").unwrap().invalid(), 0);
    assert_eq!(snap.counter("n"), Some(0));

    reg.set_enabled(true);
    h.time(|| tc.advance(10));
    c.inc();
    let snap = reg.collect();
    assert_eq!(snap.histogram("op").unwrap().count(), 1);
    assert_eq!(snap.counter("n"), Some(1));
}

#[test]
fn switching_from_many_threads_is_safe() {
    let reg = Registry::new();
    let c = reg.counter("n", "n").unwrap();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..100_000u64 {
                    c.inc();
                }
            });
        }
        s.spawn(|| {
            for i in 0..1_000 {
                reg.set_enabled(i % 2 == 1);
            }
            reg.set_enabled(true);
        });
    });
    let n = reg.collect().counter("n").unwrap();
    assert!(n <= 200_000);
    c.inc();
    assert_eq!(reg.collect().counter("n"), Some(n + 1));
}

/// A timer started on a temporary handle (`family.with(..)`), as a
/// handler would write it: the owned timer holds the handle itself.
#[test]
fn owned_timer_on_a_temporary_records_when_dropped_or_stopped() {
    use std::sync::LazyLock;
    let tc = TestClock::default();
    let reg = Registry::with_clock(tc.clock());
    let latency = reg
        .histogram_family(
            "item_duration",
            "Item latency",
            Unit::Nanoseconds,
            &["route"],
        )
        .unwrap();
    {
        let _t = latency.with(&("/item/:id",)).start_timer_owned();
        tc.advance(700);
    }
    let t = latency.with(&("/item/:id",)).start_timer_owned();
    tc.advance(300);
    assert_eq!(t.elapsed(), Some(Duration::from_nanos(300)));
    assert_eq!(t.stop(), Some(Duration::from_nanos(300)));
    latency.with(&("/item/:id",)).start_timer_owned().discard();
    // Owned, so it can outlive the scope that made it and cross threads.
    let t: hotmetrics::OwnedTimer = latency.with(&("/other",)).start_timer_owned();
    tc.advance(50);
    std::thread::spawn(move || drop(t)).join().unwrap();

    let snap = reg.collect();
    let item = snap
        .histogram_with("item_duration", &[("route", "/item/:id")])
        .unwrap();
    assert_eq!((item.count(), item.sum()), (2, 1_000));
    let other = snap
        .histogram_with("item_duration", &[("route", "/other")])
        .unwrap();
    assert_eq!((other.count(), other.sum()), (1, 50));

    // The line from the guide, on a family in a static.
    static LATENCY: LazyLock<hotmetrics::HistogramFamily<hotmetrics::Arity<1>>> =
        LazyLock::new(|| {
            hotmetrics::global()
                .histogram_family(
                    "owned_timer_static",
                    "Latency",
                    Unit::Nanoseconds,
                    &["route"],
                )
                .unwrap()
        });
    {
        let _t = LATENCY.with(&("/item/:id",)).start_timer_owned();
    }
    let n = hotmetrics::global()
        .collect()
        .histogram_with("owned_timer_static", &[("route", "/item/:id")])
        .map(|h| h.count());
    assert_eq!(n, Some(1));
}

/// While recording is off, an owned timer reads no clock and records
/// nothing, like the borrowing one.
#[test]
fn owned_timer_switched_off_reads_no_clock() {
    let tc = TestClock::default();
    let reg = Registry::with_clock(tc.clock());
    let h = reg.histogram("op", "op", Unit::Nanoseconds).unwrap();
    reg.set_enabled(false);
    let reads = tc.reads();
    assert!(h.clone().start_timer_owned().stop().is_none());
    drop(h.clone().start_timer_owned());
    assert_eq!(tc.reads(), reads);
    assert_eq!(reg.collect().histogram("op").unwrap().count(), 0);
}
