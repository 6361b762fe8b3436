//! Guarantee 1: no lost updates, including from threads that have exited.

use hotmetrics::{Registry, Unit};

/// Ops per thread; smaller under Miri and ThreadSanitizer
/// (`scripts/tsan.sh`).
const OPS: u64 = if cfg!(miri) {
    1_000
} else if cfg!(hotmetrics_tsan) {
    20_000
} else {
    1_000_000
};

#[test]
fn threads_times_ops_is_exact() {
    for threads in [2u64, 3, 4, 8] {
        let reg = Registry::new();
        let c = reg.counter("ops", "Operations").unwrap();
        let h = reg.histogram("lat", "Latency", Unit::Nanoseconds).unwrap();
        std::thread::scope(|s| {
            for t in 0..threads {
                let (c, h) = (c.clone(), h.clone());
                s.spawn(move || {
                    let local = c.local();
                    for i in 0..OPS {
                        // Half through the shared handle, half through the local one.
                        if i & 1 == 0 {
                            c.inc();
                        } else {
                            local.inc();
                        }
                        h.record(t * 1_000 + (i & 1023));
                    }
                });
            }
        });
        let snap = reg.collect();
        assert_eq!(
            snap.counter("ops"),
            Some(threads * OPS),
            "{threads} threads"
        );
        let hist = snap.histogram("lat").unwrap();
        assert_eq!(hist.count(), threads * OPS);
        let per_thread_sum: u128 = (0..OPS).map(|i| u128::from(i & 1023)).sum();
        let want: u128 = (0..threads)
            .map(|t| u128::from(t * 1_000) * u128::from(OPS) + per_thread_sum)
            .sum();
        assert_eq!(hist.sum(), want);
        assert_eq!(hist.min(), Some(0));
        assert_eq!(hist.max(), Some((threads - 1) * 1_000 + 1023));
    }
}

#[test]
fn short_lived_threads_lose_nothing() {
    let threads = if cfg!(miri) {
        20
    } else if cfg!(hotmetrics_tsan) {
        500
    } else {
        2_000
    };
    let reg = Registry::new();
    let c = reg.counter("events", "Events").unwrap();
    let h = reg.histogram("sizes", "Sizes", Unit::Bytes).unwrap();
    // Spawn in waves so many threads overlap, exit, and have their cells
    // reused by later threads.
    for wave in 0..threads / 100 {
        let handles: Vec<_> = (0..100)
            .map(|i| {
                let (c, h) = (c.clone(), h.clone());
                std::thread::spawn(move || {
                    c.add(3);
                    h.record(wave * 100 + i);
                })
            })
            .collect();
        for t in handles {
            t.join().unwrap();
        }
        // Collect while threads come and go.
        assert_eq!(reg.collect().counter("events"), Some(3 * 100 * (wave + 1)));
    }
    let snap = reg.collect();
    assert_eq!(snap.counter("events"), Some(3 * threads));
    let hist = snap.histogram("sizes").unwrap();
    assert_eq!(hist.count(), threads);
    assert_eq!(hist.sum(), (0..u128::from(threads)).sum::<u128>());
    // Cells are reused by later threads: memory follows peak concurrency,
    // not the number of threads ever started.
    assert!(reg.cell_bytes() < 1 << 20, "{} bytes", reg.cell_bytes());
}

#[test]
fn gauges_are_exact_under_threads() {
    let reg = Registry::new();
    let g = reg.gauge("depth", "Queue depth").unwrap();
    let f = reg.float_gauge("load", "Load").unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..10_000 {
                    g.inc();
                    g.add(2);
                    g.dec();
                    f.add(0.5);
                }
            });
        }
    });
    let snap = reg.collect();
    assert_eq!(snap.gauge("depth"), Some(80_000));
    assert_eq!(snap.float_gauge("load"), Some(20_000.0));
}
