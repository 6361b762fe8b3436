//! Metrics computed at collection (`counter_fn`, `gauge_fn`,
//! `float_gauge_fn`): the callback runs on every collection, its value is a
//! series like any other, the registration rules apply, and a callback
//! that panics is counted without spoiling the collection.

use hotmetrics::export::prometheus;
use hotmetrics::{Conflict, Options, Registry, RegistryError, Unit};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::sync::Mutex;

#[path = "common/promtool.rs"]
mod promtool;

#[test]
fn callbacks_run_on_every_collection_and_export_like_any_metric() {
    let reg = Registry::new();
    let served = Arc::new(AtomicU64::new(0));
    let depth = Arc::new(AtomicI64::new(0));
    let calls = Arc::new(AtomicU64::new(0));
    let s = served.clone();
    reg.counter_fn("served", "Requests served elsewhere", move || {
        s.load(Ordering::Relaxed)
    })
    .unwrap();
    let d = depth.clone();
    reg.gauge_fn("queue_depth", "Items queued", move || {
        d.load(Ordering::Relaxed)
    })
    .unwrap();
    let c = calls.clone();
    reg.float_gauge_fn_with(
        Options::new("uptime", "Seconds up").unit(Unit::Seconds),
        move || c.fetch_add(1, Ordering::Relaxed) as f64 + 0.5,
    )
    .unwrap();
    reg.counter("plain", "A plain counter").unwrap().inc();

    served.store(7, Ordering::Relaxed);
    depth.store(-3, Ordering::Relaxed);
    let snap = reg.collect();
    assert_eq!(snap.counter("served"), Some(7));
    assert_eq!(snap.gauge("queue_depth"), Some(-3));
    assert_eq!(snap.float_gauge("uptime"), Some(0.5));
    assert_eq!(snap.counter("plain"), Some(1));

    served.store(9, Ordering::Relaxed);
    let snap = reg.collect();
    assert_eq!(snap.counter("served"), Some(9));
    assert_eq!(snap.float_gauge("uptime"), Some(1.5));
    assert_eq!(calls.load(Ordering::Relaxed), 2, "once per collection");

    let text = prometheus::render(&snap);
    assert!(
        text.contains("# TYPE served_total counter\nserved_total 9\n"),
        "{text}"
    );
    assert!(text.contains("queue_depth -3\n"), "{text}");
    assert!(text.contains("uptime_seconds 1.5\n"), "{text}");
    promtool::check_metrics(&text);
}

#[test]
fn callback_registrations_follow_the_naming_rules() {
    let reg = Registry::new();
    assert!(matches!(
        reg.gauge_fn("bad-name", "h", || 1),
        Err(RegistryError::InvalidName { .. })
    ));
    reg.counter("jobs", "Jobs").unwrap();
    // `jobs` exports `jobs_total`: a gauge of that name would collide.
    assert!(matches!(
        reg.gauge_fn("jobs_total", "h", || 1),
        Err(RegistryError::Collision { .. })
    ));
    assert!(matches!(
        reg.gauge_fn("jobs", "h", || 1),
        Err(RegistryError::KindMismatch { .. })
    ));
    // Same kind as a plain metric, or a second callback: refused, never
    // merged or replaced.
    let err = reg.counter_fn("jobs", "h", || 1).unwrap_err();
    assert_eq!(
        err,
        RegistryError::Conflict {
            name: "jobs".into(),
            what: Conflict::Callback
        }
    );
    reg.gauge_fn("depth", "Depth", || 1).unwrap();
    let again = reg.gauge_fn("depth", "Depth", || 2).unwrap_err();
    assert!(matches!(
        again,
        RegistryError::Conflict {
            what: Conflict::Callback,
            ..
        }
    ));
    assert!(matches!(
        reg.gauge("depth", "Depth"),
        Err(RegistryError::Conflict {
            what: Conflict::Callback,
            ..
        })
    ));
    assert!(err.to_string().contains("jobs"), "{err}");
    assert_eq!(reg.collect().gauge("depth"), Some(1));
}

