//! OTLP/HTTP metrics push against a loopback receiver (the testkit sink)
//! that decodes every request with the `opentelemetry-proto` crate's
//! types: names, units, descriptions, attributes, resource attributes from
//! the environment, start and end times, cumulative and delta sums,
//! histogram points, gzip and headers; then fault injection (refused, 500,
//! 503 with `Retry-After`, 400, slow, reset, partial success) with the
//! event accounting identity, non-blocking emits and the shutdown bound.

use hotmetrics::export::TextOptions;
use hotmetrics::telemetry::{
    Client, Compression, HistogramAggregation, OtlpConfig, QueryEvent, QueryOutcome, Temporality,
};
use hotmetrics::{Registry, Unit};
use hotmetrics_testkit::sink::{Request, Sink};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{metric::Data, number_data_point, Metric};
use prost::Message;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

static TIMING: Mutex<()> = Mutex::new(());

fn timing() -> std::sync::MutexGuard<'static, ()> {
    TIMING.lock().unwrap_or_else(|e| e.into_inner())
}

fn unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

fn decode(r: &Request) -> ExportMetricsServiceRequest {
    assert_eq!(r.header("content-type"), Some("application/x-protobuf"));
    let body = match r.header("content-encoding") {
        Some("gzip") => {
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&r.body[..]), &mut out)
                .unwrap();
            out
        }
        None => r.body.clone(),
        Some(other) => panic!("content-encoding {other}"),
    };
    ExportMetricsServiceRequest::decode(&body[..]).unwrap()
}

fn metrics(req: &ExportMetricsServiceRequest) -> Vec<&Metric> {
    req.resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .collect()
}

fn metric<'a>(req: &'a ExportMetricsServiceRequest, name: &str) -> &'a Metric {
    metrics(req)
        .into_iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no {name}"))
}

fn attrs(kvs: &[KeyValue]) -> Vec<(String, String)> {
    kvs.iter()
        .map(|kv| {
            let v = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(any_value::Value::StringValue(s)) => s.clone(),
                other => panic!("{other:?}"),
            };
            (kv.key.clone(), v)
        })
        .collect()
}

fn int(v: &Option<number_data_point::Value>) -> i64 {
    match v {
        Some(number_data_point::Value::AsInt(i)) => *i,
        other => panic!("{other:?}"),
    }
}

/// A counter family (42 on `/a`, 7 on `/b`), gauges at -5 and 0.25, and a
/// histogram in ns of 5 × 0, 30 × 0.5 ms and 70 × 3 ms.
fn recorded() -> Registry {
    let reg = Registry::new();
    let c = reg
        .counter_family("otlp_requests", "Requests served", &["route"])
        .unwrap();
    c.with(&["/a"]).add(42);
    c.with(&["/b"]).add(7);
    reg.gauge("otlp_queue", "Queue depth").unwrap().set(-5);
    reg.float_gauge("otlp_ratio", "Hit ratio")
        .unwrap()
        .set(0.25);
    let h = reg
        .histogram("otlp_latency", "Request latency", Unit::Nanoseconds)
        .unwrap();
    for (v, n) in [(0, 5), (500_000, 30), (3_000_000, 70)] {
        for _ in 0..n {
            h.record(v);
        }
    }
    reg
}

fn config(sink: &Sink) -> OtlpConfig {
    let mut c = OtlpConfig::new(sink.url("/v1/metrics"));
    c.interval = Duration::from_secs(3600);
    c
}

