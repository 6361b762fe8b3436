//! The service example runs, serves `/metrics`, and what it serves passes
//! `promtool check metrics` and holds the series the example promises; its
//! telemetry events reach the endpoint, and the telemetry client's
//! self-metrics in `/metrics` account for every event once it is drained.
//!
//! The service's code (`examples/service/app.rs`) is compiled into this
//! test and run in-process; a second test runs the example binary itself
//! when `cargo test` has built it (it does unless tests are filtered by
//! target), on an ephemeral port.
//!
//! `promtool` comes with Debian's `prometheus` package, which
//! `scripts/test.sh` installs; without it the promtool check is skipped
//! with a message, except under CI (`CI` set), where it fails.

#[path = "../examples/service/app.rs"]
#[allow(dead_code)]
mod app;
use hotmetrics_testkit::sink;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// GETs `/metrics` from `addr`: (status line, body).
fn scrape(addr: SocketAddr) -> (String, String) {
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    conn.write_all(b"GET /metrics HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    conn.read_to_string(&mut response).unwrap();
    let (head, body) = response
        .split_once("\r\n\r\n")
        .expect("a complete response");
    let status = head.lines().next().unwrap_or_default().to_string();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    (status, body)
}

/// Decodes an HTTP/1.1 chunked body.
fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    loop {
        let (size, tail) = rest.split_once("\r\n").expect("chunk size line");
        let n = usize::from_str_radix(size.trim(), 16).expect("hex chunk size");
        if n == 0 {
            return out;
        }
        out.push_str(&tail[..n]);
        rest = &tail[n + 2..];
    }
}

/// `promtool check metrics` on `text`: `Some(output)` if it ran and
/// accepted the text (the test fails if it rejects it); `None` if promtool
/// is not installed.
fn promtool_check(text: &str) -> Option<String> {
    let Ok(mut child) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        let msg = "SKIPPED: `promtool` is not installed (scripts/test.sh installs it)";
        assert!(
            std::env::var_os("CI").is_none(),
            "{msg}, and CI must run this test"
        );
        eprintln!("{msg}");
        return None;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "promtool rejected /metrics:\n{report}\n--- text ---\n{text}"
    );
    Some(report)
}

/// The value of the sample line `name` exactly (labels included), if any.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
}

/// The telemetry self-metrics in `text`: (accepted, delivered, dropped by
/// reason summed, pending).
fn telemetry_counts(text: &str) -> (f64, f64, f64, f64) {
    let get =
        |series: &str| sample(text, series).unwrap_or_else(|| panic!("no {series} in\n{text}"));
    let dropped = ["queue_full", "rejected", "shutdown"]
        .iter()
        .map(|r| get(&format!("telemetry_events_dropped_total{{reason=\"{r}\"}}")))
        .sum();
    (
        get("telemetry_events_accepted_total"),
        get("telemetry_events_delivered_total"),
        dropped,
        get("telemetry_events_pending"),
    )
}

/// Checks what the service's `/metrics` must hold after running a while.
fn check_exposition(text: &str) {
    // record_response, per route.
    for route in ["search", "product", "checkout"] {
        let ok = format!(
            "service_requests_total{{route=\"{route}\",intent=\"lookup\",outcome=\"success\"}}"
        );
        assert!(sample(text, &ok).unwrap_or(0.0) > 0.0, "no {ok} in\n{text}");
        let count = format!(
            "service_request_duration_seconds_count{{route=\"{route}\",outcome=\"success\"}}"
        );
        assert!(sample(text, &count).unwrap_or(0.0) > 0.0, "no {count}");
    }
    // The cache: hits and misses on cached routes, none on checkout.
    for cache in ["hit", "miss"] {
        let s = format!("service_cache_requests_total{{route=\"search\",cache=\"{cache}\"}}");
        assert!(sample(text, &s).unwrap_or(0.0) > 0.0, "no {s}");
    }
    assert!(!text.contains("service_cache_requests_total{route=\"checkout\""));
    // Timers, #[track_latency] and the facade.
    assert!(sample(text, "cache_lookup_duration_seconds_count").unwrap_or(0.0) > 0.0);
    assert!(sample(text, "dependency_call_duration_seconds_count").unwrap_or(0.0) > 0.0);
    let attempts = sample(text, "dependency_client_attempts_total{client=\"catalog\"}")
        .expect("the dependency client's metrics::counter! in /metrics");
    let calls = sample(text, "dependency_call_duration_seconds_count").unwrap();
    // One facade count per timed call; the scrape races the workers, so a
    // call in flight may be counted in one and not yet in the other.
    assert!(
        (attempts - calls).abs() <= 8.0,
        "{attempts} attempts counted through the facade, {calls} calls timed"
    );
    assert!(text
        .contains("# HELP dependency_client_attempts_total Calls the dependency client attempted"));
    // The breaker's state set: exactly one state set.
    let set: f64 = ["closed", "open", "half_open"]
        .iter()
        .map(|s| {
            let line = format!("dependency_breaker_state{{dependency_breaker_state=\"{s}\"}}");
            sample(text, &line).unwrap_or_else(|| panic!("no {line} in\n{text}"))
        })
        .sum();
    assert_eq!(set, 1.0);
    // Telemetry: events flowed while the service ran (the self-metrics are
    // updated by the exporter between batches, so only the bound holds).
    let (accepted, delivered, dropped, _) = telemetry_counts(text);
    assert!(delivered > 0.0, "no telemetry event delivered:\n{text}");
    assert!(
        accepted >= delivered + dropped,
        "{accepted} < {delivered} + {dropped}"
    );
}

