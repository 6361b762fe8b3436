//! `FamilyPair`: a counter family and a histogram family looked up together.
//! Exact totals across threads with overflow active, integer values, the
//! registration errors, and the response tracker's index past its limit.

use hotmetrics::{CacheStatus, FamilyPair, PairError, Registry, ResponseOutcome, Unit};
use std::time::Duration;

#[path = "common/pair.rs"]
mod common_pair;
use common_pair::{pair, NAMES};

/// The label set number `i` of 40 (past the limit of 30 used below).
fn labels(i: u64) -> [String; 3] {
    [
        format!("r{}", i % 10),
        ["GET", "PUT"][(i / 10 % 2) as usize].into(),
        format!("{}", 200 + i / 20),
    ]
}

/// 4 threads record 40 label sets through one pair limited to 30 series per
/// family, while the main thread collects; then every series holds exactly
/// what was recorded into it and the overflow series exactly the rest.
#[test]
fn exact_totals_across_threads_with_overflow() {
    const THREADS: u64 = 4;
    const OPS: u64 = 20_000;
    const SETS: u64 = 40;
    let reg = Registry::new();
    let pair = pair(&reg, 30);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let pair = pair.clone();
            s.spawn(move || {
                let sets: Vec<[String; 3]> = (0..SETS).map(labels).collect();
                for i in 0..OPS {
                    let l = &sets[((i + t) % SETS) as usize];
                    let l = (l[0].as_str(), l[1].as_str(), l[2].as_str());
                    pair.inc_and_record(&l, 1_000 + i);
                }
            });
        }
        for _ in 0..20 {
            reg.collect();
        }
    });
    let snap = reg.collect();
    let total = THREADS * OPS;
    let mut counted = 0;
    let mut recorded = 0;
    for s in snap.series("requests") {
        counted += match s.value() {
            hotmetrics::MetricValue::Counter(v) => *v,
            v => panic!("not a counter: {v:?}"),
        };
    }
    for s in snap.series("latency") {
        recorded += match s.value() {
            hotmetrics::MetricValue::Histogram(h) => h.count(),
            v => panic!("not a histogram: {v:?}"),
        };
    }
    assert_eq!(counted, total);
    assert_eq!(recorded, total);
    assert_eq!(pair.first().len(), 30);
    assert_eq!(pair.second().len(), 30);
    // Each thread visits every label set OPS / SETS times; 10 of them overflow.
    let overflowed = 10 * THREADS * OPS / SETS;
    let overflow = [("overflow", "true")];
    assert_eq!(snap.counter_with("requests", &overflow), Some(overflowed));
    assert_eq!(
        snap.histogram_with("latency", &overflow).unwrap().count(),
        overflowed
    );
    // Every overflowed lookup is counted, as with the families alone.
    assert_eq!(snap.counter("requests_overflow"), Some(overflowed));
    assert_eq!(snap.counter("latency_overflow"), Some(overflowed));
}

/// The members are typed by their label count: a label set of another
/// length is a compile error (`tests/ui/pair_wrong_arity.rs`), and integer
/// values share a series with their decimal strings.
#[test]
fn integer_values_share_series_with_their_digits() {
    let reg = Registry::new();
    let pair = pair(&reg, 10);
    pair.inc_and_record(&("search", "GET", 200u16), 7);
    let (c, h) = pair.with(&("search", "GET", "200"));
    c.inc();
    h.record(8);
    let snap = reg.collect();
    let ok = [("route", "search"), ("method", "GET"), ("status", "200")];
    assert_eq!(snap.counter_with("requests", &ok), Some(2));
    let h = snap.histogram_with("latency", &ok).unwrap();
    assert_eq!((h.count(), h.sum()), (2, 15));
    assert_eq!(snap.counter("requests_overflow"), Some(0));
    assert!(pair.index_bytes() > 0);
}

/// A member full of series the pair never saw: the pair's label sets go to
/// that member's overflow series, the other member's own series still count.
#[test]
fn one_member_full_overflows_only_that_member() {
    let reg = Registry::new();
    let pair = pair(&reg, 2);
    pair.first().inc(&("a", "b", "c"));
    pair.first().inc(&("d", "e", "f"));
    for _ in 0..3 {
        pair.inc_and_record(&("x", "y", "z"), 10);
    }
    let snap = reg.collect();
    assert_eq!(
        snap.counter_with("requests", &[("overflow", "true")]),
        Some(3)
    );
    assert_eq!(snap.counter("requests_overflow"), Some(3));
    let xyz = [("route", "x"), ("method", "y"), ("status", "z")];
    assert_eq!(snap.histogram_with("latency", &xyz).unwrap().count(), 3);
    assert_eq!(snap.counter("latency_overflow"), Some(0));
}

