//! Unit tests of the per-thread store on real threads (also run under
//! Miri: `scripts/miri.sh`).

use super::{PartKey, PerThread};
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

/// Adds `n` to element `i` of this thread's value through the part cache,
/// under `key` (which names element `i` only).
fn add_part(values: &PerThread<[AtomicU64; 3]>, key: PartKey, i: usize, n: u64) {
    let make = || std::array::from_fn(|_| AtomicU64::new(0));
    // SAFETY: the parts are elements of the value, which live as long as
    // `values`; the callers use each key with one element.
    unsafe {
        values.with_part(
            key,
            make,
            i,
            |v, i| &v[i],
            |cell| {
                // Relaxed: this thread is the value's only writer.
                cell.store(cell.load(Ordering::Relaxed) + n, Ordering::Relaxed);
            },
        );
    }
}

#[test]
fn parts_reach_their_own_element_past_the_cache_size() {
    // Three keys per set of the part cache, for elements 0, 1 and 2 of
    // the value, taking turns so that each is found first in its set,
    // second, and evicted, on several threads: every add still lands in
    // its own key's element. (Keys far above any `PartKey::new` hands out,
    // a multiple of every set count apart.)
    let base = (u64::MAX / 2) & !0xffff;
    let key = move |set: u64, n: usize| PartKey(base + set + ((n as u64) << 12));
    let turns = [0, 1, 0, 1, 2, 0, 2, 1, 1, 0];
    // Every set four times over; under Miri (slow), a few sets once.
    let (sets, rounds) = if cfg!(miri) { (16, 1) } else { (512, 3) };
    let run = move |values: &PerThread<[AtomicU64; 3]>, want: &mut [u64; 3]| {
        for set in 0..sets {
            for &n in &turns {
                add_part(values, key(set, n), n, 1);
                want[n] += 1;
            }
        }
    };
    let values = Arc::new(PerThread::new());
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let values = values.clone();
            std::thread::spawn(move || {
                let mut want = [0u64; 3];
                (0..rounds).for_each(|_| run(&values, &mut want));
                want
            })
        })
        .collect();
    let mut want = [0u64; 3];
    for t in threads {
        let w = t.join().unwrap();
        want.iter_mut().zip(w).for_each(|(a, b)| *a += b);
    }
    let mut sums = [0u64; 3];
    values.for_each(|v| {
        for (s, c) in sums.iter_mut().zip(v) {
            *s += c.load(Ordering::Relaxed);
        }
    });
    assert_eq!(sums, want);
}
