//! The telemetry client against a local HTTP receiver that accepts, fails,
//! refuses or stalls: delivery, accounting, the queue bound, the circuit
//! breaker and the shutdown deadline.

use hotmetrics_testkit::sink;

use hotmetrics::telemetry::{
    Accounting, BreakerConfig, BreakerState, Client, ConfigError, Event, QueryEvent, QueryOutcome,
};
use hotmetrics::Registry;
use sink::Sink;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Polls `f` for up to 20 s.
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Sets a flag when dropped, so that a writer loop stops if its test
/// panics.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

fn query(i: u64) -> QueryEvent {
    QueryEvent {
        session: i % 7,
        latency: Duration::from_micros(100 + i),
        rows: i,
        outcome: if i % 10 == 0 {
            QueryOutcome::Error
        } else {
            QueryOutcome::Ok
        },
    }
}

/// The self-metrics in the client's registry agree with `acct`.
fn check_self_metrics(reg: &Registry, acct: &Accounting) {
    let snap = reg.collect();
    assert_eq!(
        snap.counter("telemetry_events_accepted"),
        Some(acct.accepted)
    );
    assert_eq!(
        snap.counter("telemetry_events_delivered"),
        Some(acct.delivered)
    );
    for (reason, n) in [
        ("queue_full", acct.dropped_queue_full),
        ("rejected", acct.dropped_rejected),
        ("shutdown", acct.dropped_shutdown),
    ] {
        assert_eq!(
            snap.counter_with("telemetry_events_dropped", &[("reason", reason)]),
            Some(n),
            "{reason}"
        );
    }
    assert_eq!(
        snap.gauge("telemetry_events_pending"),
        Some(acct.pending as i64)
    );
}

#[test]
fn every_event_is_delivered_as_a_json_line() {
    let sink = Sink::start();
    let client = Client::builder()
        .events_endpoint(sink.url("/events"))
        .batch_size(50)
        .interval(Duration::from_millis(20))
        .queue_capacity(10_000)
        .start()
        .unwrap();
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let client = &client;
            s.spawn(move || {
                for i in 0..500 {
                    client.query_executed(query(t * 1000 + i));
                }
            });
        }
    });
    client.session_opened(9);
    client.emit(Event::with_attrs(
        "cache \"flush\"",
        [
            ("entries", 12u64.into()),
            ("tier", "l2".into()),
            ("ratio", f64::NAN.into()),
        ],
    ));
    client.session_closed(9);
    let reg = client.registry().clone();
    let acct = client.shutdown(Duration::from_secs(10));
    assert_eq!(acct.accepted, 2003);
    assert_eq!(acct.delivered, 2003, "{acct:?}");
    assert_eq!((acct.dropped(), acct.pending), (0, 0));
    check_self_metrics(&reg, &acct);

    let lines = sink.lines();
    assert_eq!(lines.len(), 2003);
    let parsed: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let q = parsed
        .iter()
        .find(|v| v["event"] == "query_executed" && v["rows"] == 1010)
        .unwrap();
    assert_eq!(q["latency_ns"], 1_110_000);
    assert_eq!(q["outcome"], "error");
    assert_eq!(q["session"], 1010 % 7);
    assert!(q["ts"].as_u64().unwrap() > 1_600_000_000_000);
    let custom = parsed
        .iter()
        .find(|v| v["event"] == "cache \"flush\"")
        .unwrap();
    assert_eq!(custom["attrs"]["entries"], 12);
    assert_eq!(custom["attrs"]["tier"], "l2");
    assert!(custom["attrs"]["ratio"].is_null());
    assert_eq!(
        parsed
            .iter()
            .filter(|v| v["event"] == "session_opened")
            .count(),
        1
    );
    assert!(sink
        .accepted()
        .iter()
        .all(|r| r.path == "/events" && r.header("content-type") == Some("application/x-ndjson")));
}

/// Emits `n` events and returns the fastest of five runs' time per emit.
fn emit_cost(client: &Client, n: u64) -> f64 {
    (0..5)
        .map(|_| {
            let t = Instant::now();
            for i in 0..n {
                client.query_executed(query(i));
            }
            t.elapsed().as_secs_f64() / n as f64
        })
        .fold(f64::INFINITY, f64::min)
}

