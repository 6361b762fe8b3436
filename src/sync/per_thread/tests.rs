//! Unit tests of the per-thread store on real threads (also run under
//! Miri: `scripts/miri.sh`).

use super::PerThread;
use crate::sync::{Arc, AtomicU64, Ordering};

fn add(values: &PerThread<AtomicU64>, n: u64) {
    values.with(
        || AtomicU64::new(0),
        |cell| {
            // Relaxed: this thread is the value's only writer.
            cell.store(cell.load(Ordering::Relaxed) + n, Ordering::Relaxed);
        },
    );
}

fn total(values: &PerThread<AtomicU64>) -> u64 {
    let mut sum = 0;
    values.for_each(|v| sum += v.load(Ordering::Relaxed));
    sum
}

#[test]
fn threads_add_exactly_and_values_are_reused() {
    let threads = if cfg!(miri) { 4 } else { 64 };
    let values = Arc::new(PerThread::new());
    for round in 0..3 {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let values = values.clone();
                std::thread::spawn(move || (0..10).for_each(|_| add(&values, 1)))
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(total(&values), (round + 1) * threads * 10);
    }
    let mut count = 0;
    values.for_each(|_| count += 1);
    assert!(count <= 2 * threads as usize, "{count} values");
}

#[test]
fn more_containers_than_cache_entries() {
    let all: Vec<PerThread<AtomicU64>> = (0..9).map(|_| PerThread::new()).collect();
    for round in 1..=3 {
        for (i, values) in all.iter().enumerate() {
            add(values, i as u64);
            assert_eq!(total(values), round * i as u64);
        }
    }
    // A dropped container's id is never matched by a new one.
    drop(all);
    let fresh = PerThread::new();
    add(&fresh, 5);
    assert_eq!(total(&fresh), 5);
}

#[test]
fn a_hold_reaches_the_same_value() {
    let values = PerThread::new();
    let (hold, cell) = values.hold(|| AtomicU64::new(0));
    cell.store(3, Ordering::Relaxed);
    add(&values, 4);
    drop(hold);
    add(&values, 1);
    assert_eq!(total(&values), 8);
}