#[test]
fn a_cumulative_export_decodes_to_what_was_recorded() {
    let sink = Sink::start();
    let reg = recorded();
    // The resource from the standard variables (only this test sets them).
    std::env::set_var(
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        sink.url("/v1/metrics"),
    );
    std::env::set_var("OTEL_SERVICE_NAME", "checkout");
    std::env::set_var(
        "OTEL_RESOURCE_ATTRIBUTES",
        "deployment.environment=test,team=a%2Cb",
    );
    std::env::set_var("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=acme");
    std::env::set_var("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip");
    std::env::set_var("OTEL_METRIC_EXPORT_INTERVAL", "150");
    let mut otlp = OtlpConfig::from_env().unwrap().unwrap();
    otlp.histograms = HistogramAggregation::Explicit;
    let before = unix_ns();
    let client = Client::builder()
        .otlp(otlp)
        .registry(&reg)
        .text_options(TextOptions::new().buckets(&[0.001, 0.002, 0.004]))
        .start()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(20);
    while sink.accepted().len() < 2 {
        assert!(Instant::now() < until, "fewer than 2 exports in 20 s");
        std::thread::sleep(Duration::from_millis(10));
    }
    client.shutdown(Duration::from_secs(5));
    let after = unix_ns();
    let requests = sink.accepted();
    let r = &requests[0];
    assert_eq!(r.path, "/v1/metrics");
    assert_eq!(r.header("x-tenant"), Some("acme"));
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    let reqs: Vec<_> = requests.iter().map(decode).collect();
    let req = &reqs[0];

    let resource = attrs(
        &req.resource_metrics[0]
            .resource
            .as_ref()
            .unwrap()
            .attributes,
    );
    for want in [
        ("service.name", "checkout"),
        ("deployment.environment", "test"),
        ("team", "a,b"),
        ("telemetry.sdk.name", "hotmetrics"),
    ] {
        assert!(
            resource.contains(&(want.0.into(), want.1.into())),
            "{want:?} in {resource:?}"
        );
    }
    assert_eq!(
        req.resource_metrics[0].scope_metrics[0]
            .scope
            .as_ref()
            .unwrap()
            .name,
        "hotmetrics"
    );

    let m = metric(req, "otlp_requests");
    assert_eq!(
        (m.description.as_str(), m.unit.as_str()),
        ("Requests served", "")
    );
    let Some(Data::Sum(sum)) = &m.data else {
        panic!("{m:?}")
    };
    assert!(sum.is_monotonic);
    assert_eq!(sum.aggregation_temporality, 2, "cumulative");
    let mut points: Vec<_> = sum
        .data_points
        .iter()
        .map(|p| (attrs(&p.attributes), int(&p.value)))
        .collect();
    points.sort();
    assert_eq!(
        points,
        [
            (vec![("route".into(), "/a".into())], 42),
            (vec![("route".into(), "/b".into())], 7)
        ]
    );
    let p = &sum.data_points[0];
    assert!(
        before <= p.start_time_unix_nano,
        "start {} < {before}",
        p.start_time_unix_nano
    );
    assert!(p.start_time_unix_nano < p.time_unix_nano && p.time_unix_nano <= after);

    let Some(Data::Gauge(g)) = &metric(req, "otlp_queue").data else {
        panic!()
    };
    assert_eq!(int(&g.data_points[0].value), -5);
    let Some(Data::Gauge(g)) = &metric(req, "otlp_ratio").data else {
        panic!()
    };
    assert_eq!(
        g.data_points[0].value,
        Some(number_data_point::Value::AsDouble(0.25))
    );

    let m = metric(req, "otlp_latency");
    assert_eq!(
        (m.description.as_str(), m.unit.as_str()),
        ("Request latency", "ns")
    );
    let Some(Data::Histogram(h)) = &m.data else {
        panic!("{m:?}")
    };
    let p = &h.data_points[0];
    assert_eq!(p.explicit_bounds, [1e6, 2e6, 4e6]);
    assert_eq!(p.bucket_counts, [35, 0, 70, 0]);
    assert_eq!(p.count, 105);
    assert_eq!(p.sum, Some(225e6));
    assert_eq!((p.min, p.max), (Some(0.0), Some(3e6)));

    // Later cumulative exports keep each series' start and move the end.
    let last = reqs.last().unwrap();
    let Some(Data::Sum(s2)) = &metric(last, "otlp_requests").data else {
        panic!()
    };
    let first_a = sum
        .data_points
        .iter()
        .find(|p| int(&p.value) == 42)
        .unwrap();
    let last_a = s2.data_points.iter().find(|p| int(&p.value) == 42).unwrap();
    assert_eq!(last_a.start_time_unix_nano, first_a.start_time_unix_nano);
    assert!(last_a.time_unix_nano > first_a.time_unix_nano);
    for v in [
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        "OTEL_SERVICE_NAME",
        "OTEL_RESOURCE_ATTRIBUTES",
        "OTEL_EXPORTER_OTLP_HEADERS",
        "OTEL_EXPORTER_OTLP_COMPRESSION",
        "OTEL_METRIC_EXPORT_INTERVAL",
    ] {
        std::env::remove_var(v);
    }
}