#[test]
fn a_full_queue_drops_and_counts_and_never_blocks_the_caller() {
    // An endpoint that stalls every request: the queue fills and stays
    // full while the exporter waits on its one request.
    let stalled = Sink::start();
    stalled.set_delay(Duration::from_secs(3));
    let full = Client::builder()
        .events_endpoint(stalled.url("/"))
        .queue_capacity(64)
        .batch_size(16)
        .interval(Duration::from_millis(1))
        .timeout(Duration::from_secs(2))
        .start()
        .unwrap();
    // The same emits into a healthy client whose queue has room.
    let healthy = Sink::start();
    let roomy = Client::builder()
        .events_endpoint(healthy.url("/"))
        .queue_capacity(1 << 20)
        .batch_size(1024)
        .start()
        .unwrap();

    let n = 20_000;
    let full_cost = emit_cost(&full, n);
    let roomy_cost = emit_cost(&roomy, n);
    // A drop costs no more than an enqueue, give or take the noise of a
    // shared machine; a blocked or allocating emit would be orders of
    // magnitude slower.
    assert!(
        full_cost < roomy_cost * 10.0 + 200e-9,
        "emit into a full queue {:.0} ns vs {:.0} ns with room",
        full_cost * 1e9,
        roomy_cost * 1e9
    );

    let acct = full.accounting();
    assert_eq!(acct.accepted, 5 * n);
    // The queue's 64 plus the batch in hand: up to half the queue (32),
    // as the exporter is behind when it takes it.
    assert!(acct.dropped_queue_full >= 5 * n - 64 - 32, "{acct:?}");
    assert!(acct.pending <= 64 + 32, "{acct:?}");
    assert!(acct.accepted >= acct.delivered + acct.dropped());

    let acct = full.shutdown(Duration::from_millis(200));
    assert_eq!(acct.pending, 0, "{acct:?}");
    assert!(acct.dropped_shutdown > 0, "{acct:?}");
    assert_eq!(acct.accepted, acct.delivered + acct.dropped(), "{acct:?}");
    let acct = roomy.shutdown(Duration::from_secs(20));
    assert_eq!(acct.delivered, 5 * n, "{acct:?}");
}

#[test]
fn endpoint_down_opens_the_breaker_which_probes_and_closes_when_it_returns() {
    let sink = Sink::start();
    sink.set_status(503);
    let client = Client::builder()
        .events_endpoint(sink.url("/"))
        .batch_size(10)
        .interval(Duration::from_millis(5))
        .max_retries(100)
        .breaker(BreakerConfig {
            consecutive_failures: 3,
            base_cooldown: Duration::from_millis(50),
            max_cooldown: Duration::from_millis(200),
            jitter: 0.0,
            ..BreakerConfig::default()
        })
        .start()
        .unwrap();
    for i in 0..10 {
        client.query_executed(query(i));
    }
    eventually("the breaker to open", || {
        client.breaker_state() != BreakerState::Closed
    });
    let reg = client.registry().clone();
    let transitions = |to: &str| {
        reg.collect()
            .counter_with(
                "telemetry_breaker_transitions",
                &[("endpoint", "events"), ("to", to)],
            )
            .unwrap_or(0)
    };
    // While open, requests are held: probes come one cool-down apart.
    eventually("two probes", || transitions("half_open") >= 2);
    // The second half-open comes after the first probe failed (the probe
    // after it may not have reached the receiver yet): at least 3 + 1.
    let requests = sink.started();
    assert!(
        requests >= 4,
        "3 failures to open, then a probe: {requests}"
    );
    assert!(
        requests < 40,
        "an open breaker holds requests back: {requests} in a few cool-downs"
    );
    assert_eq!(client.accounting().delivered, 0);

    sink.set_status(200);
    eventually("delivery after recovery", || {
        client.accounting().delivered == 10
    });
    assert_eq!(client.breaker_state(), BreakerState::Closed);
    assert!(transitions("closed") >= 1);
    assert!(transitions("open") >= 2);
    let states = reg.collect();
    let states = states.state_set("telemetry_events_breaker").unwrap();
    assert_eq!(states[0], ("closed".to_string(), true));
    let acct = client.shutdown(Duration::from_secs(5));
    assert_eq!((acct.accepted, acct.delivered, acct.dropped()), (10, 10, 0));
}

