//! Registry views: `sub(prefix)` puts a name prefix, `with_const_labels`
//! constant labels, on every metric registered through the view (on every
//! series they export, a family's overflow counter included), the
//! equivalents of prometheus-client's `sub_registry_with_prefix` and
//! `sub_registry_with_label(s)`.

use hotmetrics::export::{openmetrics, prometheus};
use hotmetrics::{Conflict, Options, Registry, RegistryError, Unit};

#[path = "common/promtool.rs"]
mod promtool;

#[test]
fn a_prefix_view_registers_under_prefixed_names_and_nests() {
    let reg = Registry::new();
    let app = reg.sub("myapp").unwrap();
    app.counter("requests", "Requests").unwrap().add(2);
    let db = app.sub("db").unwrap();
    db.gauge("connections", "Open connections").unwrap().set(3);
    reg.counter("plain", "Root").unwrap().inc();
    // The same registry: one collection sees all, from any view.
    let snap = app.collect();
    assert_eq!(snap.counter("myapp_requests"), Some(2));
    assert_eq!(snap.gauge("myapp_db_connections"), Some(3));
    assert_eq!(snap.counter("plain"), Some(1));
    assert_eq!(snap.counter("requests"), None);
    assert_eq!(reg.len(), 3);
    // Registering again through the view finds the same metric.
    app.counter("requests", "Requests").unwrap().inc();
    assert_eq!(reg.collect().counter("myapp_requests"), Some(3));
    // Names are checked whole, collisions across views too.
    assert!(matches!(
        reg.sub("my-app"),
        Err(RegistryError::InvalidName { .. })
    ));
    assert!(matches!(
        reg.sub(""),
        Err(RegistryError::InvalidName { .. })
    ));
    assert!(matches!(
        reg.gauge("myapp_requests_total", "g"),
        Err(RegistryError::Collision { .. })
    ));
    assert!(app.unregister("requests"));
    assert_eq!(reg.collect().counter("myapp_requests"), None);
    promtool::check_metrics(&prometheus::render(&reg.collect()));
}

#[test]
fn constant_labels_are_on_every_series_of_every_metric_of_the_view() {
    let reg = Registry::new();
    let api = reg
        .sub("app")
        .unwrap()
        .with_const_labels(&[("service", "api"), ("zone", "eu-1")])
        .unwrap();
    let req = api
        .counter_family_with(
            Options::new("requests", "Requests")
                .labels(&["route"])
                .max_series(1),
        )
        .unwrap();
    req.inc(&["a"]);
    req.inc(&["b"]); // past the limit: the overflow series, counted
    let lat = api
        .histogram("latency", "Latency", Unit::Nanoseconds)
        .unwrap();
    lat.record(1_500);
    let state = api
        .state_set("breaker", "Breaker", &["closed", "open"])
        .unwrap();
    state.set(1);
    api.gauge_fn("queue", "Queued", || 4).unwrap();
    reg.counter("plain", "No labels").unwrap().inc();

    let snap = reg.collect();
    let sa = [("service", "api"), ("zone", "eu-1")];
    assert_eq!(
        snap.counter_with("app_requests", &[sa[0], sa[1], ("route", "a")]),
        Some(1)
    );
    assert_eq!(
        snap.counter_with("app_requests", &[sa[0], sa[1], ("overflow", "true")]),
        Some(1)
    );
    assert_eq!(snap.counter_with("app_requests_overflow", &sa), Some(1));
    assert_eq!(snap.counter_with("app_requests", &[("route", "a")]), None);
    assert!(snap.series("app_latency")[0].labels().matches(&sa));
    assert!(snap.series("app_breaker")[0].labels().matches(&sa));
    assert!(snap.series("app_queue")[0].labels().matches(&sa));
    assert!(snap.series("plain")[0].labels().is_empty());

    let text = prometheus::render(&snap);
    for line in [
        "app_requests_total{service=\"api\",zone=\"eu-1\",route=\"a\"} 1\n",
        "app_requests_overflow_total{service=\"api\",zone=\"eu-1\"} 1\n",
        "app_latency_seconds_count{service=\"api\",zone=\"eu-1\"} 1\n",
        "app_queue{service=\"api\",zone=\"eu-1\"} 4\n",
        "plain_total 1\n",
    ] {
        assert!(text.contains(line), "{line:?} missing from\n{text}");
    }
    assert!(
        text.lines()
            .filter(|l| l.starts_with("app_latency_seconds_bucket"))
            .all(|l| l.starts_with("app_latency_seconds_bucket{service=\"api\",zone=\"eu-1\",le=")),
        "{text}"
    );
    assert!(
        text.contains("app_breaker{service=\"api\",zone=\"eu-1\",app_breaker=\"open\"} 1"),
        "{text}"
    );
    promtool::check_metrics(&text);
    let om = openmetrics::render(&snap);
    assert!(
        om.contains("app_requests_total{service=\"api\",zone=\"eu-1\",route=\"a\"} 1"),
        "{om}"
    );
}