#[test]
fn delta_sums_add_up_across_exports_to_the_totals() {
    let sink = Sink::start();
    let reg = Registry::new();
    let c = reg.counter("otlp_delta_jobs", "Jobs").unwrap();
    let h = reg
        .histogram("otlp_delta_size", "Sizes", Unit::Bytes)
        .unwrap();
    let mut otlp = config(&sink);
    otlp.temporality = Temporality::Delta;
    otlp.histograms = HistogramAggregation::Explicit;
    otlp.interval = Duration::from_millis(40);
    let client = Client::builder().otlp(otlp).registry(&reg).start().unwrap();
    let (mut total, mut observations, mut bytes) = (0u64, 0u64, 0u64);
    for i in 1..=20u64 {
        c.add(i);
        total += i;
        for v in 0..i {
            h.record(v * 100);
            observations += 1;
            bytes += v * 100;
        }
        std::thread::sleep(Duration::from_millis(15));
    }
    client.shutdown(Duration::from_secs(5));
    let reqs: Vec<_> = sink.accepted().iter().map(decode).collect();
    assert!(reqs.len() >= 3, "{} exports", reqs.len());
    let (mut sum, mut count, mut hsum, mut prev_end) = (0i64, 0u64, 0f64, None);
    for req in &reqs {
        let Some(Data::Sum(s)) = &metric(req, "otlp_delta_jobs").data else {
            panic!()
        };
        assert_eq!(s.aggregation_temporality, 1, "delta");
        let p = &s.data_points[0];
        // Contiguous intervals: each starts where the previous ended.
        if let Some(end) = prev_end {
            assert_eq!(p.start_time_unix_nano, end);
        }
        prev_end = Some(p.time_unix_nano);
        sum += int(&p.value);
        let Some(Data::Histogram(hist)) = &metric(req, "otlp_delta_size").data else {
            panic!()
        };
        let hp = &hist.data_points[0];
        assert_eq!(hp.bucket_counts.iter().sum::<u64>(), hp.count);
        count += hp.count;
        hsum += hp.sum.unwrap();
    }
    assert_eq!(sum as u64, total);
    assert_eq!(count, observations);
    assert_eq!(hsum, bytes as f64);
}

/// The outcomes of one client's run against a faulty receiver.
struct Run {
    acct: hotmetrics::telemetry::Accounting,
    shutdown_took: Duration,
    deadline: Duration,
    slowest_emit: Duration,
    /// The OTLP self-metrics: exports by result, points by outcome.
    exports: Vec<(String, u64)>,
    points: [u64; 3],
    /// Data points in the requests the OTLP receiver answered with 2xx.
    received_points: u64,
    otlp_requests: u64,
    arrivals: Vec<Instant>,
}

fn points_of(req: &ExportMetricsServiceRequest) -> u64 {
    metrics(req)
        .iter()
        .map(|m| match &m.data {
            Some(Data::Sum(s)) => s.data_points.len(),
            Some(Data::Gauge(g)) => g.data_points.len(),
            Some(Data::Histogram(h)) => h.data_points.len(),
            Some(Data::ExponentialHistogram(h)) => h.data_points.len(),
            _ => 0,
        } as u64)
        .sum()
}

