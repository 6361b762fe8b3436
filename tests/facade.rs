//! The `metrics` facade recorder: code that only knows the `metrics` macros
//! records counters, gauges, histograms, labels and descriptions into
//! hotmetrics; bad input is refused and counted, never a panic.

#[path = "common/parsers.rs"]
mod parsers;

use hotmetrics::facade::FacadeRecorder;
use hotmetrics::{MetricKind, Registry, Unit};

/// Stands for a library instrumented with the `metrics` facade: it knows
/// nothing of hotmetrics.
mod instrumented_crate {
    use std::time::Duration;

    pub const ROUTES: [&str; 3] = ["search", "checkout", "profile"];

    pub fn describe() {
        metrics::describe_counter!("http_requests", "Requests served");
        metrics::describe_histogram!(
            "http_request_duration",
            metrics::Unit::Seconds,
            "Request latency"
        );
        metrics::describe_gauge!("http_in_flight", "Requests in flight");
        metrics::describe_histogram!("payload_size", metrics::Unit::Kibibytes, "Payload size");
    }

    /// Serves one request on `route` that took `elapsed` and carried
    /// `kib` KiB.
    pub fn serve(route: &'static str, elapsed: Duration, kib: u32) {
        metrics::gauge!("http_in_flight").increment(1.0);
        metrics::counter!("http_requests", "route" => route).increment(1);
        metrics::histogram!("http_request_duration", "route" => route).record(elapsed);
        metrics::histogram!("payload_size").record(f64::from(kib));
        metrics::gauge!("http_in_flight").decrement(1.0);
    }

    pub fn set_pool_size(pool: &'static str, size: f64) {
        metrics::gauge!("pool_size", "pool" => pool).set(size);
    }
}

#[test]
fn a_metrics_instrumented_crate_records_into_hotmetrics() {
    let reg = Registry::new();
    let recorder = FacadeRecorder::new(&reg);
    // Per route: (requests, latency of each in µs).
    let plan: [(usize, u64); 3] = [(5, 150), (3, 2_500), (1, 40_000)];
    metrics::with_local_recorder(&recorder, || {
        instrumented_crate::describe();
        for (route, &(n, micros)) in instrumented_crate::ROUTES.iter().zip(&plan) {
            for _ in 0..n {
                let elapsed = std::time::Duration::from_micros(micros);
                instrumented_crate::serve(route, elapsed, 3);
            }
        }
        instrumented_crate::set_pool_size("db", 8.0);
        instrumented_crate::set_pool_size("db", 6.5);
        instrumented_crate::set_pool_size("cache", 2.0);
    });

    let snap = reg.collect();
    let total: usize = plan.iter().map(|p| p.0).sum();
    for (route, &(n, micros)) in instrumented_crate::ROUTES.iter().zip(&plan) {
        let labels = [("route", *route)];
        assert_eq!(
            snap.counter_with("http_requests", &labels),
            Some(n as u64),
            "{route}"
        );
        // Seconds recorded as nanoseconds.
        let h = snap
            .histogram_with("http_request_duration", &labels)
            .unwrap();
        assert_eq!(h.count(), n as u64, "{route}");
        assert_eq!(h.sum(), u128::from(micros * 1_000) * n as u128, "{route}");
        let p50 = h.quantile(0.5).unwrap() as f64;
        let want = (micros * 1_000) as f64;
        assert!((p50 - want).abs() / want < 0.01, "{route}: p50 {p50}");
    }
    // Descriptions carried into the metrics' descriptors.
    let d = snap.series("http_request_duration")[0].descriptor();
    assert_eq!(
        (d.help(), d.unit(), d.kind()),
        ("Request latency", Unit::Nanoseconds, MetricKind::Histogram)
    );
    let d = snap.series("http_requests")[0].descriptor();
    assert_eq!(
        (d.help(), d.kind()),
        ("Requests served", MetricKind::Counter)
    );
    // KiB recorded as bytes.
    let sizes = snap.histogram("payload_size").unwrap();
    assert_eq!(sizes.count(), total as u64);
    assert_eq!(sizes.sum(), 3 * 1024 * total as u128);
    assert_eq!(
        snap.get("payload_size").unwrap().descriptor().unit(),
        Unit::Bytes
    );
    // Gauges: f64, set last wins, increments and decrements balance.
    assert_eq!(snap.float_gauge("http_in_flight"), Some(0.0));
    assert_eq!(
        snap.float_gauge_with("pool_size", &[("pool", "db")]),
        Some(6.5)
    );
    assert_eq!(
        snap.float_gauge_with("pool_size", &[("pool", "cache")]),
        Some(2.0)
    );
    // Nothing was refused.
    assert!(snap.series("hotmetrics_facade_refused").is_empty());
}

