//! The telemetry client against hostile or demanding endpoints: the
//! shutdown bound with a hanging request, self-metrics that follow the
//! accounting while a request hangs and after an abandoning shutdown,
//! `Retry-After` on 429 and 503, and the rate a healthy loopback endpoint
//! sustains at the default settings.
//!
//! The timing tests take a lock so that they do not share the machine with
//! each other (the harness runs tests in parallel).

use hotmetrics::telemetry::{Accounting, BreakerConfig, Client, QueryEvent, QueryOutcome};
use hotmetrics::Registry;
use hotmetrics_testkit::sink::Sink;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

static TIMING: Mutex<()> = Mutex::new(());

fn timing() -> std::sync::MutexGuard<'static, ()> {
    TIMING.lock().unwrap_or_else(|e| e.into_inner())
}

fn query(i: u64) -> QueryEvent {
    QueryEvent {
        session: i % 7,
        latency: Duration::from_micros(100 + i % 1000),
        rows: i,
        outcome: QueryOutcome::Ok,
    }
}

/// Polls `f` for up to `limit`; whether it became true.
fn within(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + limit;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The self-metrics in `reg`, as an `Accounting`.
fn self_metrics(reg: &Registry) -> Accounting {
    let snap = reg.collect();
    let dropped = |reason| {
        snap.counter_with("telemetry_events_dropped", &[("reason", reason)])
            .unwrap_or(0)
    };
    Accounting {
        accepted: snap.counter("telemetry_events_accepted").unwrap_or(0),
        delivered: snap.counter("telemetry_events_delivered").unwrap_or(0),
        dropped_queue_full: dropped("queue_full"),
        dropped_rejected: dropped("rejected"),
        dropped_shutdown: dropped("shutdown"),
        pending: snap.gauge("telemetry_events_pending").unwrap_or(-1) as u64,
    }
}

/// A client whose first request hangs for 30 s (its timeout too), with
/// that request in flight and `n` more events emitted behind it.
fn hanging(n: u64) -> (Sink, Client) {
    let sink = Sink::start();
    sink.set_delay(Duration::from_secs(30));
    let client = Client::builder()
        .events_endpoint(sink.url("/"))
        .batch_size(10)
        .interval(Duration::from_millis(1))
        .timeout(Duration::from_secs(30))
        .queue_capacity(1 << 16)
        .shutdown_deadline(Duration::from_millis(40))
        .start()
        .unwrap();
    for i in 0..10 {
        client.query_executed(query(i));
    }
    assert!(
        within(Duration::from_secs(20), || sink.started() > 0),
        "no request in flight"
    );
    for i in 0..n {
        client.query_executed(query(i));
    }
    (sink, client)
}

#[test]
fn shutdown_returns_within_its_deadline_plus_100_ms_with_a_request_hanging() {
    let _t = timing();
    for run in 0..4 {
        let (_sink, client) = hanging(100);
        let deadline = Duration::from_millis(30 + 20 * run);
        let t = Instant::now();
        let acct = client.shutdown(deadline);
        let took = t.elapsed();
        assert!(
            took <= deadline + Duration::from_millis(100),
            "run {run}: shutdown({deadline:?}) took {took:?}"
        );
        assert_eq!(acct.pending, 0, "{acct:?}");
        assert_eq!(acct.accepted, 110);
        assert_eq!(acct.dropped_shutdown, 110, "{acct:?}");
    }
    // Drop, with the builder's deadline of 40 ms.
    for run in 0..2 {
        let (_sink, client) = hanging(5);
        let t = Instant::now();
        drop(client);
        let took = t.elapsed();
        assert!(
            took <= Duration::from_millis(140),
            "run {run}: drop took {took:?}"
        );
    }
}

#[test]
fn shutdown_bound_holds_with_a_slow_endpoint() {
    let _t = timing();
    // Every request takes 150 ms, longer than the deadline: the batch in
    // flight when the deadline passes is abandoned by it.
    let sink = Sink::start();
    sink.set_delay(Duration::from_millis(150));
    let client = Client::builder()
        .events_endpoint(sink.url("/"))
        .batch_size(5)
        .interval(Duration::from_millis(1))
        .timeout(Duration::from_secs(10))
        .start()
        .unwrap();
    for i in 0..40 {
        client.query_executed(query(i));
    }
    assert!(within(Duration::from_secs(20), || sink.started() > 0));
    let t = Instant::now();
    let acct = client.shutdown(Duration::from_millis(100));
    let took = t.elapsed();
    assert!(took <= Duration::from_millis(200), "took {took:?}");
    assert_eq!(acct.pending, 0, "{acct:?}");
    assert_eq!(acct.accepted, acct.delivered + acct.dropped(), "{acct:?}");
}

#[test]
fn self_metrics_follow_the_accounting_while_a_request_hangs() {
    let (_sink, client) = hanging(484);
    let reg = client.registry().clone();
    // The request hangs for 30 s; the self-metrics must not wait for it.
    let mut seen = Accounting::default();
    let live = within(Duration::from_secs(3), || {
        seen = self_metrics(&reg);
        seen == client.accounting()
    });
    assert!(
        live,
        "self-metrics {seen:?} vs accounting {:?}",
        client.accounting()
    );
    assert_eq!(seen.accepted, 494);
    assert_eq!(seen.pending, 494);
    let acct = client.shutdown(Duration::from_millis(20));
    // After a shutdown that abandoned the hanging request: the same
    // numbers, read at once.
    assert_eq!(self_metrics(&reg), acct);
    assert_eq!(acct.dropped_shutdown, 494, "{acct:?}");
}

#[test]
fn self_metrics_match_after_an_abandoning_shutdown_of_20000_events() {
    let (_sink, client) = hanging(19_990);
    let reg = client.registry().clone();
    let acct = client.shutdown(Duration::from_millis(10));
    assert_eq!(acct.accepted, 20_000);
    assert_eq!(self_metrics(&reg), acct);
}

/// A client against a sink answering `status` with `Retry-After: value`
/// until told otherwise; returns the gap between the first two requests.
fn retry_gap(status: u16, value: &str, breaker: BreakerConfig) -> Duration {
    let (first, retry) = retry_arrivals(status, value, breaker);
    retry - first
}

/// When the sink received the refused request and its retry.
fn retry_arrivals(status: u16, value: &str, breaker: BreakerConfig) -> (Instant, Instant) {
    let sink = Sink::start();
    sink.set_status(status);
    sink.set_retry_after(Some(value));
    let client = Client::builder()
        .events_endpoint(sink.url("/"))
        .batch_size(1)
        .interval(Duration::from_millis(1))
        .max_retries(5)
        .breaker(breaker)
        .start()
        .unwrap();
    client.session_opened(1);
    assert!(within(Duration::from_secs(20), || sink.requests() >= 1));
    sink.set_status(200);
    assert!(
        within(Duration::from_secs(20), || client.accounting().delivered
            == 1),
        "{:?}",
        client.accounting()
    );
    let at = sink.arrivals();
    let acct = client.shutdown(Duration::from_secs(1));
    assert_eq!(acct.delivered, 1, "{acct:?}");
    (at[0], at[1])
}

#[test]
fn retry_after_seconds_is_honoured_on_429_and_503() {
    for status in [429, 503] {
        let gap = retry_gap(status, "1", BreakerConfig::default());
        // Without it the retry comes after 25–75 ms.
        assert!(
            gap >= Duration::from_millis(950),
            "{status}: retried after {gap:?}"
        );
        assert!(gap < Duration::from_secs(5), "{status}: {gap:?}");
    }
}

#[test]
fn retry_after_http_date_is_honoured() {
    // Three seconds ahead at one-second resolution: a date at least two
    // seconds away, which a retry that ignored it (25–75 ms after the
    // refused request) would come well before. The retry is checked
    // against the date itself: when the refused request arrived depends on
    // how busy the machine is, so the gap between the two does not tell.
    let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3));
    let not_before = httpdate::parse_http_date(&date).unwrap();
    let (first, retry) = retry_arrivals(429, &date, BreakerConfig::default());
    // The retry's wall-clock time, from its `Instant` (a few ms of slack
    // for reading the two clocks and the client's 1 ms polling).
    let retried_at = SystemTime::now() - retry.elapsed();
    assert!(
        retried_at + Duration::from_millis(50) >= not_before,
        "retried {:?} before the date",
        not_before.duration_since(retried_at).unwrap_or_default()
    );
    assert!(
        retry - first < Duration::from_secs(5),
        "{:?}",
        retry - first
    );
}

