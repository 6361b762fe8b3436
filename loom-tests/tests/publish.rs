//! Model 4: reading the published snapshot while collections run.
//!
//! Under loom, `Publish` (arc-swap in production) is a mutex-guarded `Arc`,
//! so these models check the registry's side of publication: a snapshot is
//! published whole and only once it is complete, and concurrent collections
//! publish in generation order.
#![cfg(loom)]

use hotmetrics::{Registry, Snapshot};
use hotmetrics_loom_tests::{check_histogram, run_model, small_histogram};
use loom::thread;

/// A registry with a counter and a histogram, recorded into by this thread
/// before any collection starts.
fn recorded_registry() -> Registry {
    let reg = Registry::new();
    reg.counter("requests", "loom model").unwrap().add(3);
    small_histogram(&reg, "latency").record(7);
    reg
}

/// Checks a snapshot read while collections ran: the empty initial one, or
/// a complete one (both metrics, with what `recorded_registry` recorded).
fn check_published(snap: &Snapshot, max_generation: u64) {
    match snap.generation() {
        0 => assert!(snap.is_empty(), "generation 0 with metrics: {snap:?}"),
        g if g <= max_generation => {
            assert_eq!(snap.metrics().len(), 2, "generation {g}: {snap:?}");
            assert_eq!(snap.counter("requests"), Some(3), "generation {g}");
            let h = snap.histogram("latency").unwrap();
            check_histogram(h, &[7]);
            assert_eq!((h.count(), h.sum()), (1, 7), "generation {g}");
        }
        g => panic!("generation {g} > {max_generation}"),
    }
}

/// `snapshot()` while another thread collects. Proves the reader sees the
/// empty initial snapshot (generation 0) or the complete new one
/// (generation 1), never a torn or partial one, and after the join the
/// collected one.
#[test]
fn snapshot_vs_collect() {
    run_model("snapshot_vs_collect", || {
        let reg = recorded_registry();
        let collector = {
            let reg = reg.clone();
            thread::spawn(move || reg.collect())
        };

        check_published(&reg.snapshot(), 1);

        let collected = collector.join().unwrap();
        assert_eq!(collected.generation(), 1);
        check_published(&collected, 1);
        let latest = reg.snapshot();
        assert_eq!(latest.generation(), 1);
        check_published(&latest, 1);
    });
}

/// Two collections on two threads while the main thread reads twice.
/// Proves published snapshots only move forward (a reader never sees the
/// generation go back), each is complete, and the last published is the
/// last made.
#[test]
fn concurrent_collects_publish_in_order() {
    run_model("concurrent_collects_publish_in_order", || {
        let reg = recorded_registry();
        let collectors: Vec<_> = (0..2)
            .map(|_| {
                let reg = reg.clone();
                thread::spawn(move || reg.collect().generation())
            })
            .collect();

        let a = reg.snapshot();
        let b = reg.snapshot();
        check_published(&a, 2);
        check_published(&b, 2);
        assert!(
            a.generation() <= b.generation(),
            "generation went back from {} to {}",
            a.generation(),
            b.generation()
        );

        let mut made: Vec<u64> = collectors.into_iter().map(|c| c.join().unwrap()).collect();
        made.sort_unstable();
        assert_eq!(made, [1, 2]);
        let latest = reg.snapshot();
        assert_eq!(latest.generation(), 2);
        check_published(&latest, 2);
    });
}