#[test]
fn threads_sharing_keys_lose_nothing() {
    const THREADS: u64 = 4;
    const OPS: u64 = 20_000;
    let reg = Registry::new();
    let recorder = FacadeRecorder::new(&reg);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let recorder = &recorder;
            s.spawn(move || {
                metrics::with_local_recorder(recorder, || {
                    let shard = if t % 2 == 0 { "even" } else { "odd" };
                    for i in 0..OPS {
                        metrics::counter!("ops").increment(1);
                        metrics::counter!("ops_by_shard", "shard" => shard).increment(2);
                        metrics::histogram!("op_size").record((i % 100) as f64);
                    }
                })
            });
        }
    });
    let snap = reg.collect();
    assert_eq!(snap.counter("ops"), Some(THREADS * OPS));
    for shard in ["even", "odd"] {
        let want = THREADS / 2 * OPS * 2;
        assert_eq!(
            snap.counter_with("ops_by_shard", &[("shard", shard)]),
            Some(want)
        );
    }
    let h = snap.histogram("op_size").unwrap();
    assert_eq!(h.count(), THREADS * OPS);
    let per_thread: u128 = (0..OPS).map(|i| u128::from(i % 100)).sum();
    assert_eq!(h.sum(), per_thread * u128::from(THREADS));
}

#[test]
fn label_order_and_name_spelling_map_to_one_series() {
    let reg = Registry::new();
    let recorder = FacadeRecorder::new(&reg);
    metrics::with_local_recorder(&recorder, || {
        metrics::counter!("cache.lookups", "cache" => "users", "result" => "hit").increment(1);
        metrics::counter!("cache.lookups", "result" => "hit", "cache" => "users").increment(2);
        metrics::counter!("cache_lookups", "cache" => "users", "result" => "miss").increment(4);
    });
    let snap = reg.collect();
    let hit = [("cache", "users"), ("result", "hit")];
    assert_eq!(snap.counter_with("cache_lookups", &hit), Some(3));
    let miss = [("cache", "users"), ("result", "miss")];
    assert_eq!(snap.counter_with("cache_lookups", &miss), Some(4));
    assert_eq!(snap.series("cache_lookups").len(), 2);
}

/// One key written at several call sites (label arrays of their own, the
/// same or equal strings, literal or run-time values): one cached key, one
/// series; keys differing in one label value stay apart.
#[test]
fn one_key_from_several_call_sites_is_one_cached_series() {
    let reg = Registry::new();
    let recorder = FacadeRecorder::new(&reg);
    let owned_method = String::from("get");
    metrics::with_local_recorder(&recorder, || {
        metrics::counter!("rpc_calls", "method" => "get", "peer" => "a").increment(1);
        metrics::counter!("rpc_calls", "method" => "get", "peer" => "a").increment(2);
        let method: &str = &owned_method;
        metrics::counter!("rpc_calls", "method" => method.to_owned(), "peer" => "a").increment(4);
        metrics::counter!("rpc_calls", "method" => "get", "peer" => "b").increment(8);
        metrics::counter!("rpc_calls", "method" => "got", "peer" => "a").increment(16);
    });
    assert_eq!(recorder.cached_keys(), 3);
    let snap = reg.collect();
    let count =
        |method, peer| snap.counter_with("rpc_calls", &[("method", method), ("peer", peer)]);
    assert_eq!(count("get", "a"), Some(7));
    assert_eq!(count("get", "b"), Some(8));
    assert_eq!(count("got", "a"), Some(16));
}

