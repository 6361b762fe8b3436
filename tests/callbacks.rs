//! Metrics computed at collection (`counter_fn`, `gauge_fn`,
//! `float_gauge_fn`): the callback runs on every collection, its value is a
//! series like any other, the registration rules apply, and a callback
//! that panics is counted without spoiling the collection.

use hotmetrics::export::prometheus;
use hotmetrics::{Conflict, Options, Registry, RegistryError, Unit};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

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
        snap.counter_with("hotmetrics_callback_panics", &[("metric", "flaky")])
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
        reg.counter_family("hotmetrics_callback_panics", "h", &["metric"]),
        Err(RegistryError::Reserved { .. })
    ));
    assert!(!reg.unregister("hotmetrics_callback_panics"));
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