/// Emits events to `events` and pushes OTLP to `otlp_url` for `run_for`,
/// then shuts down with a 300 ms deadline.
fn run(events: &Sink, otlp_url: String, otlp_sink: Option<&Sink>, run_for: Duration) -> Run {
    let reg = recorded();
    let mut otlp = OtlpConfig::new(otlp_url);
    otlp.interval = Duration::from_millis(50);
    otlp.compression = Compression::Gzip;
    let client = Client::builder()
        .events_endpoint(events.url("/events"))
        .otlp(otlp)
        .registry(&reg)
        .timeout(Duration::from_millis(250))
        .max_retries(2)
        .batch_size(50)
        .interval(Duration::from_millis(5))
        .start()
        .unwrap();
    let start = Instant::now();
    let mut slowest = Duration::ZERO;
    let mut i = 0u64;
    while start.elapsed() < run_for {
        let t = Instant::now();
        client.query_executed(QueryEvent {
            session: i,
            latency: Duration::from_micros(i % 900),
            rows: i,
            outcome: QueryOutcome::Ok,
        });
        slowest = slowest.max(t.elapsed());
        i += 1;
        if i % 100 == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let deadline = Duration::from_millis(300);
    let t = Instant::now();
    let acct = client.shutdown(deadline);
    let shutdown_took = t.elapsed();
    let snap = reg.collect();
    let exports = ["ok", "partial", "refused", "failed", "skipped"]
        .iter()
        .map(|r| {
            let n = snap
                .counter_with("telemetry_otlp_exports", &[("result", r)])
                .unwrap_or(0);
            (r.to_string(), n)
        })
        .collect();
    let point = |o| {
        snap.counter_with("telemetry_otlp_data_points", &[("outcome", o)])
            .unwrap_or(0)
    };
    let (received_points, otlp_requests, arrivals) = match otlp_sink {
        Some(s) => (
            s.accepted().iter().map(|r| points_of(&decode(r))).sum(),
            s.started(),
            s.arrivals(),
        ),
        None => (0, 0, Vec::new()),
    };
    Run {
        acct,
        shutdown_took,
        deadline,
        slowest_emit: slowest,
        exports,
        points: [point("delivered"), point("rejected"), point("dropped")],
        received_points,
        otlp_requests,
        arrivals,
    }
}

impl Run {
    fn exports(&self, result: &str) -> u64 {
        self.exports.iter().find(|(r, _)| r == result).unwrap().1
    }

    /// What every fault must keep: the accounting identity exactly,
    /// emits that never waited on the network, the shutdown bound.
    fn check_invariants(&self, what: &str) {
        let a = self.acct;
        assert!(a.accepted > 0, "{what}: nothing emitted");
        assert_eq!(a.pending, 0, "{what}: {a:?}");
        assert_eq!(a.accepted, a.delivered + a.dropped(), "{what}: {a:?}");
        assert!(
            self.slowest_emit < Duration::from_millis(100),
            "{what}: an emit took {:?}",
            self.slowest_emit
        );
        assert!(
            self.shutdown_took <= self.deadline + Duration::from_millis(100),
            "{what}: shutdown took {:?}",
            self.shutdown_took
        );
    }
}

#[test]
fn faults_keep_the_accounting_exact_emits_free_and_shutdown_bounded() {
    let _t = timing();
    let events = Sink::start();

    // Refused: nothing listens.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/v1/metrics", l.local_addr().unwrap())
    };
    let r = run(&events, closed, None, Duration::from_millis(600));
    r.check_invariants("refused");
    assert!(r.exports("failed") > 0, "{:?}", r.exports);
    assert_eq!(r.points[0] + r.points[1], 0);

    // 500 and 400: not retried, every export's points dropped.
    for status in [500, 400] {
        let sink = Sink::start();
        sink.set_status(status);
        events.set_status(status);
        let r = run(
            &events,
            sink.url("/v1/metrics"),
            Some(&sink),
            Duration::from_millis(600),
        );
        r.check_invariants(&status.to_string());
        assert!(
            r.otlp_requests >= 3,
            "{status}: {} requests",
            r.otlp_requests
        );
        assert_eq!(r.exports("refused"), r.otlp_requests, "{status}: retried");
        assert_eq!(r.exports("failed"), 0);
        assert!(
            r.points[2] > 0 && r.points[0] == 0,
            "{status}: {:?}",
            r.points
        );
        assert_eq!(r.acct.delivered, 0);
    }
    events.set_status(200);

    // 503 with Retry-After: 1: retried, not before a second.
    let sink = Sink::start();
    sink.set_status(503);
    sink.set_retry_after(Some("1"));
    let r = run(
        &events,
        sink.url("/v1/metrics"),
        Some(&sink),
        Duration::from_millis(2300),
    );
    r.check_invariants("503");
    assert!(r.arrivals.len() >= 2, "{} requests", r.arrivals.len());
    for w in r.arrivals.windows(2).take(2) {
        let gap = w[1] - w[0];
        assert!(gap >= Duration::from_millis(950), "retried after {gap:?}");
    }
    assert!(r.exports("failed") >= 2 && r.points[0] == 0);

    // Slow (past the timeout) and reset: failures, retried, nothing delivered.
    for (what, slow) in [("slow", true), ("reset", false)] {
        let sink = Sink::start();
        if slow {
            sink.set_delay(Duration::from_millis(600));
        } else {
            sink.set_reset(true);
        }
        let r = run(
            &events,
            sink.url("/v1/metrics"),
            Some(&sink),
            Duration::from_millis(900),
        );
        r.check_invariants(what);
        assert!(r.exports("failed") > 0, "{what}: {:?}", r.exports);
        assert_eq!(r.points[0] + r.points[1], 0, "{what}");
    }

    // Partial success: 2 points of every export rejected, the rest
    // delivered; the points the receiver decoded are exactly those.
    let sink = Sink::start();
    let reply = ExportMetricsServiceResponse {
        partial_success: Some(ExportMetricsPartialSuccess {
            rejected_data_points: 2,
            error_message: "no".into(),
        }),
    };
    sink.set_reply(reply.encode_to_vec());
    let r = run(
        &events,
        sink.url("/v1/metrics"),
        Some(&sink),
        Duration::from_millis(600),
    );
    r.check_invariants("partial");
    let exports = r.exports("partial");
    assert!(exports >= 3, "{:?}", r.exports);
    assert_eq!(r.points[1], 2 * exports);
    assert_eq!(r.points[0] + r.points[1], r.received_points);
    assert_eq!(r.points[2], 0);

    // Healthy: everything delivered, the same count the receiver decoded.
    let sink = Sink::start();
    let r = run(
        &events,
        sink.url("/v1/metrics"),
        Some(&sink),
        Duration::from_millis(400),
    );
    r.check_invariants("healthy");
    assert_eq!(r.points[0], r.received_points);
    assert!(r.points[0] > 0 && r.points[1] + r.points[2] == 0);
    assert!(
        r.acct.delivered > 0 && r.acct.dropped_rejected == 0,
        "{:?}",
        r.acct
    );
}