#[test]
fn describing_after_first_use_updates_the_help_not_the_unit() {
    let reg = Registry::new();
    let recorder = FacadeRecorder::new(&reg);
    metrics::with_local_recorder(&recorder, || {
        metrics::histogram!("queue_wait").record(3.0);
        metrics::describe_histogram!("queue_wait", metrics::Unit::Seconds, "Time queued");
        metrics::histogram!("queue_wait").record(4.0);
    });
    let snap = reg.collect();
    let m = snap.get("queue_wait").unwrap();
    assert_eq!(m.descriptor().help(), "Time queued");
    // The first use chose "unitless": both values recorded as they are.
    assert_eq!(m.descriptor().unit(), Unit::None);
    assert_eq!(snap.histogram("queue_wait").unwrap().sum(), 7);
}

#[test]
fn counter_absolute_mirrors_an_external_count() {
    let reg = Registry::new();
    let recorder = FacadeRecorder::new(&reg);
    metrics::with_local_recorder(&recorder, || {
        let c = metrics::counter!("bytes_read_total");
        c.absolute(100);
        c.absolute(250);
        c.absolute(200); // lower: ignored
        metrics::counter!("bytes_read_total").absolute(300);
    });
    assert_eq!(reg.collect().counter("bytes_read_total"), Some(300));
}

#[test]
fn bad_input_is_refused_and_counted_never_a_panic() {
    let reg = Registry::new();
    let recorder = FacadeRecorder::new(&reg);
    metrics::with_local_recorder(&recorder, || {
        // Unrepresentable name: refused.
        metrics::counter!("").increment(1);
        // Sanitized names and label keys.
        metrics::counter!("9 lives!", "le" => "x", "a-b" => "y").increment(1);
        metrics::histogram!("sizes", "le" => "x", "quantile" => "y").record(1.0);
        // Same name, another kind: refused.
        metrics::counter!("mixed").increment(1);
        metrics::gauge!("mixed").set(1.0);
        metrics::histogram!("mixed").record(1.0);
        // Same name, other label keys: one series each (#17).
        metrics::counter!("by_route", "route" => "a").increment(1);
        metrics::counter!("by_route", "path" => "a").increment(1);
        metrics::counter!("by_route").increment(1);
        // Label keys colliding after sanitizing: refused.
        metrics::counter!("twins", "a.b" => "1", "a_b" => "2").increment(1);
        // NaN is counted as invalid; infinities and negative values are
        // recorded as they are.
        for v in [f64::NAN, f64::INFINITY, -1.0] {
            metrics::histogram!("latency_seconds").record(v);
        }
        metrics::histogram!("latency_seconds").record(0.5);
    });
    let snap = reg.collect();
    let refused = |reason| snap.counter_with("hotmetrics_facade_refused", &[("reason", reason)]);
    assert_eq!(refused("invalid_name"), Some(2));
    assert_eq!(refused("conflict"), Some(2));
    assert_eq!(refused("labels"), None);
    assert_eq!(
        snap.counter_with("_9_lives_", &[("le", "x"), ("a_b", "y")]),
        Some(1)
    );
    let sizes = snap.histogram_with("sizes", &[("le_", "x"), ("quantile_", "y")]);
    assert_eq!(sizes.unwrap().count(), 1);
    assert_eq!(snap.counter("mixed"), Some(1));
    assert_eq!(snap.counter_with("by_route", &[("route", "a")]), Some(1));
    assert_eq!(snap.counter_with("by_route", &[("path", "a")]), Some(1));
    assert_eq!(snap.counter("by_route"), Some(1));
    let h = snap.histogram("latency_seconds").unwrap();
    assert_eq!((h.count(), h.invalid()), (3, 1));
    assert_eq!(
        (h.min_f64(), h.max_f64()),
        (Some(-1e9), Some(f64::INFINITY))
    );
}

