//! The exporter's outgoing requests carry the configured `Authorization`
//! header, to the events endpoint and to remote write alike.

use hotmetrics::telemetry::{Client, Config, ConfigError};
use hotmetrics_testkit::sink::Sink;
use std::time::{Duration, Instant};

/// Waits until `sink` has received requests to both paths.
fn wait_for_both(sink: &Sink) -> Vec<hotmetrics_testkit::sink::Request> {
    let t0 = Instant::now();
    loop {
        let got = sink.accepted();
        let has = |p: &str| got.iter().any(|r| r.path == p);
        if has("/events") && has("/push") {
            return got;
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "{got:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn client(sink: &Sink) -> hotmetrics::telemetry::ClientBuilder {
    Client::builder()
        .events_endpoint(sink.url("/events"))
        .remote_write(sink.url("/push"))
        .batch_size(1)
        .interval(Duration::from_millis(10))
        .push_interval(Duration::from_millis(20))
}

#[test]
fn bearer_and_basic_credentials_are_sent_with_every_request() {
    for (setup, expected) in [
        (client as fn(&Sink) -> _, None),
        (
            |s: &Sink| client(s).bearer_token("ev3nts-t0ken"),
            Some("Bearer ev3nts-t0ken"),
        ),
        // base64("exporter:pa:ss")
        (
            |s: &Sink| client(s).basic_auth("exporter", "pa:ss"),
            Some("Basic ZXhwb3J0ZXI6cGE6c3M="),
        ),
    ] {
        let sink = Sink::start();
        let c = setup(&sink).start().unwrap();
        c.session_opened(1);
        let got = wait_for_both(&sink);
        for r in &got {
            assert_eq!(r.header("authorization"), expected, "{}", r.path);
        }
        c.shutdown(Duration::from_secs(1));
    }
}

#[test]
fn a_header_breaking_value_is_refused_and_never_printed() {
    let err = Client::builder()
        .events_endpoint("http://127.0.0.1:9/events")
        .bearer_token("t0ken\r\nX-Injected: 1")
        .start()
        .unwrap_err();
    assert!(matches!(&err, ConfigError::Invalid { name, .. } if name == "authorization"));
    assert!(!err.to_string().contains("t0ken"), "{err}");
    let config = Config {
        authorization: Some(hotmetrics::telemetry::Authorization::bearer("s3cret")),
        ..Config::default()
    };
    assert!(!format!("{config:?}").contains("s3cret"));
}