#[test]
fn exponential_histograms_hold_the_recorded_counts_per_bucket() {
    let sink = Sink::start();
    let reg = recorded();
    // Default: exponential, at most 160 buckets.
    let client = Client::builder()
        .otlp(config(&sink))
        .registry(&reg)
        .start()
        .unwrap();
    client.shutdown(Duration::from_secs(5));
    // At most 4 buckets: 0.5 ms (2^18.93 ns) and 3 ms (2^21.52 ns) fit at
    // scale 0 (buckets 18 and 21), not at scale 1 (37 and 43).
    let narrow = Sink::start();
    let mut c = config(&narrow);
    c.max_buckets = 4;
    let reg4 = recorded();
    let client = Client::builder().otlp(c).registry(&reg4).start().unwrap();
    client.shutdown(Duration::from_secs(5));

    for (sink, max) in [(&sink, 160usize), (&narrow, 4)] {
        let req = decode(&sink.accepted()[0]);
        let m = metric(&req, "otlp_latency");
        assert_eq!(m.unit, "ns");
        let Some(Data::ExponentialHistogram(h)) = &m.data else {
            panic!("{m:?}")
        };
        assert_eq!(h.aggregation_temporality, 2);
        let p = &h.data_points[0];
        assert_eq!((p.count, p.zero_count, p.sum), (105, 5, Some(225e6)));
        assert_eq!((p.min, p.max), (Some(0.0), Some(3e6)));
        assert!(p.negative.is_none() || p.negative.as_ref().unwrap().bucket_counts.is_empty());
        let pos = p.positive.as_ref().unwrap();
        assert!(pos.bucket_counts.len() <= max && (-10..=8).contains(&p.scale));
        // The bucket holding v: base^k < v <= base^(k+1), base = 2^(2^-scale).
        let index = |v: f64| (v.log2() * 2f64.powi(p.scale)).ceil() as i32 - 1;
        let count_at = |v: f64| pos.bucket_counts[(index(v) - pos.offset) as usize];
        assert_eq!(count_at(500_000.0), 30, "scale {}", p.scale);
        assert_eq!(count_at(3_000_000.0), 70, "scale {}", p.scale);
        assert_eq!(pos.bucket_counts.iter().sum::<u64>(), 100);
        if max == 4 {
            assert_eq!(p.scale, 0);
            assert_eq!(
                (pos.offset, &pos.bucket_counts[..]),
                (18, &[30, 0, 0, 70][..])
            );
        }
    }
}
