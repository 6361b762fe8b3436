//! Registration: name validation, idempotence, conflicts, the global registry.

use hotmetrics::{
    Conflict, MetricKind, MetricValue, Options, Precision, Registry, RegistryError, Unit,
};
use std::sync::LazyLock;

#[test]
fn same_name_same_kind_is_the_same_metric() {
    let reg = Registry::new();
    let a = reg.counter("hits", "Cache hits").unwrap();
    let b = reg.counter("hits", "Another help text").unwrap();
    a.inc();
    b.add(2);
    let snap = reg.collect();
    assert_eq!(snap.counter("hits"), Some(3));
    assert_eq!(snap.get("hits").unwrap().descriptor().help(), "Cache hits");
    assert_eq!(reg.len(), 1);

    let h1 = reg.histogram("lat", "Latency", Unit::Nanoseconds).unwrap();
    let h2 = reg.histogram("lat", "Latency", Unit::Nanoseconds).unwrap();
    h1.record(1);
    h2.record(2);
    assert_eq!(reg.collect().histogram("lat").unwrap().count(), 2);
}

#[test]
fn conflicts_are_errors() {
    let reg = Registry::new();
    reg.counter("x", "x").unwrap();
    let err = reg.gauge("x", "x").unwrap_err();
    assert_eq!(
        err,
        RegistryError::KindMismatch {
            name: "x".into(),
            existing: MetricKind::Counter,
            requested: MetricKind::Gauge
        }
    );
    assert!(err.to_string().contains("already registered as a counter"));
    assert!(reg.histogram("x", "x", Unit::Bytes).is_err());

    reg.histogram("h", "h", Unit::Nanoseconds).unwrap();
    assert!(matches!(
        reg.histogram("h", "h", Unit::Bytes),
        Err(RegistryError::Conflict {
            what: Conflict::Unit,
            ..
        })
    ));
    assert!(matches!(
        reg.histogram_with(
            Options::new("h", "h")
                .unit(Unit::Nanoseconds)
                .precision(Precision::new(3).unwrap())
        ),
        Err(RegistryError::Conflict {
            what: Conflict::Precision,
            ..
        })
    ));
    assert_eq!(reg.len(), 2);
}

#[test]
fn invalid_names_are_rejected_not_panicked() {
    let reg = Registry::new();
    for bad in [
        "",
        "1abc",
        "has space",
        "dash-ed",
        "ünï",
        "__reserved",
        "a{b}",
    ] {
        match reg.counter(bad, "help") {
            Err(RegistryError::InvalidName { name, reason }) => {
                assert_eq!(name, bad);
                assert!(!reason.is_empty());
            }
            other => panic!("{bad:?} gave {other:?}"),
        }
    }
    assert!(reg.is_empty());
}

#[test]
fn every_kind_appears_in_the_snapshot_with_its_descriptor() {
    let reg = Registry::new();
    reg.counter_with(Options::new("bytes_sent", "Bytes sent").unit(Unit::Bytes))
        .unwrap()
        .add(10);
    reg.gauge("temp", "t").unwrap().set(-4);
    reg.float_gauge("ratio", "r").unwrap().set(0.5);
    reg.histogram("lat", "l", Unit::Microseconds)
        .unwrap()
        .record_duration(std::time::Duration::from_millis(2));
    let snap = reg.collect();
    let names: Vec<_> = snap.metrics().iter().map(|m| m.name()).collect();
    assert_eq!(
        names,
        ["bytes_sent", "lat", "ratio", "temp"],
        "sorted by name"
    );
    assert_eq!(
        snap.get("bytes_sent").unwrap().descriptor().unit(),
        Unit::Bytes
    );
    assert_eq!(snap.gauge("temp"), Some(-4));
    assert_eq!(snap.float_gauge("ratio"), Some(0.5));
    assert_eq!(snap.histogram("lat").unwrap().max(), Some(2_000));
    assert!(matches!(
        snap.get("lat").unwrap().value(),
        MetricValue::Histogram(_)
    ));
    // Asking for the wrong kind gives None, not a panic.
    assert_eq!(snap.counter("lat"), None);
    assert_eq!(snap.histogram("temp"), None);
    assert_eq!(snap.counter("missing"), None);
    let text = snap.to_string();
    assert!(text.contains("lat histogram count=1"), "{text}");
    assert!(text.contains("bytes_sent counter 10 bytes"), "{text}");
}

