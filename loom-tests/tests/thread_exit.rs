//! Model 3: the cells of threads that exited.
//!
//! Values of exited threads are kept, and a later thread may be handed them
//! (thread ids are recycled, as by the `thread_local` crate; the loom
//! stand-in in `src/sync/per_thread.rs` recycles them the same way).
#![cfg(loom)]

use hotmetrics::{Registry, Snapshot};
use hotmetrics_loom_tests::{
    check_histogram, counter_in_a_grown_segment, run_model, small_histogram,
};
use loom::thread;
use std::collections::BTreeSet;
use std::sync::Mutex;

/// A thread records and exits (joined); a second thread records while the
/// main thread collects. Proves the exited thread's records are always
/// collected in full, the running one's partially or not at all, and the
/// final collection has everything.
#[test]
fn exited_thread_values_are_kept() {
    run_model("exited_thread_values_are_kept", || {
        let reg = Registry::new();
        let jobs = reg.counter("jobs", "loom model").unwrap();
        let sizes = small_histogram(&reg, "sizes");

        let first = {
            let (jobs, sizes) = (jobs.clone(), sizes.clone());
            thread::spawn(move || {
                jobs.add(2);
                sizes.record(5);
            })
        };
        first.join().unwrap();

        let second = {
            let (jobs, sizes) = (jobs.clone(), sizes.clone());
            thread::spawn(move || {
                jobs.inc();
                sizes.record(1000);
            })
        };

        let snap = reg.collect();
        let n = snap.counter("jobs").unwrap();
        assert!((2..=3).contains(&n), "jobs = {n}");
        let seen = check_histogram(snap.histogram("sizes").unwrap(), &[5, 1000]);
        assert!(seen.contains(&5), "exited thread's record lost: {seen:?}");

        second.join().unwrap();
        assert_everything_collected(&reg);
    });
}

/// Two threads add to a counter, neither joined, while the main thread
/// collects. When the first has exited before the second records, the second
/// is handed the first one's cells and goes on writing them with a plain load
/// and store (the counter lies past the inline segment 0: the new owner also
/// reads the segment pointer its predecessor installed). Proves nothing is lost either way: the exit happens-before the
/// hand-over, so the new owner sees its predecessor's values. Both outcomes
/// are checked to have been explored.
#[test]
fn exited_thread_counter_cells_are_reused() {
    static SHAPES: Mutex<BTreeSet<usize>> = Mutex::new(BTreeSet::new());

    run_model("exited_thread_counter_cells_are_reused", || {
        let reg = Registry::new();
        let jobs = counter_in_a_grown_segment(&reg, "jobs");
        let threads: Vec<_> = [2, 1]
            .into_iter()
            .map(|n| {
                let jobs = jobs.clone();
                thread::spawn(move || jobs.add(n))
            })
            .collect();

        let n = reg.collect().counter("jobs").unwrap();
        assert!(n <= 3, "jobs = {n}");

        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(reg.collect().counter("jobs"), Some(3));
        SHAPES.lock().unwrap().insert(reg.cell_bytes());
    });

    assert_both_shapes(&SHAPES);
}

/// As `exited_thread_counter_cells_are_reused`, for a histogram: the new
/// owner continues the exited thread's directory, chunks and record counts.
/// (One model per kind: the two kinds in one model multiplied its
/// interleavings, and the hand-over is the same shard for both.)
#[test]
fn exited_thread_histogram_cells_are_reused() {
    static SHAPES: Mutex<BTreeSet<usize>> = Mutex::new(BTreeSet::new());

    run_model("exited_thread_histogram_cells_are_reused", || {
        let reg = Registry::new();
        let sizes = small_histogram(&reg, "sizes");
        let threads: Vec<_> = [5, 1000]
            .into_iter()
            .map(|v| {
                let sizes = sizes.clone();
                thread::spawn(move || sizes.record(v))
            })
            .collect();

        check_histogram(reg.collect().histogram("sizes").unwrap(), &[5, 1000]);

        for t in threads {
            t.join().unwrap();
        }
        assert_sizes_complete(&reg.collect());
        SHAPES.lock().unwrap().insert(reg.cell_bytes());
    });

    assert_both_shapes(&SHAPES);
}

/// `cell_bytes()` at the end of each execution takes one value when the two
/// threads shared one shard and another when they had one each: both must
/// have been explored.
fn assert_both_shapes(shapes: &Mutex<BTreeSet<usize>>) {
    let shapes = shapes.lock().unwrap();
    assert_eq!(shapes.len(), 2, "hand-over not explored: {shapes:?}");
}

/// After every thread has been joined: both threads' records, exactly.
fn assert_everything_collected(reg: &Registry) {
    let snap = reg.collect();
    assert_eq!(snap.counter("jobs"), Some(3));
    assert_sizes_complete(&snap);
}

/// Both records of `sizes`, exactly.
fn assert_sizes_complete(snap: &Snapshot) {
    let h = snap.histogram("sizes").unwrap();
    check_histogram(h, &[5, 1000]);
    assert_eq!((h.count(), h.sum()), (2, 1005));
    assert_eq!((h.min(), h.max()), (Some(5), Some(1000)));
}