#[test]
fn the_service_serves_metrics_that_promtool_accepts() {
    let events = sink::Sink::start();
    let mut service = app::Service::start(app::Config {
        addr: "127.0.0.1:0".into(),
        workers: 3,
        events_endpoint: Some(events.url("/events")),
        ..app::Config::default()
    })
    .unwrap();
    let addr = service.local_addr();
    // Long enough for an outage (the first 300 ms) to trip the breaker and
    // for the cache to warm up.
    std::thread::sleep(Duration::from_millis(1_200));
    let (status, text) = scrape(addr);
    assert_eq!(status, "HTTP/1.1 200 OK");
    check_exposition(&text);
    // `/metrics` is mounted in the service's own router, beside its routes.
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut health = String::new();
    conn.read_to_string(&mut health).unwrap();
    assert!(
        health.starts_with("HTTP/1.1 200") && health.ends_with("\r\n\r\nok\n"),
        "{health}"
    );

    // Drained: the workers closed their sessions and the client sent what
    // was queued; `/metrics` still serves, with the final self-metrics.
    let acct = service.drain().expect("the first drain");
    eprintln!("telemetry after drain: {acct:?}");
    let (_, drained) = scrape(addr);
    service.stop();
    let (accepted, delivered, dropped, pending) = telemetry_counts(&drained);
    assert_eq!(pending, 0.0, "{acct:?}");
    assert_eq!(accepted, delivered + dropped, "{acct:?}");
    assert_eq!(
        (accepted, delivered, dropped),
        (
            acct.accepted as f64,
            acct.delivered as f64,
            acct.dropped() as f64
        )
    );
    assert!(delivered > 0.0);
    // The endpoint holds exactly the delivered events: sessions opened and
    // closed in pairs, a query per request, each line a JSON object.
    let lines = events.lines();
    assert_eq!(lines.len() as u64, acct.delivered, "{acct:?}");
    if acct.dropped() == 0 {
        let count = |name: &str| {
            lines
                .iter()
                .filter(|l| l.contains(&format!("\"event\":\"{name}\"")))
                .count()
        };
        assert!(count("session_opened") > 0);
        assert_eq!(count("session_opened"), count("session_closed"));
        let queries = count("query_executed");
        let requests: f64 = ["search", "product", "checkout"]
            .iter()
            .flat_map(|r| {
                ["success", "error"].map(|o| {
                    drained
                        .lines()
                        .filter(|l| {
                            l.starts_with("service_request_duration_seconds_count{")
                                && l.contains(&format!("route=\"{r}\""))
                                && l.contains(&format!("outcome=\"{o}\""))
                        })
                        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                        .sum::<f64>()
                })
            })
            .sum();
        assert_eq!(queries as f64, requests, "a query_executed per request");
    }
    let q = lines
        .iter()
        .find(|l| l.contains("\"event\":\"query_executed\""))
        .expect("a query_executed line");
    for field in [
        "\"session\":",
        "\"latency_ns\":",
        "\"rows\":",
        "\"outcome\":",
    ] {
        assert!(q.contains(field), "{field} missing in {q}");
    }
    promtool_check(&drained);
    // The outage opened the breaker at least once.
    let opened = sample(
        &text,
        "dependency_breaker_transitions_total{state=\"open\"}",
    );
    assert!(
        opened.unwrap_or(0.0) >= 1.0,
        "breaker never opened:\n{text}"
    );
    promtool_check(&text);
}

/// The example binary, next to this test's binary
/// (`target/<profile>/examples/service`), if it was built.
fn example_binary() -> Option<std::path::PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?.parent()?.join("examples");
    let bin = dir.join(format!("service{}", std::env::consts::EXE_SUFFIX));
    bin.is_file().then_some(bin)
}