#[test]
fn a_panicking_callback_is_counted_and_spoils_nothing_else() {
    let reg = Registry::new();
    let fail = Arc::new(AtomicU64::new(1));
    let f = fail.clone();
    reg.gauge_fn("flaky", "Sometimes panics", move || {
        if f.load(Ordering::Relaxed) == 1 {
            panic!("flaky callback failed");
        }
        42
    })
    .unwrap();
    reg.gauge_fn("steady", "Never panics", || 1).unwrap();
    reg.counter("plain", "Plain").unwrap().add(2);

    let snap = reg.collect();
    assert_eq!(
        snap.gauge("flaky"),
        None,
        "no value from a panicking callback"
    );
    assert_eq!(snap.gauge("steady"), Some(1));
    assert_eq!(snap.counter("plain"), Some(2));
    let panics = |snap: &hotmetrics::Snapshot| {
        snap.counter_with(
            "hotmetrics_callback_errors",
            &[("metric", "flaky"), ("reason", "panic")],
        )
    };
    assert_eq!(panics(&snap), Some(1), "counted in the same collection");
    promtool::check_metrics(&prometheus::render(&snap));

    assert_eq!(panics(&reg.collect()), Some(2));
    fail.store(0, Ordering::Relaxed);
    let snap = reg.collect();
    assert_eq!(snap.gauge("flaky"), Some(42));
    assert_eq!(panics(&snap), Some(2));
    // The counter is the registry's own: not the user's to take.
    assert!(matches!(
        reg.counter_family("hotmetrics_callback_errors", "h", &["metric", "reason"]),
        Err(RegistryError::Reserved { .. })
    ));
    assert!(!reg.unregister("hotmetrics_callback_errors"));
}

#[test]
fn an_unregistered_callback_is_dropped_and_no_longer_called() {
    let reg = Registry::new();
    let state = Arc::new(AtomicU64::new(5));
    let s = state.clone();
    reg.counter_fn("ticks", "Ticks", move || s.load(Ordering::Relaxed))
        .unwrap();
    assert_eq!(reg.collect().counter("ticks"), Some(5));
    assert_eq!(Arc::strong_count(&state), 2);
    assert!(reg.unregister("ticks"));
    assert_eq!(reg.collect().counter("ticks"), None);
    assert_eq!(Arc::strong_count(&state), 1, "the closure was dropped");
    reg.counter_fn("ticks", "Ticks again", || 1).unwrap();
    assert_eq!(reg.collect().counter("ticks"), Some(1));
}

#[test]
fn a_labeled_callback_writes_one_series_per_key_and_bad_series_are_counted() {
    let reg = Registry::new();
    let pools: Arc<Mutex<BTreeMap<&'static str, i64>>> = Default::default();
    let p = pools.clone();
    reg.gauge_family_fn_with(
        Options::new("pool_connections", "Open connections")
            .labels(&["pool", "role"])
            .max_series(3),
        move |out| {
            for (pool, n) in p.lock().unwrap().iter() {
                out.series(&[*pool, "primary"], *n);
            }
            assert_eq!(out.label_names(), ["pool", "role"]);
            assert!(!out.series(&["only_one"], 1), "one value for two labels");
            assert!(!out.series(&["a", "b", "c"], 1));
        },
    )
    .unwrap();
    let hits = Arc::new(AtomicU64::new(0));
    let h = hits.clone();
    reg.counter_family_fn_with(
        Options::new("cache_hits", "Hits").labels(&["cache"]),
        move |out| {
            out.series(&["users"], h.load(Ordering::Relaxed));
            out.series(&["users"], 999); // given twice: the first is kept
        },
    )
    .unwrap();

    pools.lock().unwrap().extend([("db", 4), ("cache", 2)]);
    hits.store(12, Ordering::Relaxed);
    let snap = reg.collect();
    let conns = |pool| snap.gauge_with("pool_connections", &[("pool", pool), ("role", "primary")]);
    assert_eq!(conns("db"), Some(4));
    assert_eq!(conns("cache"), Some(2));
    assert_eq!(snap.series("pool_connections").len(), 2);
    assert_eq!(
        snap.counter_with("cache_hits", &[("cache", "users")]),
        Some(12)
    );
    let errors = |metric, reason| {
        snap.counter_with(
            "hotmetrics_callback_errors",
            &[("metric", metric), ("reason", reason)],
        )
    };
    assert_eq!(errors("pool_connections", "labels"), Some(2));
    assert_eq!(errors("cache_hits", "duplicate"), Some(1));
    assert_eq!(errors("pool_connections", "limit"), None);
    let text = prometheus::render(&snap);
    assert!(
        text.contains("pool_connections{pool=\"db\",role=\"primary\"} 4\n"),
        "{text}"
    );
    promtool::check_metrics(&text);

    // Past max_series (3): the fourth is dropped and counted.
    pools.lock().unwrap().extend([("a", 1), ("b", 1)]);
    let snap = reg.collect();
    assert_eq!(snap.series("pool_connections").len(), 3);
    assert_eq!(
        snap.counter_with(
            "hotmetrics_callback_errors",
            &[("metric", "pool_connections"), ("reason", "limit")]
        ),
        Some(1)
    );
    // Label names are checked like a family's.
    assert!(matches!(
        reg.float_gauge_family_fn_with(Options::new("x", "x").labels(&["le-bad"]), |_| {}),
        Err(RegistryError::InvalidLabel { .. })
    ));
    assert!(matches!(
        reg.float_gauge_family_fn_with(Options::new("y", "y"), |_| {}),
        Err(RegistryError::InvalidLabel { .. })
    ));
}
