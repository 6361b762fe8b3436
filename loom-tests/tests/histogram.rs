//! Model 2: histogram records racing collections.
//!
//! A writer records three values, two into one 16-bucket chunk and one into
//! another, while the main thread collects twice. Proves the chunk protocol
//! and the min/max publication: every snapshot is internally consistent
//! (count is the sum of the buckets, sum is the sum of exactly the
//! observations they counted, min and max enclose them), a chunk is seen as
//! a prefix of its records, a later snapshot never loses an observation, a
//! record that returned before a collection began is in it, and after the
//! join the totals are exact.
#![cfg(loom)]

use hotmetrics::Registry;
use hotmetrics_loom_tests::{check_histogram, run_model, small_histogram};
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;

#[test]
fn histogram_consistency() {
    run_model("histogram_consistency", || {
        // With 2 sub-bucket bits, 8 is bucket 8 ([8, 9]) and 12 bucket 10
        // ([12, 13]), both in chunk 0; 1000 is bucket 35 ([896, 1023]), in
        // chunk 2. 8 is not the top of its bucket nor 1000 the bottom of
        // theirs, so a stale min or max is not hidden by the clamping of
        // min/max into the outer buckets.
        const VALUES: [u64; 3] = [8, 1000, 12];
        let reg = Registry::new();
        let h = small_histogram(&reg, "latency");
        // How many records have returned: a collection that sees it sees
        // those records.
        let done = Arc::new(AtomicUsize::new(0));
        let writer = {
            let (h, done) = (h.clone(), Arc::clone(&done));
            thread::spawn(move || {
                for (i, v) in VALUES.into_iter().enumerate() {
                    h.record(v);
                    done.store(i + 1, Ordering::Release);
                }
            })
        };
        // The records that returned before a collection began are in it.
        let returned = |n: usize, seen: &[u64]| {
            let missing = VALUES[..n].iter().find(|v| !seen.contains(v));
            assert!(missing.is_none(), "{missing:?} returned before {seen:?}");
        };

        let n = done.load(Ordering::Acquire);
        let first = reg.collect();
        let seen = check_histogram(first.histogram("latency").unwrap(), &VALUES);
        returned(n, &seen);
        // 8 and 12 share a chunk and 8 was recorded first: a consistent copy
        // of that chunk cannot hold the later record without the earlier.
        assert!(!seen.contains(&12) || seen.contains(&8), "{seen:?}");
        let n = done.load(Ordering::Acquire);
        let second = reg.collect();
        let seen_later = check_histogram(second.histogram("latency").unwrap(), &VALUES);
        returned(n, &seen_later);
        assert!(
            seen.iter().all(|v| seen_later.contains(v)),
            "{seen:?} then {seen_later:?}"
        );

        writer.join().unwrap();
        let last = reg.collect();
        let h = last.histogram("latency").unwrap();
        let mut seen = check_histogram(h, &VALUES);
        seen.sort_unstable();
        assert_eq!(seen, [8, 12, 1000]);
        assert_eq!((h.count(), h.sum()), (3, 1020));
        assert_eq!((h.min(), h.max()), (Some(8), Some(1000)));
    });
}

/// Model 2b: `f64` records racing collections. Two `f64` values share a
/// chunk (their compensated sum is written beside the `u64` sum), a `u64`
/// value has a chunk of its own. Every snapshot's `f64` sum is the sum of
/// exactly the observations its buckets counted, and a chunk is seen as a
/// prefix of its records.
#[test]
fn histogram_f64_consistency() {
    run_model("histogram_f64_consistency", || {
        // With 2 sub-bucket bits, 1.25 and 1.75 are two buckets of the
        // octave [1, 2), one chunk; 1000 is in a chunk of the u64 slots.
        const FLOATS: [f64; 2] = [1.25, 1.75];
        let reg = Registry::new();
        let h = small_histogram(&reg, "latency");
        let writer = {
            let h = h.clone();
            thread::spawn(move || {
                h.record_f64(FLOATS[0]);
                h.record(1000);
                h.record_f64(FLOATS[1]);
            })
        };
        let check = |snap: &hotmetrics::Snapshot| {
            let h = snap.histogram("latency").unwrap();
            let mut sum = 0.0;
            let mut seen = Vec::new();
            for b in h.float_buckets() {
                let v = [1.25, 1.75, 1000.0]
                    .into_iter()
                    .find(|&v| b.lower <= v && v <= b.upper)
                    .expect("a bucket nobody recorded into");
                assert_eq!(b.count, 1, "{b:?}");
                sum += v;
                seen.push(v);
            }
            assert_eq!(h.count(), seen.len() as u64, "{h:?}");
            assert_eq!(h.sum_f64(), sum, "{h:?}: sum does not match the buckets");
            assert!(!seen.contains(&1.75) || seen.contains(&1.25), "{seen:?}");
            seen
        };
        let first = check(&reg.collect());
        let later = check(&reg.collect());
        assert!(
            first.iter().all(|v| later.contains(v)),
            "{first:?} then {later:?}"
        );
        writer.join().unwrap();
        assert_eq!(check(&reg.collect()), [1.25, 1.75, 1000.0]);
    });
}