#[test]
fn keys_past_the_series_limit_go_to_overflow_and_are_not_cached() {
    let reg = Registry::new();
    let recorder = FacadeRecorder::new(&reg);
    let limit = hotmetrics::DEFAULT_MAX_SERIES;
    let extra = 250;
    metrics::with_local_recorder(&recorder, || {
        for round in 0..2 {
            for i in 0..limit + extra {
                metrics::counter!("per_user", "user" => i.to_string()).increment(1);
            }
            assert!(recorder.cached_keys() <= limit, "round {round}");
        }
    });
    let snap = reg.collect();
    assert_eq!(snap.counter_with("per_user", &[("user", "0")]), Some(2));
    assert_eq!(
        snap.counter_with("per_user", &[("overflow", "true")]),
        Some(2 * extra as u64)
    );
    assert_eq!(snap.counter("per_user_overflow"), Some(2 * extra as u64));
    assert_eq!(recorder.cached_keys(), limit);
}

#[test]
fn one_name_takes_several_label_sets() {
    let reg = Registry::new();
    let recorder = FacadeRecorder::new(&reg);
    metrics::with_local_recorder(&recorder, || {
        metrics::describe_histogram!("job_seconds", metrics::Unit::Seconds, "Job latency");
        for _ in 0..2 {
            metrics::counter!("jobs", "queue" => "mail").increment(1);
            metrics::counter!("jobs", "queue" => "mail", "retry" => "1").increment(1);
            metrics::counter!("jobs").increment(1);
            // The same label keys in another order: the same series.
            metrics::counter!("jobs", "retry" => "1", "queue" => "mail").increment(1);
            metrics::gauge!("depth", "queue" => "mail").set(3.0);
            metrics::gauge!("depth").set(5.0);
            metrics::histogram!("job_seconds").record(0.5);
            metrics::histogram!("job_seconds", "queue" => "sms").record(0.25);
        }
    });
    let snap = reg.collect();
    let jobs = |labels: &[(&str, &str)]| snap.counter_with("jobs", labels);
    assert_eq!(jobs(&[("queue", "mail")]), Some(2));
    assert_eq!(jobs(&[("queue", "mail"), ("retry", "1")]), Some(4));
    assert_eq!(jobs(&[]), Some(2));
    assert_eq!(
        snap.float_gauge_with("depth", &[("queue", "mail")]),
        Some(3.0)
    );
    assert_eq!(snap.float_gauge("depth"), Some(5.0));
    assert_eq!(snap.histogram("job_seconds").unwrap().count(), 2);
    let sms = snap
        .histogram_with("job_seconds", &[("queue", "sms")])
        .unwrap();
    assert_eq!(sms.sum(), 500_000_000);
    let refused = snap.series("hotmetrics_facade_refused");
    assert!(refused.is_empty(), "{refused:?}");

    // One HELP/TYPE per family, every label set under it, and real parsers
    // accept both formats.
    let text = hotmetrics::export::prometheus::render(&snap);
    for family in ["jobs_total counter", "depth gauge", "job_seconds histogram"] {
        let line = format!("# TYPE {family}\n");
        assert_eq!(text.matches(&line).count(), 1, "{line}{text}");
    }
    for sample in [
        "jobs_total 2\n",
        "jobs_total{queue=\"mail\"} 2\n",
        "jobs_total{queue=\"mail\",retry=\"1\"} 4\n",
        "job_seconds_count 2\n",
        "job_seconds_count{queue=\"sms\"} 2\n",
    ] {
        assert!(text.contains(sample), "{sample}{text}");
    }
    parsers::assert_promtool_accepts(&text);
    let om = hotmetrics::export::openmetrics::render(&snap);
    if let Some(families) = parsers::openmetrics_families(&om) {
        for family in ["jobs counter 3", "depth gauge 2"] {
            assert!(
                families.lines().any(|l| l == family),
                "{family}\n{families}"
            );
        }
    }
}

#[test]
fn label_sets_under_one_name_are_bounded() {
    let reg = Registry::new();
    let recorder = FacadeRecorder::new(&reg);
    metrics::with_local_recorder(&recorder, || {
        for i in 0..100 {
            let key = format!("k{i}");
            metrics::counter!("shapes", key => "v").increment(1);
        }
    });
    let snap = reg.collect();
    let kept = snap.series("shapes").len() as u64;
    assert!((1..100).contains(&kept), "{kept}");
    let refused = snap.counter_with("hotmetrics_facade_refused", &[("reason", "labels")]);
    assert_eq!(refused, Some(100 - kept));
}