#[test]
fn constant_labels_that_clash_are_refused_with_the_label_named() {
    let reg = Registry::new();
    let v = reg.with_const_labels(&[("route", "x")]).unwrap();
    let err = v
        .counter_family("req", "h", &["route", "code"])
        .unwrap_err();
    assert!(
        matches!(&err, RegistryError::InvalidLabel { name, label, .. } if name == "req" && label == "route"),
        "{err:?}"
    );
    assert!(err.to_string().contains("constant label"), "{err}");
    let le = reg.with_const_labels(&[("le", "1")]).unwrap();
    assert!(matches!(
        le.histogram("h", "h", Unit::None),
        Err(RegistryError::InvalidLabel { .. })
    ));
    le.counter("fine_with_le", "a counter may have it").unwrap();
    // A state set's samples carry its name as a label.
    let s = reg.with_const_labels(&[("mode", "x")]).unwrap();
    assert!(matches!(
        s.state_set("mode", "h", &["a", "b"]),
        Err(RegistryError::InvalidLabel { .. })
    ));
    for bad in ["bad-label", "__x", "overflow", ""] {
        let e = reg.with_const_labels(&[(bad, "v")]).unwrap_err();
        assert!(
            matches!(&e, RegistryError::InvalidConstLabel { label, .. } if label == bad),
            "{bad}: {e:?}"
        );
    }
    let twice = v.with_const_labels(&[("route", "y")]).unwrap_err();
    assert!(
        matches!(twice, RegistryError::InvalidConstLabel { .. }),
        "{twice:?}"
    );
    assert!(twice.to_string().contains("route"), "{twice}");
    assert!(reg.with_const_labels(&[("a", "1"), ("a", "2")]).is_err());
}

#[test]
fn views_with_other_label_values_share_a_name_as_one_family() {
    let reg = Registry::new();
    let a = reg.with_const_labels(&[("service", "a")]).unwrap();
    let b = reg.with_const_labels(&[("service", "b")]).unwrap();
    let ja = a.counter_family("jobs", "Jobs", &["queue"]).unwrap();
    let jb = b.counter_family("jobs", "Jobs", &["queue"]).unwrap();
    ja.add(&["q"], 2);
    jb.add(&["q"], 5);
    // The same view, or another with the same labels: the same metric.
    reg.with_const_labels(&[("service", "a")])
        .unwrap()
        .counter_family("jobs", "Jobs", &["queue"])
        .unwrap()
        .inc(&["q"]);
    b.gauge_fn("depth", "Depth", || 1).unwrap();
    a.gauge_fn("depth", "Depth", || 2).unwrap();

    let snap = reg.collect();
    let jobs = |s: &str| snap.counter_with("jobs", &[("service", s), ("queue", "q")]);
    assert_eq!((jobs("a"), jobs("b")), (Some(3), Some(5)));
    assert_eq!(snap.gauge_with("depth", &[("service", "a")]), Some(2));
    assert_eq!(snap.gauge_with("depth", &[("service", "b")]), Some(1));
    assert_eq!(
        snap.counter_with("jobs_overflow", &[("service", "b")]),
        Some(0)
    );
    let text = prometheus::render(&snap);
    assert_eq!(
        text.matches("# TYPE jobs_total counter").count(),
        1,
        "{text}"
    );
    assert_eq!(text.matches("# TYPE depth gauge").count(), 1, "{text}");
    assert!(
        text.contains(
            "jobs_total{service=\"a\",queue=\"q\"} 3\njobs_total{service=\"b\",queue=\"q\"} 5\n"
        ),
        "{text}"
    );
    promtool::check_metrics(&text);

    // One family: the same kind, unit, label names and constant label names.
    assert!(matches!(
        b.gauge("jobs", "Jobs"),
        Err(RegistryError::KindMismatch { .. })
    ));
    let other_labels = reg.with_const_labels(&[("service", "c")]).unwrap();
    assert_eq!(
        other_labels
            .counter_family("jobs", "Jobs", &["code"])
            .unwrap_err(),
        RegistryError::Conflict {
            name: "jobs".into(),
            what: Conflict::LabelNames
        }
    );
    let zone = reg.with_const_labels(&[("zone", "a")]).unwrap();
    for view in [&zone, &reg] {
        assert_eq!(
            view.counter_family("jobs", "Jobs", &["queue"]).unwrap_err(),
            RegistryError::Conflict {
                name: "jobs".into(),
                what: Conflict::ConstLabels
            }
        );
    }
    // The family's reserved names stay reserved for it in every view.
    assert!(matches!(
        other_labels.counter("jobs_overflow", "mine"),
        Err(RegistryError::Reserved { .. })
    ));
    // A callback is registered once per view.
    assert!(matches!(
        a.gauge_fn("depth", "Depth", || 3),
        Err(RegistryError::Conflict {
            what: Conflict::Callback,
            ..
        })
    ));

    // Removed view by view.
    assert!(!reg.unregister("jobs"));
    assert!(!zone.unregister("jobs"));
    assert!(a.unregister("jobs"));
    let snap = reg.collect();
    assert_eq!(
        snap.counter_with("jobs", &[("service", "a"), ("queue", "q")]),
        None
    );
    assert_eq!(
        snap.counter_with("jobs", &[("service", "b"), ("queue", "q")]),
        Some(5)
    );
    assert_eq!(
        snap.counter_with("jobs_overflow", &[("service", "a")]),
        None
    );
    assert!(snap
        .counter_with("jobs_overflow", &[("service", "b")])
        .is_some());
    assert!(b.unregister("jobs"));
    assert!(reg.collect().series("jobs").is_empty());
    reg.gauge("jobs", "now a gauge").unwrap().set(1);
    promtool::check_metrics(&prometheus::render(&reg.collect()));
}
