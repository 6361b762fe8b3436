//! The documented length limits: metric and label names are refused at
//! registration with a clear error; a label value too long for a series of
//! its own is refused at lookup into the overflow series and counted in
//! `<name>_overflow`, never stored, truncated or a panic.

use hotmetrics::{
    Options, Registry, RegistryError, Unit, MAX_LABEL_NAME_LEN, MAX_LABEL_VALUE_LEN,
    MAX_METRIC_NAME_LEN,
};

#[test]
fn a_metric_name_past_the_limit_is_refused() {
    let reg = Registry::new();
    let at_limit = "n".repeat(MAX_METRIC_NAME_LEN);
    assert!(reg.counter(&at_limit, "ok").is_ok());
    for len in [MAX_METRIC_NAME_LEN + 1, 1 << 20] {
        let name = "n".repeat(len);
        let err = reg.counter(&name, "too long").unwrap_err();
        assert!(
            matches!(&err, RegistryError::InvalidName { name: n, .. } if n.len() == len),
            "{len}: {err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("longer than 256 bytes"),
            "{}",
            &msg[msg.len() - 80..]
        );
        assert!(reg.gauge(&name, "g").is_err());
        assert!(reg.histogram(&name, "h", Unit::Nanoseconds).is_err());
    }
    assert_eq!(reg.len(), 1);
}

#[test]
fn a_label_name_past_the_limit_is_refused() {
    let reg = Registry::new();
    let ok = "l".repeat(MAX_LABEL_NAME_LEN);
    assert!(reg.counter_family("fam_ok", "ok", &[ok.as_str()]).is_ok());
    let long = "l".repeat(MAX_LABEL_NAME_LEN + 1);
    let err = reg
        .counter_family("fam", "too long", &[long.as_str()])
        .unwrap_err();
    assert!(matches!(err, RegistryError::InvalidLabel { .. }), "{err:?}");
    assert!(err.to_string().contains("longer than 128 bytes"), "{err}");
}

#[test]
fn a_state_past_the_value_limit_is_refused() {
    let reg = Registry::new();
    let long = "s".repeat(MAX_LABEL_VALUE_LEN + 1);
    let err = reg
        .state_set("mode", "Mode", &["on", long.as_str()])
        .unwrap_err();
    assert!(matches!(err, RegistryError::InvalidLabel { .. }), "{err:?}");
    assert!(err.to_string().contains("1024 bytes"), "{err}");
}

#[test]
fn a_label_value_past_the_limit_goes_to_the_overflow_series_and_is_counted() {
    let reg = Registry::new();
    let hits = reg.counter_family("hits", "Hits", &["key"]).unwrap();
    let at_limit = "v".repeat(MAX_LABEL_VALUE_LEN);
    let long = "v".repeat(MAX_LABEL_VALUE_LEN + 1);
    let huge = "v".repeat(1 << 20);
    hits.inc(&[at_limit.as_str()]);
    hits.get(&[long.as_str()]).add(2);
    hits.inc(&[huge.as_str()]);
    hits.with(&[long.as_str()]).add(10);
    let snap = reg.collect();
    assert_eq!(snap.counter_with("hits", &[("key", &at_limit)]), Some(1));
    assert_eq!(snap.counter_with("hits", &[("key", &long)]), None);
    assert_eq!(
        snap.counter_with("hits", &[("overflow", "true")]),
        Some(13),
        "every record kept"
    );
    assert_eq!(
        snap.counter("hits_overflow"),
        Some(3),
        "every refusal counted"
    );
    // Nothing truncated: the only series are the one at the limit and the
    // overflow series.
    assert_eq!(snap.series("hits").len(), 2);
}

#[test]
fn the_same_in_a_histogram_family_that_evicts() {
    let reg = Registry::new();
    let lat = reg
        .histogram_family_with(
            Options::new("lat", "Latency")
                .unit(Unit::Nanoseconds)
                .labels(&["route"])
                .evict_idle_after(2),
        )
        .unwrap();
    let long = "r".repeat(MAX_LABEL_VALUE_LEN + 1);
    lat.record(&[long.as_str()], 5);
    lat.try_with(&[long.as_str()]).unwrap().record(7);
    lat.record(&["short"], 1);
    let snap = reg.collect();
    let over = snap.histogram_with("lat", &[("overflow", "true")]).unwrap();
    assert_eq!(over.count(), 2);
    assert_eq!(snap.counter("lat_overflow"), Some(2));
    assert_eq!(
        snap.histogram_with("lat", &[("route", "short")])
            .unwrap()
            .count(),
        1
    );
}