#[test]
fn refuses_other_label_names_and_evicting_members() {
    let reg = Registry::new();
    let counts = reg.counter_family("c", "C", &["route"]).unwrap();
    let other = reg
        .histogram_family("h", "H", Unit::Nanoseconds, &["path"])
        .unwrap();
    let err = FamilyPair::new(&counts, &other).unwrap_err();
    assert_eq!(
        err,
        PairError::LabelNames {
            first: "c".into(),
            second: "h".into()
        }
    );
    assert!(err.to_string().contains("different label names"));
    let evicting = reg
        .histogram_family_builder("e")
        .help("E")
        .unit(Unit::Nanoseconds)
        .labels(&["route"])
        .evict_idle_after(3)
        .build()
        .unwrap();
    let err = FamilyPair::new(&counts, &evicting).unwrap_err();
    assert_eq!(err, PairError::Evicting { name: "e".into() });
    assert!(err.to_string().contains("evicts"));
}

/// The tracker's one-lookup index holds at most 4 × the requests limit
/// keys; past it, calls are resolved family by family and still counted.
#[test]
fn record_response_past_the_index_limit_still_counts() {
    let reg = Registry::new();
    let rt = reg.response_tracker("api").unwrap();
    let routes: Vec<String> = (0..1_500).map(|i| format!("r{i}")).collect();
    let caches = [CacheStatus::Hit, CacheStatus::Miss, CacheStatus::NotCached];
    for round in 0..2 {
        for (i, r) in routes.iter().enumerate() {
            let cache = caches[(i + round) % 3];
            rt.record_response(
                r.as_str(),
                "get",
                Duration::from_micros(5),
                &ResponseOutcome::Success,
                cache,
            );
        }
    }
    let snap = reg.collect();
    let sum = |name: &str| -> u64 {
        snap.series(name)
            .iter()
            .map(|s| match s.value() {
                hotmetrics::MetricValue::Counter(v) => *v,
                hotmetrics::MetricValue::Histogram(h) => h.count(),
                v => panic!("unexpected {v:?}"),
            })
            .sum()
    };
    assert_eq!(sum("api_requests"), 3_000);
    assert_eq!(sum("api_request_duration"), 3_000);
    assert_eq!(sum("api_cache_requests"), 2_000);
    assert_eq!(snap.counter("api_requests_overflow"), Some(1_000));
}

/// Members of two registries: each record still lands in its own member's
/// registry (the pair reaches each registry's storage on its own).
#[test]
fn members_of_two_registries_each_count() {
    let (a, b) = (Registry::new(), Registry::new());
    let requests = a.counter_family("requests", "Requests", &NAMES).unwrap();
    let latency = (b.histogram_family("latency", "Latency", Unit::Nanoseconds, &NAMES)).unwrap();
    let pair = FamilyPair::new(&requests, &latency).unwrap();
    for i in 0..100u64 {
        pair.inc_and_record(&["search", "GET", "200"], i);
        pair.inc_and_record_duration(&["cart", "PUT", "500"], Duration::from_nanos(i));
    }
    let search = [("route", "search"), ("method", "GET"), ("status", "200")];
    let cart = [("route", "cart"), ("method", "PUT"), ("status", "500")];
    let (sa, sb) = (a.collect(), b.collect());
    assert_eq!(sa.counter_with("requests", &search), Some(100));
    assert_eq!(sa.counter_with("requests", &cart), Some(100));
    for l in [search, cart] {
        let h = sb.histogram_with("latency", &l).unwrap();
        assert_eq!((h.count(), h.sum()), (100, 4950));
    }
}

/// While recording is switched off, the pair records nothing into either
/// member; switched back on, both again.
#[test]
fn switched_off_registry_records_into_neither_member() {
    let reg = Registry::new();
    let pair = pair(&reg, 10);
    let l = ["search", "GET", "200"];
    pair.inc_and_record(&l, 5);
    reg.set_enabled(false);
    pair.inc_and_record(&l, 7);
    pair.inc_and_record_duration(&l, Duration::from_nanos(9));
    reg.set_enabled(true);
    pair.inc_and_record(&l, 11);
    let snap = reg.collect();
    let l = [("route", "search"), ("method", "GET"), ("status", "200")];
    assert_eq!(snap.counter_with("requests", &l), Some(2));
    let h = snap.histogram_with("latency", &l).unwrap();
    assert_eq!((h.count(), h.sum()), (2, 16));
}
