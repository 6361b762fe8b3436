//! Labeled families: exact totals across many label sets with overflow
//! active, bounded memory past the cardinality limit, registration rules,
//! state sets and the response tracker.

use hotmetrics::{
    CacheStatus, Conflict, Counter, ErrorCategory, LabelValue, MetricKind, MetricValue, Options,
    Registry, RegistryError, ResponseOutcome, Unit,
};
use std::fmt::Write as _;
use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::time::Duration;

/// Stops looping writer threads when dropped, including when a test panics,
/// so a failed assertion does not leave the test hanging.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[derive(Clone, Copy, Debug)]
enum Route {
    Search,
    Checkout,
    Profile,
}

impl LabelValue for Route {
    fn label_value(&self) -> &str {
        match self {
            Route::Search => "search",
            Route::Checkout => "checkout",
            Route::Profile => "profile",
        }
    }
}

const ROUTES: [Route; 3] = [Route::Search, Route::Checkout, Route::Profile];

/// 4 threads record into 72 label sets (3 routes × 24 shards) of a counter
/// family and a histogram family limited to 50 series each, half through
/// pre-bound handles and half through dynamic lookups, while another thread
/// collects in a loop. Every series that got a place holds exactly what was
/// recorded into it; the overflow series holds exactly the rest.
#[test]
fn exact_totals_across_label_sets_with_overflow() {
    const THREADS: u64 = 4;
    const OPS: u64 = 30_000;
    const SETS: u64 = 72;
    const LIMIT: usize = 50;
    let reg = Registry::new();
    let counts = reg
        .counter_family_builder("ops")
        .help("Operations")
        .labels(&["route", "shard"])
        .max_series(LIMIT)
        .build()
        .unwrap();
    let sizes = reg
        .histogram_family_builder("sizes")
        .help("Sizes")
        .unit(Unit::Bytes)
        .labels(&["route", "shard"])
        .max_series(LIMIT)
        .build()
        .unwrap();
    let shard_names: Vec<String> = (0..SETS / 3).map(|i| format!("s{i}")).collect();
    let set = |k: u64| {
        (
            ROUTES[(k % 3) as usize],
            shard_names[(k / 3) as usize].as_str(),
        )
    };

    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let _stop = StopOnDrop(&stop);
        s.spawn(|| {
            let mut last = 0;
            while !stop.load(Ordering::Relaxed) {
                let snap = reg.collect();
                let total: u64 = snap
                    .series("ops")
                    .iter()
                    .map(|m| match m.value() {
                        MetricValue::Counter(v) => *v,
                        v => panic!("{v:?}"),
                    })
                    .sum();
                assert!(total >= last, "a collection went back: {total} < {last}");
                last = total;
            }
        });
        let writers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (counts, sizes, set) = (&counts, &sizes, &set);
                s.spawn(move || {
                    // Each thread binds every label set once, in its own order.
                    let mut bound: Vec<_> = (0..SETS)
                        .map(|k| {
                            let k = (k + t * 17) % SETS;
                            (k, counts.with(&set(k)), sizes.with(&set(k)))
                        })
                        .collect();
                    bound.sort_by_key(|b| b.0);
                    for i in 0..OPS {
                        let k = (i * 7 + t) % SETS;
                        if i & 1 == 0 {
                            counts.inc(&set(k));
                            sizes.record(&set(k), k);
                        } else {
                            let (kb, c, h) = &bound[k as usize];
                            assert_eq!(*kb, k);
                            c.inc();
                            h.record(k);
                        }
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
    });

    // What each label set received, recomputed.
    let mut want = vec![0u64; SETS as usize];
    let mut want_dynamic = vec![0u64; SETS as usize];
    for t in 0..THREADS {
        for i in 0..OPS {
            want[((i * 7 + t) % SETS) as usize] += 1;
            if i & 1 == 0 {
                want_dynamic[((i * 7 + t) % SETS) as usize] += 1;
            }
        }
    }
    let snap = reg.collect();
    let ops = snap.series("ops");
    assert_eq!(counts.len(), LIMIT);
    assert_eq!(ops.len(), LIMIT + 1, "50 series and the overflow series");
    let mut in_series = 0;
    let mut placed = 0;
    let mut dynamic_overflow = 0;
    let (mut hist_in_series, mut hist_placed) = (0, 0);
    for k in 0..SETS {
        let (route, shard) = set(k);
        let labels = [("route", route.label_value()), ("shard", shard)];
        if let Some(v) = snap.counter_with("ops", &labels) {
            assert_eq!(v, want[k as usize], "{labels:?}");
            in_series += v;
            placed += 1;
        } else {
            dynamic_overflow += want_dynamic[k as usize];
        }
        // The histogram family filled up in its own order: a label set may
        // have a series in one family and not in the other.
        if let Some(h) = snap.histogram_with("sizes", &labels) {
            assert_eq!(h.count(), want[k as usize]);
            assert_eq!(h.sum(), u128::from(k) * u128::from(want[k as usize]));
            hist_in_series += h.count();
            hist_placed += 1;
        }
    }
    assert_eq!(hist_placed, LIMIT);
    let hist_overflow = snap
        .histogram_with("sizes", &[("overflow", "true")])
        .unwrap()
        .count();
    assert_eq!(hist_in_series + hist_overflow, THREADS * OPS);
    assert_eq!(placed, LIMIT);
    let overflow = snap.counter_with("ops", &[("overflow", "true")]).unwrap();
    assert_eq!(in_series + overflow, THREADS * OPS, "totals are exact");
    assert!(overflow > 0);
    // Overflowed lookups: each dynamic record of an overflowed set, plus
    // each `with` that bound one (counter and histogram families both have
    // an overflow counter).
    let overflowed_sets = SETS - LIMIT as u64;
    assert_eq!(
        snap.counter("ops_overflow"),
        Some(dynamic_overflow + THREADS * overflowed_sets)
    );
}

/// One million distinct label sets into a family limited to 1,000 series:
/// 1,000 series and the overflow series exist, the memory held does not
/// grow after the limit is reached, and the total is exact.
#[test]
fn a_million_label_sets_stay_bounded() {
    const SETS: u64 = 1_000_000;
    let reg = Registry::new();
    let fam = reg
        .counter_family_builder("users")
        .help("Per user")
        .labels(&["user", "region"])
        .build()
        .unwrap();
    assert_eq!(fam.max_series(), 1_000);
    let mut buf = String::new();
    let mut at_limit = None;
    for i in 0..SETS {
        buf.clear();
        write!(buf, "user-{i}").unwrap();
        fam.inc(&(buf.as_str(), "eu"));
        if i + 1 == 1_000 {
            at_limit = Some(reg.cell_bytes() + fam.index_bytes());
        }
    }
    let bytes = reg.cell_bytes() + fam.index_bytes();
    let at_limit = at_limit.unwrap();
    println!(
        "1,000,000 label sets, limit 1,000: {bytes} bytes (cells {} + index {}), {at_limit} at the limit",
        reg.cell_bytes(),
        fam.index_bytes()
    );
    assert_eq!(bytes, at_limit, "memory grew past the limit");
    assert!(bytes < 512 * 1024, "{bytes} bytes");
    assert_eq!(fam.len(), 1_000);
    let snap = reg.collect();
    assert_eq!(snap.series("users").len(), 1_001);
    let total: u64 = snap
        .series("users")
        .iter()
        .map(|m| match m.value() {
            MetricValue::Counter(v) => *v,
            _ => 0,
        })
        .sum();
    assert_eq!(total, SETS);
    assert_eq!(
        snap.counter_with("users", &[("overflow", "true")]),
        Some(SETS - 1_000)
    );
    assert_eq!(snap.counter("users_overflow"), Some(SETS - 1_000));
    assert_eq!(
        snap.counter_with("users", &[("user", "user-999"), ("region", "eu")]),
        Some(1)
    );
}

#[test]
fn label_shapes_find_the_same_series() {
    let reg = Registry::new();
    let fam = reg
        .counter_family("hits", "Hits", &["route", "cache"])
        .unwrap();
    let owned = (String::from("search"), String::from("hit"));
    fam.inc(&("search", "hit"));
    fam.inc(&owned);
    fam.inc(&(Route::Search, "hit"));
    fam.inc(&["search", "hit"]);
    fam.inc(&["search".to_string(), "hit".to_string()]);
    fam.with(&("search", "hit")).add(10);
    fam.get(&[&"search", &"hit"]).inc();
    assert_eq!(fam.len(), 1);
    // Any UTF-8 is a valid value.
    fam.inc(&("Ünïcödé \"quoted\"\n", ""));
    let snap = reg.collect();
    assert_eq!(
        snap.counter_with("hits", &[("route", "search"), ("cache", "hit")]),
        Some(16)
    );
    assert_eq!(
        snap.counter_with("hits", &[("route", "Ünïcödé \"quoted\"\n"), ("cache", "")]),
        Some(1)
    );
    // No overflow: no overflow series, the overflow counter at zero.
    assert_eq!(snap.series("hits").len(), 2);
    assert_eq!(snap.counter("hits_overflow"), Some(0));
}

/// A family whose label names are known only at run time (`Dyn`) checks
/// the number of values: `try_get`/`try_with` return an error naming the
/// metric and both counts; the shortcuts, which cannot return one, count
/// the label set in `hotmetrics_label_arity_errors{metric}` and record
/// nothing. Neither touches the overflow series. (In a typed family the
/// same calls do not compile: `tests/ui/wrong_arity*.rs`.)
#[test]
fn wrong_number_of_values_in_a_dyn_family_is_refused_loudly() {
    let reg = Registry::new();
    let names: Vec<String> = vec!["a".into(), "b".into()];
    let fam = reg
        .counter_family_with(Options::new("x", "x").labels(&names))
        .unwrap();
    let err = fam.try_get(&["only one"]).unwrap_err();
    assert_eq!((err.metric(), err.expected(), err.given()), ("x", 2, 1));
    assert_eq!(
        err.to_string(),
        r#"metric "x" takes 2 label values (a, b), 1 given"#
    );
    let err = fam.try_with(&vec!["1", "2", "3"]).unwrap_err();
    assert_eq!((err.expected(), err.given()), (2, 3));
    fam.try_get(&("a", 7u8)).unwrap().inc();
    fam.inc(&("only one",));
    fam.inc(&["1", "2", "3"]);
    fam.add(&vec!["1"], 5);
    fam.inc(&["a", "7"][..]);
    let snap = reg.collect();
    assert_eq!(snap.counter_with("x", &[("a", "a"), ("b", "7")]), Some(2));
    assert_eq!(snap.series("x").len(), 1, "nothing else recorded");
    assert_eq!(snap.counter("x_overflow"), Some(0));
    assert_eq!(
        snap.counter_with("hotmetrics_label_arity_errors", &[("metric", "x")]),
        Some(3)
    );
    let text = hotmetrics::export::prometheus::render(&snap);
    assert!(
        text.contains("hotmetrics_label_arity_errors_total{metric=\"x\"} 3"),
        "{text}"
    );
}

/// A typed and a `Dyn` registration of the same family (same name, same
/// label names) share its series; other label names are refused as before.
#[test]
fn typed_and_dyn_views_of_one_family_share_series() {
    let reg = Registry::new();
    let typed = reg.counter_family("jobs", "Jobs", &["queue"]).unwrap();
    let names = vec![String::from("queue")];
    let dynamic = reg
        .counter_family_with(Options::new("jobs", "Jobs").labels(&names))
        .unwrap();
    typed.inc(&["mail"]);
    dynamic.try_get(&["mail"]).unwrap().add(2);
    dynamic.inc(&vec!["mail"]);
    let built = reg
        .counter_family_builder("jobs")
        .labels(&["queue"])
        .build()
        .unwrap();
    built.with(&["mail"]).inc();
    assert_eq!(
        reg.collect().counter_with("jobs", &[("queue", "mail")]),
        Some(5)
    );
    assert!(reg
        .counter_family_builder("jobs")
        .labels(&["queue", "retry"])
        .build()
        .is_err());
}

/// Integer, `bool` and enum values are label values: an integer finds the
/// series of its decimal digits, and looking an existing one up allocates
/// nothing (`tests/alloc.rs`).
#[test]
fn integer_bool_and_enum_values() {
    let reg = Registry::new();
    let fam = reg
        .counter_family("responses", "Responses", &["route", "status", "cached"])
        .unwrap();
    fam.inc(&(Route::Search, 200u16, true));
    fam.inc(&("search", "200", "true"));
    fam.with(&(Route::Search, 200u64, true)).inc();
    fam.inc(&(Route::Checkout, -1i32, false));
    for (status, n) in [(0u8, "0"), (255, "255")] {
        fam.inc(&("x", status, false));
        let snap = reg.collect();
        let labels = [("route", "x"), ("status", n), ("cached", "false")];
        assert_eq!(snap.counter_with("responses", &labels), Some(1));
    }
    fam.inc(&("x", usize::MAX, false));
    fam.inc(&("x", i64::MIN, false));
    let snap = reg.collect();
    let get = |route: &str, status: &str, cached: &str| {
        let labels = [("route", route), ("status", status), ("cached", cached)];
        snap.counter_with("responses", &labels)
    };
    assert_eq!(get("search", "200", "true"), Some(3));
    assert_eq!(get("checkout", "-1", "false"), Some(1));
    assert_eq!(get("x", &usize::MAX.to_string(), "false"), Some(1));
    assert_eq!(get("x", "-9223372036854775808", "false"), Some(1));
    assert_eq!(fam.len(), 6);
}

#[test]
fn gauge_families_hold_a_value_per_series() {
    let reg = Registry::new();
    let fam = reg
        .gauge_family("queue_depth", "Depth", &["queue"])
        .unwrap();
    fam.set(&["a"], 5);
    fam.add(&["a"], -2);
    fam.with(&["b"]).set(-7);
    let snap = reg.collect();
    let get = |q| match snap
        .get_with("queue_depth", &[("queue", q)])
        .unwrap()
        .value()
    {
        MetricValue::Gauge(v) => *v,
        v => panic!("{v:?}"),
    };
    assert_eq!((get("a"), get("b")), (3, -7));
    assert_eq!(
        snap.series("queue_depth")[0].descriptor().kind(),
        MetricKind::Gauge
    );
}

#[test]
fn registration_rules() {
    let reg = Registry::new();
    let a = reg.counter_family("req", "Requests", &["route"]).unwrap();
    let b = reg.counter_family("req", "Other help", &["route"]).unwrap();
    a.inc(&["x"]);
    b.inc(&["x"]);
    assert_eq!(
        reg.collect().counter_with("req", &[("route", "x")]),
        Some(2)
    );
    assert!(matches!(
        reg.counter_family("req", "Requests", &["path"]),
        Err(RegistryError::Conflict {
            what: Conflict::LabelNames,
            ..
        })
    ));
    assert!(matches!(
        reg.counter("req", "Requests"),
        Err(RegistryError::Conflict { .. })
    ));
    assert!(matches!(
        reg.histogram_family("req", "h", Unit::Nanoseconds, &["route"]),
        Err(RegistryError::KindMismatch { .. })
    ));
    reg.counter("plain", "p").unwrap();
    assert!(matches!(
        reg.counter_family("plain", "p", &["a"]),
        Err(RegistryError::Conflict { .. })
    ));
    for bad in [
        &["9x"][..],
        &["a-b"],
        &["__a"],
        &["overflow"],
        &["a", "a"],
        &[],
    ] {
        let err = reg
            .counter_family_with(Options::new("fam", "f").labels(bad))
            .unwrap_err();
        assert!(
            matches!(err, RegistryError::InvalidLabel { .. }),
            "{bad:?}: {err}"
        );
        assert!(err.to_string().contains("invalid label"), "{err}");
    }
    assert!(reg
        .histogram_family("lat", "l", Unit::Nanoseconds, &["le"])
        .is_err());
    assert!(matches!(
        reg.counter_family("bad-name", "f", &["a"]),
        Err(RegistryError::InvalidName { .. })
    ));
    // Absurd limits are clamped, not a panic or a huge allocation.
    let huge = reg
        .counter_family_builder("huge")
        .help("h")
        .labels(&["a"])
        .max_series(usize::MAX)
        .build()
        .unwrap();
    assert_eq!(huge.max_series(), hotmetrics::MAX_SERIES_LIMIT);
    let tiny = reg
        .counter_family_builder("tiny")
        .help("t")
        .labels(&["a"])
        .max_series(0)
        .build()
        .unwrap();
    assert_eq!(tiny.max_series(), 1);
    // The overflow counter's name is taken.
    reg.gauge("busy_overflow", "g").unwrap();
    assert!(reg.counter_family("busy", "b", &["a"]).is_err());
}

#[test]
fn state_sets_are_exclusive_and_exported() {
    let reg = Registry::new();
    let s = reg
        .state_set("breaker", "Breaker", &["closed", "open", "half_open"])
        .unwrap();
    assert_eq!(s.current(), None);
    assert_eq!(
        reg.collect().state_set("breaker").unwrap(),
        [
            ("closed".to_string(), false),
            ("open".to_string(), false),
            ("half_open".to_string(), false)
        ]
    );
    s.set(2);
    assert!(s.set_name("open"));
    assert!(!s.set_name("nope"));
    let snap = reg.collect();
    let states = snap.state_set("breaker").unwrap();
    assert_eq!(
        states.iter().filter(|(_, on)| *on).collect::<Vec<_>>(),
        [&("open".to_string(), true)]
    );
    assert_eq!(
        snap.get("breaker").unwrap().descriptor().kind(),
        MetricKind::StateSet
    );
    s.set(99);
    assert_eq!(s.current(), None);
    // Same states: the same state set; other states: an error.
    let again = reg
        .state_set("breaker", "Breaker", &["closed", "open", "half_open"])
        .unwrap();
    again.set(0);
    assert_eq!(s.current(), Some(0));
    assert!(reg.state_set("breaker", "Breaker", &["on", "off"]).is_err());
    assert!(reg.state_set("empty", "e", &[] as &[&str]).is_err());
    assert!(reg.state_set("dup", "d", &["a", "a"]).is_err());
    let many: Vec<String> = (0..65).map(|i| i.to_string()).collect();
    assert!(reg.state_set("many", "m", &many).is_err());
}

#[derive(Debug)]
struct HttpError(u16);

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "status {}", self.0)
    }
}

