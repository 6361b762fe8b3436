//! Prometheus remote write into a real VictoriaMetrics (a store built to
//! scale out; Debian's `victoria-metrics`, its single-node binary), queried
//! back through its Prometheus-compatible API: a counter family's values,
//! a histogram's `_count`, `_sum` and classic buckets, and a later total.
//!
//! Needs the `victoria-metrics` binary (`apt-get install -y
//! victoria-metrics`; `scripts/test.sh` installs it). Without it the test
//! prints why and passes without checking, except under CI (`CI` set),
//! where it fails.

#[path = "common/prom.rs"]
mod prom;
#[path = "common/victoria.rs"]
mod victoria;

use hotmetrics::export::TextOptions;
use hotmetrics::telemetry::Client;
use hotmetrics::{Registry, Unit};
use std::time::{Duration, Instant};

/// Polls `q` (flushing the server's buffers first) until it reads `want`,
/// for up to a minute; the last value read otherwise.
fn wait_value(api: &str, q: &str, want: f64, vm: &mut prom::Kill) -> Option<f64> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        victoria::flush(api);
        let got = prom::query(api, q);
        if got == Some(want) || Instant::now() >= deadline {
            return got;
        }
        if let Ok(Some(status)) = vm.0.try_wait() {
            panic!("victoria-metrics exited: {status}");
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn victoria_metrics_ingests_counters_and_histograms_by_remote_write() {
    if !victoria::installed() {
        return;
    }
    let dir = prom::TempDir(
        std::env::temp_dir().join(format!("hotmetrics-vm-rw-{}", std::process::id())),
    );
    let (mut vm, api) = victoria::start(&dir);

    let reg = Registry::new();
    let requests = reg
        .counter_family("vm_test_requests", "Requests", &["route"])
        .unwrap();
    requests.with(&["/a"]).add(42);
    requests.with(&["/b"]).add(7);
    let lat = reg
        .histogram("vm_test_latency", "Latency", Unit::Nanoseconds)
        .unwrap();
    // 30 × 0.5 ms and 70 × 3 ms: exact classic counts at 0.001 and 0.004.
    for _ in 0..30 {
        lat.record(500_000);
    }
    for _ in 0..70 {
        lat.record(3_000_000);
    }
    let client = Client::builder()
        .remote_write(format!("{api}/api/v1/write"))
        .registry(&reg)
        .text_options(TextOptions::new().buckets(&[0.001, 0.002, 0.004]))
        .push_interval(Duration::from_millis(200))
        .start()
        .unwrap();

    for (q, want) in [
        (r#"vm_test_requests_total{route="/a"}"#, 42.0),
        (r#"vm_test_requests_total{route="/b"}"#, 7.0),
        ("vm_test_latency_seconds_count", 100.0),
        ("vm_test_latency_seconds_sum", 0.225),
        (r#"vm_test_latency_seconds_bucket{le="0.001"}"#, 30.0),
        (r#"vm_test_latency_seconds_bucket{le="0.002"}"#, 30.0),
        (r#"vm_test_latency_seconds_bucket{le="0.004"}"#, 100.0),
        (r#"vm_test_latency_seconds_bucket{le="+Inf"}"#, 100.0),
    ] {
        assert_eq!(wait_value(&api, q, want, &mut vm), Some(want), "{q}");
    }
    // Cumulative: what is recorded later arrives with the next pushes.
    requests.with(&["/a"]).add(8);
    lat.record(6_000_000);
    assert_eq!(
        wait_value(&api, r#"vm_test_requests_total{route="/a"}"#, 50.0, &mut vm),
        Some(50.0)
    );
    assert_eq!(
        wait_value(&api, "vm_test_latency_seconds_count", 101.0, &mut vm),
        Some(101.0)
    );
    let acct = client.shutdown(Duration::from_secs(5));
    assert_eq!(acct.pending, 0);
}
