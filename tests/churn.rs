//! Families under churn: gauges evicted while being set, lookups after many
//! label sets passed through a small limit, and the memory of a churning
//! histogram family.

use hotmetrics::{Options, Registry};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[global_allocator]
static GLOBAL: hotmetrics_testkit::CountingAlloc = hotmetrics_testkit::CountingAlloc;

/// Stops looping threads when dropped, also when a test panics.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

const WRITERS: usize = 4;
const SETS_PER_WRITER: usize = 4;

/// The highest value any snapshot reported for each label set, updated
/// under one lock together with the collection that produced it.
struct Seen {
    max: Vec<i64>,
}

impl Seen {
    /// Collects, records every value reported for a label set `w<i>`.
    fn collect(&mut self, reg: &Registry) -> std::sync::Arc<hotmetrics::Snapshot> {
        let snap = reg.collect();
        for (i, max) in self.max.iter_mut().enumerate() {
            if let Some(v) = snap.gauge_with("level", &[("set", &format!("w{i}"))]) {
                *max = (*max).max(v);
            }
        }
        snap
    }
}

/// A gauge `set` racing the eviction of its series is never lost: after
/// `set(v)` returns, every later snapshot shows `v` for the label set (or
/// a value set later), or leaves the label set out only once `v` has been
/// reported for it (it was evicted with that value).
///
/// Each label set has one writer, which sets it to ever larger values; the
/// writer looks its series up, yields (so that a tight collector evicting
/// after one idle collection can unlink the series in between), sets, then
/// collects and checks. Every collection, the writers' and the
/// collector's, runs under one lock with the bookkeeping of what it saw.
#[test]
fn a_gauge_set_racing_eviction_is_never_lost() {
    let reg = Registry::new();
    let fam = reg
        .gauge_family_with(
            Options::new("level", "Level")
                .labels(&["set"])
                .max_series(64)
                .evict_idle_after(1),
        )
        .unwrap();
    let seen = Mutex::new(Seen {
        max: vec![0; WRITERS * SETS_PER_WRITER],
    });
    let (stop, pairs, lost) = (AtomicBool::new(false), AtomicU64::new(0), AtomicU64::new(0));
    // Until 2,000 pairs ran (300 under ThreadSanitizer), or 20 s passed on
    // a busy machine.
    let want = if cfg!(hotmetrics_tsan) { 300 } else { 2_000 };
    let deadline = Instant::now() + Duration::from_secs(20);
    let done = || Instant::now() >= deadline || pairs.load(Ordering::Relaxed) >= want;
    std::thread::scope(|s| {
        let _stop = StopOnDrop(&stop);
        s.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                seen.lock().unwrap().collect(&reg);
                // Lets a waiting writer take the lock.
                std::thread::yield_now();
            }
        });
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (fam, reg, seen, pairs, lost, done) = (&fam, &reg, &seen, &pairs, &lost, &done);
                s.spawn(move || {
                    let mut v = 0i64;
                    while !done() {
                        v += 1;
                        for k in 0..SETS_PER_WRITER {
                            let i = w * SETS_PER_WRITER + k;
                            let name = format!("w{i}");
                            let series = fam.try_get(&[name.as_str()]).unwrap();
                            std::thread::yield_now();
                            series.set(v);
                            drop(series);
                            let mut seen = seen.lock().unwrap();
                            let snap = seen.collect(reg);
                            let shown = snap.gauge_with("level", &[("set", &name)]);
                            pairs.fetch_add(1, Ordering::Relaxed);
                            let ok = match shown {
                                Some(x) => x == v,
                                None => seen.max[i] >= v,
                            };
                            if !ok {
                                lost.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
    });
    let (pairs, lost) = (pairs.into_inner(), lost.into_inner());
    println!("{lost} of {pairs} set/read pairs lost a set");
    assert!(pairs >= 200, "too few set/read pairs ran: {pairs}");
    assert_eq!(
        lost, 0,
        "{lost} of {pairs} gauge sets were lost to eviction"
    );
    assert!(
        reg.collect().counter("level_evicted").unwrap() > 0,
        "nothing was evicted"
    );
}
