//! Model 1: counter increments racing collections.
//!
//! Each thread adds into its own cell with a plain load and store (no
//! read-modify-write); the collector sums the cells with relaxed loads while
//! the writers run. Proves: no collected value exceeds what was added, a
//! later collection never sees less than an earlier one, and once the writers
//! are joined the total is exact (no update is lost). The counter lies past
//! the shards' inline segment 0: its segment is installed by the first
//! record of each thread while the collector walks the segments.
#![cfg(loom)]

use hotmetrics::Registry;
use hotmetrics_loom_tests::{counter_in_a_grown_segment, run_model};
use loom::thread;

#[test]
fn counter_record_vs_collect() {
    run_model("counter_record_vs_collect", || {
        const ADDS: [u64; 2] = [1, 2];
        let reg = Registry::new();
        let hits = counter_in_a_grown_segment(&reg, "hits");
        let writers: Vec<_> = ADDS
            .iter()
            .map(|&n| {
                let hits = hits.clone();
                thread::spawn(move || {
                    for _ in 0..n {
                        hits.inc();
                    }
                })
            })
            .collect();
        let total: u64 = ADDS.iter().sum();

        let first = reg.collect().counter("hits").unwrap();
        let second = reg.collect().counter("hits").unwrap();
        assert!(first <= second, "went backwards: {first} then {second}");
        assert!(second <= total, "{second} > {total}");

        for w in writers {
            w.join().unwrap();
        }
        assert_eq!(reg.collect().counter("hits"), Some(total));
    });
}
