//! Guarantee 2: every snapshot's histograms are internally consistent while
//! writers keep recording, and totals never go backwards.

use hotmetrics::{Precision, Registry, Unit};
use std::sync::atomic::{AtomicBool, Ordering};

#[test]
fn snapshots_under_concurrent_writers_are_consistent() {
    let reg = Registry::new();
    let h = reg.histogram("lat", "Latency", Unit::Nanoseconds).unwrap();
    let c = reg.counter("ops", "Operations").unwrap();
    let stop = AtomicBool::new(false);
    /// Stops the writers even when an assertion fails, so a failure fails
    /// the test instead of hanging it.
    struct StopOnDrop<'a>(&'a AtomicBool);
    impl Drop for StopOnDrop<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let snapshots = if cfg!(miri) {
        10
    } else if cfg!(hotmetrics_tsan) {
        300
    } else {
        3_000
    };
    std::thread::scope(|s| {
        for t in 0..2u64 {
            let (h, c, stop) = (&h, &c, &stop);
            s.spawn(move || {
                // Small exact values and large ones spread over many chunks,
                // each snapped to its bucket's lower bound: then a sum that
                // belongs to the observations in the buckets is exactly
                // Σ count × lower bound, and any torn read shows.
                let p = Precision::DEFAULT;
                let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ t;
                while !stop.load(Ordering::Relaxed) {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let v = if x & 1 == 0 { x % 100 } else { x >> (x % 40) };
                    h.record(p.lower_bound(p.index(v)));
                    c.inc();
                }
            });
        }
        let _stop = StopOnDrop(&stop);
        let p = Precision::DEFAULT;
        let mut last_count = 0;
        let mut last_ops = 0;
        for _ in 0..snapshots {
            let snap = reg.collect();
            let hist = snap.histogram("lat").unwrap();
            let buckets: Vec<_> = hist.buckets().collect();
            let in_buckets: u64 = buckets.iter().map(|b| b.count).sum();
            assert_eq!(hist.count(), in_buckets, "count == Σ buckets");
            // The sum belongs to exactly the observations in the buckets.
            let want: u128 = buckets
                .iter()
                .map(|b| u128::from(b.count) * u128::from(b.lower))
                .sum();
            assert_eq!(hist.sum(), want, "sum of the observations counted");
            if let (Some(min), Some(max), Some(first), Some(last)) =
                (hist.min(), hist.max(), buckets.first(), buckets.last())
            {
                assert!(
                    first.lower <= min && min <= first.upper,
                    "min in lowest bucket"
                );
                assert!(
                    last.lower <= max && max <= last.upper,
                    "max in highest bucket"
                );
                let (q50, q99) = (hist.quantile(0.5).unwrap(), hist.quantile(0.99).unwrap());
                assert!(min <= q50 && q50 <= q99 && q99 <= max);
                assert_eq!(p.index(min), p.index(first.lower));
            }
            assert!(hist.count() >= last_count, "histogram count went back");
            let ops = snap.counter("ops").unwrap();
            assert!(ops >= last_ops, "counter went back");
            last_count = hist.count();
            last_ops = ops;
        }
    });
    let snap = reg.collect();
    assert_eq!(
        snap.histogram("lat").unwrap().count(),
        snap.counter("ops").unwrap(),
        "after the writers stopped, every record is in"
    );
}

#[test]
fn snapshot_reads_latest_published() {
    let reg = Registry::new();
    assert_eq!(reg.snapshot().generation(), 0);
    assert!(reg.snapshot().is_empty());
    let c = reg.counter("x", "X").unwrap();
    c.inc();
    let a = reg.collect();
    assert!(std::ptr::eq(&*a, &*reg.snapshot()));
    c.inc();
    assert_eq!(reg.snapshot().counter("x"), Some(1), "not collected yet");
    assert_eq!(reg.collect().counter("x"), Some(2));
    assert_eq!(reg.snapshot().counter("x"), Some(2));
}