#[test]
fn retry_after_is_capped_by_the_breakers_longest_cooldown() {
    let breaker = BreakerConfig {
        max_cooldown: Duration::from_millis(300),
        jitter: 0.0,
        ..BreakerConfig::default()
    };
    let gap = retry_gap(429, "3600", breaker);
    assert!(gap >= Duration::from_millis(250), "retried after {gap:?}");
    assert!(
        gap < Duration::from_secs(3),
        "an hour was not capped: {gap:?}"
    );
    // A malformed value is ignored: the usual back-off (at most 75 ms).
    let gap = retry_gap(429, "soon", BreakerConfig::default());
    assert!(gap < Duration::from_millis(900), "{gap:?}");
}

/// Emits about `rate` events a second for `secs` seconds from one thread,
/// paced by the clock in bursts of at most a millisecond's worth: when
/// this thread is kept from running, the backlog is skipped, not sent as
/// one burst (which would overflow any queue whatever the exporter does).
/// Returns how many it emitted.
fn emit_paced(client: &Client, rate: u64, secs: f64) -> u64 {
    let start = Instant::now();
    let burst = (rate / 1000).max(1);
    let (mut sent, mut skipped) = (0u64, 0u64);
    loop {
        let elapsed = start.elapsed().as_secs_f64();
        if elapsed >= secs {
            return sent;
        }
        let due = (elapsed * rate as f64) as u64 - skipped;
        if due > sent + burst {
            skipped += due - sent - burst;
        }
        let until = due.min(sent + burst);
        while sent < until {
            client.query_executed(query(sent));
            sent += 1;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// The rate the exporter must sustain: 100 k/s in an optimised build (as
/// `docs/telemetry.md` states); an unoptimised test build encodes, sends
/// and receives (the loopback receiver is unoptimised too) several times
/// slower, so there it must sustain 30 k/s.
const RATE: u64 = if cfg!(debug_assertions) {
    30_000
} else {
    100_000
};

/// The share of events a run may lose as `queue_full`. A queue of 512
/// holds 5 ms of events at 100 k/s (17 ms at 30 k/s): on a machine so
/// loaded that the exporter waits longer than that for a CPU, events are
/// lost whatever it does, so the best of three runs counts. The former
/// design, which polled every 50 ms when fewer than a batch were queued,
/// lost 56–61 % of 30 k/s in the unoptimised build (this test, on a loaded
/// 2-vCPU machine), and about a third of 80 k/s optimised; this one loses
/// 0–1 % there.
const MAX_LOSS: f64 = 0.05;

/// One run: `RATE` for 1.5 s into a client at the defaults; the share lost.
fn loss_at_the_defaults() -> (f64, Accounting) {
    let sink = Sink::start();
    sink.discard_bodies();
    // Default queue (512) and batch size.
    let client = Client::builder()
        .events_endpoint(sink.url("/events"))
        .start()
        .unwrap();
    let sent = emit_paced(&client, RATE, 1.5);
    let acct = client.shutdown(Duration::from_secs(10));
    if (sent as f64) < RATE as f64 * 1.5 * 0.9 {
        // The emitter itself could not keep the rate: not a measurement.
        return (1.0, acct);
    }
    assert_eq!(acct.accepted, sent);
    assert_eq!(acct.delivered + acct.dropped(), sent, "{acct:?}");
    assert_eq!(sink.line_count(), acct.delivered);
    (acct.dropped_queue_full as f64 / sent as f64, acct)
}

#[test]
fn a_healthy_endpoint_keeps_up_with_100k_events_a_second_at_the_defaults() {
    let _t = timing();
    let mut runs = Vec::new();
    for _ in 0..3 {
        let (lost, acct) = loss_at_the_defaults();
        if lost < MAX_LOSS {
            return;
        }
        runs.push(format!("{:.1} % ({acct:?})", lost * 100.0));
    }
    panic!("lost at {RATE}/s in each run: {runs:#?}");
}

/// The figures in `docs/telemetry.md` ("Throughput"): for each rate, 2 s
/// of paced emits at the defaults against the loopback receiver, and the
/// share lost as `queue_full`. Run with
/// `cargo test --release --features telemetry --test telemetry_hostile -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement: run in release, see docs/telemetry.md"]
fn sustained_rate_at_the_defaults() {
    let _t = timing();
    for rate in [100_000, 200_000, 400_000, 800_000] {
        let sink = Sink::start();
        sink.discard_bodies();
        let client = Client::builder()
            .events_endpoint(sink.url("/events"))
            .start()
            .unwrap();
        let t = Instant::now();
        let sent = emit_paced(&client, rate, 2.0);
        let secs = t.elapsed().as_secs_f64();
        let achieved = sent as f64 / secs;
        let acct = client.shutdown(Duration::from_secs(30));
        let requests = sink.requests();
        eprintln!(
            "{rate:>7}/s for {secs:.2} s: {sent} sent ({achieved:.0}/s), {:.3} % queue_full, {requests} requests ({:.0} events each)",
            acct.dropped_queue_full as f64 * 100.0 / sent as f64,
            acct.delivered as f64 / requests.max(1) as f64,
        );
        assert_eq!(sink.line_count(), acct.delivered);
    }
}