#[test]
fn the_example_binary_prints_its_address_and_serves_metrics() {
    let Some(bin) = example_binary() else {
        eprintln!("SKIPPED: the service example binary is not built (run `cargo test` without target filters, or `cargo build --example service --features axum,metrics-facade,telemetry,otlp`)");
        return;
    };
    let otlp = sink::Sink::start();
    let otlp_url = otlp.url("/v1/metrics");
    let mut child = Command::new(bin)
        .args(["--port", "0", "--workers", "2", "--duration", "3"])
        .args(["--otlp", &otlp_url, "--otlp-interval", "0.5"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    // First line: "listening on http://ADDR/metrics".
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && stdout.read(&mut byte).unwrap_or(0) == 1 && byte[0] != b'\n'
    {
        line.push(byte[0]);
    }
    let line = String::from_utf8(line).unwrap();
    let addr: SocketAddr = line
        .strip_prefix("listening on http://")
        .and_then(|r| r.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .parse()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1_200));
    let (status, text) = scrape(addr);
    assert_eq!(status, "HTTP/1.1 200 OK");
    check_exposition(&text);
    // `/metrics` is mounted in the service's own router, beside its routes.
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut health = String::new();
    conn.read_to_string(&mut health).unwrap();
    assert!(
        health.starts_with("HTTP/1.1 200") && health.ends_with("\r\n\r\nok\n"),
        "{health}"
    );
    promtool_check(&text);
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert!(child.wait().unwrap().success());
    // After the address: where events go (the demo endpoint), then the
    // summary, the telemetry accounting and what the endpoint received.
    let lines: Vec<&str> = rest.lines().collect();
    assert!(
        lines
            .first()
            .is_some_and(|l| l.starts_with("telemetry events to http://127.0.0.1:")
                && l.contains("demo endpoint")),
        "{rest}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("served ")),
        "no summary in {rest:?}"
    );
    let number_after = |line: &str, word: &str| -> u64 {
        line.split(word)
            .nth(1)
            .and_then(|t| t.trim_start().split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no number after {word:?} in {line:?}"))
    };
    let acct = lines
        .iter()
        .find(|l| l.starts_with("telemetry: "))
        .unwrap_or_else(|| panic!("no telemetry accounting in {rest}"));
    let accepted = number_after(acct, "accepted ");
    let delivered = number_after(acct, "delivered ");
    let dropped = number_after(acct, "dropped ");
    let pending = number_after(acct, "pending ");
    assert!(delivered > 0, "{acct}");
    assert_eq!(pending, 0, "{acct}");
    assert_eq!(accepted, delivered + dropped, "{acct}");
    let received = lines
        .iter()
        .find(|l| l.starts_with("demo endpoint received "))
        .map(|l| number_after(l, "received "))
        .unwrap_or_else(|| panic!("no demo endpoint count in {rest}"));
    assert_eq!(received, delivered, "{rest}");
    assert!(
        lines.contains(&format!("OTLP metrics to {otlp_url}").as_str()),
        "{rest}"
    );
    check_otlp(&otlp, &text);
}

/// The OTLP pushes decode with the `opentelemetry-proto` types, name the
/// service, and their last one carries the request totals the last scrape
/// read or more.
fn check_otlp(otlp: &sink::Sink, scraped: &str) {
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::metrics::v1::{metric::Data, number_data_point::Value};
    use prost::Message;
    let pushes = otlp.accepted();
    assert!(pushes.len() >= 2, "{} OTLP pushes", pushes.len());
    let last = ExportMetricsServiceRequest::decode(&pushes.last().unwrap().body[..]).unwrap();
    let rm = &last.resource_metrics[0];
    let service = rm
        .resource
        .as_ref()
        .unwrap()
        .attributes
        .iter()
        .find(|kv| kv.key == "service.name");
    assert!(
        format!("{service:?}").contains("hotmetrics-example-service"),
        "{service:?}"
    );
    let requests = rm.scope_metrics[0]
        .metrics
        .iter()
        .find(|m| m.name == "service_requests")
        .expect("service_requests pushed");
    let Some(Data::Sum(sum)) = &requests.data else {
        panic!("{requests:?}")
    };
    let pushed: i64 = sum
        .data_points
        .iter()
        .map(|p| match p.value {
            Some(Value::AsInt(n)) => n,
            _ => panic!("{p:?}"),
        })
        .sum();
    let scraped: f64 = scraped
        .lines()
        .filter(|l| l.starts_with("service_requests_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert!(
        scraped > 0.0 && pushed as f64 >= scraped,
        "{pushed} < {scraped}"
    );
}
