//! `Registry::unregister`: the metric leaves the next snapshot, its old
//! handles keep working into nothing visible, and the name can be
//! registered again, as another kind too.

use hotmetrics::export::prometheus;
use hotmetrics::{Registry, RegistryError, Unit};

#[path = "common/promtool.rs"]
mod promtool;

#[test]
fn an_unregistered_counter_leaves_the_next_snapshot_and_its_handle_records_nowhere() {
    let reg = Registry::new();
    let jobs = reg.counter("jobs", "Jobs").unwrap();
    let kept = reg.counter("kept", "Kept").unwrap();
    jobs.add(3);
    kept.inc();
    assert_eq!(reg.collect().counter("jobs"), Some(3));

    assert!(reg.unregister("jobs"));
    assert!(!reg.unregister("jobs"), "a second unregister finds nothing");
    assert!(!reg.unregister("never_registered"));
    jobs.add(5); // the old handle: no panic, nothing visible
    let snap = reg.collect();
    assert_eq!(snap.counter("jobs"), None);
    assert_eq!(snap.counter("kept"), Some(1));
    assert_eq!(reg.len(), 1);
    assert!(!prometheus::render(&snap).contains("jobs"));

    // The name is free again, for another kind: a fresh metric.
    let g = reg.gauge("jobs", "Jobs now").unwrap();
    g.set(-2);
    jobs.inc();
    let snap = reg.collect();
    assert_eq!(snap.gauge("jobs"), Some(-2));
    assert_eq!(snap.counter("kept"), Some(1));
    promtool::check_metrics(&prometheus::render(&snap));
}

#[test]
fn a_family_goes_with_its_internal_counters_which_cannot_be_unregistered_alone() {
    let reg = Registry::new();
    // Typed by its label count (a `Dyn` family would also register the
    // registry's `hotmetrics_label_arity_errors`, which stays).
    let fam = reg
        .counter_family_builder("req")
        .help("Requests")
        .labels(&["route"])
        .evict_idle_after(5)
        .build()
        .unwrap();
    fam.inc(&["a"]);
    let snap = reg.collect();
    assert_eq!(snap.counter_with("req", &[("route", "a")]), Some(1));
    assert!(snap.counter("req_overflow").is_some());

    assert!(!reg.unregister("req_overflow"), "a family's own counter");
    assert!(!reg.unregister("req_evicted"));
    assert!(reg.collect().counter("req_overflow").is_some());

    assert!(reg.unregister("req"));
    fam.inc(&["b"]);
    let snap = reg.collect();
    assert!(snap.metrics().is_empty(), "{snap:?}");
    assert!(reg.is_empty());

    // Its reserved names are free again too.
    reg.counter("req_overflow", "A user's counter")
        .unwrap()
        .inc();
    let h = reg.histogram("req", "Latency", Unit::Nanoseconds).unwrap();
    h.record(1_000);
    let snap = reg.collect();
    assert_eq!(snap.counter("req_overflow"), Some(1));
    assert_eq!(snap.histogram("req").unwrap().count(), 1);
    promtool::check_metrics(&prometheus::render(&snap));
}

#[test]
fn exported_names_are_released_and_collections_stay_in_order_across_removals() {
    let reg = Registry::new();
    let names = ["m_a", "m_b", "m_c", "m_d"];
    for (i, n) in names.iter().enumerate() {
        reg.counter(n, "n").unwrap().add(i as u64 + 1);
    }
    assert!(matches!(
        reg.gauge("m_b_total", "g"),
        Err(RegistryError::Collision { .. })
    ));
    reg.collect();
    assert!(reg.unregister("m_b"));
    reg.gauge("m_b_total", "now free").unwrap().set(9);
    assert!(reg.unregister("m_a"));
    reg.counter("m_0", "new first").unwrap().add(10);
    for _ in 0..2 {
        let snap = reg.collect();
        let got: Vec<&str> = snap.metrics().iter().map(|m| m.name()).collect();
        assert_eq!(got, ["m_0", "m_b_total", "m_c", "m_d"]);
        assert_eq!(snap.counter("m_0"), Some(10));
        assert_eq!(snap.counter("m_c"), Some(3));
        assert_eq!(snap.counter("m_d"), Some(4));
        assert_eq!(snap.gauge("m_b_total"), Some(9));
    }
}