impl std::error::Error for HttpError {}

#[test]
fn record_response_feeds_every_family() {
    let reg = Registry::new();
    let rt = reg.response_tracker("http").unwrap().with_classifier(|e| {
        match e.downcast_ref::<HttpError>() {
            Some(HttpError(400..=499)) => ErrorCategory::Client,
            Some(_) => ErrorCategory::Server,
            None => hotmetrics::default_classifier(e),
        }
    });
    let ok: Result<(), HttpError> = Ok(());
    let ms = Duration::from_millis;
    for i in 0..10 {
        let cache = if i < 7 {
            CacheStatus::Hit
        } else {
            CacheStatus::Miss
        };
        rt.record_response(&Route::Search, "lookup", ms(1), &ok, cache);
    }
    rt.record_response(
        &Route::Search,
        "lookup",
        ms(3),
        &Err::<(), _>(HttpError(404)),
        CacheStatus::Miss,
    );
    rt.record_response(
        &Route::Checkout,
        "pay",
        ms(9),
        &Err::<(), _>(HttpError(503)),
        CacheStatus::NotCached,
    );
    rt.record_response(
        "checkout",
        "pay",
        ms(2),
        &ResponseOutcome::Error(ErrorCategory::Timeout),
        CacheStatus::NotCached,
    );
    rt.record_response(
        &Route::Checkout,
        "pay",
        ms(2),
        &ResponseOutcome::Success,
        CacheStatus::NotCached,
    );

    let snap = reg.collect();
    let h = |route, outcome| {
        snap.histogram_with(
            "http_request_duration",
            &[("route", route), ("outcome", outcome)],
        )
        .map(|h| (h.count(), h.sum()))
    };
    assert_eq!(h("search", "success"), Some((10, 10_000_000)));
    assert_eq!(h("search", "error"), Some((1, 3_000_000)));
    assert_eq!(h("checkout", "error"), Some((2, 11_000_000)));
    assert_eq!(h("checkout", "success"), Some((1, 2_000_000)));
    let c = |name, labels: &[(&str, &str)]| snap.counter_with(name, labels);
    assert_eq!(
        c(
            "http_errors",
            &[("route", "search"), ("category", "client")]
        ),
        Some(1)
    );
    assert_eq!(
        c(
            "http_errors",
            &[("route", "checkout"), ("category", "server")]
        ),
        Some(1)
    );
    assert_eq!(
        c(
            "http_errors",
            &[("route", "checkout"), ("category", "timeout")]
        ),
        Some(1)
    );
    assert_eq!(
        c(
            "http_cache_requests",
            &[("route", "search"), ("cache", "hit")]
        ),
        Some(7)
    );
    assert_eq!(
        c(
            "http_cache_requests",
            &[("route", "search"), ("cache", "miss")]
        ),
        Some(4)
    );
    assert_eq!(snap.series("http_cache_requests").len(), 2);
    assert_eq!(
        c(
            "http_requests",
            &[
                ("route", "search"),
                ("intent", "lookup"),
                ("outcome", "success")
            ]
        ),
        Some(10)
    );
    assert_eq!(
        c(
            "http_requests",
            &[
                ("route", "checkout"),
                ("intent", "pay"),
                ("outcome", "error")
            ]
        ),
        Some(2)
    );
    // The same prefix again is the same set of families.
    let again = reg.response_tracker("http").unwrap();
    again.record_response("search", "lookup", ms(1), &ok, CacheStatus::Hit);
    assert_eq!(
        reg.collect().counter_with(
            "http_cache_requests",
            &[("route", "search"), ("cache", "hit")]
        ),
        Some(8)
    );
}