#[test]
fn a_slow_endpoint_costs_bounded_memory_and_everything_is_accounted() {
    let sink = Sink::start();
    sink.set_delay(Duration::from_millis(300));
    let client = Client::builder()
        .events_endpoint(sink.url("/"))
        .queue_capacity(100)
        .batch_size(25)
        .interval(Duration::from_millis(1))
        .timeout(Duration::from_millis(100))
        .max_retries(1)
        .start()
        .unwrap();
    let stop = AtomicBool::new(false);
    let mut max_pending = 0;
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let _guard = StopOnDrop(&stop);
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                client.query_executed(query(i));
                i += 1;
                if i % 1000 == 0 {
                    std::thread::yield_now();
                }
            }
        });
        let until = Instant::now() + Duration::from_millis(1500);
        while Instant::now() < until && !writer.is_finished() {
            let a = client.accounting();
            assert!(a.accepted >= a.delivered + a.dropped(), "{a:?}");
            max_pending = max_pending.max(a.pending);
            std::thread::sleep(Duration::from_millis(2));
        }
        stop.store(true, Ordering::Relaxed);
    });
    // The queue bound plus the batch in hand, which is up to half the
    // queue when the exporter is behind (a reader may see an event counted
    // in both while it moves; allow one batch more).
    assert!(
        max_pending <= 100 + 50 + 25,
        "pending reached {max_pending}"
    );
    let acct = client.accounting();
    assert!(acct.dropped_queue_full > 0, "{acct:?}");
    assert!(
        acct.dropped_rejected > 0,
        "timeouts after retries: {acct:?}"
    );
    let acct = client.shutdown(Duration::from_millis(300));
    assert_eq!(acct.pending, 0);
    assert_eq!(acct.accepted, acct.delivered + acct.dropped(), "{acct:?}");
}

#[test]
fn shutdown_honours_its_deadline_and_counts_what_is_left() {
    let sink = Sink::start();
    sink.set_delay(Duration::from_secs(30));
    let client = Client::builder()
        .events_endpoint(sink.url("/"))
        .batch_size(10)
        .interval(Duration::from_millis(1))
        .timeout(Duration::from_secs(30))
        .start()
        .unwrap();
    for i in 0..50 {
        client.query_executed(query(i));
    }
    eventually("a request in flight", || sink.started() > 0);
    let t = Instant::now();
    let acct = client.shutdown(Duration::from_millis(300));
    let took = t.elapsed();
    // The stalled request's 30 s timeout is cut to the deadline; the bound
    // is loose (a busy machine), but far below that timeout.
    assert!(took < Duration::from_secs(5), "shutdown took {took:?}");
    assert_eq!(acct.pending, 0, "{acct:?}");
    assert_eq!(acct.delivered, 0);
    assert_eq!(
        acct.dropped_shutdown + acct.dropped_rejected,
        50,
        "{acct:?}"
    );
    assert_eq!(acct.accepted, 50);
}

#[test]
fn drop_flushes() {
    let sink = Sink::start();
    let client = Client::builder()
        .events_endpoint(sink.url("/"))
        .interval(Duration::from_secs(3600))
        .start()
        .unwrap();
    for i in 0..3 {
        client.session_opened(i);
    }
    drop(client);
    assert_eq!(sink.lines().len(), 3);
}

#[test]
fn refused_batches_are_dropped_as_rejected_without_retry() {
    let sink = Sink::start();
    sink.set_status(400);
    let client = Client::builder()
        .events_endpoint(sink.url("/"))
        .batch_size(5)
        .interval(Duration::from_millis(1))
        .start()
        .unwrap();
    for i in 0..20 {
        client.session_opened(i);
    }
    eventually("all settled", || client.accounting().dropped_rejected == 20);
    let reg = client.registry().clone();
    let acct = client.shutdown(Duration::from_secs(1));
    assert_eq!(sink.requests(), 4, "one request per batch of 5, no retries");
    assert_eq!(client_breaker_closed(&reg), Some(true));
    assert_eq!(acct.accepted, acct.dropped_rejected);
    check_self_metrics(&reg, &acct);
}

fn client_breaker_closed(reg: &Registry) -> Option<bool> {
    reg.collect()
        .state_set("telemetry_events_breaker")
        .map(|s| s[0].1)
}

#[test]
fn bad_settings_are_clear_errors() {
    let err = Client::builder()
        .events_endpoint("ftp://example.com/e")
        .start()
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("events_endpoint=\"ftp://example.com/e\": expected an http:// "),
        "{err}"
    );
    assert!(matches!(
        Client::builder()
            .events_endpoint("http://h/")
            .batch_size(0)
            .start(),
        Err(ConfigError::Invalid { .. })
    ));
    assert_eq!(
        Client::builder().start().unwrap_err(),
        ConfigError::NoEndpoint
    );
    let reg = Registry::new();
    let sink = Sink::start();
    let first = Client::builder()
        .events_endpoint(sink.url("/"))
        .registry(&reg)
        .start()
        .unwrap();
    let second = Client::builder()
        .events_endpoint(sink.url("/"))
        .registry(&reg)
        .start()
        .unwrap_err();
    assert!(
        second.to_string().contains("already registered"),
        "{second}"
    );
    let other = Client::builder()
        .events_endpoint(sink.url("/"))
        .registry(&reg)
        .metrics_prefix("telemetry_b")
        .start();
    assert!(other.is_ok());
    drop(first);
}