static REQUESTS: LazyLock<hotmetrics::Counter> = LazyLock::new(|| {
    hotmetrics::global()
        .counter("registry_test_requests", "Requests")
        .unwrap()
});

#[test]
fn static_handles_on_the_global_registry() {
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..1000 {
                    REQUESTS.inc();
                }
            });
        }
    });
    assert_eq!(
        hotmetrics::global()
            .collect()
            .counter("registry_test_requests"),
        Some(4000)
    );
}

#[test]
fn handles_are_send_sync_clone() {
    fn assert_send_sync_clone<T: Send + Sync + Clone>() {}
    assert_send_sync_clone::<hotmetrics::Counter>();
    assert_send_sync_clone::<hotmetrics::Gauge>();
    assert_send_sync_clone::<hotmetrics::FloatGauge>();
    assert_send_sync_clone::<hotmetrics::Histogram>();
    assert_send_sync_clone::<Registry>();
}

#[test]
fn a_state_set_name_is_a_valid_label_name() {
    // OpenMetrics labels a state set's samples with the set's own name, so
    // the name must also be a valid label name: no colon.
    let reg = Registry::new();
    let err = reg
        .state_set("svc:state", "State", &["up", "down"])
        .unwrap_err();
    assert!(
        matches!(&err, RegistryError::InvalidName { name, .. } if name == "svc:state"),
        "{err:?}"
    );
    assert!(err.to_string().contains("colon"), "{err}");
    assert!(reg.state_set("svc_state", "State", &["up", "down"]).is_ok());
    // A colon stays valid in other metric names.
    assert!(reg.counter("svc:requests", "Requests").is_ok());
}

#[test]
fn names_that_collide_once_exported_are_refused() {
    // Each pair would make Prometheus reject the whole scrape.
    type Make = fn(&Registry, &str) -> Result<(), RegistryError>;
    let counter: Make = |r, n| r.counter(n, "c").map(drop);
    let gauge: Make = |r, n| r.gauge(n, "g").map(drop);
    let histogram_ns: Make = |r, n| r.histogram(n, "h", Unit::Nanoseconds).map(drop);
    let histogram: Make = |r, n| r.histogram(n, "h", Unit::None).map(drop);
    let cases: [(&str, Make, &str, Make, &str); 5] = [
        ("dup", counter, "dup_total", counter, "dup"),
        ("lat", histogram_ns, "lat_seconds", gauge, "lat_seconds"),
        ("h", histogram, "h_count", gauge, "h_count"),
        ("hb", histogram, "hb_bucket", gauge, "hb_bucket"),
        ("gt", counter, "gt_total", gauge, "gt_total"),
    ];
    for (first, make_first, second, make_second, exported) in cases {
        let reg = Registry::new();
        make_first(&reg, first).unwrap();
        let err = make_second(&reg, second).unwrap_err();
        assert_eq!(
            err,
            RegistryError::Collision {
                name: second.to_owned(),
                existing: first.to_owned(),
                exported: exported.to_owned(),
            }
        );
        assert!(err.to_string().contains(first), "{err}");
        // The other order is refused too.
        let reg = Registry::new();
        make_second(&reg, second).unwrap();
        assert!(
            matches!(
                make_first(&reg, first),
                Err(RegistryError::Collision { .. })
            ),
            "{second} then {first}"
        );
    }
    // Names that only look alike are fine, and re-registering is not a
    // collision.
    let reg = Registry::new();
    reg.counter("jobs", "j").unwrap();
    reg.counter("jobs", "j").unwrap();
    reg.gauge("jobs_running", "r").unwrap();
    reg.histogram("jobs_duration", "d", Unit::Nanoseconds)
        .unwrap();
    reg.counter_family("jobs_by_queue", "q", &["queue"])
        .unwrap();
}