/// Sum of every series of counter `name` (the overflow series included).
fn family_total(snap: &hotmetrics::Snapshot, name: &str) -> u64 {
    snap.series(name)
        .iter()
        .map(|m| match m.value() {
            MetricValue::Counter(v) => *v,
            v => panic!("{v:?}"),
        })
        .sum()
}

/// Eviction and overflow at once: 4 threads record into 64 label sets in
/// phases (each phase uses a different quarter of them, so the others go
/// idle and are evicted, then come back as new series on recycled cells),
/// into a family limited to 20 series that evicts after one idle
/// collection, while another thread collects in a loop. In every snapshot
/// the live series, the overflow series and `<name>_evicted` never add up
/// to more than was recorded (nothing counted twice); once the writers stop
/// and the evicted series are reclaimed, they add up to exactly that
/// (nothing lost). Bound handles keep their series through it all.
#[test]
fn exact_totals_with_eviction_and_overflow() {
    const THREADS: u64 = 4;
    const PHASES: u64 = 8;
    const OPS: u64 = 5_000;
    let reg = Registry::new();
    let fam = reg
        .counter_family_builder("jobs")
        .help("Jobs")
        .labels(&["queue", "kind"])
        .max_series(20)
        .evict_idle_after(1)
        .build()
        .unwrap();
    let lat = reg
        .histogram_family_builder("lat")
        .help("Latency")
        .labels(&["queue"])
        .max_series(10)
        .evict_idle_after(1)
        .build()
        .unwrap();
    let names: Vec<String> = (0..16).map(|i| format!("q{i}")).collect();
    let kinds = ["a", "b", "c", "d"];
    let pinned = fam.with(&("pinned", "x"));
    let recorded = std::sync::atomic::AtomicU64::new(0);

    let stop = AtomicBool::new(false);
    let total = THREADS * PHASES * OPS + 100;
    std::thread::scope(|s| {
        let _stop = StopOnDrop(&stop);
        let collector = s.spawn(|| {
            let mut snapshots = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let snap = reg.collect();
                // Acquire fence after the collector's (relaxed) cell loads,
                // paired with each writer's Release fence between counting
                // a record and making it: every record this snapshot saw was
                // counted in `recorded` before, and is visible here.
                fence(Ordering::Acquire);
                let seen = family_total(&snap, "jobs") + snap.counter("jobs_evicted").unwrap();
                let done = recorded.load(Ordering::Relaxed);
                assert!(seen <= done, "counted twice: {seen} > {done}");
                snapshots += 1;
            }
            snapshots
        });
        let writers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (fam, lat, names, recorded) = (&fam, &lat, &names, &recorded);
                s.spawn(move || {
                    for phase in 0..PHASES {
                        for i in 0..OPS {
                            let q = &names[((phase * 4 + i % 4 + t) % 16) as usize];
                            let k = kinds[((i / 4) % 4) as usize];
                            recorded.fetch_add(1, Ordering::Relaxed);
                            fence(Ordering::Release);
                            fam.inc(&(q.as_str(), k));
                            lat.record(&[q.as_str()], i);
                        }
                        std::thread::yield_now();
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        for _ in 0..100 {
            recorded.fetch_add(1, Ordering::Relaxed);
            fence(Ordering::Release);
            pinned.inc();
        }
        stop.store(true, Ordering::Relaxed);
        let snapshots = collector.join().unwrap();
        println!("{snapshots} snapshots taken while recording");
    });

    // Quiesce: idle series are evicted, then reclaimed, then accounted.
    let mut last = None;
    for _ in 0..200 {
        let snap = reg.collect();
        let seen = family_total(&snap, "jobs") + snap.counter("jobs_evicted").unwrap();
        assert!(seen <= total, "counted twice: {seen} > {total}");
        let hist: u64 = snap
            .series("lat")
            .iter()
            .map(|m| match m.value() {
                MetricValue::Histogram(h) => h.count(),
                v => panic!("{v:?}"),
            })
            .sum::<u64>()
            + snap.counter("lat_evicted").unwrap();
        if seen == total && hist == total - 100 && fam.pending_evictions() == 0 {
            last = Some(snap);
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let snap = last.expect("records lost: the totals never added up");
    assert_eq!(
        snap.counter_with("jobs", &[("queue", "pinned"), ("kind", "x")]),
        Some(100)
    );
    assert!(
        snap.counter("jobs_evicted").unwrap() > 0,
        "nothing was evicted"
    );
    assert!(
        snap.counter("jobs_overflow").unwrap() > 0,
        "nothing overflowed"
    );
    assert!(fam.len() <= 20);
}

#[test]
fn a_familys_internal_counters_are_never_merged_with_user_metrics() {
    let reserved = |r: Result<Counter, RegistryError>, name: &str, family: &str| match r {
        Err(RegistryError::Reserved { name: n, family: f }) => {
            assert_eq!((n.as_str(), f.as_str()), (name, family));
        }
        other => panic!("{name}: {other:?}"),
    };
    // A family first: its counters are its own.
    let reg = Registry::new();
    reg.counter_family_builder("jobs")
        .help("Jobs")
        .labels(&["queue"])
        .evict_idle_after(2)
        .build()
        .unwrap();
    reserved(
        reg.counter("jobs_overflow", "mine"),
        "jobs_overflow",
        "jobs",
    );
    reserved(reg.counter("jobs_evicted", "mine"), "jobs_evicted", "jobs");
    // Re-registering the family is still fine.
    reg.counter_family_builder("jobs")
        .help("Jobs")
        .labels(&["queue"])
        .evict_idle_after(2)
        .build()
        .unwrap();

    // The user's counter first: the family cannot take its name over.
    let reg = Registry::new();
    let mine = reg.counter("jobs_overflow", "mine").unwrap();
    mine.add(5);
    let err = reg.counter_family("jobs", "Jobs", &["queue"]).unwrap_err();
    assert_eq!(
        err,
        RegistryError::Reserved {
            name: "jobs_overflow".into(),
            family: "jobs".into()
        }
    );
    assert!(err.to_string().contains("reserved"), "{err}");
    assert_eq!(reg.collect().counter("jobs_overflow"), Some(5));
}
