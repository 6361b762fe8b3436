//! Model 5: labeled families, a label set's first use racing another's.
//!
//! Series live in a lock-free table: lookups probe it with Acquire loads,
//! inserts happen under the family's mutex and publish a series with a
//! Release store. Proves: two threads using the same new label set at once
//! create one series between them, never two, and nothing either records is
//! lost; a reader that finds a series sees it fully built; at the
//! cardinality limit exactly one of two new label sets gets a series and the
//! other's record lands in the overflow series, total exact.
#![cfg(loom)]

use hotmetrics::{MetricValue, Registry, Snapshot, StaticStr};
use hotmetrics_loom_tests::run_model;
use loom::thread;

fn series_total(snap: &Snapshot, name: &str) -> u64 {
    snap.series(name)
        .iter()
        .map(|m| match m.value() {
            MetricValue::Counter(v) => *v,
            v => panic!("{v:?}"),
        })
        .sum()
}

/// Two threads record into the same new label set (one dynamically, one
/// through a pre-bound handle) while the main thread collects.
#[test]
fn same_label_set_one_series() {
    run_model("same_label_set_one_series", || {
        let reg = Registry::new();
        let fam = reg.counter_family("req", "loom model", &["route"]).unwrap();
        let a = {
            let fam = fam.clone();
            thread::spawn(move || fam.inc(&["search"]))
        };
        let b = {
            let fam = fam.clone();
            thread::spawn(move || fam.with(&["search"]).add(2))
        };

        let snap = reg.collect();
        assert!(snap.series("req").len() <= 1, "{:?}", snap.series("req"));
        assert!(series_total(&snap, "req") <= 3);

        a.join().unwrap();
        b.join().unwrap();
        assert_eq!(fam.len(), 1, "two series for one label set");
        let snap = reg.collect();
        assert_eq!(snap.series("req").len(), 1);
        assert_eq!(snap.counter_with("req", &[("route", "search")]), Some(3));
        assert_eq!(snap.counter("req_overflow"), Some(0));
    });
}

/// A family limited to one series: two threads each bring a new label set.
/// Whichever inserts first gets the series, the other records into the
/// overflow series; both orders are explored and the total is exact.
#[test]
fn limit_reached_by_racing_inserts() {
    run_model("limit_reached_by_racing_inserts", || {
        let reg = Registry::new();
        let fam = reg
            .counter_family_builder("req")
            .help("loom model")
            .labels(&["route"])
            .max_series(1)
            .build()
            .unwrap();
        let threads: Vec<_> = ["a", "b"]
            .into_iter()
            .map(|route| {
                let fam = fam.clone();
                thread::spawn(move || fam.inc(&[route]))
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let snap = reg.collect();
        assert_eq!(fam.len(), 1);
        assert_eq!(series_total(&snap, "req"), 2, "a record was lost");
        assert_eq!(snap.counter_with("req", &[("overflow", "true")]), Some(1));
        assert_eq!(snap.counter("req_overflow"), Some(1));
        let placed = ["a", "b"]
            .iter()
            .filter(|r| snap.counter_with("req", &[("route", r)]) == Some(1))
            .count();
        assert_eq!(placed, 1);
    });
}

/// Two threads bring the same new label set of `'static` strings at once
/// (each lookup by address misses, finds or makes the series by content,
/// and makes the address its alias), then look it up again by address
/// while the main thread collects: one series, one alias, nothing lost.
#[test]
fn static_label_set_first_use_races() {
    run_model("static_label_set_first_use_races", || {
        let reg = Registry::new();
        let fam = reg.counter_family("req", "loom model", &["route"]).unwrap();
        let threads: Vec<_> = [1, 2]
            .into_iter()
            .map(|n| {
                let fam = fam.clone();
                thread::spawn(move || {
                    fam.add(&[StaticStr("search")], n);
                    fam.add(&[StaticStr("search")], n);
                })
            })
            .collect();
        let snap = reg.collect();
        assert!(snap.series("req").len() <= 1, "{:?}", snap.series("req"));
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(fam.len(), 1, "two series for one label set");
        let snap = reg.collect();
        assert_eq!(snap.counter_with("req", &[("route", "search")]), Some(6));
        assert_eq!(snap.counter("req_overflow"), Some(0));
    });
}
